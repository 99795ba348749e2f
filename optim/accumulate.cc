// optim/accumulate.cc — graft.AccumulateGradient (optim/accumulate.h).
#include "optim/accumulate.h"

#include "absl/strings/str_cat.h"
#include "optim/update_op.h"
#include "runtime/parallel.h"

namespace graft::optim {
namespace {

using internal::Serial;

enum AccumulateInput { kSum = 0, kGrad, kScale, kKeep };

// One thread computes each element in the same order of operations: fast and reference kernels
// agree bitwise.
template <typename T, bool kParallel>
class AccumulateKernel : public internal::UpdateKernel<NoAttrs> {
 public:
  absl::Status Run(KernelRunContext& ctx) override {
    const T scale = static_cast<T>(ctx.input(kScale).AsDouble(0));
    const bool keep = ctx.input(kKeep).AsDouble(0) != 0;
    T* sum = ctx.mutable_input(kSum).data<T>();
    const T* g = ctx.input(kGrad).data<T>();
    ForRange(kParallel, ctx.input(kSum).num_elements(), [&](int64_t b, int64_t e) {
      if (keep) {
        for (int64_t i = b; i < e; ++i) sum[i] += scale * g[i];
      } else {
        for (int64_t i = b; i < e; ++i) sum[i] = scale * g[i];
      }
    });
    return absl::OkStatus();
  }
};

GRAFT_REGISTER_OP(internal::UpdateOp<NoAttrs, AccumulateKernel>(
                      "graft.AccumulateGradient",
                      "gradient accumulation, in place: sum = keep ? sum + scale*grad : "
                      "scale*grad",
                      {"sum", "grad", "scale", "keep"}, {kSum})
                      .Shape([](const ShapeContext& c, const NoAttrs&) {
                        return internal::InferUpdate(
                            c, absl::OkStatus(), {"sum", "grad", "scale", "keep"}, {kScale, kKeep});
                      })
                      .PrintAttrs([](const NoAttrs&) { return std::string(); }));

template <typename T, bool kParallel>
class AccumulatedKernel : public Kernel {
 public:
  absl::Status Init(const KernelInitContext&) override { return absl::OkStatus(); }
  absl::Status Run(KernelRunContext& ctx) override {
    const T scale = static_cast<T>(ctx.input(kScale).AsDouble(0));
    const T* sum = ctx.input(kSum).data<T>();
    const T* g = ctx.input(kGrad).data<T>();
    T* out = ctx.output(0).data<T>();
    ForRange(kParallel, ctx.input(kSum).num_elements(), [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) out[i] = sum[i] + scale * g[i];
    });
    return absl::OkStatus();
  }
};

GRAFT_REGISTER_OP(OpDef<NoAttrs>("graft.AccumulatedGradient")
                      .Doc("the last chunk's gradient added to the others' sum: sum + scale*grad")
                      .Inputs({"sum", "grad", "scale"})
                      .Outputs({"y"})
                      .InPlace(0, kGrad)
                      .Shape([](const ShapeContext& c,
                                const NoAttrs&) -> absl::StatusOr<std::vector<TensorType>> {
                        absl::StatusOr<std::vector<TensorType>> none = internal::InferUpdate(
                            c, absl::OkStatus(), {"sum", "grad", "scale"}, {kScale});
                        if (!none.ok()) return none.status();
                        return std::vector<TensorType>{c.inputs[kSum]};
                      })
                      .Kernel<AccumulatedKernel<float, true>>(DType::kF32)
                      .Reference<Serial<AccumulatedKernel>::template Kernel>());

}  // namespace

absl::StatusOr<Value> AccumulatedGradient(Graph& g, Value sum, Value grad, Value scale,
                                          absl::string_view name) {
  return g.Add("graft.AccumulatedGradient", {sum, grad, scale}, NoAttrs{}, name);
}

absl::StatusOr<Operation> AccumulateGradient(Graph& g, Value sum, Value grad, Value scale,
                                             Value keep, absl::string_view name) {
  if (!g.IsVariable(sum)) {
    return absl::InvalidArgumentError(
        absl::StrCat("AccumulateGradient: the sum must be a variable, got node ",
                     sum.valid() ? g.node(sum).name : std::string("(none)")));
  }
  absl::StatusOr<std::vector<Value>> out =
      g.AddNode("graft.AccumulateGradient", {sum, grad, scale, keep}, NoAttrs{}, name);
  if (!out.ok()) return out.status();
  return Operation{g.num_nodes() - 1};
}

}  // namespace graft::optim
