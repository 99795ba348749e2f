// graft — a train step in chunks (internal to keras/: model.cc builds it at Compile, RunStep
// runs it).
//
// A batch's train step keeps every activation of the batch alive for the backward pass; once
// they leave the cache, the cost per sample grows with the batch (the Keras MNIST convnet, M3,
// trained 7.3k samples/s at batch 256 and 8.4k at batch 32 on one AVX-512 core). Keras offers
// gradient accumulation as a user setting (`gradient_accumulation_steps`, which changes what an
// update means); graft instead runs a large batch as chunks of the batch and applies one update
// with the batch's gradient, so the result is the whole batch's step up to float summation
// order:
//   - the loss is a mean over the batch, so its gradient is the sum over chunks of
//     (chunk rows / batch rows) times the chunk's gradient. Each chunk but the last runs the
//     "accumulate" step: forward, backward, sum = sum + scale * grad per parameter
//     (graft.AccumulateGradient, optim/accumulate.h; the first chunk overwrites the sum).
//   - the last chunk runs the "finish" step: forward, backward, and the optimizer's updates fed
//     scale * grad + sum, over the same slots as the whole-batch step
//     (Optimizer::AppendUpdatesSharingSlots).
//   - Dropout draws the rows of a chunk as it would in the whole batch (the row_offset feed).
//   - the logs are the chunks' logs averaged as Fit averages batches (LogMeans): the batch's
//     loss and metrics, exactly.
// Only where the chunks are independent: no layer whose training forward mixes the samples of
// a batch or updates state (BatchNormalization: layer updates), not data-parallel (its
// gradients are summed over the ranks inside the step). $GRAFT_TRAIN_CHUNK sets the chunk
// (0: never chunk), for measurements and tests.
#ifndef GRAFT_KERAS_CHUNKED_TRAIN_H_
#define GRAFT_KERAS_CHUNKED_TRAIN_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "graph/graph.h"
#include "graph/tensor.h"
#include "optim/optimizer.h"
#include "runtime/session.h"

namespace graft::keras::internal {

// The bytes one sample of a batched value (first dimension unknown) takes, at most cap + 1
// (saturating; 0 for a value without a batch dimension). PredictChunk and TrainChunk size their
// chunks with it.
int64_t SampleBytes(const TensorType& t, int64_t cap);

// How many rows a train step runs at once: enough that the batched values of one chunk's step
// (the training forward's and the backward's, per sample) fill about 16 MiB, at least 32 (fewer
// rows lose more to per-step costs than the cache saves), at most 1024. $GRAFT_TRAIN_CHUNK
// overrides it (0: never chunk).
int64_t TrainChunk(const Graph& g);

// The train step's chunked form (ChunkedTrain::chunk == 0: none).
struct ChunkedTrain {
  int64_t chunk = 0;
  Value scale, keep;        // float scalar placeholders: the chunk's share, 0 on a first chunk
  std::vector<Value> sums;  // one gradient sum variable per parameter
  StepId accumulate, finish;
};

// The feeds of the whole-batch train step, in order: `data` (inputs, targets, sample weights),
// then learning rate, iteration and row offset.
struct TrainFeeds {
  std::vector<Value> data;
  Value lr, iteration, row_offset;
};

// Appends the chunked form's nodes to `g` and adds its two steps to `session`: gradient sums,
// accumulate operations, the finish step's summed gradients and updates. `grads[i]` is the
// gradient of params[i]; `logs` the train logs. Call right after optimizer.AppendUpdates on the
// same graph.
absl::StatusOr<ChunkedTrain> BuildChunkedTrain(Graph& g, Session& session,
                                               optim::Optimizer& optimizer,
                                               const std::vector<Value>& params,
                                               const std::vector<Value>& grads,
                                               const TrainFeeds& feeds,
                                               const std::vector<Value>& logs, int64_t chunk);

// Runs one train batch through `ct` in chunks. `feeds` are the whole-batch step's (TrainFeeds's
// order, with tensors): `num_data` batched tensors, then learning rate, iteration, row offset.
// `log_weighting` and `sample_weights_at` (the index of the first output's sample weights in
// `feeds`) average the chunks' logs (LogMeans). Puts the batch's logs in `fetched`.
absl::Status RunChunked(Session& session, const ChunkedTrain& ct, const std::vector<Tensor>& feeds,
                        size_t num_data, size_t sample_weights_at, size_t num_outputs,
                        const std::vector<int>& log_weighting, std::vector<Tensor>* fetched);

}  // namespace graft::keras::internal

#endif  // GRAFT_KERAS_CHUNKED_TRAIN_H_
