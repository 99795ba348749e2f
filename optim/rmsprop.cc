// optim/rmsprop.cc — RMSprop as Keras 3 defines it (keras/optimizers/rmsprop.py):
//   velocity = rho * velocity + (1 - rho) * g^2
//   centered:      average_gradient = rho * average_gradient + (1 - rho) * g
//                  denominator = velocity - average_gradient^2 + epsilon
//   not centered:  denominator = velocity + epsilon
//   increment = lr * g / sqrt(denominator)                 (epsilon INSIDE the sqrt)
//   momentum > 0:  m = momentum * m + increment;  p -= m
//   momentum == 0: p -= increment
// torch.optim.RMSprop (alpha = rho) adds eps outside the sqrt, sqrt(v) + eps, and keeps its
// momentum buffer without the learning rate (Keras's m = lr * torch's buffer); with epsilon = 0
// the two agree. The update is not differentiable. One fused op per parameter
// (graft.RmspropUpdate) updates p and the slots in place; as Keras, the momentum slot exists only
// when momentum > 0 and the average gradient only when centered.
#include <cmath>

#include "absl/strings/str_cat.h"
#include "optim/optimizer.h"
#include "optim/update_op.h"
#include "runtime/parallel.h"

namespace graft::optim {
namespace {

enum RmspropInput { kParam = 0, kGrad, kLr, kVelocity };

absl::Status CheckAttrs(const RmspropUpdateAttrs& a) {
  return internal::FirstError({internal::ExpectUnitInterval("rho", a.rho),
                               internal::ExpectUnitInterval("momentum", a.momentum),
                               internal::ExpectNonNegative("epsilon", a.epsilon)});
}

// The inputs a node with these attributes has; the optional slots follow the velocity.
std::vector<std::string> InputNames(const RmspropUpdateAttrs& a) {
  std::vector<std::string> names = {"param", "grad", "lr", "velocity"};
  if (a.momentum > 0) names.push_back("momentum");
  if (a.centered) names.push_back("average_gradient");
  return names;
}

// Each element is computed by one thread in the same order of operations, so the fast and
// reference kernels agree bitwise for f32.
template <typename T, bool kParallel>
class RmspropKernel : public internal::UpdateKernel<RmspropUpdateAttrs> {
 public:
  absl::Status Run(KernelRunContext& ctx) override {
    const T lr = static_cast<T>(ctx.input(kLr).AsDouble(0));
    const T rho = static_cast<T>(attrs_.rho);
    const T one_minus_rho = static_cast<T>(1 - attrs_.rho);
    const T mu = static_cast<T>(attrs_.momentum);
    const T eps = static_cast<T>(attrs_.epsilon);
    T* p = ctx.mutable_input(kParam).data<T>();
    const T* g = ctx.input(kGrad).data<T>();
    T* vel = ctx.mutable_input(kVelocity).data<T>();
    int next = kVelocity + 1;
    T* mom = attrs_.momentum > 0 ? ctx.mutable_input(next++).data<T>() : nullptr;
    T* avg = attrs_.centered ? ctx.mutable_input(next++).data<T>() : nullptr;
    ForRange(kParallel, ctx.input(kParam).num_elements(), [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        const T gi = g[i];
        const T vi = rho * vel[i] + one_minus_rho * (gi * gi);
        vel[i] = vi;
        T denominator = vi + eps;
        if (avg != nullptr) {
          const T ai = rho * avg[i] + one_minus_rho * gi;
          avg[i] = ai;
          denominator = vi - ai * ai + eps;
        }
        const T increment = lr * gi / std::sqrt(denominator);
        if (mom != nullptr) {
          mom[i] = mu * mom[i] + increment;
          p[i] -= mom[i];
        } else {
          p[i] -= increment;
        }
      }
    });
    return absl::OkStatus();
  }
};

GRAFT_REGISTER_OP(
    internal::UpdateOp<RmspropUpdateAttrs, RmspropKernel>(
        "graft.RmspropUpdate",
        "Keras RMSprop, in place: v = rho*v + (1-rho)*g^2; inc = lr*g/sqrt(v + eps) (centered: "
        "a = rho*a + (1-rho)*g, sqrt(v - a^2 + eps)); p -= inc (momentum: m = mom*m + inc; "
        "p -= m)",
        {"param", "grad", "lr", "velocity", "momentum?", "average_gradient?"},
        {kParam, kVelocity, kVelocity + 1, kVelocity + 2})
        .Shape([](const ShapeContext& c, const RmspropUpdateAttrs& a) {
          return internal::InferUpdate(c, CheckAttrs(a), InputNames(a), {kLr});
        })
        .PrintAttrs([](const RmspropUpdateAttrs& a) {
          return absl::StrCat("rho=", a.rho, ", momentum=", a.momentum, ", epsilon=", a.epsilon,
                              ", centered=", a.centered ? "true" : "false");
        }));

class Rmsprop : public Optimizer {
 public:
  explicit Rmsprop(const RmspropOptions& o)
      : Optimizer(o.learning_rate), attrs_{o.rho, o.momentum, o.epsilon, o.centered} {}

  std::string name() const override { return "rmsprop"; }

 protected:
  std::vector<std::pair<std::string, double>> Hyperparameters() const override {
    return {{"rho", attrs_.rho},
            {"momentum", attrs_.momentum},
            {"epsilon", attrs_.epsilon},
            {"centered", attrs_.centered ? 1.0 : 0.0}};
  }
  absl::Status CheckOptions() const override { return CheckAttrs(attrs_); }
  UpdateNode Update(Graph& graph, Value param, Value grad, Value learning_rate,
                    Value iteration) override {
    std::vector<Value> inputs = {param, grad, learning_rate, AddSlot(graph, param, "velocity")};
    if (attrs_.momentum > 0) inputs.push_back(AddSlot(graph, param, "momentum"));
    if (attrs_.centered) inputs.push_back(AddSlot(graph, param, "average_gradient"));
    return {"graft.RmspropUpdate", std::move(inputs), attrs_};
  }

 private:
  RmspropUpdateAttrs attrs_;
};

}  // namespace

std::unique_ptr<Optimizer> MakeRmsprop(const RmspropOptions& options) {
  return std::make_unique<Rmsprop>(options);
}

}  // namespace graft::optim
