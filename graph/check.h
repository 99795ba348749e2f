// graft — GRAFT_CHECK: an invariant check that stays on in optimised builds.
//
// For programming errors only (a caller broke a documented precondition), never for bad input
// from files or users: those are absl::Status values. A failed check prints
//   graft: FATAL: <file>:<line>: check failed: <condition>: <message>
// to stderr and aborts, so the mistake is named instead of turning into memory corruption.
#ifndef GRAFT_GRAPH_CHECK_H_
#define GRAFT_GRAPH_CHECK_H_

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace graft::internal {

// Prints the message above and aborts.
[[noreturn]] void CheckFailed(const char* file, int line, const char* condition,
                              absl::string_view message);

}  // namespace graft::internal

// GRAFT_CHECK(condition, message pieces...): the pieces are absl::StrCat arguments, evaluated
// only when the check fails.
#define GRAFT_CHECK(condition, ...)                                                       \
  do {                                                                                    \
    if (!(condition)) {                                                                   \
      ::graft::internal::CheckFailed(__FILE__, __LINE__, #condition,                      \
                                     ::absl::StrCat(__VA_ARGS__));                        \
    }                                                                                     \
  } while (false)

#endif  // GRAFT_GRAPH_CHECK_H_
