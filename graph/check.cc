#include "graph/check.h"

#include <cstdio>
#include <cstdlib>
#include <string>

namespace graft::internal {

void CheckFailed(const char* file, int line, const char* condition, absl::string_view message) {
  // One fprintf, so the line is not interleaved with other threads' output.
  const std::string text =
      absl::StrCat("graft: FATAL: ", file, ":", line, ": check failed: ", condition,
                   message.empty() ? "" : ": ", message, "\n");
  std::fputs(text.c_str(), stderr);
  std::fflush(stderr);
  std::abort();
}

}  // namespace graft::internal
