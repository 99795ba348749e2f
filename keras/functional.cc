// The functional API's symbolic side: Input, KerasTensor, and calling a layer on KerasTensors.
#include "absl/strings/str_cat.h"
#include "keras/functional_internal.h"
#include "keras/keras_tensor.h"
#include "keras/layer_internal.h"
#include "keras/layers.h"

namespace graft::keras {

namespace {
const TensorType& EmptyType() {
  static const TensorType* t = new TensorType{};
  return *t;
}
const absl::Status& EmptyStatus() {
  static const absl::Status* s = new absl::Status(absl::FailedPreconditionError(
      "an empty KerasTensor: make inputs with keras::Input and call layers on them"));
  return *s;
}
}  // namespace

const TensorType& KerasTensor::type() const { return node_ ? node_->type : EmptyType(); }

const absl::Status& KerasTensor::status() const { return node_ ? node_->status : EmptyStatus(); }

std::string KerasTensor::name() const {
  if (!node_) return "<empty>";
  if (!node_->layer) return node_->input_name;
  return absl::StrCat(node_->layer->name(), "[", node_->call_index, "][0]");
}

KerasTensor Input(std::vector<int64_t> shape, InputOptions options) {
  auto node = std::make_shared<internal::FunctionalNode>();
  node->input_name = options.name.empty() ? internal::UniqueLayerName("input_layer") : options.name;
  std::vector<int64_t> dims = {Shape::kUnknownDim};
  for (int64_t d : shape) {
    if (d <= 0 && node->status.ok()) {
      node->status = absl::InvalidArgumentError(
          absl::StrCat("Input ", node->input_name,
                       ": shape sizes must be positive (without the batch "
                       "dimension), got ",
                       Shape(shape).ToString()));
    }
    dims.push_back(d);
  }
  int64_t count = 1;
  for (int64_t d : shape) {
    if (d > 0 && __builtin_mul_overflow(count, d, &count) && node->status.ok()) {
      node->status = absl::InvalidArgumentError(
          absl::StrCat("Input ", node->input_name, ": shape ", Shape(shape).ToString(),
                       " has more than 2^63 - 1 values per sample"));
    }
  }
  node->type = {DType::kF32, Shape(dims)};
  return KerasTensor(std::move(node));
}

KerasTensor Layer::operator()(const KerasTensor& x) const {
  return (*this)(std::vector<KerasTensor>{x});
}

KerasTensor Layer::operator()(const std::vector<KerasTensor>& inputs) const {
  auto node = std::make_shared<internal::FunctionalNode>();
  node->layer = *this;
  node->inputs = inputs;
  if (!impl_) {
    node->status = absl::InvalidArgumentError("called a null layer");
    return KerasTensor(std::move(node));
  }
  node->call_index = impl_->functional_calls_++;
  for (const KerasTensor& x : inputs) {
    if (!x.ok()) {
      node->status = x.status();  // the first error travels on
      return KerasTensor(std::move(node));
    }
  }
  // The shapes are checked now, on a scratch graph: the layer builds its weights on its first
  // call, and its shape functions say what it outputs (or what is wrong, naming the layer).
  Graph scratch;
  std::vector<Value> values;
  for (size_t i = 0; i < inputs.size(); ++i) {
    values.push_back(scratch.Placeholder(inputs[i].type(), absl::StrCat("input_", i)));
  }
  absl::StatusOr<Value> y = impl_->Call(scratch, values, {.training = false});
  if (!y.ok()) {
    std::string shapes;
    for (const KerasTensor& x : inputs) {
      absl::StrAppend(&shapes, shapes.empty() ? "" : ", ", x.name(), " ", x.shape().ToString());
    }
    node->status = absl::Status(y.status().code(),
                                absl::StrCat(y.status().message(), " (called on ", shapes, ")"));
  } else {
    node->type = scratch.type(*y);
  }
  return KerasTensor(std::move(node));
}

}  // namespace graft::keras
