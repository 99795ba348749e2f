// graft — the Keras Sequential model: Compile / Fit / Evaluate / Predict / Summary.
//
//   graft::keras::Sequential model({
//       layers::Conv1D(32, 5, {.activation = "relu", .input_shape = {100, 3}}),
//       layers::MaxPooling1D(2),
//       layers::Flatten(),
//       layers::Dense(1, {.activation = "sigmoid"}),
//   });
//   absl::Status s = model.Compile({.optimizer = "adam", .loss = "binary_crossentropy",
//                                   .metrics = {"accuracy"}});
//   absl::StatusOr<History> h = model.Fit(x, y, {.epochs = 10, .validation_split = 0.2});
//
// Compile builds the whole training graph (forward, loss, metrics, gradients, optimizer
// updates) from symbolic shapes with an unknown batch dimension, so every shape error surfaces
// there, before any data. Fit, Evaluate and Predict run compiled plans, cached per batch size.
#ifndef GRAFT_KERAS_SEQUENTIAL_H_
#define GRAFT_KERAS_SEQUENTIAL_H_

#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "graph/graph.h"
#include "graph/tensor.h"
#include "keras/layers.h"
#include "optim/optimizer.h"
#include "runtime/plan.h"

namespace graft::keras {

// A loss by Keras name, optionally on logits: `"binary_crossentropy"` or
// `Loss{"categorical_crossentropy", {.from_logits = true}}` (keras.losses.X(from_logits=True)).
struct LossOptions {
  bool from_logits = false;
};
struct Loss {
  Loss(const char* n) : name(n) {}  // NOLINT: implicit, so `.loss = "mse"` reads as in Keras
  Loss(std::string n) : name(std::move(n)) {}  // NOLINT
  Loss(std::string n, LossOptions o) : name(std::move(n)), options(o) {}
  std::string name;
  LossOptions options;
};

struct CompileOptions {
  // A Keras name ("adam", "sgd", "rmsprop", "adamw", "adagrad", with Keras defaults) or an
  // optimizer object (graft::optim::MakeAdam({.learning_rate = 1e-2})).
  std::variant<std::string, std::shared_ptr<optim::Optimizer>> optimizer = std::string("rmsprop");
  // "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy",
  // "mean_squared_error" ("mse"), "mean_absolute_error" ("mae").
  Loss loss = "";
  // "accuracy" / "acc" (resolved as Keras does: binary when the output has one unit, sparse
  // categorical with the sparse loss, categorical otherwise), "binary_accuracy",
  // "categorical_accuracy", "sparse_categorical_accuracy", "mae", "mse".
  std::vector<std::string> metrics;
};

struct FitOptions {
  int64_t batch_size = 32;
  int epochs = 1;
  // -1 "auto": a progress bar on a terminal, one line per epoch otherwise; 0 silent; 1; 2.
  int verbose = -1;
  // The last fraction of the samples (taken before shuffling) is held out for validation.
  double validation_split = 0.0;
  // Overrides validation_split when set: (x_val, y_val).
  std::optional<std::pair<Tensor, Tensor>> validation_data;
  bool shuffle = true;
  std::ostream* output = nullptr;  // progress goes here; nullptr = std::cout
};

struct EvaluateOptions {
  int64_t batch_size = 32;
  int verbose = 0;
  std::ostream* output = nullptr;
};

struct PredictOptions {
  int64_t batch_size = 32;
};

// What Fit returns: per-epoch values of every log ("loss", "accuracy", "val_loss", ...).
struct History {
  std::vector<int> epoch;
  std::map<std::string, std::vector<double>> history;
  std::vector<double> epoch_seconds;  // wall time of each epoch (graft addition)
};

class Sequential {
 public:
  explicit Sequential(std::vector<Layer> layers = {}, std::string name = "");
  ~Sequential();
  Sequential(Sequential&&) noexcept;
  Sequential& operator=(Sequential&&) noexcept;

  void Add(Layer layer);
  const std::vector<Layer>& layers() const { return layers_; }
  const std::string& name() const { return name_; }

  // Creates every weight and checks every shape, from the first layer's input_shape. Called by
  // Compile and Summary; errors name the layer: "conv1d (Conv1D, layer 0): ...".
  absl::Status Build();
  absl::Status Compile(const CompileOptions& options);

  absl::StatusOr<History> Fit(const Tensor& x, const Tensor& y, const FitOptions& options = {});
  // [loss, metric...] in metrics_names() order.
  absl::StatusOr<std::vector<double>> Evaluate(const Tensor& x, const Tensor& y,
                                               const EvaluateOptions& options = {});
  absl::StatusOr<Tensor> Predict(const Tensor& x, const PredictOptions& options = {});

  // Prints the Keras 3 summary table (needs no data).
  void Summary(std::ostream& out = std::cout);
  absl::StatusOr<std::string> SummaryText();

  std::vector<std::string> metrics_names() const;
  int64_t CountParams() const;
  // Copies of every weight, layer by layer (kernel, bias, ...).
  std::vector<Tensor> GetWeights() const;
  absl::Status SetWeights(const std::vector<Tensor>& weights);

  // ---- Persistence (keras/saving.cc; the format is docs/model-format.md) ----
  // Saves everything needed to continue: the architecture (each layer's class and config), the
  // compile configuration (optimizer and its hyperparameters, loss, metrics), the weights, and
  // the training state (the optimizer's slots such as Adam's m and v, its iteration count, and
  // Fit's shuffling stream). One safetensors file, written atomically (temporary file, fsync,
  // rename, fsync of the folder): an existing file at `path` is replaced whole or not at all.
  // LoadModel (keras/saving.h) reads it back. Keras: model.save("model.keras").
  absl::Status Save(const std::string& path);
  // The weights alone, as a safetensors file with Keras-style names ("conv1d/kernel",
  // "dense/bias") in Keras layouts; readable by Python's safetensors.numpy.load_file.
  absl::Status SaveWeights(const std::string& path);
  // Loads weights saved by SaveWeights (or the weights of a Save file) into this model, matched
  // in order as Keras's load_weights does. When any tensor does not fit (count, shape, dtype),
  // fails naming the first one, expected and found, and changes nothing.
  absl::Status LoadWeights(const std::string& path);

  // How plans run: in order on one thread (default) or with the TBB executor.
  void SetExecutor(ExecutorKind kind);
  // The compiled training graph as Graphviz DOT (after Compile).
  absl::StatusOr<std::string> ToDot() const;
  // The train-step plan for a batch size: its steps, kernels and allocated bytes.
  absl::StatusOr<std::string> PlanReport(int64_t batch_size);
  // Times each step of the train-step plan on the first rows of (x, y) (one batch of
  // `batch_size`), `iterations` times, and lists them slowest first. Trains the model while
  // doing so (these are real steps).
  absl::StatusOr<std::string> ProfileTrainStep(const Tensor& x, const Tensor& y,
                                               int64_t batch_size = 32, int iterations = 20);

 private:
  struct Compiled;
  void InstallWeightHooks();
  bool first_step_of_call_ = false;  // not shown to the thread governor (RunStep)
  absl::StatusOr<Tensor> PrepareX(const Tensor& x, const char* where) const;
  absl::StatusOr<Tensor> PrepareY(const Tensor& y, const char* where) const;
  absl::StatusOr<Plan*> GetPlan(int kind, int64_t batch, int threads);
  // Runs one batch of `kind` on the thread count the governor picks, and reports its time.
  absl::Status RunStep(int kind, const std::vector<Tensor>& feeds, std::vector<Tensor>* fetched);
  // Runs `x`,`y` in batches through the evaluation plan: weighted means of loss and metrics.
  friend class ModelFile;
  absl::StatusOr<std::vector<double>> EvaluatePrepared(const Tensor& x, const Tensor& y,
                                                       int64_t batch_size);

  std::string name_;
  std::vector<Layer> layers_;
  std::vector<std::string> output_shapes_;  // per layer, from Build
  bool built_ = false;
  std::unique_ptr<Compiled> compiled_;
  ExecutorKind executor_ = ExecutorKind::kSequential;
};

}  // namespace graft::keras

#endif  // GRAFT_KERAS_SEQUENTIAL_H_
