// graft — pooling (Keras MaxPooling1D/2D, AveragePooling1D/2D, GlobalMax/AveragePooling1D/2D),
// channels-last.
//
// Ops registered by ops/pool.cc (attributes in brackets):
//   "graft.MaxPool1D"       [Pool1DAttrs]    {x}  -> {y, workspace~ (hidden, int32)}
//   "graft.MaxPool2D"       [Pool2DAttrs]    {x}  -> {y, workspace~}
//   "graft.AveragePool1D"   [Pool1DAttrs]    {x}  -> {y}
//   "graft.AveragePool2D"   [Pool2DAttrs]    {x}  -> {y}
//   "graft.GlobalMaxPool"   [GlobalPoolAttrs] {x} -> {y, workspace~}
//   "graft.GlobalAveragePool" [GlobalPoolAttrs] {x} -> {y}
// and for each "<op>" its gradient op "<op>Backward" with the same attributes:
//   max kinds {dy, workspace, x} -> {dx};  average kinds {dy, x} -> {dx} (x gives only the shape).
// A workspace has y's shape and holds, per output element, the flat spatial position h*W + w
// of its window's argmax (the fast and the reference kernels alike). It is an implementation
// detail between a forward op and its backward op: only the backward op of the same plan
// should read it.
#ifndef GRAFT_OPS_POOL_H_
#define GRAFT_OPS_POOL_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/graph.h"
#include "ops/padding.h"

namespace graft::ops {

enum class PoolKind { kMax, kAverage };

// Attributes of the 1-D pooling ops. Keras's MaxPooling1D defaults: pool_size=2, strides=None
// (= pool_size; callers resolve None), padding="valid". AveragePooling1D has no default
// pool_size in Keras 3. Padding::kCausal is rejected: Keras allows it for Conv1D only.
struct Pool1DAttrs {
  int64_t pool = 2;    // window length, >= 1
  int64_t stride = 2;  // step between windows, >= 1
  Padding padding = Padding::kValid;
};
using MaxPool1DAttrs = Pool1DAttrs;

// Attributes of the 2-D pooling ops (Keras MaxPooling2D defaults: pool_size=(2, 2),
// strides=None = pool_size, padding="valid").
struct Pool2DAttrs {
  int64_t pool_h = 2, pool_w = 2;
  int64_t stride_h = 2, stride_w = 2;
  Padding padding = Padding::kValid;
};

// Attributes of the global pooling ops: reduce every spatial axis of (N, steps, C) or
// (N, H, W, C); keepdims keeps them as size 1.
struct GlobalPoolAttrs {
  bool keepdims = false;
};

// Windowed pooling, per spatial axis with window p, stride s and Keras's pads (ops/padding.h with
// dilation 1: valid none, out = floor((L - p)/s) + 1, an error when <= 0; same out = ceil(L/s),
// total pad max((out - 1)*s + p - L, 0), left = total/2, the extra element on the right):
//   max:     y = max of the window's real elements (padding is never selected; ties: the first
//            in row-major window order wins)
//   average: y = sum of the window's real elements / their count (padding excluded)
// x is (N, L, C) for 1-D, (N, H, W, C) for 2-D; the batch N may be unknown (-1). Each returns the
// visible output y (a max node's hidden workspace output feeds its gradient).
absl::StatusOr<Value> MaxPool1D(Graph& g, Value x, const Pool1DAttrs& attrs,
                                absl::string_view name = "");
absl::StatusOr<Value> MaxPool2D(Graph& g, Value x, const Pool2DAttrs& attrs,
                                absl::string_view name = "");
absl::StatusOr<Value> AveragePool1D(Graph& g, Value x, const Pool1DAttrs& attrs,
                                    absl::string_view name = "");
absl::StatusOr<Value> AveragePool2D(Graph& g, Value x, const Pool2DAttrs& attrs,
                                    absl::string_view name = "");

// Global pooling over all spatial axes of (N, steps, C) or (N, H, W, C): -> (N, C), or with
// keepdims (N, 1, C) / (N, 1, 1, C). Max: ties go to the first element in (h, w) order.
absl::StatusOr<Value> GlobalPool(Graph& g, Value x, PoolKind kind, bool keepdims,
                                 absl::string_view name = "");

}  // namespace graft::ops

#endif  // GRAFT_OPS_POOL_H_
