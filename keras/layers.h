// graft — Keras layers. Each layer owns its weights, creates them the first time it sees an
// input type (Keras's build), and appends its forward nodes to a graph.
//
//   namespace layers = graft::keras::layers;
//   layers::Conv1D(32, 5, {.activation = "relu", .input_shape = {100, 3}})
//   layers::Conv2D(32, {3, 3}, {.activation = "relu", .input_shape = {32, 32, 3}})
//
// Options are aggregates used with designated initializers; their fields follow the order of
// the Keras signature (so `{.padding = "same", .activation = "relu"}` compiles, the reverse
// order does not — C++ designated initializers must follow declaration order). Defaults are
// Keras's.
#ifndef GRAFT_KERAS_LAYERS_H_
#define GRAFT_KERAS_LAYERS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "graph/graph.h"
#include "graph/tensor.h"
#include "keras/keras_tensor.h"
#include "nlohmann/json_fwd.hpp"

namespace graft::keras {

// One weight of a layer: its Keras name ("kernel", "bias", "moving_mean") and value. The tensor
// is the layer's storage: training updates it in place; Clone() it to keep a snapshot.
struct Weight {
  std::string name;
  Tensor value;
  bool trainable = true;
};

// A Keras initializer: by name with Keras's defaults (`"he_normal"`), or with arguments
// (`Initializer{"constant", {.value = 0.1}}`, `Initializer{"random_normal", {.stddev = 0.01}}`).
// Names: glorot_uniform, glorot_normal, he_uniform, he_normal, lecun_uniform, lecun_normal (the
// *_normal ones truncated at 2 standard deviations, as Keras's VarianceScaling), zeros, ones,
// constant (value), random_normal (mean, stddev), random_uniform (minval, maxval). Draws come
// from graft's seeded random stream (SetRandomSeed).
struct InitializerOptions {
  double value = 0.0;     // constant
  double mean = 0.0;      // random_normal
  double stddev = 0.05;   // random_normal
  double minval = -0.05;  // random_uniform
  double maxval = 0.05;   // random_uniform
};
struct Initializer {
  Initializer(const char* n) : name(n) {}             // NOLINT: implicit, as Keras's strings
  Initializer(std::string n) : name(std::move(n)) {}  // NOLINT
  Initializer(std::string n, InitializerOptions o) : name(std::move(n)), options(o) {}
  std::string name;
  InitializerOptions options;
};

// How a layer is being called.
struct CallContext {
  // Training-mode forward (Dropout active, BatchNormalization on batch statistics).
  bool training = false;
  // The trainer's iteration counter (a float32 scalar placeholder), for per-step randomness.
  Value iteration;
  // Optional: the index of the batch's first row when the step runs a chunk of a larger batch
  // (a float32 scalar placeholder; keras/chunked_train.h), so Dropout draws the chunk's rows as
  // it would in the whole batch.
  Value row_offset;
  // Training-mode layers append the ids of nodes to run every step for their side effects
  // (BatchNormalization's moving-statistics updates).
  std::vector<Operation>* updates = nullptr;
  // When set, the variable node of each weight storage already in the graph in this forward
  // pass: a layer called twice reads the same nodes (shared weights, one gradient sum).
  std::map<const void*, Value>* variables = nullptr;
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
  // True for layers whose training and inference computations differ (Dropout, BN).
  virtual bool differs_in_training() const { return false; }
  // Keras's get_config(): the constructor arguments by their Keras names ({"name": "dense",
  // "units": 10, "activation": "softmax", ...}), without weights. A saved model stores it, and
  // the factory registered for class_name() rebuilds the layer from it (keras/layer_config.h).
  // The base returns name, trainable, dtype and batch_input_shape.
  virtual nlohmann::json GetConfig() const;

  // Builds the weights on first use, then appends this layer's nodes for input `x`. Errors
  // name the layer: "conv1d (Conv1D): ...". The caller adds the layer index.
  absl::StatusOr<Value> Call(Graph& graph, Value x, const CallContext& ctx = {});
  // The same for a layer of several inputs (the merge layers: Add, Concatenate, ...).
  absl::StatusOr<Value> Call(Graph& graph, const std::vector<Value>& inputs,
                             const CallContext& ctx = {});
  // How many inputs a call takes: 1, or 0 for "a list of at least 2" (merge layers).
  virtual int num_inputs() const { return 1; }

  bool built() const { return built_; }
  // The weights. When a compiled model trains them packed in oneDNN's layout, reading them here
  // first brings these tensors up to date, and the model's next step repacks from them (so a
  // write through them is seen too).
  const std::vector<Weight>& weights() const {
    if (on_weights_access_) on_weights_access_();
    return weights_;
  }
  // Replaces the weights (same names and shapes, in weights() order).
  absl::Status SetWeights(const std::vector<Tensor>& values);
  int64_t CountParams(bool trainable) const;

 protected:
  LayerImpl(std::string class_snake_name, std::string name, std::vector<int64_t> input_shape);

  // Adds a weight drawn from a Keras initializer (see Initializer). Fans follow Keras: the last
  // dimension is fan_out, the one before it fan_in, and the rest is the receptive field. Call it
  // from Build; the weights are passed to Forward in the order they were added.
  absl::Status AddWeight(std::string name, Shape shape, const Initializer& initializer,
                         bool trainable = true);

  // Validation problems found in the constructor (Keras raises there; graft reports them at
  // Compile / Build, where a Status can be returned). Keeps the first problem.
  void Invalid(absl::Status s) {
    if (config_status_.ok()) config_status_ = std::move(s);
  }
  // The activation Call applies after Forward (a Keras name; "" = linear).
  void SetActivation(std::string activation) { activation_ = std::move(activation); }

 private:
  friend class Layer;
  friend class Model;  // installs the weight-access hook
  // Set by the model that compiled this layer.
  void SetWeightsAccessHook(std::function<void()> hook) { on_weights_access_ = std::move(hook); }
  // Creates weights_ for an input of this type.
  virtual absl::Status Build(const TensorType& input) = 0;
  // Appends the forward computation; `w` holds the graph values of weights() in order.
  virtual absl::StatusOr<Value> Forward(Graph& graph, Value x, const std::vector<Value>& w,
                                        const CallContext& ctx) = 0;
  // Layers of several inputs override these two (the defaults call Build / Forward on the one
  // input).
  virtual absl::Status BuildMulti(const std::vector<TensorType>& inputs) {
    return Build(inputs[0]);
  }
  virtual absl::StatusOr<Value> ForwardMulti(Graph& graph, const std::vector<Value>& inputs,
                                             const std::vector<Value>& w, const CallContext& ctx) {
    return Forward(graph, inputs[0], w, ctx);
  }

  int functional_calls_ = 0;  // calls on KerasTensors so far (Keras's node index)
  absl::Status config_status_;
  std::string activation_;
  std::string name_;
  std::vector<int64_t> input_shape_;
  std::vector<Weight> weights_;
  std::function<void()> on_weights_access_;
  bool built_ = false;
};

// A layer as users hold it: a shared handle (copies refer to the same layer and weights).
// Calling it on KerasTensors (the functional API) records the call and checks the shapes; a
// layer called twice shares its weights.
class Layer {
 public:
  Layer() = default;
  Layer(std::nullptr_t) {}  // NOLINT
  template <typename T, typename = std::enable_if_t<std::is_base_of_v<LayerImpl, T>>>
  Layer(std::shared_ptr<T> impl) : impl_(std::move(impl)) {}  // NOLINT: as a shared_ptr

  LayerImpl* operator->() const { return impl_.get(); }
  LayerImpl& operator*() const { return *impl_; }
  LayerImpl* get() const { return impl_.get(); }
  explicit operator bool() const { return impl_ != nullptr; }
  friend bool operator==(const Layer& a, const Layer& b) { return a.impl_ == b.impl_; }
  friend bool operator==(const Layer& a, std::nullptr_t) { return a.impl_ == nullptr; }

  // Keras's layer(x) and layer([x, y]).
  KerasTensor operator()(const KerasTensor& x) const;
  KerasTensor operator()(const std::vector<KerasTensor>& inputs) const;

 private:
  std::shared_ptr<LayerImpl> impl_;
};

// A size per spatial dimension: `3` means (3, 3); `{3, 1}` is (height 3, width 1).
struct Size2 {
  Size2(int64_t v) : h(v), w(v) {}  // NOLINT: implicit, as Keras's int-or-tuple
  Size2(int64_t height, int64_t width) : h(height), w(width) {}
  int64_t h, w;
};

struct Conv1DOptions {
  int64_t strides = 1;
  std::string padding = "valid";  // "valid", "same", "causal"
  int64_t dilation_rate = 1;
  int64_t groups = 1;
  std::string activation;  // Keras name; "" = linear
  bool use_bias = true;
  std::string kernel_initializer = "glorot_uniform";
  std::string bias_initializer = "zeros";
  std::vector<int64_t> input_shape;  // (steps, channels), only on the first layer
  std::string name;
};

struct Conv2DOptions {
  Size2 strides = 1;
  std::string padding = "valid";  // "valid", "same"
  Size2 dilation_rate = 1;
  int64_t groups = 1;
  std::string activation;
  bool use_bias = true;
  std::string kernel_initializer = "glorot_uniform";
  std::string bias_initializer = "zeros";
  std::vector<int64_t> input_shape;  // (height, width, channels)
  std::string name;
};

struct Pooling1DOptions {
  int64_t strides = 0;            // 0 = None: strides = pool_size
  std::string padding = "valid";  // "valid", "same"
  std::vector<int64_t> input_shape;
  std::string name;
};
using MaxPooling1DOptions = Pooling1DOptions;

struct Pooling2DOptions {
  Size2 strides = 0;  // 0 = None: strides = pool_size
  std::string padding = "valid";
  std::vector<int64_t> input_shape;
  std::string name;
};

struct GlobalPoolingOptions {
  bool keepdims = false;
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

struct DropoutOptions {
  uint64_t seed = 0;  // 0: drawn from graft's seeded random stream
  std::vector<int64_t> input_shape;
  std::string name;
};

struct BatchNormalizationOptions {
  double momentum = 0.99;  // Keras convention: moving = moving*momentum + batch*(1-momentum)
  double epsilon = 1e-3;
  bool center = true;  // beta
  bool scale = true;   // gamma
  std::vector<int64_t> input_shape;
  std::string name;
};

struct ConcatenateOptions {
  int64_t axis = -1;
  std::vector<int64_t> input_shape;
  std::string name;
};

struct LayerOptions {
  std::vector<int64_t> input_shape;
  std::string name;
};

namespace layers {

// 1-D convolution over (batch, steps, channels): kernel (kernel_size, channels, filters).
Layer Conv1D(int64_t filters, int64_t kernel_size, Conv1DOptions options = {});
// 2-D convolution over (batch, height, width, channels): kernel (kh, kw, channels/groups, filters).
Layer Conv2D(int64_t filters, Size2 kernel_size, Conv2DOptions options = {});
// Max / average over windows of `pool_size` steps (1-D) or pixels (2-D).
Layer MaxPooling1D(int64_t pool_size = 2, Pooling1DOptions options = {});
Layer MaxPooling2D(Size2 pool_size = 2, Pooling2DOptions options = {});
Layer AveragePooling1D(int64_t pool_size, Pooling1DOptions options = {});
Layer AveragePooling2D(Size2 pool_size, Pooling2DOptions options = {});
// Mean / max over every spatial position: (batch, ..., channels) -> (batch, channels).
Layer GlobalAveragePooling1D(GlobalPoolingOptions options = {});
Layer GlobalAveragePooling2D(GlobalPoolingOptions options = {});
Layer GlobalMaxPooling1D(GlobalPoolingOptions options = {});
Layer GlobalMaxPooling2D(GlobalPoolingOptions options = {});
// (batch, d1, ..., dk) -> (batch, d1*...*dk), row-major.
Layer Flatten(FlattenOptions options = {});
// Reshape each sample to `target_shape` (batch excluded; one -1 allowed).
Layer Reshape(std::vector<int64_t> target_shape, LayerOptions options = {});
// y = activation(x @ kernel + bias) on the last axis: kernel (in, units).
Layer Dense(int64_t units, DenseOptions options = {});
// Applies an activation by Keras name.
Layer Activation(std::string activation, LayerOptions options = {});
// Inverted dropout while training (kept units scaled by 1/(1-rate)); identity otherwise.
Layer Dropout(double rate, DropoutOptions options = {});
// Normalises the last axis: batch statistics while training, moving statistics otherwise.
Layer BatchNormalization(BatchNormalizationOptions options = {});

// Merge layers (functional API), called on a list of tensors of one shape:
// layers::Add()({a, b}) = a + b; Subtract (exactly two) a - b; Multiply a * b; Average the
// mean; Maximum / Minimum elementwise.
Layer Add(LayerOptions options = {});
Layer Subtract(LayerOptions options = {});
Layer Multiply(LayerOptions options = {});
Layer Average(LayerOptions options = {});
Layer Maximum(LayerOptions options = {});
Layer Minimum(LayerOptions options = {});
// Joins the inputs along `axis` (not the batch axis); the other dimensions must match.
Layer Concatenate(ConcatenateOptions options = {});

}  // namespace layers

}  // namespace graft::keras

#endif  // GRAFT_KERAS_LAYERS_H_
