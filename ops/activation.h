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

// The constants of the activations below, for code that must reproduce graft's math exactly (the
// ONNX export writes them into the file rather than relying on another framework's defaults).
inline constexpr float kLeakyReluNegativeSlope = 0.2f;  // Keras 3's leaky_relu default
inline constexpr float kEluAlpha = 1.0f;
inline constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
inline constexpr double kSeluScale = 1.0507009873554804934193349852946;
// gelu is the exact form x/2 (1 + erf(x sqrt(1/2))), not the tanh approximation.
inline constexpr double kGeluSqrtHalf = 0.70710678118654752440;

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
