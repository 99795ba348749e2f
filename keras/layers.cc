#include "keras/layers.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <new>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "graph/memory.h"
#include "keras/layer_config.h"
#include "keras/layer_internal.h"
#include "keras/random.h"
#include "ops/activation.h"
#include "ops/batchnorm.h"
#include "ops/dense.h"
#include "ops/dropout.h"
#include "ops/reshape.h"

namespace graft::keras {

namespace internal {
namespace {
thread_local int64_t weight_budget = -1;  // bytes; -1: no limit
}  // namespace

ScopedWeightBudget::ScopedWeightBudget(uint64_t bytes) : previous_(weight_budget) {
  weight_budget = static_cast<int64_t>(std::min<uint64_t>(bytes, uint64_t{1} << 62));
}
ScopedWeightBudget::~ScopedWeightBudget() { weight_budget = previous_; }

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

absl::StatusOr<Value> LayerImpl::Call(Graph& graph, Value x, const CallContext& ctx) {
  return Call(graph, std::vector<Value>{x}, ctx);
}

absl::StatusOr<Value> LayerImpl::Call(Graph& graph, const std::vector<Value>& inputs,
                                      const CallContext& ctx) {
  const std::string prefix = absl::StrCat(name_, " (", class_name(), "): ");
  auto wrap = [&](const absl::Status& s) {
    return absl::Status(s.code(), absl::StrCat(prefix, s.message()));
  };
  if (!config_status_.ok()) return wrap(config_status_);
  if (num_inputs() == 0 && inputs.size() < 2) {
    return wrap(absl::InvalidArgumentError(
        absl::StrCat("A merge layer should be called on a list of at least 2 inputs. Got ",
                     inputs.size(), " input", inputs.size() == 1 ? "" : "s", ".")));
  }
  if (num_inputs() > 0 && static_cast<int>(inputs.size()) != num_inputs()) {
    return wrap(absl::InvalidArgumentError(absl::StrCat("expects ", num_inputs(), " input",
                                                        num_inputs() == 1 ? "" : "s", ", got ",
                                                        inputs.size())));
  }
  if (!built_) {
    std::vector<TensorType> types;
    for (Value v : inputs) types.push_back(graph.type(v));
    if (absl::Status s = BuildMulti(types); !s.ok()) {
      weights_.clear();
      return wrap(s);
    }
    built_ = true;
  }
  std::string prev = graph.SetNameScope(name_ + "/");
  std::vector<Value> w;
  for (const Weight& weight : weights_) {
    if (ctx.variables != nullptr) {
      auto it = ctx.variables->find(weight.value.raw_data());
      if (it != ctx.variables->end()) {
        w.push_back(it->second);
        continue;
      }
    }
    w.push_back(graph.Variable(weight.value, weight.name, weight.trainable));
    if (ctx.variables != nullptr) (*ctx.variables)[weight.value.raw_data()] = w.back();
  }
  absl::StatusOr<Value> y = ForwardMulti(graph, inputs, w, ctx);
  if (y.ok() && !activation_.empty()) y = ops::Activation(graph, *y, activation_);
  graph.SetNameScope(prev);
  if (!y.ok()) return wrap(y.status());
  return y;
}

nlohmann::json LayerImpl::GetConfig() const { return BaseLayerConfig(*this); }

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
  // A compiled model may hold these weights packed: bring the tensors up to date and mark the
  // packed copies stale before overwriting them.
  if (on_weights_access_) on_weights_access_();
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

absl::Status LayerImpl::AddWeight(std::string name, Shape shape, const Initializer& initializer,
                                  bool trainable) {
  if (internal::weight_budget >= 0) {
    // Counted without overflow: a size that does not fit the budget fails before allocating.
    uint64_t bytes = sizeof(float);
    for (int64_t d : shape.dims()) {
      if (d < 0 || (d != 0 && bytes > static_cast<uint64_t>(internal::weight_budget) /
                                          static_cast<uint64_t>(d))) {
        return absl::ResourceExhaustedError(absl::StrCat(
            "weight ", name, " of shape ", shape.ToString(), " needs more bytes than the ",
            internal::weight_budget, " left to weights here (the file being loaded holds fewer)"));
      }
      bytes *= static_cast<uint64_t>(d);
    }
    if (bytes > static_cast<uint64_t>(internal::weight_budget)) {
      return absl::ResourceExhaustedError(
          absl::StrCat("weight ", name, " of shape ", shape.ToString(), " needs ", bytes,
                       " bytes, more than the ", internal::weight_budget,
                       " left to weights here (the file being loaded holds fewer)"));
    }
    internal::weight_budget -= static_cast<int64_t>(bytes);
  }
  // A weight larger than the machine (Dense(1 << 20) after a Flatten of a million features) is
  // a RESOURCE_EXHAUSTED naming it, before allocating; bad_alloc is caught as the last resort.
  const std::string what = absl::StrCat("weight ", name, " of shape ", shape.ToString());
  const std::string fix =
      "Fix: fewer units or filters, or a smaller input to this layer (pool or stride before a "
      "Flatten)";
  if (absl::Status s = CheckAllocation(CheckedBytes(DType::kF32, shape), what, fix); !s.ok()) {
    return s;
  }
  Tensor t;
  try {
    t = Tensor(DType::kF32, shape);
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(
        absl::StrCat(what, " needs ", shape.num_elements() * 4, " bytes (",
                     HumanBytes(static_cast<uint64_t>(shape.num_elements()) * 4),
                     "), which could not be allocated (out of memory). ", fix));
  }
  float* p = t.data<float>();
  const int64_t n = t.num_elements();
  const InitializerOptions& o = initializer.options;
  // Keras's fans: the last dimension is fan_out, the one before it fan_in, the rest the
  // receptive field (a vector: both its length).
  const int r = shape.rank();
  double fan_in = 1, fan_out = 1;
  if (r == 1) {
    fan_in = fan_out = static_cast<double>(shape.dim(0));
  } else if (r >= 2) {
    double receptive = 1;
    for (int i = 0; i < r - 2; ++i) receptive *= static_cast<double>(shape.dim(i));
    fan_in = receptive * static_cast<double>(shape.dim(r - 2));
    fan_out = receptive * static_cast<double>(shape.dim(r - 1));
  }
  // VarianceScaling: uniform in +-sqrt(3 scale / fans), or a normal of stddev sqrt(scale / fans)
  // truncated at 2 stddev (Keras divides by .87962566103423978, the stddev of a unit normal
  // truncated there).
  auto variance_scaling = [&](double scale, double fans, bool normal) {
    if (!normal) {
      const double limit = std::sqrt(3.0 * scale / fans);
      for (int64_t i = 0; i < n; ++i) {
        p[i] = static_cast<float>((2.0 * internal::NextUniform() - 1.0) * limit);
      }
      return;
    }
    const double stddev = std::sqrt(scale / fans) / .87962566103423978;
    for (int64_t i = 0; i < n; ++i) {
      double z;
      do {
        z = internal::NextNormal();
      } while (std::abs(z) > 2.0);
      p[i] = static_cast<float>(z * stddev);
    }
  };
  const std::string& init = initializer.name;
  if (init == "zeros") {
    // already zero
  } else if (init == "ones" || init == "constant") {
    const float v = init == "ones" ? 1.0f : static_cast<float>(o.value);
    for (int64_t i = 0; i < n; ++i) p[i] = v;
  } else if (init == "glorot_uniform" || init == "glorot_normal") {
    variance_scaling(2.0, fan_in + fan_out, init == "glorot_normal");
  } else if (init == "he_uniform" || init == "he_normal") {
    variance_scaling(2.0, fan_in, init == "he_normal");
  } else if (init == "lecun_uniform" || init == "lecun_normal") {
    variance_scaling(1.0, fan_in, init == "lecun_normal");
  } else if (init == "random_normal") {
    for (int64_t i = 0; i < n; ++i) {
      p[i] = static_cast<float>(o.mean + o.stddev * internal::NextNormal());
    }
  } else if (init == "random_uniform") {
    for (int64_t i = 0; i < n; ++i) {
      p[i] = static_cast<float>(o.minval + (o.maxval - o.minval) * internal::NextUniform());
    }
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown initializer \"", init, "\" for weight ", name,
        "; graft knows: glorot_uniform, glorot_normal, he_uniform, he_normal, lecun_uniform, "
        "lecun_normal, zeros, ones, constant, random_normal, random_uniform"));
  }
  weights_.push_back({std::move(name), std::move(t), trainable});
  return absl::OkStatus();
}

namespace {

// ---- Flatten --------------------------------------------------------------------------------

class FlattenLayer : public LayerImpl {
 public:
  explicit FlattenLayer(FlattenOptions o) : LayerImpl("flatten", o.name, o.input_shape) {}
  std::string class_name() const override { return "Flatten"; }
  nlohmann::json GetConfig() const override {
    nlohmann::json c = BaseLayerConfig(*this);
    c["data_format"] = "channels_last";
    return c;
  }

 private:
  absl::Status Build(const TensorType&) override { return absl::OkStatus(); }
  absl::StatusOr<Value> Forward(Graph& g, Value x, const std::vector<Value>&,
                                const CallContext&) override {
    return ops::Flatten(g, x, "Flatten");
  }
};

// ---- Dense ----------------------------------------------------------------------------------

class DenseLayer : public LayerImpl {
 public:
  DenseLayer(int64_t units, DenseOptions o)
      : LayerImpl("dense", o.name, o.input_shape), units_(units), options_(std::move(o)) {
    SetActivation(options_.activation);
    if (units <= 0) {
      Invalid(absl::InvalidArgumentError(absl::StrCat(
          "Received an invalid value for `units`, expected a positive integer. Received: "
          "units=",
          units)));
    } else if (absl::Status s = ops::ValidateActivation(options_.activation); !s.ok()) {
      Invalid(s);
    }
  }
  std::string class_name() const override { return "Dense"; }
  nlohmann::json GetConfig() const override {
    nlohmann::json c = BaseLayerConfig(*this);
    c["units"] = units_;
    c["activation"] = activation().empty() ? "linear" : activation();
    c["use_bias"] = options_.use_bias;
    c["kernel_initializer"] = options_.kernel_initializer;
    c["bias_initializer"] = options_.bias_initializer;
    return c;
  }

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
  absl::StatusOr<Value> Forward(Graph& g, Value x, const std::vector<Value>& w,
                                const CallContext&) override {
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

// ---- Reshape --------------------------------------------------------------------------------

class ReshapeLayer : public LayerImpl {
 public:
  ReshapeLayer(std::vector<int64_t> target, LayerOptions o)
      : LayerImpl("reshape", o.name, o.input_shape), target_(std::move(target)) {}
  std::string class_name() const override { return "Reshape"; }
  nlohmann::json GetConfig() const override {
    nlohmann::json c = BaseLayerConfig(*this);
    c["target_shape"] = target_;
    return c;
  }

 private:
  absl::Status Build(const TensorType&) override { return absl::OkStatus(); }
  absl::StatusOr<Value> Forward(Graph& g, Value x, const std::vector<Value>&,
                                const CallContext&) override {
    return ops::Reshape(g, x, target_, "Reshape");
  }
  std::vector<int64_t> target_;
};

// ---- Activation -----------------------------------------------------------------------------

class ActivationLayer : public LayerImpl {
 public:
  ActivationLayer(std::string activation, LayerOptions o)
      : LayerImpl("activation", o.name, o.input_shape) {
    if (absl::Status s = ops::ValidateActivation(activation); !s.ok()) Invalid(s);
    SetActivation(std::move(activation));
  }
  std::string class_name() const override { return "Activation"; }
  nlohmann::json GetConfig() const override {
    nlohmann::json c = BaseLayerConfig(*this);
    c["activation"] = activation().empty() ? "linear" : activation();
    return c;
  }

 private:
  absl::Status Build(const TensorType&) override { return absl::OkStatus(); }
  // The activation itself is applied by LayerImpl::Call, as for every layer with one.
  absl::StatusOr<Value> Forward(Graph&, Value x, const std::vector<Value>&,
                                const CallContext&) override {
    return x;
  }
};

// ---- Dropout --------------------------------------------------------------------------------

class DropoutLayer : public LayerImpl {
 public:
  DropoutLayer(double rate, DropoutOptions o)
      : LayerImpl("dropout", o.name, o.input_shape), rate_(rate), seed_(o.seed) {
    if (!(rate >= 0 && rate <= 1)) {
      Invalid(absl::InvalidArgumentError(absl::StrCat(
          "Invalid value received for argument `rate`. Expected a float value between 0 and 1. "
          "Received: rate=",
          rate)));
    }
    // Drawn now, from the seeded stream, so a seeded program gets the same masks every run.
    if (seed_ == 0) seed_ = static_cast<uint64_t>(internal::NextUniform() * 0x1.0p63) | 1;
  }
  std::string class_name() const override { return "Dropout"; }
  // The seed is the one in use (drawn at construction when not given), so a loaded model draws
  // the same masks.
  nlohmann::json GetConfig() const override {
    nlohmann::json c = BaseLayerConfig(*this);
    c["rate"] = rate_;
    c["seed"] = seed_;
    return c;
  }
  bool differs_in_training() const override { return true; }

 private:
  absl::Status Build(const TensorType&) override { return absl::OkStatus(); }
  absl::StatusOr<Value> Forward(Graph& g, Value x, const std::vector<Value>&,
                                const CallContext& ctx) override {
    if (!ctx.training || rate_ == 0) return x;
    if (!ctx.iteration.valid()) {
      return absl::InternalError("a training-mode Dropout needs the iteration counter");
    }
    return ops::Dropout(g, x, ctx.iteration, {.rate = rate_, .seed = seed_}, "Dropout",
                        ctx.row_offset);
  }
  double rate_;
  uint64_t seed_;
};

// ---- BatchNormalization ---------------------------------------------------------------------

class BatchNormalizationLayer : public LayerImpl {
 public:
  explicit BatchNormalizationLayer(BatchNormalizationOptions o)
      : LayerImpl("batch_normalization", o.name, o.input_shape), options_(std::move(o)) {
    if (!(options_.epsilon > 0)) {
      Invalid(absl::InvalidArgumentError(
          absl::StrCat("epsilon must be positive, received epsilon=", options_.epsilon)));
    }
    if (!(options_.momentum >= 0 && options_.momentum <= 1)) {
      Invalid(absl::InvalidArgumentError(
          absl::StrCat("momentum must be in [0, 1], received momentum=", options_.momentum)));
    }
  }
  std::string class_name() const override { return "BatchNormalization"; }
  nlohmann::json GetConfig() const override {
    nlohmann::json c = BaseLayerConfig(*this);
    c["axis"] = -1;
    c["momentum"] = options_.momentum;
    c["epsilon"] = options_.epsilon;
    c["center"] = options_.center;
    c["scale"] = options_.scale;
    return c;
  }
  bool differs_in_training() const override { return true; }

 private:
  absl::Status Build(const TensorType& in) override {
    if (in.shape.rank() < 2 || in.shape.dim(-1) < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("expected input of rank >= 2 with a known last (channel) axis, got shape ",
                       in.shape.ToString()));
    }
    const int64_t c = in.shape.dim(-1);
    absl::Status s;
    if (options_.scale && (s = AddWeight("gamma", {c}, "ones")).ok() == false) return s;
    if (options_.center && (s = AddWeight("beta", {c}, "zeros")).ok() == false) return s;
    if (!(s = AddWeight("moving_mean", {c}, "zeros", /*trainable=*/false)).ok()) return s;
    return AddWeight("moving_variance", {c}, "ones", /*trainable=*/false);
  }

  absl::StatusOr<Value> Forward(Graph& g, Value x, const std::vector<Value>& w,
                                const CallContext& ctx) override {
    const int64_t c = g.type(x).shape.dim(-1);
    size_t i = 0;
    Value gamma = options_.scale ? w[i++] : g.Constant(Ones(c), "gamma");
    Value beta = options_.center ? w[i++] : g.Constant(Tensor(DType::kF32, {c}), "beta");
    Value moving_mean = w[i++], moving_variance = w[i++];
    ops::BatchNormAttrs attrs{.epsilon = options_.epsilon};
    if (!ctx.training) {
      return ops::BatchNormInference(g, x, gamma, beta, moving_mean, moving_variance, attrs,
                                     "BatchNorm");
    }
    absl::StatusOr<ops::BatchNormTrainingOutputs> out =
        ops::BatchNormTraining(g, x, gamma, beta, attrs, "BatchNorm");
    if (!out.ok()) return out.status();
    for (auto [moving, batch] :
         {std::pair{moving_mean, out->mean}, std::pair{moving_variance, out->variance}}) {
      absl::StatusOr<Operation> update =
          ops::MovingAverageUpdate(g, moving, batch, options_.momentum);
      if (!update.ok()) return update.status();
      if (ctx.updates != nullptr) ctx.updates->push_back(*update);
    }
    return out->y;
  }

  static Tensor Ones(int64_t n) {
    Tensor t(DType::kF32, {n});
    for (int64_t i = 0; i < n; ++i) t.data<float>()[i] = 1.0f;
    return t;
  }

  BatchNormalizationOptions options_;
};

}  // namespace

namespace layers {
Layer Flatten(FlattenOptions options) { return std::make_shared<FlattenLayer>(std::move(options)); }
Layer Dense(int64_t units, DenseOptions options) {
  return std::make_shared<DenseLayer>(units, std::move(options));
}
Layer Reshape(std::vector<int64_t> target_shape, LayerOptions options) {
  return std::make_shared<ReshapeLayer>(std::move(target_shape), std::move(options));
}
Layer Activation(std::string activation, LayerOptions options) {
  return std::make_shared<ActivationLayer>(std::move(activation), std::move(options));
}
Layer Dropout(double rate, DropoutOptions options) {
  return std::make_shared<DropoutLayer>(rate, std::move(options));
}
Layer BatchNormalization(BatchNormalizationOptions options) {
  return std::make_shared<BatchNormalizationLayer>(std::move(options));
}
}  // namespace layers

}  // namespace graft::keras
