// graft — the (y_true, y_pred) rules shared by losses and metrics: shape checks at build time,
// and the label checks their kernels run.
#ifndef GRAFT_OPS_TARGETS_H_
#define GRAFT_OPS_TARGETS_H_

#include <algorithm>
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

// The optional sample_weight input w of a loss or metric op whose y_pred is input p: y_pred's
// dtype and shape (N,), one weight per sample, N y_pred's batch (an unknown dimension matches).
absl::Status CheckSampleWeight(const ShapeContext& c, int w, int p);

// The shape function of a loss or metric op (y_true, y_pred, sample_weight?): `check` passes, a
// sample_weight (input 2, when present) passes CheckSampleWeight, and the output is a scalar of
// y_pred's dtype.
absl::StatusOr<std::vector<TensorType>> InferScalarOfTargets(const ShapeContext& c,
                                                             TargetCheck check);

// Run-time error when y_true and y_pred disagree in element count.
absl::Status TargetCountMismatch(const Tensor& y_true, const Tensor& y_pred);

// Run-time error when sample_weight does not hold one weight per sample of y_pred.
absl::Status SampleWeightCountMismatch(const Tensor& sample_weight, const Tensor& y_pred);

// The per-sample weights of a loss or metric kernel at run time. The kernel sums `items`
// (elements or rows of y_pred) that belong to its `samples` = y_pred.dim(0) samples in order,
// `per_sample` items each; item i belongs to sample i / per_sample. Unweighted (no sample_weight
// input): w is null and every weight is 1.
template <typename T>
struct SampleWeights {
  const T* w = nullptr;
  int64_t per_sample = 1;

  // `sample_weight` is null when the node has no such input. Fails with InvalidArgument when it
  // does not hold y_pred.dim(0) weights.
  absl::Status Init(const Tensor* sample_weight, const Tensor& y_pred, int64_t items) {
    const int64_t samples = y_pred.shape().rank() == 0 ? 1 : y_pred.shape().dim(0);
    per_sample = samples > 0 ? std::max<int64_t>(items / samples, 1) : 1;
    if (sample_weight == nullptr) return absl::OkStatus();
    if (sample_weight->num_elements() != samples) {
      return SampleWeightCountMismatch(*sample_weight, y_pred);
    }
    w = sample_weight->data<T>();
    return absl::OkStatus();
  }
  // The weight of sample s (1 when unweighted).
  double weight(int64_t s) const { return w == nullptr ? 1.0 : static_cast<double>(w[s]); }

  // Keras's weighted mean of per-sample means, sum_s w_s m_s / sum_s w_s, where m_s is the mean
  // of f(i) over sample s's items; 0 when the weights sum to 0 (Keras's divide_no_nan). One
  // multiply per sample: a sample's items are summed first. Serial, in a fixed order.
  template <typename F>
  double WeightedMean(int64_t items, const F& f) const {
    double total = 0, weights = 0;
    for (int64_t begin = 0; begin < items; begin += per_sample) {
      const int64_t end = std::min(items, begin + per_sample);
      double sum = 0;
      for (int64_t i = begin; i < end; ++i) sum += f(i);
      const double ws = weight(begin / per_sample);
      total += ws * (sum / static_cast<double>(per_sample));
      weights += ws;
    }
    return weights != 0 ? total / weights : 0.0;
  }
};

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
