// ops/conv.cc — Conv1D and Conv2D (Keras semantics, channels-last) and their backward ops. One
// implementation over the spatial rank r serves both: Conv1D is r = 1, Conv2D r = 2.
//   x (N, S_1..S_r, Cin), w (k_1..k_r, Cin/g, Cout), b (Cout), groups g; per spatial dimension
//   stride s, dilation d and pads (pl, pr) from ComputeGeometry (valid: none; same: the extra
//   element right / bottom; causal, Conv1D only: pl = d*(k-1), pr = 0). With o and j multi-
//   indices over the output positions and the kernel taps, p(o, j) = o*s + j*d - pl per
//   dimension, and c(co, ci) = (co / (Cout/g)) * (Cin/g) + ci the input channel that filter
//   co's ci-th kernel channel reads:
//   y[n, o, co]   = b[co] + sum_{j, ci < Cin/g} x[n, p(o, j), c(co, ci)] * w[j, ci, co]
//                   (x outside the input reads as zero; no kernel flip)
//   dx[n, i, c]   = sum_{o, j : p(o, j) = i} sum_{co : c(co, ci) = c} dy[n, o, co] * w[j, ci, co]
//   dw[j, ci, co] = sum_{n, o} x[n, p(o, j), c(co, ci)] * dy[n, o, co]
//   db[co]        = sum_{n, o} dy[n, o, co]
// Conv{1,2}DBackwardData (dy, w) -> dx and Conv{1,2}DBackwardWeights (x, dy) -> (dw, db) are the
// ops the gradient rule emits. oneDNN f32 convolution primitives with 1 or 2 spatial dims
// (padding_l / padding_r passed as computed, never symmetrised; weights in the layout oneDNN
// picks, bridged from Keras's (k..., Cin/g, Cout) memory, which oneDNN sees through explicit
// strides as (Cout, Cin, k...) or, grouped, (g, Cout/g, Cin/g, k...)); reference loops over any
// spatial rank for f32 and f64.
#include "ops/conv.h"

#include <algorithm>
#include <any>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ops/common.h"
#include "ops/onednn/onednn.h"

namespace graft::ops {
namespace {

namespace on = ::graft::onednn;

using Dims = std::vector<int64_t>;

// ---- what differs between Conv1D and Conv2D -------------------------------------------------

// A convolution's attributes with the spatial rank made explicit: one entry per spatial dim.
struct ConvSpec {
  int rank = 1;
  Dims stride, dilation;
  Padding padding = Padding::kValid;
  int64_t groups = 1;
};

ConvSpec Spec(const Conv1DAttrs& a) { return {1, {a.stride}, {a.dilation}, a.padding, a.groups}; }
ConvSpec Spec(const Conv2DAttrs& a) {
  return {2, {a.stride_h, a.stride_w}, {a.dilation_h, a.dilation_w}, a.padding, a.groups};
}
Dims InputSpatial(const Conv1DBackwardDataAttrs& a) { return {a.length}; }
Dims InputSpatial(const Conv2DBackwardDataAttrs& a) { return {a.height, a.width}; }
Dims KernelSpatial(const Conv1DBackwardWeightsAttrs& a) { return {a.kernel_size}; }
Dims KernelSpatial(const Conv2DBackwardWeightsAttrs& a) { return {a.kernel_h, a.kernel_w}; }
Conv1DBackwardDataAttrs DataAttrs(const Conv1DAttrs& a, const Dims& in) { return {a, in[0]}; }
Conv2DBackwardDataAttrs DataAttrs(const Conv2DAttrs& a, const Dims& in) {
  return {a, in[0], in[1]};
}
Conv1DBackwardWeightsAttrs WeightsAttrs(const Conv1DAttrs& a, const Dims& k) { return {a, k[0]}; }
Conv2DBackwardWeightsAttrs WeightsAttrs(const Conv2DAttrs& a, const Dims& k) {
  return {a, k[0], k[1]};
}

// The words messages use, by spatial rank.
struct RankWords {
  std::vector<const char*> dims;         // "length" / "height", "width"
  std::vector<const char*> kernel_dims;  // "kernel_size" / "kernel height", "kernel width"
  const char* input_layout;
  const char* kernel_prefix;  // the kernel layout up to its channel dims
  const char* dy_layout;
  const char* fixed;  // what a fixed-size input has
  const char* fix;    // how to avoid a non-positive 'valid' output
};

const RankWords& Words(int rank) {
  static const RankWords* const k1 = new RankWords{
      {"length"},
      {"kernel_size"},
      "(batch, steps, channels)",
      "(kernel_size, ",
      "(batch, out_steps, filters)",
      "a fixed number of steps",
      "use padding='same' or 'causal', a smaller kernel_size or dilation_rate, or longer inputs"};
  static const RankWords* const k2 =
      new RankWords{{"height", "width"},
                    {"kernel height", "kernel width"},
                    "(batch, height, width, channels)",
                    "(kernel_height, kernel_width, ",
                    "(batch, out_height, out_width, filters)",
                    "a fixed height and width",
                    "use padding='same', a smaller kernel_size or dilation_rate, or larger inputs"};
  return rank == 1 ? *k1 : *k2;
}

std::string KernelLayout(const ConvSpec& a) {
  return absl::StrCat(Words(a.rank).kernel_prefix,
                      a.groups > 1 ? "in_channels/groups" : "in_channels", ", filters)");
}

// A Keras tuple argument as Keras echoes it in messages: "3" for one dim, "(3, 3)" for two.
std::string Tuple(const Dims& d) {
  return d.size() == 1 ? absl::StrCat(d[0]) : absl::StrCat("(", absl::StrJoin(d, ", "), ")");
}

// "length 5" / "height 5, width 4" (sep ", ") or "length=5" / "height=5 width=4" (sep " ").
std::string Named(const std::vector<const char*>& names, const Dims& values,
                  absl::string_view between, absl::string_view sep) {
  std::vector<std::string> parts;
  for (size_t i = 0; i < values.size(); ++i) {
    parts.push_back(absl::StrCat(names[i], between, values[i]));
  }
  return absl::StrJoin(parts, sep);
}

std::string AttrsString(const ConvSpec& a) {
  return absl::StrCat("strides=", Tuple(a.stride), " padding=", PaddingName(a.padding),
                      " dilation_rate=", Tuple(a.dilation),
                      a.groups != 1 ? absl::StrCat(" groups=", a.groups) : "");
}

// The spatial dims of an activation (batch, S..., channels) and of a kernel (k..., in, out).
Dims SpatialOf(const Shape& t, int rank) {
  Dims d(rank);
  for (int i = 0; i < rank; ++i) d[i] = t.dim(1 + i);
  return d;
}
Dims KernelOf(const Shape& w, int rank) {
  Dims d(rank);
  for (int i = 0; i < rank; ++i) d[i] = w.dim(i);
  return d;
}

int64_t Product(const Dims& d) {
  int64_t p = 1;
  for (int64_t v : d) p *= v;
  return p;
}

bool Known(int64_t d) { return d >= 0; }

// ---- shape functions ------------------------------------------------------------------------

absl::Status CheckAttrs(const ShapeContext& c, const ConvSpec& a) {
  const int64_t max_stride = *std::max_element(a.stride.begin(), a.stride.end());
  const int64_t max_dilation = *std::max_element(a.dilation.begin(), a.dilation.end());
  if (*std::min_element(a.stride.begin(), a.stride.end()) < 1) {
    return ShapeError(c, absl::StrCat("strides must be a positive integer. Received strides=",
                                      Tuple(a.stride), "; expected strides >= 1"));
  }
  if (*std::min_element(a.dilation.begin(), a.dilation.end()) < 1) {
    return ShapeError(
        c, absl::StrCat("dilation_rate must be a positive integer. Received dilation_rate=",
                        Tuple(a.dilation), "; expected dilation_rate >= 1"));
  }
  if (max_stride > 1 && max_dilation > 1) {
    return ShapeError(c, absl::StrCat("`strides > 1` not supported in conjunction with "
                                      "`dilation_rate > 1`. Received: strides=",
                                      Tuple(a.stride), " and dilation_rate=", Tuple(a.dilation)));
  }
  if (a.groups < 1) {
    return ShapeError(c, absl::StrCat("The number of groups must be a positive integer. "
                                      "Received: groups=",
                                      a.groups, "."));
  }
  if (a.padding == Padding::kCausal && a.rank != 1) {
    return ShapeError(c,
                      "padding \"causal\" is only allowed for Conv1D; use \"valid\" or \"same\"");
  }
  return absl::OkStatus();
}

absl::Status CheckKernelSize(const ShapeContext& c, const Dims& k) {
  if (std::find(k.begin(), k.end(), 0) != k.end()) {
    return ShapeError(c, absl::StrCat("The argument `kernel_size` cannot contain 0. Received "
                                      "kernel_size=",
                                      Tuple(k), "."));
  }
  if (*std::min_element(k.begin(), k.end()) < 0) {
    return ShapeError(c, absl::StrCat("kernel_size must be known and positive, got ", Tuple(k)));
  }
  return absl::OkStatus();
}

// Keras's groups checks: the filters, and the input channels when known, split evenly.
absl::Status CheckGroups(const ShapeContext& c, const ConvSpec& a, int64_t filters,
                         const Shape* x) {
  if (filters % a.groups != 0) {
    return ShapeError(c, absl::StrCat("The number of filters must be evenly divisible by the "
                                      "number of groups. Received: groups=",
                                      a.groups, ", filters=", filters, "."));
  }
  if (x != nullptr && Known(x->dim(-1)) && x->dim(-1) % a.groups != 0) {
    return ShapeError(c, absl::StrCat("The number of input channels must be evenly divisible by "
                                      "the number of groups. Received groups=",
                                      a.groups, ", but the input has ", x->dim(-1),
                                      " channels (full input shape is ", x->ToString(), ")."));
  }
  return absl::OkStatus();
}

// Requires input i to be a tensor of `dtype` and rank `rank`; `layout` describes it.
absl::Status CheckRank(const ShapeContext& c, int i, absl::string_view role,
                       absl::string_view layout, int rank, DType dtype) {
  const TensorType& t = c.inputs[i];
  if (t.dtype != dtype) {
    return ShapeError(c, absl::StrCat(role, " must be ", DTypeName(dtype), " like the input, got ",
                                      DTypeName(t.dtype)));
  }
  if (t.shape.rank() != rank) {
    return ShapeError(
        c, absl::StrCat("expected ", role, " of shape ", layout, " (rank ", rank, "), got shape ",
                        t.shape.ToString(), " (rank ", t.shape.rank(), ")"));
  }
  return absl::OkStatus();
}

// The output geometry per spatial dim; a non-positive 'valid' size is an error that names the
// dimension and fills in the formula.
absl::StatusOr<std::vector<Geometry>> OutputGeometry(const ShapeContext& c, const Shape& x,
                                                     const Dims& k, const ConvSpec& a) {
  const RankWords& words = Words(a.rank);
  std::vector<Geometry> geo;
  for (int d = 0; d < a.rank; ++d) {
    const int64_t size = x.dim(1 + d);
    const Geometry g = ComputeGeometry(size, k[d], a.stride[d], a.dilation[d], a.padding);
    if (size >= 0 && g.out <= 0) {
      return ShapeError(
          c, absl::StrCat("output ", words.dims[d], " would be ", g.out,
                          " <= 0 with padding 'valid': ",
                          ValidFormula(size, k[d], a.stride[d], a.dilation[d]), " (input ",
                          words.dims[d], " ", size, ", ", words.kernel_dims[d], " ", k[d], ", ",
                          AttrsString(a), ", input shape ", x.ToString(), "); ", words.fix));
    }
    if (size == 0) {
      return ShapeError(
          c, absl::StrCat("input ", words.dims[d], " is 0 (input shape ", x.ToString(), ")"));
    }
    geo.push_back(g);
  }
  return geo;
}

Dims OutSizes(const std::vector<Geometry>& geo) {
  Dims out;
  for (const Geometry& g : geo) out.push_back(g.out);
  return out;
}

// (batch, spatial..., channels).
Shape Activation(int64_t batch, const Dims& spatial, int64_t channels) {
  Dims d = {batch};
  d.insert(d.end(), spatial.begin(), spatial.end());
  d.push_back(channels);
  return Shape(std::move(d));
}

// Requires dy's spatial dims, where known, to be the forward output's.
absl::Status CheckDySpatial(const ShapeContext& c, const Shape& dy, const Dims& out,
                            const ConvSpec& a, absl::string_view input, const Dims& k) {
  for (int d = 0; d < a.rank; ++d) {
    if (Known(dy.dim(1 + d)) && Known(out[d]) && dy.dim(1 + d) != out[d]) {
      return ShapeError(
          c, absl::StrCat("expected dy of ", Named(Words(a.rank).dims, out, " ", ", "), " (input ",
                          input, ", kernel_size ", Tuple(k), ", ", AttrsString(a), "), got shape ",
                          dy.ToString()));
    }
  }
  return absl::OkStatus();
}

// x (N, S..., Cin), w (k..., Cin/g, Cout), b? (Cout) -> y (N, out..., Cout).
absl::StatusOr<std::vector<TensorType>> InferForward(const ShapeContext& c, const ConvSpec& a) {
  if (absl::Status s = ExpectFloat(c, 0); !s.ok()) return s;
  const DType dtype = c.inputs[0].dtype;
  const RankWords& words = Words(a.rank);
  if (absl::Status s = CheckRank(c, 0, "input", words.input_layout, a.rank + 2, dtype); !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckRank(c, 1, "kernel", KernelLayout(a), a.rank + 2, dtype); !s.ok()) {
    return s;
  }
  const Shape& x = c.inputs[0].shape;
  const Shape& w = c.inputs[1].shape;
  const Dims k = KernelOf(w, a.rank);
  const int64_t cin_per_group = w.dim(-2), cout = w.dim(-1);
  if (absl::Status s = CheckKernelSize(c, k); !s.ok()) return s;
  if (absl::Status s = CheckAttrs(c, a); !s.ok()) return s;
  if (cout <= 0 || cin_per_group <= 0) {
    return ShapeError(c, absl::StrCat("kernel shape ", w.ToString(), " must have positive ",
                                      "in_channels and filters ", KernelLayout(a)));
  }
  if (absl::Status s = CheckGroups(c, a, cout, &x); !s.ok()) return s;
  if (Known(x.dim(-1)) && x.dim(-1) != cin_per_group * a.groups) {
    return ShapeError(
        c,
        absl::StrCat("input has ", x.dim(-1), " channels (input shape ", x.ToString(),
                     ") but the kernel expects in_channels=", cin_per_group * a.groups,
                     a.groups > 1 ? absl::StrCat(" = groups ", a.groups, " * ", cin_per_group) : "",
                     " (kernel shape ", w.ToString(), " = ", KernelLayout(a), ")"));
  }
  if (c.inputs.size() > 2) {
    const TensorType& b = c.inputs[2];
    if (b.dtype != dtype || b.shape != Shape{cout}) {
      return ShapeError(c, absl::StrCat("expected bias of type ", DTypeName(dtype), "(", cout,
                                        ",) (one per filter), got ", b.ToString()));
    }
  }
  absl::StatusOr<std::vector<Geometry>> geo = OutputGeometry(c, x, k, a);
  if (!geo.ok()) return geo.status();
  return std::vector<TensorType>{{dtype, Activation(x.dim(0), OutSizes(*geo), cout)}};
}

// dy (N, out..., Cout), w (k..., Cin/g, Cout) -> dx (N, in..., Cin).
absl::StatusOr<std::vector<TensorType>> InferBackwardData(const ShapeContext& c, const ConvSpec& a,
                                                          const Dims& in) {
  if (absl::Status s = ExpectFloat(c, 0); !s.ok()) return s;
  const DType dtype = c.inputs[0].dtype;
  const RankWords& words = Words(a.rank);
  if (absl::Status s = CheckRank(c, 0, "dy", words.dy_layout, a.rank + 2, dtype); !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckRank(c, 1, "kernel", KernelLayout(a), a.rank + 2, dtype); !s.ok()) {
    return s;
  }
  const Shape& dy = c.inputs[0].shape;
  const Shape& w = c.inputs[1].shape;
  const Dims k = KernelOf(w, a.rank);
  if (absl::Status s = CheckKernelSize(c, k); !s.ok()) return s;
  if (absl::Status s = CheckAttrs(c, a); !s.ok()) return s;
  if (*std::min_element(in.begin(), in.end()) <= 0) {
    return ShapeError(
        c, absl::StrCat("the forward input ", absl::StrJoin(words.dims, " and "),
                        " must be known and positive, got ", Named(words.dims, in, "=", ", ")));
  }
  if (absl::Status s = CheckGroups(c, a, w.dim(-1), nullptr); !s.ok()) return s;
  if (Known(dy.dim(-1)) && dy.dim(-1) != w.dim(-1)) {
    return ShapeError(c, absl::StrCat("dy has ", dy.dim(-1), " channels (shape ", dy.ToString(),
                                      ") but the kernel has filters=", w.dim(-1), " (kernel shape ",
                                      w.ToString(), ")"));
  }
  const Shape x = Activation(dy.dim(0), in, w.dim(-2) * a.groups);
  absl::StatusOr<std::vector<Geometry>> geo = OutputGeometry(c, x, k, a);
  if (!geo.ok()) return geo.status();
  if (absl::Status s =
          CheckDySpatial(c, dy, OutSizes(*geo), a, Named(words.dims, in, " ", ", "), k);
      !s.ok()) {
    return s;
  }
  return std::vector<TensorType>{{dtype, x}};
}

// x (N, in..., Cin), dy (N, out..., Cout) -> dw (k..., Cin/g, Cout), db (Cout).
absl::StatusOr<std::vector<TensorType>> InferBackwardWeights(const ShapeContext& c,
                                                             const ConvSpec& a, const Dims& k) {
  if (absl::Status s = ExpectFloat(c, 0); !s.ok()) return s;
  const DType dtype = c.inputs[0].dtype;
  const RankWords& words = Words(a.rank);
  if (absl::Status s = CheckRank(c, 0, "input", words.input_layout, a.rank + 2, dtype); !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckRank(c, 1, "dy", words.dy_layout, a.rank + 2, dtype); !s.ok()) {
    return s;
  }
  const Shape& x = c.inputs[0].shape;
  const Shape& dy = c.inputs[1].shape;
  if (absl::Status s = CheckKernelSize(c, k); !s.ok()) return s;
  if (absl::Status s = CheckAttrs(c, a); !s.ok()) return s;
  if (Known(x.dim(0)) && Known(dy.dim(0)) && x.dim(0) != dy.dim(0)) {
    return ShapeError(
        c, absl::StrCat("input and dy batch sizes differ: ", x.ToString(), " vs ", dy.ToString()));
  }
  if (absl::Status s = CheckGroups(c, a, dy.dim(-1), &x); !s.ok()) return s;
  absl::StatusOr<std::vector<Geometry>> geo = OutputGeometry(c, x, k, a);
  if (!geo.ok()) return geo.status();
  if (absl::Status s =
          CheckDySpatial(c, dy, OutSizes(*geo), a, absl::StrCat("shape ", x.ToString()), k);
      !s.ok()) {
    return s;
  }
  Dims dw = k;
  dw.push_back(Known(x.dim(-1)) ? x.dim(-1) / a.groups : -1);
  dw.push_back(dy.dim(-1));
  return std::vector<TensorType>{{dtype, Shape(std::move(dw))}, {dtype, Shape{dy.dim(-1)}}};
}

// ---- geometry shared by the kernels ---------------------------------------------------------

// Sizes of one concrete convolution (all known at kernel Init), one entry per spatial dim in
// the vectors.
struct ConvSizes {
  int64_t n = 0, cin = 0, cout = 0, groups = 1;
  Dims in, out, k, stride, dilation, pad_l, pad_r;
  int rank() const { return static_cast<int>(in.size()); }
};

ConvSizes Sizes(const ConvSpec& a, int64_t n, Dims in, int64_t cin, Dims k, int64_t cout) {
  ConvSizes z{.n = n,
              .cin = cin,
              .cout = cout,
              .groups = a.groups,
              .in = std::move(in),
              .k = std::move(k),
              .stride = a.stride,
              .dilation = a.dilation};
  for (int d = 0; d < a.rank; ++d) {
    const Geometry g = ComputeGeometry(z.in[d], z.k[d], a.stride[d], a.dilation[d], a.padding);
    z.out.push_back(g.out);
    z.pad_l.push_back(g.pad_l);
    z.pad_r.push_back(g.pad_r);
  }
  return z;
}

// Each op's sizes from its attributes and concrete input types: the forward op's inputs are
// (x, w), the backward data op's (dy, w), the backward weights op's (x, dy).
ConvSizes ForwardSizes(const KernelInitContext& c, const ConvSpec& a) {
  const Shape& x = c.input_types[0].shape;
  const Shape& w = c.input_types[1].shape;
  return Sizes(a, x.dim(0), SpatialOf(x, a.rank), x.dim(-1), KernelOf(w, a.rank), w.dim(-1));
}
ConvSizes DataSizes(const KernelInitContext& c, const ConvSpec& a, const Dims& in) {
  const Shape& dy = c.input_types[0].shape;
  const Shape& w = c.input_types[1].shape;
  return Sizes(a, dy.dim(0), in, w.dim(-2) * a.groups, KernelOf(w, a.rank), w.dim(-1));
}
ConvSizes WeightsSizes(const KernelInitContext& c, const ConvSpec& a, const Dims& k) {
  const Shape& x = c.input_types[0].shape;
  const Shape& dy = c.input_types[1].shape;
  return Sizes(a, x.dim(0), SpatialOf(x, a.rank), x.dim(-1), k, dy.dim(-1));
}

// ---- oneDNN kernels -------------------------------------------------------------------------

// graft's activations are plain channels-last: oneDNN's logical (N, C, S...) with tag nwc or
// nhwc.
dnnl::memory::desc ActivationDesc(int64_t n, int64_t channels, const Dims& spatial) {
  on::dims d = {n, channels};
  d.insert(d.end(), spatial.begin(), spatial.end());
  return on::Desc(d, spatial.size() == 1 ? on::tag::nwc : on::tag::nhwc);
}
dnnl::memory::desc SrcDesc(const ConvSizes& z) { return ActivationDesc(z.n, z.cin, z.in); }
dnnl::memory::desc DstDesc(const ConvSizes& z) { return ActivationDesc(z.n, z.cout, z.out); }

// oneDNN's logical weight dims: (O, I, k...), or with groups (G, O/G, I/G, k...).
on::dims WeightDims(const ConvSizes& z) {
  const int64_t cin_g = z.cin / z.groups, cout_g = z.cout / z.groups;
  on::dims d = z.groups > 1 ? on::dims{z.groups, cout_g, cin_g} : on::dims{z.cout, cin_g};
  d.insert(d.end(), z.k.begin(), z.k.end());
  return d;
}
// Keras's kernel (k..., Cin/g, Cout), row-major, in those logical dims: filter
// g*(Cout/g) + o sits at offset g*(Cout/g) + o, kernel channel ci at ci*Cout, and the taps
// above them (the last spatial dim fastest).
dnnl::memory::desc UserWeightsDesc(const ConvSizes& z) {
  const int64_t cout_g = z.cout / z.groups;
  on::dims strides = z.groups > 1 ? on::dims{cout_g, 1, z.cout} : on::dims{1, z.cout};
  on::dims taps(z.k.size());
  int64_t step = (z.cin / z.groups) * z.cout;
  for (int d = z.rank() - 1; d >= 0; --d) {
    taps[d] = step;
    step *= z.k[d];
  }
  strides.insert(strides.end(), taps.begin(), taps.end());
  return dnnl::memory::desc(WeightDims(z), on::dt::f32, strides);
}
// How a convolution primitive computes: in f32 (oneDNN's direct algorithm, the default), in
// bf16 (mixed precision: KernelInitContext::bf16), in f32 with Winograd's F(4x4, 3x3)
// algorithm (2.25x fewer multiplications; where oneDNN has it, see WinogradCandidate), or
// direct f32 on oneDNN's blocked activation layout (BlockedCandidate).
enum class Algo { kDirect, kBf16, kWinograd, kBlocked };

dnnl::memory::desc AnyWeightsDesc(const ConvSizes& z, Algo a = Algo::kDirect) {
  return dnnl::memory::desc(WeightDims(z), on::ComputeType(a == Algo::kBf16), on::tag::any);
}
// An activation (x, y, dx or dy) as the primitive sees it, from graft's plain channels-last f32
// descriptor. Direct: that descriptor itself. bf16: the inputs (x, dy) as bf16 copies in the
// same layout (the kernel's bridge rounds the f32 tensor into it) and the outputs f32 as they
// are; channels-last on both sides is what oneDNN 2.6 has optimised bf16 kernels for with an
// f32 output (with `any`, an f32 nhwc dx gets only its reference loops). Winograd and blocked:
// oneDNN's blocked layout (`any`), bridged both ways.
dnnl::memory::desc ActivationAt(const dnnl::memory::desc& plain, Algo a, bool input) {
  if (a == Algo::kWinograd || a == Algo::kBlocked) {
    return dnnl::memory::desc(plain.dims(), on::dt::f32, on::tag::any);
  }
  if (a == Algo::kDirect || !input) return plain;
  const dnnl_memory_desc_t& d = plain.data;
  const on::dims strides(d.format_desc.blocking.strides, d.format_desc.blocking.strides + d.ndims);
  return dnnl::memory::desc(plain.dims(), on::dt::bf16, strides);
}
dnnl::memory::desc BiasDesc(const ConvSizes& z) { return on::Desc({z.cout}, on::tag::a); }

// oneDNN counts dilation from 0 (d - 1) and takes the left and right pads separately.
on::dims Dilates(const ConvSizes& z) {
  on::dims d;
  for (int64_t v : z.dilation) d.push_back(v - 1);
  return d;
}

dnnl::algorithm AlgorithmOf(Algo a) {
  return a == Algo::kWinograd ? dnnl::algorithm::convolution_winograd
                              : dnnl::algorithm::convolution_direct;
}

dnnl::convolution_forward::primitive_desc ForwardPd(const ConvSizes& z, bool bias,
                                                    const dnnl::primitive_attr& attr = {},
                                                    const dnnl::memory::desc* weights = nullptr,
                                                    Algo a = Algo::kDirect) {
  const auto prop = dnnl::prop_kind::forward_training;
  const dnnl::memory::desc w = weights != nullptr ? *weights : AnyWeightsDesc(z, a);
  const dnnl::memory::desc src = ActivationAt(SrcDesc(z), a, true);
  const dnnl::memory::desc dst = ActivationAt(DstDesc(z), a, false);
  auto d = bias ? dnnl::convolution_forward::desc(prop, AlgorithmOf(a), src, w, BiasDesc(z), dst,
                                                  z.stride, Dilates(z), z.pad_l, z.pad_r)
                : dnnl::convolution_forward::desc(prop, AlgorithmOf(a), src, w, dst, z.stride,
                                                  Dilates(z), z.pad_l, z.pad_r);
  return dnnl::convolution_forward::primitive_desc(d, attr, on::Engine());
}

// Backward-data with weights in layout `w`, the forward (no bias) as its hint.
dnnl::convolution_backward_data::primitive_desc BackwardDataPd(const ConvSizes& z,
                                                               const dnnl::memory::desc& w,
                                                               Algo a = Algo::kDirect) {
  auto d = dnnl::convolution_backward_data::desc(AlgorithmOf(a), ActivationAt(SrcDesc(z), a, false),
                                                 w, ActivationAt(DstDesc(z), a, true), z.stride,
                                                 Dilates(z), z.pad_l, z.pad_r);
  return dnnl::convolution_backward_data::primitive_desc(d, on::Engine(),
                                                         ForwardPd(z, false, {}, nullptr, a));
}

// A primitive descriptor for weights kept packed by the plan: `make(weights desc)` with the
// packed layout itself when oneDNN has an optimised (non-reference) implementation for it, so
// the primitive reads or writes the variable directly; else with `any`, and the kernel bridges
// the packed copy to the primitive's layout each step.
// `bound` is the weights' layout in the plan (on::InputLayout / on::OutputLayout). A bf16
// primitive reads bf16 weights (`a`; never the f32 plan tensor itself, so always bridged);
// backward weights, which writes f32 in every algorithm, passes kDirect.
template <typename Make>
auto PreferLayout(const dnnl::memory::desc& bound, const ConvSizes& z, Make make,
                  Algo a = Algo::kDirect) {
  if (bound != UserWeightsDesc(z) && a != Algo::kBf16) {
    if (auto pd = on::TryOptimised([&] { return make(bound); })) return *pd;
  }
  return make(AnyWeightsDesc(z, a));
}

// Whether a convolution may run Winograd's algorithm: a 3x3 kernel, stride 1, no dilation, one
// group, channels in multiples of 16 (oneDNN's blocked Winograd kernels: other counts pad their
// blocks and lose the gain; a 1-channel first layer ran 5x slower than direct), where measured
// it pays:
//  - Cin * Cout >= 2048: the transforms cost per channel, the saving per channel pair. M5's
//    16->16 and 32->32 convolutions ran 10-20% slower with it; M3's 32->64 1.6x faster, M4's
//    64- and 128-channel ones 1.8-2.2x;
//  - outputs of at least 8x8: F(4x4, 3x3) computes 4x4 tiles, so a 7x7 output pays for 8x8;
//  - at least 2048 output positions in the batch: below, its transforms and the layout bridges
//    cost more than they save (M3's one-sample Predict ran 25% slower and its train step 30%).
// Off with GRAFT_CONV_ALGORITHM=direct (bit-for-bit the direct results, for comparisons).
constexpr int64_t kMinWinogradChannelPairs = 2048;
constexpr int64_t kMinWinogradSide = 8;
constexpr int64_t kMinWinogradPositions = 2048;

// GRAFT_CONV_ALGORITHM=direct: plain direct convolutions only.
bool OnlyDirect() {
  static const bool direct = [] {
    const char* v = std::getenv("GRAFT_CONV_ALGORITHM");
    return v != nullptr && std::string(v) == "direct";
  }();
  return direct;
}

bool WinogradCandidate(const ConvSizes& z) {
  return !OnlyDirect() && z.rank() == 2 && z.groups == 1 && z.k == Dims{3, 3} &&
         z.stride == Dims{1, 1} && z.dilation == Dims{1, 1} && z.cin % 16 == 0 &&
         z.cout % 16 == 0 && z.cin * z.cout >= kMinWinogradChannelPairs &&
         std::min(z.out[0], z.out[1]) >= kMinWinogradSide &&
         z.n * Product(z.out) >= kMinWinogradPositions;
}

// Whether a direct f32 convolution runs on oneDNN's blocked activations (nChw8c), bridged in
// and out, instead of graft's channels-last ones: on CPUs without avx512_core (no Winograd
// there), where oneDNN's avx2 kernels are faster on the blocked layout. Measured on an AVX2 EPYC
// (noisy VM; bridges included): M4's 64- and 128-channel convolutions 16-23% faster per op at
// batch 16 (profile), M4 training at batch 64 on 2 pinned threads 1.3-1.4x, batch 32/256 on 1
// thread 1.05-1.3x, Predict 1.1-1.6x. M3's 32->64 convolution on 11x11 outputs ran 20-30%
// slower (the bridges cost more than the kernel saves): hence Cin * Cout >= 4096. Small batches
// keep channels-last, as for Winograd (at least 2048 output positions): the bridges cost most
// there, and one-sample steps measured no gain. Not used on AVX-512, where it was not measured.
constexpr int64_t kMinBlockedChannelPairs = 4096;
constexpr int64_t kMinBlockedPositions = 2048;

bool BlockedCandidate(const ConvSizes& z) {
  static const bool avx512 = on::CpuHasAvx512Core();
  return !OnlyDirect() && !avx512 && z.groups == 1 && z.cin % 8 == 0 && z.cout % 8 == 0 &&
         z.cin * z.cout >= kMinBlockedChannelPairs && z.n * Product(z.out) >= kMinBlockedPositions;
}

// The primitive descriptor `make(algo)` of the algorithm to run, and `a` set to it. Asked for
// bf16 (a == kBf16): the bf16 primitive where oneDNN has an optimised one (its reference loops
// would run bf16 many times slower than f32). Else Winograd where WinogradCandidate allows it
// and oneDNN offers it, else direct f32 on blocked activations where BlockedCandidate allows it,
// else direct f32.
template <typename Make>
auto ChooseAlgo(Algo& a, const ConvSizes& z, Make make) {
  const Algo wanted = a == Algo::kBf16       ? Algo::kBf16
                      : WinogradCandidate(z) ? Algo::kWinograd
                      : BlockedCandidate(z)  ? Algo::kBlocked
                                             : Algo::kDirect;
  if (wanted != Algo::kDirect) {
    if (auto pd = on::TryOptimised([&] { return make(wanted); },
                                   wanted == Algo::kWinograd ? "wino" : "")) {
      a = wanted;
      return *pd;
    }
  }
  if (wanted == Algo::kWinograd && BlockedCandidate(z)) {
    if (auto pd = on::TryOptimised([&] { return make(Algo::kBlocked); })) {
      a = Algo::kBlocked;
      return *pd;
    }
  }
  a = Algo::kDirect;
  return make(Algo::kDirect);
}

// What the three oneDNN kernels hold: the sizes, the plain activation and bias descriptors,
// the bridge between the weights' layout in the plan (Keras's, or a packed form) and the
// primitive's, the primitive and its prebuilt arguments.
class OneDnnConvKernel : public on::OneDnnKernel {
 protected:
  void SetSizes(ConvSizes z) {
    z_ = std::move(z);
    src_ = SrcDesc(z_);
    dst_ = DstDesc(z_);
    bias_md_ = BiasDesc(z_);
  }

  absl::string_view Variant() const override {
    return algo_ == Algo::kBf16       ? "bf16"
           : algo_ == Algo::kWinograd ? "winograd"
           : algo_ == Algo::kBlocked  ? "blocked"
                                      : "";
  }

  ConvSizes z_;
  dnnl::memory::desc src_, dst_, bias_md_;
  // The activation input (x, or dy for backward data), for backward weights also dy, and the
  // activation output (y, or dx): the plan's f32 tensor itself, or a copy in the primitive's
  // precision and layout (ActivationAt).
  on::LayoutBridge in_, dy_, out_;
  on::LayoutBridge weights_;
  on::Args args_;
  int c_ = -1;  // the bias slot
  Algo algo_ = Algo::kDirect;
  dnnl::primitive prim_;
};

// The packed forms the kernels below prefer for their weights (defined after them).
template <typename A>
absl::StatusOr<std::shared_ptr<const PackedForm>> PreferredWeights(
    const Node& node, const std::vector<TensorType>& input_types);
template <typename D>
absl::StatusOr<std::shared_ptr<const PackedForm>> PreferredDataWeights(
    const Node& node, const std::vector<TensorType>& input_types);

// (x, w, b?) -> y. A is the forward attributes (Conv1DAttrs or Conv2DAttrs).
template <typename A>
class OneDnnConv : public OneDnnConvKernel {
 public:
  KernelTraits Traits() const override {
    return {.accepts_post_ops = true, .packed_inputs = {{1, PreferredWeights<A>}}};
  }
  absl::Status Init(const KernelInitContext& c) override {
    bias_ = c.input_types.size() > 2;
    algo_ = c.bf16 ? Algo::kBf16 : Algo::kDirect;
    SetSizes(ForwardSizes(c, Spec(c.attrs<A>())));
    return on::Call([&] {
      // Fused activations (runtime fusion pass) run as eltwise post-ops of the convolution.
      const dnnl::primitive_attr attr = on::PostOpsAttr(c.post_ops);
      const dnnl::memory::desc bound = on::InputLayout(c, 1, UserWeightsDesc(z_));
      auto pd = ChooseAlgo(algo_, z_, [&](Algo a) {
        return PreferLayout(
            bound, z_,
            [&](const dnnl::memory::desc& w) { return ForwardPd(z_, bias_, attr, &w, a); }, a);
      });
      in_.Init(src_, pd.src_desc(), args_, DNNL_ARG_SRC);
      weights_.Init(bound, pd.weights_desc(), args_, DNNL_ARG_WEIGHTS);
      out_.Init(dst_, pd.dst_desc(), args_, DNNL_ARG_DST);
      if (bias_) c_ = args_.Add(DNNL_ARG_BIAS, bias_md_);
      prim_ = dnnl::convolution_forward(pd);
    });
  }
  absl::Status Run(KernelRunContext& ctx) override {
    return on::Call([&] {
      in_.In(args_, ctx.input(0));
      weights_.In(args_, ctx.input(1));
      out_.OutBefore(args_, ctx.output(0));
      if (bias_) args_.Bind(c_, ctx.input(2));
      args_.Execute(prim_);
      out_.OutAfter(ctx.output(0));
    });
  }

 private:
  bool bias_ = false;
};

// (dy, w) -> dx. A is the backward data attributes.
template <typename A>
class OneDnnConvBackwardData : public OneDnnConvKernel {
 public:
  KernelTraits Traits() const override { return {.packed_inputs = {{1, PreferredDataWeights<A>}}}; }
  absl::Status Init(const KernelInitContext& c) override {
    const A& a = c.attrs<A>();
    algo_ = c.bf16 ? Algo::kBf16 : Algo::kDirect;
    SetSizes(DataSizes(c, Spec(a.conv), InputSpatial(a)));
    return on::Call([&] {
      const dnnl::memory::desc bound = on::InputLayout(c, 1, UserWeightsDesc(z_));
      auto pd = ChooseAlgo(algo_, z_, [&](Algo al) {
        return PreferLayout(
            bound, z_, [&](const dnnl::memory::desc& w) { return BackwardDataPd(z_, w, al); }, al);
      });
      in_.Init(dst_, pd.diff_dst_desc(), args_, DNNL_ARG_DIFF_DST);
      weights_.Init(bound, pd.weights_desc(), args_, DNNL_ARG_WEIGHTS);
      out_.Init(src_, pd.diff_src_desc(), args_, DNNL_ARG_DIFF_SRC);
      prim_ = dnnl::convolution_backward_data(pd);
    });
  }
  absl::Status Run(KernelRunContext& ctx) override {
    return on::Call([&] {
      in_.In(args_, ctx.input(0));
      weights_.In(args_, ctx.input(1));
      out_.OutBefore(args_, ctx.output(0));
      args_.Execute(prim_);
      out_.OutAfter(ctx.output(0));
    });
  }
};

// (x, dy) -> (dw, db). A is the backward weights attributes.
template <typename A>
class OneDnnConvBackwardWeights : public OneDnnConvKernel {
 public:
  KernelTraits Traits() const override { return {.packed_outputs = {0}}; }
  absl::Status Init(const KernelInitContext& c) override {
    const A& a = c.attrs<A>();
    algo_ = c.bf16 ? Algo::kBf16 : Algo::kDirect;
    SetSizes(WeightsSizes(c, Spec(a.conv), KernelSpatial(a)));
    return on::Call([&] {
      const dnnl::memory::desc bound = on::OutputLayout(c, 0, UserWeightsDesc(z_));
      // dw and db are f32 in every algorithm: only x and dy are read in bf16.
      auto pd = ChooseAlgo(algo_, z_, [&](Algo al) {
        auto hint = ForwardPd(z_, /*bias=*/true, {}, nullptr, al);
        const dnnl::memory::desc x = ActivationAt(src_, al, true);
        const dnnl::memory::desc dy = ActivationAt(dst_, al, true);
        return PreferLayout(bound, z_, [&](const dnnl::memory::desc& w) {
          auto d = dnnl::convolution_backward_weights::desc(
              AlgorithmOf(al), x, w, bias_md_, dy, z_.stride, Dilates(z_), z_.pad_l, z_.pad_r);
          return dnnl::convolution_backward_weights::primitive_desc(d, on::Engine(), hint);
        });
      });
      in_.Init(src_, pd.src_desc(), args_, DNNL_ARG_SRC);
      dy_.Init(dst_, pd.diff_dst_desc(), args_, DNNL_ARG_DIFF_DST);
      weights_.Init(bound, pd.diff_weights_desc(), args_, DNNL_ARG_DIFF_WEIGHTS);
      c_ = args_.Add(DNNL_ARG_DIFF_BIAS, bias_md_);
      prim_ = dnnl::convolution_backward_weights(pd);
    });
  }
  absl::Status Run(KernelRunContext& ctx) override {
    return on::Call([&] {
      in_.In(args_, ctx.input(0));
      dy_.In(args_, ctx.input(1));
      weights_.OutBefore(args_, ctx.output(0));
      args_.Bind(c_, ctx.output(1));
      args_.Execute(prim_);
      weights_.OutAfter(ctx.output(0));
    });
  }
};

// The packed form for weights whose primitive chooses the layout `chosen()`: null when that is
// Keras's own.
template <typename Chosen>
absl::StatusOr<std::shared_ptr<const PackedForm>> FormOf(const ConvSizes& z, Chosen chosen) {
  std::shared_ptr<const PackedForm> form;
  absl::Status s = on::Call([&] { form = on::FormFor(UserWeightsDesc(z), chosen()); });
  if (!s.ok()) return s;
  return form;
}

// The packed form a convolution's weights are kept in: the layout its oneDNN forward primitive
// picks for this plan's shapes and threads (the backward primitives, created with the forward
// one as their hint, usually pick the same; where one does not, its kernel bridges per step).
template <typename A>
absl::StatusOr<std::shared_ptr<const PackedForm>> PreferredWeights(
    const Node& node, const std::vector<TensorType>& input_types) {
  const std::vector<TensorType> no_outputs;
  const KernelInitContext c{node, input_types, no_outputs};
  const ConvSizes z = ForwardSizes(c, Spec(c.attrs<A>()));
  // The algorithm the forward kernel will choose (f32: a bf16 kernel bridges its weights anyway).
  Algo algo = Algo::kDirect;
  return FormOf(z, [&] {
    return ChooseAlgo(
               algo, z,
               [&](Algo al) { return ForwardPd(z, input_types.size() > 2, {}, nullptr, al); })
        .weights_desc();
  });
}
// Backward-data's own layout: it packs the weights only where no forward reads them (a plan for
// input gradients alone); where a forward does, the forward chose first.
template <typename D>
absl::StatusOr<std::shared_ptr<const PackedForm>> PreferredDataWeights(
    const Node& node, const std::vector<TensorType>& input_types) {
  const std::vector<TensorType> no_outputs;
  const KernelInitContext c{node, input_types, no_outputs};
  const D& a = c.attrs<D>();
  const ConvSizes z = DataSizes(c, Spec(a.conv), InputSpatial(a));
  Algo algo = Algo::kDirect;
  return FormOf(z, [&] {
    return ChooseAlgo(algo, z,
                      [&](Algo al) { return BackwardDataPd(z, AnyWeightsDesc(z, al), al); })
        .weights_desc();
  });
}

// ---- reference kernels ----------------------------------------------------------------------
// Plain loops over the definition at the top of this file, accumulating in T.

// Calls fn(xi, wi, yi) for every batch n, output position o, kernel tap j, group g and kernel
// channel ci whose input position p(o, j) lies inside x, with the flat offsets
//   xi of x[n, p(o, j), g*(Cin/g) + ci], wi of w[j, ci, g*(Cout/g)], yi of y[n, o, g*(Cout/g)]
// (y, like dy). The Cout/g filters of the group follow wi and yi contiguously.
template <typename Fn>
void ForEachTap(const ConvSizes& z, Fn fn) {
  const int rank = z.rank();
  const int64_t in_size = Product(z.in), out_size = Product(z.out), taps = Product(z.k);
  const int64_t cin_g = z.cin / z.groups, cout_g = z.cout / z.groups;
  for (int64_t n = 0; n < z.n; ++n) {
    for (int64_t o = 0; o < out_size; ++o) {
      const int64_t y_row = (n * out_size + o) * z.cout;
      for (int64_t j = 0; j < taps; ++j) {
        // The input position, row-major over the spatial dims, from o's and j's coordinates.
        int64_t i = 0, o_rest = o, j_rest = j, scale = 1;
        bool inside = true;
        for (int d = rank - 1; d >= 0 && inside; --d) {
          const int64_t p =
              (o_rest % z.out[d]) * z.stride[d] + (j_rest % z.k[d]) * z.dilation[d] - z.pad_l[d];
          o_rest /= z.out[d];
          j_rest /= z.k[d];
          inside = p >= 0 && p < z.in[d];
          i += p * scale;
          scale *= z.in[d];
        }
        if (!inside) continue;
        const int64_t x_row = (n * in_size + i) * z.cin;
        for (int64_t g = 0; g < z.groups; ++g) {
          for (int64_t ci = 0; ci < cin_g; ++ci) {
            fn(x_row + g * cin_g + ci, (j * cin_g + ci) * z.cout + g * cout_g, y_row + g * cout_g);
          }
        }
      }
    }
  }
}

// (x, w, b?) -> y. A is the forward attributes.
template <typename A, typename T>
class RefConv : public Kernel {
 public:
  absl::Status Init(const KernelInitContext& c) override {
    bias_ = c.input_types.size() > 2;
    z_ = ForwardSizes(c, Spec(c.attrs<A>()));
    return absl::OkStatus();
  }
  absl::Status Run(KernelRunContext& ctx) override {
    const T* x = ctx.input(0).data<T>();
    const T* w = ctx.input(1).data<T>();
    const T* b = bias_ ? ctx.input(2).data<T>() : nullptr;
    T* y = ctx.output(0).data<T>();
    const int64_t rows = z_.n * Product(z_.out), cout_g = z_.cout / z_.groups;
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t co = 0; co < z_.cout; ++co) y[r * z_.cout + co] = b ? b[co] : T(0);
    }
    ForEachTap(z_, [&](int64_t xi, int64_t wi, int64_t yi) {
      for (int64_t co = 0; co < cout_g; ++co) y[yi + co] += x[xi] * w[wi + co];
    });
    return absl::OkStatus();
  }

 private:
  ConvSizes z_;
  bool bias_ = false;
};

// (dy, w) -> dx. A is the backward data attributes.
template <typename A, typename T>
class RefConvBackwardData : public Kernel {
 public:
  absl::Status Init(const KernelInitContext& c) override {
    const A& a = c.attrs<A>();
    z_ = DataSizes(c, Spec(a.conv), InputSpatial(a));
    return absl::OkStatus();
  }
  absl::Status Run(KernelRunContext& ctx) override {
    const T* dy = ctx.input(0).data<T>();
    const T* w = ctx.input(1).data<T>();
    T* dx = ctx.output(0).data<T>();
    const int64_t cout_g = z_.cout / z_.groups;
    std::fill(dx, dx + z_.n * Product(z_.in) * z_.cin, T(0));
    ForEachTap(z_, [&](int64_t xi, int64_t wi, int64_t yi) {
      T acc = 0;
      for (int64_t co = 0; co < cout_g; ++co) acc += dy[yi + co] * w[wi + co];
      dx[xi] += acc;
    });
    return absl::OkStatus();
  }

 private:
  ConvSizes z_;
};

// (x, dy) -> (dw, db). A is the backward weights attributes.
template <typename A, typename T>
class RefConvBackwardWeights : public Kernel {
 public:
  absl::Status Init(const KernelInitContext& c) override {
    const A& a = c.attrs<A>();
    z_ = WeightsSizes(c, Spec(a.conv), KernelSpatial(a));
    return absl::OkStatus();
  }
  absl::Status Run(KernelRunContext& ctx) override {
    const T* x = ctx.input(0).data<T>();
    const T* dy = ctx.input(1).data<T>();
    T* dw = ctx.output(0).data<T>();
    T* db = ctx.output(1).data<T>();
    const int64_t rows = z_.n * Product(z_.out), cout_g = z_.cout / z_.groups;
    std::fill(dw, dw + Product(z_.k) * (z_.cin / z_.groups) * z_.cout, T(0));
    std::fill(db, db + z_.cout, T(0));
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t co = 0; co < z_.cout; ++co) db[co] += dy[r * z_.cout + co];
    }
    ForEachTap(z_, [&](int64_t xi, int64_t wi, int64_t yi) {
      for (int64_t co = 0; co < cout_g; ++co) dw[wi + co] += x[xi] * dy[yi + co];
    });
    return absl::OkStatus();
  }

 private:
  ConvSizes z_;
};

// A kernel template over (attributes, T) as the template over T that OpDef::Reference takes.
template <template <typename, typename> class K, typename A>
struct ForAttrs {
  template <typename T>
  using Type = K<A, T>;
};

// ---- gradient rule and registration ---------------------------------------------------------

// dx through <op>BackwardData(dy, w); dw and db through one <op>BackwardWeights(x, dy). Each is
// emitted only when some input it produces needs a gradient.
template <typename A>
GradResult GradConv(GradContext& g) {
  const A& a = g.attrs<A>();
  const int rank = Spec(a).rank;
  const std::string op = g.node().op->name;              // "graft.Conv2D"
  const std::string base = op.substr(op.find('.') + 1);  // "Conv2D"
  Graph& graph = g.graph();
  const Value dy = *g.output_grad(0);
  const bool has_bias = g.num_inputs() > 2;
  Grads out(g.num_inputs());
  if (g.needs_input_grad(0)) {
    const Shape x = graph.type(g.input(0)).shape;
    const Dims in = SpatialOf(x, rank);
    if (*std::min_element(in.begin(), in.end()) < 0) {
      const RankWords& words = Words(rank);
      return absl::InvalidArgumentError(
          absl::StrCat("the gradient with respect to the input needs a known input ",
                       absl::StrJoin(words.dims, " and "), ", got input shape ", x.ToString(),
                       "; give the input ", words.fixed));
    }
    absl::StatusOr<Value> dx =
        graph.Add(op + "BackwardData", {dy, g.input(1)}, DataAttrs(a, in), base + "BackwardData");
    if (!dx.ok()) return dx.status();
    out[0] = *dx;
  }
  const bool need_w = g.needs_input_grad(1);
  const bool need_b = has_bias && g.needs_input_grad(2);
  if (need_w || need_b) {
    const Dims k = KernelOf(graph.type(g.input(1)).shape, rank);
    absl::StatusOr<std::vector<Value>> dwb = graph.AddNode(
        op + "BackwardWeights", {g.input(0), dy}, WeightsAttrs(a, k), base + "BackwardWeights");
    if (!dwb.ok()) return dwb.status();
    if (need_w) out[1] = (*dwb)[0];
    if (need_b) out[2] = (*dwb)[1];
  }
  return out;
}

// The three ops of one rank, A its forward attributes, D and W its backward ones.
template <typename A>
OpDef<A> ForwardOp(std::string name, std::string doc) {
  OpDef<A> def(std::move(name));
  def.Doc(std::move(doc))
      .Inputs({"x", "w", "b?"})
      .Outputs({"y"})
      .Shape([](const ShapeContext& c, const A& a) { return InferForward(c, Spec(a)); })
      .PrintAttrs([](const A& a) { return AttrsString(Spec(a)); })
      .template Kernel<OneDnnConv<A>>(DType::kF32)
      .template Reference<ForAttrs<RefConv, A>::template Type>()
      .Grad(GradConv<A>);
  return def;
}

template <typename D>
OpDef<D> BackwardDataOp(std::string name, std::string doc) {
  OpDef<D> def(std::move(name));
  def.Doc(std::move(doc))
      .Inputs({"dy", "w"})
      .Outputs({"dx"})
      .Shape([](const ShapeContext& c, const D& a) {
        return InferBackwardData(c, Spec(a.conv), InputSpatial(a));
      })
      .PrintAttrs([](const D& a) {
        const ConvSpec s = Spec(a.conv);
        return absl::StrCat(AttrsString(s), " ",
                            Named(Words(s.rank).dims, InputSpatial(a), "=", " "));
      })
      .template Kernel<OneDnnConvBackwardData<D>>(DType::kF32)
      .template Reference<ForAttrs<RefConvBackwardData, D>::template Type>();
  return def;
}

template <typename W>
OpDef<W> BackwardWeightsOp(std::string name, std::string doc) {
  OpDef<W> def(std::move(name));
  def.Doc(std::move(doc))
      .Inputs({"x", "dy"})
      .Outputs({"dw", "db"})
      .Shape([](const ShapeContext& c, const W& a) {
        return InferBackwardWeights(c, Spec(a.conv), KernelSpatial(a));
      })
      .PrintAttrs([](const W& a) {
        return absl::StrCat(AttrsString(Spec(a.conv)), " kernel_size=", Tuple(KernelSpatial(a)));
      })
      .template Kernel<OneDnnConvBackwardWeights<W>>(DType::kF32)
      .template Reference<ForAttrs<RefConvBackwardWeights, W>::template Type>();
  return def;
}

GRAFT_REGISTER_OP(ForwardOp<Conv1DAttrs>(
    "graft.Conv1D",
    "y[n,o,co] = b[co] + sum_{j,ci} x[n, o*s + j*d - pad_l, c(co,ci)] * w[j,ci,co] "
    "(Keras Conv1D: x (N,L,Cin), w (k,Cin/g,Cout); valid/same/causal padding; "
    "c(co,ci) = (co / (Cout/g))*(Cin/g) + ci)"));
GRAFT_REGISTER_OP(BackwardDataOp<Conv1DBackwardDataAttrs>(
    "graft.Conv1DBackwardData",
    "dx[n,i,c] = sum_{o,j: o*s + j*d - pad_l = i} sum_{co: c(co,ci) = c} dy[n,o,co] * w[j,ci,co]"));
GRAFT_REGISTER_OP(BackwardWeightsOp<Conv1DBackwardWeightsAttrs>(
    "graft.Conv1DBackwardWeights",
    "dw[j,ci,co] = sum_{n,o} x[n, o*s + j*d - pad_l, c(co,ci)] * dy[n,o,co]; "
    "db[co] = sum_{n,o} dy[n,o,co]"));

GRAFT_REGISTER_OP(ForwardOp<Conv2DAttrs>(
    "graft.Conv2D",
    "y[n,oh,ow,co] = b[co] + sum_{jh,jw,ci} x[n, oh*sh + jh*dh - pad_top, ow*sw + jw*dw - "
    "pad_left, c(co,ci)] * w[jh,jw,ci,co] (Keras Conv2D: x (N,H,W,Cin), w (kh,kw,Cin/g,Cout) "
    "HWIO; valid/same padding, same's extra pixel right/bottom; "
    "c(co,ci) = (co / (Cout/g))*(Cin/g) + ci)"));
GRAFT_REGISTER_OP(BackwardDataOp<Conv2DBackwardDataAttrs>(
    "graft.Conv2DBackwardData",
    "dx[n,ih,iw,c] = sum over the (o, j) with o*s + j*d - pad = i per dim and the filters co of "
    "c's group of dy[n,oh,ow,co] * w[jh,jw,ci,co]"));
GRAFT_REGISTER_OP(BackwardWeightsOp<Conv2DBackwardWeightsAttrs>(
    "graft.Conv2DBackwardWeights",
    "dw[jh,jw,ci,co] = sum_{n,oh,ow} x[n, oh*sh + jh*dh - pad_top, ow*sw + jw*dw - pad_left, "
    "c(co,ci)] * dy[n,oh,ow,co]; db[co] = sum_{n,oh,ow} dy[n,oh,ow,co]"));

absl::StatusOr<Value> AddConv(Graph& g, absl::string_view op, Value x, Value w,
                              std::optional<Value> b, std::any attrs, absl::string_view name) {
  std::vector<Value> inputs = {x, w};
  if (b.has_value()) inputs.push_back(*b);
  return g.Add(op, std::move(inputs), std::move(attrs), name);
}

}  // namespace

absl::StatusOr<Value> Conv1D(Graph& g, Value x, Value w, std::optional<Value> b,
                             const Conv1DAttrs& attrs, absl::string_view name) {
  return AddConv(g, "graft.Conv1D", x, w, b, attrs, name);
}

absl::StatusOr<Value> Conv2D(Graph& g, Value x, Value w, std::optional<Value> b,
                             const Conv2DAttrs& attrs, absl::string_view name) {
  return AddConv(g, "graft.Conv2D", x, w, b, attrs, name);
}

}  // namespace graft::ops
