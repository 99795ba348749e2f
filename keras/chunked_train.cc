// keras/chunked_train.cc — a train step in chunks (keras/chunked_train.h).
#include "keras/chunked_train.h"

#include <algorithm>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "keras/sample_weights.h"
#include "optim/accumulate.h"

namespace graft::keras::internal {

int64_t SampleBytes(const TensorType& t, int64_t cap) {
  if (t.shape.rank() == 0 || t.shape.dim(0) != Shape::kUnknownDim) return 0;
  // Saturating: a value over the cap already decides (and a fuzzed model's dimensions can
  // overflow the product).
  int64_t bytes = static_cast<int64_t>(SizeOf(t.dtype));
  for (int d = 1; d < t.shape.rank() && bytes <= cap; ++d) {
    if (__builtin_mul_overflow(bytes, std::max<int64_t>(1, t.shape.dim(d)), &bytes)) {
      bytes = cap + 1;
    }
  }
  return std::min(bytes, cap + 1);
}

int64_t TrainChunk(const Graph& g) {
  if (const char* env = std::getenv("GRAFT_TRAIN_CHUNK")) {
    if (const int64_t n = std::atoll(env); n >= 0 && (n > 0 || env[0] == '0')) return n;
  }
  constexpr int64_t kBudget = int64_t{16} << 20;
  int64_t per_sample = 1;  // bytes per sample of every batched value, saturating
  for (int id = 0; id < g.num_nodes() && per_sample <= kBudget; ++id) {
    for (const TensorType& t : g.node(id).outputs) {
      per_sample = std::min(kBudget + 1, per_sample + SampleBytes(t, kBudget));
    }
  }
  return std::clamp<int64_t>(kBudget / per_sample, 32, 1024);
}

absl::StatusOr<ChunkedTrain> BuildChunkedTrain(Graph& g, Session& session,
                                               optim::Optimizer& optimizer,
                                               const std::vector<Value>& params,
                                               const std::vector<Value>& grads,
                                               const TrainFeeds& feeds,
                                               const std::vector<Value>& logs, int64_t chunk) {
  ChunkedTrain ct;
  if (chunk <= 0) return ct;
  std::string scope = g.SetNameScope("");
  ct.scale = g.Placeholder({DType::kF32, Shape{}}, "chunk_scale");
  ct.keep = g.Placeholder({DType::kF32, Shape{}}, "chunk_keep");
  std::vector<Operation> accumulate;
  std::vector<Value> summed;  // the finish step's gradients: scale * grad + sum
  for (size_t i = 0; i < params.size(); ++i) {
    const TensorType& t = g.type(params[i]);
    const std::string base = absl::StrCat("chunked/", g.node(params[i]).name);
    ct.sums.push_back(g.Variable(Tensor(t.dtype, t.shape), base + "_sum", /*trainable=*/false));
    absl::StatusOr<Operation> op =
        optim::AccumulateGradient(g, ct.sums[i], grads[i], ct.scale, ct.keep, base + "_accumulate");
    if (!op.ok()) return op.status();
    accumulate.push_back(*op);
    absl::StatusOr<Value> sum =
        optim::AccumulatedGradient(g, ct.sums[i], grads[i], ct.scale, base + "_total");
    if (!sum.ok()) return sum.status();
    summed.push_back(*sum);
  }
  g.SetNameScope(std::move(scope));
  absl::StatusOr<std::vector<Operation>> updates =
      optimizer.AppendUpdatesSharingSlots(g, params, summed, feeds.lr, feeds.iteration);
  if (!updates.ok()) return updates.status();

  std::vector<Value> accumulate_feeds = feeds.data;
  accumulate_feeds.insert(accumulate_feeds.end(),
                          {feeds.iteration, feeds.row_offset, ct.scale, ct.keep});
  std::vector<Value> finish_feeds = feeds.data;
  finish_feeds.insert(finish_feeds.end(), {feeds.lr, feeds.iteration, feeds.row_offset, ct.scale});
  ct.accumulate = session.AddStep({accumulate_feeds, logs, accumulate});
  ct.finish = session.AddStep({finish_feeds, logs, *updates}, /*governed_with=*/ct.accumulate);
  ct.chunk = chunk;
  return ct;
}

absl::Status RunChunked(Session& session, const ChunkedTrain& ct, const std::vector<Tensor>& feeds,
                        size_t num_data, size_t sample_weights_at, size_t num_outputs,
                        const std::vector<int>& log_weighting, std::vector<Tensor>* fetched) {
  const int64_t batch = feeds[0].shape().dim(0);
  const int64_t chunks = (batch + ct.chunk - 1) / ct.chunk;
  const Tensor& lr = feeds[num_data];
  const Tensor& iteration = feeds[num_data + 1];
  LogMeans means(log_weighting);
  std::vector<Tensor> chunk_feeds, chunk_logs;
  // The batch's chunks are one unit for the thread governor: one thread count, one report.
  session.BeginUnit(ct.accumulate);
  int64_t done = 0;  // samples, reported at the end (0 after an error: nothing)
  struct EndUnit {
    Session& session;
    StepId step;
    const int64_t& samples;
    ~EndUnit() { session.EndUnit(step, samples); }
  } end_unit{session, ct.accumulate, done};
  for (int64_t k = 0; k < chunks; ++k) {
    // Balanced: the chunks' sizes differ by at most one row (two plans at most per batch size).
    const int64_t b = batch * k / chunks, e = batch * (k + 1) / chunks;
    const bool last = k + 1 == chunks;
    chunk_feeds.clear();
    for (size_t i = 0; i < num_data; ++i) chunk_feeds.push_back(feeds[i].SliceRows(b, e));
    if (last) chunk_feeds.push_back(lr);
    chunk_feeds.push_back(iteration);
    chunk_feeds.push_back(Tensor::Scalar<float>(static_cast<float>(b)));
    chunk_feeds.push_back(
        Tensor::Scalar<float>(static_cast<float>(static_cast<double>(e - b) / batch)));
    if (!last) chunk_feeds.push_back(Tensor::Scalar<float>(k == 0 ? 0.0f : 1.0f));
    if (absl::Status s = session.Run(last ? ct.finish : ct.accumulate, chunk_feeds, &chunk_logs);
        !s.ok()) {
      return s;
    }
    means.Add(chunk_logs, e - b,
              absl::MakeConstSpan(chunk_feeds).subspan(sample_weights_at, num_outputs));
  }
  done = batch;
  fetched->resize(log_weighting.size());
  for (size_t k = 0; k < log_weighting.size(); ++k) {
    (*fetched)[k] = Tensor::Scalar<float>(static_cast<float>(means.Mean(k)));
  }
  return absl::OkStatus();
}

}  // namespace graft::keras::internal
