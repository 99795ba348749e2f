#include "ops/padding.h"

#include <algorithm>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace graft::ops {

absl::StatusOr<Padding> ParsePadding(absl::string_view name, bool allow_causal) {
  std::string p = absl::AsciiStrToLower(name);
  if (p == "valid") return Padding::kValid;
  if (p == "same") return Padding::kSame;
  if (p == "causal" && allow_causal) return Padding::kCausal;
  return absl::InvalidArgumentError(absl::StrCat("padding must be one of \"valid\", \"same\"",
                                                 allow_causal ? ", \"causal\"" : "",
                                                 "; received padding=\"", name, "\""));
}

const char* PaddingName(Padding p) {
  switch (p) {
    case Padding::kValid:
      return "valid";
    case Padding::kSame:
      return "same";
    case Padding::kCausal:
      return "causal";
  }
  return "?";
}

Geometry ComputeGeometry(int64_t length, int64_t kernel, int64_t stride, int64_t dilation,
                         Padding padding) {
  // In 128 bits: kernel, stride and dilation come from users and may be huge (the results are
  // then clamped to int64; a huge window is reported by the callers' checks).
  using Wide = __int128;
  auto clamp = [](Wide v) {
    constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
    return static_cast<int64_t>(v > kMax ? kMax : v < -kMax ? -kMax : v);
  };
  Geometry g;
  const Wide span = Wide{dilation} * (Wide{kernel} - 1) + 1;
  if (padding == Padding::kValid) {
    if (length < 0) {
      g.out = -1;
    } else {
      const Wide num = Wide{length} - span;
      const Wide floor = num >= 0 ? num / stride : -((-num + stride - 1) / stride);
      g.out = clamp(floor + 1);
    }
    return g;
  }
  if (length < 0) {
    g.out = -1;
    return g;
  }
  g.out = length / stride + (length % stride != 0);
  if (padding == Padding::kCausal) {
    g.pad_l = clamp(span - 1);
    return g;
  }
  const Wide total = std::max<Wide>(Wide{g.out - 1} * stride + span - length, 0);
  g.pad_l = clamp(total / 2);
  g.pad_r = clamp(total - total / 2);
  return g;
}

std::string ValidExpression(int64_t length, int64_t kernel, int64_t stride, int64_t dilation) {
  return absl::StrCat("floor((", length, " - ", dilation, "*(", kernel, "-1) - 1)/", stride,
                      ") + 1");
}

std::string ValidFormula(int64_t length, int64_t kernel, int64_t stride, int64_t dilation) {
  const int64_t out = ComputeGeometry(length, kernel, stride, dilation, Padding::kValid).out;
  return absl::StrCat(ValidExpression(length, kernel, stride, dilation), " = ", out);
}

}  // namespace graft::ops
