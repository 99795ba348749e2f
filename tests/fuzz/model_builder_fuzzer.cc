// libFuzzer target, structure-aware: the input bytes choose a model configuration (Sequential
// or functional with one or two inputs, merge layers, a shared layer called twice, one or two
// outputs; layers with zero, negative and huge sizes, unknown paddings, activations and
// initializers), a compile configuration (optimizer by name or object with odd hyperparameters,
// losses, metrics) and tiny data, then run Build, SummaryText, Compile, Fit (one epoch),
// Evaluate, Predict, Lint, Get/SetWeights and sometimes Save + LoadModel. Every call must
// succeed or return a Status: never a crash, a hang, a leak or undefined behaviour. Run with
//   tools/fuzz.sh 600 model_builder_fuzzer
//
// Tensors that the fuzzer feeds are kept tiny by construction (at most 8 samples of at most
// 512 values); sizes of layers may be huge, so that graft's RESOURCE_EXHAUSTED checks run: the
// allocation limit is GRAFT_MEMORY_LIMIT_BYTES = 64 MiB, set before the first call.
#include <fuzzer/FuzzedDataProvider.h>
#include <unistd.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "keras/keras.h"
#include "keras/random.h"
#include "keras/saving.h"
#include "optim/optimizer.h"
#include "runtime/threads.h"

namespace {

// A shape's dimensions after the batch one.
std::vector<int64_t> DimsAfterBatch(const graft::Shape& s) {
  const std::vector<int64_t> d = s.dims();
  return {d.begin() + 1, d.end()};
}

namespace keras = graft::keras;
namespace layers = graft::keras::layers;
using graft::DType;
using graft::Shape;
using graft::Tensor;

constexpr int kMaxLayers = 6;
constexpr int64_t kMaxSampleValues = 512;  // one sample of a fed tensor
constexpr int kMaxSamples = 8;

template <typename T, size_t N>
T Pick(FuzzedDataProvider& in, const T (&options)[N]) {
  return options[in.ConsumeIntegralInRange<size_t>(0, N - 1)];
}

// A size: mostly small and valid, sometimes zero, negative or huge.
int64_t Size(FuzzedDataProvider& in) {
  static constexpr int64_t kOdd[] = {0,
                                     -1,
                                     -3,
                                     1 << 16,
                                     int64_t{1} << 31,
                                     int64_t{1} << 40,
                                     std::numeric_limits<int64_t>::max(),
                                     std::numeric_limits<int64_t>::min()};
  if (in.ConsumeIntegralInRange<int>(0, 7) != 0) return in.ConsumeIntegralInRange<int64_t>(1, 4);
  return Pick(in, kOdd);
}

// A padding or cropping amount: mostly 0 to 3, sometimes negative or huge.
int64_t Amount(FuzzedDataProvider& in) {
  const int64_t s = Size(in);
  return s == std::numeric_limits<int64_t>::min() ? s : s - 1;
}

double Rate(FuzzedDataProvider& in) {
  static constexpr double kRates[] = {0.0,
                                      0.5,
                                      0.99,
                                      1.0,
                                      -0.1,
                                      1.5,
                                      std::numeric_limits<double>::quiet_NaN(),
                                      std::numeric_limits<double>::infinity()};
  return Pick(in, kRates);
}

double Hyper(FuzzedDataProvider& in, double usual) {
  static constexpr double kOdd[] = {0.0,
                                    -1.0,
                                    1.0,
                                    1e30,
                                    -1e-3,
                                    2.0,
                                    std::numeric_limits<double>::quiet_NaN(),
                                    std::numeric_limits<double>::infinity()};
  if (in.ConsumeBool()) return usual;
  return Pick(in, kOdd);
}

std::string Padding(FuzzedDataProvider& in) {
  static const char* const kPaddings[] = {"valid", "same", "valid", "same", "causal",
                                          "SAME",  "",     "full",  "vali"};
  return Pick(in, kPaddings);
}

std::string ActivationName(FuzzedDataProvider& in) {
  static const char* const kActivations[] = {
      "",     "relu",        "sigmoid",      "softmax",     "tanh",     "linear",
      "elu",  "selu",        "gelu",         "swish",       "softplus", "relu6",
      "RELU", "bogus",       "silu",         "leaky_relu",  "linear",   "",
      "relu", "exponential", "hard_sigmoid", "log_softmax", " relu"};
  return Pick(in, kActivations);
}

std::string InitializerName(FuzzedDataProvider& in) {
  static const char* const kInitializers[] = {
      "glorot_uniform", "glorot_uniform", "he_normal", "zeros", "ones",
      "lecun_uniform",  "orthogonal",     "",          "bogus"};
  return Pick(in, kInitializers);
}

std::string LayerName(FuzzedDataProvider& in) {
  if (in.ConsumeIntegralInRange<int>(0, 7) != 0) return "";
  static const char* const kNames[] = {"x", "x",           "a/b",  "dense", "conv2d",
                                       " ", "input_layer", "\xff", "n\"q"};
  return Pick(in, kNames);
}

keras::Size2 Size2(FuzzedDataProvider& in) {
  if (in.ConsumeBool()) return keras::Size2(Size(in));
  return keras::Size2(Size(in), Size(in));
}

keras::Border Border(FuzzedDataProvider& in) {
  if (in.ConsumeBool()) return keras::Border(Amount(in));
  return keras::Border(Amount(in), Amount(in));
}

keras::Border2 Border2(FuzzedDataProvider& in) {
  switch (in.ConsumeIntegralInRange<int>(0, 2)) {
    case 0:
      return keras::Border2(Amount(in));
    case 1:
      return keras::Border2(keras::Border(Amount(in)), keras::Border(Amount(in)));
    default:
      return keras::Border2(Border(in), Border(in));
  }
}

// One single-input layer. `input_shape` is given to its options (Sequential's first layer).
keras::Layer SingleLayer(FuzzedDataProvider& in, const std::vector<int64_t>& input_shape) {
  const std::string name = LayerName(in);
  switch (in.ConsumeIntegralInRange<int>(0, 21)) {
    case 0:
      return layers::Dense(Size(in), {.activation = ActivationName(in),
                                      .use_bias = in.ConsumeBool(),
                                      .kernel_initializer = InitializerName(in),
                                      .input_shape = input_shape,
                                      .name = name});
    case 1:
      return layers::Conv1D(Size(in), Size(in),
                            {.strides = Size(in),
                             .padding = Padding(in),
                             .dilation_rate = in.ConsumeBool() ? 1 : Size(in),
                             .groups = in.ConsumeBool() ? 1 : Size(in),
                             .activation = ActivationName(in),
                             .use_bias = in.ConsumeBool(),
                             .input_shape = input_shape,
                             .name = name});
    case 2:
      return layers::Conv2D(Size(in), Size2(in),
                            {.strides = Size2(in),
                             .padding = Padding(in),
                             .dilation_rate = in.ConsumeBool() ? keras::Size2(1) : Size2(in),
                             .groups = in.ConsumeBool() ? 1 : Size(in),
                             .activation = ActivationName(in),
                             .use_bias = in.ConsumeBool(),
                             .input_shape = input_shape,
                             .name = name});
    case 3:
      return layers::MaxPooling1D(Size(in), {.strides = in.ConsumeBool() ? 0 : Size(in),
                                             .padding = Padding(in),
                                             .input_shape = input_shape,
                                             .name = name});
    case 4:
      return layers::MaxPooling2D(Size2(in),
                                  {.strides = in.ConsumeBool() ? keras::Size2(0) : Size2(in),
                                   .padding = Padding(in),
                                   .input_shape = input_shape,
                                   .name = name});
    case 5:
      return layers::AveragePooling1D(Size(in), {.strides = in.ConsumeBool() ? 0 : Size(in),
                                                 .padding = Padding(in),
                                                 .input_shape = input_shape,
                                                 .name = name});
    case 6:
      return layers::AveragePooling2D(Size2(in),
                                      {.strides = in.ConsumeBool() ? keras::Size2(0) : Size2(in),
                                       .padding = Padding(in),
                                       .input_shape = input_shape,
                                       .name = name});
    case 7:
      return layers::GlobalAveragePooling1D(
          {.keepdims = in.ConsumeBool(), .input_shape = input_shape, .name = name});
    case 8:
      return layers::GlobalAveragePooling2D(
          {.keepdims = in.ConsumeBool(), .input_shape = input_shape, .name = name});
    case 9:
      return layers::GlobalMaxPooling1D(
          {.keepdims = in.ConsumeBool(), .input_shape = input_shape, .name = name});
    case 10:
      return layers::GlobalMaxPooling2D(
          {.keepdims = in.ConsumeBool(), .input_shape = input_shape, .name = name});
    case 11:
      return layers::Flatten({.input_shape = input_shape, .name = name});
    case 12: {
      std::vector<int64_t> target(in.ConsumeIntegralInRange<int>(0, 3));
      for (int64_t& d : target) d = in.ConsumeIntegralInRange<int>(0, 5) == 0 ? -1 : Size(in);
      return layers::Reshape(target, {.input_shape = input_shape, .name = name});
    }
    case 13:
      return layers::Activation(ActivationName(in), {.input_shape = input_shape, .name = name});
    case 14:
      return layers::Dropout(
          Rate(in),
          {.seed = in.ConsumeIntegral<uint8_t>(), .input_shape = input_shape, .name = name});
    case 15:
      return layers::BatchNormalization({.momentum = Hyper(in, 0.99),
                                         .epsilon = Hyper(in, 1e-3),
                                         .center = in.ConsumeBool(),
                                         .scale = in.ConsumeBool(),
                                         .input_shape = input_shape,
                                         .name = name});
    case 16:
      return layers::ZeroPadding1D(Border(in), {.input_shape = input_shape, .name = name});
    case 17:
      return layers::ZeroPadding2D(Border2(in), {.input_shape = input_shape, .name = name});
    case 18:
      return layers::Cropping1D(Border(in), {.input_shape = input_shape, .name = name});
    case 19:
      return layers::Cropping2D(Border2(in), {.input_shape = input_shape, .name = name});
    case 20:
      return layers::UpSampling1D(Size(in), {.input_shape = input_shape, .name = name});
    default: {
      static const char* const kInterpolations[] = {"nearest", "nearest", "NEAREST", "bilinear",
                                                    "bogus"};
      return layers::UpSampling2D(
          Size2(in),
          {.interpolation = Pick(in, kInterpolations), .input_shape = input_shape, .name = name});
    }
  }
}

keras::Layer MergeLayer(FuzzedDataProvider& in) {
  const std::string name = LayerName(in);
  switch (in.ConsumeIntegralInRange<int>(0, 6)) {
    case 0:
      return layers::Add({.name = name});
    case 1:
      return layers::Subtract({.name = name});
    case 2:
      return layers::Multiply({.name = name});
    case 3:
      return layers::Average({.name = name});
    case 4:
      return layers::Maximum({.name = name});
    case 5:
      return layers::Minimum({.name = name});
    default: {
      static constexpr int64_t kAxes[] = {-1, -1, 1, 2, 0, -2, 3, 7, -9};
      return layers::Concatenate({.axis = Pick(in, kAxes), .name = name});
    }
  }
}

// An input shape (without the batch dimension): rank 1 to 3 of small dimensions (at most 512
// values) or, rarely, zero, negative or huge ones.
std::vector<int64_t> InputShape(FuzzedDataProvider& in) {
  std::vector<int64_t> shape(in.ConsumeIntegralInRange<int>(1, 3));
  for (int64_t& d : shape) {
    d = in.ConsumeIntegralInRange<int>(0, 15) == 0 ? Amount(in)
                                                   : in.ConsumeIntegralInRange<int64_t>(1, 8);
  }
  if (in.ConsumeIntegralInRange<int>(0, 31) == 0) shape.clear();  // rank 0
  return shape;
}

// The values of one sample when `shape` is small and valid; nullopt otherwise.
std::optional<int64_t> SmallCount(const Shape& shape, int skip_leading) {
  int64_t n = 1;
  for (int i = skip_leading; i < shape.rank(); ++i) {
    const int64_t d = shape.dim(i);
    if (d <= 0 || d > kMaxSampleValues) return std::nullopt;
    n *= d;
    if (n > kMaxSampleValues) return std::nullopt;
  }
  return n;
}

float Value(FuzzedDataProvider& in) {
  switch (in.ConsumeIntegralInRange<int>(0, 63)) {
    case 0:
      return std::numeric_limits<float>::quiet_NaN();
    case 1:
      return std::numeric_limits<float>::infinity();
    case 2:
      return 1e30f;
    default:
      return static_cast<float>(in.ConsumeIntegralInRange<int>(-100, 100)) / 50.0f;
  }
}

// x for an input of `type` (batch unknown), n samples; a small wrong shape when the input's is
// not small and valid (or, sometimes, on purpose).
Tensor MakeX(FuzzedDataProvider& in, const graft::TensorType& type, int64_t n) {
  std::vector<int64_t> dims = {n};
  if (SmallCount(type.shape, 1) && in.ConsumeIntegralInRange<int>(0, 15) != 0) {
    for (int i = 1; i < type.shape.rank(); ++i) dims.push_back(type.shape.dim(i));
  } else {
    dims.push_back(in.ConsumeIntegralInRange<int64_t>(1, 3));
  }
  Tensor t(DType::kF32, Shape(dims));
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.num_elements(); ++i) p[i] = Value(in);
  return t;
}

// y for an output of `type` and `loss`: labels that fit the loss, mostly.
Tensor MakeY(FuzzedDataProvider& in, const graft::TensorType& type, const std::string& loss,
             int64_t n) {
  const bool fits = in.ConsumeIntegralInRange<int>(0, 7) != 0;
  const std::optional<int64_t> count = SmallCount(type.shape, 1);
  const int64_t classes = type.shape.rank() >= 2 ? type.shape.dim(type.shape.rank() - 1) : 1;
  std::vector<int64_t> dims = {n};
  if (loss == "sparse_categorical_crossentropy" && fits) {
    if (in.ConsumeBool()) dims.push_back(1);
    Tensor t(DType::kF32, Shape(dims));
    float* p = t.data<float>();
    for (int64_t i = 0; i < t.num_elements(); ++i) {
      const int64_t top = classes > 0 && classes < 1000 ? classes - 1 : 3;
      p[i] = static_cast<float>(in.ConsumeIntegralInRange<int64_t>(0, top));
    }
    return t;
  }
  if (count && fits) {
    for (int i = 1; i < type.shape.rank(); ++i) dims.push_back(type.shape.dim(i));
  } else {
    dims.push_back(in.ConsumeIntegralInRange<int64_t>(1, 3));
  }
  Tensor t(DType::kF32, Shape(dims));
  float* p = t.data<float>();
  const bool probabilities = loss.find("crossentropy") != std::string::npos && fits;
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    p[i] = probabilities ? static_cast<float>(in.ConsumeBool()) : Value(in);
  }
  return t;
}

keras::Loss MakeLoss(FuzzedDataProvider& in) {
  static const char* const kLosses[] = {"mse",
                                        "mae",
                                        "binary_crossentropy",
                                        "categorical_crossentropy",
                                        "sparse_categorical_crossentropy",
                                        "mean_squared_error",
                                        "mean_absolute_error",
                                        "hinge",
                                        "",
                                        "MSE"};
  return keras::Loss(Pick(in, kLosses), {.from_logits = in.ConsumeBool()});
}

std::vector<std::string> MakeMetrics(FuzzedDataProvider& in) {
  static const char* const kMetrics[] = {"accuracy",
                                         "acc",
                                         "binary_accuracy",
                                         "categorical_accuracy",
                                         "sparse_categorical_accuracy",
                                         "mae",
                                         "mse",
                                         "bogus",
                                         ""};
  std::vector<std::string> metrics(in.ConsumeIntegralInRange<int>(0, 2));
  for (std::string& m : metrics) m = Pick(in, kMetrics);
  return metrics;
}

std::variant<std::string, std::shared_ptr<graft::optim::Optimizer>> MakeOptimizer(
    FuzzedDataProvider& in) {
  namespace optim = graft::optim;
  switch (in.ConsumeIntegralInRange<int>(0, 6)) {
    case 0: {
      static const char* const kNames[] = {"adam", "sgd",   "rmsprop", "adamw", "adagrad",
                                           "Adam", "nadam", "",        "bogus"};
      return std::string(Pick(in, kNames));
    }
    case 1:
      return std::shared_ptr<optim::Optimizer>(optim::MakeAdam({.learning_rate = Hyper(in, 1e-3),
                                                                .beta_1 = Hyper(in, 0.9),
                                                                .beta_2 = Hyper(in, 0.999),
                                                                .epsilon = Hyper(in, 1e-7)}));
    case 2:
      return std::shared_ptr<optim::Optimizer>(optim::MakeAdamW({.learning_rate = Hyper(in, 1e-3),
                                                                 .weight_decay = Hyper(in, 0.004),
                                                                 .beta_1 = Hyper(in, 0.9),
                                                                 .beta_2 = Hyper(in, 0.999),
                                                                 .epsilon = Hyper(in, 1e-7)}));
    case 3:
      return std::shared_ptr<optim::Optimizer>(optim::MakeSgd({.learning_rate = Hyper(in, 0.01),
                                                               .momentum = Hyper(in, 0.0),
                                                               .nesterov = in.ConsumeBool()}));
    case 4:
      return std::shared_ptr<optim::Optimizer>(optim::MakeRmsprop({.learning_rate = Hyper(in, 1e-3),
                                                                   .rho = Hyper(in, 0.9),
                                                                   .momentum = Hyper(in, 0.0),
                                                                   .epsilon = Hyper(in, 1e-7),
                                                                   .centered = in.ConsumeBool()}));
    case 5:
      return std::shared_ptr<optim::Optimizer>(
          optim::MakeAdagrad({.learning_rate = Hyper(in, 1e-3),
                              .initial_accumulator_value = Hyper(in, 0.1),
                              .epsilon = Hyper(in, 1e-7)}));
    default:
      return std::string(in.ConsumeBool() ? "adam" : "sgd");
  }
}

int64_t BatchSize(FuzzedDataProvider& in) {
  static constexpr int64_t kBatches[] = {1,
                                         2,
                                         3,
                                         4,
                                         8,
                                         32,
                                         0,
                                         -1,
                                         std::numeric_limits<int64_t>::max(),
                                         std::numeric_limits<int64_t>::min()};
  return Pick(in, kBatches);
}

// Builds the model the bytes describe.
std::unique_ptr<keras::Model> MakeModel(FuzzedDataProvider& in) {
  const int num_layers = in.ConsumeIntegralInRange<int>(0, kMaxLayers);
  if (in.ConsumeBool()) {
    auto model = std::make_unique<keras::Sequential>(std::vector<keras::Layer>{},
                                                     in.ConsumeBool() ? "" : "seq");
    const std::vector<int64_t> shape = InputShape(in);
    for (int i = 0; i < num_layers; ++i) {
      // The first layer carries the input shape (mostly); a later one sometimes does too.
      const bool with_shape = i == 0 ? in.ConsumeIntegralInRange<int>(0, 15) != 0
                                     : in.ConsumeIntegralInRange<int>(0, 15) == 0;
      model->Add(SingleLayer(in, with_shape ? shape : std::vector<int64_t>{}));
    }
    return model;
  }
  // Functional: one or two inputs, then calls on tensors from a pool.
  std::vector<keras::KerasTensor> inputs = {keras::Input(InputShape(in))};
  if (in.ConsumeBool()) {
    inputs.push_back(keras::Input(in.ConsumeBool()
                                      ? InputShape(in)
                                      : DimsAfterBatch(inputs[0].shape())));
  }
  std::vector<keras::KerasTensor> pool = inputs;
  std::vector<keras::Layer> made;
  auto any = [&]() -> const keras::KerasTensor& {
    return pool[in.ConsumeIntegralInRange<size_t>(0, pool.size() - 1)];
  };
  for (int i = 0; i < num_layers; ++i) {
    switch (in.ConsumeIntegralInRange<int>(0, 5)) {
      case 0: {  // a merge layer on 1 to 3 tensors (mostly 2)
        std::vector<keras::KerasTensor> args(
            in.ConsumeIntegralInRange<int>(0, 7) == 0 ? in.ConsumeIntegralInRange<int>(1, 3) : 2);
        for (keras::KerasTensor& a : args) a = any();
        pool.push_back(MergeLayer(in)(args));
        break;
      }
      case 1:  // a layer already called, again (shared weights)
        if (!made.empty()) {
          const keras::Layer& layer = made[in.ConsumeIntegralInRange<size_t>(0, made.size() - 1)];
          pool.push_back(layer(any()));
          break;
        }
        [[fallthrough]];
      default: {
        keras::Layer layer = SingleLayer(in, {});
        pool.push_back(layer(any()));
        made.push_back(layer);
        break;
      }
    }
  }
  std::vector<keras::KerasTensor> outputs = {pool.back()};
  if (in.ConsumeIntegralInRange<int>(0, 3) == 0) outputs.push_back(any());
  if (inputs.size() == 2 && in.ConsumeIntegralInRange<int>(0, 7) == 0) inputs.pop_back();
  return std::make_unique<keras::Model>(inputs, outputs, in.ConsumeBool() ? "" : "fn");
}

void Exercise(FuzzedDataProvider& in) {
  keras::SetRandomSeed(in.ConsumeIntegral<uint8_t>());
  std::unique_ptr<keras::Model> model = MakeModel(in);
  absl::Status built = model->Build();
  absl::StatusOr<std::string> summary = model->SummaryText();
  (void)summary;

  // Compile: one loss for all outputs, or (sometimes) lists per output.
  keras::CompileOptions compile;
  compile.optimizer = MakeOptimizer(in);
  compile.loss = MakeLoss(in);
  compile.metrics = MakeMetrics(in);
  if (in.ConsumeIntegralInRange<int>(0, 3) == 0) {
    compile.losses.resize(in.ConsumeIntegralInRange<int>(0, 3), compile.loss);
    for (keras::Loss& l : compile.losses) {
      if (in.ConsumeBool()) l = MakeLoss(in);
    }
    compile.loss_weights.resize(in.ConsumeIntegralInRange<int>(0, 3));
    for (double& w : compile.loss_weights) w = Hyper(in, 1.0);
    compile.output_metrics.resize(in.ConsumeIntegralInRange<int>(0, 3));
    for (auto& m : compile.output_metrics) m = MakeMetrics(in);
  }
  absl::Status compiled = model->Compile(compile);
  (void)compiled;

  // Data: n samples per input and output (sometimes a different count for y).
  const int64_t n = in.ConsumeIntegralInRange<int64_t>(
      in.ConsumeIntegralInRange<int>(0, 15) == 0 ? 0 : 1, kMaxSamples);
  std::vector<Tensor> xs, ys;
  for (const keras::KerasTensor& x : model->inputs()) {
    if (x.ok()) xs.push_back(MakeX(in, x.type(), n));
  }
  const int64_t ny = in.ConsumeIntegralInRange<int>(0, 15) == 0 ? n + 1 : n;
  for (size_t i = 0; i < model->outputs().size(); ++i) {
    const keras::KerasTensor& y = model->outputs()[i];
    if (!y.ok()) continue;
    const std::string& loss =
        i < compile.losses.size() ? compile.losses[i].name : compile.loss.name;
    ys.push_back(MakeY(in, y.type(), loss, ny));
  }
  if (xs.empty()) xs.push_back(Tensor(DType::kF32, Shape{n, 2}));
  if (ys.empty()) ys.push_back(Tensor(DType::kF32, Shape{ny, 1}));

  std::ostringstream progress;
  static constexpr double kSplits[] = {0.0, 0.0, 0.0,  0.25,
                                       0.5, 1.0, -0.1, std::numeric_limits<double>::quiet_NaN()};
  keras::FitOptions fit{.batch_size = BatchSize(in),
                        .epochs = in.ConsumeIntegralInRange<int>(0, 7) == 0
                                      ? in.ConsumeIntegralInRange<int>(-1, 2)
                                      : 1,
                        .verbose = in.ConsumeIntegralInRange<int>(0, 2),
                        .validation_split = Pick(in, kSplits),
                        .shuffle = in.ConsumeBool(),
                        .output = &progress,
                        .check_finite = in.ConsumeIntegralInRange<int>(0, 7) != 0};
  absl::StatusOr<keras::History> history = model->Fit(xs, ys, fit);
  (void)history;
  absl::StatusOr<std::vector<double>> evaluated =
      model->Evaluate(xs, ys, {.batch_size = BatchSize(in), .verbose = 0, .output = &progress});
  (void)evaluated;
  absl::StatusOr<std::vector<Tensor>> predicted = model->Predict(xs, {.batch_size = BatchSize(in)});
  (void)predicted;
  absl::StatusOr<std::vector<keras::LintWarning>> advice = model->Lint(xs, ys);
  (void)advice;

  // Weights: a round trip, and a list one short.
  std::vector<Tensor> weights = model->GetWeights();
  absl::Status set = model->SetWeights(weights);
  if (!weights.empty() && in.ConsumeBool()) {
    weights.pop_back();
    set = model->SetWeights(weights);
  }
  (void)set;
  (void)model->CountParams();
  (void)model->metrics_names();

  // Sometimes: save and load the model back, then predict with the copy.
  if (built.ok() && in.ConsumeIntegralInRange<int>(0, 7) == 0) {
    static const std::string path =
        "/tmp/graft-model-builder-fuzzer-" + std::to_string(getpid()) + ".graft";
    if (model->Save(path).ok()) {
      absl::StatusOr<keras::Model> loaded = keras::LoadModel(path);
      if (loaded.ok()) {
        absl::StatusOr<std::vector<Tensor>> again = loaded->Predict(xs, {.batch_size = 4});
        (void)again;
      }
    }
    std::remove(path.c_str());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool once = [] {
    graft::SetNumThreads(1);
    // Before graft's first allocation check reads it (once): huge layers must fail with
    // RESOURCE_EXHAUSTED, and the ones that fit stay small.
    setenv("GRAFT_MEMORY_LIMIT_BYTES", "67108864", /*overwrite=*/1);
    // The advisor's rules still run (Compile, Fit, Lint); only its printing is off.
    setenv("GRAFT_ADVISOR", "0", /*overwrite=*/1);
    return true;
  }();
  (void)once;
  FuzzedDataProvider in(data, size);
  Exercise(in);
  return 0;
}
