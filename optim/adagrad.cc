// optim/adagrad.cc — Adagrad as Keras 3 defines it (keras/optimizers/adagrad.py):
//   accumulator starts at initial_accumulator_value (0.1)
//   accumulator += g^2
//   p -= lr * g / sqrt(accumulator + epsilon)              (epsilon INSIDE the sqrt)
// torch.optim.Adagrad (lr_decay 0, the same initial_accumulator_value) adds eps outside the
// sqrt, sqrt(accumulator) + eps; with epsilon = 0 the two agree. The update is not
// differentiable. One fused op per parameter (graft.AdagradUpdate) updates p and the
// accumulator in place.
#include <cmath>

#include "absl/strings/str_cat.h"
#include "optim/optimizer.h"
#include "optim/update_op.h"
#include "runtime/parallel.h"

namespace graft::optim {
namespace {

enum AdagradInput { kParam = 0, kGrad, kAccumulator, kLr };

absl::Status CheckAttrs(const AdagradUpdateAttrs& a) {
  return internal::ExpectNonNegative("epsilon", a.epsilon);
}

// Each element is computed by one thread in the same order of operations, so the fast and
// reference kernels agree bitwise for f32.
template <typename T, bool kParallel>
class AdagradKernel : public internal::UpdateKernel<AdagradUpdateAttrs> {
 public:
  absl::Status Run(KernelRunContext& ctx) override {
    const T lr = static_cast<T>(ctx.input(kLr).AsDouble(0));
    const T eps = static_cast<T>(attrs_.epsilon);
    T* p = ctx.mutable_input(kParam).data<T>();
    const T* g = ctx.input(kGrad).data<T>();
    T* acc = ctx.mutable_input(kAccumulator).data<T>();
    ForRange(kParallel, ctx.input(kParam).num_elements(), [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        const T gi = g[i];
        const T ai = acc[i] + gi * gi;
        acc[i] = ai;
        p[i] -= lr * gi / std::sqrt(ai + eps);
      }
    });
    return absl::OkStatus();
  }
};

GRAFT_REGISTER_OP(internal::UpdateOp<AdagradUpdateAttrs, AdagradKernel>(
                      "graft.AdagradUpdate",
                      "Keras Adagrad, in place: acc += g^2; p -= lr*g/sqrt(acc + eps)",
                      {"param", "grad", "accumulator", "lr"}, {kParam, kAccumulator})
                      .Shape([](const ShapeContext& c, const AdagradUpdateAttrs& a) {
                        return internal::InferUpdate(c, CheckAttrs(a),
                                                     {"param", "grad", "accumulator", "lr"}, {kLr});
                      })
                      .PrintAttrs([](const AdagradUpdateAttrs& a) {
                        return absl::StrCat("epsilon=", a.epsilon);
                      }));

class Adagrad : public Optimizer {
 public:
  explicit Adagrad(const AdagradOptions& o)
      : Optimizer(o.learning_rate), initial_(o.initial_accumulator_value), attrs_{o.epsilon} {}

  std::string name() const override { return "adagrad"; }

 protected:
  std::vector<std::pair<std::string, double>> Hyperparameters() const override {
    return {{"initial_accumulator_value", initial_}, {"epsilon", attrs_.epsilon}};
  }
  absl::Status CheckOptions() const override {
    return internal::FirstError(
        {internal::ExpectNonNegative("initial_accumulator_value", initial_), CheckAttrs(attrs_)});
  }
  UpdateNode Update(Graph& graph, Value param, Value grad, Value learning_rate,
                    Value iteration) override {
    Value accumulator = AddSlot(graph, param, "accumulator", initial_);
    return {"graft.AdagradUpdate", {param, grad, accumulator, learning_rate}, attrs_};
  }

 private:
  double initial_;
  AdagradUpdateAttrs attrs_;
};

}  // namespace

std::unique_ptr<Optimizer> MakeAdagrad(const AdagradOptions& options) {
  return std::make_unique<Adagrad>(options);
}

}  // namespace graft::optim
