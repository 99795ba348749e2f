// graft — helpers shared by the layer implementations (not part of the public API).
#ifndef GRAFT_KERAS_LAYER_UTIL_H_
#define GRAFT_KERAS_LAYER_UTIL_H_

#include <array>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "graph/shape.h"

namespace graft::keras::internal {

// "expected input of rank 3 (batch, steps, channels), got shape (None, 5) (rank 2)".
inline absl::Status RankError(const TensorType& input, int want, const char* layout) {
  return absl::InvalidArgumentError(absl::StrCat("expected input of rank ", want, " ", layout,
                                                 ", got shape ", input.shape.ToString(), " (rank ",
                                                 input.shape.rank(), ")"));
}

// "(3, 3)" / "(3,)": Keras's tuple text for option values in messages.
inline std::string Tuple(int64_t a) { return absl::StrCat("(", a, ",)"); }
inline std::string Tuple(int64_t a, int64_t b) { return absl::StrCat("(", a, ", ", b, ")"); }

// The option text of a per-spatial-dimension setting: "(3,)" for 1-D, "(3, 1)" for 2-D.
template <typename Dims>
std::string SpatialText(const Dims& d) {
  return d.size() == 1 ? Tuple(d[0]) : Tuple(d[0], d[d.size() - 1]);
}

// The input layout a layer with `rank` spatial dimensions expects.
inline const char* SpatialLayout(int rank) {
  return rank == 1 ? "(batch, steps, channels)" : "(batch, height, width, channels)";
}

}  // namespace graft::keras::internal

#endif  // GRAFT_KERAS_LAYER_UTIL_H_
