// graft — metric ops: Keras's accuracies as graph builders.
//
// A metric op gives a scalar of y_pred's dtype for one batch (the fraction correct); averaging
// over an epoch is the caller's (Keras's stateful Mean weighs batches by their size). Metric
// ops have no gradient rule: they are never on the path from a loss to a parameter.
// y_true must have y_pred's dtype (float32, or float64 in float64 plans).
//
// Mean absolute / squared error as metrics ("mae", "mse") are the loss ops themselves,
// ops::MeanAbsoluteError and ops::MeanSquaredError (ops/loss.h): Keras's metric of a batch is
// the mean over its samples of the per-sample mean over the last axis, which is the loss's
// "sum_over_batch_size" value, and the epoch mean weighs batches by size for both. Used as a
// metric, nothing asks for their gradient. Weighted, they differ (a weighted loss divides by the
// count, a weighted metric by sum(w)): MeanSquaredErrorMetric / MeanAbsoluteErrorMetric below.
//
// Sample weights (Keras's weighted_metrics): every builder takes an optional `sample_weight` w of
// shape (N,) for y_pred (N, ...), y_pred's dtype. The op then gives the batch's weighted mean of
// the per-sample values m_s (a sample's match, or the mean of its elements' or rows' matches):
//   sum_s w_s m_s / sum_s w_s,   0 when the weights sum to 0 (Keras's divide_no_nan).
// Keras accumulates an epoch as sum(w m) / sum(w) over all its batches: a caller averaging batch
// values weighs each by its sum of weights (keras/sample_weights.h LogMeans does).
#ifndef GRAFT_OPS_METRIC_H_
#define GRAFT_OPS_METRIC_H_

#include <optional>

#include "absl/status/statusor.h"
#include "graph/graph.h"

namespace graft::ops {

// Attributes of "graft.BinaryAccuracy".
struct BinaryAccuracyAttrs {
  // y_pred counts as 1 where y_pred > threshold (strict), compared in y_pred's dtype, as Keras
  // casts the threshold to it.
  double threshold = 0.5;
};

// Keras BinaryAccuracy on one batch ("graft.BinaryAccuracy", inputs (y_true, y_pred)):
//   mean over all elements of [ (y_pred > threshold) == (y_true > 0.5) ].
// y_true has y_pred's shape (N, ...); as Keras's squeeze_or_expand_to_same_rank, one of them may
// carry an extra trailing axis of size 1 (y_true (N,) with y_pred (N, 1)).
absl::StatusOr<Value> BinaryAccuracy(Graph& g, Value y_true, Value y_pred, double threshold = 0.5,
                                     std::optional<Value> sample_weight = std::nullopt);

// Keras SparseCategoricalAccuracy on one batch ("graft.SparseCategoricalAccuracy", no attrs):
//   mean over the batch of [ argmax(y_pred row) == label ], the first maximum winning ties.
// y_pred (N, K) scores; y_true (N,) or (N, 1) holding class indices as floats. A label that is
// not an integer in [0, K) makes the plan's Run fail with InvalidArgument naming the row and
// the label.
absl::StatusOr<Value> SparseCategoricalAccuracy(Graph& g, Value y_true, Value y_pred,
                                                std::optional<Value> sample_weight = std::nullopt);

// Keras CategoricalAccuracy on one batch ("graft.CategoricalAccuracy", no attrs):
//   mean over the rows of [ argmax(y_pred row) == argmax(y_true row) ], the first maximum
//   winning ties on both sides.
// y_pred (N, ..., K) scores; y_true the same shape, one-hot or soft targets. Rows are every
// position but the class axis (Keras's per-sample matches of shape (N, ...)).
absl::StatusOr<Value> CategoricalAccuracy(Graph& g, Value y_true, Value y_pred,
                                          std::optional<Value> sample_weight = std::nullopt);

// Keras MeanSquaredError / MeanAbsoluteError metrics on one batch ("graft.MeanSquaredErrorMetric",
// "graft.MeanAbsoluteErrorMetric", no attrs): mean((p - t)^2) / mean(|p - t|) over every element;
// weighted, the weighted mean of the per-sample means. Shapes as BinaryAccuracy.
absl::StatusOr<Value> MeanSquaredErrorMetric(Graph& g, Value y_true, Value y_pred,
                                             std::optional<Value> sample_weight = std::nullopt);
absl::StatusOr<Value> MeanAbsoluteErrorMetric(Graph& g, Value y_true, Value y_pred,
                                              std::optional<Value> sample_weight = std::nullopt);

}  // namespace graft::ops

#endif  // GRAFT_OPS_METRIC_H_
