// graft — what the optimizers' fused update ops share (internal to //optim): the shape function,
// the kernel skeleton and the registration.
#ifndef GRAFT_OPTIM_UPDATE_OP_H_
#define GRAFT_OPTIM_UPDATE_OP_H_

#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/op_registry.h"
#include "runtime/kernel.h"

namespace graft::optim::internal {

// Hyperparameter checks (NaN fails): "<name> must be >= 0, got <value>" and
// "<name> must lie in [0, 1], got <value>"; FirstError gives the first failure of several.
absl::Status ExpectNonNegative(absl::string_view name, double value);
absl::Status ExpectUnitInterval(absl::string_view name, double value);
absl::Status FirstError(std::initializer_list<absl::Status> checks);

// The shape function of an update op: `attrs_ok` (the hyperparameter check, reported as a shape
// error naming the node), input 0 (param) floating, the inputs at `scalars` floating scalars,
// every other input of param's type. `names` names the inputs the node must have, in order; a
// different count is an error that lists them.
absl::StatusOr<std::vector<TensorType>> InferUpdate(const ShapeContext& c,
                                                    const absl::Status& attrs_ok,
                                                    const std::vector<std::string>& names,
                                                    const std::vector<int>& scalars);

// The kernel skeleton: the node's attributes, read at Init.
template <typename Attrs>
class UpdateKernel : public Kernel {
 public:
  // Elementwise: it updates packed copies (convolution weights kept in oneDNN's layout, and
  // their slots) as well as logical ones.
  KernelTraits Traits() const override { return {.elementwise_over_layout = true}; }
  absl::Status Init(const KernelInitContext& c) override {
    attrs_ = c.attrs<Attrs>();
    return absl::OkStatus();
  }

 protected:
  Attrs attrs_;
};

template <template <typename, bool> class K>
struct Serial {
  template <typename T>
  using Kernel = K<T, false>;
};

// An update op with no outputs whose kernel template K<T, kParallel> updates `mutates` in place:
// the fast f32 kernel K<float, true> splits its elementwise loop across TBB workers, the
// reference kernel K<T, false> runs the same loop serially (so they agree bitwise). Being
// elementwise, it updates packed copies (convolution weights kept in oneDNN's layout, and their
// slots) as well as logical ones. The caller
// adds .Shape and .PrintAttrs.
template <typename Attrs, template <typename, bool> class K>
OpDef<Attrs> UpdateOp(std::string name, std::string doc, std::vector<std::string> inputs,
                      std::vector<int> mutates) {
  OpDef<Attrs> def(std::move(name));
  def.Doc(std::move(doc))
      .Inputs(std::move(inputs))
      .Outputs({})
      .Mutates(std::move(mutates))
      .template Kernel<K<float, true>>(DType::kF32)
      .template Reference<Serial<K>::template Kernel>();
  return def;
}

}  // namespace graft::optim::internal

#endif  // GRAFT_OPTIM_UPDATE_OP_H_
