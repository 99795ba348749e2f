// ops/elementwise.cc — small elementwise ops and reductions that autodiff and losses build on.
//   OnesLike(x) = 1,  ZerosLike(x) = 0                      (shape and dtype of x)
//   Add(a, b)   = a + b,  Mul(a, b) = a * b                  (same shapes; no broadcasting)
//   ReduceSum(x) = sum_i x_i                                 (a scalar)
//   BroadcastLike(s, x) = s everywhere, shape of x           (s a scalar)
//   Scale(x) = alpha * x                                     (alpha an attribute)
// Gradients: dAdd = (dy, dy); dMul = (dy*b, dy*a); dReduceSum = BroadcastLike(dy, x);
// dBroadcastLike = (ReduceSum(dy), none); dScale = Scale(dy).
// These are the core ops (ops/core.h, //ops:core): autodiff and the gradient checker emit them.
#include "ops/elementwise.h"

#include "ops/common.h"
#include "ops/core.h"

namespace graft::ops {
namespace {

absl::StatusOr<std::vector<TensorType>> SameShapes(const ShapeContext& c) {
  if (c.inputs[0].dtype != c.inputs[1].dtype || c.inputs[0].shape != c.inputs[1].shape) {
    return ShapeError(c, absl::StrCat("inputs must have equal types, got ", c.inputs[0].ToString(),
                                      " and ", c.inputs[1].ToString()));
  }
  return SameAs(c, 0);
}

struct OnesBody {
  template <typename T>
  static void Run(const KernelRunContext& ctx, int64_t b, int64_t e) {
    T* y = ctx.output(0).data<T>();
    for (int64_t i = b; i < e; ++i) y[i] = T(1);
  }
};
struct ZerosBody {
  template <typename T>
  static void Run(const KernelRunContext& ctx, int64_t b, int64_t e) {
    T* y = ctx.output(0).data<T>();
    for (int64_t i = b; i < e; ++i) y[i] = T(0);
  }
};
struct AddBody {
  template <typename T>
  static void Run(const KernelRunContext& ctx, int64_t b, int64_t e) {
    const T* x0 = ctx.input(0).data<T>();
    const T* x1 = ctx.input(1).data<T>();
    T* y = ctx.output(0).data<T>();
    for (int64_t i = b; i < e; ++i) y[i] = x0[i] + x1[i];
  }
};
struct MulBody {
  template <typename T>
  static void Run(const KernelRunContext& ctx, int64_t b, int64_t e) {
    const T* x0 = ctx.input(0).data<T>();
    const T* x1 = ctx.input(1).data<T>();
    T* y = ctx.output(0).data<T>();
    for (int64_t i = b; i < e; ++i) y[i] = x0[i] * x1[i];
  }
};
struct BroadcastBody {
  template <typename T>
  static void Run(const KernelRunContext& ctx, int64_t b, int64_t e) {
    const T s = ctx.input(0).data<T>()[0];
    T* y = ctx.output(0).data<T>();
    for (int64_t i = b; i < e; ++i) y[i] = s;
  }
};

// A sum in a fixed order (serial, double accumulator): deterministic whatever the threads.
template <typename T>
class ReduceSumKernel : public Kernel {
 public:
  absl::Status Run(KernelRunContext& ctx) override {
    const T* x = ctx.input(0).data<T>();
    double acc = 0;
    for (int64_t i = 0; i < ctx.input(0).num_elements(); ++i) acc += x[i];
    ctx.output(0).data<T>()[0] = static_cast<T>(acc);
    return absl::OkStatus();
  }
};

template <typename T, bool kParallel>
class ScaleKernel : public Kernel {
 public:
  absl::Status Init(const KernelInitContext& c) override {
    alpha_ = static_cast<T>(c.attrs<ScaleAttrs>().alpha);
    return absl::OkStatus();
  }
  absl::Status Run(KernelRunContext& ctx) override {
    const T* x = ctx.input(0).data<T>();
    T* y = ctx.output(0).data<T>();
    ForRange(kParallel, ctx.output(0).num_elements(), [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) y[i] = alpha_ * x[i];
    });
    return absl::OkStatus();
  }

 private:
  T alpha_ = 1;
};
template <typename T>
using ScaleRef = ScaleKernel<T, false>;

GRAFT_REGISTER_OP(OpDef<NoAttrs>(kOnesLikeOp)
                      .Doc("y = 1 with the type of x")
                      .Inputs({"x"})
                      .Outputs({"y"})
                      .Shape([](const ShapeContext& c, const NoAttrs&) { return SameAs(c, 0); })
                      .Kernel<Loops<OnesBody>::FastF32>(DType::kF32)
                      .Reference<Loops<OnesBody>::Reference>());

GRAFT_REGISTER_OP(OpDef<NoAttrs>(kZerosLikeOp)
                      .Doc("y = 0 with the type of x")
                      .Inputs({"x"})
                      .Outputs({"y"})
                      .Shape([](const ShapeContext& c, const NoAttrs&) { return SameAs(c, 0); })
                      .Kernel<Loops<ZerosBody>::FastF32>(DType::kF32)
                      .Reference<Loops<ZerosBody>::Reference>());

GRAFT_REGISTER_OP(OpDef<NoAttrs>(kAddOp)
                      .Doc("y = a + b (equal shapes)")
                      .Inputs({"a", "b"})
                      .Outputs({"y"})
                      .InPlace(0, 0)
                      .Shape([](const ShapeContext& c, const NoAttrs&) { return SameShapes(c); })
                      .Kernel<Loops<AddBody>::FastF32>(DType::kF32)
                      .Reference<Loops<AddBody>::Reference>()
                      .Grad([](GradContext& g) -> GradResult {
                        Value dy = *g.output_grad(0);
                        return Grads{dy, dy};
                      }));

GRAFT_REGISTER_OP(OpDef<NoAttrs>(kMulOp)
                      .Doc("y = a * b (equal shapes)")
                      .Inputs({"a", "b"})
                      .Outputs({"y"})
                      .Shape([](const ShapeContext& c, const NoAttrs&) { return SameShapes(c); })
                      .Kernel<Loops<MulBody>::FastF32>(DType::kF32)
                      .Reference<Loops<MulBody>::Reference>()
                      .Grad([](GradContext& g) -> GradResult {
                        Value dy = *g.output_grad(0);
                        Grads out(2);
                        if (g.needs_input_grad(0)) {
                          absl::StatusOr<Value> da = g.graph().Add(kMulOp, {dy, g.input(1)});
                          if (!da.ok()) return da.status();
                          out[0] = *da;
                        }
                        if (g.needs_input_grad(1)) {
                          absl::StatusOr<Value> db = g.graph().Add(kMulOp, {dy, g.input(0)});
                          if (!db.ok()) return db.status();
                          out[1] = *db;
                        }
                        return out;
                      }));

GRAFT_REGISTER_OP(OpDef<NoAttrs>(kReduceSumOp)
                      .Doc("y = sum of all elements of x (a scalar)")
                      .Inputs({"x"})
                      .Outputs({"y"})
                      .Shape([](const ShapeContext& c,
                                const NoAttrs&) -> absl::StatusOr<std::vector<TensorType>> {
                        if (absl::Status s = ExpectFloat(c, 0); !s.ok()) return s;
                        return std::vector<TensorType>{{c.inputs[0].dtype, Shape{}}};
                      })
                      .Kernel<ReduceSumKernel<float>>(DType::kF32)
                      .Reference<ReduceSumKernel>()
                      .Grad([](GradContext& g) -> GradResult {
                        absl::StatusOr<Value> dx =
                            g.graph().Add(kBroadcastLikeOp, {*g.output_grad(0), g.input(0)});
                        if (!dx.ok()) return dx.status();
                        return Grads{*dx};
                      }));

GRAFT_REGISTER_OP(OpDef<NoAttrs>(kBroadcastLikeOp)
                      .Doc("y = s (a scalar) at every position of x's shape")
                      .Inputs({"s", "x"})
                      .Outputs({"y"})
                      .Shape([](const ShapeContext& c,
                                const NoAttrs&) -> absl::StatusOr<std::vector<TensorType>> {
                        if (c.inputs[0].shape.rank() != 0) {
                          return ShapeError(
                              c, "s must be a scalar, got " + c.inputs[0].shape.ToString());
                        }
                        return std::vector<TensorType>{{c.inputs[0].dtype, c.inputs[1].shape}};
                      })
                      .Kernel<Loops<BroadcastBody>::FastF32>(DType::kF32)
                      .Reference<Loops<BroadcastBody>::Reference>()
                      .Grad([](GradContext& g) -> GradResult {
                        absl::StatusOr<Value> ds = g.graph().Add(kReduceSumOp, {*g.output_grad(0)});
                        if (!ds.ok()) return ds.status();
                        return Grads{*ds, std::nullopt};
                      }));

GRAFT_REGISTER_OP(OpDef<ScaleAttrs>(kScaleOp)
                      .Doc("y = alpha * x")
                      .Inputs({"x"})
                      .Outputs({"y"})
                      .Shape([](const ShapeContext& c, const ScaleAttrs&) { return SameAs(c, 0); })
                      .PrintAttrs([](const ScaleAttrs& a) {
                        return absl::StrCat("alpha=", a.alpha);
                      })
                      .Kernel<ScaleKernel<float, true>>(DType::kF32)
                      .Reference<ScaleRef>()
                      .Grad([](GradContext& g) -> GradResult {
                        absl::StatusOr<Value> dx =
                            g.graph().Add(kScaleOp, {*g.output_grad(0)}, g.attrs<ScaleAttrs>());
                        if (!dx.ok()) return dx.status();
                        return Grads{*dx};
                      }));

}  // namespace

absl::StatusOr<Value> Add(Graph& g, Value a, Value b, absl::string_view name) {
  return g.Add("graft.Add", {a, b}, NoAttrs{}, name);
}

absl::StatusOr<Value> Multiply(Graph& g, Value a, Value b, absl::string_view name) {
  return g.Add("graft.Mul", {a, b}, NoAttrs{}, name);
}

absl::StatusOr<Value> Scale(Graph& g, Value x, double alpha, absl::string_view name) {
  return g.Add("graft.Scale", {x}, ScaleAttrs{alpha}, name);
}

absl::StatusOr<Value> ReduceSum(Graph& g, Value x, absl::string_view name) {
  return g.Add("graft.ReduceSum", {x}, {}, name);
}

absl::StatusOr<Value> BroadcastLike(Graph& g, Value s, Value like, absl::string_view name) {
  return g.Add("graft.BroadcastLike", {s, like}, {}, name);
}

}  // namespace graft::ops
