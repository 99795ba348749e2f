// ops/reshape.cc — Reshape (and Flatten, built on it), Keras semantics.
//   Reshape(x; target): (N, d1, ..., dk) -> (N, t1, ..., tj), the batch dimension N kept,
//     y's flat row-major buffer equal to x's: y.flat[i] = x.flat[i].
//     prod(d) must equal prod(t); one t may be -1, inferred as prod(d) / prod(known t).
//   Flatten(x) = Reshape(x; (-1,)): (N, d1, ..., dk) -> (N, d1*...*dk), so channels-last
//     (N, H, W, C) flattens in (H, W, C) order, as Keras; (N,) -> (N, 1).
//   Gradient: dx = Reshape(dy; (d1, ..., dk)) — a reshape back to x's per-sample shape. It
//     needs no data of x, so the forward input need not stay alive for the backward pass.
// Kernels copy the buffer (memcpy) for every dtype; the reference kernel is a typed copy.
#include "ops/reshape.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_join.h"
#include "ops/common.h"

namespace graft::ops {
namespace {

// A Python-style tuple: "(3, 7)", "(21,)", "()".
std::string Tuple(const std::vector<int64_t>& v) {
  if (v.size() == 1) return absl::StrCat("(", v[0], ",)");
  return absl::StrCat("(", absl::StrJoin(v, ", "), ")");
}

absl::StatusOr<std::vector<TensorType>> InferReshape(const ShapeContext& c, const ReshapeAttrs& a) {
  const Shape& s = c.inputs[0].shape;
  if (s.rank() < 1) {
    return ShapeError(c, "expected an input with a batch dimension, got a scalar ()");
  }
  int64_t per_sample = 1;
  for (int i = 1; i < s.rank(); ++i) {
    if (s.dim(i) < 0) {
      return ShapeError(c, absl::StrCat("only the batch dimension may be unknown, got input shape ",
                                        s.ToString()));
    }
    if (__builtin_mul_overflow(per_sample, s.dim(i), &per_sample)) {
      return ShapeError(c, absl::StrCat("input shape ", s.ToString(),
                                        " has more than 2^63 - 1 values per sample"));
    }
  }
  int inferred = -1;
  int64_t known = 1;
  for (int i = 0; i < static_cast<int>(a.target.size()); ++i) {
    const int64_t t = a.target[i];
    if (t == -1) {
      if (inferred >= 0) {
        return ShapeError(
            c, absl::StrCat("at most one target dimension may be -1, got ", Tuple(a.target)));
      }
      inferred = i;
    } else if (t <= 0) {
      return ShapeError(c, absl::StrCat("target dimensions must be positive (or -1 for one "
                                        "inferred dimension), got ",
                                        Tuple(a.target)));
    } else if (__builtin_mul_overflow(known, t, &known)) {
      return ShapeError(c, absl::StrCat("target shape ", Tuple(a.target),
                                        " has more than 2^63 - 1 values per sample"));
    }
  }
  std::vector<int64_t> out = {s.dim(0)};
  out.insert(out.end(), a.target.begin(), a.target.end());
  if (inferred >= 0) {
    if (per_sample % known != 0) {
      return ShapeError(c, absl::StrCat("cannot reshape ", s.ToString(), " (", per_sample,
                                        " values per sample) to ", Tuple(a.target), ": ",
                                        per_sample, " is not divisible by ", known));
    }
    out[inferred + 1] = per_sample / known;
  } else if (known != per_sample) {
    return ShapeError(c, absl::StrCat("cannot reshape ", s.ToString(), " (", per_sample,
                                      " values per sample) to ", Tuple(a.target), " (", known,
                                      " values per sample)"));
  }
  return std::vector<TensorType>{{c.inputs[0].dtype, Shape(std::move(out))}};
}

// The fast kernel: one memcpy, whatever the dtype.
class CopyKernel : public Kernel {
 public:
  absl::Status Run(KernelRunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    if (x.raw_data() != y.raw_data() && x.nbytes() > 0) {
      std::memcpy(y.raw_data(), x.raw_data(), x.nbytes());
    }
    return absl::OkStatus();
  }
};

template <typename T>
class RefReshape : public Kernel {
 public:
  absl::Status Run(KernelRunContext& ctx) override {
    const T* x = ctx.input(0).data<T>();
    T* y = ctx.output(0).data<T>();
    if (x != y) std::copy(x, x + ctx.input(0).num_elements(), y);
    return absl::OkStatus();
  }
};

GradResult GradReshape(GradContext& g) {
  const std::vector<int64_t>& dims = g.graph().type(g.input(0)).shape.dims();
  ReshapeAttrs back{std::vector<int64_t>(dims.begin() + 1, dims.end())};
  absl::StatusOr<Value> dx = g.graph().Add("graft.Reshape", {*g.output_grad(0)}, std::move(back));
  if (!dx.ok()) return dx.status();
  return Grads{*dx};
}

// Reshape moves bytes, so it serves integer tensors (labels) too: the copy kernel is both the
// fast and the reference kernel for the integer dtypes.
OpSchema WithIntegerKernels(OpDef<ReshapeAttrs>& def) {
  OpSchema schema = std::move(def).Build();
  for (DType t : {DType::kI32, DType::kI64}) {
    schema.fast_kernels[t] = [] { return std::unique_ptr<Kernel>(new CopyKernel()); };
    schema.reference_kernels[t] = schema.fast_kernels[t];
  }
  return schema;
}

GRAFT_REGISTER_OP(WithIntegerKernels(
    OpDef<ReshapeAttrs>("graft.Reshape")
        .Doc("y = x with per-sample shape `target` (batch kept; one -1 inferred); row-major")
        .Inputs({"x"})
        .Outputs({"y"})
        .Alias(0, 0)  // a view of x's bytes: no copy when the plan places both in its arena
        .Shape(InferReshape)
        .PrintAttrs([](const ReshapeAttrs& a) { return absl::StrCat("target=", Tuple(a.target)); })
        .Kernel<CopyKernel>(DType::kF32)
        .Kernel<CopyKernel>(DType::kF64)
        .Reference<RefReshape>()
        .Grad(GradReshape)));

}  // namespace

absl::StatusOr<Value> Flatten(Graph& g, Value x, absl::string_view name) {
  return g.Add("graft.Reshape", {x}, ReshapeAttrs{{-1}}, name.empty() ? "Flatten" : name);
}

absl::StatusOr<Value> Reshape(Graph& g, Value x, std::vector<int64_t> target,
                              absl::string_view name) {
  return g.Add("graft.Reshape", {x}, ReshapeAttrs{std::move(target)}, name);
}

}  // namespace graft::ops
