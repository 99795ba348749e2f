// The advisor (keras/lint.h): one test per rule that fires, the seed examples' correct models on
// data of their real scale (no warning), the off switches, printing once per model, and Lint's
// list and errors.
#include "keras/lint.h"

#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "examples/resnet_model.h"
#include "gtest/gtest.h"
#include "keras/datasets/mnist.h"
#include "keras/datasets/sensor_faults.h"
#include "keras/keras.h"
#include "tests/testing.h"

namespace graft::keras {
namespace {

namespace L = layers;
using graft::testing::Contains;

FitOptions Quiet(int64_t batch_size = 8) { return {.batch_size = batch_size, .verbose = 0}; }

// What `f` wrote to stderr.
std::string Stderr(const std::function<void()>& f) {
  ::testing::internal::CaptureStderr();
  f();
  return ::testing::internal::GetCapturedStderr();
}

int Count(const std::string& haystack, const std::string& needle) {
  int n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

std::vector<LintWarning> LintOf(Model& m, const std::vector<Tensor>& x = {},
                                const std::vector<Tensor>& y = {}) {
  absl::StatusOr<std::vector<LintWarning>> w = m.Lint(x, y);
  EXPECT_TRUE(w.ok()) << w.status();
  return w.ok() ? *w : std::vector<LintWarning>{};
}

// The only warning of `m`; fails the test when there is not exactly one.
LintWarning Only(Model& m, const std::vector<Tensor>& x = {}, const std::vector<Tensor>& y = {}) {
  std::vector<LintWarning> w = LintOf(m, x, y);
  std::string all;
  for (const LintWarning& v : w) all += FormatLintWarning(v) + "\n";
  EXPECT_EQ(w.size(), 1u) << all;
  return w.empty() ? LintWarning{} : w[0];
}

// n samples of values from a function of (sample, flat index within the sample).
Tensor Fill(Shape shape, const std::function<float(int64_t, int64_t)>& f) {
  Tensor t(DType::kF32, shape);
  const int64_t per = t.num_elements() / shape.dim(0);
  for (int64_t i = 0; i < t.num_elements(); ++i) t.data<float>()[i] = f(i / per, i % per);
  return t;
}

Tensor Labels(int64_t n, int64_t classes) {
  return Fill({n}, [=](int64_t s, int64_t) { return static_cast<float>(s % classes); });
}

Tensor Binary(int64_t n) {
  return Fill({n, 1}, [](int64_t s, int64_t) { return static_cast<float>(s % 2); });
}

// ---- each rule -------------------------------------------------------------------------------

TEST(Lint, Conv2DOnASequenceSuggestsConv1D) {
  // The seed's "wrong" model with its kernel fixed to (3, 1): it compiles, but it is a Conv1D.
  Sequential m({L::Conv2D(32, {3, 1},
                          {.activation = "relu", .input_shape = {100, 1, 1}, .name = "conv2d_seq"}),
                L::MaxPooling2D({2, 1}, {.name = "pool_seq"}), L::Flatten(),
                L::Dense(1, {.activation = "sigmoid"})});
  ASSERT_TRUE(
      m.Compile({.optimizer = "adam", .loss = "binary_crossentropy", .advise = false}).ok());
  const LintWarning w = Only(m);
  EXPECT_EQ(w.rule, "sequence-as-image");
  EXPECT_EQ(w.layer, "conv2d_seq");
  for (const char* part :
       {"conv2d_seq (Conv2D, layer 0)", "(None, 100, 1, 1) has width 1",
        "a sequence of 100 steps with 1 channel dressed as an image",
        "pool_seq (MaxPooling2D, layer 1)", "reshape x from (N, 100, 1, 1) to (N, 100, 1)",
        "Conv1D(32, 3, activation='relu') for conv2d_seq", "MaxPooling1D(2) for pool_seq"}) {
    EXPECT_TRUE(Contains(w.message, part)) << part << "\n" << w.message;
  }
}

TEST(Lint, SamePaddedSquareKernelOnHeightOneWastesWeights) {
  // Height 1 this time; 'same' padding lets a 3x3 kernel through, two thirds of it on zeros.
  Sequential m({L::Conv2D(8, 3, {.padding = "same", .input_shape = {1, 50, 4}, .name = "c"}),
                L::GlobalAveragePooling2D(), L::Dense(1, {.activation = "sigmoid"})});
  const LintWarning w = Only(m);  // before Compile: the shape rules run already
  EXPECT_EQ(w.rule, "sequence-as-image");
  EXPECT_TRUE(Contains(w.message, "has height 1")) << w.message;
  EXPECT_TRUE(Contains(w.message, "2/3 of its weights only ever multiply zero padding"))
      << w.message;
  EXPECT_TRUE(Contains(w.message, "Conv1D(8, 3, padding='same') for c")) << w.message;
}

TEST(Lint, TwoDPoolingOnASequenceSuggestsPooling1D) {
  Sequential m({L::Conv1D(8, 3, {.input_shape = {40, 2}}), L::Reshape({38, 1, 8}),
                L::AveragePooling2D({2, 1}, {.name = "avg"}), L::Flatten(), L::Dense(1)});
  const LintWarning w = Only(m);
  EXPECT_EQ(w.rule, "sequence-as-image");
  EXPECT_EQ(w.layer, "avg");
  // Not fed by the input directly: the fix reshapes inside the model.
  EXPECT_TRUE(Contains(w.message, "add Reshape({38, 8}) before avg")) << w.message;
  EXPECT_TRUE(Contains(w.message, "AveragePooling1D(2) for avg")) << w.message;
}

TEST(Lint, ConvOnOneByOneMapsAndImagesIsFine) {
  // 1x1 spatial maps (both axes 1) and ordinary images are not sequences.
  Sequential m({L::Conv2D(4, 3, {.input_shape = {3, 3, 2}}), L::Conv2D(4, 1), L::MaxPooling2D(1),
                L::Flatten(), L::Dense(1)});
  EXPECT_TRUE(LintOf(m).empty());
}

TEST(Lint, Conv1DWithMoreChannelsThanStepsSuggestsTransposing) {
  Sequential m({L::Conv1D(16, 3, {.padding = "same", .input_shape = {3, 100}, .name = "c1"}),
                L::Flatten(), L::Dense(1, {.activation = "sigmoid"})});
  const LintWarning w = Only(m);
  EXPECT_EQ(w.rule, "channels-first-sequence");
  EXPECT_EQ(w.layer, "c1");
  for (const char* part :
       {"c1 (Conv1D, layer 0)", "has 100 channels but only 3 steps", "transpose x to (N, 100, 3)",
        "x.transpose(0, 2, 1)", "Permute((2, 1))", "declare the input as (100, 3)"}) {
    EXPECT_TRUE(Contains(w.message, part)) << part << "\n" << w.message;
  }
}

TEST(Lint, DeepConv1DWithManyFiltersIsFine) {
  // Inner layers routinely have more filters than steps: only input-fed Conv1Ds are checked.
  // A Dropout between the input and the Conv1D does not hide it either.
  Sequential fine(
      {L::Conv1D(64, 3, {.input_shape = {20, 4}}), L::Conv1D(32, 3), L::Flatten(), L::Dense(1)});
  EXPECT_TRUE(LintOf(fine).empty());
  Sequential wrapped(
      {L::Dropout(0.1, {.input_shape = {4, 20}}), L::Conv1D(8, 3), L::Flatten(), L::Dense(1)});
  EXPECT_EQ(Only(wrapped).rule, "channels-first-sequence");
}

TEST(Lint, SigmoidWithCategoricalCrossentropy) {
  for (const char* loss : {"categorical_crossentropy", "sparse_categorical_crossentropy"}) {
    Sequential m({L::Dense(8, {.activation = "relu", .input_shape = {4}}),
                  L::Dense(5, {.activation = "sigmoid", .name = "out"})});
    ASSERT_TRUE(m.Compile({.optimizer = "adam", .loss = loss, .advise = false}).ok());
    const LintWarning w = Only(m);
    EXPECT_EQ(w.rule, "sigmoid-with-categorical") << loss;
    EXPECT_EQ(w.layer, "out");
    EXPECT_TRUE(Contains(w.message, "out (Dense, layer 1)")) << w.message;
    EXPECT_TRUE(Contains(w.message, "activation='softmax'")) << w.message;
    EXPECT_TRUE(Contains(w.message, "binary_crossentropy")) << w.message;
    EXPECT_TRUE(Contains(w.message, "multi-label")) << w.message;
  }
  // Sigmoid with binary_crossentropy (multi-label) is right.
  Sequential ok({L::Dense(5, {.activation = "sigmoid", .input_shape = {4}})});
  ASSERT_TRUE(
      ok.Compile({.optimizer = "adam", .loss = "binary_crossentropy", .advise = false}).ok());
  EXPECT_TRUE(LintOf(ok).empty());
}

TEST(Lint, OneUnitWithSparseCategoricalCrossentropy) {
  for (const char* loss : {"sparse_categorical_crossentropy", "categorical_crossentropy"}) {
    for (const char* activation : {"sigmoid", "softmax"}) {
      Sequential m({L::Dense(1, {.activation = activation, .input_shape = {4}, .name = "o"})});
      ASSERT_TRUE(m.Compile({.optimizer = "adam", .loss = loss, .advise = false}).ok());
      const LintWarning w = Only(m);  // softmax: this rule says it all (no second warning)
      EXPECT_EQ(w.rule, "single-unit-categorical") << loss << " " << activation;
      EXPECT_EQ(w.layer, "o");
      EXPECT_TRUE(Contains(w.message, "has 1 unit")) << w.message;
      EXPECT_TRUE(Contains(w.message, "the loss is always 0")) << w.message;
      EXPECT_TRUE(Contains(w.message,
                           "Dense(1, activation='sigmoid') with loss "
                           "binary_crossentropy"))
          << w.message;
      EXPECT_TRUE(Contains(w.message, "Dense(K, activation='softmax')")) << w.message;
    }
  }
}

TEST(Lint, SoftmaxOverOneUnit) {
  Sequential m({L::Dense(1, {.activation = "softmax", .input_shape = {4}, .name = "o"})});
  ASSERT_TRUE(
      m.Compile({.optimizer = "adam", .loss = "binary_crossentropy", .advise = false}).ok());
  const LintWarning w = Only(m);
  EXPECT_EQ(w.rule, "softmax-single-unit");
  EXPECT_TRUE(Contains(w.message, "always outputs 1.0")) << w.message;
  EXPECT_TRUE(Contains(w.message, "activation='sigmoid'")) << w.message;
}

TEST(Lint, FromLogitsOnAnActivatedOutput) {
  Sequential m({L::Dense(3, {.activation = "softmax", .input_shape = {4}, .name = "o"})});
  ASSERT_TRUE(m.Compile({.optimizer = "adam",
                         .loss = Loss{"categorical_crossentropy", {.from_logits = true}},
                         .advise = false})
                  .ok());
  const LintWarning w = Only(m);
  EXPECT_EQ(w.rule, "activation-with-logits");
  EXPECT_TRUE(Contains(w.message,
                       "`categorical_crossentropy` received `from_logits=True`, but "
                       "the output is produced by a Softmax activation"))
      << w.message;
}

TEST(Lint, BinaryCrossentropyTargetsOutsideZeroOne) {
  Sequential m({L::Dense(1, {.activation = "sigmoid", .input_shape = {4}, .name = "o"})});
  ASSERT_TRUE(
      m.Compile({.optimizer = "adam", .loss = "binary_crossentropy", .advise = false}).ok());
  const Tensor x = graft::testing::Random({12, 4}, 1, 0, 1);
  const Tensor y = Labels(12, 3);  // 0, 1, 2: class indices
  const LintWarning w = Only(m, {x}, {y});
  EXPECT_EQ(w.rule, "targets-out-of-range");
  EXPECT_EQ(w.layer, "o");
  for (const char* part : {"y (12 samples) range over [0, 2]",
                           "loss binary_crossentropy takes "
                           "targets in [0, 1]",
                           "Fit will refuse them", "class labels 0..2",
                           "Dense(3, activation='softmax') with loss "
                           "sparse_categorical_crossentropy"}) {
    EXPECT_TRUE(Contains(w.message, part)) << part << "\n" << w.message;
  }
  // As it says, Fit refuses them (an error from keras/validation.cc, not a warning).
  EXPECT_EQ(m.Fit(x, y, Quiet()).status().code(), absl::StatusCode::kInvalidArgument);
  // -1/+1 labels get their own hint.
  const Tensor pm = Fill({12, 1}, [](int64_t s, int64_t) { return s % 2 ? 1.0f : -1.0f; });
  EXPECT_TRUE(Contains(Only(m, {x}, {pm}).message, "y = (y + 1) / 2"));
}

TEST(Lint, RawPixelsSuggestRescaling) {
  Sequential m({L::Conv2D(4, 3, {.input_shape = {8, 8, 3}}), L::Flatten(),
                L::Dense(10, {.activation = "softmax"})});
  const Tensor x = Fill({16, 8, 8, 3}, [](int64_t s, int64_t i) {
    return static_cast<float>((s * 37 + i * 11) % 256);  // integers 0..255
  });
  const LintWarning w = Only(m, {x});
  EXPECT_EQ(w.rule, "input-scale");
  EXPECT_EQ(w.layer, "input_layer");
  EXPECT_TRUE(Contains(w.message, "x (16 samples) has range [0, 255]")) << w.message;
  EXPECT_TRUE(Contains(w.message, "raw 8-bit pixel values")) << w.message;
  EXPECT_TRUE(Contains(w.message, "Rescaling(1./255)")) << w.message;
}

TEST(Lint, ValuesInTheThousandsSuggestStandardising) {
  Sequential m({L::Dense(1, {.input_shape = {3}})});
  const Tensor x = Fill({10, 3}, [](int64_t s, int64_t i) {
    return 2000.0f + static_cast<float>(s * 3 + i);  // 2000 .. 2029: mean 2014.5, std 8.655
  });
  const LintWarning w = Only(m, {x});
  EXPECT_EQ(w.rule, "input-scale");
  EXPECT_TRUE(Contains(w.message, "x (10 samples) has range [2000, 2029], mean 201")) << w.message;
  EXPECT_TRUE(Contains(w.message, "x = (x - 201")) << w.message;
  EXPECT_TRUE(Contains(w.message, ") / 8.655")) << w.message;
  EXPECT_FALSE(Contains(w.message, "pixel")) << w.message;
  EXPECT_TRUE(Contains(w.message, "Normalization")) << w.message;
}

TEST(Lint, OneLargeFeatureIsNamed) {
  // Nineteen features in [0, 1] and one in the hundreds: that one is named, with its own
  // statistics (the whole sample's std is above 10 too, but the fix is per feature).
  Sequential m({L::Dense(1, {.input_shape = {20}})});
  const Tensor x = Fill({8, 20}, [](int64_t s, int64_t i) {
    return i == 7 ? 150.0f + static_cast<float>(s) : 0.05f * static_cast<float>(i % 10);
  });
  const LintWarning w = Only(m, {x});
  EXPECT_EQ(w.rule, "input-scale");
  EXPECT_TRUE(Contains(w.message, "1 of the 20 features (last axis) of x (8 samples) is far"))
      << w.message;
  EXPECT_TRUE(Contains(w.message, "feature 7: range [150, 157], mean 153.5")) << w.message;
}

TEST(Lint, DataScaledTwiceIsTooSmall) {
  Sequential m({L::Dense(1, {.input_shape = {4}})});
  const Tensor x = Fill({8, 4}, [](int64_t s, int64_t i) {
    return static_cast<float>((s * 4 + i) * 8) / 255.0f / 255.0f;  // pixels / 255 / 255
  });
  const LintWarning w = Only(m, {x});
  EXPECT_EQ(w.rule, "input-scale");
  EXPECT_TRUE(Contains(w.message, "divided by 255 twice")) << w.message;
}

// ---- the seed examples' correct models on data of their real scale: no warning ---------------

// No warning from Lint, none printed by Compile and Fit.
void ExpectSilent(Model& m, const Loss& loss, const Tensor& x, const Tensor& y) {
  const std::string printed = Stderr([&] {
    ASSERT_TRUE(m.Compile({.optimizer = "adam", .loss = loss}).ok());
    ASSERT_TRUE(m.Fit(x, y, Quiet()).ok());
  });
  EXPECT_EQ(printed, "") << m.name();
  for (const LintWarning& w : LintOf(m, {x}, {y})) ADD_FAILURE() << FormatLintWarning(w);
}

TEST(LintSeedModels, Conv1DOnSensorSeriesAndOneHotDna) {
  SetRandomSeed(1);
  // Example A on graft's sensor recordings (100 steps x 3 channels) ...
  const datasets::Split sensor = datasets::SensorFaults({.num_train = 16, .num_test = 0});
  auto seed_a = [](int64_t steps, Layer head) {
    return Sequential({L::Conv1D(32, 5, {.activation = "relu", .input_shape = {steps, 3}}),
                       L::MaxPooling1D(2), L::Flatten(), std::move(head)});
  };
  Sequential a = seed_a(100, L::Dense(1, {.activation = "sigmoid"}));
  ExpectSilent(a, "binary_crossentropy", sensor.x_train, sensor.y_train);
  // ... on standardised series (mean 0, std 1) ...
  Sequential a2 = seed_a(100, L::Dense(1, {.activation = "sigmoid"}));
  ExpectSilent(a2, "binary_crossentropy", graft::testing::Random({16, 100, 3}, 2, -1.7, 1.7),
               Binary(16));
  // ... and --dataset=dna: 60 positions x 3 indicator channels, 3 classes.
  const Tensor dna = Fill({16, 60, 3}, [](int64_t s, int64_t i) {
    const int64_t base = (s * 7 + (i / 3) * 13) % 4;  // A, C, G, T: T is all zeros
    return base == i % 3 ? 1.0f : 0.0f;
  });
  Sequential d = seed_a(60, L::Dense(3, {.activation = "softmax"}));
  ExpectSilent(d, "sparse_categorical_crossentropy", dna, Labels(16, 3));
}

TEST(LintSeedModels, Conv2DOnImages) {
  SetRandomSeed(2);
  // The seed's Conv2D model on 32x32x3 images scaled to [0, 1].
  Sequential b({L::Conv2D(32, {3, 3}, {.activation = "relu", .input_shape = {32, 32, 3}}),
                L::MaxPooling2D({2, 2}), L::Flatten(), L::Dense(10, {.activation = "softmax"})});
  const Tensor images = Fill({8, 32, 32, 3}, [](int64_t s, int64_t i) {
    return static_cast<float>((s * 31 + i * 7) % 256) / 255.0f;
  });
  ExpectSilent(b, "sparse_categorical_crossentropy", images, Labels(8, 10));
}

TEST(LintSeedModels, MnistConvnetOnRealMnist) {
  SetRandomSeed(3);
  absl::StatusOr<datasets::Split> mnist = datasets::LoadMnist("tests/data/mnist_subset");
  ASSERT_TRUE(mnist.ok()) << mnist.status();
  Sequential m({L::Conv2D(32, 3, {.activation = "relu", .input_shape = {28, 28, 1}}),
                L::MaxPooling2D(2), L::Conv2D(64, 3, {.activation = "relu"}), L::MaxPooling2D(2),
                L::Flatten(), L::Dropout(0.5), L::Dense(10, {.activation = "softmax"})});
  ExpectSilent(m, "sparse_categorical_crossentropy", mnist->x_train.SliceRows(0, 16),
               mnist->y_train.SliceRows(0, 16));
  // The whole subset (3,000 images), not only a batch.
  EXPECT_TRUE(LintOf(m, {mnist->x_train}, {mnist->y_train}).empty());
}

TEST(LintSeedModels, ResNetOnFashionMnistScale) {
  SetRandomSeed(4);
  Model resnet = examples::SmallResNet();
  // Fashion-MNIST's scale: pixel / 255, mostly dark background, mean about 0.29.
  const Tensor clothes = Fill({8, 28, 28, 1}, [](int64_t s, int64_t i) {
    const int64_t r = i / 28, c = i % 28;
    return (r > 3 && r < 25 && c > 5 + s % 3 && c < 22)
               ? static_cast<float>((i * 13) % 200 + 55) / 255.0f
               : 0.0f;
  });
  ExpectSilent(resnet, "sparse_categorical_crossentropy", clothes, Labels(8, 10));
}

// ---- when and how often it prints; the off switches; the list ---------------------------------

// A model with one structural problem (sigmoid + categorical_crossentropy) and data with one
// (raw pixels): one warning of each kind.
Sequential Flawed() {
  return Sequential({L::Dense(4, {.activation = "sigmoid", .input_shape = {6}, .name = "flawed"})});
}
Tensor Pixels(int64_t n) {
  return Fill({n, 6}, [](int64_t s, int64_t i) { return static_cast<float>((s * 6 + i) * 5); });
}
Tensor OneHot(int64_t n) {
  return Fill({n, 4}, [](int64_t s, int64_t i) { return s % 4 == i ? 1.0f : 0.0f; });
}

TEST(LintPrinting, StructureAtCompileDataAtFitEachOncePerModel) {
  Sequential m = Flawed();
  std::string printed = Stderr([&] {
    ASSERT_TRUE(m.Compile({.optimizer = "adam", .loss = "categorical_crossentropy"}).ok());
  });
  EXPECT_EQ(Count(printed,
                  "UserWarning (graft advisor, rule sigmoid-with-categorical): "
                  "flawed (Dense, layer 0)"),
            1)
      << printed;
  EXPECT_EQ(Count(printed, "input-scale"), 0) << printed;  // no data yet
  printed = Stderr([&] { ASSERT_TRUE(m.Fit(Pixels(16), OneHot(16), Quiet()).ok()); });
  EXPECT_EQ(Count(printed, "UserWarning (graft advisor, rule input-scale): input input_layer"), 1)
      << printed;
  EXPECT_EQ(Count(printed, "sigmoid-with-categorical"), 0) << printed;
  // Again: a second Compile, a second Fit: nothing new to say, nothing printed.
  printed = Stderr([&] {
    ASSERT_TRUE(m.Compile({.optimizer = "adam", .loss = "categorical_crossentropy"}).ok());
    ASSERT_TRUE(m.Fit(Pixels(16), OneHot(16), Quiet()).ok());
  });
  EXPECT_EQ(printed, "");
  // Lint still returns both, every time.
  std::vector<std::string> rules;
  for (const LintWarning& w : LintOf(m, {Pixels(4)}, {OneHot(4)})) rules.push_back(w.rule);
  EXPECT_EQ(rules, (std::vector<std::string>{"sigmoid-with-categorical", "input-scale"}));
}

TEST(LintPrinting, FitLooksAtTheFirstBatchOnly) {
  // Rows 0..7 are in [0, 1], the rest raw pixels: batch_size 8 sees no problem, 16 does.
  const Tensor x = Fill({16, 6}, [](int64_t s, int64_t i) {
    return s < 8 ? 0.1f * static_cast<float>(i) : static_cast<float>(200 + i);
  });
  Sequential m({L::Dense(4, {.activation = "softmax", .input_shape = {6}})});
  ASSERT_TRUE(m.Compile({.optimizer = "adam", .loss = "categorical_crossentropy"}).ok());
  EXPECT_EQ(Stderr([&] { ASSERT_TRUE(m.Fit(x, OneHot(16), Quiet(8)).ok()); }), "");
  const std::string printed = Stderr([&] { ASSERT_TRUE(m.Fit(x, OneHot(16), Quiet(16)).ok()); });
  EXPECT_TRUE(Contains(printed, "rule input-scale): input input_layer: x (16 samples)")) << printed;
}

TEST(LintPrinting, CompileOptionsAdviseFalseSilencesThisModel) {
  Sequential m = Flawed();
  const std::string printed = Stderr([&] {
    ASSERT_TRUE(
        m.Compile({.optimizer = "adam", .loss = "categorical_crossentropy", .advise = false}).ok());
    ASSERT_TRUE(m.Fit(Pixels(16), OneHot(16), Quiet()).ok());
  });
  EXPECT_EQ(printed, "");
  EXPECT_EQ(LintOf(m, {Pixels(4)}).size(), 2u);  // Lint is not affected
}

TEST(LintPrinting, EnvironmentSwitchSilencesTheProcess) {
  for (const char* off : {"0", "off", "FALSE"}) {
    ASSERT_EQ(setenv("GRAFT_ADVISOR", off, 1), 0);
    EXPECT_FALSE(AdvisorEnabledByEnvironment()) << off;
    Sequential m = Flawed();
    const std::string printed = Stderr([&] {
      ASSERT_TRUE(m.Compile({.optimizer = "adam", .loss = "categorical_crossentropy"}).ok());
      ASSERT_TRUE(m.Fit(Pixels(16), OneHot(16), Quiet()).ok());
    });
    EXPECT_EQ(printed, "") << off;
    EXPECT_EQ(LintOf(m, {Pixels(4)}).size(), 2u);
  }
  ASSERT_EQ(setenv("GRAFT_ADVISOR", "1", 1), 0);
  EXPECT_TRUE(AdvisorEnabledByEnvironment());
  ASSERT_EQ(unsetenv("GRAFT_ADVISOR"), 0);
  EXPECT_TRUE(AdvisorEnabledByEnvironment());
}

TEST(LintList, FieldsAndErrors) {
  Sequential m = Flawed();
  // Before Compile: the shape rules and x only; y needs the loss.
  EXPECT_TRUE(LintOf(m).empty());
  absl::StatusOr<std::vector<LintWarning>> w = m.Lint(Pixels(4), OneHot(4));
  EXPECT_EQ(w.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Contains(w.status().message(), "call Compile() first")) << w.status();
  ASSERT_TRUE(
      m.Compile({.optimizer = "adam", .loss = "categorical_crossentropy", .advise = false}).ok());
  w = m.Lint(Pixels(4));
  ASSERT_TRUE(w.ok()) << w.status();
  ASSERT_EQ(w->size(), 2u);
  EXPECT_EQ((*w)[0].layer, "flawed");
  EXPECT_EQ((*w)[0].rule, "sigmoid-with-categorical");
  EXPECT_TRUE(Contains((*w)[0].message, "flawed (Dense, layer 0): ")) << (*w)[0].message;
  EXPECT_EQ(FormatLintWarning((*w)[0]),
            "UserWarning (graft advisor, rule sigmoid-with-categorical): " + (*w)[0].message);
  EXPECT_EQ((*w)[1].layer, "input_layer");
  EXPECT_EQ((*w)[1].rule, "input-scale");
  // Counts that do not match the model are errors, naming both counts.
  w = m.Lint(std::vector<Tensor>{Pixels(4), Pixels(4)});
  EXPECT_EQ(w.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(w.status().message(), "got 2 input arrays")) << w.status();
  w = m.Lint({Pixels(4)}, {OneHot(4), OneHot(4)});
  EXPECT_EQ(w.status().code(), absl::StatusCode::kInvalidArgument);
  // Odd data is skipped, not a crash: empty arrays, NaN, integer dtypes.
  Tensor nan = Pixels(2);
  nan.data<float>()[0] = std::nanf("");
  EXPECT_TRUE(m.Lint({Tensor()}, {Tensor()}).ok());
  EXPECT_TRUE(m.Lint(nan).ok());
  // A model that cannot be built reports why.
  Sequential broken({L::Conv2D(8, 3, {.input_shape = {100, 1, 1}})});
  EXPECT_EQ(broken.Lint().status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace graft::keras
