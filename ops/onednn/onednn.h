// graft — oneDNN helpers shared by the op kernels: the engine, a per-thread stream, memory
// descriptors for graft's plain channels-last tensors, exception-free calls, and reorders.
#ifndef GRAFT_OPS_ONEDNN_ONEDNN_H_
#define GRAFT_OPS_ONEDNN_ONEDNN_H_

#include <functional>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "graph/tensor.h"
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

// Runs `fn`, turning a dnnl::error (or any exception) into a Status: no exception escapes graft.
// Applies the plan's thread count first (ApplyThreads).
absl::Status Call(const std::function<void()>& fn);

// Sets the calling thread's OpenMP team size to CurrentThreads() (oneDNN reads it both when a
// primitive is created and when it runs).
void ApplyThreads();

// A plain f32 memory descriptor with the given logical dims and layout tag.
dnnl::memory::desc Desc(const dims& d, tag t);
// A memory object over a tensor's storage (no copy).
dnnl::memory Wrap(const dnnl::memory::desc& md, const Tensor& t);

// Moves data between a plain user layout and the layout a primitive chose. Init once; Run
// reorders only when the two layouts differ, through a buffer owned here.
class LayoutBridge {
 public:
  void Init(const dnnl::memory::desc& user, const dnnl::memory::desc& chosen);
  bool needs_reorder() const { return needs_reorder_; }
  // user -> chosen. Returns the memory the primitive should read.
  dnnl::memory ToChosen(const Tensor& user);
  // A memory in the chosen layout for the primitive to write; then FromChosen copies it out.
  dnnl::memory ChosenFor(const Tensor& user);
  void FromChosen(Tensor& user);

 private:
  dnnl::memory::desc user_, chosen_;
  dnnl::memory buffer_;
  dnnl::reorder to_chosen_, from_chosen_;
  bool needs_reorder_ = false;
};

// A primitive attribute applying `post_ops` (graft's fused elementwise ops) to the output.
dnnl::primitive_attr PostOpsAttr(const std::vector<PostOp>& post_ops);

// Base of kernels that run oneDNN primitives.
class OneDnnKernel : public Kernel {
 public:
  bool UsesOneDnn() const override { return true; }
};

// Executes a primitive on the calling thread's stream and waits.
void Execute(const dnnl::primitive& p, const std::unordered_map<int, dnnl::memory>& args);

}  // namespace graft::onednn

#endif  // GRAFT_OPS_ONEDNN_ONEDNN_H_
