// Mixed precision (PlanOptions::bf16): every op with a bf16 path — Conv1D, Conv2D and Dense,
// forward, backward data and backward weights — against its fp32 path.
//
// Two checks per case:
//  - exactness of the bf16 path: the bf16 kernel's result equals the reference loops run on
//    the inputs rounded to bf16 (round to nearest even), up to f32 accumulation order. This pins
//    down what the kernel computes (bf16 products, f32 sums) and shows it is not the f32 path;
//  - bf16-vs-fp32: it stays within bf16's tolerance (8 significant bits) of the fp32 result,
//    and differs from it (the rounding is real).
// The backward ops are the gradients of the forward ones: conv_test and dense_test check the
// reference backward loops against central differences and PyTorch, and the rounded-input
// identity above ties the bf16 gradients to them.
#include <any>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "ops/conv.h"
#include "ops/dense.h"
#include "ops/onednn/onednn.h"
#include "ops/padding.h"
#include "runtime/plan.h"
#include "tests/testing.h"

namespace graft {
namespace {

using ::graft::ops::Conv1DAttrs;
using ::graft::ops::Conv1DBackwardDataAttrs;
using ::graft::ops::Conv1DBackwardWeightsAttrs;
using ::graft::ops::Conv2DAttrs;
using ::graft::ops::Conv2DBackwardDataAttrs;
using ::graft::ops::Conv2DBackwardWeightsAttrs;
using ::graft::ops::Padding;
using ::graft::testing::AllClose;
using ::graft::testing::MaxAbs;
using ::graft::testing::Random;
using ::graft::testing::RunOp;

// f32 -> nearest bf16 (ties to even) -> f32, as oneDNN's reorder rounds (finite inputs).
float RoundBf16(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, 4);
  bits += 0x7FFF + ((bits >> 16) & 1);
  bits &= 0xFFFF0000u;
  std::memcpy(&v, &bits, 4);
  return v;
}

Tensor RoundedBf16(const Tensor& t) {
  Tensor r = t.CastTo(DType::kF32);
  for (int64_t i = 0; i < r.num_elements(); ++i) r.data<float>()[i] = RoundBf16(r.data<float>()[i]);
  return r;
}

double MaxDiff(const Tensor& a, const Tensor& b) {
  double m = 0;
  for (int64_t i = 0; i < a.num_elements(); ++i) {
    m = std::max(m, std::fabs(double{a.data<float>()[i]} - double{b.data<float>()[i]}));
  }
  return m;
}

struct Case {
  std::string label;
  std::string op;
  std::any attrs;
  std::vector<Shape> inputs;
  // Inputs the op reads in bf16 (a bias is added in f32).
  std::vector<bool> rounded;
};

class Bf16Test : public ::testing::TestWithParam<int> {};

std::vector<Case> Cases() {
  const Conv2DAttrs same{.padding = Padding::kSame};
  const Conv2DAttrs strided{.stride_h = 2, .stride_w = 2, .padding = Padding::kValid};
  const Conv1DAttrs causal{.padding = Padding::kCausal};
  return {
      {"Conv2D same 3x3",
       "graft.Conv2D",
       same,
       {{2, 8, 8, 16}, {3, 3, 16, 32}, {32}},
       {true, true, false}},
      {"Conv2D valid stride 2",
       "graft.Conv2D",
       strided,
       {{2, 9, 9, 16}, {3, 3, 16, 16}, {16}},
       {true, true, false}},
      {"Conv2DBackwardData",
       "graft.Conv2DBackwardData",
       Conv2DBackwardDataAttrs{same, 8, 8},
       {{2, 8, 8, 32}, {3, 3, 16, 32}},
       {true, true}},
      {"Conv2DBackwardWeights",
       "graft.Conv2DBackwardWeights",
       Conv2DBackwardWeightsAttrs{same, 3, 3},
       {{2, 8, 8, 16}, {2, 8, 8, 32}},
       {true, true}},
      {"Conv1D causal",
       "graft.Conv1D",
       causal,
       {{2, 20, 16}, {3, 16, 32}, {32}},
       {true, true, false}},
      {"Conv1DBackwardData",
       "graft.Conv1DBackwardData",
       Conv1DBackwardDataAttrs{causal, 20},
       {{2, 20, 32}, {3, 16, 32}},
       {true, true}},
      {"Conv1DBackwardWeights",
       "graft.Conv1DBackwardWeights",
       Conv1DBackwardWeightsAttrs{causal, 3},
       {{2, 20, 16}, {2, 20, 32}},
       {true, true}},
      {"Dense", "graft.Dense", NoAttrs{}, {{8, 64}, {64, 32}, {32}}, {true, true, false}},
      {"DenseBackwardData",
       "graft.DenseBackwardData",
       NoAttrs{},
       {{8, 32}, {64, 32}},
       {true, true}},
      {"DenseBackwardWeights",
       "graft.DenseBackwardWeights",
       NoAttrs{},
       {{8, 64}, {8, 32}},
       {true, true}},
  };
}

TEST_P(Bf16Test, MatchesFp32OnBf16RoundedInputs) {
  if (!onednn::CpuHasBf16()) {
    GTEST_SKIP() << "this CPU runs oneDNN at " << onednn::CpuIsaName() << ", without AVX512-BF16";
  }
  const Case c = Cases()[GetParam()];
  SCOPED_TRACE(c.label);
  std::vector<Tensor> in, in_rounded;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    in.push_back(Random(c.inputs[i], 100 + i));
    in_rounded.push_back(c.rounded[i] ? RoundedBf16(in.back()) : in.back());
  }
  std::string report;
  auto bf16 = RunOp(c.op, c.attrs, in, KernelKind::kFast, /*bf16=*/true, &report);
  ASSERT_TRUE(bf16.ok()) << bf16.status();
  EXPECT_NE(report.find("[onednn bf16]"), std::string::npos) << report;
  auto exact = RunOp(c.op, c.attrs, in_rounded, KernelKind::kReference);
  ASSERT_TRUE(exact.ok()) << exact.status();
  auto fp32 = RunOp(c.op, c.attrs, in, KernelKind::kFast);
  ASSERT_TRUE(fp32.ok()) << fp32.status();
  for (size_t o = 0; o < exact->size(); ++o) {
    SCOPED_TRACE(absl::StrCat("output ", o));
    const Tensor& got = (*bf16)[o];
    const double scale = std::max(MaxAbs((*fp32)[o]), 1.0);
    // db (output 1 of a backward-weights op) sums dy alone: from the bf16 copy of dy
    // (convolutions, inside oneDNN) or from the f32 dy itself (Dense), either exactly.
    const bool is_bias_grad = o == 1;
    // The bf16 kernel is the f32 computation on rounded inputs (only the summation order of
    // the f32 accumulators differs).
    if (!is_bias_grad || !AllClose(got, (*fp32)[o], 1e-5, 2e-6 * scale)) {
      EXPECT_TRUE(AllClose(got, (*exact)[o], 1e-5, 2e-6 * scale));
    }
    // ... within bf16's rounding of the fp32 result: each product carries a relative error of at
    // most 2 * 2^-9; the sums of random-signed products keep it well under 1% of the largest
    // output.
    EXPECT_TRUE(AllClose(got, (*fp32)[o], 0.0, 1e-2 * scale));
    // ... and not the fp32 result itself.
    if (!is_bias_grad) EXPECT_GT(MaxDiff(got, (*fp32)[o]), 1e-5 * scale);
  }
}

INSTANTIATE_TEST_SUITE_P(AllOps, Bf16Test, ::testing::Range(0, static_cast<int>(Cases().size())),
                         [](const ::testing::TestParamInfo<int>& info) {
                           std::string name = Cases()[info.param].label;
                           for (char& ch : name) {
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace graft
