// graft — a synthetic, deterministic sensor-fault detection dataset (the seed's Conv1D demo).
#ifndef GRAFT_KERAS_DATASETS_SENSOR_FAULTS_H_
#define GRAFT_KERAS_DATASETS_SENSOR_FAULTS_H_

#include <cstdint>

#include "graph/tensor.h"

namespace graft::keras::datasets {

// A train/test split. Rows (the first dimension) are samples.
struct Split {
  Tensor x_train, y_train, x_test, y_test;
};

// Options for SensorFaults(). Out-of-range values are clamped: counts below 0 become 0, `steps`
// and `channels` below 1 become 1, a negative `noise` becomes 0.
struct SensorFaultsOptions {
  int64_t num_train = 2000;
  int64_t num_test = 1000;
  int64_t steps = 100;   // time steps per recording
  int64_t channels = 3;  // sensors per recording
  // Standard deviation of the Gaussian measurement noise. The default is calibrated (see
  // tools/calibrate_sensor_faults.py) so that the seed model (Conv1D(32, 5, relu) ->
  // MaxPooling1D(2) -> Flatten -> Dense(1, sigmoid), Adam, batch 32) reaches about 97% test
  // accuracy after 10 epochs (0.10 gives about 98%, 0.20 about 96%) and about 70-75% after 1.
  double noise = 0.15;
  uint64_t seed = 42;
};

// Deterministic synthetic sensor recordings for binary fault detection:
//   x float32 (N, steps, channels), channels-last;  y float32 (N, 1) in {0, 1}.
//
// Every channel of a recording is a sinusoid  A sin(2 pi (f t + phi))  with a random frequency
// f in [0.01, 0.03) cycles per step, phase phi and amplitude A in [0.5, 1), plus a slow linear
// drift  o + s t / steps  (o, s in [-0.3, 0.3)) and Gaussian noise of standard deviation
// `noise`. In exactly floor(N / 2) recordings of each split (at shuffled positions) a fault
// appears in one random channel at a random time t0 in [steps / 5, 4 steps / 5), of one of three
// kinds with equal probability:
//   - level jump:      a step of +-[2, 4) added from t0 on;
//   - burst:           8-16 steps of a sinusoid with 0.3-0.45 cycles per step and amplitude
//                      [1.5, 3) added from t0;
//   - frequency shift: from t0 on the channel oscillates at [0.1, 0.25) cycles per step
//                      (phase-continuous).
// y = 1 exactly when a fault is present.
//
// The same options give bitwise-identical tensors on every machine: the generator uses
// std::mt19937_64 with graft's own uniform, normal, sine and logarithm (no <random>
// distributions, no libm transcendental functions; the library is built without FP
// contraction). The train and test splits come from independent streams derived from `seed`,
// so the test set does not depend on `num_train`.
Split SensorFaults(const SensorFaultsOptions& options = {});

}  // namespace graft::keras::datasets

#endif  // GRAFT_KERAS_DATASETS_SENSOR_FAULTS_H_
