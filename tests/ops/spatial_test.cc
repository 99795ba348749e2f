// Zero padding, cropping and nearest upsampling of spatial axes (ops/spatial.h).
#include "ops/spatial.h"

#include <any>
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

using ::graft::ops::CropAttrs;
using ::graft::ops::PadAttrs;
using ::graft::ops::UpSampleAttrs;
using ::graft::testing::AllClose;
using ::graft::testing::Golden;
using ::graft::testing::InferOp;
using ::graft::testing::Random;
using ::graft::testing::RunOp;

constexpr KernelKind kKinds[] = {KernelKind::kFast, KernelKind::kReference};

// Values 0, 1, 2, ... (np.arange), float32.
Tensor Arange(Shape shape) {
  Tensor t(DType::kF32, std::move(shape));
  for (int64_t i = 0; i < t.num_elements(); ++i) t.data<float>()[i] = static_cast<float>(i);
  return t;
}

// ---- shapes ---------------------------------------------------------------------------------

struct ShapeCase {
  const char* op;
  std::any attrs;
  Shape x;
  Shape want;         // ignored when `error` is set
  std::string error;  // expected substring
};

class SpatialShapes : public ::testing::TestWithParam<ShapeCase> {};

TEST_P(SpatialShapes, InferOrExplain) {
  const ShapeCase& c = GetParam();
  auto got = InferOp(c.op, c.attrs, {F32(c.x)});
  if (!c.error.empty()) {
    ASSERT_FALSE(got.ok()) << "expected an error containing: " << c.error;
    EXPECT_TRUE(Contains(got.status().message(), c.error)) << got.status();
    EXPECT_TRUE(Contains(got.status().message(), absl::StrCat("(", c.op, "): "))) << got.status();
    return;
  }
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ((*got)[0].shape, c.want) << (*got)[0].ToString();
}

INSTANTIATE_TEST_SUITE_P(
    Pad, SpatialShapes,
    ::testing::Values(
        ShapeCase{"graft.Pad", PadAttrs{{1}, {1}}, {-1, 10, 3}, {-1, 12, 3}},
        ShapeCase{"graft.Pad", PadAttrs{{2}, {0}}, {4, 10, 3}, {4, 12, 3}},
        ShapeCase{"graft.Pad", PadAttrs{{0}, {0}}, {-1, 10, 3}, {-1, 10, 3}},
        ShapeCase{"graft.Pad", PadAttrs{{1, 2}, {3, 4}}, {-1, 5, 6, 2}, {-1, 9, 12, 2}},
        ShapeCase{"graft.Pad", PadAttrs{{1, 1, 1}, {0, 0, 2}}, {-1, 2, 3, 4, 5}, {-1, 3, 4, 7, 5}},
        ShapeCase{"graft.Pad",
                  PadAttrs{{1, 1}, {1, 1}},
                  {-1, 10, 3},
                  {},
                  "pads given for 2 spatial axes, so the input must have rank 4 (batch, height, "
                  "width, channels); got float32(None, 10, 3)"},
        ShapeCase{"graft.Pad",
                  PadAttrs{{1}, {1}},
                  {-1, 4, 4, 3},
                  {},
                  "must have rank 3 (batch, "
                  "steps, channels)"},
        ShapeCase{"graft.Pad", PadAttrs{{-1}, {1}}, {-1, 4, 3}, {}, "pads must be >= 0"},
        ShapeCase{"graft.Pad", PadAttrs{{1, 1}, {1}}, {-1, 4, 4, 3}, {}, "one (begin, end) pair"},
        ShapeCase{"graft.Pad", PadAttrs{}, {-1, 4, 3}, {}, "one (begin, end) pair"},
        ShapeCase{"graft.Pad",
                  PadAttrs{{1, 1, 1, 1}, {1, 1, 1, 1}},
                  {-1, 2, 2, 2, 2, 3},
                  {},
                  "graft handles 1, 2 or 3 spatial axes"}));

INSTANTIATE_TEST_SUITE_P(
    Crop, SpatialShapes,
    ::testing::Values(
        ShapeCase{"graft.Crop", CropAttrs{{1}, {1}}, {-1, 10, 3}, {-1, 8, 3}},
        ShapeCase{"graft.Crop", CropAttrs{{0}, {4}}, {-1, 5, 3}, {-1, 1, 3}},
        ShapeCase{"graft.Crop", CropAttrs{{2, 4}, {4, 0}}, {-1, 28, 28, 1}, {-1, 22, 24, 1}},
        ShapeCase{"graft.Crop",
                  CropAttrs{{3}, {3}},
                  {-1, 5, 7},
                  {},
                  "cropping (3, 3) of the steps axis would leave 5 - 3 - 3 = -1 positions of input "
                  "float32"
                  "(None, 5, 7); the cropping must be smaller than the input: crop at most 4 in "
                  "all along steps"},
        ShapeCase{"graft.Crop", CropAttrs{{2}, {3}}, {3, 5, 7}, {}, "would leave 5 - 2 - 3 = 0"},
        ShapeCase{"graft.Crop",
                  CropAttrs{{0, 2}, {0, 2}},
                  {-1, 8, 4, 1},
                  {},
                  "cropping (2, 2) of the width axis would leave 4 - 2 - 2 = 0"},
        ShapeCase{"graft.Crop", CropAttrs{{1}, {-2}}, {-1, 8, 1}, {}, "croppings must be >= 0"},
        ShapeCase{"graft.Crop", CropAttrs{{1}, {1}}, {-1, 8}, {}, "must have rank 3"}));

INSTANTIATE_TEST_SUITE_P(
    UpSample, SpatialShapes,
    ::testing::Values(
        ShapeCase{"graft.UpSample", UpSampleAttrs{{2}}, {-1, 10, 3}, {-1, 20, 3}},
        ShapeCase{"graft.UpSample", UpSampleAttrs{{1}}, {-1, 10, 3}, {-1, 10, 3}},
        ShapeCase{"graft.UpSample", UpSampleAttrs{{2, 3}}, {-1, 4, 5, 6}, {-1, 8, 15, 6}},
        ShapeCase{"graft.UpSample", UpSampleAttrs{{2, 1, 2}}, {2, 2, 3, 4, 1}, {2, 4, 3, 8, 1}},
        ShapeCase{"graft.UpSample",
                  UpSampleAttrs{{0}},
                  {-1, 10, 3},
                  {},
                  "size must hold one "
                  "positive integer"},
        ShapeCase{"graft.UpSample", UpSampleAttrs{}, {-1, 10, 3}, {}, "size must hold"},
        ShapeCase{"graft.UpSample",
                  UpSampleAttrs{{2, 2}},
                  {-1, 10, 3},
                  {},
                  "sizes given for 2 spatial axes, so the input must have rank 4"},
        ShapeCase{"graft.UpSampleBackward", UpSampleAttrs{{2, 3}}, {-1, 8, 15, 6}, {-1, 4, 5, 6}},
        ShapeCase{"graft.UpSampleBackward",
                  UpSampleAttrs{{2, 3}},
                  {-1, 8, 14, 6},
                  {},
                  "dy's width 14 is not a multiple of its upsampling factor 3"}));

TEST(Spatial, IntegerInputsAreRefused) {
  auto r = InferOp("graft.Pad", PadAttrs{{1}, {1}}, {{DType::kI64, {2, 3, 1}}});
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(Contains(r.status().message(), "must be float32 or float64, got int64"))
      << r.status();
}

TEST(Spatial, BuildersNameTheirNodes) {
  Graph g;
  Value x = g.Placeholder(F32({-1, 6, 5, 2}), "x");
  absl::StatusOr<Value> p = ops::Pad(g, x, {{1, 0}, {2, 3}}, "zero_padding2d");
  absl::StatusOr<Value> c = ops::Crop(g, x, {{1, 1}, {0, 2}}, "cropping2d");
  absl::StatusOr<Value> u = ops::UpSample(g, x, {{2, 3}}, "up_sampling2d");
  ASSERT_TRUE(p.ok() && c.ok() && u.ok());
  EXPECT_EQ(g.type(*p), F32({-1, 9, 8, 2}));
  EXPECT_EQ(g.type(*c), F32({-1, 5, 2, 2}));
  EXPECT_EQ(g.type(*u), F32({-1, 12, 15, 2}));
  EXPECT_EQ(g.node(*p).name, "zero_padding2d");
  EXPECT_EQ(g.node(*c).op->name, "graft.Crop");
  absl::StatusOr<Value> bad = ops::Crop(g, x, {{3, 0}, {3, 0}}, "cropping2d");
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(Contains(bad.status().message(),
                       "cropping2d (graft.Crop): cropping (3, 3) of the "
                       "height axis would leave 6 - 3 - 3 = 0"))
      << bad.status();
}

// ---- kernels --------------------------------------------------------------------------------

// Keras's docstring example: ZeroPadding1D(padding=2) on np.arange(12).reshape(2, 2, 3).
TEST(Pad, KerasExample1D) {
  Tensor x = Arange({2, 2, 3});
  const std::vector<float> want = {0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4,  5,  0, 0, 0, 0, 0, 0,
                                   0, 0, 0, 0, 0, 0, 6, 7, 8, 9, 10, 11, 0, 0, 0, 0, 0, 0};
  for (KernelKind kind : kKinds) {
    auto y = RunOp("graft.Pad", PadAttrs{{2}, {2}}, {x}, kind);
    ASSERT_TRUE(y.ok()) << y.status();
    EXPECT_EQ((*y)[0].shape(), Shape({2, 6, 3}));
    EXPECT_EQ((*y)[0].ToVector<float>(), want);
  }
}

// Keras's docstring example: ZeroPadding2D(padding=1) on np.arange(4).reshape(1, 1, 2, 2).
TEST(Pad, KerasExample2D) {
  Tensor x = Arange({1, 1, 2, 2});
  const std::vector<float> want = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
                                   2, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  for (KernelKind kind : kKinds) {
    auto y = RunOp("graft.Pad", PadAttrs{{1, 1}, {1, 1}}, {x}, kind);
    ASSERT_TRUE(y.ok()) << y.status();
    EXPECT_EQ((*y)[0].shape(), Shape({1, 3, 4, 2}));
    EXPECT_EQ((*y)[0].ToVector<float>(), want);
  }
}

// Keras's docstring example: UpSampling2D(size=(1, 2)) on np.arange(12).reshape(2, 2, 1, 3).
TEST(UpSample, KerasExample2D) {
  Tensor x = Arange({2, 2, 1, 3});
  const std::vector<float> want = {0, 1, 2, 0, 1, 2, 3, 4,  5,  3, 4,  5,
                                   6, 7, 8, 6, 7, 8, 9, 10, 11, 9, 10, 11};
  for (KernelKind kind : kKinds) {
    auto y = RunOp("graft.UpSample", UpSampleAttrs{{1, 2}}, {x}, kind);
    ASSERT_TRUE(y.ok()) << y.status();
    EXPECT_EQ((*y)[0].shape(), Shape({2, 2, 2, 3}));
    EXPECT_EQ((*y)[0].ToVector<float>(), want);
  }
}

// Cropping1D((1, 2)) on (3, 5, 7): x[:, 1:3, :] (Keras's test).
TEST(Crop, KerasSlices) {
  Tensor x = Arange({3, 5, 7});
  for (KernelKind kind : kKinds) {
    auto y = RunOp("graft.Crop", CropAttrs{{1}, {2}}, {x}, kind);
    ASSERT_TRUE(y.ok()) << y.status();
    ASSERT_EQ((*y)[0].shape(), Shape({3, 2, 7}));
    const float* out = (*y)[0].data<float>();
    for (int64_t n = 0; n < 3; ++n) {
      for (int64_t i = 0; i < 2; ++i) {
        for (int64_t c = 0; c < 7; ++c) {
          ASSERT_EQ(out[(n * 2 + i) * 7 + c], static_cast<float>((n * 5 + i + 1) * 7 + c));
        }
      }
    }
  }
}

struct KernelCase {
  const char* op;
  std::any attrs;
  Shape x;
};

// Shapes large enough that the fast kernels split rows over 2 threads.
class SpatialKernels : public ::testing::TestWithParam<KernelCase> {};

TEST_P(SpatialKernels, FastEqualsReference) {
  const KernelCase& c = GetParam();
  SetNumThreads(2);
  Tensor x = Random(c.x, 40);
  auto fast = RunOp(c.op, c.attrs, {x}, KernelKind::kFast);
  auto ref = RunOp(c.op, c.attrs, {x}, KernelKind::kReference);
  ASSERT_TRUE(fast.ok()) << fast.status();
  ASSERT_TRUE(ref.ok()) << ref.status();
  // Copies and block sums in the same order: bitwise equal.
  EXPECT_TRUE(AllClose((*fast)[0], (*ref)[0], 0, 0));
  SetNumThreads(0);
}

INSTANTIATE_TEST_SUITE_P(
    Table, SpatialKernels,
    ::testing::Values(KernelCase{"graft.Pad", PadAttrs{{3}, {2}}, {16, 300, 8}},
                      KernelCase{"graft.Pad", PadAttrs{{1, 0}, {2, 3}}, {8, 40, 30, 5}},
                      KernelCase{"graft.Pad", PadAttrs{{1, 0, 2}, {0, 1, 1}}, {2, 6, 7, 8, 3}},
                      KernelCase{"graft.Crop", CropAttrs{{3}, {2}}, {16, 300, 8}},
                      KernelCase{"graft.Crop", CropAttrs{{1, 0}, {2, 3}}, {8, 40, 30, 5}},
                      KernelCase{"graft.Crop", CropAttrs{{1, 0, 2}, {0, 1, 1}}, {2, 6, 7, 8, 3}},
                      KernelCase{"graft.UpSample", UpSampleAttrs{{3}}, {16, 200, 8}},
                      KernelCase{"graft.UpSample", UpSampleAttrs{{2, 3}}, {8, 20, 15, 5}},
                      KernelCase{"graft.UpSample", UpSampleAttrs{{2, 1, 3}}, {2, 4, 5, 6, 3}},
                      KernelCase{"graft.UpSampleBackward", UpSampleAttrs{{3}}, {16, 600, 8}},
                      KernelCase{"graft.UpSampleBackward", UpSampleAttrs{{2, 3}}, {8, 40, 45, 5}},
                      KernelCase{
                          "graft.UpSampleBackward", UpSampleAttrs{{2, 1, 3}}, {2, 8, 5, 18, 3}},
                      KernelCase{"graft.UpSample", UpSampleAttrs{{2, 2}}, {2, 3, 3, 1}}));

// ---- gradients ------------------------------------------------------------------------------

class SpatialGradients : public ::testing::TestWithParam<KernelCase> {};

TEST_P(SpatialGradients, CentralDifferences) {
  const KernelCase& c = GetParam();
  auto r = autodiff::CheckGradients(c.op, c.attrs, {Random(c.x, 50)});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->ok) << r->ToString();
  EXPECT_EQ(r->entries_checked, c.x.num_elements());
}

INSTANTIATE_TEST_SUITE_P(
    Table, SpatialGradients,
    ::testing::Values(KernelCase{"graft.Pad", PadAttrs{{2}, {1}}, {2, 4, 3}},
                      KernelCase{"graft.Pad", PadAttrs{{1, 0}, {0, 2}}, {2, 3, 2, 2}},
                      KernelCase{"graft.Pad", PadAttrs{{1, 0, 1}, {0, 1, 0}}, {1, 2, 2, 3, 2}},
                      KernelCase{"graft.Crop", CropAttrs{{1}, {2}}, {2, 5, 3}},
                      KernelCase{"graft.Crop", CropAttrs{{1, 0}, {0, 2}}, {2, 3, 4, 2}},
                      KernelCase{"graft.Crop", CropAttrs{{1, 0, 1}, {0, 1, 0}}, {1, 3, 3, 3, 2}},
                      KernelCase{"graft.UpSample", UpSampleAttrs{{3}}, {2, 4, 3}},
                      KernelCase{"graft.UpSample", UpSampleAttrs{{2, 3}}, {2, 2, 3, 2}},
                      KernelCase{"graft.UpSample", UpSampleAttrs{{2, 1, 2}}, {1, 2, 2, 3, 2}}));

// The backward ops: Pad <-> Crop with the same borders, UpSample -> UpSampleBackward; none of
// them reads x, and the unknown batch stays unknown.
TEST(SpatialGradientNodes, Kinds) {
  struct Case {
    const char* op;
    std::any attrs;
    const char* backward;
  };
  for (const Case& c : {Case{"graft.Pad", PadAttrs{{1, 2}, {3, 4}}, "graft.Crop"},
                        Case{"graft.Crop", CropAttrs{{1, 2}, {0, 1}}, "graft.Pad"},
                        Case{"graft.UpSample", UpSampleAttrs{{2, 2}}, "graft.UpSampleBackward"}}) {
    Graph g;
    Value x = g.Placeholder(F32({-1, 6, 5, 3}), "x");
    absl::StatusOr<Value> y = g.Add(c.op, {x}, c.attrs);
    ASSERT_TRUE(y.ok()) << y.status();
    absl::StatusOr<Value> loss = g.Add("graft.ReduceSum", {*y});
    ASSERT_TRUE(loss.ok());
    auto grads = autodiff::Gradients(g, *loss, {x});
    ASSERT_TRUE(grads.ok()) << grads.status();
    const Node& back = g.node((*grads)[0]);
    EXPECT_EQ(back.op->name, c.backward);
    EXPECT_EQ(g.type((*grads)[0]), F32({-1, 6, 5, 3}));
    for (const Value& in : back.inputs) EXPECT_NE(in, x);
  }
}

// ---- PyTorch golden data (tools/golden/spatial.py) ------------------------------------------

struct GoldenCase {
  const char* name;
  const char* op;
  std::any attrs;
};

class SpatialGolden : public ::testing::TestWithParam<GoldenCase> {};

// Forward, and dx through autodiff's gradient nodes: L = sum(op(x) * dy).
TEST_P(SpatialGolden, MatchesPyTorch) {
  const GoldenCase& c = GetParam();
  const std::string prefix = absl::StrCat("spatial_", c.name, "_");
  Tensor x = Golden(prefix + "x"), dy = Golden(prefix + "dy");
  Graph g;
  Value px = g.Placeholder(x.type(), "x"), pdy = g.Placeholder(dy.type(), "dy");
  absl::StatusOr<Value> y = g.Add(c.op, {px}, c.attrs);
  ASSERT_TRUE(y.ok()) << y.status();
  absl::StatusOr<Value> weighted = ops::Multiply(g, *y, pdy);
  ASSERT_TRUE(weighted.ok()) << weighted.status();
  absl::StatusOr<Value> loss = g.Add("graft.ReduceSum", {*weighted});
  ASSERT_TRUE(loss.ok());
  auto grads = autodiff::Gradients(g, *loss, {px});
  ASSERT_TRUE(grads.ok()) << grads.status();
  for (KernelKind kind : kKinds) {
    SCOPED_TRACE(kind == KernelKind::kFast ? "fast" : "reference");
    auto plan = Plan::Compile(g, {.feeds = {px, pdy}, .fetches = {*y, (*grads)[0]}},
                              {x.type(), dy.type()}, {.kernels = kind});
    ASSERT_TRUE(plan.ok()) << plan.status();
    std::vector<Tensor> out;
    ASSERT_TRUE((*plan)->Run({x, dy}, &out).ok());
    EXPECT_TRUE(AllClose(out[0], Golden(prefix + "y")));
    EXPECT_TRUE(AllClose(out[1], Golden(prefix + "dx")));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Configs, SpatialGolden,
    ::testing::Values(GoldenCase{"pad1d_default", "graft.Pad", PadAttrs{{1}, {1}}},
                      GoldenCase{"pad1d_asym", "graft.Pad", PadAttrs{{2}, {0}}},
                      GoldenCase{"pad2d_default", "graft.Pad", PadAttrs{{1, 1}, {1, 1}}},
                      GoldenCase{"pad2d_asym", "graft.Pad", PadAttrs{{0, 3}, {2, 1}}},
                      GoldenCase{"crop1d_default", "graft.Crop", CropAttrs{{1}, {1}}},
                      GoldenCase{"crop1d_asym", "graft.Crop", CropAttrs{{0}, {3}}},
                      GoldenCase{"crop2d", "graft.Crop", CropAttrs{{1, 2}, {2, 0}}},
                      GoldenCase{"upsample1d_default", "graft.UpSample", UpSampleAttrs{{2}}},
                      GoldenCase{"upsample1d_3", "graft.UpSample", UpSampleAttrs{{3}}},
                      GoldenCase{"upsample2d_default", "graft.UpSample", UpSampleAttrs{{2, 2}}},
                      GoldenCase{"upsample2d_31", "graft.UpSample", UpSampleAttrs{{3, 1}}}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace graft
