// keras/data_parallel.cc — a data-parallel model's agreement check, state broadcast, batch
// shares, log sums and moving-statistics average (keras/data_parallel.h).
#include "keras/data_parallel.h"

#include <algorithm>
#include <cstring>
#include <sstream>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "graph/variable_home.h"
#include "keras/model.h"
#include "keras/model_internal.h"

namespace graft::keras {
namespace {

uint64_t Fnv(uint64_t h, const std::string& s) {
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

// Every variable of the model's graph once (a layer called in two branches has two nodes over
// one home), in node order: the same order on every rank that built the same model.
std::vector<const Node*> Variables(const Graph& g) {
  std::vector<const Node*> out;
  absl::flat_hash_set<const VariableHome*> seen;
  for (int id = 0; id < g.num_nodes(); ++id) {
    const Node& n = g.node(id);
    if (n.op->name != "graft.Variable") continue;
    if (seen.insert(n.attrs_as<VariableAttrs>().home.get()).second) out.push_back(&n);
  }
  return out;
}

}  // namespace

std::unique_ptr<DataParallel> DataParallel::For(const Model& m) {
  if (!m.compiled_ || m.compiled_->comm == nullptr) return nullptr;
  auto dp = std::unique_ptr<DataParallel>(new DataParallel(m.compiled_->comm));
  dp->zero_weight_ = Tensor::FromVector<float>(Shape{1}, {0.0f});
  return dp;
}

std::pair<int64_t, int64_t> DataParallel::ShareOf(int64_t n, int rank, int size) {
  const int64_t p = size, r = rank;
  const int64_t base = n / p, extra = n % p;
  const int64_t begin = r * base + std::min(r, extra);
  return {begin, begin + base + (r < extra ? 1 : 0)};
}

float DataParallel::Shard(std::vector<Tensor>& feeds, size_t rows_feeds, size_t weights_at,
                          size_t num_weights) {
  const int64_t n = feeds[0].shape().dim(0);
  auto [b, e] = Share(n);
  if (b == e) {  // a batch smaller than the ranks: a stand-in row that weighs nothing
    for (size_t i = 0; i < rows_feeds; ++i) feeds[i] = feeds[i].RowsView(0, 1);
    for (size_t i = weights_at; i < weights_at + num_weights; ++i) feeds[i] = zero_weight_;
    return 0.0f;
  }
  for (size_t i = 0; i < rows_feeds; ++i) feeds[i] = feeds[i].RowsView(b, e);
  return static_cast<float>(static_cast<double>(e - b) / static_cast<double>(n));
}

absl::Status DataParallel::BeginFit(Model& m, int64_t batch_size, int64_t samples, int epochs) {
  Model::Compiled& c = *m.compiled_;
  // 1. Agreement: one record per rank, compared with rank 0's on every rank.
  const std::vector<const Node*> vars = Variables(*c.graph);
  uint64_t arch = 0xcbf29ce484222325ULL;
  int64_t elements = 0;
  for (const Node* n : vars) {
    const Tensor& v = n->attrs_as<VariableAttrs>().value;
    arch = Fnv(arch, absl::StrCat(n->name, v.shape().ToString()));
    elements += v.num_elements();
  }
  constexpr int kFields = 6;
  const char* names[kFields] = {"the model (its variables' names and shapes)",
                                "the number of weights", "batch_size", "the number of samples",
                                "epochs", "the number of variables"};
  const int64_t mine[kFields] = {static_cast<int64_t>(arch), elements, batch_size, samples,
                                 epochs, static_cast<int64_t>(vars.size())};
  std::vector<int64_t> all(kFields * size());
  const int64_t bytes = sizeof(mine);
  if (absl::Status s = comm_->Allgatherv(mine, all.data(), std::vector<int64_t>(size(), bytes));
      !s.ok()) {
    return s;
  }
  for (int r = 1; r < size(); ++r) {
    for (int f = 0; f < kFields; ++f) {
      const int64_t want = all[f], got = all[r * kFields + f];
      if (want == got) continue;
      const bool shown = f != 0;
      return absl::FailedPreconditionError(absl::StrCat(
          "Fit (data-parallel, rank ", rank(), " of ", size(), "): rank ", r,
          " differs from rank 0 in ", names[f],
          shown ? absl::StrCat(": ", got, " on rank ", r, ", ", want, " on rank 0") : "",
          ". Every rank must build the same model and call Fit with the same batch_size, "
          "epochs and data size. Fix: run the same program with the same arguments and data "
          "on every rank"));
    }
  }
  // 2. Rank 0's state everywhere: the variables (weights, moving statistics, optimizer slots)...
  for (const Node* n : vars) {
    VariableHome* home = n->attrs_as<VariableAttrs>().home.get();
    if (absl::Status s = home->SyncLogical(); !s.ok()) return s;
    Tensor logical = home->logical();  // shares the storage
    if (absl::Status s = comm_->Broadcast(logical.raw_data(), logical.nbytes(), 0); !s.ok()) {
      return s;
    }
    home->LogicalWritten();
  }
  // ... the iteration count, the resume epoch and the shuffling stream.
  int64_t counters[2] = {c.iterations, m.resume_epoch_};
  if (absl::Status s = comm_->Broadcast(counters, sizeof(counters), 0); !s.ok()) return s;
  c.iterations = counters[0];
  m.resume_epoch_ = static_cast<int>(counters[1]);
  std::ostringstream state;
  state << c.shuffle;
  std::string text = state.str();
  int64_t length = static_cast<int64_t>(text.size());
  if (absl::Status s = comm_->Broadcast(&length, sizeof(length), 0); !s.ok()) return s;
  text.resize(length);
  if (absl::Status s = comm_->Broadcast(text.data(), length, 0); !s.ok()) return s;
  std::istringstream in(text);
  in >> c.shuffle;
  return absl::OkStatus();
}

absl::Status DataParallel::ReduceLogs(const internal::LogMeans& local, internal::LogMeans& into) {
  std::vector<double> sums = local.Sums();
  if (absl::Status s = comm_->AllreduceSum(absl::MakeSpan(sums)); !s.ok()) return s;
  into.AddSums(sums);
  return absl::OkStatus();
}

absl::Status DataParallel::AverageMovingStatistics(Model& m) {
  Model::Compiled& c = *m.compiled_;
  absl::flat_hash_set<int> slots;
  for (const Value& v : c.slots) slots.insert(v.node);
  absl::flat_hash_set<const VariableHome*> slot_homes;
  for (int id : slots) slot_homes.insert(c.graph->node(id).attrs_as<VariableAttrs>().home.get());
  const float inv = 1.0f / static_cast<float>(size());
  for (const Node* n : Variables(*c.graph)) {
    const VariableAttrs& a = n->attrs_as<VariableAttrs>();
    if (a.trainable || slot_homes.contains(a.home.get())) continue;
    if (a.value.dtype() != DType::kF32) continue;
    VariableHome* home = a.home.get();
    if (absl::Status s = home->SyncLogical(); !s.ok()) return s;
    Tensor logical = home->logical();
    float* p = logical.data<float>();
    if (absl::Status s = comm_->AllreduceSum(absl::MakeSpan(p, logical.num_elements())); !s.ok()) {
      return s;
    }
    for (int64_t i = 0; i < logical.num_elements(); ++i) p[i] *= inv;
    home->LogicalWritten();
  }
  return absl::OkStatus();
}

}  // namespace graft::keras
