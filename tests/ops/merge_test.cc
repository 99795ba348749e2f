// The merge ops (ops/merge.h): Sub, Maximum, Minimum, Concat, Slice; and the Add / Multiply
// builders of ops/elementwise.h.
#include "ops/merge.h"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "autodiff/grad_check.h"
#include "autodiff/gradients.h"
#include "gtest/gtest.h"
#include "ops/elementwise.h"
#include "runtime/plan.h"
#include "runtime/threads.h"
#include "tests/testing.h"

namespace graft {
namespace {

using ::graft::testing::Contains;
using ::graft::testing::F32;

using ::graft::ops::ConcatAttrs;
using ::graft::ops::SliceAttrs;
using ::graft::testing::AllClose;
using ::graft::testing::Golden;
using ::graft::testing::InferOp;
using ::graft::testing::Random;
using ::graft::testing::RunOp;

constexpr KernelKind kKinds[] = {KernelKind::kFast, KernelKind::kReference};

// ---- binary ops -----------------------------------------------------------------------------

TEST(Binary, Values) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  Tensor a = Tensor::FromVector<float>({2, 3}, {1, -2, 3, 0.5f, 4, nan});
  Tensor b = Tensor::FromVector<float>({2, 3}, {4, 5, -1, 0.5f, nan, 2});
  for (KernelKind kind : kKinds) {
    std::vector<float> sub = (*RunOp("graft.Sub", NoAttrs{}, {a, b}, kind))[0].ToVector<float>();
    std::vector<float> max =
        (*RunOp("graft.Maximum", NoAttrs{}, {a, b}, kind))[0].ToVector<float>();
    std::vector<float> min =
        (*RunOp("graft.Minimum", NoAttrs{}, {a, b}, kind))[0].ToVector<float>();
    for (int i = 0; i < 4; ++i) {
      EXPECT_EQ(sub[i], (std::vector<float>{-3, -7, 4, 0})[i]) << i;
      EXPECT_EQ(max[i], (std::vector<float>{4, 5, 3, 0.5f})[i]) << i;
      EXPECT_EQ(min[i], (std::vector<float>{1, -2, -1, 0.5f})[i]) << i;
    }
    // NaN in either input gives NaN, as torch.maximum / torch.minimum.
    for (int i = 4; i < 6; ++i) {
      EXPECT_TRUE(std::isnan(max[i]) && std::isnan(min[i]) && std::isnan(sub[i])) << i;
    }
  }
}

TEST(Binary, FastMatchesReferenceOnLargeInputs) {
  Tensor a = Random({300, 301}, 1), b = Random({300, 301}, 2), dy = Random({300, 301}, 3);
  for (const char* op : {"graft.Sub", "graft.Maximum", "graft.Minimum"}) {
    auto fast = RunOp(op, NoAttrs{}, {a, b}, KernelKind::kFast);
    auto ref = RunOp(op, NoAttrs{}, {a, b}, KernelKind::kReference);
    ASSERT_TRUE(fast.ok() && ref.ok()) << op;
    EXPECT_TRUE(AllClose((*fast)[0], (*ref)[0], 0, 0)) << op;
  }
  for (const char* op : {"graft.MaximumBackward", "graft.MinimumBackward"}) {
    auto fast = RunOp(op, NoAttrs{}, {dy, a, b}, KernelKind::kFast);
    auto ref = RunOp(op, NoAttrs{}, {dy, a, b}, KernelKind::kReference);
    ASSERT_TRUE(fast.ok() && ref.ok()) << op;
    EXPECT_TRUE(AllClose((*fast)[0], (*ref)[0], 0, 0)) << op;
    EXPECT_TRUE(AllClose((*fast)[1], (*ref)[1], 0, 0)) << op;
  }
}

TEST(Binary, ShapeErrorsNameBothTypes) {
  for (const char* op : {"graft.Sub", "graft.Maximum", "graft.Minimum"}) {
    auto r = InferOp(op, NoAttrs{}, {F32({-1, 3}), F32({-1, 4})});
    ASSERT_FALSE(r.ok()) << op;
    EXPECT_TRUE(Contains(r.status().message(),
                         "inputs must have equal types (no broadcasting), got float32(None, 3) "
                         "and float32(None, 4)"))
        << r.status();
    r = InferOp(op, NoAttrs{}, {F32({2, 3}), {DType::kF64, {2, 3}}});
    ASSERT_FALSE(r.ok()) << op;
    EXPECT_TRUE(Contains(r.status().message(), "float32(2, 3) and float64(2, 3)")) << r.status();
    auto ok = InferOp(op, NoAttrs{}, {F32({-1, 3, 2}), F32({-1, 3, 2})});
    ASSERT_TRUE(ok.ok()) << ok.status();
    EXPECT_EQ((*ok)[0], F32({-1, 3, 2}));
  }
}

TEST(Binary, BuildersNameTheirNodes) {
  Graph g;
  Value a = g.Placeholder(F32({-1, 4}), "a"), b = g.Placeholder(F32({-1, 4}), "b");
  struct Case {
    absl::StatusOr<Value> y;
    const char* op;
  };
  const Case cases[] = {
      {ops::Add(g, a, b, "add"), "graft.Add"},
      {ops::Multiply(g, a, b, "multiply"), "graft.Mul"},
      {ops::Subtract(g, a, b, "subtract"), "graft.Sub"},
      {ops::Maximum(g, a, b, "maximum"), "graft.Maximum"},
      {ops::Minimum(g, a, b, "minimum"), "graft.Minimum"},
  };
  for (const Case& c : cases) {
    ASSERT_TRUE(c.y.ok()) << c.y.status();
    EXPECT_EQ(g.node(*c.y).op->name, c.op);
    EXPECT_EQ(g.type(*c.y), F32({-1, 4}));
  }
  EXPECT_EQ(g.node(*cases[2].y).name, "subtract");
  Value c = g.Placeholder(F32({-1, 5}), "c");
  absl::StatusOr<Value> bad = ops::Maximum(g, a, c, "maximum");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "maximum (graft.Maximum): inputs must have equal types (no broadcasting), got float32"
            "(None, 4) and float32(None, 5)");
}

TEST(BinaryGradients, CentralDifferences) {
  Tensor a = Random({3, 4}, 5), b = Random({3, 4}, 6);
  for (const char* op : {"graft.Sub", "graft.Maximum", "graft.Minimum"}) {
    auto r = autodiff::CheckGradients(op, NoAttrs{}, {a, b});
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_TRUE(r->ok) << op << ": " << r->ToString();
    EXPECT_EQ(r->entries_checked, 24);
  }
}

// A tie's gradient is split evenly (PyTorch's rule), which is also what the central difference
// sees there: (max(a + e, a) - max(a - e, a)) / 2e = 1/2.
TEST(BinaryGradients, TiesSplitEvenly) {
  Tensor a = Tensor::FromVector<float>({4}, {1, 2, -3, 0.5f});
  Tensor b = Tensor::FromVector<float>({4}, {1, 1, -3, 2});
  Tensor dy = Tensor::FromVector<float>({4}, {0.8f, 0.8f, -0.4f, 0.8f});
  for (KernelKind kind : kKinds) {
    auto max = RunOp("graft.MaximumBackward", NoAttrs{}, {dy, a, b}, kind);
    ASSERT_TRUE(max.ok()) << max.status();
    EXPECT_EQ((*max)[0].ToVector<float>(), (std::vector<float>{0.4f, 0.8f, -0.2f, 0}));
    EXPECT_EQ((*max)[1].ToVector<float>(), (std::vector<float>{0.4f, 0, -0.2f, 0.8f}));
    auto min = RunOp("graft.MinimumBackward", NoAttrs{}, {dy, a, b}, kind);
    ASSERT_TRUE(min.ok()) << min.status();
    EXPECT_EQ((*min)[0].ToVector<float>(), (std::vector<float>{0.4f, 0, -0.2f, 0.8f}));
    EXPECT_EQ((*min)[1].ToVector<float>(), (std::vector<float>{0.4f, 0.8f, -0.2f, 0}));
  }
  for (const char* op : {"graft.Maximum", "graft.Minimum"}) {
    auto r = autodiff::CheckGradients(op, NoAttrs{}, {a, b});
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_TRUE(r->ok) << op << ": " << r->ToString();
  }
}

// Sub's gradient for b is graft.Scale(dy, -1); a gets dy itself.
TEST(BinaryGradients, SubNodes) {
  Graph g;
  Value a = g.Placeholder(F32({-1, 3}), "a"), b = g.Placeholder(F32({-1, 3}), "b");
  absl::StatusOr<Value> y = ops::Subtract(g, a, b);
  ASSERT_TRUE(y.ok());
  absl::StatusOr<Value> loss = g.Add("graft.ReduceSum", {*y});
  ASSERT_TRUE(loss.ok());
  auto grads = autodiff::Gradients(g, *loss, {a, b});
  ASSERT_TRUE(grads.ok()) << grads.status();
  EXPECT_EQ(g.node((*grads)[1]).op->name, "graft.Scale");
  EXPECT_EQ(g.node((*grads)[1]).attrs_as<ops::ScaleAttrs>().alpha, -1.0);
}

struct BinaryGolden {
  const char* name;
  const char* op;
  const char* backward;  // "" for Sub (its gradient is checked through autodiff)
};

class MergeGolden : public ::testing::TestWithParam<BinaryGolden> {};

TEST_P(MergeGolden, MatchesPyTorch) {
  const BinaryGolden& c = GetParam();
  const std::string prefix = absl::StrCat("merge_", c.name, "_");
  Tensor a = Golden(prefix + "a"), b = Golden(prefix + "b"), dy = Golden(prefix + "dy");
  for (KernelKind kind : kKinds) {
    SCOPED_TRACE(kind == KernelKind::kFast ? "fast" : "reference");
    auto y = RunOp(c.op, NoAttrs{}, {a, b}, kind);
    ASSERT_TRUE(y.ok()) << y.status();
    EXPECT_TRUE(AllClose((*y)[0], Golden(prefix + "y")));
  }
  // The gradient through autodiff's own nodes, in a plan.
  Graph g;
  Value pa = g.Placeholder(a.type(), "a"), pb = g.Placeholder(b.type(), "b");
  Value pdy = g.Placeholder(dy.type(), "dy");
  absl::StatusOr<Value> y = g.Add(c.op, {pa, pb});
  ASSERT_TRUE(y.ok());
  absl::StatusOr<Value> weighted = ops::Multiply(g, *y, pdy);
  ASSERT_TRUE(weighted.ok());
  absl::StatusOr<Value> loss = g.Add("graft.ReduceSum", {*weighted});
  ASSERT_TRUE(loss.ok());
  auto grads = autodiff::Gradients(g, *loss, {pa, pb});
  ASSERT_TRUE(grads.ok()) << grads.status();
  if (*c.backward) EXPECT_EQ(g.node((*grads)[0]).op->name, c.backward);
  for (KernelKind kind : kKinds) {
    SCOPED_TRACE(kind == KernelKind::kFast ? "fast" : "reference");
    auto plan = Plan::Compile(g, {.feeds = {pa, pb, pdy}, .fetches = *grads},
                              {a.type(), b.type(), dy.type()}, {.kernels = kind});
    ASSERT_TRUE(plan.ok()) << plan.status();
    std::vector<Tensor> out;
    ASSERT_TRUE((*plan)->Run({a, b, dy}, &out).ok());
    EXPECT_TRUE(AllClose(out[0], Golden(prefix + "da")));
    EXPECT_TRUE(AllClose(out[1], Golden(prefix + "db")));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Ops, MergeGolden,
    ::testing::Values(BinaryGolden{"sub", "graft.Sub", ""},
                      BinaryGolden{"maximum", "graft.Maximum", "graft.MaximumBackward"},
                      BinaryGolden{"minimum", "graft.Minimum", "graft.MinimumBackward"}),
    [](const auto& info) { return std::string(info.param.name); });

// ---- Concat ---------------------------------------------------------------------------------

struct ConcatShapeCase {
  std::vector<Shape> in;
  int64_t axis;
  Shape want;         // ignored when `error` is set
  std::string error;  // expected substring
};

class ConcatShapes : public ::testing::TestWithParam<ConcatShapeCase> {};

TEST_P(ConcatShapes, InferOrExplain) {
  const ConcatShapeCase& c = GetParam();
  std::vector<TensorType> types;
  for (const Shape& s : c.in) types.push_back(F32(s));
  auto got = InferOp("graft.Concat", ConcatAttrs{c.axis}, types);
  if (!c.error.empty()) {
    ASSERT_FALSE(got.ok()) << "expected an error containing: " << c.error;
    EXPECT_TRUE(Contains(got.status().message(), c.error)) << got.status();
    EXPECT_TRUE(Contains(got.status().message(), "(graft.Concat): ")) << got.status();
    return;
  }
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ((*got)[0].shape, c.want) << (*got)[0].ToString();
}

INSTANTIATE_TEST_SUITE_P(
    Table, ConcatShapes,
    ::testing::Values(
        ConcatShapeCase{{{-1, 4, 5}, {-1, 4, 6}}, -1, {-1, 4, 11}},
        ConcatShapeCase{{{-1, 4, 5}, {-1, 4, 6}}, 2, {-1, 4, 11}},
        ConcatShapeCase{{{-1, 2, 5}, {-1, 3, 5}, {-1, 1, 5}}, 1, {-1, 6, 5}},
        ConcatShapeCase{{{-1, 2, 5}, {-1, 3, 5}}, -2, {-1, 5, 5}},
        ConcatShapeCase{{{-1, 8, 8, 3}, {-1, 8, 8, 16}}, -1, {-1, 8, 8, 19}},
        ConcatShapeCase{{{-1, 7}}, -1, {-1, 7}},  // one input: a copy
        ConcatShapeCase{{{2, 7}, {3, 7}}, 0, {5, 7}},
        ConcatShapeCase{{{-1, 7}, {3, 7}}, 0, {-1, 7}},
        ConcatShapeCase{{{-1, 7}, {-1, 7}}, 0, {-1, 7}},  // the batch: unknown stays unknown
        ConcatShapeCase{{{-1, 0, 3}, {-1, 2, 3}}, 1, {-1, 2, 3}},
        ConcatShapeCase{{{-1, 4, 5}, {-1, 3, 6}},
                        -1,
                        {},
                        "inputs must have equal dtypes, ranks and dimensions except on the "
                        "concatenation axis 2 (axis=-1), got float32(None, 4, 5) (input 0) and "
                        "float32(None, 3, 6) (input 1)"},
        ConcatShapeCase{{{-1, 4, 5}, {-1, 4, 5}, {-1, 4}}, 1, {}, "(None, 4) (input 2)"},
        ConcatShapeCase{{{-1, 4, 5}, {-1, 4, 5}},
                        3,
                        {},
                        "axis 3 is out of range for input shape (None, 4, 5) (rank 3): expected "
                        "an axis in [-3, 3)"},
        ConcatShapeCase{{{-1, 4, 5}, {-1, 4, 5}}, -4, {}, "axis -4 is out of range"},
        ConcatShapeCase{{{}, {}}, 0, {}, "cannot concatenate scalars"}));

TEST(Concat, DTypesMustMatch) {
  auto r = InferOp("graft.Concat", ConcatAttrs{-1}, {F32({2, 3}), {DType::kF64, {2, 3}}});
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(Contains(r.status().message(), "float32(2, 3) (input 0) and float64(2, 3)"))
      << r.status();
}

TEST(Concat, BuilderTakesManyInputs) {
  Graph g;
  std::vector<Value> xs;
  for (int i = 1; i <= 5; ++i) xs.push_back(g.Placeholder(F32({-1, 3, i}), absl::StrCat("x", i)));
  absl::StatusOr<Value> y = ops::Concatenate(g, xs, -1, "concatenate");
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(g.type(*y), F32({-1, 3, 15}));
  EXPECT_EQ(g.node(*y).name, "concatenate");
  EXPECT_EQ(g.node(*y).inputs.size(), 5u);
  absl::StatusOr<Value> none = ops::Concatenate(g, {}, -1, "empty");
  ASSERT_FALSE(none.ok());
  EXPECT_TRUE(Contains(none.status().message(), "needs at least one input")) << none.status();
  // The graph's arity check: a variadic op takes one or more.
  absl::StatusOr<Value> raw = g.Add("graft.Concat", {}, ConcatAttrs{});
  ASSERT_FALSE(raw.ok());
  EXPECT_TRUE(Contains(raw.status().message(), "takes 1 to any number of inputs, got 0"))
      << raw.status();
}

// Every axis of a rank-4 tensor, 3 inputs; the fast kernel (split over threads on large rows)
// equals the reference exactly (both are copies).
TEST(Concat, FastMatchesReference) {
  SetNumThreads(2);
  for (int64_t axis = -4; axis < 4; ++axis) {
    const int a = static_cast<int>(axis < 0 ? axis + 4 : axis);
    std::vector<Tensor> xs;
    for (int i = 0; i < 3; ++i) {
      std::vector<int64_t> dims = {3, 40, 30, 20};
      dims[a] = 2 + i;
      xs.push_back(Random(Shape(dims), 10 + i));
    }
    auto fast = RunOp("graft.Concat", ConcatAttrs{axis}, xs, KernelKind::kFast);
    auto ref = RunOp("graft.Concat", ConcatAttrs{axis}, xs, KernelKind::kReference);
    ASSERT_TRUE(fast.ok() && ref.ok()) << axis;
    EXPECT_EQ((*fast)[0].shape().dim(a), 9);
    EXPECT_TRUE(AllClose((*fast)[0], (*ref)[0], 0, 0)) << axis;
  }
  SetNumThreads(0);
}

TEST(Concat, ValuesInOrder) {
  Tensor a = Tensor::FromVector<float>({2, 1}, {1, 2});
  Tensor b = Tensor::FromVector<float>({2, 2}, {3, 4, 5, 6});
  for (KernelKind kind : kKinds) {
    auto y = RunOp("graft.Concat", ConcatAttrs{-1}, {a, b}, kind);
    ASSERT_TRUE(y.ok()) << y.status();
    EXPECT_EQ((*y)[0].ToVector<float>(), (std::vector<float>{1, 3, 4, 2, 5, 6}));
    y = RunOp("graft.Concat", ConcatAttrs{0}, {b, b}, kind);
    ASSERT_TRUE(y.ok()) << y.status();
    EXPECT_EQ((*y)[0].ToVector<float>(), (std::vector<float>{3, 4, 5, 6, 3, 4, 5, 6}));
  }
}

TEST(ConcatGradients, CentralDifferences) {
  for (int64_t axis : {-1, 1, 0}) {
    std::vector<Tensor> xs = {Random({2, 3, 2}, 20), Random({2, 3, 2}, 21), Random({2, 3, 2}, 22)};
    auto r = autodiff::CheckGradients("graft.Concat", ConcatAttrs{axis}, xs);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_TRUE(r->ok) << axis << ": " << r->ToString();
    EXPECT_EQ(r->entries_checked, 36);
  }
  auto r = autodiff::CheckGradients("graft.Concat", ConcatAttrs{-1},
                                    {Random({2, 3, 1}, 23), Random({2, 3, 4}, 24)});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->ok) << r->ToString();
}

// The gradient of each input is a Slice of dy at its offset.
TEST(ConcatGradients, SlicesAtOffsets) {
  Graph g;
  Value a = g.Placeholder(F32({-1, 3, 2}), "a"), b = g.Placeholder(F32({-1, 3, 5}), "b");
  absl::StatusOr<Value> y = ops::Concatenate(g, {a, b});
  ASSERT_TRUE(y.ok());
  absl::StatusOr<Value> loss = g.Add("graft.ReduceSum", {*y});
  ASSERT_TRUE(loss.ok());
  auto grads = autodiff::Gradients(g, *loss, {a, b});
  ASSERT_TRUE(grads.ok()) << grads.status();
  const Node& da = g.node((*grads)[0]);
  const Node& db = g.node((*grads)[1]);
  EXPECT_EQ(da.op->name, "graft.Slice");
  EXPECT_EQ(da.attrs_as<SliceAttrs>().axis, 2);
  EXPECT_EQ(da.attrs_as<SliceAttrs>().begin, 0);
  EXPECT_EQ(da.attrs_as<SliceAttrs>().size, 2);
  EXPECT_EQ(db.attrs_as<SliceAttrs>().begin, 2);
  EXPECT_EQ(db.attrs_as<SliceAttrs>().size, 5);
  EXPECT_EQ(g.type((*grads)[1]), F32({-1, 3, 5}));
}

// Along an unknown batch the forward works, the gradient cannot size its slices: an error that
// names the node, not a wrong graph.
TEST(ConcatGradients, UnknownBatchAxisIsAnError) {
  Graph g;
  Value a = g.Placeholder(F32({-1, 3}), "a"), b = g.Placeholder(F32({-1, 3}), "b");
  absl::StatusOr<Value> y = ops::Concatenate(g, {a, b}, 0, "stack");
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(g.type(*y), F32({-1, 3}));
  absl::StatusOr<Value> loss = g.Add("graft.ReduceSum", {*y});
  ASSERT_TRUE(loss.ok());
  auto grads = autodiff::Gradients(g, *loss, {a, b});
  ASSERT_FALSE(grads.ok());
  EXPECT_TRUE(Contains(grads.status().message(),
                       "stack (graft.Concat): the gradient needs known sizes along axis 0"))
      << grads.status();
}

TEST(Slice, ShapesAndErrors) {
  auto ok = InferOp("graft.Slice", SliceAttrs{-1, 2, 3}, {F32({-1, 4, 5})});
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ((*ok)[0], F32({-1, 4, 3}));
  auto bad = InferOp("graft.Slice", SliceAttrs{-1, 3, 3}, {F32({-1, 4, 5})});
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(Contains(bad.status().message(),
                       "cannot take [3, 6) of axis 2 (axis=-1) of "
                       "float32(None, 4, 5)"))
      << bad.status();
  bad = InferOp("graft.Slice", SliceAttrs{0, 0, 1}, {F32({-1, 4, 5})});
  ASSERT_FALSE(bad.ok());
  Tensor x = Random({3, 5, 4}, 30);
  for (int64_t axis : {0, 1, 2}) {
    auto fast = RunOp("graft.Slice", SliceAttrs{axis, 1, 2}, {x}, KernelKind::kFast);
    auto ref = RunOp("graft.Slice", SliceAttrs{axis, 1, 2}, {x}, KernelKind::kReference);
    ASSERT_TRUE(fast.ok() && ref.ok());
    EXPECT_EQ((*fast)[0].shape().dim(static_cast<int>(axis)), 2);
    EXPECT_TRUE(AllClose((*fast)[0], (*ref)[0], 0, 0));
  }
}

struct ConcatGolden {
  const char* name;
  int64_t axis;
  int inputs;
};

class ConcatGoldenTest : public ::testing::TestWithParam<ConcatGolden> {};

TEST_P(ConcatGoldenTest, MatchesPyTorch) {
  const ConcatGolden& c = GetParam();
  const std::string prefix = absl::StrCat("concat_", c.name, "_");
  std::vector<Tensor> xs;
  for (int i = 0; i < c.inputs; ++i) xs.push_back(Golden(absl::StrCat(prefix, "x", i)));
  Tensor dy = Golden(prefix + "dy");
  Graph g;
  std::vector<Value> ph;
  std::vector<TensorType> types;
  for (int i = 0; i < c.inputs; ++i) {
    ph.push_back(g.Placeholder(xs[i].type(), absl::StrCat("x", i)));
    types.push_back(xs[i].type());
  }
  Value pdy = g.Placeholder(dy.type(), "dy");
  absl::StatusOr<Value> y = ops::Concatenate(g, ph, c.axis);
  ASSERT_TRUE(y.ok()) << y.status();
  absl::StatusOr<Value> weighted = ops::Multiply(g, *y, pdy);
  ASSERT_TRUE(weighted.ok()) << weighted.status();
  absl::StatusOr<Value> loss = g.Add("graft.ReduceSum", {*weighted});
  ASSERT_TRUE(loss.ok());
  auto grads = autodiff::Gradients(g, *loss, ph);
  ASSERT_TRUE(grads.ok()) << grads.status();
  std::vector<Value> fetches = {*y};
  fetches.insert(fetches.end(), grads->begin(), grads->end());
  std::vector<Value> feeds = ph;
  feeds.push_back(pdy);
  types.push_back(dy.type());
  std::vector<Tensor> in = xs;
  in.push_back(dy);
  for (KernelKind kind : kKinds) {
    SCOPED_TRACE(kind == KernelKind::kFast ? "fast" : "reference");
    auto plan = Plan::Compile(g, {.feeds = feeds, .fetches = fetches}, types, {.kernels = kind});
    ASSERT_TRUE(plan.ok()) << plan.status();
    std::vector<Tensor> out;
    ASSERT_TRUE((*plan)->Run(in, &out).ok());
    EXPECT_TRUE(AllClose(out[0], Golden(prefix + "y")));
    for (int i = 0; i < c.inputs; ++i) {
      EXPECT_TRUE(AllClose(out[1 + i], Golden(absl::StrCat(prefix, "dx", i)))) << "input " << i;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Configs, ConcatGoldenTest,
                         ::testing::Values(ConcatGolden{"last", -1, 2},
                                           ConcatGolden{"axis1_three", 1, 3},
                                           ConcatGolden{"image_channels", 3, 2},
                                           ConcatGolden{"image_width", -2, 2},
                                           ConcatGolden{"batch", 0, 2}),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace graft
