// Tests for io/npy.h: round trips, the headers NumPy writes (format 1.0, 2.0, 3.0), every
// rejection path, and the write-to-temp-then-rename contract of SaveNpy.
#include "io/npy.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "graph/tensor.h"
#include "gtest/gtest.h"

namespace graft::io {
namespace {

using ::testing::HasSubstr;

// A fresh directory under TEST_TMPDIR (or /tmp when run outside Bazel) for one test.
std::string TestDir() {
  const char* root = std::getenv("TEST_TMPDIR");
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = absl::StrCat(info->test_suite_name(), "_", info->name());
  for (char& ch : name) {
    if (ch == '/') ch = '_';
  }
  const std::string dir = absl::StrCat(root ? root : "/tmp", "/npy_test/", name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

std::string ReadBytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void WriteBytes(const std::string& path, absl::string_view bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(f.good()) << path;
}

// A complete .npy file as NumPy writes it: magic, version, little-endian header length (2 bytes
// for version 1, 4 for versions 2 and 3), the dict padded with spaces and ended by '\n' so that
// the data starts at a multiple of 64, then the data.
std::string NpyFile(int major, absl::string_view dict, absl::string_view data) {
  const size_t len_bytes = major == 1 ? 2 : 4;
  std::string header(dict);
  const size_t unpadded = 8 + len_bytes + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header.push_back('\n');
  std::string out("\x93NUMPY", 6);
  out.push_back(static_cast<char>(major));
  out.push_back('\0');
  for (size_t i = 0; i < len_bytes; ++i) out.push_back(static_cast<char>(header.size() >> (8 * i)));
  return out + header + std::string(data);
}

template <typename T>
std::string Bytes(const std::vector<T>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

::testing::AssertionResult SameTensor(const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype()) {
    return ::testing::AssertionFailure()
           << "dtype " << DTypeName(a.dtype()) << " vs " << DTypeName(b.dtype());
  }
  if (a.shape() != b.shape()) {
    return ::testing::AssertionFailure()
           << "shape " << a.shape().ToString() << " vs " << b.shape().ToString();
  }
  if (a.nbytes() > 0 && std::memcmp(a.raw_data(), b.raw_data(), a.nbytes()) != 0) {
    return ::testing::AssertionFailure() << "data differ";
  }
  return ::testing::AssertionSuccess();
}

// A tensor of the dtype and shape with distinct values (negative ones, and for floats a NaN and
// infinities too, which must survive bit for bit).
Tensor Example(DType dtype, const Shape& shape) {
  Tensor t(dtype, shape);
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    const double v = (i % 2 ? -1.0 : 1.0) * (i * 7 % 13) + 0.25 * (i % 4);
    switch (dtype) {
      case DType::kF32:
        t.data<float>()[i] = static_cast<float>(v);
        break;
      case DType::kF64:
        t.data<double>()[i] = v / 3.0;
        break;
      case DType::kI32:
        t.data<int32_t>()[i] = static_cast<int32_t>(-100000 * i + 7);
        break;
      case DType::kI64:
        t.data<int64_t>()[i] = (int64_t{1} << 40) * (i + 1) - 3;
        break;
    }
  }
  if (t.num_elements() >= 3 && dtype == DType::kF32) {
    t.data<float>()[0] = std::numeric_limits<float>::quiet_NaN();
    t.data<float>()[1] = std::numeric_limits<float>::infinity();
    t.data<float>()[2] = -std::numeric_limits<float>::infinity();
  }
  if (t.num_elements() >= 2 && dtype == DType::kF64) {
    t.data<double>()[0] = std::numeric_limits<double>::quiet_NaN();
    t.data<double>()[1] = -0.0;
  }
  return t;
}

// ---------------------------------------------------------------------------------------------
// Round trips.

struct RoundTripCase {
  DType dtype;
  Shape shape;
};

class NpyRoundTripTest : public ::testing::TestWithParam<RoundTripCase> {};

TEST_P(NpyRoundTripTest, SaveThenLoadGivesTheSameTensor) {
  const RoundTripCase& c = GetParam();
  const std::string path = TestDir() + "/a.npy";
  const Tensor t = Example(c.dtype, c.shape);
  ASSERT_TRUE(SaveNpy(path, t).ok());
  absl::StatusOr<Tensor> back = LoadNpy(path);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(SameTensor(*back, t));
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp")) << "the temporary file was left behind";
}

std::vector<RoundTripCase> RoundTripCases() {
  std::vector<RoundTripCase> cases;
  for (DType d : {DType::kF32, DType::kF64, DType::kI32, DType::kI64}) {
    for (const Shape& s :
         {Shape{}, Shape{1}, Shape{7}, Shape{2, 3}, Shape{2, 3, 4}, Shape{0}, Shape{4, 0, 3}}) {
      cases.push_back({d, s});
    }
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(AllDTypesAndRanks, NpyRoundTripTest, ::testing::ValuesIn(RoundTripCases()),
                         [](const ::testing::TestParamInfo<RoundTripCase>& info) {
                           std::string name(DTypeName(info.param.dtype));
                           name += "_rank" + std::to_string(info.param.shape.rank());
                           for (int64_t d : info.param.shape.dims()) {
                             name += "_" + std::to_string(d);
                           }
                           return name;
                         });

TEST(NpySaveTest, WritesTheHeaderNumPyWrites) {
  const std::string path = TestDir() + "/a.npy";
  ASSERT_TRUE(SaveNpy(path, Example(DType::kF32, Shape{2, 3})).ok());
  const std::string bytes = ReadBytes(path);
  ASSERT_GE(bytes.size(), 10u);
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  const size_t header_len =
      static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
  EXPECT_EQ((10 + header_len) % 64, 0u) << "data must start 64-byte aligned";
  ASSERT_EQ(bytes.size(), 10 + header_len + 6 * 4);
  const std::string header = bytes.substr(10, header_len);
  EXPECT_EQ(header.back(), '\n');
  EXPECT_EQ(header.rfind("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 0), 0u)
      << header;
}

TEST(NpySaveTest, RankOneAndRankZeroShapesUsePythonTupleSyntax) {
  const std::string dir = TestDir();
  ASSERT_TRUE(SaveNpy(dir + "/r1.npy", Example(DType::kI64, Shape{5})).ok());
  ASSERT_TRUE(SaveNpy(dir + "/r0.npy", Tensor::Scalar<double>(2.5)).ok());
  EXPECT_NE(ReadBytes(dir + "/r1.npy").find("'shape': (5,)"), std::string::npos);
  EXPECT_NE(ReadBytes(dir + "/r0.npy").find("'shape': ()"), std::string::npos);
  absl::StatusOr<Tensor> scalar = LoadNpy(dir + "/r0.npy");
  ASSERT_TRUE(scalar.ok()) << scalar.status();
  EXPECT_EQ(scalar->shape().rank(), 0);
  EXPECT_EQ(scalar->data<double>()[0], 2.5);
}

// ---------------------------------------------------------------------------------------------
// Headers written by NumPy (hand-made here: no Python at test time).

TEST(NpyLoadTest, ReadsFormatVersion1) {
  const std::string path = TestDir() + "/v1.npy";
  const std::vector<float> v = {1, 2, 3, 4, 5, 6};
  WriteBytes(path,
             NpyFile(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", Bytes(v)));
  absl::StatusOr<Tensor> t = LoadNpy(path);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_TRUE(SameTensor(*t, Tensor::FromVector<float>(Shape{2, 3}, v)));
}

TEST(NpyLoadTest, ReadsFormatVersion2) {
  // NumPy writes version 2.0 when the header exceeds 65535 bytes (e.g. structured dtypes with
  // many fields); its header length field has 4 bytes.
  const std::string path = TestDir() + "/v2.npy";
  const std::vector<int64_t> v = {-1, 0, 1, int64_t{1} << 50};
  const std::string file =
      NpyFile(2, "{'descr': '<i8', 'fortran_order': False, 'shape': (4,), }", Bytes(v));
  ASSERT_EQ(file.substr(0, 8), std::string("\x93NUMPY\x02\x00", 8));
  ASSERT_EQ(file.size() % 64, 32u) << "12-byte preamble + header is a multiple of 64";
  WriteBytes(path, file);
  absl::StatusOr<Tensor> t = LoadNpy(path);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_TRUE(SameTensor(*t, Tensor::FromVector<int64_t>(Shape{4}, v)));
}

TEST(NpyLoadTest, ReadsFormatVersion2WithAHeaderLongerThan65535Bytes) {
  const std::string path = TestDir() + "/v2_long.npy";
  const std::vector<double> v = {0.5, -0.25};
  const std::string dict =
      "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }" + std::string(70000, ' ');
  WriteBytes(path, NpyFile(2, dict, Bytes(v)));
  absl::StatusOr<Tensor> t = LoadNpy(path);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_TRUE(SameTensor(*t, Tensor::FromVector<double>(Shape{2}, v)));
}

TEST(NpyLoadTest, ReadsFormatVersion3) {
  const std::string path = TestDir() + "/v3.npy";
  const std::vector<int32_t> v = {7, -8, 9};
  WriteBytes(path,
             NpyFile(3, "{'descr': '<i4', 'fortran_order': False, 'shape': (3, 1), }", Bytes(v)));
  absl::StatusOr<Tensor> t = LoadNpy(path);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_TRUE(SameTensor(*t, Tensor::FromVector<int32_t>(Shape{3, 1}, v)));
}

TEST(NpyLoadTest, AcceptsKeysInAnyOrderAndCompactSpacing) {
  const std::string path = TestDir() + "/order.npy";
  const std::vector<float> v = {1.5f, 2.5f};
  WriteBytes(path, NpyFile(1, "{'shape':(1,2),'fortran_order':False,'descr':'<f4'}", Bytes(v)));
  absl::StatusOr<Tensor> t = LoadNpy(path);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_TRUE(SameTensor(*t, Tensor::FromVector<float>(Shape{1, 2}, v)));
}

// ---------------------------------------------------------------------------------------------
// Rejections: every one is InvalidArgument and names the file.

void ExpectInvalid(const std::string& path, absl::string_view what) {
  absl::StatusOr<Tensor> t = LoadNpy(path);
  ASSERT_FALSE(t.ok()) << path << " loaded as " << t->type().ToString();
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument) << t.status();
  EXPECT_THAT(std::string(t.status().message()), HasSubstr(path));
  EXPECT_THAT(std::string(t.status().message()), HasSubstr(std::string(what)));
}

TEST(NpyLoadTest, MissingFileIsNotFound) {
  const std::string path = TestDir() + "/absent.npy";
  absl::StatusOr<Tensor> t = LoadNpy(path);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(t.status().message()), HasSubstr(path));
}

TEST(NpyLoadTest, TruncatedDataIsRejected) {
  const std::string path = TestDir() + "/trunc.npy";
  ASSERT_TRUE(SaveNpy(path, Example(DType::kF64, Shape{3, 4})).ok());
  std::string bytes = ReadBytes(path);
  WriteBytes(path, bytes.substr(0, bytes.size() - 5));
  ExpectInvalid(path, "truncated data");
}

TEST(NpyLoadTest, TruncatedHeaderIsRejected) {
  const std::string path = TestDir() + "/trunc_header.npy";
  ASSERT_TRUE(SaveNpy(path, Example(DType::kF32, Shape{3})).ok());
  WriteBytes(path, ReadBytes(path).substr(0, 30));
  ExpectInvalid(path, "truncated header");
}

TEST(NpyLoadTest, TruncatedPreambleIsRejected) {
  const std::string dir = TestDir();
  WriteBytes(dir + "/short.npy", std::string("\x93NUM", 4));
  ExpectInvalid(dir + "/short.npy", "preamble");
  WriteBytes(dir + "/empty.npy", "");
  ExpectInvalid(dir + "/empty.npy", "preamble");
  WriteBytes(dir + "/no_len.npy", std::string("\x93NUMPY\x01\x00\x10", 9));
  ExpectInvalid(dir + "/no_len.npy", "header length");
}

TEST(NpyLoadTest, BadMagicIsRejected) {
  const std::string dir = TestDir();
  std::string file = NpyFile(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }",
                             Bytes(std::vector<float>{1}));
  file[1] = 'n';  // "\x93nUMPY"
  WriteBytes(dir + "/magic.npy", file);
  ExpectInvalid(dir + "/magic.npy", "magic");
  WriteBytes(dir + "/text.npy", "x,y\n1,2\n3,4\n");
  ExpectInvalid(dir + "/text.npy", "magic");
}

TEST(NpyLoadTest, UnsupportedFormatVersionIsRejected) {
  const std::string path = TestDir() + "/v4.npy";
  WriteBytes(path, NpyFile(4, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }",
                           Bytes(std::vector<float>{1})));
  ExpectInvalid(path, "version 4");
}

TEST(NpyLoadTest, UnsupportedDTypesAreRejected) {
  const std::string dir = TestDir();
  // float16, big-endian float32, bool, uint8, complex64, a unicode string.
  for (const char* descr : {"<f2", ">f4", "|b1", "|u1", "<c8", "<U3"}) {
    const std::string path = absl::StrCat(dir, "/", std::string(descr).substr(1), "_",
                                          descr[0] == '>' ? "be" : "le", ".npy");
    WriteBytes(path, NpyFile(1,
                             absl::StrCat("{'descr': '", descr,
                                          "', 'fortran_order': False, 'shape': (2,), }"),
                             std::string(16, '\0')));
    SCOPED_TRACE(descr);
    ExpectInvalid(path, absl::StrCat("dtype '", descr, "' is not supported"));
  }
}

TEST(NpyLoadTest, FortranOrderIsRejected) {
  const std::string path = TestDir() + "/fortran.npy";
  WriteBytes(path, NpyFile(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }",
                           Bytes(std::vector<float>(6, 1.0f))));
  ExpectInvalid(path, "Fortran-order");
}

TEST(NpyLoadTest, UnparsableShapeIsRejected) {
  const std::string dir = TestDir();
  for (const char* shape : {"(2, -3)", "(2, x)", "[2, 3]"}) {
    SCOPED_TRACE(shape);
    const std::string path = absl::StrCat(dir, "/shape", shape[1] == '2' ? "" : "_list", ".npy");
    WriteBytes(
        path,
        NpyFile(1, absl::StrCat("{'descr': '<f4', 'fortran_order': False, 'shape': ", shape, ", }"),
                std::string(24, '\0')));
    ExpectInvalid(path, "cannot parse shape");
  }
}

// ---------------------------------------------------------------------------------------------
// Hardening (issue 11): sizes in the header are checked against the file before anything is
// allocated, with overflow-checked counts; a directory is named as one.

// A .npy file whose header claims `shape` (text) of float32 but holds `data_bytes` bytes.
std::string Claim(absl::string_view shape, size_t data_bytes = 0, const char* descr = "<f4") {
  return NpyFile(1,
                 absl::StrCat("{'descr': '", descr, "', 'fortran_order': False, 'shape': ", shape,
                              ", }"),
                 std::string(data_bytes, '\0'));
}

TEST(NpyHardeningTest, TerabyteShapeIsAnErrorNotAnAbort) {
  // Was: Tensor's allocation threw std::bad_alloc out of LoadNpy and aborted the process.
  const std::string path = TestDir() + "/tera.npy";
  WriteBytes(path, Claim("(1099511627776,)", 24));  // 2^40 float32 = 4 TiB
  ExpectInvalid(path,
                "truncated data: the header gives float32 shape (1099511627776,), 4398046511104 "
                "bytes of data, but the file holds 24 bytes after its 128-byte header (152 in all)");
}

// The process's current virtual memory size in bytes (Linux).
size_t VirtualMemoryBytes() {
  std::ifstream statm("/proc/self/statm");
  size_t pages = 0;
  statm >> pages;
  return pages * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

TEST(NpyHardeningTest, ShortFileClaimingAGigabyteAllocatesNothing) {
  // Was: a file of a few bytes claiming 1 GiB allocated and zeroed 1 GiB before noticing the
  // file was short. In a child process whose address space allows 256 MiB more than it uses, LoadNpy
  // must still return the error (an allocation of 1 GiB would fail and abort).
  const std::string path = TestDir() + "/giga.npy";
  WriteBytes(path, Claim("(268435456,)", 24));  // 2^28 float32 = 1 GiB
  ASSERT_EQ(ReadBytes(path).size(), 152u);
  EXPECT_EXIT(
      {
        struct rlimit limit;
        limit.rlim_cur = limit.rlim_max = VirtualMemoryBytes() + (size_t{256} << 20);
        setrlimit(RLIMIT_AS, &limit);
        absl::StatusOr<Tensor> t = LoadNpy(path);
        std::fprintf(stderr, "%s\n", t.status().ToString().c_str());
        std::exit(!t.ok() && t.status().code() == absl::StatusCode::kInvalidArgument ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "1073741824 bytes of data, but the file holds 24 bytes");
}

TEST(NpyHardeningTest, ShapesWhoseByteCountOverflowsAreRejected) {
  // Was: (2^32, 2^32) and (2^62,) overflowed int64 in the element count, "loaded" with 0 bytes,
  // and the first read segfaulted.
  const std::string dir = TestDir();
  int i = 0;
  for (const char* shape : {"(4294967296, 4294967296)", "(4611686018427387904,)",
                            "(2305843009213693952,)", "(9223372036854775807,)",
                            "(3037000500, 3037000500)", "(0, 4294967296, 4294967296)"}) {
    SCOPED_TRACE(shape);
    const std::string path = absl::StrCat(dir, "/overflow", i++, ".npy");
    WriteBytes(path, Claim(shape, 64));
    ExpectInvalid(path, "the header's shape is too large to load: shape ");
    ExpectInvalid(path, "overflows int64; the file holds ");
  }
  // A size beyond int64 does not parse at all.
  WriteBytes(dir + "/beyond.npy", Claim("(99999999999999999999,)", 8));
  ExpectInvalid(dir + "/beyond.npy", "cannot parse shape (99999999999999999999,)");
}

TEST(NpyHardeningTest, EmptyArraysWithLargeDimensionsStillLoad) {
  const std::string path = TestDir() + "/empty.npy";
  WriteBytes(path, Claim("(0, 1099511627776)", 0));  // 0 elements; 2^40 fits
  absl::StatusOr<Tensor> t = LoadNpy(path);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->shape(), (Shape{0, int64_t{1} << 40}));
  EXPECT_EQ(t->num_elements(), 0);
  EXPECT_EQ(t->nbytes(), 0u);
}

TEST(NpyHardeningTest, HeaderLengthBeyondTheFileIsRejected) {
  const std::string path = TestDir() + "/header_len.npy";
  std::string file = Claim("(2,)", 8);
  file[8] = '\xff';
  file[9] = '\xff';  // a 65535-byte header in a 136-byte file
  WriteBytes(path, file);
  ExpectInvalid(path,
                "truncated header: the preamble gives a 65535-byte header, but the file holds 126 "
                "bytes after the preamble (136 in all)");
  std::string v2("\x93NUMPY\x02\x00\xff\xff\xff\xff", 12);  // a 4 GiB header
  WriteBytes(path, v2 + "{}");
  ExpectInvalid(path, "the preamble gives a 4294967295-byte header, but the file holds 2 bytes");
}

TEST(NpyHardeningTest, DirectoryIsNamedAsOne) {
  // Was: "shorter than the 8-byte preamble".
  const std::string dir = TestDir() + "/data.npy";
  std::filesystem::create_directory(dir);
  ExpectInvalid(dir, "is a directory, not a file");
}

TEST(NpyHardeningTest, MalformedTuplesAreRejected) {
  const std::string dir = TestDir();
  int i = 0;
  for (const char* shape : {"(,)", "(2,,3)", "(2, 3,,)", "(,2)", "(2 3)", "(+-2,)"}) {
    SCOPED_TRACE(shape);
    const std::string path = absl::StrCat(dir, "/tuple", i++, ".npy");
    WriteBytes(path, Claim(shape, 24));
    ExpectInvalid(path, "cannot parse shape");
  }
}

TEST(NpyHardeningTest, ParseNpyReadsBytesInMemory) {
  const std::string path = TestDir() + "/a.npy";
  const Tensor t = Example(DType::kI32, Shape{3, 2});
  ASSERT_TRUE(SaveNpy(path, t).ok());
  absl::StatusOr<Tensor> back = ParseNpy(ReadBytes(path));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(SameTensor(*back, t));
  // Trailing bytes are ignored, as NumPy does.
  back = ParseNpy(ReadBytes(path) + "tail", "x.npy");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(SameTensor(*back, t));
  // Errors name the source given, "<memory>" by default.
  absl::StatusOr<Tensor> bad = ParseNpy(Claim("(1099511627776,)", 24));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.status().message()),
              HasSubstr("<memory>: not a readable .npy file: truncated data"));
  bad = ParseNpy(std::string("\x93NU", 4), "weights.npy");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()),
              HasSubstr("weights.npy: not a readable .npy file: the file holds 4 bytes, shorter "
                        "than the 8-byte preamble"));
}

// ---------------------------------------------------------------------------------------------
// SaveNpy writes "<path>.tmp" and renames it into place.

TEST(NpySaveTest, ReplacesTheFileByRenameNotInPlace) {
  // A second hard link to the old file keeps the old bytes only if SaveNpy renamed a new file
  // over the name; writing through the old inode (truncate + write) would change both.
  const std::string dir = TestDir();
  const std::string path = dir + "/a.npy";
  const Tensor old_t = Example(DType::kF32, Shape{4});
  ASSERT_TRUE(SaveNpy(path, old_t).ok());
  std::filesystem::create_hard_link(path, dir + "/old_link.npy");
  const Tensor new_t = Example(DType::kI64, Shape{2, 2});
  ASSERT_TRUE(SaveNpy(path, new_t).ok());
  absl::StatusOr<Tensor> now = LoadNpy(path);
  absl::StatusOr<Tensor> old = LoadNpy(dir + "/old_link.npy");
  ASSERT_TRUE(now.ok() && old.ok());
  EXPECT_TRUE(SameTensor(*now, new_t));
  EXPECT_TRUE(SameTensor(*old, old_t));
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}

TEST(NpySaveTest, FailedSaveLeavesTheExistingFileUntouched) {
  // A file-size limit makes the write of the temporary file fail (even as root).
  const std::string dir = TestDir();
  const std::string path = dir + "/a.npy";
  const Tensor old_t = Example(DType::kF64, Shape{3});
  ASSERT_TRUE(SaveNpy(path, old_t).ok());
  const std::string before = ReadBytes(path);
  struct rlimit old_limit;
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  struct rlimit small = old_limit;
  small.rlim_cur = 256;
  signal(SIGXFSZ, SIG_IGN);
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  absl::Status s = SaveNpy(path, Example(DType::kF32, Shape{100}));
  setrlimit(RLIMIT_FSIZE, &old_limit);
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.message()), HasSubstr(path));
  EXPECT_EQ(ReadBytes(path), before);
  // The failed temporary file was removed.
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    files += e.path().filename().string().rfind("a.npy", 0) == 0;
  }
  EXPECT_EQ(files, 1);
}

TEST(NpySaveTest, FailedSaveIntoAReadOnlyDirectoryLeavesTheExistingFileUntouched) {
  if (geteuid() == 0) GTEST_SKIP() << "root ignores directory permissions";
  const std::string dir = TestDir() + "/ro";
  std::filesystem::create_directory(dir);
  const std::string path = dir + "/a.npy";
  ASSERT_TRUE(SaveNpy(path, Example(DType::kI32, Shape{5})).ok());
  const std::string before = ReadBytes(path);
  ASSERT_EQ(chmod(dir.c_str(), 0555), 0);
  absl::Status s = SaveNpy(path, Example(DType::kF32, Shape{100}));
  chmod(dir.c_str(), 0755);
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.message()), HasSubstr(path));
  EXPECT_EQ(ReadBytes(path), before);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}

TEST(NpySaveTest, SaveIntoAMissingDirectoryFails) {
  const std::string path = TestDir() + "/no/such/dir/a.npy";
  absl::Status s = SaveNpy(path, Example(DType::kF32, Shape{2}));
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.message()), HasSubstr(path));
  EXPECT_FALSE(std::filesystem::exists(path));
}

}  // namespace
}  // namespace graft::io
