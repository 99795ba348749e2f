// Regressions found by //tests/fuzz:model_builder_fuzzer (issue 11, "Hardening"): each test is
// the smallest model configuration that crashed or hit undefined behaviour, and asserts the
// Status (or the result) that graft gives now.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "keras/keras.h"

namespace graft::keras {
namespace {

constexpr int64_t kMaxInt64 = std::numeric_limits<int64_t>::max();

// A value of kMaxInt64 - 1 floats per sample: sizing Predict's chunk (internal::PredictChunk)
// multiplied the per-sample bytes without an overflow check (UBSan: signed overflow, found by
// the model builder fuzzer after Predict learnt to run in chunks).
TEST(FuzzRegressions, HugeSampleDoesNotOverflowPredictChunk) {
  KerasTensor in = Input({kMaxInt64 - 1}, {.name = "x"});
  Model model({in}, {in});
  absl::Status s = model.Compile({.optimizer = "sgd", .loss = "mse"});
  (void)s;  // compiled or a clear error; never undefined behaviour
  SUCCEED();
}

// A model whose output is its input (no layer): Compile named the output through its layer,
// which an Input does not have (a null dereference). Keras accepts Model(inp, inp).
TEST(FuzzRegressions, IdentityModelCompiles) {
  KerasTensor in = Input({3}, {.name = "x"});
  Model model({in}, {in});
  ASSERT_TRUE(model.Build().ok()) << model.Build();
  absl::Status s = model.Compile({.optimizer = "sgd", .loss = "mse"});
  // No layer, so no weight: either compiled or a clear error; never a crash.
  if (s.ok()) {
    Tensor x = Tensor::FromVector<float>({2, 3}, {1, 2, 3, 4, 5, 6});
    absl::StatusOr<Tensor> y = model.Predict(x);
    ASSERT_TRUE(y.ok()) << y.status();
    EXPECT_EQ(y->shape(), x.shape());
  }
}

// Two outputs, one of them the input itself: the per-output log names use the input's name.
TEST(FuzzRegressions, InputAsOneOfTwoOutputsCompiles) {
  KerasTensor in = Input({2}, {.name = "x"});
  KerasTensor d = layers::Dense(2, {.name = "d"})(in);
  Model model({in}, {d, in});
  absl::Status s = model.Compile({.optimizer = "sgd", .loss = "mse"});
  ASSERT_TRUE(s.ok()) << s;
  const std::vector<std::string> names = model.metrics_names();
  EXPECT_NE(std::find(names.begin(), names.end(), "x_loss"), names.end());
}

Sequential SmallMlp() {
  Sequential m({layers::Dense(2, {.input_shape = {3}})});
  absl::Status s = m.Compile({.optimizer = "sgd", .loss = "mse"});
  EXPECT_TRUE(s.ok()) << s;
  return m;
}

// A batch_size near INT64_MAX overflowed (n + batch_size - 1) when counting steps: it is one
// batch of all the samples, as any batch_size larger than the data.
TEST(FuzzRegressions, HugeBatchSizeFitIsOneStep) {
  Sequential m = SmallMlp();
  Tensor x(DType::kF32, Shape{6, 3}), y(DType::kF32, Shape{6, 2});
  absl::StatusOr<History> h = m.Fit(x, y, {.batch_size = kMaxInt64, .verbose = 0});
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->history.at("loss").size(), 1u);
}

TEST(FuzzRegressions, HugeBatchSizeEvaluateAndPredict) {
  Sequential m = SmallMlp();
  Tensor x(DType::kF32, Shape{6, 3}), y(DType::kF32, Shape{6, 2});
  std::ostringstream out;
  absl::StatusOr<std::vector<double>> e =
      m.Evaluate(x, y, {.batch_size = kMaxInt64, .verbose = 1, .output = &out});
  ASSERT_TRUE(e.ok()) << e.status();
  absl::StatusOr<Tensor> p = m.Predict(x, {.batch_size = kMaxInt64});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->shape(), (Shape{6, 2}));
}

// Builds `layer` on an input of `shape` in a Sequential and returns Build's status.
absl::Status BuildOn(Layer layer, std::vector<int64_t> shape) {
  KerasTensor in = Input(std::move(shape));
  Model model({in}, {layer(in)});
  return model.Build();
}

void ExpectInvalid(const absl::Status& s, const std::string& part) {
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_NE(std::string(s.message()).find(part), std::string::npos) << s;
}

// Shape inference multiplied / added the sizes of UpSampling and ZeroPadding without checking
// for overflow (signed overflow, undefined behaviour), and Cropping subtracted past -2^63.
TEST(FuzzRegressions, UpSamplingOverflowIsAnError) {
  ExpectInvalid(BuildOn(layers::UpSampling1D(kMaxInt64), {8, 2}), "larger than the largest size");
  ExpectInvalid(BuildOn(layers::UpSampling2D({2, kMaxInt64}), {3, 3, 1}),
                "width axis larger than the largest size");
}

TEST(FuzzRegressions, ZeroPaddingOverflowIsAnError) {
  ExpectInvalid(BuildOn(layers::ZeroPadding1D(Border(kMaxInt64, kMaxInt64)), {4, 2}),
                "larger than the largest size");
  ExpectInvalid(BuildOn(layers::ZeroPadding2D(Border2(1, Border(0, kMaxInt64))), {3, 3, 1}),
                "width axis larger than the largest size");
}

TEST(FuzzRegressions, CroppingUnderflowIsAnError) {
  ExpectInvalid(BuildOn(layers::Cropping1D(Border(kMaxInt64, kMaxInt64)), {4, 2}),
                "less than -2^63");
}

// The window geometry (dilation * (kernel - 1) + 1, and 'same' padding's pads) overflowed for
// huge dilation rates, strides and kernel sizes.
TEST(FuzzRegressions, HugeDilationIsAnErrorNotOverflow) {
  ExpectInvalid(BuildOn(layers::Conv1D(1, 2, {.dilation_rate = kMaxInt64}), {4, 1}),
                "output length would be -9223372036854775803");
}

TEST(FuzzRegressions, HugeStrideSamePaddingIsOneOutput) {
  KerasTensor in = Input({5, 1});
  KerasTensor out = layers::MaxPooling1D(2, {.strides = kMaxInt64, .padding = "same"})(in);
  Model model({in}, {out});
  ASSERT_TRUE(model.Build().ok()) << model.Build();
  EXPECT_EQ(out.shape(), (Shape{-1, 1, 1}));
}

// An input whose per-sample size overflows int64 reached Reshape's element count (signed
// overflow): Input now refuses it, and the graph refuses any value type that large.
TEST(FuzzRegressions, InputLargerThanInt64IsAnError) {
  KerasTensor in = Input({8, kMaxInt64 - 1}, {.name = "big"});
  EXPECT_EQ(in.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(in.status().message()).find("more than 2^63 - 1 values per sample"),
            std::string::npos)
      << in.status();
  Model model({in}, {layers::Flatten()(in)});
  EXPECT_EQ(model.Build().code(), absl::StatusCode::kInvalidArgument);
}

TEST(FuzzRegressions, LayerOutputLargerThanInt64IsAnError) {
  // (2^61, 2) is fine; doubling the steps overflows the per-sample count, not a dimension.
  ExpectInvalid(BuildOn(layers::UpSampling1D(2), {int64_t{1} << 61, 2}),
                "more than 2^63 - 1 elements");
}

TEST(FuzzRegressions, ReshapeTargetLargerThanInt64IsAnError) {
  ExpectInvalid(BuildOn(layers::Reshape({kMaxInt64, 4}), {4}),
                "has more than 2^63 - 1 values per sample");
}

// A layer name that is not UTF-8 made nlohmann::json throw from Save (std::terminate): Save and
// SaveWeights now return INVALID_ARGUMENT naming the layer.
TEST(FuzzRegressions, NonUtf8LayerNameSaveIsAnError) {
  Sequential m({layers::Dense(2, {.input_shape = {3}, .name = "\xff"})});
  const std::string path = ::testing::TempDir() + "/non_utf8.graft";
  absl::Status s = m.Save(path);
  ExpectInvalid(s, "layer 0 (Dense): name \"\\xff\" is not valid UTF-8");
  ExpectInvalid(m.SaveWeights(path), "is not valid UTF-8");
}

}  // namespace
}  // namespace graft::keras
