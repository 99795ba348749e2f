#include "ops/common.h"

namespace graft::ops {

absl::Status ExpectFloat(const ShapeContext& c, int i, int rank) {
  const TensorType& t = c.inputs[i];
  if (!IsFloating(t.dtype)) {
    return ShapeError(
        c, absl::StrCat("input ", i, " must be float32 or float64, got ", DTypeName(t.dtype)));
  }
  if (rank >= 0 && t.shape.rank() != rank) {
    return ShapeError(
        c, absl::StrCat("input ", i, " must have rank ", rank, ", got shape ", t.shape.ToString()));
  }
  return absl::OkStatus();
}

}  // namespace graft::ops
