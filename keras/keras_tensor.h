// graft — symbolic tensors of the functional API (Keras's KerasTensor).
//
//   auto in = graft::keras::Input({32, 32, 3});                 // (None, 32, 32, 3)
//   auto x = layers::Conv2D(16, 3, {.padding = "same"})(in);    // calls the layer symbolically
//   auto out = layers::Dense(10, {.activation = "softmax"})(layers::Flatten()(x));
//   graft::keras::Model model({in}, {out});
//
// A KerasTensor holds no data: it records which layer produced it from which inputs, and its
// type with an unknown batch dimension. Calling a layer checks the shapes at once; an error is
// kept in the result (status()) and carried through every later call, and the Model built from
// it reports the first one (C++ constructors cannot return a Status, as Keras's call raises).
#ifndef GRAFT_KERAS_KERAS_TENSOR_H_
#define GRAFT_KERAS_KERAS_TENSOR_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "graph/shape.h"

namespace graft::keras {

namespace internal {
struct FunctionalNode;
}  // namespace internal

class KerasTensor {
 public:
  KerasTensor() = default;

  // (None, ...): the batch dimension is unknown (-1).
  const TensorType& type() const;
  const Shape& shape() const { return type().shape; }
  // OK, or the first error of the calls that led to this tensor.
  const absl::Status& status() const;
  bool ok() const { return status().ok(); }
  // Keras's history notation: "conv2d[0][0]" (layer, call, output), or the input's name.
  std::string name() const;

  // Internal: the call that produced this tensor.
  const std::shared_ptr<internal::FunctionalNode>& node() const { return node_; }
  explicit KerasTensor(std::shared_ptr<internal::FunctionalNode> node) : node_(std::move(node)) {}

 private:
  std::shared_ptr<internal::FunctionalNode> node_;
};

struct InputOptions {
  std::string name;  // default "input_layer", "input_layer_1", ... (Keras 3)
};

// A model input of `shape` (without the batch dimension), float32.
KerasTensor Input(std::vector<int64_t> shape, InputOptions options = {});

}  // namespace graft::keras

#endif  // GRAFT_KERAS_KERAS_TENSOR_H_
