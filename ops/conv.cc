// ops/conv.cc — Conv1D (Keras semantics, channels-last) and its backward ops.
//   x (N, L, Cin), w (k, Cin, Cout), b (Cout), stride s, dilation d, pads (pl, pr) from
//   ComputeGeometry (valid: none; same: extra element right; causal: pl = d*(k-1), pr = 0):
//   y[n, o, co]   = b[co] + sum_{j, ci} x[n, o*s + j*d - pl, ci] * w[j, ci, co]
//                   (x outside [0, L) reads as zero; no kernel flip)
//   dx[n, i, ci]  = sum_{o, j : o*s + j*d - pl = i} sum_co dy[n, o, co] * w[j, ci, co]
//   dw[j, ci, co] = sum_{n, o} x[n, o*s + j*d - pl, ci] * dy[n, o, co]
//   db[co]        = sum_{n, o} dy[n, o, co]
// Conv1DBackwardData (dy, w) -> dx and Conv1DBackwardWeights (x, dy) -> (dw, db) are the ops the
// gradient rule emits. oneDNN f32 convolution primitives (padding_l / padding_r passed as
// computed, never symmetrised; weights in the layout oneDNN picks, bridged from Keras's (k, in,
// out)); reference loops for f32 and f64.
#include "ops/conv.h"

#include <algorithm>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "ops/common.h"
#include "ops/onednn/onednn.h"

namespace graft::ops {
namespace {

namespace on = ::graft::onednn;

// ---- shape functions ------------------------------------------------------------------------

std::string AttrsString(const Conv1DAttrs& a) {
  return absl::StrCat("strides=", a.stride, " padding=", PaddingName(a.padding),
                      " dilation_rate=", a.dilation);
}

absl::Status CheckAttrs(const ShapeContext& c, const Conv1DAttrs& a) {
  if (a.stride < 1) {
    return ShapeError(c, absl::StrCat("strides must be a positive integer. Received strides=",
                                      a.stride, "; expected strides >= 1"));
  }
  if (a.dilation < 1) {
    return ShapeError(
        c, absl::StrCat("dilation_rate must be a positive integer. Received dilation_rate=",
                        a.dilation, "; expected dilation_rate >= 1"));
  }
  if (a.stride > 1 && a.dilation > 1) {
    return ShapeError(c, absl::StrCat("`strides > 1` not supported in conjunction with "
                                      "`dilation_rate > 1`. Received: strides=",
                                      a.stride, " and dilation_rate=", a.dilation));
  }
  return absl::OkStatus();
}

absl::Status CheckKernelSize(const ShapeContext& c, int64_t k) {
  if (k == 0) {
    return ShapeError(c, "The argument `kernel_size` cannot contain 0. Received kernel_size=0.");
  }
  if (k < 0) {
    return ShapeError(c, absl::StrCat("kernel_size must be known and positive, got ", k));
  }
  return absl::OkStatus();
}

// Requires input i to be a rank-3 tensor of `dtype`; `what` describes the expected layout.
absl::Status CheckRank3(const ShapeContext& c, int i, absl::string_view role,
                        absl::string_view layout, DType dtype) {
  const TensorType& t = c.inputs[i];
  if (t.dtype != dtype) {
    return ShapeError(c, absl::StrCat(role, " must be ", DTypeName(dtype), " like the input, got ",
                                      DTypeName(t.dtype)));
  }
  if (t.shape.rank() != 3) {
    return ShapeError(
        c, absl::StrCat("expected ", role, " of shape ", layout, " (rank 3), got ", "shape ",
                        t.shape.ToString(), " (rank ", t.shape.rank(), ")"));
  }
  return absl::OkStatus();
}

// The output geometry; a non-positive 'valid' length is an error with the formula filled in.
absl::StatusOr<Geometry> OutputGeometry(const ShapeContext& c, const Shape& x, int64_t k,
                                        const Conv1DAttrs& a) {
  const int64_t length = x.dim(1);
  Geometry g = ComputeGeometry(length, k, a.stride, a.dilation, a.padding);
  if (length >= 0 && g.out <= 0) {
    return ShapeError(
        c, absl::StrCat("output length would be ", g.out, " <= 0 with padding 'valid': ",
                        ValidFormula(length, k, a.stride, a.dilation), " (input length ", length,
                        ", kernel_size ", k, ", ", AttrsString(a), ", input shape ", x.ToString(),
                        "); use padding='same' or 'causal', a smaller "
                        "kernel_size or dilation_rate, or longer inputs"));
  }
  if (length == 0) {
    return ShapeError(c, absl::StrCat("input length is 0 (input shape ", x.ToString(), ")"));
  }
  return g;
}

bool Known(int64_t d) { return d >= 0; }

absl::StatusOr<std::vector<TensorType>> InferConv1D(const ShapeContext& c, const Conv1DAttrs& a) {
  if (absl::Status s = ExpectFloat(c, 0); !s.ok()) return s;
  const DType dtype = c.inputs[0].dtype;
  if (absl::Status s = CheckRank3(c, 0, "input", "(batch, steps, channels)", dtype); !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckRank3(c, 1, "kernel", "(kernel_size, in_channels, filters)", dtype);
      !s.ok()) {
    return s;
  }
  const Shape& x = c.inputs[0].shape;
  const Shape& w = c.inputs[1].shape;
  const int64_t k = w.dim(0), cin = w.dim(1), cout = w.dim(2);
  if (absl::Status s = CheckKernelSize(c, k); !s.ok()) return s;
  if (absl::Status s = CheckAttrs(c, a); !s.ok()) return s;
  if (cout <= 0 || cin <= 0) {
    return ShapeError(
        c, absl::StrCat("kernel shape ", w.ToString(), " must have positive ",
                        "in_channels and filters (kernel_size, in_channels, ", "filters)"));
  }
  if (Known(x.dim(2)) && x.dim(2) != cin) {
    return ShapeError(c,
                      absl::StrCat("input has ", x.dim(2), " channels (input shape ", x.ToString(),
                                   ") but the kernel expects in_channels=", cin, " (kernel shape ",
                                   w.ToString(), " = (kernel_size, in_channels, filters))"));
  }
  if (c.inputs.size() > 2) {
    const TensorType& b = c.inputs[2];
    if (b.dtype != dtype || b.shape != Shape{cout}) {
      return ShapeError(c, absl::StrCat("expected bias of type ", DTypeName(dtype), "(", cout,
                                        ",) (one per filter), got ", b.ToString()));
    }
  }
  absl::StatusOr<Geometry> g = OutputGeometry(c, x, k, a);
  if (!g.ok()) return g.status();
  return std::vector<TensorType>{{dtype, Shape{x.dim(0), g->out, cout}}};
}

// dy (N, Lout, Cout), w (k, Cin, Cout) -> dx (N, L, Cin).
absl::StatusOr<std::vector<TensorType>> InferBackwardData(const ShapeContext& c,
                                                          const Conv1DBackwardDataAttrs& a) {
  if (absl::Status s = ExpectFloat(c, 0); !s.ok()) return s;
  const DType dtype = c.inputs[0].dtype;
  if (absl::Status s = CheckRank3(c, 0, "dy", "(batch, out_steps, filters)", dtype); !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckRank3(c, 1, "kernel", "(kernel_size, in_channels, filters)", dtype);
      !s.ok()) {
    return s;
  }
  const Shape& dy = c.inputs[0].shape;
  const Shape& w = c.inputs[1].shape;
  if (absl::Status s = CheckKernelSize(c, w.dim(0)); !s.ok()) return s;
  if (absl::Status s = CheckAttrs(c, a.conv); !s.ok()) return s;
  if (a.length <= 0) {
    return ShapeError(c, absl::StrCat("the forward input length must be known and positive, ",
                                      "got length=", a.length));
  }
  if (Known(dy.dim(2)) && dy.dim(2) != w.dim(2)) {
    return ShapeError(c, absl::StrCat("dy has ", dy.dim(2), " channels (shape ", dy.ToString(),
                                      ") but the kernel has filters=", w.dim(2), " (kernel shape ",
                                      w.ToString(), ")"));
  }
  Shape x{dy.dim(0), a.length, w.dim(1)};
  absl::StatusOr<Geometry> g = OutputGeometry(c, x, w.dim(0), a.conv);
  if (!g.ok()) return g.status();
  if (Known(dy.dim(1)) && dy.dim(1) != g->out) {
    return ShapeError(c, absl::StrCat("expected dy of length ", g->out, " (input length ", a.length,
                                      ", kernel_size ", w.dim(0), ", ", AttrsString(a.conv),
                                      "), got shape ", dy.ToString()));
  }
  return std::vector<TensorType>{{dtype, x}};
}

// x (N, L, Cin), dy (N, Lout, Cout) -> dw (k, Cin, Cout), db (Cout).
absl::StatusOr<std::vector<TensorType>> InferBackwardWeights(const ShapeContext& c,
                                                             const Conv1DBackwardWeightsAttrs& a) {
  if (absl::Status s = ExpectFloat(c, 0); !s.ok()) return s;
  const DType dtype = c.inputs[0].dtype;
  if (absl::Status s = CheckRank3(c, 0, "input", "(batch, steps, channels)", dtype); !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckRank3(c, 1, "dy", "(batch, out_steps, filters)", dtype); !s.ok()) {
    return s;
  }
  const Shape& x = c.inputs[0].shape;
  const Shape& dy = c.inputs[1].shape;
  if (absl::Status s = CheckKernelSize(c, a.kernel_size); !s.ok()) return s;
  if (absl::Status s = CheckAttrs(c, a.conv); !s.ok()) return s;
  if (Known(x.dim(0)) && Known(dy.dim(0)) && x.dim(0) != dy.dim(0)) {
    return ShapeError(
        c, absl::StrCat("input and dy batch sizes differ: ", x.ToString(), " vs ", dy.ToString()));
  }
  absl::StatusOr<Geometry> g = OutputGeometry(c, x, a.kernel_size, a.conv);
  if (!g.ok()) return g.status();
  if (Known(dy.dim(1)) && Known(g->out) && dy.dim(1) != g->out) {
    return ShapeError(c, absl::StrCat("expected dy of length ", g->out, " (input shape ",
                                      x.ToString(), ", kernel_size ", a.kernel_size, ", ",
                                      AttrsString(a.conv), "), got shape ", dy.ToString()));
  }
  return std::vector<TensorType>{{dtype, Shape{a.kernel_size, x.dim(2), dy.dim(2)}},
                                 {dtype, Shape{dy.dim(2)}}};
}

// ---- geometry shared by the kernels ---------------------------------------------------------

// Sizes of one concrete convolution (all known at kernel Init).
struct Conv1DSizes {
  int64_t n = 0, length = 0, cin = 0, out = 0, cout = 0, k = 0;
  int64_t stride = 1, dilation = 1, pad_l = 0, pad_r = 0;
};

Conv1DSizes Sizes(int64_t n, int64_t length, int64_t cin, int64_t cout, int64_t k,
                  const Conv1DAttrs& a) {
  Geometry g = ComputeGeometry(length, k, a.stride, a.dilation, a.padding);
  return {n, length, cin, g.out, cout, k, a.stride, a.dilation, g.pad_l, g.pad_r};
}

// ---- oneDNN kernels -------------------------------------------------------------------------

// graft's tensors are plain channels-last: oneDNN's logical (N, C, W) dims with tag nwc.
dnnl::memory::desc SrcDesc(const Conv1DSizes& z) {
  return on::Desc({z.n, z.cin, z.length}, on::tag::nwc);
}
dnnl::memory::desc DstDesc(const Conv1DSizes& z) {
  return on::Desc({z.n, z.cout, z.out}, on::tag::nwc);
}
// Keras's kernel (k, Cin, Cout) is oneDNN's logical (O, I, W) in memory order wio.
dnnl::memory::desc UserWeightsDesc(const Conv1DSizes& z) {
  return on::Desc({z.cout, z.cin, z.k}, on::tag::wio);
}
dnnl::memory::desc AnyWeightsDesc(const Conv1DSizes& z) {
  return dnnl::memory::desc({z.cout, z.cin, z.k}, on::dt::f32, on::tag::any);
}
dnnl::memory::desc BiasDesc(const Conv1DSizes& z) { return on::Desc({z.cout}, on::tag::a); }

// oneDNN counts dilation from 0 (d - 1) and takes the left and right pads separately.
struct OneDnnGeometry {
  on::dims strides, dilates, pad_l, pad_r;
};
OneDnnGeometry OneDnnGeom(const Conv1DSizes& z) {
  return {{z.stride}, {z.dilation - 1}, {z.pad_l}, {z.pad_r}};
}

dnnl::convolution_forward::primitive_desc ForwardPd(const Conv1DSizes& z, bool bias) {
  const OneDnnGeometry o = OneDnnGeom(z);
  auto d =
      bias ? dnnl::convolution_forward::desc(
                 dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, SrcDesc(z),
                 AnyWeightsDesc(z), BiasDesc(z), DstDesc(z), o.strides, o.dilates, o.pad_l, o.pad_r)
           : dnnl::convolution_forward::desc(
                 dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, SrcDesc(z),
                 AnyWeightsDesc(z), DstDesc(z), o.strides, o.dilates, o.pad_l, o.pad_r);
  return dnnl::convolution_forward::primitive_desc(d, on::Engine());
}

class OneDnnConv1D : public on::OneDnnKernel {
 public:
  absl::Status Init(const KernelInitContext& c) override {
    const Shape& x = c.input_types[0].shape;
    const Shape& w = c.input_types[1].shape;
    bias_ = c.input_types.size() > 2;
    z_ = Sizes(x.dim(0), x.dim(1), x.dim(2), w.dim(2), w.dim(0), c.attrs<Conv1DAttrs>());
    return on::Call([&] {
      auto pd = ForwardPd(z_, bias_);
      src_ = SrcDesc(z_);
      dst_ = DstDesc(z_);
      bias_md_ = BiasDesc(z_);
      weights_.Init(UserWeightsDesc(z_), pd.weights_desc());
      prim_ = dnnl::convolution_forward(pd);
    });
  }
  absl::Status Run(KernelRunContext& ctx) override {
    return on::Call([&] {
      on::ApplyThreads();
      std::unordered_map<int, dnnl::memory> args = {
          {DNNL_ARG_SRC, on::Wrap(src_, ctx.input(0))},
          {DNNL_ARG_WEIGHTS, weights_.ToChosen(ctx.input(1))},
          {DNNL_ARG_DST, on::Wrap(dst_, ctx.output(0))}};
      if (bias_) args[DNNL_ARG_BIAS] = on::Wrap(bias_md_, ctx.input(2));
      on::Execute(prim_, args);
    });
  }

 private:
  Conv1DSizes z_;
  bool bias_ = false;
  dnnl::memory::desc src_, dst_, bias_md_;
  on::LayoutBridge weights_;
  dnnl::primitive prim_;
};

// (dy, w) -> dx.
class OneDnnConv1DBackwardData : public on::OneDnnKernel {
 public:
  absl::Status Init(const KernelInitContext& c) override {
    const Shape& dy = c.input_types[0].shape;
    const Shape& w = c.input_types[1].shape;
    const auto& a = c.attrs<Conv1DBackwardDataAttrs>();
    z_ = Sizes(dy.dim(0), a.length, w.dim(1), w.dim(2), w.dim(0), a.conv);
    return on::Call([&] {
      const OneDnnGeometry o = OneDnnGeom(z_);
      auto hint = ForwardPd(z_, /*bias=*/false);
      auto d = dnnl::convolution_backward_data::desc(dnnl::algorithm::convolution_direct,
                                                     SrcDesc(z_), AnyWeightsDesc(z_), DstDesc(z_),
                                                     o.strides, o.dilates, o.pad_l, o.pad_r);
      auto pd = dnnl::convolution_backward_data::primitive_desc(d, on::Engine(), hint);
      src_ = SrcDesc(z_);
      dst_ = DstDesc(z_);
      weights_.Init(UserWeightsDesc(z_), pd.weights_desc());
      prim_ = dnnl::convolution_backward_data(pd);
    });
  }
  absl::Status Run(KernelRunContext& ctx) override {
    return on::Call([&] {
      on::ApplyThreads();
      on::Execute(prim_, {{DNNL_ARG_DIFF_DST, on::Wrap(dst_, ctx.input(0))},
                          {DNNL_ARG_WEIGHTS, weights_.ToChosen(ctx.input(1))},
                          {DNNL_ARG_DIFF_SRC, on::Wrap(src_, ctx.output(0))}});
    });
  }

 private:
  Conv1DSizes z_;
  dnnl::memory::desc src_, dst_;
  on::LayoutBridge weights_;
  dnnl::primitive prim_;
};

// (x, dy) -> (dw, db).
class OneDnnConv1DBackwardWeights : public on::OneDnnKernel {
 public:
  absl::Status Init(const KernelInitContext& c) override {
    const Shape& x = c.input_types[0].shape;
    const Shape& dy = c.input_types[1].shape;
    const auto& a = c.attrs<Conv1DBackwardWeightsAttrs>();
    z_ = Sizes(x.dim(0), x.dim(1), x.dim(2), dy.dim(2), a.kernel_size, a.conv);
    return on::Call([&] {
      const OneDnnGeometry o = OneDnnGeom(z_);
      auto hint = ForwardPd(z_, /*bias=*/true);
      auto d = dnnl::convolution_backward_weights::desc(
          dnnl::algorithm::convolution_direct, SrcDesc(z_), AnyWeightsDesc(z_), BiasDesc(z_),
          DstDesc(z_), o.strides, o.dilates, o.pad_l, o.pad_r);
      auto pd = dnnl::convolution_backward_weights::primitive_desc(d, on::Engine(), hint);
      src_ = SrcDesc(z_);
      dst_ = DstDesc(z_);
      bias_md_ = BiasDesc(z_);
      weights_.Init(UserWeightsDesc(z_), pd.diff_weights_desc());
      prim_ = dnnl::convolution_backward_weights(pd);
    });
  }
  absl::Status Run(KernelRunContext& ctx) override {
    return on::Call([&] {
      on::ApplyThreads();
      on::Execute(prim_, {{DNNL_ARG_SRC, on::Wrap(src_, ctx.input(0))},
                          {DNNL_ARG_DIFF_DST, on::Wrap(dst_, ctx.input(1))},
                          {DNNL_ARG_DIFF_WEIGHTS, weights_.ChosenFor(ctx.output(0))},
                          {DNNL_ARG_DIFF_BIAS, on::Wrap(bias_md_, ctx.output(1))}});
      weights_.FromChosen(ctx.output(0));
      on::Stream().wait();  // FromChosen only enqueues its reorder.
    });
  }

 private:
  Conv1DSizes z_;
  dnnl::memory::desc src_, dst_, bias_md_;
  on::LayoutBridge weights_;
  dnnl::primitive prim_;
};

// ---- reference kernels ----------------------------------------------------------------------
// Plain loops over the definition at the top of this file, accumulating in T.

template <typename T>
class RefConv1D : public Kernel {
 public:
  absl::Status Init(const KernelInitContext& c) override {
    const Shape& x = c.input_types[0].shape;
    const Shape& w = c.input_types[1].shape;
    bias_ = c.input_types.size() > 2;
    z_ = Sizes(x.dim(0), x.dim(1), x.dim(2), w.dim(2), w.dim(0), c.attrs<Conv1DAttrs>());
    return absl::OkStatus();
  }
  absl::Status Run(KernelRunContext& ctx) override {
    const T* x = ctx.input(0).data<T>();
    const T* w = ctx.input(1).data<T>();
    const T* b = bias_ ? ctx.input(2).data<T>() : nullptr;
    T* y = ctx.output(0).data<T>();
    const Conv1DSizes& z = z_;
    for (int64_t n = 0; n < z.n; ++n) {
      for (int64_t o = 0; o < z.out; ++o) {
        T* yr = y + (n * z.out + o) * z.cout;
        for (int64_t co = 0; co < z.cout; ++co) yr[co] = b ? b[co] : T(0);
        for (int64_t j = 0; j < z.k; ++j) {
          const int64_t i = o * z.stride + j * z.dilation - z.pad_l;
          if (i < 0 || i >= z.length) continue;
          for (int64_t ci = 0; ci < z.cin; ++ci) {
            const T xv = x[(n * z.length + i) * z.cin + ci];
            const T* wr = w + (j * z.cin + ci) * z.cout;
            for (int64_t co = 0; co < z.cout; ++co) yr[co] += xv * wr[co];
          }
        }
      }
    }
    return absl::OkStatus();
  }

 private:
  Conv1DSizes z_;
  bool bias_ = false;
};

template <typename T>
class RefConv1DBackwardData : public Kernel {  // (dy, w) -> dx
 public:
  absl::Status Init(const KernelInitContext& c) override {
    const Shape& dy = c.input_types[0].shape;
    const Shape& w = c.input_types[1].shape;
    const auto& a = c.attrs<Conv1DBackwardDataAttrs>();
    z_ = Sizes(dy.dim(0), a.length, w.dim(1), w.dim(2), w.dim(0), a.conv);
    return absl::OkStatus();
  }
  absl::Status Run(KernelRunContext& ctx) override {
    const T* dy = ctx.input(0).data<T>();
    const T* w = ctx.input(1).data<T>();
    T* dx = ctx.output(0).data<T>();
    const Conv1DSizes& z = z_;
    std::fill(dx, dx + z.n * z.length * z.cin, T(0));
    for (int64_t n = 0; n < z.n; ++n) {
      for (int64_t o = 0; o < z.out; ++o) {
        const T* dyr = dy + (n * z.out + o) * z.cout;
        for (int64_t j = 0; j < z.k; ++j) {
          const int64_t i = o * z.stride + j * z.dilation - z.pad_l;
          if (i < 0 || i >= z.length) continue;
          for (int64_t ci = 0; ci < z.cin; ++ci) {
            const T* wr = w + (j * z.cin + ci) * z.cout;
            T acc = 0;
            for (int64_t co = 0; co < z.cout; ++co) acc += dyr[co] * wr[co];
            dx[(n * z.length + i) * z.cin + ci] += acc;
          }
        }
      }
    }
    return absl::OkStatus();
  }

 private:
  Conv1DSizes z_;
};

template <typename T>
class RefConv1DBackwardWeights : public Kernel {  // (x, dy) -> (dw, db)
 public:
  absl::Status Init(const KernelInitContext& c) override {
    const Shape& x = c.input_types[0].shape;
    const Shape& dy = c.input_types[1].shape;
    const auto& a = c.attrs<Conv1DBackwardWeightsAttrs>();
    z_ = Sizes(x.dim(0), x.dim(1), x.dim(2), dy.dim(2), a.kernel_size, a.conv);
    return absl::OkStatus();
  }
  absl::Status Run(KernelRunContext& ctx) override {
    const T* x = ctx.input(0).data<T>();
    const T* dy = ctx.input(1).data<T>();
    T* dw = ctx.output(0).data<T>();
    T* db = ctx.output(1).data<T>();
    const Conv1DSizes& z = z_;
    std::fill(dw, dw + z.k * z.cin * z.cout, T(0));
    std::fill(db, db + z.cout, T(0));
    for (int64_t n = 0; n < z.n; ++n) {
      for (int64_t o = 0; o < z.out; ++o) {
        const T* dyr = dy + (n * z.out + o) * z.cout;
        for (int64_t co = 0; co < z.cout; ++co) db[co] += dyr[co];
        for (int64_t j = 0; j < z.k; ++j) {
          const int64_t i = o * z.stride + j * z.dilation - z.pad_l;
          if (i < 0 || i >= z.length) continue;
          for (int64_t ci = 0; ci < z.cin; ++ci) {
            const T xv = x[(n * z.length + i) * z.cin + ci];
            T* dwr = dw + (j * z.cin + ci) * z.cout;
            for (int64_t co = 0; co < z.cout; ++co) dwr[co] += xv * dyr[co];
          }
        }
      }
    }
    return absl::OkStatus();
  }

 private:
  Conv1DSizes z_;
};

// ---- gradient rule and registration ---------------------------------------------------------

// dx through Conv1DBackwardData(dy, w); dw and db through one Conv1DBackwardWeights(x, dy).
// Each is emitted only when some input it produces needs a gradient.
GradResult GradConv1D(GradContext& g) {
  const Conv1DAttrs& a = g.attrs<Conv1DAttrs>();
  Graph& graph = g.graph();
  const Value dy = *g.output_grad(0);
  const bool has_bias = g.num_inputs() > 2;
  Grads out(g.num_inputs());
  if (g.needs_input_grad(0)) {
    const Shape x = graph.type(g.input(0)).shape;
    if (x.dim(1) < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the gradient with respect to the input needs a known input length, got input shape ",
          x.ToString(), "; give the input a fixed number of steps"));
    }
    absl::StatusOr<Value> dx =
        graph.Add("graft.Conv1DBackwardData", {dy, g.input(1)},
                  Conv1DBackwardDataAttrs{a, x.dim(1)}, "Conv1DBackwardData");
    if (!dx.ok()) return dx.status();
    out[0] = *dx;
  }
  const bool need_w = g.needs_input_grad(1);
  const bool need_b = has_bias && g.needs_input_grad(2);
  if (need_w || need_b) {
    const int64_t k = graph.type(g.input(1)).shape.dim(0);
    absl::StatusOr<std::vector<Value>> dwb =
        graph.AddNode("graft.Conv1DBackwardWeights", {g.input(0), dy},
                      Conv1DBackwardWeightsAttrs{a, k}, "Conv1DBackwardWeights");
    if (!dwb.ok()) return dwb.status();
    if (need_w) out[1] = (*dwb)[0];
    if (need_b) out[2] = (*dwb)[1];
  }
  return out;
}

GRAFT_REGISTER_OP(
    OpDef<Conv1DAttrs>("graft.Conv1D")
        .Doc("y[n,o,co] = b[co] + sum_{j,ci} x[n, o*s + j*d - pad_l, ci] * w[j,ci,co] "
             "(Keras Conv1D: x (N,L,Cin), w (k,Cin,Cout); valid/same/causal padding)")
        .Inputs({"x", "w", "b?"})
        .Outputs({"y"})
        .Shape(InferConv1D)
        .PrintAttrs(AttrsString)
        .Kernel<OneDnnConv1D>(DType::kF32)
        .Reference<RefConv1D>()
        .Grad(GradConv1D));

GRAFT_REGISTER_OP(
    OpDef<Conv1DBackwardDataAttrs>("graft.Conv1DBackwardData")
        .Doc("dx[n,i,ci] = sum_{o,j: o*s + j*d - pad_l = i} sum_co dy[n,o,co] * w[j,ci,co]")
        .Inputs({"dy", "w"})
        .Outputs({"dx"})
        .Shape(InferBackwardData)
        .PrintAttrs([](const Conv1DBackwardDataAttrs& a) {
          return absl::StrCat(AttrsString(a.conv), " length=", a.length);
        })
        .Kernel<OneDnnConv1DBackwardData>(DType::kF32)
        .Reference<RefConv1DBackwardData>());

GRAFT_REGISTER_OP(OpDef<Conv1DBackwardWeightsAttrs>("graft.Conv1DBackwardWeights")
                      .Doc("dw[j,ci,co] = sum_{n,o} x[n, o*s + j*d - pad_l, ci] * dy[n,o,co]; "
                           "db[co] = sum_{n,o} dy[n,o,co]")
                      .Inputs({"x", "dy"})
                      .Outputs({"dw", "db"})
                      .Shape(InferBackwardWeights)
                      .PrintAttrs([](const Conv1DBackwardWeightsAttrs& a) {
                        return absl::StrCat(AttrsString(a.conv), " kernel_size=", a.kernel_size);
                      })
                      .Kernel<OneDnnConv1DBackwardWeights>(DType::kF32)
                      .Reference<RefConv1DBackwardWeights>());

}  // namespace

absl::StatusOr<Value> Conv1D(Graph& g, Value x, Value w, std::optional<Value> b,
                             const Conv1DAttrs& attrs, absl::string_view name) {
  std::vector<Value> inputs = {x, w};
  if (b.has_value()) inputs.push_back(*b);
  return g.Add("graft.Conv1D", std::move(inputs), attrs, name);
}

}  // namespace graft::ops
