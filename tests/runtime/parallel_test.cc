// ForRange (runtime/parallel.h): every index exactly once, on the OpenMP team from a plain thread
// and on TBB inside a TBB task, for several thread counts.
#include "runtime/parallel.h"

#include <omp.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <set>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/threads.h"
#include "tbb/task_group.h"

namespace graft {
namespace {

class ForRangeTest : public ::testing::Test {
 protected:
  void TearDown() override { SetNumThreads(0); }
};

// Runs ForRange over [0, n) and checks each index was visited once; returns the calls' ranges.
std::set<std::pair<int64_t, int64_t>> VisitAll(int64_t n, int64_t grain) {
  std::vector<std::atomic<int>> visits(n);
  std::mutex mu;
  std::set<std::pair<int64_t, int64_t>> ranges;
  ForRange(
      true, n,
      [&](int64_t b, int64_t e) {
        EXPECT_LT(b, e);
        for (int64_t i = b; i < e; ++i) visits[i]++;
        std::lock_guard<std::mutex> lock(mu);
        ranges.insert({b, e});
      },
      grain);
  for (int64_t i = 0; i < n; ++i) EXPECT_EQ(visits[i].load(), 1) << "index " << i;
  return ranges;
}

TEST_F(ForRangeTest, VisitsEveryIndexOnceOnTheOpenMpTeam) {
#if !defined(__SANITIZE_THREAD__)
  EXPECT_TRUE(for_range_detail::CanUseOpenMpTeam());
#endif
  for (int threads : {1, 2, 3}) {
    SetNumThreads(threads);
    for (int64_t n : {0, 1, 7, 8, 9, 100, 1001}) {
      for (int64_t grain : {1, 8, 64}) {
        SCOPED_TRACE(testing::Message()
                     << "threads " << threads << " n " << n << " grain " << grain);
        const auto ranges = VisitAll(n, grain);
        // A static split: at most `threads` calls, contiguous, and the same every time.
        EXPECT_LE(ranges.size(), static_cast<size_t>(threads));
        EXPECT_EQ(VisitAll(n, grain), ranges);
        if (n <= grain || threads == 1) {
          EXPECT_LE(ranges.size(), 1u);
        }
      }
    }
  }
}

TEST_F(ForRangeTest, InsideATbbTaskUsesTbb) {
  SetNumThreads(2);
  tbb::task_group group;
  bool usable = true;
  group.run([&] {
    usable = for_range_detail::CanUseOpenMpTeam();
    VisitAll(1000, 8);
  });
  group.wait();
  EXPECT_FALSE(usable);
}

TEST_F(ForRangeTest, InsideAnOpenMpRegionDoesNotNestTeams) {
  SetNumThreads(2);
#pragma omp parallel num_threads(2)
  {
    EXPECT_FALSE(for_range_detail::CanUseOpenMpTeam());
    VisitAll(500, 8);
  }
}

TEST_F(ForRangeTest, SerialWhenNotParallel) {
  SetNumThreads(2);
  int calls = 0;
  ForRange(false, 1 << 20, [&](int64_t b, int64_t e) {
    ++calls;
    EXPECT_EQ(b, 0);
    EXPECT_EQ(e, 1 << 20);
  });
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace graft
