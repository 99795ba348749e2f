// optim/optimizer.cc — the Optimizer base (argument checks, slot variables) and lookup by name.
// The optimizers themselves, with their update ops and kernels, are in adam.cc and sgd.cc.
#include "optim/optimizer.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace graft::optim {
namespace {

bool IsFloatScalar(const TensorType& t) { return IsFloating(t.dtype) && t.shape.rank() == 0; }

}  // namespace

absl::Status Optimizer::CheckUpdateArguments(const Graph& graph, const std::vector<Value>& params,
                                             const std::vector<Value>& grads, Value learning_rate,
                                             Value iteration) const {
  const std::string who = absl::StrCat(name(), " optimizer: ");
  if (params.size() != grads.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat(who, "one gradient per parameter is needed, got ", params.size(),
                     " parameters and ", grads.size(), " gradients"));
  }
  auto in_graph = [&](Value v) { return v.valid() && v.node < graph.num_nodes(); };
  for (auto [what, v] : {std::pair{"learning_rate", learning_rate}, {"iteration", iteration}}) {
    if (!in_graph(v)) {
      return absl::InvalidArgumentError(absl::StrCat(who, what, " is not a value of this graph"));
    }
    if (!IsFloatScalar(graph.type(v))) {
      return absl::InvalidArgumentError(absl::StrCat(
          who, what, " must be a floating scalar (a placeholder of type float32()), got ",
          graph.type(v).ToString()));
    }
  }
  for (size_t i = 0; i < params.size(); ++i) {
    if (!in_graph(params[i]) || !in_graph(grads[i])) {
      return absl::InvalidArgumentError(
          absl::StrCat(who, "parameter ", i, " or its gradient is not a value of this graph"));
    }
    const std::string& pname = graph.node(params[i]).name;
    if (!graph.IsVariable(params[i])) {
      return absl::InvalidArgumentError(absl::StrCat(who, "parameter ", i, " (", pname,
                                                     ") is not a variable; only variables can "
                                                     "be updated in place"));
    }
    if (!IsFloating(graph.type(params[i]).dtype)) {
      return absl::InvalidArgumentError(absl::StrCat(who, "parameter ", i, " (", pname,
                                                     ") must be floating, got ",
                                                     graph.type(params[i]).ToString()));
    }
    if (!(graph.type(grads[i]) == graph.type(params[i]))) {
      return absl::InvalidArgumentError(
          absl::StrCat(who, "the gradient of parameter ", i, " (", pname, ") has type ",
                       graph.type(grads[i]).ToString(), ", expected the parameter's type ",
                       graph.type(params[i]).ToString()));
    }
  }
  return absl::OkStatus();
}

namespace {
std::string SlotBase(const Graph& graph, absl::string_view optimizer, Value param) {
  return absl::StrCat(optimizer, "/", absl::StrReplaceAll(graph.node(param).name, {{"/", "_"}}));
}
}  // namespace

Value Optimizer::AddSlot(Graph& graph, Value param, absl::string_view suffix) {
  // Slots live outside any layer's name scope: "adam/dense_kernel_momentum".
  std::string scope = graph.SetNameScope("");
  const TensorType& t = graph.type(param);
  Value slot = graph.Variable(Tensor(t.dtype, t.shape),
                              absl::StrCat(SlotBase(graph, name(), param), "_", suffix),
                              /*trainable=*/false);
  graph.SetNameScope(std::move(scope));
  slots_.push_back(slot);
  return slot;
}

std::string Optimizer::UpdateName(const Graph& graph, Value param) const {
  return absl::StrCat(SlotBase(graph, name(), param), "_update");
}

absl::StatusOr<std::unique_ptr<Optimizer>> OptimizerByName(absl::string_view name) {
  const std::string lower = absl::AsciiStrToLower(name);
  if (lower == "adam") return MakeAdam();
  if (lower == "sgd") return MakeSgd();
  return absl::InvalidArgumentError(
      absl::StrCat("unknown optimizer \"", name, "\"; graft knows: adam, sgd"));
}

}  // namespace graft::optim
