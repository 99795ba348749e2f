// graft — the op registry. An op is defined in one place: its name, inputs and outputs, typed
// attributes, shape function, kernels, gradient rule and doc line (see DESIGN.md "One op = one
// registration"). Registration is static; user code outside graft registers ops the same way.
#ifndef GRAFT_GRAPH_OP_REGISTRY_H_
#define GRAFT_GRAPH_OP_REGISTRY_H_

#include <any>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <typeinfo>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/graph.h"

namespace graft {

class Kernel;  // runtime/kernel.h: kernels are only created (and completed) by the runtime.

// Which kernel a plan picks for a node: the fast one (oneDNN / TBB) or the reference loops.
enum class KernelKind { kFast, kReference };

// What a shape function sees: the input types and the node's name (for messages).
struct ShapeContext {
  const std::vector<TensorType>& inputs;
  absl::string_view node_name;
  absl::string_view op_name;
};

// Shape-function error with the node's name: "dense/MatMul (graft.MatMul): <message>".
absl::Status ShapeError(const ShapeContext& c, absl::string_view message);

// Requires input i to be floating with the given rank (rank < 0: any).
absl::Status ExpectFloat(const ShapeContext& c, int i, int rank = -1);

namespace internal {
// The C++ name of a type as written in source ("graft::NoAttrs", not "N5graft7NoAttrsE"), for
// messages.
std::string TypeName(const std::type_info& type);
}  // namespace internal

// What a gradient rule sees, and the graph it appends backward nodes to.
class GradContext {
 public:
  GradContext(Graph& graph, const Node& node, std::vector<std::optional<Value>> output_grads,
              std::vector<bool> needs_input_grad)
      : graph_(graph),
        node_(node),
        output_grads_(std::move(output_grads)),
        needs_input_grad_(std::move(needs_input_grad)) {}

  Graph& graph() { return graph_; }
  const Node& node() const { return node_; }
  Value input(int i) const { return node_.inputs[i]; }
  int num_inputs() const { return static_cast<int>(node_.inputs.size()); }
  Value output(int i) const { return Value{node_.id, i}; }
  // dL/d(output i), or nullopt when no path from output i reaches the loss.
  const std::optional<Value>& output_grad(int i) const { return output_grads_[i]; }
  // False for inputs off the loss-parameter path: a rule may skip computing their gradients.
  bool needs_input_grad(int i) const { return needs_input_grad_[i]; }
  template <typename Attrs>
  const Attrs& attrs() const {
    return node_.attrs_as<Attrs>();
  }

 private:
  Graph& graph_;
  const Node& node_;
  std::vector<std::optional<Value>> output_grads_;
  std::vector<bool> needs_input_grad_;
};

// What a gradient rule returns: one entry per input.
using Grads = std::vector<std::optional<Value>>;
using GradResult = absl::StatusOr<Grads>;

using ShapeFn = std::function<absl::StatusOr<std::vector<TensorType>>(const ShapeContext&,
                                                                      const std::any& attrs)>;
// Returns one entry per input: its gradient, or nullopt (not needed / not differentiable).
using GradFn = std::function<absl::StatusOr<std::vector<std::optional<Value>>>(GradContext&)>;
using KernelFactory = std::function<std::unique_ptr<Kernel>()>;
using AttrsPrinter = std::function<std::string(const std::any&)>;
// The type-erased definition of an op, as stored in the registry.
struct OpSchema {
  std::string name;
  std::string doc;
  // "b?" marks an optional trailing input; a last input "x..." repeats: one or more of it
  // (graft.Concat's inputs).
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;  // "workspace~" marks a hidden output (not user-visible)
  std::vector<int> mutated_inputs;   // inputs the kernel updates in place (optimizer updates)
  // (output, input) pairs: the output may be written over the input's buffer when nothing
  // reads the input afterwards (the kernel is safe with the two the same).
  std::vector<std::pair<int, int>> in_place;
  // (output, input) pairs: the output is always the input's bytes (a reshape); the kernel sees
  // the two pointers equal and does nothing.
  std::vector<std::pair<int, int>> aliases;
  ShapeFn shape;
  GradFn grad;  // empty: not differentiable
  AttrsPrinter print_attrs;
  std::map<DType, KernelFactory> fast_kernels;
  std::map<DType, KernelFactory> reference_kernels;

  int min_inputs() const;
  // The most inputs a node may have (INT_MAX for a variadic op).
  int max_inputs() const;
  // True when the last input repeats ("x...").
  bool is_variadic() const;
  bool is_hidden_output(int i) const;
  absl::string_view output_name(int i) const;
  // Picks the kernel for `dtype`: fast when asked and present, else the reference kernel.
  // Returns null when there is none.
  const KernelFactory* FindKernel(DType dtype, KernelKind kind) const;
};

// The global op registry. Safe to use from several threads (registering while others look up);
// the schemas it hands out live as long as the program.
class OpRegistry {
 public:
  static OpRegistry& Global();
  // Fails (AlreadyExists) if the name is taken.
  absl::Status Register(OpSchema schema);
  const OpSchema* Find(absl::string_view name) const;
  std::vector<std::string> Names() const;

 private:
  mutable std::shared_mutex mu_;
  std::map<std::string, std::unique_ptr<OpSchema>, std::less<>> ops_;
};

// Fluent, typed builder for an OpSchema. `Attrs` is the op's attribute struct (use
// `NoAttrs` for none); shape and gradient functions receive it typed.
struct NoAttrs {};

template <typename Attrs>
class OpDef {
 public:
  explicit OpDef(std::string name) { schema_.name = std::move(name); }

  OpDef& Doc(std::string doc) {
    schema_.doc = std::move(doc);
    return *this;
  }
  OpDef& Inputs(std::vector<std::string> names) {
    schema_.inputs = std::move(names);
    return *this;
  }
  OpDef& Outputs(std::vector<std::string> names) {
    schema_.outputs = std::move(names);
    return *this;
  }
  OpDef& Mutates(std::vector<int> inputs) {
    schema_.mutated_inputs = std::move(inputs);
    return *this;
  }
  OpDef& InPlace(int output, int input) {
    schema_.in_place.emplace_back(output, input);
    return *this;
  }
  OpDef& Alias(int output, int input) {
    schema_.aliases.emplace_back(output, input);
    return *this;
  }
  OpDef& Shape(
      std::function<absl::StatusOr<std::vector<TensorType>>(const ShapeContext&, const Attrs&)>
          fn) {
    // The attribute type is checked here, once, when a node is added: every later typed access
    // (kernels, gradient rules) sees attributes that passed this check.
    schema_.shape = [fn = std::move(fn)](
                        const ShapeContext& c,
                        const std::any& a) -> absl::StatusOr<std::vector<TensorType>> {
      const Attrs* attrs = std::any_cast<Attrs>(&a);
      if (attrs == nullptr) {
        return ShapeError(
            c, "wrong attribute type " + (a.has_value() ? internal::TypeName(a.type()) : "(none)") +
                   "; this op takes " + internal::TypeName(typeid(Attrs)) + " attributes");
      }
      return fn(c, *attrs);
    };
    return *this;
  }
  OpDef& Grad(GradFn fn) {
    schema_.grad = std::move(fn);
    return *this;
  }
  OpDef& PrintAttrs(std::function<std::string(const Attrs&)> fn) {
    schema_.print_attrs = [fn = std::move(fn)](const std::any& a) {
      return fn(*std::any_cast<Attrs>(&a));
    };
    return *this;
  }
  // The fast kernel for one dtype (oneDNN or TBB loops).
  template <typename K>
  OpDef& Kernel(DType dtype) {
    schema_.fast_kernels[dtype] = [] { return std::unique_ptr<graft::Kernel>(new K()); };
    return *this;
  }
  // The reference kernel template, instantiated for float and double.
  template <template <typename> class K>
  OpDef& Reference() {
    schema_.reference_kernels[DType::kF32] = [] {
      return std::unique_ptr<graft::Kernel>(new K<float>());
    };
    schema_.reference_kernels[DType::kF64] = [] {
      return std::unique_ptr<graft::Kernel>(new K<double>());
    };
    return *this;
  }

  OpSchema Build() && { return std::move(schema_); }

 private:
  OpSchema schema_;
};

namespace internal {
// Registers at static-initialisation time; aborts the program on a duplicate name, since that is
// a build error, not user input.
struct OpRegistrar {
  explicit OpRegistrar(OpSchema schema);
  template <typename Attrs>
  explicit OpRegistrar(OpDef<Attrs> def) : OpRegistrar(std::move(def).Build()) {}
};
}  // namespace internal

#define GRAFT_CONCAT_INNER(a, b) a##b
#define GRAFT_CONCAT(a, b) GRAFT_CONCAT_INNER(a, b)
// Registers an op: GRAFT_REGISTER_OP(OpDef<MyAttrs>("myproj.Swish").Inputs(...)...);
// The library that holds it must be `alwayslink = True` (tools/graft.bzl's graft_op_library).
#define GRAFT_REGISTER_OP(...)                                                             \
  [[maybe_unused]] static ::graft::internal::OpRegistrar GRAFT_CONCAT(graft_op_registrar_, \
                                                                      __COUNTER__)(__VA_ARGS__)

}  // namespace graft

#endif  // GRAFT_GRAPH_OP_REGISTRY_H_
