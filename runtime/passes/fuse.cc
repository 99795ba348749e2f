// FuseElementwise: an elementwise op whose kernel has a oneDNN post-op form, reading the sole
// use of output 0 of a kernel that accepts post-ops, runs inside that kernel's primitive; and
// ReLU's backward (dy, y) runs inside a kernel that can mask with the same y (max pooling's
// backward reads the pooled ReLU output). One pass over the data less either way: the producer
// writes straight into the folded op's output.
#include "runtime/passes/passes.h"

namespace graft::passes {

void FuseElementwise(CompileState& s) {
  const Graph& graph = s.graph;
  const int n = graph.num_nodes();
  s.fused_into.assign(n, -1);
  s.folded.assign(n, false);
  for (int id = 0; id < n; ++id) {
    const Node& a = graph.node(id);
    if (!s.needed[id] || a.inputs.empty()) continue;
    const Value in = a.inputs[0];
    const Node& p = graph.node(in.node);
    const KernelTraits& at = s.traits[id];
    const KernelTraits& pt = s.traits[in.node];
    const int mask = pt.relu_mask_input;
    const bool post_op =
        at.as_post_op.algorithm != 0 && a.inputs.size() == 1 && pt.accepts_post_ops;
    const bool relu_mask = at.is_relu_grad && a.inputs.size() == 2 && mask >= 0 &&
                           mask < static_cast<int>(p.inputs.size()) &&
                           p.inputs[mask] == a.inputs[1];
    if (!post_op && !relu_mask) continue;
    if (in.index != 0 || s.fused_into[in.node] >= 0 || s.is_fetched(in)) continue;
    if (s.types[in.node][0].dtype != DType::kF32) continue;
    if (!s.SoleReader(in, id)) continue;
    s.fused_into[in.node] = id;
    s.folded[id] = true;
  }
}

}  // namespace graft::passes
