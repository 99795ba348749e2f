// graft — oneDNN helpers shared by the op kernels: the engine, a per-thread stream, memory
// descriptors for graft's plain channels-last tensors, exception-free calls, and reorders.
#ifndef GRAFT_OPS_ONEDNN_ONEDNN_H_
#define GRAFT_OPS_ONEDNN_ONEDNN_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "graph/tensor.h"
#include "graph/variable_home.h"
#include "oneapi/dnnl/dnnl.hpp"
#include "runtime/kernel.h"

namespace graft::onednn {

using dims = dnnl::memory::dims;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

// The CPU engine (one per process).
const dnnl::engine& Engine();
// A stream for the calling thread.
dnnl::stream& Stream();

// Whether this CPU runs oneDNN's bf16 kernels (avx512_core_bf16 or newer, honouring
// ONEDNN_MAX_CPU_ISA / dnnl::set_max_cpu_isa), and oneDNN's name for the ISA it runs at.
bool CpuHasBf16();
std::string CpuIsaName();
// Whether oneDNN runs at avx512_core or newer (its Winograd kernels need it).
bool CpuHasAvx512Core();

// The data type products are computed in: bf16 under mixed precision (KernelInitContext::bf16),
// else f32.
inline dnnl::memory::data_type ComputeType(bool bf16) {
  return bf16 ? dnnl::memory::data_type::bf16 : dnnl::memory::data_type::f32;
}
// Whether a primitive descriptor found an optimised implementation (not oneDNN's reference
// loops, which run bf16 far slower than f32).
bool Optimised(const dnnl::primitive_desc_base& pd);
// `make()`'s primitive descriptor where oneDNN creates one with an optimised implementation
// whose name contains `impl` (empty: any); nullopt where it has none for these shapes. Call it
// inside Call (it creates primitive descriptors).
template <typename Make>
auto TryOptimised(Make make, const std::string& impl = "") -> std::optional<decltype(make())> {
  try {
    auto pd = make();
    if (Optimised(pd) && std::string(pd.impl_info_str()).find(impl) != std::string::npos) {
      return pd;
    }
  } catch (const dnnl::error&) {
    // no implementation for these descriptors
  }
  return std::nullopt;
}

// Runs `fn`, turning a dnnl::error (or any exception) into a Status: no exception escapes graft.
// Applies the plan's thread count first (ApplyThreads).
absl::Status Call(absl::FunctionRef<void()> fn);  // FunctionRef: no allocation per call

// Sets the calling thread's OpenMP team size to CurrentThreads() (oneDNN reads it both when a
// primitive is created and when it runs).
void ApplyThreads();

// A plain f32 memory descriptor with the given logical dims and layout tag.
dnnl::memory::desc Desc(const dims& d, tag t);
// A memory object over a tensor's storage (no copy).
dnnl::memory Wrap(const dnnl::memory::desc& md, const Tensor& t);

// A variable kept in the layout a primitive chose (graph/variable_home.h): `logical` is the
// descriptor of graft's own layout of the tensor (Keras's kernel layout through strides),
// `packed` oneDNN's. Pack and Unpack are oneDNN reorders (which zero the padding).
class OneDnnForm : public PackedForm {
 public:
  OneDnnForm(const dnnl::memory::desc& logical, const dnnl::memory::desc& packed)
      : logical_(logical), packed_(packed) {}
  const dnnl::memory::desc& packed_desc() const { return packed_; }
  int64_t packed_elements() const override;
  absl::Status Pack(const Tensor& logical, Tensor& packed) const override;
  absl::Status Unpack(const Tensor& packed, Tensor& logical) const override;
  bool Equals(const PackedForm& other) const override;
  std::string ToString() const override;

 private:
  absl::Status Reorder(bool pack, const Tensor& from, const Tensor& to) const;
  dnnl::memory::desc logical_, packed_;
  // The two reorders, created on first use (a variable changes home now and then, not per step).
  mutable std::optional<dnnl::reorder> pack_, unpack_;
};

// The form to keep a variable in for a primitive that chose `chosen` where graft's layout is
// `logical`: null when the two agree (nothing to pack).
std::shared_ptr<const PackedForm> FormFor(const dnnl::memory::desc& logical,
                                          const dnnl::memory::desc& chosen);
// oneDNN's name for a descriptor's layout ("ABcd16b16a", "acdb"; "strided" when it has none).
std::string LayoutName(const dnnl::memory::desc& md);

// The descriptor of input i / output o as the plan binds it: the packed form's when the plan
// keeps it packed (KernelInitContext::input_forms / output_forms), else `logical`.
dnnl::memory::desc InputLayout(const KernelInitContext& c, int i,
                               const dnnl::memory::desc& logical);
dnnl::memory::desc OutputLayout(const KernelInitContext& c, int o,
                                const dnnl::memory::desc& logical);

// A primitive attribute applying `post_ops` (graft's fused elementwise ops) to the output.
dnnl::primitive_attr PostOpsAttr(const std::vector<PostOp>& post_ops);

// Base of kernels that run oneDNN primitives.
class OneDnnKernel : public Kernel {
 public:
  bool UsesOneDnn() const override { return true; }
};

// A primitive's arguments, built once when the kernel is created: one dnnl::memory per argument,
// kept for the plan's life. A plan's buffers never move (one arena, variables' own storage), so
// Bind only re-points a memory when its tensor's storage changed (a feed bound for this run);
// Execute hands oneDNN the prebuilt argument array, with no map built per call.
class Args {
 public:
  // Adds argument `arg` (DNNL_ARG_*) over plan tensors of descriptor `md`; returns its slot for
  // Bind.
  int Add(int arg, const dnnl::memory::desc& md);
  // Adds an argument over memory the kernel owns (a reorder buffer, a workspace).
  void AddOwned(int arg, const dnnl::memory& memory);
  // Points slot `slot` at tensor `t` (a no-op when it already does).
  void Bind(int slot, const Tensor& t) {
    void* p = const_cast<void*>(t.raw_data());
    if (p != handles_[slot]) {
      memories_[slot].set_data_handle(p);
      handles_[slot] = p;
    }
  }
  // Runs `p` on the calling thread's stream with these arguments and waits. Throws dnnl::error.
  void Execute(const dnnl::primitive& p);

 private:
  std::vector<dnnl::memory> memories_;
  std::vector<void*> handles_;
  std::vector<dnnl_exec_arg_t> args_;
};

// One primitive argument whose plan tensor is in layout `user` while the primitive was created
// for layout `chosen`. When the two agree the argument is the plan tensor itself; otherwise it
// is a buffer owned here, reordered from the tensor before the primitive runs (an input) or to
// it after (an output). Everything, reorders included, is created once at Init.
class LayoutBridge {
 public:
  void Init(const dnnl::memory::desc& user, const dnnl::memory::desc& chosen, Args& args, int arg);
  bool needs_reorder() const { return needs_reorder_; }
  // An input: before the primitive runs.
  void In(Args& args, const Tensor& user);
  // An output: Before, then the primitive, then After.
  void OutBefore(Args& args, const Tensor& user);
  void OutAfter(const Tensor& user);

 private:
  bool needs_reorder_ = false;
  bool small_ = false;        // under 64 KiB: reordered on one thread
  int slot_ = -1;             // the primitive's argument slot (no reorder)
  Args to_args_, from_args_;  // the reorders' arguments; slot 0 is the user tensor
  std::shared_ptr<void> storage_;  // the chosen-layout buffer's memory
  dnnl::reorder to_chosen_, from_chosen_;
};

// A kernel that runs one primitive whose arguments are, each, one of the node's inputs or
// outputs in its plain layout. Init creates `prim_` and calls AddInput / AddOutput once per
// argument; Run binds them and executes.
class PrimitiveKernel : public OneDnnKernel {
 public:
  absl::Status Run(KernelRunContext& ctx) override;

 protected:
  void AddInput(int arg, const dnnl::memory::desc& md, int input);
  void AddOutput(int arg, const dnnl::memory::desc& md, int output);
  dnnl::primitive prim_;

 private:
  struct Binding {
    int slot;
    bool input;
    int index;
  };
  Args args_;
  std::vector<Binding> bindings_;
};

}  // namespace graft::onednn

#endif  // GRAFT_OPS_ONEDNN_ONEDNN_H_
