// Layers whose training and inference behaviour differ (Dropout, BatchNormalization), and the
// shapes of the whole Keras layer set.
#include <cmath>
#include <sstream>

#include "gtest/gtest.h"
#include "keras/keras.h"
#include "tests/testing.h"

namespace graft::keras {
namespace {

namespace L = layers;

TEST(Layers, ShapesOfTheWholeSet) {
  Sequential model({
      L::Conv2D(8, 3, {.padding = "same", .activation = "relu", .input_shape = {12, 10, 3}}),
      L::AveragePooling2D(2),
      L::Conv2D(8, {3, 1}, {.strides = {2, 1}, .groups = 2, .activation = "tanh"}),
      L::MaxPooling2D({2, 2}, {.padding = "same"}),
      L::BatchNormalization(),
      L::Reshape({-1, 8}),
      L::Conv1D(4, 2, {.padding = "causal", .activation = "gelu"}),
      L::AveragePooling1D(2, {.padding = "same"}),
      L::GlobalMaxPooling1D({.keepdims = true}),
      L::Flatten(),
      L::Dropout(0.25),
      L::Dense(3),
      L::Activation("softmax"),
  });
  absl::StatusOr<std::string> text = model.SummaryText();
  ASSERT_TRUE(text.ok()) << text.status();
  for (const char* shape :
       {"(None, 12, 10, 8)", "(None, 6, 5, 8)", "(None, 2, 5, 8)", "(None, 1, 3, 8)",
        "(None, 3, 8)", "(None, 3, 4)", "(None, 2, 4)", "(None, 1, 4)", "(None, 4)", "(None, 3)"}) {
    EXPECT_NE(text->find(shape), std::string::npos) << shape << "\n" << *text;
  }
}

TEST(Layers, GlobalPoolingShapes) {
  Sequential a({L::GlobalAveragePooling2D({.input_shape = {5, 4, 3}})});
  Sequential b({L::GlobalMaxPooling2D({.keepdims = true, .input_shape = {5, 4, 3}})});
  Sequential c({L::GlobalAveragePooling1D({.input_shape = {7, 2}})});
  EXPECT_NE(a.SummaryText()->find("(None, 3)"), std::string::npos);
  EXPECT_NE(b.SummaryText()->find("(None, 1, 1, 3)"), std::string::npos);
  EXPECT_NE(c.SummaryText()->find("(None, 2)"), std::string::npos);
}

TEST(Dropout, OffInPredictAndEvaluateOnInFit) {
  SetRandomSeed(3);
  Sequential with(
      {L::Dense(64, {.activation = "relu", .input_shape = {10}}), L::Dropout(0.5), L::Dense(1)});
  ASSERT_TRUE(
      with.Compile({.optimizer = optim::MakeSgd({.learning_rate = 0.0}), .loss = "mse"}).ok());
  Sequential without({L::Dense(64, {.activation = "relu", .input_shape = {10}}), L::Dense(1)});
  ASSERT_TRUE(without.SetWeights(with.GetWeights()).ok());
  Tensor x = testing::Random({64, 10}, 1);
  Tensor y = testing::Random({64, 1}, 2);
  // Predict: no dropout, deterministic, equal to the model without the layer.
  absl::StatusOr<Tensor> p1 = with.Predict(x), p2 = with.Predict(x), p3 = without.Predict(x);
  ASSERT_TRUE(p1.ok() && p2.ok() && p3.ok());
  EXPECT_TRUE(testing::AllClose(*p1, *p2, 0, 0));
  EXPECT_TRUE(testing::AllClose(*p1, *p3, 1e-6, 1e-7));
  // Fit (lr 0, weights unchanged) sees dropped units: its loss differs from Evaluate's.
  std::ostringstream log;
  absl::StatusOr<History> h =
      with.Fit(x, y, {.batch_size = 64, .epochs = 1, .verbose = 0, .output = &log});
  ASSERT_TRUE(h.ok()) << h.status();
  absl::StatusOr<std::vector<double>> e = with.Evaluate(x, y, {.batch_size = 64});
  ASSERT_TRUE(e.ok());
  EXPECT_GT(std::abs(h->history.at("loss")[0] - (*e)[0]), 1e-4);
  EXPECT_TRUE(testing::AllClose(*with.Predict(x), *p1, 0, 0));  // lr 0 kept the weights
}

TEST(BatchNormalization, TrainsOnBatchStatisticsAndPredictsWithMovingOnes) {
  SetRandomSeed(4);
  Sequential model({L::BatchNormalization({.momentum = 0.9, .input_shape = {3}})});
  ASSERT_TRUE(
      model.Compile({.optimizer = optim::MakeSgd({.learning_rate = 0.0}), .loss = "mse"}).ok());
  // Column j has mean 2j + 1 and a biased variance of j + 1 over the batch.
  Tensor x(DType::kF32, {4, 3});
  for (int i = 0; i < 4; ++i) {
    for (int j = 0; j < 3; ++j) {
      const double sd = std::sqrt(j + 1.0);
      x.data<float>()[i * 3 + j] = static_cast<float>(2 * j + 1 + (i % 2 ? sd : -sd));
    }
  }
  Tensor y(DType::kF32, {4, 3});
  ASSERT_TRUE(model.Fit(x, y, {.batch_size = 4, .epochs = 1, .verbose = 0, .shuffle = false}).ok());
  // Keras momentum: moving = 0.9 * moving + 0.1 * batch.
  std::vector<Tensor> w = model.GetWeights();  // gamma, beta, moving_mean, moving_variance
  ASSERT_EQ(w.size(), 4u);
  for (int j = 0; j < 3; ++j) {
    EXPECT_NEAR(w[2].data<float>()[j], 0.1 * (2 * j + 1), 1e-6);
    EXPECT_NEAR(w[3].data<float>()[j], 0.9 + 0.1 * (j + 1), 1e-6);
  }
  // Predict normalises with the moving statistics (epsilon 1e-3).
  absl::StatusOr<Tensor> p = model.Predict(x);
  ASSERT_TRUE(p.ok()) << p.status();
  for (int i = 0; i < 4; ++i) {
    for (int j = 0; j < 3; ++j) {
      const double want = (x.data<float>()[i * 3 + j] - w[2].data<float>()[j]) /
                          std::sqrt(w[3].data<float>()[j] + 1e-3);
      EXPECT_NEAR(p->data<float>()[i * 3 + j], want, 1e-5);
    }
  }
}

TEST(Fit, DataShapeDifferentFromTheDeclaredInputIsAnError) {
  Sequential model({L::Conv2D(4, {3, 1}, {.input_shape = {100, 1, 1}}), L::Flatten(),
                    L::Dense(1, {.activation = "sigmoid"})});
  ASSERT_TRUE(model.Compile({.optimizer = "adam", .loss = "binary_crossentropy"}).ok());
  absl::StatusOr<History> h =
      model.Fit(Tensor(DType::kF32, {100, 100, 1}), Tensor(DType::kF32, {100, 1}), {.verbose = 0});
  ASSERT_FALSE(h.ok());
  const std::string m(h.status().message());
  EXPECT_NE(m.find("input x has shape (100, 100, 1) but model"), std::string::npos) << m;
  EXPECT_NE(m.find("expects (None, 100, 1, 1)"), std::string::npos) << m;
  EXPECT_NE(m.find("x.Reshaped((100, 100, 1, 1))"), std::string::npos) << m;
}

TEST(Layers, AWeightShapeThatOverflowsIsAnErrorNotAnAbort) {
  // Dense(2^32) on 2^32 inputs: a (2^32, 2^32) kernel, whose byte count overflows int64. Was an
  // assert in Tensor's constructor (a wrapped size in -c opt); now AddWeight's Status.
  Sequential model({L::Dense(int64_t{1} << 32, {.input_shape = {int64_t{1} << 32}})});
  absl::Status s = model.Compile({.optimizer = "sgd", .loss = "mse"});
  ASSERT_FALSE(s.ok());
  const std::string m(s.message());
  EXPECT_NE(m.find("of shape (4294967296, 4294967296)"), std::string::npos) << m;
  EXPECT_NE(m.find("overflows"), std::string::npos) << m;
}

TEST(Compile, LossesAndMetricsByKerasName) {
  for (const char* loss : {"mse", "mae", "mean_squared_error", "categorical_crossentropy"}) {
    Sequential model({L::Dense(3, {.activation = "softmax", .input_shape = {4}})});
    absl::Status s = model.Compile(
        {.optimizer = "rmsprop", .loss = loss, .metrics = {"accuracy", "mae", "mse"}});
    EXPECT_TRUE(s.ok()) << loss << ": " << s;
    Tensor x = testing::Random({8, 4}, 1);
    Tensor y(DType::kF32, {8, 3});
    for (int i = 0; i < 8; ++i) y.data<float>()[i * 3 + i % 3] = 1;
    absl::StatusOr<History> h = model.Fit(x, y, {.epochs = 1, .verbose = 0});
    ASSERT_TRUE(h.ok()) << loss << ": " << h.status();
    EXPECT_EQ(h->history.count("accuracy"), 1u);
    EXPECT_EQ(h->history.count("mae"), 1u);
  }
  Sequential logits({L::Dense(3, {.input_shape = {4}})});
  EXPECT_TRUE(logits
                  .Compile({.optimizer = "adamw",
                            .loss = Loss("sparse_categorical_crossentropy", {.from_logits = true}),
                            .metrics = {"accuracy"}})
                  .ok());
}

}  // namespace
}  // namespace graft::keras
