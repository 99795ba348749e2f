#include "runtime/session.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "runtime/threads.h"

namespace graft {

Session::Session(std::shared_ptr<Graph> graph, ExecutorKind executor, bool bf16)
    : graph_(std::move(graph)), executor_(executor), bf16_(bf16) {}

Session::~Session() = default;

StepId Session::AddStep(StepSpec spec, StepId governed_with) {
  std::lock_guard<std::mutex> lock(mu_);
  const int index = static_cast<int>(steps_.size());
  steps_.push_back(std::move(spec));
  governors_.push_back(nullptr);
  const bool shared = governed_with.index >= 0 && governed_with.index < index;
  governor_of_.push_back(shared ? governor_of_[governed_with.index] : index);
  return {index};
}

void Session::SetExecutor(ExecutorKind executor) {
  std::lock_guard<std::mutex> lock(mu_);
  executor_ = executor;
  plans_.clear();
}

std::shared_ptr<const ThreadGovernor> Session::governor(StepId step) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (step.index < 0 || step.index >= static_cast<int>(steps_.size())) return nullptr;
  return governors_[governor_of_[step.index]];
}

int Session::NumPlanInstances(StepId step) const {
  std::lock_guard<std::mutex> lock(mu_);
  int n = 0;
  for (const auto& [key, instances] : plans_) {
    if (std::get<0>(key) == step.index) n += static_cast<int>(instances.size());
  }
  return n;
}

absl::StatusOr<std::unique_ptr<Plan>> Session::CompilePlan(const StepSpec& s, const Key& key,
                                                           bool shared_arena,
                                                           ExecutorKind executor) {
  const int64_t batch = std::get<1>(key);
  const int threads = std::get<2>(key);
  PlanSpec spec{.feeds = s.feeds, .fetches = s.fetches, .targets = s.targets};
  // Every feed with an unknown batch dimension takes `batch`; the others (scalars) their type.
  std::vector<TensorType> types;
  for (Value v : s.feeds) {
    const TensorType& t = graph_->type(v);
    const bool batched = t.shape.rank() > 0 && t.shape.dim(0) == Shape::kUnknownDim;
    types.push_back({t.dtype, batched ? t.shape.WithBatch(batch) : t.shape});
  }
  return Plan::Compile(*graph_, std::move(spec), std::move(types),
                       {.executor = executor,
                        .num_threads = threads,
                        .bf16 = bf16_,
                        .arena = shared_arena ? arena_ : nullptr});
}

absl::StatusOr<Session::Instance*> Session::Acquire(const Key& key,
                                                    std::unique_lock<std::mutex>& lock) {
  for (auto& inst : plans_[key]) {
    if (inst->busy || (inst->on_shared_arena && arena_busy_)) continue;
    inst->busy = true;
    if (inst->on_shared_arena) arena_busy_ = true;
    return inst.get();
  }
  // None free: another instance, on the shared arena when no run is using it (claimed before
  // compiling: compiling onto it re-points the views of the plans that live there).
  const bool shared = !arena_busy_;
  if (shared) arena_busy_ = true;
  const StepSpec spec = steps_[std::get<0>(key)];
  const ExecutorKind executor = executor_;
  lock.unlock();
  absl::StatusOr<std::unique_ptr<Plan>> plan = CompilePlan(spec, key, shared, executor);
  lock.lock();
  if (!plan.ok()) {
    if (shared) arena_busy_ = false;
    return plan.status();
  }
  auto inst = std::make_unique<Instance>();
  inst->plan = *std::move(plan);
  inst->on_shared_arena = shared;
  inst->busy = true;
  std::vector<std::unique_ptr<Instance>>& instances = plans_[key];
  instances.push_back(std::move(inst));
  return instances.back().get();
}

absl::StatusOr<Plan*> Session::GetPlan(StepId step, int64_t batch, int threads) {
  std::unique_lock<std::mutex> lock(mu_);
  if (step.index < 0 || step.index >= static_cast<int>(steps_.size())) {
    return absl::InvalidArgumentError(absl::StrCat("Session: no step ", step.index));
  }
  const Key key{step.index, batch, threads};
  auto it = plans_.find(key);
  if (it != plans_.end() && !it->second.empty()) return it->second.front()->plan.get();
  absl::StatusOr<Instance*> inst = Acquire(key, lock);
  if (!inst.ok()) return inst.status();
  (*inst)->busy = false;
  if ((*inst)->on_shared_arena) arena_busy_ = false;
  return (*inst)->plan.get();
}

absl::Status Session::Run(StepId step, const std::vector<Tensor>& feeds,
                          std::vector<Tensor>* fetched, bool timed) {
  Instance* inst = nullptr;
  std::shared_ptr<ThreadGovernor> gov;  // kept alive if the budget changes meanwhile
  int threads = 0;
  int64_t batch = 0;
  Unit* unit = nullptr;  // std::map: stays valid while the lock is released
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (step.index < 0 || step.index >= static_cast<int>(steps_.size())) {
      return absl::InvalidArgumentError(absl::StrCat("Session: no step ", step.index));
    }
    if (feeds.size() != steps_[step.index].feeds.size()) {
      return absl::InvalidArgumentError(absl::StrCat("Session: step ", step.index, " takes ",
                                                     steps_[step.index].feeds.size(),
                                                     " feeds, got ", feeds.size()));
    }
    std::shared_ptr<ThreadGovernor>& g = governors_[governor_of_[step.index]];
    if (!g || g->budget() != NumThreads()) {
      g = std::make_shared<ThreadGovernor>(NumThreads(), AdaptiveThreads());
    }
    gov = g;
    batch = feeds.empty() || feeds[0].shape().rank() == 0 ? 0 : feeds[0].shape().dim(0);
    auto u = units_.find(governor_of_[step.index]);
    unit = u == units_.end() ? nullptr : &u->second;
    threads = unit != nullptr && unit->threads > 0 ? unit->threads : gov->Choose();
    if (unit != nullptr) unit->threads = threads;
    absl::StatusOr<Instance*> acquired = Acquire({step.index, batch, threads}, lock);
    if (!acquired.ok()) return acquired.status();
    inst = *acquired;
  }
  const auto start = std::chrono::steady_clock::now();
  absl::Status s = inst->plan->Run(feeds, fetched);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::lock_guard<std::mutex> lock(mu_);
  if (unit != nullptr) {
    unit->seconds += seconds;
    unit->representative = unit->representative && s.ok() && inst->warm && timed;
  } else if (s.ok() && inst->warm && timed) {
    gov->Record(threads, seconds, batch);
  }
  inst->warm = true;
  inst->busy = false;
  if (inst->on_shared_arena) arena_busy_ = false;
  return s;
}

void Session::BeginUnit(StepId step) {
  std::lock_guard<std::mutex> lock(mu_);
  if (step.index < 0 || step.index >= static_cast<int>(steps_.size())) return;
  units_[governor_of_[step.index]] = Unit{};
}

void Session::EndUnit(StepId step, int64_t samples) {
  std::lock_guard<std::mutex> lock(mu_);
  if (step.index < 0 || step.index >= static_cast<int>(steps_.size())) return;
  const int g = governor_of_[step.index];
  auto u = units_.find(g);
  if (u == units_.end()) return;
  const Unit unit = u->second;
  units_.erase(u);
  const std::shared_ptr<ThreadGovernor>& gov = governors_[g];
  // A budget changed during the unit (a new governor) makes its thread count another's.
  const bool same_budget = gov && (unit.threads == 1 || unit.threads == gov->budget());
  if (same_budget && unit.representative && unit.seconds > 0 && samples > 0) {
    gov->Record(unit.threads, unit.seconds, samples);
  }
}

}  // namespace graft
