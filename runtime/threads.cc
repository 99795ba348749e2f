#include "runtime/threads.h"

#include <atomic>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <thread>

#include "tbb/global_control.h"

namespace graft {
namespace {

int DefaultThreads() {
  if (const char* env = std::getenv("GRAFT_NUM_THREADS")) {
    int n = std::atoi(env);
    if (n > 0) return n;
  }
  unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

std::mutex mu;
std::atomic<int> current{0};
std::unique_ptr<tbb::global_control> tbb_limit;

void Apply(int n) {
  current.store(n);
  tbb_limit = std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism,
                                                    static_cast<size_t>(n));
}

}  // namespace

void SetNumThreads(int n) {
  std::lock_guard<std::mutex> lock(mu);
  Apply(n > 0 ? n : DefaultThreads());
}

int NumThreads() {
  int n = current.load();
  if (n > 0) return n;
  std::lock_guard<std::mutex> lock(mu);
  if (current.load() == 0) Apply(DefaultThreads());
  return current.load();
}

}  // namespace graft
