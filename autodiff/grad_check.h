// graft — the public gradient checker for op authors.
//
// CheckGradients runs an op on float64 copies of the given inputs with the reference kernels,
// builds its gradient with autodiff::Gradients, and compares every requested entry with a
// central difference  (L(x + eps) - L(x - eps)) / (2 eps),  where L = sum_j <y_j, c_j> for
// fixed random cotangents c_j over the op's visible outputs.
#ifndef GRAFT_AUTODIFF_GRAD_CHECK_H_
#define GRAFT_AUTODIFF_GRAD_CHECK_H_

#include <any>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "graph/tensor.h"

namespace graft::autodiff {

struct GradCheckOptions {
  double eps = 1e-6;   // central-difference step (float64)
  double rtol = 1e-6;  // |analytic - numeric| <= atol + rtol * |numeric|
  double atol = 1e-8;
  uint64_t seed = 1;        // cotangent values
  std::vector<int> wrt;     // input indices to check; empty: every floating input
  int64_t max_entries = 0;  // per input; 0 checks every entry, else a seeded sample
};

struct GradCheckReport {
  bool ok = true;
  int64_t entries_checked = 0;
  double max_abs_error = 0;
  std::string worst;  // "input 1 [37]: analytic 0.12, numeric 0.1201"
  std::string ToString() const;
};

// `inputs` may be any dtype; floating inputs are converted to float64. Integer inputs (labels)
// are passed through unchanged and never differentiated.
absl::StatusOr<GradCheckReport> CheckGradients(const std::string& op_name, std::any attrs,
                                               const std::vector<Tensor>& inputs,
                                               const GradCheckOptions& options = {});

}  // namespace graft::autodiff

#endif  // GRAFT_AUTODIFF_GRAD_CHECK_H_
