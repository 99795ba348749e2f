// graft::distributed — data-parallel training over MPI (Horovod's model, inside the library).
//
//   #include "distributed/distributed.h"
//   int main(int argc, char** argv) {
//     graft::distributed::Context mpi(&argc, &argv);   // MPI_Init; ends with MPI_Finalize
//     if (!mpi.status().ok()) { ...print mpi.status()...; return 1; }
//     ... build and Compile the model, then the unchanged model.Fit(x, y, {.batch_size = 128})
//   }
//
//   mpirun -np 2 bazel-bin/examples/distributed_mnist          # one machine, two ranks
//   mpirun -np 8 --hostfile hosts bazel-bin/...                 # several machines
//   srun -n 8 bazel-bin/...                                     # SLURM (Open MPI's PMIx)
//
// Under `mpirun -np N` (N > 1) a model compiled after Init trains data-parallel:
//   - every rank holds the same arrays; each global batch (the batch_size the user passes) is
//     split into N contiguous shares as equal as possible (a last partial batch too, as Keras
//     keeps it); a rank whose share would be empty runs one sample weighted 0;
//   - at the start of Fit, rank 0's weights, optimizer state, iteration count and shuffling
//     stream are broadcast, after a check that every rank built the same model and passes the
//     same batch size and data size (a mismatch fails on every rank, naming the rank);
//   - gradients are summed across ranks, each rank's weighted by its share of the batch (the
//     exact gradient of the global batch), in buckets started as soon as the backward pass has
//     produced them (non-blocking allreduce, overlapped with the rest of the backward pass);
//   - BatchNormalization's moving statistics are averaged across ranks at each epoch's end;
//   - the losses and metrics logged are those of the global batch (reduced every step);
//     progress and Summary print on rank 0 only; Model::Save and the callbacks' files are
//     written by rank 0 only;
//   - Evaluate shards its batches and reduces the metrics; Predict shards the samples and
//     gathers the predictions on every rank.
// Under `mpirun -np 1`, or without mpirun, nothing changes.
//
// Failure: a rank that dies makes mpirun end the others (its default); a rank that stalls makes
// the others abort with a message after the collective timeout (GRAFT_DIST_TIMEOUT_S seconds,
// default 120; Options::timeout_seconds).
#ifndef GRAFT_DISTRIBUTED_DISTRIBUTED_H_
#define GRAFT_DISTRIBUTED_DISTRIBUTED_H_

#include <memory>
#include <string>

#include "absl/status/status.h"

namespace graft::distributed {

struct Options {
  // How long a collective may wait for the other ranks before the job is aborted with a message
  // (0: GRAFT_DIST_TIMEOUT_S, else 120 s).
  double timeout_seconds = 0;
  // Gradient bucket size: gradients are summed in buckets of about this many bytes, each
  // started as soon as its gradients exist (0: GRAFT_DIST_BUCKET_BYTES, else 256 KiB).
  int64_t bucket_bytes = 0;
};

// Initialises MPI (once per process) and installs the communicator graft's training uses.
// Keep it alive for the whole program: its destructor uninstalls it and finalises MPI.
class Context {
 public:
  Context(int* argc, char*** argv, Options options = {});
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;
  // Not OK when MPI could not start (the message says why and what to check).
  const absl::Status& status() const { return status_; }

 private:
  absl::Status status_;
};

// This process's rank and the number of ranks (0 and 1 before Init or without MPI).
int Rank();
int Size();
// Rank 0: the rank that prints and saves.
inline bool IsRoot() { return Rank() == 0; }
// The bucket size in use (Options::bucket_bytes or its default).
int64_t BucketBytes();

// What this rank's gradient sums have cost since the Context was created: buckets started,
// bytes summed, and the seconds the train steps spent blocked waiting for sums to finish — the
// communication the backward pass did not hide (bench/data_parallel reports it per step).
struct GradientStats {
  int64_t buckets = 0;
  int64_t bytes = 0;
  double wait_seconds = 0;
};
GradientStats GetGradientStats();

}  // namespace graft::distributed

#endif  // GRAFT_DISTRIBUTED_DISTRIBUTED_H_
