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

bool DefaultAdaptive() {
  const char* env = std::getenv("GRAFT_ADAPTIVE_THREADS");
  return env == nullptr || std::atoi(env) != 0;
}

std::mutex mu;
std::atomic<int> current{0};
std::atomic<int> adaptive{-1};  // -1: not read from the environment yet
std::unique_ptr<tbb::global_control> tbb_limit;
thread_local int scoped_threads = 0;

void Apply(int n) {
  current.store(n);
  tbb_limit = std::make_unique<tbb::global_control>(
      tbb::global_control::max_allowed_parallelism, static_cast<size_t>(n));
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

void SetAdaptiveThreads(bool on) { adaptive.store(on ? 1 : 0); }

bool AdaptiveThreads() {
  int a = adaptive.load();
  if (a < 0) {
    a = DefaultAdaptive() ? 1 : 0;
    adaptive.store(a);
  }
  return a == 1;
}

int CurrentThreads() { return scoped_threads > 0 ? scoped_threads : NumThreads(); }

ScopedThreads::ScopedThreads(int n) : previous_(scoped_threads) { scoped_threads = n; }
ScopedThreads::~ScopedThreads() { scoped_threads = previous_; }

}  // namespace graft
