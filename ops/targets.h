// graft — the (y_true, y_pred) rules shared by losses and metrics: shape checks at build time,
// and the label checks their kernels run.
#ifndef GRAFT_OPS_TARGETS_H_
#define GRAFT_OPS_TARGETS_H_

#include <cmath>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "graph/op_registry.h"
#include "graph/tensor.h"

namespace graft::ops {

// Binary targets (inputs t and p of the node): one floating dtype, batch first, equal shapes.
// As Keras's squeeze_or_expand_to_same_rank, an extra trailing axis of size 1 on either side is
// dropped first (y_true (N,) with y_pred (N, 1)). Unknown dimensions (-1) match anything.
// Also the rule of the elementwise regression losses (mean squared / absolute error).
absl::Status CheckBinaryTargets(const ShapeContext& c, int t, int p);

// Categorical targets (one-hot or soft): y_pred (N, ..., K) with K >= 1 classes on the last
// axis, y_true of the same shape and floating dtype. Unknown dimensions (-1) match anything.
absl::Status CheckCategoricalTargets(const ShapeContext& c, int t, int p);

// Sparse categorical targets: y_pred (N, K); y_true (N,) or (N, 1) holding class indices in
// y_pred's floating dtype; equal N when both are known.
absl::Status CheckSparseTargets(const ShapeContext& c, int t, int p);

// One of the checks above: y_true and y_pred are inputs t and p of the node.
using TargetCheck = absl::Status (*)(const ShapeContext& c, int t, int p);

// The shape function of a loss or metric op (y_true, y_pred): `check` passes, and the output is
// a scalar of y_pred's dtype.
absl::StatusOr<std::vector<TensorType>> InferScalarOfTargets(const ShapeContext& c,
                                                             TargetCheck check);

// Run-time error when y_true and y_pred disagree in element count.
absl::Status TargetCountMismatch(const Tensor& y_true, const Tensor& y_pred);

// Labels are class indices stored as floats: each must be an integer in [0, k). The error names
// the row and the label.
template <typename T>
absl::Status CheckLabels(const T* labels, int64_t n, int64_t k) {
  for (int64_t r = 0; r < n; ++r) {
    const double v = labels[r];
    if (v >= 0 && v < static_cast<double>(k) && v == std::floor(v)) continue;
    return absl::InvalidArgumentError(absl::StrFormat(
        "label %.9g in row %d of y_true is not a class index: y_pred has %d classes, so labels "
        "must be integers in [0, %d)",
        v, r, k, k));
  }
  return absl::OkStatus();
}

// Row r's targets of a categorical loss, t[j] for class j: y_true's row (dense), or the one-hot
// row of a sparse label.
template <typename T>
struct DenseTargets {
  const T* t;
  double operator[](int64_t j) const { return t[j]; }
};
struct OneHotTargets {
  int64_t label;
  double operator[](int64_t j) const { return j == label ? 1.0 : 0.0; }
};

// The index of the first maximum of x[0, k) (0 when k == 0).
template <typename T>
int64_t ArgMax(const T* x, int64_t k) {
  int64_t best = 0;
  for (int64_t j = 1; j < k; ++j) {
    if (x[j] > x[best]) best = j;
  }
  return best;
}

// The rows of a categorical loss or metric at run time: y_pred (rows..., K), every position but
// the class axis a row, and row r's targets: with kSparse, the label y_true[r] (y_true (N,) or
// (N, 1), checked by Init to be a class index); else y_true's row r (y_true shaped as y_pred).
template <bool kSparse, typename T>
class TargetRows {
 public:
  // Checks the element counts (and the labels); fails with InvalidArgument.
  absl::Status Init(const Tensor& y_true, const Tensor& y_pred) {
    const Shape& shape = y_pred.shape();
    k_ = shape.dim(-1);
    rows_ = 1;
    for (int i = 0; i + 1 < shape.rank(); ++i) rows_ *= shape.dim(i);
    t_ = y_true.data<T>();
    x_ = y_pred.data<T>();
    if (y_true.num_elements() != (kSparse ? rows_ : y_pred.num_elements())) {
      return TargetCountMismatch(y_true, y_pred);
    }
    if constexpr (kSparse) return CheckLabels(t_, rows_, k_);
    return absl::OkStatus();
  }
  int64_t rows() const { return rows_; }
  int64_t k() const { return k_; }
  // y_pred's row r.
  const T* x(int64_t r) const { return x_ + r * k_; }
  // Row r's true class: the label, or the first maximum of y_true's row.
  int64_t true_class(int64_t r) const {
    if constexpr (kSparse) {
      return static_cast<int64_t>(t_[r]);
    } else {
      return ArgMax(t_ + r * k_, k_);
    }
  }
  // Row r's targets: OneHotTargets (kSparse) or DenseTargets<T>.
  auto targets(int64_t r) const {
    if constexpr (kSparse) {
      return OneHotTargets{true_class(r)};
    } else {
      return DenseTargets<T>{t_ + r * k_};
    }
  }

 private:
  int64_t rows_ = 0, k_ = 0;
  const T* t_ = nullptr;
  const T* x_ = nullptr;
};

}  // namespace graft::ops

#endif  // GRAFT_OPS_TARGETS_H_
