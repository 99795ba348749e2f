// Mistakes people make with the Keras API, fed to graft's public entry points (issue 11,
// "Hardening"). Each row asserts the status code and that the message names the argument, the
// expected and the actual value; rows that Keras accepts assert that graft accepts them too.
// Below the table: the regressions that need more than a status (weights untouched after a bad
// label in a late batch, TerminateOnNaN, a failed re-Compile).
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "keras/keras.h"
#include "optim/optimizer.h"
#include "tests/testing.h"

namespace graft::keras {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

std::string Tmp(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return absl::StrCat(dir ? dir : "/tmp", "/", name);
}

FitOptions Quiet(FitOptions o = {}) {
  o.verbose = 0;
  return o;
}

Tensor X(int64_t n, int64_t features = 4, uint64_t seed = 1) {
  return testing::Random({n, features}, seed, 0, 1);
}

// Labels 0, 1, 2, 0, ... with `bad` written at `at` (when at >= 0).
Tensor Labels(int64_t n, int64_t at = -1, float bad = 0) {
  std::vector<float> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = static_cast<float>(i % 3);
  if (at >= 0) v[at] = bad;
  return Tensor::FromVector<float>({n}, v);
}

// Dense(8, relu) on 4 features -> Dense(units) named "out".
Sequential Mlp(int64_t units = 3, const std::string& activation = "softmax") {
  return Sequential({layers::Dense(8, {.activation = "relu", .input_shape = {4}}),
                     layers::Dense(units, {.activation = activation, .name = "out"})});
}

// The sparse classifier, compiled.
Sequential Classifier() {
  Sequential m = Mlp();
  absl::Status s = m.Compile({.optimizer = "adam", .loss = "sparse_categorical_crossentropy",
                              .metrics = {"accuracy"}});
  EXPECT_TRUE(s.ok()) << s;
  return m;
}

// One linear Dense(1) on 4 features, SGD and mse: nothing to hide a NaN or an overflow.
Sequential Linear() {
  Sequential m({layers::Dense(1, {.input_shape = {4}, .name = "out"})});
  EXPECT_TRUE(m.Compile({.optimizer = "sgd", .loss = "mse"}).ok());
  return m;
}

Sequential Regressor() {
  Sequential m = Mlp(1, "");
  EXPECT_TRUE(m.Compile({.optimizer = "sgd", .loss = "mse"}).ok());
  return m;
}

// Functional: two inputs (4) and (2), two outputs "a" (3 softmax) and "b" (1 sigmoid).
Model TwoByTwo() {
  KerasTensor in1 = Input({4}, {.name = "in1"});
  KerasTensor in2 = Input({2}, {.name = "in2"});
  KerasTensor h = layers::Concatenate()({layers::Dense(4)(in1), layers::Dense(4)(in2)});
  KerasTensor a = layers::Dense(3, {.activation = "softmax", .name = "a"})(h);
  KerasTensor b = layers::Dense(1, {.activation = "sigmoid", .name = "b"})(h);
  return Model({in1, in2}, {a, b});
}

absl::Status CompileSparse(Model& m) {
  return m.Compile({.optimizer = "adam", .loss = "sparse_categorical_crossentropy"});
}

// Compile of a one-layer Sequential made of `layer` on `input_shape`.
absl::Status CompileLayer(Layer first, Layer rest = nullptr) {
  std::vector<Layer> ls = {std::move(first)};
  if (rest) ls.push_back(std::move(rest));
  Sequential m(ls);
  return m.Compile({.optimizer = "sgd", .loss = "mse"});
}

struct Mistake {
  std::string name;
  std::function<absl::Status()> run;
  absl::StatusCode code;
  std::vector<std::string> contains;  // the argument, the expected and the actual value
};

const std::vector<Mistake>& Mistakes() {
  using C = absl::StatusCode;
  static const auto* rows = new std::vector<Mistake>{
      // ---- x: rank, shape, dtype, emptiness ----
      {"x of the wrong rank",
       [] { return Classifier().Fit(testing::Random({10, 4, 1}, 1), Labels(10), Quiet()).status(); },
       C::kInvalidArgument, {"input x", "(None, 4)", "(10, 4, 1)"}},
      {"x with the wrong feature count",
       [] { return Classifier().Fit(X(10, 5), Labels(10), Quiet()).status(); },
       C::kInvalidArgument, {"input x", "expects (None, 4)", "(10, 5)"}},
      {"x of int64 is cast, as Keras casts",
       [] {
         return Classifier()
             .Fit(Tensor::FromVector<int64_t>({2, 4}, {0, 1, 2, 3, 4, 5, 6, 7}),
                  Labels(2), Quiet())
             .status();
       },
       C::kOk, {}},
      {"Fit on x with 0 samples",
       [] { return Classifier().Fit(Tensor(DType::kF32, {0, 4}), Labels(0), Quiet()).status(); },
       C::kInvalidArgument, {"x has 0 samples", "(0, 4)", "at least 1 sample of shape (None, 4)"}},
      {"Fit on a default-constructed (empty) x",
       [] { return Classifier().Fit(Tensor(), Labels(3), Quiet()).status(); },
       C::kInvalidArgument, {"x is empty", "expected an array of shape (None, 4)"}},
      {"Evaluate on 0 samples",
       [] { return Classifier().Evaluate(Tensor(DType::kF32, {0, 4}), Labels(0)).status(); },
       C::kInvalidArgument, {"Evaluate", "x has 0 samples", "(0, 4)", "at least 1"}},
      {"Predict on 0 samples",
       [] { return Classifier().Predict(Tensor(DType::kF32, {0, 4})).status(); },
       C::kInvalidArgument, {"Predict", "x has 0 samples", "(0, 4)", "at least 1"}},
      {"x and y of different lengths",
       [] { return Classifier().Fit(X(10), Labels(9), Quiet()).status(); },
       C::kInvalidArgument, {"x has 10 samples", "y has 9", "one target per sample"}},
      {"Evaluate with x and y of different lengths",
       [] { return Classifier().Evaluate(X(10), Labels(7)).status(); },
       C::kInvalidArgument, {"x has 10 samples", "y has 7"}},
      // ---- batch_size, epochs, validation_split ----
      {"batch_size 0",
       [] { return Classifier().Fit(X(10), Labels(10), Quiet({.batch_size = 0})).status(); },
       C::kInvalidArgument, {"batch_size", "positive", "batch_size=0"}},
      {"batch_size negative",
       [] { return Classifier().Fit(X(10), Labels(10), Quiet({.batch_size = -5})).status(); },
       C::kInvalidArgument, {"batch_size", "positive", "batch_size=-5"}},
      {"Evaluate batch_size 0",
       [] { return Classifier().Evaluate(X(10), Labels(10), {.batch_size = 0}).status(); },
       C::kInvalidArgument, {"Evaluate", "batch_size", "positive", "batch_size=0"}},
      {"Predict batch_size negative",
       [] { return Classifier().Predict(X(10), {.batch_size = -1}).status(); },
       C::kInvalidArgument, {"Predict", "batch_size", "positive", "batch_size=-1"}},
      {"batch_size larger than the data (Keras: one short batch)",
       [] { return Classifier().Fit(X(10), Labels(10), Quiet({.batch_size = 1000})).status(); },
       C::kOk, {}},
      {"Evaluate batch_size larger than the data",
       [] { return Classifier().Evaluate(X(10), Labels(10), {.batch_size = 1000}).status(); },
       C::kOk, {}},
      {"epochs negative",
       [] { return Classifier().Fit(X(10), Labels(10), Quiet({.epochs = -1})).status(); },
       C::kInvalidArgument, {"epochs", "non-negative", "epochs=-1"}},
      {"validation_split 1.0",
       [] {
         return Classifier().Fit(X(10), Labels(10), Quiet({.validation_split = 1.0})).status();
       },
       C::kInvalidArgument, {"validation_split", "[0, 1)", "validation_split=1"}},
      {"validation_split -0.5",
       [] {
         return Classifier().Fit(X(10), Labels(10), Quiet({.validation_split = -0.5})).status();
       },
       C::kInvalidArgument, {"validation_split", "[0, 1)", "validation_split=-0.5"}},
      {"validation_split NaN",
       [] {
         return Classifier()
             .Fit(X(10), Labels(10), Quiet({.validation_split = std::nan("")}))
             .status();
       },
       C::kInvalidArgument, {"validation_split", "[0, 1)", "validation_split=nan"}},
      {"validation_split leaving no training sample",
       [] {
         return Classifier().Fit(X(10), Labels(10), Quiet({.validation_split = 0.95})).status();
       },
       C::kInvalidArgument, {"validation_split=0.95", "(0 training and 10 validation", "at least 1 of each"}},
      // ---- labels and targets ----
      {"sparse label out of range",
       [] { return Classifier().Fit(X(10), Labels(10, 7, 3), Quiet()).status(); },
       C::kInvalidArgument, {"y[7] = 3", "3-unit output 'out'", "expected an integer in 0..2"}},
      {"sparse label negative",
       [] { return Classifier().Fit(X(10), Labels(10, 2, -1), Quiet()).status(); },
       C::kInvalidArgument, {"y[2] = -1", "3-unit output 'out'", "0..2"}},
      {"sparse label not an integer",
       [] { return Classifier().Fit(X(10), Labels(10, 4, 1.5f), Quiet()).status(); },
       C::kInvalidArgument, {"y[4] = 1.5", "expected an integer in 0..2", "categorical_crossentropy"}},
      {"sparse label in the held-out part of validation_split names its original index",
       [] {
         return Classifier()
             .Fit(X(10), Labels(10, 9, 7), Quiet({.validation_split = 0.2}))
             .status();
       },
       C::kInvalidArgument, {"y[9] = 7", "0..2"}},
      {"sparse label of validation_data",
       [] {
         return Classifier()
             .Fit(X(10), Labels(10), Quiet({.validation_data = std::pair{X(4), Labels(4, 1, 5)}}))
             .status();
       },
       C::kInvalidArgument, {"Fit (validation_data)", "y[1] = 5", "0..2"}},
      {"sparse label out of range in Evaluate",
       [] { return Classifier().Evaluate(X(10), Labels(10, 8, 9)).status(); },
       C::kInvalidArgument, {"Evaluate", "y[8] = 9", "0..2"}},
      {"one-hot targets with the sparse loss",
       [] { return Classifier().Fit(X(4), Tensor(DType::kF32, {4, 3}), Quiet()).status(); },
       C::kInvalidArgument, {"y has shape (4, 3)", "expects targets of shape (None,)",
                             "categorical_crossentropy"}},
      {"integer labels with categorical_crossentropy",
       [] {
         Sequential m = Mlp();
         if (absl::Status s = m.Compile({.loss = "categorical_crossentropy"}); !s.ok()) return s;
         return m.Fit(X(6), Labels(6), Quiet()).status();
       },
       C::kInvalidArgument, {"y has shape (6,)", "expects targets of shape (None, 3)",
                             "sparse_categorical_crossentropy"}},
      {"binary label 2 with binary_crossentropy",
       [] {
         Sequential m = Mlp(1, "sigmoid");
         if (absl::Status s = m.Compile({.loss = "binary_crossentropy"}); !s.ok()) return s;
         return m.Fit(X(6), Tensor::FromVector<float>({6}, {0, 1, 1, 2, 0, 1}), Quiet()).status();
       },
       C::kInvalidArgument, {"y[3, 0] = 2", "binary_crossentropy", "expected a value in [0, 1]"}},
      {"NaN target with mse",
       [] { return Regressor().Fit(X(6), Labels(6, 5, kNaN), Quiet()).status(); },
       C::kInvalidArgument, {"y[5, 0] = nan", "not finite", "expected finite"}},
      // ---- non-finite inputs (check_finite) ----
      {"NaN in x",
       [] {
         Tensor x = X(6);
         x.data<float>()[3 * 4 + 2] = kNaN;
         return Classifier().Fit(x, Labels(6), Quiet()).status();
       },
       C::kInvalidArgument, {"x[3, 2] = nan", "sample 3, feature 2", "expected finite values"}},
      {"Inf in validation_data x",
       [] {
         Tensor xv = X(4);
         xv.data<float>()[1 * 4 + 0] = -kInf;
         return Classifier()
             .Fit(X(6), Labels(6), Quiet({.validation_data = std::pair{xv, Labels(4)}}))
             .status();
       },
       C::kInvalidArgument, {"Fit (validation_data)", "x[1, 0] = -inf", "sample 1, feature 0"}},
      {"check_finite = false trains on NaN x",
       [] {
         Tensor x = X(6);
         x.data<float>()[0] = kNaN;
         // The loss is NaN at once: TerminateOnNaN stops it (ABORTED), not the input check.
         return Linear().Fit(x, Labels(6), Quiet({.check_finite = false})).status();
       },
       C::kAborted, {"loss became nan", "epoch 1, step 1", "Last finite loss: none"}},
      // ---- order of calls, Compile ----
      {"Predict before Compile (Keras allows it)",
       [] { return Mlp().Predict(X(5)).status(); }, C::kOk, {}},
      {"Fit before Compile",
       [] { return Mlp().Fit(X(5), Labels(5), Quiet()).status(); },
       C::kFailedPrecondition, {"Fit", "not compiled", "call Compile() before Fit()"}},
      {"Evaluate before Compile",
       [] { return Mlp().Evaluate(X(5), Labels(5)).status(); },
       C::kFailedPrecondition, {"Evaluate", "not compiled", "call Compile() before Evaluate()"}},
      {"Fit after a failed re-Compile",
       [] {
         Sequential m = Classifier();
         if (m.Compile({.loss = "msee"}).ok()) return absl::InternalError("Compile passed");
         return m.Fit(X(5), Labels(5), Quiet()).status();
       },
       C::kFailedPrecondition, {"last Compile() failed", "unknown loss \"msee\"",
                                "call Compile() again before Fit()"}},
      {"Evaluate after a failed Compile",
       [] {
         Sequential m = Mlp();
         if (m.Compile({.loss = "mse", .metrics = {"accuarcy"}}).ok()) {
           return absl::InternalError("Compile passed");
         }
         return m.Evaluate(X(5), Labels(5)).status();
       },
       C::kFailedPrecondition, {"last Compile() failed", "unknown metric \"accuarcy\""}},
      {"unknown loss name",
       [] { return Mlp().Compile({.loss = "msee"}); },
       C::kInvalidArgument, {"unknown loss \"msee\"", "graft knows", "mean_squared_error"}},
      {"unknown optimizer name",
       [] { return Mlp().Compile({.optimizer = "adamm", .loss = "mse"}); },
       C::kInvalidArgument, {"optimizer", "adamm", "adam"}},
      {"unknown metric name",
       [] { return Mlp().Compile({.loss = "mse", .metrics = {"accuarcy"}}); },
       C::kInvalidArgument, {"unknown metric \"accuarcy\"", "graft knows", "accuracy"}},
      {"no loss",
       [] { return Mlp().Compile({.optimizer = "adam"}); },
       C::kInvalidArgument, {"loss", "graft knows", "mean_squared_error"}},
      {"sparse loss on a rank-3 output",
       [] {
         Sequential m({layers::Dense(3, {.input_shape = {5, 4}})});
         return m.Compile({.loss = "sparse_categorical_crossentropy"});
       },
       C::kInvalidArgument, {"sparse_categorical_crossentropy", "(batch, classes)",
                             "(None, 5, 3)"}},
      // ---- weights ----
      {"SetWeights with the wrong count",
       [] { return Mlp().SetWeights({Tensor(DType::kF32, {4, 8})}); },
       C::kInvalidArgument, {"SetWeights", "got 1 tensors", "has 4 weights", "expected 4"}},
      {"SetWeights with a wrong shape",
       [] {
         Sequential m = Mlp();
         if (absl::Status s = m.Build(); !s.ok()) return s;
         std::vector<Tensor> w = m.GetWeights();
         w[0] = Tensor(DType::kF32, {3, 8});
         return m.SetWeights(w);
       },
       C::kInvalidArgument, {"SetWeights", "weight kernel", "expects float32(4, 8)", "got float32(3, 8)"}},
      {"LoadWeights of a missing file",
       [] { return Mlp().LoadWeights(Tmp("no_such_file.safetensors")); },
       C::kNotFound, {"LoadWeights", "no_such_file.safetensors"}},
      {"LoadWeights of a file that is not safetensors",
       [] {
         const std::string path = Tmp("not_weights.txt");
         std::ofstream(path) << "hello, this is not a weights file\n";
         return Mlp().LoadWeights(path);
       },
       C::kDataLoss, {"LoadWeights", "not_weights.txt", "the header length says",
                      "at most 100000000 bytes", "not a safetensors file"}},
      {"LoadWeights of another architecture's weights",
       [] {
         const std::string path = Tmp("other_arch.safetensors");
         if (absl::Status s = Mlp(5).SaveWeights(path); !s.ok()) return s;
         return Mlp(3).LoadWeights(path);
       },
       C::kInvalidArgument, {"LoadWeights", "out/kernel", "expects float32(8, 3)", "is float32(8, 5)"}},
      // ---- functional models: inputs and outputs ----
      {"one x for a model of two inputs",
       [] {
         Model m = TwoByTwo();
         if (absl::Status s = CompileSparse(m); !s.ok()) return s;
         return m.Fit({X(4)}, {Labels(4), Labels(4)}, Quiet()).status();
       },
       C::kInvalidArgument, {"got 1 input arrays", "has 2 inputs"}},
      {"one y for a model of two outputs",
       [] {
         Model m = TwoByTwo();
         if (absl::Status s = CompileSparse(m); !s.ok()) {
           return absl::InternalError(std::string(s.message()));
         }
         return m.Evaluate({X(4), X(4, 2)}, {Labels(4)}).status();
       },
       C::kInvalidArgument, {"got 1 target arrays", "has 2 outputs"}},
      {"Predict(Tensor) on a model of two outputs",
       [] { return TwoByTwo().Predict(X(4)).status(); },
       C::kInvalidArgument, {"has 2 outputs", "list of inputs"}},
      {"losses with the wrong count",
       [] { return TwoByTwo().Compile({.losses = {"mse"}}); },
       C::kInvalidArgument, {"losses has 1 entries", "has 2 outputs", "one loss per output"}},
      {"second input of the wrong shape",
       [] { return TwoByTwo().Predict({X(4), X(4, 3)}).status(); },
       C::kInvalidArgument, {"x[1]", "expects (None, 2)", "(4, 3)"}},
      // ---- layer options out of range (at Compile, naming the layer) ----
      {"Conv2D filters 0",
       [] { return CompileLayer(layers::Conv2D(0, 3, {.input_shape = {8, 8, 1}})); },
       C::kInvalidArgument, {"Conv2D", "filters", "strictly positive", "filters=0"}},
      {"Conv1D negative kernel_size",
       [] { return CompileLayer(layers::Conv1D(4, -3, {.input_shape = {10, 1}})); },
       C::kInvalidArgument, {"Conv1D", "kernel_size", "positive", "Received kernel_size=", "-3"}},
      {"Conv2D strides 0",
       [] {
         return CompileLayer(layers::Conv2D(4, 3, {.strides = 0, .input_shape = {8, 8, 1}}));
       },
       C::kInvalidArgument, {"Conv2D", "strides", "positive", "strides=(0, 0)"}},
      {"Dropout rate 1.5",
       [] {
         return CompileLayer(layers::Dense(4, {.input_shape = {4}}), layers::Dropout(1.5));
       },
       C::kInvalidArgument, {"Dropout", "rate", "between 0 and 1", "rate=1.5"}},
      {"Dense units 0",
       [] { return CompileLayer(layers::Dense(0, {.input_shape = {4}})); },
       C::kInvalidArgument, {"Dense", "units", "positive integer", "units=0"}},
      {"MaxPooling2D pool_size 0",
       [] {
         return CompileLayer(layers::Conv2D(4, 3, {.input_shape = {8, 8, 1}}),
                             layers::MaxPooling2D(0));
       },
       C::kInvalidArgument, {"MaxPooling2D", "pool_size", "positive", "pool_size=(0, 0)"}},
      {"padding misspelt",
       [] {
         return CompileLayer(layers::Conv2D(4, 3, {.padding = "vaild", .input_shape = {8, 8, 1}}));
       },
       C::kInvalidArgument, {"padding", "\"valid\"", "vaild"}},
      {"activation misspelt",
       [] { return CompileLayer(layers::Dense(4, {.activation = "rellu", .input_shape = {4}})); },
       C::kInvalidArgument, {"activation", "rellu", "relu"}},
      {"input_shape with a 0",
       [] { return CompileLayer(layers::Dense(4, {.input_shape = {0, 4}})); },
       C::kInvalidArgument, {"input_shape of the first layer", "positive", "(0, 4)"}},
      {"Sequential without input_shape",
       [] { return CompileLayer(layers::Dense(4)); },
       C::kFailedPrecondition, {"needs input_shape", "input_shape = {100, 3}"}},
      {"Conv2D 3x3 on (100, 1, 1) fails at Compile",
       [] { return CompileLayer(layers::Conv2D(32, 3, {.input_shape = {100, 1, 1}})); },
       C::kInvalidArgument, {"Conv2D, layer 0", "output width would be -1", "(None, 100, 1, 1)",
                             "use Conv1D(32, 3)"}},
      {"Conv1D on rank-2 input",
       [] { return CompileLayer(layers::Conv1D(4, 3, {.input_shape = {100}})); },
       C::kInvalidArgument, {"Conv1D", "(None, 100)", "3"}},
      // ---- memory ----
      {"Dense(1 << 20) after a Flatten of a million features",
       [] {
         return CompileLayer(layers::Flatten({.input_shape = {1000, 1000}}),
                             layers::Dense(int64_t{1} << 20));
       },
       C::kResourceExhausted, {"Dense", "weight kernel of shape (1000000, 1048576)",
                               "4194304000000 bytes", "more than this machine's memory"}},
      {"Predict whose activations exceed memory",
       [] {
         Sequential m({layers::UpSampling2D(Size2(1000, 1000), {.input_shape = {1000, 1000, 1}})});
         return m.Predict(Tensor(DType::kF32, {1, 1000, 1000, 1})).status();
       },
       C::kResourceExhausted, {"Predict", "(1, 1000000, 1000000, 1)", "4000000000000 bytes",
                               "more than this machine's memory"}},
  };
  return *rows;
}

class MistakesTest : public ::testing::TestWithParam<size_t> {
 protected:
  void SetUp() override {
    SetNumThreads(1);
    SetAdaptiveThreads(false);
    SetRandomSeed(5);
  }
  void TearDown() override { SetAdaptiveThreads(true); }
};

TEST_P(MistakesTest, StatusAndMessage) {
  const Mistake& m = Mistakes()[GetParam()];
  SCOPED_TRACE(m.name);
  const absl::Status s = m.run();
  EXPECT_EQ(s.code(), m.code) << s;
  for (const std::string& part : m.contains) {
    EXPECT_NE(s.message().find(part), absl::string_view::npos)
        << "message lacks \"" << part << "\": " << s.message();
  }
}

INSTANTIATE_TEST_SUITE_P(Table, MistakesTest, ::testing::Range<size_t>(0, Mistakes().size()),
                         [](const ::testing::TestParamInfo<size_t>& info) {
                           std::string n = Mistakes()[info.param].name;
                           for (char& ch : n) {
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           }
                           return absl::StrCat(info.param, "_", n);
                         });

TEST(MistakesTableTest, HasAtLeastFortyRows) { EXPECT_GE(Mistakes().size(), 40u); }

// ---- regressions beyond a status ----------------------------------------------------------

class HardeningTest : public MistakesTest {};

// A bad label in the last batch used to fail after two optimizer steps had moved the weights,
// naming the row of the shuffled batch. Now nothing moves, and the index is the sample's.
TEST_F(HardeningTest, BadLabelInALateBatchLeavesWeightsUntouched) {
  Sequential m = Classifier();
  const std::vector<Tensor> before = m.GetWeights();
  absl::StatusOr<History> h = m.Fit(X(48), Labels(48, 40, 3), Quiet({.batch_size = 16}));
  ASSERT_FALSE(h.ok());
  EXPECT_NE(h.status().message().find("y[40] = 3"), absl::string_view::npos) << h.status();
  const std::vector<Tensor> after = m.GetWeights();
  ASSERT_EQ(before.size(), after.size());
  for (size_t i = 0; i < before.size(); ++i) {
    EXPECT_TRUE(testing::AllClose(after[i], before[i], 0, 0)) << "weight " << i << " moved";
  }
}

// TerminateOnNaN: the loss overflows on the second step; Fit stops with the step and the last
// finite loss.
TEST_F(HardeningTest, LossBecomingNonFiniteStopsTraining) {
  Sequential m = Linear();
  Tensor x = X(64);
  for (int64_t i = 0; i < x.num_elements(); ++i) x.data<float>()[i] *= 1e15f;
  absl::StatusOr<History> h = m.Fit(x, Labels(64), Quiet({.batch_size = 8, .epochs = 3}));
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.status().code(), absl::StatusCode::kAborted) << h.status();
  const std::string msg(h.status().message());
  EXPECT_NE(msg.find("TerminateOnNaN"), std::string::npos) << msg;
  EXPECT_NE(msg.find("epoch 1, step "), std::string::npos) << msg;
  EXPECT_NE(msg.find("Last finite loss: "), std::string::npos) << msg;
}

// A failed re-Compile forgets the previous configuration; a good Compile afterwards works.
TEST_F(HardeningTest, FailedCompileThenGoodCompileTrains) {
  Sequential m = Classifier();
  ASSERT_TRUE(m.Fit(X(12), Labels(12), Quiet()).ok());
  EXPECT_FALSE(m.Compile({.optimizer = "nope", .loss = "mse"}).ok());
  EXPECT_EQ(m.Fit(X(12), Labels(12), Quiet()).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(m.Predict(X(3)).ok());  // forward-only, as before any Compile
  ASSERT_TRUE(CompileSparse(m).ok());
  absl::StatusOr<History> h = m.Fit(X(12), Labels(12), Quiet());
  EXPECT_TRUE(h.ok()) << h.status();
}

// PlanReport shows the planned peak of a train step without running one.
TEST_F(HardeningTest, PlanReportShowsPlannedPeakBytes) {
  Sequential m = Classifier();
  absl::StatusOr<std::string> r = m.PlanReport(32);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_NE(r->find("planned peak (arena) bytes: "), std::string::npos) << *r;
}

}  // namespace
}  // namespace graft::keras
