// graft — the record of a functional call (internal to keras/).
#ifndef GRAFT_KERAS_FUNCTIONAL_INTERNAL_H_
#define GRAFT_KERAS_FUNCTIONAL_INTERNAL_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "graph/shape.h"
#include "keras/layers.h"

namespace graft::keras::internal {

// One call of a layer on KerasTensors, or a model input (layer empty).
struct FunctionalNode {
  Layer layer;
  std::string input_name;           // an input's name
  std::vector<KerasTensor> inputs;  // the call's arguments, in order
  TensorType type;                  // the output (batch -1)
  absl::Status status;              // the first error of this call or of its inputs
  int call_index = 0;               // the layer's k-th call (Keras's node index)
};

}  // namespace graft::keras::internal

#endif  // GRAFT_KERAS_FUNCTIONAL_INTERNAL_H_
