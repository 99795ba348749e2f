// graft — typed builders for the elementwise ops of ops/elementwise.cc (graph code and Keras
// layers call these instead of naming the ops). Inputs must have equal types: no broadcasting.
#ifndef GRAFT_OPS_ELEMENTWISE_H_
#define GRAFT_OPS_ELEMENTWISE_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/graph.h"
#include "ops/core.h"  // ScaleAttrs

namespace graft::ops {

// "graft.Add": y = a + b. a and b must have equal dtypes and shapes (an unknown batch, -1,
// matches only -1), else the error names both types: "... inputs must have equal types, got
// float32 (None, 3) and float32 (None, 4)".
absl::StatusOr<Value> Add(Graph& g, Value a, Value b, absl::string_view name = "");

// "graft.Mul": y = a * b, elementwise; a and b as for Add.
absl::StatusOr<Value> Multiply(Graph& g, Value a, Value b, absl::string_view name = "");

// "graft.Scale": y = alpha * x.
absl::StatusOr<Value> Scale(Graph& g, Value x, double alpha, absl::string_view name = "");

// "graft.ReduceSum": the sum of every element of x, a scalar.
absl::StatusOr<Value> ReduceSum(Graph& g, Value x, absl::string_view name = "");

// "graft.BroadcastLike": the scalar s repeated to the shape of like.
absl::StatusOr<Value> BroadcastLike(Graph& g, Value s, Value like, absl::string_view name = "");

}  // namespace graft::ops

#endif  // GRAFT_OPS_ELEMENTWISE_H_
