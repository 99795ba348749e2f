// A user layer, written outside graft: ScaledSoftSign applies the user op myproj.ScaledSoftSign
// with a trainable per-channel scale `alpha` (initialised to ones).
#ifndef MYPROJ_SCALED_SOFT_SIGN_LAYER_H_
#define MYPROJ_SCALED_SOFT_SIGN_LAYER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "keras/layers.h"

namespace myproj {

class ScaledSoftSignLayer : public graft::keras::LayerImpl {
 public:
  explicit ScaledSoftSignLayer(std::string name = "", std::vector<int64_t> input_shape = {})
      : LayerImpl("scaled_soft_sign", std::move(name), std::move(input_shape)) {}
  std::string class_name() const override { return "ScaledSoftSign"; }

 private:
  absl::Status Build(const graft::TensorType& input) override;
  absl::StatusOr<graft::Value> Forward(graft::Graph& graph, graft::Value x,
                                       const std::vector<graft::Value>& w,
                                       const graft::keras::CallContext& ctx) override;
};

// How a model holds it, like graft's own layers::Dense(...).
inline graft::keras::Layer ScaledSoftSign(std::string name = "") {
  return std::make_shared<ScaledSoftSignLayer>(std::move(name));
}

}  // namespace myproj

#endif  // MYPROJ_SCALED_SOFT_SIGN_LAYER_H_
