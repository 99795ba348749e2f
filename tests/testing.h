// graft — helpers for graft's tests: run one op, load golden data, compare tensors.
#ifndef GRAFT_TESTS_TESTING_H_
#define GRAFT_TESTS_TESTING_H_

#include <any>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/op_registry.h"
#include "graph/tensor.h"
#include "gtest/gtest.h"

namespace graft::testing {

// Whether `haystack` contains `needle` (for checking error messages).
inline bool Contains(absl::string_view haystack, absl::string_view needle) {
  return haystack.find(needle) != absl::string_view::npos;
}

// A float32 tensor type.
inline TensorType F32(Shape s) { return {DType::kF32, std::move(s)}; }

// Runs a single op on the given inputs through a compiled plan, with the fast or reference
// kernels, and returns all its outputs (hidden ones included). `bf16`: the plan computes in
// mixed precision (PlanOptions::bf16); `report`, when given, receives Plan::Report().
absl::StatusOr<std::vector<Tensor>> RunOp(const std::string& op, std::any attrs,
                                          const std::vector<Tensor>& inputs,
                                          KernelKind kind = KernelKind::kFast, bool bf16 = false,
                                          std::string* report = nullptr);

// The visible output types the op's shape function infers for inputs of these types.
absl::StatusOr<std::vector<TensorType>> InferOp(const std::string& op, std::any attrs,
                                                const std::vector<TensorType>& inputs);

// Uniform random values in [lo, hi), reproducible from the seed.
Tensor Random(Shape shape, uint64_t seed, double lo = -1.0, double hi = 1.0,
              DType dtype = DType::kF32);

// Loads tests/golden/<name>.npy (made by tools/golden/*.py); fails the test if missing.
Tensor Golden(const std::string& name);

// The largest |value| of a float32 tensor (0 when empty): the scale for a tolerance.
double MaxAbs(const Tensor& t);

// |a - b| <= atol + rtol * |b| elementwise, with equal shapes. Reports the worst entry.
::testing::AssertionResult AllClose(const Tensor& a, const Tensor& b, double rtol = 1e-4,
                                    double atol = 1e-5);

}  // namespace graft::testing

#endif  // GRAFT_TESTS_TESTING_H_
