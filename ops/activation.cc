// ops/activation.cc — Keras activations: elementwise ones and softmax.
//   relu(x)       = max(x, 0)                    dx = dy * [x > 0]          (relu'(0) = 0, as TF)
//   leaky_relu(x) = x > 0 ? x : 0.2 x            dx = dy * (x > 0 ? 1 : 0.2)
//   sigmoid(x)    = 1 / (1 + exp(-x))            dx = dy * y * (1 - y)      (from the output y)
//   tanh(x)                                      dx = dy * (1 - y^2)        (from y)
//   elu(x)        = x > 0 ? x : exp(x) - 1       dx = dy * (y > 0 ? 1 : y + 1)   (from y)
//   selu(x)       = s * (x > 0 ? x : a (exp(x) - 1)),  a = 1.6732632..., s = 1.0507009...
//                                                dx = dy * s * (x > 0 ? 1 : a exp(x))
//   gelu(x)       = x Phi(x) = x/2 (1 + erf(x / sqrt(2)))      (Keras approximate=False)
//                                                dx = dy * (Phi(x) + x phi(x)),
//                                                phi(x) = exp(-x^2/2) / sqrt(2 pi)
//   silu(x)       = x sigmoid(x)  (alias swish)  dx = dy * s (1 + x (1 - s)),  s = sigmoid(x)
//   softplus(x)   = log(1 + exp(x))              dx = dy * sigmoid(x)
//   softmax(x)    = exp(x - max) / sum(exp(x - max)) over the last axis;
//                   dx = y * (dy - sum(dy * y))  (row-wise, from y)
// Each elementwise activation is one op pair graft.<Name> / graft.<Name>Grad, registered from
// one row of a table (the Activations list below): the math as a struct with the Keras name,
// op name, doc lines and oneDNN algorithm. Fast f32 kernels run the oneDNN eltwise primitive
// where oneDNN 2.6 has the algorithm (every one but selu) and otherwise the reference math in
// TBB loops; reference kernels are the math in serial loops for f32 and f64. Softmax has its own
// oneDNN softmax kernels.
#include "ops/activation.h"

#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_join.h"
#include "ops/common.h"
#include "ops/onednn/onednn.h"

namespace graft::ops {
namespace {

namespace on = ::graft::onednn;
using alg = dnnl::algorithm;

// ---- oneDNN kernels -------------------------------------------------------------------------
// Each creates its primitive and its arguments (on::Args) once at Init; Run points the arguments
// at the tensors (a no-op when their storage has not moved) and executes.

// The tensors are flat for eltwise: a 1-D descriptor over all elements.
on::dims Flat(const TensorType& t) { return {t.shape.num_elements()}; }

dnnl::eltwise_forward::primitive_desc EltwiseForwardPd(alg a, float alpha,
                                                       const dnnl::memory::desc& md) {
  auto d = dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_training, a, md, alpha, 0.f);
  return dnnl::eltwise_forward::primitive_desc(d, on::Engine());
}

// The forward-only algorithm for a post-op ("use dst for backward" is about the backward pass).
alg PostOpAlgorithm(alg a) {
  switch (a) {
    case alg::eltwise_relu_use_dst_for_bwd: return alg::eltwise_relu;
    case alg::eltwise_tanh_use_dst_for_bwd: return alg::eltwise_tanh;
    case alg::eltwise_elu_use_dst_for_bwd: return alg::eltwise_elu;
    case alg::eltwise_logistic_use_dst_for_bwd: return alg::eltwise_logistic;
    default: return a;
  }
}

class OneDnnEltwiseForward : public on::PrimitiveKernel {
 public:
  OneDnnEltwiseForward(alg a, float alpha) : alg_(a), alpha_(alpha) {}
  // A convolution or matmul producing x can apply this activation as a post-op.
  KernelTraits Traits() const override {
    return {.as_post_op = {static_cast<int>(PostOpAlgorithm(alg_)), alpha_, 0.f}};
  }
  absl::Status Init(const KernelInitContext& c) override {
    return on::Call([&] {
      const auto md = on::Desc(Flat(c.input_types[0]), on::tag::a);
      prim_ = dnnl::eltwise_forward(EltwiseForwardPd(alg_, alpha_, md));
      AddInput(DNNL_ARG_SRC, md, 0);
      AddOutput(DNNL_ARG_DST, md, 0);
    });
  }

 private:
  alg alg_;
  float alpha_;
};

// Backward from (dy, x), or from (dy, y) for the *_use_dst_for_bwd algorithms.
class OneDnnEltwiseBackward : public on::PrimitiveKernel {
 public:
  OneDnnEltwiseBackward(alg a, float alpha, bool from_dst)
      : alg_(a), alpha_(alpha), from_dst_(from_dst) {}
  // ReLU's backward (not leaky: alpha 0) can fold into the op producing dy (max pooling's
  // backward) when that op reads the same y.
  KernelTraits Traits() const override {
    const bool relu = alg_ == alg::eltwise_relu || alg_ == alg::eltwise_relu_use_dst_for_bwd;
    return {.is_relu_grad = relu && alpha_ == 0.f};
  }
  absl::Status Init(const KernelInitContext& c) override {
    return on::Call([&] {
      const auto md = on::Desc(Flat(c.input_types[0]), on::tag::a);
      auto bd = dnnl::eltwise_backward::desc(alg_, md, md, alpha_, 0.f);
      prim_ = dnnl::eltwise_backward(dnnl::eltwise_backward::primitive_desc(
          bd, on::Engine(), EltwiseForwardPd(alg_, alpha_, md)));
      AddInput(DNNL_ARG_DIFF_DST, md, 0);
      AddInput(from_dst_ ? DNNL_ARG_DST : DNNL_ARG_SRC, md, 1);  // y or x
      AddOutput(DNNL_ARG_DIFF_SRC, md, 0);
    });
  }

 private:
  alg alg_;
  float alpha_;
  bool from_dst_;
};

// Softmax over the last axis: a 2-D (rows, classes) descriptor.
on::dims Rows(const TensorType& t) {
  const int64_t k = t.shape.dim(-1);
  return {t.shape.num_elements() / k, k};
}

class OneDnnSoftmaxForward : public on::PrimitiveKernel {
 public:
  absl::Status Init(const KernelInitContext& c) override {
    return on::Call([&] {
      const auto md = on::Desc(Rows(c.input_types[0]), on::tag::ab);
      auto d = dnnl::softmax_forward::desc(dnnl::prop_kind::forward_training, md, 1);
      prim_ = dnnl::softmax_forward(dnnl::softmax_forward::primitive_desc(d, on::Engine()));
      AddInput(DNNL_ARG_SRC, md, 0);
      AddOutput(DNNL_ARG_DST, md, 0);
    });
  }
};

class OneDnnSoftmaxBackward : public on::PrimitiveKernel {
 public:
  absl::Status Init(const KernelInitContext& c) override {
    return on::Call([&] {
      const auto md = on::Desc(Rows(c.input_types[0]), on::tag::ab);
      auto fd = dnnl::softmax_forward::desc(dnnl::prop_kind::forward_training, md, 1);
      auto fpd = dnnl::softmax_forward::primitive_desc(fd, on::Engine());
      auto bd = dnnl::softmax_backward::desc(md, md, 1);
      prim_ = dnnl::softmax_backward(dnnl::softmax_backward::primitive_desc(bd, on::Engine(), fpd));
      AddInput(DNNL_ARG_DIFF_DST, md, 0);
      AddInput(DNNL_ARG_DST, md, 1);
      AddOutput(DNNL_ARG_DIFF_SRC, md, 0);
    });
  }
};

// ---- the elementwise math (reference kernels, and fast loops where oneDNN has none) -------

// What an activation's backward op reads besides dy.
enum class From { kX, kY };

// One row of the activation table.
struct EltwiseInfo {
  const char* keras;     // the Keras activation name
  const char* op;        // the forward op; the backward op is op + "Grad"
  const char* doc;       // forward math
  const char* grad_doc;  // backward math
  alg onednn;            // oneDNN's algorithm (undef: TBB loops over the reference math)
  float alpha;           // oneDNN's alpha: negative slope, elu's alpha, swish's beta
  From from;             // the backward op's second input
};

template <typename T>
T Logistic(T x) {  // stable for large |x|
  if (x >= T(0)) return T(1) / (T(1) + std::exp(-x));
  const T e = std::exp(x);
  return e / (T(1) + e);
}

struct Relu {
  static constexpr EltwiseInfo kInfo{
      "relu",         "graft.Relu", "y = max(x, 0)", "dx = dy * [y > 0]",
      alg::eltwise_relu_use_dst_for_bwd, 0.f, From::kY};  // from y: fusable into a conv
  template <typename T>
  static T Forward(T x) {
    return x > T(0) ? x : T(0);
  }
  template <typename T>
  static T Backward(T dy, T y) {
    return y > T(0) ? dy : T(0);
  }
};

struct LeakyRelu {
  static constexpr float kSlope = kLeakyReluNegativeSlope;
  static constexpr EltwiseInfo kInfo{"leaky_relu",
                                     "graft.LeakyRelu",
                                     "y = x > 0 ? x : 0.2 x",
                                     "dx = dy * (y > 0 ? 1 : 0.2)",
                                     alg::eltwise_relu_use_dst_for_bwd,
                                     kSlope,
                                     From::kY};
  template <typename T>
  static T Forward(T x) {
    return x > T(0) ? x : T(kSlope) * x;
  }
  template <typename T>
  static T Backward(T dy, T y) {
    return y > T(0) ? dy : T(kSlope) * dy;
  }
};

struct Sigmoid {
  static constexpr EltwiseInfo kInfo{"sigmoid",
                                     "graft.Sigmoid",
                                     "y = 1 / (1 + exp(-x))",
                                     "dx = dy * y * (1 - y)",
                                     alg::eltwise_logistic_use_dst_for_bwd,
                                     0.f,
                                     From::kY};
  template <typename T>
  static T Forward(T x) {
    return Logistic(x);
  }
  template <typename T>
  static T Backward(T dy, T y) {
    return dy * y * (T(1) - y);
  }
};

struct Tanh {
  static constexpr EltwiseInfo kInfo{
      "tanh", "graft.Tanh", "y = tanh(x)", "dx = dy * (1 - y^2)", alg::eltwise_tanh_use_dst_for_bwd,
      0.f,    From::kY};
  template <typename T>
  static T Forward(T x) {
    return std::tanh(x);
  }
  template <typename T>
  static T Backward(T dy, T y) {
    return dy * (T(1) - y * y);
  }
};

struct Elu {
  static constexpr EltwiseInfo kInfo{"elu",
                                     "graft.Elu",
                                     "y = x > 0 ? x : exp(x) - 1",
                                     "dx = dy * (y > 0 ? 1 : y + 1)",
                                     alg::eltwise_elu_use_dst_for_bwd,
                                     kEluAlpha,
                                     From::kY};
  template <typename T>
  static T Forward(T x) {
    return x > T(0) ? x : std::expm1(x);
  }
  template <typename T>
  static T Backward(T dy, T y) {
    return y > T(0) ? dy : dy * (y + T(1));
  }
};

// oneDNN 2.6 has no selu; its fast kernels are these loops.
struct Selu {
  static constexpr double kAlpha = kSeluAlpha;
  static constexpr double kScale = kSeluScale;
  static constexpr EltwiseInfo kInfo{
      "selu",
      "graft.Selu",
      "y = s * (x > 0 ? x : a (exp(x) - 1)), a = 1.67326, s = 1.05070",
      "dx = dy * s * (x > 0 ? 1 : a exp(x))",
      alg::undef,
      0.f,
      From::kX};
  template <typename T>
  static T Forward(T x) {
    return T(kScale) * (x > T(0) ? x : T(kAlpha) * std::expm1(x));
  }
  template <typename T>
  static T Backward(T dy, T x) {
    return dy * T(kScale) * (x > T(0) ? T(1) : T(kAlpha) * std::exp(x));
  }
};

struct Gelu {
  static constexpr double kSqrtHalf = kGeluSqrtHalf;
  static constexpr double kInvSqrt2Pi = 0.39894228040143267794;
  static constexpr EltwiseInfo kInfo{"gelu",
                                     "graft.Gelu",
                                     "y = x/2 (1 + erf(x / sqrt(2)))",
                                     "dx = dy * (Phi(x) + x exp(-x^2/2) / sqrt(2 pi))",
                                     alg::eltwise_gelu_erf,
                                     0.f,
                                     From::kX};
  template <typename T>
  static T Forward(T x) {
    return T(0.5) * x * (T(1) + std::erf(x * T(kSqrtHalf)));
  }
  template <typename T>
  static T Backward(T dy, T x) {
    const T cdf = T(0.5) * (T(1) + std::erf(x * T(kSqrtHalf)));
    return dy * (cdf + x * T(kInvSqrt2Pi) * std::exp(T(-0.5) * x * x));
  }
};

struct Silu {
  static constexpr EltwiseInfo kInfo{"silu",
                                     "graft.Silu",
                                     "y = x * sigmoid(x)",
                                     "dx = dy * s (1 + x (1 - s)), s = sigmoid(x)",
                                     alg::eltwise_swish,
                                     1.f,
                                     From::kX};
  template <typename T>
  static T Forward(T x) {
    return x * Logistic(x);
  }
  template <typename T>
  static T Backward(T dy, T x) {
    const T s = Logistic(x);
    return dy * s * (T(1) + x * (T(1) - s));
  }
};

struct Softplus {
  static constexpr EltwiseInfo kInfo{"softplus",
                                     "graft.Softplus",
                                     "y = log(1 + exp(x))",
                                     "dx = dy * sigmoid(x)",
                                     alg::eltwise_soft_relu,
                                     0.f,
                                     From::kX};
  template <typename T>
  static T Forward(T x) {  // max(x, 0) + log1p(exp(-|x|)): no overflow for large x
    return (x > T(0) ? x : T(0)) + std::log1p(std::exp(-std::abs(x)));
  }
  template <typename T>
  static T Backward(T dy, T x) {
    return dy * Logistic(x);
  }
};

template <typename M>
struct ForwardBody {
  template <typename T>
  static void Run(const KernelRunContext& ctx, int64_t b, int64_t e) {
    const T* x = ctx.input(0).data<T>();
    T* y = ctx.output(0).data<T>();
    for (int64_t i = b; i < e; ++i) y[i] = M::Forward(x[i]);
  }
};
template <typename M>
struct BackwardBody {  // (dy, x or y)
  template <typename T>
  static void Run(const KernelRunContext& ctx, int64_t b, int64_t e) {
    const T* dy = ctx.input(0).data<T>();
    const T* v = ctx.input(1).data<T>();
    T* dx = ctx.output(0).data<T>();
    for (int64_t i = b; i < e; ++i) dx[i] = M::Backward(dy[i], v[i]);
  }
};

template <typename T>
class RefSoftmax : public Kernel {
 public:
  absl::Status Run(KernelRunContext& ctx) override {
    const int64_t k = ctx.input(0).shape().dim(-1);
    const int64_t rows = ctx.input(0).num_elements() / k;
    const T* x = ctx.input(0).data<T>();
    T* y = ctx.output(0).data<T>();
    for (int64_t r = 0; r < rows; ++r) {
      const T* xr = x + r * k;
      T* yr = y + r * k;
      T m = xr[0];
      for (int64_t j = 1; j < k; ++j) m = std::max(m, xr[j]);
      T s = 0;
      for (int64_t j = 0; j < k; ++j) s += (yr[j] = std::exp(xr[j] - m));
      for (int64_t j = 0; j < k; ++j) yr[j] /= s;
    }
    return absl::OkStatus();
  }
};

template <typename T>
class RefSoftmaxGrad : public Kernel {  // (dy, y)
 public:
  absl::Status Run(KernelRunContext& ctx) override {
    const int64_t k = ctx.input(0).shape().dim(-1);
    const int64_t rows = ctx.input(0).num_elements() / k;
    const T* dy = ctx.input(0).data<T>();
    const T* y = ctx.input(1).data<T>();
    T* dx = ctx.output(0).data<T>();
    for (int64_t r = 0; r < rows; ++r) {
      T dot = 0;
      for (int64_t j = 0; j < k; ++j) dot += dy[r * k + j] * y[r * k + j];
      for (int64_t j = 0; j < k; ++j) dx[r * k + j] = y[r * k + j] * (dy[r * k + j] - dot);
    }
    return absl::OkStatus();
  }
};

// ---- registration ---------------------------------------------------------------------------

absl::StatusOr<std::vector<TensorType>> Unary(const ShapeContext& c, const NoAttrs&) {
  if (absl::Status s = ExpectFloat(c, 0); !s.ok()) return s;
  return SameAs(c, 0);
}
absl::StatusOr<std::vector<TensorType>> Binary(const ShapeContext& c, const NoAttrs&) {
  if (absl::Status s = ExpectFloat(c, 0); !s.ok()) return s;
  if (c.inputs[0] != c.inputs[1]) {
    return ShapeError(c, absl::StrCat("inputs must have equal types, got ", c.inputs[0].ToString(),
                                      " and ", c.inputs[1].ToString()));
  }
  return SameAs(c, 0);
}

// A gradient rule emitting `grad_op(dy, input-or-output)`.
GradFn GradFrom(std::string grad_op, bool from_output) {
  return [grad_op = std::move(grad_op), from_output](GradContext& g) -> GradResult {
    if (!g.needs_input_grad(0)) return Grads{std::nullopt};
    absl::StatusOr<Value> dx =
        g.graph().Add(grad_op, {*g.output_grad(0), from_output ? g.output(0) : g.input(0)});
    if (!dx.ok()) return dx.status();
    return Grads{*dx};
  };
}

template <typename K, typename... Args>
KernelFactory Factory(Args... args) {
  return [=] { return std::unique_ptr<Kernel>(new K(args...)); };
}

// Registers the op pair of one elementwise activation M (a row of the table below).
template <typename M>
void RegisterEltwise() {
  constexpr const EltwiseInfo& info = M::kInfo;
  const bool from_y = info.from == From::kY;
  const std::string grad_op = absl::StrCat(info.op, "Grad");
  OpDef<NoAttrs> fwd_def(info.op);
  fwd_def.Doc(info.doc)
      .Inputs({"x"})
      .Outputs({"y"})
      .InPlace(0, 0)
      .Shape(Unary)
      .Reference<Loops<ForwardBody<M>>::template Reference>()
      .Grad(GradFrom(grad_op, from_y));
  OpDef<NoAttrs> bwd_def(grad_op);
  bwd_def.Doc(info.grad_doc)
      .Inputs({"dy", from_y ? "y" : "x"})
      .Outputs({"dx"})
      .InPlace(0, 0)
      .Shape(Binary)
      .Reference<Loops<BackwardBody<M>>::template Reference>();
  OpSchema fwd = std::move(fwd_def).Build();
  OpSchema bwd = std::move(bwd_def).Build();
  if (info.onednn == alg::undef) {
    fwd.fast_kernels[DType::kF32] = Factory<typename Loops<ForwardBody<M>>::FastF32>();
    bwd.fast_kernels[DType::kF32] = Factory<typename Loops<BackwardBody<M>>::FastF32>();
  } else {
    fwd.fast_kernels[DType::kF32] = Factory<OneDnnEltwiseForward>(info.onednn, info.alpha);
    bwd.fast_kernels[DType::kF32] = Factory<OneDnnEltwiseBackward>(info.onednn, info.alpha, from_y);
  }
  internal::OpRegistrar{std::move(fwd)};
  internal::OpRegistrar{std::move(bwd)};
}

template <typename... M>
struct EltwiseTable {
  static constexpr EltwiseInfo kInfos[] = {M::kInfo...};
  static bool RegisterAll() {
    (RegisterEltwise<M>(), ...);
    return true;
  }
};

// The elementwise activations: adding one is a math struct above and its name here.
using Activations = EltwiseTable<Relu, LeakyRelu, Sigmoid, Tanh, Elu, Selu, Gelu, Silu, Softplus>;
[[maybe_unused]] const bool kActivationsRegistered = Activations::RegisterAll();

GRAFT_REGISTER_OP(OpDef<NoAttrs>("graft.Softmax")
                      .Doc("y = exp(x - max) / sum(exp(x - max)) over the last axis")
                      .Inputs({"x"})
                      .Outputs({"y"})
                      .Shape(Unary)
                      .Kernel<OneDnnSoftmaxForward>(DType::kF32)
                      .Reference<RefSoftmax>()
                      .Grad(GradFrom("graft.SoftmaxGrad", true)));
GRAFT_REGISTER_OP(OpDef<NoAttrs>("graft.SoftmaxGrad")
                      .Doc("dx = y * (dy - sum(dy * y)) over the last axis")
                      .Inputs({"dy", "y"})
                      .Outputs({"dx"})
                      .Shape(Binary)
                      .Kernel<OneDnnSoftmaxBackward>(DType::kF32)
                      .Reference<RefSoftmaxGrad>());

// Keras names that are not a row of the table: softmax, and aliases.
constexpr const char* kOtherNames[][2] = {{"softmax", "graft.Softmax"}, {"swish", "graft.Silu"}};

// The op for a Keras name; "" for linear; null when unknown.
const char* FindActivationOp(absl::string_view name) {
  if (name.empty() || name == "linear") return "";
  for (const EltwiseInfo& a : Activations::kInfos) {
    if (name == a.keras) return a.op;
  }
  for (const auto& a : kOtherNames) {
    if (name == a[0]) return a[1];
  }
  return nullptr;
}

}  // namespace

std::vector<std::string> KnownActivations() {
  std::vector<std::string> names = {"linear"};
  for (const EltwiseInfo& a : Activations::kInfos) names.push_back(a.keras);
  for (const auto& a : kOtherNames) names.push_back(a[0]);
  return names;
}

bool IsKnownActivation(absl::string_view name) { return FindActivationOp(name) != nullptr; }

absl::Status ValidateActivation(absl::string_view name) {
  if (IsKnownActivation(name)) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown activation \"", name, "\"; graft knows: ", absl::StrJoin(KnownActivations(), ", ")));
}

absl::StatusOr<Value> Activation(Graph& g, Value x, absl::string_view name) {
  const char* op = FindActivationOp(name);
  if (op == nullptr) return ValidateActivation(name);
  if (*op == '\0') return x;  // linear
  return g.Add(op, {x});
}

}  // namespace graft::ops
