// graft — the collective-communication interface data-parallel training runs on.
//
// graft's core never links a transport. //distributed implements this interface over MPI and
// installs it with graft::distributed::Init; until then (a plain program) CurrentCommunicator()
// is null and nothing in Compile, Fit, Evaluate or Predict changes. The gradient-allreduce ops
// (ops/collective.h) and keras::Model's data-parallel paths talk only to this interface.
//
// Every rank calls the collectives in the same order (MPI's rule). A collective that cannot
// finish (a peer died, or stalls past the communicator's timeout) does not return an error that
// a rank could act on alone — the other ranks would wait forever: implementations end the job
// (MPI_Abort) with a message naming what was waited for and for how long.
#ifndef GRAFT_RUNTIME_COLLECTIVE_H_
#define GRAFT_RUNTIME_COLLECTIVE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace graft {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // The gradient bucket size, in bytes, Compile splits a model's gradients into.
  virtual int64_t bucket_bytes() const { return int64_t{256} << 10; }

  // ---- blocking collectives --------------------------------------------------------------
  // Elementwise sums over the ranks, in place.
  virtual absl::Status AllreduceSum(absl::Span<float> data) = 0;
  virtual absl::Status AllreduceSum(absl::Span<double> data) = 0;
  // Rank `root`'s `bytes` bytes at `data` on every rank.
  virtual absl::Status Broadcast(void* data, int64_t bytes, int root) = 0;
  // Every rank's bytes, concatenated in rank order into `out` (which must hold the sum of
  // `bytes_per_rank`; `bytes_per_rank[rank()]` is this rank's count).
  virtual absl::Status Allgatherv(const void* data, void* out,
                                  const std::vector<int64_t>& bytes_per_rank) = 0;

  // ---- non-blocking sums (the gradient buckets) -----------------------------------------
  // Starts an in-place sum of `data` over the ranks; `data` must stay untouched until Wait
  // returns. Returns a handle for Wait.
  virtual absl::StatusOr<int64_t> StartAllreduceSum(absl::Span<float> data) = 0;
  // Lets started sums advance (MPI progresses a non-blocking collective inside MPI calls):
  // called between backward steps so communication goes on while the next gradient computes.
  virtual void Progress() = 0;
  // Blocks until the sum of `handle` is complete.
  virtual absl::Status Wait(int64_t handle) = 0;
};

// The communicator data-parallel training runs over, or null (a plain, single-process run).
Communicator* CurrentCommunicator();
// Installs `comm` (graft::distributed::Init does; null uninstalls). Not owned. Install it before
// compiling the models that should train data-parallel.
void SetCurrentCommunicator(Communicator* comm);

// The communicator when this process is one of several ranks, else null: what Compile, Fit,
// Evaluate and Predict test to take the data-parallel path.
inline Communicator* DataParallelCommunicator() {
  Communicator* c = CurrentCommunicator();
  return c != nullptr && c->size() > 1 ? c : nullptr;
}

}  // namespace graft

#endif  // GRAFT_RUNTIME_COLLECTIVE_H_
