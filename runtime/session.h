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
//
// Threads: Run may be called from several threads at once. Each run takes a plan instance of its
// own (a plan holds the run's values, so one instance never runs twice at once): the first
// instance of a (step, batch, threads) compiles on the shared arena, and a run that finds it (or
// the shared arena) busy takes or compiles another instance with an arena of its own. Runs of
// steps that only read the variables (inference) may overlap freely; a step that updates
// variables (training) must not overlap any other run: keras::Model takes care of that with a
// reader-writer lock, and a custom loop must do the same.
#ifndef GRAFT_RUNTIME_SESSION_H_
#define GRAFT_RUNTIME_SESSION_H_

#include <map>
#include <memory>
#include <mutex>
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
  // `bf16`: plans compute convolutions and matmuls in bf16 (PlanOptions::bf16).
  explicit Session(std::shared_ptr<Graph> graph, ExecutorKind executor = ExecutorKind::kSequential,
                   bool bf16 = false);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  const std::shared_ptr<Graph>& graph() const { return graph_; }
  // `governed_with`: a step of this session whose thread governor this step shares, for steps
  // that run the same work in turns (a chunked train step's accumulating and finishing chunks):
  // one governor sees all their steps and decides once for both, instead of two governors each
  // deciding from half the measurements.
  StepId AddStep(StepSpec spec, StepId governed_with = {});

  // Runs `step` with `feeds` (one tensor per StepSpec::feeds, in order; the batch is the first
  // feed's dimension 0) and puts copies of the fetched values in `fetched`. `timed`: report the
  // run's time to the step's thread governor (false for a run that is not representative, such
  // as the first of a call).
  absl::Status Run(StepId step, const std::vector<Tensor>& feeds, std::vector<Tensor>* fetched,
                   bool timed = true);

  // A unit of runs that the thread governor times as one: the chunks of a chunked train step,
  // whose accumulating and finishing chunks cost differently (M4 at batch 64 on 1 thread: 66 and
  // 100 ms), so that single runs are not comparable. Between BeginUnit and EndUnit every run of
  // a step governed with `step` takes the thread count chosen at the unit's first run and is
  // not reported alone; EndUnit reports the runs' total time for `samples` samples, unless one
  // of them was the first of its plan, was not timed, or failed (samples 0: report nothing).
  // Units of one governor do not nest or overlap (training runs one step at a time).
  void BeginUnit(StepId step);
  void EndUnit(StepId step, int64_t samples);

  // The plan `step` runs for a batch size and thread count (compiled on first use): its first
  // instance. For reports and profiling; not while other threads run steps.
  absl::StatusOr<Plan*> GetPlan(StepId step, int64_t batch, int threads);
  // Drops every plan (they are compiled again when next needed), e.g. to change the executor.
  // Not while any step runs.
  void SetExecutor(ExecutorKind executor);
  // The governor that picks `step`'s thread count (AddStep's governed_with; null before the
  // step's first run). For reports and tests.
  std::shared_ptr<const ThreadGovernor> governor(StepId step) const;
  // How many plan instances exist for `step` (all batch sizes and thread counts): more than one
  // per batch size only where runs overlapped.
  int NumPlanInstances(StepId step) const;

 private:
  struct Instance {
    std::unique_ptr<Plan> plan;
    bool on_shared_arena = false;
    bool busy = false;
    bool warm = false;  // has run once (the first run pays for oneDNN's JIT)
  };
  using Key = std::tuple<int, int64_t, int>;  // step, batch, threads
  // A free instance for `key`, marked busy. When there is none, compiles one with `lock`
  // (holding mu_) released meanwhile, so other runs go on.
  absl::StatusOr<Instance*> Acquire(const Key& key, std::unique_lock<std::mutex>& lock);
  absl::StatusOr<std::unique_ptr<Plan>> CompilePlan(const StepSpec& s, const Key& key,
                                                    bool shared_arena, ExecutorKind executor);

  std::shared_ptr<Graph> graph_;
  ExecutorKind executor_;
  bool bf16_ = false;
  std::vector<StepSpec> steps_;
  mutable std::mutex mu_;  // guards everything below and steps_/governors_ growth
  // The governor of each step is governors_[governor_of_[step]] (AddStep's governed_with).
  std::vector<std::shared_ptr<ThreadGovernor>> governors_;
  std::vector<int> governor_of_;
  std::shared_ptr<SharedArena> arena_ = std::make_shared<SharedArena>();
  bool arena_busy_ = false;  // a run is using an instance on the shared arena
  std::map<Key, std::vector<std::unique_ptr<Instance>>> plans_;
  // The open unit of each governor (BeginUnit), by index into governors_.
  struct Unit {
    int threads = 0;  // 0: chosen at the unit's first run
    double seconds = 0;
    bool representative = true;
  };
  std::map<int, Unit> units_;
};

}  // namespace graft

#endif  // GRAFT_RUNTIME_SESSION_H_
