// A user op, written against graft's public op headers only:
//
//   myproj.ScaledSoftSign(x, alpha):   y[..., c] = alpha[c] * x[..., c] / (1 + |x[..., c]|)
//   myproj.ScaledSoftSignGrad(dy, x, alpha):
//     dx[..., c]  = dy[..., c] * alpha[c] / (1 + |x[..., c]|)^2
//     dalpha[c]   = sum over all other indices of dy[..., c] * x[..., c] / (1 + |x[..., c]|)
//
// alpha has one entry per channel (the last axis of x).
#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "graph/op_registry.h"
#include "runtime/kernel.h"

namespace myproj {
namespace {

template <typename T>
class ScaledSoftSignKernel : public graft::Kernel {
 public:
  absl::Status Run(graft::KernelRunContext& ctx) override {
    const T* x = ctx.input(0).data<T>();
    const T* alpha = ctx.input(1).data<T>();
    T* y = ctx.output(0).data<T>();
    const int64_t n = ctx.input(0).num_elements(), c = ctx.input(1).num_elements();
    for (int64_t i = 0; i < n; ++i) y[i] = alpha[i % c] * x[i] / (T(1) + std::abs(x[i]));
    return absl::OkStatus();
  }
};

template <typename T>
class ScaledSoftSignGradKernel : public graft::Kernel {
 public:
  absl::Status Run(graft::KernelRunContext& ctx) override {
    const T* dy = ctx.input(0).data<T>();
    const T* x = ctx.input(1).data<T>();
    const T* alpha = ctx.input(2).data<T>();
    T* dx = ctx.output(0).data<T>();
    T* dalpha = ctx.output(1).data<T>();
    const int64_t n = ctx.input(1).num_elements(), c = ctx.input(2).num_elements();
    std::vector<double> sums(c, 0.0);
    for (int64_t i = 0; i < n; ++i) {
      const T d = T(1) + std::abs(x[i]);
      dx[i] = dy[i] * alpha[i % c] / (d * d);
      sums[i % c] += static_cast<double>(dy[i] * x[i] / d);
    }
    for (int64_t k = 0; k < c; ++k) dalpha[k] = static_cast<T>(sums[k]);
    return absl::OkStatus();
  }
};

// x floating of rank >= 1; alpha of x's dtype and shape (channels,).
absl::Status CheckXAlpha(const graft::ShapeContext& c, int x, int alpha) {
  if (absl::Status s = graft::ExpectFloat(c, x); !s.ok()) return s;
  const graft::TensorType& xt = c.inputs[x];
  const graft::TensorType& at = c.inputs[alpha];
  if (xt.shape.rank() < 1 || at.dtype != xt.dtype || at.shape.rank() != 1 ||
      at.shape.dims()[0] != xt.shape.dims()[xt.shape.rank() - 1]) {
    return graft::ShapeError(c, absl::StrCat("alpha must be ", graft::DTypeName(xt.dtype),
                                             " of shape (channels,) for x of shape ",
                                             xt.shape.ToString(), ", got ", at.ToString()));
  }
  return absl::OkStatus();
}

GRAFT_REGISTER_OP(
    graft::OpDef<graft::NoAttrs>("myproj.ScaledSoftSign")
        .Doc("y = alpha * x / (1 + |x|), alpha per channel (last axis)")
        .Inputs({"x", "alpha"})
        .Outputs({"y"})
        .Shape([](const graft::ShapeContext& c,
                  const graft::NoAttrs&) -> absl::StatusOr<std::vector<graft::TensorType>> {
          if (absl::Status s = CheckXAlpha(c, 0, 1); !s.ok()) return s;
          return std::vector<graft::TensorType>{c.inputs[0]};
        })
        .Reference<ScaledSoftSignKernel>()  // also serves float32 plans (no faster kernel)
        .Grad([](graft::GradContext& g) -> graft::GradResult {
          absl::StatusOr<std::vector<graft::Value>> d = g.graph().AddNode(
              "myproj.ScaledSoftSignGrad", {*g.output_grad(0), g.input(0), g.input(1)});
          if (!d.ok()) return d.status();
          return graft::Grads{(*d)[0], (*d)[1]};
        }));

GRAFT_REGISTER_OP(
    graft::OpDef<graft::NoAttrs>("myproj.ScaledSoftSignGrad")
        .Doc("dx = dy * alpha / (1 + |x|)^2; dalpha = sum of dy * x / (1 + |x|) per channel")
        .Inputs({"dy", "x", "alpha"})
        .Outputs({"dx", "dalpha"})
        .Shape([](const graft::ShapeContext& c,
                  const graft::NoAttrs&) -> absl::StatusOr<std::vector<graft::TensorType>> {
          if (absl::Status s = CheckXAlpha(c, 1, 2); !s.ok()) return s;
          if (c.inputs[0] != c.inputs[1]) {
            return graft::ShapeError(c, "dy must have x's type, got " + c.inputs[0].ToString());
          }
          return std::vector<graft::TensorType>{c.inputs[1], c.inputs[2]};
        })
        .Reference<ScaledSoftSignGradKernel>());

}  // namespace
}  // namespace myproj
