// graft — Keras padding rules shared by convolution and pooling.
//   valid : out = floor((L - d*(k-1) - 1) / s) + 1,  no padding
//   same  : out = ceil(L / s); total = max((out-1)*s + d*(k-1) + 1 - L, 0),
//           left = total / 2, right = total - left   (the extra element goes right/bottom)
//   causal: out = ceil(L / s); left = d*(k-1), right = 0   (Conv1D only)
#ifndef GRAFT_OPS_PADDING_H_
#define GRAFT_OPS_PADDING_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace graft::ops {

enum class Padding { kValid, kSame, kCausal };

// "valid", "same", "causal" (case-insensitive, as Keras). causal only where allowed.
absl::StatusOr<Padding> ParsePadding(absl::string_view name, bool allow_causal);
const char* PaddingName(Padding p);

// Output length and the padding applied on each side of one spatial dimension.
struct Geometry {
  int64_t out = 0;
  int64_t pad_l = 0;
  int64_t pad_r = 0;
};
// `length` may be unknown (< 0): then out is unknown (-1) too. For `valid`, `out` may come out
// <= 0: callers turn that into an error that names the layer.
Geometry ComputeGeometry(int64_t length, int64_t kernel, int64_t stride, int64_t dilation,
                         Padding padding);
// The valid-padding formula with the numbers filled in, for error messages:
// "floor((1 - 1*(3-1) - 1)/1) + 1 = -1".
std::string ValidFormula(int64_t length, int64_t kernel, int64_t stride, int64_t dilation);
// The same without the result: "floor((1 - 1*(3-1) - 1)/1) + 1".
std::string ValidExpression(int64_t length, int64_t kernel, int64_t stride, int64_t dilation);

}  // namespace graft::ops

#endif  // GRAFT_OPS_PADDING_H_
