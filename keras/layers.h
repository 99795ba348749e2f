// graft — Keras layers. Each layer owns its weights, creates them the first time it sees an
// input type (Keras's build), and appends its forward nodes to a graph.
//
//   namespace layers = graft::keras::layers;
//   layers::Conv1D(32, 5, {.activation = "relu", .input_shape = {100, 3}})
//
// Options are aggregates used with designated initializers; their fields follow the order of
// the Keras signature (so `{.padding = "same", .activation = "relu"}` compiles, the reverse
// order does not — C++ designated initializers must follow declaration order). Defaults are
// Keras's.
#ifndef GRAFT_KERAS_LAYERS_H_
#define GRAFT_KERAS_LAYERS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "graph/graph.h"
#include "graph/tensor.h"

namespace graft::keras {

// One weight of a layer: its Keras name ("kernel", "bias") and value. The tensor is the layer's
// storage: training updates it in place; Clone() it to keep a snapshot.
struct Weight {
  std::string name;
  Tensor value;
  bool trainable = true;
};

// The base of every layer. Users hold layers as `Layer` (a shared pointer).
class LayerImpl {
 public:
  virtual ~LayerImpl() = default;

  // Unique in the process, Keras style: "conv1d", "conv1d_1", ... unless given.
  const std::string& name() const { return name_; }
  // The Keras class name: "Conv1D".
  virtual std::string class_name() const = 0;
  // The `input_shape` option (without the batch dimension); empty when not given.
  const std::vector<int64_t>& input_shape() const { return input_shape_; }
  // The activation name ("" = linear) for layers that have one.
  const std::string& activation() const { return activation_; }

  // Builds the weights on first use, then appends this layer's nodes for input `x`. Errors
  // name the layer: "conv1d (Conv1D): ...". The caller adds the layer index.
  absl::StatusOr<Value> Call(Graph& graph, Value x);

  bool built() const { return built_; }
  const std::vector<Weight>& weights() const { return weights_; }
  // Replaces the weights (same names and shapes, in weights() order).
  absl::Status SetWeights(const std::vector<Tensor>& values);
  int64_t CountParams(bool trainable) const;

 protected:
  LayerImpl(std::string class_snake_name, std::string name, std::vector<int64_t> input_shape);

  // Adds a weight drawn from a Keras initializer ("glorot_uniform", "zeros", "ones"); for
  // glorot, fans follow Keras: the last dimension is fan_out, the one before it fan_in, and
  // the rest is the receptive field.
  absl::Status AddWeight(std::string name, Shape shape, const std::string& initializer);

  // Validation problems found in the constructor (Keras raises there; graft reports them at
  // Compile / Build, where a Status can be returned).
  absl::Status config_status_;
  std::string activation_;

 private:
  // Creates weights_ for an input of this type.
  virtual absl::Status Build(const TensorType& input) = 0;
  // Appends the forward computation; `w` holds the graph values of weights() in order.
  virtual absl::StatusOr<Value> Forward(Graph& graph, Value x, const std::vector<Value>& w) = 0;

  std::string name_;
  std::vector<int64_t> input_shape_;
  std::vector<Weight> weights_;
  bool built_ = false;
};

using Layer = std::shared_ptr<LayerImpl>;

struct Conv1DOptions {
  int64_t strides = 1;
  std::string padding = "valid";  // "valid", "same", "causal"
  int64_t dilation_rate = 1;
  std::string activation;  // Keras name; "" = linear
  bool use_bias = true;
  std::string kernel_initializer = "glorot_uniform";
  std::string bias_initializer = "zeros";
  std::vector<int64_t> input_shape;  // (steps, channels), only on the first layer
  std::string name;
};

struct MaxPooling1DOptions {
  int64_t strides = 0;            // 0 = None: strides = pool_size
  std::string padding = "valid";  // "valid", "same"
  std::vector<int64_t> input_shape;
  std::string name;
};

struct FlattenOptions {
  std::vector<int64_t> input_shape;
  std::string name;
};

struct DenseOptions {
  std::string activation;
  bool use_bias = true;
  std::string kernel_initializer = "glorot_uniform";
  std::string bias_initializer = "zeros";
  std::vector<int64_t> input_shape;
  std::string name;
};

namespace layers {

// 1-D convolution over (batch, steps, channels): kernel (kernel_size, channels, filters).
Layer Conv1D(int64_t filters, int64_t kernel_size, Conv1DOptions options = {});
// Max over windows of `pool_size` steps.
Layer MaxPooling1D(int64_t pool_size = 2, MaxPooling1DOptions options = {});
// (batch, d1, ..., dk) -> (batch, d1*...*dk), row-major.
Layer Flatten(FlattenOptions options = {});
// y = activation(x @ kernel + bias) on the last axis: kernel (in, units).
Layer Dense(int64_t units, DenseOptions options = {});

}  // namespace layers

namespace internal {
// Keras naming: the first "conv1d", then "conv1d_1", ... per process.
std::string UniqueLayerName(const std::string& base);
}  // namespace internal

}  // namespace graft::keras

#endif  // GRAFT_KERAS_LAYERS_H_
