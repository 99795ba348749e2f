#include "runtime/executor.h"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "tbb/task_arena.h"
#include "tbb/task_group.h"

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
  std::vector<std::atomic<int>> pending(n);
  for (int i = 0; i < n; ++i) pending[i].store(steps[i].num_predecessors);

  // Ready steps that must run on this thread (oneDNN), and the bookkeeping to wait for them.
  std::mutex mu;
  std::condition_variable cv;
  std::deque<int> main_queue;
  int finished = 0;
  absl::Status first_error;
  bool failed = false;

  tbb::task_group group;
  std::function<void(int)> schedule;
  auto complete = [&](int i, absl::Status s) {
    std::vector<int> ready;
    if (s.ok()) {
      for (int j : steps[i].successors) {
        if (pending[j].fetch_sub(1) == 1) ready.push_back(j);
      }
    }
    {
      std::lock_guard<std::mutex> lock(mu);
      ++finished;
      if (!s.ok() && !failed) {
        failed = true;
        first_error = s;
      }
    }
    for (int j : ready) schedule(j);
    cv.notify_all();
  };
  schedule = [&](int i) {
    if (steps[i].kernel->UsesOneDnn()) {
      {
        std::lock_guard<std::mutex> lock(mu);
        main_queue.push_back(i);
      }
      cv.notify_all();
    } else {
      group.run([&, i] {
        bool skip;
        {
          std::lock_guard<std::mutex> lock(mu);
          skip = failed;
        }
        complete(i,
                 skip ? absl::CancelledError("skipped after an earlier error") : RunStep(steps[i]));
      });
    }
  };

  for (int i = 0; i < n; ++i) {
    if (steps[i].num_predecessors == 0) schedule(i);
  }
  // Drive: run oneDNN steps here until every step has finished (or one failed and the rest
  // drained). A failed step stops its successors from ever becoming ready, so "finished"
  // counts only steps that ran; we stop when nothing is running and nothing is queued.
  while (true) {
    int next = -1;
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait_for(lock, std::chrono::milliseconds(1),
                  [&] { return !main_queue.empty() || finished == n || failed; });
      if (!main_queue.empty()) {
        next = main_queue.front();
        main_queue.pop_front();
      } else if (finished == n || failed) {
        break;
      }
    }
    if (next >= 0) {
      bool skip;
      {
        std::lock_guard<std::mutex> lock(mu);
        skip = failed;
      }
      complete(next, skip ? absl::CancelledError("skipped after an earlier error")
                          : RunStep(steps[next]));
    }
  }
  group.wait();
  return failed ? first_error : absl::OkStatus();
}

}  // namespace graft
