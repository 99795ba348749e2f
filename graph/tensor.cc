#include "graph/tensor.h"

#include <cstdlib>
#include <cstring>
#include <new>

#include <sys/mman.h>
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "graph/check.h"

namespace graft {

Tensor::Storage::Storage(size_t n) : bytes(n) {
  // aligned_alloc needs a size that is a multiple of the alignment.
  size_t rounded = (n + 63) / 64 * 64;
  if (rounded == 0) rounded = 64;
  data = std::aligned_alloc(64, rounded);
  if (data == nullptr) throw std::bad_alloc();
  std::memset(data, 0, rounded);
}

Tensor::Storage::Storage(void* borrowed, size_t n, std::shared_ptr<void> keep)
    : data(borrowed), bytes(n), owner(std::move(keep)) {}

Tensor::Storage::~Storage() {
  if (owner == nullptr) std::free(data);
}

Tensor Tensor::View(DType dtype, Shape shape, void* data, std::shared_ptr<void> owner) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.storage_ = std::make_shared<Storage>(data, t.nbytes(), std::move(owner));
  return t;
}

std::shared_ptr<void> Tensor::AllocateArena(size_t bytes) {
  constexpr size_t kHugePage = size_t{2} << 20;
  const size_t align = bytes >= kHugePage / 4 ? kHugePage : 64;
  const size_t rounded = std::max<size_t>((bytes + align - 1) / align * align, align);
  void* p = std::aligned_alloc(align, rounded);
  if (p == nullptr) throw std::bad_alloc();
  // Huge pages make the one-time first touch cheap; the memset touches every page now, so no
  // step ever pays a page fault. Arenas from 512 KiB up get a 2 MiB-aligned huge page too: on
  // 4 KiB pages the speed of a step depended on where ASLR put the arena (the seed Conv1D's
  // step on 1 thread ran at 120k or 165k samples/s from one process to the next, its pooling
  // loops 1.6x slower in the slow case, AMD EPYC); inside one huge page the addresses' low
  // 21 bits, and so the cache and way-predictor behaviour, are the same in every process.
  if (align == kHugePage) madvise(p, rounded, MADV_HUGEPAGE);
  std::memset(p, 0, rounded);
  return std::shared_ptr<void>(p, [](void* q) { std::free(q); });
}

Tensor::Tensor(DType dtype, Shape shape) : dtype_(dtype), shape_(std::move(shape)) {
  const absl::StatusOr<int64_t> bytes = shape_.CheckedNumBytes(dtype_);
  GRAFT_CHECK(bytes.ok(), "Tensor(", DTypeName(dtype_), ", ", shape_.ToString(),
              "): ", bytes.status().message(), " (Tensor::Create returns this as a Status)");
  storage_ = std::make_shared<Storage>(static_cast<size_t>(*bytes));
}

absl::StatusOr<Tensor> Tensor::Create(DType dtype, Shape shape) {
  const absl::StatusOr<int64_t> bytes = shape.CheckedNumBytes(dtype);
  if (!bytes.ok()) return bytes.status();
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  try {
    t.storage_ = std::make_shared<Storage>(static_cast<size_t>(*bytes));
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot allocate ", *bytes, " bytes for a ", DTypeName(dtype), " tensor of shape ",
                     t.shape_.ToString(), ": out of memory"));
  }
  return t;
}

double Tensor::AsDouble(int64_t i) const {
  switch (dtype_) {
    case DType::kF32:
      return data<float>()[i];
    case DType::kF64:
      return data<double>()[i];
    case DType::kI32:
      return data<int32_t>()[i];
    case DType::kI64:
      return static_cast<double>(data<int64_t>()[i]);
  }
  return 0;
}

Tensor Tensor::Clone() const {
  if (empty()) return Tensor();
  Tensor t(dtype_, shape_);
  std::memcpy(t.raw_data(), raw_data(), nbytes());
  return t;
}

namespace {
template <typename To>
void CastInto(const Tensor& src, To* dst) {
  for (int64_t i = 0; i < src.num_elements(); ++i) dst[i] = static_cast<To>(src.AsDouble(i));
}
}  // namespace

Tensor Tensor::CastTo(DType dtype) const {
  if (dtype == dtype_) return Clone();
  Tensor t(dtype, shape_);
  switch (dtype) {
    case DType::kF32:
      CastInto(*this, t.data<float>());
      break;
    case DType::kF64:
      CastInto(*this, t.data<double>());
      break;
    case DType::kI32:
      CastInto(*this, t.data<int32_t>());
      break;
    case DType::kI64:
      CastInto(*this, t.data<int64_t>());
      break;
  }
  return t;
}

absl::StatusOr<Tensor> Tensor::Reshaped(Shape shape) const {
  if (shape.num_elements() != num_elements()) {
    return absl::InvalidArgumentError("cannot reshape a tensor of shape " + shape_.ToString() +
                                      " to " + shape.ToString() + ": element counts differ");
  }
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::RowsView(int64_t begin, int64_t end) const {
  const int64_t rows = shape_.rank() == 0 ? 1 : shape_.dim(0);
  const size_t row_bytes = rows == 0 ? 0 : nbytes() / rows;
  Shape shape = shape_;
  shape.set_dim(0, end - begin);
  char* data = static_cast<char*>(const_cast<void*>(raw_data())) + begin * row_bytes;
  return View(dtype_, std::move(shape), data, storage_);
}

Tensor Tensor::SliceRows(int64_t begin, int64_t end) const {
  std::vector<int64_t> idx;
  for (int64_t i = begin; i < end; ++i) idx.push_back(i);
  return GatherRows(idx);
}

void Tensor::GatherRowsInto(const std::vector<int64_t>& indices, Tensor& dst) const {
  const int64_t rows = shape_.rank() == 0 ? 1 : shape_.dim(0);
  const size_t row_bytes = rows == 0 ? 0 : nbytes() / rows;
  assert(dst.dtype_ == dtype_ && dst.nbytes() == row_bytes * indices.size());
  auto* out = static_cast<char*>(dst.raw_data());
  const auto* src = static_cast<const char*>(raw_data());
  for (size_t i = 0; i < indices.size(); ++i) {
    std::memcpy(out + i * row_bytes, src + indices[i] * row_bytes, row_bytes);
  }
}

Tensor Tensor::GatherRows(const std::vector<int64_t>& indices) const {
  std::vector<int64_t> dims = shape_.dims();
  const int64_t rows = dims.empty() ? 1 : dims[0];
  const size_t row_bytes = rows == 0 ? 0 : nbytes() / rows;
  dims[0] = static_cast<int64_t>(indices.size());
  Tensor t(dtype_, Shape(dims));
  auto* dst = static_cast<char*>(t.raw_data());
  const auto* src = static_cast<const char*>(raw_data());
  for (size_t i = 0; i < indices.size(); ++i) {
    std::memcpy(dst + i * row_bytes, src + indices[i] * row_bytes, row_bytes);
  }
  return t;
}

void Tensor::CopyFrom(const Tensor& src) {
  assert(src.dtype_ == dtype_ && src.num_elements() == num_elements());
  if (src.raw_data() != raw_data()) std::memcpy(raw_data(), src.raw_data(), nbytes());
}

}  // namespace graft
