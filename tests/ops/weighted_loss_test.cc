// Sample weights on the loss and metric ops (the optional third input, ops/loss.h, ops/metric.h):
// PyTorch golden data (tools/golden/weighted_losses.py), numeric gradient checks, shape errors,
// the weighted metrics by hand.
#include <cmath>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "autodiff/grad_check.h"
#include "autodiff/gradients.h"
#include "gtest/gtest.h"
#include "ops/loss.h"
#include "ops/metric.h"
#include "runtime/plan.h"
#include "tests/testing.h"

namespace graft {
namespace {

using ::graft::testing::AllClose;
using ::graft::testing::Contains;
using ::graft::testing::Golden;
using ::graft::testing::InferOp;
using ::graft::testing::Random;
using ::graft::testing::RunOp;

constexpr DType kF32 = DType::kF32;
constexpr DType kF64 = DType::kF64;
constexpr int64_t kNone = Shape::kUnknownDim;

const char* const kLosses[] = {"graft.BinaryCrossentropy",
                               "graft.BinaryCrossentropyFromLogits",
                               "graft.SparseCategoricalCrossentropy",
                               "graft.SparseCategoricalCrossentropyFromLogits",
                               "graft.CategoricalCrossentropy",
                               "graft.CategoricalCrossentropyFromLogits",
                               "graft.MeanSquaredError",
                               "graft.MeanAbsoluteError"};

bool IsSparse(const std::string& op) { return Contains(op, "Sparse"); }

Tensor F32(Shape shape, std::vector<float> values) {
  return Tensor::FromVector<float>(std::move(shape), values);
}

Tensor ScalarOf(DType dtype, double v) {
  Tensor d(dtype, Shape{});
  if (dtype == kF32) {
    d.data<float>()[0] = static_cast<float>(v);
  } else {
    d.data<double>()[0] = v;
  }
  return d;
}

// The loss and its gradient (dloss given), weighted when `w` is not empty.
struct LossRun {
  Tensor loss, grad;
};
LossRun RunLoss(const std::string& op, const Tensor& t, const Tensor& p, const Tensor& w,
                KernelKind kind, double dloss = 1.0) {
  LossRun r;
  std::vector<Tensor> in = {t, p};
  if (!w.empty()) in.push_back(w);
  auto fwd = RunOp(op, NoAttrs{}, in, kind);
  EXPECT_TRUE(fwd.ok()) << op << ": " << fwd.status();
  if (!fwd.ok()) return r;
  r.loss = (*fwd)[0];
  in.insert(in.begin(), ScalarOf(p.dtype(), dloss));
  auto bwd = RunOp(op + "Grad", NoAttrs{}, in, kind);
  EXPECT_TRUE(bwd.ok()) << op << "Grad: " << bwd.status();
  if (bwd.ok()) r.grad = (*bwd)[0];
  return r;
}

Tensor Scalar(const Tensor& t) {
  absl::StatusOr<Tensor> s = t.Reshaped(Shape{});
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *s : Tensor();
}

// y_true and y_pred of a loss op: labels for the sparse losses, y_pred-shaped values otherwise.
std::pair<Tensor, Tensor> Targets(const std::string& op, Shape shape, uint64_t seed) {
  const int64_t k = shape.dim(-1), n = shape.dim(0);
  if (IsSparse(op)) {
    Tensor labels(kF32, {n});
    for (int64_t i = 0; i < n; ++i) labels.data<float>()[i] = static_cast<float>((i * 5 + 1) % k);
    return {labels, Random(shape, seed, 0.1, 1.0)};
  }
  const bool logits = Contains(op, "Logits") || Contains(op, "Mean");
  return {Random(shape, seed, 0, 1),
          logits ? Random(shape, seed + 1, -3, 3) : Random(shape, seed + 1, 0.05, 0.95)};
}

// ---- PyTorch golden data --------------------------------------------------------------------

struct GoldenCase {
  const char* name;  // tests/golden/wloss_<name>_*.npy
  const char* op;
};

class WeightedLossGolden : public ::testing::TestWithParam<GoldenCase> {};

TEST_P(WeightedLossGolden, ValueAndGradient) {
  const GoldenCase& c = GetParam();
  const std::string prefix = absl::StrCat("wloss_", c.name, "_");
  Tensor t = Golden(prefix + "true"), p = Golden(prefix + "pred"), w = Golden(prefix + "weight");
  Tensor value = Scalar(Golden(prefix + "value")), grad = Golden(prefix + "grad");
  ASSERT_FALSE(t.empty() || p.empty() || w.empty() || value.empty() || grad.empty());
  for (KernelKind kind : {KernelKind::kFast, KernelKind::kReference}) {
    SCOPED_TRACE(kind == KernelKind::kFast ? "fast" : "reference");
    LossRun r = RunLoss(c.op, t, p, w, kind);
    ASSERT_FALSE(r.loss.empty() || r.grad.empty());
    EXPECT_TRUE(AllClose(r.loss, value));
    EXPECT_TRUE(AllClose(r.grad, grad));
    // A zero-weight sample gets exactly zero gradient.
    const int64_t per = grad.num_elements() / w.num_elements();
    for (int64_t i = 0; i < grad.num_elements(); ++i) {
      if (w.AsDouble(i / per) == 0.0) EXPECT_EQ(r.grad.AsDouble(i), 0.0) << "entry " << i;
    }
  }
  LossRun r64 =
      RunLoss(c.op, t.CastTo(kF64), p.CastTo(kF64), w.CastTo(kF64), KernelKind::kReference, 1.0);
  ASSERT_FALSE(r64.loss.empty() || r64.grad.empty());
  EXPECT_TRUE(AllClose(r64.loss, value.CastTo(kF64), 1e-6, 1e-7));
  EXPECT_TRUE(AllClose(r64.grad, grad.CastTo(kF64), 1e-6, 1e-7));
}

INSTANTIATE_TEST_SUITE_P(
    PyTorch, WeightedLossGolden,
    ::testing::Values(GoldenCase{"bce", "graft.BinaryCrossentropy"},
                      GoldenCase{"bce3d", "graft.BinaryCrossentropy"},
                      GoldenCase{"bce_logits", "graft.BinaryCrossentropyFromLogits"},
                      GoldenCase{"scce", "graft.SparseCategoricalCrossentropy"},
                      GoldenCase{"scce_logits", "graft.SparseCategoricalCrossentropyFromLogits"},
                      GoldenCase{"cce", "graft.CategoricalCrossentropy"},
                      GoldenCase{"cce_logits", "graft.CategoricalCrossentropyFromLogits"},
                      GoldenCase{"cce3d", "graft.CategoricalCrossentropy"},
                      GoldenCase{"cce3d_logits", "graft.CategoricalCrossentropyFromLogits"},
                      GoldenCase{"mse", "graft.MeanSquaredError"},
                      GoldenCase{"mae", "graft.MeanAbsoluteError"},
                      GoldenCase{"mse3d", "graft.MeanSquaredError"}),
    [](const ::testing::TestParamInfo<GoldenCase>& info) { return std::string(info.param.name); });

// ---- the Keras reduction, by hand -----------------------------------------------------------

TEST(WeightedLoss, DividesByTheCountNotBySumOfWeights) {
  // MSE per sample (mean over the last axis): (1, 4); weights (2, 0.5):
  // sum(w l) / N = (2 * 1 + 0.5 * 4) / 2 = 2, not / sum(w) = 1.6.
  Tensor t = F32({2, 2}, {0, 0, 0, 0});
  Tensor p = F32({2, 2}, {1, -1, 2, 2});
  Tensor w = F32({2}, {2, 0.5f});
  for (KernelKind kind : {KernelKind::kFast, KernelKind::kReference}) {
    LossRun r = RunLoss("graft.MeanSquaredError", t, p, w, kind, 3.0);
    EXPECT_DOUBLE_EQ(r.loss.AsDouble(0), 2.0);
    // dp = dloss * w_n * 2 (p - t) / count, count 4.
    EXPECT_TRUE(AllClose(r.grad, F32({2, 2}, {3, -3, 1.5f, 1.5f}), 0, 0));
  }
}

TEST(WeightedLoss, OnesAreTheUnweightedLossBitForBit) {
  // One item per sample (every loss on (N, 1) or (N, K) rows): w = 1 adds the same terms in the
  // same order as no weights, so a Model fed ones loses nothing.
  for (const char* op : kLosses) {
    SCOPED_TRACE(op);
    const bool rows = Contains(op, "Categorical");
    const Shape shape = rows ? Shape{37, 4} : Shape{37, 1};
    auto [t, p] = Targets(op, shape, 7);
    Tensor ones(kF32, {37});
    for (int64_t i = 0; i < 37; ++i) ones.data<float>()[i] = 1;
    for (KernelKind kind : {KernelKind::kFast, KernelKind::kReference}) {
      LossRun plain = RunLoss(op, t, p, Tensor(), kind, 0.75);
      LossRun weighted = RunLoss(op, t, p, ones, kind, 0.75);
      ASSERT_FALSE(plain.loss.empty() || weighted.loss.empty());
      EXPECT_EQ(plain.loss.AsDouble(0), weighted.loss.AsDouble(0));
      EXPECT_TRUE(AllClose(plain.grad, weighted.grad, 0, 0));
    }
  }
}

TEST(WeightedLoss, FastEqualsReferenceAcrossBlocks) {
  // Several summation blocks of 2048 items, with samples straddling block boundaries
  // (3000 elements per sample): the fast kernels split blocks across threads, same bits.
  Tensor w = Random({12}, 3, 0, 2);
  w.data<float>()[4] = 0;
  for (const char* op : {"graft.BinaryCrossentropy", "graft.MeanSquaredError",
                         "graft.CategoricalCrossentropyFromLogits"}) {
    SCOPED_TRACE(op);
    const Shape shape = Contains(op, "Categorical") ? Shape{12, 1000, 3} : Shape{12, 3000};
    auto [t, p] = Targets(op, shape, 9);
    LossRun fast = RunLoss(op, t, p, w, KernelKind::kFast, 0.5);
    LossRun ref = RunLoss(op, t, p, w, KernelKind::kReference, 0.5);
    ASSERT_FALSE(fast.loss.empty() || ref.loss.empty());
    EXPECT_EQ(fast.loss.AsDouble(0), ref.loss.AsDouble(0));
    EXPECT_TRUE(AllClose(fast.grad, ref.grad, 0, 0));
    // And the weights took effect: the loss is not the unweighted one.
    LossRun plain = RunLoss(op, t, p, Tensor(), KernelKind::kReference, 0.5);
    EXPECT_NE(plain.loss.AsDouble(0), ref.loss.AsDouble(0));
  }
}

// ---- gradient checks (float64, central differences) -----------------------------------------

TEST(WeightedLossGradCheck, EveryLoss) {
  Tensor w = F32({4}, {0.5f, 2, 0, 1.25f});
  for (const char* op : kLosses) {
    for (const Shape& shape : {Shape{4, 3}, Shape{4, 2, 3}}) {
      if (IsSparse(op) && shape.rank() == 3) continue;  // sparse: y_pred (N, K) only
      SCOPED_TRACE(absl::StrCat(op, " ", shape.ToString()));
      auto [t, p] = Targets(op, shape, 21);
      auto report = autodiff::CheckGradients(op, NoAttrs{}, {t, p, w}, {.wrt = {1}});
      ASSERT_TRUE(report.ok()) << report.status();
      EXPECT_TRUE(report->ok) << report->ToString();
      EXPECT_EQ(report->entries_checked, shape.num_elements());
    }
  }
}

TEST(WeightedLossGradCheck, WeightsGetNoGradient) {
  // Through autodiff: d(loss)/d(sample_weight) is not computed (zeros), as y_true's.
  Graph g;
  Value t = g.Placeholder({kF32, {kNone, 2}}, "y_true");
  Value p = g.Placeholder({kF32, {kNone, 2}}, "y_pred");
  Value w = g.Placeholder({kF32, {kNone}}, "sample_weight");
  auto loss = ops::MeanSquaredError(g, t, p, w);
  ASSERT_TRUE(loss.ok()) << loss.status();
  auto grads = autodiff::Gradients(g, *loss, {p, w});
  ASSERT_TRUE(grads.ok()) << grads.status();
  auto plan = Plan::Compile(g, {.feeds = {t, p, w}, .fetches = {*loss, (*grads)[0], (*grads)[1]}},
                            {{kF32, {3, 2}}, {kF32, {3, 2}}, {kF32, {3}}});
  ASSERT_TRUE(plan.ok()) << plan.status();
  std::vector<Tensor> out;
  ASSERT_TRUE((*plan)
                  ->Run({F32({3, 2}, {0, 0, 0, 0, 0, 0}), F32({3, 2}, {1, 1, 2, 2, 3, 3}),
                         F32({3}, {1, 0, 2})},
                        &out)
                  .ok());
  EXPECT_FLOAT_EQ(out[0].AsDouble(0), (1 * 1 + 0 * 4 + 2 * 9) / 3.0);  // per-sample MSE 1, 4, 9
  EXPECT_TRUE(AllClose(out[1], F32({3, 2}, {1.0f / 3, 1.0f / 3, 0, 0, 2, 2})));
  EXPECT_TRUE(AllClose(out[2], F32({3}, {0, 0, 0}), 0, 0));
}

// ---- shapes ---------------------------------------------------------------------------------

TEST(WeightedLossShapes, WeightMustBeOnePerSample) {
  for (const char* op : kLosses) {
    SCOPED_TRACE(op);
    const Shape t = IsSparse(op) ? Shape{kNone} : Shape{kNone, 3};
    const std::vector<TensorType> base = {{kF32, t}, {kF32, {kNone, 3}}};
    auto with = [&](TensorType w) {
      std::vector<TensorType> in = base;
      in.push_back(w);
      return InferOp(op, NoAttrs{}, in);
    };
    auto ok = with({kF32, {kNone}});
    ASSERT_TRUE(ok.ok()) << ok.status();
    EXPECT_EQ((*ok)[0], (TensorType{kF32, Shape{}}));
    EXPECT_TRUE(with({kF32, {5}}).ok());  // a known count against an unknown batch
    auto column = with({kF32, {kNone, 1}});
    ASSERT_FALSE(column.ok());
    EXPECT_EQ(column.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(Contains(column.status().message(),
                         absl::StrCat("(", op,
                                      "): sample_weight must have shape (batch,) = "
                                      "(None,), one weight per sample of y_pred "
                                      "(None, 3), got (None, 1); drop the trailing axis")))
        << column.status();
    auto dtype = with({kF64, {kNone}});
    ASSERT_FALSE(dtype.ok());
    EXPECT_TRUE(Contains(dtype.status().message(),
                         "sample_weight (float64) must have y_pred's dtype (float32)"));
    auto scalar = with({kF32, {}});
    EXPECT_FALSE(scalar.ok());
    // The backward op checks the same.
    auto grad_ok = InferOp(absl::StrCat(op, "Grad"), NoAttrs{},
                           {{kF32, {}}, base[0], base[1], {kF32, {kNone}}});
    EXPECT_TRUE(grad_ok.ok()) << grad_ok.status();
    auto grad_bad = InferOp(absl::StrCat(op, "Grad"), NoAttrs{},
                            {{kF32, {}}, base[0], base[1], {kF32, {kNone, 3}}});
    ASSERT_FALSE(grad_bad.ok());
    EXPECT_TRUE(Contains(grad_bad.status().message(), "sample_weight must have shape (batch,)"));
  }
  // Known counts that disagree: at build time, naming both shapes.
  auto bad =
      InferOp("graft.MeanSquaredError", NoAttrs{}, {{kF32, {4, 2}}, {kF32, {4, 2}}, {kF32, {5}}});
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(Contains(bad.status().message(),
                       "sample_weight must have shape (batch,) = (4,), one weight per sample of "
                       "y_pred (4, 2), got (5,)"))
      << bad.status();
}

TEST(WeightedLossShapes, PlanWithTheWrongBatchFailsAtCompile) {
  Graph g;
  Value t = g.Placeholder({kF32, {kNone, 1}}, "y_true");
  Value p = g.Placeholder({kF32, {kNone, 1}}, "y_pred");
  Value w = g.Placeholder({kF32, {kNone}}, "w");
  auto loss = ops::BinaryCrossentropy(g, t, p, w);
  ASSERT_TRUE(loss.ok()) << loss.status();
  auto plan = Plan::Compile(g, {.feeds = {t, p, w}, .fetches = {*loss}},
                            {{kF32, {4, 1}}, {kF32, {4, 1}}, {kF32, {3}}});
  ASSERT_FALSE(plan.ok());
  EXPECT_TRUE(Contains(plan.status().message(), "sample_weight must have shape (batch,) = (4,)"))
      << plan.status();
}

// ---- weighted metrics -----------------------------------------------------------------------

double Metric(const std::string& op, std::any attrs, const Tensor& t, const Tensor& p,
              const Tensor& w) {
  std::vector<Tensor> in = {t, p};
  if (!w.empty()) in.push_back(w);
  auto fast = RunOp(op, attrs, in, KernelKind::kFast);
  auto ref = RunOp(op, attrs, in, KernelKind::kReference);
  EXPECT_TRUE(fast.ok()) << fast.status();
  EXPECT_TRUE(ref.ok()) << ref.status();
  if (!fast.ok() || !ref.ok()) return std::nan("");
  EXPECT_EQ((*fast)[0].AsDouble(0), (*ref)[0].AsDouble(0));
  return (*fast)[0].AsDouble(0);
}

TEST(WeightedMetric, AccuraciesAreWeightedMeans) {
  // Binary: right, wrong, right, right with weights 1, 3, 0, 2: (1 + 0 + 0 + 2) / 6.
  Tensor t = F32({4, 1}, {1, 0, 1, 0});
  Tensor p = F32({4, 1}, {0.9f, 0.8f, 0.7f, 0.1f});
  Tensor w = F32({4}, {1, 3, 0, 2});
  EXPECT_FLOAT_EQ(Metric("graft.BinaryAccuracy", ops::BinaryAccuracyAttrs{}, t, p, w), 0.5);
  EXPECT_FLOAT_EQ(Metric("graft.BinaryAccuracy", ops::BinaryAccuracyAttrs{}, t, p, Tensor()), 0.75);
  // Binary on (N, 2): a sample's value is the mean of its two matches (Keras's
  // reduce_to_samplewise_values): sample 0 1/2, sample 1 1; weights 3, 1 -> (1.5 + 1) / 4.
  Tensor t2 = F32({2, 2}, {1, 1, 0, 0});
  Tensor p2 = F32({2, 2}, {0.9f, 0.2f, 0.1f, 0.3f});
  EXPECT_FLOAT_EQ(
      Metric("graft.BinaryAccuracy", ops::BinaryAccuracyAttrs{}, t2, p2, F32({2}, {3, 1})),
      2.5 / 4);
  // Sparse: rows right, wrong, right; weights 0.5, 2, 1.5 -> 2 / 4.
  Tensor labels = F32({3}, {1, 0, 2});
  Tensor scores = F32({3, 3}, {0, 1, 0, 0, 1, 0, 0, 0, 1});
  Tensor w3 = F32({3}, {0.5f, 2, 1.5f});
  EXPECT_FLOAT_EQ(Metric("graft.SparseCategoricalAccuracy", NoAttrs{}, labels, scores, w3), 0.5);
  // Categorical on (N, L, K) = (2, 2, 2): sample 0 has rows right, wrong (1/2), sample 1 both
  // right (1); weights 1, 3 -> (0.5 + 3) / 4.
  Tensor onehot = F32({2, 2, 2}, {1, 0, 1, 0, 0, 1, 0, 1});
  Tensor probs = F32({2, 2, 2}, {0.9f, 0.1f, 0.2f, 0.8f, 0.3f, 0.7f, 0.4f, 0.6f});
  EXPECT_FLOAT_EQ(Metric("graft.CategoricalAccuracy", NoAttrs{}, onehot, probs, F32({2}, {1, 3})),
                  3.5 / 4);
  // Weights summing to 0: 0 (Keras's divide_no_nan), not NaN.
  EXPECT_EQ(
      Metric("graft.SparseCategoricalAccuracy", NoAttrs{}, labels, scores, F32({3}, {0, 0, 0})),
      0.0);
}

TEST(WeightedMetric, ErrorMetricsDivideBySumOfWeights) {
  // Per-sample MSE (1, 4) with weights (2, 0.5): (2 + 2) / 2.5 = 1.6 (the weighted loss is 2).
  Tensor t = F32({2, 2}, {0, 0, 0, 0});
  Tensor p = F32({2, 2}, {1, -1, 2, 2});
  Tensor w = F32({2}, {2, 0.5f});
  EXPECT_FLOAT_EQ(Metric("graft.MeanSquaredErrorMetric", NoAttrs{}, t, p, w), 1.6);
  EXPECT_FLOAT_EQ(Metric("graft.MeanAbsoluteErrorMetric", NoAttrs{}, t, p, w), (2 + 1) / 2.5);
  // Unweighted, they are the losses' values.
  EXPECT_FLOAT_EQ(Metric("graft.MeanSquaredErrorMetric", NoAttrs{}, t, p, Tensor()), 2.5);
  auto loss = RunOp("graft.MeanSquaredError", NoAttrs{}, {t, p});
  ASSERT_TRUE(loss.ok());
  EXPECT_FLOAT_EQ((*loss)[0].AsDouble(0), 2.5);
  // Shapes: the weights are checked as for the losses.
  auto bad = InferOp("graft.MeanAbsoluteErrorMetric", NoAttrs{},
                     {{kF32, {kNone, 2}}, {kF32, {kNone, 2}}, {kF32, {kNone, 2}}});
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(Contains(bad.status().message(), "sample_weight must have shape (batch,)"));
}

TEST(WeightedMetric, OnesGiveTheUnweightedAccuracy) {
  Tensor labels(kF32, {50});
  for (int64_t i = 0; i < 50; ++i) labels.data<float>()[i] = static_cast<float>(i % 4);
  Tensor scores = Random({50, 4}, 5);
  Tensor ones(kF32, {50});
  for (int64_t i = 0; i < 50; ++i) ones.data<float>()[i] = 1;
  EXPECT_EQ(Metric("graft.SparseCategoricalAccuracy", NoAttrs{}, labels, scores, ones),
            Metric("graft.SparseCategoricalAccuracy", NoAttrs{}, labels, scores, Tensor()));
}

}  // namespace
}  // namespace graft
