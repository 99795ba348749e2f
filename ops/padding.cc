#include "ops/padding.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace graft::ops {
namespace {
// floor division for possibly negative numerators.
int64_t FloorDiv(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
}  // namespace

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
  Geometry g;
  const int64_t span = dilation * (kernel - 1) + 1;
  if (padding == Padding::kValid) {
    g.out = length < 0 ? -1 : FloorDiv(length - span, stride) + 1;
    return g;
  }
  if (length < 0) {
    g.out = -1;
    return g;
  }
  g.out = (length + stride - 1) / stride;
  if (padding == Padding::kCausal) {
    g.pad_l = dilation * (kernel - 1);
    return g;
  }
  const int64_t total = std::max<int64_t>((g.out - 1) * stride + span - length, 0);
  g.pad_l = total / 2;
  g.pad_r = total - g.pad_l;
  return g;
}

std::string ValidExpression(int64_t length, int64_t kernel, int64_t stride, int64_t dilation) {
  return absl::StrCat("floor((", length, " - ", dilation, "*(", kernel, "-1) - 1)/", stride,
                      ") + 1");
}

std::string ValidFormula(int64_t length, int64_t kernel, int64_t stride, int64_t dilation) {
  const int64_t out = FloorDiv(length - dilation * (kernel - 1) - 1, stride) + 1;
  return absl::StrCat(ValidExpression(length, kernel, stride, dilation), " = ", out);
}

}  // namespace graft::ops
