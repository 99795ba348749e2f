// End to end on real images: the seed's Conv2D model (Example B) and the Keras MNIST convnet
// train on a 3,000-image subset of MNIST (tests/data/mnist_subset) in seconds.
#include "keras/datasets/mnist.h"

#include <sstream>

#include "gtest/gtest.h"
#include "keras/keras.h"

namespace graft::keras {
namespace {

namespace L = layers;

const datasets::Split& Subset() {
  static const datasets::Split* s = [] {
    absl::StatusOr<datasets::Split> d = datasets::LoadMnist("tests/data/mnist_subset");
    EXPECT_TRUE(d.ok()) << d.status();
    return new datasets::Split(d.ok() ? *d : datasets::Split{});
  }();
  return *s;
}

double TrainAndTest(Sequential& model, int epochs) {
  EXPECT_TRUE(model
                  .Compile({.optimizer = "adam",
                            .loss = "sparse_categorical_crossentropy",
                            .metrics = {"accuracy"}})
                  .ok());
  std::ostringstream log;
  absl::StatusOr<History> h = model.Fit(Subset().x_train, Subset().y_train,
                                        {.epochs = epochs, .verbose = 2, .output = &log});
  EXPECT_TRUE(h.ok()) << h.status();
  absl::StatusOr<std::vector<double>> test = model.Evaluate(Subset().x_test, Subset().y_test);
  EXPECT_TRUE(test.ok()) << test.status();
  std::printf("%s", log.str().c_str());
  return test.ok() ? (*test)[1] : 0;
}

// The Keras MNIST convnet (keras.io mnist_convnet).
Sequential KerasConvnet() {
  return Sequential({
      L::Conv2D(32, 3, {.activation = "relu", .input_shape = {28, 28, 1}}),
      L::MaxPooling2D(2),
      L::Conv2D(64, 3, {.activation = "relu"}),
      L::MaxPooling2D(2),
      L::Flatten(),
      L::Dropout(0.5),
      L::Dense(10, {.activation = "softmax"}),
  });
}

TEST(Mnist, SubsetIsThere) {
  ASSERT_EQ(Subset().x_train.shape(), Shape({3000, 28, 28, 1}));
  ASSERT_EQ(Subset().x_test.shape(), Shape({1000, 28, 28, 1}));
}

TEST(Mnist, SeedConv2DModelLearnsDigits) {
  SetRandomSeed(1);
  Sequential model({
      L::Conv2D(32, {3, 3}, {.activation = "relu", .input_shape = {28, 28, 1}}),
      L::MaxPooling2D({2, 2}),
      L::Flatten(),
      L::Dense(10, {.activation = "softmax"}),
  });
  const double acc = TrainAndTest(model, 3);
  std::printf("Example B on 3,000 MNIST images, 3 epochs: test accuracy %.4f\n", acc);
  EXPECT_GT(acc, 0.85);  // measured 0.901 (seed 1)
}

TEST(Mnist, KerasConvnetWithDropoutLearnsDigits) {
  SetRandomSeed(2);
  Sequential model = KerasConvnet();
  const double acc = TrainAndTest(model, 3);
  std::printf("Keras convnet on 3,000 MNIST images, 3 epochs: test accuracy %.4f\n", acc);
  EXPECT_GT(acc, 0.90);  // measured 0.942 (seed 2)
}

// Mixed precision: the same convnet from the same seed, trained in "mixed_bfloat16", lands where
// float32 does. (On the full data sets, 3 epochs: examples/seed_conv2d --mixed_precision, numbers
// in docs/decisions.md.)
TEST(Mnist, KerasConvnetInMixedBfloat16LandsWhereFloat32Does) {
  if (!mixed_precision::CpuHasBf16()) {
    GTEST_SKIP() << "no AVX512-BF16: oneDNN runs at " << mixed_precision::CpuIsaName();
  }
  auto convnet = [] {
    SetRandomSeed(2);
    return KerasConvnet();
  };
  Sequential fp32 = convnet();
  const double acc32 = TrainAndTest(fp32, 3);
  ASSERT_TRUE(mixed_precision::SetGlobalPolicy("mixed_bfloat16").ok());
  Sequential bf16 = convnet();
  const double acc16 = TrainAndTest(bf16, 3);
  ASSERT_TRUE(mixed_precision::SetGlobalPolicy("float32").ok());
  std::printf("Keras convnet, 3,000 MNIST images, 3 epochs: float32 %.4f, mixed_bfloat16 %.4f\n",
              acc32, acc16);
  EXPECT_GT(acc16, 0.90);
  EXPECT_NEAR(acc16, acc32, 0.01);  // 10 of the 1,000 test images
}

}  // namespace
}  // namespace graft::keras
