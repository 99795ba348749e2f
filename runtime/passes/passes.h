// graft — the passes that compile a plan (runtime/plan.h), in the order Plan::Compile runs them:
//
//   Prune            which nodes the fetches and targets need, and who reads each   prune.cc
//   InferTypes       every needed value's concrete type, the batch size now known   infer_types.cc
//   SelectKernels    one kernel per node (fast or reference) and its traits          select_kernels.cc
//   FuseElementwise  activations folded into the primitive producing their input     fuse.cc
//   ChoosePackedForms variables kept in their kernels' packed layouts across steps   pack.cc
//   (Plan: bind storage and Init each kernel)                                        plan.cc
//   OrderSteps       dependencies, then a topological order for the sequential run   schedule.cc
//   PlaceInArena     buffer lifetimes, sharing and offsets in one arena              arena.cc
//
// Each pass reads what the earlier ones left in CompileState and adds its own part. Internal to
// the runtime: users compile plans through Plan::Compile or graft::Session.
#ifndef GRAFT_RUNTIME_PASSES_PASSES_H_
#define GRAFT_RUNTIME_PASSES_PASSES_H_

#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "graph/graph.h"
#include "runtime/kernel.h"
#include "runtime/plan.h"

namespace graft::passes {

// What the passes know about the graph being compiled, per node id.
struct CompileState {
  const Graph& graph;
  const PlanSpec& spec;
  KernelKind kernel_kind = KernelKind::kFast;

  std::vector<bool> needed;                       // Prune
  std::vector<std::vector<int>> readers;          // Prune: needed nodes reading each node
  std::vector<std::vector<TensorType>> types;     // InferTypes
  std::vector<std::unique_ptr<Kernel>> kernels;   // SelectKernels (null for sources)
  std::vector<KernelTraits> traits;               // SelectKernels
  std::vector<int> fused_into;                    // FuseElementwise: producer -> folded node
  std::vector<bool> folded;                       // FuseElementwise: no step of their own
  // ChoosePackedForms: values kept packed (variables and the gradients that update them).
  absl::flat_hash_map<Value, std::shared_ptr<const PackedForm>> packed;

  bool is_fetched(Value v) const;
  // Whether node `reader` is the only needed node reading value `v`.
  bool SoleReader(Value v, int reader) const;
};

// Placeholders, variables and constants: bound to tensors, never run.
bool IsSource(const Node& n);

absl::Status Prune(CompileState& s);
absl::Status InferTypes(CompileState& s, const std::vector<TensorType>& feed_types);
absl::Status SelectKernels(CompileState& s);
void FuseElementwise(CompileState& s);
absl::Status ChoosePackedForms(CompileState& s);

// Adds the dependency edges between `steps` (data edges via step_of[node id], and every reader
// of a variable before the step updating it in place), then sorts them so that every edge points
// forward, keeping node order wherever the edges allow; step_of is renumbered to match.
absl::Status OrderSteps(std::vector<PlanStep>& steps, std::vector<int>& step_of);

// Where each value written by a step lives in the plan's one arena.
struct ArenaLayout {
  std::vector<std::pair<Value, int64_t>> offsets;  // each value's byte offset
  int64_t arena_bytes = 0;                         // the planned peak
  int64_t allocated_bytes = 0;                     // one buffer per value, for comparison
};
// Lays out the values the (ordered) steps write: each is live from its step to its last reader
// (to the end when fetched); values an op declares as aliases of an input, or writable over an
// input nothing reads afterwards, share that input's buffer. Adds the edges that keep the reuse
// safe in any order the TBB executor may pick. `types` are each node's output types, `storage`
// the type of the bytes holding a value (its type, or a flat packed copy).
ArenaLayout PlaceInArena(std::vector<PlanStep>& steps, const std::vector<int>& fused_into,
                         const std::vector<Value>& fetches,
                         const std::vector<std::vector<TensorType>>& types,
                         const std::function<TensorType(Value)>& storage);

}  // namespace graft::passes

#endif  // GRAFT_RUNTIME_PASSES_PASSES_H_
