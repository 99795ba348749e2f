// A train step in chunks (keras/chunked_train.h): a batch larger than the model's chunk trains as
// chunks of it with one update, and gives the whole batch's step — weights, loss, metrics and
// weighted metrics, Dropout's masks — up to float summation order. Models whose training
// forward mixes samples (BatchNormalization) never run in chunks. $GRAFT_TRAIN_CHUNK picks the
// chunk here (0: never); it is read at Compile.
#include <cstdlib>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "keras/keras.h"
#include "optim/optimizer.h"
#include "tests/testing.h"

namespace graft::keras {
namespace {

using ::graft::testing::AllClose;

class ChunkedTrainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SetNumThreads(1);
    SetAdaptiveThreads(false);
  }
  void TearDown() override {
    unsetenv("GRAFT_TRAIN_CHUNK");
    SetAdaptiveThreads(true);
  }
};

struct Trained {
  History history;
  std::vector<Tensor> weights;
};

// A small convnet with Dropout, trained 2 epochs of 2 batches of 12 with sample weights and a
// weighted metric, with the train step chunked into `chunk` rows ("0": whole batches).
Trained Train(const char* chunk, bool batch_norm = false) {
  setenv("GRAFT_TRAIN_CHUNK", chunk, 1);
  SetRandomSeed(11);
  std::vector<Layer> layers = {
      layers::Conv2D(4, 3, {.activation = "relu", .input_shape = {6, 6, 2}}),
  };
  if (batch_norm) layers.push_back(layers::BatchNormalization());
  layers.push_back(layers::Flatten());
  layers.push_back(layers::Dropout(0.5));
  layers.push_back(layers::Dense(3, {.activation = "softmax"}));
  Sequential m(layers);
  absl::Status s = m.Compile({.optimizer = "adam",
                              .loss = "sparse_categorical_crossentropy",
                              .metrics = {"accuracy"},
                              .weighted_metrics = {"accuracy"}});
  EXPECT_TRUE(s.ok()) << s;
  Tensor x = testing::Random({24, 6, 6, 2}, 5);
  Tensor y(DType::kF32, {24});
  Tensor w(DType::kF32, {24});
  for (int i = 0; i < 24; ++i) {
    y.data<float>()[i] = static_cast<float>(i % 3);
    w.data<float>()[i] = i % 4 == 0 ? 0.0f : 0.5f + static_cast<float>(i % 5);
  }
  absl::StatusOr<History> h = m.Fit(
      x, y, {.batch_size = 12, .epochs = 2, .verbose = 0, .shuffle = false, .sample_weight = w});
  EXPECT_TRUE(h.ok()) << h.status();
  return {h.ok() ? *h : History{}, m.GetWeights()};
}

TEST_F(ChunkedTrainTest, ChunksGiveTheWholeBatchsStep) {
  const Trained whole = Train("0");
  for (const char* chunk : {"4", "5", "11"}) {  // 3 equal chunks; 3 of 4-4-4; 2 of 6 rows
    const Trained chunked = Train(chunk);
    ASSERT_EQ(chunked.weights.size(), whole.weights.size());
    for (size_t i = 0; i < whole.weights.size(); ++i) {
      EXPECT_TRUE(AllClose(chunked.weights[i], whole.weights[i], 1e-5, 1e-6))
          << "chunk " << chunk << ", weight " << i;
    }
    for (const auto& [name, values] : whole.history.history) {
      ASSERT_EQ(chunked.history.history.count(name), 1u) << name;
      const std::vector<double>& got = chunked.history.history.at(name);
      ASSERT_EQ(got.size(), values.size());
      for (size_t e = 0; e < values.size(); ++e) {
        EXPECT_NEAR(got[e], values[e], 1e-5 * (1 + std::abs(values[e])))
            << "chunk " << chunk << ", " << name << ", epoch " << e;
      }
    }
  }
  // And the weights trained (the comparison is not between two untouched models).
  SetRandomSeed(11);
  Sequential fresh({layers::Conv2D(4, 3, {.activation = "relu", .input_shape = {6, 6, 2}}),
                    layers::Flatten(), layers::Dropout(0.5),
                    layers::Dense(3, {.activation = "softmax"})});
  ASSERT_TRUE(fresh.Compile({.optimizer = "adam", .loss = "sparse_categorical_crossentropy"}).ok());
  EXPECT_FALSE(AllClose(fresh.GetWeights()[0], whole.weights[0], 0, 1e-4));
}

TEST_F(ChunkedTrainTest, BatchNormalizationModelsTrainWhole) {
  // Chunks would normalise each chunk by its own statistics: such a model must never chunk, so
  // asking for chunks of 4 changes nothing, bit for bit.
  const Trained whole = Train("0", /*batch_norm=*/true);
  const Trained asked = Train("4", /*batch_norm=*/true);
  for (size_t i = 0; i < whole.weights.size(); ++i) {
    EXPECT_TRUE(AllClose(asked.weights[i], whole.weights[i], 0, 0)) << i;
  }
}

}  // namespace
}  // namespace graft::keras
