// graft — 1-D convolution (Keras Conv1D): the builder for graph code and Keras layers, and the
// attributes of the forward and backward ops registered in ops/conv.cc.
//
// Layouts are Keras's: x (batch, steps, in_channels) channels-last, kernel w
// (kernel_size, in_channels, filters), bias b (filters,). The op is cross-correlation (no
// kernel flip). Output lengths and padding follow Keras's valid / same / causal rules
// (ops/padding.h): `same` puts the extra padding element on the right, `causal` pads
// dilation*(kernel_size-1) on the left only.
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
};

// Attributes of "graft.Conv1DBackwardData" (dy, w) -> dx: the forward's attributes and the
// forward input length L (dx is (batch, L, in_channels); the batch comes from dy).
struct Conv1DBackwardDataAttrs {
  Conv1DAttrs conv;
  int64_t length = 0;
};

// Attributes of "graft.Conv1DBackwardWeights" (x, dy) -> (dw, db): the forward's attributes
// and the kernel size k (dw is (k, in_channels, filters), db is (filters,)).
struct Conv1DBackwardWeightsAttrs {
  Conv1DAttrs conv;
  int64_t kernel_size = 0;
};

// y = conv1d(x, w) + b: x (N, L, Cin), w (k, Cin, Cout), optional b (Cout) -> y (N, Lout, Cout)
//   y[n, o, co] = b[co] + sum_{j < k, ci} x[n, o*stride + j*dilation - pad_l, ci] * w[j, ci, co]
// with out-of-range x reading as zero. Fails (naming the node) on wrong ranks, a channel
// mismatch, a bad bias shape, kernel_size 0, stride or dilation < 1, stride > 1 with
// dilation > 1, or a non-positive 'valid' output length. An unknown batch or length (-1)
// propagates to y.
absl::StatusOr<Value> Conv1D(Graph& g, Value x, Value w, std::optional<Value> b,
                             const Conv1DAttrs& attrs, absl::string_view name = "");

}  // namespace graft::ops

#endif  // GRAFT_OPS_CONV_H_
