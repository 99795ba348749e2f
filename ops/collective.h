// graft — the gradient allreduce of data-parallel training, as graph ops.
//
// AllreduceGradients puts, between each gradient and the optimizer update that reads it, a pair
// of nodes that sum the gradient over the ranks of a Communicator (runtime/collective.h):
//
//   g_i --graft.AllreduceStart(g_i, scale)--> g_i' (same bytes), token_i
//   g_i' --graft.AllreduceWait(g_i', tokens of g_i's bucket)--> g_i'' (same bytes, now the sum)
//
// The gradients are grouped into buckets of about `bucket_bytes`, in reverse parameter order
// (the order the backward pass produces them). A Start copies scale * g into its bucket's
// buffer; the Start that completes a bucket starts its non-blocking sum (buckets always start
// in bucket order, so every rank issues the same collectives in the same order). A plan runs a
// Start as soon as its gradient exists (KernelTraits::run_early), so a bucket's communication
// overlaps the rest of the backward pass; the Waits come after the backward pass, each waiting
// for its bucket and copying the sum back. Start and Wait run on the thread driving the plan (all
// MPI calls of a step come from one thread) and treat the gradient as a flat array, so a
// gradient kept in a packed layout stays packed through them.
//
// `scale` is a float scalar placeholder the trainer feeds each step: this rank's share of the
// global batch (n_rank / n_global), which makes the sum the gradient of the global batch's mean
// loss for any split of the batch.
#ifndef GRAFT_OPS_COLLECTIVE_H_
#define GRAFT_OPS_COLLECTIVE_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "graph/graph.h"
#include "runtime/collective.h"

namespace graft::ops {

// Returns the summed gradient for each of `grads` (float32), in order. `comm` must outlive every
// plan compiled from the graph.
absl::StatusOr<std::vector<Value>> AllreduceGradients(Graph& g, const std::vector<Value>& grads,
                                                      Value scale, Communicator* comm,
                                                      int64_t bucket_bytes);

}  // namespace graft::ops

#endif  // GRAFT_OPS_COLLECTIVE_H_
