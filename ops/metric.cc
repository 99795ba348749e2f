// ops/metric.cc — Keras accuracies on one batch, as a scalar of y_pred's dtype.
//   BinaryAccuracy(t, p)            = mean_i [ (p_i > threshold) == (t_i > 0.5) ]
//   SparseCategoricalAccuracy(y, p) = mean_n [ argmax_j p_nj == y_n ]   (first maximum wins)
//   CategoricalAccuracy(t, p)       = mean_n [ argmax_j p_nj == argmax_j t_nj ]  (likewise)
//   MeanSquaredErrorMetric(t, p)    = mean_i (p_i - t_i)^2,  MeanAbsoluteErrorMetric = mean_i |p_i
//   - t_i|
// (Rows n are every position of y_pred but its last, class axis.) Unweighted MAE and MSE metrics
// are the loss ops of ops/loss.h (see ops/metric.h).
// With sample weights w (N,) (the optional third input), Keras's weighted mean of the
// per-sample values m_s (the mean over sample s's elements or rows):
//   sum_s w_s m_s / sum_s w_s,  0 when sum_s w_s == 0.
// Not differentiable (no gradient rule). Unweighted accuracies count integers, so the result is
// exact and does not depend on threads; the tensors are one batch of labels, so the fast f32
// kernels are the reference loops.
#include "ops/metric.h"

#include <cmath>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_format.h"
#include "ops/common.h"
#include "ops/targets.h"

namespace graft::ops {
namespace {

// The fraction `correct / n` (0 for an empty batch), rounded once to T.
template <typename T>
T Fraction(int64_t correct, int64_t n) {
  return static_cast<T>(n > 0 ? static_cast<double>(correct) / static_cast<double>(n) : 0.0);
}

// ---- kernels --------------------------------------------------------------------------------

// Input 2 (sample_weight), or null when the node has none.
const Tensor* SampleWeightInput(const KernelRunContext& ctx) {
  return ctx.num_inputs() > 2 ? &ctx.input(2) : nullptr;
}

template <typename T>
class BinaryAccuracyKernel : public Kernel {
 public:
  absl::Status Init(const KernelInitContext& c) override {
    threshold_ = static_cast<T>(c.attrs<BinaryAccuracyAttrs>().threshold);
    return absl::OkStatus();
  }
  absl::Status Run(KernelRunContext& ctx) override {
    const Tensor& y_true = ctx.input(0);
    const Tensor& y_pred = ctx.input(1);
    const int64_t n = y_pred.num_elements();
    if (y_true.num_elements() != n) return TargetCountMismatch(y_true, y_pred);
    const T* t = y_true.data<T>();
    const T* p = y_pred.data<T>();
    auto right = [&](int64_t i) { return (p[i] > threshold_) == (t[i] > T(0.5)); };
    if (const Tensor* w = SampleWeightInput(ctx)) {
      SampleWeights<T> sw;
      if (absl::Status s = sw.Init(w, y_pred, n); !s.ok()) return s;
      ctx.output(0).data<T>()[0] =
          static_cast<T>(sw.WeightedMean(n, [&](int64_t i) { return right(i) ? 1.0 : 0.0; }));
      return absl::OkStatus();
    }
    int64_t correct = 0;
    for (int64_t i = 0; i < n; ++i) correct += right(i);
    ctx.output(0).data<T>()[0] = Fraction<T>(correct, n);
    return absl::OkStatus();
  }

 private:
  T threshold_ = T(0.5);
};

// Sparse (labels) or categorical (one-hot / soft y_true) accuracy: the fraction of rows whose
// y_pred argmax is the true class.
template <bool kSparse, typename T>
class ArgMaxAccuracyKernel : public Kernel {
 public:
  absl::Status Run(KernelRunContext& ctx) override {
    TargetRows<kSparse, T> rows;
    if (absl::Status s = rows.Init(ctx.input(0), ctx.input(1)); !s.ok()) return s;
    const int64_t n = rows.rows();
    auto right = [&](int64_t r) { return ArgMax(rows.x(r), rows.k()) == rows.true_class(r); };
    if (const Tensor* w = SampleWeightInput(ctx)) {
      SampleWeights<T> sw;
      if (absl::Status s = sw.Init(w, ctx.input(1), n); !s.ok()) return s;
      ctx.output(0).data<T>()[0] =
          static_cast<T>(sw.WeightedMean(n, [&](int64_t r) { return right(r) ? 1.0 : 0.0; }));
      return absl::OkStatus();
    }
    int64_t correct = 0;
    for (int64_t r = 0; r < n; ++r) correct += right(r);
    ctx.output(0).data<T>()[0] = Fraction<T>(correct, n);
    return absl::OkStatus();
  }
};

// Mean absolute or squared error as a metric: the (weighted) mean of the per-sample means.
struct AbsoluteError {
  static double Value(double t, double p) { return std::abs(p - t); }
};
struct SquaredError {
  static double Value(double t, double p) { return (p - t) * (p - t); }
};
template <typename Fn, typename T>
class ErrorMetricKernel : public Kernel {
 public:
  absl::Status Run(KernelRunContext& ctx) override {
    const Tensor& y_true = ctx.input(0);
    const Tensor& y_pred = ctx.input(1);
    const int64_t n = y_pred.num_elements();
    if (y_true.num_elements() != n) return TargetCountMismatch(y_true, y_pred);
    const T* t = y_true.data<T>();
    const T* p = y_pred.data<T>();
    auto value = [&](int64_t i) { return Fn::Value(t[i], p[i]); };
    double mean = 0;
    if (const Tensor* w = SampleWeightInput(ctx)) {
      SampleWeights<T> sw;
      if (absl::Status s = sw.Init(w, y_pred, n); !s.ok()) return s;
      mean = sw.WeightedMean(n, value);
    } else {
      for (int64_t i = 0; i < n; ++i) mean += value(i);
      mean = n > 0 ? mean / static_cast<double>(n) : 0.0;
    }
    ctx.output(0).data<T>()[0] = static_cast<T>(mean);
    return absl::OkStatus();
  }
};
template <typename Fn>
struct ErrorMetric {
  template <typename T>
  using Kernel = ErrorMetricKernel<Fn, T>;
};
template <bool kSparse>
struct ArgMaxAccuracy {
  template <typename T>
  using Kernel = ArgMaxAccuracyKernel<kSparse, T>;
};

// "graft.<name>": (y_true, y_pred) -> the fraction of rows predicted right.
template <bool kSparse>
OpDef<NoAttrs> ArgMaxAccuracyOp(const std::string& name, TargetCheck check, std::string doc) {
  OpDef<NoAttrs> def("graft." + name);
  def.Doc(std::move(doc))
      .Inputs({"y_true", "y_pred", "sample_weight?"})
      .Outputs({"accuracy"})
      .Shape(
          [check](const ShapeContext& c, const NoAttrs&) { return InferScalarOfTargets(c, check); })
      .template Kernel<ArgMaxAccuracyKernel<kSparse, float>>(DType::kF32)
      .template Reference<ArgMaxAccuracy<kSparse>::template Kernel>();
  return def;
}

// "graft.<name>": (y_true, y_pred, sample_weight?) -> the (weighted) mean error.
template <typename Fn>
OpDef<NoAttrs> ErrorMetricOp(const std::string& name, std::string doc) {
  OpDef<NoAttrs> def("graft." + name);
  def.Doc(std::move(doc))
      .Inputs({"y_true", "y_pred", "sample_weight?"})
      .Outputs({"value"})
      .Shape([](const ShapeContext& c, const NoAttrs&) {
        return InferScalarOfTargets(c, CheckBinaryTargets);
      })
      .template Kernel<ErrorMetricKernel<Fn, float>>(DType::kF32)
      .template Reference<ErrorMetric<Fn>::template Kernel>();
  return def;
}

GRAFT_REGISTER_OP(OpDef<BinaryAccuracyAttrs>("graft.BinaryAccuracy")
                      .Doc("mean([(y_pred > threshold) == (y_true > 0.5)]); with "
                           "sample_weight w (N,): sum_s w_s acc_s / sum_s w_s")
                      .Inputs({"y_true", "y_pred", "sample_weight?"})
                      .Outputs({"accuracy"})
                      .Shape([](const ShapeContext& c, const BinaryAccuracyAttrs&) {
                        return InferScalarOfTargets(c, CheckBinaryTargets);
                      })
                      .PrintAttrs([](const BinaryAccuracyAttrs& a) {
                        return absl::StrCat("threshold=", a.threshold);
                      })
                      .Kernel<BinaryAccuracyKernel<float>>(DType::kF32)
                      .Reference<BinaryAccuracyKernel>());

GRAFT_REGISTER_OP(ArgMaxAccuracyOp</*kSparse=*/true>(
    "SparseCategoricalAccuracy", CheckSparseTargets,
    "mean_n([argmax(y_pred_n) == y_true_n]), first maximum wins"));
GRAFT_REGISTER_OP(ArgMaxAccuracyOp</*kSparse=*/false>(
    "CategoricalAccuracy", CheckCategoricalTargets,
    "mean_n([argmax(y_pred_n) == argmax(y_true_n)]), first maximum wins"));
GRAFT_REGISTER_OP(ErrorMetricOp<SquaredError>(
    "MeanSquaredErrorMetric",
    "mean((p - t)^2); with sample_weight w (N,): sum_s w_s mse_s / sum(w)"));
GRAFT_REGISTER_OP(ErrorMetricOp<AbsoluteError>(
    "MeanAbsoluteErrorMetric",
    "mean(|p - t|); with sample_weight w (N,): sum_s w_s mae_s / sum(w)"));

// The metric node: (y_true, y_pred) or (y_true, y_pred, sample_weight).
std::vector<Value> MetricInputs(Value y_true, Value y_pred, std::optional<Value> sample_weight) {
  std::vector<Value> in = {y_true, y_pred};
  if (sample_weight.has_value()) in.push_back(*sample_weight);
  return in;
}

}  // namespace

absl::StatusOr<Value> BinaryAccuracy(Graph& g, Value y_true, Value y_pred, double threshold,
                                     std::optional<Value> sample_weight) {
  return g.Add("graft.BinaryAccuracy", MetricInputs(y_true, y_pred, sample_weight),
               BinaryAccuracyAttrs{threshold});
}

absl::StatusOr<Value> SparseCategoricalAccuracy(Graph& g, Value y_true, Value y_pred,
                                                std::optional<Value> sample_weight) {
  return g.Add("graft.SparseCategoricalAccuracy", MetricInputs(y_true, y_pred, sample_weight));
}

absl::StatusOr<Value> CategoricalAccuracy(Graph& g, Value y_true, Value y_pred,
                                          std::optional<Value> sample_weight) {
  return g.Add("graft.CategoricalAccuracy", MetricInputs(y_true, y_pred, sample_weight));
}

absl::StatusOr<Value> MeanSquaredErrorMetric(Graph& g, Value y_true, Value y_pred,
                                             std::optional<Value> sample_weight) {
  return g.Add("graft.MeanSquaredErrorMetric", MetricInputs(y_true, y_pred, sample_weight));
}

absl::StatusOr<Value> MeanAbsoluteErrorMetric(Graph& g, Value y_true, Value y_pred,
                                              std::optional<Value> sample_weight) {
  return g.Add("graft.MeanAbsoluteErrorMetric", MetricInputs(y_true, y_pred, sample_weight));
}

}  // namespace graft::ops
