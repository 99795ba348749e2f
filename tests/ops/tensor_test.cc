// Tests for graph/shape.h and graph/tensor.h's checked paths (issue 11): overflow-checked element
// and byte counts, Tensor::Create, and FromVector's count check (on in optimised builds too).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "graph/memory.h"
#include "graph/shape.h"
#include "graph/tensor.h"
#include "gtest/gtest.h"

namespace graft {
namespace {

using ::testing::HasSubstr;

constexpr int64_t k2to32 = int64_t{1} << 32;
constexpr int64_t k2to62 = int64_t{1} << 62;

TEST(ShapeTest, CheckedNumElementsCountsValidShapes) {
  EXPECT_EQ(*Shape{}.CheckedNumElements(), 1);
  EXPECT_EQ(*(Shape{2, 3, 4}).CheckedNumElements(), 24);
  EXPECT_EQ(*(Shape{5, 0, 7}).CheckedNumElements(), 0);
  EXPECT_EQ(*(Shape{k2to62, 1}).CheckedNumElements(), k2to62);
  EXPECT_EQ(*(Shape{INT64_MAX}).CheckedNumElements(), INT64_MAX);
  EXPECT_EQ(*(Shape{2, 3}).CheckedNumBytes(DType::kF64), 48);
  EXPECT_EQ(*(Shape{0, k2to32}).CheckedNumBytes(DType::kF32), 0);
}

TEST(ShapeTest, CheckedNumElementsRejectsOverflow) {
  for (const Shape& s : {Shape{k2to32, k2to32}, Shape{k2to62, 2}, Shape{3037000500, 3037000500},
                         Shape{0, k2to32, k2to32}, Shape{k2to32, k2to32, 0}}) {
    SCOPED_TRACE(s.ToString());
    absl::StatusOr<int64_t> n = s.CheckedNumElements();
    ASSERT_FALSE(n.ok());
    EXPECT_EQ(n.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(n.status().message()), HasSubstr("shape " + s.ToString()));
    EXPECT_THAT(std::string(n.status().message()),
                HasSubstr("has more than 2^63 - 1 elements: the product of its non-zero "
                          "dimensions overflows int64"));
  }
}

TEST(ShapeTest, CheckedNumBytesIncludesTheElementSize) {
  // 2^61 elements fit int64; 2^61 float32 (2^63 bytes) do not.
  const Shape s{int64_t{1} << 61};
  EXPECT_TRUE(s.CheckedNumElements().ok());
  absl::StatusOr<int64_t> b = s.CheckedNumBytes(DType::kF32);
  ASSERT_FALSE(b.ok());
  EXPECT_THAT(std::string(b.status().message()),
              HasSubstr("shape (2305843009213693952,) of float32 has more than 2^63 - 1 bytes: "
                        "the product of its non-zero dimensions and the element size overflows"));
}

TEST(ShapeTest, CheckedNumElementsRejectsUnknownAndNegativeDimensions) {
  absl::StatusOr<int64_t> n = Shape{Shape::kUnknownDim, 3}.CheckedNumElements();
  ASSERT_FALSE(n.ok());
  EXPECT_THAT(std::string(n.status().message()),
              HasSubstr("shape (None, 3): dimension 0 is unknown (None)"));
  n = Shape{2, -5}.CheckedNumElements();
  ASSERT_FALSE(n.ok());
  EXPECT_THAT(std::string(n.status().message()), HasSubstr("dimension 1 is -5"));
}

TEST(ShapeTest, NumElementsIsZeroWhateverTheOrderOfTheDimensions) {
  // Was signed overflow (undefined behaviour) before the 0 was reached.
  EXPECT_EQ((Shape{k2to32, k2to32, 0}).num_elements(), 0);
  EXPECT_EQ((Shape{0, k2to32, k2to32}).num_elements(), 0);
  EXPECT_EQ((Shape{Shape::kUnknownDim, 0}).num_elements(), -1);
}

TEST(ShapeTest, MemoryCheckedBytesFollowsTheSameRule) {
  // graph/memory.h's CheckedBytes (used before allocating weights, plans and results) agrees with
  // Shape::CheckedNumBytes, so a size it accepts never trips Tensor's constructor check.
  for (const Shape& s : {Shape{2, 3}, Shape{0, k2to62}, Shape{k2to62}, Shape{k2to32, k2to32, 0},
                         Shape{0}, Shape{}, Shape{int64_t{1} << 60}, Shape{-1, 2}}) {
    SCOPED_TRACE(s.ToString());
    const std::optional<uint64_t> a = CheckedBytes(DType::kF64, s);
    const absl::StatusOr<int64_t> b = s.CheckedNumBytes(DType::kF64);
    ASSERT_EQ(a.has_value(), b.ok());
    if (a) {
      EXPECT_EQ(*a, static_cast<uint64_t>(*b));
    }
  }
  EXPECT_FALSE(CheckedBytes(DType::kF32, Shape{0, k2to62}).has_value());
  EXPECT_EQ(CheckedBytes(DType::kF32, Shape{0, k2to32}), std::optional<uint64_t>(0));
}

TEST(TensorTest, CreateChecksTheShape) {
  absl::StatusOr<Tensor> t = Tensor::Create(DType::kF64, Shape{2, 3});
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->nbytes(), 48u);
  EXPECT_EQ(t->AsDouble(5), 0.0);
  t = Tensor::Create(DType::kF32, Shape{k2to32, k2to32});
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(t.status().message()), HasSubstr("overflows int64"));
  t = Tensor::Create(DType::kF32, Shape{Shape::kUnknownDim, 4});
  ASSERT_FALSE(t.ok());
  EXPECT_THAT(std::string(t.status().message()), HasSubstr("unknown (None)"));
}

TEST(TensorTest, CreateReportsAnImpossibleAllocationAsAStatus) {
  // 2^60 bytes fit int64 but no address space: ResourceExhausted, not std::bad_alloc.
  absl::StatusOr<Tensor> t = Tensor::Create(DType::kF64, Shape{int64_t{1} << 57});
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(t.status().message()),
              HasSubstr("cannot allocate 1152921504606846976 bytes for a float64 tensor of shape "
                        "(144115188075855872,)"));
}

TEST(TensorTest, CreateFromVectorChecksTheCount) {
  absl::StatusOr<Tensor> t = Tensor::CreateFromVector<float>(Shape{2, 3}, {1, 2, 3, 4, 5, 6});
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->ToVector<float>(), (std::vector<float>{1, 2, 3, 4, 5, 6}));
  t = Tensor::CreateFromVector<float>(Shape{2, 3}, {1, 2, 3, 4, 5});
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(t.status().message()),
              HasSubstr("Tensor::FromVector: shape (2, 3) has 6 elements, but 5 values were "
                        "given"));
  t = Tensor::CreateFromVector<int64_t>(Shape{k2to32, k2to32}, {});
  ASSERT_FALSE(t.ok());
  EXPECT_THAT(std::string(t.status().message()), HasSubstr("overflows int64"));
}

TEST(TensorDeathTest, FromVectorWithTheWrongCountAbortsWithAMessage) {
  // Was an assert: unchecked in -c opt, where it copied past the end of the tensor.
  EXPECT_DEATH(Tensor::FromVector<float>(Shape{2, 3}, {1, 2, 3, 4, 5}),
               "check failed: .*Tensor::FromVector: shape \\(2, 3\\) has 6 elements, but 5 "
               "values were given");
  EXPECT_DEATH(Tensor::FromVector<double>(Shape{2}, {1, 2, 3}), "has 2 elements, but 3 values");
}

TEST(TensorDeathTest, ConstructorRejectsInvalidShapesWithAMessage) {
  EXPECT_DEATH(Tensor(DType::kF32, Shape{Shape::kUnknownDim, 3}),
               "Tensor\\(float32, \\(None, 3\\)\\): shape \\(None, 3\\): dimension 0 is unknown");
  EXPECT_DEATH(Tensor(DType::kF32, Shape{k2to32, k2to32}), "overflows int64");
}

}  // namespace
}  // namespace graft
