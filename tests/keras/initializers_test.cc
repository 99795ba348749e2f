// AddWeight's Keras initializers: the distributions' ranges and spreads.
#include <cmath>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keras/keras.h"

namespace graft::keras {
namespace {

// A layer whose one weight comes from the initializer under test.
class Probe : public LayerImpl {
 public:
  Probe(Initializer init, Shape shape) : LayerImpl("probe", "", {}), init_(init), shape_(shape) {}
  std::string class_name() const override { return "Probe"; }
  absl::Status Make() { return Build({}); }
  const Tensor& w() const { return weights()[0].value; }

 private:
  absl::Status Build(const TensorType&) override { return AddWeight("w", shape_, init_); }
  absl::StatusOr<Value> Forward(Graph&, Value x, const std::vector<Value>&,
                                const CallContext&) override {
    return x;
  }
  Initializer init_;
  Shape shape_;
};

struct Stats {
  double mean, stddev, max_abs;
};
Stats Of(const Tensor& t) {
  double sum = 0, sq = 0, mx = 0;
  const int64_t n = t.num_elements();
  for (int64_t i = 0; i < n; ++i) {
    const double v = t.data<float>()[i];
    sum += v;
    sq += v * v;
    mx = std::max(mx, std::abs(v));
  }
  const double mean = sum / n;
  return {mean, std::sqrt(sq / n - mean * mean), mx};
}

TEST(InitializersTest, VarianceScalingFamilies) {
  SetRandomSeed(1);
  // (kh, kw, in, out) = (3, 3, 64, 128): fan_in 576, fan_out 1152.
  const Shape shape{3, 3, 64, 128};
  const double fan_in = 576, fan_out = 1152;
  struct Case {
    const char* name;
    double stddev;
    double bound;  // |w| never exceeds it
  } cases[] = {
      {"glorot_uniform", std::sqrt(2 / (fan_in + fan_out)), std::sqrt(6 / (fan_in + fan_out))},
      {"glorot_normal", std::sqrt(2 / (fan_in + fan_out)),
       2 * std::sqrt(2 / (fan_in + fan_out)) / .87962566103423978},
      {"he_uniform", std::sqrt(2 / fan_in), std::sqrt(6 / fan_in)},
      {"he_normal", std::sqrt(2 / fan_in), 2 * std::sqrt(2 / fan_in) / .87962566103423978},
      {"lecun_uniform", std::sqrt(1 / fan_in), std::sqrt(3 / fan_in)},
      {"lecun_normal", std::sqrt(1 / fan_in), 2 * std::sqrt(1 / fan_in) / .87962566103423978},
  };
  for (const Case& c : cases) {
    Probe p(c.name, shape);
    ASSERT_TRUE(p.Make().ok()) << c.name;
    const Stats s = Of(p.w());
    EXPECT_NEAR(s.mean, 0, 0.05 * c.stddev) << c.name;
    EXPECT_NEAR(s.stddev, c.stddev, 0.02 * c.stddev) << c.name;
    EXPECT_LE(s.max_abs, c.bound * (1 + 1e-6)) << c.name;
    EXPECT_GE(s.max_abs, 0.9 * c.bound) << c.name;
  }
}

TEST(InitializersTest, ConstantsAndRandomWithArguments) {
  SetRandomSeed(2);
  Probe constant(Initializer{"constant", {.value = 0.25}}, Shape{7});
  ASSERT_TRUE(constant.Make().ok());
  for (int i = 0; i < 7; ++i) EXPECT_EQ(constant.w().data<float>()[i], 0.25f);
  Probe ones("ones", Shape{3});
  ASSERT_TRUE(ones.Make().ok());
  EXPECT_EQ(ones.w().data<float>()[2], 1.0f);
  Probe normal(Initializer{"random_normal", {.mean = 1.0, .stddev = 0.1}}, Shape{20000});
  ASSERT_TRUE(normal.Make().ok());
  EXPECT_NEAR(Of(normal.w()).mean, 1.0, 0.005);
  EXPECT_NEAR(Of(normal.w()).stddev, 0.1, 0.003);
  Probe uniform(Initializer{"random_uniform", {.minval = 2, .maxval = 3}}, Shape{20000});
  ASSERT_TRUE(uniform.Make().ok());
  EXPECT_NEAR(Of(uniform.w()).mean, 2.5, 0.01);
  for (int i = 0; i < 20000; ++i) {
    ASSERT_GE(uniform.w().data<float>()[i], 2.0f);
    ASSERT_LE(uniform.w().data<float>()[i], 3.0f);
  }
  Probe unknown("orthogonal", Shape{2, 2});
  EXPECT_THAT(unknown.Make().message(), ::testing::HasSubstr("unknown initializer \"orthogonal\""));
}

}  // namespace
}  // namespace graft::keras
