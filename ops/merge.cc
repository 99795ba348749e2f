// ops/merge.cc — the ops of Keras's merge layers (Subtract, Maximum, Minimum, Concatenate).
//   Sub(a, b)     = a - b                                        (equal types, no broadcasting)
//   Maximum(a, b) = max(a, b),  Minimum(a, b) = min(a, b)        (NaN in either input gives NaN)
//   Concat(x_0, ..., x_{m-1}; axis): y = the x_i joined along `axis` in order,
//     y[o, O_i + j, r] = x_i[o, j, r]    with o the indices before `axis`, r those after and
//     O_i = sum_{k < i} x_k.dim(axis) the offset of input i
//   Slice(x; axis, begin, size): y[o, j, r] = x[o, begin + j, r],  0 <= j < size
// Gradients:
//   dSub = (dy, -dy)
//   dMaximum = (dy * ([a > b] + [a == b]/2 + [a or b NaN]), dy * ([b > a] + [a == b]/2 + [NaN]))
//     and dMinimum with < for >: PyTorch's rule (torch.maximum splits a tie evenly; a NaN pair
//     passes dy to both), computed by "graft.MaximumBackward" / "graft.MinimumBackward"
//   dConcat: dx_i = Slice(dy; axis, O_i, x_i.dim(axis))
//   Slice: not differentiable (it exists as Concat's gradient).
// Kernels: the binary ops are elementwise loops (ops::ForRange); Concat and Slice copy
// contiguous runs (memcpy) split over the rows before `axis`; reference kernels index element by
// element, templated over float and double.
#include "ops/merge.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "ops/common.h"
#include "ops/elementwise.h"

namespace graft::ops {
namespace {

// ---- binary elementwise ops -----------------------------------------------------------------

absl::StatusOr<std::vector<TensorType>> EqualTypes(const ShapeContext& c) {
  if (absl::Status s = ExpectFloat(c, 0); !s.ok()) return s;
  if (!(c.inputs[0] == c.inputs[1])) {
    return ShapeError(c, absl::StrCat("inputs must have equal types (no broadcasting), got ",
                                      c.inputs[0].ToString(), " and ", c.inputs[1].ToString()));
  }
  return SameAs(c, 0);
}

struct SubBody {
  template <typename T>
  static void Run(const KernelRunContext& ctx, int64_t b, int64_t e) {
    const T* x0 = ctx.input(0).data<T>();
    const T* x1 = ctx.input(1).data<T>();
    T* y = ctx.output(0).data<T>();
    for (int64_t i = b; i < e; ++i) y[i] = x0[i] - x1[i];
  }
};

// max (kMax) or min of a and b; NaN when either is NaN (as torch.maximum / torch.minimum).
template <bool kMax, typename T>
inline T Select(T a, T b) {
  if (a != a) return a;
  if (b != b) return b;
  return kMax ? (a < b ? b : a) : (b < a ? b : a);
}

template <bool kMax>
struct ExtremumBody {
  template <typename T>
  static void Run(const KernelRunContext& ctx, int64_t b, int64_t e) {
    const T* x0 = ctx.input(0).data<T>();
    const T* x1 = ctx.input(1).data<T>();
    T* y = ctx.output(0).data<T>();
    for (int64_t i = b; i < e; ++i) y[i] = Select<kMax>(x0[i], x1[i]);
  }
};

// (dy, a, b) -> (da, db), PyTorch's rule: the input that lost gets 0, a tie gets dy/2 each,
// otherwise (the winner, or both when a NaN makes every comparison false) dy.
template <bool kMax>
struct ExtremumBackwardBody {
  template <typename T>
  static void Run(const KernelRunContext& ctx, int64_t b, int64_t e) {
    const T* dy = ctx.input(0).data<T>();
    const T* x0 = ctx.input(1).data<T>();
    const T* x1 = ctx.input(2).data<T>();
    T* da = ctx.output(0).data<T>();
    T* db = ctx.output(1).data<T>();
    for (int64_t i = b; i < e; ++i) {
      const T a = x0[i], c = x1[i], g = dy[i];
      const bool a_loses = kMax ? a < c : a > c;
      const bool b_loses = kMax ? c < a : c > a;
      const T shared = a == c ? g / T(2) : g;
      da[i] = a_loses ? T(0) : shared;
      db[i] = b_loses ? T(0) : shared;
    }
  }
};

absl::StatusOr<std::vector<TensorType>> InferExtremumBackward(const ShapeContext& c,
                                                              const NoAttrs&) {
  if (absl::Status s = ExpectFloat(c, 1); !s.ok()) return s;
  if (!(c.inputs[1] == c.inputs[2]) || !(c.inputs[0] == c.inputs[1])) {
    return ShapeError(
        c, absl::StrCat("dy, a and b must have equal types, got ", c.inputs[0].ToString(), ", ",
                        c.inputs[1].ToString(), " and ", c.inputs[2].ToString()));
  }
  return std::vector<TensorType>{c.inputs[1], c.inputs[2]};
}

GradResult GradSub(GradContext& g) {
  Value dy = *g.output_grad(0);
  Grads out = {dy, std::nullopt};
  if (g.needs_input_grad(1)) {
    absl::StatusOr<Value> neg = Scale(g.graph(), dy, -1.0, "SubGrad");
    if (!neg.ok()) return neg.status();
    out[1] = *neg;
  }
  return out;
}

GradFn GradExtremum(std::string backward_op) {
  return [backward_op](GradContext& g) -> GradResult {
    absl::StatusOr<std::vector<Value>> d =
        g.graph().AddNode(backward_op, {*g.output_grad(0), g.input(0), g.input(1)}, NoAttrs{});
    if (!d.ok()) return d.status();
    return Grads{(*d)[0], (*d)[1]};
  };
}

template <bool kMax>
OpDef<NoAttrs> ExtremumOp() {
  const std::string name = kMax ? "graft.Maximum" : "graft.Minimum";
  OpDef<NoAttrs> def(name);
  def.Doc(kMax ? "y = max(a, b) elementwise (equal shapes; NaN propagates)"
               : "y = min(a, b) elementwise (equal shapes; NaN propagates)")
      .Inputs({"a", "b"})
      .Outputs({"y"})
      .InPlace(0, 0)
      .Shape([](const ShapeContext& c, const NoAttrs&) { return EqualTypes(c); })
      .template Kernel<typename Loops<ExtremumBody<kMax>>::FastF32>(DType::kF32)
      .template Reference<Loops<ExtremumBody<kMax>>::template Reference>()
      .Grad(GradExtremum(name + "Backward"));
  return def;
}

// The backward loops write two outputs of dy's size: LoopKernel counts output 0's elements.
template <bool kMax>
OpDef<NoAttrs> ExtremumBackwardOp() {
  OpDef<NoAttrs> def(kMax ? "graft.MaximumBackward" : "graft.MinimumBackward");
  def.Doc(kMax ? "(da, db) = dy to the larger input, dy/2 to each on a tie (PyTorch's rule)"
               : "(da, db) = dy to the smaller input, dy/2 to each on a tie (PyTorch's rule)")
      .Inputs({"dy", "a", "b"})
      .Outputs({"da", "db"})
      .Shape(InferExtremumBackward)
      .template Kernel<typename Loops<ExtremumBackwardBody<kMax>>::FastF32>(DType::kF32)
      .template Reference<Loops<ExtremumBackwardBody<kMax>>::template Reference>();
  return def;
}

GRAFT_REGISTER_OP(OpDef<NoAttrs>("graft.Sub")
                      .Doc("y = a - b (equal shapes)")
                      .Inputs({"a", "b"})
                      .Outputs({"y"})
                      .InPlace(0, 0)
                      .Shape([](const ShapeContext& c, const NoAttrs&) { return EqualTypes(c); })
                      .Kernel<Loops<SubBody>::FastF32>(DType::kF32)
                      .Reference<Loops<SubBody>::Reference>()
                      .Grad(GradSub));
GRAFT_REGISTER_OP(ExtremumOp<true>());
GRAFT_REGISTER_OP(ExtremumOp<false>());
GRAFT_REGISTER_OP(ExtremumBackwardOp<true>());
GRAFT_REGISTER_OP(ExtremumBackwardOp<false>());

// ---- Concat and Slice -----------------------------------------------------------------------

// Python's text of an axis argument and its normalised value: "2 (axis=-1)".
std::string AxisText(int64_t axis, int64_t normalized) {
  return axis == normalized ? absl::StrCat(axis) : absl::StrCat(normalized, " (axis=", axis, ")");
}

// `axis` in [-rank, rank) as a non-negative index, or an error naming the shape.
absl::StatusOr<int> NormalizeAxis(const ShapeContext& c, int64_t axis, const Shape& shape) {
  const int rank = shape.rank();
  if (axis < -rank || axis >= rank) {
    return ShapeError(
        c, absl::StrCat("axis ", axis, " is out of range for input shape ", shape.ToString(),
                        " (rank ", rank, "): expected an axis in [", -rank, ", ", rank, ")"));
  }
  return static_cast<int>(axis < 0 ? axis + rank : axis);
}

absl::StatusOr<std::vector<TensorType>> InferConcat(const ShapeContext& c, const ConcatAttrs& a) {
  const TensorType& first = c.inputs[0];
  if (absl::Status s = ExpectFloat(c, 0); !s.ok()) return s;
  if (first.shape.rank() < 1) {
    return ShapeError(c, absl::StrCat("cannot concatenate scalars: input 0 is ", first.ToString()));
  }
  absl::StatusOr<int> axis = NormalizeAxis(c, a.axis, first.shape);
  if (!axis.ok()) return axis.status();
  std::vector<int64_t> dims = first.shape.dims();
  for (size_t i = 1; i < c.inputs.size(); ++i) {
    const TensorType& t = c.inputs[i];
    bool fits = t.dtype == first.dtype && t.shape.rank() == first.shape.rank();
    for (int d = 0; fits && d < first.shape.rank(); ++d) {
      fits = d == *axis || t.shape.dim(d) == first.shape.dim(d);
    }
    if (!fits) {
      return ShapeError(
          c, absl::StrCat("inputs must have equal dtypes, ranks and dimensions except on the "
                          "concatenation axis ",
                          AxisText(a.axis, *axis), ", got ", first.ToString(), " (input 0) and ",
                          t.ToString(), " (input ", i, ")"));
    }
    const int64_t d = t.shape.dim(*axis);
    dims[*axis] = dims[*axis] < 0 || d < 0 ? -1 : dims[*axis] + d;
  }
  return std::vector<TensorType>{{first.dtype, Shape(std::move(dims))}};
}

absl::StatusOr<std::vector<TensorType>> InferSlice(const ShapeContext& c, const SliceAttrs& a) {
  const TensorType& x = c.inputs[0];
  if (absl::Status s = ExpectFloat(c, 0); !s.ok()) return s;
  absl::StatusOr<int> axis = NormalizeAxis(c, a.axis, x.shape);
  if (!axis.ok()) return axis.status();
  const int64_t n = x.shape.dim(*axis);
  if (a.begin < 0 || a.size < 0 || n < 0 || a.begin + a.size > n) {
    return ShapeError(c, absl::StrCat("cannot take [", a.begin, ", ", a.begin + a.size,
                                      ") of axis ", AxisText(a.axis, *axis), " of ", x.ToString(),
                                      ": the range must lie within a known dimension"));
  }
  std::vector<int64_t> dims = x.shape.dims();
  dims[*axis] = a.size;
  return std::vector<TensorType>{{x.dtype, Shape(std::move(dims))}};
}

// The rows before the axis and the elements per row (from the axis on) of a tensor.
struct Rows {
  int64_t outer = 1;
  int64_t inner = 1;  // elements of one index along the axis: the product after it
};
Rows RowsOf(const Shape& s, int axis) {
  Rows r;
  for (int d = 0; d < axis; ++d) r.outer *= s.dim(d);
  for (int d = axis + 1; d < s.rank(); ++d) r.inner *= s.dim(d);
  return r;
}
int AxisOf(int64_t axis, int rank) { return static_cast<int>(axis < 0 ? axis + rank : axis); }

// Row-splitting grain: about 16K elements per task.
int64_t GrainFor(int64_t row) {
  return std::max<int64_t>(1, (int64_t{1} << 14) / std::max<int64_t>(row, 1));
}

// The fast kernel (f32 and f64: a byte copy). Each output row is the inputs' rows in order.
class FastConcat : public Kernel {
 public:
  absl::Status Run(KernelRunContext& ctx) override {
    Tensor& y = ctx.output(0);
    const int axis = AxisOf(axis_, y.shape().rank());
    const Rows yr = RowsOf(y.shape(), axis);
    const int64_t elem = static_cast<int64_t>(y.nbytes() / std::max<int64_t>(y.num_elements(), 1));
    const int64_t y_row = y.shape().dim(axis) * yr.inner * elem;  // bytes
    std::vector<const char*> src;
    std::vector<int64_t> len;  // bytes per row of each input
    for (int i = 0; i < ctx.num_inputs(); ++i) {
      src.push_back(static_cast<const char*>(ctx.input(i).raw_data()));
      len.push_back(ctx.input(i).shape().dim(axis) * yr.inner * elem);
    }
    char* dst = static_cast<char*>(y.raw_data());
    ForRange(
        true, yr.outer,
        [&](int64_t b, int64_t e) {
          for (int64_t o = b; o < e; ++o) {
            char* row = dst + o * y_row;
            for (size_t i = 0; i < src.size(); ++i) {
              if (len[i] > 0) std::memcpy(row, src[i] + o * len[i], len[i]);
              row += len[i];
            }
          }
        },
        GrainFor(y_row / elem));
    return absl::OkStatus();
  }
  absl::Status Init(const KernelInitContext& c) override {
    axis_ = c.attrs<ConcatAttrs>().axis;
    return absl::OkStatus();
  }

 private:
  int64_t axis_ = -1;
};

template <typename T>
class RefConcat : public Kernel {
 public:
  absl::Status Init(const KernelInitContext& c) override {
    axis_ = c.attrs<ConcatAttrs>().axis;
    return absl::OkStatus();
  }
  absl::Status Run(KernelRunContext& ctx) override {
    Tensor& y = ctx.output(0);
    const int axis = AxisOf(axis_, y.shape().rank());
    const Rows yr = RowsOf(y.shape(), axis);
    const int64_t n = y.shape().dim(axis);
    T* out = y.data<T>();
    // Each output element (o, k, r) reads the input whose range along the axis holds k.
    for (int64_t o = 0; o < yr.outer; ++o) {
      for (int64_t k = 0; k < n; ++k) {
        int i = 0;
        int64_t j = k;
        while (j >= ctx.input(i).shape().dim(axis)) j -= ctx.input(i++).shape().dim(axis);
        const int64_t ni = ctx.input(i).shape().dim(axis);
        const T* x = ctx.input(i).data<T>();
        for (int64_t r = 0; r < yr.inner; ++r) {
          out[(o * n + k) * yr.inner + r] = x[(o * ni + j) * yr.inner + r];
        }
      }
    }
    return absl::OkStatus();
  }

 private:
  int64_t axis_ = -1;
};

GradResult GradConcat(GradContext& g) {
  const ConcatAttrs& a = g.attrs<ConcatAttrs>();
  const int axis = AxisOf(a.axis, g.graph().type(g.input(0)).shape.rank());
  Grads out(g.num_inputs());
  int64_t offset = 0;
  for (int i = 0; i < g.num_inputs(); ++i) {
    const int64_t size = g.graph().type(g.input(i)).shape.dim(axis);
    if (size < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(g.node().name, " (graft.Concat): the gradient needs known sizes along axis ",
                       axis, ", got ", g.graph().type(g.input(i)).ToString(), " (input ", i, ")"));
    }
    if (g.needs_input_grad(i)) {
      absl::StatusOr<Value> dx =
          Slice(g.graph(), *g.output_grad(0), SliceAttrs{axis, offset, size}, "ConcatGrad");
      if (!dx.ok()) return dx.status();
      out[i] = *dx;
    }
    offset += size;
  }
  return out;
}

class FastSlice : public Kernel {
 public:
  absl::Status Init(const KernelInitContext& c) override {
    a_ = c.attrs<SliceAttrs>();
    return absl::OkStatus();
  }
  absl::Status Run(KernelRunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const int axis = AxisOf(a_.axis, x.shape().rank());
    const Rows xr = RowsOf(x.shape(), axis);
    const int64_t elem = static_cast<int64_t>(x.nbytes() / std::max<int64_t>(x.num_elements(), 1));
    const int64_t x_row = x.shape().dim(axis) * xr.inner * elem, y_row = a_.size * xr.inner * elem;
    const char* src = static_cast<const char*>(x.raw_data()) + a_.begin * xr.inner * elem;
    char* dst = static_cast<char*>(ctx.output(0).raw_data());
    if (y_row == 0) return absl::OkStatus();
    ForRange(
        true, xr.outer,
        [&](int64_t b, int64_t e) {
          for (int64_t o = b; o < e; ++o) std::memcpy(dst + o * y_row, src + o * x_row, y_row);
        },
        GrainFor(y_row / elem));
    return absl::OkStatus();
  }

 private:
  SliceAttrs a_;
};

template <typename T>
class RefSlice : public Kernel {
 public:
  absl::Status Init(const KernelInitContext& c) override {
    a_ = c.attrs<SliceAttrs>();
    return absl::OkStatus();
  }
  absl::Status Run(KernelRunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const int axis = AxisOf(a_.axis, x.shape().rank());
    const Rows xr = RowsOf(x.shape(), axis);
    const int64_t n = x.shape().dim(axis);
    const T* in = x.data<T>();
    T* out = ctx.output(0).data<T>();
    for (int64_t o = 0; o < xr.outer; ++o) {
      for (int64_t j = 0; j < a_.size; ++j) {
        for (int64_t r = 0; r < xr.inner; ++r) {
          out[(o * a_.size + j) * xr.inner + r] = in[(o * n + a_.begin + j) * xr.inner + r];
        }
      }
    }
    return absl::OkStatus();
  }

 private:
  SliceAttrs a_;
};

GRAFT_REGISTER_OP(OpDef<ConcatAttrs>("graft.Concat")
                      .Doc("y = the inputs joined along `axis` (other dimensions equal)")
                      .Inputs({"x..."})
                      .Outputs({"y"})
                      .Shape(InferConcat)
                      .PrintAttrs([](const ConcatAttrs& a) {
                        return absl::StrCat("axis=", a.axis);
                      })
                      .Kernel<FastConcat>(DType::kF32)
                      .Kernel<FastConcat>(DType::kF64)
                      .Reference<RefConcat>()
                      .Grad(GradConcat));

GRAFT_REGISTER_OP(OpDef<SliceAttrs>("graft.Slice")
                      .Doc("y = x[begin : begin + size] along `axis`")
                      .Inputs({"x"})
                      .Outputs({"y"})
                      .Shape(InferSlice)
                      .PrintAttrs([](const SliceAttrs& a) {
                        return absl::StrCat("axis=", a.axis, ", begin=", a.begin,
                                            ", size=", a.size);
                      })
                      .Kernel<FastSlice>(DType::kF32)
                      .Kernel<FastSlice>(DType::kF64)
                      .Reference<RefSlice>());

}  // namespace

absl::StatusOr<Value> Subtract(Graph& g, Value a, Value b, absl::string_view name) {
  return g.Add("graft.Sub", {a, b}, NoAttrs{}, name);
}
absl::StatusOr<Value> Maximum(Graph& g, Value a, Value b, absl::string_view name) {
  return g.Add("graft.Maximum", {a, b}, NoAttrs{}, name);
}
absl::StatusOr<Value> Minimum(Graph& g, Value a, Value b, absl::string_view name) {
  return g.Add("graft.Minimum", {a, b}, NoAttrs{}, name);
}
absl::StatusOr<Value> Concatenate(Graph& g, const std::vector<Value>& inputs, int64_t axis,
                                  absl::string_view name) {
  if (inputs.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(name.empty() ? "Concat" : name, " (graft.Concat): needs at least one input"));
  }
  return g.Add("graft.Concat", inputs, ConcatAttrs{axis}, name);
}
absl::StatusOr<Value> Slice(Graph& g, Value x, const SliceAttrs& attrs, absl::string_view name) {
  return g.Add("graft.Slice", {x}, attrs, name);
}

}  // namespace graft::ops
