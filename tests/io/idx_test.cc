// Tests for io/idx.h: every element type and its dtype mapping, raw and gzip files (detected by
// content, not name), and every rejection path. The files are written here (tests/io/idx_fixtures).
#include "io/idx.h"

#include <bit>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <initializer_list>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "graph/tensor.h"
#include "gtest/gtest.h"
#include "tests/io/idx_fixtures.h"

namespace graft::io {
namespace {

using ::graft::io::testing::BigEndian;
using ::graft::io::testing::Gzip;
using ::graft::io::testing::IdxBytes;
using ::graft::io::testing::WriteFile;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

std::string TestDir() { return io::testing::TestDir("idx_test"); }

std::string Bytes(std::initializer_list<int> values) {
  std::string s;
  for (int v : values) s += static_cast<char>(v);
  return s;
}

// (2, 3, 4) uint8 pixels 0, 11, 22, ..., 253, with the last set to 255.
std::string PixelBytes() {
  std::string s;
  for (int i = 0; i < 24; ++i) s += static_cast<char>(i == 23 ? 255 : 11 * i);
  return s;
}

std::vector<float> PixelValues() {
  std::vector<float> v;
  for (int i = 0; i < 24; ++i) v.push_back(i == 23 ? 255.0f : 11.0f * i);
  return v;
}

template <typename T>
std::vector<T> Values(const Tensor& t) {
  return std::vector<T>(t.data<T>(), t.data<T>() + t.num_elements());
}

absl::Status LoadError(const std::string& path) {
  absl::StatusOr<Tensor> t = LoadIdx(path);
  EXPECT_FALSE(t.ok()) << path << " loaded as " << t->type().ToString();
  return t.status();
}

// Expects InvalidArgument naming `path` and containing `phrase`.
void ExpectInvalid(const std::string& path, absl::string_view phrase) {
  const absl::Status s = LoadError(path);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr(path));
  EXPECT_THAT(std::string(s.message()), HasSubstr(phrase));
}

// ---------------------------------------------------------------------------------------------
// Reading

TEST(LoadIdxTest, Uint8ImagesAreFloat32HoldingTheRawValues) {
  const std::string path =
      WriteFile(TestDir() + "/images-idx3-ubyte", IdxBytes(0x08, {2, 3, 4}, PixelBytes()));
  absl::StatusOr<Tensor> t = LoadIdx(path);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->type().ToString(), "float32(2, 3, 4)");
  EXPECT_THAT(Values<float>(*t), ElementsAreArray(PixelValues()));
}

TEST(LoadIdxTest, Uint8LabelsAreInt64) {
  const std::string path =
      WriteFile(TestDir() + "/labels-idx1-ubyte", IdxBytes(0x08, {5}, Bytes({7, 0, 9, 255, 3})));
  absl::StatusOr<Tensor> t = LoadIdx(path);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->type().ToString(), "int64(5,)");
  EXPECT_THAT(Values<int64_t>(*t), ElementsAre(7, 0, 9, 255, 3));
}

TEST(LoadIdxTest, GzipFilesAreRecognisedByContentNotName) {
  const std::string dir = TestDir();
  const std::string raw = IdxBytes(0x08, {2, 3, 4}, PixelBytes());
  // A gzip file with and without the .gz suffix, and a raw file named .gz.
  for (const std::string& path :
       {WriteFile(dir + "/a.gz", Gzip(raw)), WriteFile(dir + "/b-idx3-ubyte", Gzip(raw)),
        WriteFile(dir + "/c.gz", raw)}) {
    SCOPED_TRACE(path);
    absl::StatusOr<Tensor> t = LoadIdx(path);
    ASSERT_TRUE(t.ok()) << t.status();
    EXPECT_EQ(t->type().ToString(), "float32(2, 3, 4)");
    EXPECT_THAT(Values<float>(*t), ElementsAreArray(PixelValues()));
  }
}

TEST(LoadIdxTest, ConcatenatedGzipMembersAreReadInTurn) {
  const std::string raw = IdxBytes(0x08, {2, 3, 4}, PixelBytes());
  const size_t half = raw.size() / 2;
  const std::string path =
      WriteFile(TestDir() + "/two.gz", Gzip(raw.substr(0, half)) + Gzip(raw.substr(half)));
  absl::StatusOr<Tensor> t = LoadIdx(path);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_THAT(Values<float>(*t), ElementsAreArray(PixelValues()));
}

TEST(LoadIdxTest, LargeGzipFileRoundTrips) {
  // 70 x 28 x 28 = 54880 bytes: more than one 64 KiB inflate buffer after the header.
  std::string pixels;
  for (int i = 0; i < 70 * 28 * 28; ++i) pixels += static_cast<char>((i * 37 + i / 784) % 256);
  const std::string path =
      WriteFile(TestDir() + "/big.gz", Gzip(IdxBytes(0x08, {70, 28, 28}, pixels)));
  absl::StatusOr<Tensor> t = LoadIdx(path);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->type().ToString(), "float32(70, 28, 28)");
  for (int i = 0; i < t->num_elements(); ++i) {
    ASSERT_EQ(t->data<float>()[i], static_cast<uint8_t>(pixels[i])) << "element " << i;
  }
}

TEST(LoadIdxTest, SignedAndWideTypesDecodeBigEndian) {
  const std::string dir = TestDir();
  {  // int8 images: float32, signed.
    absl::StatusOr<Tensor> t =
        LoadIdx(WriteFile(dir + "/i8", IdxBytes(0x09, {1, 3}, Bytes({0x80, 0xff, 0x7f}))));
    ASSERT_TRUE(t.ok()) << t.status();
    EXPECT_EQ(t->type().ToString(), "float32(1, 3)");
    EXPECT_THAT(Values<float>(*t), ElementsAre(-128.0f, -1.0f, 127.0f));
  }
  {  // int16 labels: int64.
    absl::StatusOr<Tensor> t = LoadIdx(WriteFile(
        dir + "/i16",
        IdxBytes(0x0B, {3}, BigEndian(0x1234, 2) + BigEndian(0xfffe, 2) + BigEndian(0x8000, 2))));
    ASSERT_TRUE(t.ok()) << t.status();
    EXPECT_EQ(t->type().ToString(), "int64(3,)");
    EXPECT_THAT(Values<int64_t>(*t), ElementsAre(0x1234, -2, -32768));
  }
  {  // int32 of rank 2: int32 (float32 could not hold every value).
    absl::StatusOr<Tensor> t = LoadIdx(WriteFile(
        dir + "/i32", IdxBytes(0x0C, {2, 1}, BigEndian(16777217, 4) + BigEndian(0xffffffff, 4))));
    ASSERT_TRUE(t.ok()) << t.status();
    EXPECT_EQ(t->type().ToString(), "int32(2, 1)");
    EXPECT_THAT(Values<int32_t>(*t), ElementsAre(16777217, -1));
  }
  {  // int32 labels: int64.
    absl::StatusOr<Tensor> t =
        LoadIdx(WriteFile(dir + "/i32_labels", IdxBytes(0x0C, {1}, BigEndian(0x80000000, 4))));
    ASSERT_TRUE(t.ok()) << t.status();
    EXPECT_EQ(t->type().ToString(), "int64(1,)");
    EXPECT_THAT(Values<int64_t>(*t), ElementsAre(-2147483648LL));
  }
  {  // float32 and float64 keep their type at any rank.
    absl::StatusOr<Tensor> f = LoadIdx(
        WriteFile(dir + "/f32", IdxBytes(0x0D, {2},
                                         BigEndian(std::bit_cast<uint32_t>(-1.5f), 4) +
                                             BigEndian(std::bit_cast<uint32_t>(3.25e-3f), 4))));
    ASSERT_TRUE(f.ok()) << f.status();
    EXPECT_EQ(f->type().ToString(), "float32(2,)");
    EXPECT_THAT(Values<float>(*f), ElementsAre(-1.5f, 3.25e-3f));
    absl::StatusOr<Tensor> d = LoadIdx(WriteFile(
        dir + "/f64", IdxBytes(0x0E, {1, 1}, BigEndian(std::bit_cast<uint64_t>(0.1), 8))));
    ASSERT_TRUE(d.ok()) << d.status();
    EXPECT_EQ(d->type().ToString(), "float64(1, 1)");
    EXPECT_THAT(Values<double>(*d), ElementsAre(0.1));
  }
}

TEST(LoadIdxTest, ScalarsAndEmptyArrays) {
  const std::string dir = TestDir();
  absl::StatusOr<Tensor> scalar = LoadIdx(WriteFile(dir + "/scalar", IdxBytes(0x08, {}, "\x2a")));
  ASSERT_TRUE(scalar.ok()) << scalar.status();
  EXPECT_EQ(scalar->type().ToString(), "int64()");
  EXPECT_EQ(scalar->data<int64_t>()[0], 42);
  absl::StatusOr<Tensor> empty =
      LoadIdx(WriteFile(dir + "/empty", IdxBytes(0x08, {0, 28, 28}, "")));
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(empty->type().ToString(), "float32(0, 28, 28)");
}

// ---------------------------------------------------------------------------------------------
// Errors

TEST(LoadIdxTest, MissingFileIsNotFound) {
  const std::string path = TestDir() + "/nothing-idx3-ubyte";
  const absl::Status s = LoadError(path);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr(path));
}

TEST(LoadIdxTest, DirectoryIsInvalidArgument) {
  const std::string dir = TestDir();
  ExpectInvalid(dir, "is a directory, not a file");
}

TEST(LoadIdxTest, BadMagic) {
  const std::string dir = TestDir();
  ExpectInvalid(WriteFile(dir + "/zip", "PK\x03\x04 rest of a zip file"),
                "bad magic 50 4b 03 04 (an IDX file starts with 00 00 <type code> <rank>)");
  ExpectInvalid(WriteFile(dir + "/npy", "\x93NUMPY\x01\x00"), "bad magic 93 4e 55 4d");
  // The same inside a gzip file.
  ExpectInvalid(WriteFile(dir + "/text.gz", Gzip("hello, world")), "bad magic 68 65 6c 6c");
}

TEST(LoadIdxTest, UnsupportedTypeCode) {
  const std::string dir = TestDir();
  ExpectInvalid(WriteFile(dir + "/0a", IdxBytes(0x0A, {1}, "x")),
                "unsupported type code 0x0a (supported: 0x08 uint8, 0x09 int8, 0x0b int16, "
                "0x0c int32, 0x0d float32, 0x0e float64)");
  ExpectInvalid(WriteFile(dir + "/00", IdxBytes(0x00, {1}, "x")), "unsupported type code 0x00");
}

TEST(LoadIdxTest, TruncatedHeader) {
  const std::string dir = TestDir();
  ExpectInvalid(WriteFile(dir + "/empty", ""), "truncated: the file holds 0 bytes");
  ExpectInvalid(WriteFile(dir + "/two", Bytes({0, 0})), "less than the 4-byte magic");
  ExpectInvalid(WriteFile(dir + "/dims", IdxBytes(0x08, {60000, 28, 28}, "").substr(0, 10)),
                "truncated header: rank 3 needs 16 header bytes, the file holds 10");
}

TEST(LoadIdxTest, TruncatedData) {
  const std::string dir = TestDir();
  const std::string cut = IdxBytes(0x08, {2, 3, 4}, PixelBytes().substr(0, 20));
  ExpectInvalid(WriteFile(dir + "/raw", cut),
                "truncated data: the header gives uint8 shape (2, 3, 4), 24 bytes of data, but "
                "the file holds 20");
  ExpectInvalid(WriteFile(dir + "/gz", Gzip(cut)),
                "24 bytes of data, but the decompressed data holds 20");
  ExpectInvalid(WriteFile(dir + "/i16", IdxBytes(0x0B, {3}, BigEndian(1, 2) + BigEndian(2, 2))),
                "int16 shape (3,), 6 bytes of data, but the file holds 4");
  // Dimensions whose product overflows: an error, not a huge allocation.
  ExpectInvalid(WriteFile(dir + "/huge", IdxBytes(0x0E, {0xffffffff, 0xffffffff, 0xffffffff}, "")),
                "the header gives float64 shape (4294967295, 4294967295, 4294967295), too large to "
                "load: shape (4294967295, 4294967295, 4294967295) of float64 has more than 2^63 - 1 "
                "bytes: the product of its non-zero dimensions and the element size overflows "
                "int64; the file holds 16 bytes");
  ExpectInvalid(WriteFile(dir + "/large", IdxBytes(0x08, {60000, 28, 28}, "")),
                "47040000 bytes of data, but the file holds 0");
}

// Hardening (issue 11): sizes are counted with Shape's overflow checks in the output dtype and
// compared with the real size before allocating; gzip output is bounded by the header.

TEST(LoadIdxTest, ShapesThatOverflowInTheOutputDTypeAreRejected) {
  const std::string dir = TestDir();
  // uint8 images are read as float32: 4 bytes per element in memory.
  ExpectInvalid(WriteFile(dir + "/u8", IdxBytes(0x08, {0xffffffff, 0xffffffff}, "")),
                "of float32 has more than 2^63 - 1 bytes");
  // A zero dimension does not excuse the others (NumPy's rule): (0, 2^32-1, 2^32-1, 2^32-1) used
  // to load as an empty tensor whose row size overflowed; now it is an error, not an abort.
  ExpectInvalid(
      WriteFile(dir + "/zero_first", IdxBytes(0x08, {0, 0xffffffff, 0xffffffff, 0xffffffff}, "")),
      "the product of its non-zero dimensions and the element size overflows int64");
  ExpectInvalid(
      WriteFile(dir + "/zero_last", IdxBytes(0x08, {0xffffffff, 0xffffffff, 0xffffffff, 0}, "")),
      "overflows int64");
}

TEST(LoadIdxTest, LargeClaimsInSmallFilesAreRejectedBeforeAllocating) {
  const std::string dir = TestDir();
  // 2^32-1 int64 labels would be 32 GiB in memory; the file holds 5 bytes of data.
  ExpectInvalid(WriteFile(dir + "/labels", IdxBytes(0x08, {0xffffffff}, "12345")),
                "truncated data: the header gives uint8 shape (4294967295,), 4294967295 bytes of "
                "data, but the file holds 5");
  ExpectInvalid(WriteFile(dir + "/images", IdxBytes(0x0D, {65536, 65536}, "abcd")),
                "float32 shape (65536, 65536), 17179869184 bytes of data, but the file holds 4");
}

TEST(LoadIdxTest, EmptyArraysWithLargeDimensionsLoad) {
  const std::string path = WriteFile(TestDir() + "/empty", IdxBytes(0x08, {0, 65536, 65536}, ""));
  absl::StatusOr<Tensor> t = LoadIdx(path);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->shape(), (Shape{0, 65536, 65536}));
  EXPECT_EQ(t->nbytes(), 0u);
}

TEST(LoadIdxTest, GzipOutputIsBoundedByTheHeader) {
  const std::string dir = TestDir();
  // 16 MiB of zeros after a valid (2, 3, 4) image: decompression stops after the first chunk
  // instead of inflating all of it.
  const std::string bomb =
      Gzip(IdxBytes(0x08, {2, 3, 4}, PixelBytes() + std::string(16 << 20, '\0')));
  ASSERT_LT(bomb.size(), 64u << 10);
  const absl::Status s = LoadError(WriteFile(dir + "/bomb.gz", bomb));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("bytes after the data (the header gives uint8 "
                                                  "shape (2, 3, 4), 24 bytes); decompression "
                                                  "stopped there"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("at least "));
  EXPECT_THAT(std::string(s.message()), ::testing::Not(HasSubstr("16777216")));
  // An invalid header stops decompression at once too.
  ExpectInvalid(WriteFile(dir + "/bad_magic.gz", Gzip("XXXX" + std::string(16 << 20, '\0'))),
                "bad magic 58 58 58 58");
}

TEST(LoadIdxTest, ParseIdxReadsBytesInMemory) {
  const std::string raw = IdxBytes(0x08, {2, 3, 4}, PixelBytes());
  for (const std::string& bytes : {raw, Gzip(raw)}) {
    absl::StatusOr<Tensor> t = ParseIdx(bytes);
    ASSERT_TRUE(t.ok()) << t.status();
    EXPECT_EQ(t->shape(), (Shape{2, 3, 4}));
    EXPECT_THAT(Values<float>(*t), ElementsAreArray(PixelValues()));
  }
  absl::StatusOr<Tensor> bad = ParseIdx(raw.substr(0, 20), "train-images");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()),
              HasSubstr("train-images: not a readable IDX file: truncated data"));
  bad = ParseIdx("");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("<memory>: not a readable IDX file"));
}

TEST(LoadIdxTest, BytesAfterTheData) {
  ExpectInvalid(WriteFile(TestDir() + "/long", IdxBytes(0x08, {2, 3, 4}, PixelBytes() + "xyz")),
                "3 bytes after the data (the header gives uint8 shape (2, 3, 4), 24 bytes)");
}

TEST(LoadIdxTest, CorruptGzip) {
  const std::string dir = TestDir();
  const std::string gz = Gzip(IdxBytes(0x08, {2, 3, 4}, PixelBytes()));
  // Byte 10 opens the first deflate block (no file name in the header): BFINAL = 1 with the
  // reserved block type 11.
  std::string bad_block = gz;
  bad_block[10] = 0x07;
  ExpectInvalid(WriteFile(dir + "/block.gz", bad_block),
                "gzip decompression failed: the data is corrupt (zlib: invalid block type)");
  // A wrong CRC-32 in the trailer.
  std::string bad_crc = gz;
  bad_crc[gz.size() - 8] ^= 0x01;
  ExpectInvalid(WriteFile(dir + "/crc.gz", bad_crc), "(zlib: incorrect data check)");
}

TEST(LoadIdxTest, TruncatedGzip) {
  const std::string dir = TestDir();
  const std::string gz = Gzip(IdxBytes(0x08, {2, 3, 4}, PixelBytes()));
  for (size_t keep : {size_t{2}, size_t{12}, gz.size() - 4, gz.size() - 1}) {
    SCOPED_TRACE(keep);
    ExpectInvalid(WriteFile(dir + "/cut.gz", gz.substr(0, keep)),
                  "gzip decompression failed: the gzip stream is truncated");
  }
}

TEST(LoadIdxTest, GarbageAfterTheGzipStream) {
  const std::string gz = Gzip(IdxBytes(0x08, {2, 3, 4}, PixelBytes()));
  ExpectInvalid(WriteFile(TestDir() + "/trailing.gz", gz + "junk"),
                "gzip decompression failed: 4 bytes after the end of the gzip stream");
}

}  // namespace
}  // namespace graft::io
