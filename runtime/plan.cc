#include "runtime/plan.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <new>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "graph/memory.h"
#include "runtime/executor.h"
#include "runtime/passes/passes.h"
#include "runtime/threads.h"

namespace graft {

absl::StatusOr<std::unique_ptr<Plan>> Plan::Compile(const Graph& graph, PlanSpec spec,
                                                    std::vector<TensorType> feed_types,
                                                    PlanOptions options) {
  if (feed_types.size() != spec.feeds.size()) {
    return absl::InvalidArgumentError("plan: one type per feed is needed");
  }
  auto plan = std::unique_ptr<Plan>(new Plan());
  plan->graph_ = &graph;
  if (options.num_threads <= 0) options.num_threads = CurrentThreads();
  plan->options_ = options;
  plan->spec_ = std::move(spec);
  plan->feed_types_ = std::move(feed_types);
  ScopedThreads threads(options.num_threads);  // kernels and packed forms are chosen for these

  // The passes (runtime/passes/passes.h).
  passes::CompileState state{graph, plan->spec_, options.kernels};
  if (absl::Status s = passes::Prune(state); !s.ok()) return s;
  if (absl::Status s = passes::InferTypes(state, plan->feed_types_); !s.ok()) return s;
  if (absl::Status s = passes::SelectKernels(state); !s.ok()) return s;
  passes::FuseElementwise(state);
  if (options.kernels == KernelKind::kFast && options.pack_variables) {
    if (absl::Status s = passes::ChoosePackedForms(state); !s.ok()) return s;
  }
  plan->types_ = std::move(state.types);
  plan->packed_ = std::move(state.packed);
  if (absl::Status s = plan->BindStorage(state); !s.ok()) return s;
  if (absl::Status s = passes::OrderSteps(plan->steps_, plan->step_of_); !s.ok()) return s;
  const passes::ArenaLayout layout =
      passes::PlaceInArena(plan->steps_, state.fused_into, plan->spec_.fetches, plan->types_,
                           [&](Value v) { return plan->StorageType(v); });
  plan->arena_offsets_ = layout.offsets;
  plan->arena_bytes_ = layout.arena_bytes;
  plan->allocated_bytes_ = layout.allocated_bytes;
  // Sizes are checked before anything is allocated: activations too large for this machine
  // are a RESOURCE_EXHAUSTED naming the largest value, not std::bad_alloc or an abort.
  if (absl::Status s = plan->CheckArenaSize(); !s.ok()) return s;
  if (options.arena != nullptr) {
    plan->shared_arena_ = options.arena;
    plan->shared_arena_->plans_.push_back(plan.get());
    // Re-points the other plans when it grows.
    if (absl::Status s = plan->shared_arena_->Reserve(plan->arena_bytes_); !s.ok()) return s;
    plan->arena_ = plan->shared_arena_->buffer();
  } else {
    try {
      plan->arena_ = Tensor::AllocateArena(static_cast<size_t>(plan->arena_bytes_));
    } catch (const std::bad_alloc&) {
      return absl::ResourceExhaustedError(
          absl::StrCat("plan: allocating its arena of ", plan->arena_bytes_, " bytes (",
                       HumanBytes(static_cast<uint64_t>(plan->arena_bytes_)),
                       ") failed (out of memory): use a smaller batch_size"));
    }
  }
  plan->CarveViews();
  return plan;
}

// Variables and constants are bound to their own tensors (a variable's packed copy when it is
// packed), feeds at run time; every other value gets a view into the arena (PlaceInArena). Then
// one step per node that runs, its kernel Init'ed with what the passes decided.
absl::Status Plan::BindStorage(passes::CompileState& state) {
  const Graph& graph = *graph_;
  const int n = graph.num_nodes();
  const auto& needed = state.needed;
  values_.resize(n);
  std::vector<bool> writes(n, false);  // variables some needed node updates in place
  for (int id = 0; id < n; ++id) {
    if (!needed[id]) continue;
    for (int i : graph.node(id).op->mutated_inputs) {
      if (i < static_cast<int>(graph.node(id).inputs.size())) {
        writes[graph.node(id).inputs[i].node] = true;
      }
    }
  }
  for (int id = 0; id < n; ++id) {
    if (!needed[id]) continue;
    const Node& node = graph.node(id);
    if (node.op->name == "graft.Variable") {
      const VariableAttrs& a = node.attrs_as<VariableAttrs>();
      const bool packed = packed_.contains(Value{id, 0});
      values_[id] = {packed ? a.home->packed() : a.value};
      if (a.home != nullptr) variables_.push_back({&node, a.home.get(), packed, writes[id]});
    } else if (node.op->name == "graft.Constant") {
      values_[id] = {node.attrs_as<ConstantAttrs>().value};
    } else {
      values_[id].resize(std::max<size_t>(types_[id].size(), 1));
    }
  }
  for (const Value& f : spec_.feeds) {
    if (values_[f.node].empty()) values_[f.node] = {Tensor()};
  }

  step_of_.assign(n, -1);
  for (int id = 0; id < n; ++id) {
    if (state.kernels[id] == nullptr || state.folded[id]) continue;
    const Node& node = graph.node(id);
    PlanStep step;
    step.node = &node;
    step.kernel = std::move(state.kernels[id]);
    std::vector<TensorType> in_types;
    for (const Value& v : node.inputs) {
      in_types.push_back(types_[v.node][v.index]);
      step.ctx.inputs.push_back(&values_[v.node][v.index]);
    }
    for (Tensor& t : values_[id]) step.ctx.outputs.push_back(&t);
    KernelInitContext init{node, in_types, types_[id], options_.num_threads, options_.bf16};
    for (const Value& v : node.inputs) {
      auto it = packed_.find(v);
      init.input_forms.push_back(it == packed_.end() ? nullptr : it->second.get());
    }
    for (size_t o = 0; o < types_[id].size(); ++o) {
      const Value v{id, static_cast<int>(o)};
      auto it = packed_.find(v);
      init.output_forms.push_back(it == packed_.end() ? nullptr : it->second.get());
      bool used = state.is_fetched(v);
      for (int r : state.readers[id]) {
        for (const Value& in : graph.node(r).inputs) used = used || in == v;
      }
      init.output_used.push_back(used);
    }
    if (const int a = state.fused_into[id]; a >= 0) {
      if (state.traits[a].is_relu_grad) {
        init.relu_mask = true;
      } else {
        init.post_ops.push_back(state.traits[a].as_post_op);
      }
      step.ctx.outputs[0] = &values_[a][0];
      step.fused = graph.node(a).op->name;
    }
    absl::Status s = step.kernel->Init(init);
    if (!s.ok()) {
      return absl::Status(s.code(),
                          absl::StrCat(node.name, " (", node.op->name, "): ", s.message()));
    }
    step_of_[id] = static_cast<int>(steps_.size());
    steps_.push_back(std::move(step));
  }
  // A folded node's readers wait for its producer.
  for (int id = 0; id < n; ++id) {
    if (state.fused_into[id] >= 0) step_of_[state.fused_into[id]] = step_of_[id];
  }
  return absl::OkStatus();
}

void Plan::CarveViews() {
  char* base = static_cast<char*>(arena_.get());
  for (const auto& [v, offset] : arena_offsets_) {
    const TensorType t = StorageType(v);
    values_[v.node][v.index] = Tensor::View(t.dtype, t.shape, base + offset, arena_);
  }
}

absl::Status SharedArena::Reserve(int64_t bytes) {
  if (buffer_ != nullptr && bytes <= bytes_) return absl::OkStatus();
  const int64_t previous = bytes_;
  bytes_ = std::max(bytes, bytes_);
  // Release the old buffer before touching the new one: plans drop their views first.
  for (Plan* p : plans_) p->arena_.reset();
  for (Plan* p : plans_) {
    for (const auto& [v, offset] : p->arena_offsets_) p->values_[v.node][v.index] = Tensor();
  }
  const bool had_buffer = buffer_ != nullptr;
  buffer_.reset();
  absl::Status status;
  try {
    buffer_ = Tensor::AllocateArena(static_cast<size_t>(bytes_));
  } catch (const std::bad_alloc&) {
    // The last resort (sizes are checked before): back to the old size, which was just freed.
    status = absl::ResourceExhaustedError(
        absl::StrCat("plan: growing the shared arena from ", previous, " to ", bytes_, " bytes (",
                     HumanBytes(static_cast<uint64_t>(bytes_)),
                     ") failed (out of memory): use a smaller batch_size"));
    bytes_ = previous;
    buffer_ = had_buffer ? Tensor::AllocateArena(static_cast<size_t>(bytes_)) : nullptr;
  }
  for (Plan* p : plans_) {
    if (!status.ok() && p->arena_bytes_ > bytes_) continue;  // the plan that asked: not carved
    p->arena_ = buffer_;
    if (buffer_ != nullptr) p->CarveViews();
  }
  return status;
}

absl::Status Plan::CheckArenaSize() const {
  // Checked again without overflow: PlaceInArena sums in int64.
  std::optional<uint64_t> peak = 0;
  Value largest{-1, 0};
  uint64_t largest_bytes = 0;
  for (const auto& [v, offset] : arena_offsets_) {
    std::optional<uint64_t> bytes = CheckedBytes(StorageType(v).dtype, StorageType(v).shape);
    std::optional<uint64_t> end =
        bytes && offset >= 0 && *bytes <= (uint64_t{1} << 62)
            ? std::optional<uint64_t>(static_cast<uint64_t>(offset) + *bytes)
            : std::nullopt;
    if (!bytes || !end) {
      peak = std::nullopt;
    } else if (peak && *end > *peak) {
      peak = *end;
    }
    const uint64_t b = bytes ? *bytes : ~uint64_t{0};
    if (largest.node < 0 || b > largest_bytes) {
      largest = v;
      largest_bytes = b;
    }
  }
  if (peak && arena_bytes_ >= 0 && static_cast<uint64_t>(arena_bytes_) > *peak) {
    peak = static_cast<uint64_t>(arena_bytes_);
  }
  if (arena_bytes_ < 0) peak = std::nullopt;
  std::string largest_text;
  if (largest.node >= 0) {
    const Node& node = graph_->node(largest.node);
    const TensorType t = StorageType(largest);
    largest_text =
        absl::StrCat("; the largest is ", node.name, " (", node.op->name, ") of shape ",
                     t.shape.ToString(), ", ",
                     largest_bytes == ~uint64_t{0} ? std::string("more than 2^63 bytes")
                                                   : absl::StrCat(largest_bytes, " bytes"));
  }
  std::string feeds;
  for (const TensorType& t : feed_types_) {
    if (t.shape.rank() > 0) {
      feeds = absl::StrCat(" (batch ", t.shape.dim(0), ")");
      break;
    }
  }
  return CheckAllocation(
      peak, absl::StrCat("plan", feeds, ": its planned peak of activations (arena)"),
      absl::StrCat("Fix: use a smaller batch_size, or smaller layers or inputs", largest_text));
}

Plan::~Plan() {
  if (shared_arena_ != nullptr) {
    auto& plans = shared_arena_->plans_;
    plans.erase(std::remove(plans.begin(), plans.end(), this), plans.end());
  }
}

const TensorType& Plan::type(Value v) const { return types_[v.node][v.index]; }

absl::Status Plan::Run(const std::vector<Tensor>& feeds, std::vector<Tensor>* fetched) {
  if (feeds.size() != spec_.feeds.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("plan: expected ", spec_.feeds.size(), " feeds, got ", feeds.size()));
  }
  for (size_t i = 0; i < feeds.size(); ++i) {
    if (feeds[i].type() != feed_types_[i]) {
      return absl::InvalidArgumentError(
          absl::StrCat("plan: feed ", graph_->node(spec_.feeds[i]).name, " expected ",
                       feed_types_[i].ToString(), ", got ", feeds[i].type().ToString()));
    }
    values_[spec_.feeds[i].node][0] = feeds[i];
  }
  // From here on the plan's thread count: packing a variable (oneDNN reorders) included. A
  // chunked train step's finish plan writes the logical weights and the next accumulate plan
  // packs them; on the budget's 2-thread team under contention that pack waited for the busy
  // core each batch (M3 at batch 256: 0.83-0.86x of 1 thread).
  ScopedThreads threads(options_.num_threads);
  for (const VariableBinding& b : variables_) {
    absl::Status s =
        b.packed ? b.home->PreparePacked(b.written) : b.home->PrepareLogical(b.written);
    if (!s.ok()) return s;
  }
  absl::Status s = options_.executor == ExecutorKind::kTbb ? RunTbb(steps_) : RunSequential(steps_);
  if (!s.ok()) return s;
  if (fetched != nullptr) {
    // Into the caller's tensors when they fit and nobody else holds them (a loop that passes
    // the same vector each time allocates nothing); else into new ones.
    fetched->resize(spec_.fetches.size());
    for (size_t k = 0; k < spec_.fetches.size(); ++k) {
      const Tensor& v = values_[spec_.fetches[k].node][spec_.fetches[k].index];
      Tensor& f = (*fetched)[k];
      if (f.SoleOwner() && f.dtype() == v.dtype() && f.shape() == v.shape()) {
        std::memcpy(f.raw_data(), v.raw_data(), v.nbytes());
      } else {
        f = v.Clone();
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Plan::Profile(const std::vector<Tensor>& feeds, int iterations) {
  if (absl::Status s = Run(feeds, nullptr); !s.ok()) return s;  // binds the feeds, warms up
  ScopedThreads threads(options_.num_threads);
  std::vector<double> seconds(steps_.size(), 0.0);
  for (int it = 0; it < iterations; ++it) {
    for (size_t k = 0; k < steps_.size(); ++k) {
      const auto start = std::chrono::steady_clock::now();
      if (absl::Status s = steps_[k].kernel->Run(steps_[k].ctx); !s.ok()) return s;
      seconds[k] += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
  }
  double total = 0;
  for (double t : seconds) total += t;
  std::vector<size_t> order(steps_.size());
  for (size_t k = 0; k < order.size(); ++k) order[k] = k;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return seconds[a] > seconds[b]; });
  std::string out = absl::StrFormat("%-48s %-34s %10s %6s\n", "step", "op", "us", "share");
  for (size_t k : order) {
    const PlanStep& st = steps_[k];
    absl::StrAppend(
        &out,
        absl::StrFormat("%-48s %-34s %10.1f %5.1f%%\n", st.node->name,
                        absl::StrCat(st.node->op->name, st.fused.empty() ? "" : "+" + st.fused),
                        seconds[k] / iterations * 1e6, 100 * seconds[k] / std::max(total, 1e-12)));
  }
  absl::StrAppend(&out,
                  absl::StrFormat("%-48s %-34s %10.1f\n", "total", "", total / iterations * 1e6));
  return out;
}

std::string Plan::Report() const {
  std::string out;
  for (const PlanStep& s : steps_) {
    absl::StrAppend(&out, s.node->name, " ", s.node->op->name,
                    s.fused.empty() ? "" : absl::StrCat(" +", s.fused),
                    !s.kernel->Variant().empty()
                        ? absl::StrCat(" [onednn ", s.kernel->Variant(), "]")
                        : std::string(s.kernel->UsesOneDnn() ? " [onednn]" : " [loops]"));
    for (const TensorType& t : types_[s.node->id]) absl::StrAppend(&out, " ", t.ToString());
    absl::StrAppend(&out, "\n");
  }
  absl::StrAppend(&out, "planned peak (arena) bytes: ", arena_bytes_,
                  " (one buffer per value: ", allocated_bytes_, ")\n");
  for (const VariableBinding& b : variables_) {
    if (b.packed) {
      absl::StrAppend(&out, "packed: ", b.node->name, " as ", b.home->form()->ToString(), "\n");
    }
  }
  return out;
}

std::vector<std::string> Plan::PackedVariables() const {
  std::vector<std::string> names;
  for (const VariableBinding& b : variables_) {
    if (b.packed) names.push_back(b.node->name);
  }
  return names;
}

TensorType Plan::StorageType(Value v) const {
  auto it = packed_.find(v);
  if (it == packed_.end()) return types_[v.node][v.index];
  return TensorType{types_[v.node][v.index].dtype, Shape{it->second->packed_elements()}};
}

}  // namespace graft
