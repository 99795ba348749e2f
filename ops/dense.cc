// ops/dense.cc — Dense (fully connected) on the last axis, Keras layout.
//   Dense(x, w, b):  y[m, n] = sum_k x[m, k] * w[k, n] + b[n]
//     x (..., K) is seen as rows m of a (M, K) matrix, M = product of the leading dims;
//     w (K, N) is Keras's kernel (in, out); b (N) is optional; y (..., N).
//   Gradients, over the same flattened rows:
//     DenseBackwardData(dy, w)    : dx = dy @ w^T                          (M, K)
//     DenseBackwardWeights(x, dy) : dw = x^T @ dy  (K, N),  db[n] = sum_m dy[m, n]
//   The backward ops are differentiable too (second order), from the same identities:
//     DenseBackwardData:    d(dy) = ddx @ w = Dense(ddx, w),  d(w) = ddx^T @ dy
//     DenseBackwardWeights: d(x) = dy @ ddw^T,                d(dy) = x @ ddw + ddb
// Fast f32 kernels: oneDNN matmul on the plain row-major buffers. The transposes are strided
// memory descriptors (format tag `ba`), never copies; the bias goes through the matmul's bias
// argument as a (1, N) row. db is a column sum over TBB blocks of columns, each column summed
// in row order, so it is deterministic whatever the thread count.
// Reference kernels: plain loops for f32 and f64, accumulating in double.
#include "ops/dense.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <vector>

#include "ops/common.h"
#include "ops/core.h"
#include "ops/onednn/onednn.h"

namespace graft::ops {
namespace {

namespace on = ::graft::onednn;

// ---- shapes ---------------------------------------------------------------------------------

// Rows of the flattened (M, last) matrix: the product of all dims but the last.
int64_t Rows(const Shape& s) {
  int64_t m = 1;
  for (int i = 0; i + 1 < s.rank(); ++i) m *= s.dim(i);
  return m;
}

absl::Status SameDType(const ShapeContext& c, int i, absl::string_view what) {
  if (c.inputs[i].dtype != c.inputs[0].dtype) {
    return ShapeError(c,
                      absl::StrCat(what, " dtype ", DTypeName(c.inputs[i].dtype),
                                   " differs from the input dtype ", DTypeName(c.inputs[0].dtype)));
  }
  return absl::OkStatus();
}

// Input i is a floating (batch, ..., features) tensor with a known feature dimension.
absl::Status ExpectRows(const ShapeContext& c, int i, absl::string_view what) {
  if (absl::Status s = ExpectFloat(c, i); !s.ok()) return s;
  const Shape& s = c.inputs[i].shape;
  if (s.rank() < 2) {
    return ShapeError(c, absl::StrCat("expected ", what, " of rank >= 2 (batch, ..., features), ",
                                      "got shape ", s.ToString()));
  }
  if (s.dim(-1) < 0) {
    return ShapeError(c, absl::StrCat("the last dimension of ", what, " must be known, got shape ",
                                      s.ToString()));
  }
  return absl::OkStatus();
}

absl::Status ExpectKernel(const ShapeContext& c, int i) {
  if (absl::Status s = SameDType(c, i, "kernel"); !s.ok()) return s;
  const Shape& w = c.inputs[i].shape;
  if (w.rank() != 2 || !w.IsFullyDefined()) {
    return ShapeError(
        c,
        absl::StrCat("expected a kernel of rank 2 (in_features, units), got shape ", w.ToString()));
  }
  return absl::OkStatus();
}

Shape WithLastDim(const Shape& s, int64_t d) {
  Shape out = s;
  out.set_dim(-1, d);
  return out;
}

absl::StatusOr<std::vector<TensorType>> InferDense(const ShapeContext& c, const NoAttrs&) {
  if (absl::Status s = ExpectRows(c, 0, "an input"); !s.ok()) return s;
  if (absl::Status s = ExpectKernel(c, 1); !s.ok()) return s;
  const Shape& x = c.inputs[0].shape;
  const Shape& w = c.inputs[1].shape;
  if (x.dim(-1) != w.dim(0)) {
    return ShapeError(c,
                      absl::StrCat("expected input last dimension ", w.dim(0),
                                   " (the kernel's in-features), got ", x.dim(-1), " (input shape ",
                                   x.ToString(), ", kernel shape ", w.ToString(), ")"));
  }
  if (c.inputs.size() == 3) {
    if (absl::Status s = SameDType(c, 2, "bias"); !s.ok()) return s;
    const Shape want{w.dim(1)};
    if (c.inputs[2].shape != want) {
      return ShapeError(
          c, absl::StrCat("expected bias shape ", want.ToString(), " (the kernel's units), got ",
                          c.inputs[2].shape.ToString()));
    }
  }
  return std::vector<TensorType>{{c.inputs[0].dtype, WithLastDim(x, w.dim(1))}};
}

// (dy, w) -> dx
absl::StatusOr<std::vector<TensorType>> InferBackwardData(const ShapeContext& c, const NoAttrs&) {
  if (absl::Status s = ExpectRows(c, 0, "dy"); !s.ok()) return s;
  if (absl::Status s = ExpectKernel(c, 1); !s.ok()) return s;
  const Shape& dy = c.inputs[0].shape;
  const Shape& w = c.inputs[1].shape;
  if (dy.dim(-1) != w.dim(1)) {
    return ShapeError(c, absl::StrCat("expected dy last dimension ", w.dim(1),
                                      " (the kernel's units), got ", dy.dim(-1), " (dy shape ",
                                      dy.ToString(), ", kernel shape ", w.ToString(), ")"));
  }
  return std::vector<TensorType>{{c.inputs[0].dtype, WithLastDim(dy, w.dim(0))}};
}

// (x, dy) -> (dw, db)
absl::StatusOr<std::vector<TensorType>> InferBackwardWeights(const ShapeContext& c,
                                                             const NoAttrs&) {
  if (absl::Status s = ExpectRows(c, 0, "an input"); !s.ok()) return s;
  if (absl::Status s = ExpectRows(c, 1, "dy"); !s.ok()) return s;
  if (absl::Status s = SameDType(c, 1, "dy"); !s.ok()) return s;
  const Shape& x = c.inputs[0].shape;
  const Shape& dy = c.inputs[1].shape;
  bool rows_match = x.rank() == dy.rank();
  for (int i = 0; rows_match && i + 1 < x.rank(); ++i) {
    // An unknown batch on either side is resolved when the plan is compiled.
    rows_match = x.dim(i) == dy.dim(i) || x.dim(i) < 0 || dy.dim(i) < 0;
  }
  if (!rows_match) {
    return ShapeError(c, absl::StrCat("the leading dimensions of the input and dy must match, "
                                      "got input shape ",
                                      x.ToString(), " and dy shape ", dy.ToString()));
  }
  const DType t = c.inputs[0].dtype;
  return std::vector<TensorType>{{t, Shape{x.dim(-1), dy.dim(-1)}}, {t, Shape{dy.dim(-1)}}};
}

// ---- oneDNN kernels -------------------------------------------------------------------------

// One matmul dst(M, N) = src(M, K) @ weights(K, N) [+ bias(1, N)] over plain buffers; the
// descriptors carry any transpose. The primitive and its arguments are created once at Init;
// Run only re-points them at the tensors. Skips everything when the product is empty.
class MatMul {
 public:
  // A plain matrix operand: its logical dims and how they lie in memory (`ab` row-major, `ba`
  // the transpose of a row-major buffer).
  struct Operand {
    on::dims dims;
    on::tag layout = on::tag::ab;
  };
  // The bias, when asked for, is a (1, N) row added to every row of dst. `bf16` (mixed
  // precision): src and weights are rounded to bf16 copies (same layouts) and multiplied in
  // bf16 with f32 accumulation, where oneDNN has an optimised bf16 matmul; dst stays f32.
  absl::Status Init(const Operand& src, const Operand& weights, const Operand& dst, bool bias,
                    const std::vector<PostOp>& post_ops = {}, bool bf16 = false) {
    has_bias_ = bias;
    return on::Call([&] {
      src_ = on::Desc(src.dims, src.layout);
      weights_ = on::Desc(weights.dims, weights.layout);
      dst_ = on::Desc(dst.dims, dst.layout);
      if (has_bias_) bias_ = on::Desc({1, dst.dims[1]}, on::tag::ab);
      empty_ = dst_.get_size() == 0 || src_.get_size() == 0;
      if (empty_) return;
      const dnnl::primitive_attr attr = on::PostOpsAttr(post_ops);
      auto make = [&](bool low) {
        const dnnl::memory::desc a(src.dims, on::ComputeType(low), src.layout);
        const dnnl::memory::desc b(weights.dims, on::ComputeType(low), weights.layout);
        auto d = has_bias_ ? dnnl::matmul::desc(a, b, bias_, dst_) : dnnl::matmul::desc(a, b, dst_);
        return dnnl::matmul::primitive_desc(d, attr, on::Engine());
      };
      std::optional<dnnl::matmul::primitive_desc> pd;
      if (bf16) pd = on::TryOptimised([&] { return make(true); });  // else f32
      bf16_ = pd.has_value();
      if (!pd.has_value()) pd = make(false);
      prim_ = dnnl::matmul(*pd);
      src_in_.Init(src_, pd->src_desc(), args_, DNNL_ARG_SRC);
      weights_in_.Init(weights_, pd->weights_desc(), args_, DNNL_ARG_WEIGHTS);
      dst_slot_ = args_.Add(DNNL_ARG_DST, dst_);
      if (has_bias_) bias_slot_ = args_.Add(DNNL_ARG_BIAS, bias_);
    });
  }
  // Runs the primitive. When the product is empty, dst is the empty sum: zeros, plus the bias
  // in every row (a Dense layer with zero in-features).
  absl::Status Run(const Tensor& src, const Tensor& weights, const Tensor* bias, Tensor& dst) {
    if (empty_) {
      if (dst.nbytes() > 0) std::memset(dst.raw_data(), 0, dst.nbytes());
      if (has_bias_ && dst.num_elements() > 0) {
        const int64_t n = bias->num_elements();
        for (int64_t r = 0; r < dst.num_elements() / n; ++r) {
          std::memcpy(dst.data<float>() + r * n, bias->raw_data(), n * sizeof(float));
        }
      }
      return absl::OkStatus();
    }
    return on::Call([&] {
      src_in_.In(args_, src);
      weights_in_.In(args_, weights);
      args_.Bind(dst_slot_, dst);
      if (has_bias_) args_.Bind(bias_slot_, *bias);
      args_.Execute(prim_);
    });
  }

  bool bf16() const { return bf16_; }

 private:
  dnnl::memory::desc src_, weights_, bias_, dst_;
  dnnl::primitive prim_;
  on::Args args_;                         // built once at Init (none when the product is empty)
  on::LayoutBridge src_in_, weights_in_;  // the f32 tensors, or bf16 copies of them
  int dst_slot_ = -1, bias_slot_ = -1;
  bool has_bias_ = false;
  bool empty_ = false;
  bool bf16_ = false;
};

class OneDnnDense : public on::OneDnnKernel {
 public:
  KernelTraits Traits() const override { return {.accepts_post_ops = true}; }
  absl::Status Init(const KernelInitContext& c) override {
    const Shape& x = c.input_types[0].shape;
    const int64_t m = Rows(x), k = x.dim(-1), n = c.input_types[1].shape.dim(1);
    has_bias_ = c.input_types.size() == 3;
    return matmul_.Init({{m, k}}, {{k, n}}, {{m, n}}, has_bias_, c.post_ops, c.bf16);
  }
  absl::Status Run(KernelRunContext& ctx) override {
    return matmul_.Run(ctx.input(0), ctx.input(1), has_bias_ ? &ctx.input(2) : nullptr,
                       ctx.output(0));
  }

  absl::string_view Variant() const override { return matmul_.bf16() ? "bf16" : ""; }

 private:
  MatMul matmul_;
  bool has_bias_ = false;
};

// dx(M, K) = dy(M, N) @ w^T: w is stored (K, N) row-major, which is the (N, K) matrix w^T in
// column-major order, i.e. dims {N, K} with tag `ba`.
class OneDnnDenseBackwardData : public on::OneDnnKernel {
 public:
  absl::Status Init(const KernelInitContext& c) override {
    const Shape& w = c.input_types[1].shape;
    const int64_t m = Rows(c.input_types[0].shape), k = w.dim(0), n = w.dim(1);
    return matmul_.Init({{m, n}}, {{n, k}, on::tag::ba}, {{m, k}}, false, {}, c.bf16);
  }
  absl::Status Run(KernelRunContext& ctx) override {
    return matmul_.Run(ctx.input(0), ctx.input(1), nullptr, ctx.output(0));
  }

  absl::string_view Variant() const override { return matmul_.bf16() ? "bf16" : ""; }

 private:
  MatMul matmul_;
};

// db[n] = sum_m dy[m, n]. Columns are split into blocks across TBB workers; inside a block the
// rows are visited in order (contiguous reads), so each column is summed in row order.
template <typename T>
void ColumnSums(const T* dy, int64_t m, int64_t n, T* db, bool parallel) {
  const int64_t grain = std::max<int64_t>(16, (int64_t{1} << 14) / std::max<int64_t>(m, 1));
  ForRange(
      parallel, n,
      [&](int64_t begin, int64_t end) {
        std::vector<double> acc(end - begin, 0.0);
        for (int64_t r = 0; r < m; ++r) {
          const T* row = dy + r * n;
          for (int64_t j = begin; j < end; ++j) acc[j - begin] += row[j];
        }
        for (int64_t j = begin; j < end; ++j) db[j] = static_cast<T>(acc[j - begin]);
      },
      grain);
}

// dw(K, N) = x^T @ dy: x is stored (M, K) row-major = x^T (K, M) with tag `ba`.
class OneDnnDenseBackwardWeights : public on::OneDnnKernel {
 public:
  absl::Status Init(const KernelInitContext& c) override {
    const Shape& x = c.input_types[0].shape;
    m_ = Rows(x);
    n_ = c.input_types[1].shape.dim(-1);
    const int64_t k = x.dim(-1);
    return matmul_.Init({{k, m_}, on::tag::ba}, {{m_, n_}}, {{k, n_}}, false, {}, c.bf16);
  }
  absl::Status Run(KernelRunContext& ctx) override {
    if (absl::Status s = matmul_.Run(ctx.input(0), ctx.input(1), nullptr, ctx.output(0)); !s.ok()) {
      return s;
    }
    ColumnSums(ctx.input(1).data<float>(), m_, n_, ctx.output(1).data<float>(), true);
    return absl::OkStatus();
  }

  absl::string_view Variant() const override { return matmul_.bf16() ? "bf16" : ""; }

 private:
  MatMul matmul_;
  int64_t m_ = 0, n_ = 0;
};

// ---- reference kernels ----------------------------------------------------------------------

template <typename T>
class RefDense : public Kernel {
 public:
  absl::Status Run(KernelRunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const int64_t m = Rows(x.shape()), k = x.shape().dim(-1);
    const int64_t n = ctx.input(1).shape().dim(1);
    const T* xp = x.data<T>();
    const T* w = ctx.input(1).data<T>();
    const T* b = ctx.num_inputs() == 3 ? ctx.input(2).data<T>() : nullptr;
    T* y = ctx.output(0).data<T>();
    std::vector<double> acc(n);
    for (int64_t r = 0; r < m; ++r) {
      for (int64_t j = 0; j < n; ++j) acc[j] = b ? static_cast<double>(b[j]) : 0.0;
      for (int64_t i = 0; i < k; ++i) {
        const double xv = xp[r * k + i];
        for (int64_t j = 0; j < n; ++j) acc[j] += xv * w[i * n + j];
      }
      for (int64_t j = 0; j < n; ++j) y[r * n + j] = static_cast<T>(acc[j]);
    }
    return absl::OkStatus();
  }
};

template <typename T>
class RefDenseBackwardData : public Kernel {  // (dy, w) -> dx
 public:
  absl::Status Run(KernelRunContext& ctx) override {
    const Tensor& dy = ctx.input(0);
    const int64_t m = Rows(dy.shape());
    const int64_t k = ctx.input(1).shape().dim(0), n = ctx.input(1).shape().dim(1);
    const T* g = dy.data<T>();
    const T* w = ctx.input(1).data<T>();
    T* dx = ctx.output(0).data<T>();
    for (int64_t r = 0; r < m; ++r) {
      for (int64_t i = 0; i < k; ++i) {
        double acc = 0;
        for (int64_t j = 0; j < n; ++j) acc += static_cast<double>(g[r * n + j]) * w[i * n + j];
        dx[r * k + i] = static_cast<T>(acc);
      }
    }
    return absl::OkStatus();
  }
};

template <typename T>
class RefDenseBackwardWeights : public Kernel {  // (x, dy) -> (dw, db)
 public:
  absl::Status Run(KernelRunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const int64_t m = Rows(x.shape()), k = x.shape().dim(-1);
    const int64_t n = ctx.input(1).shape().dim(-1);
    const T* xp = x.data<T>();
    const T* g = ctx.input(1).data<T>();
    std::vector<double> dw(k * n, 0.0), db(n, 0.0);
    for (int64_t r = 0; r < m; ++r) {
      for (int64_t i = 0; i < k; ++i) {
        const double xv = xp[r * k + i];
        for (int64_t j = 0; j < n; ++j) dw[i * n + j] += xv * g[r * n + j];
      }
      for (int64_t j = 0; j < n; ++j) db[j] += g[r * n + j];
    }
    std::copy(dw.begin(), dw.end(), ctx.output(0).data<T>());
    std::copy(db.begin(), db.end(), ctx.output(1).data<T>());
    return absl::OkStatus();
  }
};

// ---- gradient rules -------------------------------------------------------------------------

// Dense(x, w, b?): dx from DenseBackwardData only when x needs it; dw and db from one
// DenseBackwardWeights node when either does.
GradResult GradDense(GradContext& g) {
  const Value dy = *g.output_grad(0);
  const bool has_bias = g.num_inputs() == 3;
  Grads out(g.num_inputs());
  if (g.needs_input_grad(0)) {
    absl::StatusOr<Value> dx = g.graph().Add("graft.DenseBackwardData", {dy, g.input(1)});
    if (!dx.ok()) return dx.status();
    out[0] = *dx;
  }
  if (g.needs_input_grad(1) || (has_bias && g.needs_input_grad(2))) {
    absl::StatusOr<std::vector<Value>> dwb =
        g.graph().AddNode("graft.DenseBackwardWeights", {g.input(0), dy});
    if (!dwb.ok()) return dwb.status();
    if (g.needs_input_grad(1)) out[1] = (*dwb)[0];
    if (has_bias && g.needs_input_grad(2)) out[2] = (*dwb)[1];
  }
  return out;
}

// DenseBackwardData(dy, w) = dy @ w^T: d(dy) = Dense(ddx, w), d(w) = DenseBackwardWeights(ddx,
// dy).dw.
GradResult GradDenseBackwardData(GradContext& g) {
  const Value ddx = *g.output_grad(0);
  Grads out(2);
  if (g.needs_input_grad(0)) {
    absl::StatusOr<Value> d = g.graph().Add("graft.Dense", {ddx, g.input(1)});
    if (!d.ok()) return d.status();
    out[0] = *d;
  }
  if (g.needs_input_grad(1)) {
    absl::StatusOr<std::vector<Value>> d =
        g.graph().AddNode("graft.DenseBackwardWeights", {ddx, g.input(0)});
    if (!d.ok()) return d.status();
    out[1] = (*d)[0];
  }
  return out;
}

// DenseBackwardWeights(x, dy) = (x^T @ dy, 1^T dy): d(x) = dy @ ddw^T = DenseBackwardData(dy,
// ddw); d(dy) = x @ ddw + ddb = Dense(x, ddw, ddb), with zeros for whichever is absent.
GradResult GradDenseBackwardWeights(GradContext& g) {
  const std::optional<Value>& ddw = g.output_grad(0);
  const std::optional<Value>& ddb = g.output_grad(1);
  Grads out(2);
  if (g.needs_input_grad(0) && ddw.has_value()) {
    absl::StatusOr<Value> d = g.graph().Add("graft.DenseBackwardData", {g.input(1), *ddw});
    if (!d.ok()) return d.status();
    out[0] = *d;
  }
  if (g.needs_input_grad(1)) {
    Value w;
    if (ddw.has_value()) {
      w = *ddw;
    } else {
      absl::StatusOr<Value> z = g.graph().Add(kZerosLikeOp, {g.output(0)});
      if (!z.ok()) return z.status();
      w = *z;
    }
    std::vector<Value> in = {g.input(0), w};
    if (ddb.has_value()) in.push_back(*ddb);
    absl::StatusOr<Value> d = g.graph().Add("graft.Dense", in);
    if (!d.ok()) return d.status();
    out[1] = *d;
  }
  return out;
}

// ---- registration ---------------------------------------------------------------------------

GRAFT_REGISTER_OP(OpDef<NoAttrs>("graft.Dense")
                      .Doc("y = x @ w + b on the last axis; w (in, out), b (out) optional")
                      .Inputs({"x", "w", "b?"})
                      .Outputs({"y"})
                      .Shape(InferDense)
                      .Kernel<OneDnnDense>(DType::kF32)
                      .Reference<RefDense>()
                      .Grad(GradDense));
GRAFT_REGISTER_OP(OpDef<NoAttrs>("graft.DenseBackwardData")
                      .Doc("dx = dy @ w^T on the last axis")
                      .Inputs({"dy", "w"})
                      .Outputs({"dx"})
                      .Shape(InferBackwardData)
                      .Kernel<OneDnnDenseBackwardData>(DType::kF32)
                      .Reference<RefDenseBackwardData>()
                      .Grad(GradDenseBackwardData));
GRAFT_REGISTER_OP(OpDef<NoAttrs>("graft.DenseBackwardWeights")
                      .Doc("dw = x^T @ dy, db = column sums of dy (rows = leading dims)")
                      .Inputs({"x", "dy"})
                      .Outputs({"dw", "db"})
                      .Shape(InferBackwardWeights)
                      .Kernel<OneDnnDenseBackwardWeights>(DType::kF32)
                      .Reference<RefDenseBackwardWeights>()
                      .Grad(GradDenseBackwardWeights));

}  // namespace

absl::StatusOr<Value> Dense(Graph& g, Value x, Value w, std::optional<Value> b,
                            absl::string_view name) {
  std::vector<Value> inputs = {x, w};
  if (b.has_value()) inputs.push_back(*b);
  return g.Add("graft.Dense", std::move(inputs), NoAttrs{}, name);
}

}  // namespace graft::ops
