#include "ops/loss.h"

#include <cmath>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "autodiff/grad_check.h"
#include "autodiff/gradients.h"
#include "gtest/gtest.h"
#include "ops/activation.h"
#include "runtime/plan.h"
#include "tests/testing.h"

namespace graft {
namespace {

using ::graft::testing::AllClose;
using ::graft::testing::Golden;
using ::graft::testing::InferOp;
using ::graft::testing::Random;
using ::graft::testing::RunOp;

constexpr DType kF32 = DType::kF32;
constexpr DType kF64 = DType::kF64;
constexpr int64_t kNone = Shape::kUnknownDim;

const char* const kBinaryLosses[] = {"graft.BinaryCrossentropy",
                                     "graft.BinaryCrossentropyFromLogits"};
const char* const kSparseLosses[] = {"graft.SparseCategoricalCrossentropy",
                                     "graft.SparseCategoricalCrossentropyFromLogits"};
const char* const kCategoricalLosses[] = {"graft.CategoricalCrossentropy",
                                          "graft.CategoricalCrossentropyFromLogits"};
const char* const kRegressionLosses[] = {"graft.MeanSquaredError", "graft.MeanAbsoluteError"};

// The message contains `part`.
::testing::AssertionResult HasText(const absl::Status& status, const std::string& part) {
  if (std::string(status.message()).find(part) != std::string::npos) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "\"" << status.message() << "\" lacks \"" << part << "\"";
}

Tensor F32(Shape shape, std::vector<float> values) {
  return Tensor::FromVector<float>(std::move(shape), values);
}

// Runs the forward op and its backward op (dloss given) with one kind of kernels.
struct LossRun {
  Tensor loss;
  Tensor grad;
};
LossRun RunLoss(const std::string& op, const Tensor& y_true, const Tensor& y_pred, KernelKind kind,
                double dloss = 1.0) {
  LossRun r;
  auto fwd = RunOp(op, NoAttrs{}, {y_true, y_pred}, kind);
  EXPECT_TRUE(fwd.ok()) << op << ": " << fwd.status();
  if (!fwd.ok()) return r;
  r.loss = (*fwd)[0];
  Tensor d = Tensor(y_pred.dtype(), Shape{});
  if (y_pred.dtype() == kF32) {
    d.data<float>()[0] = static_cast<float>(dloss);
  } else {
    d.data<double>()[0] = dloss;
  }
  auto bwd = RunOp(op + "Grad", NoAttrs{}, {d, y_true, y_pred}, kind);
  EXPECT_TRUE(bwd.ok()) << op << "Grad: " << bwd.status();
  if (bwd.ok()) r.grad = (*bwd)[0];
  return r;
}

// The golden loss value, reshaped to the op's scalar: files written by older numpy versions of
// tools/golden/common.py's save() hold it as shape (1,), newer ones as a 0-d array.
Tensor GoldenScalar(const std::string& name) {
  Tensor t = Golden(name);
  if (t.empty()) return t;
  absl::StatusOr<Tensor> scalar = t.Reshaped(Shape{});
  EXPECT_TRUE(scalar.ok()) << name << ": " << scalar.status();
  return scalar.ok() ? *scalar : Tensor();
}

Tensor Scaled(const Tensor& t, double s) {
  Tensor out = t.Clone();
  for (int64_t i = 0; i < out.num_elements(); ++i) {
    out.data<float>()[i] = static_cast<float>(s * t.AsDouble(i));
  }
  return out;
}

// ---- clip bounds ----------------------------------------------------------------------------

TEST(LossClip, BoundsAreTheFloat32Epsilons) {
  EXPECT_EQ(ops::kLossClipLo, static_cast<double>(1e-7f));
  EXPECT_EQ(ops::kLossClipHi, 0.99999988079071044921875);
  EXPECT_EQ(static_cast<double>(static_cast<float>(ops::kLossClipHi)), ops::kLossClipHi);
}

// ---- shapes ---------------------------------------------------------------------------------

struct ShapeCase {
  Shape y_true;
  Shape y_pred;
  const char* error;  // nullptr: accepted (a scalar loss)
};

// Runs op's shape function on each case: an accepted case gives a float32 scalar, a rejected one
// an InvalidArgument naming the op and containing the case's text.
void ExpectShapes(const char* op, const std::vector<ShapeCase>& cases) {
  for (const ShapeCase& c : cases) {
    SCOPED_TRACE(absl::StrCat(op, " ", c.y_true.ToString(), " ", c.y_pred.ToString()));
    auto out = InferOp(op, NoAttrs{}, {{kF32, c.y_true}, {kF32, c.y_pred}});
    if (c.error == nullptr) {
      ASSERT_TRUE(out.ok()) << out.status();
      ASSERT_EQ(out->size(), 1u);
      EXPECT_EQ((*out)[0], (TensorType{kF32, Shape{}}));
    } else {
      ASSERT_FALSE(out.ok());
      EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_TRUE(HasText(out.status(), c.error));
      EXPECT_TRUE(HasText(out.status(), absl::StrCat("(", op, ")")));
    }
  }
}

TEST(LossShapes, Binary) {
  const std::vector<ShapeCase> cases = {
      {{kNone, 1}, {kNone, 1}, nullptr},
      {{4, 3}, {4, 3}, nullptr},
      {{2, 3, 4}, {2, 3, 4}, nullptr},
      {{kNone}, {kNone}, nullptr},
      {{kNone}, {kNone, 1}, nullptr},  // Keras's rank fix-up (Example A: y (N,), y_pred (N, 1))
      {{kNone, 1}, {kNone}, nullptr},
      {{kNone, 3}, {5, 3}, nullptr},  // unknown batch on one side
      {{5, 3}, {kNone, 3}, nullptr},
      {{kNone, 2}, {kNone, 1}, "y_true (None, 2) and y_pred (None, 1) must have the same shape"},
      {{4, 1}, {5, 1}, "y_true (4, 1) and y_pred (5, 1) must have the same shape"},
      {{kNone, 3}, {kNone, 3, 1}, nullptr},
      {{kNone, 3}, {kNone, 3, 2}, "y_true (None, 3) and y_pred (None, 3, 2) must have"},
      {{kNone, 3}, {kNone, 1, 3}, "y_true (None, 3) and y_pred (None, 1, 3) must have"},
      {{}, {}, "must have a batch axis first"},
  };
  for (const char* op : kBinaryLosses) ExpectShapes(op, cases);
  for (const char* op : kRegressionLosses) ExpectShapes(op, cases);
}

TEST(LossShapes, Sparse) {
  const std::vector<ShapeCase> cases = {
      {{kNone}, {kNone, 5}, nullptr},
      {{kNone, 1}, {kNone, 5}, nullptr},
      {{4}, {4, 5}, nullptr},
      {{4, 1}, {4, 5}, nullptr},
      {{kNone}, {6, 5}, nullptr},
      {{6}, {kNone, 5}, nullptr},
      {{4}, {5, 3}, "y_true (4,) and y_pred (5, 3) must have the same batch size"},
      {{kNone}, {kNone, 3, 4}, "y_pred must have shape (batch, classes), got (None, 3, 4)"},
      {{kNone}, {kNone}, "y_pred must have shape (batch, classes), got (None,)"},
      {{kNone, 5},
       {kNone, 5},
       "y_true must hold one class index per sample, shape (batch,) or (batch, 1), got "
       "(None, 5) for y_pred (None, 5); convert one-hot labels to class indices"},
      {{kNone, 1, 1}, {kNone, 5}, "y_true must hold one class index per sample"},
      {{}, {kNone, 5}, "y_true must hold one class index per sample"},
  };
  for (const char* op : kSparseLosses) ExpectShapes(op, cases);
}

TEST(LossShapes, Categorical) {
  const std::vector<ShapeCase> cases = {
      {{kNone, 5}, {kNone, 5}, nullptr},
      {{4, 5}, {4, 5}, nullptr},
      {{kNone, 5}, {6, 5}, nullptr},
      {{6, 5}, {kNone, 5}, nullptr},
      {{kNone, 3, 4}, {kNone, 3, 4}, nullptr},  // (N, L, K): rows N*L
      {{kNone, 1}, {kNone, 1}, nullptr},        // one class (Keras warns; the loss is 0)
      {{kNone, 4},
       {kNone, 5},
       "y_true (None, 4) and y_pred (None, 5) must have the same shape (one-hot or soft targets, "
       "one value per class)"},
      {{4, 5}, {3, 5}, "y_true (4, 5) and y_pred (3, 5) must have the same shape"},
      {{kNone},
       {kNone, 5},
       "y_true (None,) and y_pred (None, 5) must have the same shape (one-hot or soft targets, "
       "one value per class); for class indices use the sparse categorical crossentropy"},
      {{kNone, 1}, {kNone, 5}, "; for class indices use the sparse categorical"},
      {{kNone}, {kNone}, "y_pred must have shape (batch, ..., classes), got (None,)"},
      {{kNone, 0}, {kNone, 0}, "y_pred (None, 0) has no classes"},
  };
  for (const char* op : kCategoricalLosses) ExpectShapes(op, cases);
  // The hint is only for targets that look like class indices.
  auto plain =
      InferOp("graft.CategoricalCrossentropy", NoAttrs{}, {{kF32, {3, 4}}, {kF32, {3, 5}}});
  ASSERT_FALSE(plain.ok());
  EXPECT_FALSE(HasText(plain.status(), "class indices"));
}

TEST(LossShapes, DTypes) {
  for (const char* op : {"graft.BinaryCrossentropy", "graft.SparseCategoricalCrossentropy",
                         "graft.CategoricalCrossentropy", "graft.MeanSquaredError"}) {
    auto f64 = InferOp(op, NoAttrs{}, {{kF64, {kNone, 1}}, {kF64, {kNone, 1}}});
    ASSERT_TRUE(f64.ok()) << f64.status();
    EXPECT_EQ((*f64)[0], (TensorType{kF64, Shape{}}));
    auto mixed = InferOp(op, NoAttrs{}, {{kF64, {kNone, 1}}, {kF32, {kNone, 1}}});
    ASSERT_FALSE(mixed.ok());
    EXPECT_TRUE(HasText(mixed.status(), "y_true (float64) must have y_pred's dtype (float32)"));
    auto ints = InferOp(op, NoAttrs{}, {{DType::kI64, {kNone, 1}}, {kF32, {kNone, 1}}});
    EXPECT_FALSE(ints.ok());
  }
}

TEST(LossShapes, Backward) {
  for (const char* op :
       {"graft.BinaryCrossentropyGrad", "graft.BinaryCrossentropyFromLogitsGrad",
        "graft.SparseCategoricalCrossentropyGrad",
        "graft.SparseCategoricalCrossentropyFromLogitsGrad", "graft.CategoricalCrossentropyGrad",
        "graft.CategoricalCrossentropyFromLogitsGrad", "graft.MeanSquaredErrorGrad",
        "graft.MeanAbsoluteErrorGrad"}) {
    SCOPED_TRACE(op);
    const bool sparse = std::string(op).find("Sparse") != std::string::npos;
    const Shape t = sparse ? Shape{kNone} : Shape{kNone, 4};
    auto ok = InferOp(op, NoAttrs{}, {{kF32, {}}, {kF32, t}, {kF32, {kNone, 4}}});
    ASSERT_TRUE(ok.ok()) << ok.status();
    EXPECT_EQ((*ok)[0], (TensorType{kF32, {kNone, 4}}));
    auto not_scalar = InferOp(op, NoAttrs{}, {{kF32, {1}}, {kF32, t}, {kF32, {kNone, 4}}});
    ASSERT_FALSE(not_scalar.ok());
    EXPECT_TRUE(HasText(not_scalar.status(), "dloss must be a float32 scalar, got float32(1,)"));
    auto bad = InferOp(op, NoAttrs{}, {{kF32, {}}, {kF32, {kNone, 3}}, {kF32, {kNone, 4}}});
    EXPECT_FALSE(bad.ok());
  }
}

TEST(LossBuilders, AddOneScalarNode) {
  Graph g;
  Value t = g.Placeholder({kF32, {kNone, 1}}, "y_true");
  Value p = g.Placeholder({kF32, {kNone, 1}}, "y_pred");
  Value labels = g.Placeholder({kF32, {kNone}}, "labels");
  Value probs = g.Placeholder({kF32, {kNone, 3}}, "probs");
  Value onehot = g.Placeholder({kF32, {kNone, 3}}, "onehot");
  for (auto v : {ops::BinaryCrossentropy(g, t, p), ops::BinaryCrossentropyFromLogits(g, t, p),
                 ops::SparseCategoricalCrossentropy(g, labels, probs),
                 ops::SparseCategoricalCrossentropyFromLogits(g, labels, probs),
                 ops::CategoricalCrossentropy(g, onehot, probs),
                 ops::CategoricalCrossentropyFromLogits(g, onehot, probs),
                 ops::MeanSquaredError(g, t, p), ops::MeanAbsoluteError(g, t, p)}) {
    ASSERT_TRUE(v.ok()) << v.status();
    EXPECT_EQ(g.type(*v), (TensorType{kF32, Shape{}}));
  }
  auto bad = ops::SparseCategoricalCrossentropy(g, probs, probs);
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(
      HasText(bad.status(), "(graft.SparseCategoricalCrossentropy): y_true must hold one class"));
  auto bad_cce = ops::CategoricalCrossentropy(g, labels, probs);
  ASSERT_FALSE(bad_cce.ok());
  EXPECT_TRUE(HasText(bad_cce.status(), "(graft.CategoricalCrossentropy): y_true (None,)"));
}

// ---- PyTorch golden data (tools/golden/loss.py) ---------------------------------------------

struct GoldenCase {
  const char* name;  // tests/golden/loss_<name>_*.npy
  const char* op;
};

class LossGolden : public ::testing::TestWithParam<GoldenCase> {};

TEST_P(LossGolden, ValueAndGradient) {
  const GoldenCase& c = GetParam();
  const std::string prefix = absl::StrCat("loss_", c.name, "_");
  Tensor y_true = Golden(prefix + "true");
  Tensor y_pred = Golden(prefix + "pred");
  Tensor value = GoldenScalar(prefix + "value");
  Tensor grad = Golden(prefix + "grad");
  ASSERT_FALSE(y_true.empty() || y_pred.empty() || value.empty() || grad.empty());
  for (KernelKind kind : {KernelKind::kFast, KernelKind::kReference}) {
    SCOPED_TRACE(kind == KernelKind::kFast ? "fast" : "reference");
    LossRun r = RunLoss(c.op, y_true, y_pred, kind);
    ASSERT_FALSE(r.loss.empty() || r.grad.empty());
    EXPECT_TRUE(AllClose(r.loss, value));
    EXPECT_TRUE(AllClose(r.grad, grad));
    // Clipped entries get exactly zero gradient, as in the golden data.
    for (int64_t i = 0; i < grad.num_elements(); ++i) {
      if (grad.AsDouble(i) == 0.0) EXPECT_EQ(r.grad.AsDouble(i), 0.0) << "entry " << i;
    }
    // The backward op scales by dloss.
    LossRun scaled = RunLoss(c.op, y_true, y_pred, kind, -2.5);
    EXPECT_TRUE(AllClose(scaled.grad, Scaled(grad, -2.5)));
  }
  // Float64 reference kernels on the same (float32-exact) inputs.
  LossRun r64 = RunLoss(c.op, y_true.CastTo(kF64), y_pred.CastTo(kF64), KernelKind::kReference);
  ASSERT_FALSE(r64.loss.empty() || r64.grad.empty());
  EXPECT_TRUE(AllClose(r64.loss, value.CastTo(kF64)));
  EXPECT_TRUE(AllClose(r64.grad, grad.CastTo(kF64)));
}

INSTANTIATE_TEST_SUITE_P(
    PyTorch, LossGolden,
    ::testing::Values(GoldenCase{"bce", "graft.BinaryCrossentropy"},
                      GoldenCase{"bce3d", "graft.BinaryCrossentropy"},
                      GoldenCase{"bce_logits", "graft.BinaryCrossentropyFromLogits"},
                      GoldenCase{"scce", "graft.SparseCategoricalCrossentropy"},
                      GoldenCase{"scce_logits", "graft.SparseCategoricalCrossentropyFromLogits"},
                      GoldenCase{"cce", "graft.CategoricalCrossentropy"},
                      GoldenCase{"cce3d", "graft.CategoricalCrossentropy"},
                      GoldenCase{"cce_logits", "graft.CategoricalCrossentropyFromLogits"},
                      GoldenCase{"mse", "graft.MeanSquaredError"},
                      GoldenCase{"mse3d", "graft.MeanSquaredError"},
                      GoldenCase{"mae", "graft.MeanAbsoluteError"}),
    [](const ::testing::TestParamInfo<GoldenCase>& info) { return std::string(info.param.name); });

TEST(LossGoldenExtra, BceClipEdges) {
  // Row 3 of loss_bce: p exactly 0 and 1 are clipped: -log(lo) or -log(1 - hi) per element.
  Tensor y_true = Golden("loss_bce_true");
  Tensor y_pred = Golden("loss_bce_pred");
  ASSERT_EQ(y_pred.AsDouble(12), 0.0);
  ASSERT_EQ(y_pred.AsDouble(13), 1.0);
  Tensor row_t = y_true.SliceRows(3, 4);
  Tensor row_p = y_pred.SliceRows(3, 4);
  LossRun r = RunLoss("graft.BinaryCrossentropy", row_t, row_p, KernelKind::kFast);
  // t = (0, 1, 1, 0), p = (0, 1, 0, 1): two correct (tiny loss), two wrong at the bounds.
  const double expected = (-std::log(1 - ops::kLossClipLo) - std::log(ops::kLossClipHi) -
                           std::log(ops::kLossClipLo) - std::log(1 - ops::kLossClipHi)) /
                          4;
  EXPECT_NEAR(r.loss.AsDouble(0), expected, 1e-5 * expected);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(r.grad.AsDouble(i), 0.0);
}

TEST(LossGoldenExtra, SparseLabelsAsColumn) {
  // y_true (N, 1) gives the same results as (N,).
  for (const char* name : {"scce", "scce_logits"}) {
    const std::string prefix = absl::StrCat("loss_", name, "_");
    Tensor y_true = Golden(prefix + "true");
    auto column = y_true.Reshaped({y_true.num_elements(), 1});
    ASSERT_TRUE(column.ok());
    const std::string op = std::string(name) == "scce"
                               ? "graft.SparseCategoricalCrossentropy"
                               : "graft.SparseCategoricalCrossentropyFromLogits";
    LossRun r = RunLoss(op, *column, Golden(prefix + "pred"), KernelKind::kFast);
    EXPECT_TRUE(AllClose(r.loss, GoldenScalar(prefix + "value")));
    EXPECT_TRUE(AllClose(r.grad, Golden(prefix + "grad")));
  }
}

TEST(LossGoldenExtra, OneHotCategoricalEqualsSparse) {
  // The categorical losses on one-hot rows are the sparse losses on their labels, bit for bit
  // (one math serves both).
  for (const char* name : {"scce", "scce_logits"}) {
    const std::string prefix = absl::StrCat("loss_", name, "_");
    const bool logits = std::string(name) == "scce_logits";
    Tensor labels = Golden(prefix + "true");
    Tensor y_pred = Golden(prefix + "pred");
    const int64_t n = y_pred.shape().dim(0), k = y_pred.shape().dim(1);
    Tensor onehot(kF32, {n, k});
    for (int64_t r = 0; r < n; ++r) {
      onehot.data<float>()[r * k + static_cast<int64_t>(labels.AsDouble(r))] = 1;
    }
    for (KernelKind kind : {KernelKind::kFast, KernelKind::kReference}) {
      LossRun sparse = RunLoss(logits ? "graft.SparseCategoricalCrossentropyFromLogits"
                                      : "graft.SparseCategoricalCrossentropy",
                               labels, y_pred, kind, 0.5);
      LossRun dense = RunLoss(
          logits ? "graft.CategoricalCrossentropyFromLogits" : "graft.CategoricalCrossentropy",
          onehot, y_pred, kind, 0.5);
      ASSERT_FALSE(sparse.loss.empty() || dense.loss.empty());
      EXPECT_EQ(sparse.loss.AsDouble(0), dense.loss.AsDouble(0)) << name;
      EXPECT_TRUE(AllClose(dense.grad, sparse.grad, 0, 0)) << name;
    }
  }
}

TEST(LossGoldenExtra, MaeSignOfZeroIsZero) {
  Tensor t = F32({2, 2}, {1, 2, 3, 4});
  Tensor p = F32({2, 2}, {1, 2.5f, 2, 4});
  for (KernelKind kind : {KernelKind::kFast, KernelKind::kReference}) {
    LossRun r = RunLoss("graft.MeanAbsoluteError", t, p, kind);
    EXPECT_FLOAT_EQ(r.loss.AsDouble(0), 1.5 / 4);
    EXPECT_TRUE(AllClose(r.grad, F32({2, 2}, {0, 0.25f, -0.25f, 0}), 0, 0));
    LossRun m = RunLoss("graft.MeanSquaredError", t, p, kind);
    EXPECT_FLOAT_EQ(m.loss.AsDouble(0), 1.25 / 4);
    EXPECT_TRUE(AllClose(m.grad, F32({2, 2}, {0, 0.25f, -0.5f, 0}), 0, 0));
  }
}

// ---- fast vs reference ----------------------------------------------------------------------

TEST(LossFastVsReference, BitwiseEqualOnLargeInputs) {
  // Large enough for several summation blocks and a parallel backward loop: the fixed block
  // order makes the fast (TBB) kernels bitwise equal to the serial reference.
  const Shape shape{64, 1000};
  Tensor t = Random(shape, 11, 0, 1);
  Tensor p = Random(shape, 12, 0.001, 0.999);
  Tensor z = Random(shape, 13, -8, 8);
  const int64_t n = 6000, k = 3;
  Tensor labels(kF32, {n});
  for (int64_t i = 0; i < n; ++i) labels.data<float>()[i] = static_cast<float>((i * 7) % k);
  Tensor probs = Random({n, k}, 14, 0.01, 1);
  Tensor logits = Random({n, k}, 15, -5, 5);
  Tensor soft = Random({n, k}, 16, 0, 1);
  const std::vector<std::tuple<const char*, Tensor, Tensor>> cases = {
      {"graft.BinaryCrossentropy", t, p},
      {"graft.BinaryCrossentropyFromLogits", t, z},
      {"graft.SparseCategoricalCrossentropy", labels, probs},
      {"graft.SparseCategoricalCrossentropyFromLogits", labels, logits},
      {"graft.CategoricalCrossentropy", soft, probs},
      {"graft.CategoricalCrossentropyFromLogits", soft, logits},
      {"graft.MeanSquaredError", t, z},
      {"graft.MeanAbsoluteError", t, z}};
  for (const auto& [op, y_true, y_pred] : cases) {
    SCOPED_TRACE(op);
    LossRun fast = RunLoss(op, y_true, y_pred, KernelKind::kFast, 0.75);
    LossRun ref = RunLoss(op, y_true, y_pred, KernelKind::kReference, 0.75);
    ASSERT_FALSE(fast.loss.empty() || ref.loss.empty() || fast.grad.empty() || ref.grad.empty());
    EXPECT_EQ(fast.loss.AsDouble(0), ref.loss.AsDouble(0));
    EXPECT_TRUE(AllClose(fast.grad, ref.grad, 0, 0));
    // And a second run gives the same bits.
    LossRun again = RunLoss(op, y_true, y_pred, KernelKind::kFast, 0.75);
    EXPECT_EQ(again.loss.AsDouble(0), fast.loss.AsDouble(0));
  }
}

// ---- gradient checks (float64, central differences) -----------------------------------------

TEST(LossGradCheck, BinaryCrossentropy) {
  Tensor t = Random({4, 3}, 21, 0, 1);  // soft labels
  Tensor p = Random({4, 3}, 22, 0.05, 0.95);
  auto report =
      autodiff::CheckGradients("graft.BinaryCrossentropy", NoAttrs{}, {t, p}, {.wrt = {1}});
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->ok) << report->ToString();
  EXPECT_EQ(report->entries_checked, 12);
}

TEST(LossGradCheck, BinaryCrossentropyFromLogits) {
  Tensor t = Random({3, 2, 2}, 23, 0, 1);
  Tensor z = Random({3, 2, 2}, 24, -4, 4);
  auto report = autodiff::CheckGradients("graft.BinaryCrossentropyFromLogits", NoAttrs{}, {t, z},
                                         {.wrt = {1}});
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->ok) << report->ToString();
  EXPECT_EQ(report->entries_checked, 12);
}

TEST(LossGradCheck, SparseCategoricalCrossentropy) {
  Tensor labels = F32({5}, {0, 3, 1, 2, 3});
  Tensor p = Random({5, 4}, 25, 0.1, 1.0);  // unnormalised: the normalisation is checked too
  auto report = autodiff::CheckGradients("graft.SparseCategoricalCrossentropy", NoAttrs{},
                                         {labels, p}, {.wrt = {1}});
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->ok) << report->ToString();
  EXPECT_EQ(report->entries_checked, 20);
}

TEST(LossGradCheck, SparseCategoricalCrossentropyFromLogits) {
  Tensor labels = F32({5, 1}, {2, 0, 1, 2, 2});
  Tensor z = Random({5, 3}, 26, -3, 3);
  auto report = autodiff::CheckGradients("graft.SparseCategoricalCrossentropyFromLogits", NoAttrs{},
                                         {labels, z}, {.wrt = {1}});
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->ok) << report->ToString();
  EXPECT_EQ(report->entries_checked, 15);
}

TEST(LossGradCheck, CategoricalCrossentropy) {
  Tensor t = Random({4, 3}, 27, 0, 1);      // soft targets, rows not summing to 1
  Tensor p = Random({4, 3}, 28, 0.1, 1.0);  // unnormalised
  auto report =
      autodiff::CheckGradients("graft.CategoricalCrossentropy", NoAttrs{}, {t, p}, {.wrt = {1}});
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->ok) << report->ToString();
  EXPECT_EQ(report->entries_checked, 12);
  // Rank 3: rows over (N, L).
  auto r3 = autodiff::CheckGradients("graft.CategoricalCrossentropy", NoAttrs{},
                                     {Random({2, 2, 3}, 29, 0, 1), Random({2, 2, 3}, 30, 0.1, 1)},
                                     {.wrt = {1}});
  ASSERT_TRUE(r3.ok()) << r3.status();
  EXPECT_TRUE(r3->ok) << r3->ToString();
}

TEST(LossGradCheck, CategoricalCrossentropyFromLogits) {
  Tensor t = Random({3, 4}, 31, 0, 1);
  Tensor z = Random({3, 4}, 32, -3, 3);
  auto report = autodiff::CheckGradients("graft.CategoricalCrossentropyFromLogits", NoAttrs{},
                                         {t, z}, {.wrt = {1}});
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->ok) << report->ToString();
  EXPECT_EQ(report->entries_checked, 12);
}

TEST(LossGradCheck, MeanSquaredAndAbsoluteError) {
  // Random values: no p == t tie within the difference step, where |p - t| has a kink.
  for (const char* op : kRegressionLosses) {
    SCOPED_TRACE(op);
    auto report = autodiff::CheckGradients(op, NoAttrs{}, {Random({3, 4}, 33), Random({3, 4}, 34)},
                                           {.wrt = {1}});
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_TRUE(report->ok) << report->ToString();
    EXPECT_EQ(report->entries_checked, 12);
  }
}

// ---- labels ---------------------------------------------------------------------------------

TEST(LossLabels, OutOfRangeIsAnErrorNamingRowAndLabel) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<std::pair<float, std::string>> bad = {
      {5,
       "label 5 in row 2 of y_true is not a class index: y_pred has 5 classes, so labels "
       "must be integers in [0, 5)"},
      {-1, "label -1 in row 2"},
      {1.5, "label 1.5 in row 2"},
      {100, "label 100 in row 2"},
      {nan, "label nan in row 2"}};
  Tensor probs = Random({4, 5}, 31, 0.1, 1);
  Tensor dloss = Tensor::Scalar<float>(1);
  for (const char* op : kSparseLosses) {
    for (const auto& [label, message] : bad) {
      Tensor labels = F32({4}, {0, 4, label, 1});
      for (KernelKind kind : {KernelKind::kFast, KernelKind::kReference}) {
        SCOPED_TRACE(absl::StrCat(op, " label ", label));
        auto fwd = RunOp(op, NoAttrs{}, {labels, probs}, kind);
        ASSERT_FALSE(fwd.ok());
        EXPECT_EQ(fwd.status().code(), absl::StatusCode::kInvalidArgument);
        EXPECT_TRUE(HasText(fwd.status(), message));
        EXPECT_TRUE(HasText(fwd.status(), absl::StrCat("(", op, ")")));
        auto bwd = RunOp(absl::StrCat(op, "Grad"), NoAttrs{}, {dloss, labels, probs}, kind);
        ASSERT_FALSE(bwd.ok());
        EXPECT_TRUE(HasText(bwd.status(), message));
      }
    }
  }
}

TEST(LossLabels, ValidEdgeLabels) {
  // Labels 0 and K-1 are fine; -0.0 is 0.
  Tensor labels = F32({3}, {0, 2, -0.0f});
  Tensor z = F32({3, 3}, {1, 2, 3, 1, 2, 3, 0, 0, 0});
  LossRun r =
      RunLoss("graft.SparseCategoricalCrossentropyFromLogits", labels, z, KernelKind::kReference);
  const double lse = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
  const double expected = ((lse - 1) + (lse - 3) + std::log(3.0)) / 3;
  EXPECT_NEAR(r.loss.AsDouble(0), expected, 1e-6);
}

// ---- in a graph: activation + loss, autodiff, unknown batch ---------------------------------

// d(loss)/d(x) and the loss for loss(y_true, activation(x)), through autodiff.
struct ChainResult {
  Tensor loss, dx, dy_true;
};
ChainResult RunChain(const char* activation, const char* loss_op, const Tensor& y_true,
                     const Tensor& x) {
  ChainResult out;
  Graph g;
  Shape t_shape = y_true.shape(), x_shape = x.shape();
  t_shape.set_dim(0, kNone);
  x_shape.set_dim(0, kNone);
  Value t = g.Placeholder({kF32, t_shape}, "y_true");
  Value xv = g.Placeholder({kF32, x_shape}, "x");
  absl::StatusOr<Value> y = ops::Activation(g, xv, activation);
  EXPECT_TRUE(y.ok()) << y.status();
  absl::StatusOr<Value> loss = g.Add(loss_op, {t, *y});
  EXPECT_TRUE(loss.ok()) << loss.status();
  if (!loss.ok()) return out;
  auto grads = autodiff::Gradients(g, *loss, {xv, t});
  EXPECT_TRUE(grads.ok()) << grads.status();
  if (!grads.ok()) return out;
  auto plan = Plan::Compile(g, {.feeds = {t, xv}, .fetches = {*loss, (*grads)[0], (*grads)[1]}},
                            {y_true.type(), x.type()});
  EXPECT_TRUE(plan.ok()) << plan.status();
  if (!plan.ok()) return out;
  std::vector<Tensor> fetched;
  absl::Status s = (*plan)->Run({y_true, x}, &fetched);
  EXPECT_TRUE(s.ok()) << s;
  if (!s.ok()) return out;
  return {fetched[0], fetched[1], fetched[2]};
}

TEST(LossInGraph, SigmoidThenBceMatchesFromLogits) {
  Tensor t = Random({6, 2}, 41, 0, 1);
  for (int64_t i = 0; i < t.num_elements(); ++i) t.data<float>()[i] = t.data<float>()[i] > 0.5f;
  Tensor z = Random({6, 2}, 42, -4, 4);
  ChainResult probs = RunChain("sigmoid", "graft.BinaryCrossentropy", t, z);
  ChainResult logits = RunChain("linear", "graft.BinaryCrossentropyFromLogits", t, z);
  ASSERT_FALSE(probs.loss.empty() || logits.loss.empty());
  EXPECT_TRUE(AllClose(probs.loss, logits.loss));
  EXPECT_TRUE(AllClose(probs.dx, logits.dx));  // both (sigmoid(z) - t) / count
  // y_true gets no gradient: autodiff gives zeros.
  EXPECT_TRUE(AllClose(probs.dy_true, Tensor(kF32, t.shape()), 0, 0));
}

TEST(LossInGraph, SoftmaxThenScceMatchesFromLogits) {
  Tensor labels = F32({4}, {1, 0, 2, 2});
  Tensor z = Random({4, 3}, 43, -3, 3);
  ChainResult probs = RunChain("softmax", "graft.SparseCategoricalCrossentropy", labels, z);
  ChainResult logits =
      RunChain("linear", "graft.SparseCategoricalCrossentropyFromLogits", labels, z);
  ASSERT_FALSE(probs.loss.empty() || logits.loss.empty());
  EXPECT_TRUE(AllClose(probs.loss, logits.loss));
  EXPECT_TRUE(AllClose(probs.dx, logits.dx));  // both (softmax(z) - onehot) / N
  // (softmax(z) - onehot) / N by hand.
  for (int64_t r = 0; r < 4; ++r) {
    double m = -1e30, s = 0;
    for (int j = 0; j < 3; ++j) m = std::max(m, z.AsDouble(r * 3 + j));
    for (int j = 0; j < 3; ++j) s += std::exp(z.AsDouble(r * 3 + j) - m);
    for (int j = 0; j < 3; ++j) {
      const double want =
          (std::exp(z.AsDouble(r * 3 + j) - m) / s - (labels.AsDouble(r) == j ? 1 : 0)) / 4;
      EXPECT_NEAR(logits.dx.AsDouble(r * 3 + j), want, 1e-6);
    }
  }
}

TEST(LossInGraph, SoftmaxThenCceMatchesFromLogits) {
  Tensor t = F32({3, 3}, {0, 1, 0, 0.2f, 0.3f, 0.5f, 1, 0, 0});
  Tensor z = Random({3, 3}, 44, -3, 3);
  ChainResult probs = RunChain("softmax", "graft.CategoricalCrossentropy", t, z);
  ChainResult logits = RunChain("linear", "graft.CategoricalCrossentropyFromLogits", t, z);
  ASSERT_FALSE(probs.loss.empty() || logits.loss.empty());
  EXPECT_TRUE(AllClose(probs.loss, logits.loss));
  EXPECT_TRUE(AllClose(probs.dx, logits.dx));  // both (softmax(z) - t) / N: rows of t sum to 1
  EXPECT_TRUE(AllClose(probs.dy_true, Tensor(kF32, t.shape()), 0, 0));
}

TEST(LossInGraph, UnknownBatchCompilesForEachBatchSize) {
  Graph g;
  Value t = g.Placeholder({kF32, {kNone, 1}}, "y_true");
  Value p = g.Placeholder({kF32, {kNone, 1}}, "y_pred");
  auto loss = ops::BinaryCrossentropy(g, t, p);
  ASSERT_TRUE(loss.ok()) << loss.status();
  for (int64_t n : {1, 3, 32}) {
    auto plan =
        Plan::Compile(g, {.feeds = {t, p}, .fetches = {*loss}}, {{kF32, {n, 1}}, {kF32, {n, 1}}});
    ASSERT_TRUE(plan.ok()) << plan.status();
    Tensor tt(kF32, {n, 1});
    Tensor pp(kF32, {n, 1});
    for (int64_t i = 0; i < n; ++i) pp.data<float>()[i] = 0.25f;  // t = 0: loss = -log(0.75)
    std::vector<Tensor> out;
    ASSERT_TRUE((*plan)->Run({tt, pp}, &out).ok());
    EXPECT_NEAR(out[0].AsDouble(0), -std::log(0.75), 1e-6);
  }
  // A plan whose feeds disagree on the batch fails at compile time, naming the node.
  auto bad =
      Plan::Compile(g, {.feeds = {t, p}, .fetches = {*loss}}, {{kF32, {4, 1}}, {kF32, {5, 1}}});
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(HasText(bad.status(), "y_true (4, 1) and y_pred (5, 1) must have the same shape"));
}

}  // namespace
}  // namespace graft
