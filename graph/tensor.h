// graft — Tensor: an owning, 64-byte aligned, dense row-major array.
#ifndef GRAFT_GRAPH_TENSOR_H_
#define GRAFT_GRAPH_TENSOR_H_

#include <cassert>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "graph/check.h"
#include "graph/dtype.h"
#include "graph/shape.h"

namespace graft {

// A dense, row-major (C order) array of one DType. Activations are channels-last (NWC, NHWC),
// as in Keras.
//
// Copies share storage, like a PyTorch tensor or a NumPy view: `Tensor b = a;` then writing
// through `b` changes `a`. `Clone()` makes an independent copy. Storage is 64-byte aligned and
// zero-initialised.
class Tensor {
 public:
  // An empty tensor (no storage, dtype f32, shape ()). `empty()` is true.
  Tensor() = default;
  // A zero-filled tensor. The shape must be fully defined and its byte size must fit int64
  // (Shape::CheckedNumBytes): otherwise the process aborts with a message naming the shape
  // (GRAFT_CHECK, on in optimised builds too). For shapes that come from files or users, use
  // Create, which returns the same message as a Status.
  Tensor(DType dtype, Shape shape);
  // A zero-filled tensor, checked: InvalidArgument for a shape with an unknown or negative
  // dimension or a byte size that overflows int64, ResourceExhausted when the memory cannot be
  // allocated. Never aborts and never throws.
  static absl::StatusOr<Tensor> Create(DType dtype, Shape shape);

  // A tensor holding a copy of `values`; `values.size()` must equal the shape's element count,
  // or the process aborts with a message giving both (GRAFT_CHECK, on in optimised builds too).
  // For counts that depend on input, use CreateFromVector.
  template <typename T>
  static Tensor FromVector(Shape shape, const std::vector<T>& values);
  // The checked form of FromVector: InvalidArgument (shape, element count and number of values)
  // when they differ or the shape is invalid.
  template <typename T>
  static absl::StatusOr<Tensor> CreateFromVector(Shape shape, const std::vector<T>& values);
  // A rank-0 tensor.
  template <typename T>
  static Tensor Scalar(T value) {
    return FromVector<T>(Shape{}, {value});
  }

  bool empty() const { return storage_ == nullptr; }
  // True when no other Tensor (copy or view) shares this one's storage: writing over it then
  // changes nothing anyone else sees.
  bool SoleOwner() const { return storage_ != nullptr && storage_.use_count() == 1; }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  TensorType type() const { return {dtype_, shape_}; }
  int64_t num_elements() const { return shape_.num_elements(); }
  size_t nbytes() const { return static_cast<size_t>(num_elements()) * SizeOf(dtype_); }

  template <typename T>
  T* data() {
    assert(DTypeOf<T>() == dtype_);
    return static_cast<T*>(raw_data());
  }
  template <typename T>
  const T* data() const {
    assert(DTypeOf<T>() == dtype_);
    return static_cast<const T*>(raw_data());
  }
  void* raw_data() { return storage_ ? storage_->data : nullptr; }
  const void* raw_data() const { return storage_ ? storage_->data : nullptr; }

  // Element i (flat, row-major) converted to double; for tests and printing.
  double AsDouble(int64_t i) const;
  // All elements as a vector of T, converting from the stored type.
  template <typename T>
  std::vector<T> ToVector() const {
    std::vector<T> v(num_elements());
    for (int64_t i = 0; i < num_elements(); ++i) v[i] = static_cast<T>(AsDouble(i));
    return v;
  }

  // An independent deep copy.
  Tensor Clone() const;
  // A copy converted to another floating or integer type.
  Tensor CastTo(DType dtype) const;
  // The same storage seen with another shape of equal element count.
  absl::StatusOr<Tensor> Reshaped(Shape shape) const;
  // Rows [begin, end) along the first dimension, copied.
  Tensor SliceRows(int64_t begin, int64_t end) const;
  // Rows [begin, end) along the first dimension as a view of this tensor's storage (no copy).
  Tensor RowsView(int64_t begin, int64_t end) const;
  // Rows `indices` along the first dimension, copied in that order.
  Tensor GatherRows(const std::vector<int64_t>& indices) const;
  // Copies src's elements into this tensor (same dtype and element count).
  void CopyFrom(const Tensor& src);

  // A tensor over memory owned elsewhere (`data` stays valid while `owner` lives): how plans
  // place their intermediate tensors in one arena. `data` must be 64-byte aligned.
  static Tensor View(DType dtype, Shape shape, void* data, std::shared_ptr<void> owner);
  // A zero-filled, 64-byte aligned block of `bytes` that is never returned to the OS while
  // alive (huge pages advised when large): the arena plans carve their tensors from.
  static std::shared_ptr<void> AllocateArena(size_t bytes);
  // Rows `indices` along the first dimension, copied into `dst` (same dtype, row size, and
  // indices.size() rows): reuses dst's memory instead of allocating.
  void GatherRowsInto(const std::vector<int64_t>& indices, Tensor& dst) const;

  // True when both tensors use the same storage.
  bool SharesStorageWith(const Tensor& other) const { return storage_ == other.storage_; }

 private:
  struct Storage {
    explicit Storage(size_t bytes);
    // Borrowed memory kept alive by `owner` (a plan's arena); not freed here.
    Storage(void* borrowed, size_t bytes, std::shared_ptr<void> owner);
    ~Storage();
    Storage(const Storage&) = delete;
    Storage& operator=(const Storage&) = delete;
    void* data = nullptr;
    size_t bytes = 0;
    std::shared_ptr<void> owner;
  };

  DType dtype_ = DType::kF32;
  Shape shape_;
  std::shared_ptr<Storage> storage_;
};

template <typename T>
absl::StatusOr<Tensor> Tensor::CreateFromVector(Shape shape, const std::vector<T>& values) {
  absl::StatusOr<int64_t> n = shape.CheckedNumBytes(DTypeOf<T>());
  if (!n.ok()) return n.status();
  const int64_t elements = shape.num_elements();  // exact: the byte size fits
  if (static_cast<uint64_t>(elements) != values.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Tensor::FromVector: shape ", shape.ToString(), " has ", elements, " elements, but ",
        values.size(), " values were given; pass exactly as many values as the product of the "
        "dimensions, or fix the shape"));
  }
  absl::StatusOr<Tensor> t = Create(DTypeOf<T>(), std::move(shape));
  if (!t.ok()) return t.status();
  std::copy(values.begin(), values.end(), t->template data<T>());
  return t;
}

template <typename T>
Tensor Tensor::FromVector(Shape shape, const std::vector<T>& values) {
  absl::StatusOr<Tensor> t = CreateFromVector<T>(std::move(shape), values);
  GRAFT_CHECK(t.ok(), t.status().message(), " (Tensor::CreateFromVector returns this as a Status)");
  return *std::move(t);
}

}  // namespace graft

#endif  // GRAFT_GRAPH_TENSOR_H_
