// Merge layers of the functional API: Add, Subtract, Multiply, Average, Maximum, Minimum
// (elementwise over inputs of one shape) and Concatenate (along an axis).
#include <functional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "graph/op_registry.h"
#include "keras/layers.h"

namespace graft::keras {
namespace {

// Folds the inputs pairwise with `op` ("graft.Add", ...): ((x0 op x1) op x2) ...
absl::StatusOr<Value> Fold(Graph& g, const char* op, const std::vector<Value>& xs) {
  Value acc = xs[0];
  for (size_t i = 1; i < xs.size(); ++i) {
    absl::StatusOr<Value> y = g.Add(op, {acc, xs[i]});
    if (!y.ok()) return y.status();
    acc = *y;
  }
  return acc;
}

std::string ShapesText(const std::vector<TensorType>& types) {
  std::vector<std::string> shapes;
  for (const TensorType& t : types) shapes.push_back(t.shape.ToString());
  return absl::StrJoin(shapes, " and ");
}

// Elementwise merges: every input has the same shape.
class ElementwiseMerge : public LayerImpl {
 public:
  using Combine = std::function<absl::StatusOr<Value>(Graph&, const std::vector<Value>&)>;
  ElementwiseMerge(const char* snake, const char* klass, Combine combine, int inputs,
                   LayerOptions o)
      : LayerImpl(snake, o.name, o.input_shape),
        class_name_(klass),
        combine_(std::move(combine)),
        inputs_(inputs) {}
  std::string class_name() const override { return class_name_; }
  int num_inputs() const override { return inputs_; }

 private:
  absl::Status Build(const TensorType& in) override { return BuildMulti({in}); }
  absl::StatusOr<Value> Forward(Graph& g, Value x, const std::vector<Value>& w,
                                const CallContext& ctx) override {
    return ForwardMulti(g, {x}, w, ctx);
  }
  absl::Status BuildMulti(const std::vector<TensorType>& in) override {
    for (const TensorType& t : in) {
      if (t.shape != in[0].shape) {
        return absl::InvalidArgumentError(
            absl::StrCat("Inputs have incompatible shapes. Received shapes ", ShapesText(in),
                         ". Fix: make them equal first (e.g. a 1x1 Conv2D with strides, or "
                         "pooling, on the larger one)"));
      }
    }
    return absl::OkStatus();
  }
  absl::StatusOr<Value> ForwardMulti(Graph& g, const std::vector<Value>& xs,
                                     const std::vector<Value>&, const CallContext&) override {
    std::vector<TensorType> types;
    for (Value x : xs) types.push_back(g.type(x));
    if (absl::Status s = BuildMulti(types); !s.ok()) return s;
    return combine_(g, xs);
  }

  std::string class_name_;
  Combine combine_;
  int inputs_;
};

Layer Merge(const char* snake, const char* klass, ElementwiseMerge::Combine combine, LayerOptions o,
            int inputs = 0) {
  return std::make_shared<ElementwiseMerge>(snake, klass, std::move(combine), inputs, std::move(o));
}

}  // namespace

namespace layers {
Layer Add(LayerOptions options) {
  return Merge(
      "add", "Add", [](Graph& g, const std::vector<Value>& xs) { return Fold(g, "graft.Add", xs); },
      std::move(options));
}
Layer Multiply(LayerOptions options) {
  return Merge(
      "multiply", "Multiply",
      [](Graph& g, const std::vector<Value>& xs) { return Fold(g, "graft.Mul", xs); },
      std::move(options));
}
Layer Average(LayerOptions options) {
  return Merge(
      "average", "Average",
      [](Graph& g, const std::vector<Value>& xs) -> absl::StatusOr<Value> {
        absl::StatusOr<Value> sum = Fold(g, "graft.Add", xs);
        if (!sum.ok()) return sum;
        const Value scale = g.Constant(Tensor::Scalar<float>(1.0f / static_cast<float>(xs.size())),
                                       "inverse_count");
        absl::StatusOr<Value> spread = g.Add("graft.BroadcastLike", {scale, *sum});
        if (!spread.ok()) return spread;
        return g.Add("graft.Mul", {*sum, *spread});
      },
      std::move(options));
}
Layer Subtract(LayerOptions options) {
  return Merge(
      "subtract", "Subtract",
      [](Graph& g, const std::vector<Value>& xs) {
        return g.Add("graft.Sub", {xs[0], xs[1]});
      },
      std::move(options), /*inputs=*/2);
}
Layer Maximum(LayerOptions options) {
  return Merge(
      "maximum", "Maximum",
      [](Graph& g, const std::vector<Value>& xs) { return Fold(g, "graft.Maximum", xs); },
      std::move(options));
}
Layer Minimum(LayerOptions options) {
  return Merge(
      "minimum", "Minimum",
      [](Graph& g, const std::vector<Value>& xs) { return Fold(g, "graft.Minimum", xs); },
      std::move(options));
}
}  // namespace layers

}  // namespace graft::keras
