// graft — activation ops: builders for graph code and Keras layers.
#ifndef GRAFT_OPS_ACTIVATION_H_
#define GRAFT_OPS_ACTIVATION_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/graph.h"

namespace graft::ops {

// Applies the activation named as in Keras ("relu", "sigmoid", "softmax", "linear"; empty is
// linear). Unknown names fail with a message listing the known ones.
absl::StatusOr<Value> Activation(Graph& g, Value x, absl::string_view name);
// True when graft knows the activation name.
bool IsKnownActivation(absl::string_view name);
// OK for a known name, else InvalidArgument listing the known ones.
absl::Status ValidateActivation(absl::string_view name);

}  // namespace graft::ops

#endif  // GRAFT_OPS_ACTIVATION_H_
