// graft — zero padding, cropping and nearest-neighbour upsampling of the spatial axes of
// channels-last tensors (Keras ZeroPadding1D/2D, Cropping1D/2D, UpSampling1D/2D): typed builders.
//
// Ops registered by ops/spatial.cc (attributes in brackets), for x of shape (N, s_1, ..., s_k, C)
// with k = the attributes' length (1: (N, steps, C); 2: (N, H, W, C); 3 works too):
//   "graft.Pad"               [PadAttrs]      {x}  -> {y}   zeros around each spatial axis
//   "graft.Crop"              [CropAttrs]     {x}  -> {y}   removes a border of each spatial axis
//   "graft.UpSample"          [UpSampleAttrs] {x}  -> {y}   repeats each position size_a times
//   "graft.UpSampleBackward"  [UpSampleAttrs] {dy} -> {dx}  sums each size_1 x ... x size_k block
// The batch N may be unknown (-1); an unknown spatial size stays unknown.
#ifndef GRAFT_OPS_SPATIAL_H_
#define GRAFT_OPS_SPATIAL_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/graph.h"

namespace graft::ops {

// Zero padding: begin[a] zeros before and end[a] zeros after spatial axis a (>= 0 each). Keras's
// ZeroPadding1D(padding=(b, e)) is {{b}, {e}}; ZeroPadding2D(((top, bottom), (left, right)))
// is {{top, left}, {bottom, right}}.
struct PadAttrs {
  std::vector<int64_t> begin;
  std::vector<int64_t> end;
};

// Cropping: removes begin[a] positions at the start and end[a] at the end of spatial axis a
// (>= 0 each; at least one position must remain). Keras's Cropping2D(((top, bottom), (left,
// right))) is {{top, left}, {bottom, right}}.
struct CropAttrs {
  std::vector<int64_t> begin;
  std::vector<int64_t> end;
};

// Nearest-neighbour upsampling by an integer factor size[a] >= 1 per spatial axis: Keras's
// UpSampling1D(size) is {{size}}, UpSampling2D((rows, cols), interpolation="nearest") is
// {{rows, cols}}.
struct UpSampleAttrs {
  std::vector<int64_t> size;
};

// y[n, i_1..i_k, c] = x[n, i_1 - begin_1, ..., c] where every index is inside x, else 0;
// y's spatial sizes are s_a + begin_a + end_a. Gradient: Crop(dy) with the same begin/end.
// Errors name x's shape: "pads given for 2 spatial axes, so the input must have rank 4
// (batch, height, width, channels); got float32 (None, 10, 3)".
absl::StatusOr<Value> Pad(Graph& g, Value x, const PadAttrs& attrs, absl::string_view name = "");

// y[n, i_1..i_k, c] = x[n, i_1 + begin_1, ..., c]; y's spatial sizes are s_a - begin_a - end_a,
// which must be >= 1 where s_a is known (else an error with the numbers: "cropping (3, 3) of the
// steps axis would leave 5 - 3 - 3 = -1 positions of input float32(None, 5, 7); ..."). Gradient:
// Pad(dy) with the same begin/end.
absl::StatusOr<Value> Crop(Graph& g, Value x, const CropAttrs& attrs, absl::string_view name = "");

// y[n, i_1..i_k, c] = x[n, floor(i_1 / size_1), ..., c]; y's spatial sizes are s_a * size_a.
// Gradient: "graft.UpSampleBackward", dx[n, j, c] = the sum of dy over the block of positions
// j * size .. j * size + size - 1 on every axis.
absl::StatusOr<Value> UpSample(Graph& g, Value x, const UpSampleAttrs& attrs,
                               absl::string_view name = "");

}  // namespace graft::ops

#endif  // GRAFT_OPS_SPATIAL_H_
