#include "scaled_soft_sign_layer.h"

#include "absl/strings/str_cat.h"
#include "keras/layer_config.h"

namespace myproj {

absl::Status ScaledSoftSignLayer::Build(const graft::TensorType& input) {
  if (input.shape.rank() < 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        "expected input of rank >= 2 (batch, ..., channels), got shape ", input.shape.ToString()));
  }
  const int64_t channels = input.shape.dims().back();
  return AddWeight("alpha", graft::Shape{channels}, "ones");
}

absl::StatusOr<graft::Value> ScaledSoftSignLayer::Forward(graft::Graph& graph, graft::Value x,
                                                          const std::vector<graft::Value>& w,
                                                          const graft::keras::CallContext&) {
  return graph.Add("myproj.ScaledSoftSign", {x, w[0]}, {}, "ScaledSoftSign");
}

// The config is the base one (name, trainable, dtype, batch_input_shape): this layer has no
// options of its own. LoadModel calls this factory for "ScaledSoftSign" entries.
GRAFT_REGISTER_LAYER("ScaledSoftSign",
                     [](graft::keras::LayerConfig& c) -> absl::StatusOr<graft::keras::Layer> {
                       std::string name = c.Name();
                       std::vector<int64_t> input_shape = c.InputShape();
                       if (!c.ok()) return c.status();
                       return std::make_shared<ScaledSoftSignLayer>(name, input_shape);
                     });

}  // namespace myproj
