// The functional API: graphs of layer calls with several inputs and outputs, shared layers,
// merge layers, errors at the point of the call, the summary, and save/load.
#include <cmath>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keras/keras.h"
#include "tests/testing.h"

namespace graft::keras {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class FunctionalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SetNumThreads(1);
    SetAdaptiveThreads(false);
    SetRandomSeed(11);
  }
  void TearDown() override { SetAdaptiveThreads(true); }
};

std::string Tmp(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return absl::StrCat(dir ? dir : "/tmp", "/", name);
}

TEST_F(FunctionalTest, ResidualBlockTrains) {
  KerasTensor in = Input({8, 8, 3});
  KerasTensor x = layers::Conv2D(4, 3, {.padding = "same", .activation = "relu"})(in);
  x = layers::Conv2D(4, 3, {.padding = "same"})(x);
  KerasTensor shortcut = layers::Conv2D(4, 1)(in);
  x = layers::Activation("relu")(layers::Add()({x, shortcut}));
  KerasTensor out =
      layers::Dense(3, {.activation = "softmax"})(layers::GlobalAveragePooling2D()(x));
  Model model({in}, {out});
  ASSERT_TRUE(model.Build().ok()) << model.Build();
  ASSERT_TRUE(model
                  .Compile({.optimizer = "adam",
                            .loss = "sparse_categorical_crossentropy",
                            .metrics = {"accuracy"}})
                  .ok());
  // The class is the channel that carries an offset.
  Tensor xs = testing::Random({96, 8, 8, 3}, 1, 0, 1);
  std::vector<int64_t> labels(96);
  for (int64_t n = 0; n < 96; ++n) {
    labels[n] = n % 3;
    for (int i = 0; i < 64; ++i) xs.data<float>()[(n * 64 + i) * 3 + labels[n]] += 0.5f;
  }
  Tensor ys = Tensor::FromVector<int64_t>({96}, labels);
  absl::StatusOr<History> h = model.Fit(xs, ys, {.batch_size = 16, .epochs = 15, .verbose = 0});
  ASSERT_TRUE(h.ok()) << h.status();
  const std::vector<double>& loss = h->history.at("loss");
  EXPECT_LT(loss.back(), 0.5 * loss.front()) << loss.front() << " -> " << loss.back();
  EXPECT_EQ(model.layers().size(), 7u);
}

TEST_F(FunctionalTest, TwoInputsTwoOutputsWithPerOutputLossesAndKerasLogNames) {
  KerasTensor a = Input({10}, {.name = "features"});
  KerasTensor b = Input({6}, {.name = "context"});
  KerasTensor h =
      layers::Activation("relu")(layers::Add()({layers::Dense(8)(a), layers::Dense(8)(b)}));
  KerasTensor score = layers::Dense(1, {.activation = "sigmoid", .name = "score"})(h);
  KerasTensor kind = layers::Dense(3, {.activation = "softmax", .name = "kind"})(h);
  Model model({a, b}, {score, kind}, "two_heads");
  ASSERT_TRUE(model
                  .Compile({.optimizer = "adam",
                            .losses = {"binary_crossentropy", "sparse_categorical_crossentropy"},
                            .loss_weights = {1.0, 0.5},
                            .output_metrics = {{"accuracy"}, {"accuracy"}}})
                  .ok());
  EXPECT_THAT(model.metrics_names(),
              ElementsAre("loss", "score_loss", "kind_loss", "score_accuracy", "kind_accuracy"));
  Tensor xa = testing::Random({64, 10}, 2), xb = testing::Random({64, 6}, 3);
  std::vector<float> y1(64);
  std::vector<int64_t> y2(64);
  for (int n = 0; n < 64; ++n) {
    y1[n] = xa.data<float>()[n * 10] > 0 ? 1.0f : 0.0f;
    y2[n] = xb.data<float>()[n * 6] > 0.3 ? 2 : (xb.data<float>()[n * 6] > -0.3 ? 1 : 0);
  }
  Tensor t1 = Tensor::FromVector<float>({64}, y1), t2 = Tensor::FromVector<int64_t>({64}, y2);
  absl::StatusOr<History> hist = model.Fit(
      {xa, xb}, {t1, t2}, {.batch_size = 16, .epochs = 3, .verbose = 0, .validation_split = 0.25});
  ASSERT_TRUE(hist.ok()) << hist.status();
  for (const char* key : {"loss", "score_loss", "kind_loss", "score_accuracy", "kind_accuracy",
                          "val_loss", "val_kind_accuracy"}) {
    EXPECT_EQ(hist->history.count(key), 1u) << key;
  }
  absl::StatusOr<std::vector<double>> e = model.Evaluate({xa, xb}, {t1, t2});
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_NEAR((*e)[0], (*e)[1] + 0.5 * (*e)[2], 1e-5);  // the weighted total
  absl::StatusOr<std::vector<Tensor>> p = model.Predict({xa, xb});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ((*p)[0].shape(), Shape({64, 1}));
  EXPECT_EQ((*p)[1].shape(), Shape({64, 3}));
  EXPECT_THAT(model.Predict(xa).status().message(), HasSubstr("2 outputs"));
  EXPECT_THAT(model.Fit({xa}, {t1, t2}, {.verbose = 0}).status().message(),
              HasSubstr("got 1 input arrays, but model \"two_heads\" has 2 inputs"));
}

TEST_F(FunctionalTest, ALayerCalledTwiceSharesItsWeights) {
  KerasTensor a = Input({4}), b = Input({4});
  Layer shared = layers::Dense(2);
  KerasTensor out = layers::Add()({shared(a), shared(b)});
  Model model({a, b}, {out});
  ASSERT_TRUE(
      model.Compile({.optimizer = optim::MakeSgd({.learning_rate = 0.1}), .loss = "mse"}).ok());
  EXPECT_EQ(model.CountParams(), 4 * 2 + 2);
  EXPECT_EQ(model.layers().size(), 2u);
  Tensor xa = testing::Random({32, 4}, 4), xb = testing::Random({32, 4}, 5);
  Tensor y(DType::kF32, {32, 2});
  for (int n = 0; n < 32; ++n) {
    for (int j = 0; j < 2; ++j) {
      y.data<float>()[n * 2 + j] =
          xa.data<float>()[n * 4 + j] + xb.data<float>()[n * 4 + j] + 0.5f * j;
    }
  }
  absl::StatusOr<History> h =
      model.Fit({xa, xb}, {y}, {.batch_size = 8, .epochs = 40, .verbose = 0});
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_LT(h->history.at("loss").back(), 0.05 * h->history.at("loss").front());
  // One kernel and one bias serve both calls: out = (a + b) W + 2 bias.
  const std::vector<Tensor> w = model.GetWeights();
  ASSERT_EQ(w.size(), 2u);
  absl::StatusOr<std::vector<Tensor>> p = model.Predict({xa, xb});
  ASSERT_TRUE(p.ok());
  for (int n = 0; n < 32; ++n) {
    for (int j = 0; j < 2; ++j) {
      double want = 2 * w[1].data<float>()[j];
      for (int i = 0; i < 4; ++i) {
        want += (xa.data<float>()[n * 4 + i] + xb.data<float>()[n * 4 + i]) *
                w[0].data<float>()[i * 2 + j];
      }
      EXPECT_NEAR((*p)[0].data<float>()[n * 2 + j], want, 1e-5);
    }
  }
}

TEST_F(FunctionalTest, ErrorsNameTheLayerAndBothShapes) {
  KerasTensor in = Input({16, 16, 3});
  KerasTensor big = layers::Conv2D(32, 3, {.padding = "same"})(in);
  KerasTensor small = layers::Conv2D(32, 3, {.strides = 2, .padding = "same"})(in);
  Layer add = layers::Add({.name = "residual_add"});
  KerasTensor sum = add({big, small});
  ASSERT_FALSE(sum.ok());
  EXPECT_THAT(sum.status().message(), HasSubstr("residual_add (Add)"));
  EXPECT_THAT(sum.status().message(), HasSubstr("(None, 16, 16, 32) and (None, 8, 8, 32)"));
  // The error travels to the model.
  Model model({in}, {layers::Flatten()(sum)});
  EXPECT_THAT(model.Build().message(), HasSubstr("residual_add (Add)"));
  EXPECT_THAT(model.Compile({.loss = "mse"}).message(), HasSubstr("incompatible shapes"));

  EXPECT_THAT(layers::Add()({big}).status().message(), HasSubstr("at least 2 inputs"));
  EXPECT_THAT(layers::Concatenate()({big, small}).status().message(),
              HasSubstr("matching shapes except for the concatenation axis"));
  EXPECT_TRUE(layers::Concatenate({.axis = 1})({big, big}).ok());
  EXPECT_EQ(layers::Concatenate({.axis = 1})({big, big}).shape(), Shape({-1, 32, 16, 32}));
  EXPECT_TRUE(layers::Subtract()({big, big}).ok());
  EXPECT_THAT(layers::Subtract()({big, big, big}).status().message(), HasSubstr("expects 2"));
  KerasTensor other = Input({16, 16, 3}, {.name = "unused"});
  Model disconnected({in, other}, {big});
  EXPECT_THAT(disconnected.Build().message(), HasSubstr("input unused does not reach any output"));
  Model missing({other}, {big});
  EXPECT_THAT(missing.Build().message(), HasSubstr("not among the model's inputs"));
}

TEST_F(FunctionalTest, SummaryHasConnectedTo) {
  KerasTensor in = Input({8, 8, 3}, {.name = "image"});
  KerasTensor x = layers::Conv2D(4, 3, {.padding = "same", .name = "c1"})(in);
  KerasTensor y = layers::Conv2D(4, 1, {.name = "c2"})(in);
  KerasTensor out = layers::Add({.name = "sum"})({x, y});
  Model model({in}, {out}, "res");
  absl::StatusOr<std::string> text = model.SummaryText();
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_THAT(*text, HasSubstr("Connected to"));
  EXPECT_THAT(*text, HasSubstr("image (InputLayer)"));
  EXPECT_THAT(*text, HasSubstr("c1[0][0]"));
  EXPECT_THAT(*text, HasSubstr("image[0][0]"));
  EXPECT_THAT(*text, HasSubstr("c2[0][0]"));
  EXPECT_THAT(*text, HasSubstr(" Total params: 128 (512.00 B)"));
  // Every line of the table is 108 columns wide (box-drawing characters are 3 bytes).
  std::cout << *text;
}

TEST_F(FunctionalTest, SaveLoadRoundTripAndContinueExactly) {
  KerasTensor a = Input({5}), b = Input({5});
  Layer shared = layers::Dense(4, {.activation = "tanh"});
  KerasTensor m = layers::Multiply()({shared(a), shared(b)});
  KerasTensor out = layers::Dense(1)(layers::Average()({m, shared(a)}));
  Model model({a, b}, {out});
  ASSERT_TRUE(model.Compile({.optimizer = "adam", .loss = "mse"}).ok());
  Tensor xa = testing::Random({40, 5}, 6), xb = testing::Random({40, 5}, 7),
         y = testing::Random({40, 1}, 8);
  ASSERT_TRUE(model.Fit({xa, xb}, {y}, {.batch_size = 8, .epochs = 2, .verbose = 0}).ok());
  ASSERT_TRUE(model.Save(Tmp("functional.graft")).ok());
  absl::StatusOr<Model> loaded = LoadModel(Tmp("functional.graft"));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->SummaryText().value(), model.SummaryText().value());
  ASSERT_TRUE(model.Fit({xa, xb}, {y}, {.batch_size = 8, .epochs = 1, .verbose = 0}).ok());
  ASSERT_TRUE(loaded->Fit({xa, xb}, {y}, {.batch_size = 8, .epochs = 1, .verbose = 0}).ok());
  const std::vector<Tensor> w1 = model.GetWeights(), w2 = loaded->GetWeights();
  ASSERT_EQ(w1.size(), w2.size());
  for (size_t i = 0; i < w1.size(); ++i) {
    EXPECT_EQ(std::memcmp(w1[i].raw_data(), w2[i].raw_data(), w1[i].nbytes()), 0) << i;
  }
}

}  // namespace
}  // namespace graft::keras
