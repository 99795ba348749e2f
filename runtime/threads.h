// graft — the thread budget shared by oneDNN (OpenMP inside) and graft's TBB kernels.
#ifndef GRAFT_RUNTIME_THREADS_H_
#define GRAFT_RUNTIME_THREADS_H_

namespace graft {

// Sets how many threads graft uses. n <= 0 restores the default: $GRAFT_NUM_THREADS when set,
// else the number of cores. TBB work runs under a global_control of this size; plans compile
// their oneDNN primitives for a thread count no larger than it.
void SetNumThreads(int n);
// The current budget (>= 1).
int NumThreads();

// Adaptive threads (on by default; $GRAFT_ADAPTIVE_THREADS=0 turns it off): Fit, Evaluate and
// Predict time their steps and, when another process competes for the cores, run with fewer
// threads than the budget — a 2-thread OpenMP team whose second core is busy runs many times
// slower than 1 thread. Results are bitwise reproducible for the same *effective* thread count;
// turn adaptation off to pin the count (as the determinism tests do).
void SetAdaptiveThreads(bool on);
bool AdaptiveThreads();

// The thread count in force on the calling thread: the count a plan was compiled for while it
// compiles and runs (oneDNN kernels give it to their OpenMP team), else NumThreads().
int CurrentThreads();

// Sets CurrentThreads() on this thread for a scope.
class ScopedThreads {
 public:
  explicit ScopedThreads(int n);
  ~ScopedThreads();
  ScopedThreads(const ScopedThreads&) = delete;
  ScopedThreads& operator=(const ScopedThreads&) = delete;

 private:
  int previous_;
};

}  // namespace graft

#endif  // GRAFT_RUNTIME_THREADS_H_
