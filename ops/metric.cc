// ops/metric.cc — Keras accuracies on one batch, as a scalar of y_pred's dtype.
//   BinaryAccuracy(t, p)            = mean_i [ (p_i > threshold) == (t_i > 0.5) ]
//   SparseCategoricalAccuracy(y, p) = mean_n [ argmax_j p_nj == y_n ]   (first maximum wins)
//   CategoricalAccuracy(t, p)       = mean_n [ argmax_j p_nj == argmax_j t_nj ]  (likewise)
// (Rows n are every position of y_pred but its last, class axis.) MAE and MSE as metrics are the
// loss ops of ops/loss.h (see ops/metric.h).
// Not differentiable (no gradient rule). Counts are integers, so the result is exact and does
// not depend on threads; the tensors are one batch of labels, so the fast f32 kernels are the
// reference loops.
#include "ops/metric.h"

#include <cmath>
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
    int64_t correct = 0;
    for (int64_t i = 0; i < n; ++i) correct += (p[i] > threshold_) == (t[i] > T(0.5));
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
    int64_t correct = 0;
    for (int64_t r = 0; r < n; ++r) correct += ArgMax(rows.x(r), rows.k()) == rows.true_class(r);
    ctx.output(0).data<T>()[0] = Fraction<T>(correct, n);
    return absl::OkStatus();
  }
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
      .Inputs({"y_true", "y_pred"})
      .Outputs({"accuracy"})
      .Shape(
          [check](const ShapeContext& c, const NoAttrs&) { return InferScalarOfTargets(c, check); })
      .template Kernel<ArgMaxAccuracyKernel<kSparse, float>>(DType::kF32)
      .template Reference<ArgMaxAccuracy<kSparse>::template Kernel>();
  return def;
}

GRAFT_REGISTER_OP(OpDef<BinaryAccuracyAttrs>("graft.BinaryAccuracy")
                      .Doc("mean([(y_pred > threshold) == (y_true > 0.5)])")
                      .Inputs({"y_true", "y_pred"})
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

}  // namespace

absl::StatusOr<Value> BinaryAccuracy(Graph& g, Value y_true, Value y_pred, double threshold) {
  return g.Add("graft.BinaryAccuracy", {y_true, y_pred}, BinaryAccuracyAttrs{threshold});
}

absl::StatusOr<Value> SparseCategoricalAccuracy(Graph& g, Value y_true, Value y_pred) {
  return g.Add("graft.SparseCategoricalAccuracy", {y_true, y_pred});
}

absl::StatusOr<Value> CategoricalAccuracy(Graph& g, Value y_true, Value y_pred) {
  return g.Add("graft.CategoricalAccuracy", {y_true, y_pred});
}

}  // namespace graft::ops
