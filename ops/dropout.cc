// ops/dropout.cc — Dropout (inverted, as Keras), training only.
//   mask_i = [u_i >= rate] * s,  s = 1 / (1 - rate)  (s = 0 when rate = 1: everything dropped)
//   y_i    = x_i * mask_i
//   dx_i   = dy_i * mask_i          (graft.Mul with the hidden mask output; step: none)
// u_i is a counter-based uniform in [0, 1): element i of the SplitMix64 stream keyed by
// (seed, step), u_i = top 53 bits of Mix(key + (i + 1) * gamma) / 2^53. Each element depends
// only on (seed, step, i), so the mask is the same for any thread count or split, and the fast
// kernel (TBB loop) and the reference kernel (serial loop) agree bitwise. A new step (the
// trainer's iteration count) gives a new mask. With the optional row_offset input r, element i
// of x is element r * (elements per row) + i of the stream: rows [r, r + n) of a batch run as a
// chunk of their own (a train step in chunks, keras/chunked_train.h) draw the mask they would
// have drawn in the whole batch.
#include "ops/dropout.h"

#include <cmath>
#include <string>

#include "ops/common.h"
#include "ops/core.h"

namespace graft::ops {
namespace {

enum DropoutInput { kX = 0, kStep, kRowOffset };

// ---- the counter-based generator ------------------------------------------------------------

constexpr uint64_t kGamma = 0x9e3779b97f4a7c15ULL;  // SplitMix64's increment (golden ratio)

// SplitMix64's output function (a bijection of 64-bit words).
constexpr uint64_t Mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// The stream key of one (seed, step): distinct steps give distinct keys for a seed.
constexpr uint64_t StreamKey(uint64_t seed, uint64_t step) {
  return Mix(Mix(seed + kGamma) + step * kGamma);
}

// u_i in [0, 1) with 53 random bits.
inline double Uniform(uint64_t key, uint64_t i) {
  return static_cast<double>(Mix(key + (i + 1) * kGamma) >> 11) * 0x1.0p-53;
}

// The fast kernel's elements [b, e): u_i >= rate compared on the integers (see Run), in vectors
// (GRAFT_VECTOR_CLONES): M3's Dropout (51,200 elements at batch 32) took 298 us a step scalar.
template <typename T>
GRAFT_VECTOR_CLONES void DropoutRange(uint64_t key, uint64_t threshold, T scale,
                                      const T* __restrict x, T* __restrict y, T* __restrict mask,
                                      uint64_t first, int64_t b, int64_t e) {
  for (int64_t i = b; i < e; ++i) {
    const uint64_t m = Mix(key + (first + static_cast<uint64_t>(i) + 1) * kGamma) >> 11;
    const T k = m >= threshold ? scale : T(0);
    mask[i] = k;
    y[i] = x[i] * k;
  }
}

// ---- shape function -------------------------------------------------------------------------

std::string Describe(const DropoutAttrs& a) {
  return absl::StrCat("rate=", a.rate, ", seed=", a.seed);
}

absl::StatusOr<std::vector<TensorType>> InferDropout(const ShapeContext& c, const DropoutAttrs& a) {
  if (!(a.rate >= 0 && a.rate <= 1)) {
    return ShapeError(c, absl::StrCat("Invalid value received for argument `rate`. Expected a "
                                      "float value between 0 and 1. Received: rate=",
                                      a.rate));
  }
  if (absl::Status s = ExpectFloat(c, kX); !s.ok()) return s;
  const TensorType& step = c.inputs[kStep];
  if (!IsFloating(step.dtype) || step.shape.rank() != 0) {
    return ShapeError(c, absl::StrCat("step must be a float scalar (the iteration count the "
                                      "trainer feeds), got ",
                                      step.ToString()));
  }
  if (c.inputs.size() > kRowOffset) {
    const TensorType& offset = c.inputs[kRowOffset];
    if (!IsFloating(offset.dtype) || offset.shape.rank() != 0 || c.inputs[kX].shape.rank() == 0) {
      return ShapeError(c, absl::StrCat("row_offset must be a float scalar (the first row's index "
                                        "in the whole batch) and x must have a batch dimension, "
                                        "got row_offset ",
                                        offset.ToString(), " and x ", c.inputs[kX].ToString()));
    }
  }
  return std::vector<TensorType>{c.inputs[kX], c.inputs[kX]};
}

// ---- kernels --------------------------------------------------------------------------------

// The fast (kParallel: TBB blocks) and reference kernels run the same per-element arithmetic.
template <typename T, bool kParallel>
class DropoutKernel : public Kernel {
 public:
  absl::Status Init(const KernelInitContext& c) override {
    attrs_ = c.attrs<DropoutAttrs>();
    return absl::OkStatus();
  }
  absl::Status Run(KernelRunContext& ctx) override {
    const double step = ctx.input(kStep).AsDouble(0);
    if (!(step >= 0 && step < 0x1.0p64 && step == std::floor(step))) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Dropout: step must be a non-negative whole number (the iteration count), got ", step));
    }
    const uint64_t key = StreamKey(attrs_.seed, static_cast<uint64_t>(step));
    uint64_t first = 0;  // the stream index of x's first element
    if (ctx.num_inputs() > kRowOffset) {
      const double row = ctx.input(kRowOffset).AsDouble(0);
      if (!(row >= 0 && row < 0x1.0p53 && row == std::floor(row))) {
        return absl::InvalidArgumentError(
            absl::StrCat("Dropout: row_offset must be a non-negative whole number, got ", row));
      }
      const Tensor& xt = ctx.input(kX);
      const int64_t rows = xt.shape().dim(0);
      first = static_cast<uint64_t>(row) *
              static_cast<uint64_t>(rows > 0 ? xt.num_elements() / rows : 0);
    }
    const double rate = attrs_.rate;
    const T scale = rate < 1 ? static_cast<T>(1 / (1 - rate)) : T(0);
    const T* x = ctx.input(kX).data<T>();
    T* y = ctx.output(0).data<T>();
    T* mask = ctx.output(1).data<T>();
    // u_i >= rate, compared on the integers: u_i = m_i / 2^53 exactly (m_i the top 53 bits),
    // so u_i >= rate iff m_i >= ceil(rate * 2^53) (exact in double: a power-of-two scaling).
    // Same mask bits as comparing the doubles (the reference kernel does), without a
    // conversion per element.
    const double bound = std::ceil(rate * 0x1.0p53);
    const uint64_t threshold = static_cast<uint64_t>(bound);
    ForRange(kParallel, ctx.input(kX).num_elements(), [&](int64_t b, int64_t e) {
      if constexpr (kParallel) {
        DropoutRange<T>(key, threshold, scale, x, y, mask, first, b, e);
      } else {
        for (int64_t i = b; i < e; ++i) {
          mask[i] = Uniform(key, first + static_cast<uint64_t>(i)) >= rate ? scale : T(0);
          y[i] = x[i] * mask[i];
        }
      }
    });
    return absl::OkStatus();
  }

 private:
  DropoutAttrs attrs_;
};

template <typename T>
using ReferenceDropout = DropoutKernel<T, false>;

// ---- gradient rule and registration ---------------------------------------------------------

GradResult GradDropout(GradContext& g) {
  Grads grads(g.num_inputs(), std::nullopt);
  if (!g.needs_input_grad(kX)) return grads;
  absl::StatusOr<Value> dx = g.graph().Add(kMulOp, {*g.output_grad(0), g.output(1)});
  if (!dx.ok()) return dx.status();
  grads[kX] = *dx;
  return grads;
}

GRAFT_REGISTER_OP(OpDef<DropoutAttrs>("graft.Dropout")
                      .Doc("y = x * mask, mask = [u >= rate] / (1 - rate), u a counter-based "
                           "uniform of (seed, step, row_offset * row elements + i); dx = dy * "
                           "mask")
                      .Inputs({"x", "step", "row_offset?"})
                      .Outputs({"y", "mask~"})
                      .Shape(InferDropout)
                      .PrintAttrs(Describe)
                      .Kernel<DropoutKernel<float, true>>(DType::kF32)
                      .Reference<ReferenceDropout>()
                      .Grad(GradDropout));

}  // namespace

absl::StatusOr<Value> Dropout(Graph& g, Value x, Value step, const DropoutAttrs& a,
                              absl::string_view name, Value row_offset) {
  std::vector<Value> inputs = {x, step};
  if (row_offset.valid()) inputs.push_back(row_offset);
  absl::StatusOr<std::vector<Value>> outs = g.AddNode("graft.Dropout", inputs, a, name);
  if (!outs.ok()) return outs.status();
  return (*outs)[0];
}

}  // namespace graft::ops
