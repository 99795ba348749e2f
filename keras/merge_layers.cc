// Merge layers of the functional API: Add, Subtract, Multiply, Average, Maximum, Minimum
// (elementwise over inputs of one shape) and Concatenate (along an axis).
#include <functional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "graph/op_registry.h"
#include "keras/layer_config.h"
#include "keras/layers.h"
#include "nlohmann/json.hpp"
#include "ops/elementwise.h"
#include "ops/merge.h"

namespace graft::keras {
namespace {

// Folds the inputs pairwise with `op` (ops::Add, ...): ((x0 op x1) op x2) ...
using Binary = absl::StatusOr<Value> (*)(Graph&, Value, Value, absl::string_view);
absl::StatusOr<Value> Fold(Graph& g, Binary op, const std::vector<Value>& xs) {
  Value acc = xs[0];
  for (size_t i = 1; i < xs.size(); ++i) {
    absl::StatusOr<Value> y = op(g, acc, xs[i], "");
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

// A layer of several inputs: the shapes are checked when it is built and again on every call
// (a later call may pass other shapes); Combine appends the computation.
class MergeBase : public LayerImpl {
 public:
  using LayerImpl::LayerImpl;

 protected:
  virtual absl::Status CheckShapes(const std::vector<TensorType>& in) const = 0;
  virtual absl::StatusOr<Value> Combine(Graph& g, const std::vector<Value>& xs) = 0;

 private:
  absl::Status Build(const TensorType& in) override { return BuildMulti({in}); }
  absl::StatusOr<Value> Forward(Graph& g, Value x, const std::vector<Value>& w,
                                const CallContext& ctx) override {
    return ForwardMulti(g, {x}, w, ctx);
  }
  absl::Status BuildMulti(const std::vector<TensorType>& in) override { return CheckShapes(in); }
  absl::StatusOr<Value> ForwardMulti(Graph& g, const std::vector<Value>& xs,
                                     const std::vector<Value>&, const CallContext&) override {
    std::vector<TensorType> types;
    for (Value x : xs) types.push_back(g.type(x));
    if (absl::Status s = CheckShapes(types); !s.ok()) return s;
    return Combine(g, xs);
  }
};

// Elementwise merges: every input has the same shape.
class ElementwiseMerge : public MergeBase {
 public:
  using CombineFn = std::function<absl::StatusOr<Value>(Graph&, const std::vector<Value>&)>;
  ElementwiseMerge(const char* snake, const char* klass, CombineFn combine, int inputs,
                   LayerOptions o)
      : MergeBase(snake, o.name, o.input_shape),
        class_name_(klass),
        combine_(std::move(combine)),
        inputs_(inputs) {}
  std::string class_name() const override { return class_name_; }
  int num_inputs() const override { return inputs_; }

 private:
  absl::Status CheckShapes(const std::vector<TensorType>& in) const override {
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
  absl::StatusOr<Value> Combine(Graph& g, const std::vector<Value>& xs) override {
    return combine_(g, xs);
  }

  std::string class_name_;
  CombineFn combine_;
  int inputs_;
};

Layer Merge(const char* snake, const char* klass, ElementwiseMerge::CombineFn combine,
            LayerOptions o, int inputs = 0) {
  return std::make_shared<ElementwiseMerge>(snake, klass, std::move(combine), inputs, std::move(o));
}

// Concatenate along one axis: every other dimension equal.
class ConcatenateLayer : public MergeBase {
 public:
  explicit ConcatenateLayer(ConcatenateOptions o)
      : MergeBase("concatenate", o.name, o.input_shape), axis_(o.axis) {}
  std::string class_name() const override { return "Concatenate"; }
  int num_inputs() const override { return 0; }
  int64_t axis() const { return axis_; }
  nlohmann::json GetConfig() const override;

 private:
  absl::Status CheckShapes(const std::vector<TensorType>& in) const override {
    const int rank = in[0].shape.rank();
    const int64_t axis = axis_ < 0 ? axis_ + rank : axis_;
    if (axis <= 0 || axis >= rank) {
      return absl::InvalidArgumentError(absl::StrCat(
          "axis ", axis_, " is out of range for inputs of rank ", rank,
          " (the batch axis 0 cannot be concatenated; use 1 to ", rank - 1, " or -1)"));
    }
    for (const TensorType& t : in) {
      bool fits = t.shape.rank() == rank;
      for (int d = 1; fits && d < rank; ++d)
        fits = d == axis || t.shape.dim(d) == in[0].shape.dim(d);
      if (!fits) {
        return absl::InvalidArgumentError(absl::StrCat(
            "A `Concatenate` layer requires inputs with matching shapes except for the "
            "concatenation axis. Received: input_shape=",
            ShapesText(in), ", axis=", axis_));
      }
    }
    return absl::OkStatus();
  }
  absl::StatusOr<Value> Combine(Graph& g, const std::vector<Value>& xs) override {
    return ops::Concatenate(g, xs, axis_, "Concatenate");
  }
  int64_t axis_;
};

}  // namespace

nlohmann::json ConcatenateLayer::GetConfig() const {
  nlohmann::json c = BaseLayerConfig(*this);
  c["axis"] = axis_;
  return c;
}

namespace layers {
Layer Concatenate(ConcatenateOptions options) {
  return std::make_shared<ConcatenateLayer>(std::move(options));
}

Layer Add(LayerOptions options) {
  return Merge(
      "add", "Add", [](Graph& g, const std::vector<Value>& xs) { return Fold(g, ops::Add, xs); },
      std::move(options));
}
Layer Multiply(LayerOptions options) {
  return Merge(
      "multiply", "Multiply",
      [](Graph& g, const std::vector<Value>& xs) { return Fold(g, ops::Multiply, xs); },
      std::move(options));
}
Layer Average(LayerOptions options) {
  return Merge(
      "average", "Average",
      [](Graph& g, const std::vector<Value>& xs) -> absl::StatusOr<Value> {
        absl::StatusOr<Value> sum = Fold(g, ops::Add, xs);
        if (!sum.ok()) return sum;
        return ops::Scale(g, *sum, 1.0 / static_cast<double>(xs.size()));
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
      [](Graph& g, const std::vector<Value>& xs) { return Fold(g, ops::Maximum, xs); },
      std::move(options));
}
Layer Minimum(LayerOptions options) {
  return Merge(
      "minimum", "Minimum",
      [](Graph& g, const std::vector<Value>& xs) { return Fold(g, ops::Minimum, xs); },
      std::move(options));
}
}  // namespace layers

}  // namespace graft::keras
