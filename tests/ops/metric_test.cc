#include "ops/metric.h"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "autodiff/gradients.h"
#include "gtest/gtest.h"
#include "ops/loss.h"
#include "runtime/plan.h"
#include "tests/testing.h"

namespace graft {
namespace {

using ::graft::testing::InferOp;
using ::graft::testing::Random;
using ::graft::testing::RunOp;
using ops::BinaryAccuracyAttrs;

constexpr DType kF32 = DType::kF32;
constexpr DType kF64 = DType::kF64;
constexpr int64_t kNone = Shape::kUnknownDim;

::testing::AssertionResult HasText(const absl::Status& status, const std::string& part) {
  if (std::string(status.message()).find(part) != std::string::npos) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "\"" << status.message() << "\" lacks \"" << part << "\"";
}

Tensor F32(Shape shape, std::vector<float> values) {
  return Tensor::FromVector<float>(std::move(shape), values);
}

// The metric's value with both kinds of kernels (they must agree exactly), and in float64.
double Accuracy(const std::string& op, std::any attrs, const Tensor& y_true, const Tensor& y_pred) {
  auto fast = RunOp(op, attrs, {y_true, y_pred}, KernelKind::kFast);
  auto ref = RunOp(op, attrs, {y_true, y_pred}, KernelKind::kReference);
  auto ref64 = RunOp(op, attrs, {y_true.CastTo(kF64), y_pred.CastTo(kF64)}, KernelKind::kReference);
  EXPECT_TRUE(fast.ok()) << fast.status();
  EXPECT_TRUE(ref.ok()) << ref.status();
  EXPECT_TRUE(ref64.ok()) << ref64.status();
  if (!fast.ok() || !ref.ok() || !ref64.ok()) return std::nan("");
  EXPECT_EQ((*fast)[0].type(), (TensorType{y_pred.dtype(), Shape{}}));
  EXPECT_EQ((*fast)[0].AsDouble(0), (*ref)[0].AsDouble(0));
  // The thresholds used with this helper are exact in float32, so float64 agrees too.
  EXPECT_EQ(static_cast<float>((*ref64)[0].AsDouble(0)), (*fast)[0].AsDouble(0));
  return (*fast)[0].AsDouble(0);
}

double Binary(const Tensor& y_true, const Tensor& y_pred, double threshold = 0.5) {
  return Accuracy("graft.BinaryAccuracy", BinaryAccuracyAttrs{threshold}, y_true, y_pred);
}
double Sparse(const Tensor& y_true, const Tensor& y_pred) {
  return Accuracy("graft.SparseCategoricalAccuracy", NoAttrs{}, y_true, y_pred);
}
double Categorical(const Tensor& y_true, const Tensor& y_pred) {
  return Accuracy("graft.CategoricalAccuracy", NoAttrs{}, y_true, y_pred);
}

// Scores whose argmax (first maximum) is 1, 0, 0, 0, 0.
Tensor ScoresWithTies() {
  return F32({5, 3}, {0.1f, 0.7f, 0.2f,    // argmax 1
                      0.4f, 0.4f, 0.2f,    // tie 0/1: the first, 0
                      0.5f, 0.5f, 0.0f,    // tie 0/1: 0
                      0.6f, 0.1f, 0.3f,    // argmax 0
                      0.3f, 0.3f, 0.3f});  // all tied: 0
}

// ---- BinaryAccuracy --------------------------------------------------------------------------

TEST(BinaryAccuracy, HandComputed) {
  // p > 0.5 strictly: 0.5 counts as 0.
  Tensor t = F32({6, 1}, {1, 0, 1, 0, 1, 0});
  Tensor p = F32({6, 1}, {0.9f, 0.1f, 0.5f, 0.5f, 0.51f, 0.49f});
  //  predicted 1, 0, 0, 0, 1, 0  -> correct: yes, yes, no, yes, yes, yes
  EXPECT_FLOAT_EQ(Binary(t, p), 5.0 / 6.0);
}

TEST(BinaryAccuracy, SoftLabelsAreThresholdedAtOneHalf) {
  // y_true counts as 1 when > 0.5: 0.5 -> 0, 0.7 -> 1, 0.2 -> 0.
  Tensor t = F32({4}, {0.5f, 0.7f, 0.2f, 0.5f});
  Tensor p = F32({4}, {0.2f, 0.9f, 0.9f, 0.8f});
  //  predicted 0, 1, 1, 1 ; labels 0, 1, 0, 0 -> correct: yes, yes, no, no
  EXPECT_FLOAT_EQ(Binary(t, p), 0.5);
}

TEST(BinaryAccuracy, ThresholdEdgesInYPredsDtype) {
  // Keras compares y_pred > threshold with the threshold cast to y_pred's dtype: at
  // threshold 0.3, y_pred = float32(0.3) is not above it (in double it would be: 0.3f > 0.3).
  const float at = 0.3f;
  const float above = std::nextafter(at, 1.0f);
  const float below = std::nextafter(at, 0.0f);
  Tensor t = F32({3}, {0, 1, 0});
  Tensor p = F32({3}, {at, above, below});
  auto out = RunOp("graft.BinaryAccuracy", BinaryAccuracyAttrs{0.3}, {t, p});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)[0].AsDouble(0), 1.0);
  // Threshold 0: any positive prediction is 1; threshold 1: nothing is.
  Tensor t2 = F32({4}, {1, 1, 0, 0});
  Tensor p2 = F32({4}, {1e-30f, 1.0f, 0.0f, -1.0f});
  EXPECT_FLOAT_EQ(Binary(t2, p2, 0.0), 1.0);
  EXPECT_FLOAT_EQ(Binary(t2, p2, 1.0), 0.5);
}

TEST(BinaryAccuracy, MeanOverEveryElement) {
  Tensor t = F32({2, 3}, {1, 1, 1, 0, 0, 0});
  Tensor p = F32({2, 3}, {0.9f, 0.2f, 0.8f, 0.1f, 0.7f, 0.3f});
  EXPECT_FLOAT_EQ(Binary(t, p), 4.0 / 6.0);
}

TEST(BinaryAccuracy, RankFixUp) {
  // y_true (N,) with y_pred (N, 1), as Keras's squeeze_or_expand_to_same_rank.
  Tensor t = F32({4}, {1, 0, 1, 1});
  Tensor p = F32({4, 1}, {0.6f, 0.4f, 0.3f, 0.99f});
  EXPECT_FLOAT_EQ(Binary(t, p), 0.75);
}

TEST(BinaryAccuracy, Builder) {
  Graph g;
  Value t = g.Placeholder({kF32, {kNone, 1}}, "y_true");
  Value p = g.Placeholder({kF32, {kNone, 1}}, "y_pred");
  auto acc = ops::BinaryAccuracy(g, t, p, 0.7);
  ASSERT_TRUE(acc.ok()) << acc.status();
  EXPECT_EQ(g.type(*acc), (TensorType{kF32, Shape{}}));
  EXPECT_EQ(g.node(*acc).attrs_as<BinaryAccuracyAttrs>().threshold, 0.7);
}

// ---- SparseCategoricalAccuracy ---------------------------------------------------------------

TEST(SparseCategoricalAccuracy, HandComputedWithTies) {
  Tensor labels = F32({5}, {1, 0, 1, 2, 2});
  Tensor p = ScoresWithTies();
  // argmax 1, 0 (tie 0/1), 0 (tie 0/1), 0, 0 (all tied): right, right, wrong, wrong, wrong.
  EXPECT_FLOAT_EQ(Sparse(labels, p), 0.4);
  // Labels as a column (N, 1) give the same.
  auto column = labels.Reshaped({5, 1});
  ASSERT_TRUE(column.ok());
  EXPECT_FLOAT_EQ(Sparse(*column, p), 0.4);
}

TEST(SparseCategoricalAccuracy, LogitsWorkToo) {
  // Any scores: the argmax of logits is the argmax of their softmax.
  Tensor labels = F32({3}, {2, 0, 1});
  Tensor z = F32({3, 3}, {-5, -4, -1, 30, 29.5f, -30, 0, 1e-3f, 0});
  EXPECT_FLOAT_EQ(Sparse(labels, z), 1.0);
}

TEST(SparseCategoricalAccuracy, LabelOutOfRangeIsAnError) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<std::pair<float, std::string>> bad = {
      {3,
       "label 3 in row 1 of y_true is not a class index: y_pred has 3 classes, "
       "so labels "
       "must be integers in [0, 3)"},
      {-1, "label -1 in row 1"},
      {0.5f, "label 0.5 in row 1"},
      {nan, "label nan in row 1"}};
  Tensor p = Random({3, 3}, 7, 0, 1);
  for (const auto& [label, message] : bad) {
    Tensor labels = F32({3}, {0, label, 2});
    for (KernelKind kind : {KernelKind::kFast, KernelKind::kReference}) {
      SCOPED_TRACE(absl::StrCat("label ", label));
      auto out = RunOp("graft.SparseCategoricalAccuracy", NoAttrs{}, {labels, p}, kind);
      ASSERT_FALSE(out.ok());
      EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_TRUE(HasText(out.status(), message));
      EXPECT_TRUE(HasText(out.status(), "(graft.SparseCategoricalAccuracy)"));
    }
  }
}

TEST(SparseCategoricalAccuracy, Builder) {
  Graph g;
  Value t = g.Placeholder({kF32, {kNone}}, "labels");
  Value p = g.Placeholder({kF32, {kNone, 10}}, "probs");
  auto acc = ops::SparseCategoricalAccuracy(g, t, p);
  ASSERT_TRUE(acc.ok()) << acc.status();
  EXPECT_EQ(g.type(*acc), (TensorType{kF32, Shape{}}));
}

// ---- CategoricalAccuracy ---------------------------------------------------------------------

TEST(CategoricalAccuracy, HandComputedWithTies) {
  Tensor t = F32({5, 3}, {0, 1, 0,           // class 1
                          1, 0, 0,           // class 0
                          0, 1, 0,           // class 1
                          0.2f, 0.3f, 0.5f,  // soft: argmax 2
                          0.5f, 0.5f, 0});   // tied targets: the first, class 0
  // Predicted 1, 0, 0, 0, 0: right, right, wrong, wrong, right.
  EXPECT_FLOAT_EQ(Categorical(t, ScoresWithTies()), 0.6);
}

TEST(CategoricalAccuracy, EqualsSparseOnOneHotTargets) {
  Tensor labels = F32({6}, {0, 3, 1, 2, 3, 3});
  Tensor onehot(kF32, {6, 4});
  for (int64_t r = 0; r < 6; ++r) onehot.data<float>()[r * 4 + int64_t(labels.AsDouble(r))] = 1;
  Tensor p = Random({6, 4}, 9, 0, 1);
  EXPECT_EQ(Categorical(onehot, p), Sparse(labels, p));
  EXPECT_EQ(Categorical(onehot, onehot), 1.0);
}

TEST(CategoricalAccuracy, RowsAreEveryPositionButTheClassAxis) {
  // (N, L, K) = (2, 2, 2): four rows, as Keras's matches of shape (N, L).
  Tensor t = F32({2, 2, 2}, {1, 0, 0, 1, 0, 1, 0, 1});
  Tensor p = F32({2, 2, 2}, {0.9f, 0.1f, 0.8f, 0.2f, 0.3f, 0.7f, 0.4f, 0.6f});
  EXPECT_FLOAT_EQ(Categorical(t, p), 0.75);
}

TEST(CategoricalAccuracy, Builder) {
  Graph g;
  Value t = g.Placeholder({kF32, {kNone, 10}}, "onehot");
  Value p = g.Placeholder({kF32, {kNone, 10}}, "probs");
  auto acc = ops::CategoricalAccuracy(g, t, p);
  ASSERT_TRUE(acc.ok()) << acc.status();
  EXPECT_EQ(g.type(*acc), (TensorType{kF32, Shape{}}));
  Value labels = g.Placeholder({kF32, {kNone}}, "labels");
  auto bad = ops::CategoricalAccuracy(g, labels, p);
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(HasText(bad.status(),
                      "(graft.CategoricalAccuracy): y_true (None,) and y_pred "
                      "(None, 10) must have the same shape"));
  EXPECT_TRUE(HasText(bad.status(), "for class indices use the sparse categorical"));
}

// ---- MAE and MSE as metrics: the loss ops ----------------------------------------------------

TEST(RegressionMetrics, AreTheLossOpsValues) {
  // Keras's MeanSquaredError / MeanAbsoluteError metrics of one batch: the mean over samples of
  // the per-sample mean over the last axis; ops/metric.h says to use the loss ops.
  Graph g;
  Value t = g.Placeholder({kF32, {kNone, 2}}, "y_true");
  Value p = g.Placeholder({kF32, {kNone, 2}}, "y_pred");
  auto mse = ops::MeanSquaredError(g, t, p);
  auto mae = ops::MeanAbsoluteError(g, t, p);
  ASSERT_TRUE(mse.ok() && mae.ok());
  auto plan = Plan::Compile(g, {.feeds = {t, p}, .fetches = {*mse, *mae}},
                            {{kF32, {3, 2}}, {kF32, {3, 2}}});
  ASSERT_TRUE(plan.ok()) << plan.status();
  std::vector<Tensor> out;
  ASSERT_TRUE(
      (*plan)->Run({F32({3, 2}, {0, 1, 2, 3, 4, 5}), F32({3, 2}, {1, 1, 2, 1, 4, 8})}, &out).ok());
  // Per sample: squared (0.5, 2, 4.5), absolute (0.5, 1, 1.5).
  EXPECT_FLOAT_EQ(out[0].AsDouble(0), 7.0 / 3);
  EXPECT_FLOAT_EQ(out[1].AsDouble(0), 1.0);
}

// ---- shapes ----------------------------------------------------------------------------------

struct ShapeCase {
  Shape y_true;
  Shape y_pred;
  const char* error;  // nullptr: accepted
};

// Each case through op's shape function: a float32 scalar, or an error naming the op and
// containing the case's text.
void ExpectShapes(const std::string& op, const std::any& attrs,
                  const std::vector<ShapeCase>& cases) {
  for (const ShapeCase& c : cases) {
    SCOPED_TRACE(absl::StrCat(op, " ", c.y_true.ToString(), " ", c.y_pred.ToString()));
    auto out = InferOp(op, attrs, {{kF32, c.y_true}, {kF32, c.y_pred}});
    if (c.error == nullptr) {
      ASSERT_TRUE(out.ok()) << out.status();
      EXPECT_EQ((*out)[0], (TensorType{kF32, Shape{}}));
    } else {
      ASSERT_FALSE(out.ok());
      EXPECT_TRUE(HasText(out.status(), c.error));
      EXPECT_TRUE(HasText(out.status(), absl::StrCat("(", op, ")")));
    }
  }
}

TEST(MetricShapes, Binary) {
  const std::vector<ShapeCase> cases = {
      {{kNone, 1}, {kNone, 1}, nullptr},
      {{kNone}, {kNone, 1}, nullptr},
      {{kNone, 3}, {4, 3}, nullptr},
      {{kNone, 2}, {kNone, 1}, "y_true (None, 2) and y_pred (None, 1) must have the same shape"},
      {{4, 1}, {5, 1}, "y_true (4, 1) and y_pred (5, 1) must have the same shape"},
      {{}, {}, "must have a batch axis first"},
  };
  ExpectShapes("graft.BinaryAccuracy", BinaryAccuracyAttrs{}, cases);
}

TEST(MetricShapes, Sparse) {
  const std::vector<ShapeCase> cases = {
      {{kNone}, {kNone, 10}, nullptr},
      {{kNone, 1}, {kNone, 10}, nullptr},
      {{8}, {kNone, 10}, nullptr},
      {{4}, {5, 3}, "y_true (4,) and y_pred (5, 3) must have the same batch size"},
      {{kNone}, {kNone, 3, 4}, "y_pred must have shape (batch, classes), got (None, 3, 4)"},
      {{kNone, 10}, {kNone, 10}, "y_true must hold one class index per sample"},
  };
  ExpectShapes("graft.SparseCategoricalAccuracy", NoAttrs{}, cases);
}

TEST(MetricShapes, Categorical) {
  const std::vector<ShapeCase> cases = {
      {{kNone, 10}, {kNone, 10}, nullptr},
      {{8, 10}, {kNone, 10}, nullptr},
      {{kNone, 3, 4}, {kNone, 3, 4}, nullptr},
      {{4, 3}, {5, 3}, "y_true (4, 3) and y_pred (5, 3) must have the same shape"},
      {{kNone, 1}, {kNone, 10}, "for class indices use the sparse categorical"},
      {{kNone}, {kNone}, "y_pred must have shape (batch, ..., classes), got (None,)"},
  };
  ExpectShapes("graft.CategoricalAccuracy", NoAttrs{}, cases);
}

TEST(MetricShapes, DTypes) {
  auto mixed = InferOp("graft.BinaryAccuracy", BinaryAccuracyAttrs{},
                       {{kF64, {kNone, 1}}, {kF32, {kNone, 1}}});
  ASSERT_FALSE(mixed.ok());
  EXPECT_TRUE(HasText(mixed.status(), "y_true (float64) must have y_pred's dtype (float32)"));
  auto f64 =
      InferOp("graft.SparseCategoricalAccuracy", NoAttrs{}, {{kF64, {kNone}}, {kF64, {kNone, 4}}});
  ASSERT_TRUE(f64.ok()) << f64.status();
  EXPECT_EQ((*f64)[0], (TensorType{kF64, Shape{}}));
}

// ---- not differentiable ----------------------------------------------------------------------

TEST(Metric, HasNoGradientRule) {
  Graph g;
  Value t = g.Placeholder({kF32, {kNone, 1}}, "y_true");
  Value p = g.Placeholder({kF32, {kNone, 1}}, "y_pred");
  auto acc = ops::BinaryAccuracy(g, t, p);
  ASSERT_TRUE(acc.ok()) << acc.status();
  auto grads = autodiff::Gradients(g, *acc, {p});
  ASSERT_FALSE(grads.ok());
  EXPECT_TRUE(HasText(grads.status(), "(graft.BinaryAccuracy) has no gradient rule"));
  Value q = g.Placeholder({kF32, {kNone, 3}}, "q");
  auto cat = ops::CategoricalAccuracy(g, q, q);
  ASSERT_TRUE(cat.ok()) << cat.status();
  auto cat_grads = autodiff::Gradients(g, *cat, {q});
  ASSERT_FALSE(cat_grads.ok());
  EXPECT_TRUE(HasText(cat_grads.status(), "(graft.CategoricalAccuracy) has no gradient rule"));
}

}  // namespace
}  // namespace graft
