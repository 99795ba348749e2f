// InferTypes: every needed value's concrete type, now that the feeds' shapes (the batch size)
// are known. Node order is a topological order.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "runtime/passes/passes.h"

namespace graft::passes {

absl::Status InferTypes(CompileState& s, const std::vector<TensorType>& feed_types) {
  const Graph& graph = s.graph;
  const int n = graph.num_nodes();
  s.types.assign(n, {});
  for (int id = 0; id < n; ++id) {
    if (!s.needed[id]) continue;
    const Node& node = graph.node(id);
    if (node.op->name == "graft.Placeholder") {
      const auto& feeds = s.spec.feeds;
      auto it = std::find(feeds.begin(), feeds.end(), Value{id, 0});
      if (it == feeds.end()) {
        return absl::InvalidArgumentError(
            absl::StrCat("plan: placeholder ", node.name, " is needed but not fed"));
      }
      s.types[id] = {feed_types[it - feeds.begin()]};
      continue;
    }
    if (IsSource(node)) {
      s.types[id] = node.outputs;
      continue;
    }
    std::vector<TensorType> in;
    for (const Value& v : node.inputs) in.push_back(s.types[v.node][v.index]);
    ShapeContext ctx{in, node.name, node.op->name};
    absl::StatusOr<std::vector<TensorType>> out = node.op->shape(ctx, node.attrs);
    if (!out.ok()) return out.status();
    s.types[id] = *std::move(out);
  }
  return absl::OkStatus();
}

}  // namespace graft::passes
