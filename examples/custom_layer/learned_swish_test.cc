// The custom layer in a Sequential and in a functional model: Summary, training, save/load.
#include "examples/custom_layer/learned_swish.h"

#include <cstdlib>
#include <cstring>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keras/keras.h"

namespace myproj {
namespace {

namespace keras = graft::keras;
namespace layers = graft::keras::layers;
using ::testing::HasSubstr;

graft::Tensor Data(int64_t n, int64_t d, uint64_t seed) {
  keras::SetRandomSeed(seed);
  graft::Tensor t(graft::DType::kF32, {n, d});
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    t.data<float>()[i] = static_cast<float>(2 * keras::internal::NextUniform() - 1);
  }
  return t;
}

TEST(LearnedSwishTest, TrainsInSequentialShowsInSummaryAndLoadsBack) {
  graft::SetNumThreads(1);
  keras::SetRandomSeed(3);
  keras::Sequential model({
      layers::Dense(8, {.input_shape = {4}}),
      LearnedSwish({.initial_beta = 0.5}),
      layers::Dense(1),
  });
  ASSERT_TRUE(model.Compile({.optimizer = "adam", .loss = "mse"}).ok());
  const std::string summary = model.SummaryText().value();
  EXPECT_THAT(summary, HasSubstr("(LearnedSwish)"));
  EXPECT_THAT(summary, HasSubstr("Total params: 50"));  // 40 + 1 + 9
  graft::Tensor x = Data(64, 4, 1), y = Data(64, 1, 2);
  const float beta_before = model.layers()[1]->weights()[0].value.data<float>()[0];
  EXPECT_EQ(beta_before, 0.5f);
  absl::StatusOr<keras::History> h =
      model.Fit(x, y, {.batch_size = 16, .epochs = 20, .verbose = 0});
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_LT(h->history.at("loss").back(), h->history.at("loss").front());
  EXPECT_NE(model.layers()[1]->weights()[0].value.data<float>()[0], beta_before);  // trained

  const char* dir = std::getenv("TEST_TMPDIR");
  const std::string path = std::string(dir ? dir : "/tmp") + "/swish.graft";
  ASSERT_TRUE(model.Save(path).ok());
  absl::StatusOr<keras::Model> loaded = keras::LoadModel(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  absl::StatusOr<graft::Tensor> a = model.Predict(x), b = loaded->Predict(x);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(std::memcmp(a->raw_data(), b->raw_data(), a->nbytes()), 0);
}

TEST(LearnedSwishTest, WorksInAFunctionalModel) {
  graft::SetNumThreads(1);
  keras::KerasTensor in = keras::Input({4});
  graft::keras::Layer swish = LearnedSwish();
  keras::KerasTensor h = layers::Dense(6)(in);
  keras::KerasTensor out = layers::Dense(1)(layers::Add()({swish(h), h}));
  keras::Model model({in}, {out});
  ASSERT_TRUE(model.Compile({.optimizer = "adam", .loss = "mse"}).ok());
  EXPECT_THAT(model.SummaryText().value(), HasSubstr("Connected to"));
  ASSERT_TRUE(model.Fit(Data(32, 4, 4), Data(32, 1, 5), {.epochs = 2, .verbose = 0}).ok());
}

}  // namespace
}  // namespace myproj
