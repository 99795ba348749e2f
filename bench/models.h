// graft — the five benchmark models of `bench/compare` and their synthetic data.
//
//   M1  the seed Conv1D model, (100, 3):  Conv1D(32, 5, relu) -> MaxPooling1D(2) -> Flatten ->
//       Dense(1, sigmoid); binary cross-entropy.
//   M2  the seed Conv2D model, (32, 32, 3):  Conv2D(32, (3,3), relu) -> MaxPooling2D((2,2)) ->
//       Flatten -> Dense(10, softmax); sparse categorical cross-entropy.
//   M3  the Keras MNIST convnet, (28, 28, 1):  Conv2D(32, 3, relu) -> MaxPooling2D(2) ->
//       Conv2D(64, 3, relu) -> MaxPooling2D(2) -> Flatten -> Dropout(0.5) -> Dense(10, softmax);
//       sparse categorical cross-entropy.
//   M4  a VGG-style net, (32, 32, 3):  Conv2D(64, 3, same, relu) x2 -> MaxPooling2D ->
//       Conv2D(128, 3, same, relu) x2 -> MaxPooling2D -> Flatten -> Dense(10, softmax);
//       sparse categorical cross-entropy.
//   M5  ResNet-8, (28, 28, 1), built with the functional API (examples/resnet_model.h):
//       Conv2D(16, 3, same) BN ReLU -> 3 residual blocks (16/32/64 filters, strides 1/2/2; two
//       3x3 Conv2D + BatchNormalization each, 1x1 strided projections) -> GlobalAveragePooling2D
//       -> Dense(10, softmax); sparse categorical cross-entropy.
//
// All compile with Adam (Keras defaults) and no metrics. The same models are written for
// libtorch in bench/libtorch_runner.cc and for PyTorch in bench/pytorch_models.py; the three read
// the data that WriteData() saves, so every framework trains on the same numbers.
#ifndef GRAFT_BENCH_MODELS_H_
#define GRAFT_BENCH_MODELS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/tensor.h"
#include "keras/model.h"
#include "keras/sequential.h"

namespace graft::bench {

struct ModelSpec {
  std::string name;                  // "M1" .. "M5"
  std::string description;           // one line, for tables and --help
  std::vector<int64_t> input_shape;  // Keras layout, without the batch dimension
  int64_t num_classes;               // 1: binary (labels float32 (N, 1)); else int64 (N,)
  int64_t small_batch;               // the grid's small batch size (32; 64 for M4)
  bool sequential = true;            // false: a functional model (M5), which the ONNX export
                                     // (Sequential only) does not cover
};

// M1..M5, in order.
const std::vector<ModelSpec>& ModelSpecs();
// The spec named `name` ("M1".."M5", case-insensitive), or NOT_FOUND listing the names.
absl::StatusOr<ModelSpec> FindModel(absl::string_view name);

// The graft model, compiled with Adam and the model's loss. `seed` goes to SetRandomSeed first,
// so the initial weights are the same in every run.
absl::StatusOr<keras::Model> BuildModel(absl::string_view name, uint64_t seed = 1);
// The same for the Sequential models (M1..M4), as the ONNX export takes them; UNIMPLEMENTED for
// a functional one.
absl::StatusOr<keras::Sequential> BuildSequentialModel(absl::string_view name, uint64_t seed = 1);

// Deterministic synthetic data for a model: x uniform in [0, 1) with shape (n, input_shape...);
// y 0/1 as float32 (n, 1) for the binary model, class indices as int64 (n,) otherwise. The same
// (spec, n, seed) gives bitwise-identical tensors on every machine.
struct Dataset {
  Tensor x;
  Tensor y;
};
Dataset MakeData(const ModelSpec& spec, int64_t n, uint64_t seed = 1);

// Where WriteData puts a model's data: "<dir>/<name>_x.npy" and "<dir>/<name>_y.npy".
std::string DataPathX(const std::string& dir, const ModelSpec& spec);
std::string DataPathY(const std::string& dir, const ModelSpec& spec);
// Writes MakeData(spec, n, seed) to those files.
absl::Status WriteData(const std::string& dir, const ModelSpec& spec, int64_t n, uint64_t seed = 1);

}  // namespace graft::bench

#endif  // GRAFT_BENCH_MODELS_H_
