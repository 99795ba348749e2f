#include "graph/memory.h"

#include <unistd.h>

#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace graft {

std::optional<uint64_t> CheckedMul(uint64_t a, uint64_t b) {
  constexpr uint64_t kMax = uint64_t{1} << 63;
  if (a != 0 && b > kMax / a) return std::nullopt;
  return a * b;
}

std::optional<uint64_t> CheckedBytes(DType dtype, const Shape& shape) {
  // Shape's one counting rule (NumPy's: the non-zero dimensions' product must fit), the same
  // check Tensor's constructor makes, so a size that passes here never aborts there.
  const absl::StatusOr<int64_t> bytes = shape.CheckedNumBytes(dtype);
  if (!bytes.ok()) return std::nullopt;
  return static_cast<uint64_t>(*bytes);
}

uint64_t MemoryLimitBytes() {
  static const uint64_t limit = [] {
    if (const char* env = std::getenv("GRAFT_MEMORY_LIMIT_BYTES")) {
      uint64_t v = 0;
      if (absl::SimpleAtoi(env, &v) && v > 0) return v;
    }
    const long pages = sysconf(_SC_PHYS_PAGES);
    const long page = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page <= 0) return uint64_t{1} << 62;  // unknown: no limit of ours
    return static_cast<uint64_t>(pages) * static_cast<uint64_t>(page);
  }();
  return limit;
}

std::string HumanBytes(uint64_t bytes) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 6) {
    v /= 1024;
    ++u;
  }
  return absl::StrFormat("%.2f %s", v, kUnits[u]);
}

absl::Status CheckAllocation(std::optional<uint64_t> bytes, const std::string& what,
                             const std::string& fix) {
  const uint64_t limit = MemoryLimitBytes();
  if (bytes && *bytes <= limit) return absl::OkStatus();
  const std::string wanted =
      bytes ? absl::StrCat(*bytes, " bytes (", HumanBytes(*bytes), ")")
            : std::string("more than 2^63 bytes (the size overflows)");
  return absl::ResourceExhaustedError(
      absl::StrCat(what, " needs ", wanted, ", more than this machine's memory (", limit,
                   " bytes, ", HumanBytes(limit), ")", fix.empty() ? "" : ". ", fix));
}

}  // namespace graft
