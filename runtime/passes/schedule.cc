// OrderSteps: dependency edges between a plan's steps, and the order the sequential executor
// runs them in.
#include <algorithm>
#include <functional>
#include <queue>

#include "runtime/passes/passes.h"

namespace graft::passes {

absl::Status OrderSteps(std::vector<PlanStep>& steps, std::vector<int>& step_of) {
  auto add_edge = [&](int from, int to) {
    if (from < 0 || to < 0 || from == to) return;
    auto& succ = steps[from].successors;
    if (std::find(succ.begin(), succ.end(), to) != succ.end()) return;
    succ.push_back(to);
    steps[to].num_predecessors++;
  };
  // Data edges, plus "every reader of a variable runs before the step that updates it in place".
  for (PlanStep& step : steps) {
    const int me = step_of[step.node->id];
    for (const Value& v : step.node->inputs) add_edge(step_of[v.node], me);
  }
  for (PlanStep& step : steps) {
    const int writer = step_of[step.node->id];
    for (int i : step.node->op->mutated_inputs) {
      if (i >= static_cast<int>(step.node->inputs.size())) continue;
      const Value mutated = step.node->inputs[i];
      for (const PlanStep& other : steps) {
        if (&other == &step) continue;
        for (const Value& v : other.node->inputs) {
          if (v == mutated) add_edge(step_of[other.node->id], writer);
        }
      }
    }
  }

  // Node ids order the data edges, but an update added before a reader of its variable must
  // move after that reader. Kahn's algorithm taking the lowest ready index keeps node order
  // wherever the edges allow it; a ready step that asks to run early (a gradient allreduce's
  // start) goes first.
  const int m = static_cast<int>(steps.size());
  std::vector<int> pending(m), order;
  std::vector<bool> early(m);
  for (int i = 0; i < m; ++i) early[i] = steps[i].kernel->Traits().run_early;
  auto later = [&](int a, int b) { return early[a] != early[b] ? early[b] : a > b; };
  std::priority_queue<int, std::vector<int>, decltype(later)> ready(later);
  for (int i = 0; i < m; ++i) {
    pending[i] = steps[i].num_predecessors;
    if (pending[i] == 0) ready.push(i);
  }
  while (!ready.empty()) {
    const int i = ready.top();
    ready.pop();
    order.push_back(i);
    for (int j : steps[i].successors) {
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
    sorted.push_back(std::move(steps[order[k]]));
    for (int& succ : sorted.back().successors) succ = new_index[succ];
  }
  steps = std::move(sorted);
  for (int& s : step_of) {
    if (s >= 0) s = new_index[s];
  }
  return absl::OkStatus();
}

}  // namespace graft::passes
