// graft — running a graph step by step: the public runtime object behind Keras's Fit, and what a
// custom training loop uses directly.
//
//   auto graph = std::make_shared<graft::Graph>();
//   ... placeholders x, y; a loss from ops; autodiff::Gradients; optimizer->AppendUpdates ...
//   graft::Session session(graph);
//   graft::StepId train = session.AddStep({.feeds = {x, y, lr, it}, .fetches = {loss},
//                                          .targets = updates});
//   std::vector<graft::Tensor> out;
//   absl::Status s = session.Run(train, {xb, yb, lr_value, step_value}, &out);
//
// A Session owns what a model's training needs besides the graph: a compiled plan per step,
// batch size (the first feed's dimension 0) and thread count, created on first use and kept;
// one arena that all of them share (they never run at once); and a thread governor per step
// that picks the thread count from the budget (SetNumThreads) by measuring, as Fit does.
// Variables live in the graph: every step of every plan reads and updates the same storage.
#ifndef GRAFT_RUNTIME_SESSION_H_
#define GRAFT_RUNTIME_SESSION_H_

#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "graph/graph.h"
#include "runtime/plan.h"
#include "runtime/thread_governor.h"

namespace graft {

// What one run of a step computes: the placeholders it is fed (in this order), the values it
// returns, and the nodes it runs for their effects (an optimizer's updates).
struct StepSpec {
  std::vector<Value> feeds;
  std::vector<Value> fetches;
  std::vector<Operation> targets;
};

// A step of a Session (AddStep returns it).
struct StepId {
  int index = -1;
};

class Session {
 public:
  explicit Session(std::shared_ptr<Graph> graph, ExecutorKind executor = ExecutorKind::kSequential);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  const std::shared_ptr<Graph>& graph() const { return graph_; }
  StepId AddStep(StepSpec spec);

  // Runs `step` with `feeds` (one tensor per StepSpec::feeds, in order; the batch is the first
  // feed's dimension 0) and puts the fetched values in `fetched` (valid until the next run of
  // any step). `timed`: report the run's time to the step's thread governor (false for a run
  // that is not representative, such as the first of a call).
  absl::Status Run(StepId step, const std::vector<Tensor>& feeds, std::vector<Tensor>* fetched,
                   bool timed = true);

  // The plan `step` runs for a batch size and thread count (compiled on first use).
  absl::StatusOr<Plan*> GetPlan(StepId step, int64_t batch, int threads);
  // Drops every plan (they are compiled again when next needed), e.g. to change the executor.
  void SetExecutor(ExecutorKind executor);

 private:
  struct Cached {
    std::unique_ptr<Plan> plan;
    bool warm = false;  // has run once (the first run pays for oneDNN's JIT)
  };
  std::shared_ptr<Graph> graph_;
  ExecutorKind executor_;
  std::vector<StepSpec> steps_;
  std::vector<std::unique_ptr<ThreadGovernor>> governors_;
  std::shared_ptr<SharedArena> arena_ = std::make_shared<SharedArena>();
  std::map<std::tuple<int, int64_t, int>, Cached> plans_;
};

}  // namespace graft

#endif  // GRAFT_RUNTIME_SESSION_H_
