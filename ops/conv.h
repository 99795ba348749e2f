// graft — 1-D and 2-D convolution (Keras Conv1D, Conv2D): the builders for graph code and Keras
// layers, and the attributes of the forward and backward ops registered in ops/conv.cc.
//
// Layouts are Keras's: x channels-last, (batch, steps, in_channels) or (batch, height, width,
// in_channels); kernel w (kernel_size, in_channels/groups, filters) or (kernel_height,
// kernel_width, in_channels/groups, filters) (HWIO); bias b (filters,). The op is
// cross-correlation (no kernel flip). Output sizes and padding follow Keras's valid / same /
// causal rules per spatial dimension (ops/padding.h): `same` puts the extra padding element on
// the right / bottom, `causal` (Conv1D only) pads dilation*(kernel_size-1) on the left only.
// With groups g, the filters are split into g consecutive groups and group i reads only the
// input channels [i*Cin/g, (i+1)*Cin/g).
#ifndef GRAFT_OPS_CONV_H_
#define GRAFT_OPS_CONV_H_

#include <cstdint>
#include <optional>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/graph.h"
#include "ops/padding.h"

namespace graft::ops {

// Attributes of "graft.Conv1D". The kernel size comes from w's first dimension. As in Keras,
// stride > 1 together with dilation > 1 is rejected.
struct Conv1DAttrs {
  int64_t stride = 1;
  Padding padding = Padding::kValid;
  int64_t dilation = 1;
  int64_t groups = 1;
};

// Attributes of "graft.Conv1DBackwardData" (dy, w) -> dx: the forward's attributes and the
// forward input length L (dx is (batch, L, in_channels); the batch comes from dy).
struct Conv1DBackwardDataAttrs {
  Conv1DAttrs conv;
  int64_t length = 0;
};

// Attributes of "graft.Conv1DBackwardWeights" (x, dy) -> (dw, db): the forward's attributes
// and the kernel size k (dw is (k, in_channels/groups, filters), db is (filters,)).
struct Conv1DBackwardWeightsAttrs {
  Conv1DAttrs conv;
  int64_t kernel_size = 0;
};

// Attributes of "graft.Conv2D". The kernel size comes from w's first two dimensions. As in
// Keras, any stride > 1 together with any dilation > 1 is rejected, and padding is valid or
// same (causal is Conv1D's only).
struct Conv2DAttrs {
  int64_t stride_h = 1, stride_w = 1;
  Padding padding = Padding::kValid;
  int64_t dilation_h = 1, dilation_w = 1;
  int64_t groups = 1;
};

// Attributes of "graft.Conv2DBackwardData" (dy, w) -> dx: the forward's attributes and the
// forward input height and width (dx is (batch, height, width, in_channels)).
struct Conv2DBackwardDataAttrs {
  Conv2DAttrs conv;
  int64_t height = 0, width = 0;
};

// Attributes of "graft.Conv2DBackwardWeights" (x, dy) -> (dw, db): the forward's attributes
// and the kernel size (dw is (kernel_h, kernel_w, in_channels/groups, filters), db (filters,)).
struct Conv2DBackwardWeightsAttrs {
  Conv2DAttrs conv;
  int64_t kernel_h = 0, kernel_w = 0;
};

// y = conv1d(x, w) + b: x (N, L, Cin), w (k, Cin/g, Cout), optional b (Cout) -> y (N, Lout, Cout)
//   y[n, o, co] = b[co] + sum_{j < k, ci} x[n, o*stride + j*dilation - pad_l, c(co, ci)]
//                                         * w[j, ci, co]
// with c(co, ci) = (co / (Cout/g)) * (Cin/g) + ci and out-of-range x reading as zero. Fails
// (naming the node) on wrong ranks, a channel mismatch, groups not dividing Cin or Cout, a bad
// bias shape, kernel_size 0, stride or dilation < 1, stride > 1 with dilation > 1, or a
// non-positive 'valid' output length. An unknown batch or length (-1) propagates to y.
absl::StatusOr<Value> Conv1D(Graph& g, Value x, Value w, std::optional<Value> b,
                             const Conv1DAttrs& attrs, absl::string_view name = "");

// y = conv2d(x, w) + b: x (N, H, W, Cin) channels-last, w (kh, kw, Cin/g, Cout) Keras HWIO,
// optional b (Cout) -> y (N, Hout, Wout, Cout)
//   y[n, oh, ow, co] = b[co] + sum_{jh, jw, ci} x[n, oh*sh + jh*dh - pad_top,
//                                                 ow*sw + jw*dw - pad_left, c(co, ci)]
//                                               * w[jh, jw, ci, co]
// with c(co, ci) as for Conv1D. Fails (naming the node, and the dimension: "output width would
// be -1 ...") on the same problems as Conv1D, and on padding 'causal'. An unknown batch, height
// or width (-1) propagates to y.
absl::StatusOr<Value> Conv2D(Graph& g, Value x, Value w, std::optional<Value> b,
                             const Conv2DAttrs& attrs, absl::string_view name = "");

}  // namespace graft::ops

#endif  // GRAFT_OPS_CONV_H_
