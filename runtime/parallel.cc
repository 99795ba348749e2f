#include "runtime/parallel.h"

#include <omp.h>

#include <algorithm>

#include "tbb/task.h"

namespace graft {
namespace for_range_detail {

bool CanUseOpenMpTeam() {
#if defined(__SANITIZE_THREAD__)
  return false;
#else
  return omp_in_parallel() == 0 && tbb::task::current_context() == nullptr;
#endif
}

void OpenMpForRange(int threads, int64_t n, int64_t grain,
                    absl::FunctionRef<void(int64_t, int64_t)> fn) {
  const int64_t chunks = std::min<int64_t>(threads, (n + grain - 1) / grain);
  // The whole team (not just `chunks` threads), as oneDNN asks for it: a team of another size
  // would make libgomp resize its pool back and forth between the two.
#pragma omp parallel num_threads(threads)
  {
    // The team may be smaller than asked (OMP_THREAD_LIMIT, OMP_DYNAMIC): chunks are dealt
    // round-robin, so each is still run exactly once.
    const int64_t team = omp_get_num_threads();
    for (int64_t k = omp_get_thread_num(); k < chunks; k += team) {
      const int64_t begin = n * k / chunks, end = n * (k + 1) / chunks;
      if (begin < end) fn(begin, end);
    }
  }
}

}  // namespace for_range_detail
}  // namespace graft
