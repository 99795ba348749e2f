// graft — helpers shared by op files: the boilerplate of kernels that are the same template for
// the fast (parallel) and reference (serial) paths. The parallel loop (ForRange) is in
// runtime/parallel.h and the shape-check messages (ShapeError, ExpectFloat) in
// graph/op_registry.h, where the optimizers' update ops use them too.
#ifndef GRAFT_OPS_COMMON_H_
#define GRAFT_OPS_COMMON_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "graph/graph.h"
#include "graph/op_registry.h"
#include "runtime/kernel.h"
#include "runtime/parallel.h"
#include "runtime/threads.h"

namespace graft::ops {

// One output with the type of input i.
inline absl::StatusOr<std::vector<TensorType>> SameAs(const ShapeContext& c, int i) {
  return std::vector<TensorType>{c.inputs[i]};
}

// A kernel template for elementwise maps whose fast and reference versions differ only in
// whether the loop is split across threads. `Body` is a struct with
//   static void Run(const KernelRunContext&, int64_t begin, int64_t end) templated on T.
template <typename T, bool kParallel, typename Body>
class LoopKernel : public Kernel {
 public:
  absl::Status Run(KernelRunContext& ctx) override {
    const int64_t n = ctx.output(0).num_elements();
    ForRange(kParallel, n, [&](int64_t b, int64_t e) { Body::template Run<T>(ctx, b, e); });
    return absl::OkStatus();
  }
};
template <typename Body>
struct Loops {
  template <typename T>
  using Reference = LoopKernel<T, false, Body>;
  using FastF32 = LoopKernel<float, true, Body>;
};

}  // namespace graft::ops

#endif  // GRAFT_OPS_COMMON_H_
