// graft — memory sizes checked before allocating: overflow-checked byte counts and the limit an
// allocation is held to (the machine's physical memory), so that an impossible size becomes a
// RESOURCE_EXHAUSTED status naming what wanted it instead of std::bad_alloc or an abort.
#ifndef GRAFT_GRAPH_MEMORY_H_
#define GRAFT_GRAPH_MEMORY_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "graph/dtype.h"
#include "graph/shape.h"

namespace graft {

// The bytes of a dense array of `shape` (fully defined) and `dtype`, or nullopt when a dimension
// is negative or the count does not fit int64: Shape::CheckedNumBytes (NumPy's rule, so a zero
// dimension does not excuse an overflowing product of the others).
std::optional<uint64_t> CheckedBytes(DType dtype, const Shape& shape);

// a * b, or nullopt on overflow past 2^63.
std::optional<uint64_t> CheckedMul(uint64_t a, uint64_t b);

// The most one allocation may take: physical memory (sysconf(_SC_PHYS_PAGES) * page size).
// GRAFT_MEMORY_LIMIT_BYTES overrides it (read once; for tests and for sharing a machine).
uint64_t MemoryLimitBytes();

// "4.00 TiB" (1024-based, as Keras's summary).
std::string HumanBytes(uint64_t bytes);

// OK when `bytes` (nullopt: overflowed) fits MemoryLimitBytes(); otherwise RESOURCE_EXHAUSTED
// "<what> needs N bytes (X GiB), more than this machine's memory (M bytes, Y GiB)<. fix>".
absl::Status CheckAllocation(std::optional<uint64_t> bytes, const std::string& what,
                             const std::string& fix = "");

}  // namespace graft

#endif  // GRAFT_GRAPH_MEMORY_H_
