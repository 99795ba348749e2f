// The seed's Example C: Conv2D with a 3x3 kernel on input (100, 1, 1) — a time series dressed
// as an image. graft refuses it at Compile, before any data, and says what to use instead.
// Then, with the kernel fixed to (3, 1), feeding data of shape (100, 100, 1) to a model declared
// (100, 1, 1) fails in Fit with expected vs actual shapes — never a crash, never silent training.
#include <iostream>

#include "keras/keras.h"

namespace keras = graft::keras;
namespace layers = graft::keras::layers;

int main() {
  keras::SetRandomSeed(1);
  keras::Sequential wrong({
      layers::Conv2D(32, {3, 3}, {.input_shape = {100, 1, 1}}),
  });
  absl::Status s = wrong.Compile({.optimizer = "adam", .loss = "mse"});
  std::cout << "Compile of Conv2D(32, (3,3), input_shape=(100,1,1)):\n  " << s << "\n\n";

  keras::Sequential fixed({
      layers::Conv2D(32, {3, 1}, {.activation = "relu", .input_shape = {100, 1, 1}}),
      layers::Flatten(),
      layers::Dense(1, {.activation = "sigmoid"}),
  });
  s = fixed.Compile({.optimizer = "adam", .loss = "binary_crossentropy"});
  std::cout << "Compile with kernel_size (3, 1): " << s << "\n";
  graft::Tensor x(graft::DType::kF32, {100, 100, 1});
  graft::Tensor y(graft::DType::kF32, {100, 1});
  absl::StatusOr<keras::History> h = fixed.Fit(x, y, {.epochs = 1, .verbose = 0});
  std::cout << "Fit on data of shape (100, 100, 1):\n  " << h.status() << "\n";
  // Exit 0 when both problems were reported as errors (this is a demonstration).
  return !s.ok() || h.ok() ? 1 : 0;
}
