#include "keras/sequential.h"

#include "absl/strings/str_cat.h"
#include "keras/functional_internal.h"
#include "keras/layer_internal.h"

namespace graft::keras {

Sequential::Sequential(std::vector<Layer> layers, std::string name)
    : Model(name.empty() ? internal::UniqueLayerName("sequential") : std::move(name)) {
  layers_ = std::move(layers);
  sequential_like_ = true;
}

void Sequential::Add(Layer layer) {
  std::lock_guard<std::mutex> lock(*build_mu_);
  layers_.push_back(std::move(layer));
  built_ = false;
  ResetCompiled();
}

absl::Status Sequential::Build() {
  std::lock_guard<std::mutex> lock(*build_mu_);
  if (built_) return absl::OkStatus();
  if (layers_.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "model \"", name_, "\" has no layers: pass them to Sequential({...}) or Add() them"));
  }
  const std::vector<int64_t>& in = layers_[0]->input_shape();
  if (in.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "model \"", name_, "\": the first layer (", layers_[0]->name(),
        ") needs input_shape, e.g. {.input_shape = {100, 3}} for 100 steps of 3 features"));
  }
  KerasTensor input = Input(in, {.name = "input_layer"});
  if (!input.ok()) {
    return absl::Status(input.status().code(),
                        absl::StrCat("model \"", name_, "\": input_shape of the first layer (",
                                     layers_[0]->name(), "): ", input.status().message()));
  }
  KerasTensor x = input;
  for (size_t i = 0; i < layers_.size(); ++i) {
    // The chain's own call (not Layer::operator()): errors read as Sequential's always have,
    // "conv1d (Conv1D, layer 0): ...".
    auto node = std::make_shared<internal::FunctionalNode>();
    node->layer = layers_[i];
    node->inputs = {x};
    Graph scratch;
    absl::StatusOr<Value> y =
        layers_[i]->Call(scratch, scratch.Placeholder(x.type(), "x"), {.training = false});
    if (!y.ok()) {
      std::string msg(y.status().message());
      const std::string head = absl::StrCat(layers_[i]->name(), " (", layers_[i]->class_name());
      if (msg.rfind(head + "): ", 0) == 0) {
        msg = absl::StrCat(head, ", layer ", i, "): ", msg.substr(head.size() + 3));
      }
      return absl::Status(y.status().code(), msg);
    }
    node->type = scratch.type(*y);
    x = KerasTensor(std::move(node));
  }
  graph_status_ = SetGraph({input}, {x});
  if (!graph_status_.ok()) return graph_status_;
  built_ = true;
  return absl::OkStatus();
}

}  // namespace graft::keras
