// optim/sgd.cc — SGD with optional momentum and Nesterov momentum, as Keras 3 defines it
// (keras/optimizers/sgd.py):
//   momentum == 0:  p -= lr * g                                  (no velocity slot)
//   momentum > 0:   velocity = momentum * velocity - lr * g
//                   p += velocity                                (nesterov = false)
//                   p += momentum * velocity - lr * g            (nesterov = true, new velocity)
// Keras's velocity is -lr times PyTorch's momentum buffer (torch.optim.SGD, dampening 0).
// The update is not differentiable. One fused op per parameter (graft.SgdUpdate) updates p and
// the velocity in place. The velocity is its optional last input, so plain SGD keeps no slot
// (as Keras, which creates momentum variables only when momentum != 0).
#include "absl/strings/str_cat.h"
#include "ops/common.h"
#include "optim/optimizer.h"

namespace graft::optim {
namespace {

enum SgdInput { kParam = 0, kGrad, kLr, kVelocity };

absl::StatusOr<std::vector<TensorType>> InferSgdUpdate(const ShapeContext& c,
                                                       const SgdUpdateAttrs& a) {
  if (!(a.momentum >= 0 && a.momentum <= 1)) {
    return ops::ShapeError(c, absl::StrCat("momentum must lie in [0, 1], got ", a.momentum));
  }
  if (absl::Status s = ops::ExpectFloat(c, kParam); !s.ok()) return s;
  if (!(c.inputs[kGrad] == c.inputs[kParam])) {
    return ops::ShapeError(
        c, absl::StrCat("grad must have the type of param, ", c.inputs[kParam].ToString(), ", got ",
                        c.inputs[kGrad].ToString()));
  }
  if (absl::Status s = ops::ExpectFloat(c, kLr, /*rank=*/0); !s.ok()) return s;
  const bool has_velocity = c.inputs.size() > kVelocity;
  if (has_velocity && !(c.inputs[kVelocity] == c.inputs[kParam])) {
    return ops::ShapeError(
        c, absl::StrCat("velocity must have the type of param, ", c.inputs[kParam].ToString(),
                        ", got ", c.inputs[kVelocity].ToString()));
  }
  if (!has_velocity && (a.momentum != 0 || a.nesterov)) {
    return ops::ShapeError(c,
                           absl::StrCat("momentum ", a.momentum, (a.nesterov ? " (nesterov)" : ""),
                                        " needs the velocity input"));
  }
  return std::vector<TensorType>{};
}

// Fast (kParallel) and reference kernels share the loop; each element is computed by one thread
// in the same order of operations, so they agree bitwise for f32.
template <typename T, bool kParallel>
class SgdKernel : public Kernel {
 public:
  absl::Status Init(const KernelInitContext& c) override {
    attrs_ = c.attrs<SgdUpdateAttrs>();
    return absl::OkStatus();
  }
  absl::Status Run(KernelRunContext& ctx) override {
    const T lr = static_cast<T>(ctx.input(kLr).AsDouble(0));
    const T mu = static_cast<T>(attrs_.momentum);
    T* p = ctx.mutable_input(kParam).data<T>();
    const T* g = ctx.input(kGrad).data<T>();
    const int64_t n = ctx.input(kParam).num_elements();
    if (ctx.num_inputs() <= kVelocity) {
      ops::ForRange(kParallel, n, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) p[i] -= lr * g[i];
      });
      return absl::OkStatus();
    }
    T* vel = ctx.mutable_input(kVelocity).data<T>();
    const bool nesterov = attrs_.nesterov;
    ops::ForRange(kParallel, n, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        const T vi = mu * vel[i] - lr * g[i];
        vel[i] = vi;
        p[i] += nesterov ? mu * vi - lr * g[i] : vi;
      }
    });
    return absl::OkStatus();
  }

 private:
  SgdUpdateAttrs attrs_;
};

template <typename T>
using ReferenceSgd = SgdKernel<T, false>;

GRAFT_REGISTER_OP(OpDef<SgdUpdateAttrs>("graft.SgdUpdate")
                      .Doc("Keras SGD, in place: v = mom*v - lr*g; p += v (nesterov: "
                           "p += mom*v - lr*g); without velocity: p -= lr*g")
                      .Inputs({"param", "grad", "lr", "velocity?"})
                      .Outputs({})
                      .Mutates({kParam, kVelocity})
                      .Shape(InferSgdUpdate)
                      .PrintAttrs([](const SgdUpdateAttrs& a) {
                        return absl::StrCat("momentum=", a.momentum,
                                            ", nesterov=", a.nesterov ? "true" : "false");
                      })
                      .Kernel<SgdKernel<float, true>>(DType::kF32)
                      .Reference<ReferenceSgd>());

class Sgd : public Optimizer {
 public:
  explicit Sgd(const SgdOptions& o) : Optimizer(o.learning_rate), attrs_{o.momentum, o.nesterov} {}

  std::string name() const override { return "sgd"; }

  absl::StatusOr<std::vector<int>> AppendUpdates(Graph& graph, const std::vector<Value>& params,
                                                 const std::vector<Value>& grads,
                                                 Value learning_rate, Value iteration) override {
    if (!(attrs_.momentum >= 0 && attrs_.momentum <= 1)) {
      return absl::InvalidArgumentError(
          absl::StrCat("sgd optimizer: momentum must lie in [0, 1], got ", attrs_.momentum));
    }
    if (absl::Status s = CheckUpdateArguments(graph, params, grads, learning_rate, iteration);
        !s.ok()) {
      return s;
    }
    // Nesterov without momentum is plain SGD (Keras's formula reduces to p -= lr * g).
    SgdUpdateAttrs attrs = attrs_;
    if (attrs.momentum == 0) attrs.nesterov = false;
    std::vector<int> updates;
    for (size_t i = 0; i < params.size(); ++i) {
      std::vector<Value> inputs = {params[i], grads[i], learning_rate};
      if (attrs.momentum != 0) inputs.push_back(AddSlot(graph, params[i], "momentum"));
      std::string scope = graph.SetNameScope("");
      absl::StatusOr<std::vector<Value>> out =
          graph.AddNode("graft.SgdUpdate", std::move(inputs), attrs, UpdateName(graph, params[i]));
      graph.SetNameScope(std::move(scope));
      if (!out.ok()) return out.status();
      updates.push_back(graph.num_nodes() - 1);
    }
    return updates;
  }

 private:
  SgdUpdateAttrs attrs_;
};

}  // namespace

std::unique_ptr<Optimizer> MakeSgd(const SgdOptions& options) {
  return std::make_unique<Sgd>(options);
}

}  // namespace graft::optim
