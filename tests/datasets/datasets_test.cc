// Tests for keras/datasets: SensorFaults (determinism, shapes, balance, that the labels match
// the data) and LoadDna (on fixtures written here; the real data is not needed).
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "graph/tensor.h"
#include "gtest/gtest.h"
#include "io/npy.h"
#include "keras/datasets/dna.h"
#include "keras/datasets/sensor_faults.h"

namespace graft::keras::datasets {
namespace {

using ::testing::HasSubstr;

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

std::string TestDir() {
  const char* root = std::getenv("TEST_TMPDIR");
  const std::string dir =
      absl::StrCat(root ? root : "/tmp", "/datasets_test/",
                   ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

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

}  // namespace
}  // namespace graft::keras::datasets
