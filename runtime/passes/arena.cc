// PlaceInArena: every intermediate value of a plan in one arena, reused as lifetimes allow.
#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "runtime/memory_planner.h"
#include "runtime/passes/passes.h"

namespace graft::passes {

ArenaLayout PlaceInArena(std::vector<PlanStep>& steps, const std::vector<int>& fused_into,
                         const std::vector<Value>& fetches,
                         const std::vector<std::vector<TensorType>>& types,
                         const std::function<TensorType(Value)>& storage) {
  const int m = static_cast<int>(steps.size());
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
  auto add_slot = [&](Value v, int k) {
    const TensorType t = storage(v);
    slot_of[v] = static_cast<int>(slots.size());
    slots.push_back({v, static_cast<int>(slots.size()), k, k,
                     t.shape.num_elements() * static_cast<int64_t>(SizeOf(t.dtype))});
  };
  for (int k = 0; k < m; ++k) {
    const Node& node = *steps[k].node;
    for (size_t o = 0; o < types[node.id].size(); ++o) {
      if (o == 0 && fused_into[node.id] >= 0) continue;  // written into the folded op's output
      add_slot(Value{node.id, static_cast<int>(o)}, k);
    }
    if (fused_into[node.id] >= 0) add_slot(Value{fused_into[node.id], 0}, k);
  }
  // Last readers.
  for (int k = 0; k < m; ++k) {
    for (const Value& v : steps[k].node->inputs) {
      auto it = slot_of.find(v);
      if (it != slot_of.end()) slots[it->second].last = std::max(slots[it->second].last, k);
    }
  }
  for (const Value& v : fetches) {
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
    for (const Value& v : steps[k].node->inputs) {
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
    const Node& node = *steps[k].node;
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
  // Place the buffers.
  std::vector<int> roots;
  std::vector<BufferRequest> requests;
  for (int i = 0; i < static_cast<int>(slots.size()); ++i) {
    if (find(i) != i) continue;
    roots.push_back(i);
    requests.push_back({slots[i].bytes, slots[i].first, slots[i].last});
  }
  const MemoryPlan memory = PlanMemory(requests);
  ArenaLayout layout;
  layout.arena_bytes = memory.arena_bytes;
  for (const Slot& slot : slots) layout.allocated_bytes += (slot.bytes + 63) / 64 * 64;
  std::vector<int64_t> offset(slots.size(), 0);
  for (size_t r = 0; r < roots.size(); ++r) offset[roots[r]] = memory.offsets[r];
  for (int i = 0; i < static_cast<int>(slots.size()); ++i) {
    layout.offsets.emplace_back(slots[i].value, offset[find(i)]);
  }

  // Reuse is planned on the sequential order; make it hold for any order the TBB executor may
  // pick: when two values' bytes overlap and one's life ends before the other's begins, the
  // later value's writer waits for the earlier value's writer and readers.
  auto add_edge = [&](int from, int to) {
    if (from >= to) return;  // steps are in topological order: only forward edges matter
    auto& succ = steps[from].successors;
    if (std::find(succ.begin(), succ.end(), to) != succ.end()) return;
    succ.push_back(to);
    steps[to].num_predecessors++;
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
  return layout;
}

}  // namespace graft::passes
