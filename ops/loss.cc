// ops/loss.cc — Keras crossentropy losses, reduced with "sum_over_batch_size" to a scalar.
//   lo = float32(1e-7), hi = float32(1 - 1e-7)  (ops/loss.h kLossClipLo / kLossClipHi)
//   BinaryCrossentropy(t, p)       = mean_i -(t_i log p'_i + (1-t_i) log(1-p'_i)),
//                                    p' = clip(p, lo, hi)          (mean over every element)
//     dp_i = dL * (-t_i/p_i + (1-t_i)/(1-p_i)) / count, and 0 where p_i < lo or p_i > hi
//   BinaryCrossentropyFromLogits(t, z) = mean_i max(z_i,0) - z_i t_i + log1p(exp(-|z_i|))
//     dz_i = dL * (sigmoid(z_i) - t_i) / count
//   SparseCategoricalCrossentropy(y, p) = mean_n -log(clip(p_n / sum_j p_nj, lo, hi)[y_n])
//     dp_nj = dL * (1/sum_j p_nj - [j == y_n]/p_n,y_n) / N, and 0 for row n when the
//             normalised p_n,y_n was clipped
//   SparseCategoricalCrossentropyFromLogits(y, z) = mean_n logsumexp(z_n) - z_n,y_n
//     dz_nj = dL * (softmax(z_n)_j - [j == y_n]) / N
// y_true gets no gradient. Every kernel computes in double from the stored values and sums in
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

using ShapeCheck = absl::Status (*)(const ShapeContext&, int, int);

// Forward: (y_true, y_pred) -> a scalar of y_pred's dtype.
absl::StatusOr<std::vector<TensorType>> InferLoss(const ShapeContext& c, ShapeCheck check) {
  if (absl::Status s = check(c, 0, 1); !s.ok()) return s;
  return std::vector<TensorType>{{c.inputs[1].dtype, Shape{}}};
}

// Backward: (dloss, y_true, y_pred) -> d(y_pred), typed as y_pred.
absl::StatusOr<std::vector<TensorType>> InferLossGrad(const ShapeContext& c, ShapeCheck check) {
  if (absl::Status s = check(c, 1, 2); !s.ok()) return s;
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

struct ScceProbs {
  template <typename T>
  static double Loss(int64_t y, const T* p, int64_t k) {
    double sum = 0;
    for (int64_t j = 0; j < k; ++j) sum += p[j];
    return -std::log(std::clamp(p[y] / sum, kLossClipLo, kLossClipHi));
  }
  template <typename T>
  static void Grad(int64_t y, const T* p, int64_t k, double scale, T* dp) {
    double sum = 0;
    for (int64_t j = 0; j < k; ++j) sum += p[j];
    if (!Unclipped(p[y] / sum)) {
      std::fill(dp, dp + k, T(0));
      return;
    }
    for (int64_t j = 0; j < k; ++j) dp[j] = static_cast<T>(scale / sum);
    dp[y] = static_cast<T>(scale * (1.0 / sum - 1.0 / p[y]));
  }
};

struct ScceLogits {
  template <typename T>
  static double Loss(int64_t y, const T* z, int64_t k) {
    const double m = *std::max_element(z, z + k);
    double sum = 0;
    for (int64_t j = 0; j < k; ++j) sum += std::exp(z[j] - m);
    return m + std::log(sum) - z[y];
  }
  template <typename T>
  static void Grad(int64_t y, const T* z, int64_t k, double scale, T* dz) {
    const double m = *std::max_element(z, z + k);
    double sum = 0;
    for (int64_t j = 0; j < k; ++j) sum += std::exp(z[j] - m);
    for (int64_t j = 0; j < k; ++j) {
      dz[j] = static_cast<T>(scale * (std::exp(z[j] - m) / sum - (j == y ? 1.0 : 0.0)));
    }
  }
};

// ---- kernels --------------------------------------------------------------------------------

// Sums f(i) over [0, n) in double, in blocks of a fixed size added up in order: the result does
// not depend on how (or whether) the blocks are spread over threads.
constexpr int64_t kSumBlock = 2048;

template <typename F>
double BlockedSum(bool parallel, int64_t n, const F& f) {
  const int64_t blocks = (n + kSumBlock - 1) / kSumBlock;
  std::vector<double> partial(blocks, 0.0);
  ForRange(
      parallel, blocks,
      [&](int64_t b, int64_t e) {
        for (int64_t k = b; k < e; ++k) {
          double s = 0;
          const int64_t end = std::min(n, (k + 1) * kSumBlock);
          for (int64_t i = k * kSumBlock; i < end; ++i) s += f(i);
          partial[k] = s;
        }
      },
      /*grain=*/1);
  double total = 0;
  for (double s : partial) total += s;
  return total;
}

// (y_true, y_pred) -> mean_i Fn::Loss(t_i, x_i).
template <typename Fn, typename T, bool kParallel>
class ElementwiseLossKernel : public Kernel {
 public:
  absl::Status Run(KernelRunContext& ctx) override {
    const Tensor& y_true = ctx.input(0);
    const Tensor& y_pred = ctx.input(1);
    const int64_t n = y_pred.num_elements();
    if (y_true.num_elements() != n) return TargetCountMismatch(y_true, y_pred);
    const T* t = y_true.data<T>();
    const T* x = y_pred.data<T>();
    const double sum = BlockedSum(kParallel, n, [&](int64_t i) { return Fn::Loss(t[i], x[i]); });
    ctx.output(0).data<T>()[0] = static_cast<T>(n > 0 ? sum / static_cast<double>(n) : 0.0);
    return absl::OkStatus();
  }
};

// (dloss, y_true, y_pred) -> dx_i = dloss * Fn::Grad(t_i, x_i) / count.
template <typename Fn, typename T, bool kParallel>
class ElementwiseLossGradKernel : public Kernel {
 public:
  absl::Status Run(KernelRunContext& ctx) override {
    const Tensor& y_true = ctx.input(1);
    const Tensor& y_pred = ctx.input(2);
    const int64_t n = y_pred.num_elements();
    if (y_true.num_elements() != n) return TargetCountMismatch(y_true, y_pred);
    const double scale = static_cast<double>(ctx.input(0).data<T>()[0]) / static_cast<double>(n);
    const T* t = y_true.data<T>();
    const T* x = y_pred.data<T>();
    T* dx = ctx.output(0).data<T>();
    ForRange(kParallel, n, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) dx[i] = static_cast<T>(scale * Fn::Grad(t[i], x[i]));
    });
    return absl::OkStatus();
  }
};

// (labels (N,) or (N, 1), y_pred (N, K)) -> mean_n Fn::Loss(label_n, row_n).
template <typename Fn, typename T, bool kParallel>
class RowLossKernel : public Kernel {
 public:
  absl::Status Run(KernelRunContext& ctx) override {
    const Tensor& y_true = ctx.input(0);
    const Tensor& y_pred = ctx.input(1);
    const int64_t n = y_pred.shape().dim(0), k = y_pred.shape().dim(1);
    if (y_true.num_elements() != n) return TargetCountMismatch(y_true, y_pred);
    const T* labels = y_true.data<T>();
    if (absl::Status s = CheckLabels(labels, n, k); !s.ok()) return s;
    const T* x = y_pred.data<T>();
    const double sum = BlockedSum(kParallel, n, [&](int64_t r) {
      return Fn::Loss(static_cast<int64_t>(labels[r]), x + r * k, k);
    });
    ctx.output(0).data<T>()[0] = static_cast<T>(n > 0 ? sum / static_cast<double>(n) : 0.0);
    return absl::OkStatus();
  }
};

// (dloss, labels, y_pred) -> dx row n = Fn::Grad(label_n, row_n, dloss / N).
template <typename Fn, typename T, bool kParallel>
class RowLossGradKernel : public Kernel {
 public:
  absl::Status Run(KernelRunContext& ctx) override {
    const Tensor& y_true = ctx.input(1);
    const Tensor& y_pred = ctx.input(2);
    const int64_t n = y_pred.shape().dim(0), k = y_pred.shape().dim(1);
    if (y_true.num_elements() != n) return TargetCountMismatch(y_true, y_pred);
    const T* labels = y_true.data<T>();
    if (absl::Status s = CheckLabels(labels, n, k); !s.ok()) return s;
    const double scale = static_cast<double>(ctx.input(0).data<T>()[0]) / static_cast<double>(n);
    const T* x = y_pred.data<T>();
    T* dx = ctx.output(0).data<T>();
    ForRange(
        kParallel, n,
        [&](int64_t b, int64_t e) {
          for (int64_t r = b; r < e; ++r) {
            Fn::Grad(static_cast<int64_t>(labels[r]), x + r * k, k, scale, dx + r * k);
          }
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
template <typename Fn>
struct RowLoss {
  template <typename T>
  using Reference = RowLossKernel<Fn, T, false>;
  using FastF32 = RowLossKernel<Fn, float, true>;
  template <typename T>
  using GradReference = RowLossGradKernel<Fn, T, false>;
  using GradFastF32 = RowLossGradKernel<Fn, float, true>;
};

// ---- registration ---------------------------------------------------------------------------

// d(y_pred) = grad_op(dloss, y_true, y_pred); y_true gets none.
GradFn LossGrad(std::string grad_op) {
  return [grad_op](GradContext& g) -> GradResult {
    if (!g.needs_input_grad(1)) return Grads{std::nullopt, std::nullopt};
    absl::StatusOr<Value> dx = g.graph().Add(grad_op, {*g.output_grad(0), g.input(0), g.input(1)});
    if (!dx.ok()) return dx.status();
    return Grads{std::nullopt, *dx};
  };
}

// "graft.<name>": (y_true, y_pred) -> loss.
template <typename Kernels>
OpDef<NoAttrs> LossOp(const std::string& name, ShapeCheck check, std::string doc) {
  OpDef<NoAttrs> def("graft." + name);
  def.Doc(std::move(doc))
      .Inputs({"y_true", "y_pred"})
      .Outputs({"loss"})
      .Shape([check](const ShapeContext& c, const NoAttrs&) { return InferLoss(c, check); })
      .template Kernel<typename Kernels::FastF32>(DType::kF32)
      .template Reference<Kernels::template Reference>()
      .Grad(LossGrad("graft." + name + "Grad"));
  return def;
}

// "graft.<name>Grad": (dloss, y_true, y_pred) -> d(y_pred).
template <typename Kernels>
OpDef<NoAttrs> LossGradOp(const std::string& name, ShapeCheck check, std::string doc) {
  OpDef<NoAttrs> def("graft." + name + "Grad");
  def.Doc(std::move(doc))
      .Inputs({"dloss", "y_true", "y_pred"})
      .Outputs({"dy_pred"})
      .Shape([check](const ShapeContext& c, const NoAttrs&) { return InferLossGrad(c, check); })
      .template Kernel<typename Kernels::GradFastF32>(DType::kF32)
      .template Reference<Kernels::template GradReference>();
  return def;
}

using Bce = ElementwiseLoss<BceProbs>;
using BceFromLogits = ElementwiseLoss<BceLogits>;
using Scce = RowLoss<ScceProbs>;
using ScceFromLogits = RowLoss<ScceLogits>;

GRAFT_REGISTER_OP(LossOp<Bce>(
    "BinaryCrossentropy", CheckBinaryTargets,
    "mean(-(t log p' + (1-t) log(1-p'))), p' = clip(p, float32(1e-7), float32(1-1e-7))"));
GRAFT_REGISTER_OP(
    LossGradOp<Bce>("BinaryCrossentropy", CheckBinaryTargets,
                    "dp = dloss * (-t/p + (1-t)/(1-p)) / count; 0 where p was clipped"));
GRAFT_REGISTER_OP(LossOp<BceFromLogits>("BinaryCrossentropyFromLogits", CheckBinaryTargets,
                                        "mean(max(z, 0) - z t + log1p(exp(-|z|)))"));
GRAFT_REGISTER_OP(LossGradOp<BceFromLogits>("BinaryCrossentropyFromLogits", CheckBinaryTargets,
                                            "dz = dloss * (sigmoid(z) - t) / count"));
GRAFT_REGISTER_OP(
    LossOp<Scce>("SparseCategoricalCrossentropy", CheckSparseTargets,
                 "mean_n -log(clip(p_n / sum(p_n), float32(1e-7), float32(1-1e-7))[y_n])"));
GRAFT_REGISTER_OP(LossGradOp<Scce>(
    "SparseCategoricalCrossentropy", CheckSparseTargets,
    "dp_nj = dloss * (1/sum(p_n) - [j == y_n]/p_n,y_n) / N; 0 for row n if it was clipped"));
GRAFT_REGISTER_OP(LossOp<ScceFromLogits>("SparseCategoricalCrossentropyFromLogits",
                                         CheckSparseTargets, "mean_n logsumexp(z_n) - z_n,y_n"));
GRAFT_REGISTER_OP(LossGradOp<ScceFromLogits>("SparseCategoricalCrossentropyFromLogits",
                                             CheckSparseTargets,
                                             "dz_n = dloss * (softmax(z_n) - onehot(y_n)) / N"));

}  // namespace

absl::StatusOr<Value> BinaryCrossentropy(Graph& g, Value y_true, Value y_pred) {
  return g.Add("graft.BinaryCrossentropy", {y_true, y_pred});
}

absl::StatusOr<Value> BinaryCrossentropyFromLogits(Graph& g, Value y_true, Value logits) {
  return g.Add("graft.BinaryCrossentropyFromLogits", {y_true, logits});
}

absl::StatusOr<Value> SparseCategoricalCrossentropy(Graph& g, Value y_true, Value y_pred) {
  return g.Add("graft.SparseCategoricalCrossentropy", {y_true, y_pred});
}

absl::StatusOr<Value> SparseCategoricalCrossentropyFromLogits(Graph& g, Value y_true,
                                                              Value logits) {
  return g.Add("graft.SparseCategoricalCrossentropyFromLogits", {y_true, logits});
}

}  // namespace graft::ops
