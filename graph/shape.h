// graft — tensor shapes.
#ifndef GRAFT_GRAPH_SHAPE_H_
#define GRAFT_GRAPH_SHAPE_H_

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/status/statusor.h"
#include "graph/dtype.h"

namespace graft {

// A tensor shape. A dimension of kUnknownDim (-1) is not known yet: the batch dimension of a
// model's symbolic graph is unknown until data arrives (Keras prints it as `None`). The
// dimensions live inside the object up to rank 6, so copying a Shape (and a Tensor) allocates
// nothing: a steady-state Predict allocates nothing of graft's own.
class Shape {
 public:
  static constexpr int64_t kUnknownDim = -1;

  Shape() = default;
  Shape(std::initializer_list<int64_t> dims) : dims_(dims) {}
  explicit Shape(const std::vector<int64_t>& dims) : dims_(dims.begin(), dims.end()) {}

  int rank() const { return static_cast<int>(dims_.size()); }
  // Dimension i; negative i counts from the end (-1 is the last dimension).
  int64_t dim(int i) const { return dims_[i < 0 ? i + rank() : i]; }
  void set_dim(int i, int64_t d) { dims_[i < 0 ? i + rank() : i] = d; }
  // A copy of the dimensions (bind it to a local before taking iterators).
  std::vector<int64_t> dims() const { return {dims_.begin(), dims_.end()}; }

  // True when every dimension is known.
  bool IsFullyDefined() const;
  // The product of the dimensions (1 for a scalar, 0 when any dimension is 0); -1 when any
  // dimension is unknown. Unchecked: a shape whose product overflows int64 gives a meaningless
  // (wrapped) count. Shapes from files, users or other untrusted sources go through
  // CheckedNumElements / CheckedNumBytes first (Tensor's constructor checks them too).
  int64_t num_elements() const;
  // The element count, checked: InvalidArgument (naming the shape) when a dimension is unknown
  // or negative, or when the count does not fit int64. The rule is NumPy's: the product of the
  // non-zero dimensions must fit, so an empty shape such as (0, 2^62, 4) is rejected too and
  // every partial product of a valid shape (a row size, a stride) fits int64.
  absl::StatusOr<int64_t> CheckedNumElements() const;
  // The size in bytes of a tensor of this shape and `dtype`, checked likewise: the product of
  // the non-zero dimensions times SizeOf(dtype) must fit int64 (and so size_t).
  absl::StatusOr<int64_t> CheckedNumBytes(DType dtype) const;
  // The shape with the first dimension replaced by `batch`.
  Shape WithBatch(int64_t batch) const;

  // Keras style: "(None, 96, 32)"; a scalar is "()", a rank-1 shape "(5,)".
  std::string ToString() const;

  friend bool operator==(const Shape& a, const Shape& b) { return a.dims_ == b.dims_; }
  friend bool operator!=(const Shape& a, const Shape& b) { return !(a == b); }

 private:
  absl::InlinedVector<int64_t, 6> dims_;
};

// The static type of a graph value: element type and shape.
struct TensorType {
  DType dtype = DType::kF32;
  Shape shape;

  std::string ToString() const;  // "float32(None, 96, 32)"
  friend bool operator==(const TensorType& a, const TensorType& b) {
    return a.dtype == b.dtype && a.shape == b.shape;
  }
};

}  // namespace graft

#endif  // GRAFT_GRAPH_SHAPE_H_
