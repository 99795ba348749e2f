// Convolutions by Winograd's algorithm (ops/conv.cc, WinogradCandidate): the oneDNN kernels of
// 3x3 stride-1 convolutions with channels in 16s run F(4x4, 3x3) Winograd, forward, backward
// data and backward weights. Each against the reference loops (which conv_test checks against
// central differences and PyTorch), with a tolerance for Winograd's transforms.
#include <algorithm>
#include <any>
#include <cmath>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "ops/conv.h"
#include "ops/onednn/onednn.h"
#include "ops/padding.h"
#include "runtime/plan.h"
#include "tests/testing.h"

namespace graft {
namespace {

using ::graft::ops::Conv2DAttrs;
using ::graft::ops::Conv2DBackwardDataAttrs;
using ::graft::ops::Conv2DBackwardWeightsAttrs;
using ::graft::ops::Padding;
using ::graft::testing::AllClose;
using ::graft::testing::MaxAbs;
using ::graft::testing::Random;
using ::graft::testing::RunOp;

bool WinogradCpu() { return onednn::CpuHasAvx512Core(); }

// `elsewhere`: the variant the convolution runs on a CPU without avx512_core, where oneDNN has
// no Winograd kernels: "" (plain direct) or "blocked" (direct on blocked activations, for
// Cin * Cout >= 4096).
void ExpectWinogradMatchesReference(const std::string& op, std::any attrs,
                                    const std::vector<Tensor>& in,
                                    const std::string& elsewhere = "") {
  SCOPED_TRACE(op);
  std::string report;
  auto fast = RunOp(op, attrs, in, KernelKind::kFast, false, &report);
  ASSERT_TRUE(fast.ok()) << fast.status();
  if (WinogradCpu()) {
    EXPECT_NE(report.find("[onednn winograd]"), std::string::npos) << report;
  } else if (elsewhere.empty()) {
    EXPECT_EQ(report.find("winograd"), std::string::npos) << report;
    EXPECT_EQ(report.find("blocked"), std::string::npos) << report;
  } else {
    EXPECT_NE(report.find("[onednn " + elsewhere + "]"), std::string::npos) << report;
  }
  auto ref = RunOp(op, attrs, in, KernelKind::kReference);
  ASSERT_TRUE(ref.ok()) << ref.status();
  for (size_t o = 0; o < ref->size(); ++o) {
    // Winograd's transforms cost a few bits against direct summation: within 1e-5 of the
    // largest output (direct f32 stays near 1e-6).
    EXPECT_TRUE(AllClose((*fast)[o], (*ref)[o], 0, 1e-5 * std::max(1.0, MaxAbs((*ref)[o]))))
        << "output " << o;
  }
}

const Conv2DAttrs kSame{.padding = Padding::kSame};
const Conv2DAttrs kValid{.padding = Padding::kValid};

TEST(Winograd, ForwardSameAndValid) {
  const std::vector<Tensor> in = {Random({32, 12, 12, 32}, 1), Random({3, 3, 32, 64}, 2),
                                  Random({64}, 3)};
  ExpectWinogradMatchesReference("graft.Conv2D", kSame, in);
  ExpectWinogradMatchesReference("graft.Conv2D", kValid, in);
}

TEST(Winograd, BackwardData) {
  ExpectWinogradMatchesReference("graft.Conv2DBackwardData", Conv2DBackwardDataAttrs{kSame, 12, 12},
                                 {Random({16, 12, 12, 64}, 4), Random({3, 3, 32, 64}, 5)});
}

TEST(Winograd, BackwardWeights) {
  ExpectWinogradMatchesReference("graft.Conv2DBackwardWeights",
                                 Conv2DBackwardWeightsAttrs{kSame, 3, 3},
                                 {Random({16, 12, 12, 32}, 6), Random({16, 12, 12, 64}, 7)});
}

// 64 -> 64 channels: Winograd on avx512_core; elsewhere direct on oneDNN's blocked activations,
// bridged from and to graft's channels-last tensors (ops/conv.cc, BlockedCandidate), in all
// three kernels.
TEST(Winograd, WideConvolutionsElsewhereRunOnBlockedActivations) {
  ExpectWinogradMatchesReference(
      "graft.Conv2D", kSame,
      {Random({32, 10, 10, 64}, 11), Random({3, 3, 64, 64}, 12), Random({64}, 13)}, "blocked");
  ExpectWinogradMatchesReference("graft.Conv2DBackwardData", Conv2DBackwardDataAttrs{kSame, 10, 10},
                                 {Random({32, 10, 10, 64}, 14), Random({3, 3, 64, 64}, 15)},
                                 "blocked");
  ExpectWinogradMatchesReference(
      "graft.Conv2DBackwardWeights", Conv2DBackwardWeightsAttrs{kSame, 3, 3},
      {Random({32, 10, 10, 64}, 16), Random({32, 10, 10, 64}, 17)}, "blocked");
}

// Outside its conditions a convolution runs direct: 3 input channels, 16 -> 16 channels,
// stride 2, or a batch of few output positions (one 8x8 image).
TEST(Winograd, OnlyWhereItPays) {
  std::string report;
  auto one = RunOp("graft.Conv2D", kSame, {Random({1, 8, 8, 32}, 8), Random({3, 3, 32, 64}, 9)},
                   KernelKind::kFast, false, &report);
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_EQ(report.find("winograd"), std::string::npos) << report;
  auto few = RunOp("graft.Conv2D", kSame, {Random({64, 8, 8, 3}, 8), Random({3, 3, 3, 16}, 9)},
                   KernelKind::kFast, false, &report);
  ASSERT_TRUE(few.ok()) << few.status();
  EXPECT_EQ(report.find("winograd"), std::string::npos) << report;
  const Conv2DAttrs strided{.stride_h = 2, .stride_w = 2, .padding = Padding::kSame};
  auto s2 = RunOp("graft.Conv2D", strided, {Random({64, 8, 8, 32}, 8), Random({3, 3, 32, 64}, 9)},
                  KernelKind::kFast, false, &report);
  ASSERT_TRUE(s2.ok()) << s2.status();
  EXPECT_EQ(report.find("winograd"), std::string::npos) << report;
  auto narrow = RunOp("graft.Conv2D", kSame, {Random({64, 8, 8, 16}, 8), Random({3, 3, 16, 16}, 9)},
                      KernelKind::kFast, false, &report);
  ASSERT_TRUE(narrow.ok()) << narrow.status();
  EXPECT_EQ(report.find("winograd"), std::string::npos) << report;
  // One sample of a wide convolution: neither Winograd nor (without avx512_core) blocked.
  auto single =
      RunOp("graft.Conv2D", kSame, {Random({1, 16, 16, 64}, 8), Random({3, 3, 64, 64}, 9)},
            KernelKind::kFast, false, &report);
  ASSERT_TRUE(single.ok()) << single.status();
  EXPECT_EQ(report.find("winograd"), std::string::npos) << report;
  EXPECT_EQ(report.find("blocked"), std::string::npos) << report;
}

}  // namespace
}  // namespace graft
