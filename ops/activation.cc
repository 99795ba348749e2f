// ops/activation.cc — elementwise activations and softmax.
//   Relu(x)    = max(x, 0);            dx = dy * [x > 0]          (relu'(0) = 0, as TF)
//   Sigmoid(x) = 1 / (1 + exp(-x));    dx = dy * y * (1 - y)      (from the output y)
//   Softmax(x) = exp(x - max) / sum(exp(x - max)) over the last axis;
//                dx = y * (dy - sum(dy * y))                      (row-wise, from y)
// oneDNN eltwise / softmax primitives for f32; reference loops for f32 and f64.
#include "ops/activation.h"

#include <cmath>

#include "ops/common.h"
#include "ops/onednn/onednn.h"

namespace graft::ops {
namespace {

namespace on = ::graft::onednn;

// ---- oneDNN kernels -------------------------------------------------------------------------

// The tensors are flat for eltwise: a 1-D descriptor over all elements.
on::dims Flat(const TensorType& t) { return {t.shape.num_elements()}; }

class OneDnnEltwiseForward : public on::OneDnnKernel {
 public:
  explicit OneDnnEltwiseForward(dnnl::algorithm alg) : alg_(alg) {}
  absl::Status Init(const KernelInitContext& c) override {
    return on::Call([&] {
      md_ = on::Desc(Flat(c.input_types[0]), on::tag::a);
      auto d = dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_training, alg_, md_, 0.f, 0.f);
      prim_ = dnnl::eltwise_forward(dnnl::eltwise_forward::primitive_desc(d, on::Engine()));
    });
  }
  absl::Status Run(KernelRunContext& ctx) override {
    return on::Call([&] {
      on::ApplyThreads();
      on::Execute(prim_, {{DNNL_ARG_SRC, on::Wrap(md_, ctx.input(0))},
                          {DNNL_ARG_DST, on::Wrap(md_, ctx.output(0))}});
    });
  }

 private:
  dnnl::algorithm alg_;
  dnnl::memory::desc md_;
  dnnl::primitive prim_;
};

// Backward from (dy, x) for relu, or from (dy, y) for the *_use_dst_for_bwd algorithms.
class OneDnnEltwiseBackward : public on::OneDnnKernel {
 public:
  OneDnnEltwiseBackward(dnnl::algorithm alg, bool from_dst) : alg_(alg), from_dst_(from_dst) {}
  absl::Status Init(const KernelInitContext& c) override {
    return on::Call([&] {
      md_ = on::Desc(Flat(c.input_types[0]), on::tag::a);
      auto fd = dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_training, alg_, md_, 0.f, 0.f);
      auto fpd = dnnl::eltwise_forward::primitive_desc(fd, on::Engine());
      auto bd = dnnl::eltwise_backward::desc(alg_, md_, md_, 0.f, 0.f);
      prim_ = dnnl::eltwise_backward(dnnl::eltwise_backward::primitive_desc(bd, on::Engine(), fpd));
    });
  }
  absl::Status Run(KernelRunContext& ctx) override {
    return on::Call([&] {
      on::ApplyThreads();
      on::Execute(prim_, {{DNNL_ARG_DIFF_DST, on::Wrap(md_, ctx.input(0))},
                          {from_dst_ ? DNNL_ARG_DST : DNNL_ARG_SRC, on::Wrap(md_, ctx.input(1))},
                          {DNNL_ARG_DIFF_SRC, on::Wrap(md_, ctx.output(0))}});
    });
  }

 private:
  dnnl::algorithm alg_;
  bool from_dst_;
  dnnl::memory::desc md_;
  dnnl::primitive prim_;
};

struct ReluFwd : OneDnnEltwiseForward {
  ReluFwd() : OneDnnEltwiseForward(dnnl::algorithm::eltwise_relu) {}
};
struct ReluBwd : OneDnnEltwiseBackward {
  ReluBwd() : OneDnnEltwiseBackward(dnnl::algorithm::eltwise_relu, false) {}
};
struct SigmoidFwd : OneDnnEltwiseForward {
  SigmoidFwd() : OneDnnEltwiseForward(dnnl::algorithm::eltwise_logistic_use_dst_for_bwd) {}
};
struct SigmoidBwd : OneDnnEltwiseBackward {
  SigmoidBwd() : OneDnnEltwiseBackward(dnnl::algorithm::eltwise_logistic_use_dst_for_bwd, true) {}
};

// Softmax over the last axis: a 2-D (rows, classes) descriptor.
on::dims Rows(const TensorType& t) {
  const int64_t k = t.shape.dim(-1);
  return {t.shape.num_elements() / k, k};
}

class OneDnnSoftmaxForward : public on::OneDnnKernel {
 public:
  absl::Status Init(const KernelInitContext& c) override {
    return on::Call([&] {
      md_ = on::Desc(Rows(c.input_types[0]), on::tag::ab);
      auto d = dnnl::softmax_forward::desc(dnnl::prop_kind::forward_training, md_, 1);
      prim_ = dnnl::softmax_forward(dnnl::softmax_forward::primitive_desc(d, on::Engine()));
    });
  }
  absl::Status Run(KernelRunContext& ctx) override {
    return on::Call([&] {
      on::ApplyThreads();
      on::Execute(prim_, {{DNNL_ARG_SRC, on::Wrap(md_, ctx.input(0))},
                          {DNNL_ARG_DST, on::Wrap(md_, ctx.output(0))}});
    });
  }

 private:
  dnnl::memory::desc md_;
  dnnl::primitive prim_;
};

class OneDnnSoftmaxBackward : public on::OneDnnKernel {
 public:
  absl::Status Init(const KernelInitContext& c) override {
    return on::Call([&] {
      md_ = on::Desc(Rows(c.input_types[0]), on::tag::ab);
      auto fd = dnnl::softmax_forward::desc(dnnl::prop_kind::forward_training, md_, 1);
      auto fpd = dnnl::softmax_forward::primitive_desc(fd, on::Engine());
      auto bd = dnnl::softmax_backward::desc(md_, md_, 1);
      prim_ = dnnl::softmax_backward(dnnl::softmax_backward::primitive_desc(bd, on::Engine(), fpd));
    });
  }
  absl::Status Run(KernelRunContext& ctx) override {
    return on::Call([&] {
      on::ApplyThreads();
      on::Execute(prim_, {{DNNL_ARG_DIFF_DST, on::Wrap(md_, ctx.input(0))},
                          {DNNL_ARG_DST, on::Wrap(md_, ctx.input(1))},
                          {DNNL_ARG_DIFF_SRC, on::Wrap(md_, ctx.output(0))}});
    });
  }

 private:
  dnnl::memory::desc md_;
  dnnl::primitive prim_;
};

// ---- reference kernels ----------------------------------------------------------------------

struct ReluBody {
  template <typename T>
  static void Run(const KernelRunContext& ctx, int64_t b, int64_t e) {
    const T* x = ctx.input(0).data<T>();
    T* y = ctx.output(0).data<T>();
    for (int64_t i = b; i < e; ++i) y[i] = x[i] > T(0) ? x[i] : T(0);
  }
};
struct ReluGradBody {  // (dy, x)
  template <typename T>
  static void Run(const KernelRunContext& ctx, int64_t b, int64_t e) {
    const T* dy = ctx.input(0).data<T>();
    const T* x = ctx.input(1).data<T>();
    T* dx = ctx.output(0).data<T>();
    for (int64_t i = b; i < e; ++i) dx[i] = x[i] > T(0) ? dy[i] : T(0);
  }
};
struct SigmoidBody {
  template <typename T>
  static void Run(const KernelRunContext& ctx, int64_t b, int64_t e) {
    const T* x = ctx.input(0).data<T>();
    T* y = ctx.output(0).data<T>();
    for (int64_t i = b; i < e; ++i) y[i] = T(1) / (T(1) + std::exp(-x[i]));
  }
};
struct SigmoidGradBody {  // (dy, y)
  template <typename T>
  static void Run(const KernelRunContext& ctx, int64_t b, int64_t e) {
    const T* dy = ctx.input(0).data<T>();
    const T* y = ctx.input(1).data<T>();
    T* dx = ctx.output(0).data<T>();
    for (int64_t i = b; i < e; ++i) dx[i] = dy[i] * y[i] * (T(1) - y[i]);
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

absl::StatusOr<std::vector<TensorType>> Unary(const ShapeContext& c) {
  if (absl::Status s = ExpectFloat(c, 0); !s.ok()) return s;
  return SameAs(c, 0);
}
absl::StatusOr<std::vector<TensorType>> Binary(const ShapeContext& c) {
  if (absl::Status s = ExpectFloat(c, 0); !s.ok()) return s;
  if (c.inputs[0] != c.inputs[1]) {
    return ShapeError(c, absl::StrCat("inputs must have equal types, got ", c.inputs[0].ToString(),
                                      " and ", c.inputs[1].ToString()));
  }
  return SameAs(c, 0);
}

// A gradient rule emitting `grad_op(dy, input-or-output)`.
GradFn GradFrom(const char* grad_op, bool from_output) {
  return [grad_op, from_output](GradContext& g) -> GradResult {
    absl::StatusOr<Value> dx =
        g.graph().Add(grad_op, {*g.output_grad(0), from_output ? g.output(0) : g.input(0)});
    if (!dx.ok()) return dx.status();
    return Grads{*dx};
  };
}

GRAFT_REGISTER_OP(OpDef<NoAttrs>("graft.Relu")
                      .Doc("y = max(x, 0)")
                      .Inputs({"x"})
                      .Outputs({"y"})
                      .Shape([](const ShapeContext& c, const NoAttrs&) { return Unary(c); })
                      .Kernel<ReluFwd>(DType::kF32)
                      .Reference<Loops<ReluBody>::Reference>()
                      .Grad(GradFrom("graft.ReluGrad", false)));
GRAFT_REGISTER_OP(OpDef<NoAttrs>("graft.ReluGrad")
                      .Doc("dx = dy * [x > 0]")
                      .Inputs({"dy", "x"})
                      .Outputs({"dx"})
                      .Shape([](const ShapeContext& c, const NoAttrs&) { return Binary(c); })
                      .Kernel<ReluBwd>(DType::kF32)
                      .Reference<Loops<ReluGradBody>::Reference>());
GRAFT_REGISTER_OP(OpDef<NoAttrs>("graft.Sigmoid")
                      .Doc("y = 1 / (1 + exp(-x))")
                      .Inputs({"x"})
                      .Outputs({"y"})
                      .Shape([](const ShapeContext& c, const NoAttrs&) { return Unary(c); })
                      .Kernel<SigmoidFwd>(DType::kF32)
                      .Reference<Loops<SigmoidBody>::Reference>()
                      .Grad(GradFrom("graft.SigmoidGrad", true)));
GRAFT_REGISTER_OP(OpDef<NoAttrs>("graft.SigmoidGrad")
                      .Doc("dx = dy * y * (1 - y)")
                      .Inputs({"dy", "y"})
                      .Outputs({"dx"})
                      .Shape([](const ShapeContext& c, const NoAttrs&) { return Binary(c); })
                      .Kernel<SigmoidBwd>(DType::kF32)
                      .Reference<Loops<SigmoidGradBody>::Reference>());
GRAFT_REGISTER_OP(OpDef<NoAttrs>("graft.Softmax")
                      .Doc("y = exp(x - max) / sum(exp(x - max)) over the last axis")
                      .Inputs({"x"})
                      .Outputs({"y"})
                      .Shape([](const ShapeContext& c, const NoAttrs&) { return Unary(c); })
                      .Kernel<OneDnnSoftmaxForward>(DType::kF32)
                      .Reference<RefSoftmax>()
                      .Grad(GradFrom("graft.SoftmaxGrad", true)));
GRAFT_REGISTER_OP(OpDef<NoAttrs>("graft.SoftmaxGrad")
                      .Doc("dx = y * (dy - sum(dy * y)) over the last axis")
                      .Inputs({"dy", "y"})
                      .Outputs({"dx"})
                      .Shape([](const ShapeContext& c, const NoAttrs&) { return Binary(c); })
                      .Kernel<OneDnnSoftmaxBackward>(DType::kF32)
                      .Reference<RefSoftmaxGrad>());

constexpr const char* kActivations[][2] = {
    {"relu", "graft.Relu"}, {"sigmoid", "graft.Sigmoid"}, {"softmax", "graft.Softmax"}};

}  // namespace

bool IsKnownActivation(absl::string_view name) {
  if (name.empty() || name == "linear") return true;
  for (const auto& a : kActivations) {
    if (name == a[0]) return true;
  }
  return false;
}

absl::Status ValidateActivation(absl::string_view name) {
  if (IsKnownActivation(name)) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown activation \"", name, "\"; graft knows: linear, relu, sigmoid, softmax"));
}

absl::StatusOr<Value> Activation(Graph& g, Value x, absl::string_view name) {
  if (absl::Status s = ValidateActivation(name); !s.ok()) return s;
  for (const auto& a : kActivations) {
    if (name == a[0]) return g.Add(a[1], {x});
  }
  return x;  // linear
}

}  // namespace graft::ops
