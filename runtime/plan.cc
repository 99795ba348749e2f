#include "runtime/plan.h"

#include <algorithm>
#include <functional>
#include <queue>

#include "absl/strings/str_cat.h"
#include "runtime/executor.h"
#include "runtime/threads.h"

namespace graft {
namespace {

bool IsSource(const Node& n) {
  const std::string& op = n.op->name;
  return op == "graft.Placeholder" || op == "graft.Variable" || op == "graft.Constant";
}

// The dtype that selects a node's kernel: its first input's, or its first output's.
DType KernelDType(const Node& n, const std::vector<std::vector<TensorType>>& types) {
  if (!n.inputs.empty()) return types[n.inputs[0].node][n.inputs[0].index].dtype;
  return types[n.id].empty() ? DType::kF32 : types[n.id][0].dtype;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Plan>> Plan::Compile(const Graph& graph, PlanSpec spec,
                                                    std::vector<TensorType> feed_types,
                                                    PlanOptions options) {
  if (feed_types.size() != spec.feeds.size()) {
    return absl::InvalidArgumentError("plan: one type per feed is needed");
  }
  auto plan = std::unique_ptr<Plan>(new Plan());
  plan->graph_ = &graph;
  plan->options_ = options;
  plan->feed_types_ = feed_types;
  const int n = graph.num_nodes();

  // 1. Which nodes are needed: everything the fetches and targets reach.
  std::vector<bool> needed(n, false);
  std::vector<int> stack;
  for (const Value& v : spec.fetches) stack.push_back(v.node);
  for (int t : spec.targets) stack.push_back(t);
  while (!stack.empty()) {
    int id = stack.back();
    stack.pop_back();
    if (needed[id]) continue;
    needed[id] = true;
    for (const Value& in : graph.node(id).inputs) stack.push_back(in.node);
  }
  for (size_t i = 0; i < spec.feeds.size(); ++i) {
    if (!graph.IsPlaceholder(spec.feeds[i])) {
      return absl::InvalidArgumentError(absl::StrCat(
          "plan: feed ", i, " (", graph.node(spec.feeds[i]).name, ") is not a placeholder"));
    }
  }

  // 2. Concrete types, in node order (a topological order).
  plan->types_.resize(n);
  plan->values_.resize(n);
  for (int id = 0; id < n; ++id) {
    if (!needed[id]) continue;
    const Node& node = graph.node(id);
    if (node.op->name == "graft.Placeholder") {
      auto it = std::find(spec.feeds.begin(), spec.feeds.end(), Value{id, 0});
      if (it == spec.feeds.end()) {
        return absl::InvalidArgumentError(
            absl::StrCat("plan: placeholder ", node.name, " is needed but not fed"));
      }
      plan->types_[id] = {feed_types[it - spec.feeds.begin()]};
      continue;
    }
    if (IsSource(node)) {
      plan->types_[id] = node.outputs;
      continue;
    }
    std::vector<TensorType> in;
    for (const Value& v : node.inputs) in.push_back(plan->types_[v.node][v.index]);
    ShapeContext ctx{in, node.name, node.op->name};
    absl::StatusOr<std::vector<TensorType>> out = node.op->shape(ctx, node.attrs);
    if (!out.ok()) return out.status();
    plan->types_[id] = *std::move(out);
  }

  // 3. Storage: variables and constants are bound to their own tensors; feeds at run time;
  //    every other output is allocated here, once.
  for (int id = 0; id < n; ++id) {
    if (!needed[id]) continue;
    const Node& node = graph.node(id);
    if (node.op->name == "graft.Variable") {
      plan->values_[id] = {node.attrs_as<VariableAttrs>().value};
    } else if (node.op->name == "graft.Constant") {
      plan->values_[id] = {node.attrs_as<ConstantAttrs>().value};
    } else if (node.op->name == "graft.Placeholder") {
      plan->values_[id] = {Tensor()};
    } else {
      for (const TensorType& t : plan->types_[id]) {
        plan->values_[id].emplace_back(t.dtype, t.shape);
        plan->allocated_bytes_ += static_cast<int64_t>(plan->values_[id].back().nbytes());
      }
    }
  }

  // A feed that no fetch or target needs still gets a slot for Run to bind (a trainer feeds the
  // same placeholders to every plan, e.g. the iteration count that SGD's update ignores).
  for (const Value& f : spec.feeds) {
    if (plan->values_[f.node].empty()) plan->values_[f.node] = {Tensor()};
  }

  // 4. Steps and kernels.
  std::vector<int> step_of(n, -1);
  for (int id = 0; id < n; ++id) {
    if (!needed[id] || IsSource(graph.node(id))) continue;
    const Node& node = graph.node(id);
    DType dtype = KernelDType(node, plan->types_);
    const KernelFactory* factory = node.op->FindKernel(dtype, options.kernels);
    if (factory == nullptr) {
      return absl::UnimplementedError(
          absl::StrCat(node.name, " (", node.op->name, "): no kernel for ", DTypeName(dtype)));
    }
    PlanStep step;
    step.node = &node;
    step.kernel = (*factory)();
    std::vector<TensorType> in_types;
    for (const Value& v : node.inputs) {
      in_types.push_back(plan->types_[v.node][v.index]);
      step.ctx.inputs.push_back(&plan->values_[v.node][v.index]);
    }
    for (Tensor& t : plan->values_[id]) step.ctx.outputs.push_back(&t);
    KernelInitContext init{node, in_types, plan->types_[id], NumThreads()};
    absl::Status s = step.kernel->Init(init);
    if (!s.ok()) {
      return absl::Status(s.code(),
                          absl::StrCat(node.name, " (", node.op->name, "): ", s.message()));
    }
    step_of[id] = static_cast<int>(plan->steps_.size());
    plan->steps_.push_back(std::move(step));
  }

  // 5. Dependencies: data edges, plus "every reader of a variable runs before the step that
  //    updates it in place".
  auto add_edge = [&](int from, int to) {
    if (from < 0 || to < 0 || from == to) return;
    auto& succ = plan->steps_[from].successors;
    if (std::find(succ.begin(), succ.end(), to) != succ.end()) return;
    succ.push_back(to);
    plan->steps_[to].num_predecessors++;
  };
  for (PlanStep& step : plan->steps_) {
    int me = step_of[step.node->id];
    for (const Value& v : step.node->inputs) add_edge(step_of[v.node], me);
  }
  for (PlanStep& step : plan->steps_) {
    int writer = step_of[step.node->id];
    for (int i : step.node->op->mutated_inputs) {
      if (i >= static_cast<int>(step.node->inputs.size())) continue;
      Value mutated = step.node->inputs[i];
      for (const PlanStep& other : plan->steps_) {
        if (&other == &step) continue;
        for (const Value& v : other.node->inputs) {
          if (v == mutated) add_edge(step_of[other.node->id], writer);
        }
      }
    }
  }

  // 6. Order the steps so that every edge points forward, for the sequential executor: node ids
  //    order the data edges, but an update added before a reader of its variable must move
  //    after that reader. Kahn's algorithm taking the lowest ready index keeps node order
  //    wherever the edges allow it.
  {
    const int m = static_cast<int>(plan->steps_.size());
    std::vector<int> pending(m), order;
    std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
    for (int i = 0; i < m; ++i) {
      pending[i] = plan->steps_[i].num_predecessors;
      if (pending[i] == 0) ready.push(i);
    }
    while (!ready.empty()) {
      const int i = ready.top();
      ready.pop();
      order.push_back(i);
      for (int j : plan->steps_[i].successors) {
        if (--pending[j] == 0) ready.push(j);
      }
    }
    if (static_cast<int>(order.size()) != m) {
      return absl::InvalidArgumentError(
          "plan: a node that reads a variable depends on the in-place update of that variable");
    }
    std::vector<int> new_index(m);
    for (int k = 0; k < m; ++k) new_index[order[k]] = k;
    std::vector<PlanStep> sorted;
    sorted.reserve(m);
    for (int k = 0; k < m; ++k) {
      sorted.push_back(std::move(plan->steps_[order[k]]));
      for (int& succ : sorted.back().successors) succ = new_index[succ];
    }
    plan->steps_ = std::move(sorted);
  }
  plan->spec_ = std::move(spec);
  return plan;
}

const TensorType& Plan::type(Value v) const { return types_[v.node][v.index]; }

absl::Status Plan::Run(const std::vector<Tensor>& feeds, std::vector<Tensor>* fetched) {
  if (feeds.size() != spec_.feeds.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("plan: expected ", spec_.feeds.size(), " feeds, got ", feeds.size()));
  }
  for (size_t i = 0; i < feeds.size(); ++i) {
    if (feeds[i].type() != feed_types_[i]) {
      return absl::InvalidArgumentError(
          absl::StrCat("plan: feed ", graph_->node(spec_.feeds[i]).name, " expected ",
                       feed_types_[i].ToString(), ", got ", feeds[i].type().ToString()));
    }
    values_[spec_.feeds[i].node][0] = feeds[i];
  }
  absl::Status s = options_.executor == ExecutorKind::kTbb ? RunTbb(steps_) : RunSequential(steps_);
  if (!s.ok()) return s;
  if (fetched != nullptr) {
    fetched->clear();
    for (const Value& v : spec_.fetches) fetched->push_back(values_[v.node][v.index].Clone());
  }
  return absl::OkStatus();
}

std::string Plan::Report() const {
  std::string out;
  for (const PlanStep& s : steps_) {
    absl::StrAppend(&out, s.node->name, " ", s.node->op->name,
                    s.kernel->UsesOneDnn() ? " [onednn]" : " [loops]");
    for (const TensorType& t : types_[s.node->id]) absl::StrAppend(&out, " ", t.ToString());
    absl::StrAppend(&out, "\n");
  }
  absl::StrAppend(&out, "allocated bytes: ", allocated_bytes_, "\n");
  return out;
}

}  // namespace graft
