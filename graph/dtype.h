// graft — element types.
#ifndef GRAFT_GRAPH_DTYPE_H_
#define GRAFT_GRAPH_DTYPE_H_

#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"

namespace graft {

// The element type of a tensor. f32 is the training type; f64 runs the reference kernels
// (gradient checks); i64 holds integer labels; i32 holds pooling workspaces (argmax indices).
enum class DType { kF32, kF64, kI32, kI64 };

// Bytes per element.
constexpr size_t SizeOf(DType t) {
  switch (t) {
    case DType::kF32:
      return 4;
    case DType::kF64:
      return 8;
    case DType::kI32:
      return 4;
    case DType::kI64:
      return 8;
  }
  return 0;
}

// "float32", "float64", "int32", "int64" (NumPy's names).
constexpr absl::string_view DTypeName(DType t) {
  switch (t) {
    case DType::kF32:
      return "float32";
    case DType::kF64:
      return "float64";
    case DType::kI32:
      return "int32";
    case DType::kI64:
      return "int64";
  }
  return "?";
}

constexpr bool IsFloating(DType t) { return t == DType::kF32 || t == DType::kF64; }

// The DType of a C++ element type: DTypeOf<float>() == DType::kF32.
template <typename T>
constexpr DType DTypeOf();
template <>
constexpr DType DTypeOf<float>() {
  return DType::kF32;
}
template <>
constexpr DType DTypeOf<double>() {
  return DType::kF64;
}
template <>
constexpr DType DTypeOf<int32_t>() {
  return DType::kI32;
}
template <>
constexpr DType DTypeOf<int64_t>() {
  return DType::kI64;
}

}  // namespace graft

#endif  // GRAFT_GRAPH_DTYPE_H_
