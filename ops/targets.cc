#include "ops/targets.h"

#include "absl/strings/str_cat.h"
#include "ops/common.h"

namespace graft::ops {
namespace {

// Equal ranks and equal dimensions where both are known (-1 matches anything).
bool Compatible(const Shape& a, const Shape& b) {
  if (a.rank() != b.rank()) return false;
  for (int i = 0; i < a.rank(); ++i) {
    if (a.dim(i) != b.dim(i) && a.dim(i) != Shape::kUnknownDim && b.dim(i) != Shape::kUnknownDim) {
      return false;
    }
  }
  return true;
}

Shape DropLastAxis(const Shape& s) {
  std::vector<int64_t> dims = s.dims();
  dims.pop_back();
  return Shape(std::move(dims));
}

// y_true and y_pred at inputs t and p: floating, one dtype.
absl::Status CheckDTypes(const ShapeContext& c, int t, int p) {
  if (absl::Status s = ExpectFloat(c, t); !s.ok()) return s;
  if (absl::Status s = ExpectFloat(c, p); !s.ok()) return s;
  if (c.inputs[t].dtype != c.inputs[p].dtype) {
    return ShapeError(
        c, absl::StrCat("y_true (", DTypeName(c.inputs[t].dtype), ") must have y_pred's dtype (",
                        DTypeName(c.inputs[p].dtype), ")"));
  }
  return absl::OkStatus();
}

}  // namespace

// Binary targets: equal shapes, batch first. As Keras's squeeze_or_expand_to_same_rank, an extra
// trailing axis of size 1 on either side is dropped first (y_true (N,) with y_pred (N, 1)).
absl::Status CheckBinaryTargets(const ShapeContext& c, int t, int p) {
  if (absl::Status s = CheckDTypes(c, t, p); !s.ok()) return s;
  const Shape& ts = c.inputs[t].shape;
  const Shape& ps = c.inputs[p].shape;
  if (ps.rank() < 1 || ts.rank() < 1) {
    return ShapeError(c, absl::StrCat("y_true ", ts.ToString(), " and y_pred ", ps.ToString(),
                                      " must have a batch axis first"));
  }
  Shape a = ts, b = ps;
  if (a.rank() == b.rank() + 1 && a.dim(-1) == 1) a = DropLastAxis(a);
  if (b.rank() == a.rank() + 1 && b.dim(-1) == 1) b = DropLastAxis(b);
  if (!Compatible(a, b)) {
    return ShapeError(c, absl::StrCat("y_true ", ts.ToString(), " and y_pred ", ps.ToString(),
                                      " must have the same shape"));
  }
  return absl::OkStatus();
}

// Sparse categorical targets: y_pred (N, K), y_true (N,) or (N, 1), equal N when both known.
absl::Status CheckSparseTargets(const ShapeContext& c, int t, int p) {
  if (absl::Status s = CheckDTypes(c, t, p); !s.ok()) return s;
  const Shape& ts = c.inputs[t].shape;
  const Shape& ps = c.inputs[p].shape;
  if (ps.rank() != 2) {
    return ShapeError(c,
                      absl::StrCat("y_pred must have shape (batch, classes), got ", ps.ToString()));
  }
  if (!(ts.rank() == 1 || (ts.rank() == 2 && ts.dim(1) == 1))) {
    return ShapeError(c,
                      absl::StrCat("y_true must hold one class index per sample, shape (batch,) or "
                                   "(batch, 1), got ",
                                   ts.ToString(), " for y_pred ", ps.ToString(),
                                   "; convert one-hot labels to class indices (their argmax)"));
  }
  if (ts.dim(0) != Shape::kUnknownDim && ps.dim(0) != Shape::kUnknownDim &&
      ts.dim(0) != ps.dim(0)) {
    return ShapeError(c, absl::StrCat("y_true ", ts.ToString(), " and y_pred ", ps.ToString(),
                                      " must have the same batch size"));
  }
  return absl::OkStatus();
}

// Categorical targets: y_pred (N, ..., K), y_true of the same shape.
absl::Status CheckCategoricalTargets(const ShapeContext& c, int t, int p) {
  if (absl::Status s = CheckDTypes(c, t, p); !s.ok()) return s;
  const Shape& ts = c.inputs[t].shape;
  const Shape& ps = c.inputs[p].shape;
  if (ps.rank() < 2) {
    return ShapeError(
        c, absl::StrCat("y_pred must have shape (batch, ..., classes), got ", ps.ToString()));
  }
  if (ps.dim(-1) == 0) {
    return ShapeError(c, absl::StrCat("y_pred ", ps.ToString(), " has no classes"));
  }
  if (!Compatible(ts, ps)) {
    const bool looks_sparse = ts.rank() == ps.rank() - 1 ||
                              (ts.rank() == ps.rank() && ts.dim(-1) == 1 && ps.dim(-1) != 1);
    return ShapeError(
        c, absl::StrCat("y_true ", ts.ToString(), " and y_pred ", ps.ToString(),
                        " must have the same shape (one-hot or soft targets, one value per class)",
                        looks_sparse ? "; for class indices use the sparse categorical "
                                       "crossentropy / accuracy"
                                     : ""));
  }
  return absl::OkStatus();
}

// Sample weights: y_pred's dtype, shape (N,).
absl::Status CheckSampleWeight(const ShapeContext& c, int w, int p) {
  const TensorType& wt = c.inputs[w];
  const Shape& ps = c.inputs[p].shape;
  if (wt.dtype != c.inputs[p].dtype) {
    return ShapeError(
        c, absl::StrCat("sample_weight (", DTypeName(wt.dtype), ") must have y_pred's dtype (",
                        DTypeName(c.inputs[p].dtype), ")"));
  }
  const int64_t n = ps.rank() > 0 ? ps.dim(0) : 1;
  const bool batch_ok =
      wt.shape.rank() == 1 &&
      (wt.shape.dim(0) == n || wt.shape.dim(0) == Shape::kUnknownDim || n == Shape::kUnknownDim);
  if (!batch_ok) {
    return ShapeError(
        c, absl::StrCat(
               "sample_weight must have shape (batch,) = (",
               n == Shape::kUnknownDim ? std::string("None") : absl::StrCat(n),
               ",), one weight per sample of y_pred ", ps.ToString(), ", got ", wt.shape.ToString(),
               wt.shape.rank() == 2 && wt.shape.dim(1) == 1 ? "; drop the trailing axis of size 1"
                                                            : ""));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<TensorType>> InferScalarOfTargets(const ShapeContext& c,
                                                             TargetCheck check) {
  if (absl::Status s = check(c, 0, 1); !s.ok()) return s;
  if (c.inputs.size() > 2) {
    if (absl::Status s = CheckSampleWeight(c, 2, 1); !s.ok()) return s;
  }
  return std::vector<TensorType>{{c.inputs[1].dtype, Shape{}}};
}

absl::Status TargetCountMismatch(const Tensor& y_true, const Tensor& y_pred) {
  return absl::InvalidArgumentError(absl::StrCat("y_true ", y_true.shape().ToString(),
                                                 " and y_pred ", y_pred.shape().ToString(),
                                                 " must have the same number of elements"));
}

absl::Status SampleWeightCountMismatch(const Tensor& sample_weight, const Tensor& y_pred) {
  return absl::InvalidArgumentError(
      absl::StrCat("sample_weight ", sample_weight.shape().ToString(),
                   " must hold one weight per sample of y_pred ", y_pred.shape().ToString(), ": ",
                   y_pred.shape().rank() == 0 ? 1 : y_pred.shape().dim(0), " weights"));
}

}  // namespace graft::ops
