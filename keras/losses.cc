// Losses and metrics by Keras name.
#include "keras/losses.h"

#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "graph/op_registry.h"
#include "ops/loss.h"
#include "ops/metric.h"

namespace graft::keras::internal {

// The loss `spec` on `out` (the model's output). A sigmoid / softmax output feeding its
// cross-entropy uses the stable from-logits form on the pre-activation, as tf.keras does
// through `_keras_logits`.
absl::StatusOr<Value> BuildLoss(Graph& g, const std::string& loss, bool from_logits, Value y_true,
                                Value out) {
  const Node& node = g.node(out);
  auto logits_of = [&](const char* activation) -> std::optional<Value> {
    if (from_logits) return out;
    if (node.op->name == activation) return node.inputs[0];
    return std::nullopt;
  };
  if (loss == "binary_crossentropy") {
    if (auto z = logits_of("graft.Sigmoid"))
      return ops::BinaryCrossentropyFromLogits(g, y_true, *z);
    return ops::BinaryCrossentropy(g, y_true, out);
  }
  if (loss == "categorical_crossentropy") {
    if (auto z = logits_of("graft.Softmax")) {
      return ops::CategoricalCrossentropyFromLogits(g, y_true, *z);
    }
    return ops::CategoricalCrossentropy(g, y_true, out);
  }
  if (loss == "sparse_categorical_crossentropy") {
    if (auto z = logits_of("graft.Softmax")) {
      return ops::SparseCategoricalCrossentropyFromLogits(g, y_true, *z);
    }
    return ops::SparseCategoricalCrossentropy(g, y_true, out);
  }
  if (loss == "mean_squared_error") return ops::MeanSquaredError(g, y_true, out);
  return ops::MeanAbsoluteError(g, y_true, out);
}

// Keras's aliases to canonical names; empty when unknown.
std::string CanonicalLoss(std::string name) {
  name = absl::AsciiStrToLower(name);
  if (name == "bce") return "binary_crossentropy";
  if (name == "cce") return "categorical_crossentropy";
  if (name == "mse") return "mean_squared_error";
  if (name == "mae") return "mean_absolute_error";
  for (const char* known :
       {"binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy",
        "mean_squared_error", "mean_absolute_error"}) {
    if (name == known) return name;
  }
  return "";
}

// The metric `name` on `out`, resolving "accuracy" as Keras does.
absl::StatusOr<Value> BuildMetric(Graph& g, const std::string& name, const std::string& loss,
                                  Value y_true, Value out) {
  std::string m = absl::AsciiStrToLower(name);
  if (m == "accuracy" || m == "acc") {
    if (g.type(out).shape.dim(-1) == 1) {
      m = "binary_accuracy";
    } else if (loss == "sparse_categorical_crossentropy") {
      m = "sparse_categorical_accuracy";
    } else {
      m = "categorical_accuracy";
    }
  }
  if (m == "binary_accuracy") return ops::BinaryAccuracy(g, y_true, out);
  if (m == "sparse_categorical_accuracy") return ops::SparseCategoricalAccuracy(g, y_true, out);
  if (m == "categorical_accuracy") return ops::CategoricalAccuracy(g, y_true, out);
  if (m == "mae" || m == "mean_absolute_error") return ops::MeanAbsoluteError(g, y_true, out);
  if (m == "mse" || m == "mean_squared_error") return ops::MeanSquaredError(g, y_true, out);
  return absl::InvalidArgumentError(
      absl::StrCat("unknown metric \"", name,
                   "\"; graft knows: accuracy, binary_accuracy, categorical_accuracy, "
                   "sparse_categorical_accuracy, mae, mse"));
}

const char* KnownLosses() {
  return "binary_crossentropy, categorical_crossentropy, sparse_categorical_crossentropy, "
         "mean_squared_error (mse), mean_absolute_error (mae)";
}

}  // namespace graft::keras::internal
