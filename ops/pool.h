// graft — max pooling over one spatial dimension (Keras MaxPooling1D), channels-last.
//
// Ops registered by ops/pool.cc:
//   "graft.MaxPool1D"          inputs {x}                 outputs {y, workspace~ (hidden, int32)}
//   "graft.MaxPool1DBackward"  inputs {dy, workspace, x}  outputs {dx}
// The workspace has y's shape. Its contents belong to the kernel that wrote it (oneDNN's own
// workspace bytes for the fast kernel, the argmax input position for the reference kernel), so
// only the backward op of the same plan may read it; a plan never mixes the two kinds.
#ifndef GRAFT_OPS_POOL_H_
#define GRAFT_OPS_POOL_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/graph.h"
#include "ops/padding.h"

namespace graft::ops {

// Attributes of graft.MaxPool1D and graft.MaxPool1DBackward. Keras's MaxPooling1D defaults:
// pool_size=2, strides=None (= pool_size; callers resolve None), padding="valid".
// Padding::kCausal is rejected: Keras allows it for Conv1D only.
struct MaxPool1DAttrs {
  int64_t pool = 2;    // window length, >= 1
  int64_t stride = 2;  // step between windows, >= 1
  Padding padding = Padding::kValid;
};

// y[n, i, c] = max over the window of x[n, i*stride - pad_l + j, c], j < pool; padding is
// never selected. x is (N, L, C), channels-last; the batch N may be unknown (-1).
// Output length: valid floor((L - pool)/stride) + 1 (an error when <= 0), same ceil(L/stride)
// with Keras's asymmetric pads (left = total/2, the extra element on the right; ops/padding.h).
// Returns the visible output y; the node's hidden workspace output feeds the gradient.
absl::StatusOr<Value> MaxPool1D(Graph& g, Value x, const MaxPool1DAttrs& attrs,
                                absl::string_view name = "");

}  // namespace graft::ops

#endif  // GRAFT_OPS_POOL_H_
