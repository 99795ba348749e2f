// graft — running Graphviz's `dot` program (internal to keras/: Model::PlotModel).
#ifndef GRAFT_KERAS_GRAPHVIZ_INTERNAL_H_
#define GRAFT_KERAS_GRAPHVIZ_INTERNAL_H_

#include <string>

#include "absl/status/statusor.h"

namespace graft::keras::internal {

// The path of the first executable regular file named `program` in the folders of $PATH (an
// empty entry is the current folder); "" when there is none.
std::string FindOnPath(const std::string& program);

// Runs `dot_program -T<format> <dot_path>` (posix_spawn, no shell; stdin from /dev/null) and
// returns what it wrote to stdout: the picture. INTERNAL with dot's stderr when it exits with
// an error or is killed; DEADLINE_EXCEEDED (the process killed) after `timeout_seconds`.
absl::StatusOr<std::string> RunDot(const std::string& dot_program, const std::string& format,
                                   const std::string& dot_path, int timeout_seconds = 120);

}  // namespace graft::keras::internal

#endif  // GRAFT_KERAS_GRAPHVIZ_INTERNAL_H_
