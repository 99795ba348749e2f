#include "runtime/plan.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <optional>
#include <queue>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "runtime/executor.h"
#include "runtime/memory_planner.h"
#include "runtime/threads.h"

namespace graft {
namespace {

bool IsSource(const Node& n) {
  const std::string& op = n.op->name;
  return op == "graft.Placeholder" || op == "graft.Variable" || op == "graft.Constant";
}

// The dtype that selects a node's kernel: its first input's, or its first output's.
DType KernelDType(const Node& n, const std::vector<std::vector<TensorType>>& types) {
  if (!n.inputs.empty()) return types[n.inputs[0].node][n.inputs[0].index].dtype;
  return types[n.id].empty() ? DType::kF32 : types[n.id][0].dtype;
}

bool IsFetched(const PlanSpec& spec, Value v) {
  return std::find(spec.fetches.begin(), spec.fetches.end(), v) != spec.fetches.end();
}

// Whether node `reader` is the only needed node reading value `v`.
bool SoleReader(const Graph& graph, const std::vector<std::vector<int>>& readers, Value v,
                int reader) {
  for (int r : readers[v.node]) {
    for (const Value& in : graph.node(r).inputs) {
      if (in == v && r != reader) return false;
    }
  }
  return true;
}

}  // namespace

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
  ScopedThreads threads(options.num_threads);
  plan->feed_types_ = feed_types;
  const int n = graph.num_nodes();

  // 1. Which nodes are needed: everything the fetches and targets reach.
  std::vector<bool> needed(n, false);
  std::vector<int> stack;
  for (const Value& v : spec.fetches) stack.push_back(v.node);
  for (int t : spec.targets) stack.push_back(t);
  while (!stack.empty()) {
    int id = stack.back();
    stack.pop_back();
    if (needed[id]) continue;
    needed[id] = true;
    for (const Value& in : graph.node(id).inputs) stack.push_back(in.node);
  }
  for (size_t i = 0; i < spec.feeds.size(); ++i) {
    if (!graph.IsPlaceholder(spec.feeds[i])) {
      return absl::InvalidArgumentError(absl::StrCat(
          "plan: feed ", i, " (", graph.node(spec.feeds[i]).name, ") is not a placeholder"));
    }
  }

  // 2. Concrete types, in node order (a topological order).
  plan->types_.resize(n);
  plan->values_.resize(n);
  for (int id = 0; id < n; ++id) {
    if (!needed[id]) continue;
    const Node& node = graph.node(id);
    if (node.op->name == "graft.Placeholder") {
      auto it = std::find(spec.feeds.begin(), spec.feeds.end(), Value{id, 0});
      if (it == spec.feeds.end()) {
        return absl::InvalidArgumentError(
            absl::StrCat("plan: placeholder ", node.name, " is needed but not fed"));
      }
      plan->types_[id] = {feed_types[it - spec.feeds.begin()]};
      continue;
    }
    if (IsSource(node)) {
      plan->types_[id] = node.outputs;
      continue;
    }
    std::vector<TensorType> in;
    for (const Value& v : node.inputs) in.push_back(plan->types_[v.node][v.index]);
    ShapeContext ctx{in, node.name, node.op->name};
    absl::StatusOr<std::vector<TensorType>> out = node.op->shape(ctx, node.attrs);
    if (!out.ok()) return out.status();
    plan->types_[id] = *std::move(out);
  }

  // 3. Fusion (fast kernels only): an elementwise op with a oneDNN post-op form whose input is
  //    the sole use of output 0 of an op that accepts post-ops runs inside that op's
  //    primitive, and ReLU's backward runs inside an op that can mask (AcceptsReluMask). The
  //    producer writes straight into the folded op's output.
  std::vector<std::vector<int>> readers(n);  // needed nodes reading each node (any output)
  for (int id = 0; id < n; ++id) {
    if (!needed[id]) continue;
    for (const Value& v : graph.node(id).inputs) readers[v.node].push_back(id);
  }
  auto is_fetched = [&](Value v) { return IsFetched(spec, v); };
  std::vector<int> fused_into(n, -1);  // producer -> the elementwise node folded into it
  std::vector<bool> folded(n, false);  // elementwise nodes that have no step of their own
  if (options.kernels == KernelKind::kFast) {
    for (int id = 0; id < n; ++id) {
      const Node& a = graph.node(id);
      if (!needed[id] || a.inputs.empty()) continue;
      const Value in = a.inputs[0];
      const Node& p = graph.node(in.node);
      // An elementwise op with a post-op form after an op that accepts post-ops; or ReLU's
      // backward (dy, y) after an op that can mask with the same y (max pooling's backward
      // reads the pooled ReLU output): one pass over the data less.
      const int mask = p.op->relu_mask_input;
      const bool post_op =
          a.op->post_op.algorithm != 0 && a.inputs.size() == 1 && p.op->accepts_post_ops;
      const bool relu_mask = a.op->is_relu_grad && a.inputs.size() == 2 && mask >= 0 &&
                             mask < static_cast<int>(p.inputs.size()) &&
                             p.inputs[mask] == a.inputs[1];
      if (!post_op && !relu_mask) continue;
      if (in.index != 0 || fused_into[in.node] >= 0 || is_fetched(in)) continue;
      if (plan->types_[in.node][0].dtype != DType::kF32) continue;
      if (!SoleReader(graph, readers, in, id)) continue;
      fused_into[in.node] = id;
      folded[id] = true;
    }
  }

  // 3b. Packed variables (fast kernels): see ChoosePackedForms (which reads the spec).
  plan->spec_ = spec;
  if (options.kernels == KernelKind::kFast && options.pack_variables) {
    if (absl::Status s = plan->ChoosePackedForms(needed, readers); !s.ok()) return s;
  }

  // 4. Storage: variables and constants are bound to their own tensors (a variable's packed
  //    copy when it is packed), feeds at run time; every other value gets a view into one
  //    arena, placed in step 8.
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
      const bool packed = plan->packed_.contains(Value{id, 0});
      plan->values_[id] = {packed ? a.home->packed() : a.value};
      if (a.home != nullptr) plan->variables_.push_back({&node, a.home.get(), packed, writes[id]});
    } else if (node.op->name == "graft.Constant") {
      plan->values_[id] = {node.attrs_as<ConstantAttrs>().value};
    } else {
      plan->values_[id].resize(std::max<size_t>(plan->types_[id].size(), 1));
    }
  }
  for (const Value& f : spec.feeds) {
    if (plan->values_[f.node].empty()) plan->values_[f.node] = {Tensor()};
  }

  // 5. Steps and kernels.
  std::vector<int> step_of(n, -1);
  for (int id = 0; id < n; ++id) {
    if (!needed[id] || IsSource(graph.node(id)) || folded[id]) continue;
    const Node& node = graph.node(id);
    DType dtype = KernelDType(node, plan->types_);
    const KernelFactory* factory = node.op->FindKernel(dtype, options.kernels);
    if (factory == nullptr) {
      return absl::UnimplementedError(
          absl::StrCat(node.name, " (", node.op->name, "): no kernel for ", DTypeName(dtype)));
    }
    PlanStep step;
    step.node = &node;
    step.kernel = (*factory)();
    std::vector<TensorType> in_types;
    for (const Value& v : node.inputs) {
      in_types.push_back(plan->types_[v.node][v.index]);
      step.ctx.inputs.push_back(&plan->values_[v.node][v.index]);
    }
    for (Tensor& t : plan->values_[id]) step.ctx.outputs.push_back(&t);
    KernelInitContext init{node, in_types, plan->types_[id], options.num_threads};
    for (const Value& v : node.inputs) {
      auto it = plan->packed_.find(v);
      init.input_forms.push_back(it == plan->packed_.end() ? nullptr : it->second.get());
    }
    for (size_t o = 0; o < plan->types_[id].size(); ++o) {
      auto it = plan->packed_.find(Value{id, static_cast<int>(o)});
      init.output_forms.push_back(it == plan->packed_.end() ? nullptr : it->second.get());
    }
    for (size_t o = 0; o < plan->types_[id].size(); ++o) {
      const Value v{id, static_cast<int>(o)};
      bool used = is_fetched(v);
      for (int r : readers[id]) {
        for (const Value& in : graph.node(r).inputs) used = used || in == v;
      }
      init.output_used.push_back(used);
    }
    if (fused_into[id] >= 0) {
      const int a = fused_into[id];
      if (graph.node(a).op->is_relu_grad) {
        init.relu_mask = true;
      } else {
        init.post_ops.push_back(graph.node(a).op->post_op);
      }
      step.ctx.outputs[0] = &plan->values_[a][0];
      step.fused = graph.node(a).op->name;
    }
    absl::Status s = step.kernel->Init(init);
    if (!s.ok()) {
      return absl::Status(s.code(),
                          absl::StrCat(node.name, " (", node.op->name, "): ", s.message()));
    }
    step_of[id] = static_cast<int>(plan->steps_.size());
    plan->steps_.push_back(std::move(step));
  }
  // A folded node's readers wait for its producer.
  for (int id = 0; id < n; ++id) {
    if (fused_into[id] >= 0) step_of[fused_into[id]] = step_of[id];
  }

  // 6. Dependencies: data edges, plus "every reader of a variable runs before the step that
  //    updates it in place".
  auto add_edge = [&](int from, int to) {
    if (from < 0 || to < 0 || from == to) return;
    auto& succ = plan->steps_[from].successors;
    if (std::find(succ.begin(), succ.end(), to) != succ.end()) return;
    succ.push_back(to);
    plan->steps_[to].num_predecessors++;
  };
  for (PlanStep& step : plan->steps_) {
    int me = step_of[step.node->id];
    for (const Value& v : step.node->inputs) add_edge(step_of[v.node], me);
  }
  for (PlanStep& step : plan->steps_) {
    int writer = step_of[step.node->id];
    for (int i : step.node->op->mutated_inputs) {
      if (i >= static_cast<int>(step.node->inputs.size())) continue;
      Value mutated = step.node->inputs[i];
      for (const PlanStep& other : plan->steps_) {
        if (&other == &step) continue;
        for (const Value& v : other.node->inputs) {
          if (v == mutated) add_edge(step_of[other.node->id], writer);
        }
      }
    }
  }

  // 7. Order the steps so that every edge points forward, for the sequential executor: node ids
  //    order the data edges, but an update added before a reader of its variable must move
  //    after that reader. Kahn's algorithm taking the lowest ready index keeps node order
  //    wherever the edges allow it.
  {
    const int m = static_cast<int>(plan->steps_.size());
    std::vector<int> pending(m), order;
    std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
    for (int i = 0; i < m; ++i) {
      pending[i] = plan->steps_[i].num_predecessors;
      if (pending[i] == 0) ready.push(i);
    }
    while (!ready.empty()) {
      const int i = ready.top();
      ready.pop();
      order.push_back(i);
      for (int j : plan->steps_[i].successors) {
        if (--pending[j] == 0) ready.push(j);
      }
    }
    if (static_cast<int>(order.size()) != m) {
      return absl::InvalidArgumentError(
          "plan: a node that reads a variable depends on the in-place update of that variable");
    }
    std::vector<int> new_index(m);
    for (int k = 0; k < m; ++k) new_index[order[k]] = k;
    std::vector<PlanStep> sorted;
    sorted.reserve(m);
    for (int k = 0; k < m; ++k) {
      sorted.push_back(std::move(plan->steps_[order[k]]));
      for (int& succ : sorted.back().successors) succ = new_index[succ];
    }
    plan->steps_ = std::move(sorted);
    for (int id = 0; id < n; ++id) {
      if (step_of[id] >= 0) step_of[id] = new_index[step_of[id]];
    }
  }

  // 8. Memory: one arena. Each value written by a step is live from that step to its last
  //    reader (to the end when fetched). Values an op declares as aliases of an input, or as
  //    writable over an input nothing reads afterwards, share that input's buffer.
  if (absl::Status s = plan->PlaceInArena(fused_into); !s.ok()) return s;
  return plan;
}

absl::Status Plan::PlaceInArena(const std::vector<int>& fused_into) {
  const int m = static_cast<int>(steps_.size());
  // Buffers: union-find over the values written by steps.
  struct Slot {
    Value value;
    int parent;
    int first, last;
    int64_t bytes;
  };
  std::vector<Slot> slots;
  absl::flat_hash_map<Value, int> slot_of;
  auto find = [&](int i) {
    while (slots[i].parent != i) i = slots[i].parent = slots[slots[i].parent].parent;
    return i;
  };
  for (int k = 0; k < m; ++k) {
    const Node& node = *steps_[k].node;
    for (size_t o = 0; o < types_[node.id].size(); ++o) {
      const Value v{node.id, static_cast<int>(o)};
      if (o == 0 && fused_into[node.id] >= 0) continue;  // written into the folded op's output
      const TensorType t = StorageType(v);
      slot_of[v] = static_cast<int>(slots.size());
      slots.push_back({v, static_cast<int>(slots.size()), k, k,
                       t.shape.num_elements() * static_cast<int64_t>(SizeOf(t.dtype))});
    }
    if (fused_into[node.id] >= 0) {  // the folded op's output is written by this step
      const Value v{fused_into[node.id], 0};
      const TensorType& t = types_[v.node][0];
      slot_of[v] = static_cast<int>(slots.size());
      slots.push_back({v, static_cast<int>(slots.size()), k, k,
                       t.shape.num_elements() * static_cast<int64_t>(SizeOf(t.dtype))});
    }
  }
  // Last readers.
  for (int k = 0; k < m; ++k) {
    for (const Value& v : steps_[k].node->inputs) {
      auto it = slot_of.find(v);
      if (it != slot_of.end()) slots[it->second].last = std::max(slots[it->second].last, k);
    }
  }
  for (const Value& v : spec_.fetches) {
    auto it = slot_of.find(v);
    if (it != slot_of.end()) slots[it->second].last = m;
  }
  // Each value's own writer, readers and end, before buffers merge.
  struct Own {
    int def, last;
    std::vector<int> readers;
  };
  std::vector<Own> own(slots.size());
  for (size_t i = 0; i < slots.size(); ++i) own[i] = {slots[i].first, slots[i].last, {}};
  for (int k = 0; k < m; ++k) {
    for (const Value& v : steps_[k].node->inputs) {
      auto it = slot_of.find(v);
      if (it != slot_of.end()) own[it->second].readers.push_back(k);
    }
  }
  // Sharing, in step order: a buffer's lifetime is the union of its values'.
  auto merge = [&](int into, int from) {
    const int a = find(into), b = find(from);
    if (a == b) return;
    slots[b].parent = a;
    slots[a].first = std::min(slots[a].first, slots[b].first);
    slots[a].last = std::max(slots[a].last, slots[b].last);
  };
  for (int k = 0; k < m; ++k) {
    const Node& node = *steps_[k].node;
    auto share = [&](int out, int in, bool only_if_dead) {
      if (in >= static_cast<int>(node.inputs.size())) return;
      auto src = slot_of.find(node.inputs[in]);
      auto dst = slot_of.find(Value{node.id, out});
      if (src == slot_of.end() || dst == slot_of.end()) return;
      if (slots[src->second].bytes != slots[dst->second].bytes) return;
      if (find(dst->second) != dst->second) return;  // already shares a buffer
      if (only_if_dead && slots[find(src->second)].last != k) return;
      merge(src->second, dst->second);
    };
    for (const auto& [out, in] : node.op->aliases) share(out, in, false);
    for (const auto& [out, in] : node.op->in_place) share(out, in, true);
  }
  // Place the buffers and carve the views.
  std::vector<int> roots;
  std::vector<BufferRequest> requests;
  for (int i = 0; i < static_cast<int>(slots.size()); ++i) {
    if (find(i) != i) continue;
    roots.push_back(i);
    requests.push_back({slots[i].bytes, slots[i].first, slots[i].last});
  }
  const MemoryPlan memory = PlanMemory(requests);
  arena_bytes_ = memory.arena_bytes;
  allocated_bytes_ = 0;  // one aligned allocation per value, without any sharing
  for (const Slot& slot : slots) allocated_bytes_ += (slot.bytes + 63) / 64 * 64;
  std::vector<int64_t> offset(slots.size(), 0);
  for (size_t r = 0; r < roots.size(); ++r) offset[roots[r]] = memory.offsets[r];
  for (int i = 0; i < static_cast<int>(slots.size()); ++i) {
    arena_offsets_.emplace_back(slots[i].value, offset[find(i)]);
  }
  if (options_.arena != nullptr) {
    shared_arena_ = options_.arena;
    shared_arena_->plans_.push_back(this);
    shared_arena_->Reserve(arena_bytes_);  // re-points the other plans when it grows
    arena_ = shared_arena_->buffer();
  } else {
    arena_ = Tensor::AllocateArena(static_cast<size_t>(arena_bytes_));
  }
  CarveViews();

  // Reuse is planned on the sequential order; make it hold for any order the TBB executor may
  // pick: when two values' bytes overlap and one's life ends before the other's begins, the
  // later value's writer waits for the earlier value's writer and readers.
  auto add_edge = [&](int from, int to) {
    if (from >= to) return;  // steps are in topological order: only forward edges matter
    auto& succ = steps_[from].successors;
    if (std::find(succ.begin(), succ.end(), to) != succ.end()) return;
    succ.push_back(to);
    steps_[to].num_predecessors++;
  };
  const int count = static_cast<int>(slots.size());
  for (int i = 0; i < count; ++i) {
    const int64_t bi = offset[find(i)], ei = bi + slots[i].bytes;
    for (int j = 0; j < count; ++j) {
      if (i == j || own[i].last > own[j].def) continue;  // i must end before j is written
      const int64_t bj = offset[find(j)], ej = bj + slots[j].bytes;
      if (bi >= ej || bj >= ei) continue;  // no shared bytes
      add_edge(own[i].def, own[j].def);
      for (int r : own[i].readers) add_edge(r, own[j].def);
    }
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

void SharedArena::Reserve(int64_t bytes) {
  if (buffer_ != nullptr && bytes <= bytes_) return;
  bytes_ = std::max(bytes, bytes_);
  // Release the old buffer before touching the new one: plans drop their views first.
  for (Plan* p : plans_) p->arena_.reset();
  for (Plan* p : plans_) {
    for (const auto& [v, offset] : p->arena_offsets_) p->values_[v.node][v.index] = Tensor();
  }
  buffer_.reset();
  buffer_ = Tensor::AllocateArena(static_cast<size_t>(bytes_));
  for (Plan* p : plans_) {
    p->arena_ = buffer_;
    p->CarveViews();
  }
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
  for (const VariableBinding& b : variables_) {
    absl::Status s =
        b.packed ? b.home->PreparePacked(b.written) : b.home->PrepareLogical(b.written);
    if (!s.ok()) return s;
  }
  ScopedThreads threads(options_.num_threads);
  absl::Status s = options_.executor == ExecutorKind::kTbb ? RunTbb(steps_) : RunSequential(steps_);
  if (!s.ok()) return s;
  if (fetched != nullptr) {
    fetched->clear();
    for (const Value& v : spec_.fetches) fetched->push_back(values_[v.node][v.index].Clone());
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
                    s.kernel->UsesOneDnn() ? " [onednn]" : " [loops]");
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

// A variable stays packed when every step that reads it either takes it in a packed form (a
// convolution's weights) or is the one elementwise update of it (an optimizer step) whose other
// per-element operands are variables nothing else reads (the optimizer's slots) and a gradient
// nothing else reads, written by an op that can write the packed form. The form is the one the
// variable already has (an earlier plan chose it), else the one the first packed reader prefers.
// Anything else (a fetched value, a second reader, a reference kernel) keeps the logical layout.
absl::Status Plan::ChoosePackedForms(const std::vector<bool>& needed,
                                     const std::vector<std::vector<int>>& readers) {
  const Graph& graph = *graph_;
  auto is_fetched = [&](Value v) { return IsFetched(spec_, v); };
  auto home_of = [&](int id) -> VariableHome* {
    const Node& node = graph.node(id);
    if (node.op->name != "graft.Variable") return nullptr;
    return node.attrs_as<VariableAttrs>().home.get();
  };
  for (int id = 0; id < graph.num_nodes(); ++id) {
    VariableHome* home = home_of(id);
    const Value var{id, 0};
    if (!needed[id] || home == nullptr || is_fetched(var)) continue;
    if (types_[id][0].dtype != DType::kF32) continue;
    const Shape& shape = types_[id][0].shape;
    int packer = -1, packer_input = -1, updater = -1;
    std::vector<int> slots;
    std::optional<Value> grad;
    bool ok = true;
    for (int r : readers[id]) {
      const Node& rn = graph.node(r);
      for (int i = 0; ok && i < static_cast<int>(rn.inputs.size()); ++i) {
        if (rn.inputs[i] != var) continue;
        if (rn.op->packed_inputs.count(i) > 0) {
          if (packer < 0) packer = r, packer_input = i;
          continue;
        }
        const auto& mutated = rn.op->mutated_inputs;
        if (!rn.op->elementwise_over_layout || updater >= 0 ||
            std::find(mutated.begin(), mutated.end(), i) == mutated.end()) {
          ok = false;
          continue;
        }
        updater = r;
        for (int j = 0; ok && j < static_cast<int>(rn.inputs.size()); ++j) {
          const Value u = rn.inputs[j];
          if (j == i || types_[u.node][u.index].shape != shape) continue;  // scalars
          const Node& un = graph.node(u.node);
          if (is_fetched(u) || !SoleReader(graph, readers, u, r) ||
              types_[u.node][u.index].dtype != DType::kF32) {
            ok = false;
          } else if (home_of(u.node) != nullptr) {
            slots.push_back(u.node);
          } else if (!grad.has_value() &&
                     std::find(un.op->packed_outputs.begin(), un.op->packed_outputs.end(),
                               u.index) != un.op->packed_outputs.end()) {
            grad = u;
          } else {
            ok = false;
          }
        }
      }
    }
    if (!ok || packer < 0) continue;
    std::shared_ptr<const PackedForm> form = home->form();
    if (form == nullptr) {
      const Node& pn = graph.node(packer);
      std::vector<TensorType> in_types;
      for (const Value& v : pn.inputs) in_types.push_back(types_[v.node][v.index]);
      absl::StatusOr<std::shared_ptr<const PackedForm>> preferred =
          pn.op->packed_inputs.at(packer_input)(pn, in_types);
      if (!preferred.ok()) {
        return absl::Status(preferred.status().code(),
                            absl::StrCat(pn.name, " (", pn.op->name,
                                         "): packing weights: ", preferred.status().message()));
      }
      if (*preferred == nullptr) continue;  // the logical layout is already the preferred one
      form = *std::move(preferred);
    }
    // An update over padding (g / (sqrt(v) + eps) with eps = 0 is 0/0 there) could turn the
    // zeros a primitive relies on into NaN: variables updated in place are packed only into
    // forms without padding.
    if (updater >= 0 && form->packed_elements() != shape.num_elements()) continue;
    bool slots_agree = true;
    for (int slot : slots) {
      const auto& f = home_of(slot)->form();
      slots_agree = slots_agree && (f == nullptr || f->Equals(*form));
    }
    if (!slots_agree) continue;
    slots.push_back(id);
    for (int slot : slots) {
      if (absl::Status s = home_of(slot)->SetForm(form); !s.ok()) return s;
      packed_[Value{slot, 0}] = form;
    }
    if (grad.has_value()) packed_[*grad] = form;
  }
  return absl::OkStatus();
}

}  // namespace graft
