// graft — the graph IR: nodes, values, and a builder that infers shapes as nodes are added.
#ifndef GRAFT_GRAPH_GRAPH_H_
#define GRAFT_GRAPH_GRAPH_H_

#include <any>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/shape.h"
#include "graph/tensor.h"
#include "graph/variable_home.h"

namespace graft {

struct OpSchema;

// One output of one node. Values are small handles into a Graph.
struct Value {
  int node = -1;  // the producing node's id
  int index = 0;  // which of its outputs
  bool valid() const { return node >= 0; }
  friend bool operator==(const Value& a, const Value& b) {
    return a.node == b.node && a.index == b.index;
  }
  template <typename H>
  friend H AbslHashValue(H h, const Value& v) {
    return H::combine(std::move(h), v.node, v.index);
  }
};

// A node run for its side effects (an optimizer's update, a moving-average update): what a
// plan's targets are. Returned by the functions that append such nodes.
struct Operation {
  int node = -1;  // the node's id
  bool valid() const { return node >= 0; }
  friend bool operator==(const Operation& a, const Operation& b) { return a.node == b.node; }
};

// An operation instance. Nodes are appended to a Graph and never removed, so node ids are a
// topological order.
struct Node {
  int id = -1;
  std::string name;              // unique in its graph, "conv1d/Conv1D" style
  const OpSchema* op = nullptr;  // from the registry; never null
  std::any attrs;                // the op's typed attribute struct
  std::vector<Value> inputs;
  std::vector<TensorType> outputs;

  // The attributes as their concrete type. The op's own code knows the type it registered.
  template <typename Attrs>
  const Attrs& attrs_as() const {
    return *std::any_cast<Attrs>(&attrs);
  }
};

// Attributes of the built-in source ops.
struct PlaceholderAttrs {
  TensorType type;  // the batch dimension may be unknown (-1)
};
struct VariableAttrs {
  Tensor value;  // the variable's logical storage: plans read and update it in place
  bool trainable = true;
  // Where the current value lives (graph/variable_home.h); shared by every variable node of the
  // graph over the same storage (a layer called in a training and an inference branch).
  std::shared_ptr<VariableHome> home;
};
struct ConstantAttrs {
  Tensor value;
};

// A directed acyclic graph of ops. Adding a node runs the op's shape function, so a shape
// error surfaces when the graph is built, before any data.
class Graph {
 public:
  Graph() = default;
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;

  // Adds a node of op `op_name` (e.g. "graft.Conv1D") and returns its outputs. Fails with
  // InvalidArgument when the op is unknown, the arity is wrong, or shape inference rejects the
  // inputs; the message names the node and the op.
  absl::StatusOr<std::vector<Value>> AddNode(absl::string_view op_name, std::vector<Value> inputs,
                                             std::any attrs = {}, absl::string_view name = "");
  // AddNode for ops with exactly one visible output.
  absl::StatusOr<Value> Add(absl::string_view op_name, std::vector<Value> inputs,
                            std::any attrs = {}, absl::string_view name = "");

  // Sources. A placeholder is fed at run time; a variable owns a tensor that plans read and
  // update in place; a constant is a fixed tensor.
  Value Placeholder(TensorType type, absl::string_view name);
  Value Variable(Tensor initial_value, absl::string_view name, bool trainable = true);
  Value Constant(Tensor value, absl::string_view name = "");

  int num_nodes() const { return static_cast<int>(nodes_.size()); }
  const Node& node(int id) const { return *nodes_[id]; }
  const Node& node(Value v) const { return *nodes_[v.node]; }
  const Node& node(Operation op) const { return *nodes_[op.node]; }
  const TensorType& type(Value v) const { return nodes_[v.node]->outputs[v.index]; }
  // The tensor of a variable node (shares storage with the graph's copy), brought up to date
  // first when a plan keeps the value in a packed form.
  Tensor VariableValue(Value v) const;
  // Brings every variable's logical tensor up to date (after plans kept packed copies): call
  // before reading variables' storage from outside the plans. `release_packed`: also mark the
  // packed copies stale, so that the next plan run repacks from the logical tensors (call it
  // where the storage may have been written from outside since).
  absl::Status SyncVariables(bool release_packed = false) const;
  bool IsVariable(Value v) const;
  bool IsPlaceholder(Value v) const;

  // Prefix for the names of nodes added from now on ("dense/"); returns the previous one.
  std::string SetNameScope(std::string scope);

  // Checks the invariants every pass relies on: inputs refer to earlier nodes, output counts
  // match the op, and each node's recorded types equal what its shape function infers now.
  absl::Status Verify() const;

  // Graphviz DOT text: one box per node (name, op, output types), edges labelled by type.
  std::string ToDot() const;

 private:
  std::string UniqueName(absl::string_view base);

  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<std::shared_ptr<VariableHome>> homes_;  // one per variable storage
  std::vector<std::string> used_names_;
  std::string scope_;
};

}  // namespace graft

#endif  // GRAFT_GRAPH_GRAPH_H_
