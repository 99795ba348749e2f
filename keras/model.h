// graft — Keras models: the functional Model (inputs and outputs of a graph of layer calls)
// and its training API. Sequential (keras/sequential.h) is a Model whose graph is one chain.
//
//   auto in = keras::Input({32, 32, 3});
//   auto x = layers::Conv2D(16, 3, {.padding = "same", .activation = "relu"})(in);
//   auto y = layers::Add()({x, layers::Conv2D(16, 1)(in)});
//   auto out = layers::Dense(10, {.activation = "softmax"})(layers::GlobalAveragePooling2D()(y));
//   keras::Model model({in}, {out});
//   model.Compile({.optimizer = "adam", .loss = "sparse_categorical_crossentropy"});
//   model.Fit(x_train, y_train, {.epochs = 3});
//
// Compile builds the whole training graph (forward, losses, metrics, gradients, optimizer
// updates) from symbolic shapes with an unknown batch dimension, so every shape error surfaces
// there, before any data. Fit, Evaluate and Predict run compiled plans, cached per batch size.
#ifndef GRAFT_KERAS_MODEL_H_
#define GRAFT_KERAS_MODEL_H_

#include <functional>
#include <initializer_list>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "graph/graph.h"
#include "graph/tensor.h"
#include "keras/callbacks.h"
#include "keras/dataset.h"
#include "keras/keras_tensor.h"
#include "keras/layers.h"
#include "keras/lint.h"
#include "optim/optimizer.h"
#include "runtime/plan.h"

namespace graft::keras {

namespace internal {
struct FunctionalNode;
struct PredictScratch;
// Sets the feeds of the next batch (inputs, then targets); false when there is none.
using BatchFn = std::function<absl::StatusOr<bool>(std::vector<Tensor>& feeds)>;
}  // namespace internal

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

// Sample weights for Fit and Evaluate (Keras's sample_weight): one float array of shape (N,)
// (or (N, 1)) per output, one weight per sample, or a single array for every output (Keras
// replicates it). `.sample_weight = w`, `.sample_weight = {w_out0, w_out1}`. A weight scales its
// sample's loss: the loss is sum(w l) / N (N the batch's samples, not sum(w)), and the
// `weighted_metrics` are sum(w m) / sum(w). Weights must be finite and >= 0.
struct SampleWeights {
  SampleWeights() = default;
  SampleWeights(Tensor w) : arrays{std::move(w)} {}               // NOLINT
  SampleWeights(std::vector<Tensor> w) : arrays(std::move(w)) {}  // NOLINT
  SampleWeights(std::initializer_list<Tensor> w) : arrays(w) {}   // NOLINT
  bool empty() const { return arrays.empty(); }
  std::vector<Tensor> arrays;
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
  // Keras's weighted_metrics: the same names, computed with the sample weights given to Fit /
  // Evaluate (sample_weight, or class_weight) as weighted means, sum(w m) / sum(w) over the
  // epoch; without weights they equal the plain metric. (`metrics` ignore the weights.) Logged
  // after all of `metrics`, named as in `metrics`, or "weighted_<name>" when `metrics` already
  // has that name (Keras's rule).
  std::vector<std::string> weighted_metrics;
  // Models with several outputs: one loss per output (instead of `loss` for all), the weights
  // of the total loss (default 1 each), and one metric list per output (instead of `metrics`
  // for all). Logs are then named as Keras names them: "loss" (the weighted total),
  // "dense_1_loss", "dense_1_accuracy" (the output layer's name first).
  std::vector<Loss> losses;
  std::vector<double> loss_weights;
  std::vector<std::vector<std::string>> output_metrics;
  // One weighted-metric list per output (instead of `weighted_metrics` for all).
  std::vector<std::vector<std::string>> output_weighted_metrics;
  // The advisor (keras/lint.h): warnings on std::cerr, each once per model, about a model that
  // compiles but will learn badly (at Compile) and about its data (the first batch of each
  // Fit). false silences it for this model; GRAFT_ADVISOR=0 for the whole process.
  bool advise = true;
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
  // The same for models of several inputs or outputs: (one x per input, one y per output).
  std::optional<std::pair<std::vector<Tensor>, std::vector<Tensor>>> validation_lists;
  // The sample weights of validation_data / validation_lists (Keras: validation_data=(x, y,
  // sample_weight)). With validation_split, sample_weight is split with x and y instead.
  SampleWeights validation_sample_weight;
  bool shuffle = true;
  // Keras's class_weight: class index -> weight, turned into one weight per training sample
  // (the class of a sample: its sparse label, the argmax of a one-hot row, or the rounded value
  // of a binary target; a class missing from the map weighs 1, as in Keras). Models of one
  // output; not together with sample_weight (Keras refuses both). Keys must be classes of the
  // output, values finite and >= 0. Validation data is not class-weighted (as in Keras).
  std::map<int, double> class_weight;
  // Per-sample weights of x (see SampleWeights); shuffled and batched with the samples.
  SampleWeights sample_weight;
  std::ostream* output = nullptr;  // progress goes here; nullptr = std::cout
  // Before the first step, every value of x and y (and of the validation data) must be finite:
  // a NaN or Inf fails with INVALID_ARGUMENT naming the array, the sample and the feature. One
  // pass over the data, cheap next to an epoch; false skips it. (Targets are always checked
  // against their loss: sparse labels integral and in range, crossentropy targets in [0, 1].)
  // A Dataset's batches are checked as they arrive, before their step.
  bool check_finite = true;
  // Called at the start and end of training, of each epoch and of each batch (keras/callbacks.h).
  std::vector<CallbackPtr> callbacks;
  // The epoch to start at (0-based; Keras's initial_epoch): epochs run from initial_epoch to
  // epochs - 1. BackupAndRestore sets it when it restores a backup.
  int initial_epoch = 0;
  // With a Dataset: batches per epoch (0: until the dataset ends). When set, the dataset is not
  // restarted at each epoch, only when it ends (Keras's steps_per_epoch).
  int64_t steps_per_epoch = 0;
  // Validation batches from a Dataset (each element x and y batches), overriding the others.
  DatasetPtr validation_dataset;
};

struct EvaluateOptions {
  int64_t batch_size = 32;
  int verbose = 0;
  std::ostream* output = nullptr;
  std::vector<CallbackPtr> callbacks;  // OnTest* hooks
  // Per-sample weights of x (see SampleWeights): the loss and the weighted_metrics use them.
  SampleWeights sample_weight;
};

struct PredictOptions {
  int64_t batch_size = 32;
  std::vector<CallbackPtr> callbacks;  // OnPredict* hooks
};

// Keras's keras.utils.plot_model / model_to_dot arguments (Model::PlotModel, ModelToDot).
struct PlotModelOptions {
  // Each layer's input and output shapes, with None for the batch: "(None, 28, 28, 1)".
  bool show_shapes = false;
  bool show_dtype = false;  // the output's dtype ("float32")
  bool show_layer_names = true;
  // "TB" (top to bottom), "LR" (left to right), "BT" or "RL".
  std::string rankdir = "TB";
  // Nested models drawn as clusters. graft's models do not nest (a Model is not a layer), so
  // there is nothing to expand; accepted for Keras's signature.
  bool expand_nested = false;
  // The PNG's resolution (Graphviz's dpi); Keras's default.
  int dpi = 200;
  bool show_layer_activations = false;  // for layers with an `activation` (Dense, Conv*, ...)
  bool show_trainable = false;          // "Trainable" / "Non-trainable" for layers with weights
  // How edges are drawn (Graphviz's splines): "ortho" (right angles, Keras 3's default),
  // "spline", "curved", "polyline" or "line".
  std::string splines = "ortho";
};

// What Fit returns, as Keras's History: per-epoch values of every log ("loss", "accuracy",
// "val_loss", and what callbacks add such as "learning_rate").
struct History {
  std::vector<int> epoch;  // 0-based epochs run by this Fit
  std::map<std::string, std::vector<double>> history;
  std::vector<double> epoch_seconds;  // wall time of each epoch (graft addition)
  Logs params;                        // "epochs", "steps" (-1 unknown), "verbose"
};

// Threads: Predict and Evaluate may be called on one model from many threads at once; each
// call returns exactly what it would alone (plans are per call, weights are shared read-only).
// Fit, Compile, SetWeights and LoadWeights take the model exclusively: a Fit waits for the
// predictions running and later ones wait for the Fit, so no call ever sees half-updated weights.
// Building the model (Sequential::Add, constructing it) is not meant to race with the rest.
class Model {
 public:
  // The model from `inputs` (made by Input) to `outputs` (results of layer calls). Problems
  // (a shape error kept by a call, an output that needs an input not listed, an input that no
  // output uses) are reported by Build, Compile, Summary and the rest, naming the layer.
  Model(std::vector<KerasTensor> inputs, std::vector<KerasTensor> outputs, std::string name = "");
  virtual ~Model();
  Model(Model&&) noexcept;
  Model& operator=(Model&&) noexcept;

  const std::string& name() const { return name_; }
  // Every layer once, in the order of the graph (inputs first).
  const std::vector<Layer>& layers() const { return layers_; }
  const std::vector<KerasTensor>& inputs() const { return inputs_; }
  const std::vector<KerasTensor>& outputs() const { return outputs_; }

  // OK when the graph is sound (every weight exists, every shape checked); else the first
  // problem, naming the layer.
  virtual absl::Status Build();
  // A failed Compile leaves the model uncompiled (it does not keep a previous configuration):
  // Fit and Evaluate then fail with FAILED_PRECONDITION quoting why; Predict still works.
  absl::Status Compile(const CompileOptions& options);

  // One x per input and one y per output, in the order the model lists them. Before the first
  // step Fit checks all of its data (shapes, sample counts, every target against its loss,
  // and with FitOptions::check_finite every value), naming the sample's index in the array
  // passed. When the loss becomes NaN or Inf, training stops (Keras's TerminateOnNaN) and Fit
  // returns ABORTED naming the epoch, the step and the last finite loss; the weights then hold
  // that step's result (likely not finite): reload or re-initialise them before going on.
  absl::StatusOr<History> Fit(const std::vector<Tensor>& x, const std::vector<Tensor>& y,
                              const FitOptions& options = {});
  absl::StatusOr<History> Fit(const Tensor& x, const Tensor& y, const FitOptions& options = {});
  // Training from a Dataset (keras/dataset.h) whose elements are batches with x and y
  // (batch_size, shuffle and validation_split do not apply: the dataset decides).
  absl::StatusOr<History> Fit(Dataset& data, const FitOptions& options = {});
  // [loss, ...] in metrics_names() order.
  absl::StatusOr<std::vector<double>> Evaluate(const std::vector<Tensor>& x,
                                               const std::vector<Tensor>& y,
                                               const EvaluateOptions& options = {});
  absl::StatusOr<std::vector<double>> Evaluate(const Tensor& x, const Tensor& y,
                                               const EvaluateOptions& options = {});
  absl::StatusOr<std::vector<double>> Evaluate(Dataset& data, const EvaluateOptions& options = {});
  // One result per output. Predict works before Compile (as in Keras) and does not check its
  // inputs for NaN or Inf: non-finite inputs give non-finite outputs. Outputs or activations
  // too large for this machine's memory fail with RESOURCE_EXHAUSTED before allocating.
  absl::StatusOr<std::vector<Tensor>> Predict(const std::vector<Tensor>& x,
                                              const PredictOptions& options = {});
  // Models of one output.
  absl::StatusOr<Tensor> Predict(const Tensor& x, const PredictOptions& options = {});
  // Predictions for every batch of a Dataset (its elements' x), concatenated.
  absl::StatusOr<std::vector<Tensor>> Predict(Dataset& data, const PredictOptions& options = {});

  // Keras's model.stop_training: a callback sets it to end Fit after the current batch.
  void set_stop_training(bool stop) { stop_training_ = stop; }
  // This process's rank in data-parallel training (distributed/distributed.h), 0 when the model
  // trains alone. Summary prints, and Save, SaveWeights and the callbacks write files, only where
  // it is 0.
  int data_parallel_rank() const;
  bool stop_training() const { return stop_training_; }
  // The optimizer of the compiled model (null before Compile): callbacks change its rate.
  optim::Optimizer* optimizer() const;
  // The number of updates applied so far (Keras optimizer.iterations; 0 before Compile): the
  // rate in force is optimizer()->LearningRateAt(iterations()). Unsynchronised, as optimizer():
  // for callbacks, which run inside Fit.
  int64_t iterations() const;

  // Prints the Keras 3 summary table (needs no data): with a "Connected to" column for
  // functional models.
  void Summary(std::ostream& out = std::cout);
  absl::StatusOr<std::string> SummaryText();

  std::vector<std::string> metrics_names() const;
  int64_t CountParams() const;
  // Copies of every weight, layer by layer (kernel, bias, ...).
  std::vector<Tensor> GetWeights() const;
  absl::Status SetWeights(const std::vector<Tensor>& weights);

  // ---- The advisor (keras/lint.h) ----
  // Every warning the advisor has about this model (the structural rules) and about a sample
  // of its data (the data rules, on all the rows passed: pass the first batch or so), whether
  // or not it printed them before and whatever CompileOptions::advise says. The rules about the
  // loss, and so all of those about y, need a compiled model; before Compile they are skipped
  // (Lint with y then fails with FAILED_PRECONDITION). Errors: a model that cannot be built,
  // or a number of arrays other than the model's inputs (x) or outputs (y).
  absl::StatusOr<std::vector<LintWarning>> Lint();
  absl::StatusOr<std::vector<LintWarning>> Lint(const Tensor& x_sample);
  absl::StatusOr<std::vector<LintWarning>> Lint(const Tensor& x_sample, const Tensor& y_sample);
  absl::StatusOr<std::vector<LintWarning>> Lint(const std::vector<Tensor>& x_samples,
                                                const std::vector<Tensor>& y_samples = {});

  // ---- Persistence (keras/saving.cc; the format is docs/model-format.md) ----
  // Saves everything needed to continue: the architecture (each layer's class and config, and
  // how the layers connect), the compile configuration (optimizer and its hyperparameters,
  // losses, metrics), the weights, and the training state (the optimizer's slots such as Adam's
  // m and v, its iteration count, and Fit's shuffling stream). One safetensors file, written
  // atomically (temporary file, fsync, rename, fsync of the folder): an existing file at `path`
  // is replaced whole or not at all. LoadModel (keras/saving.h) reads it back. Keras:
  // model.save("model.keras").
  absl::Status Save(const std::string& path);
  // The weights alone, as a safetensors file with Keras-style names ("conv1d/kernel",
  // "dense/bias") in Keras layouts; readable by Python's safetensors.numpy.load_file.
  absl::Status SaveWeights(const std::string& path);
  // Loads weights saved by SaveWeights (or the weights of a Save file) into this model, matched
  // in order as Keras's load_weights does. When any tensor does not fit (count, shape, dtype),
  // fails naming the first one, expected and found, and changes nothing.
  absl::Status LoadWeights(const std::string& path);

  // ---- Pictures of the model (keras/plot_model.cc) ----
  // The layer graph as Graphviz DOT text, as Keras's keras.utils.model_to_dot draws it: one
  // node per layer (functional models also one per Input; Sequential models a chain without
  // the input), labelled "name (Class)", with the options' rows; an edge for each tensor a
  // layer is called on. Not ToDot(), which is the compiled graph of ops.
  absl::StatusOr<std::string> ModelToDot(const PlotModelOptions& options = {});
  // Keras's keras.utils.plot_model(model, to_file=path, ...): writes the DOT text beside the
  // picture (`path` with its extension replaced by .dot, "model.png" -> "model.dot"), then runs
  // Graphviz's `dot` (found on PATH, no shell) to render it; the format is the path's extension
  // (png, svg, pdf, jpg; png when there is none; .dot writes only the DOT). Both files are
  // written atomically. FAILED_PRECONDITION when `dot` is not installed (the DOT file is still
  // written, and the message says where and how to install Graphviz), INTERNAL with dot's
  // error output when dot fails.
  absl::Status PlotModel(const std::string& path, const PlotModelOptions& options = {});

  // How plans run: in order on one thread (default) or with the TBB executor.
  void SetExecutor(ExecutorKind kind);
  // The compiled training graph of ops as Graphviz DOT (after Compile); ModelToDot draws the
  // layers instead.
  absl::StatusOr<std::string> ToDot() const;
  // The train-step plan for a batch size: its steps, kernels and allocated bytes, with the
  // planned peak ("planned peak (arena) bytes"); compiles the plan without running a step. A
  // plan too large for this machine fails with RESOURCE_EXHAUSTED giving the planned bytes.
  absl::StatusOr<std::string> PlanReport(int64_t batch_size);
  // Times each step of the train-step plan on the first rows of (x, y) (one batch of
  // `batch_size`), `iterations` times, and lists them slowest first. Trains the model while
  // doing so (these are real steps). Models of one input and one output.
  absl::StatusOr<std::string> ProfileTrainStep(const Tensor& x, const Tensor& y,
                                               int64_t batch_size = 32, int iterations = 20);
  // The same for Predict's plan on the first `batch_size` rows of x (in the chunks Predict runs
  // a batch that large in). Works before Compile, as Predict does. Models of one input.
  absl::StatusOr<std::string> ProfilePredict(const Tensor& x, int64_t batch_size = 32,
                                             int iterations = 20);

 protected:
  // For Sequential, which sets the graph in Build.
  explicit Model(std::string name);
  // Takes `inputs` -> `outputs` as the model's graph: orders the calls, checks every path.
  absl::Status SetGraph(std::vector<KerasTensor> inputs, std::vector<KerasTensor> outputs);
  // Summary rows without "Connected to", Save as "Sequential", messages about input_shape
  // (Sequential's own, and a loaded Sequential).
  bool sequential_like_ = false;
  // Forgets the compiled state (the graph changed).
  void ResetCompiled();
  // Serialises a lazy Build (Sequential's) against calls racing into it from several threads.
  std::unique_ptr<std::mutex> build_mu_ = std::make_unique<std::mutex>();

  std::string name_;
  std::vector<Layer> layers_;
  std::vector<KerasTensor> inputs_, outputs_;
  // The layer calls in an order where every call comes after its inputs' calls.
  std::vector<std::shared_ptr<internal::FunctionalNode>> nodes_;
  absl::Status graph_status_;

 private:
  struct Compiled;
  friend class ModelFile;
  void InstallWeightHooks();
  // Compile's work; Compile itself forgets the previous configuration first and records a
  // failure (compile_failure_) for NotCompiled.
  absl::Status CompileGraph(const CompileOptions& options);
  // keras/validation.cc: the values of output i's targets against its loss, and the
  // FAILED_PRECONDITION of Fit/Evaluate on a model that is not compiled (saying why).
  absl::Status CheckTargets(size_t i, const Tensor& y, const std::string& where) const;
  absl::Status NotCompiled(const char* where) const;
  // keras/lint.cc: the structural rules; the data rules on the first `rows` rows of each array
  // (y: prepared targets, or empty); printing each warning not printed before (advised_).
  std::vector<LintWarning> LintStructure() const;
  std::vector<LintWarning> LintData(const std::vector<Tensor>& x, const std::vector<Tensor>& y,
                                    int64_t rows) const;
  void Advise(const std::vector<LintWarning>& warnings);
  std::set<std::string> advised_;  // "rule/layer" of every warning printed
  absl::Status compile_failure_;   // why the last Compile failed; OK when it did not
  // Appends the forward pass for the inputs' values `xs`; errors carry the layer's index.
  absl::StatusOr<std::vector<Value>> CallGraph(Graph& g, const std::vector<Value>& xs,
                                               const CallContext& ctx) const;
  // A forward-only compiled state (Predict before Compile).
  absl::Status CompileForward();
  absl::StatusOr<std::vector<Tensor>> PrepareXs(const std::vector<Tensor>& x,
                                                const char* where) const;
  // PrepareXs into `prepared` (resized; its tensors' storage is reused where it can be).
  absl::Status PrepareXsInto(const std::vector<Tensor>& x, const char* where,
                             std::vector<Tensor>* prepared) const;
  // Predict's work, the results in `results` (resized; a result tensor of the right shape that
  // nobody else holds any more is written over rather than allocated again).
  absl::Status PredictInto(const std::vector<Tensor>& x, const PredictOptions& options,
                           std::vector<Tensor>* results, internal::PredictScratch* scratch);
  absl::StatusOr<std::vector<Tensor>> PrepareYs(const std::vector<Tensor>& y,
                                                const char* where) const;
  absl::StatusOr<Tensor> PrepareX(size_t i, const Tensor& x, const char* where) const;
  absl::StatusOr<Tensor> PrepareY(size_t i, const Tensor& y, const char* where) const;
  absl::StatusOr<Plan*> GetPlan(int kind, int64_t batch, int threads);
  // Runs one batch of `kind` on the thread count the governor picks, and reports its time.
  absl::Status RunStep(int kind, const std::vector<Tensor>& feeds, std::vector<Tensor>* fetched);
  // Runs (x, y) in batches through the evaluation plan: weighted means of the logs.
  // `w` holds one (N,) weight array per output, or none (every weight 1).
  absl::StatusOr<std::vector<double>> EvaluatePrepared(const std::vector<Tensor>& x,
                                                       const std::vector<Tensor>& y,
                                                       const std::vector<Tensor>& w,
                                                       int64_t batch_size,
                                                       const std::vector<CallbackPtr>& callbacks);
  // The evaluation step over batches: the means of the logs (internal::LogMeans), with the
  // callbacks' OnTest* hooks. `next` gives inputs, targets and, when there are some, one
  // weight array per output; without, the weights are ones.
  absl::StatusOr<std::vector<double>> EvaluateBatches(const internal::BatchFn& next,
                                                      const std::vector<CallbackPtr>& callbacks);
  // Evaluates batches from a Dataset (its elements prepared and checked as Fit's).
  absl::StatusOr<std::vector<double>> EvaluateDataset(Dataset& data,
                                                      const std::vector<CallbackPtr>& callbacks);
  // Fit's epochs over a source of batches (keras/fit.cc).
  friend class FitLoop;
  // Data-parallel training's state broadcasts and reductions (keras/data_parallel.cc).
  friend class DataParallel;
  // The model's lock, not taken again by a call from a callback on the thread running this
  // model's Fit (which holds it exclusively): callbacks may Save, GetWeights, Predict...
  std::shared_lock<std::shared_mutex> ReadLock() const;
  std::unique_lock<std::shared_mutex> WriteLock() const;
  bool InFitOnThisThread() const;
  bool stop_training_ = false;
  // Set by BackupAndRestore when it restored a backup: the epoch Fit goes on from.
  int resume_epoch_ = -1;
  // keras/sample_weights.cc: Fit's and Evaluate's weights (SampleWeights or class_weight) as one
  // checked (N,) array per output; none when none were given.
  absl::StatusOr<std::vector<Tensor>> PrepareSampleWeights(const SampleWeights& given, int64_t n,
                                                           const std::string& name,
                                                           const std::string& where) const;
  absl::Status CheckClassWeight(const std::map<int, double>& class_weight, bool has_sample_weight,
                                const Tensor& y, const std::string& where) const;
  Tensor ClassWeights(const std::map<int, double>& class_weight, const Tensor& y) const;

  // Fit, Compile, SetWeights and LoadWeights hold it exclusively; Predict, Evaluate, GetWeights
  // and Save share it: many threads may predict at once, and a Fit waits for them (and they
  // for it). A pointer, so that models stay movable.
  std::unique_ptr<std::shared_mutex> mu_;
  std::unique_ptr<Compiled> compiled_;
  ExecutorKind executor_ = ExecutorKind::kSequential;
};

}  // namespace graft::keras

#endif  // GRAFT_KERAS_MODEL_H_
