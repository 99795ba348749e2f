// optim/optimizer.cc — the Optimizer base (argument checks, slot variables, the update loop),
// the update ops' shared shape function, and lookup by name. The optimizers themselves, with
// their update ops and kernels, are in adam.cc (Adam, AdamW), sgd.cc, rmsprop.cc, adagrad.cc.
#include "optim/optimizer.h"

#include <algorithm>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "graph/op_registry.h"
#include "optim/update_op.h"

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

absl::StatusOr<std::vector<Operation>> Optimizer::AppendUpdates(Graph& graph,
                                                                const std::vector<Value>& params,
                                                                const std::vector<Value>& grads,
                                                                Value learning_rate,
                                                                Value iteration) {
  return Append(graph, params, grads, learning_rate, iteration, /*share=*/false);
}

absl::StatusOr<std::vector<Operation>> Optimizer::AppendUpdatesSharingSlots(
    Graph& graph, const std::vector<Value>& params, const std::vector<Value>& grads,
    Value learning_rate, Value iteration) {
  if (last_graph_ != &graph) {
    return absl::FailedPreconditionError(absl::StrCat(
        name(),
        " optimizer: AppendUpdatesSharingSlots: the last AppendUpdates was not on this "
        "graph; call AppendUpdates first"));
  }
  return Append(graph, params, grads, learning_rate, iteration, /*share=*/true);
}

absl::StatusOr<std::vector<Operation>> Optimizer::Append(Graph& graph,
                                                         const std::vector<Value>& params,
                                                         const std::vector<Value>& grads,
                                                         Value learning_rate, Value iteration,
                                                         bool share) {
  if (absl::Status s = learning_rate_.Check(); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(name(), " optimizer: ", s.message()));
  }
  if (absl::Status s = CheckOptions(); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(name(), " optimizer: ", s.message()));
  }
  if (absl::Status s = CheckUpdateArguments(graph, params, grads, learning_rate, iteration);
      !s.ok()) {
    return s;
  }
  if (!share) {
    last_slots_.clear();
    last_graph_ = &graph;
  }
  sharing_ = share;
  sharing_error_ = absl::OkStatus();
  std::vector<Operation> updates;
  for (size_t i = 0; i < params.size(); ++i) {
    UpdateNode u = Update(graph, params[i], grads[i], learning_rate, iteration);
    if (!sharing_error_.ok()) {
      sharing_ = false;
      return sharing_error_;
    }
    std::string scope = graph.SetNameScope("");
    absl::StatusOr<std::vector<Value>> out =
        graph.AddNode(u.op, std::move(u.inputs), std::move(u.attrs), UpdateName(graph, params[i]));
    graph.SetNameScope(std::move(scope));
    if (!out.ok()) {
      sharing_ = false;
      return out.status();
    }
    updates.push_back(Operation{graph.num_nodes() - 1});
  }
  sharing_ = false;
  return updates;
}

std::vector<std::pair<std::string, double>> Optimizer::GetConfig() const {
  std::vector<std::pair<std::string, double>> config = Hyperparameters();
  if (!has_schedule()) config.insert(config.begin(), {"learning_rate", LearningRateAt(0)});
  return config;
}

absl::Status Optimizer::SetLearningRate(double lr) {
  if (has_schedule()) {
    // Keras's TypeError, word for word where it applies.
    return absl::FailedPreconditionError(absl::StrCat(
        name(), " optimizer: SetLearningRate(", lr,
        "): this optimizer was created with a LearningRateSchedule object (",
        schedule() ? schedule()->class_name() : "null",
        ") as its learning_rate, hence its learning rate is not settable: the rate of each step "
        "is the schedule's. Fix: to set the learning rate, create the optimizer with a number as "
        "learning_rate; or replace the schedule with SetLearningRate(schedule)"));
  }
  LearningRate candidate(lr);
  if (absl::Status s = candidate.Check(); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(name(), " optimizer: ", s.message()));
  }
  learning_rate_ = candidate;
  return absl::OkStatus();
}

absl::Status Optimizer::SetLearningRate(LearningRateSchedulePtr schedule) {
  LearningRate candidate(std::move(schedule));
  if (absl::Status s = candidate.Check(); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(name(), " optimizer: ", s.message()));
  }
  learning_rate_ = std::move(candidate);
  return absl::OkStatus();
}

Value Optimizer::AddSlot(Graph& graph, Value param, absl::string_view suffix,
                         double initial_value) {
  const std::pair<int, std::string> key{param.node, std::string(suffix)};
  if (sharing_) {
    auto it = last_slots_.find(key);
    if (it != last_slots_.end()) return it->second;
    // Update() goes on with some value; Append reports the first error before adding the node.
    if (sharing_error_.ok()) {
      sharing_error_ = absl::FailedPreconditionError(
          absl::StrCat(name(), " optimizer: AppendUpdatesSharingSlots: parameter ",
                       graph.node(param).name, " has no ", suffix,
                       " slot from the last AppendUpdates; pass the parameters that call "
                       "updated"));
    }
    return param;
  }
  // Slots live outside any layer's name scope: "adam/dense_kernel_momentum".
  std::string scope = graph.SetNameScope("");
  const TensorType& t = graph.type(param);
  Tensor value(t.dtype, t.shape);
  if (initial_value != 0) {
    value = Tensor::FromVector<double>(t.shape,
                                       std::vector<double>(value.num_elements(), initial_value))
                .CastTo(t.dtype);
  }
  Value slot =
      graph.Variable(std::move(value), absl::StrCat(SlotBase(graph, name(), param), "_", suffix),
                     /*trainable=*/false);
  graph.SetNameScope(std::move(scope));
  slots_.push_back(slot);
  last_slots_[key] = slot;
  return slot;
}

std::string Optimizer::UpdateName(const Graph& graph, Value param) const {
  return absl::StrCat(SlotBase(graph, name(), param), "_update");
}

absl::StatusOr<std::unique_ptr<Optimizer>> OptimizerByName(absl::string_view name) {
  const std::string lower = absl::AsciiStrToLower(name);
  if (lower == "adam") return MakeAdam();
  if (lower == "adamw") return MakeAdamW();
  if (lower == "sgd") return MakeSgd();
  if (lower == "rmsprop") return MakeRmsprop();
  if (lower == "adagrad") return MakeAdagrad();
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown optimizer \"", name, "\"; graft knows: adagrad, adam, adamw, rmsprop, sgd"));
}

absl::StatusOr<std::unique_ptr<Optimizer>> OptimizerFromConfig(
    absl::string_view name, const std::vector<std::pair<std::string, double>>& config) {
  const std::string lower = absl::AsciiStrToLower(name);
  // Each option: its Keras name and where it goes.
  std::vector<std::pair<const char*, double*>> fields;
  AdamOptions adam;
  AdamWOptions adamw;
  SgdOptions sgd;
  RmspropOptions rmsprop;
  AdagradOptions adagrad;
  double nesterov = 0, centered = 0;
  std::optional<double> lr;  // the default of each Options when absent
  if (lower == "adam") {
    fields = {{"beta_1", &adam.beta_1}, {"beta_2", &adam.beta_2}, {"epsilon", &adam.epsilon}};
  } else if (lower == "adamw") {
    fields = {{"weight_decay", &adamw.weight_decay},
              {"beta_1", &adamw.beta_1},
              {"beta_2", &adamw.beta_2},
              {"epsilon", &adamw.epsilon}};
  } else if (lower == "sgd") {
    fields = {{"momentum", &sgd.momentum}, {"nesterov", &nesterov}};
  } else if (lower == "rmsprop") {
    fields = {{"rho", &rmsprop.rho},
              {"momentum", &rmsprop.momentum},
              {"epsilon", &rmsprop.epsilon},
              {"centered", &centered}};
  } else if (lower == "adagrad") {
    fields = {{"initial_accumulator_value", &adagrad.initial_accumulator_value},
              {"epsilon", &adagrad.epsilon}};
  } else {
    return OptimizerByName(name).status();
  }
  fields.insert(fields.begin(), {"learning_rate", nullptr});
  for (const auto& entry : config) {
    const std::string& key = entry.first;
    const double value = entry.second;
    if (key == "learning_rate") {
      lr = value;
      continue;
    }
    auto it =
        std::find_if(fields.begin(), fields.end(), [&](const auto& f) { return key == f.first; });
    if (it == fields.end()) {
      std::vector<std::string> known;
      for (const auto& f : fields) known.push_back(f.first);
      return absl::InvalidArgumentError(absl::StrCat(lower, " optimizer: unknown option \"", key,
                                                     "\"; it has: ", absl::StrJoin(known, ", ")));
    }
    *it->second = value;
  }
  if (lr) {  // set on every Options: only the one of `name` is used
    for (LearningRate* l : {&adam.learning_rate, &adamw.learning_rate, &sgd.learning_rate,
                            &rmsprop.learning_rate, &adagrad.learning_rate}) {
      *l = *lr;
    }
  }
  if (lower == "adam") return MakeAdam(adam);
  if (lower == "adamw") return MakeAdamW(adamw);
  if (lower == "sgd") {
    sgd.nesterov = nesterov != 0;
    return MakeSgd(sgd);
  }
  if (lower == "rmsprop") {
    rmsprop.centered = centered != 0;
    return MakeRmsprop(rmsprop);
  }
  return MakeAdagrad(adagrad);
}

namespace internal {

absl::Status ExpectNonNegative(absl::string_view name, double value) {
  if (value >= 0) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(name, " must be >= 0, got ", value));
}

absl::Status ExpectUnitInterval(absl::string_view name, double value) {
  if (value >= 0 && value <= 1) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(name, " must lie in [0, 1], got ", value));
}

absl::Status FirstError(std::initializer_list<absl::Status> checks) {
  for (const absl::Status& s : checks) {
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<TensorType>> InferUpdate(const ShapeContext& c,
                                                    const absl::Status& attrs_ok,
                                                    const std::vector<std::string>& names,
                                                    const std::vector<int>& scalars) {
  if (!attrs_ok.ok()) return ShapeError(c, std::string(attrs_ok.message()));
  if (c.inputs.size() != names.size()) {
    return ShapeError(
        c, absl::StrCat("with these attributes the inputs are (", absl::StrJoin(names, ", "),
                        "), got ", c.inputs.size(), " inputs"));
  }
  if (absl::Status s = ExpectFloat(c, 0); !s.ok()) return s;
  for (int i = 1; i < static_cast<int>(names.size()); ++i) {
    if (std::find(scalars.begin(), scalars.end(), i) != scalars.end()) {
      if (absl::Status s = ExpectFloat(c, i, /*rank=*/0); !s.ok()) return s;
    } else if (!(c.inputs[i] == c.inputs[0])) {
      return ShapeError(c, absl::StrCat(names[i], " must have the type of ", names[0], ", ",
                                        c.inputs[0].ToString(), ", got ", c.inputs[i].ToString()));
    }
  }
  return std::vector<TensorType>{};
}

}  // namespace internal

}  // namespace graft::optim
