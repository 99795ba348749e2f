// graft — Dropout (Keras's inverted dropout), the training-time op.
//
// Op "graft.Dropout" (attributes DropoutAttrs) takes (x, step) and gives (y, mask~): the mask is
// a hidden output with x's type holding 1/(1 - rate) where x is kept and 0 where it is dropped.
// Its gradient is dx = dy * mask (graft.Mul); step gets none. Dropout is the identity outside
// training: a predict or evaluate graph simply does not contain the op.
#ifndef GRAFT_OPS_DROPOUT_H_
#define GRAFT_OPS_DROPOUT_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/graph.h"

namespace graft::ops {

struct DropoutAttrs {
  double rate = 0.5;  // the fraction dropped, 0 <= rate <= 1 as in Keras (1 drops everything)
  uint64_t seed = 0;
};

// Inverted dropout, training only: y = x * mask, mask_i = [u_i >= rate] / (1 - rate) (0 for
// every element when rate = 1), where u_i in [0, 1) is a counter-based uniform of
// (seed, step, i) — the same for any thread count and kernel kind. `step` is the scalar float
// iteration placeholder the trainer feeds (a new mask every step; it must be a non-negative
// whole number, exact in float32 up to 2^24). Returns y (the mask is a hidden output).
// `row_offset` (optional, a float scalar whole number r): x holds rows [r, r + n) of a larger
// batch and draws the mask those rows get in the whole batch (element r * row elements + i of
// the stream), so a batch trained in chunks drops what it would drop in one piece.
// A rate outside [0, 1] fails when the node is added.
absl::StatusOr<Value> Dropout(Graph& g, Value x, Value step, const DropoutAttrs& a,
                              absl::string_view name = "", Value row_offset = {});

}  // namespace graft::ops

#endif  // GRAFT_OPS_DROPOUT_H_
