#include "graph/graph.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "graph/op_registry.h"

namespace graft {
namespace {

absl::StatusOr<std::vector<TensorType>> SourceType(const TensorType& t) {
  return std::vector<TensorType>{t};
}

// The three source ops. They have no kernels: plans bind their outputs directly (a fed tensor,
// the variable's own storage, the constant).
GRAFT_REGISTER_OP(OpDef<PlaceholderAttrs>("graft.Placeholder")
                      .Doc("y = the tensor fed at run time")
                      .Outputs({"y"})
                      .Shape([](const ShapeContext&, const PlaceholderAttrs& a) {
                        return SourceType(a.type);
                      }));
GRAFT_REGISTER_OP(OpDef<VariableAttrs>("graft.Variable")
                      .Doc("y = the variable's current value (updated in place by optimizers)")
                      .Outputs({"y"})
                      .Shape([](const ShapeContext&, const VariableAttrs& a) {
                        return SourceType(a.value.type());
                      }));
GRAFT_REGISTER_OP(OpDef<ConstantAttrs>("graft.Constant")
                      .Doc("y = a fixed tensor")
                      .Outputs({"y"})
                      .Shape([](const ShapeContext&, const ConstantAttrs& a) {
                        return SourceType(a.value.type());
                      }));

absl::StatusOr<std::vector<TensorType>> Infer(const OpSchema& op, const std::vector<Value>& inputs,
                                              const std::vector<std::unique_ptr<Node>>& nodes,
                                              const std::any& attrs, absl::string_view name) {
  std::vector<TensorType> in;
  for (const Value& v : inputs) in.push_back(nodes[v.node]->outputs[v.index]);
  ShapeContext ctx{in, name, op.name};
  return op.shape(ctx, attrs);
}

}  // namespace

std::string Graph::UniqueName(absl::string_view base) {
  std::string name = absl::StrCat(scope_, base);
  std::string candidate = name;
  for (int i = 1; std::find(used_names_.begin(), used_names_.end(), candidate) != used_names_.end();
       ++i) {
    candidate = absl::StrCat(name, "_", i);
  }
  used_names_.push_back(candidate);
  return candidate;
}

std::string Graph::SetNameScope(std::string scope) {
  std::swap(scope, scope_);
  return scope;
}

absl::StatusOr<std::vector<Value>> Graph::AddNode(absl::string_view op_name,
                                                  std::vector<Value> inputs, std::any attrs,
                                                  absl::string_view name) {
  const OpSchema* op = OpRegistry::Global().Find(op_name);
  if (op == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("unknown op \"", op_name, "\": is its library linked (alwayslink = True)?"));
  }
  std::string base =
      name.empty() ? std::string(op_name.substr(op_name.rfind('.') + 1)) : std::string(name);
  const int n = static_cast<int>(inputs.size());
  if (n < op->min_inputs() || n > op->max_inputs()) {
    const std::string most =
        op->is_variadic() ? std::string("any number of") : absl::StrCat(op->max_inputs());
    return absl::InvalidArgumentError(absl::StrCat(scope_, base, " (", op_name, "): takes ",
                                                   op->min_inputs(), " to ", most, " inputs, got ",
                                                   n));
  }
  for (const Value& v : inputs) {
    if (!v.valid() || v.node >= num_nodes() ||
        v.index >= static_cast<int>(nodes_[v.node]->outputs.size())) {
      return absl::InvalidArgumentError(
          absl::StrCat(scope_, base, " (", op_name, "): an input is not a value of this graph"));
    }
  }
  if (!attrs.has_value() && op->shape) {
    // Ops without attributes are registered with NoAttrs.
    attrs = NoAttrs{};
  }
  std::string full_name = absl::StrCat(scope_, base);
  absl::StatusOr<std::vector<TensorType>> types = Infer(*op, inputs, nodes_, attrs, full_name);
  if (!types.ok()) return types.status();
  if (types->size() != op->outputs.size()) {
    return absl::InternalError(absl::StrCat(op_name, ": shape function returned ", types->size(),
                                            " outputs, the op declares ", op->outputs.size()));
  }
  // Every later size computation (element counts, strides, bytes) may assume that the known
  // dimensions of a type multiply without overflowing int64.
  for (size_t i = 0; i < types->size(); ++i) {
    const std::vector<int64_t>& dims = (*types)[i].shape.dims();
    if (std::find(dims.begin(), dims.end(), 0) != dims.end()) continue;  // no elements
    int64_t count = 1;
    for (int64_t d : dims) {
      if (d > 0 && __builtin_mul_overflow(count, d, &count)) {
        return absl::InvalidArgumentError(absl::StrCat(
            full_name, " (", op_name, "): output ", i, " would be ", (*types)[i].ToString(),
            ", more than 2^63 - 1 elements (per sample, when the batch size is unknown)"));
      }
    }
  }
  auto node = std::make_unique<Node>();
  node->id = num_nodes();
  node->name = UniqueName(base);
  node->op = op;
  node->attrs = std::move(attrs);
  node->inputs = std::move(inputs);
  node->outputs = *std::move(types);
  std::vector<Value> outs;
  for (int i = 0; i < static_cast<int>(node->outputs.size()); ++i) outs.push_back({node->id, i});
  nodes_.push_back(std::move(node));
  return outs;
}

absl::StatusOr<Value> Graph::Add(absl::string_view op_name, std::vector<Value> inputs,
                                 std::any attrs, absl::string_view name) {
  absl::StatusOr<std::vector<Value>> outs =
      AddNode(op_name, std::move(inputs), std::move(attrs), name);
  if (!outs.ok()) return outs.status();
  return outs->front();
}

Value Graph::Placeholder(TensorType type, absl::string_view name) {
  return *Add("graft.Placeholder", {}, PlaceholderAttrs{std::move(type)}, name);
}

Value Graph::Variable(Tensor initial_value, absl::string_view name, bool trainable) {
  std::shared_ptr<VariableHome> home;
  for (const auto& h : homes_) {
    if (h->logical().SharesStorageWith(initial_value)) home = h;
  }
  if (home == nullptr) {
    home = std::make_shared<VariableHome>(initial_value);
    homes_.push_back(home);
  }
  return *Add("graft.Variable", {}, VariableAttrs{std::move(initial_value), trainable, home}, name);
}

absl::Status Graph::SyncVariables(bool release_packed) const {
  for (const auto& h : homes_) {
    if (absl::Status s = h->SyncLogical(); !s.ok()) return s;
    if (release_packed) h->LogicalWritten();
  }
  return absl::OkStatus();
}

Value Graph::Constant(Tensor value, absl::string_view name) {
  return *Add("graft.Constant", {}, ConstantAttrs{std::move(value)},
              name.empty() ? "Constant" : name);
}

bool Graph::IsVariable(Value v) const { return node(v).op->name == "graft.Variable"; }
bool Graph::IsPlaceholder(Value v) const { return node(v).op->name == "graft.Placeholder"; }

Tensor Graph::VariableValue(Value v) const {
  const VariableAttrs& a = node(v).attrs_as<VariableAttrs>();
  if (a.home != nullptr) a.home->SyncLogical().IgnoreError();  // Unpack cannot fail once packed
  return a.value;
}

absl::Status Graph::Verify() const {
  for (const auto& n : nodes_) {
    if (n->op == nullptr) return absl::InternalError(absl::StrCat(n->name, ": no op"));
    for (const Value& v : n->inputs) {
      if (v.node < 0 || v.node >= n->id) {
        return absl::InternalError(
            absl::StrCat(n->name, ": input from node ", v.node, " does not precede it"));
      }
      if (v.index >= static_cast<int>(nodes_[v.node]->outputs.size())) {
        return absl::InternalError(
            absl::StrCat(n->name, ": input ", v.node, ":", v.index, " names a missing output"));
      }
    }
    if (n->outputs.size() != n->op->outputs.size()) {
      return absl::InternalError(absl::StrCat(n->name, ": has ", n->outputs.size(),
                                              " outputs, its op declares ", n->op->outputs.size()));
    }
    absl::StatusOr<std::vector<TensorType>> types =
        Infer(*n->op, n->inputs, nodes_, n->attrs, n->name);
    if (!types.ok()) return types.status();
    if (*types != n->outputs) {
      return absl::InternalError(
          absl::StrCat(n->name, ": recorded output types differ from shape inference"));
    }
  }
  return absl::OkStatus();
}

std::string Graph::ToDot() const {
  auto esc = [](absl::string_view s) { return absl::StrReplaceAll(s, {{"\"", "\\\""}}); };
  std::string out = "digraph graft {\n  rankdir=TB;\n  node [shape=box, fontname=\"monospace\"];\n";
  for (const auto& n : nodes_) {
    std::string label = absl::StrCat(n->name, "\\n", n->op->name);
    if (n->op->print_attrs) absl::StrAppend(&label, "\\n", n->op->print_attrs(n->attrs));
    for (size_t i = 0; i < n->outputs.size(); ++i) {
      absl::StrAppend(&label, "\\n-> ", n->outputs[i].ToString());
    }
    absl::StrAppend(&out, "  n", n->id, " [label=\"", esc(label), "\"];\n");
  }
  for (const auto& n : nodes_) {
    for (const Value& v : n->inputs) {
      absl::StrAppend(&out, "  n", v.node, " -> n", n->id, " [label=\"",
                      esc(nodes_[v.node]->outputs[v.index].shape.ToString()), "\"];\n");
    }
  }
  absl::StrAppend(&out, "}\n");
  return out;
}

}  // namespace graft
