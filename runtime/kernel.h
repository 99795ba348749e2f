// graft — the kernel interface. A kernel is created once per node when a plan is compiled
// (Init, with concrete input and output types), then run once per step.
#ifndef GRAFT_RUNTIME_KERNEL_H_
#define GRAFT_RUNTIME_KERNEL_H_

#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/graph.h"
#include "graph/op_registry.h"
#include "graph/tensor.h"

namespace graft {

// An elementwise op that a oneDNN primitive can apply to its output as a post-op:
// `algorithm` is a dnnl::algorithm value (0: none), alpha and beta its parameters.
struct PostOp {
  int algorithm = 0;
  float alpha = 0;
  float beta = 0;
};

// The packed form (graph/variable_home.h) a kernel prefers for one of its inputs, given the node
// and the concrete types of its inputs; called while a plan is compiled, under the plan's thread
// count. Null: the logical layout is already the preferred one.
using PackedFormFn = std::function<absl::StatusOr<std::shared_ptr<const PackedForm>>(
    const Node&, const std::vector<TensorType>&)>;

// What a plan may do with a kernel besides running it: fold elementwise ops into it and keep
// variables it reads in a packed layout across steps. These are properties of a kernel (oneDNN's
// post-ops, blocked weight layouts), not of the op: the reference kernel of the same op declares
// none of them, and a plan of reference kernels does none of it.
struct KernelTraits {
  // This kernel's op can instead run inside the primitive producing its input, as this post-op.
  PostOp as_post_op = {};
  // This kernel applies KernelInitContext::post_ops to its output 0.
  bool accepts_post_ops = false;
  // This kernel is ReLU's backward (dx = dy * [y > 0], inputs dy and y): a plan folds it into
  // the kernel producing dy when that one masks (relu_mask_input) with the same y.
  bool is_relu_grad = false;
  // This kernel can apply ReLU's backward to its output 0 itself, with the mask taken from this
  // input (KernelInitContext::relu_mask); -1: it cannot.
  int relu_mask_input = -1;
  // Inputs this kernel can read in a packed form (KernelInitContext::input_forms), with the
  // form it prefers: a plan keeps a variable read there packed across steps.
  std::map<int, PackedFormFn> packed_inputs = {};
  // Outputs this kernel can write in a packed form it is given (a weight gradient).
  std::vector<int> packed_outputs = {};
  // This kernel treats every input shaped like input 0 as a flat array, element by element (an
  // optimizer update): it works on packed copies as long as all of them share one form.
  bool elementwise_over_layout = false;
  // Run this step as soon as its inputs exist (the sequential order puts it right after its
  // last input's producer): a gradient allreduce starting while the backward pass goes on.
  bool run_early = false;
  // Output 0 is input 0's bytes, read and written as a flat array (an alias that also passes a
  // packed layout through): a variable's gradient may stay packed across this step.
  bool layout_passthrough = false;
};

// What Init sees: the node (attributes, name) and the concrete types of its inputs and outputs
// for this plan (the batch dimension is known here).
struct KernelInitContext {
  const Node& node;
  const std::vector<TensorType>& input_types;
  const std::vector<TensorType>& output_types;
  int num_threads = 1;  // the plan's thread budget
  // Mixed precision ("mixed_bfloat16", keras/mixed_precision.h): kernels that multiply
  // (convolutions, matmuls) may round their inputs to bf16 and accumulate in f32. Their inputs
  // and outputs stay f32 tensors in the plan.
  bool bf16 = false;
  // Elementwise ops fused into this node's output 0 (only for kernels with accepts_post_ops).
  std::vector<PostOp> post_ops = {};
  // Per output: whether anything in the plan reads it or fetches it. A kernel may skip
  // computing an unused hidden output (an inference plan never reads a pooling workspace).
  std::vector<bool> output_used = {};
  // A ReLU backward folded into this node (kernels with relu_mask_input): output 0 is
  // dx * [input(relu_mask_input) > 0], with ReLU backward's rounding (-0 where dx < 0).
  bool relu_mask = false;
  // Per input / output: the packed form (graph/variable_home.h) the plan binds there, or null
  // for the logical layout. Only inputs and outputs the kernel's traits list as packed.
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
  // How this kernel computes where it differs from its op's plain f32 definition, for plan
  // reports (known after Init): "bf16" (mixed precision, KernelInitContext::bf16), "winograd"
  // (a convolution by Winograd's algorithm); empty otherwise.
  virtual absl::string_view Variant() const { return {}; }
  // What a plan may do with this kernel besides running it (see KernelTraits); asked once per
  // node when a plan is compiled, before Init.
  virtual KernelTraits Traits() const { return {}; }
};

}  // namespace graft

#endif  // GRAFT_RUNTIME_KERNEL_H_
