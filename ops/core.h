// graft — the core ops: the elementwise ops and reductions that the reverse pass
// (autodiff/gradients.h), the gradient checker (autodiff/grad_check.h) and gradient rules emit.
// They are defined in ops/elementwise.cc and linked by //ops:core: code that emits one of them
// names it through these constants and depends on //ops:core, so an op it emits is always
// registered in the program (an op emitted by name alone would be "unknown" in a program that
// happens not to link it).
//
//   OnesLike(x) = 1,  ZerosLike(x) = 0          (shape and dtype of x)
//   Add(a, b) = a + b,  Mul(a, b) = a * b        (equal shapes; no broadcasting)
//   ReduceSum(x) = sum of all elements           (a scalar)
//   BroadcastLike(s, x) = s at every position    (s a scalar; shape of x)
//   Scale(x) = alpha * x                         (ScaleAttrs)
#ifndef GRAFT_OPS_CORE_H_
#define GRAFT_OPS_CORE_H_

namespace graft::ops {

inline constexpr char kOnesLikeOp[] = "graft.OnesLike";
inline constexpr char kZerosLikeOp[] = "graft.ZerosLike";
inline constexpr char kAddOp[] = "graft.Add";
inline constexpr char kMulOp[] = "graft.Mul";
inline constexpr char kReduceSumOp[] = "graft.ReduceSum";
inline constexpr char kBroadcastLikeOp[] = "graft.BroadcastLike";
inline constexpr char kScaleOp[] = "graft.Scale";

// The attributes of graft.Scale.
struct ScaleAttrs {
  double alpha = 1.0;
};

}  // namespace graft::ops

#endif  // GRAFT_OPS_CORE_H_
