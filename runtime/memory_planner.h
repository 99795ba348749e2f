// graft — static memory planning: place buffers with known lifetimes in one arena.
#ifndef GRAFT_RUNTIME_MEMORY_PLANNER_H_
#define GRAFT_RUNTIME_MEMORY_PLANNER_H_

#include <cstdint>
#include <vector>

namespace graft {

// A buffer that is written at step `first` and last read at step `last` (inclusive).
struct BufferRequest {
  int64_t bytes = 0;
  int first = 0;
  int last = 0;
};

struct MemoryPlan {
  std::vector<int64_t> offsets;  // one per request, multiples of the alignment
  int64_t arena_bytes = 0;       // the planned peak: the arena's size
  int64_t total_bytes = 0;       // what one allocation per buffer would take
};

// Greedy best fit by decreasing size (the TFLite / ggml-alloc approach): each buffer goes at the
// lowest offset where it overlaps, in memory, no already-placed buffer whose lifetime overlaps
// its own. Deterministic.
MemoryPlan PlanMemory(const std::vector<BufferRequest>& requests, int64_t alignment = 64);

}  // namespace graft

#endif  // GRAFT_RUNTIME_MEMORY_PLANNER_H_
