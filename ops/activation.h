// graft — activation ops: builders for graph code and Keras layers.
//
// Each elementwise activation is an op "graft.<Name>" taking x and giving y, with a backward op
// "graft.<Name>Grad" taking (dy, x) or (dy, y) (ops/activation.cc lists which and the math).
// Softmax is over the last axis. All take no attributes (graft::NoAttrs).
#ifndef GRAFT_OPS_ACTIVATION_H_
#define GRAFT_OPS_ACTIVATION_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/graph.h"

namespace graft::ops {

// Applies the activation named as in Keras 3 ("relu", "leaky_relu" (negative_slope 0.2),
// "sigmoid", "tanh", "elu" (alpha 1), "selu", "gelu" (approximate=False), "silu" (alias "swish"),
// "softplus", "softmax", "linear"; empty is linear). Unknown names fail with a message listing
// the known ones.
absl::StatusOr<Value> Activation(Graph& g, Value x, absl::string_view name);
// True when graft knows the activation name.
bool IsKnownActivation(absl::string_view name);
// OK for a known name, else InvalidArgument listing the known ones.
absl::Status ValidateActivation(absl::string_view name);
// Every name Activation accepts ("linear" first, aliases last), in the order error messages
// list them.
std::vector<std::string> KnownActivations();

}  // namespace graft::ops

#endif  // GRAFT_OPS_ACTIVATION_H_
