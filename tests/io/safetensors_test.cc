// safetensors files: round trip, the layout other tools expect, and errors for bad bytes.
#include "io/safetensors.h"

#include <cstring>
#include <filesystem>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "io/atomic_file.h"
#include "nlohmann/json.hpp"

namespace graft::io {
namespace {

using ::testing::HasSubstr;

std::string Tmp(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir ? dir : "/tmp") + "/" + name;
}

TEST(SafetensorsTest, RoundTripsEveryDTypeWithMetadata) {
  std::vector<NamedTensor> tensors = {
      {"a/kernel", Tensor::FromVector<float>({2, 3}, {1, 2, 3, 4, 5, 6})},
      {"b", Tensor::FromVector<double>({1}, {0.5})},
      {"c", Tensor::FromVector<int32_t>({3}, {-1, 0, 7})},
      {"d", Tensor::FromVector<int64_t>({}, {1LL << 40})},
      {"empty", Tensor(DType::kF32, {0, 4})},
  };
  ASSERT_TRUE(SaveSafetensors(Tmp("t.safetensors"), tensors, {{"k", "v"}}).ok());
  absl::StatusOr<Safetensors> f = LoadSafetensors(Tmp("t.safetensors"));
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->metadata.at("k"), "v");
  ASSERT_EQ(f->tensors.size(), tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    EXPECT_EQ(f->tensors[i].name, tensors[i].name);  // in the order written
    EXPECT_EQ(f->tensors[i].value.type(), tensors[i].value.type());
    EXPECT_EQ(std::memcmp(f->tensors[i].value.raw_data(), tensors[i].value.raw_data(),
                          tensors[i].value.nbytes()),
              0);
  }
  EXPECT_NE(f->Find("c"), nullptr);
  EXPECT_EQ(f->Find("z"), nullptr);
}

TEST(SafetensorsTest, LayoutIsTheSafetensorsFormat) {
  ASSERT_TRUE(
      SaveSafetensors(Tmp("l.safetensors"), {{"w", Tensor::FromVector<float>({2}, {1.5f, -2})}})
          .ok());
  absl::StatusOr<std::string> bytes = ReadWholeFile(Tmp("l.safetensors"));
  ASSERT_TRUE(bytes.ok());
  uint64_t n;
  std::memcpy(&n, bytes->data(), 8);
  EXPECT_EQ(n % 8, 0u);  // the data starts 8-byte aligned
  ASSERT_EQ(bytes->size(), 8 + n + 8);
  nlohmann::json h = nlohmann::json::parse(bytes->substr(8, n));
  EXPECT_EQ(h["w"]["dtype"], "F32");
  EXPECT_EQ(h["w"]["shape"], nlohmann::json::array({2}));
  EXPECT_EQ(h["w"]["data_offsets"], nlohmann::json::array({0, 8}));
  float v[2];
  std::memcpy(v, bytes->data() + 8 + n, 8);
  EXPECT_EQ(v[0], 1.5f);
  EXPECT_EQ(v[1], -2.0f);
}

TEST(SafetensorsTest, BadBytesAreErrorsThatSayWhere) {
  EXPECT_THAT(ParseSafetensors("abc", "f").status().message(),
              HasSubstr("fewer than the 8-byte header length"));
  std::string b(8, '\0');
  b[0] = 10;
  EXPECT_THAT(ParseSafetensors(b + "{}", "f").status().message(),
              HasSubstr("header length says 10 bytes, but only 2 follow"));
  auto with = [](const std::string& header, size_t data) {
    uint64_t n = header.size();
    return std::string(reinterpret_cast<const char*>(&n), 8) + header + std::string(data, '\0');
  };
  EXPECT_TRUE(ParseSafetensors(with("{}", 0), "f").ok());
  EXPECT_THAT(ParseSafetensors(with("[1]", 0), "f").status().message(),
              HasSubstr("expected a JSON object"));
  EXPECT_THAT(
      ParseSafetensors(with(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 4), "f")
          .status()
          .message(),
      HasSubstr("out of range: the data section holds 4 bytes"));
  EXPECT_THAT(
      ParseSafetensors(with(R"({"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8), "f")
          .status()
          .message(),
      HasSubstr("spans 8 bytes"));
  EXPECT_THAT(
      ParseSafetensors(with(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 12), "f")
          .status()
          .message(),
      HasSubstr("trailing bytes"));
  EXPECT_THAT(ParseSafetensors(with(R"({"x":{"dtype":"F32","shape":[4611686018427387904,4],)"
                                    R"("data_offsets":[0,8]}})",
                                    8),
                               "f")
                  .status()
                  .message(),
              HasSubstr("overflows"));
  EXPECT_THAT(ParseSafetensors(with(R"({"__metadata__":{"a":1}})", 0), "f").status().message(),
              HasSubstr("metadata values must be strings"));
  EXPECT_THAT(
      ParseSafetensors(with(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12), "f")
          .status()
          .message(),
      HasSubstr("a hole in the data"));
}

TEST(SafetensorsTest, ShapesAreCountedWithShapesOverflowChecks) {
  auto with = [](const std::string& header, size_t data) {
    uint64_t n = header.size();
    return std::string(reinterpret_cast<const char*>(&n), 8) + header + std::string(data, '\0');
  };
  // A zero dimension next to huge ones: 0 bytes, but the other dimensions' product overflows
  // (NumPy's rule, Shape::CheckedNumBytes). An error naming the shape, never Tensor's abort.
  absl::StatusOr<Safetensors> f = ParseSafetensors(
      with(R"({"x":{"dtype":"F32","shape":[0,4294967296,4294967296],"data_offsets":[0,0]}})", 0),
      "f");
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(f.status().message(),
              HasSubstr("f: header[\"x\"].shape: shape (0, 4294967296, 4294967296) of float32 has "
                        "more than 2^63 - 1 bytes"));
  // 2^61 float32 elements: the count fits, the byte size does not.
  EXPECT_THAT(ParseSafetensors(with(R"({"x":{"dtype":"F32","shape":[2305843009213693952],)"
                                    R"("data_offsets":[0,8]}})",
                                    8),
                               "f")
                  .status()
                  .message(),
              HasSubstr("overflows int64"));
  // A claim larger than the data section, counted exactly.
  EXPECT_THAT(
      ParseSafetensors(with(R"({"x":{"dtype":"F64","shape":[1099511627776],"data_offsets":[0,8]}})",
                            8),
                       "f")
          .status()
          .message(),
      HasSubstr("needs 8796093022208 (more than the data section's 8)"));
  // Empty tensors with ordinary dimensions still load.
  f = ParseSafetensors(with(R"({"x":{"dtype":"I64","shape":[0,65536],"data_offsets":[0,0]}})", 0),
                       "f");
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->tensors[0].value.shape(), (Shape{0, 65536}));
}

TEST(SafetensorsTest, FilesThatAreNotThere) {
  EXPECT_EQ(LoadSafetensors(Tmp("none")).status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(LoadSafetensors(std::getenv("TEST_TMPDIR") ? std::getenv("TEST_TMPDIR") : "/tmp")
                  .status()
                  .message(),
              HasSubstr("directory"));
  EXPECT_THAT(SaveSafetensors(Tmp("dup"),
                              {{"a", Tensor(DType::kF32, {1})}, {"a", Tensor(DType::kF32, {1})}})
                  .message(),
              HasSubstr("unique"));
}

TEST(AtomicFileTest, ReplacesWholeAndLeavesNoTemporaryFile) {
  const std::string dir = Tmp("atomic");
  std::filesystem::create_directories(dir);
  ASSERT_TRUE(WriteFileAtomically(dir + "/f", {"old"}).ok());
  ASSERT_TRUE(WriteFileAtomically(dir + "/f", {"ne", "w"}).ok());
  EXPECT_EQ(*ReadWholeFile(dir + "/f"), "new");
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    files += 1 + 0 * e.is_regular_file();
  EXPECT_EQ(files, 1);
  EXPECT_EQ(WriteFileAtomically(dir + "/no/f", {"x"}).code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace graft::io
