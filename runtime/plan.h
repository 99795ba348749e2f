// graft — plans: a compiled, runnable slice of a graph for concrete input shapes.
//
// Compiling a plan prunes the graph to what the fetches and targets need, infers every shape
// with the batch size now known, creates one kernel per node (oneDNN primitives are created
// here, once), folds activations into the primitives before them, keeps weights packed, orders
// nodes that update a variable in place after every reader of that variable and places every
// intermediate tensor in one arena: the passes of runtime/passes/passes.h. Running it binds the
// feeds (no copy) and executes the steps with the chosen executor.
#ifndef GRAFT_RUNTIME_PLAN_H_
#define GRAFT_RUNTIME_PLAN_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "graph/graph.h"
#include "graph/op_registry.h"
#include "runtime/kernel.h"

namespace graft {

enum class ExecutorKind {
  kSequential,  // nodes in topological order on the calling thread
  kTbb,         // dependency-counted: independent non-oneDNN nodes run as TBB tasks
};

class Plan;
namespace passes {
struct CompileState;
}  // namespace passes

// One arena buffer that several plans take turns on: the plans of one model (train and eval, per
// batch size, per thread count) never run at the same time and keep nothing in their arenas
// between runs, so they can all live in the largest one's bytes. When a plan needs more, the
// buffer is replaced and every plan on it re-points its views.
class SharedArena {
 public:
  SharedArena() = default;
  SharedArena(const SharedArena&) = delete;
  SharedArena& operator=(const SharedArena&) = delete;
  int64_t bytes() const { return bytes_; }
  const std::shared_ptr<void>& buffer() const { return buffer_; }

 private:
  friend class Plan;
  // Makes the buffer at least `bytes` long (moving every plan on it when it grows).
  // RESOURCE_EXHAUSTED when that allocation fails; the buffer then keeps its old size.
  absl::Status Reserve(int64_t bytes);
  std::shared_ptr<void> buffer_;
  int64_t bytes_ = 0;
  std::vector<Plan*> plans_;
};

struct PlanOptions {
  KernelKind kernels = KernelKind::kFast;
  ExecutorKind executor = ExecutorKind::kSequential;
  // The threads the plan's kernels are built for and run with (oneDNN primitives fix their
  // work split when created). 0: CurrentThreads() at compile time.
  int num_threads = 0;
  // Mixed precision: convolutions and matmuls compute in bf16 (KernelInitContext::bf16).
  bool bf16 = false;
  // Keep variables in the packed form their kernels prefer (oneDNN's blocked convolution
  // weights, and the optimizer state beside them) across runs instead of reordering per step.
  bool pack_variables = true;
  // Where intermediate values live: null, an arena of the plan's own; else this shared one.
  std::shared_ptr<SharedArena> arena;
};

struct PlanSpec {
  std::vector<Value> feeds;        // placeholders, fed in this order
  std::vector<Value> fetches;      // values returned by Run, in this order
  std::vector<Operation> targets;  // run for their side effects (optimizer updates)
};

// One node of a plan, ready to run.
struct PlanStep {
  const Node* node = nullptr;
  std::unique_ptr<Kernel> kernel;
  KernelRunContext ctx;
  std::vector<int> successors;  // step indices that wait for this one
  int num_predecessors = 0;
  std::string fused;  // the elementwise op folded into this step's primitive, if any
};

class Plan {
 public:
  ~Plan();
  Plan(const Plan&) = delete;
  Plan& operator=(const Plan&) = delete;
  // `feed_types` gives the concrete type of each feed (same order as spec.feeds).
  static absl::StatusOr<std::unique_ptr<Plan>> Compile(const Graph& graph, PlanSpec spec,
                                                       std::vector<TensorType> feed_types,
                                                       PlanOptions options = {});

  // Runs one step. `feeds` must match the compiled feed types exactly; fetched values are
  // copies, safe to keep after the next run. A tensor already in `fetched` with the right type
  // that nobody else holds (Tensor::SoleOwner) is written over instead of allocated again.
  absl::Status Run(const std::vector<Tensor>& feeds, std::vector<Tensor>* fetched);

  const std::vector<PlanStep>& steps() const { return steps_; }
  int num_threads() const { return options_.num_threads; }
  // The planned peak: bytes of the one arena holding every intermediate tensor (variables and
  // feeds excluded), allocated once and reused every run.
  int64_t arena_bytes() const { return arena_bytes_; }
  // What one allocation per intermediate value would take, for comparison.
  int64_t allocated_bytes() const { return allocated_bytes_; }
  // The concrete type of a value in this plan.
  const TensorType& type(Value v) const;
  // One line per step: name, op, kernel kind, output types; then the packed variables.
  std::string Report() const;
  // Names of the variables this plan binds in a packed form.
  std::vector<std::string> PackedVariables() const;
  // Runs `iterations` steps in order on `feeds` and reports each step's mean time, slowest
  // first, with its share of the total: where a training step's time goes.
  absl::StatusOr<std::string> Profile(const std::vector<Tensor>& feeds, int iterations);

 private:
  Plan() = default;
  friend class SharedArena;
  // Points every arena view at `base` (the arena buffer moved).
  void CarveViews();
  // RESOURCE_EXHAUSTED (naming the batch, the bytes and the largest value) when the planned
  // arena does not fit MemoryLimitBytes() (graph/memory.h), checked before allocating it.
  absl::Status CheckArenaSize() const;

  // Binds every value's storage and creates one Init'ed step per node that runs.
  absl::Status BindStorage(passes::CompileState& state);
  // The type of the buffer holding `v`: its type, or a flat packed copy.
  TensorType StorageType(Value v) const;

  const Graph* graph_ = nullptr;
  PlanSpec spec_;
  PlanOptions options_;
  std::vector<TensorType> feed_types_;
  // values_[node][output]: the tensor each value lives in during a run.
  std::vector<std::vector<Tensor>> values_;
  std::vector<std::vector<TensorType>> types_;
  std::vector<PlanStep> steps_;
  std::vector<int> step_of_;  // node id -> its step (a folded node: its producer's), or -1
  // Every variable the plan binds, and whether in its packed form / updated in place: Run
  // brings that copy up to date first (a no-op while it stays current).
  struct VariableBinding {
    const Node* node;
    VariableHome* home;
    bool packed;
    bool written;
  };
  std::vector<VariableBinding> variables_;
  // Values the plan keeps in a packed form (variables and the gradients that update them).
  absl::flat_hash_map<Value, std::shared_ptr<const PackedForm>> packed_;
  std::shared_ptr<void> arena_;  // the plan's own, or the shared arena's buffer
  std::shared_ptr<SharedArena> shared_arena_;
  std::vector<std::pair<Value, int64_t>> arena_offsets_;  // each arena value's byte offset
  int64_t arena_bytes_ = 0;
  int64_t allocated_bytes_ = 0;
};

}  // namespace graft

#endif  // GRAFT_RUNTIME_PLAN_H_
