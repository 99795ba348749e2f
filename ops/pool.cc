// ops/pool.cc — max and average pooling, 1-D, 2-D and global, channels-last.
// Every op is the 2-D case inside: x (N, L, C) is (N, 1, L, C) with a window of height 1 and
// stride 1 along that axis; a global pool's window is x's whole spatial extent (valid padding).
// Per spatial axis a (window p_a, stride s_a, pads from ops/padding.h with dilation 1):
//   L_out = floor((L - p)/s) + 1 (valid), ceil(L/s) (same: total pad
//           max((L_out - 1)*s + p - L, 0), left = total/2, extra on the right)
//   W(i, j) = the real input positions (h, w) with h in [i*s_0 - pt, i*s_0 - pt + p_0) and
//             w in [j*s_1 - pl, j*s_1 - pl + p_1)     (padded positions are not in W)
//   max:      y[n, i, j, c] = max_{(h, w) in W(i, j)} x[n, h, w, c]   (ties: first in (h, w)
//                                                                      order wins)
//             dx[n, h, w, c] = sum of dy[n, i, j, c] over the windows whose argmax is (h, w)
//   average:  y[n, i, j, c] = sum_{W(i, j)} x[n, h, w, c] / |W(i, j)|   (padding excluded)
//             dx[n, h, w, c] = sum over the windows (i, j) holding (h, w) of dy[n, i, j, c] / |W|
// Max ops have a hidden int32 workspace output with y's shape, which the gradient rule passes
// to "<op>Backward"(dy, workspace, x); average backward ops take (dy, x). Every max kernel keeps
// the argmax's flat spatial position h*W + w there.
// Kernels: max pooling f32 runs graft's channels-last loops (FastMaxPool: faster than oneDNN
// 2.6's pooling_max at every shape measured, 1 and 2 threads), average pooling f32 oneDNN's
// pooling_avg_exclude_padding (nhwc); reference loops for f32 and f64.
#include "ops/pool.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "ops/common.h"
#include "ops/onednn/onednn.h"

namespace graft::ops {
namespace {

namespace on = ::graft::onednn;

// ---- the window of a node -------------------------------------------------------------------

// A pooling window over (H, W). `rank` is the spatial rank of x (1: (N, L, C), the W axis).
struct Window {
  int rank = 2;
  int64_t pool[2] = {1, 1};
  int64_t stride[2] = {1, 1};
  Padding padding = Padding::kValid;
};

// x's spatial extent as (H, W); a 1-D input has H = 1.
std::pair<int64_t, int64_t> Spatial(const Shape& x) {
  return {x.rank() == 4 ? x.dim(1) : 1, x.dim(x.rank() - 2)};
}

Window WindowFor(const Pool1DAttrs& a, const Shape&) {
  return {1, {1, a.pool}, {1, a.stride}, a.padding};
}
Window WindowFor(const Pool2DAttrs& a, const Shape&) {
  return {2, {a.pool_h, a.pool_w}, {a.stride_h, a.stride_w}, a.padding};
}
Window WindowFor(const GlobalPoolAttrs&, const Shape& x) {
  const auto [h, w] = Spatial(x);
  return {x.rank() - 2, {h, w}, {h, w}, Padding::kValid};
}

// The sizes of one pooling node for x's shape (unknown sizes give unknown outputs).
struct PoolSizes {
  int64_t n = 0, c = 0;
  int64_t in[2] = {1, 1}, out[2] = {1, 1};
  int64_t pool[2] = {1, 1}, stride[2] = {1, 1}, pad_l[2] = {0, 0}, pad_r[2] = {0, 0};
};

PoolSizes Sizes(const Window& w, const Shape& x) {
  PoolSizes z;
  z.n = x.dim(0);
  z.c = x.dim(-1);
  std::tie(z.in[0], z.in[1]) = Spatial(x);
  for (int a = 0; a < 2; ++a) {
    const Geometry geo = ComputeGeometry(z.in[a], w.pool[a], w.stride[a], 1, w.padding);
    z.out[a] = geo.out;
    z.pool[a] = w.pool[a];
    z.stride[a] = w.stride[a];
    z.pad_l[a] = geo.pad_l;
    z.pad_r[a] = geo.pad_r;
  }
  return z;
}

template <typename Attrs>
PoolSizes SizesFor(const Attrs& a, const Shape& x) {
  return Sizes(WindowFor(a, x), x);
}

// ---- shape functions ------------------------------------------------------------------------

// Keras prints an int for 1-D and a tuple for 2-D.
std::string Tuple(const Window& w, const int64_t (&v)[2]) {
  return w.rank == 1 ? absl::StrCat(v[1]) : absl::StrCat("(", v[0], ", ", v[1], ")");
}
std::string Describe(const Window& w) {
  return absl::StrCat("pool_size=", Tuple(w, w.pool), ", strides=", Tuple(w, w.stride),
                      ", padding=", PaddingName(w.padding));
}
template <typename WindowedAttrs>  // Pool1DAttrs, Pool2DAttrs
std::string Describe(const WindowedAttrs& a) {
  return Describe(WindowFor(a, Shape{}));
}
std::string Describe(const GlobalPoolAttrs& a) {
  return absl::StrCat("keepdims=", a.keepdims ? "true" : "false");
}

// y's shape for a windowed pool: checks the attributes, x's rank and every output size.
absl::StatusOr<Shape> WindowedShape(const ShapeContext& c, const Shape& x, const Window& w) {
  for (int a = 0; a < 2; ++a) {
    if (w.pool[a] < 1) {
      return ShapeError(
          c, absl::StrCat("pool_size must be a positive integer, received ", Describe(w)));
    }
    if (w.stride[a] < 1) {
      return ShapeError(c,
                        absl::StrCat("strides must be a positive integer, received ", Describe(w)));
    }
  }
  if (w.padding == Padding::kCausal) {
    return ShapeError(c,
                      "padding must be \"valid\" or \"same\" for pooling; "
                      "\"causal\" is only allowed for Conv1D");
  }
  if (x.rank() != w.rank + 2) {
    return ShapeError(c, absl::StrCat("expected input of rank ", w.rank + 2,
                                      w.rank == 1 ? " (batch, steps, channels)"
                                                  : " (batch, height, width, channels)",
                                      ", got shape ", x.ToString()));
  }
  const PoolSizes z = Sizes(w, x);
  for (int a = 2 - w.rank; a < 2; ++a) {
    if (z.in[a] < 0 || z.out[a] > 0) continue;
    const char* axis = w.rank == 1 ? "steps" : (a == 0 ? "height" : "width");
    const char* symbol = w.rank == 1 ? "L" : (a == 0 ? "H" : "W");
    const std::string index = w.rank == 1 ? "" : absl::StrCat("[", a, "]");
    const std::string formula =
        w.padding == Padding::kValid
            ? absl::StrCat("floor((", symbol, " - pool_size", index, ")/strides", index,
                           ") + 1 = floor((", z.in[a], " - ", w.pool[a], ")/", w.stride[a],
                           ") + 1 = ", z.out[a], ". Use a pool_size", index, " of at most ",
                           z.in[a], " or padding=\"same\".")
            : absl::StrCat("ceil(", symbol, "/strides", index, ") = ceil(", z.in[a], "/",
                           w.stride[a], ") = ", z.out[a], ": the input is empty.");
    return ShapeError(c, absl::StrCat("Computed output size would be zero or negative. "
                                      "Received: `inputs.shape=",
                                      x.ToString(), "`, `pool_size=", Tuple(w, w.pool),
                                      "`, `strides=", Tuple(w, w.stride), "`, `padding=",
                                      PaddingName(w.padding), "`. Output ", axis, " ", formula));
  }
  std::vector<int64_t> dims = {z.n};
  for (int a = 2 - w.rank; a < 2; ++a) dims.push_back(z.out[a]);
  dims.push_back(z.c);
  return Shape(std::move(dims));
}

template <typename WindowedAttrs>
absl::StatusOr<Shape> PooledShape(const ShapeContext& c, const Shape& x, const WindowedAttrs& a) {
  return WindowedShape(c, x, WindowFor(a, x));
}
absl::StatusOr<Shape> PooledShape(const ShapeContext& c, const Shape& x, const GlobalPoolAttrs& a) {
  if (x.rank() != 3 && x.rank() != 4) {
    return ShapeError(c, absl::StrCat("expected input of rank 3 (batch, steps, channels) or 4 "
                                      "(batch, height, width, channels), got shape ",
                                      x.ToString()));
  }
  for (int i = 1; i + 1 < x.rank(); ++i) {
    if (x.dim(i) == 0) {
      return ShapeError(
          c, absl::StrCat("cannot pool over an empty spatial axis: input shape ", x.ToString()));
    }
  }
  if (!a.keepdims) return Shape({x.dim(0), x.dim(-1)});
  std::vector<int64_t> dims(x.rank(), 1);
  dims.front() = x.dim(0);
  dims.back() = x.dim(-1);
  return Shape(std::move(dims));
}

// Checks the attributes and x (input `xi`), and returns y's type.
template <typename Attrs>
absl::StatusOr<TensorType> InferPooled(const ShapeContext& c, int xi, const Attrs& a) {
  const TensorType& x = c.inputs[xi];
  if (!IsFloating(x.dtype)) {
    return ShapeError(c,
                      absl::StrCat("input must be float32 or float64, got ", DTypeName(x.dtype)));
  }
  absl::StatusOr<Shape> y = PooledShape(c, x.shape, a);
  if (!y.ok()) return y.status();
  return TensorType{x.dtype, *std::move(y)};
}

// Inputs of the backward ops: (dy, workspace, x) for max, (dy, x) for average.
constexpr int BackwardXIndex(PoolKind kind) { return kind == PoolKind::kMax ? 2 : 1; }

template <typename Attrs, PoolKind kKind>
absl::StatusOr<std::vector<TensorType>> InferForward(const ShapeContext& c, const Attrs& a) {
  absl::StatusOr<TensorType> y = InferPooled(c, 0, a);
  if (!y.ok()) return y.status();
  std::vector<TensorType> out = {*y};
  if (kKind == PoolKind::kMax) out.push_back(TensorType{DType::kI32, y->shape});
  return out;
}

// Equal except where either side is unknown (-1).
bool Compatible(const Shape& a, const Shape& b) {
  if (a.rank() != b.rank()) return false;
  for (int i = 0; i < a.rank(); ++i) {
    if (a.dim(i) >= 0 && b.dim(i) >= 0 && a.dim(i) != b.dim(i)) return false;
  }
  return true;
}

// -> dx with x's type.
template <typename Attrs, PoolKind kKind>
absl::StatusOr<std::vector<TensorType>> InferBackward(const ShapeContext& c, const Attrs& a) {
  const int xi = BackwardXIndex(kKind);
  absl::StatusOr<TensorType> y = InferPooled(c, xi, a);
  if (!y.ok()) return y.status();
  const TensorType& dy = c.inputs[0];
  if (dy.dtype != y->dtype || !Compatible(dy.shape, y->shape)) {
    return ShapeError(
        c, absl::StrCat("dy must have the forward output's type ", y->ToString(), " (from x ",
                        c.inputs[xi].ToString(), ", ", Describe(a), "), got ", dy.ToString()));
  }
  if (kKind == PoolKind::kMax) {
    const TensorType& ws = c.inputs[1];
    if (ws.dtype != DType::kI32 || !Compatible(ws.shape, y->shape)) {
      return ShapeError(c, absl::StrCat("workspace must be int32 with the forward output's "
                                        "shape ",
                                        y->shape.ToString(), ", got ", ws.ToString()));
    }
    if (c.inputs.size() > 3 &&
        (c.inputs[3].dtype != y->dtype || !Compatible(c.inputs[3].shape, y->shape))) {
      return ShapeError(c, absl::StrCat("y must be the forward output, of type ", y->ToString(),
                                        ", got ", c.inputs[3].ToString()));
    }
  }
  return std::vector<TensorType>{c.inputs[xi]};
}

// ---- oneDNN kernels -------------------------------------------------------------------------

// Average pooling (pooling_avg_exclude_padding), forward (x -> y) or backward (dy -> dx). x and
// y are oneDNN's logical (N, C, H, W) over graft's (N, H, W, C) memory: tag nhwc. The primitive
// and its argument memories are built once at Init; Run binds the step's tensors.
template <typename Attrs, bool kBackward>
class OneDnnAvgPool : public on::OneDnnKernel {
  static constexpr int kX = kBackward ? BackwardXIndex(PoolKind::kAverage) : 0;

 public:
  absl::Status Init(const KernelInitContext& c) override {
    const Shape& xs = c.input_types[kX].shape;
    const PoolSizes z = SizesFor(c.attrs<Attrs>(), xs);
    return on::Call([&] {
      const dnnl::memory::desc x = on::Desc({z.n, z.c, z.in[0], z.in[1]}, on::tag::nhwc);
      const dnnl::memory::desc y = on::Desc({z.n, z.c, z.out[0], z.out[1]}, on::tag::nhwc);
      const on::dims strides = {z.stride[0], z.stride[1]}, kernel = {z.pool[0], z.pool[1]};
      const on::dims pad_l = {z.pad_l[0], z.pad_l[1]}, pad_r = {z.pad_r[0], z.pad_r[1]};
      const dnnl::algorithm alg = dnnl::algorithm::pooling_avg_exclude_padding;
      auto fd = dnnl::pooling_forward::desc(dnnl::prop_kind::forward_training, alg, x, y, strides,
                                            kernel, pad_l, pad_r);
      auto fpd = dnnl::pooling_forward::primitive_desc(fd, on::Engine());
      if constexpr (kBackward) {
        auto bd = dnnl::pooling_backward::desc(alg, x, y, strides, kernel, pad_l, pad_r);
        prim_ =
            dnnl::pooling_backward(dnnl::pooling_backward::primitive_desc(bd, on::Engine(), fpd));
        in_ = args_.Add(DNNL_ARG_DIFF_DST, y);
        out_ = args_.Add(DNNL_ARG_DIFF_SRC, x);
      } else {
        prim_ = dnnl::pooling_forward(fpd);
        in_ = args_.Add(DNNL_ARG_SRC, x);
        out_ = args_.Add(DNNL_ARG_DST, y);
      }
    });
  }
  absl::Status Run(KernelRunContext& ctx) override {
    return on::Call([&] {
      args_.Bind(in_, ctx.input(0));  // x, or dy
      args_.Bind(out_, ctx.output(0));
      args_.Execute(prim_);
    });
  }

 private:
  on::Args args_;
  int in_ = -1, out_ = -1;
  dnnl::primitive prim_;
};

// ---- reference kernels ----------------------------------------------------------------------

// The real input rows [h0, h1) and columns [w0, w1) of output position (i, j).
struct Span {
  int64_t h0, h1, w0, w1;
  int64_t count() const { return (h1 - h0) * (w1 - w0); }
};
Span SpanAt(const PoolSizes& z, int64_t i, int64_t j) {
  const int64_t h = i * z.stride[0] - z.pad_l[0], w = j * z.stride[1] - z.pad_l[1];
  return {std::max<int64_t>(h, 0), std::min(h + z.pool[0], z.in[0]), std::max<int64_t>(w, 0),
          std::min(w + z.pool[1], z.in[1])};
}

// Calls fn(span, x offset of (n, 0, 0, 0), output offset of (n, i, j, 0)) for every output
// position, in order.
template <typename Fn>
void ForEachWindow(const PoolSizes& z, Fn fn) {
  for (int64_t n = 0; n < z.n; ++n) {
    for (int64_t i = 0; i < z.out[0]; ++i) {
      for (int64_t j = 0; j < z.out[1]; ++j) {
        fn(SpanAt(z, i, j), n * z.in[0] * z.in[1] * z.c, ((n * z.out[0] + i) * z.out[1] + j) * z.c);
      }
    }
  }
}

// Base of the reference kernels: the sizes, from x (input kX) at Init.
template <typename Attrs, int kX>
class RefPoolBase : public Kernel {
 public:
  absl::Status Init(const KernelInitContext& c) override {
    z_ = SizesFor(c.attrs<Attrs>(), c.input_types[kX].shape);
    return absl::OkStatus();
  }

 protected:
  PoolSizes z_;
};

template <typename T, typename Attrs, PoolKind kKind>
class RefPool : public RefPoolBase<Attrs, 0> {
 public:
  absl::Status Run(KernelRunContext& ctx) override {
    const PoolSizes& z = this->z_;
    const T* x = ctx.input(0).data<T>();
    T* y = ctx.output(0).data<T>();
    int32_t* ws = kKind == PoolKind::kMax ? ctx.output(1).data<int32_t>() : nullptr;
    ForEachWindow(z, [&](const Span& s, int64_t xo, int64_t yo) {
      for (int64_t c = 0; c < z.c; ++c) {
        T acc = kKind == PoolKind::kMax ? x[xo + (s.h0 * z.in[1] + s.w0) * z.c + c] : T(0);
        int64_t arg = s.h0 * z.in[1] + s.w0;
        for (int64_t h = s.h0; h < s.h1; ++h) {
          for (int64_t w = s.w0; w < s.w1; ++w) {
            const int64_t p = h * z.in[1] + w;
            const T v = x[xo + p * z.c + c];
            if (kKind == PoolKind::kAverage) {
              acc += v;
            } else if (v > acc) {
              acc = v;
              arg = p;
            }
          }
        }
        if (kKind == PoolKind::kMax) {
          y[yo + c] = acc;
          ws[yo + c] = static_cast<int32_t>(arg);
        } else {
          y[yo + c] = acc / static_cast<T>(s.count());
        }
      }
    });
    return absl::OkStatus();
  }
};

template <typename T, typename Attrs, PoolKind kKind>
class RefPoolBackward : public RefPoolBase<Attrs, BackwardXIndex(kKind)> {
 public:
  absl::Status Run(KernelRunContext& ctx) override {
    const PoolSizes& z = this->z_;
    const T* dy = ctx.input(0).data<T>();
    T* dx = ctx.output(0).data<T>();
    std::fill(dx, dx + ctx.output(0).num_elements(), T(0));
    if (kKind == PoolKind::kAverage) {
      ForEachWindow(z, [&](const Span& s, int64_t xo, int64_t yo) {
        for (int64_t c = 0; c < z.c; ++c) {
          const T g = dy[yo + c] / static_cast<T>(s.count());
          for (int64_t h = s.h0; h < s.h1; ++h) {
            for (int64_t w = s.w0; w < s.w1; ++w) dx[xo + (h * z.in[1] + w) * z.c + c] += g;
          }
        }
      });
      return absl::OkStatus();
    }
    const int32_t* ws = ctx.input(1).data<int32_t>();
    const int64_t area = z.in[0] * z.in[1];
    absl::Status status;
    ForEachWindow(z, [&](const Span&, int64_t xo, int64_t yo) {
      for (int64_t c = 0; c < z.c && status.ok(); ++c) {
        const int64_t p = ws[yo + c];
        if (p < 0 || p >= area) {
          status = absl::InternalError(absl::StrCat(
              "pooling backward: workspace entry ", yo + c, " = ", p, " is outside [0, ", area,
              "); the workspace must come from the reference forward kernel"));
          return;
        }
        dx[xo + p * z.c + c] += dy[yo + c];
      }
    });
    return status;
  }
};

// ---- fast max pooling (graft's loops) --------------------------------------------------------

// Output rows [begin, end) of max pooling (r = n * out_h + i). Pass 1: the max (a pure vector
// max). Pass 2: the first position holding it, found by visiting positions last to first (a
// vector select). Compiled for AVX-512 and AVX2 beside the baseline, picked at load time
// (GRAFT_VECTOR_CLONES, runtime/parallel.h): the loops are vector max/compare/select over the
// channels, and 16-wide vectors measured 1.6x faster than the baseline's 4-wide ones on M2's
// pooling.
GRAFT_VECTOR_CLONES void MaxPoolRows(const PoolSizes& z, bool with_workspace, const float* x,
                                     float* y, int32_t* ws, int64_t begin, int64_t end) {
  for (int64_t r = begin; r < end; ++r) {
    const int64_t n = r / z.out[0], i = r % z.out[0];
    const float* xn = x + n * z.in[0] * z.in[1] * z.c;
    for (int64_t j = 0; j < z.out[1]; ++j) {
      const Span s = SpanAt(z, i, j);
      float* __restrict yo = y + ((r * z.out[1]) + j) * z.c;
      int32_t* __restrict wo = ws + ((r * z.out[1]) + j) * z.c;
      const int32_t first = static_cast<int32_t>(s.h0 * z.in[1] + s.w0);
      const float* __restrict x0 = xn + first * z.c;
      for (int64_t c = 0; c < z.c; ++c) {
        yo[c] = x0[c];
        wo[c] = first;  // also the answer if nothing compares equal (NaN)
      }
      for (int64_t h = s.h0; h < s.h1; ++h) {
        for (int64_t w = s.w0; w < s.w1; ++w) {
          const float* __restrict xp = xn + (h * z.in[1] + w) * z.c;
          for (int64_t c = 0; c < z.c; ++c) yo[c] = std::max(yo[c], xp[c]);
        }
      }
      if (!with_workspace) continue;
      for (int64_t h = s.h1 - 1; h >= s.h0; --h) {
        for (int64_t w = s.w1 - 1; w >= s.w0; --w) {
          const int32_t p = static_cast<int32_t>(h * z.in[1] + w);
          const float* __restrict xp = xn + p * z.c;
          for (int64_t c = 0; c < z.c; ++c) wo[c] = xp[c] == yo[c] ? p : wo[c];
        }
      }
    }
  }
}

// Channels-last max pooling with the channel loop innermost (contiguous, vectorisable). The
// workspace is the argmax position h * W + w, as the reference kernel's; output rows are
// independent, so the split of rows over threads (ForRange: the plan thread's OpenMP team)
// never changes a result. bench/ops_bench (2 cores, ReLU'd inputs), graft's plan vs oneDNN 2.6's
// nhwc pooling_max primitive, us: M1 (32, 96, 32) p2 fwd 38 vs 91 (1 thread), 22 vs 50
// (2 threads); M4.pool2 (64, 16, 16, 128) p2x2 fwd 615 vs 1215, 400 vs 600; bwd 670 vs 1540,
// 357 vs 760.
template <typename Attrs>
class FastMaxPool : public RefPoolBase<Attrs, 0> {
 public:
  absl::Status Init(const KernelInitContext& c) override {
    // An inference plan never reads the workspace: skip the argmax pass there.
    with_workspace_ = c.output_used.size() < 2 || c.output_used[1];
    return RefPoolBase<Attrs, 0>::Init(c);
  }
  absl::Status Run(KernelRunContext& ctx) override {
    const PoolSizes& z = this->z_;
    const float* x = ctx.input(0).data<float>();
    float* y = ctx.output(0).data<float>();
    int32_t* ws = ctx.output(1).data<int32_t>();
    const int64_t rows = z.n * z.out[0];
    ForRange(
        true, rows,
        [&](int64_t begin, int64_t end) { MaxPoolRows(z, with_workspace_, x, y, ws, begin, end); },
        /*grain=*/8);
    return absl::OkStatus();
  }

 private:
  bool with_workspace_ = true;
};

// All ones where x > 0 as the float comparison answers it (false for NaN: positive x have bits
// in (0, +inf]), else 0; and v where the mask is all ones, else +0. Integer operations, so the
// loops using them vectorise.
inline int32_t PositiveMask(float x) {
  int32_t b;
  std::memcpy(&b, &x, sizeof b);
  return -static_cast<int32_t>((b > 0) & (b <= 0x7f800000));
}
inline float KeepBits(float v, int32_t mask) {
  int32_t b;
  std::memcpy(&b, &v, sizeof b);
  b &= mask;
  std::memcpy(&v, &b, sizeof v);
  return v;
}

// dx: dy routed to each window's argmax; one sample per task (its windows only touch its own
// dx). Overlapping windows: zero, then add in window order (the reference kernel's sums);
// windows that tile (stride = pool): every position written once. With a ReLU backward folded
// in (KernelInitContext::relu_mask: the plan found ReluGrad(this dx, x) with x the pooled ReLU
// output), a gradient reaches a position only where x > 0: dx = scatter(dy) * [x > 0], as
// ReluGrad's reference kernel computes it.
template <typename Attrs>
class FastMaxPoolBackward : public RefPoolBase<Attrs, BackwardXIndex(PoolKind::kMax)> {
  using Base = RefPoolBase<Attrs, BackwardXIndex(PoolKind::kMax)>;

 public:
  KernelTraits Traits() const override { return {.relu_mask_input = 2}; }  // x, the pooled ReLU output
  absl::Status Init(const KernelInitContext& c) override {
    relu_mask_ = c.relu_mask;
    return Base::Init(c);
  }
  absl::Status Run(KernelRunContext& ctx) override {
    const PoolSizes& z = this->z_;
    const float* dy = ctx.input(0).data<float>();
    const int32_t* ws = ctx.input(1).data<int32_t>();
    const float* x = ctx.input(2).data<float>();
    float* dx = ctx.output(0).data<float>();
    const int64_t in_sample = z.in[0] * z.in[1] * z.c, out_sample = z.out[0] * z.out[1] * z.c;
    const int64_t area = z.in[0] * z.in[1];
    std::atomic<bool> bad{false};
    // y (the forward output) masks a folded ReLU per window: y > 0 iff x at the argmax > 0.
    const float* y = ctx.num_inputs() > 3 ? ctx.input(3).data<float>() : nullptr;
    const bool tiles = z.stride[0] == z.pool[0] && z.stride[1] == z.pool[1];
    if (tiles && (!relu_mask_ || y != nullptr)) {
      // Windows that tile without overlap (the usual 2x2 / stride 2): each position gets at
      // most one window's gradient, so dx is written once, window by window, instead of zeroed
      // and then scattered into (0 + dy: the same bits as the scatter).
      const int64_t covered_h = SpanAt(z, z.out[0] - 1, 0).h1;
      const int64_t covered_w = SpanAt(z, 0, z.out[1] - 1).w1;
      const int64_t row = z.in[1] * z.c;
      ForRange(
          true, z.n,
          [&](int64_t begin, int64_t end) {
            std::vector<int32_t> keep(z.c, -1);  // the window's mask: all ones without ReLU
            for (int64_t n = begin; n < end; ++n) {
              float* dxn = dx + n * in_sample;
              const float* dyn = dy + n * out_sample;
              const int32_t* wsn = ws + n * out_sample;
              for (int64_t i = 0; i < z.out[0]; ++i) {
                for (int64_t j = 0; j < z.out[1]; ++j) {
                  const Span sp = SpanAt(z, i, j);
                  const int64_t o = (i * z.out[1] + j) * z.c;
                  const float* __restrict g = dyn + o;
                  const int32_t* __restrict w = wsn + o;
                  bool out_of_range = false;
                  for (int64_t c = 0; c < z.c; ++c) out_of_range |= w[c] < 0 || w[c] >= area;
                  if (out_of_range) bad = true;
                  if (relu_mask_) {
                    const float* yw = y + n * out_sample + o;
                    for (int64_t c = 0; c < z.c; ++c) keep[c] = PositiveMask(yw[c]);
                  }
                  for (int64_t h = sp.h0; h < sp.h1; ++h) {
                    for (int64_t q = sp.w0; q < sp.w1; ++q) {
                      const int32_t p = static_cast<int32_t>(h * z.in[1] + q);
                      WindowPosition(z.c, p, w, g, keep.data(), dxn + p * z.c);
                    }
                  }
                }
                // Columns no window covers (valid padding's remainder).
                const Span first = SpanAt(z, i, 0);
                for (int64_t h = first.h0; h < first.h1; ++h) {
                  std::fill(dxn + h * row + covered_w * z.c, dxn + (h + 1) * row, 0.0f);
                }
              }
              std::fill(dxn + covered_h * row, dxn + in_sample, 0.0f);  // rows none covers
            }
          },
          /*grain=*/1);
    } else {
      ForRange(
          true, z.n,
          [&](int64_t begin, int64_t end) {
            for (int64_t n = begin; n < end; ++n) {
              ScatterSample(z, n, dy, ws, x, dx, bad);
            }
          },
          /*grain=*/1);
    }
    if (bad) {
      return absl::InternalError(
          "max pooling backward: a workspace entry is out of range; the workspace must come "
          "from the same plan's forward kernel");
    }
    return absl::OkStatus();
  }

 private:
  // One position p of a tiling window: dx = dy where p is the argmax and the window's mask
  // `keep` (the folded ReLU's) lets it through, else +0. Bit masks, no control flow, so GCC
  // vectorises it (a float select or comparison here stays a branch under its default
  // -ftrapping-math).
  static void WindowPosition(int64_t channels, int32_t p, const int32_t* __restrict w,
                             const float* __restrict g, const int32_t* __restrict keep,
                             float* __restrict d) {
    for (int64_t c = 0; c < channels; ++c) {
      d[c] = 0.0f + KeepBits(g[c], -static_cast<int32_t>(w[c] == p) & keep[c]);
    }
  }

  // Overlapping windows (or a folded ReLU without y): zero the sample's dx, add each window's
  // gradient at its argmax, then (ReLU folded in) mask it by x while it is in cache.
  void ScatterSample(const PoolSizes& z, int64_t n, const float* dy, const int32_t* ws,
                     const float* x, float* dx, std::atomic<bool>& bad) const {
    const int64_t in_sample = z.in[0] * z.in[1] * z.c, out_sample = z.out[0] * z.out[1] * z.c;
    const int64_t area = z.in[0] * z.in[1];
    float* dxn = dx + n * in_sample;
    std::fill(dxn, dxn + in_sample, 0.0f);
    const float* dyn = dy + n * out_sample;
    const int32_t* wsn = ws + n * out_sample;
    const float* xn = x + n * in_sample;
    for (int64_t o = 0; o < out_sample; o += z.c) {
      for (int64_t c = 0; c < z.c; ++c) {
        const int32_t p = wsn[o + c];
        if (p < 0 || p >= area) {
          bad = true;
          continue;
        }
        dxn[p * z.c + c] += dyn[o + c];
      }
    }
    if (relu_mask_) {
      for (int64_t i = 0; i < in_sample; ++i) dxn[i] = KeepBits(dxn[i], PositiveMask(xn[i]));
    }
  }

  bool relu_mask_ = false;
};

// ---- gradient rule and registration ---------------------------------------------------------

// The kernels of one op and its backward op.
template <typename Attrs, PoolKind kKind>
struct PoolKernels {
  // Max pooling: graft's loops (see FastMaxPool); average pooling: oneDNN.
  using FastF32 =
      std::conditional_t<kKind == PoolKind::kMax, FastMaxPool<Attrs>, OneDnnAvgPool<Attrs, false>>;
  using BackwardFastF32 = std::conditional_t<kKind == PoolKind::kMax, FastMaxPoolBackward<Attrs>,
                                             OneDnnAvgPool<Attrs, true>>;
  template <typename T>
  using Reference = RefPool<T, Attrs, kKind>;
  template <typename T>
  using BackwardReference = RefPoolBackward<T, Attrs, kKind>;
};

// dx = backward_op(dy, [workspace,] x).
template <typename Attrs, PoolKind kKind>
GradFn PoolGrad(std::string backward_op) {
  return [backward_op](GradContext& g) -> GradResult {
    if (!g.needs_input_grad(0) || !g.output_grad(0).has_value()) return Grads{std::nullopt};
    std::vector<Value> inputs = {*g.output_grad(0)};
    if (kKind == PoolKind::kMax) inputs.push_back(g.output(1));
    inputs.push_back(g.input(0));
    // y too: a ReLU backward folded into max pooling's backward masks with y (a quarter of x's
    // bytes for 2x2 windows: y > 0 iff x at the window's argmax > 0).
    if (kKind == PoolKind::kMax) inputs.push_back(g.output(0));
    absl::StatusOr<Value> dx = g.graph().Add(backward_op, inputs, g.attrs<Attrs>());
    if (!dx.ok()) return dx.status();
    return Grads{*dx};
  };
}

// "graft.<name>": x -> y [, workspace~].
template <typename Attrs, PoolKind kKind>
OpDef<Attrs> PoolOp(const std::string& name, std::string doc) {
  using K = PoolKernels<Attrs, kKind>;
  OpDef<Attrs> def("graft." + name);
  def.Doc(std::move(doc))
      .Inputs({"x"})
      .Outputs(kKind == PoolKind::kMax ? std::vector<std::string>{"y", "workspace~"}
                                       : std::vector<std::string>{"y"})
      .Shape(InferForward<Attrs, kKind>)
      .PrintAttrs([](const Attrs& a) { return Describe(a); })
      .template Kernel<typename K::FastF32>(DType::kF32)
      .template Reference<K::template Reference>()
      .Grad(PoolGrad<Attrs, kKind>("graft." + name + "Backward"));
  return def;
}

// "graft.<name>Backward": (dy, [workspace,] x [, y]) -> dx (max pooling's optional y is the
// forward output, read only with a folded ReLU backward).
template <typename Attrs, PoolKind kKind>
OpDef<Attrs> PoolBackwardOp(const std::string& name, std::string doc) {
  using K = PoolKernels<Attrs, kKind>;
  OpDef<Attrs> def("graft." + name + "Backward");
  def.Doc(std::move(doc))
      .Inputs(kKind == PoolKind::kMax ? std::vector<std::string>{"dy", "workspace", "x", "y?"}
                                      : std::vector<std::string>{"dy", "x"})
      .Outputs({"dx"})
      .Shape(InferBackward<Attrs, kKind>)
      .PrintAttrs([](const Attrs& a) { return Describe(a); })
      .template Kernel<typename K::BackwardFastF32>(DType::kF32)
      .template Reference<K::template BackwardReference>();
  return def;
}

constexpr PoolKind kMax = PoolKind::kMax;
constexpr PoolKind kAvg = PoolKind::kAverage;
constexpr const char* kMaxDoc =
    "y = max over the window's real elements (padding never selected); workspace: argmax state "
    "for the backward op";
constexpr const char* kMaxBackwardDoc =
    "dx: dy routed to the argmax of each window (overlaps accumulate)";
constexpr const char* kAvgDoc =
    "y = mean over the window's real elements (padding excluded from the count)";
constexpr const char* kAvgBackwardDoc =
    "dx: dy / count spread over each window's real elements (overlaps accumulate)";

GRAFT_REGISTER_OP(PoolOp<Pool1DAttrs, kMax>("MaxPool1D", kMaxDoc));
GRAFT_REGISTER_OP(PoolBackwardOp<Pool1DAttrs, kMax>("MaxPool1D", kMaxBackwardDoc));
GRAFT_REGISTER_OP(PoolOp<Pool2DAttrs, kMax>("MaxPool2D", kMaxDoc));
GRAFT_REGISTER_OP(PoolBackwardOp<Pool2DAttrs, kMax>("MaxPool2D", kMaxBackwardDoc));
GRAFT_REGISTER_OP(PoolOp<Pool1DAttrs, kAvg>("AveragePool1D", kAvgDoc));
GRAFT_REGISTER_OP(PoolBackwardOp<Pool1DAttrs, kAvg>("AveragePool1D", kAvgBackwardDoc));
GRAFT_REGISTER_OP(PoolOp<Pool2DAttrs, kAvg>("AveragePool2D", kAvgDoc));
GRAFT_REGISTER_OP(PoolBackwardOp<Pool2DAttrs, kAvg>("AveragePool2D", kAvgBackwardDoc));
GRAFT_REGISTER_OP(PoolOp<GlobalPoolAttrs, kMax>(
    "GlobalMaxPool",
    "y[n, c] = max over every spatial position (ties: the first in (h, w) "
    "order); workspace: argmax state for the backward op"));
GRAFT_REGISTER_OP(PoolBackwardOp<GlobalPoolAttrs, kMax>(
    "GlobalMaxPool", "dx: dy[n, c] routed to the argmax position of (n, c)"));
GRAFT_REGISTER_OP(PoolOp<GlobalPoolAttrs, kAvg>("GlobalAveragePool",
                                                "y[n, c] = mean over every spatial "
                                                "position"));
GRAFT_REGISTER_OP(PoolBackwardOp<GlobalPoolAttrs, kAvg>("GlobalAveragePool",
                                                        "dx[n, h, w, c] = dy[n, c] / (H*W)"));

// Adds `op` and returns its visible output y.
template <typename Attrs>
absl::StatusOr<Value> AddPool(Graph& g, absl::string_view op, Value x, const Attrs& attrs,
                              absl::string_view name) {
  absl::StatusOr<std::vector<Value>> outs = g.AddNode(op, {x}, attrs, name);
  if (!outs.ok()) return outs.status();
  return (*outs)[0];
}

}  // namespace

absl::StatusOr<Value> MaxPool1D(Graph& g, Value x, const Pool1DAttrs& attrs,
                                absl::string_view name) {
  return AddPool(g, "graft.MaxPool1D", x, attrs, name);
}
absl::StatusOr<Value> MaxPool2D(Graph& g, Value x, const Pool2DAttrs& attrs,
                                absl::string_view name) {
  return AddPool(g, "graft.MaxPool2D", x, attrs, name);
}
absl::StatusOr<Value> AveragePool1D(Graph& g, Value x, const Pool1DAttrs& attrs,
                                    absl::string_view name) {
  return AddPool(g, "graft.AveragePool1D", x, attrs, name);
}
absl::StatusOr<Value> AveragePool2D(Graph& g, Value x, const Pool2DAttrs& attrs,
                                    absl::string_view name) {
  return AddPool(g, "graft.AveragePool2D", x, attrs, name);
}
absl::StatusOr<Value> GlobalPool(Graph& g, Value x, PoolKind kind, bool keepdims,
                                 absl::string_view name) {
  return AddPool(g, kind == PoolKind::kMax ? "graft.GlobalMaxPool" : "graft.GlobalAveragePool", x,
                 GlobalPoolAttrs{keepdims}, name);
}

}  // namespace graft::ops
