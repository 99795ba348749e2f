// Losses and metrics by Keras name: two tables, one row per loss or metric.
#include "keras/losses.h"

#include <functional>
#include <optional>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "graph/op_registry.h"
#include "ops/loss.h"
#include "ops/metric.h"

namespace graft::keras::internal {
namespace {

// A loss or metric on (y_true, y_pred), weighted by sample_weight when it is given.
using Fn = std::function<absl::StatusOr<Value>(Graph&, Value y_true, Value y_pred,
                                               std::optional<Value> sample_weight)>;

struct LossRow {
  const char* name;  // Keras's canonical name
  std::vector<const char*> aliases;
  Fn fn;                   // on the model's output
  const char* activation;  // the output activation whose pre-activation from_logits takes
  Fn from_logits;          // on logits (null: no from-logits form)
};

const std::vector<LossRow>& Losses() {
  static const std::vector<LossRow> rows = {
      {"binary_crossentropy",
       {"bce"},
       ops::BinaryCrossentropy,
       "graft.Sigmoid",
       ops::BinaryCrossentropyFromLogits},
      {"categorical_crossentropy",
       {"cce"},
       ops::CategoricalCrossentropy,
       "graft.Softmax",
       ops::CategoricalCrossentropyFromLogits},
      {"sparse_categorical_crossentropy",
       {},
       ops::SparseCategoricalCrossentropy,
       "graft.Softmax",
       ops::SparseCategoricalCrossentropyFromLogits},
      {"mean_squared_error", {"mse"}, ops::MeanSquaredError, nullptr, nullptr},
      {"mean_absolute_error", {"mae"}, ops::MeanAbsoluteError, nullptr, nullptr},
  };
  return rows;
}

struct MetricRow {
  const char* name;
  std::vector<const char*> aliases;
  Fn fn;        // unweighted (`metrics`): called without weights
  Fn weighted;  // `weighted_metrics`: sum(w m) / sum(w) (null: fn takes the weights too)
};

const std::vector<MetricRow>& Metrics() {
  static const std::vector<MetricRow> rows = {
      {"binary_accuracy",
       {},
       [](Graph& g, Value t, Value p, std::optional<Value> w) {
         return ops::BinaryAccuracy(g, t, p, 0.5, w);
       },
       nullptr},
      {"categorical_accuracy", {}, ops::CategoricalAccuracy, nullptr},
      {"sparse_categorical_accuracy", {}, ops::SparseCategoricalAccuracy, nullptr},
      // Unweighted, Keras's metric is the loss's value; weighted, it divides by sum(w) where the
      // weighted loss divides by the count (ops/metric.h).
      {"mean_absolute_error", {"mae"}, ops::MeanAbsoluteError, ops::MeanAbsoluteErrorMetric},
      {"mean_squared_error", {"mse"}, ops::MeanSquaredError, ops::MeanSquaredErrorMetric},
  };
  return rows;
}

// The row whose name or alias is `name` (lower-cased), or null.
template <typename Row>
const Row* Find(const std::vector<Row>& rows, const std::string& name) {
  const std::string lower = absl::AsciiStrToLower(name);
  for (const Row& r : rows) {
    if (lower == r.name) return &r;
    for (const char* alias : r.aliases) {
      if (lower == alias) return &r;
    }
  }
  return nullptr;
}

template <typename Row>
std::string Known(const std::vector<Row>& rows) {
  std::vector<std::string> names;
  for (const Row& r : rows) {
    names.push_back(r.aliases.empty()
                        ? std::string(r.name)
                        : absl::StrCat(r.name, " (", absl::StrJoin(r.aliases, ", "), ")"));
  }
  return absl::StrJoin(names, ", ");
}

}  // namespace

std::string CanonicalLoss(std::string name) {
  const LossRow* row = Find(Losses(), name);
  return row == nullptr ? "" : row->name;
}

const std::string& KnownLosses() {
  static const std::string known = Known(Losses());
  return known;
}

absl::StatusOr<Value> BuildLoss(Graph& g, const std::string& loss, bool from_logits, Value y_true,
                                Value out, std::optional<Value> sample_weight) {
  const LossRow* row = Find(Losses(), loss);
  if (row == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown loss \"", loss, "\"; graft knows: ", KnownLosses()));
  }
  if (row->from_logits != nullptr) {
    if (from_logits) return row->from_logits(g, y_true, out, sample_weight);
    const Node& node = g.node(out);
    if (node.op->name == row->activation) {
      return row->from_logits(g, y_true, node.inputs[0], sample_weight);
    }
  }
  return row->fn(g, y_true, out, sample_weight);
}

absl::StatusOr<Value> BuildMetric(Graph& g, const std::string& name, const std::string& loss,
                                  Value y_true, Value out, std::optional<Value> sample_weight) {
  std::string m = absl::AsciiStrToLower(name);
  if (m == "accuracy" || m == "acc") {
    if (g.type(out).shape.dim(-1) == 1) {
      m = "binary_accuracy";
    } else if (CanonicalLoss(loss) == "sparse_categorical_crossentropy") {
      m = "sparse_categorical_accuracy";
    } else {
      m = "categorical_accuracy";
    }
  }
  const MetricRow* row = Find(Metrics(), m);
  if (row == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown metric \"", name, "\"; graft knows: accuracy, ", Known(Metrics())));
  }
  if (!sample_weight.has_value()) return row->fn(g, y_true, out, std::nullopt);
  return (row->weighted ? row->weighted : row->fn)(g, y_true, out, sample_weight);
}

}  // namespace graft::keras::internal
