// optim/adam.cc — Adam and AdamW as Keras 3 defines them (keras/optimizers/adam.py with
// amsgrad=False; adamw.py, which is Adam with the base optimizer's decoupled weight decay).
//   t = iteration + 1
//   p -= p * weight_decay * lr                      (AdamW only; before the Adam step, as Keras)
//   m += (g - m) * (1 - beta_1)
//   v += (g^2 - v) * (1 - beta_2)
//   alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)
//   p -= alpha * m / (sqrt(v) + epsilon)
// epsilon is the paper's "epsilon hat": it is added to the uncorrected sqrt(v), after the bias
// corrections were folded into alpha. PyTorch adds it to sqrt(v_hat) instead; the two agree when
// PyTorch runs with eps_t = epsilon / sqrt(1 - beta_2^t). torch.optim.AdamW decays the same way
// (p *= 1 - lr * weight_decay, first). Keras decays every variable (biases too) unless told
// otherwise, and so does graft. The update is not differentiable.
// One fused op per parameter updates p, m and v in place (graft.AdamUpdate, AdamW through its
// weight_decay attribute); the fast f32 kernel splits the elementwise loop across TBB workers,
// the reference kernel is the same loop serial.
#include <cmath>

#include "absl/strings/str_cat.h"
#include "optim/optimizer.h"
#include "optim/update_op.h"
#include "runtime/parallel.h"

namespace graft::optim {
namespace {

enum AdamInput { kParam = 0, kGrad, kM, kV, kLr, kIteration };

absl::Status CheckAttrs(const AdamUpdateAttrs& a) {
  if (!(a.beta_1 >= 0 && a.beta_1 < 1) || !(a.beta_2 >= 0 && a.beta_2 < 1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "beta_1 and beta_2 must lie in [0, 1), got beta_1 = ", a.beta_1, ", beta_2 = ", a.beta_2));
  }
  return internal::FirstError({internal::ExpectNonNegative("epsilon", a.epsilon),
                               internal::ExpectNonNegative("weight_decay", a.weight_decay)});
}

// Elements [b, e) of the update. Vectorised (GRAFT_VECTOR_CLONES; optim/BUILD's -fno-math-errno
// lets sqrt vectorise, vsqrtps and vdivps round exactly as their scalar forms, and without FMA
// contraction every clone computes the same bits): M2's dense kernel (72,000 parameters) took
// 166 us a step in scalar code with a libm call per element, most of a batch-1 train step.
template <typename T>
GRAFT_VECTOR_CLONES void AdamRange(
    T* __restrict p, const T* __restrict g, T* __restrict m, T* __restrict v, int64_t b, int64_t e,
    T alpha, T one_minus_b1, T one_minus_b2, T eps, bool decay, T decay_rate) {
  for (int64_t i = b; i < e; ++i) {
    const T gi = g[i];
    const T mi = m[i] + (gi - m[i]) * one_minus_b1;
    const T vi = v[i] + (gi * gi - v[i]) * one_minus_b2;
    m[i] = mi;
    v[i] = vi;
    T pi = p[i];
    if (decay) pi -= pi * decay_rate;
    p[i] = pi - mi * alpha / (std::sqrt(vi) + eps);
  }
}

// Each element is computed by one thread in the same order of operations, so the fast and
// reference kernels agree bitwise for f32.
template <typename T, bool kParallel>
class AdamKernel : public internal::UpdateKernel<AdamUpdateAttrs> {
 public:
  absl::Status Run(KernelRunContext& ctx) override {
    const double lr = ctx.input(kLr).AsDouble(0);
    const double iteration = ctx.input(kIteration).AsDouble(0);
    if (!(iteration >= 0)) {
      return absl::InvalidArgumentError(
          absl::StrCat("iteration must be >= 0 (updates applied so far), got ", iteration));
    }
    const double t = iteration + 1;
    // The scalars are computed in double, then rounded once to T.
    const T alpha = static_cast<T>(lr * std::sqrt(1 - std::pow(attrs_.beta_2, t)) /
                                   (1 - std::pow(attrs_.beta_1, t)));
    const T one_minus_b1 = static_cast<T>(1 - attrs_.beta_1);
    const T one_minus_b2 = static_cast<T>(1 - attrs_.beta_2);
    const T eps = static_cast<T>(attrs_.epsilon);
    const bool decay = attrs_.weight_decay != 0;
    const T decay_rate = static_cast<T>(attrs_.weight_decay * lr);
    T* p = ctx.mutable_input(kParam).data<T>();
    const T* g = ctx.input(kGrad).data<T>();
    T* m = ctx.mutable_input(kM).data<T>();
    T* v = ctx.mutable_input(kV).data<T>();
    ForRange(kParallel, ctx.input(kParam).num_elements(), [&](int64_t b, int64_t e) {
      AdamRange<T>(p, g, m, v, b, e, alpha, one_minus_b1, one_minus_b2, eps, decay, decay_rate);
    });
    return absl::OkStatus();
  }
};

GRAFT_REGISTER_OP(
    internal::UpdateOp<AdamUpdateAttrs, AdamKernel>(
        "graft.AdamUpdate",
        "Keras Adam / AdamW, in place: p -= p*wd*lr; m += (g-m)(1-b1); v += (g^2-v)(1-b2); "
        "p -= lr*sqrt(1-b2^t)/(1-b1^t) * m/(sqrt(v)+eps), t = iteration+1",
        {"param", "grad", "m", "v", "lr", "iteration"}, {kParam, kM, kV})
        .Shape([](const ShapeContext& c, const AdamUpdateAttrs& a) {
          return internal::InferUpdate(
              c, CheckAttrs(a), {"param", "grad", "m", "v", "lr", "iteration"}, {kLr, kIteration});
        })
        .PrintAttrs([](const AdamUpdateAttrs& a) {
          return absl::StrCat(
              "beta_1=", a.beta_1, ", beta_2=", a.beta_2, ", epsilon=", a.epsilon,
              a.weight_decay != 0 ? absl::StrCat(", weight_decay=", a.weight_decay) : "");
        }));

// Adam ("adam") and AdamW ("adamw": weight_decay > 0 by default).
class Adam : public Optimizer {
 public:
  Adam(std::string name, LearningRate lr, const AdamUpdateAttrs& attrs)
      : Optimizer(std::move(lr)), name_(std::move(name)), attrs_(attrs) {}

  std::string name() const override { return name_; }

 protected:
  std::vector<std::pair<std::string, double>> Hyperparameters() const override {
    std::vector<std::pair<std::string, double>> c = {
        {"beta_1", attrs_.beta_1}, {"beta_2", attrs_.beta_2}, {"epsilon", attrs_.epsilon}};
    if (name_ == "adamw") c.insert(c.begin(), {"weight_decay", attrs_.weight_decay});
    return c;
  }
  absl::Status CheckOptions() const override { return CheckAttrs(attrs_); }
  UpdateNode Update(Graph& graph, Value param, Value grad, Value learning_rate,
                    Value iteration) override {
    Value m = AddSlot(graph, param, "momentum");
    Value v = AddSlot(graph, param, "velocity");
    return {"graft.AdamUpdate", {param, grad, m, v, learning_rate, iteration}, attrs_};
  }

 private:
  std::string name_;
  AdamUpdateAttrs attrs_;
};

}  // namespace

std::unique_ptr<Optimizer> MakeAdam(const AdamOptions& o) {
  return std::make_unique<Adam>("adam", o.learning_rate,
                                AdamUpdateAttrs{o.beta_1, o.beta_2, o.epsilon});
}

std::unique_ptr<Optimizer> MakeAdamW(const AdamWOptions& o) {
  return std::make_unique<Adam>("adamw", o.learning_rate,
                                AdamUpdateAttrs{o.beta_1, o.beta_2, o.epsilon, o.weight_decay});
}

}  // namespace graft::optim
