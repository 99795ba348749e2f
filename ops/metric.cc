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

namespace graft::ops {
namespace {

// ---- shape functions (the same rules as the losses in ops/loss.cc) --------------------------

bool Compatible(const Shape& a, const Shape& b) {
  if (a.rank() != b.rank()) return false;
  for (int i = 0; i < a.rank(); ++i) {
    if (a.dim(i) != b.dim(i) && a.dim(i) != Shape::kUnknownDim && b.dim(i) != Shape::kUnknownDim) {
      return false;
    }
  }
  return true;
}

Shape DropLastAxis(const Shape& s) {
  std::vector<int64_t> dims = s.dims();
  dims.pop_back();
  return Shape(std::move(dims));
}

absl::Status CheckDTypes(const ShapeContext& c) {
  if (absl::Status s = ExpectFloat(c, 0); !s.ok()) return s;
  if (absl::Status s = ExpectFloat(c, 1); !s.ok()) return s;
  if (c.inputs[0].dtype != c.inputs[1].dtype) {
    return ShapeError(
        c, absl::StrCat("y_true (", DTypeName(c.inputs[0].dtype), ") must have y_pred's dtype (",
                        DTypeName(c.inputs[1].dtype), ")"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<TensorType>> InferBinary(const ShapeContext& c) {
  if (absl::Status s = CheckDTypes(c); !s.ok()) return s;
  const Shape& ts = c.inputs[0].shape;
  const Shape& ps = c.inputs[1].shape;
  if (ps.rank() < 1 || ts.rank() < 1) {
    return ShapeError(c, absl::StrCat("y_true ", ts.ToString(), " and y_pred ", ps.ToString(),
                                      " must have a batch axis first"));
  }
  Shape a = ts, b = ps;
  if (a.rank() == b.rank() + 1 && a.dim(-1) == 1) a = DropLastAxis(a);
  if (b.rank() == a.rank() + 1 && b.dim(-1) == 1) b = DropLastAxis(b);
  if (!Compatible(a, b)) {
    return ShapeError(c, absl::StrCat("y_true ", ts.ToString(), " and y_pred ", ps.ToString(),
                                      " must have the same shape"));
  }
  return std::vector<TensorType>{{c.inputs[1].dtype, Shape{}}};
}

absl::StatusOr<std::vector<TensorType>> InferSparse(const ShapeContext& c) {
  if (absl::Status s = CheckDTypes(c); !s.ok()) return s;
  const Shape& ts = c.inputs[0].shape;
  const Shape& ps = c.inputs[1].shape;
  if (ps.rank() != 2) {
    return ShapeError(c,
                      absl::StrCat("y_pred must have shape (batch, classes), got ", ps.ToString()));
  }
  if (!(ts.rank() == 1 || (ts.rank() == 2 && ts.dim(1) == 1))) {
    return ShapeError(c,
                      absl::StrCat("y_true must hold one class index per sample, shape (batch,) or "
                                   "(batch, 1), got ",
                                   ts.ToString(), " for y_pred ", ps.ToString(),
                                   "; convert one-hot labels to class indices (their argmax)"));
  }
  if (ts.dim(0) != Shape::kUnknownDim && ps.dim(0) != Shape::kUnknownDim &&
      ts.dim(0) != ps.dim(0)) {
    return ShapeError(c, absl::StrCat("y_true ", ts.ToString(), " and y_pred ", ps.ToString(),
                                      " must have the same batch size"));
  }
  return std::vector<TensorType>{{c.inputs[1].dtype, Shape{}}};
}

// ---- kernels --------------------------------------------------------------------------------

absl::Status CountMismatch(const Tensor& y_true, const Tensor& y_pred) {
  return absl::InvalidArgumentError(absl::StrCat("y_true ", y_true.shape().ToString(),
                                                 " and y_pred ", y_pred.shape().ToString(),
                                                 " must have the same number of elements"));
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
    if (y_true.num_elements() != n) return CountMismatch(y_true, y_pred);
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
    if (y_true.num_elements() != n) return CountMismatch(y_true, y_pred);
    const T* labels = y_true.data<T>();
    const T* p = y_pred.data<T>();
    int64_t correct = 0;
    for (int64_t r = 0; r < n; ++r) {
      const double v = labels[r];
      if (!(v >= 0 && v < static_cast<double>(k) && v == std::floor(v))) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "label %.9g in row %d of y_true is not a class index: y_pred has %d classes, so "
            "labels must be integers in [0, %d)",
            v, r, k, k));
      }
      const T* row = p + r * k;
      int64_t best = 0;
      for (int64_t j = 1; j < k; ++j) {
        if (row[j] > row[best]) best = j;
      }
      correct += best == static_cast<int64_t>(v);
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
