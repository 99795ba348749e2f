// graft — reverse-mode automatic differentiation, graph to graph.
#ifndef GRAFT_AUTODIFF_GRADIENTS_H_
#define GRAFT_AUTODIFF_GRADIENTS_H_

#include <vector>

#include "absl/status/statusor.h"
#include "graph/graph.h"

namespace graft::autodiff {

// Appends to `graph` the nodes computing d(loss)/d(wrt[i]) for each i and returns those values.
// `loss` is usually a scalar; for a non-scalar `loss` the seed is ones (the gradient of its
// sum). Only nodes on a path from some wrt to the loss get backward nodes; each op's gradient
// rule is told which inputs need a gradient. Gradients reaching one value along several paths
// are summed. A wrt value the loss does not depend on gets zeros. Fails when a node on the path
// has no gradient rule.
absl::StatusOr<std::vector<Value>> Gradients(Graph& graph, Value loss,
                                             const std::vector<Value>& wrt);

}  // namespace graft::autodiff

#endif  // GRAFT_AUTODIFF_GRADIENTS_H_
