#include "ops/pool.h"

#include <algorithm>
#include <any>
#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "autodiff/grad_check.h"
#include "autodiff/gradients.h"
#include "gtest/gtest.h"
#include "runtime/plan.h"
#include "runtime/threads.h"
#include "tests/testing.h"

namespace graft {
namespace {

using ::graft::ops::GlobalPoolAttrs;
using ::graft::ops::MaxPool1DAttrs;
using ::graft::ops::Padding;
using ::graft::ops::Pool1DAttrs;
using ::graft::ops::Pool2DAttrs;
using ::graft::ops::PoolKind;
using ::graft::testing::AllClose;
using ::graft::testing::Golden;
using ::graft::testing::InferOp;
using ::graft::testing::Random;
using ::graft::testing::RunOp;

constexpr const char* kFwd = "graft.MaxPool1D";
constexpr const char* kBwd = "graft.MaxPool1DBackward";

// One pooling op and its backward op.
struct PoolOp {
  const char* fwd;
  const char* bwd;
  PoolKind kind;
  bool max() const { return kind == PoolKind::kMax; }
};
constexpr PoolOp kMax1D{"graft.MaxPool1D", "graft.MaxPool1DBackward", PoolKind::kMax};
constexpr PoolOp kAvg1D{"graft.AveragePool1D", "graft.AveragePool1DBackward", PoolKind::kAverage};
constexpr PoolOp kMax2D{"graft.MaxPool2D", "graft.MaxPool2DBackward", PoolKind::kMax};
constexpr PoolOp kAvg2D{"graft.AveragePool2D", "graft.AveragePool2DBackward", PoolKind::kAverage};
constexpr PoolOp kGlobalMax{"graft.GlobalMaxPool", "graft.GlobalMaxPoolBackward", PoolKind::kMax};
constexpr PoolOp kGlobalAvg{"graft.GlobalAveragePool", "graft.GlobalAveragePoolBackward",
                            PoolKind::kAverage};

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

std::string Name(const Pool1DAttrs& a) {
  return absl::StrCat("pool=", a.pool, " stride=", a.stride, " ", ops::PaddingName(a.padding));
}
std::string Name(const Pool2DAttrs& a) {
  return absl::StrCat("pool=(", a.pool_h, ",", a.pool_w, ") stride=(", a.stride_h, ",", a.stride_w,
                      ") ", ops::PaddingName(a.padding));
}
std::string Name(const GlobalPoolAttrs& a) { return a.keepdims ? "keepdims" : "no keepdims"; }

// The backward op's inputs: (dy, workspace, x) for max, (dy, x) for average.
std::vector<Tensor> BackwardInputs(const PoolOp& op, const Tensor& dy,
                                   const std::vector<Tensor>& forward, const Tensor& x) {
  if (op.max()) return {dy, forward[1], x};
  return {dy, x};
}

struct ErrorCase {
  TensorType x;
  std::any attrs;
  std::vector<std::string> expected;  // substrings of the message; "{node}" stands for
                                      // "<Op> (graft.<Op>)", the default node name and op
};

// InferOp(op, attrs, inputs) fails with InvalidArgument and every expected substring.
void ExpectShapeError(const char* op, std::any attrs, const std::vector<TensorType>& inputs,
                      const std::vector<std::string>& expected) {
  auto t = InferOp(op, std::move(attrs), inputs);
  ASSERT_FALSE(t.ok()) << op;
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  for (const std::string& s : expected) {
    EXPECT_NE(t.status().message().find(s), std::string::npos)
        << "missing \"" << s << "\" in: " << t.status().message();
  }
}

// Every forward op in `ops` rejects every case.
void ExpectShapeErrors(const std::vector<const char*>& ops, const std::vector<ErrorCase>& cases) {
  for (const char* op : ops) {
    const std::string node = absl::StrCat(absl::string_view(op).substr(6), " (", op, ")");
    for (const ErrorCase& c : cases) {
      SCOPED_TRACE(absl::StrCat(op, " ", c.x.ToString()));
      std::vector<std::string> expected;
      for (const std::string& e : c.expected) {
        expected.push_back(absl::StrReplaceAll(e, {{"{node}", node}}));
      }
      ExpectShapeError(op, c.attrs, {c.x}, expected);
    }
  }
}

// ---- shapes ---------------------------------------------------------------------------------

template <typename Attrs>
struct ShapeCase {
  Shape x;
  Attrs attrs;
  Shape y;
};

// Every op of `ops` infers y (and a max op its int32 workspace of y's shape).
template <typename Attrs>
void ExpectShapes(const std::vector<PoolOp>& ops, const std::vector<ShapeCase<Attrs>>& cases) {
  for (const PoolOp& op : ops) {
    for (const ShapeCase<Attrs>& c : cases) {
      SCOPED_TRACE(absl::StrCat(op.fwd, " ", c.x.ToString(), " ", Name(c.attrs)));
      auto t = InferOp(op.fwd, c.attrs, {{DType::kF32, c.x}});
      ASSERT_TRUE(t.ok()) << t.status();
      ASSERT_EQ(t->size(), op.max() ? 2u : 1u);
      EXPECT_EQ((*t)[0], (TensorType{DType::kF32, c.y}));
      if (op.max()) {
        EXPECT_EQ((*t)[1], (TensorType{DType::kI32, c.y})) << "workspace";
      }
    }
    auto f64 = InferOp(op.fwd, cases[0].attrs, {{DType::kF64, cases[0].x.WithBatch(1)}});
    ASSERT_TRUE(f64.ok()) << f64.status();
    EXPECT_EQ((*f64)[0].dtype, DType::kF64);
  }
}

TEST(Pool1DShape, Table) {
  ExpectShapes<Pool1DAttrs>({kMax1D, kAvg1D},
                            {
                                {{-1, 96, 32}, {}, {-1, 48, 32}},  // Keras example A
                                {{4, 97, 3}, {}, {4, 48, 3}},      // floor
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
                            });
}

TEST(Pool2DShape, Table) {
  ExpectShapes<Pool2DAttrs>(
      {kMax2D, kAvg2D},
      {
          {{-1, 30, 30, 32}, {}, {-1, 15, 15, 32}},                    // Keras example B
          {{4, 7, 9, 3}, {}, {4, 3, 4, 3}},                            // floor on both axes
          {{4, 7, 9, 3}, {2, 2, 2, 2, Padding::kSame}, {4, 4, 5, 3}},  // ceil
          {{2, 10, 8, 1}, {3, 2, 1, 1, Padding::kValid}, {2, 8, 7, 1}},
          {{2, 10, 8, 1}, {3, 2, 2, 1, Padding::kValid}, {2, 4, 7, 1}},
          {{2, 10, 8, 1}, {3, 2, 2, 1, Padding::kSame}, {2, 5, 8, 1}},
          {{2, 5, 6, 4}, {1, 3, 1, 3, Padding::kValid}, {2, 5, 2, 4}},
          {{2, 5, 6, 4}, {2, 1, 3, 1, Padding::kValid}, {2, 2, 6, 4}},  // stride > pool
          {{2, 1, 1, 4}, {3, 3, 2, 2, Padding::kSame}, {2, 1, 1, 4}},   // same never fails
          {{-1, 2, 2, 4}, {}, {-1, 1, 1, 4}},
      });
}

TEST(GlobalPoolShape, Table) {
  ExpectShapes<GlobalPoolAttrs>({kGlobalMax, kGlobalAvg},
                                {
                                    {{-1, 9, 3}, {false}, {-1, 3}},
                                    {{-1, 9, 3}, {true}, {-1, 1, 3}},
                                    {{2, 5, 4, 3}, {false}, {2, 3}},
                                    {{2, 5, 4, 3}, {true}, {2, 1, 1, 3}},
                                    {{-1, 1, 1, 7}, {true}, {-1, 1, 1, 7}},
                                    {{4, -1, 6}, {false}, {4, 6}},  // unknown steps
                                });
}

TEST(Pool1DShape, Errors) {
  const std::vector<ErrorCase> cases = {
      {{DType::kF32, {-1, 1, 3}},
       MaxPool1DAttrs{2, 2, Padding::kValid},
       {"{node}", "Computed output size would be zero or negative", "inputs.shape=(None, 1, 3)",
        "pool_size=2", "strides=2", "padding=valid", "floor((1 - 2)/2) + 1 = 0"}},
      {{DType::kF32, {4, 3, 3}},
       MaxPool1DAttrs{5, 1, Padding::kValid},
       {"zero or negative", "floor((3 - 5)/1) + 1 = -1", "padding=\"same\""}},
      {{DType::kF32, {4, 10}}, MaxPool1DAttrs{}, {"rank 3 (batch, steps, channels)", "(4, 10)"}},
      {{DType::kF32, {4, 10, 2, 2}}, MaxPool1DAttrs{}, {"rank 3", "(4, 10, 2, 2)"}},
      {{DType::kF32, {4, 10, 2}},
       MaxPool1DAttrs{0, 1, Padding::kValid},
       {"pool_size must be", "pool_size=0"}},
      {{DType::kF32, {4, 10, 2}},
       MaxPool1DAttrs{2, 0, Padding::kValid},
       {"strides must be", "strides=0"}},
      {{DType::kF32, {4, 10, 2}},
       MaxPool1DAttrs{2, -1, Padding::kSame},
       {"strides must be", "strides=-1"}},
      {{DType::kF32, {4, 10, 2}}, MaxPool1DAttrs{2, 2, Padding::kCausal}, {"\"causal\"", "Conv1D"}},
      {{DType::kI64, {4, 10, 2}}, MaxPool1DAttrs{}, {"float32 or float64", "int64"}},
  };
  ExpectShapeErrors({kMax1D.fwd, kAvg1D.fwd}, cases);
}

TEST(Pool2DShape, Errors) {
  const std::vector<ErrorCase> cases = {
      {{DType::kF32, {-1, 1, 5, 3}},
       Pool2DAttrs{},
       {"Computed output size would be zero or negative", "inputs.shape=(None, 1, 5, 3)",
        "pool_size=(2, 2)", "strides=(2, 2)", "padding=valid",
        "Output height floor((H - pool_size[0])/strides[0]) + 1 = floor((1 - 2)/2) + 1 = 0",
        "pool_size[0] of at most 1"}},
      {{DType::kF32, {2, 8, 3, 3}},
       Pool2DAttrs{2, 5, 1, 2, Padding::kValid},
       {"Output width floor((W - pool_size[1])/strides[1]) + 1 = floor((3 - 5)/2) + 1 = 0",
        "pool_size=(2, 5)", "strides=(1, 2)", "padding=\"same\""}},
      {{DType::kF32, {4, 10, 2}},
       Pool2DAttrs{},
       {"rank 4 (batch, height, width, channels)", "(4, 10, 2)"}},
      {{DType::kF32, {4, 10, 2, 2}},
       Pool2DAttrs{0, 2, 1, 1, Padding::kValid},
       {"pool_size must be", "pool_size=(0, 2)"}},
      {{DType::kF32, {4, 10, 2, 2}},
       Pool2DAttrs{2, 2, 2, 0, Padding::kValid},
       {"strides must be", "strides=(2, 0)"}},
      {{DType::kF32, {4, 10, 2, 2}}, Pool2DAttrs{2, 2, 2, 2, Padding::kCausal}, {"\"causal\""}},
      {{DType::kI32, {4, 10, 2, 2}}, Pool2DAttrs{}, {"float32 or float64", "int32"}},
  };
  ExpectShapeErrors({kMax2D.fwd, kAvg2D.fwd}, cases);
}

TEST(GlobalPoolShape, Errors) {
  const std::vector<ErrorCase> cases = {
      {{DType::kF32, {4, 10}},
       GlobalPoolAttrs{},
       {"rank 3 (batch, steps, channels) or 4", "(4, 10)"}},
      {{DType::kF32, {4, 2, 2, 2, 2}}, GlobalPoolAttrs{true}, {"rank 3", "(4, 2, 2, 2, 2)"}},
      {{DType::kF32, {4, 0, 2}}, GlobalPoolAttrs{}, {"empty spatial axis", "(4, 0, 2)"}},
      {{DType::kI64, {4, 3, 2}}, GlobalPoolAttrs{}, {"float32 or float64", "int64"}},
  };
  ExpectShapeErrors({kGlobalMax.fwd, kGlobalAvg.fwd}, cases);
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

TEST(PoolShape, BuildersAddTheirOps) {
  Graph g;
  Value x1 = g.Placeholder({DType::kF32, {-1, 7, 2}}, "x1");
  Value x2 = g.Placeholder({DType::kF32, {-1, 7, 6, 2}}, "x2");
  const Pool2DAttrs p2{3, 2, 2, 2, Padding::kSame};
  const struct {
    absl::StatusOr<Value> y;
    const char* op;
    Shape shape;
  } cases[] = {
      {ops::MaxPool2D(g, x2, p2, "mp2"), kMax2D.fwd, {-1, 4, 3, 2}},
      {ops::AveragePool1D(g, x1, {3, 2, Padding::kValid}, "ap1"), kAvg1D.fwd, {-1, 3, 2}},
      {ops::AveragePool2D(g, x2, p2, "ap2"), kAvg2D.fwd, {-1, 4, 3, 2}},
      {ops::GlobalPool(g, x1, PoolKind::kMax, false, "gmp"), kGlobalMax.fwd, {-1, 2}},
      {ops::GlobalPool(g, x2, PoolKind::kAverage, true, "gap"), kGlobalAvg.fwd, {-1, 1, 1, 2}},
  };
  for (const auto& c : cases) {
    ASSERT_TRUE(c.y.ok()) << c.op << ": " << c.y.status();
    EXPECT_EQ(g.node(*c.y).op->name, c.op);
    EXPECT_EQ(g.type(*c.y), (TensorType{DType::kF32, c.shape})) << c.op;
    EXPECT_EQ(c.y->index, 0);
  }
  EXPECT_EQ(g.node(*cases[0].y).name, "mp2");
  auto bad = ops::AveragePool2D(g, x2, {.pool_h = 8, .stride_h = 8}, "too_tall");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("too_tall (graft.AveragePool2D)"), std::string::npos)
      << bad.status();
}

TEST(MaxPool1DBackwardShape, ChecksItsInputs) {
  const MaxPool1DAttrs a{3, 2, Padding::kSame};  // (N, 7, C) -> (N, 4, C)
  const TensorType x{DType::kF32, {-1, 7, 3}};
  auto ok = InferOp(kBwd, a, {{DType::kF32, {-1, 4, 3}}, {DType::kI32, {-1, 4, 3}}, x});
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ((*ok)[0], x);
  ExpectShapeError(kBwd, a, {{DType::kF32, {2, 3, 3}}, {DType::kI32, {2, 4, 3}}, x},
                   {"dy must have the forward output's type"});
  ExpectShapeError(kBwd, a, {{DType::kF32, {2, 4, 3}}, {DType::kF32, {2, 4, 3}}, x},
                   {"workspace must be int32"});
}

TEST(PoolBackwardShape, ChecksItsInputs) {
  const Pool2DAttrs a{3, 3, 2, 2, Padding::kSame};  // (N, 7, 6, C) -> (N, 4, 3, C)
  const TensorType x{DType::kF32, {-1, 7, 6, 3}};
  const TensorType dy{DType::kF32, {-1, 4, 3, 3}};
  auto avg = InferOp(kAvg2D.bwd, a, {dy, x});
  ASSERT_TRUE(avg.ok()) << avg.status();
  EXPECT_EQ((*avg)[0], x);
  auto max = InferOp(kMax2D.bwd, a, {dy, {DType::kI32, dy.shape}, x});
  ASSERT_TRUE(max.ok()) << max.status();
  EXPECT_EQ((*max)[0], x);
  ExpectShapeError(
      kAvg2D.bwd, a, {{DType::kF32, {2, 4, 4, 3}}, x},
      {"dy must have the forward output's type float32(None, 4, 3, 3)", "pool_size=(3, 3)"});
  ExpectShapeError(kAvg2D.bwd, a, {{DType::kF64, {2, 4, 3, 3}}, x}, {"dy must have"});
  ExpectShapeError(kMax2D.bwd, a, {dy, {DType::kI32, {2, 4, 4, 3}}, x},
                   {"workspace must be int32"});
  ExpectShapeError(kAvg1D.bwd, Pool1DAttrs{}, {{DType::kF32, {2, 4, 3}}, {DType::kF32, {2, 7, 3}}},
                   {"dy must have the forward output's type float32(2, 3, 3)"});

  const TensorType g{DType::kF32, {-1, 5, 4, 3}};
  auto gavg = InferOp(kGlobalAvg.bwd, GlobalPoolAttrs{true}, {{DType::kF32, {-1, 1, 1, 3}}, g});
  ASSERT_TRUE(gavg.ok()) << gavg.status();
  EXPECT_EQ((*gavg)[0], g);
  auto gmax = InferOp(kGlobalMax.bwd, GlobalPoolAttrs{},
                      {{DType::kF32, {-1, 3}}, {DType::kI32, {-1, 3}}, g});
  ASSERT_TRUE(gmax.ok()) << gmax.status();
  EXPECT_EQ((*gmax)[0], g);
  ExpectShapeError(kGlobalAvg.bwd, GlobalPoolAttrs{}, {{DType::kF32, {2, 1, 1, 3}}, g},
                   {"dy must have the forward output's type float32(None, 3)", "keepdims=false"});
}

// ---- fast vs reference ----------------------------------------------------------------------

// Runs op forward and backward with both kernel kinds on x and compares; for max, also checks
// that the reference workspace holds each output's argmax (flat spatial position h*W + w) and
// that the fast kernel's workspace is the same.
void ExpectFastMatchesReference(const PoolOp& op, const std::any& attrs, const Tensor& x,
                                uint64_t seed) {
  auto fast = RunOp(op.fwd, attrs, {x}, KernelKind::kFast);
  auto ref = RunOp(op.fwd, attrs, {x}, KernelKind::kReference);
  ASSERT_TRUE(fast.ok()) << fast.status();
  ASSERT_TRUE(ref.ok()) << ref.status();
  ASSERT_EQ(fast->size(), op.max() ? 2u : 1u);
  // A max is exact; an average may sum in another order.
  const double tol = op.max() ? 0 : 1e-6;
  EXPECT_TRUE(AllClose((*fast)[0], (*ref)[0], tol, tol));

  const Tensor& y = (*ref)[0];
  if (op.max()) {
    const Tensor& ws = (*ref)[1];
    ASSERT_EQ(ws.dtype(), DType::kI32);
    const int64_t n = x.shape().dim(0), ch = x.shape().dim(-1);
    const int64_t area = x.num_elements() / (n * ch), out = y.num_elements() / (n * ch);
    for (int64_t k = 0; k < y.num_elements(); ++k) {
      const int64_t b = k / (out * ch), c = k % ch;
      const int32_t p = ws.data<int32_t>()[k];
      ASSERT_GE(p, 0);
      ASSERT_LT(p, area);
      EXPECT_EQ(x.data<float>()[(b * area + p) * ch + c], y.data<float>()[k]);
    }
    const Tensor& fast_ws = (*fast)[1];
    ASSERT_EQ(fast_ws.dtype(), DType::kI32);
    ASSERT_EQ(fast_ws.num_elements(), ws.num_elements());
    for (int64_t k = 0; k < ws.num_elements(); ++k) {
      ASSERT_EQ(fast_ws.data<int32_t>()[k], ws.data<int32_t>()[k]) << "workspace entry " << k;
    }
  }

  // Each backward reads the workspace of its own kind's forward.
  Tensor dy = Random(y.shape(), seed);
  auto dx_fast = RunOp(op.bwd, attrs, BackwardInputs(op, dy, *fast, x), KernelKind::kFast);
  auto dx_ref = RunOp(op.bwd, attrs, BackwardInputs(op, dy, *ref, x), KernelKind::kReference);
  ASSERT_TRUE(dx_fast.ok()) << dx_fast.status();
  ASSERT_TRUE(dx_ref.ok()) << dx_ref.status();
  // Overlapping windows accumulate in another order (up to 9 terms of O(1) per entry).
  EXPECT_TRUE(AllClose((*dx_fast)[0], (*dx_ref)[0], 1e-5, 1e-6));
}

TEST(Pool1D, FastMatchesReferenceForwardAndBackward) {
  uint64_t seed = 10;
  for (const PoolOp& op : {kMax1D, kAvg1D}) {
    for (int64_t pool : {1, 2, 3}) {
      for (int64_t stride : {1, 2, 3}) {
        for (Padding padding : {Padding::kValid, Padding::kSame}) {
          for (int64_t length : {7, 8}) {
            for (int64_t channels : {1, 3, 16}) {
              const Pool1DAttrs a{pool, stride, padding};
              SCOPED_TRACE(absl::StrCat(op.fwd, " ", Name(a), " L=", length, " C=", channels));
              seed += 2;
              ExpectFastMatchesReference(op, a, Random({2, length, channels}, seed, -2, 2),
                                         seed + 1);
            }
          }
        }
      }
    }
  }
}

TEST(Pool2D, FastMatchesReferenceForwardAndBackward) {
  const std::vector<std::pair<int64_t, int64_t>> pools = {{1, 1}, {2, 2}, {3, 3}, {2, 1}, {3, 2}};
  const std::vector<std::pair<int64_t, int64_t>> strides = {{1, 1}, {2, 2}, {2, 1}};
  const std::vector<std::pair<int64_t, int64_t>> sizes = {{5, 6}, {6, 7}};
  uint64_t seed = 1000;
  for (const PoolOp& op : {kMax2D, kAvg2D}) {
    for (auto [ph, pw] : pools) {
      for (auto [sh, sw] : strides) {
        for (Padding padding : {Padding::kValid, Padding::kSame}) {
          for (auto [h, w] : sizes) {
            for (int64_t channels : {1, 3, 16}) {
              const Pool2DAttrs a{ph, pw, sh, sw, padding};
              SCOPED_TRACE(absl::StrCat(op.fwd, " ", Name(a), " H=", h, " W=", w, " C=", channels));
              seed += 2;
              ExpectFastMatchesReference(op, a, Random({2, h, w, channels}, seed, -2, 2), seed + 1);
            }
          }
        }
      }
    }
  }
}

TEST(GlobalPool, FastMatchesReferenceForwardAndBackward) {
  // The 20x20 window: argmax positions up to 399.
  const std::vector<Shape> shapes = {
      {2, 7, 3}, {3, 8, 16}, {2, 5, 6, 3}, {2, 4, 4, 16}, {1, 20, 20, 2}};
  uint64_t seed = 2000;
  for (const PoolOp& op : {kGlobalMax, kGlobalAvg}) {
    for (const Shape& shape : shapes) {
      for (bool keepdims : {false, true}) {
        SCOPED_TRACE(absl::StrCat(op.fwd, " ", shape.ToString(), " keepdims=", keepdims));
        seed += 2;
        ExpectFastMatchesReference(op, GlobalPoolAttrs{keepdims}, Random(shape, seed, -2, 2),
                                   seed + 1);
      }
    }
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

TEST(AveragePool1D, DividesByTheRealElementsOnly) {
  // x = [1, 2, 3, 4], pool 3, stride 1, same (pads 1, 1): windows [-,1,2] [1,2,3] [2,3,4]
  // [3,4,-] have 2, 3, 3, 2 real elements. dx[l] = sum over windows holding l of dy / count.
  Tensor x = Tensor::FromVector<float>({1, 4, 1}, {1, 2, 3, 4});
  Tensor dy = Tensor::FromVector<float>({1, 4, 1}, {6, 6, 6, 6});
  const Pool1DAttrs a{3, 1, Padding::kSame};
  for (KernelKind kind : {KernelKind::kFast, KernelKind::kReference}) {
    auto y = RunOp(kAvg1D.fwd, a, {x}, kind);
    ASSERT_TRUE(y.ok()) << y.status();
    EXPECT_TRUE(AllClose((*y)[0], Tensor::FromVector<float>({1, 4, 1}, {1.5, 2, 3, 3.5})));
    auto dx = RunOp(kAvg1D.bwd, a, {dy, x}, kind);
    ASSERT_TRUE(dx.ok()) << dx.status();
    EXPECT_TRUE(AllClose((*dx)[0], Tensor::FromVector<float>({1, 4, 1}, {5, 7, 7, 5})));
  }
}

TEST(AveragePool2D, ConstantInputStaysConstantWithSamePadding) {
  // Were padding counted, the border averages would shrink towards 0.
  Tensor x(DType::kF32, {2, 5, 4, 3});
  std::fill(x.data<float>(), x.data<float>() + x.num_elements(), 2.5f);
  for (const Pool2DAttrs& a :
       {Pool2DAttrs{3, 3, 1, 1, Padding::kSame}, Pool2DAttrs{4, 2, 3, 1, Padding::kSame}}) {
    for (KernelKind kind : {KernelKind::kFast, KernelKind::kReference}) {
      auto y = RunOp(kAvg2D.fwd, a, {x}, kind);
      ASSERT_TRUE(y.ok()) << y.status();
      for (int64_t i = 0; i < (*y)[0].num_elements(); ++i) {
        ASSERT_FLOAT_EQ((*y)[0].data<float>()[i], 2.5f) << Name(a) << " at " << i;
      }
    }
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

TEST(MaxPool2D, NegativeValuesNeverLoseToPadding) {
  // 2x2 input, pool 3, stride 2, same: one window over the whole input, pads (0, 1) each way.
  Tensor x = Tensor::FromVector<float>({1, 2, 2, 1}, {-4, -3, -2, -7});
  const Pool2DAttrs a{3, 3, 2, 2, Padding::kSame};
  for (KernelKind kind : {KernelKind::kFast, KernelKind::kReference}) {
    auto y = RunOp(kMax2D.fwd, a, {x}, kind);
    ASSERT_TRUE(y.ok()) << y.status();
    EXPECT_TRUE(AllClose((*y)[0], Tensor::FromVector<float>({1, 1, 1, 1}, {-2}), 0, 0));
  }
}

TEST(GlobalMaxPool, TiesGoToTheFirstPosition) {
  // Every value ties: both kernels route dy to position (0, 0); a second tie pair later
  // in (h, w) order never wins either.
  Tensor x = Tensor::FromVector<float>({1, 2, 3, 1}, {1, 3, 0, 3, 3, 2});
  Tensor dy = Tensor::FromVector<float>({1, 1}, {5});
  for (KernelKind kind : {KernelKind::kFast, KernelKind::kReference}) {
    auto y = RunOp(kGlobalMax.fwd, GlobalPoolAttrs{}, {x}, kind);
    ASSERT_TRUE(y.ok()) << y.status();
    EXPECT_TRUE(AllClose((*y)[0], Tensor::FromVector<float>({1, 1}, {3}), 0, 0));
    auto dx = RunOp(kGlobalMax.bwd, GlobalPoolAttrs{}, {dy, (*y)[1], x}, kind);
    ASSERT_TRUE(dx.ok()) << dx.status();
    EXPECT_TRUE(
        AllClose((*dx)[0], Tensor::FromVector<float>({1, 2, 3, 1}, {0, 5, 0, 0, 0, 0}), 0, 0));
  }
}

TEST(MaxPool1D, WideWindowsFitTheWorkspace) {
  // Argmax positions past 255 (a u8 workspace would wrap).
  ExpectFastMatchesReference(kMax1D, MaxPool1DAttrs{300, 1, Padding::kValid},
                             Distinct({1, 302, 2}, 3), 4);
}

// The fast max-pooling loops split their rows over the thread budget (ForRange): the same
// thread count gives bitwise the same y, workspace and dx, and so do 1, 2 and 3 threads (every
// output is computed by one thread, the same way). Big enough to be split.
TEST(MaxPool2D, FastKernelIsBitwiseReproducibleAcrossThreadCounts) {
  const Tensor x = Random({16, 20, 20, 24}, 77, -2, 2);
  const Pool2DAttrs a{3, 3, 2, 2, Padding::kSame};  // overlapping windows: dx accumulates
  std::vector<std::vector<Tensor>> results;
  for (int threads : {1, 2, 2, 3}) {
    SetNumThreads(threads);
    auto fwd = RunOp(kMax2D.fwd, a, {x}, KernelKind::kFast);
    ASSERT_TRUE(fwd.ok()) << fwd.status();
    const Tensor dy = Random((*fwd)[0].shape(), 78);
    auto dx = RunOp(kMax2D.bwd, a, {dy, (*fwd)[1], x}, KernelKind::kFast);
    ASSERT_TRUE(dx.ok()) << dx.status();
    results.push_back({(*fwd)[0], (*fwd)[1], (*dx)[0]});
  }
  SetNumThreads(0);
  for (size_t r = 1; r < results.size(); ++r) {
    for (size_t t = 0; t < 3; ++t) {
      const Tensor& want = results[0][t];
      const Tensor& got = results[r][t];
      ASSERT_EQ(got.num_elements(), want.num_elements());
      EXPECT_EQ(std::memcmp(got.raw_data(), want.raw_data(),
                            want.num_elements() * SizeOf(want.dtype())),
                0)
          << "run " << r << " output " << t;
    }
  }
}

// ---- gradient check -------------------------------------------------------------------------

// Distinct inputs, so a max has a unique argmax (no kink within eps).
void ExpectGradientsMatch(const PoolOp& op, const std::any& attrs, const Shape& x_shape,
                          uint64_t seed) {
  Tensor x = Distinct(x_shape, seed);
  auto report = autodiff::CheckGradients(op.fwd, attrs, {x});
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->ok) << report->ToString();
  EXPECT_EQ(report->entries_checked, x.num_elements());
}

TEST(Pool1D, GradientMatchesCentralDifferences) {
  const std::vector<MaxPool1DAttrs> configs = {{2, 2, Padding::kValid},
                                               {3, 1, Padding::kSame},
                                               {3, 2, Padding::kValid},
                                               {4, 2, Padding::kSame},
                                               {2, 3, Padding::kSame}};
  uint64_t seed = 40;
  for (const PoolOp& op : {kMax1D, kAvg1D}) {
    for (const MaxPool1DAttrs& a : configs) {
      SCOPED_TRACE(absl::StrCat(op.fwd, " ", Name(a)));
      ExpectGradientsMatch(op, a, {2, 7, 3}, ++seed);
    }
  }
}

TEST(Pool2D, GradientMatchesCentralDifferences) {
  const std::vector<Pool2DAttrs> configs = {{2, 2, 2, 2, Padding::kValid},
                                            {3, 3, 1, 1, Padding::kSame},
                                            {3, 2, 2, 1, Padding::kValid},
                                            {3, 2, 2, 1, Padding::kSame},
                                            {2, 3, 3, 2, Padding::kSame}};
  uint64_t seed = 60;
  for (const PoolOp& op : {kMax2D, kAvg2D}) {
    for (const Pool2DAttrs& a : configs) {
      SCOPED_TRACE(absl::StrCat(op.fwd, " ", Name(a)));
      ExpectGradientsMatch(op, a, {2, 5, 6, 2}, ++seed);
    }
  }
}

TEST(GlobalPool, GradientMatchesCentralDifferences) {
  uint64_t seed = 80;
  for (const PoolOp& op : {kGlobalMax, kGlobalAvg}) {
    for (const Shape& shape : {Shape{2, 5, 3}, Shape{2, 3, 4, 2}}) {
      for (bool keepdims : {false, true}) {
        SCOPED_TRACE(absl::StrCat(op.fwd, " ", shape.ToString(), " keepdims=", keepdims));
        ExpectGradientsMatch(op, GlobalPoolAttrs{keepdims}, shape, ++seed);
      }
    }
  }
}

// Compiles fetches {y, dx} of g with each kernel kind, runs them on xv and returns the outputs
// (fast first); also checks that a plan fetching only y (inference) gives the same y.
std::vector<std::vector<Tensor>> RunBothKinds(const Graph& g, Value x, Value y, Value dx,
                                              const Tensor& xv) {
  std::vector<std::vector<Tensor>> results;
  for (KernelKind kind : {KernelKind::kFast, KernelKind::kReference}) {
    auto train =
        Plan::Compile(g, {.feeds = {x}, .fetches = {y, dx}}, {xv.type()}, {.kernels = kind});
    EXPECT_TRUE(train.ok()) << train.status();
    if (!train.ok()) return {};
    std::vector<Tensor> out;
    EXPECT_TRUE((*train)->Run({xv}, &out).ok());

    auto predict = Plan::Compile(g, {.feeds = {x}, .fetches = {y}}, {xv.type()}, {.kernels = kind});
    EXPECT_TRUE(predict.ok()) << predict.status();
    if (!predict.ok()) return {};
    std::vector<Tensor> pred;
    EXPECT_TRUE((*predict)->Run({xv}, &pred).ok());
    EXPECT_TRUE(AllClose(pred[0], out[0], 0, 0));
    results.push_back(std::move(out));
  }
  return results;
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

  for (const std::vector<Tensor>& out :
       RunBothKinds(g, x, *y, (*grads)[0], Distinct({3, 9, 4}, 7))) {
    // d(sum y)/dx counts how many windows pick each element; the counts add up to |y|.
    double total = 0;
    for (int64_t i = 0; i < out[1].num_elements(); ++i) total += out[1].AsDouble(i);
    EXPECT_EQ(total, static_cast<double>(out[0].num_elements()));
  }
}

TEST(Pool2D, ChainedGradientGraphMatchesAcrossKernelKinds) {
  // x -> MaxPool2D -> AveragePool2D -> GlobalPool(max, keepdims) -> GlobalPool(average) -> sum:
  // every workspace flows into its backward op in one plan; both kernel kinds agree.
  Graph g;
  Value x = g.Placeholder({DType::kF32, {-1, 9, 8, 3}}, "x");
  auto m = ops::MaxPool2D(g, x, {3, 3, 2, 2, Padding::kSame});  // (N, 5, 4, 3)
  ASSERT_TRUE(m.ok()) << m.status();
  auto a = ops::AveragePool2D(g, *m, {2, 3, 1, 2, Padding::kSame});  // (N, 5, 2, 3)
  ASSERT_TRUE(a.ok()) << a.status();
  auto gm = ops::GlobalPool(g, *a, PoolKind::kMax, /*keepdims=*/true);  // (N, 1, 1, 3)
  ASSERT_TRUE(gm.ok()) << gm.status();
  auto y = ops::GlobalPool(g, *gm, PoolKind::kAverage, /*keepdims=*/false);  // (N, 3)
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(g.type(*y), (TensorType{DType::kF32, {-1, 3}}));
  Value loss = *g.Add("graft.ReduceSum", {*y});
  auto grads = autodiff::Gradients(g, loss, {x});
  ASSERT_TRUE(grads.ok()) << grads.status();

  auto out = RunBothKinds(g, x, *y, (*grads)[0], Distinct({2, 9, 8, 3}, 9));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(AllClose(out[0][0], out[1][0], 1e-6, 1e-7));
  EXPECT_TRUE(AllClose(out[0][1], out[1][1], 1e-6, 1e-7));
}

// ---- PyTorch golden data (tools/golden/pool1d.py, tools/golden/pool2d.py) ------------------

struct GoldenCase {
  const char* name;  // file prefix: "<generator>_<config>"
  PoolOp op;
  std::any attrs;
};

class PoolGolden : public ::testing::TestWithParam<GoldenCase> {};

TEST_P(PoolGolden, MatchesPyTorch) {
  const GoldenCase& c = GetParam();
  const std::string prefix = absl::StrCat(c.name, "_");
  Tensor x = Golden(prefix + "x");
  Tensor dy = Golden(prefix + "dy");
  ASSERT_FALSE(x.empty() || dy.empty());
  for (KernelKind kind : {KernelKind::kFast, KernelKind::kReference}) {
    SCOPED_TRACE(kind == KernelKind::kFast ? "fast" : "reference");
    auto y = RunOp(c.op.fwd, c.attrs, {x}, kind);
    ASSERT_TRUE(y.ok()) << y.status();
    EXPECT_TRUE(AllClose((*y)[0], Golden(prefix + "y")));
    auto dx = RunOp(c.op.bwd, c.attrs, BackwardInputs(c.op, dy, *y, x), kind);
    ASSERT_TRUE(dx.ok()) << dx.status();
    EXPECT_TRUE(AllClose((*dx)[0], Golden(prefix + "dx")));
  }
}

std::string GoldenName(const ::testing::TestParamInfo<GoldenCase>& info) { return info.param.name; }

INSTANTIATE_TEST_SUITE_P(
    MaxPool1D, PoolGolden,
    ::testing::Values(GoldenCase{"pool1d_default", kMax1D, Pool1DAttrs{2, 2, Padding::kValid}},
                      GoldenCase{"pool1d_valid_p3s2", kMax1D, Pool1DAttrs{3, 2, Padding::kValid}},
                      GoldenCase{"pool1d_valid_p3s3", kMax1D, Pool1DAttrs{3, 3, Padding::kValid}},
                      GoldenCase{"pool1d_same_p3s1", kMax1D, Pool1DAttrs{3, 1, Padding::kSame}},
                      GoldenCase{"pool1d_same_p2s1", kMax1D, Pool1DAttrs{2, 1, Padding::kSame}},
                      GoldenCase{"pool1d_same_p4s2", kMax1D, Pool1DAttrs{4, 2, Padding::kSame}}),
    GoldenName);

INSTANTIATE_TEST_SUITE_P(
    Pool2D, PoolGolden,
    ::testing::Values(
        GoldenCase{"pool2d_max_valid_p2", kMax2D, Pool2DAttrs{2, 2, 2, 2, Padding::kValid}},
        GoldenCase{"pool2d_max_same_p3s2", kMax2D, Pool2DAttrs{3, 3, 2, 2, Padding::kSame}},
        GoldenCase{"pool2d_max_same_p32s21", kMax2D, Pool2DAttrs{3, 2, 2, 1, Padding::kSame}},
        GoldenCase{"pool2d_max_valid_p3s1", kMax2D, Pool2DAttrs{3, 3, 1, 1, Padding::kValid}},
        GoldenCase{"pool2d_avg_same_p3s2", kAvg2D, Pool2DAttrs{3, 3, 2, 2, Padding::kSame}},
        GoldenCase{"pool2d_avg_same_p2s1", kAvg2D, Pool2DAttrs{2, 2, 1, 1, Padding::kSame}},
        GoldenCase{"pool2d_avg_valid_p32s21", kAvg2D, Pool2DAttrs{3, 2, 2, 1, Padding::kValid}},
        GoldenCase{"pool2d_avg1d_same_p4s2", kAvg1D, Pool1DAttrs{4, 2, Padding::kSame}},
        GoldenCase{"pool2d_avg1d_valid_p3s2", kAvg1D, Pool1DAttrs{3, 2, Padding::kValid}},
        GoldenCase{"pool2d_global_max", kGlobalMax, GlobalPoolAttrs{false}},
        GoldenCase{"pool2d_global_max1d_keepdims", kGlobalMax, GlobalPoolAttrs{true}},
        GoldenCase{"pool2d_global_avg_keepdims", kGlobalAvg, GlobalPoolAttrs{true}},
        GoldenCase{"pool2d_global_avg1d", kGlobalAvg, GlobalPoolAttrs{false}}),
    GoldenName);

}  // namespace
}  // namespace graft
