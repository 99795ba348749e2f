// graft — the (y_true, y_pred) rules shared by losses and metrics: shape checks at build time,
// and the label checks their kernels run.
#ifndef GRAFT_OPS_TARGETS_H_
#define GRAFT_OPS_TARGETS_H_

#include <cmath>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "graph/op_registry.h"
#include "graph/tensor.h"

namespace graft::ops {

// Binary targets (inputs t and p of the node): one floating dtype, batch first, equal shapes.
// As Keras's squeeze_or_expand_to_same_rank, an extra trailing axis of size 1 on either side is
// dropped first (y_true (N,) with y_pred (N, 1)). Unknown dimensions (-1) match anything.
absl::Status CheckBinaryTargets(const ShapeContext& c, int t, int p);

// Sparse categorical targets: y_pred (N, K); y_true (N,) or (N, 1) holding class indices in
// y_pred's floating dtype; equal N when both are known.
absl::Status CheckSparseTargets(const ShapeContext& c, int t, int p);

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

}  // namespace graft::ops

#endif  // GRAFT_OPS_TARGETS_H_
