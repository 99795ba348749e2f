// graft — what keras::Model does differently when it trains data-parallel (internal; the user's
// side is distributed/distributed.h).
//
// A model compiled while a communicator of several ranks is installed (runtime/collective.h)
// sums its gradients over the ranks inside the train step (ops/collective.h). Around the steps,
// Fit, Evaluate and Predict use a DataParallel for the rest: checking that the ranks agree,
// giving every rank rank 0's state, splitting each global batch, and reducing the logs.
#ifndef GRAFT_KERAS_DATA_PARALLEL_H_
#define GRAFT_KERAS_DATA_PARALLEL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "graph/tensor.h"
#include "keras/sample_weights.h"
#include "runtime/collective.h"

namespace graft::keras {

class Model;

class DataParallel {
 public:
  // The model's data-parallel side, or null when it trains alone (not compiled under a
  // communicator of several ranks).
  static std::unique_ptr<DataParallel> For(const Model& m);

  int rank() const { return comm_->rank(); }
  int size() const { return comm_->size(); }
  Communicator& comm() const { return *comm_; }

  // At Fit's start, on every rank: fails on every rank alike (naming the first rank that
  // differs and what) unless all ranks built the same model and pass the same batch size,
  // number of samples and epochs; then gives every rank rank 0's weights, optimizer state,
  // iteration count, shuffling stream and resume epoch.
  absl::Status BeginFit(Model& m, int64_t batch_size, int64_t samples, int epochs);

  // This rank's rows [begin, end) of a global batch of n rows: N contiguous shares, the first
  // n % N one row longer.
  std::pair<int64_t, int64_t> Share(int64_t n) const { return ShareOf(n, rank(), size()); }
  static std::pair<int64_t, int64_t> ShareOf(int64_t n, int rank, int size);

  // Replaces the first `rows_feeds` feeds (a global batch: inputs, targets, sample weights) by
  // views of this rank's share and returns the share's fraction of the batch (the scale of its
  // gradient). A rank whose share is empty keeps row 0 of the batch with a weight of 0 and
  // gets a scale of 0: it still runs the step's collectives. `weights_at` is the index of the
  // first sample-weight feed (`num_weights` of them).
  float Shard(std::vector<Tensor>& feeds, size_t rows_feeds, size_t weights_at,
              size_t num_weights);
  // Rows of this rank's share of a batch of n (0 for an empty share's stand-in row).
  int64_t ShareRows(int64_t n) const {
    auto [b, e] = Share(n);
    return e - b;
  }

  // Sums the ranks' log totals of one step (or one evaluation) into `into`.
  absl::Status ReduceLogs(const internal::LogMeans& local, internal::LogMeans& into);

  // BatchNormalization's moving statistics (the layers' non-trainable variables), averaged
  // over the ranks (at each epoch's end).
  absl::Status AverageMovingStatistics(Model& m);

 private:
  explicit DataParallel(Communicator* comm) : comm_(comm) {}
  Communicator* comm_;
  Tensor zero_weight_;  // the stand-in row's weight
};

}  // namespace graft::keras

#endif  // GRAFT_KERAS_DATA_PARALLEL_H_
