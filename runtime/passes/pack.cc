// ChoosePackedForms: which variables (and the gradients that update them) a plan keeps in the
// packed layout their kernels prefer across steps, instead of reordering them every step.
//
// A variable stays packed when every step that reads it either takes it in a packed form (a
// convolution's weights) or is the one elementwise update of it (an optimizer step) whose other
// per-element operands are variables nothing else reads (the optimizer's slots) and a gradient
// nothing else reads, written by a kernel that can write the packed form. The form is the one the
// variable already has (an earlier plan chose it), else the one the first packed reader prefers.
// Anything else (a fetched value, a second reader, a reference kernel) keeps the logical layout.
#include <algorithm>
#include <optional>

#include "absl/strings/str_cat.h"
#include "runtime/passes/passes.h"

namespace graft::passes {
namespace {

VariableHome* HomeOf(const Graph& graph, int id) {
  const Node& node = graph.node(id);
  if (node.op->name != "graft.Variable") return nullptr;
  return node.attrs_as<VariableAttrs>().home.get();
}

bool Contains(const std::vector<int>& v, int x) { return std::find(v.begin(), v.end(), x) != v.end(); }

// The values from the operand `u` of an update back to the output of a kernel that can write
// the packed form (a weight gradient), through steps that pass the bytes on as a flat array (a
// gradient allreduce) and that nothing else reads; nullopt when there is no such kernel.
std::optional<std::vector<Value>> GradientChain(const CompileState& s, Value u) {
  std::vector<Value> chain;
  while (s.traits[u.node].layout_passthrough && u.index == 0) {
    const Value in = s.graph.node(u.node).inputs[0];
    if (s.is_fetched(in) || !s.SoleReader(in, u.node)) return std::nullopt;
    chain.push_back(in);
    u = in;
  }
  if (!Contains(s.traits[u.node].packed_outputs, u.index)) return std::nullopt;
  return chain;
}

}  // namespace

absl::Status ChoosePackedForms(CompileState& s) {
  const Graph& graph = s.graph;
  for (int id = 0; id < graph.num_nodes(); ++id) {
    VariableHome* home = HomeOf(graph, id);
    const Value var{id, 0};
    if (!s.needed[id] || home == nullptr || s.is_fetched(var)) continue;
    if (s.types[id][0].dtype != DType::kF32) continue;
    const Shape& shape = s.types[id][0].shape;
    int packer = -1, packer_input = -1, updater = -1;
    std::vector<int> slots;
    std::optional<Value> grad;
    std::vector<Value> grad_chain;  // the gradient's producer's output and the pass-throughs
    bool ok = true;
    for (int r : s.readers[id]) {
      const Node& rn = graph.node(r);
      const KernelTraits& rt = s.traits[r];
      for (int i = 0; ok && i < static_cast<int>(rn.inputs.size()); ++i) {
        if (rn.inputs[i] != var) continue;
        if (rt.packed_inputs.count(i) > 0) {
          if (packer < 0) packer = r, packer_input = i;
          continue;
        }
        if (!rt.elementwise_over_layout || updater >= 0 || !Contains(rn.op->mutated_inputs, i)) {
          ok = false;
          continue;
        }
        updater = r;
        for (int j = 0; ok && j < static_cast<int>(rn.inputs.size()); ++j) {
          const Value u = rn.inputs[j];
          const TensorType& ut = s.types[u.node][u.index];
          if (j == i || ut.shape != shape) continue;  // scalars
          if (s.is_fetched(u) || !s.SoleReader(u, r) || ut.dtype != DType::kF32) {
            ok = false;
          } else if (HomeOf(graph, u.node) != nullptr) {
            slots.push_back(u.node);
          } else if (std::optional<std::vector<Value>> chain = GradientChain(s, u);
                     !grad.has_value() && chain.has_value()) {
            grad = u;
            grad_chain = *std::move(chain);
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
      for (const Value& v : pn.inputs) in_types.push_back(s.types[v.node][v.index]);
      absl::StatusOr<std::shared_ptr<const PackedForm>> preferred =
          s.traits[packer].packed_inputs.at(packer_input)(pn, in_types);
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
      const auto& f = HomeOf(graph, slot)->form();
      slots_agree = slots_agree && (f == nullptr || f->Equals(*form));
    }
    if (!slots_agree) continue;
    slots.push_back(id);
    for (int slot : slots) {
      if (absl::Status st = HomeOf(graph, slot)->SetForm(form); !st.ok()) return st;
      s.packed[Value{slot, 0}] = form;
    }
    if (grad.has_value()) {
      s.packed[*grad] = form;
      for (const Value& v : grad_chain) s.packed[v] = form;
    }
  }
  return absl::OkStatus();
}

}  // namespace graft::passes
