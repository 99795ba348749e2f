// graft — BatchNormalization (Keras, over the last axis) and the moving-average update.
//
// x is channels-last of any rank >= 2: its C = x.shape[-1] channels are normalised over the
// rows = the product of the other dims (batch and spatial). gamma, beta and the statistics are
// (C) vectors of x's dtype.
//
// Ops (attributes BatchNormAttrs unless said):
//   "graft.BatchNormTraining"  (x, gamma, beta) -> (y, mean, variance): normalises with the batch
//       statistics (biased variance); mean and variance are visible outputs for the layer's
//       moving-average updates.
//   "graft.BatchNormInference" (x, gamma, beta, moving_mean, moving_variance) -> y: normalises
//       with the given statistics, which get no gradient.
//   "graft.MovingAverageUpdate" (moving, value) -> nothing, MovingAverageUpdateAttrs: updates
//       moving in place.
// Backward ops: "graft.BatchNormTrainingBackward" and "graft.BatchNormInferenceBackward"
// (dy, x, gamma, mean, variance) -> (dx, dgamma, dbeta), and "graft.BatchNormStatsGrad"
// (x, mean, dmean, dvariance) -> dx for gradients that reach the batch statistics themselves.
#ifndef GRAFT_OPS_BATCHNORM_H_
#define GRAFT_OPS_BATCHNORM_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/graph.h"

namespace graft::ops {

struct BatchNormAttrs {
  double epsilon = 1e-3;  // Keras's default; added to the variance
};

// The outputs of BatchNormTraining. mean and variance are the batch statistics, shape (C);
// the variance is the biased one (divided by rows), as Keras's `moments`.
struct BatchNormTrainingOutputs {
  Value y, mean, variance;
};

// y = gamma * (x - mean) / sqrt(variance + epsilon) + beta with the batch statistics.
// Gradients flow to x, gamma and beta (through y, and through mean and variance when something
// differentiable reads them).
absl::StatusOr<BatchNormTrainingOutputs> BatchNormTraining(Graph& g, Value x, Value gamma,
                                                           Value beta, const BatchNormAttrs& a,
                                                           absl::string_view name = "");

// y = gamma * (x - moving_mean) / sqrt(moving_variance + epsilon) + beta. Gradients flow to x,
// gamma and beta; the moving statistics are treated as constants.
absl::StatusOr<Value> BatchNormInference(Graph& g, Value x, Value gamma, Value beta,
                                         Value moving_mean, Value moving_variance,
                                         const BatchNormAttrs& a, absl::string_view name = "");

struct MovingAverageUpdateAttrs {
  double momentum = 0.99;  // Keras's convention: the weight of the old value
};

// moving = moving * momentum + value * (1 - momentum), in place (Keras's convention, momentum
// 0.99 by default — the opposite of PyTorch's momentum 0.1, which weighs the new value).
// `moving` must be a variable with value's type; momentum must lie in [0, 1]. Not
// differentiable. Returns the update: add it to a plan's targets.
absl::StatusOr<Operation> MovingAverageUpdate(Graph& g, Value moving, Value value, double momentum);

}  // namespace graft::ops

#endif  // GRAFT_OPS_BATCHNORM_H_
