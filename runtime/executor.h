// graft — executors: run the steps of a plan.
#ifndef GRAFT_RUNTIME_EXECUTOR_H_
#define GRAFT_RUNTIME_EXECUTOR_H_

#include <vector>

#include "absl/status/status.h"
#include "runtime/plan.h"

namespace graft {

// Runs the steps in their (topological) order on the calling thread.
absl::Status RunSequential(std::vector<PlanStep>& steps);

// Dependency-counted execution. Steps whose kernels use oneDNN run on the calling thread, one
// at a time (oneDNN's OpenMP team is the parallelism inside them); other ready steps run as TBB
// tasks concurrently with them. Stops at the first error and returns it.
absl::Status RunTbb(std::vector<PlanStep>& steps);

}  // namespace graft

#endif  // GRAFT_RUNTIME_EXECUTOR_H_
