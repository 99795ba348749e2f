// SelectKernels: one kernel object per needed node, for the dtype of its first input (or first
// output), fast or reference as the plan asks (reference when an op has no fast kernel for it).
// The kernel's traits (runtime/kernel.h) tell the later passes what they may fold into it and
// which of its variables they may keep packed. Kernels are Init'ed later, once those passes
// have decided.
#include "absl/strings/str_cat.h"
#include "runtime/passes/passes.h"

namespace graft::passes {

absl::Status SelectKernels(CompileState& s) {
  const int n = s.graph.num_nodes();
  s.kernels.clear();
  s.kernels.resize(n);
  s.traits.assign(n, KernelTraits{});
  for (int id = 0; id < n; ++id) {
    const Node& node = s.graph.node(id);
    if (!s.needed[id] || IsSource(node)) continue;
    const DType dtype = !node.inputs.empty() ? s.types[node.inputs[0].node][node.inputs[0].index].dtype
                        : s.types[id].empty() ? DType::kF32
                                              : s.types[id][0].dtype;
    const KernelFactory* factory = node.op->FindKernel(dtype, s.kernel_kind);
    if (factory == nullptr) {
      return absl::UnimplementedError(
          absl::StrCat(node.name, " (", node.op->name, "): no kernel for ", DTypeName(dtype)));
    }
    s.kernels[id] = (*factory)();
    s.traits[id] = s.kernels[id]->Traits();
  }
  return absl::OkStatus();
}

}  // namespace graft::passes
