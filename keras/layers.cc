#include "keras/layers.h"

#include <cmath>
#include <map>
#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "keras/random.h"
#include "ops/activation.h"
#include "ops/conv.h"
#include "ops/dense.h"
#include "ops/padding.h"
#include "ops/pool.h"
#include "ops/reshape.h"

namespace graft::keras {

namespace internal {
std::string UniqueLayerName(const std::string& base) {
  static std::mutex mu;
  static std::map<std::string, int> counts;
  std::lock_guard<std::mutex> lock(mu);
  int n = counts[base]++;
  return n == 0 ? base : absl::StrCat(base, "_", n);
}
}  // namespace internal

LayerImpl::LayerImpl(std::string class_snake_name, std::string name,
                     std::vector<int64_t> input_shape)
    : name_(name.empty() ? internal::UniqueLayerName(class_snake_name) : std::move(name)),
      input_shape_(std::move(input_shape)) {
  for (int64_t d : input_shape_) {
    if (d <= 0) {
      config_status_ = absl::InvalidArgumentError(absl::StrCat(
          "input_shape must hold positive sizes (without the batch dimension); received (",
          absl::StrJoin(input_shape_, ", "), ")"));
    }
  }
}

absl::StatusOr<Value> LayerImpl::Call(Graph& graph, Value x) {
  const std::string prefix = absl::StrCat(name_, " (", class_name(), "): ");
  auto wrap = [&](const absl::Status& s) {
    return absl::Status(s.code(), absl::StrCat(prefix, s.message()));
  };
  if (!config_status_.ok()) return wrap(config_status_);
  if (!built_) {
    if (absl::Status s = Build(graph.type(x)); !s.ok()) {
      weights_.clear();
      return wrap(s);
    }
    built_ = true;
  }
  std::string prev = graph.SetNameScope(name_ + "/");
  std::vector<Value> w;
  for (const Weight& weight : weights_) {
    w.push_back(graph.Variable(weight.value, weight.name, weight.trainable));
  }
  absl::StatusOr<Value> y = Forward(graph, x, w);
  if (y.ok() && !activation_.empty()) y = ops::Activation(graph, *y, activation_);
  graph.SetNameScope(prev);
  if (!y.ok()) return wrap(y.status());
  return y;
}

absl::Status LayerImpl::SetWeights(const std::vector<Tensor>& values) {
  if (values.size() != weights_.size()) {
    return absl::InvalidArgumentError(absl::StrCat(name_, ": expected ", weights_.size(),
                                                   " weight tensors, got ", values.size()));
  }
  for (size_t i = 0; i < values.size(); ++i) {
    if (values[i].type() != weights_[i].value.type()) {
      return absl::InvalidArgumentError(
          absl::StrCat(name_, ": weight ", weights_[i].name, " expects ",
                       weights_[i].value.type().ToString(), ", got ", values[i].type().ToString()));
    }
  }
  for (size_t i = 0; i < values.size(); ++i) weights_[i].value.CopyFrom(values[i]);
  return absl::OkStatus();
}

int64_t LayerImpl::CountParams(bool trainable) const {
  int64_t n = 0;
  for (const Weight& w : weights_) {
    if (w.trainable == trainable) n += w.value.num_elements();
  }
  return n;
}

absl::Status LayerImpl::AddWeight(std::string name, Shape shape, const std::string& initializer) {
  Tensor t(DType::kF32, shape);
  float* p = t.data<float>();
  const int64_t n = t.num_elements();
  if (initializer == "zeros") {
    // already zero
  } else if (initializer == "ones") {
    for (int64_t i = 0; i < n; ++i) p[i] = 1.0f;
  } else if (initializer == "glorot_uniform") {
    const int r = shape.rank();
    double fan_in, fan_out;
    if (r == 1) {
      fan_in = fan_out = static_cast<double>(shape.dim(0));
    } else {
      double receptive = 1;
      for (int i = 0; i < r - 2; ++i) receptive *= static_cast<double>(shape.dim(i));
      fan_in = receptive * static_cast<double>(shape.dim(r - 2));
      fan_out = receptive * static_cast<double>(shape.dim(r - 1));
    }
    const double limit = std::sqrt(6.0 / (fan_in + fan_out));
    for (int64_t i = 0; i < n; ++i) {
      p[i] = static_cast<float>((2.0 * internal::NextUniform() - 1.0) * limit);
    }
  } else {
    return absl::InvalidArgumentError(absl::StrCat("unknown initializer \"", initializer,
                                                   "\" for weight ", name,
                                                   "; graft knows: glorot_uniform, zeros, ones"));
  }
  weights_.push_back({std::move(name), std::move(t), true});
  return absl::OkStatus();
}

namespace {

absl::Status RankError(const TensorType& input, int want, const char* layout) {
  return absl::InvalidArgumentError(absl::StrCat("expected input of rank ", want, " ", layout,
                                                 ", got shape ", input.shape.ToString(), " (rank ",
                                                 input.shape.rank(), ")"));
}

// ---- Conv1D ---------------------------------------------------------------------------------

class Conv1DLayer : public LayerImpl {
 public:
  Conv1DLayer(int64_t filters, int64_t kernel_size, Conv1DOptions o)
      : LayerImpl("conv1d", o.name, o.input_shape),
        filters_(filters),
        kernel_size_(kernel_size),
        options_(std::move(o)) {
    activation_ = options_.activation;
    absl::StatusOr<ops::Padding> p = ops::ParsePadding(options_.padding, /*allow_causal=*/true);
    if (!p.ok()) {
      config_status_ = p.status();
    } else {
      padding_ = *p;
    }
    if (filters <= 0) {
      config_status_ = absl::InvalidArgumentError(absl::StrCat(
          "Invalid value for argument `filters`. Expected a strictly positive value. Received "
          "filters=",
          filters, "."));
    } else if (kernel_size <= 0) {
      config_status_ = absl::InvalidArgumentError(
          absl::StrCat("The argument `kernel_size` cannot contain 0. Received kernel_size=(",
                       kernel_size, ",)."));
    } else if (options_.strides <= 0 || options_.dilation_rate <= 0) {
      config_status_ = absl::InvalidArgumentError(absl::StrCat(
          "strides and dilation_rate must be positive; received strides=", options_.strides,
          ", dilation_rate=", options_.dilation_rate));
    } else if (options_.strides > 1 && options_.dilation_rate > 1) {
      config_status_ = absl::InvalidArgumentError(absl::StrCat(
          "`strides > 1` not supported in conjunction with `dilation_rate > 1`. Received: "
          "strides=(",
          options_.strides, ",) and dilation_rate=(", options_.dilation_rate, ",)"));
    } else if (absl::Status s = ops::ValidateActivation(options_.activation); !s.ok()) {
      config_status_ = s;
    }
  }
  std::string class_name() const override { return "Conv1D"; }

 private:
  absl::Status Build(const TensorType& in) override {
    if (in.shape.rank() != 3) return RankError(in, 3, "(batch, steps, channels)");
    const int64_t channels = in.shape.dim(2);
    if (absl::Status s =
            AddWeight("kernel", {kernel_size_, channels, filters_}, options_.kernel_initializer);
        !s.ok()) {
      return s;
    }
    if (options_.use_bias) return AddWeight("bias", {filters_}, options_.bias_initializer);
    return absl::OkStatus();
  }

  absl::StatusOr<Value> Forward(Graph& g, Value x, const std::vector<Value>& w) override {
    const TensorType& in = g.type(x);
    if (in.shape.rank() != 3) return RankError(in, 3, "(batch, steps, channels)");
    const int64_t steps = in.shape.dim(1);
    const ops::Geometry geo = ops::ComputeGeometry(steps, kernel_size_, options_.strides,
                                                   options_.dilation_rate, padding_);
    if (steps >= 0 && geo.out <= 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "output length would be ", geo.out, " = ",
          ops::ValidFormula(steps, kernel_size_, options_.strides, options_.dilation_rate),
          " (input ", in.shape.ToString(), ", kernel_size ", kernel_size_, ", strides ",
          options_.strides, ", dilation_rate ", options_.dilation_rate,
          ", padding \"valid\"). Fix: use padding=\"same\" (keeps ", steps,
          " steps), a kernel_size of at most ", steps, ", or a longer input sequence."));
    }
    ops::Conv1DAttrs a{
        .stride = options_.strides, .padding = padding_, .dilation = options_.dilation_rate};
    std::optional<Value> bias;
    if (options_.use_bias) bias = w[1];
    return ops::Conv1D(g, x, w[0], bias, a, "Conv1D");
  }

  int64_t filters_, kernel_size_;
  Conv1DOptions options_;
  ops::Padding padding_ = ops::Padding::kValid;
};

// ---- MaxPooling1D ---------------------------------------------------------------------------

class MaxPooling1DLayer : public LayerImpl {
 public:
  MaxPooling1DLayer(int64_t pool_size, MaxPooling1DOptions o)
      : LayerImpl("max_pooling1d", o.name, o.input_shape), options_(std::move(o)) {
    attrs_.pool = pool_size;
    attrs_.stride = options_.strides == 0 ? pool_size : options_.strides;
    absl::StatusOr<ops::Padding> p = ops::ParsePadding(options_.padding, /*allow_causal=*/false);
    if (!p.ok()) {
      config_status_ = p.status();
    } else {
      attrs_.padding = *p;
    }
    if (pool_size <= 0 || attrs_.stride <= 0) {
      config_status_ = absl::InvalidArgumentError(
          absl::StrCat("pool_size and strides must be positive; received pool_size=", pool_size,
                       ", strides=", attrs_.stride));
    }
  }
  std::string class_name() const override { return "MaxPooling1D"; }

 private:
  absl::Status Build(const TensorType& in) override {
    if (in.shape.rank() != 3) return RankError(in, 3, "(batch, steps, channels)");
    return absl::OkStatus();
  }
  absl::StatusOr<Value> Forward(Graph& g, Value x, const std::vector<Value>&) override {
    const TensorType& in = g.type(x);
    if (in.shape.rank() != 3) return RankError(in, 3, "(batch, steps, channels)");
    const int64_t steps = in.shape.dim(1);
    const ops::Geometry geo =
        ops::ComputeGeometry(steps, attrs_.pool, attrs_.stride, 1, attrs_.padding);
    if (steps >= 0 && geo.out <= 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Computed output size would be zero or negative: ", geo.out, " = ",
          ops::ValidFormula(steps, attrs_.pool, attrs_.stride, 1), " (input ", in.shape.ToString(),
          ", pool_size ", attrs_.pool, ", strides ", attrs_.stride,
          ", padding \"valid\"). Fix: use padding=\"same\" or a pool_size of at most ", steps,
          "."));
    }
    return ops::MaxPool1D(g, x, attrs_, "MaxPool1D");
  }

  MaxPooling1DOptions options_;
  ops::MaxPool1DAttrs attrs_;
};

// ---- Flatten --------------------------------------------------------------------------------

class FlattenLayer : public LayerImpl {
 public:
  explicit FlattenLayer(FlattenOptions o) : LayerImpl("flatten", o.name, o.input_shape) {}
  std::string class_name() const override { return "Flatten"; }

 private:
  absl::Status Build(const TensorType&) override { return absl::OkStatus(); }
  absl::StatusOr<Value> Forward(Graph& g, Value x, const std::vector<Value>&) override {
    return ops::Flatten(g, x, "Flatten");
  }
};

// ---- Dense ----------------------------------------------------------------------------------

class DenseLayer : public LayerImpl {
 public:
  DenseLayer(int64_t units, DenseOptions o)
      : LayerImpl("dense", o.name, o.input_shape), units_(units), options_(std::move(o)) {
    activation_ = options_.activation;
    if (units <= 0) {
      config_status_ = absl::InvalidArgumentError(absl::StrCat(
          "Received an invalid value for `units`, expected a positive integer. Received: "
          "units=",
          units));
    } else if (absl::Status s = ops::ValidateActivation(options_.activation); !s.ok()) {
      config_status_ = s;
    }
  }
  std::string class_name() const override { return "Dense"; }

 private:
  absl::Status Build(const TensorType& in) override {
    if (in.shape.rank() < 2) {
      return absl::InvalidArgumentError(absl::StrCat(
          "expected input of rank >= 2 (batch, ..., features), got shape ", in.shape.ToString()));
    }
    const int64_t features = in.shape.dim(-1);
    if (features < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("the last dimension of the input must be known, got ", in.shape.ToString()));
    }
    if (absl::Status s = AddWeight("kernel", {features, units_}, options_.kernel_initializer);
        !s.ok()) {
      return s;
    }
    if (options_.use_bias) return AddWeight("bias", {units_}, options_.bias_initializer);
    return absl::OkStatus();
  }
  absl::StatusOr<Value> Forward(Graph& g, Value x, const std::vector<Value>& w) override {
    const TensorType& in = g.type(x);
    const int64_t built_features = weights()[0].value.shape().dim(0);
    if (in.shape.rank() < 2 || in.shape.dim(-1) != built_features) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Input is incompatible with the layer: expected axis -1 of input shape to have value ",
          built_features, ", but received input with shape ", in.shape.ToString()));
    }
    std::optional<Value> bias;
    if (options_.use_bias) bias = w[1];
    return ops::Dense(g, x, w[0], bias, "Dense");
  }

  int64_t units_;
  DenseOptions options_;
};

}  // namespace

namespace layers {
Layer Conv1D(int64_t filters, int64_t kernel_size, Conv1DOptions options) {
  return std::make_shared<Conv1DLayer>(filters, kernel_size, std::move(options));
}
Layer MaxPooling1D(int64_t pool_size, MaxPooling1DOptions options) {
  return std::make_shared<MaxPooling1DLayer>(pool_size, std::move(options));
}
Layer Flatten(FlattenOptions options) { return std::make_shared<FlattenLayer>(std::move(options)); }
Layer Dense(int64_t units, DenseOptions options) {
  return std::make_shared<DenseLayer>(units, std::move(options));
}
}  // namespace layers

}  // namespace graft::keras
