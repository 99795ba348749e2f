// ops/metric.cc — Keras accuracies on one batch, as a scalar of y_pred's dtype.
//   BinaryAccuracy(t, p)            = mean_i [ (p_i > threshold) == (t_i > 0.5) ]
//   SparseCategoricalAccuracy(y, p) = mean_n [ argmax_j p_nj == y_n ]   (first maximum wins)
// Not differentiable (no gradient rule). Counts are integers, so the result is exact and does
// not depend on threads; the tensors are one batch of labels, so the fast f32 kernels are the
// reference loops.
#include "ops/metric.h"

#include <cmath>
#include <vector>

#include "absl/strings/str_format.h"
#include "ops/common.h"
#include "ops/targets.h"

namespace graft::ops {
namespace {

// ---- shape functions ------------------------------------------------------------------------

absl::StatusOr<std::vector<TensorType>> InferBinary(const ShapeContext& c) {
  if (absl::Status s = CheckBinaryTargets(c, 0, 1); !s.ok()) return s;
  return std::vector<TensorType>{{c.inputs[1].dtype, Shape{}}};
}

absl::StatusOr<std::vector<TensorType>> InferSparse(const ShapeContext& c) {
  if (absl::Status s = CheckSparseTargets(c, 0, 1); !s.ok()) return s;
  return std::vector<TensorType>{{c.inputs[1].dtype, Shape{}}};
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
    ctx.output(0).data<T>()[0] =
        static_cast<T>(n > 0 ? static_cast<double>(correct) / static_cast<double>(n) : 0.0);
    return absl::OkStatus();
  }

 private:
  T threshold_ = T(0.5);
};

template <typename T>
class SparseCategoricalAccuracyKernel : public Kernel {
 public:
  absl::Status Run(KernelRunContext& ctx) override {
    const Tensor& y_true = ctx.input(0);
    const Tensor& y_pred = ctx.input(1);
    const int64_t n = y_pred.shape().dim(0), k = y_pred.shape().dim(1);
    if (y_true.num_elements() != n) return TargetCountMismatch(y_true, y_pred);
    const T* labels = y_true.data<T>();
    const T* p = y_pred.data<T>();
    if (absl::Status s = CheckLabels(labels, n, k); !s.ok()) return s;
    int64_t correct = 0;
    for (int64_t r = 0; r < n; ++r) {
      const T* row = p + r * k;
      int64_t best = 0;
      for (int64_t j = 1; j < k; ++j) {
        if (row[j] > row[best]) best = j;
      }
      correct += best == static_cast<int64_t>(labels[r]);
    }
    ctx.output(0).data<T>()[0] =
        static_cast<T>(n > 0 ? static_cast<double>(correct) / static_cast<double>(n) : 0.0);
    return absl::OkStatus();
  }
};

GRAFT_REGISTER_OP(OpDef<BinaryAccuracyAttrs>("graft.BinaryAccuracy")
                      .Doc("mean([(y_pred > threshold) == (y_true > 0.5)])")
                      .Inputs({"y_true", "y_pred"})
                      .Outputs({"accuracy"})
                      .Shape([](const ShapeContext& c, const BinaryAccuracyAttrs&) {
                        return InferBinary(c);
                      })
                      .PrintAttrs([](const BinaryAccuracyAttrs& a) {
                        return absl::StrCat("threshold=", a.threshold);
                      })
                      .Kernel<BinaryAccuracyKernel<float>>(DType::kF32)
                      .Reference<BinaryAccuracyKernel>());

GRAFT_REGISTER_OP(OpDef<NoAttrs>("graft.SparseCategoricalAccuracy")
                      .Doc("mean_n([argmax(y_pred_n) == y_true_n]), first maximum wins")
                      .Inputs({"y_true", "y_pred"})
                      .Outputs({"accuracy"})
                      .Shape([](const ShapeContext& c, const NoAttrs&) { return InferSparse(c); })
                      .Kernel<SparseCategoricalAccuracyKernel<float>>(DType::kF32)
                      .Reference<SparseCategoricalAccuracyKernel>());

}  // namespace

absl::StatusOr<Value> BinaryAccuracy(Graph& g, Value y_true, Value y_pred, double threshold) {
  return g.Add("graft.BinaryAccuracy", {y_true, y_pred}, BinaryAccuracyAttrs{threshold});
}

absl::StatusOr<Value> SparseCategoricalAccuracy(Graph& g, Value y_true, Value y_pred) {
  return g.Add("graft.SparseCategoricalAccuracy", {y_true, y_pred});
}

}  // namespace graft::ops
