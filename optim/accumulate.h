// graft — gradient accumulation: a batch's gradient summed over chunks of the batch.
//
// Op "graft.AccumulateGradient" (no attributes) takes (sum, grad, scale, keep), scalars scale
// and keep, and updates the variable `sum` in place:
//   sum = scale * grad              when keep == 0 (a batch's first chunk: the last batch's sum
//                                   is forgotten without a separate reset)
//   sum = sum + scale * grad        otherwise
// A mean loss over a batch of N rows is the sum over its chunks of (rows / N) times the chunk's
// mean loss, and so is its gradient: with scale = rows / N per chunk the sum is the batch's
// gradient (up to float summation order). keras::Model trains a large batch this way, chunk by
// chunk (keras/chunked_train.h). Elementwise: it works on packed layouts as well. Not
// differentiable. "graft.AccumulatedGradient" (below) gives sum + scale * grad as a value.
#ifndef GRAFT_OPTIM_ACCUMULATE_H_
#define GRAFT_OPTIM_ACCUMULATE_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/graph.h"

namespace graft::optim {

// Appends sum = keep ? sum + scale * grad : scale * grad (in place) and returns the operation a
// step runs as a target. `sum` must be a variable of grad's type; scale and keep float scalars.
absl::StatusOr<Operation> AccumulateGradient(Graph& g, Value sum, Value grad, Value scale,
                                             Value keep, absl::string_view name = "");

// Appends the op "graft.AccumulatedGradient" (sum, grad, scale) -> sum + scale * grad (a new
// value; sum is only read): the last chunk's gradient added to the sum of the others.
absl::StatusOr<Value> AccumulatedGradient(Graph& g, Value sum, Value grad, Value scale,
                                          absl::string_view name = "");

}  // namespace graft::optim

#endif  // GRAFT_OPTIM_ACCUMULATE_H_
