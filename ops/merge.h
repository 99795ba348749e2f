// graft — the ops behind Keras's merge layers (Subtract, Maximum, Minimum, Concatenate): typed
// builders for graph code and layers. Add and Multiply are in ops/elementwise.h.
//
// Ops registered by ops/merge.cc (attributes in brackets):
//   "graft.Sub"              {a, b} -> {y}            y = a - b
//   "graft.Maximum"          {a, b} -> {y}            y = max(a, b)
//   "graft.Minimum"          {a, b} -> {y}            y = min(a, b)
//   "graft.MaximumBackward"  {dy, a, b} -> {da, db}   (and "graft.MinimumBackward")
//   "graft.Concat"  [ConcatAttrs] {x...} -> {y}       one or more inputs, joined along `axis`
//   "graft.Slice"   [SliceAttrs]  {x} -> {y}          a range of one axis (Concat's gradient)
// The binary ops take equal types (no broadcasting, as Keras's merge layers on equal shapes).
#ifndef GRAFT_OPS_MERGE_H_
#define GRAFT_OPS_MERGE_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/graph.h"

namespace graft::ops {

// The attributes of "graft.Concat": the axis to join along; negative counts from the end
// (Keras's Concatenate(axis=-1) default).
struct ConcatAttrs {
  int64_t axis = -1;
};

// The attributes of "graft.Slice": y = x[..., begin : begin + size, ...] along `axis` (negative
// counts from the end).
struct SliceAttrs {
  int64_t axis = -1;
  int64_t begin = 0;
  int64_t size = 0;
};

// y = a - b. a and b must have equal dtypes and shapes (an unknown batch, -1, matches only -1);
// the error names both: "... inputs must have equal types (no broadcasting), got float32
// (None, 3) and float32 (None, 4)". Gradient: (dy, -dy).
absl::StatusOr<Value> Subtract(Graph& g, Value a, Value b, absl::string_view name = "");

// y = max(a, b) / min(a, b) elementwise (NaN in either input gives NaN), inputs as Subtract.
// Gradient as PyTorch's torch.maximum / torch.minimum: dy goes to the selected input, and on a
// tie (a == b) it is split evenly, dy/2 to each. (TensorFlow gives a tie's whole gradient to a.)
absl::StatusOr<Value> Maximum(Graph& g, Value a, Value b, absl::string_view name = "");
absl::StatusOr<Value> Minimum(Graph& g, Value a, Value b, absl::string_view name = "");

// Keras Concatenate(axis): joins one or more inputs of equal dtype and rank along `axis`
// (negative: from the end; the batch axis 0 is allowed). Every other dimension must be equal;
// the output's `axis` dimension is the sum (unknown when any input's is). Errors name the
// inputs' shapes: "inputs must have equal dimensions except on the concatenation axis 2
// (axis=-1), got float32 (None, 4, 5) (input 0) and float32 (None, 3, 6) (input 1)".
// Gradient: each input gets its range of dy (graft.Slice).
absl::StatusOr<Value> Concatenate(Graph& g, const std::vector<Value>& inputs, int64_t axis = -1,
                                  absl::string_view name = "");

// y = x[..., begin : begin + size, ...] along `axis`; 0 <= begin, 1 <= size, begin + size <= the
// axis's size, which must be known. Not differentiable (it is Concat's gradient).
absl::StatusOr<Value> Slice(Graph& g, Value x, const SliceAttrs& attrs,
                            absl::string_view name = "");

}  // namespace graft::ops

#endif  // GRAFT_OPS_MERGE_H_
