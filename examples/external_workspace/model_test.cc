// A user layer (ScaledSoftSign, on the user op) in a Sequential model: trained with Fit, saved
// and loaded back through its registered factory.
#include <cstdlib>
#include <random>
#include <string>

#include "gtest/gtest.h"
#include "keras/keras.h"
#include "scaled_soft_sign_layer.h"

namespace {

namespace layers = graft::keras::layers;

// 256 points in [-1, 1]^4, label 1 where x0 + x1 - x2 > 0.
void MakeData(graft::Tensor* x, graft::Tensor* y) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  *x = graft::Tensor(graft::DType::kF32, {256, 4});
  *y = graft::Tensor(graft::DType::kF32, {256, 1});
  for (int i = 0; i < 256; ++i) {
    float* r = x->data<float>() + 4 * i;
    for (int j = 0; j < 4; ++j) r[j] = u(rng);
    y->data<float>()[i] = r[0] + r[1] - r[2] > 0 ? 1.f : 0.f;
  }
}

graft::keras::Sequential MakeModel() {
  return graft::keras::Sequential({
      layers::Dense(8, {.input_shape = {4}}),
      myproj::ScaledSoftSign(),
      layers::Dense(1, {.activation = "sigmoid"}),
  });
}

TEST(UserLayer, TrainsInASequentialModel) {
  graft::keras::SetRandomSeed(1);
  graft::Tensor x, y;
  MakeData(&x, &y);
  graft::keras::Sequential model = MakeModel();
  ASSERT_TRUE(model
                  .Compile({.optimizer = graft::optim::MakeAdam({.learning_rate = 0.02}),
                            .loss = "binary_crossentropy",
                            .metrics = {"accuracy"}})
                  .ok());
  model.Summary();
  absl::StatusOr<graft::keras::History> h =
      model.Fit(x, y, {.batch_size = 32, .epochs = 15, .verbose = 2});
  ASSERT_TRUE(h.ok()) << h.status();
  const std::vector<double>& loss = h->history.at("loss");
  EXPECT_LT(loss.back(), 0.5 * loss.front()) << "loss " << loss.front() << " -> " << loss.back();
  EXPECT_GT(h->history.at("accuracy").back(), 0.9);
  // alpha (the layer's weight, initialised to ones) was trained.
  const graft::Tensor& alpha = model.layers()[1]->weights()[0].value;
  bool moved = false;
  for (int64_t i = 0; i < alpha.num_elements(); ++i) moved |= alpha.AsDouble(i) != 1.0;
  EXPECT_TRUE(moved);

  // Save, then load through the factory GRAFT_REGISTER_LAYER registered for "ScaledSoftSign".
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string path = std::string(tmp ? tmp : "/tmp") + "/user_layer.graft";
  ASSERT_TRUE(model.Save(path).ok());
  absl::StatusOr<graft::keras::Model> loaded = graft::keras::LoadModel(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->layers()[1]->class_name(), "ScaledSoftSign");
  absl::StatusOr<graft::Tensor> p = model.Predict(x, {.batch_size = 64});
  absl::StatusOr<graft::Tensor> q = loaded->Predict(x, {.batch_size = 64});
  ASSERT_TRUE(p.ok() && q.ok());
  for (int64_t i = 0; i < p->num_elements(); ++i) EXPECT_EQ(p->AsDouble(i), q->AsDouble(i)) << i;
  // Training goes on from the saved state.
  EXPECT_TRUE(loaded->Fit(x, y, {.epochs = 1, .verbose = 0}).ok());
}

// The same layer in a functional model: a residual connection around it.
TEST(UserLayer, TrainsInAFunctionalModel) {
  graft::keras::SetRandomSeed(2);
  graft::Tensor x, y;
  MakeData(&x, &y);
  graft::keras::KerasTensor in = graft::keras::Input({4});
  graft::keras::KerasTensor h = layers::Dense(8)(in);
  h = layers::Add()({myproj::ScaledSoftSign()(h), h});
  graft::keras::Model model({in}, {layers::Dense(1, {.activation = "sigmoid"})(h)});
  ASSERT_TRUE(model
                  .Compile({.optimizer = graft::optim::MakeAdam({.learning_rate = 0.02}),
                            .loss = "binary_crossentropy",
                            .metrics = {"accuracy"}})
                  .ok());
  model.Summary();
  absl::StatusOr<graft::keras::History> hist =
      model.Fit(x, y, {.batch_size = 32, .epochs = 15, .verbose = 0});
  ASSERT_TRUE(hist.ok()) << hist.status();
  EXPECT_GT(hist->history.at("accuracy").back(), 0.9);
}

}  // namespace
