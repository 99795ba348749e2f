#include "graph/shape.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace graft {

bool Shape::IsFullyDefined() const {
  for (int64_t d : dims_) {
    if (d < 0) return false;
  }
  return true;
}

int64_t Shape::num_elements() const {
  // Unsigned, so an unchecked overflowing shape wraps instead of being undefined behaviour; a
  // zero dimension anywhere makes the count 0 whatever the order of the dimensions.
  uint64_t n = 1;
  bool zero = false;
  for (int64_t d : dims_) {
    if (d < 0) return -1;
    if (d == 0) zero = true;
    n *= static_cast<uint64_t>(d);
  }
  return zero ? 0 : static_cast<int64_t>(n);
}

namespace {

// The product of `item` and the dimensions, with NumPy's rule (the product of the non-zero
// dimensions must fit int64); `unit` names what is counted in messages.
absl::StatusOr<int64_t> CheckedProduct(const Shape& shape, int64_t item, absl::string_view unit,
                                       absl::string_view of) {
  int64_t product = item;
  bool zero = false;
  for (int i = 0; i < shape.rank(); ++i) {
    const int64_t d = shape.dim(i);
    if (d < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "shape ", shape.ToString(), ": dimension ", i, " is ",
          d == Shape::kUnknownDim ? "unknown (None)" : absl::StrCat(d),
          "; a tensor needs every dimension known and >= 0"));
    }
    if (d == 0) {
      zero = true;
    } else if (__builtin_mul_overflow(product, d, &product)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "shape ", shape.ToString(), of, " has more than 2^63 - 1 ", unit,
          ": the product of its non-zero dimensions", item == 1 ? "" : " and the element size",
          " overflows int64"));
    }
  }
  return zero ? 0 : product;
}

}  // namespace

absl::StatusOr<int64_t> Shape::CheckedNumElements() const {
  return CheckedProduct(*this, 1, "elements", "");
}

absl::StatusOr<int64_t> Shape::CheckedNumBytes(DType dtype) const {
  return CheckedProduct(*this, static_cast<int64_t>(SizeOf(dtype)), "bytes",
                        absl::StrCat(" of ", DTypeName(dtype)));
}

Shape Shape::WithBatch(int64_t batch) const {
  Shape s = *this;
  if (!s.dims_.empty()) s.dims_[0] = batch;
  return s;
}

std::string Shape::ToString() const {
  std::vector<std::string> parts;
  for (int64_t d : dims_) parts.push_back(d < 0 ? "None" : absl::StrCat(d));
  if (parts.size() == 1) return absl::StrCat("(", parts[0], ",)");
  return absl::StrCat("(", absl::StrJoin(parts, ", "), ")");
}

std::string TensorType::ToString() const {
  return absl::StrCat(DTypeName(dtype), shape.ToString());
}

}  // namespace graft
