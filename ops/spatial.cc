// ops/spatial.cc — zero padding, cropping and nearest-neighbour upsampling of the spatial axes
// of channels-last x (N, s_1, ..., s_k, C), Keras's ZeroPadding/Cropping/UpSampling layers.
//   Pad(x; b, e):    y[n, i, c] = x[n, i - b, c] where 0 <= i_a - b_a < s_a on every axis a,
//                    else 0;                                    y's sizes s_a + b_a + e_a
//   Crop(x; b, e):   y[n, i, c] = x[n, i + b, c];               y's sizes s_a - b_a - e_a >= 1
//   UpSample(x; f):  y[n, i, c] = x[n, floor(i / f), c];        y's sizes s_a * f_a
//   UpSampleBackward(dy; f): dx[n, j, c] = sum_{0 <= t < f} dy[n, j * f + t, c]   (per axis)
// (i, j, t are k-vectors, operations per axis.) Pad and Crop are each other's gradient:
//   dPad = Crop(dy; b, e),  dCrop = Pad(dy; b, e),  dUpSample = UpSampleBackward(dy; f).
// Kernels: Pad and Crop are one window copy y[i] = x[i + offset] or 0 (offset = -b for Pad, +b
// for Crop). The fast kernels work on rows (every index but the last spatial one and the
// channel): a run of whole C-vectors copied (memcpy) or zeroed, rows split over threads
// (ops::ForRange); UpSample copies each C-vector f_k times, its backward sums each block in
// the reference kernel's order (so the two agree bitwise). Reference kernels index element by
// element, templated over float and double.
#include "ops/spatial.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_join.h"
#include "ops/common.h"

namespace graft::ops {
namespace {

// ---- shapes ---------------------------------------------------------------------------------

const char* Layout(size_t k) {
  switch (k) {
    case 1:
      return " (batch, steps, channels)";
    case 2:
      return " (batch, height, width, channels)";
    case 3:
      return " (batch, depth, height, width, channels)";
    default:
      return "";
  }
}

// The name of spatial axis a of k: "steps", "height", "width", "depth".
std::string AxisName(size_t k, size_t a) {
  static const char* const kNames[3][3] = {
      {"steps"}, {"height", "width"}, {"depth", "height", "width"}};
  if (k >= 1 && k <= 3) return kNames[k - 1][a];
  return absl::StrCat("spatial axis ", a);
}

std::string Tuple(const std::vector<int64_t>& v) {
  if (v.size() == 1) return absl::StrCat("(", v[0], ",)");
  return absl::StrCat("(", absl::StrJoin(v, ", "), ")");
}

std::string Describe(const PadAttrs& a) {
  return absl::StrCat("begin=", Tuple(a.begin), ", end=", Tuple(a.end));
}
std::string Describe(const CropAttrs& a) {
  return absl::StrCat("begin=", Tuple(a.begin), ", end=", Tuple(a.end));
}
std::string Describe(const UpSampleAttrs& a) { return absl::StrCat("size=", Tuple(a.size)); }

// Checks that x (input 0) is floating with rank k + 2.
absl::Status CheckInput(const ShapeContext& c, size_t k, const char* what) {
  if (absl::Status s = ExpectFloat(c, 0); !s.ok()) return s;
  if (k > 3) {
    return ShapeError(c, absl::StrCat(what, " given for ", k,
                                      " spatial axes: graft handles 1, 2 or 3 spatial axes"));
  }
  const TensorType& x = c.inputs[0];
  if (x.shape.rank() != static_cast<int>(k) + 2) {
    return ShapeError(c, absl::StrCat(what, " given for ", k, " spatial ax", k == 1 ? "is" : "es",
                                      ", so the input must have rank ", k + 2, Layout(k), "; got ",
                                      x.ToString()));
  }
  return absl::OkStatus();
}

// Checks the (begin, end) pairs of Pad and Crop: equal lengths >= 1, every entry >= 0.
template <typename Attrs>
absl::Status CheckBorders(const ShapeContext& c, const Attrs& a, const char* what) {
  if (a.begin.empty() || a.begin.size() != a.end.size()) {
    return ShapeError(
        c, absl::StrCat(what, " need one (begin, end) pair per spatial axis, got ", Describe(a)));
  }
  for (size_t i = 0; i < a.begin.size(); ++i) {
    if (a.begin[i] < 0 || a.end[i] < 0) {
      return ShapeError(c, absl::StrCat(what, " must be >= 0, got ", Describe(a)));
    }
  }
  return CheckInput(c, a.begin.size(), what);
}

absl::StatusOr<std::vector<TensorType>> InferPad(const ShapeContext& c, const PadAttrs& a) {
  if (absl::Status s = CheckBorders(c, a, "pads"); !s.ok()) return s;
  std::vector<int64_t> dims = c.inputs[0].shape.dims();
  for (size_t i = 0; i < a.begin.size(); ++i) {
    int64_t& d = dims[i + 1];
    if (d < 0) continue;
    if (__builtin_add_overflow(d, a.begin[i], &d) || __builtin_add_overflow(d, a.end[i], &d)) {
      return ShapeError(c, absl::StrCat("pads ", Describe(a), " on input ", c.inputs[0].ToString(),
                                        " make the ", AxisName(a.begin.size(), i),
                                        " axis larger than the largest size (2^63 - 1)"));
    }
  }
  return std::vector<TensorType>{{c.inputs[0].dtype, Shape(std::move(dims))}};
}

absl::StatusOr<std::vector<TensorType>> InferCrop(const ShapeContext& c, const CropAttrs& a) {
  if (absl::Status s = CheckBorders(c, a, "croppings"); !s.ok()) return s;
  const size_t k = a.begin.size();
  std::vector<int64_t> dims = c.inputs[0].shape.dims();
  for (size_t i = 0; i < k; ++i) {
    int64_t& d = dims[i + 1];
    if (d < 0) continue;
    // d, begin and end are >= 0: only the second subtraction can overflow (below -2^63).
    int64_t left = d - a.begin[i];
    const bool overflow = __builtin_sub_overflow(left, a.end[i], &left);
    if (overflow || left < 1) {
      return ShapeError(
          c, absl::StrCat("cropping (", a.begin[i], ", ", a.end[i], ") of the ", AxisName(k, i),
                          " axis would leave ", d, " - ", a.begin[i], " - ", a.end[i], " = ",
                          overflow ? std::string("less than -2^63") : absl::StrCat(left),
                          " positions of input ", c.inputs[0].ToString(),
                          "; the cropping must be smaller than the input: crop at most ", d - 1,
                          " in all along ", AxisName(k, i)));
    }
    d = left;
  }
  return std::vector<TensorType>{{c.inputs[0].dtype, Shape(std::move(dims))}};
}

absl::Status CheckSize(const ShapeContext& c, const UpSampleAttrs& a) {
  bool ok = !a.size.empty();
  for (int64_t s : a.size) ok = ok && s >= 1;
  if (!ok) {
    return ShapeError(
        c, absl::StrCat("size must hold one positive integer per spatial axis, got ", Describe(a)));
  }
  return CheckInput(c, a.size.size(), "sizes");
}

absl::StatusOr<std::vector<TensorType>> InferUpSample(const ShapeContext& c,
                                                      const UpSampleAttrs& a) {
  if (absl::Status s = CheckSize(c, a); !s.ok()) return s;
  std::vector<int64_t> dims = c.inputs[0].shape.dims();
  for (size_t i = 0; i < a.size.size(); ++i) {
    int64_t& d = dims[i + 1];
    if (d >= 0 && __builtin_mul_overflow(d, a.size[i], &d)) {
      return ShapeError(c, absl::StrCat(Describe(a), " on input ", c.inputs[0].ToString(),
                                        " makes the ", AxisName(a.size.size(), i),
                                        " axis larger than the largest size (2^63 - 1)"));
    }
  }
  return std::vector<TensorType>{{c.inputs[0].dtype, Shape(std::move(dims))}};
}

absl::StatusOr<std::vector<TensorType>> InferUpSampleBackward(const ShapeContext& c,
                                                              const UpSampleAttrs& a) {
  if (absl::Status s = CheckSize(c, a); !s.ok()) return s;
  std::vector<int64_t> dims = c.inputs[0].shape.dims();
  for (size_t i = 0; i < a.size.size(); ++i) {
    int64_t& d = dims[i + 1];
    if (d < 0) continue;
    if (d % a.size[i] != 0) {
      return ShapeError(c, absl::StrCat("dy's ", AxisName(a.size.size(), i), " ", d,
                                        " is not a multiple of its upsampling factor ", a.size[i],
                                        " (dy ", c.inputs[0].ToString(), ", ", Describe(a), ")"));
    }
    d /= a.size[i];
  }
  return std::vector<TensorType>{{c.inputs[0].dtype, Shape(std::move(dims))}};
}

// ---- geometry of one node -------------------------------------------------------------------

// x (the "in" side) and y (the "out" side) of a kernel as rows: a row is every index but the
// last spatial one and the channel.
struct Geometry {
  int k = 1;
  int64_t n = 0, c = 0;
  std::vector<int64_t> in, out;  // spatial sizes
  int64_t out_rows() const { return Rows(out); }
  int64_t in_rows() const { return Rows(in); }
  int64_t Rows(const std::vector<int64_t>& s) const {
    int64_t r = n;
    for (int a = 0; a + 1 < k; ++a) r *= s[a];
    return r;
  }
};

Geometry GeometryOf(const Shape& x, const Shape& y) {
  Geometry g;
  g.k = x.rank() - 2;
  g.n = x.dim(0);
  g.c = x.dim(-1);
  for (int a = 0; a < g.k; ++a) {
    g.in.push_back(x.dim(a + 1));
    g.out.push_back(y.dim(a + 1));
  }
  return g;
}

// Splits row r of a tensor with spatial sizes s into (n, i_0, ..., i_{k-2}); `idx` gets the
// spatial indices.
int64_t SplitRow(int64_t r, const Geometry& g, const std::vector<int64_t>& s, int64_t* idx) {
  for (int a = g.k - 2; a >= 0; --a) {
    idx[a] = r % s[a];
    r /= s[a];
  }
  return r;
}

// The row index of (n, i_0, ..., i_{k-2}) in a tensor with spatial sizes s.
int64_t JoinRow(int64_t n, const int64_t* idx, const Geometry& g, const std::vector<int64_t>& s) {
  int64_t r = n;
  for (int a = 0; a + 1 < g.k; ++a) r = r * s[a] + idx[a];
  return r;
}

// About 16K elements per task.
int64_t GrainFor(int64_t row) {
  return std::max<int64_t>(1, (int64_t{1} << 14) / std::max<int64_t>(row, 1));
}

// ---- Pad and Crop: y[i] = x[i + offset] or 0 -------------------------------------------------

std::vector<int64_t> Offsets(const PadAttrs& a) {
  std::vector<int64_t> o;
  for (int64_t b : a.begin) o.push_back(-b);
  return o;
}
std::vector<int64_t> Offsets(const CropAttrs& a) { return a.begin; }

template <typename Attrs>
class WindowBase : public Kernel {
 public:
  absl::Status Init(const KernelInitContext& c) override {
    g_ = GeometryOf(c.input_types[0].shape, c.output_types[0].shape);
    offset_ = Offsets(c.attrs<Attrs>());
    return absl::OkStatus();
  }

 protected:
  Geometry g_;
  std::vector<int64_t> offset_;
};

template <typename T, typename Attrs>
class FastWindow : public WindowBase<Attrs> {
 public:
  absl::Status Run(KernelRunContext& ctx) override {
    const Geometry& g = this->g_;
    const std::vector<int64_t>& off = this->offset_;
    const T* x = ctx.input(0).data<T>();
    T* y = ctx.output(0).data<T>();
    const int last = g.k - 1;
    const int64_t in_row = g.in[last] * g.c, out_row = g.out[last] * g.c;
    // The output positions j of the last axis that read x: 0 <= j + off < in.
    const int64_t lo = std::clamp<int64_t>(-off[last], 0, g.out[last]);
    const int64_t hi = std::clamp<int64_t>(g.in[last] - off[last], lo, g.out[last]);
    ForRange(
        true, g.out_rows(),
        [&](int64_t begin, int64_t end) {
          int64_t idx[3] = {0, 0, 0};
          for (int64_t r = begin; r < end; ++r) {
            T* yr = y + r * out_row;
            const int64_t n = SplitRow(r, g, g.out, idx);
            bool inside = true;
            for (int a = 0; a < last; ++a) {
              idx[a] += off[a];
              inside = inside && idx[a] >= 0 && idx[a] < g.in[a];
            }
            if (!inside || hi == lo) {
              std::fill(yr, yr + out_row, T(0));
              continue;
            }
            const T* xr = x + JoinRow(n, idx, g, g.in) * in_row;
            std::fill(yr, yr + lo * g.c, T(0));
            std::memcpy(yr + lo * g.c, xr + (lo + off[last]) * g.c, sizeof(T) * (hi - lo) * g.c);
            std::fill(yr + hi * g.c, yr + out_row, T(0));
          }
        },
        GrainFor(out_row));
    return absl::OkStatus();
  }
};

template <typename Attrs>
struct RefWindowOf {
  template <typename T>
  class Ref : public WindowBase<Attrs> {
   public:
    absl::Status Run(KernelRunContext& ctx) override {
      const Geometry& g = this->g_;
      const T* x = ctx.input(0).data<T>();
      T* y = ctx.output(0).data<T>();
      const int64_t total = ctx.output(0).num_elements();
      std::vector<int64_t> i(g.k);
      for (int64_t e = 0; e < total; ++e) {
        int64_t rest = e / g.c;
        const int64_t ch = e % g.c;
        for (int a = g.k - 1; a >= 0; --a) {
          i[a] = rest % g.out[a] + this->offset_[a];
          rest /= g.out[a];
        }
        bool inside = true;
        int64_t src = rest;  // the sample
        for (int a = 0; a < g.k; ++a) {
          inside = inside && i[a] >= 0 && i[a] < g.in[a];
          src = src * g.in[a] + i[a];
        }
        y[e] = inside ? x[src * g.c + ch] : T(0);
      }
      return absl::OkStatus();
    }
  };
};

GradResult GradPad(GradContext& g) {
  const PadAttrs& a = g.attrs<PadAttrs>();
  absl::StatusOr<Value> dx =
      Crop(g.graph(), *g.output_grad(0), CropAttrs{a.begin, a.end}, "PadGrad");
  if (!dx.ok()) return dx.status();
  return Grads{*dx};
}

GradResult GradCrop(GradContext& g) {
  const CropAttrs& a = g.attrs<CropAttrs>();
  absl::StatusOr<Value> dx =
      Pad(g.graph(), *g.output_grad(0), PadAttrs{a.begin, a.end}, "CropGrad");
  if (!dx.ok()) return dx.status();
  return Grads{*dx};
}

// ---- UpSample and its backward ----------------------------------------------------------------

// The "in" side of the geometry is always the small tensor: x forward, dx backward.
template <bool kBackward>
class UpSampleBase : public Kernel {
 public:
  absl::Status Init(const KernelInitContext& c) override {
    const Shape& small = kBackward ? c.output_types[0].shape : c.input_types[0].shape;
    const Shape& large = kBackward ? c.input_types[0].shape : c.output_types[0].shape;
    g_ = GeometryOf(small, large);
    f_ = c.attrs<UpSampleAttrs>().size;
    return absl::OkStatus();
  }

 protected:
  Geometry g_;
  std::vector<int64_t> f_;
};

class FastUpSample : public UpSampleBase<false> {
 public:
  absl::Status Run(KernelRunContext& ctx) override {
    const Geometry& g = g_;
    const float* x = ctx.input(0).data<float>();
    float* y = ctx.output(0).data<float>();
    const int last = g.k - 1;
    const int64_t in_row = g.in[last] * g.c, out_row = g.out[last] * g.c, f = f_[last];
    ForRange(
        true, g.out_rows(),
        [&](int64_t begin, int64_t end) {
          int64_t idx[3] = {0, 0, 0};
          for (int64_t r = begin; r < end; ++r) {
            const int64_t n = SplitRow(r, g, g.out, idx);
            for (int a = 0; a < last; ++a) idx[a] /= f_[a];
            const float* xr = x + JoinRow(n, idx, g, g.in) * in_row;
            float* yr = y + r * out_row;
            for (int64_t j = 0; j < g.in[last]; ++j) {
              for (int64_t t = 0; t < f; ++t) {
                std::memcpy(yr + (j * f + t) * g.c, xr + j * g.c, sizeof(float) * g.c);
              }
            }
          }
        },
        GrainFor(out_row));
    return absl::OkStatus();
  }
};

template <typename T>
class RefUpSample : public UpSampleBase<false> {
 public:
  absl::Status Run(KernelRunContext& ctx) override {
    const Geometry& g = g_;
    const T* x = ctx.input(0).data<T>();
    T* y = ctx.output(0).data<T>();
    const int64_t total = ctx.output(0).num_elements();
    std::vector<int64_t> i(g.k);
    for (int64_t e = 0; e < total; ++e) {
      int64_t rest = e / g.c;
      for (int a = g.k - 1; a >= 0; --a) {
        i[a] = rest % g.out[a] / f_[a];
        rest /= g.out[a];
      }
      int64_t src = rest;
      for (int a = 0; a < g.k; ++a) src = src * g.in[a] + i[a];
      y[e] = x[src * g.c + e % g.c];
    }
    return absl::OkStatus();
  }
};

// dx row by row: each dx row sums the f_0 x ... x f_{k-2} dy rows of its block, and within a
// row f_{k-1} neighbouring C-vectors, in row-major block order (the reference kernel's order).
class FastUpSampleBackward : public UpSampleBase<true> {
 public:
  absl::Status Run(KernelRunContext& ctx) override {
    const Geometry& g = g_;
    const float* dy = ctx.input(0).data<float>();
    float* dx = ctx.output(0).data<float>();
    const int last = g.k - 1;
    const int64_t in_row = g.in[last] * g.c, out_row = g.out[last] * g.c, f = f_[last];
    int64_t block_rows = 1;
    for (int a = 0; a < last; ++a) block_rows *= f_[a];
    ForRange(
        true, g.in_rows(),
        [&](int64_t begin, int64_t end) {
          int64_t idx[3] = {0, 0, 0}, at[3] = {0, 0, 0};
          for (int64_t r = begin; r < end; ++r) {
            const int64_t n = SplitRow(r, g, g.in, idx);
            float* dxr = dx + r * in_row;
            std::fill(dxr, dxr + in_row, 0.0f);
            for (int64_t b = 0; b < block_rows; ++b) {
              int64_t rest = b;
              for (int a = last - 1; a >= 0; --a) {
                at[a] = idx[a] * f_[a] + rest % f_[a];
                rest /= f_[a];
              }
              const float* dyr = dy + JoinRow(n, at, g, g.out) * out_row;
              for (int64_t j = 0; j < g.in[last]; ++j) {
                float* __restrict d = dxr + j * g.c;
                for (int64_t t = 0; t < f; ++t) {
                  const float* __restrict s = dyr + (j * f + t) * g.c;
                  for (int64_t ch = 0; ch < g.c; ++ch) d[ch] += s[ch];
                }
              }
            }
          }
        },
        GrainFor(out_row));
    return absl::OkStatus();
  }
};

template <typename T>
class RefUpSampleBackward : public UpSampleBase<true> {
 public:
  absl::Status Run(KernelRunContext& ctx) override {
    const Geometry& g = g_;
    const T* dy = ctx.input(0).data<T>();
    T* dx = ctx.output(0).data<T>();
    const int64_t total = ctx.output(0).num_elements();
    int64_t block = 1;
    for (int64_t s : f_) block *= s;
    std::vector<int64_t> j(g.k), at(g.k);
    for (int64_t e = 0; e < total; ++e) {
      int64_t rest = e / g.c;
      for (int a = g.k - 1; a >= 0; --a) {
        j[a] = rest % g.in[a];
        rest /= g.in[a];
      }
      const int64_t n = rest;
      T acc = T(0);
      for (int64_t b = 0; b < block; ++b) {  // block offsets in row-major order
        int64_t t = b;
        for (int a = g.k - 1; a >= 0; --a) {
          at[a] = j[a] * f_[a] + t % f_[a];
          t /= f_[a];
        }
        int64_t src = n;
        for (int a = 0; a < g.k; ++a) src = src * g.out[a] + at[a];
        acc += dy[src * g.c + e % g.c];
      }
      dx[e] = acc;
    }
    return absl::OkStatus();
  }
};

GradResult GradUpSample(GradContext& g) {
  absl::StatusOr<Value> dx = g.graph().Add("graft.UpSampleBackward", {*g.output_grad(0)},
                                           g.attrs<UpSampleAttrs>(), "UpSampleGrad");
  if (!dx.ok()) return dx.status();
  return Grads{*dx};
}

GRAFT_REGISTER_OP(OpDef<PadAttrs>("graft.Pad")
                      .Doc("y = x with begin/end zeros around each spatial axis (channels-last)")
                      .Inputs({"x"})
                      .Outputs({"y"})
                      .Shape(InferPad)
                      .PrintAttrs([](const PadAttrs& a) { return Describe(a); })
                      .Kernel<FastWindow<float, PadAttrs>>(DType::kF32)
                      .Reference<RefWindowOf<PadAttrs>::Ref>()
                      .Grad(GradPad));

GRAFT_REGISTER_OP(OpDef<CropAttrs>("graft.Crop")
                      .Doc("y = x without begin/end positions of each spatial axis")
                      .Inputs({"x"})
                      .Outputs({"y"})
                      .Shape(InferCrop)
                      .PrintAttrs([](const CropAttrs& a) { return Describe(a); })
                      .Kernel<FastWindow<float, CropAttrs>>(DType::kF32)
                      .Reference<RefWindowOf<CropAttrs>::Ref>()
                      .Grad(GradCrop));

GRAFT_REGISTER_OP(OpDef<UpSampleAttrs>("graft.UpSample")
                      .Doc("y = x with each spatial position repeated size times per axis "
                           "(nearest neighbour)")
                      .Inputs({"x"})
                      .Outputs({"y"})
                      .Shape(InferUpSample)
                      .PrintAttrs([](const UpSampleAttrs& a) { return Describe(a); })
                      .Kernel<FastUpSample>(DType::kF32)
                      .Reference<RefUpSample>()
                      .Grad(GradUpSample));

GRAFT_REGISTER_OP(OpDef<UpSampleAttrs>("graft.UpSampleBackward")
                      .Doc("dx = dy summed over each size_1 x ... x size_k block")
                      .Inputs({"dy"})
                      .Outputs({"dx"})
                      .Shape(InferUpSampleBackward)
                      .PrintAttrs([](const UpSampleAttrs& a) { return Describe(a); })
                      .Kernel<FastUpSampleBackward>(DType::kF32)
                      .Reference<RefUpSampleBackward>());

}  // namespace

absl::StatusOr<Value> Pad(Graph& g, Value x, const PadAttrs& attrs, absl::string_view name) {
  return g.Add("graft.Pad", {x}, attrs, name);
}
absl::StatusOr<Value> Crop(Graph& g, Value x, const CropAttrs& attrs, absl::string_view name) {
  return g.Add("graft.Crop", {x}, attrs, name);
}
absl::StatusOr<Value> UpSample(Graph& g, Value x, const UpSampleAttrs& attrs,
                               absl::string_view name) {
  return g.Add("graft.UpSample", {x}, attrs, name);
}

}  // namespace graft::ops
