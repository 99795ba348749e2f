// graft — losses and metrics chosen by Keras name (internal to keras/: Model::Compile). One
// table row per loss or metric in losses.cc.
#ifndef GRAFT_KERAS_LOSSES_H_
#define GRAFT_KERAS_LOSSES_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "graph/graph.h"

namespace graft::keras::internal {

// Keras's name for a loss or one of its aliases ("mse", "bce", ...) to the canonical name;
// empty when unknown.
std::string CanonicalLoss(std::string name);
// The names CanonicalLoss knows, for messages.
const std::string& KnownLosses();

// The loss `name` (canonical) of `out` against `y_true`. A sigmoid / softmax output feeding its
// cross-entropy uses the stable from-logits form on the pre-activation, as tf.keras does
// through `_keras_logits`. With `sample_weight` (N,): Keras's weighted loss, sum(w l) / count.
absl::StatusOr<Value> BuildLoss(Graph& g, const std::string& name, bool from_logits, Value y_true,
                                Value out, std::optional<Value> sample_weight = std::nullopt);

// The metric `name` on `out`, resolving "accuracy" as Keras does (binary for one unit, sparse
// categorical with the sparse loss, categorical otherwise). With `sample_weight` (N,), the
// metric of Keras's `weighted_metrics`: the batch's weighted mean sum(w m) / sum(w).
absl::StatusOr<Value> BuildMetric(Graph& g, const std::string& name, const std::string& loss,
                                  Value y_true, Value out,
                                  std::optional<Value> sample_weight = std::nullopt);

}  // namespace graft::keras::internal

#endif  // GRAFT_KERAS_LOSSES_H_
