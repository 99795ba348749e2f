// keras/mixed_precision.h: Keras's policy names, what a mixed_bfloat16 model computes in and
// keeps in, and when a model takes the policy. Where the CPU has no AVX512-BF16, the training
// tests are skipped (mixed_precision_isa_test covers that CPU, by capping oneDNN's ISA).
#include "keras/mixed_precision.h"

#include <cmath>
#include <string>

#include "gtest/gtest.h"
#include "keras/keras.h"

namespace graft::keras {
namespace {

namespace L = ::graft::keras::layers;
namespace mp = ::graft::keras::mixed_precision;

class MixedPrecision : public ::testing::Test {
 protected:
  void TearDown() override { ASSERT_TRUE(mp::SetGlobalPolicy("float32").ok()); }
};

Sequential SmallConvnet() {
  return Sequential({
      L::Conv2D(8, 3, {.activation = "relu", .input_shape = {8, 8, 3}}),
      L::MaxPooling2D(2),
      L::Flatten(),
      L::Dense(3, {.activation = "softmax"}),
  });
}

// 96 samples whose class is the channel with the largest mean: learnable in a few epochs.
void Data(Tensor& x, Tensor& y) {
  x = Tensor(DType::kF32, Shape({96, 8, 8, 3}));
  y = Tensor(DType::kI64, Shape({96}));
  uint64_t s = 7;
  for (int64_t n = 0; n < 96; ++n) {
    const int64_t label = n % 3;
    y.data<int64_t>()[n] = label;
    for (int64_t i = 0; i < 64 * 3; ++i) {
      s = s * 6364136223846793005ULL + 1442695040888963407ULL;
      const float noise = static_cast<float>((s >> 40) % 1000) / 1000.0f;
      x.data<float>()[n * 192 + i] = noise + (i % 3 == label ? 0.5f : 0.0f);
    }
  }
}

TEST_F(MixedPrecision, UnknownPolicyNamesTheKnownOnes) {
  absl::Status s = mp::SetGlobalPolicy("bfloat16");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("\"bfloat16\""), std::string::npos) << s;
  EXPECT_NE(s.message().find("\"float32\" and \"mixed_bfloat16\""), std::string::npos) << s;
  EXPECT_EQ(mp::GlobalPolicy().name, "float32");  // unchanged
}

TEST_F(MixedPrecision, MixedFloat16IsRefusedWithTheReason) {
  absl::Status s = mp::SetGlobalPolicy("mixed_float16");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("mixed_bfloat16"), std::string::npos) << s;
}

TEST_F(MixedPrecision, PolicyHasKerasDtypes) {
  EXPECT_EQ(mp::GlobalPolicy().compute_dtype, "float32");
  ASSERT_TRUE(mp::SetGlobalPolicy("mixed_bfloat16").ok());
  const mp::Policy p = mp::GlobalPolicy();
  EXPECT_EQ(p.name, "mixed_bfloat16");
  EXPECT_EQ(p.compute_dtype, "bfloat16");
  EXPECT_EQ(p.variable_dtype, "float32");
}

TEST_F(MixedPrecision, TrainsInBf16WithFloat32VariablesAndOutputs) {
  if (!mp::CpuHasBf16()) GTEST_SKIP() << "no AVX512-BF16: oneDNN runs at " << mp::CpuIsaName();
  SetNumThreads(1);
  Tensor x, y;
  Data(x, y);
  const CompileOptions compile{.optimizer = "adam", .loss = "sparse_categorical_crossentropy"};
  const FitOptions fit{.batch_size = 16, .epochs = 4, .verbose = 0, .shuffle = false};

  SetRandomSeed(3);
  Sequential fp32 = SmallConvnet();
  ASSERT_TRUE(fp32.Compile(compile).ok());
  absl::StatusOr<History> h32 = fp32.Fit(x, y, fit);
  ASSERT_TRUE(h32.ok()) << h32.status();

  ASSERT_TRUE(mp::SetGlobalPolicy("mixed_bfloat16").ok());
  SetRandomSeed(3);
  Sequential bf16 = SmallConvnet();
  ASSERT_TRUE(bf16.Compile(compile).ok());
  absl::StatusOr<std::string> report = bf16.PlanReport(16);
  ASSERT_TRUE(report.ok()) << report.status();
  // The convolution and Dense, forward and backward, multiply in bf16.
  for (const char* step :
       {"graft.Conv2D +graft.Relu [onednn bf16]", "graft.Conv2DBackwardWeights [onednn bf16]",
        "graft.Dense [onednn bf16]", "graft.DenseBackwardData [onednn bf16]"}) {
    EXPECT_NE(report->find(step), std::string::npos) << step << "\n" << *report;
  }
  absl::StatusOr<History> h16 = bf16.Fit(x, y, fit);
  ASSERT_TRUE(h16.ok()) << h16.status();

  // Same start, same batches: the losses follow fp32's closely, and fall.
  const std::vector<double>& l32 = h32->history.at("loss");
  const std::vector<double>& l16 = h16->history.at("loss");
  for (size_t e = 0; e < l32.size(); ++e) {
    EXPECT_NEAR(l16[e], l32[e], 0.03 * l32[e]) << "epoch " << e;
  }
  EXPECT_LT(l16.back(), 0.95 * l16.front());
  // ... but are not fp32's bit for bit (bf16 really ran).
  EXPECT_NE(l16.back(), l32.back());

  // Variables stay float32; softmax outputs are float32 probabilities.
  for (const Weight& w : bf16.layers()[0]->weights()) EXPECT_EQ(w.value.dtype(), DType::kF32);
  absl::StatusOr<Tensor> p = bf16.Predict(x.SliceRows(0, 4));
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->dtype(), DType::kF32);
  for (int64_t n = 0; n < 4; ++n) {
    const float* row = p->data<float>() + n * 3;
    EXPECT_NEAR(row[0] + row[1] + row[2], 1.0, 1e-6);
  }
}

TEST_F(MixedPrecision, AModelTakesThePolicyWhenCompiled) {
  if (!mp::CpuHasBf16()) GTEST_SKIP() << "no AVX512-BF16: oneDNN runs at " << mp::CpuIsaName();
  SetNumThreads(1);
  ASSERT_TRUE(mp::SetGlobalPolicy("mixed_bfloat16").ok());
  Sequential model = SmallConvnet();
  const CompileOptions compile{.optimizer = "adam", .loss = "sparse_categorical_crossentropy"};
  ASSERT_TRUE(model.Compile(compile).ok());
  ASSERT_TRUE(mp::SetGlobalPolicy("float32").ok());
  absl::StatusOr<std::string> report = model.PlanReport(4);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_NE(report->find("[onednn bf16]"), std::string::npos) << *report;
  // Compiling again takes the policy now in force.
  ASSERT_TRUE(model.Compile(compile).ok());
  report = model.PlanReport(4);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->find("bf16"), std::string::npos) << *report;
}

}  // namespace
}  // namespace graft::keras
