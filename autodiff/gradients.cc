#include "autodiff/gradients.h"

#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "graph/op_registry.h"
#include "ops/core.h"

namespace graft::autodiff {
namespace {

// Sums partial gradients pairwise with graft.Add (a core op, ops/core.h), in the order they were
// produced (fixed, so results are deterministic).
absl::StatusOr<Value> Sum(Graph& g, const std::vector<Value>& parts) {
  Value acc = parts[0];
  for (size_t i = 1; i < parts.size(); ++i) {
    absl::StatusOr<Value> s = g.Add(ops::kAddOp, {acc, parts[i]}, {}, "grad_accumulate");
    if (!s.ok()) return s.status();
    acc = *s;
  }
  return acc;
}

}  // namespace

absl::StatusOr<std::vector<Value>> Gradients(Graph& graph, Value loss,
                                             const std::vector<Value>& wrt) {
  const int n = graph.num_nodes();
  // Nodes that depend on some wrt value (forward reachability; ids are topological).
  std::vector<bool> from_wrt(n, false);
  for (const Value& v : wrt) from_wrt[v.node] = true;
  for (int id = 0; id < n; ++id) {
    for (const Value& in : graph.node(id).inputs) {
      if (from_wrt[in.node]) from_wrt[id] = true;
    }
  }
  // Nodes the loss depends on.
  std::vector<bool> to_loss(n, false);
  to_loss[loss.node] = true;
  for (int id = loss.node; id >= 0; --id) {
    if (!to_loss[id]) continue;
    for (const Value& in : graph.node(id).inputs) to_loss[in.node] = true;
  }
  auto on_path = [&](int id) { return from_wrt[id] && to_loss[id]; };

  absl::flat_hash_map<Value, std::vector<Value>> partials;
  absl::StatusOr<Value> seed = graph.Add(ops::kOnesLikeOp, {loss}, {}, "grad_seed");
  if (!seed.ok()) return seed.status();
  partials[loss].push_back(*seed);

  for (int id = loss.node; id >= 0; --id) {
    if (!on_path(id)) continue;
    const Node& node = graph.node(id);
    if (node.inputs.empty()) continue;  // a source (the wrt values themselves)
    std::vector<std::optional<Value>> out_grads(node.outputs.size());
    bool any = false;
    for (int i = 0; i < static_cast<int>(node.outputs.size()); ++i) {
      auto it = partials.find(Value{id, i});
      if (it == partials.end()) continue;
      absl::StatusOr<Value> g = Sum(graph, it->second);
      if (!g.ok()) return g.status();
      out_grads[i] = *g;
      any = true;
    }
    if (!any) continue;
    if (!node.op->grad) {
      return absl::InvalidArgumentError(absl::StrCat(
          node.name, " (", node.op->name, ") has no gradient rule, but it lies between the ",
          "loss and a value being differentiated"));
    }
    std::vector<bool> needs(node.inputs.size());
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      needs[i] = on_path(node.inputs[i].node) && IsFloating(graph.type(node.inputs[i]).dtype);
    }
    // Backward nodes are named under the forward node: "conv1d/Conv1D/grad/...".
    std::string prev = graph.SetNameScope(absl::StrCat(node.name, "/grad/"));
    GradContext ctx(graph, graph.node(id), std::move(out_grads), needs);
    absl::StatusOr<std::vector<std::optional<Value>>> in_grads = node.op->grad(ctx);
    graph.SetNameScope(prev);
    if (!in_grads.ok()) {
      return absl::Status(
          in_grads.status().code(),
          absl::StrCat(graph.node(id).name, " gradient: ", in_grads.status().message()));
    }
    const Node& same_node = graph.node(id);  // re-read: AddNode may have grown the node list
    for (size_t i = 0; i < same_node.inputs.size() && i < in_grads->size(); ++i) {
      if (needs[i] && (*in_grads)[i].has_value()) {
        partials[same_node.inputs[i]].push_back(*(*in_grads)[i]);
      }
    }
  }

  std::vector<Value> result;
  for (const Value& v : wrt) {
    auto it = partials.find(v);
    if (it == partials.end()) {
      absl::StatusOr<Value> z = graph.Add(ops::kZerosLikeOp, {v}, {}, "grad_zero");
      if (!z.ok()) return z.status();
      result.push_back(*z);
      continue;
    }
    absl::StatusOr<Value> g = Sum(graph, it->second);
    if (!g.ok()) return g.status();
    result.push_back(*g);
  }
  return result;
}

}  // namespace graft::autodiff
