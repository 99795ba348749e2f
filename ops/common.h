// graft — helpers shared by op files: parallel loops, shape checks, and the boilerplate of
// kernels that are the same template for the fast (TBB) and reference (serial) paths.
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
#include "tbb/blocked_range.h"
#include "tbb/parallel_for.h"

namespace graft::ops {

// Calls fn(begin, end) over [0, n): split across TBB workers when `parallel` and n is large
// enough to pay for it, else in one call on this thread. The split never changes results:
// each index is computed by exactly one call.
template <typename Fn>
void ForRange(bool parallel, int64_t n, Fn fn, int64_t grain = 1 << 14) {
  if (!parallel || n <= grain) {
    if (n > 0) fn(int64_t{0}, n);
    return;
  }
  tbb::parallel_for(tbb::blocked_range<int64_t>(0, n, grain),
                    [&](const tbb::blocked_range<int64_t>& r) { fn(r.begin(), r.end()); });
}

// Shape-function error with the node's name: "dense/MatMul (graft.MatMul): <message>".
inline absl::Status ShapeError(const ShapeContext& c, const std::string& message) {
  return absl::InvalidArgumentError(absl::StrCat(c.node_name, " (", c.op_name, "): ", message));
}

// Requires input i to be floating with the given rank (rank < 0: any).
absl::Status ExpectFloat(const ShapeContext& c, int i, int rank = -1);

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
