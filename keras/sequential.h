// graft — the Keras Sequential model: a Model whose layers form one chain.
//
//   graft::keras::Sequential model({
//       layers::Conv1D(32, 5, {.activation = "relu", .input_shape = {100, 3}}),
//       layers::MaxPooling1D(2),
//       layers::Flatten(),
//       layers::Dense(1, {.activation = "sigmoid"}),
//   });
//   absl::Status s = model.Compile({.optimizer = "adam", .loss = "binary_crossentropy",
//                                   .metrics = {"accuracy"}});
//   absl::StatusOr<History> h = model.Fit(x, y, {.epochs = 10, .validation_split = 0.2});
//
// Build makes the chain a functional graph (an Input of the first layer's input_shape, then
// each layer called on the last one's output), so everything else is Model's (keras/model.h).
#ifndef GRAFT_KERAS_SEQUENTIAL_H_
#define GRAFT_KERAS_SEQUENTIAL_H_

#include <string>
#include <vector>

#include "keras/model.h"

namespace graft::keras {

class Sequential : public Model {
 public:
  explicit Sequential(std::vector<Layer> layers = {}, std::string name = "");

  // Appends a layer (the model is built and compiled again).
  void Add(Layer layer);

  // Creates every weight and checks every shape, from the first layer's input_shape. Called by
  // Compile and Summary; errors name the layer: "conv1d (Conv1D, layer 0): ...".
  absl::Status Build() override;

 private:
  bool built_ = false;
};

}  // namespace graft::keras

#endif  // GRAFT_KERAS_SEQUENTIAL_H_
