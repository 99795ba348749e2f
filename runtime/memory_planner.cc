#include "runtime/memory_planner.h"

#include <algorithm>
#include <numeric>

namespace graft {

MemoryPlan PlanMemory(const std::vector<BufferRequest>& requests, int64_t alignment) {
  const size_t n = requests.size();
  MemoryPlan plan;
  plan.offsets.assign(n, 0);
  std::vector<int64_t> size(n);
  for (size_t i = 0; i < n; ++i) {
    size[i] = (std::max<int64_t>(requests[i].bytes, 1) + alignment - 1) / alignment * alignment;
    plan.total_bytes += size[i];
  }
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (size[a] != size[b]) return size[a] > size[b];
    return requests[a].first < requests[b].first;
  });
  std::vector<size_t> placed;
  for (size_t i : order) {
    // The placed buffers alive at the same time, by offset.
    std::vector<std::pair<int64_t, int64_t>> busy;  // [offset, end)
    for (size_t j : placed) {
      if (requests[j].first <= requests[i].last && requests[i].first <= requests[j].last) {
        busy.emplace_back(plan.offsets[j], plan.offsets[j] + size[j]);
      }
    }
    std::sort(busy.begin(), busy.end());
    // Best fit: the smallest gap that holds it; else after the last busy range.
    int64_t best = -1, best_gap = 0, cursor = 0;
    for (const auto& [begin, end] : busy) {
      const int64_t gap = begin - cursor;
      if (gap >= size[i] && (best < 0 || gap < best_gap)) {
        best = cursor;
        best_gap = gap;
      }
      cursor = std::max(cursor, end);
    }
    plan.offsets[i] = best >= 0 ? best : cursor;
    plan.arena_bytes = std::max(plan.arena_bytes, plan.offsets[i] + size[i]);
    placed.push_back(i);
  }
  return plan;
}

}  // namespace graft
