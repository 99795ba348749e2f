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
#include "optim/optimizer.h"
#include "optim/update_op.h"
#include "runtime/parallel.h"

namespace graft::optim {
namespace {

enum SgdInput { kParam = 0, kGrad, kLr, kVelocity };

absl::Status CheckAttrs(const SgdUpdateAttrs& a) {
  return internal::ExpectUnitInterval("momentum", a.momentum);
}

absl::StatusOr<std::vector<TensorType>> InferSgdUpdate(const ShapeContext& c,
                                                       const SgdUpdateAttrs& a) {
  const bool has_velocity = c.inputs.size() > kVelocity;
  if (!has_velocity && (a.momentum != 0 || a.nesterov)) {
    return ShapeError(c, absl::StrCat("momentum ", a.momentum, (a.nesterov ? " (nesterov)" : ""),
                                      " needs the velocity input"));
  }
  std::vector<std::string> names = {"param", "grad", "lr"};
  if (has_velocity) names.push_back("velocity");
  return internal::InferUpdate(c, CheckAttrs(a), names, {kLr});
}

// Each element is computed by one thread in the same order of operations, so the fast and
// reference kernels agree bitwise for f32.
template <typename T, bool kParallel>
class SgdKernel : public internal::UpdateKernel<SgdUpdateAttrs> {
 public:
  absl::Status Run(KernelRunContext& ctx) override {
    const T lr = static_cast<T>(ctx.input(kLr).AsDouble(0));
    const T mu = static_cast<T>(attrs_.momentum);
    T* p = ctx.mutable_input(kParam).data<T>();
    const T* g = ctx.input(kGrad).data<T>();
    const int64_t n = ctx.input(kParam).num_elements();
    if (ctx.num_inputs() <= kVelocity) {
      ForRange(kParallel, n, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) p[i] -= lr * g[i];
      });
      return absl::OkStatus();
    }
    T* vel = ctx.mutable_input(kVelocity).data<T>();
    const bool nesterov = attrs_.nesterov;
    ForRange(kParallel, n, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        const T vi = mu * vel[i] - lr * g[i];
        vel[i] = vi;
        p[i] += nesterov ? mu * vi - lr * g[i] : vi;
      }
    });
    return absl::OkStatus();
  }
};

GRAFT_REGISTER_OP(internal::UpdateOp<SgdUpdateAttrs, SgdKernel>(
                      "graft.SgdUpdate",
                      "Keras SGD, in place: v = mom*v - lr*g; p += v (nesterov: "
                      "p += mom*v - lr*g); without velocity: p -= lr*g",
                      {"param", "grad", "lr", "velocity?"}, {kParam, kVelocity})
                      .Shape(InferSgdUpdate)
                      .PrintAttrs([](const SgdUpdateAttrs& a) {
                        return absl::StrCat("momentum=", a.momentum,
                                            ", nesterov=", a.nesterov ? "true" : "false");
                      }));

class Sgd : public Optimizer {
 public:
  explicit Sgd(const SgdOptions& o) : Optimizer(o.learning_rate), attrs_{o.momentum, o.nesterov} {
    // Nesterov without momentum is plain SGD (Keras's formula reduces to p -= lr * g).
    if (attrs_.momentum == 0) attrs_.nesterov = false;
  }

  std::string name() const override { return "sgd"; }

 protected:
  std::vector<std::pair<std::string, double>> Hyperparameters() const override {
    return {{"momentum", attrs_.momentum}, {"nesterov", attrs_.nesterov ? 1.0 : 0.0}};
  }
  absl::Status CheckOptions() const override { return CheckAttrs(attrs_); }
  UpdateNode Update(Graph& graph, Value param, Value grad, Value learning_rate,
                    Value iteration) override {
    std::vector<Value> inputs = {param, grad, learning_rate};
    if (attrs_.momentum != 0) inputs.push_back(AddSlot(graph, param, "momentum"));
    return {"graft.SgdUpdate", std::move(inputs), attrs_};
  }

 private:
  SgdUpdateAttrs attrs_;
};

}  // namespace

std::unique_ptr<Optimizer> MakeSgd(const SgdOptions& options) {
  return std::make_unique<Sgd>(options);
}

}  // namespace graft::optim
