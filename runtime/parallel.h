// graft — ForRange: the parallel loop of graft's own kernels (ops and optimizer updates), split
// over the plan thread's OpenMP team or TBB.
#ifndef GRAFT_RUNTIME_PARALLEL_H_
#define GRAFT_RUNTIME_PARALLEL_H_

#include <cstdint>

#include "absl/functional/function_ref.h"
#include "runtime/threads.h"
#include "tbb/blocked_range.h"
#include "tbb/parallel_for.h"

// GRAFT_VECTOR_CLONES before a function compiles it for AVX-512 and AVX2 beside the baseline
// (x86-64, SSE2), the best picked at load time (GCC's target_clones, an ifunc). graft is built
// for the baseline so one binary runs anywhere; its own hot loops (pooling, the optimizers'
// updates) are 2-4x faster in 16-wide vectors. Not under sanitizers: their instrumentation of
// the ifunc resolver, which runs while the dynamic loader relocates the library, before the
// sanitizer runtime is up, crashes.
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__) || defined(GRAFT_NO_TARGET_CLONES)
#define GRAFT_VECTOR_CLONES
#else
#define GRAFT_VECTOR_CLONES \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif

namespace graft {

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

}  // namespace graft

#endif  // GRAFT_RUNTIME_PARALLEL_H_
