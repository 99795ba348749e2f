#include "ops/pool.h"

#include <algorithm>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "autodiff/grad_check.h"
#include "autodiff/gradients.h"
#include "gtest/gtest.h"
#include "runtime/plan.h"
#include "tests/testing.h"

namespace graft {
namespace {

using ::graft::ops::MaxPool1DAttrs;
using ::graft::ops::Padding;
using ::graft::testing::AllClose;
using ::graft::testing::Golden;
using ::graft::testing::InferOp;
using ::graft::testing::Random;
using ::graft::testing::RunOp;

constexpr const char* kFwd = "graft.MaxPool1D";
constexpr const char* kBwd = "graft.MaxPool1DBackward";

// Distinct values (a scaled random permutation): the argmax of every window is unique.
Tensor Distinct(Shape shape, uint64_t seed) {
  Tensor t(DType::kF32, std::move(shape));
  std::vector<int> perm(t.num_elements());
  std::iota(perm.begin(), perm.end(), 0);
  std::shuffle(perm.begin(), perm.end(), std::mt19937_64(seed));
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    t.data<float>()[i] = 0.25f * static_cast<float>(perm[i] - t.num_elements() / 2);
  }
  return t;
}

std::string Name(const MaxPool1DAttrs& a) {
  return absl::StrCat("pool=", a.pool, " stride=", a.stride, " ", ops::PaddingName(a.padding));
}

// ---- shapes ---------------------------------------------------------------------------------

struct ShapeCase {
  Shape x;
  MaxPool1DAttrs attrs;
  Shape y;
};

TEST(MaxPool1DShape, Table) {
  const std::vector<ShapeCase> cases = {
      {{-1, 96, 32}, {}, {-1, 48, 32}},                  // Keras example A
      {{4, 97, 3}, {}, {4, 48, 3}},                      // floor
      {{4, 97, 3}, {2, 2, Padding::kSame}, {4, 49, 3}},  // ceil
      {{2, 10, 1}, {3, 1, Padding::kValid}, {2, 8, 1}},
      {{2, 10, 1}, {3, 1, Padding::kSame}, {2, 10, 1}},
      {{2, 11, 5}, {3, 2, Padding::kValid}, {2, 5, 5}},
      {{2, 7, 5}, {4, 2, Padding::kSame}, {2, 4, 5}},
      {{2, 8, 5}, {3, 3, Padding::kValid}, {2, 2, 5}},
      {{2, 8, 5}, {2, 5, Padding::kValid}, {2, 2, 5}},  // stride > pool
      {{2, 1, 5}, {1, 1, Padding::kValid}, {2, 1, 5}},
      {{2, 1, 5}, {3, 2, Padding::kSame}, {2, 1, 5}},  // same never fails
      {{-1, 2, 5}, {2, 2, Padding::kValid}, {-1, 1, 5}},
  };
  for (const ShapeCase& c : cases) {
    auto t = InferOp(kFwd, c.attrs, {{DType::kF32, c.x}});
    ASSERT_TRUE(t.ok()) << c.x.ToString() << " " << Name(c.attrs) << ": " << t.status();
    ASSERT_EQ(t->size(), 2u);
    EXPECT_EQ((*t)[0], (TensorType{DType::kF32, c.y})) << c.x.ToString() << " " << Name(c.attrs);
    EXPECT_EQ((*t)[1], (TensorType{DType::kI32, c.y})) << "workspace";
  }
  auto f64 = InferOp(kFwd, MaxPool1DAttrs{}, {{DType::kF64, {1, 4, 2}}});
  ASSERT_TRUE(f64.ok()) << f64.status();
  EXPECT_EQ((*f64)[0].dtype, DType::kF64);
}

struct ErrorCase {
  TensorType x;
  MaxPool1DAttrs attrs;
  std::vector<std::string> expected;  // substrings of the message
};

TEST(MaxPool1DShape, Errors) {
  const std::vector<ErrorCase> cases = {
      {{DType::kF32, {-1, 1, 3}},
       {2, 2, Padding::kValid},
       {"MaxPool1D (graft.MaxPool1D)", "Computed output size would be zero or negative",
        "inputs.shape=(None, 1, 3)", "pool_size=2", "strides=2", "padding=valid",
        "floor((1 - 2)/2) + 1 = 0"}},
      {{DType::kF32, {4, 3, 3}},
       {5, 1, Padding::kValid},
       {"zero or negative", "floor((3 - 5)/1) + 1 = -1", "padding=\"same\""}},
      {{DType::kF32, {4, 10}}, {}, {"rank 3 (batch, steps, channels)", "(4, 10)"}},
      {{DType::kF32, {4, 10, 2, 2}}, {}, {"rank 3", "(4, 10, 2, 2)"}},
      {{DType::kF32, {4, 10, 2}}, {0, 1, Padding::kValid}, {"pool_size must be", "pool_size=0"}},
      {{DType::kF32, {4, 10, 2}}, {2, 0, Padding::kValid}, {"strides must be", "strides=0"}},
      {{DType::kF32, {4, 10, 2}}, {2, -1, Padding::kSame}, {"strides must be", "strides=-1"}},
      {{DType::kF32, {4, 10, 2}}, {2, 2, Padding::kCausal}, {"\"causal\"", "Conv1D"}},
      {{DType::kI64, {4, 10, 2}}, {}, {"float32 or float64", "int64"}},
  };
  for (const ErrorCase& c : cases) {
    auto t = InferOp(kFwd, c.attrs, {c.x});
    ASSERT_FALSE(t.ok()) << c.x.ToString() << " " << Name(c.attrs);
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
    for (const std::string& s : c.expected) {
      EXPECT_NE(t.status().message().find(s), std::string::npos)
          << "missing \"" << s << "\" in: " << t.status().message();
    }
  }
}

TEST(MaxPool1DShape, BuilderNamesTheNode) {
  Graph g;
  Value x = g.Placeholder({DType::kF32, {-1, 5, 2}}, "x");
  auto y = ops::MaxPool1D(g, x, {.pool = 3, .stride = 1}, "max_pooling1d");
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(g.type(*y), (TensorType{DType::kF32, {-1, 3, 2}}));
  EXPECT_EQ(g.node(*y).name, "max_pooling1d");
  EXPECT_EQ(y->index, 0);
  auto bad = ops::MaxPool1D(g, x, {.pool = 6, .stride = 6}, "pool_too_big");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("pool_too_big (graft.MaxPool1D)"), std::string::npos)
      << bad.status();
}

TEST(MaxPool1DBackwardShape, ChecksItsInputs) {
  const MaxPool1DAttrs a{3, 2, Padding::kSame};  // (N, 7, C) -> (N, 4, C)
  const TensorType x{DType::kF32, {-1, 7, 3}};
  auto ok = InferOp(kBwd, a, {{DType::kF32, {-1, 4, 3}}, {DType::kI32, {-1, 4, 3}}, x});
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ((*ok)[0], x);
  auto bad_dy = InferOp(kBwd, a, {{DType::kF32, {2, 3, 3}}, {DType::kI32, {2, 4, 3}}, x});
  ASSERT_FALSE(bad_dy.ok());
  EXPECT_NE(bad_dy.status().message().find("dy must have the forward output's type"),
            std::string::npos)
      << bad_dy.status();
  auto bad_ws = InferOp(kBwd, a, {{DType::kF32, {2, 4, 3}}, {DType::kF32, {2, 4, 3}}, x});
  ASSERT_FALSE(bad_ws.ok());
  EXPECT_NE(bad_ws.status().message().find("workspace must be int32"), std::string::npos)
      << bad_ws.status();
}

// ---- oneDNN vs reference over a grid --------------------------------------------------------

struct GridCase {
  MaxPool1DAttrs attrs;
  int64_t length;
  int64_t channels;
};

std::vector<GridCase> Grid() {
  std::vector<GridCase> cases;
  for (int64_t pool : {1, 2, 3}) {
    for (int64_t stride : {1, 2, 3}) {
      for (Padding padding : {Padding::kValid, Padding::kSame}) {
        for (int64_t length : {7, 8}) {
          for (int64_t channels : {1, 3, 16}) {
            cases.push_back({{pool, stride, padding}, length, channels});
          }
        }
      }
    }
  }
  return cases;
}

TEST(MaxPool1D, OneDnnMatchesReferenceForwardAndBackward) {
  uint64_t seed = 10;
  for (const GridCase& c : Grid()) {
    SCOPED_TRACE(absl::StrCat(Name(c.attrs), " L=", c.length, " C=", c.channels));
    Tensor x = Random({2, c.length, c.channels}, ++seed, -2, 2);
    auto fast = RunOp(kFwd, c.attrs, {x}, KernelKind::kFast);
    auto ref = RunOp(kFwd, c.attrs, {x}, KernelKind::kReference);
    ASSERT_TRUE(fast.ok()) << fast.status();
    ASSERT_TRUE(ref.ok()) << ref.status();
    ASSERT_EQ(fast->size(), 2u);
    EXPECT_TRUE(AllClose((*fast)[0], (*ref)[0], 0, 0));  // a max is exact

    // The reference workspace holds each output's argmax position along L.
    const Tensor& y = (*ref)[0];
    const Tensor& ws = (*ref)[1];
    ASSERT_EQ(ws.dtype(), DType::kI32);
    const int64_t out = y.shape().dim(1);
    for (int64_t k = 0; k < y.num_elements(); ++k) {
      const int64_t b = k / (out * c.channels), ch = k % c.channels;
      const int32_t l = ws.data<int32_t>()[k];
      ASSERT_GE(l, 0);
      ASSERT_LT(l, c.length);
      EXPECT_EQ(x.data<float>()[(b * c.length + l) * c.channels + ch], y.data<float>()[k]);
    }

    // Each backward reads the workspace of its own kind's forward.
    Tensor dy = Random(y.shape(), ++seed);
    auto dx_fast = RunOp(kBwd, c.attrs, {dy, (*fast)[1], x}, KernelKind::kFast);
    auto dx_ref = RunOp(kBwd, c.attrs, {dy, (*ref)[1], x}, KernelKind::kReference);
    ASSERT_TRUE(dx_fast.ok()) << dx_fast.status();
    ASSERT_TRUE(dx_ref.ok()) << dx_ref.status();
    EXPECT_TRUE(AllClose((*dx_fast)[0], (*dx_ref)[0], 1e-6, 1e-7));
  }
}

TEST(MaxPool1D, BackwardAccumulatesOverlappingWindows) {
  // x = [0, 5, 1, 2], pool 3, stride 1, same -> windows [-,0,5] [0,5,1] [5,1,2] [1,2,-]:
  // the 5 wins three times.
  Tensor x = Tensor::FromVector<float>({1, 4, 1}, {0, 5, 1, 2});
  Tensor dy = Tensor::FromVector<float>({1, 4, 1}, {1, 10, 100, 1000});
  const MaxPool1DAttrs a{3, 1, Padding::kSame};
  for (KernelKind kind : {KernelKind::kFast, KernelKind::kReference}) {
    auto y = RunOp(kFwd, a, {x}, kind);
    ASSERT_TRUE(y.ok()) << y.status();
    EXPECT_TRUE(AllClose((*y)[0], Tensor::FromVector<float>({1, 4, 1}, {5, 5, 5, 2}), 0, 0));
    auto dx = RunOp(kBwd, a, {dy, (*y)[1], x}, kind);
    ASSERT_TRUE(dx.ok()) << dx.status();
    EXPECT_TRUE(AllClose((*dx)[0], Tensor::FromVector<float>({1, 4, 1}, {0, 111, 0, 1000}), 0, 0));
  }
}

TEST(MaxPool1D, NegativeValuesNeverLoseToPadding) {
  Tensor x = Tensor::FromVector<float>({1, 3, 2}, {-3, -1, -2, -5, -4, -6});
  const MaxPool1DAttrs a{4, 2, Padding::kSame};  // out 2, pads (1, 2)
  for (KernelKind kind : {KernelKind::kFast, KernelKind::kReference}) {
    auto y = RunOp(kFwd, a, {x}, kind);
    ASSERT_TRUE(y.ok()) << y.status();
    EXPECT_TRUE(AllClose((*y)[0], Tensor::FromVector<float>({1, 2, 2}, {-2, -1, -2, -5}), 0, 0));
  }
}

TEST(MaxPool1D, WideWindowsFitTheWorkspace) {
  // oneDNN switches its workspace from u8 to s32 for windows of 256 or more: 4 bytes per
  // output, still the size of the int32 workspace output.
  const MaxPool1DAttrs a{300, 1, Padding::kValid};
  Tensor x = Distinct({1, 302, 2}, 3);
  Tensor dy = Random({1, 3, 2}, 4);
  auto fast = RunOp(kFwd, a, {x}, KernelKind::kFast);
  auto ref = RunOp(kFwd, a, {x}, KernelKind::kReference);
  ASSERT_TRUE(fast.ok()) << fast.status();
  ASSERT_TRUE(ref.ok()) << ref.status();
  EXPECT_TRUE(AllClose((*fast)[0], (*ref)[0], 0, 0));
  auto dx_fast = RunOp(kBwd, a, {dy, (*fast)[1], x}, KernelKind::kFast);
  auto dx_ref = RunOp(kBwd, a, {dy, (*ref)[1], x}, KernelKind::kReference);
  ASSERT_TRUE(dx_fast.ok()) << dx_fast.status();
  ASSERT_TRUE(dx_ref.ok()) << dx_ref.status();
  EXPECT_TRUE(AllClose((*dx_fast)[0], (*dx_ref)[0], 1e-6, 1e-7));
}

// ---- gradient check -------------------------------------------------------------------------

TEST(MaxPool1D, GradientMatchesCentralDifferences) {
  const std::vector<MaxPool1DAttrs> configs = {{2, 2, Padding::kValid},
                                               {3, 1, Padding::kSame},
                                               {3, 2, Padding::kValid},
                                               {4, 2, Padding::kSame},
                                               {2, 3, Padding::kSame}};
  uint64_t seed = 40;
  for (const MaxPool1DAttrs& a : configs) {
    Tensor x = Distinct({2, 7, 3}, ++seed);
    auto report = autodiff::CheckGradients(kFwd, a, {x});
    ASSERT_TRUE(report.ok()) << Name(a) << ": " << report.status();
    EXPECT_TRUE(report->ok) << Name(a) << ": " << report->ToString();
    EXPECT_EQ(report->entries_checked, 42) << Name(a);
  }
}

TEST(MaxPool1D, GradientGraphRunsWithFastKernels) {
  // Forward + backward in one plan: the workspace flows as a graph value; an inference plan
  // that fetches only y also compiles and runs.
  Graph g;
  Value x = g.Placeholder({DType::kF32, {-1, 9, 4}}, "x");
  auto y = ops::MaxPool1D(g, x, {.pool = 3, .stride = 2, .padding = Padding::kSame});
  ASSERT_TRUE(y.ok()) << y.status();
  auto loss = g.Add("graft.ReduceSum", {*y});
  ASSERT_TRUE(loss.ok()) << loss.status();
  auto grads = autodiff::Gradients(g, *loss, {x});
  ASSERT_TRUE(grads.ok()) << grads.status();
  EXPECT_EQ(g.node((*grads)[0]).op->name, kBwd);

  Tensor xv = Distinct({3, 9, 4}, 7);
  for (KernelKind kind : {KernelKind::kFast, KernelKind::kReference}) {
    auto train = Plan::Compile(g, {.feeds = {x}, .fetches = {*y, (*grads)[0]}}, {xv.type()},
                               {.kernels = kind});
    ASSERT_TRUE(train.ok()) << train.status();
    std::vector<Tensor> out;
    ASSERT_TRUE((*train)->Run({xv}, &out).ok());
    // d(sum y)/dx counts how many windows pick each element; the counts add up to |y|.
    double total = 0;
    for (int64_t i = 0; i < out[1].num_elements(); ++i) total += out[1].AsDouble(i);
    EXPECT_EQ(total, static_cast<double>(out[0].num_elements()));

    auto predict =
        Plan::Compile(g, {.feeds = {x}, .fetches = {*y}}, {xv.type()}, {.kernels = kind});
    ASSERT_TRUE(predict.ok()) << predict.status();
    std::vector<Tensor> pred;
    ASSERT_TRUE((*predict)->Run({xv}, &pred).ok());
    EXPECT_TRUE(AllClose(pred[0], out[0], 0, 0));
  }
}

// ---- PyTorch golden data (tools/golden/pool1d.py) -------------------------------------------

struct GoldenCase {
  const char* name;
  MaxPool1DAttrs attrs;
};

class MaxPool1DGolden : public ::testing::TestWithParam<GoldenCase> {};

TEST_P(MaxPool1DGolden, MatchesPyTorch) {
  const GoldenCase& c = GetParam();
  const std::string prefix = absl::StrCat("pool1d_", c.name, "_");
  Tensor x = Golden(prefix + "x");
  Tensor dy = Golden(prefix + "dy");
  ASSERT_FALSE(x.empty() || dy.empty());
  for (KernelKind kind : {KernelKind::kFast, KernelKind::kReference}) {
    SCOPED_TRACE(kind == KernelKind::kFast ? "fast" : "reference");
    auto y = RunOp(kFwd, c.attrs, {x}, kind);
    ASSERT_TRUE(y.ok()) << y.status();
    EXPECT_TRUE(AllClose((*y)[0], Golden(prefix + "y")));
    auto dx = RunOp(kBwd, c.attrs, {dy, (*y)[1], x}, kind);
    ASSERT_TRUE(dx.ok()) << dx.status();
    EXPECT_TRUE(AllClose((*dx)[0], Golden(prefix + "dx")));
  }
}

INSTANTIATE_TEST_SUITE_P(PyTorch, MaxPool1DGolden,
                         ::testing::Values(GoldenCase{"default", {2, 2, Padding::kValid}},
                                           GoldenCase{"valid_p3s2", {3, 2, Padding::kValid}},
                                           GoldenCase{"valid_p3s3", {3, 3, Padding::kValid}},
                                           GoldenCase{"same_p3s1", {3, 1, Padding::kSame}},
                                           GoldenCase{"same_p2s1", {2, 1, Padding::kSame}},
                                           GoldenCase{"same_p4s2", {4, 2, Padding::kSame}}),
                         [](const ::testing::TestParamInfo<GoldenCase>& info) {
                           return info.param.name;
                         });

}  // namespace
}  // namespace graft
