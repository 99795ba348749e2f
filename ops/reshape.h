// graft — Flatten and Reshape (Keras semantics): builders for graph code and Keras layers.
// Both keep the batch dimension (which may be unknown, -1) and reinterpret each sample's
// values in row-major order; the data itself never moves.
#ifndef GRAFT_OPS_RESHAPE_H_
#define GRAFT_OPS_RESHAPE_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/graph.h"

namespace graft::ops {

// The attributes of "graft.Reshape": the output shape without the batch dimension. At most one
// entry may be -1 (inferred from the per-sample element count); the others must be positive.
struct ReshapeAttrs {
  std::vector<int64_t> target;
};

// Keras Flatten: (N, d1, ..., dk) -> (N, d1*...*dk), in row-major order, so a channels-last
// (N, H, W, C) input flattens in (H, W, C) order as in Keras; a rank-1 (N,) input becomes (N, 1).
// Built on "graft.Reshape". Fails for a rank-0 input (no batch dimension).
absl::StatusOr<Value> Flatten(Graph& g, Value x, absl::string_view name = "");

// Keras Reshape: (N, ...) -> (N, target...). `target` excludes the batch dimension; at most one
// entry is -1 and is inferred. The per-sample element count must match, else the error reads
// e.g. "cannot reshape (None, 4, 5) (20 values per sample) to (3, 7) (21 values per sample)".
absl::StatusOr<Value> Reshape(Graph& g, Value x, std::vector<int64_t> target,
                              absl::string_view name = "");

}  // namespace graft::ops

#endif  // GRAFT_OPS_RESHAPE_H_
