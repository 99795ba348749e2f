// graft — loss ops: Keras's crossentropies and regression losses as graph builders.
//
// Every loss reduces with Keras's "sum_over_batch_size": the per-sample loss, then the mean over
// the batch, to a scalar of y_pred's dtype. y_true must have y_pred's dtype (float32, or float64
// in float64 plans); class indices are stored as floats, as Keras feeds them. The gradient flows
// to y_pred (or the logits) only; y_true gets none.
//
// The ops ("graft.<Name>" for each builder below: "graft.BinaryCrossentropy", ...,
// "graft.MeanAbsoluteError") take (y_true, y_pred, sample_weight?) and have no attributes
// (graft::NoAttrs). Each has a backward op "<name>Grad" taking (dloss, y_true, y_pred,
// sample_weight?) and giving d(y_pred).
//
// Sample weights (Keras's sample_weight, reduction "sum_over_batch_size"): the optional
// `sample_weight` w has shape (N,) for y_pred (N, ...), y_pred's dtype, one weight per sample.
// The loss becomes sum(w l) / count, the count being the same as without weights (the elements
// or the rows below), NOT sum(w): weights of 2 double the loss. Sample n's weight applies to
// all of its elements or rows (for y_pred (N, L, K) to each of its L rows), as Keras's weighted
// metrics apply it; the gradient of sample n's slice is scaled by w_n. Neither y_true nor w gets
// a gradient. A wrong weight shape fails when the node is added; a weight count that does not
// match the batch at run time fails the plan's Run with InvalidArgument.
#ifndef GRAFT_OPS_LOSS_H_
#define GRAFT_OPS_LOSS_H_

#include <optional>

#include "absl/status/statusor.h"
#include "graph/graph.h"

namespace graft::ops {

// The clip bounds of the probability losses: Keras's epsilon 1e-7 as a float32 model uses it,
// lo = float32(1e-7) and hi = float32(1 - 1e-7) = 0.99999988079071044921875 (so 1 - hi is
// 1.19e-7, not 1e-7). Float64 plans use the same bounds.
inline constexpr double kLossClipLo = static_cast<double>(static_cast<float>(1e-7));
inline constexpr double kLossClipHi = static_cast<double>(static_cast<float>(1.0 - 1e-7));

// Keras binary_crossentropy on probabilities:
//   p' = clip(p, lo, hi),  l = -(t log p' + (1-t) log(1-p')),
// the mean over the last axis, then over the batch (so the mean over every element). The
// gradient wrt p is exactly 0 where p was clipped (p < lo or p > hi), and
// (p - t) / (p (1 - p)) / count elsewhere. y_true has y_pred's shape (N, ...); as Keras's
// squeeze_or_expand_to_same_rank, one of them may carry an extra trailing axis of size 1
// (y_true (N,) with y_pred (N, 1)).
absl::StatusOr<Value> BinaryCrossentropy(Graph& g, Value y_true, Value y_pred,
                                         std::optional<Value> sample_weight = std::nullopt);

// Binary crossentropy from logits z (TF sigmoid_cross_entropy_with_logits, no clipping):
//   l = max(z, 0) - z t + log1p(exp(-|z|)),  mean over every element;
//   d/dz = (sigmoid(z) - t) / count.
// Shapes as BinaryCrossentropy.
absl::StatusOr<Value> BinaryCrossentropyFromLogits(
    Graph& g, Value y_true, Value logits, std::optional<Value> sample_weight = std::nullopt);

// Keras sparse_categorical_crossentropy on probabilities (Keras 3 normalises first):
//   l = -log(clip(p / sum(p), lo, hi)[label]),  mean over the batch;
//   d/dp_j = (1/sum(p) - [j == label] / p_label) / N, and 0 for the whole row when the
//   normalised p_label was clipped.
// y_pred (N, K) probabilities; y_true (N,) or (N, 1) holding class indices as floats. A label
// that is not an integer in [0, K) makes the plan's Run fail with InvalidArgument naming the
// row and the label.
absl::StatusOr<Value> SparseCategoricalCrossentropy(
    Graph& g, Value y_true, Value y_pred, std::optional<Value> sample_weight = std::nullopt);

// Sparse categorical crossentropy from logits z (N, K):
//   l = logsumexp(z) - z[label],  mean over the batch;  d/dz = (softmax(z) - onehot(label)) / N.
// Shapes and label checks as SparseCategoricalCrossentropy.
absl::StatusOr<Value> SparseCategoricalCrossentropyFromLogits(
    Graph& g, Value y_true, Value logits, std::optional<Value> sample_weight = std::nullopt);

// Keras categorical_crossentropy on probabilities (Keras 3 normalises first):
//   q = p / sum(p) per row,  l = -sum_j t_j log(clip(q_j, lo, hi)),  mean over the rows;
//   d/dp_j = (sum_{i: q_i unclipped} t_i / sum(p) - [q_j unclipped] t_j / p_j) / rows.
// y_pred (N, ..., K) probabilities; y_true the same shape, one-hot or soft targets. Rows are all
// positions but the class axis (N for (N, K)), as Keras's per-sample losses of shape (N, ...)
// reduced with "sum_over_batch_size". For class indices use SparseCategoricalCrossentropy.
absl::StatusOr<Value> CategoricalCrossentropy(Graph& g, Value y_true, Value y_pred,
                                              std::optional<Value> sample_weight = std::nullopt);

// Categorical crossentropy from logits z (TF softmax_cross_entropy_with_logits):
//   l = sum(t) logsumexp(z) - sum_j t_j z_j  (= logsumexp(z) - t.z for targets summing to 1);
//   d/dz = (sum(t) softmax(z) - t) / rows.
// Shapes as CategoricalCrossentropy.
absl::StatusOr<Value> CategoricalCrossentropyFromLogits(
    Graph& g, Value y_true, Value logits, std::optional<Value> sample_weight = std::nullopt);

// Keras mean_squared_error: mean((p - t)^2) over the last axis, then over the batch (so over
// every element);  d/dp = 2 (p - t) / count. Shapes as BinaryCrossentropy.
absl::StatusOr<Value> MeanSquaredError(Graph& g, Value y_true, Value y_pred,
                                       std::optional<Value> sample_weight = std::nullopt);

// Keras mean_absolute_error: mean(|p - t|) over the last axis, then over the batch;
//   d/dp = sign(p - t) / count, with sign(0) = 0. Shapes as BinaryCrossentropy.
absl::StatusOr<Value> MeanAbsoluteError(Graph& g, Value y_true, Value y_pred,
                                        std::optional<Value> sample_weight = std::nullopt);

}  // namespace graft::ops

#endif  // GRAFT_OPS_LOSS_H_
