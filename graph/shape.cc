#include "graph/shape.h"

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
  int64_t n = 1;
  for (int64_t d : dims_) {
    if (d < 0) return -1;
    n *= d;
  }
  return n;
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
