// Tests for keras/datasets: SensorFaults (determinism, shapes, balance, that the labels match
// the data), LoadDna, LoadMnist and LoadFashionMnist (on fixtures written here; the real data
// is not needed, though the MNIST tests check it too when $GRAFT_DATA_DIR points at it).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "graph/tensor.h"
#include "gtest/gtest.h"
#include "io/npy.h"
#include "keras/datasets/data_dir.h"
#include "keras/datasets/dna.h"
#include "keras/datasets/mnist.h"
#include "keras/datasets/sensor_faults.h"
#include "tests/io/idx_fixtures.h"

namespace graft::keras::datasets {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

bool BitwiseEqual(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() &&
         std::memcmp(a.raw_data(), b.raw_data(), a.nbytes()) == 0;
}

// FNV-1a over the tensor's bytes.
uint64_t Fingerprint(const Tensor& t) {
  uint64_t h = 0xcbf29ce484222325ULL;
  const auto* p = static_cast<const unsigned char*>(t.raw_data());
  for (size_t i = 0; i < t.nbytes(); ++i) h = (h ^ p[i]) * 0x100000001b3ULL;
  return h;
}

// ---------------------------------------------------------------------------------------------
// SensorFaults

constexpr SensorFaultsOptions kSmall = {.num_train = 64, .num_test = 32, .steps = 40};

// Under `bazel run` the working directory is the runfiles tree: a relative data directory that
// is not there is looked up in the checkout (BUILD_WORKSPACE_DIRECTORY).
TEST(DataDirTest, RelativeDirectoryFallsBackToTheCheckout) {
  const std::string root = ::testing::TempDir() + "/checkout";
  std::filesystem::create_directories(root + "/data/mnist_x");
  EXPECT_EQ(keras::datasets::ResolveDataDir("data/mnist_x/"), "data/mnist_x");
  setenv("BUILD_WORKSPACE_DIRECTORY", root.c_str(), 1);
  EXPECT_EQ(keras::datasets::ResolveDataDir("data/mnist_x/"), root + "/data/mnist_x");
  EXPECT_EQ(keras::datasets::ResolveDataDir("data/absent"), "data/absent");  // error names it
  EXPECT_EQ(keras::datasets::ResolveDataDir("/abs/path"), "/abs/path");
  EXPECT_EQ(keras::datasets::ResolveDataDir(""), ".");
  unsetenv("BUILD_WORKSPACE_DIRECTORY");
}

TEST(SensorFaultsTest, DefaultShapesAndDTypes) {
  const Split s = SensorFaults();
  EXPECT_EQ(s.x_train.type().ToString(), "float32(2000, 100, 3)");
  EXPECT_EQ(s.y_train.type().ToString(), "float32(2000, 1)");
  EXPECT_EQ(s.x_test.type().ToString(), "float32(1000, 100, 3)");
  EXPECT_EQ(s.y_test.type().ToString(), "float32(1000, 1)");
}

TEST(SensorFaultsTest, SameOptionsGiveBitwiseIdenticalTensors) {
  const Split a = SensorFaults();
  const Split b = SensorFaults();
  EXPECT_TRUE(BitwiseEqual(a.x_train, b.x_train));
  EXPECT_TRUE(BitwiseEqual(a.y_train, b.y_train));
  EXPECT_TRUE(BitwiseEqual(a.x_test, b.x_test));
  EXPECT_TRUE(BitwiseEqual(a.y_test, b.y_test));
  EXPECT_FALSE(a.x_train.SharesStorageWith(b.x_train));
}

TEST(SensorFaultsTest, DifferentSeedsGiveDifferentData) {
  SensorFaultsOptions other = kSmall;
  other.seed = kSmall.seed + 1;
  const Split a = SensorFaults(kSmall);
  const Split b = SensorFaults(other);
  EXPECT_FALSE(BitwiseEqual(a.x_train, b.x_train));
  EXPECT_FALSE(BitwiseEqual(a.y_train, b.y_train));
  EXPECT_FALSE(BitwiseEqual(a.x_test, b.x_test));
  EXPECT_FALSE(BitwiseEqual(a.y_test, b.y_test));
}

TEST(SensorFaultsTest, TrainAndTestDifferAndTestDoesNotDependOnNumTrain) {
  SensorFaultsOptions more = kSmall;
  more.num_train = 100;
  const Split a = SensorFaults(kSmall);
  const Split b = SensorFaults(more);
  EXPECT_TRUE(BitwiseEqual(a.x_test, b.x_test));
  EXPECT_TRUE(BitwiseEqual(a.y_test, b.y_test));
  EXPECT_FALSE(BitwiseEqual(a.x_train.SliceRows(0, 32), a.x_test));
}

// Pins the generator: the same options must give these exact bytes on every machine and
// compiler. If you change the generator on purpose, update the constants (and say so: it changes
// every result reported on this dataset).
TEST(SensorFaultsTest, GoldenFingerprint) {
  const Split s = SensorFaults();
  EXPECT_EQ(Fingerprint(s.x_train), 0xab99e56c9713e42dULL);
  EXPECT_EQ(Fingerprint(s.y_train), 0xc9a8bc0ac9521805ULL);
  EXPECT_EQ(Fingerprint(s.x_test), 0x6e72e230edfd11edULL);
  EXPECT_EQ(Fingerprint(s.y_test), 0x7e19fb41e22e36d5ULL);
}

TEST(SensorFaultsTest, ClassesAreBalanced) {
  for (const SensorFaultsOptions& o :
       {SensorFaultsOptions{}, SensorFaultsOptions{.num_train = 101, .num_test = 7}}) {
    const Split s = SensorFaults(o);
    for (const Tensor* y : {&s.y_train, &s.y_test}) {
      const int64_t n = y->num_elements();
      int64_t ones = 0;
      for (int64_t i = 0; i < n; ++i) {
        const float v = y->data<float>()[i];
        ASSERT_TRUE(v == 0.0f || v == 1.0f) << "label " << v << " at row " << i;
        ones += v == 1.0f;
      }
      EXPECT_EQ(ones, n / 2);
      if (n >= 100) {
        EXPECT_NEAR(static_cast<double>(ones) / n, 0.5, 0.01);
      }
    }
  }
}

TEST(SensorFaultsTest, LabelsAreShuffled) {
  const Split s = SensorFaults(kSmall);
  const float* y = s.y_train.data<float>();
  int64_t changes = 0;
  for (int64_t i = 1; i < kSmall.num_train; ++i) changes += y[i] != y[i - 1];
  EXPECT_GT(changes, 10) << "labels look sorted";
}

TEST(SensorFaultsTest, ValuesAreFiniteAndOfSensorScale) {
  const Split s = SensorFaults();
  for (const Tensor* x : {&s.x_train, &s.x_test}) {
    double sum = 0, sum2 = 0, max_abs = 0;
    for (int64_t i = 0; i < x->num_elements(); ++i) {
      const double v = x->data<float>()[i];
      ASSERT_TRUE(std::isfinite(v)) << "element " << i;
      sum += v;
      sum2 += v * v;
      max_abs = std::max(max_abs, std::fabs(v));
    }
    const double mean = sum / x->num_elements();
    const double stddev = std::sqrt(sum2 / x->num_elements() - mean * mean);
    EXPECT_LT(std::fabs(mean), 0.1);
    EXPECT_GT(stddev, 0.3);
    EXPECT_LT(stddev, 2.0);
    EXPECT_LT(max_abs, 10.0);
  }
}

// Without noise a recording is smooth (|second difference| <= 4 sin^2(pi 0.03) = 0.036 from the
// sinusoid; the drift is linear) unless it has a fault: a jump, a burst or a faster oscillation
// all give second differences above 0.1. So the labels can be read off the data.
TEST(SensorFaultsTest, LabelsMatchTheDataWithoutNoise) {
  const SensorFaultsOptions o = {.num_train = 300, .num_test = 0, .noise = 0.0, .seed = 7};
  const Split s = SensorFaults(o);
  const float* x = s.x_train.data<float>();
  for (int64_t i = 0; i < o.num_train; ++i) {
    double max_d2 = 0;
    for (int64_t t = 1; t + 1 < o.steps; ++t) {
      for (int64_t c = 0; c < o.channels; ++c) {
        const auto at = [&](int64_t tt) { return double{x[(i * o.steps + tt) * o.channels + c]}; };
        max_d2 = std::max(max_d2, std::fabs(at(t + 1) - 2 * at(t) + at(t - 1)));
      }
    }
    if (s.y_train.data<float>()[i] == 1.0f) {
      EXPECT_GT(max_d2, 0.1) << "fault sample " << i << " looks clean";
    } else {
      EXPECT_LT(max_d2, 0.04) << "clean sample " << i << " looks faulty";
    }
  }
}

TEST(SensorFaultsTest, CustomGeometry) {
  const Split s = SensorFaults({.num_train = 10, .num_test = 3, .steps = 20, .channels = 5});
  EXPECT_EQ(s.x_train.shape(), (Shape{10, 20, 5}));
  EXPECT_EQ(s.y_train.shape(), (Shape{10, 1}));
  EXPECT_EQ(s.x_test.shape(), (Shape{3, 20, 5}));
  EXPECT_EQ(s.y_test.shape(), (Shape{3, 1}));
}

TEST(SensorFaultsTest, OutOfRangeOptionsAreClamped) {
  const Split s =
      SensorFaults({.num_train = -5, .num_test = 0, .steps = 0, .channels = -1, .noise = -1.0});
  EXPECT_EQ(s.x_train.shape(), (Shape{0, 1, 1}));
  EXPECT_EQ(s.y_train.shape(), (Shape{0, 1}));
  EXPECT_EQ(s.x_test.shape(), (Shape{0, 1, 1}));
  const Split tiny = SensorFaults({.num_train = 4, .num_test = 2, .steps = 1, .channels = 1});
  EXPECT_EQ(tiny.x_train.shape(), (Shape{4, 1, 1}));
  for (int64_t i = 0; i < 4; ++i) EXPECT_TRUE(std::isfinite(tiny.x_train.data<float>()[i]));
}

// ---------------------------------------------------------------------------------------------
// LoadDna

std::string TestDir() { return io::testing::TestDir("datasets_test"); }

// A one-hot-ish x (n, 60, 3) and labels cycling 0, 1, 2.
Tensor FixtureX(int64_t n) {
  Tensor x(DType::kF32, Shape{n, kDnaSteps, kDnaChannels});
  for (int64_t i = 0; i < n * kDnaSteps; ++i) {
    const int64_t base = (i * 7 + i / kDnaSteps) % 4;  // A C G T
    if (base < 3) x.data<float>()[i * kDnaChannels + base] = 1.0f;
  }
  return x;
}

Tensor FixtureY(int64_t n) {
  Tensor y(DType::kI64, Shape{n});
  for (int64_t i = 0; i < n; ++i) y.data<int64_t>()[i] = i % 3;
  return y;
}

void WriteFixture(const std::string& dir, const Tensor& x_train, const Tensor& y_train,
                  const Tensor& x_test, const Tensor& y_test) {
  ASSERT_TRUE(io::SaveNpy(dir + "/x_train.npy", x_train).ok());
  ASSERT_TRUE(io::SaveNpy(dir + "/y_train.npy", y_train).ok());
  ASSERT_TRUE(io::SaveNpy(dir + "/x_test.npy", x_test).ok());
  ASSERT_TRUE(io::SaveNpy(dir + "/y_test.npy", y_test).ok());
}

void ExpectHint(const absl::Status& s) {
  EXPECT_THAT(std::string(s.message()), HasSubstr("tools/dna_to_npy.sh"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("r-cran-mlbench"));
}

TEST(LoadDnaTest, MissingDirectoryIsNotFoundWithTheFix) {
  const std::string dir = TestDir() + "/no_such_dir";
  absl::StatusOr<Split> s = LoadDna(dir);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kNotFound) << s.status();
  EXPECT_THAT(std::string(s.status().message()), HasSubstr(dir));
  ExpectHint(s.status());
}

TEST(LoadDnaTest, DefaultDirectoryIsDataDna) {
  // Run from an empty directory, which has no data/dna.
  const std::filesystem::path cwd = std::filesystem::current_path();
  std::filesystem::current_path(TestDir());
  absl::StatusOr<Split> s = LoadDna();
  std::filesystem::current_path(cwd);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("data/dna"));
}

TEST(LoadDnaTest, LoadsAFixture) {
  const std::string dir = TestDir();
  const Tensor x_train = FixtureX(5), y_train = FixtureY(5);
  const Tensor x_test = FixtureX(4), y_test = FixtureY(4);
  WriteFixture(dir, x_train, y_train, x_test, y_test);
  for (const std::string& d : {dir, dir + "/"}) {
    absl::StatusOr<Split> s = LoadDna(d);
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_TRUE(BitwiseEqual(s->x_train, x_train));
    EXPECT_TRUE(BitwiseEqual(s->y_train, y_train));
    EXPECT_TRUE(BitwiseEqual(s->x_test, x_test));
    EXPECT_TRUE(BitwiseEqual(s->y_test, y_test));
  }
}

TEST(LoadDnaTest, MissingFileIsNotFoundNamingIt) {
  const std::string dir = TestDir();
  WriteFixture(dir, FixtureX(5), FixtureY(5), FixtureX(4), FixtureY(4));
  std::filesystem::remove(dir + "/y_test.npy");
  absl::StatusOr<Split> s = LoadDna(dir);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kNotFound) << s.status();
  EXPECT_THAT(std::string(s.status().message()), HasSubstr(dir + "/y_test.npy"));
  ExpectHint(s.status());
}

struct BadFixture {
  const char* name;
  Tensor x_train, y_train, x_test, y_test;
  const char* file;      // the file the message must name
  const char* expected;  // and a phrase it must contain
};

TEST(LoadDnaTest, WrongShapesDTypesOrLabelsAreInvalidArgument) {
  Tensor flat = Tensor(DType::kF32, Shape{5, 180});
  Tensor bad_label = FixtureY(4);
  bad_label.data<int64_t>()[2] = 3;
  const std::vector<BadFixture> cases = {
      {"x_flat", flat, FixtureY(5), FixtureX(4), FixtureY(4), "x_train.npy",
       "holds float32(5, 180); expected float32(N, 60, 3)"},
      {"x_4_channels", FixtureX(5), FixtureY(5), Tensor(DType::kF32, Shape{4, 60, 4}), FixtureY(4),
       "x_test.npy", "expected float32(N, 60, 3)"},
      {"x_float64", FixtureX(5).CastTo(DType::kF64), FixtureY(5), FixtureX(4), FixtureY(4),
       "x_train.npy", "holds float64(5, 60, 3)"},
      {"y_float32", FixtureX(5), FixtureY(5).CastTo(DType::kF32), FixtureX(4), FixtureY(4),
       "y_train.npy", "expected int64(N,)"},
      {"y_column", FixtureX(5), Tensor(DType::kI64, Shape{5, 1}), FixtureX(4), FixtureY(4),
       "y_train.npy", "holds int64(5, 1)"},
      {"row_mismatch", FixtureX(5), FixtureY(6), FixtureX(4), FixtureY(4), "y_train.npy",
       "has 5 rows but"},
      {"label_3", FixtureX(5), FixtureY(5), FixtureX(4), bad_label, "y_test.npy",
       "label 3 at row 2"},
  };
  for (const BadFixture& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string dir = TestDir() + "/" + c.name;
    std::filesystem::create_directories(dir);
    WriteFixture(dir, c.x_train, c.y_train, c.x_test, c.y_test);
    absl::StatusOr<Split> s = LoadDna(dir);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << s.status();
    EXPECT_THAT(std::string(s.status().message()), HasSubstr(dir + "/" + c.file));
    EXPECT_THAT(std::string(s.status().message()), HasSubstr(c.expected));
  }
}

TEST(LoadDnaTest, CorruptFileIsInvalidArgumentNamingIt) {
  const std::string dir = TestDir();
  WriteFixture(dir, FixtureX(5), FixtureY(5), FixtureX(4), FixtureY(4));
  std::filesystem::resize_file(dir + "/x_test.npy", 100);
  absl::StatusOr<Split> s = LoadDna(dir);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << s.status();
  EXPECT_THAT(std::string(s.status().message()), HasSubstr(dir + "/x_test.npy"));
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("truncated"));
  ExpectHint(s.status());
}

// ---------------------------------------------------------------------------------------------
// LoadMnist, LoadFashionMnist

using ::graft::io::testing::BigEndian;
using ::graft::io::testing::Gzip;
using ::graft::io::testing::IdxBytes;
using ::graft::io::testing::WriteFile;

constexpr int64_t kPixels = kMnistRows * kMnistCols;

// Pixel k of image i in a fixture: every value 0..255 occurs once n * 784 >= 256.
uint8_t FixturePixel(int64_t i, int64_t k) { return static_cast<uint8_t>((i * 31 + k) % 256); }

std::string ImagesIdx(int64_t n) {
  std::string pixels;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t k = 0; k < kPixels; ++k) pixels += static_cast<char>(FixturePixel(i, k));
  }
  return IdxBytes(0x08, {static_cast<uint32_t>(n), 28, 28}, pixels);
}

// Labels 9, 8, 7, ... (mod 10).
std::string LabelsIdx(int64_t n) {
  std::string labels;
  for (int64_t i = 0; i < n; ++i) labels += static_cast<char>(9 - i % 10);
  return IdxBytes(0x08, {static_cast<uint32_t>(n)}, labels);
}

// Writes the four files, each raw or (with `gzip`) as <name>.gz; `skip` names a file to leave
// out, `replace` one to write with other bytes.
struct ImageSetFixture {
  int64_t num_train = 3;
  int64_t num_test = 2;
  bool gzip = false;
  std::string skip;
  std::string replace;
  std::string replacement;
};

void WriteImageSet(const std::string& dir, const ImageSetFixture& f) {
  const std::pair<std::string, std::string> files[] = {
      {"train-images-idx3-ubyte", ImagesIdx(f.num_train)},
      {"train-labels-idx1-ubyte", LabelsIdx(f.num_train)},
      {"t10k-images-idx3-ubyte", ImagesIdx(f.num_test)},
      {"t10k-labels-idx1-ubyte", LabelsIdx(f.num_test)}};
  std::filesystem::create_directories(dir);
  for (const auto& [name, bytes] : files) {
    if (name == f.skip) continue;
    const std::string& content = name == f.replace ? f.replacement : bytes;
    if (f.gzip) {
      WriteFile(absl::StrCat(dir, "/", name, ".gz"), Gzip(content));
    } else {
      WriteFile(absl::StrCat(dir, "/", name), content);
    }
  }
}

void ExpectFixtureSplit(const Split& s, int64_t num_train, int64_t num_test) {
  EXPECT_EQ(s.x_train.type().ToString(), absl::StrCat("float32(", num_train, ", 28, 28, 1)"));
  EXPECT_EQ(s.y_train.type().ToString(), absl::StrCat("int64(", num_train, ",)"));
  EXPECT_EQ(s.x_test.type().ToString(), absl::StrCat("float32(", num_test, ", 28, 28, 1)"));
  EXPECT_EQ(s.y_test.type().ToString(), absl::StrCat("int64(", num_test, ",)"));
  for (const auto& [x, y] : {std::pair(&s.x_train, &s.y_train), std::pair(&s.x_test, &s.y_test)}) {
    const int64_t n = y->num_elements();
    for (int64_t i = 0; i < n; ++i) {
      ASSERT_EQ(y->data<int64_t>()[i], 9 - i % 10) << "label " << i;
      for (int64_t k = 0; k < kPixels; ++k) {
        const int v = FixturePixel(i, k);
        // What NumPy gives for x.astype("float32") / 255 and for x / 255.0 cast to float32.
        ASSERT_EQ(x->data<float>()[i * kPixels + k], static_cast<float>(v) / 255.0f)
            << "image " << i << " pixel " << k;
        ASSERT_EQ(x->data<float>()[i * kPixels + k], static_cast<float>(v / 255.0));
      }
    }
  }
}

void ExpectSetupHint(const absl::Status& s) {
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("tools/setup.sh --mnist"));
}

TEST(LoadMnistTest, LoadsRawFilesScaledToUnitRangeWithAChannelAxis) {
  const std::string dir = TestDir();
  WriteImageSet(dir, {});
  absl::StatusOr<Split> s = LoadMnist(dir);
  ASSERT_TRUE(s.ok()) << s.status();
  ExpectFixtureSplit(*s, 3, 2);
  EXPECT_EQ(s->x_train.data<float>()[0], 0.0f);
  const Tensor all = s->x_train;
  EXPECT_EQ(*std::max_element(all.data<float>(), all.data<float>() + all.num_elements()), 1.0f);
}

TEST(LoadMnistTest, LoadsGzippedFilesAndMixtures) {
  const std::string dir = TestDir();
  WriteImageSet(dir + "/gz", {.num_train = 4, .num_test = 1, .gzip = true});
  for (const std::string& d : {dir + "/gz", dir + "/gz/"}) {
    absl::StatusOr<Split> s = LoadFashionMnist(d);
    ASSERT_TRUE(s.ok()) << s.status();
    ExpectFixtureSplit(*s, 4, 1);
  }
  // Raw files win over .gz ones; a missing raw file falls back to its .gz.
  WriteImageSet(dir + "/mixed", {.gzip = true});
  WriteImageSet(dir + "/mixed", {.skip = "t10k-labels-idx1-ubyte"});
  std::filesystem::remove(dir + "/mixed/train-images-idx3-ubyte.gz");
  absl::StatusOr<Split> s = LoadMnist(dir + "/mixed");
  ASSERT_TRUE(s.ok()) << s.status();
  ExpectFixtureSplit(*s, 3, 2);
}

TEST(LoadMnistTest, MissingDirectoryIsNotFoundWithTheFix) {
  const std::string dir = TestDir() + "/no_such_dir";
  for (auto [loader, name] :
       {std::pair(&LoadMnist, "LoadMnist"), std::pair(&LoadFashionMnist, "LoadFashionMnist")}) {
    absl::StatusOr<Split> s = loader(dir);
    ASSERT_FALSE(s.ok());
    ExpectSetupHint(s.status());
    EXPECT_THAT(std::string(s.status().message()),
                HasSubstr(absl::StrCat(name, ": directory ", dir, " does not exist")));
  }
}

TEST(LoadMnistTest, DefaultDirectoriesAreUnderData) {
  // Run from an empty directory, which has no data/.
  const std::filesystem::path cwd = std::filesystem::current_path();
  std::filesystem::current_path(TestDir());
  absl::StatusOr<Split> mnist = LoadMnist();
  absl::StatusOr<Split> fashion = LoadFashionMnist();
  std::filesystem::current_path(cwd);
  ASSERT_FALSE(mnist.ok());
  ExpectSetupHint(mnist.status());
  EXPECT_THAT(std::string(mnist.status().message()), HasSubstr("data/mnist does not exist"));
  ASSERT_FALSE(fashion.ok());
  ExpectSetupHint(fashion.status());
  EXPECT_THAT(std::string(fashion.status().message()),
              HasSubstr("data/fashion-mnist does not exist"));
}

TEST(LoadMnistTest, MissingFileIsNotFoundNamingBothNames) {
  const std::string dir = TestDir();
  WriteImageSet(dir, {.gzip = true, .skip = "t10k-images-idx3-ubyte"});
  absl::StatusOr<Split> s = LoadFashionMnist(dir);
  ASSERT_FALSE(s.ok());
  ExpectSetupHint(s.status());
  EXPECT_THAT(
      std::string(s.status().message()),
      HasSubstr(absl::StrCat("LoadFashionMnist: neither ", dir, "/t10k-images-idx3-ubyte nor ", dir,
                             "/t10k-images-idx3-ubyte.gz exists")));
}

TEST(LoadMnistTest, BadFilesAreInvalidArgumentNamingThem) {
  struct Case {
    const char* name;
    const char* file;
    std::string bytes;
    const char* expected;
  };
  // int16 images (read as float32) with one pixel -1, at row 1, column 2.
  std::string negative_pixel;
  for (int64_t k = 0; k < kPixels; ++k) negative_pixel += BigEndian(k == 30 ? 0xffff : 0, 2);
  const std::vector<Case> cases = {
      {"not_idx", "train-images-idx3-ubyte", "\x93NUMPY", "not a readable IDX file: bad magic"},
      {"truncated", "t10k-images-idx3-ubyte", ImagesIdx(2).substr(0, 100), "truncated data"},
      {"flat_images", "train-images-idx3-ubyte",
       IdxBytes(0x08, {3, 784}, std::string(3 * 784, '\0')),
       "holds float32(3, 784); expected 28 x 28 uint8 images, read as float32(N, 28, 28)"},
      {"float64_images", "train-images-idx3-ubyte",
       IdxBytes(0x0E, {3, 28, 28}, std::string(3 * 784 * 8, '\0')), "holds float64(3, 28, 28)"},
      {"label_matrix", "train-labels-idx1-ubyte", IdxBytes(0x08, {3, 1}, "\1\2\3"),
       "holds float32(3, 1); expected integer labels, int64(N,)"},
      {"count_mismatch", "t10k-labels-idx1-ubyte", LabelsIdx(5), "has 2 images but"},
      {"label_10", "train-labels-idx1-ubyte", IdxBytes(0x08, {3}, "\1\x0a\3"),
       "label 10 at row 1 is not a class index in [0, 10)"},
      {"negative_pixel", "t10k-images-idx3-ubyte",
       IdxBytes(0x0B, {2, 28, 28}, negative_pixel + negative_pixel),
       "pixel -1 of image 0 (row 1, column 2) is outside [0, 255]"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string dir = TestDir() + "/" + c.name;
    WriteImageSet(dir, {.replace = c.file, .replacement = c.bytes});
    absl::StatusOr<Split> s = LoadMnist(dir);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << s.status();
    EXPECT_THAT(std::string(s.status().message()), StartsWith("LoadMnist: "));
    EXPECT_THAT(std::string(s.status().message()), HasSubstr(absl::StrCat(dir, "/", c.file)));
    EXPECT_THAT(std::string(s.status().message()), HasSubstr(c.expected));
  }
}

// The real data, when `bazel test --test_env=GRAFT_DATA_DIR=$PWD/data` points at the folder
// tools/fetch_mnist.sh fills (tests do not see data/ otherwise; they skip then).
struct RealSet {
  const char* subdir;
  absl::StatusOr<Split> (*load)(const std::string&);
  std::vector<int64_t> train_counts, test_counts;
  double train_mean;  // mean pixel in [0, 1]
};

TEST(LoadMnistTest, RealDataWhenAvailable) {
  const char* root = std::getenv("GRAFT_DATA_DIR");
  if (root == nullptr) GTEST_SKIP() << "set GRAFT_DATA_DIR to graft's data/ to check real data";
  const RealSet sets[] = {
      {"mnist",
       &LoadMnist,
       {5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949},
       {980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009},
       0.1307},
      {"fashion-mnist", &LoadFashionMnist, std::vector<int64_t>(10, 6000),
       std::vector<int64_t>(10, 1000), 0.2860},
  };
  int checked = 0;
  for (const RealSet& set : sets) {
    SCOPED_TRACE(set.subdir);
    const std::string dir = absl::StrCat(root, "/", set.subdir);
    if (!std::filesystem::is_directory(dir)) continue;
    ++checked;
    absl::StatusOr<Split> s = set.load(dir);
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_EQ(s->x_train.type().ToString(), "float32(60000, 28, 28, 1)");
    EXPECT_EQ(s->x_test.type().ToString(), "float32(10000, 28, 28, 1)");
    for (const auto& [y, expected] :
         {std::pair(&s->y_train, &set.train_counts), std::pair(&s->y_test, &set.test_counts)}) {
      std::vector<int64_t> counts(kMnistClasses);
      for (int64_t i = 0; i < y->num_elements(); ++i) ++counts[y->data<int64_t>()[i]];
      EXPECT_EQ(counts, *expected);
    }
    const float* x = s->x_train.data<float>();
    const int64_t n = s->x_train.num_elements();
    EXPECT_EQ(*std::min_element(x, x + n), 0.0f);
    EXPECT_EQ(*std::max_element(x, x + n), 1.0f);
    double sum = 0;
    for (int64_t i = 0; i < n; ++i) sum += x[i];
    EXPECT_NEAR(sum / n, set.train_mean, 5e-5);
  }
  if (checked == 0) {
    GTEST_SKIP() << "neither " << root << "/mnist nor " << root << "/fashion-mnist exists";
  }
}

}  // namespace
}  // namespace graft::keras::datasets
