// graft — the kernel interface. A kernel is created once per node when a plan is compiled
// (Init, with concrete input and output types), then run once per step.
#ifndef GRAFT_RUNTIME_KERNEL_H_
#define GRAFT_RUNTIME_KERNEL_H_

#include <vector>

#include "absl/status/status.h"
#include "graph/graph.h"
#include "graph/op_registry.h"
#include "graph/tensor.h"

namespace graft {

// What Init sees: the node (attributes, name) and the concrete types of its inputs and outputs
// for this plan (the batch dimension is known here).
struct KernelInitContext {
  const Node& node;
  const std::vector<TensorType>& input_types;
  const std::vector<TensorType>& output_types;
  int num_threads = 1;  // the plan's thread budget
  // Elementwise ops fused into this node's output 0 (only for ops that AcceptsPostOps()).
  std::vector<PostOp> post_ops = {};
  // Per output: whether anything in the plan reads it or fetches it. A kernel may skip
  // computing an unused hidden output (an inference plan never reads a pooling workspace).
  std::vector<bool> output_used = {};
  // A ReLU backward folded into this node (ops with AcceptsReluMask): output 0 is
  // dx * [input(relu_mask_input) > 0], with ReLU backward's rounding (-0 where dx < 0).
  bool relu_mask = false;
  // Per input / output: the packed form (graph/variable_home.h) the plan binds there, or null
  // for the logical layout. Only inputs and outputs the op declares PackedInput / PackedOutput.
  std::vector<const PackedForm*> input_forms = {};
  std::vector<const PackedForm*> output_forms = {};

  template <typename Attrs>
  const Attrs& attrs() const {
    return node.attrs_as<Attrs>();
  }
};

// What Run sees: the input and output tensors. Outputs are preallocated by the plan with the
// types given to Init; inputs listed in the op's Mutates() may be written in place.
struct KernelRunContext {
  std::vector<Tensor*> inputs;
  std::vector<Tensor*> outputs;

  const Tensor& input(int i) const { return *inputs[i]; }
  Tensor& mutable_input(int i) const { return *inputs[i]; }
  Tensor& output(int i) const { return *outputs[i]; }
  int num_inputs() const { return static_cast<int>(inputs.size()); }
};

class Kernel {
 public:
  virtual ~Kernel() = default;
  // Called once per plan. Create oneDNN primitives and validate attributes here.
  virtual absl::Status Init(const KernelInitContext& ctx) { return absl::OkStatus(); }
  // Called every step. Must not throw: oneDNN calls are wrapped (ops/onednn/onednn.h).
  virtual absl::Status Run(KernelRunContext& ctx) = 0;
  // True for kernels that run oneDNN primitives (OpenMP inside): executors run these on the
  // thread that drives the plan, one at a time, so the OpenMP team is never oversubscribed.
  virtual bool UsesOneDnn() const { return false; }
};

}  // namespace graft

#endif  // GRAFT_RUNTIME_KERNEL_H_
