// ops/loss.cc — Keras losses, reduced with "sum_over_batch_size" to a scalar.
//   lo = float32(1e-7), hi = float32(1 - 1e-7)  (ops/loss.h kLossClipLo / kLossClipHi)
// Elementwise (the mean over every element = over the last axis, then over the batch):
//   BinaryCrossentropy(t, p)       = mean_i -(t_i log p'_i + (1-t_i) log(1-p'_i)),
//                                    p' = clip(p, lo, hi)
//     dp_i = dL * (-t_i/p_i + (1-t_i)/(1-p_i)) / count, and 0 where p_i < lo or p_i > hi
//   BinaryCrossentropyFromLogits(t, z) = mean_i max(z_i,0) - z_i t_i + log1p(exp(-|z_i|))
//     dz_i = dL * (sigmoid(z_i) - t_i) / count
//   MeanSquaredError(t, p)  = mean_i (p_i - t_i)^2;  dp_i = dL * 2 (p_i - t_i) / count
//   MeanAbsoluteError(t, p) = mean_i |p_i - t_i|;    dp_i = dL * sign(p_i - t_i) / count
// Per row n of y_pred (N, ..., K), with targets t_n: y_true's row (categorical), or the one-hot
// row of the label y_n (sparse: y_true (N,) or (N, 1) holds class indices):
//   Categorical / SparseCategoricalCrossentropy(t, p) = mean_n -sum_j t_nj log(q'_nj),
//                                    q' = clip(p_n / sum_j p_nj, lo, hi)
//     dp_nj = dL * (sum_{i: q_ni unclipped} t_ni / sum_i p_ni - [q_nj unclipped] t_nj/p_nj) / N
//             (sparse: (1/sum_i p_ni - [j == y_n]/p_n,y_n) / N, and 0 for row n when the
//             normalised p_n,y_n was clipped)
//   ...FromLogits(t, z) = mean_n sum_j t_nj logsumexp(z_n) - sum_j t_nj z_nj
//     dz_nj = dL * (sum_i t_ni softmax(z_n)_j - t_nj) / N
//             (sparse: (softmax(z_n)_j - [j == y_n]) / N)
// Sample weights (the optional third input w, shape (N,) for y_pred (N, ...)): Keras's
// reduce_weighted_values with "sum_over_batch_size", sum(w l) / count, the count (elements or
// rows) as without weights, not sum(w). Sample n's weight applies to every one of its elements
// or rows (y_pred (N, L, K): its L rows), as Keras's weighted metrics (reduce_to_samplewise_values)
// and tf.keras 2 apply it; the backward scales sample n's slice of d(y_pred) by w_n.
//   weighted loss = sum_n w_n sum_{i in sample n} l_i / count
//   dx_i          = dL * w_n * dl_i / count           (i in sample n)
// The sums add each sample's terms first and then weigh them: one multiply per sample (per
// block boundary too), and with w = 1 and one item per sample the same bits as without w.
// y_true and w get no gradient. Every kernel computes in double from the stored values and sums in
// fixed blocks in a fixed order, so a loss is bitwise the same whatever the thread count; the
// fast f32 kernels are the reference loops with the blocks (and the backward loops) split across
// TBB workers.
#include "ops/loss.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_format.h"
#include "ops/common.h"
#include "ops/targets.h"

namespace graft::ops {
namespace {

// ---- shape functions ------------------------------------------------------------------------

// Backward: (dloss, y_true, y_pred, sample_weight?) -> d(y_pred), typed as y_pred.
absl::StatusOr<std::vector<TensorType>> InferLossGrad(const ShapeContext& c, TargetCheck check) {
  if (absl::Status s = check(c, 1, 2); !s.ok()) return s;
  if (c.inputs.size() > 3) {
    if (absl::Status s = CheckSampleWeight(c, 3, 2); !s.ok()) return s;
  }
  if (c.inputs[0].shape.rank() != 0 || c.inputs[0].dtype != c.inputs[2].dtype) {
    return ShapeError(c, absl::StrCat("dloss must be a ", DTypeName(c.inputs[2].dtype),
                                      " scalar, got ", c.inputs[0].ToString()));
  }
  return SameAs(c, 2);
}

// ---- per-element and per-row math (double) --------------------------------------------------

double Sigmoid(double z) {
  if (z >= 0) return 1.0 / (1.0 + std::exp(-z));
  const double e = std::exp(z);
  return e / (1.0 + e);
}

// Inside [lo, hi], where the clip passes the gradient (NaN is not).
bool Unclipped(double p) { return p >= kLossClipLo && p <= kLossClipHi; }

struct BceProbs {
  static double Loss(double t, double p) {
    const double q = std::clamp(p, kLossClipLo, kLossClipHi);
    return -(t * std::log(q) + (1.0 - t) * std::log(1.0 - q));
  }
  static double Grad(double t, double p) {
    return Unclipped(p) ? -t / p + (1.0 - t) / (1.0 - p) : 0.0;
  }
};

struct BceLogits {
  static double Loss(double t, double z) {
    return std::max(z, 0.0) - z * t + std::log1p(std::exp(-std::abs(z)));
  }
  static double Grad(double t, double z) { return Sigmoid(z) - t; }
};

struct SquaredError {
  static double Loss(double t, double p) { return (p - t) * (p - t); }
  static double Grad(double t, double p) { return 2 * (p - t); }
};

struct AbsoluteError {
  static double Loss(double t, double p) { return std::abs(p - t); }
  static double Grad(double t, double p) { return p > t ? 1.0 : (p < t ? -1.0 : 0.0); }
};

template <typename T>
double RowSum(const T* x, int64_t k) {
  double sum = 0;
  for (int64_t j = 0; j < k; ++j) sum += x[j];
  return sum;
}

// Crossentropy on probabilities, Keras 3 (normalised, then clipped), for t one row of targets
// (ops/targets.h TargetRows: y_true's row, or the one-hot row of a sparse label):
//   q = p / sum(p),  l = -sum_j t_j log(clip(q_j, lo, hi));
//   dl/dp_i = sum_{j: q_j unclipped} t_j / sum(p)  -  [q_i unclipped] t_i / p_i.
// Classes with t_j = 0 add nothing (their log is finite) and are skipped.
struct CrossentropyProbs {
  template <typename Targets, typename T>
  static double Loss(const Targets& t, const T* p, int64_t k) {
    const double sum = RowSum(p, k);
    double l = 0;
    for (int64_t j = 0; j < k; ++j) {
      if (t[j] != 0) l -= t[j] * std::log(std::clamp(p[j] / sum, kLossClipLo, kLossClipHi));
    }
    return l;
  }
  template <typename Targets, typename T>
  static void Grad(const Targets& t, const T* p, int64_t k, double scale, T* dp) {
    const double sum = RowSum(p, k);
    double passed = 0;  // the targets of the unclipped classes
    for (int64_t j = 0; j < k; ++j) {
      if (t[j] != 0 && Unclipped(p[j] / sum)) passed += t[j];
    }
    for (int64_t j = 0; j < k; ++j) {
      const double own = t[j] != 0 && Unclipped(p[j] / sum) ? t[j] / p[j] : 0.0;
      dp[j] = static_cast<T>(scale * (passed / sum - own));
    }
  }
};

// Crossentropy from logits (TF softmax_cross_entropy_with_logits), for t one row of targets
// (as CrossentropyProbs):
//   l = sum(t) logsumexp(z) - sum_j t_j z_j;  dl/dz_j = sum(t) softmax(z)_j - t_j.
struct CrossentropyLogits {
  // logsumexp(z) = m + log(sum), m = max(z).
  template <typename T>
  static std::pair<double, double> MaxAndExpSum(const T* z, int64_t k) {
    const double m = *std::max_element(z, z + k);
    double sum = 0;
    for (int64_t j = 0; j < k; ++j) sum += std::exp(z[j] - m);
    return {m, sum};
  }
  template <typename Targets, typename T>
  static double Loss(const Targets& t, const T* z, int64_t k) {
    const auto [m, sum] = MaxAndExpSum(z, k);
    const double lse = m + std::log(sum);
    double l = 0;
    for (int64_t j = 0; j < k; ++j) {
      if (t[j] != 0) l += t[j] * (lse - z[j]);
    }
    return l;
  }
  template <typename Targets, typename T>
  static void Grad(const Targets& t, const T* z, int64_t k, double scale, T* dz) {
    const auto [m, sum] = MaxAndExpSum(z, k);
    double t_sum = 0;
    for (int64_t j = 0; j < k; ++j) t_sum += t[j];
    for (int64_t j = 0; j < k; ++j) {
      dz[j] = static_cast<T>(scale * (t_sum * std::exp(z[j] - m) / sum - t[j]));
    }
  }
};

// ---- kernels --------------------------------------------------------------------------------

// Sums f(i) over [0, n) in double, in blocks of a fixed size added up in order: the result does
// not depend on how (or whether) the blocks are spread over threads.
constexpr int64_t kSumBlock = 2048;

// With weights, f(i) of item i counts w_{i / per_sample} times, a sample's items summed first
// (within a block) and then weighed.
template <typename T, typename F>
double BlockedSum(bool parallel, int64_t n, const SampleWeights<T>& sw, const F& f) {
  const int64_t blocks = (n + kSumBlock - 1) / kSumBlock;
  std::vector<double> partial(blocks, 0.0);
  ForRange(
      parallel, blocks,
      [&](int64_t b, int64_t e) {
        for (int64_t k = b; k < e; ++k) {
          double s = 0;
          const int64_t end = std::min(n, (k + 1) * kSumBlock);
          if (sw.w == nullptr) {
            for (int64_t i = k * kSumBlock; i < end; ++i) s += f(i);
          } else {
            for (int64_t i = k * kSumBlock; i < end;) {
              const int64_t sample = i / sw.per_sample;
              const int64_t stop = std::min(end, (sample + 1) * sw.per_sample);
              double part = 0;
              for (; i < stop; ++i) part += f(i);
              s += static_cast<double>(sw.w[sample]) * part;
            }
          }
          partial[k] = s;
        }
      },
      /*grain=*/1);
  double total = 0;
  for (double s : partial) total += s;
  return total;
}

// Calls g(i, scale_i) for every item i in [b, e), scale_i = scale * w_{i / per_sample}: one
// multiply per sample (scale itself when unweighted).
template <typename T, typename G>
void ForWeightedItems(int64_t b, int64_t e, double scale, const SampleWeights<T>& sw, const G& g) {
  if (sw.w == nullptr) {
    for (int64_t i = b; i < e; ++i) g(i, scale);
    return;
  }
  for (int64_t i = b; i < e;) {
    const int64_t sample = i / sw.per_sample;
    const int64_t stop = std::min(e, (sample + 1) * sw.per_sample);
    const double ws = scale * static_cast<double>(sw.w[sample]);
    for (; i < stop; ++i) g(i, ws);
  }
}

// Input i of the node, or null when the node has fewer inputs (an optional one left out).
const Tensor* OptionalInput(const KernelRunContext& ctx, int i) {
  return ctx.num_inputs() > i ? &ctx.input(i) : nullptr;
}

// (y_true, y_pred, w?) -> sum_i w_{sample(i)} Fn::Loss(t_i, x_i) / count.
template <typename Fn, typename T, bool kParallel>
class ElementwiseLossKernel : public Kernel {
 public:
  absl::Status Run(KernelRunContext& ctx) override {
    const Tensor& y_true = ctx.input(0);
    const Tensor& y_pred = ctx.input(1);
    const int64_t n = y_pred.num_elements();
    if (y_true.num_elements() != n) return TargetCountMismatch(y_true, y_pred);
    SampleWeights<T> sw;
    if (absl::Status s = sw.Init(OptionalInput(ctx, 2), y_pred, n); !s.ok()) return s;
    const T* t = y_true.data<T>();
    const T* x = y_pred.data<T>();
    const double sum =
        BlockedSum(kParallel, n, sw, [&](int64_t i) { return Fn::Loss(t[i], x[i]); });
    ctx.output(0).data<T>()[0] = static_cast<T>(n > 0 ? sum / static_cast<double>(n) : 0.0);
    return absl::OkStatus();
  }
};

// (dloss, y_true, y_pred, w?) -> dx_i = dloss * w_{sample(i)} * Fn::Grad(t_i, x_i) / count.
template <typename Fn, typename T, bool kParallel>
class ElementwiseLossGradKernel : public Kernel {
 public:
  absl::Status Run(KernelRunContext& ctx) override {
    const Tensor& y_true = ctx.input(1);
    const Tensor& y_pred = ctx.input(2);
    const int64_t n = y_pred.num_elements();
    if (y_true.num_elements() != n) return TargetCountMismatch(y_true, y_pred);
    SampleWeights<T> sw;
    if (absl::Status s = sw.Init(OptionalInput(ctx, 3), y_pred, n); !s.ok()) return s;
    const double scale = static_cast<double>(ctx.input(0).data<T>()[0]) / static_cast<double>(n);
    const T* t = y_true.data<T>();
    const T* x = y_pred.data<T>();
    T* dx = ctx.output(0).data<T>();
    ForRange(kParallel, n, [&](int64_t b, int64_t e) {
      ForWeightedItems(b, e, scale, sw, [&](int64_t i, double si) {
        dx[i] = static_cast<T>(si * Fn::Grad(t[i], x[i]));
      });
    });
    return absl::OkStatus();
  }
};

// (y_true, y_pred, w?) -> sum over rows r of w_{sample(r)} Fn::Loss(targets_r, y_pred row r),
// over the row count.
template <typename Fn, bool kSparse, typename T, bool kParallel>
class RowLossKernel : public Kernel {
 public:
  absl::Status Run(KernelRunContext& ctx) override {
    TargetRows<kSparse, T> rows;
    if (absl::Status s = rows.Init(ctx.input(0), ctx.input(1)); !s.ok()) return s;
    const int64_t n = rows.rows();
    SampleWeights<T> sw;
    if (absl::Status s = sw.Init(OptionalInput(ctx, 2), ctx.input(1), n); !s.ok()) return s;
    const double sum = BlockedSum(kParallel, n, sw, [&](int64_t r) {
      return Fn::Loss(rows.targets(r), rows.x(r), rows.k());
    });
    ctx.output(0).data<T>()[0] = static_cast<T>(n > 0 ? sum / static_cast<double>(n) : 0.0);
    return absl::OkStatus();
  }
};

// (dloss, y_true, y_pred, w?) -> dx row r = Fn::Grad(targets_r, y_pred row r,
// dloss * w_{sample(r)} / rows).
template <typename Fn, bool kSparse, typename T, bool kParallel>
class RowLossGradKernel : public Kernel {
 public:
  absl::Status Run(KernelRunContext& ctx) override {
    TargetRows<kSparse, T> rows;
    if (absl::Status s = rows.Init(ctx.input(1), ctx.input(2)); !s.ok()) return s;
    const int64_t n = rows.rows(), k = rows.k();
    SampleWeights<T> sw;
    if (absl::Status s = sw.Init(OptionalInput(ctx, 3), ctx.input(2), n); !s.ok()) return s;
    const double scale = static_cast<double>(ctx.input(0).data<T>()[0]) / static_cast<double>(n);
    T* dx = ctx.output(0).data<T>();
    ForRange(
        kParallel, n,
        [&](int64_t b, int64_t e) {
          ForWeightedItems(b, e, scale, sw, [&](int64_t r, double sr) {
            Fn::Grad(rows.targets(r), rows.x(r), k, sr, dx + r * k);
          });
        },
        /*grain=*/std::max<int64_t>(1, (int64_t{1} << 14) / std::max<int64_t>(k, 1)));
    return absl::OkStatus();
  }
};

template <typename Fn>
struct ElementwiseLoss {
  template <typename T>
  using Reference = ElementwiseLossKernel<Fn, T, false>;
  using FastF32 = ElementwiseLossKernel<Fn, float, true>;
  template <typename T>
  using GradReference = ElementwiseLossGradKernel<Fn, T, false>;
  using GradFastF32 = ElementwiseLossGradKernel<Fn, float, true>;
};
template <typename Fn, bool kSparse>
struct RowLoss {
  template <typename T>
  using Reference = RowLossKernel<Fn, kSparse, T, false>;
  using FastF32 = RowLossKernel<Fn, kSparse, float, true>;
  template <typename T>
  using GradReference = RowLossGradKernel<Fn, kSparse, T, false>;
  using GradFastF32 = RowLossGradKernel<Fn, kSparse, float, true>;
};

// ---- registration ---------------------------------------------------------------------------

// d(y_pred) = grad_op(dloss, y_true, y_pred, sample_weight?); y_true and the weights get none
// (they are data, as in Keras).
GradFn LossGrad(std::string grad_op) {
  return [grad_op](GradContext& g) -> GradResult {
    Grads grads(g.num_inputs(), std::nullopt);
    if (!g.needs_input_grad(1)) return grads;
    std::vector<Value> inputs = {*g.output_grad(0), g.input(0), g.input(1)};
    if (g.num_inputs() > 2) inputs.push_back(g.input(2));
    absl::StatusOr<Value> dx = g.graph().Add(grad_op, inputs);
    if (!dx.ok()) return dx.status();
    grads[1] = *dx;
    return grads;
  };
}

// "graft.<name>": (y_true, y_pred, sample_weight?) -> loss.
template <typename Kernels>
OpDef<NoAttrs> LossOp(const std::string& name, TargetCheck check, std::string doc) {
  OpDef<NoAttrs> def("graft." + name);
  def.Doc(std::move(doc) + "; with sample_weight w (N,): sum(w l) / count")
      .Inputs({"y_true", "y_pred", "sample_weight?"})
      .Outputs({"loss"})
      .Shape(
          [check](const ShapeContext& c, const NoAttrs&) { return InferScalarOfTargets(c, check); })
      .template Kernel<typename Kernels::FastF32>(DType::kF32)
      .template Reference<Kernels::template Reference>()
      .Grad(LossGrad("graft." + name + "Grad"));
  return def;
}

// "graft.<name>Grad": (dloss, y_true, y_pred, sample_weight?) -> d(y_pred).
template <typename Kernels>
OpDef<NoAttrs> LossGradOp(const std::string& name, TargetCheck check, std::string doc) {
  OpDef<NoAttrs> def("graft." + name + "Grad");
  def.Doc(std::move(doc) + "; with sample_weight w (N,): sample n's rows scaled by w_n")
      .Inputs({"dloss", "y_true", "y_pred", "sample_weight?"})
      .Outputs({"dy_pred"})
      .Shape([check](const ShapeContext& c, const NoAttrs&) { return InferLossGrad(c, check); })
      .template Kernel<typename Kernels::GradFastF32>(DType::kF32)
      .template Reference<Kernels::template GradReference>();
  return def;
}

using Scce = RowLoss<CrossentropyProbs, /*kSparse=*/true>;
using ScceFromLogits = RowLoss<CrossentropyLogits, /*kSparse=*/true>;
using Cce = RowLoss<CrossentropyProbs, /*kSparse=*/false>;
using CceFromLogits = RowLoss<CrossentropyLogits, /*kSparse=*/false>;

// Registers "graft.<name>" and its backward op "graft.<name>Grad".
#define GRAFT_REGISTER_LOSS(Kernels, name, check, doc, grad_doc) \
  GRAFT_REGISTER_OP(LossOp<Kernels>(name, check, doc));          \
  GRAFT_REGISTER_OP(LossGradOp<Kernels>(name, check, grad_doc))

GRAFT_REGISTER_LOSS(
    ElementwiseLoss<BceProbs>, "BinaryCrossentropy", CheckBinaryTargets,
    "mean(-(t log p' + (1-t) log(1-p'))), p' = clip(p, float32(1e-7), float32(1-1e-7))",
    "dp = dloss * (-t/p + (1-t)/(1-p)) / count; 0 where p was clipped");
GRAFT_REGISTER_LOSS(ElementwiseLoss<BceLogits>, "BinaryCrossentropyFromLogits", CheckBinaryTargets,
                    "mean(max(z, 0) - z t + log1p(exp(-|z|)))",
                    "dz = dloss * (sigmoid(z) - t) / count");
GRAFT_REGISTER_LOSS(
    Scce, "SparseCategoricalCrossentropy", CheckSparseTargets,
    "mean_n -log(clip(p_n / sum(p_n), float32(1e-7), float32(1-1e-7))[y_n])",
    "dp_nj = dloss * (1/sum(p_n) - [j == y_n]/p_n,y_n) / N; 0 for row n if it was clipped");
GRAFT_REGISTER_LOSS(ScceFromLogits, "SparseCategoricalCrossentropyFromLogits", CheckSparseTargets,
                    "mean_n logsumexp(z_n) - z_n,y_n",
                    "dz_n = dloss * (softmax(z_n) - onehot(y_n)) / N");
GRAFT_REGISTER_LOSS(
    Cce, "CategoricalCrossentropy", CheckCategoricalTargets,
    "mean_n -sum_j t_nj log(clip(p_nj / sum(p_n), float32(1e-7), float32(1-1e-7)))",
    "dp_nj = dloss * (sum_{i unclipped} t_ni / sum(p_n) - [j unclipped] t_nj / p_nj) / N");
GRAFT_REGISTER_LOSS(CceFromLogits, "CategoricalCrossentropyFromLogits", CheckCategoricalTargets,
                    "mean_n sum(t_n) logsumexp(z_n) - sum_j t_nj z_nj",
                    "dz_n = dloss * (sum(t_n) softmax(z_n) - t_n) / N");
GRAFT_REGISTER_LOSS(ElementwiseLoss<SquaredError>, "MeanSquaredError", CheckBinaryTargets,
                    "mean((p - t)^2)", "dp = dloss * 2 (p - t) / count");
GRAFT_REGISTER_LOSS(ElementwiseLoss<AbsoluteError>, "MeanAbsoluteError", CheckBinaryTargets,
                    "mean(|p - t|)", "dp = dloss * sign(p - t) / count, sign(0) = 0");

#undef GRAFT_REGISTER_LOSS

}  // namespace

namespace {
// The loss node: (y_true, y_pred) or (y_true, y_pred, sample_weight).
absl::StatusOr<Value> AddLoss(Graph& g, const char* op, Value y_true, Value y_pred,
                              std::optional<Value> sample_weight) {
  if (sample_weight.has_value()) return g.Add(op, {y_true, y_pred, *sample_weight});
  return g.Add(op, {y_true, y_pred});
}
}  // namespace

absl::StatusOr<Value> BinaryCrossentropy(Graph& g, Value y_true, Value y_pred,
                                         std::optional<Value> sample_weight) {
  return AddLoss(g, "graft.BinaryCrossentropy", y_true, y_pred, sample_weight);
}

absl::StatusOr<Value> BinaryCrossentropyFromLogits(Graph& g, Value y_true, Value logits,
                                                   std::optional<Value> sample_weight) {
  return AddLoss(g, "graft.BinaryCrossentropyFromLogits", y_true, logits, sample_weight);
}

absl::StatusOr<Value> SparseCategoricalCrossentropy(Graph& g, Value y_true, Value y_pred,
                                                    std::optional<Value> sample_weight) {
  return AddLoss(g, "graft.SparseCategoricalCrossentropy", y_true, y_pred, sample_weight);
}

absl::StatusOr<Value> SparseCategoricalCrossentropyFromLogits(Graph& g, Value y_true, Value logits,
                                                              std::optional<Value> sample_weight) {
  return AddLoss(g, "graft.SparseCategoricalCrossentropyFromLogits", y_true, logits, sample_weight);
}

absl::StatusOr<Value> CategoricalCrossentropy(Graph& g, Value y_true, Value y_pred,
                                              std::optional<Value> sample_weight) {
  return AddLoss(g, "graft.CategoricalCrossentropy", y_true, y_pred, sample_weight);
}

absl::StatusOr<Value> CategoricalCrossentropyFromLogits(Graph& g, Value y_true, Value logits,
                                                        std::optional<Value> sample_weight) {
  return AddLoss(g, "graft.CategoricalCrossentropyFromLogits", y_true, logits, sample_weight);
}

absl::StatusOr<Value> MeanSquaredError(Graph& g, Value y_true, Value y_pred,
                                       std::optional<Value> sample_weight) {
  return AddLoss(g, "graft.MeanSquaredError", y_true, y_pred, sample_weight);
}

absl::StatusOr<Value> MeanAbsoluteError(Graph& g, Value y_true, Value y_pred,
                                        std::optional<Value> sample_weight) {
  return AddLoss(g, "graft.MeanAbsoluteError", y_true, y_pred, sample_weight);
}

}  // namespace graft::ops
