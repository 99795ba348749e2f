#include "runtime/executor.h"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "runtime/threads.h"
#include "tbb/global_control.h"
#include "tbb/task_arena.h"
#include "tbb/task_group.h"

// libtbb is not built with ThreadSanitizer, so TSan cannot see that handing a task to a worker
// (and waiting for it) orders memory. Tell it, around every hand-off.
#if defined(__SANITIZE_THREAD__)
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);
#define GRAFT_TSAN_ACQUIRE(addr) __tsan_acquire(addr)
#define GRAFT_TSAN_RELEASE(addr) __tsan_release(addr)
#else
#define GRAFT_TSAN_ACQUIRE(addr) ((void)(addr))
#define GRAFT_TSAN_RELEASE(addr) ((void)(addr))
#endif
// The address the hand-off annotations synchronise on (a task must not read its own captures
// before acquiring, so the address cannot be one of them).
static char tbb_handoff;

namespace graft {
namespace {

absl::Status RunStep(PlanStep& step) {
  absl::Status s = step.kernel->Run(step.ctx);
  if (!s.ok()) {
    return absl::Status(
        s.code(), absl::StrCat(step.node->name, " (", step.node->op->name, "): ", s.message()));
  }
  return s;
}

}  // namespace

absl::Status RunSequential(std::vector<PlanStep>& steps) {
  for (PlanStep& step : steps) {
    absl::Status s = RunStep(step);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status RunTbb(std::vector<PlanStep>& steps) {
  const int n = static_cast<int>(steps.size());
  std::vector<int> pending(n);
  for (int i = 0; i < n; ++i) pending[i] = steps[i].num_predecessors;

  std::mutex mu;
  std::condition_variable cv;
  std::deque<int> ready;  // steps whose inputs are all computed
  int finished = 0;       // steps run (or skipped after an error)
  absl::Status first_error;
  tbb::task_group group;

  // After step i: count it, and make its successors ready. Called with `mu` held.
  auto complete_locked = [&](int i, const absl::Status& s) {
    ++finished;
    if (!s.ok() && first_error.ok()) first_error = s;
    for (int j : steps[i].successors) {
      if (--pending[j] == 0) ready.push_back(j);
    }
  };
  auto run = [&](int i) {
    bool skip;
    {
      std::lock_guard<std::mutex> lock(mu);
      skip = !first_error.ok();
    }
    absl::Status s =
        skip ? absl::CancelledError("skipped after an earlier error") : RunStep(steps[i]);
    std::lock_guard<std::mutex> lock(mu);
    complete_locked(i, s);
    cv.notify_one();
  };

  {
    std::lock_guard<std::mutex> lock(mu);
    for (int i = 0; i < n; ++i) {
      if (pending[i] == 0) ready.push_back(i);
    }
  }
  // The calling thread drives: it runs one ready step itself — oneDNN steps always here, so a
  // single OpenMP team exists — and hands other ready non-oneDNN steps to TBB workers. A chain
  // of steps therefore runs inline, with no task or wake-up per step. Without workers (a budget
  // of one thread) nothing is handed out: a task no one picks up would never let this thread
  // out of its wait. Nor in a plan compiled for one thread (the governor's choice under
  // contention, within a larger budget): a worker would run on the busy core, and the step
  // waiting for its output with it. Measured under bench/compare's contention test (2 cores,
  // the other one spinning), M3's train step at batch 256: the worker took 21% of the busy core,
  // and the step ran at 0.83-0.86x of a 1-thread process.
  const bool workers =
      CurrentThreads() > 1 && tbb::this_task_arena::max_concurrency() > 1 &&
      tbb::global_control::active_value(tbb::global_control::max_allowed_parallelism) > 1;
  while (true) {
    int mine = -1;
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return !ready.empty() || finished == n; });
      if (ready.empty()) break;  // finished == n
      auto onednn = std::find_if(ready.begin(), ready.end(),
                                 [&](int i) { return steps[i].kernel->UsesOneDnn(); });
      if (onednn != ready.end()) {
        mine = *onednn;
        ready.erase(onednn);
      } else {
        mine = ready.front();
        ready.pop_front();
      }
      for (auto it = ready.begin(); workers && it != ready.end();) {
        if (steps[*it].kernel->UsesOneDnn()) {
          ++it;
          continue;
        }
        const int other = *it;
        it = ready.erase(it);
        // defer() builds the task (copying the captures) before the release below.
        tbb::task_handle task = group.defer([&, other] {
          GRAFT_TSAN_ACQUIRE(&tbb_handoff);
          run(other);
          GRAFT_TSAN_RELEASE(&tbb_handoff);
        });
        GRAFT_TSAN_RELEASE(&tbb_handoff);
        group.run(std::move(task));
      }
    }
    run(mine);
  }
  group.wait();
  GRAFT_TSAN_ACQUIRE(&tbb_handoff);
  return first_error;
}

}  // namespace graft
