#include "examples/custom_layer/learned_swish.h"

#include "keras/layer_config.h"
#include "nlohmann/json.hpp"

namespace myproj {
namespace {

namespace keras = graft::keras;
using graft::Graph;
using graft::Value;

class LearnedSwishLayer : public keras::LayerImpl {
 public:
  explicit LearnedSwishLayer(LearnedSwishOptions o)
      // "learned_swish" names instances learned_swish, learned_swish_1, ...
      : LayerImpl("learned_swish", o.name, /*input_shape=*/{}), initial_beta_(o.initial_beta) {}

  std::string class_name() const override { return "LearnedSwish"; }

  nlohmann::json GetConfig() const override {
    nlohmann::json c = keras::BaseLayerConfig(*this);
    c["initial_beta"] = initial_beta_;
    return c;
  }

 private:
  absl::Status Build(const graft::TensorType&) override {
    return AddWeight("beta", graft::Shape{},
                     keras::Initializer{"constant", {.value = initial_beta_}});
  }

  absl::StatusOr<Value> Forward(Graph& g, Value x, const std::vector<Value>& w,
                                const keras::CallContext&) override {
    // beta broadcast to x's shape, then x * sigmoid(beta * x): graft's own ops, so the
    // gradient (to x and to beta) comes from their gradient rules.
    absl::StatusOr<Value> beta = g.Add("graft.BroadcastLike", {w[0], x});
    if (!beta.ok()) return beta;
    absl::StatusOr<Value> bx = g.Add("graft.Mul", {*beta, x});
    if (!bx.ok()) return bx;
    absl::StatusOr<Value> gate = g.Add("graft.Sigmoid", {*bx});
    if (!gate.ok()) return gate;
    return g.Add("graft.Mul", {x, *gate});
  }

  double initial_beta_;
};

// LoadModel finds the layer by its class name.
GRAFT_REGISTER_LAYER("LearnedSwish", [](keras::LayerConfig& c) -> absl::StatusOr<keras::Layer> {
  LearnedSwishOptions o;
  o.name = c.Name();
  o.initial_beta = c.Double("initial_beta", 1.0);
  if (!c.ok()) return c.status();
  return LearnedSwish(o);
});

}  // namespace

graft::keras::Layer LearnedSwish(LearnedSwishOptions options) {
  return std::make_shared<LearnedSwishLayer>(std::move(options));
}

}  // namespace myproj
