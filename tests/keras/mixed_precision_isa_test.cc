// Mixed precision on a CPU without AVX512-BF16. oneDNN is capped at avx512_core before anything
// uses it (dnnl::set_max_cpu_isa, the same as ONEDNN_MAX_CPU_ISA=AVX512_CORE), so this runs the
// same on every machine: Compile's error and the opt-in fallback to float32.
#include <string>

#include "gtest/gtest.h"
#include "keras/keras.h"
#include "oneapi/dnnl/dnnl.hpp"

namespace graft::keras {
namespace {

namespace L = ::graft::keras::layers;
namespace mp = ::graft::keras::mixed_precision;

class NoBf16Cpu : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // Before oneDNN's first primitive in this process; a no-op on a CPU already below it.
    dnnl::set_max_cpu_isa(dnnl::cpu_isa::avx512_core);
  }
  void TearDown() override { ASSERT_TRUE(mp::SetGlobalPolicy("float32").ok()); }
};

Sequential Model() {
  return Sequential({
      L::Conv2D(4, 3, {.activation = "relu", .input_shape = {6, 6, 2}}),
      L::Flatten(),
      L::Dense(2, {.activation = "softmax"}),
  });
}

TEST_F(NoBf16Cpu, CompileNamesTheMissingIsaAndTheFixes) {
  ASSERT_FALSE(mp::CpuHasBf16()) << mp::CpuIsaName();
  ASSERT_TRUE(mp::SetGlobalPolicy("mixed_bfloat16").ok());
  Sequential model = Model();
  absl::Status s = model.Compile({.optimizer = "adam", .loss = "sparse_categorical_crossentropy"});
  ASSERT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  const std::string msg(s.message());
  for (const std::string& words :
       {std::string("Compile: the mixed precision policy \"mixed_bfloat16\" needs a CPU with "
                    "AVX512-BF16 (oneDNN ISA avx512_core_bf16 or newer)"),
        "this CPU runs oneDNN at " + mp::CpuIsaName(), std::string("SetGlobalPolicy(\"float32\")"),
        std::string("{.fallback_to_float32 = true}")}) {
    EXPECT_NE(msg.find(words), std::string::npos) << words << "\n" << msg;
  }
  // Predict without Compile says the same, naming Predict.
  absl::StatusOr<Tensor> p = model.Predict(Tensor(DType::kF32, Shape({1, 6, 6, 2})));
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("Predict: the mixed precision policy"), std::string::npos)
      << p.status();
}

TEST_F(NoBf16Cpu, FallbackRunsInFloat32WithOneWarning) {
  ASSERT_TRUE(mp::SetGlobalPolicy("mixed_bfloat16", {.fallback_to_float32 = true}).ok());
  Sequential model = Model();
  ::testing::internal::CaptureStderr();
  absl::Status s = model.Compile({.optimizer = "adam", .loss = "sparse_categorical_crossentropy"});
  const std::string err = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_NE(err.find("graft: warning: the mixed precision policy \"mixed_bfloat16\" needs a CPU "
                     "with AVX512-BF16"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("running in float32"), std::string::npos) << err;
  absl::StatusOr<std::string> report = model.PlanReport(2);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->find("bf16"), std::string::npos) << *report;
  Tensor x(DType::kF32, Shape({2, 6, 6, 2}));
  Tensor y(DType::kI64, Shape({2}));
  EXPECT_TRUE(model.Fit(x, y, {.batch_size = 2, .verbose = 0}).ok());
}

}  // namespace
}  // namespace graft::keras
