// graft — helpers shared by op files: parallel loops (OpenMP team or TBB), shape checks, and the
// boilerplate of kernels that are the same template for the fast (TBB) and reference (serial)
// paths.
#ifndef GRAFT_OPS_COMMON_H_
#define GRAFT_OPS_COMMON_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "graph/graph.h"
#include "graph/op_registry.h"
#include "runtime/kernel.h"
#include "runtime/threads.h"
#include "tbb/blocked_range.h"
#include "tbb/parallel_for.h"

namespace graft::ops {

namespace for_range_detail {
// Whether ForRange may split work over the calling thread's OpenMP team: not inside a TBB task
// (a TBB worker, or user code in a TBB algorithm), not inside an OpenMP region, not under TSan
// (libgomp's barriers are invisible to it).
bool CanUseOpenMpTeam();
// Runs fn over [0, n) on an OpenMP team of `threads`: ceil(n / grain) capped at `threads`
// contiguous chunks of equal size (+-1), chunk k on team thread k (a static partition).
void OpenMpForRange(int threads, int64_t n, int64_t grain,
                    absl::FunctionRef<void(int64_t, int64_t)> fn);
}  // namespace for_range_detail

// Calls fn(begin, end) over [0, n): split across threads when `parallel`, the thread count in
// force (CurrentThreads(), runtime/threads.h) is > 1 and n > grain; else in one call on this
// thread. The split never changes results: each index is computed by exactly one call (callers
// that reduce do it in fixed blocks, e.g. ops/loss.cc's BlockedSum).
//
// Which threads: a plan's driver thread (the thread oneDNN primitives run on) splits the range
// over its OpenMP team (libgomp), the same team oneDNN's primitives use; TBB workers and code
// already inside a TBB task or an OpenMP region keep tbb::parallel_for. Why: after a oneDNN
// primitive returns, libgomp's worker keeps spinning for a while (GOMP_SPINCOUNT, the default
// OMP_WAIT_POLICY), so a TBB loop that followed it on 2 cores got one usable core (its worker
// competed with the spinning OpenMP thread), and the TBB worker's own spin then slowed the next
// primitive. Measured with bench/ops_bench (graft's max pooling alternating with oneDNN's
// pooling primitive, 2 cores; M1, M3.pool2, M4.pool2 forward and backward): on TBB, 2 threads
// were 0-37% SLOWER than 1 thread; on the OpenMP team 1.5-1.9x faster than 1 thread (and the
// raw primitive beside it got 5-25% faster too). One runtime hands the cores back and forth, so
// a step never has more busy threads than the budget. (Under ExecutorKind::kTbb a TBB worker may
// run another step at the same time, as it may beside a oneDNN step.) At 1 thread the range is
// one call on the calling thread, with no TBB partitioning (which cost 5-15% on the pooling
// loops). The partition is static: ceil(n / grain) capped at the thread count contiguous
// chunks, chunk k on team thread k, so the same thread count always gives the same split.
template <typename Fn>
void ForRange(bool parallel, int64_t n, Fn fn, int64_t grain = 1 << 14) {
  grain = grain < 1 ? 1 : grain;
  if (!parallel || n <= grain) {
    if (n > 0) fn(int64_t{0}, n);
    return;
  }
  const int threads = CurrentThreads();
  if (threads <= 1) {
    fn(int64_t{0}, n);
    return;
  }
  if (for_range_detail::CanUseOpenMpTeam()) {
    for_range_detail::OpenMpForRange(threads, n, grain, fn);
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
