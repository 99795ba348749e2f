// The paths a user passes to an example program.
#ifndef GRAFT_EXAMPLES_USER_PATH_H_
#define GRAFT_EXAMPLES_USER_PATH_H_

#include <cstdlib>
#include <string>

namespace graft::examples {

// A path the user typed: relative paths are taken from the folder `bazel run` was started in
// (BUILD_WORKING_DIRECTORY), not from the runfiles folder the program runs in.
inline std::string UserPath(const std::string& path) {
  const char* cwd = std::getenv("BUILD_WORKING_DIRECTORY");
  if (path.empty() || path[0] == '/' || cwd == nullptr) return path;
  return std::string(cwd) + "/" + path;
}

}  // namespace graft::examples

#endif  // GRAFT_EXAMPLES_USER_PATH_H_
