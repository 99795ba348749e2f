// optim/adam.cc — Adam as Keras 3 defines it (keras/optimizers/adam.py, amsgrad=False).
//   t = iteration + 1
//   m += (g - m) * (1 - beta_1)
//   v += (g^2 - v) * (1 - beta_2)
//   alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)
//   p -= alpha * m / (sqrt(v) + epsilon)
// epsilon is the paper's "epsilon hat": it is added to the uncorrected sqrt(v), after the bias
// corrections were folded into alpha. PyTorch adds it to sqrt(v_hat) instead; the two agree when
// PyTorch runs with eps_t = epsilon / sqrt(1 - beta_2^t). The update is not differentiable.
// One fused op per parameter updates p, m and v in place (graft.AdamUpdate); the fast f32 kernel
// splits the elementwise loop across TBB workers, the reference kernel is the same loop serial.
#include <cmath>

#include "absl/strings/str_cat.h"
#include "ops/common.h"
#include "optim/optimizer.h"

namespace graft::optim {
namespace {

enum AdamInput { kParam = 0, kGrad, kM, kV, kLr, kIteration };

absl::StatusOr<std::vector<TensorType>> InferAdamUpdate(const ShapeContext& c,
                                                        const AdamUpdateAttrs& a) {
  if (!(a.beta_1 >= 0 && a.beta_1 < 1) || !(a.beta_2 >= 0 && a.beta_2 < 1)) {
    return ops::ShapeError(c, absl::StrCat("beta_1 and beta_2 must lie in [0, 1), got beta_1 = ",
                                           a.beta_1, ", beta_2 = ", a.beta_2));
  }
  if (!(a.epsilon >= 0)) {
    return ops::ShapeError(c, absl::StrCat("epsilon must be >= 0, got ", a.epsilon));
  }
  if (absl::Status s = ops::ExpectFloat(c, kParam); !s.ok()) return s;
  constexpr const char* kNames[] = {"param", "grad", "m", "v"};
  for (int i : {kGrad, kM, kV}) {
    if (!(c.inputs[i] == c.inputs[kParam])) {
      return ops::ShapeError(
          c, absl::StrCat(kNames[i], " must have the type of param, ", c.inputs[kParam].ToString(),
                          ", got ", c.inputs[i].ToString()));
    }
  }
  for (int i : {kLr, kIteration}) {
    if (absl::Status s = ops::ExpectFloat(c, i, /*rank=*/0); !s.ok()) return s;
  }
  return std::vector<TensorType>{};
}

// The fast (kParallel) and reference kernels differ only in how the loop is split; each element
// is computed by one thread in the same order of operations, so they agree bitwise for f32.
template <typename T, bool kParallel>
class AdamKernel : public Kernel {
 public:
  absl::Status Init(const KernelInitContext& c) override {
    attrs_ = c.attrs<AdamUpdateAttrs>();
    return absl::OkStatus();
  }
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
    T* p = ctx.mutable_input(kParam).data<T>();
    const T* g = ctx.input(kGrad).data<T>();
    T* m = ctx.mutable_input(kM).data<T>();
    T* v = ctx.mutable_input(kV).data<T>();
    ops::ForRange(kParallel, ctx.input(kParam).num_elements(), [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        const T gi = g[i];
        const T mi = m[i] + (gi - m[i]) * one_minus_b1;
        const T vi = v[i] + (gi * gi - v[i]) * one_minus_b2;
        m[i] = mi;
        v[i] = vi;
        p[i] -= mi * alpha / (std::sqrt(vi) + eps);
      }
    });
    return absl::OkStatus();
  }

 private:
  AdamUpdateAttrs attrs_;
};

template <typename T>
using ReferenceAdam = AdamKernel<T, false>;

GRAFT_REGISTER_OP(OpDef<AdamUpdateAttrs>("graft.AdamUpdate")
                      .Doc("Keras Adam, in place: m += (g-m)(1-b1); v += (g^2-v)(1-b2); "
                           "p -= lr*sqrt(1-b2^t)/(1-b1^t) * m/(sqrt(v)+eps), t = iteration+1")
                      .Inputs({"param", "grad", "m", "v", "lr", "iteration"})
                      .Outputs({})
                      .Mutates({kParam, kM, kV})
                      .Shape(InferAdamUpdate)
                      .PrintAttrs([](const AdamUpdateAttrs& a) {
                        return absl::StrCat("beta_1=", a.beta_1, ", beta_2=", a.beta_2,
                                            ", epsilon=", a.epsilon);
                      })
                      .Kernel<AdamKernel<float, true>>(DType::kF32)
                      .Reference<ReferenceAdam>());

class Adam : public Optimizer {
 public:
  explicit Adam(const AdamOptions& o)
      : Optimizer(o.learning_rate), attrs_{o.beta_1, o.beta_2, o.epsilon} {}

  std::string name() const override { return "adam"; }

  absl::StatusOr<std::vector<int>> AppendUpdates(Graph& graph, const std::vector<Value>& params,
                                                 const std::vector<Value>& grads,
                                                 Value learning_rate, Value iteration) override {
    if (absl::Status s = CheckUpdateArguments(graph, params, grads, learning_rate, iteration);
        !s.ok()) {
      return s;
    }
    std::vector<int> updates;
    for (size_t i = 0; i < params.size(); ++i) {
      Value m = AddSlot(graph, params[i], "momentum");
      Value v = AddSlot(graph, params[i], "velocity");
      std::string scope = graph.SetNameScope("");
      absl::StatusOr<std::vector<Value>> out =
          graph.AddNode("graft.AdamUpdate", {params[i], grads[i], m, v, learning_rate, iteration},
                        attrs_, UpdateName(graph, params[i]));
      graph.SetNameScope(std::move(scope));
      if (!out.ok()) return out.status();
      updates.push_back(graph.num_nodes() - 1);
    }
    return updates;
  }

 private:
  AdamUpdateAttrs attrs_;
};

}  // namespace

std::unique_ptr<Optimizer> MakeAdam(const AdamOptions& options) {
  return std::make_unique<Adam>(options);
}

}  // namespace graft::optim
