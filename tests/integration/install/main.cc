// A program built against an installed graft without Bazel (tests/integration/install.sh):
//   g++ main.cc $(pkg-config --cflags --libs graft)
// It trains a small Sequential model on a few samples and checks that the loss went down.
#include <cstdio>

#include "keras/keras.h"

namespace layers = graft::keras::layers;

int main() {
  graft::keras::SetRandomSeed(3);
  // 64 samples of 2 features; label 1 where x0 > x1.
  graft::Tensor x(graft::DType::kF32, {64, 2});
  graft::Tensor y(graft::DType::kF32, {64, 1});
  for (int i = 0; i < 64; ++i) {
    const float a = static_cast<float>((i * 37) % 64) / 32.f - 1.f;
    const float b = static_cast<float>((i * 11 + 5) % 64) / 32.f - 1.f;
    x.data<float>()[2 * i] = a;
    x.data<float>()[2 * i + 1] = b;
    y.data<float>()[i] = a > b ? 1.f : 0.f;
  }
  graft::keras::Sequential model({
      layers::Dense(8, {.activation = "relu", .input_shape = {2}}),
      layers::Dense(1, {.activation = "sigmoid"}),
  });
  absl::Status s = model.Compile({.optimizer = graft::optim::MakeAdam({.learning_rate = 0.05}),
                                  .loss = "binary_crossentropy",
                                  .metrics = {"accuracy"}});
  if (!s.ok()) {
    std::printf("Compile: %s\n", s.ToString().c_str());
    return 1;
  }
  model.Summary();
  absl::StatusOr<graft::keras::History> h =
      model.Fit(x, y, {.batch_size = 16, .epochs = 20, .verbose = 0});
  if (!h.ok()) {
    std::printf("Fit: %s\n", h.status().ToString().c_str());
    return 1;
  }
  const std::vector<double>& loss = h->history.at("loss");
  std::printf("loss %.4f -> %.4f, accuracy %.3f\n", loss.front(), loss.back(),
              h->history.at("accuracy").back());
  return loss.back() < 0.7 * loss.front() ? 0 : 1;
}
