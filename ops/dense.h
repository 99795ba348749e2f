// graft — Dense (fully connected) op: the builder for graph code and Keras layers.
#ifndef GRAFT_OPS_DENSE_H_
#define GRAFT_OPS_DENSE_H_

#include <optional>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/graph.h"

namespace graft::ops {

// y = x @ w + b on the last axis (op "graft.Dense").
//   x: (..., in), rank >= 2 (the leading dimensions, batch included, are flattened into rows);
//   w: (in, out), Keras's kernel layout; b: (out,), optional.
//   y: (..., out). An unknown batch dimension (-1) propagates.
// Fails when the graph is built if the shapes disagree; the message names the node, e.g.
// "dense/Dense (graft.Dense): expected input last dimension 1536 (the kernel's in-features),
// got 1537". Gradients: dx = dy @ w^T ("graft.DenseBackwardData"), dw = x^T @ dy and
// db = column sums of dy ("graft.DenseBackwardWeights"), over the flattened rows.
absl::StatusOr<Value> Dense(Graph& g, Value x, Value w, std::optional<Value> b,
                            absl::string_view name = "");

}  // namespace graft::ops

#endif  // GRAFT_OPS_DENSE_H_
