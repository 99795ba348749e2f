#include "ops/reshape.h"

#include <string>
#include <vector>

#include "autodiff/grad_check.h"
#include "autodiff/gradients.h"
#include "gtest/gtest.h"
#include "runtime/plan.h"
#include "tests/testing.h"

namespace graft {
namespace {

using ::graft::testing::Contains;
using ::graft::testing::F32;

using ::graft::ops::ReshapeAttrs;
using ::graft::testing::AllClose;
using ::graft::testing::InferOp;
using ::graft::testing::Random;
using ::graft::testing::RunOp;

// ---- shapes ---------------------------------------------------------------------------------

struct ShapeCase {
  Shape x;
  std::vector<int64_t> target;
  Shape want;         // ignored when `error` is set
  std::string error;  // expected substring of the error
};

class ReshapeShapes : public ::testing::TestWithParam<ShapeCase> {};

TEST_P(ReshapeShapes, InferOrExplain) {
  const ShapeCase& c = GetParam();
  auto got = InferOp("graft.Reshape", ReshapeAttrs{c.target}, {F32(c.x)});
  if (!c.error.empty()) {
    ASSERT_FALSE(got.ok()) << "expected an error containing: " << c.error;
    EXPECT_TRUE(Contains(got.status().message(), c.error)) << got.status();
    EXPECT_TRUE(Contains(got.status().message(), "(graft.Reshape): ")) << got.status();
    return;
  }
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ((*got)[0].shape, c.want) << (*got)[0].ToString();
}

INSTANTIATE_TEST_SUITE_P(
    Table, ReshapeShapes,
    ::testing::Values(
        ShapeCase{{-1, 4, 5}, {20}, {-1, 20}}, ShapeCase{{-1, 4, 5}, {-1}, {-1, 20}},
        ShapeCase{{-1, 4, 5}, {2, -1}, {-1, 2, 10}},
        ShapeCase{{-1, 4, 5}, {5, 2, 2}, {-1, 5, 2, 2}}, ShapeCase{{3, 4, 5}, {-1, 4}, {3, 5, 4}},
        ShapeCase{{-1, 1}, {}, {-1}}, ShapeCase{{-1}, {1}, {-1, 1}}, ShapeCase{{-1}, {-1}, {-1, 1}},
        ShapeCase{{-1, 0, 3}, {-1}, {-1, 0}},
        ShapeCase{{-1, 4, 5},
                  {3, 7},
                  {},
                  "cannot reshape (None, 4, 5) (20 values per sample) to (3, 7) "
                  "(21 values per sample)"},
        ShapeCase{{2, 4, 5}, {21}, {}, "cannot reshape (2, 4, 5) (20 values per sample) to (21,)"},
        ShapeCase{{-1, 4, 5},
                  {3, -1},
                  {},
                  "cannot reshape (None, 4, 5) (20 values per sample) to (3, -1): 20 is not "
                  "divisible by 3"},
        ShapeCase{{-1, 4, 5}, {-1, -1}, {}, "at most one target dimension may be -1"},
        ShapeCase{{-1, 4, 5}, {0, 20}, {}, "must be positive"},
        ShapeCase{{-1, 4, 5}, {-2, -10}, {}, "must be positive"},
        ShapeCase{{-1, -1, 5}, {-1}, {}, "only the batch dimension may be unknown"},
        ShapeCase{{}, {1}, {}, "batch dimension"}));

TEST(Flatten, ShapesAsKeras) {
  struct Case {
    Shape x, want;
  };
  for (const Case& c : {Case{{-1, 48, 32}, {-1, 1536}}, Case{{-1, 15, 15, 32}, {-1, 7200}},
                        Case{{-1}, {-1, 1}}, Case{{2, 3}, {2, 3}}, Case{{4, 1, 1, 1}, {4, 1}}}) {
    Graph g;
    Value x = g.Placeholder(F32(c.x), "x");
    absl::StatusOr<Value> y = ops::Flatten(g, x);
    ASSERT_TRUE(y.ok()) << y.status();
    EXPECT_EQ(g.type(*y).shape, c.want) << c.x.ToString();
    EXPECT_EQ(g.node(*y).op->name, "graft.Reshape");
  }
}

TEST(Flatten, NamesTheNode) {
  Graph g;
  Value x = g.Placeholder(F32({-1, 3}), "x");
  absl::StatusOr<Value> a = ops::Flatten(g, x);
  absl::StatusOr<Value> b = ops::Flatten(g, x, "flatten");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(g.node(*a).name, "Flatten");
  EXPECT_EQ(g.node(*b).name, "flatten");
  Value s = g.Constant(Tensor::Scalar<float>(1.f), "s");
  absl::StatusOr<Value> bad = ops::Flatten(g, s, "flatten_s");
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(Contains(bad.status().message(), "flatten_s (graft.Reshape): ")) << bad.status();
}

TEST(Reshape, BuilderErrorNamesTheNode) {
  Graph g;
  Value x = g.Placeholder(F32({-1, 4, 5}), "x");
  absl::StatusOr<Value> y = ops::Reshape(g, x, {3, 7}, "reshape");
  ASSERT_FALSE(y.ok());
  EXPECT_EQ(y.status().message(),
            "reshape (graft.Reshape): cannot reshape (None, 4, 5) (20 values per sample) to "
            "(3, 7) (21 values per sample)");
  absl::StatusOr<Value> ok = ops::Reshape(g, x, {10, -1}, "reshape");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(g.type(*ok).shape, Shape({-1, 10, 2}));
}

// ---- kernels --------------------------------------------------------------------------------

// Channels-last (N, H, W, C) flattens in (H, W, C) order: y[n, (h*W + w)*C + c] = x[n, h, w, c].
TEST(Flatten, RowMajorHwcOrder) {
  const int64_t n = 2, h = 3, w = 4, ch = 2;
  std::vector<float> values(n * h * w * ch);
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i) * 0.5f - 7;
  Tensor x = Tensor::FromVector<float>({n, h, w, ch}, values);
  for (KernelKind kind : {KernelKind::kFast, KernelKind::kReference}) {
    auto y = RunOp("graft.Reshape", ReshapeAttrs{{-1}}, {x}, kind);
    ASSERT_TRUE(y.ok()) << y.status();
    const Tensor& out = (*y)[0];
    ASSERT_EQ(out.shape(), Shape({n, h * w * ch}));
    for (int64_t in = 0; in < n; ++in) {
      for (int64_t ih = 0; ih < h; ++ih) {
        for (int64_t iw = 0; iw < w; ++iw) {
          for (int64_t ic = 0; ic < ch; ++ic) {
            const float want = values[((in * h + ih) * w + iw) * ch + ic];
            const float got = out.data<float>()[in * (h * w * ch) + (ih * w + iw) * ch + ic];
            ASSERT_EQ(got, want) << "n=" << in << " h=" << ih << " w=" << iw << " c=" << ic;
          }
        }
      }
    }
  }
}

TEST(Reshape, KernelsKeepTheFlatBuffer) {
  Tensor x = Random({3, 4, 5}, 1);
  for (DType t : {DType::kF32, DType::kF64}) {
    Tensor xt = x.CastTo(t);
    for (KernelKind kind : {KernelKind::kFast, KernelKind::kReference}) {
      auto y = RunOp("graft.Reshape", ReshapeAttrs{{2, -1, 5}}, {xt}, kind);
      ASSERT_TRUE(y.ok()) << y.status();
      EXPECT_EQ((*y)[0].shape(), Shape({3, 2, 2, 5}));
      EXPECT_EQ((*y)[0].dtype(), t);
      EXPECT_TRUE(AllClose((*y)[0].Reshaped(xt.shape()).value(), xt, 0, 0));
    }
  }
}

TEST(Reshape, IntegerTensors) {
  Tensor labels = Tensor::FromVector<int64_t>({4, 1}, {3, 1, 4, 1});
  for (KernelKind kind : {KernelKind::kFast, KernelKind::kReference}) {
    auto y = RunOp("graft.Reshape", ReshapeAttrs{{}}, {labels}, kind);
    ASSERT_TRUE(y.ok()) << y.status();
    EXPECT_EQ((*y)[0].shape(), Shape({4}));
    EXPECT_EQ((*y)[0].dtype(), DType::kI64);
    EXPECT_EQ((*y)[0].ToVector<int64_t>(), std::vector<int64_t>({3, 1, 4, 1}));
  }
}

// ---- gradients ------------------------------------------------------------------------------

TEST(ReshapeGradients, Reshape) {
  auto r = autodiff::CheckGradients("graft.Reshape", ReshapeAttrs{{2, -1}}, {Random({3, 4, 5}, 2)});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->ok) << r->ToString();
  EXPECT_EQ(r->entries_checked, 60);
}

TEST(ReshapeGradients, Flatten) {
  auto r = autodiff::CheckGradients("graft.Reshape", ReshapeAttrs{{-1}}, {Random({2, 3, 2, 2}, 3)});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->ok) << r->ToString();
  EXPECT_EQ(r->entries_checked, 24);
}

TEST(ReshapeGradients, FlattenRank1) {
  auto r = autodiff::CheckGradients("graft.Reshape", ReshapeAttrs{{-1}}, {Random({5}, 4)});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->ok) << r->ToString();
  EXPECT_EQ(r->entries_checked, 5);
}

// The backward node is a Reshape back to x's per-sample shape; it keeps the unknown batch and
// does not read x.
TEST(ReshapeGradients, GradientIsAReshapeBack) {
  Graph g;
  Value x = g.Placeholder(F32({-1, 3, 4}), "x");
  absl::StatusOr<Value> y = ops::Flatten(g, x, "flatten");
  ASSERT_TRUE(y.ok()) << y.status();
  absl::StatusOr<Value> loss = g.Add("graft.ReduceSum", {*y});
  ASSERT_TRUE(loss.ok()) << loss.status();
  auto grads = autodiff::Gradients(g, *loss, {x});
  ASSERT_TRUE(grads.ok()) << grads.status();
  EXPECT_EQ(g.type((*grads)[0]), F32({-1, 3, 4}));
  const Node& back = g.node((*grads)[0]);
  EXPECT_EQ(back.op->name, "graft.Reshape");
  EXPECT_EQ(back.attrs_as<ReshapeAttrs>().target, std::vector<int64_t>({3, 4}));
  EXPECT_NE(back.inputs[0], x);

  Tensor xv = Random({2, 3, 4}, 5);
  for (KernelKind kind : {KernelKind::kFast, KernelKind::kReference}) {
    auto plan = Plan::Compile(g, {.feeds = {x}, .fetches = {*y, (*grads)[0]}}, {xv.type()},
                              {.kernels = kind});
    ASSERT_TRUE(plan.ok()) << plan.status();
    std::vector<Tensor> out;
    ASSERT_TRUE((*plan)->Run({xv}, &out).ok());
    EXPECT_EQ(out[0].shape(), Shape({2, 12}));
    EXPECT_TRUE(AllClose(out[1], Tensor::FromVector<float>({2, 3, 4}, std::vector<float>(24, 1))));
  }
}

}  // namespace
}  // namespace graft
