// ops/batchnorm.cc — BatchNormalization over the last axis (Keras), and the moving averages.
// x is seen as a (R, C) matrix: C = x.shape[-1] channels, R = the product of the other dims.
//   BatchNormTraining(x, gamma, beta) -> (y, mean, var):
//     mean_c = sum_r x_rc / R,   var_c = sum_r (x_rc - mean_c)^2 / R          (biased)
//     rstd_c = 1 / sqrt(var_c + eps),  xhat = (x - mean_c) rstd_c,  y = gamma_c xhat + beta_c
//   BatchNormTrainingBackward(dy, x, gamma, mean, var) -> (dx, dgamma, dbeta):
//     dbeta_c = sum_r dy_rc,  dgamma_c = sum_r dy_rc xhat_rc
//     dx = gamma_c rstd_c (dy - dbeta_c / R - xhat dgamma_c / R)
//   BatchNormStatsGrad(x, mean, dmean, dvar) -> dx = (dmean_c + 2 dvar_c (x - mean_c)) / R:
//     the part of dx that flows back through the statistics outputs themselves (added to the
//     above only when something differentiable reads mean or var; the moving-average updates
//     do not).
//   BatchNormInference(x, gamma, beta, mm, mv) -> y: as training with mean = mm, var = mv;
//   BatchNormInferenceBackward(dy, x, gamma, mm, mv): dx = gamma_c rstd_c dy, dgamma and dbeta
//     as above; mm and mv are constants (no gradient).
//   MovingAverageUpdate(moving, value): moving = moving * momentum + value * (1 - momentum),
//     in place (Keras's convention; not differentiable).
// Fast f32 kernels: oneDNN batch_normalization forward / backward (use_scale | use_shift, plus
// use_global_stats for inference) on the plain buffers seen as nwc / nhwc / ndhwc (rank 3..5)
// or as a 2-D (R, C) `nc` matrix (other ranks); TBB loops for
// the statistics gradient and the update. Reference kernels: loops for f32 and f64 that
// accumulate in double, the variance in two passes.
#include "ops/batchnorm.h"

#include <cmath>
#include <cstring>
#include <initializer_list>
#include <string>
#include <vector>

#include "ops/common.h"
#include "ops/core.h"
#include "ops/onednn/onednn.h"

namespace graft::ops {
namespace {

namespace on = ::graft::onednn;

// Inputs of the backward ops.
enum BackwardInput { kDy = 0, kX, kGamma, kMean, kVariance };

// ---- shape functions ------------------------------------------------------------------------

std::string Describe(const BatchNormAttrs& a) { return absl::StrCat("epsilon=", a.epsilon); }

// x (input xi) is floating, of rank >= 2, with a known positive channel count: returns C.
absl::StatusOr<int64_t> ExpectChannelsLast(const ShapeContext& c, int xi, const BatchNormAttrs& a) {
  if (!(a.epsilon >= 0 && std::isfinite(a.epsilon))) {
    return ShapeError(c, absl::StrCat("epsilon must be a finite number >= 0, got ", a.epsilon));
  }
  if (absl::Status s = ExpectFloat(c, xi); !s.ok()) return s;
  const Shape& x = c.inputs[xi].shape;
  if (x.rank() < 2) {
    return ShapeError(c, absl::StrCat("expected x of rank >= 2 (batch, ..., channels), got shape ",
                                      x.ToString()));
  }
  if (x.dim(-1) <= 0) {
    return ShapeError(c, absl::StrCat("the channel dimension (x's last) must be known and "
                                      "positive, got x shape ",
                                      x.ToString()));
  }
  return x.dim(-1);
}

// Inputs first, first + 1, ... are per-channel vectors: x's dtype, shape (C,).
absl::Status ExpectChannelVectors(const ShapeContext& c, int xi, int first,
                                  std::initializer_list<const char*> names) {
  const TensorType& x = c.inputs[xi];
  const TensorType want{x.dtype, Shape{x.shape.dim(-1)}};
  int i = first;
  for (const char* name : names) {
    if (c.inputs[i] != want) {
      return ShapeError(
          c, absl::StrCat(name, " must be ", want.ToString(), " (one value per channel of x ",
                          x.ToString(), "), got ", c.inputs[i].ToString()));
    }
    ++i;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<TensorType>> InferTraining(const ShapeContext& c,
                                                      const BatchNormAttrs& a) {
  absl::StatusOr<int64_t> ch = ExpectChannelsLast(c, 0, a);
  if (!ch.ok()) return ch.status();
  if (absl::Status s = ExpectChannelVectors(c, 0, 1, {"gamma", "beta"}); !s.ok()) return s;
  const TensorType stat{c.inputs[0].dtype, Shape{*ch}};
  return std::vector<TensorType>{c.inputs[0], stat, stat};
}

absl::StatusOr<std::vector<TensorType>> InferInference(const ShapeContext& c,
                                                       const BatchNormAttrs& a) {
  absl::StatusOr<int64_t> ch = ExpectChannelsLast(c, 0, a);
  if (!ch.ok()) return ch.status();
  if (absl::Status s =
          ExpectChannelVectors(c, 0, 1, {"gamma", "beta", "moving_mean", "moving_variance"});
      !s.ok()) {
    return s;
  }
  return SameAs(c, 0);
}

// (dy, x, gamma, mean, variance) -> (dx, dgamma, dbeta)
absl::StatusOr<std::vector<TensorType>> InferBackward(const ShapeContext& c,
                                                      const BatchNormAttrs& a) {
  absl::StatusOr<int64_t> ch = ExpectChannelsLast(c, kX, a);
  if (!ch.ok()) return ch.status();
  if (c.inputs[kDy] != c.inputs[kX]) {
    return ShapeError(c, absl::StrCat("dy must have x's type ", c.inputs[kX].ToString(), ", got ",
                                      c.inputs[kDy].ToString()));
  }
  if (absl::Status s = ExpectChannelVectors(c, kX, kGamma, {"gamma", "mean", "variance"});
      !s.ok()) {
    return s;
  }
  const TensorType vec{c.inputs[kX].dtype, Shape{*ch}};
  return std::vector<TensorType>{c.inputs[kX], vec, vec};
}

// (x, mean, dmean, dvariance) -> dx
absl::StatusOr<std::vector<TensorType>> InferStatsGrad(const ShapeContext& c,
                                                       const BatchNormAttrs& a) {
  absl::StatusOr<int64_t> ch = ExpectChannelsLast(c, 0, a);
  if (!ch.ok()) return ch.status();
  if (absl::Status s = ExpectChannelVectors(c, 0, 1, {"mean", "dmean", "dvariance"}); !s.ok()) {
    return s;
  }
  return SameAs(c, 0);
}

// ---- shared kernel pieces -------------------------------------------------------------------

// The (R, C) view of x.
struct Matrix {
  int64_t rows = 0, channels = 0;
};
Matrix MatrixOf(const Shape& x) {
  const int64_t ch = x.dim(-1);
  return {x.num_elements() / ch, ch};
}

// Batch statistics of no rows are undefined (Keras gives NaN); fail instead of feeding NaN to
// the moving averages.
absl::Status EmptyBatchError() {
  return absl::InvalidArgumentError(
      "BatchNormTraining: the batch statistics need at least one row, got an empty batch");
}

// With no rows, dx is empty and the sums dgamma and dbeta are zero.
void ZeroSums(KernelRunContext& ctx) {
  for (int i : {1, 2}) std::memset(ctx.output(i).raw_data(), 0, ctx.output(i).nbytes());
}

// ---- oneDNN kernels -------------------------------------------------------------------------
// Each creates its primitive and its arguments (on::Args) once at Init; Run points the arguments
// at the tensors (a no-op when their storage has not moved) and executes.

struct Descs {
  dnnl::memory::desc data, channel;
  int64_t rows = 0;
};

// The plain channels-last buffer, described with its spatial axes when it has 1 to 3 of them
// (nwc, nhwc, ndhwc): oneDNN 2.6 runs those on its JIT kernel (bnorm_jit), while a 2-D (R, C)
// `nc` view of the same bytes goes to ncsp_bnorm, a generic loop that is 10-20x slower on
// images (batch 32 of 28x28x16: 12 ms against 0.5 ms per forward + backward, one thread).
Descs MakeDescs(const TensorType& x) {
  const Matrix m = MatrixOf(x.shape);
  const dnnl::memory::desc channel = on::Desc({m.channels}, on::tag::a);
  const Shape& s = x.shape;
  switch (s.rank()) {
    case 3:
      return {on::Desc({s.dim(0), m.channels, s.dim(1)}, on::tag::nwc), channel, m.rows};
    case 4:
      return {on::Desc({s.dim(0), m.channels, s.dim(1), s.dim(2)}, on::tag::nhwc), channel, m.rows};
    case 5:
      return {on::Desc({s.dim(0), m.channels, s.dim(1), s.dim(2), s.dim(3)}, on::tag::ndhwc),
              channel, m.rows};
    default:
      return {on::Desc({m.rows, m.channels}, on::tag::nc), channel, m.rows};
  }
}

dnnl::normalization_flags Flags(bool global_stats) {
  const auto f = dnnl::normalization_flags::use_scale | dnnl::normalization_flags::use_shift;
  return global_stats ? f | dnnl::normalization_flags::use_global_stats : f;
}

dnnl::batch_normalization_forward::primitive_desc ForwardPd(const Descs& d, float eps,
                                                            bool global_stats,
                                                            dnnl::prop_kind prop) {
  auto desc = dnnl::batch_normalization_forward::desc(prop, d.data, eps, Flags(global_stats));
  return dnnl::batch_normalization_forward::primitive_desc(desc, on::Engine());
}

// Training (batch statistics written to outputs 1, 2) or inference (kGlobal: statistics read
// from inputs 3, 4).
template <bool kGlobal>
class OneDnnBatchNorm : public on::OneDnnKernel {
 public:
  absl::Status Init(const KernelInitContext& c) override {
    return on::Call([&] {
      d_ = MakeDescs(c.input_types[0]);
      if (d_.rows == 0) return;
      const float eps = static_cast<float>(c.attrs<BatchNormAttrs>().epsilon);
      prim_ = dnnl::batch_normalization_forward(ForwardPd(
          d_, eps, kGlobal,
          kGlobal ? dnnl::prop_kind::forward_inference : dnnl::prop_kind::forward_training));
      src_ = args_.Add(DNNL_ARG_SRC, d_.data);
      scale_ = args_.Add(DNNL_ARG_SCALE, d_.channel);
      shift_ = args_.Add(DNNL_ARG_SHIFT, d_.channel);
      mean_ = args_.Add(DNNL_ARG_MEAN, d_.channel);
      variance_ = args_.Add(DNNL_ARG_VARIANCE, d_.channel);
      dst_ = args_.Add(DNNL_ARG_DST, d_.data);
    });
  }
  absl::Status Run(KernelRunContext& ctx) override {
    if (d_.rows == 0) return kGlobal ? absl::OkStatus() : EmptyBatchError();
    const Tensor& mean = kGlobal ? ctx.input(3) : ctx.output(1);
    const Tensor& variance = kGlobal ? ctx.input(4) : ctx.output(2);
    return on::Call([&] {
      args_.Bind(src_, ctx.input(0));
      args_.Bind(scale_, ctx.input(1));
      args_.Bind(shift_, ctx.input(2));
      args_.Bind(mean_, mean);
      args_.Bind(variance_, variance);
      args_.Bind(dst_, ctx.output(0));
      args_.Execute(prim_);
    });
  }

 private:
  Descs d_;
  dnnl::primitive prim_;
  on::Args args_;  // none when the batch is empty
  int src_ = -1, scale_ = -1, shift_ = -1, mean_ = -1, variance_ = -1, dst_ = -1;
};

// (dy, x, gamma, mean, variance) -> (dx, dgamma, dbeta); kGlobal: mean and variance constant.
template <bool kGlobal>
class OneDnnBatchNormBackward : public on::OneDnnKernel {
 public:
  absl::Status Init(const KernelInitContext& c) override {
    return on::Call([&] {
      d_ = MakeDescs(c.input_types[kX]);
      if (d_.rows == 0) return;
      unused_shift_.assign(c.input_types[kX].shape.dim(-1), 0.f);
      const float eps = static_cast<float>(c.attrs<BatchNormAttrs>().epsilon);
      auto hint = ForwardPd(d_, eps, kGlobal, dnnl::prop_kind::forward_training);
      auto bd = dnnl::batch_normalization_backward::desc(dnnl::prop_kind::backward, d_.data,
                                                         d_.data, eps, Flags(kGlobal));
      prim_ = dnnl::batch_normalization_backward(
          dnnl::batch_normalization_backward::primitive_desc(bd, on::Engine(), hint));
      diff_dst_ = args_.Add(DNNL_ARG_DIFF_DST, d_.data);
      src_ = args_.Add(DNNL_ARG_SRC, d_.data);
      scale_ = args_.Add(DNNL_ARG_SCALE, d_.channel);
      args_.AddOwned(DNNL_ARG_SHIFT, dnnl::memory(d_.channel, on::Engine(), unused_shift_.data()));
      mean_ = args_.Add(DNNL_ARG_MEAN, d_.channel);
      variance_ = args_.Add(DNNL_ARG_VARIANCE, d_.channel);
      diff_src_ = args_.Add(DNNL_ARG_DIFF_SRC, d_.data);
      diff_scale_ = args_.Add(DNNL_ARG_DIFF_SCALE, d_.channel);
      diff_shift_ = args_.Add(DNNL_ARG_DIFF_SHIFT, d_.channel);
    });
  }
  absl::Status Run(KernelRunContext& ctx) override {
    if (d_.rows == 0) {
      ZeroSums(ctx);
      return absl::OkStatus();
    }
    return on::Call([&] {
      args_.Bind(diff_dst_, ctx.input(kDy));
      args_.Bind(src_, ctx.input(kX));
      args_.Bind(scale_, ctx.input(kGamma));
      args_.Bind(mean_, ctx.input(kMean));
      args_.Bind(variance_, ctx.input(kVariance));
      args_.Bind(diff_src_, ctx.output(0));
      args_.Bind(diff_scale_, ctx.output(1));
      args_.Bind(diff_shift_, ctx.output(2));
      args_.Execute(prim_);
    });
  }

 private:
  Descs d_;
  dnnl::primitive prim_;
  on::Args args_;  // none when the batch is empty
  int diff_dst_ = -1, src_ = -1, scale_ = -1, mean_ = -1, variance_ = -1;
  int diff_src_ = -1, diff_scale_ = -1, diff_shift_ = -1;
  // oneDNN 2.6 requires a shift argument with use_shift, though the backward pass never reads
  // it (beta does not enter dx, dgamma or dbeta): an owned argument over this zero buffer.
  std::vector<float> unused_shift_;
};

// ---- reference kernels ----------------------------------------------------------------------

template <typename T, bool kGlobal>
class RefBatchNorm : public Kernel {
 public:
  absl::Status Init(const KernelInitContext& c) override {
    eps_ = c.attrs<BatchNormAttrs>().epsilon;
    return absl::OkStatus();
  }
  absl::Status Run(KernelRunContext& ctx) override {
    const Matrix m = MatrixOf(ctx.input(0).shape());
    if (m.rows == 0) return kGlobal ? absl::OkStatus() : EmptyBatchError();
    const T* x = ctx.input(0).data<T>();
    const T* gamma = ctx.input(1).data<T>();
    const T* beta = ctx.input(2).data<T>();
    std::vector<double> mean(m.channels, 0.0), var(m.channels, 0.0);
    if (kGlobal) {
      std::copy_n(ctx.input(3).data<T>(), m.channels, mean.begin());
      std::copy_n(ctx.input(4).data<T>(), m.channels, var.begin());
    } else {
      for (int64_t r = 0; r < m.rows; ++r) {
        for (int64_t c = 0; c < m.channels; ++c) mean[c] += x[r * m.channels + c];
      }
      for (double& v : mean) v /= static_cast<double>(m.rows);
      for (int64_t r = 0; r < m.rows; ++r) {
        for (int64_t c = 0; c < m.channels; ++c) {
          const double d = x[r * m.channels + c] - mean[c];
          var[c] += d * d;
        }
      }
      for (double& v : var) v /= static_cast<double>(m.rows);
      std::copy(mean.begin(), mean.end(), ctx.output(1).data<T>());
      std::copy(var.begin(), var.end(), ctx.output(2).data<T>());
    }
    T* y = ctx.output(0).data<T>();
    for (int64_t r = 0; r < m.rows; ++r) {
      for (int64_t c = 0; c < m.channels; ++c) {
        const int64_t i = r * m.channels + c;
        y[i] = static_cast<T>(gamma[c] * (x[i] - mean[c]) / std::sqrt(var[c] + eps_) + beta[c]);
      }
    }
    return absl::OkStatus();
  }

 private:
  double eps_ = 0;
};

template <typename T, bool kGlobal>
class RefBatchNormBackward : public Kernel {
 public:
  absl::Status Init(const KernelInitContext& c) override {
    eps_ = c.attrs<BatchNormAttrs>().epsilon;
    return absl::OkStatus();
  }
  absl::Status Run(KernelRunContext& ctx) override {
    const Matrix m = MatrixOf(ctx.input(kX).shape());
    const T* dy = ctx.input(kDy).data<T>();
    const T* x = ctx.input(kX).data<T>();
    const T* gamma = ctx.input(kGamma).data<T>();
    const T* mean = ctx.input(kMean).data<T>();
    const T* var = ctx.input(kVariance).data<T>();
    std::vector<double> rstd(m.channels), dgamma(m.channels, 0.0), dbeta(m.channels, 0.0);
    for (int64_t c = 0; c < m.channels; ++c) rstd[c] = 1 / std::sqrt(var[c] + eps_);
    for (int64_t r = 0; r < m.rows; ++r) {
      for (int64_t c = 0; c < m.channels; ++c) {
        const int64_t i = r * m.channels + c;
        dbeta[c] += dy[i];
        dgamma[c] += dy[i] * (x[i] - mean[c]) * rstd[c];
      }
    }
    T* dx = ctx.output(0).data<T>();
    const double rows = static_cast<double>(m.rows);
    for (int64_t r = 0; r < m.rows; ++r) {
      for (int64_t c = 0; c < m.channels; ++c) {
        const int64_t i = r * m.channels + c;
        double g = dy[i];
        if (!kGlobal) g -= (dbeta[c] + (x[i] - mean[c]) * rstd[c] * dgamma[c]) / rows;
        dx[i] = static_cast<T>(gamma[c] * rstd[c] * g);
      }
    }
    std::copy(dgamma.begin(), dgamma.end(), ctx.output(1).data<T>());
    std::copy(dbeta.begin(), dbeta.end(), ctx.output(2).data<T>());
    return absl::OkStatus();
  }

 private:
  double eps_ = 0;
};

template <typename T>
using RefBatchNormTraining = RefBatchNorm<T, false>;
template <typename T>
using RefBatchNormInference = RefBatchNorm<T, true>;

// (x, mean, dmean, dvariance) -> dx; the same loop for the fast (TBB) and reference kernels.
struct StatsGradBody {
  template <typename T>
  static void Run(const KernelRunContext& ctx, int64_t b, int64_t e) {
    const int64_t ch = ctx.input(1).num_elements();
    const T rows = static_cast<T>(ctx.input(0).num_elements() / ch);
    const T* x = ctx.input(0).data<T>();
    const T* mean = ctx.input(1).data<T>();
    const T* dmean = ctx.input(2).data<T>();
    const T* dvar = ctx.input(3).data<T>();
    T* dx = ctx.output(0).data<T>();
    for (int64_t i = b; i < e; ++i) {
      const int64_t c = i % ch;
      dx[i] = (dmean[c] + T(2) * dvar[c] * (x[i] - mean[c])) / rows;
    }
  }
};

// ---- gradient rules -------------------------------------------------------------------------

// The gradient of output i, or zeros like it when nothing reached it.
absl::StatusOr<Value> GradOrZeros(GradContext& g, int i) {
  if (g.output_grad(i).has_value()) return *g.output_grad(i);
  return g.graph().Add(kZerosLikeOp, {g.output(i)});
}

// dx, dgamma, dbeta from the backward op `op` over (dy, x, gamma, mean, variance).
absl::Status AddBackward(GradContext& g, const char* op, Value mean, Value variance, Grads& out) {
  if (!g.output_grad(0).has_value()) return absl::OkStatus();
  if (!g.needs_input_grad(0) && !g.needs_input_grad(1) && !g.needs_input_grad(2)) {
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<Value>> d = g.graph().AddNode(
      op, {*g.output_grad(0), g.input(0), g.input(1), mean, variance}, g.attrs<BatchNormAttrs>());
  if (!d.ok()) return d.status();
  for (int i = 0; i < 3; ++i) {
    if (g.needs_input_grad(i)) out[i] = (*d)[i];
  }
  return absl::OkStatus();
}

GradResult GradBatchNormTraining(GradContext& g) {
  Grads out(3);
  if (absl::Status s =
          AddBackward(g, "graft.BatchNormTrainingBackward", g.output(1), g.output(2), out);
      !s.ok()) {
    return s;
  }
  if (g.needs_input_grad(0) && (g.output_grad(1).has_value() || g.output_grad(2).has_value())) {
    absl::StatusOr<Value> dmean = GradOrZeros(g, 1);
    if (!dmean.ok()) return dmean.status();
    absl::StatusOr<Value> dvar = GradOrZeros(g, 2);
    if (!dvar.ok()) return dvar.status();
    absl::StatusOr<Value> dx = g.graph().Add(
        "graft.BatchNormStatsGrad", {g.input(0), g.output(1), *dmean, *dvar}, g.node().attrs);
    if (!dx.ok()) return dx.status();
    if (out[0].has_value()) dx = g.graph().Add(kAddOp, {*out[0], *dx});
    if (!dx.ok()) return dx.status();
    out[0] = *dx;
  }
  return out;
}

GradResult GradBatchNormInference(GradContext& g) {
  Grads out(5);  // the moving statistics get none
  if (absl::Status s =
          AddBackward(g, "graft.BatchNormInferenceBackward", g.input(3), g.input(4), out);
      !s.ok()) {
    return s;
  }
  return out;
}

// ---- the moving-average update --------------------------------------------------------------

absl::StatusOr<std::vector<TensorType>> InferMovingAverageUpdate(
    const ShapeContext& c, const MovingAverageUpdateAttrs& a) {
  if (!(a.momentum >= 0 && a.momentum <= 1)) {
    return ShapeError(c, absl::StrCat("momentum must lie in [0, 1] (Keras's convention: the "
                                      "weight of the old value, default 0.99), got ",
                                      a.momentum));
  }
  if (absl::Status s = ExpectFloat(c, 0); !s.ok()) return s;
  if (c.inputs[1] != c.inputs[0]) {
    return ShapeError(c, absl::StrCat("value must have the moving average's type ",
                                      c.inputs[0].ToString(), ", got ", c.inputs[1].ToString()));
  }
  return std::vector<TensorType>{};
}

// The fast (kParallel) and reference kernels run the same per-element arithmetic.
template <typename T, bool kParallel>
class MovingAverageKernel : public Kernel {
 public:
  absl::Status Init(const KernelInitContext& c) override {
    const double momentum = c.attrs<MovingAverageUpdateAttrs>().momentum;
    keep_ = static_cast<T>(momentum);
    take_ = static_cast<T>(1 - momentum);
    return absl::OkStatus();
  }
  absl::Status Run(KernelRunContext& ctx) override {
    T* moving = ctx.mutable_input(0).data<T>();
    const T* value = ctx.input(1).data<T>();
    ForRange(kParallel, ctx.input(0).num_elements(), [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) moving[i] = moving[i] * keep_ + value[i] * take_;
    });
    return absl::OkStatus();
  }

 private:
  T keep_ = 0, take_ = 0;
};
template <typename T>
using RefMovingAverage = MovingAverageKernel<T, false>;

// ---- registration ---------------------------------------------------------------------------

// The training and inference backward ops: (dy, x, gamma, mean, variance) -> (dx, dgamma, dbeta).
template <bool kGlobal>
struct RefBackwardOf {
  template <typename T>
  using Kernel = RefBatchNormBackward<T, kGlobal>;
};
template <bool kGlobal>
OpSchema BackwardOp(const char* name, const char* doc) {
  OpDef<BatchNormAttrs> def(name);
  def.Doc(doc)
      .Inputs({"dy", "x", "gamma", "mean", "variance"})
      .Outputs({"dx", "dgamma", "dbeta"})
      .Shape(InferBackward)
      .PrintAttrs(Describe)
      .Kernel<OneDnnBatchNormBackward<kGlobal>>(DType::kF32)
      .template Reference<RefBackwardOf<kGlobal>::template Kernel>();
  return std::move(def).Build();
}

GRAFT_REGISTER_OP(OpDef<BatchNormAttrs>("graft.BatchNormTraining")
                      .Doc("y = gamma (x - mean) / sqrt(var + eps) + beta over the last axis, "
                           "with the batch mean and biased variance (also outputs)")
                      .Inputs({"x", "gamma", "beta"})
                      .Outputs({"y", "mean", "variance"})
                      .Shape(InferTraining)
                      .PrintAttrs(Describe)
                      .Kernel<OneDnnBatchNorm<false>>(DType::kF32)
                      .Reference<RefBatchNormTraining>()
                      .Grad(GradBatchNormTraining));
GRAFT_REGISTER_OP(BackwardOp<false>("graft.BatchNormTrainingBackward",
                                    "dbeta = sum dy, dgamma = sum dy xhat, "
                                    "dx = gamma rstd (dy - dbeta/R - xhat dgamma/R)"));
GRAFT_REGISTER_OP(OpDef<BatchNormAttrs>("graft.BatchNormStatsGrad")
                      .Doc("dx = (dmean + 2 dvariance (x - mean)) / R: the gradient through the "
                           "batch statistics outputs")
                      .Inputs({"x", "mean", "dmean", "dvariance"})
                      .Outputs({"dx"})
                      .Shape(InferStatsGrad)
                      .PrintAttrs(Describe)
                      .Kernel<Loops<StatsGradBody>::FastF32>(DType::kF32)
                      .Reference<Loops<StatsGradBody>::Reference>());
GRAFT_REGISTER_OP(OpDef<BatchNormAttrs>("graft.BatchNormInference")
                      .Doc("y = gamma (x - moving_mean) / sqrt(moving_variance + eps) + beta over "
                           "the last axis")
                      .Inputs({"x", "gamma", "beta", "moving_mean", "moving_variance"})
                      .Outputs({"y"})
                      .Shape(InferInference)
                      .PrintAttrs(Describe)
                      .Kernel<OneDnnBatchNorm<true>>(DType::kF32)
                      .Reference<RefBatchNormInference>()
                      .Grad(GradBatchNormInference));
GRAFT_REGISTER_OP(BackwardOp<true>("graft.BatchNormInferenceBackward",
                                   "dx = gamma rstd dy, dgamma = sum dy xhat, dbeta = sum dy "
                                   "(statistics constant)"));
GRAFT_REGISTER_OP(OpDef<MovingAverageUpdateAttrs>("graft.MovingAverageUpdate")
                      .Doc("moving = moving * momentum + value * (1 - momentum), in place")
                      .Inputs({"moving", "value"})
                      .Outputs({})
                      .Mutates({0})
                      .Shape(InferMovingAverageUpdate)
                      .PrintAttrs([](const MovingAverageUpdateAttrs& a) {
                        return absl::StrCat("momentum=", a.momentum);
                      })
                      .Kernel<MovingAverageKernel<float, true>>(DType::kF32)
                      .Reference<RefMovingAverage>());

}  // namespace

absl::StatusOr<BatchNormTrainingOutputs> BatchNormTraining(Graph& g, Value x, Value gamma,
                                                           Value beta, const BatchNormAttrs& a,
                                                           absl::string_view name) {
  absl::StatusOr<std::vector<Value>> outs =
      g.AddNode("graft.BatchNormTraining", {x, gamma, beta}, a, name);
  if (!outs.ok()) return outs.status();
  return BatchNormTrainingOutputs{(*outs)[0], (*outs)[1], (*outs)[2]};
}

absl::StatusOr<Value> BatchNormInference(Graph& g, Value x, Value gamma, Value beta,
                                         Value moving_mean, Value moving_variance,
                                         const BatchNormAttrs& a, absl::string_view name) {
  return g.Add("graft.BatchNormInference", {x, gamma, beta, moving_mean, moving_variance}, a, name);
}

absl::StatusOr<Operation> MovingAverageUpdate(Graph& g, Value moving, Value value, double momentum) {
  if (!moving.valid() || moving.node >= g.num_nodes() || !g.IsVariable(moving)) {
    return absl::InvalidArgumentError(
        "MovingAverageUpdate: moving must be a variable (the update writes it in place)");
  }
  absl::StatusOr<std::vector<Value>> outs =
      g.AddNode("graft.MovingAverageUpdate", {moving, value}, MovingAverageUpdateAttrs{momentum});
  if (!outs.ok()) return outs.status();
  return Operation{g.num_nodes() - 1};
}

}  // namespace graft::ops
