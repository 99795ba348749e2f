// Prune: a plan runs only what its fetches and targets reach.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "runtime/passes/passes.h"

namespace graft::passes {

bool IsSource(const Node& n) {
  const std::string& op = n.op->name;
  return op == "graft.Placeholder" || op == "graft.Variable" || op == "graft.Constant";
}

bool CompileState::is_fetched(Value v) const {
  return std::find(spec.fetches.begin(), spec.fetches.end(), v) != spec.fetches.end();
}

bool CompileState::SoleReader(Value v, int reader) const {
  for (int r : readers[v.node]) {
    for (const Value& in : graph.node(r).inputs) {
      if (in == v && r != reader) return false;
    }
  }
  return true;
}

absl::Status Prune(CompileState& s) {
  const Graph& graph = s.graph;
  const int n = graph.num_nodes();
  for (size_t i = 0; i < s.spec.feeds.size(); ++i) {
    const Value f = s.spec.feeds[i];
    if (!f.valid() || f.node >= n || !graph.IsPlaceholder(f)) {
      return absl::InvalidArgumentError(
          absl::StrCat("plan: feed ", i, " (",
                       f.valid() && f.node < n ? graph.node(f).name : "no such node",
                       ") is not a placeholder"));
    }
  }
  std::vector<int> stack;
  for (const Value& v : s.spec.fetches) stack.push_back(v.node);
  for (const Operation& t : s.spec.targets) stack.push_back(t.node);
  for (int id : stack) {
    if (id < 0 || id >= n) {
      return absl::InvalidArgumentError(absl::StrCat(
          "plan: a fetch or target refers to node ", id, ", not in this graph of ", n, " nodes"));
    }
  }
  s.needed.assign(n, false);
  while (!stack.empty()) {
    const int id = stack.back();
    stack.pop_back();
    if (s.needed[id]) continue;
    s.needed[id] = true;
    for (const Value& in : graph.node(id).inputs) stack.push_back(in.node);
  }
  s.readers.assign(n, {});
  for (int id = 0; id < n; ++id) {
    if (!s.needed[id]) continue;
    for (const Value& v : graph.node(id).inputs) s.readers[v.node].push_back(id);
  }
  return absl::OkStatus();
}

}  // namespace graft::passes
