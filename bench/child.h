// graft — running the measuring children of the benchmark drivers (bench/compare, bench/serve):
// a child process with its stdout captured and its peak RSS, a clean environment, and where
// bench/libtorch_runner is.
#ifndef GRAFT_BENCH_CHILD_H_
#define GRAFT_BENCH_CHILD_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace graft::bench {

struct ChildResult {
  int exit_code = -1;  // the child's exit status; 128 + signal when killed
  std::string out;     // its stdout
  double peak_rss_mb = 0;
};

// Runs argv with environment env, its stdout captured and stderr passed through; waits for it
// and reads its peak RSS from wait4's rusage.
absl::StatusOr<ChildResult> RunChild(const std::vector<std::string>& argv,
                                     const std::vector<std::string>& env);

// This process's environment without the variables that tune BLAS, OpenMP, glibc malloc or the
// loader, so "default" runs see the machine as it is.
std::vector<std::string> CleanEnvironment();

// CleanEnvironment plus libtorch's tuned settings (bench/compare's "tuned" configuration):
// OpenBLAS (libopenblas0-pthread, from `openblas_dir`) first on LD_LIBRARY_PATH with
// OPENBLAS_NUM_THREADS=1, and glibc malloc tunables for large mmap/trim thresholds and huge pages.
std::vector<std::string> LibtorchTunedEnvironment(const std::string& openblas_dir);

// This program's path (/proc/self/exe), or "".
std::string SelfPath();

// A path given by the user, relative to where they ran `bazel run` from.
std::string UserPath(const std::string& p);

// bench/libtorch_runner: `flag` when given, else next to this binary (the same -c configuration),
// else the workspace's bazel-bin; "" when there is none.
std::string FindLibtorchRunner(const std::string& flag);

}  // namespace graft::bench

#endif  // GRAFT_BENCH_CHILD_H_
