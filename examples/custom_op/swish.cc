// A user op registered from outside graft's own folders, with only graft's public headers:
// this file is what a user's repository would hold.
//
//   myproj.Swish:      y = x * s,  s = sigmoid(x) = 1 / (1 + exp(-x))
//   myproj.SwishGrad:  dx = dy * (s + x * s * (1 - s))
#include <cmath>

#include "graph/op_registry.h"
#include "runtime/kernel.h"

namespace myproj {
namespace {

template <typename T>
class SwishKernel : public graft::Kernel {
 public:
  absl::Status Run(graft::KernelRunContext& ctx) override {
    const T* x = ctx.input(0).data<T>();
    T* y = ctx.output(0).data<T>();
    for (int64_t i = 0; i < ctx.input(0).num_elements(); ++i) {
      y[i] = x[i] / (T(1) + std::exp(-x[i]));
    }
    return absl::OkStatus();
  }
};

template <typename T>
class SwishGradKernel : public graft::Kernel {
 public:
  absl::Status Run(graft::KernelRunContext& ctx) override {
    const T* dy = ctx.input(0).data<T>();
    const T* x = ctx.input(1).data<T>();
    T* dx = ctx.output(0).data<T>();
    for (int64_t i = 0; i < ctx.input(0).num_elements(); ++i) {
      const T s = T(1) / (T(1) + std::exp(-x[i]));
      dx[i] = dy[i] * (s + x[i] * s * (T(1) - s));
    }
    return absl::OkStatus();
  }
};

absl::StatusOr<std::vector<graft::TensorType>> SameAsInput0(const graft::ShapeContext& c,
                                                            const graft::NoAttrs&) {
  if (!graft::IsFloating(c.inputs[0].dtype)) {
    return absl::InvalidArgumentError("myproj.Swish needs a floating input");
  }
  return std::vector<graft::TensorType>{c.inputs[0]};
}

GRAFT_REGISTER_OP(graft::OpDef<graft::NoAttrs>("myproj.Swish")
                      .Doc("y = x * sigmoid(x)")
                      .Inputs({"x"})
                      .Outputs({"y"})
                      .Shape(SameAsInput0)
                      .Kernel<SwishKernel<float>>(graft::DType::kF32)
                      .Reference<SwishKernel>()
                      .Grad([](graft::GradContext& g) -> graft::GradResult {
                        absl::StatusOr<graft::Value> dx =
                            g.graph().Add("myproj.SwishGrad", {*g.output_grad(0), g.input(0)});
                        if (!dx.ok()) return dx.status();
                        return graft::Grads{*dx};
                      }));

GRAFT_REGISTER_OP(graft::OpDef<graft::NoAttrs>("myproj.SwishGrad")
                      .Doc("dx = dy * (s + x s (1 - s)), s = sigmoid(x)")
                      .Inputs({"dy", "x"})
                      .Outputs({"dx"})
                      .Shape(SameAsInput0)
                      .Kernel<SwishGradKernel<float>>(graft::DType::kF32)
                      .Reference<SwishGradKernel>());

}  // namespace
}  // namespace myproj
