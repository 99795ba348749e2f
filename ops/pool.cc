// ops/pool.cc — MaxPooling1D, channels-last (N, L, C).
//   y[n, i, c] = max_{j < p} x[n, i*s + j - pad_l, c]      (positions outside [0, L) are never
//                                                            selected; ties: the first wins)
//   L_out = floor((L - p)/s) + 1 (valid), ceil(L/s) (same: total pad
//           max((L_out - 1)*s + p - L, 0), left = total/2, extra on the right)
//   dx[n, l, c] = sum over the windows i whose argmax is l of dy[n, i, c]
//                 (overlapping windows, s < p, accumulate)
// The forward op has a hidden int32 workspace output with y's shape, which the gradient rule
// passes to graft.MaxPool1DBackward(dy, workspace, x). The oneDNN kernels keep oneDNN's own
// workspace in those bytes; the reference kernels keep the argmax input position l.
// oneDNN pooling primitives for f32; reference loops for f32 and f64.
#include "ops/pool.h"

#include <algorithm>
#include <string>
#include <vector>

#include "ops/common.h"
#include "ops/onednn/onednn.h"

namespace graft::ops {
namespace {

namespace on = ::graft::onednn;

// The geometry of one node, from its attributes and x's length.
Geometry PoolGeometry(const MaxPool1DAttrs& a, int64_t length) {
  return ComputeGeometry(length, a.pool, a.stride, /*dilation=*/1, a.padding);
}

// ---- shape functions ------------------------------------------------------------------------

std::string Describe(const MaxPool1DAttrs& a) {
  return absl::StrCat("pool_size=", a.pool, ", strides=", a.stride,
                      ", padding=", PaddingName(a.padding));
}

// Checks the attributes and x (input `xi`), and returns y's type.
absl::StatusOr<TensorType> InferPooled(const ShapeContext& c, int xi, const MaxPool1DAttrs& a) {
  if (a.pool < 1) {
    return ShapeError(c,
                      absl::StrCat("pool_size must be a positive integer, received ", Describe(a)));
  }
  if (a.stride < 1) {
    return ShapeError(c,
                      absl::StrCat("strides must be a positive integer, received ", Describe(a)));
  }
  if (a.padding == Padding::kCausal) {
    return ShapeError(c,
                      "padding must be \"valid\" or \"same\" for pooling; "
                      "\"causal\" is only allowed for Conv1D");
  }
  const TensorType& x = c.inputs[xi];
  if (!IsFloating(x.dtype)) {
    return ShapeError(c,
                      absl::StrCat("input must be float32 or float64, got ", DTypeName(x.dtype)));
  }
  if (x.shape.rank() != 3) {
    return ShapeError(c, absl::StrCat("expected input of rank 3 (batch, steps, channels), got "
                                      "shape ",
                                      x.shape.ToString()));
  }
  const int64_t length = x.shape.dim(1);
  const Geometry geo = PoolGeometry(a, length);
  if (length >= 0 && geo.out <= 0) {
    return ShapeError(
        c, absl::StrCat("Computed output size would be zero or negative. Received: "
                        "`inputs.shape=",
                        x.shape.ToString(), "`, `pool_size=", a.pool, "`, `strides=", a.stride,
                        "`, `padding=", PaddingName(a.padding),
                        "`. Output steps floor((L - pool_size)/strides) + 1 = floor((", length,
                        " - ", a.pool, ")/", a.stride, ") + 1 = ", geo.out,
                        ". Use a pool_size of at most ", length, " or padding=\"same\"."));
  }
  return TensorType{x.dtype, Shape({x.shape.dim(0), geo.out, x.shape.dim(2)})};
}

absl::StatusOr<std::vector<TensorType>> InferMaxPool1D(const ShapeContext& c,
                                                       const MaxPool1DAttrs& a) {
  absl::StatusOr<TensorType> y = InferPooled(c, 0, a);
  if (!y.ok()) return y.status();
  return std::vector<TensorType>{*y, TensorType{DType::kI32, y->shape}};
}

// Equal except where either side is unknown (-1).
bool Compatible(const Shape& a, const Shape& b) {
  if (a.rank() != b.rank()) return false;
  for (int i = 0; i < a.rank(); ++i) {
    if (a.dim(i) >= 0 && b.dim(i) >= 0 && a.dim(i) != b.dim(i)) return false;
  }
  return true;
}

// (dy, workspace, x) -> dx with x's type.
absl::StatusOr<std::vector<TensorType>> InferMaxPool1DBackward(const ShapeContext& c,
                                                               const MaxPool1DAttrs& a) {
  absl::StatusOr<TensorType> y = InferPooled(c, 2, a);
  if (!y.ok()) return y.status();
  const TensorType& dy = c.inputs[0];
  const TensorType& ws = c.inputs[1];
  if (dy.dtype != y->dtype || !Compatible(dy.shape, y->shape)) {
    return ShapeError(
        c, absl::StrCat("dy must have the forward output's type ", y->ToString(), " (from x ",
                        c.inputs[2].ToString(), ", ", Describe(a), "), got ", dy.ToString()));
  }
  if (ws.dtype != DType::kI32 || !Compatible(ws.shape, y->shape)) {
    return ShapeError(c, absl::StrCat("workspace must be int32 with the forward output's "
                                      "shape ",
                                      y->shape.ToString(), ", got ", ws.ToString()));
  }
  return std::vector<TensorType>{c.inputs[2]};
}

// ---- oneDNN kernels -------------------------------------------------------------------------

// The oneDNN view of one node: x as (N, C, L) `nwc` (graft's (N, L, C) memory), y likewise.
struct PoolDescs {
  dnnl::memory::desc x, y;
  on::dims strides, kernel, pad_l, pad_r;
};

PoolDescs MakeDescs(const MaxPool1DAttrs& a, const TensorType& x) {
  const int64_t n = x.shape.dim(0), length = x.shape.dim(1), ch = x.shape.dim(2);
  const Geometry geo = PoolGeometry(a, length);
  PoolDescs d;
  d.x = on::Desc({n, ch, length}, on::tag::nwc);
  d.y = on::Desc({n, ch, geo.out}, on::tag::nwc);
  d.strides = {a.stride};
  d.kernel = {a.pool};
  d.pad_l = {geo.pad_l};
  d.pad_r = {geo.pad_r};
  return d;
}

dnnl::pooling_forward::primitive_desc ForwardPd(const PoolDescs& d) {
  auto desc =
      dnnl::pooling_forward::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::pooling_max,
                                  d.x, d.y, d.strides, d.kernel, d.pad_l, d.pad_r);
  return dnnl::pooling_forward::primitive_desc(desc, on::Engine());
}

// oneDNN's workspace has to fit in the int32 tensor the graph allocated for it (y's shape).
absl::Status CheckWorkspaceFits(const dnnl::memory::desc& ws, const TensorType& y) {
  const size_t have = static_cast<size_t>(y.shape.num_elements()) * SizeOf(DType::kI32);
  if (ws.get_size() > have) {
    return absl::InternalError(absl::StrCat("oneDNN pooling workspace needs ", ws.get_size(),
                                            " bytes, more than the ", have,
                                            " bytes of the int32 workspace output"));
  }
  return absl::OkStatus();
}

class OneDnnMaxPool1D : public on::OneDnnKernel {
 public:
  absl::Status Init(const KernelInitContext& c) override {
    PoolDescs d;
    absl::Status s = on::Call([&] {
      d = MakeDescs(c.attrs<MaxPool1DAttrs>(), c.input_types[0]);
      auto pd = ForwardPd(d);
      ws_ = pd.workspace_desc();
      prim_ = dnnl::pooling_forward(pd);
    });
    if (!s.ok()) return s;
    x_ = d.x;
    y_ = d.y;
    return CheckWorkspaceFits(ws_, c.output_types[1]);
  }
  absl::Status Run(KernelRunContext& ctx) override {
    return on::Call([&] {
      on::ApplyThreads();
      on::Execute(prim_, {{DNNL_ARG_SRC, on::Wrap(x_, ctx.input(0))},
                          {DNNL_ARG_DST, on::Wrap(y_, ctx.output(0))},
                          {DNNL_ARG_WORKSPACE, on::Wrap(ws_, ctx.output(1))}});
    });
  }

 private:
  dnnl::memory::desc x_, y_, ws_;
  dnnl::primitive prim_;
};

class OneDnnMaxPool1DBackward : public on::OneDnnKernel {
 public:
  absl::Status Init(const KernelInitContext& c) override {
    PoolDescs d;
    absl::Status s = on::Call([&] {
      d = MakeDescs(c.attrs<MaxPool1DAttrs>(), c.input_types[2]);
      auto fpd = ForwardPd(d);
      auto bd = dnnl::pooling_backward::desc(dnnl::algorithm::pooling_max, d.x, d.y, d.strides,
                                             d.kernel, d.pad_l, d.pad_r);
      auto pd = dnnl::pooling_backward::primitive_desc(bd, on::Engine(), fpd);
      ws_ = pd.workspace_desc();
      prim_ = dnnl::pooling_backward(pd);
    });
    if (!s.ok()) return s;
    x_ = d.x;
    y_ = d.y;
    return CheckWorkspaceFits(ws_, c.input_types[1]);
  }
  absl::Status Run(KernelRunContext& ctx) override {
    return on::Call([&] {
      on::ApplyThreads();
      on::Execute(prim_, {{DNNL_ARG_DIFF_DST, on::Wrap(y_, ctx.input(0))},
                          {DNNL_ARG_WORKSPACE, on::Wrap(ws_, ctx.input(1))},
                          {DNNL_ARG_DIFF_SRC, on::Wrap(x_, ctx.output(0))}});
    });
  }

 private:
  dnnl::memory::desc x_, y_, ws_;
  dnnl::primitive prim_;
};

// ---- reference kernels ----------------------------------------------------------------------

template <typename T>
class RefMaxPool1D : public Kernel {
 public:
  absl::Status Run(KernelRunContext& ctx) override {
    const MaxPool1DAttrs& a = attrs_;
    const Shape& xs = ctx.input(0).shape();
    const int64_t n = xs.dim(0), length = xs.dim(1), ch = xs.dim(2);
    const Geometry geo = PoolGeometry(a, length);
    const T* x = ctx.input(0).data<T>();
    T* y = ctx.output(0).data<T>();
    int32_t* ws = ctx.output(1).data<int32_t>();
    for (int64_t b = 0; b < n; ++b) {
      for (int64_t i = 0; i < geo.out; ++i) {
        const int64_t start = std::max<int64_t>(i * a.stride - geo.pad_l, 0);
        const int64_t end = std::min<int64_t>(i * a.stride - geo.pad_l + a.pool, length);
        for (int64_t c = 0; c < ch; ++c) {
          int64_t arg = start;
          T best = x[(b * length + start) * ch + c];
          for (int64_t l = start + 1; l < end; ++l) {
            const T v = x[(b * length + l) * ch + c];
            if (v > best) {
              best = v;
              arg = l;
            }
          }
          y[(b * geo.out + i) * ch + c] = best;
          ws[(b * geo.out + i) * ch + c] = static_cast<int32_t>(arg);
        }
      }
    }
    return absl::OkStatus();
  }
  absl::Status Init(const KernelInitContext& c) override {
    attrs_ = c.attrs<MaxPool1DAttrs>();
    return absl::OkStatus();
  }

 private:
  MaxPool1DAttrs attrs_;
};

template <typename T>
class RefMaxPool1DBackward : public Kernel {  // (dy, workspace, x)
 public:
  absl::Status Run(KernelRunContext& ctx) override {
    const Shape& ys = ctx.input(0).shape();
    const int64_t n = ys.dim(0), out = ys.dim(1), ch = ys.dim(2);
    const int64_t length = ctx.input(2).shape().dim(1);
    const T* dy = ctx.input(0).data<T>();
    const int32_t* ws = ctx.input(1).data<int32_t>();
    T* dx = ctx.output(0).data<T>();
    std::fill(dx, dx + ctx.output(0).num_elements(), T(0));
    for (int64_t b = 0; b < n; ++b) {
      for (int64_t i = 0; i < out; ++i) {
        for (int64_t c = 0; c < ch; ++c) {
          const int64_t k = (b * out + i) * ch + c;
          const int64_t l = ws[k];
          if (l < 0 || l >= length) {
            return absl::InternalError(absl::StrCat(
                "MaxPool1DBackward: workspace entry ", k, " = ", l, " is outside [0, ", length,
                "); the workspace must come from the reference MaxPool1D kernel"));
          }
          dx[(b * length + l) * ch + c] += dy[k];
        }
      }
    }
    return absl::OkStatus();
  }
};

// ---- gradient rule and registration ---------------------------------------------------------

GradResult GradMaxPool1D(GradContext& g) {
  if (!g.needs_input_grad(0) || !g.output_grad(0).has_value()) return Grads{std::nullopt};
  absl::StatusOr<Value> dx =
      g.graph().Add("graft.MaxPool1DBackward", {*g.output_grad(0), g.output(1), g.input(0)},
                    g.attrs<MaxPool1DAttrs>());
  if (!dx.ok()) return dx.status();
  return Grads{*dx};
}

GRAFT_REGISTER_OP(
    OpDef<MaxPool1DAttrs>("graft.MaxPool1D")
        .Doc("y[n,i,c] = max_{j<p} x[n, i*s + j - pad_l, c] (padding never selected); "
             "workspace: argmax state for MaxPool1DBackward")
        .Inputs({"x"})
        .Outputs({"y", "workspace~"})
        .Shape(InferMaxPool1D)
        .PrintAttrs(Describe)
        .Kernel<OneDnnMaxPool1D>(DType::kF32)
        .Reference<RefMaxPool1D>()
        .Grad(GradMaxPool1D));
GRAFT_REGISTER_OP(OpDef<MaxPool1DAttrs>("graft.MaxPool1DBackward")
                      .Doc("dx: dy routed to the argmax of each window (overlaps accumulate)")
                      .Inputs({"dy", "workspace", "x"})
                      .Outputs({"dx"})
                      .Shape(InferMaxPool1DBackward)
                      .PrintAttrs(Describe)
                      .Kernel<OneDnnMaxPool1DBackward>(DType::kF32)
                      .Reference<RefMaxPool1DBackward>());

}  // namespace

absl::StatusOr<Value> MaxPool1D(Graph& g, Value x, const MaxPool1DAttrs& attrs,
                                absl::string_view name) {
  absl::StatusOr<std::vector<Value>> outs = g.AddNode("graft.MaxPool1D", {x}, attrs, name);
  if (!outs.ok()) return outs.status();
  return (*outs)[0];
}

}  // namespace graft::ops
