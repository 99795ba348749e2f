// graft — the thread budget shared by oneDNN (OpenMP inside) and graft's TBB kernels.
#ifndef GRAFT_RUNTIME_THREADS_H_
#define GRAFT_RUNTIME_THREADS_H_

namespace graft {

// Sets how many threads graft uses. n <= 0 restores the default: $GRAFT_NUM_THREADS when set,
// else the number of cores. oneDNN kernels apply it to their OpenMP team before each primitive;
// TBB work runs under a global_control of the same size.
void SetNumThreads(int n);
// The current budget (>= 1).
int NumThreads();

}  // namespace graft

#endif  // GRAFT_RUNTIME_THREADS_H_
