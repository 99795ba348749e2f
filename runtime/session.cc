#include "runtime/session.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "runtime/threads.h"

namespace graft {

Session::Session(std::shared_ptr<Graph> graph, ExecutorKind executor)
    : graph_(std::move(graph)), executor_(executor) {}

Session::~Session() = default;

StepId Session::AddStep(StepSpec spec) {
  steps_.push_back(std::move(spec));
  governors_.push_back(nullptr);
  return {static_cast<int>(steps_.size()) - 1};
}

void Session::SetExecutor(ExecutorKind executor) {
  executor_ = executor;
  plans_.clear();
}

absl::StatusOr<Plan*> Session::GetPlan(StepId step, int64_t batch, int threads) {
  if (step.index < 0 || step.index >= static_cast<int>(steps_.size())) {
    return absl::InvalidArgumentError(absl::StrCat("Session: no step ", step.index));
  }
  auto key = std::make_tuple(step.index, batch, threads);
  auto it = plans_.find(key);
  if (it != plans_.end()) return it->second.plan.get();
  const StepSpec& s = steps_[step.index];
  PlanSpec spec{.feeds = s.feeds, .fetches = s.fetches, .targets = s.targets};
  // Every feed with an unknown batch dimension takes `batch`; the others (scalars) their type.
  std::vector<TensorType> types;
  for (Value v : s.feeds) {
    const TensorType& t = graph_->type(v);
    const bool batched = t.shape.rank() > 0 && t.shape.dim(0) == Shape::kUnknownDim;
    types.push_back({t.dtype, batched ? t.shape.WithBatch(batch) : t.shape});
  }
  absl::StatusOr<std::unique_ptr<Plan>> plan =
      Plan::Compile(*graph_, std::move(spec), std::move(types),
                    {.executor = executor_, .num_threads = threads, .arena = arena_});
  if (!plan.ok()) return plan.status();
  Plan* p = plan->get();
  plans_[key].plan = *std::move(plan);
  return p;
}

absl::Status Session::Run(StepId step, const std::vector<Tensor>& feeds,
                          std::vector<Tensor>* fetched, bool timed) {
  if (step.index < 0 || step.index >= static_cast<int>(steps_.size())) {
    return absl::InvalidArgumentError(absl::StrCat("Session: no step ", step.index));
  }
  if (feeds.size() != steps_[step.index].feeds.size()) {
    return absl::InvalidArgumentError(absl::StrCat("Session: step ", step.index, " takes ",
                                                   steps_[step.index].feeds.size(), " feeds, got ",
                                                   feeds.size()));
  }
  std::unique_ptr<ThreadGovernor>& gov = governors_[step.index];
  if (!gov || gov->budget() != NumThreads()) {
    gov = std::make_unique<ThreadGovernor>(NumThreads(), AdaptiveThreads());
  }
  const int64_t batch = feeds.empty() || feeds[0].shape().rank() == 0 ? 0 : feeds[0].shape().dim(0);
  const int threads = gov->Choose();
  absl::StatusOr<Plan*> plan = GetPlan(step, batch, threads);
  if (!plan.ok()) return plan.status();
  Cached& cached = plans_[{step.index, batch, threads}];
  const auto start = std::chrono::steady_clock::now();
  absl::Status s = (*plan)->Run(feeds, fetched);
  if (s.ok() && cached.warm && timed) {
    gov->Record(threads,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
                batch);
  }
  cached.warm = true;
  return s;
}

}  // namespace graft
