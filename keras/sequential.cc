#include "keras/sequential.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "autodiff/gradients.h"
#include "keras/progress.h"
#include "keras/random.h"
#include "keras/sequential_internal.h"
#include "keras/summary.h"
#include "ops/loss.h"
#include "ops/metric.h"
#include "runtime/threads.h"

namespace graft::keras {

namespace {
enum PlanKind { kTrain = 0, kEval = 1, kPredict = 2 };

absl::Status WithContext(const absl::Status& s, absl::string_view context) {
  return absl::Status(s.code(), absl::StrCat(context, s.message()));
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}
}  // namespace

Sequential::Sequential(std::vector<Layer> layers, std::string name)
    : name_(name.empty() ? internal::UniqueLayerName("sequential") : std::move(name)),
      layers_(std::move(layers)) {}
Sequential::~Sequential() = default;
Sequential::Sequential(Sequential&&) noexcept = default;
Sequential& Sequential::operator=(Sequential&&) noexcept = default;

void Sequential::InstallWeightHooks() {
  std::weak_ptr<Graph> graph = compiled_->graph;
  for (const Layer& l : layers_) {
    l->SetWeightsAccessHook([graph] {
      if (std::shared_ptr<Graph> g = graph.lock()) {
        g->SyncVariables(/*release_packed=*/true).IgnoreError();
      }
    });
  }
}

void Sequential::Add(Layer layer) {
  layers_.push_back(std::move(layer));
  built_ = false;
  compiled_.reset();
}

void Sequential::SetExecutor(ExecutorKind kind) {
  executor_ = kind;
  if (compiled_) compiled_->plans.clear();
}

// Appends every layer to `g` starting from `x`; errors carry the layer's index.
static absl::StatusOr<Value> CallLayers(const std::vector<Layer>& layers, Graph& g, Value x,
                                        std::vector<std::string>* shapes,
                                        const CallContext& ctx = {}) {
  for (size_t i = 0; i < layers.size(); ++i) {
    absl::StatusOr<Value> y = layers[i]->Call(g, x, ctx);
    if (!y.ok()) {
      // "conv1d (Conv1D): msg" -> "conv1d (Conv1D, layer 0): msg"
      std::string msg(y.status().message());
      const std::string head = absl::StrCat(layers[i]->name(), " (", layers[i]->class_name());
      if (msg.rfind(head + "): ", 0) == 0) {
        msg = absl::StrCat(head, ", layer ", i, "): ", msg.substr(head.size() + 3));
      }
      return absl::Status(y.status().code(), msg);
    }
    x = *y;
    if (shapes) shapes->push_back(g.type(x).shape.ToString());
  }
  return x;
}

absl::Status Sequential::Build() {
  if (built_) return absl::OkStatus();
  if (layers_.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "model \"", name_, "\" has no layers: pass them to Sequential({...}) or Add() them"));
  }
  const std::vector<int64_t>& in = layers_[0]->input_shape();
  if (in.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "model \"", name_, "\": the first layer (", layers_[0]->name(),
        ") needs input_shape, e.g. {.input_shape = {100, 3}} for 100 steps of 3 features"));
  }
  std::vector<int64_t> dims = {Shape::kUnknownDim};
  dims.insert(dims.end(), in.begin(), in.end());
  Graph g;
  Value x = g.Placeholder({DType::kF32, Shape(dims)}, "x");
  std::vector<std::string> shapes;
  absl::StatusOr<Value> out = CallLayers(layers_, g, x, &shapes);
  if (!out.ok()) return out.status();
  output_shapes_ = std::move(shapes);
  built_ = true;
  return absl::OkStatus();
}

namespace {

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

}  // namespace

absl::Status Sequential::Compile(const CompileOptions& options) {
  if (absl::Status s = Build(); !s.ok()) return s;
  auto c = std::make_unique<Compiled>();
  // Optimizer.
  if (const auto* name = std::get_if<std::string>(&options.optimizer)) {
    absl::StatusOr<std::unique_ptr<optim::Optimizer>> opt = optim::OptimizerByName(*name);
    if (!opt.ok()) return WithContext(opt.status(), "Compile: ");
    c->optimizer = std::move(*opt);
  } else {
    c->optimizer = std::get<std::shared_ptr<optim::Optimizer>>(options.optimizer);
    if (!c->optimizer) return absl::InvalidArgumentError("Compile: the optimizer is null");
  }
  c->loss_name = CanonicalLoss(options.loss.name);
  if (c->loss_name.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Compile: unknown loss \"", options.loss.name,
        "\"; graft knows: binary_crossentropy, categorical_crossentropy, "
        "sparse_categorical_crossentropy, mean_squared_error (mse), mean_absolute_error (mae)"));
  }

  // Forward, twice when some layer behaves differently while training (Dropout, BN): the
  // training-mode branch feeds the loss that is differentiated, the inference-mode branch
  // feeds Evaluate and Predict. Both read the same variables.
  Graph& g = *c->graph;
  std::vector<int64_t> dims = {Shape::kUnknownDim};
  dims.insert(dims.end(), layers_[0]->input_shape().begin(), layers_[0]->input_shape().end());
  c->x = g.Placeholder({DType::kF32, Shape(dims)}, "x");
  c->iteration = g.Placeholder({DType::kF32, Shape{}}, "iteration");
  std::vector<int> layer_updates;
  const int train_begin = g.num_nodes();
  absl::StatusOr<Value> train_out =
      CallLayers(layers_, g, c->x, nullptr,
                 {.training = true, .iteration = c->iteration, .updates = &layer_updates});
  if (!train_out.ok()) return train_out.status();
  const int train_end = g.num_nodes();
  bool differs = false;
  for (const Layer& l : layers_) differs |= l->differs_in_training();
  absl::StatusOr<Value> eval_out = *train_out;
  if (differs) eval_out = CallLayers(layers_, g, c->x, nullptr, {.training = false});
  if (!eval_out.ok()) return eval_out.status();
  c->output = *eval_out;

  // Targets, loss and metrics, on both branches.
  const TensorType out_type = g.type(c->output);
  if (c->loss_name == "sparse_categorical_crossentropy") {
    if (out_type.shape.rank() != 2) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Compile: sparse_categorical_crossentropy expects the model output to be (batch, "
          "classes), but the last layer outputs ",
          out_type.shape.ToString()));
    }
    c->y_type = {DType::kF32, Shape{Shape::kUnknownDim}};
  } else {
    c->y_type = out_type;
  }
  c->y_true = g.Placeholder(c->y_type, "y_true");
  for (const bool training : {true, false}) {
    if (!training && !differs) break;
    const Value out = training ? *train_out : *eval_out;
    absl::StatusOr<Value> loss =
        BuildLoss(g, c->loss_name, options.loss.options.from_logits, c->y_true, out);
    if (!loss.ok()) return WithContext(loss.status(), "Compile: loss: ");
    (training ? c->train_loss : c->eval_loss) = *loss;
    for (const std::string& m : options.metrics) {
      absl::StatusOr<Value> v = BuildMetric(g, m, c->loss_name, c->y_true, out);
      if (!v.ok()) return WithContext(v.status(), absl::StrCat("Compile: metric ", m, ": "));
      (training ? c->train_metrics : c->eval_metrics).push_back(*v);
    }
  }
  if (!differs) {
    c->eval_loss = c->train_loss;
    c->eval_metrics = c->train_metrics;
  }
  c->metric_names = options.metrics;
  c->loss_options = options.loss.options;

  // Gradients and updates.
  // The parameters are the training branch's variable nodes (the inference branch has its
  // own nodes over the same storage, which must not be updated twice).
  std::vector<Value> params;
  for (int id = train_begin; id < train_end; ++id) {
    const Node& n = g.node(id);
    if (n.op->name == "graft.Variable" && n.attrs_as<VariableAttrs>().trainable) {
      params.push_back({id, 0});
    }
  }
  absl::StatusOr<std::vector<Value>> grads = autodiff::Gradients(g, c->train_loss, params);
  if (!grads.ok()) return WithContext(grads.status(), "Compile: gradients: ");
  c->lr = g.Placeholder({DType::kF32, Shape{}}, "learning_rate");
  const size_t slots_before = c->optimizer->slots().size();
  absl::StatusOr<std::vector<int>> updates =
      c->optimizer->AppendUpdates(g, params, *grads, c->lr, c->iteration);
  if (!updates.ok()) return WithContext(updates.status(), "Compile: optimizer: ");
  c->slots.assign(c->optimizer->slots().begin() + slots_before, c->optimizer->slots().end());
  c->updates = *updates;
  c->updates.insert(c->updates.end(), layer_updates.begin(), layer_updates.end());
  if (absl::Status s = g.Verify(); !s.ok()) return WithContext(s, "Compile: internal: ");
  c->trainable = true;
  c->shuffle.seed(internal::NextSeed());
  compiled_ = std::move(c);
  InstallWeightHooks();
  return absl::OkStatus();
}

std::vector<std::string> Sequential::metrics_names() const {
  std::vector<std::string> names = {"loss"};
  if (compiled_) {
    for (const std::string& m : compiled_->metric_names) names.push_back(m);
  }
  return names;
}

absl::StatusOr<Tensor> Sequential::PrepareX(const Tensor& x, const char* where) const {
  const std::vector<int64_t>& want = layers_[0]->input_shape();
  std::vector<int64_t> expected = {Shape::kUnknownDim};
  expected.insert(expected.end(), want.begin(), want.end());
  const std::string expected_text = Shape(expected).ToString();
  if (x.empty() || x.shape().rank() == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": x is empty; expected an array of ", "shape ", expected_text));
  }
  Tensor t = x.dtype() == DType::kF32 ? x : x.CastTo(DType::kF32);
  std::vector<int64_t> got(t.shape().dims().begin() + 1, t.shape().dims().end());
  if (got == want) return t;
  std::string hint = absl::StrCat("Reshape the data, or declare input_shape = (",
                                  absl::StrJoin(got, ", "), ") on the first layer.");
  if (!want.empty() && want.back() == 1 && got.size() + 1 == want.size() &&
      std::equal(got.begin(), got.end(), want.begin())) {
    // Keras would add the trailing axis silently; graft says so and lets the user choose.
    std::vector<int64_t> fixed = t.shape().dims();
    fixed.push_back(1);
    hint = absl::StrCat("x lacks the trailing channel axis of size 1 (Keras adds it silently): ",
                        "pass x.Reshaped(", Shape(fixed).ToString(), ").");
  }
  return absl::InvalidArgumentError(absl::StrCat(
      where, ": input x has shape ", t.shape().ToString(), " but model \"", name_, "\" expects ",
      expected_text, " (declared by input_shape of layer ", layers_[0]->name(), "). ", hint));
}

absl::StatusOr<Tensor> Sequential::PrepareY(const Tensor& y, const char* where) const {
  const Compiled& c = *compiled_;
  Tensor t = y.dtype() == DType::kF32 ? y : y.CastTo(DType::kF32);
  const Shape& want = c.y_type.shape;
  if (t.shape().rank() == want.rank()) {
    bool ok = true;
    for (int i = 1; i < want.rank(); ++i) ok = ok && t.shape().dim(i) == want.dim(i);
    if (ok) return t;
  }
  std::vector<int64_t> dims = t.shape().dims();
  if (t.shape().rank() + 1 == want.rank() && want.dim(-1) == 1) {  // (N,) -> (N, 1)
    dims.push_back(1);
    return t.Reshaped(Shape(dims));
  }
  if (t.shape().rank() == want.rank() + 1 && t.shape().dim(-1) == 1) {  // (N, 1) -> (N,)
    dims.pop_back();
    return t.Reshaped(Shape(dims));
  }
  return absl::InvalidArgumentError(
      absl::StrCat(where, ": y has shape ", y.shape().ToString(), ", but loss ", c.loss_name,
                   " on this model's output ", c.graph->type(c.output).shape.ToString(),
                   " expects targets of shape ", want.ToString()));
}

absl::Status Sequential::RunStep(int kind, const std::vector<Tensor>& feeds,
                                 std::vector<Tensor>* fetched) {
  Compiled& c = *compiled_;
  std::unique_ptr<ThreadGovernor>& gov = c.governors[kind];
  if (!gov || gov->budget() != NumThreads()) {
    gov = std::make_unique<ThreadGovernor>(NumThreads(), AdaptiveThreads());
  }
  const int64_t batch = feeds[0].shape().dim(0);
  const int threads = gov->Choose();
  absl::StatusOr<Plan*> plan = GetPlan(kind, batch, threads);
  if (!plan.ok()) return plan.status();
  Compiled::CachedPlan& cached = c.plans[{kind, batch, threads}];
  const auto start = std::chrono::steady_clock::now();
  absl::Status s = (*plan)->Run(feeds, fetched);
  if (s.ok() && cached.warm && !first_step_of_call_) gov->Record(threads, Seconds(start), batch);
  cached.warm = true;
  first_step_of_call_ = false;
  return s;
}

absl::StatusOr<Plan*> Sequential::GetPlan(int kind, int64_t batch, int threads) {
  Compiled& c = *compiled_;
  auto key = std::make_tuple(kind, batch, threads);
  auto it = c.plans.find(key);
  if (it != c.plans.end()) return it->second.plan.get();
  PlanSpec spec;
  std::vector<TensorType> types;
  const TensorType x_type{DType::kF32, c.graph->type(c.x).shape.WithBatch(batch)};
  spec.feeds.push_back(c.x);
  types.push_back(x_type);
  if (kind == kPredict) {
    spec.fetches = {c.output};
  } else {
    spec.feeds.push_back(c.y_true);
    types.push_back({DType::kF32, c.y_type.shape.WithBatch(batch)});
    const bool train = kind == kTrain;
    spec.fetches = {train ? c.train_loss : c.eval_loss};
    const std::vector<Value>& metrics = train ? c.train_metrics : c.eval_metrics;
    spec.fetches.insert(spec.fetches.end(), metrics.begin(), metrics.end());
    if (kind == kTrain) {
      spec.feeds.push_back(c.lr);
      spec.feeds.push_back(c.iteration);
      types.push_back({DType::kF32, Shape{}});
      types.push_back({DType::kF32, Shape{}});
      spec.targets = c.updates;
    }
  }
  absl::StatusOr<std::unique_ptr<Plan>> plan =
      Plan::Compile(*c.graph, std::move(spec), std::move(types),
                    {.executor = executor_, .num_threads = threads, .arena = c.arena});
  if (!plan.ok()) return plan.status();
  Plan* p = plan->get();
  c.plans[key].plan = *std::move(plan);
  return p;
}

absl::StatusOr<History> Sequential::Fit(const Tensor& x_in, const Tensor& y_in,
                                        const FitOptions& o) {
  if (!compiled_ || !compiled_->trainable) {
    return absl::FailedPreconditionError("Fit: call Compile() before Fit()");
  }
  if (o.batch_size <= 0 || o.epochs < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Fit: batch_size must be positive and epochs non-negative; got batch_size=", o.batch_size,
        ", epochs=", o.epochs));
  }
  absl::StatusOr<Tensor> x = PrepareX(x_in, "Fit");
  if (!x.ok()) return x.status();
  first_step_of_call_ = true;  // it finds the OpenMP team asleep: not shown to the governor
  absl::StatusOr<Tensor> y = PrepareY(y_in, "Fit");
  if (!y.ok()) return y.status();
  const int64_t n_all = x->shape().dim(0);
  if (y->shape().dim(0) != n_all) {
    return absl::InvalidArgumentError(
        absl::StrCat("Fit: x has ", n_all, " samples but y has ", y->shape().dim(0)));
  }
  // Validation data: explicit, or the last samples before any shuffling (Keras).
  Tensor x_train = *x, y_train = *y, x_val, y_val;
  if (o.validation_data.has_value()) {
    absl::StatusOr<Tensor> xv = PrepareX(o.validation_data->first, "Fit (validation_data)");
    if (!xv.ok()) return xv.status();
    absl::StatusOr<Tensor> yv = PrepareY(o.validation_data->second, "Fit (validation_data)");
    if (!yv.ok()) return yv.status();
    x_val = *xv;
    y_val = *yv;
  } else if (o.validation_split > 0) {
    if (o.validation_split >= 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("Fit: validation_split must be in [0, 1), got ", o.validation_split));
    }
    const int64_t n_train =
        static_cast<int64_t>(std::floor(static_cast<double>(n_all) * (1 - o.validation_split)));
    if (n_train == 0 || n_train == n_all) {
      return absl::InvalidArgumentError(
          absl::StrCat("Fit: validation_split=", o.validation_split, " on ", n_all,
                       " samples leaves an empty training or validation set"));
    }
    x_train = x->SliceRows(0, n_train);
    y_train = y->SliceRows(0, n_train);
    x_val = x->SliceRows(n_train, n_all);
    y_val = y->SliceRows(n_train, n_all);
  }
  const int64_t n = x_train.shape().dim(0);
  if (n == 0) return absl::InvalidArgumentError("Fit: no training samples");
  const int64_t steps = (n + o.batch_size - 1) / o.batch_size;

  std::ostream& out = o.output ? *o.output : std::cout;
  int verbose = o.verbose;
  if (verbose < 0) verbose = (o.output == nullptr && isatty(STDOUT_FILENO)) ? 1 : 2;

  Compiled& c = *compiled_;
  History history;
  auto& batch_buffers = c.batch_buffers;
  const std::vector<std::string> names = metrics_names();
  for (int epoch = 0; epoch < o.epochs; ++epoch) {
    const auto start = std::chrono::steady_clock::now();
    if (verbose > 0 && o.epochs > 1) out << "Epoch " << epoch + 1 << "/" << o.epochs << "\n";
    std::vector<int64_t> order;
    if (o.shuffle) {
      order = internal::Permutation(n, c.shuffle);
    } else {
      order.resize(n);
      for (int64_t i = 0; i < n; ++i) order[i] = i;
    }
    ProgressBar bar(out, verbose, steps);
    std::vector<double> sums(names.size(), 0.0);
    int64_t seen = 0;
    std::vector<Tensor> fetched;
    for (int64_t s = 0; s < steps; ++s) {
      const int64_t b = s * o.batch_size, e = std::min(n, b + o.batch_size);
      std::vector<int64_t> idx(order.begin() + b, order.begin() + e);
      // The batch is gathered into buffers reused every step (no allocation, no page faults).
      auto& [xb, yb] = batch_buffers[e - b];
      if (xb.empty() || xb.dtype() != x_train.dtype() || yb.dtype() != y_train.dtype()) {
        xb = Tensor(x_train.dtype(), x_train.shape().WithBatch(e - b));
        yb = Tensor(y_train.dtype(), y_train.shape().WithBatch(e - b));
      }
      x_train.GatherRowsInto(idx, xb);
      y_train.GatherRowsInto(idx, yb);
      std::vector<Tensor> feeds = {
          xb, yb, Tensor::Scalar<float>(static_cast<float>(c.optimizer->learning_rate())),
          Tensor::Scalar<float>(static_cast<float>(c.iterations))};
      if (absl::Status st = RunStep(kTrain, feeds, &fetched); !st.ok()) {
        return WithContext(st, absl::StrCat("Fit (epoch ", epoch + 1, ", step ", s + 1, "): "));
      }
      ++c.iterations;
      seen += e - b;
      Logs logs;
      for (size_t k = 0; k < names.size(); ++k) {
        sums[k] += fetched[k].AsDouble(0) * static_cast<double>(e - b);
        logs.push_back({names[k], sums[k] / static_cast<double>(seen)});
      }
      bar.Update(s + 1, logs, Seconds(start));
    }
    Logs logs;
    for (size_t k = 0; k < names.size(); ++k) {
      logs.push_back({names[k], sums[k] / static_cast<double>(seen)});
    }
    if (!x_val.empty()) {
      absl::StatusOr<std::vector<double>> v = EvaluatePrepared(x_val, y_val, o.batch_size);
      if (!v.ok()) return WithContext(v.status(), "Fit (validation): ");
      for (size_t k = 0; k < names.size(); ++k) logs.push_back({"val_" + names[k], (*v)[k]});
    }
    const double seconds = Seconds(start);
    bar.Finish(logs, seconds);
    history.epoch.push_back(epoch);
    history.epoch_seconds.push_back(seconds);
    for (const auto& [k, v] : logs) history.history[k].push_back(v);
  }
  return history;
}

absl::StatusOr<std::vector<double>> Sequential::EvaluatePrepared(const Tensor& x, const Tensor& y,
                                                                 int64_t batch_size) {
  const int64_t n = x.shape().dim(0);
  if (y.shape().dim(0) != n) {
    return absl::InvalidArgumentError(
        absl::StrCat("x has ", n, " samples but y has ", y.shape().dim(0)));
  }
  const size_t k = 1 + compiled_->eval_metrics.size();
  std::vector<double> sums(k, 0.0);
  std::vector<Tensor> fetched;
  for (int64_t b = 0; b < n; b += batch_size) {
    const int64_t e = std::min(n, b + batch_size);
    if (absl::Status s = RunStep(kEval, {x.RowsView(b, e), y.RowsView(b, e)}, &fetched); !s.ok()) {
      return s;
    }
    for (size_t i = 0; i < k; ++i) sums[i] += fetched[i].AsDouble(0) * static_cast<double>(e - b);
  }
  for (double& s : sums) s /= static_cast<double>(std::max<int64_t>(n, 1));
  return sums;
}

absl::StatusOr<std::vector<double>> Sequential::Evaluate(const Tensor& x_in, const Tensor& y_in,
                                                         const EvaluateOptions& o) {
  if (!compiled_ || !compiled_->trainable) {
    return absl::FailedPreconditionError("Evaluate: call Compile() before Evaluate()");
  }
  if (o.batch_size <= 0) return absl::InvalidArgumentError("Evaluate: batch_size must be > 0");
  absl::StatusOr<Tensor> x = PrepareX(x_in, "Evaluate");
  if (!x.ok()) return x.status();
  first_step_of_call_ = true;
  absl::StatusOr<Tensor> y = PrepareY(y_in, "Evaluate");
  if (!y.ok()) return y.status();
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<std::vector<double>> r = EvaluatePrepared(*x, *y, o.batch_size);
  if (!r.ok()) return WithContext(r.status(), "Evaluate: ");
  if (o.verbose > 0) {
    std::ostream& out = o.output ? *o.output : std::cout;
    const int64_t steps = (x->shape().dim(0) + o.batch_size - 1) / o.batch_size;
    ProgressBar bar(out, o.verbose, steps);
    Logs logs;
    const std::vector<std::string> names = metrics_names();
    for (size_t i = 0; i < names.size(); ++i) logs.push_back({names[i], (*r)[i]});
    bar.Finish(logs, Seconds(start));
  }
  return r;
}

absl::StatusOr<Tensor> Sequential::Predict(const Tensor& x_in, const PredictOptions& o) {
  if (absl::Status s = Build(); !s.ok()) return s;
  if (o.batch_size <= 0) return absl::InvalidArgumentError("Predict: batch_size must be > 0");
  if (!compiled_) {
    // Forward only: Keras predicts without compile.
    auto c = std::make_unique<Compiled>();
    std::vector<int64_t> dims = {Shape::kUnknownDim};
    dims.insert(dims.end(), layers_[0]->input_shape().begin(), layers_[0]->input_shape().end());
    c->x = c->graph->Placeholder({DType::kF32, Shape(dims)}, "x");
    absl::StatusOr<Value> out = CallLayers(layers_, *c->graph, c->x, nullptr);
    if (!out.ok()) return out.status();
    c->output = *out;
    compiled_ = std::move(c);
    InstallWeightHooks();
  }
  absl::StatusOr<Tensor> x = PrepareX(x_in, "Predict");
  if (!x.ok()) return x.status();
  first_step_of_call_ = true;
  const int64_t n = x->shape().dim(0);
  Shape out_shape = compiled_->graph->type(compiled_->output).shape.WithBatch(n);
  Tensor result(DType::kF32, out_shape);
  const int64_t row = n == 0 ? 0 : result.num_elements() / n;
  std::vector<Tensor> fetched;
  for (int64_t b = 0; b < n; b += o.batch_size) {
    const int64_t e = std::min(n, b + o.batch_size);
    if (absl::Status s = RunStep(kPredict, {x->RowsView(b, e)}, &fetched); !s.ok()) {
      return WithContext(s, "Predict: ");
    }
    std::copy(fetched[0].data<float>(), fetched[0].data<float>() + (e - b) * row,
              result.data<float>() + b * row);
  }
  return result;
}

absl::StatusOr<std::string> Sequential::SummaryText() {
  if (absl::Status s = Build(); !s.ok()) return s;
  std::vector<SummaryRow> rows;
  SummaryTotals totals;
  for (size_t i = 0; i < layers_.size(); ++i) {
    const Layer& l = layers_[i];
    rows.push_back({absl::StrCat(l->name(), " (", l->class_name(), ")"), output_shapes_[i],
                    l->CountParams(true) + l->CountParams(false)});
    totals.trainable += l->CountParams(true);
    totals.non_trainable += l->CountParams(false);
  }
  return FormatSummary(name_, rows, totals);
}

void Sequential::Summary(std::ostream& out) {
  absl::StatusOr<std::string> text = SummaryText();
  if (text.ok()) {
    out << *text;
  } else {
    out << "Model: \"" << name_ << "\" cannot be built:\n  " << text.status().message() << "\n";
  }
}

int64_t Sequential::CountParams() const {
  int64_t n = 0;
  for (const Layer& l : layers_) n += l->CountParams(true) + l->CountParams(false);
  return n;
}

std::vector<Tensor> Sequential::GetWeights() const {
  std::vector<Tensor> w;  // Layer::weights() brings packed weights up to date (the hook)
  for (const Layer& l : layers_) {
    for (const Weight& weight : l->weights()) w.push_back(weight.value.Clone());
  }
  return w;
}

absl::Status Sequential::SetWeights(const std::vector<Tensor>& weights) {
  if (absl::Status s = Build(); !s.ok()) return s;
  size_t k = 0;  // Layer::SetWeights marks packed copies stale before writing (the hook)
  for (const Layer& l : layers_) {
    const size_t count = l->weights().size();
    if (k + count > weights.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("SetWeights: got ", weights.size(), " tensors, the model has more weights"));
    }
    std::vector<Tensor> mine(weights.begin() + k, weights.begin() + k + count);
    if (absl::Status s = l->SetWeights(mine); !s.ok()) return s;
    k += count;
  }
  if (k != weights.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("SetWeights: got ", weights.size(), " tensors, the model has ", k));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Sequential::ToDot() const {
  if (!compiled_) return absl::FailedPreconditionError("ToDot: call Compile() first");
  return compiled_->graph->ToDot();
}

absl::StatusOr<std::string> Sequential::ProfileTrainStep(const Tensor& x_in, const Tensor& y_in,
                                                         int64_t batch_size, int iterations) {
  if (!compiled_ || !compiled_->trainable) {
    return absl::FailedPreconditionError("ProfileTrainStep: call Compile() first");
  }
  absl::StatusOr<Tensor> x = PrepareX(x_in, "ProfileTrainStep");
  if (!x.ok()) return x.status();
  absl::StatusOr<Tensor> y = PrepareY(y_in, "ProfileTrainStep");
  if (!y.ok()) return y.status();
  if (x->shape().dim(0) < batch_size || y->shape().dim(0) < batch_size) {
    return absl::InvalidArgumentError("ProfileTrainStep: fewer samples than batch_size");
  }
  absl::StatusOr<Plan*> plan = GetPlan(kTrain, batch_size, NumThreads());
  if (!plan.ok()) return plan.status();
  Compiled& c = *compiled_;
  return (*plan)->Profile({x->SliceRows(0, batch_size), y->SliceRows(0, batch_size),
                           Tensor::Scalar<float>(static_cast<float>(c.optimizer->learning_rate())),
                           Tensor::Scalar<float>(static_cast<float>(c.iterations))},
                          iterations);
}

absl::StatusOr<std::string> Sequential::PlanReport(int64_t batch_size) {
  if (!compiled_ || !compiled_->trainable) {
    return absl::FailedPreconditionError("PlanReport: call Compile() first");
  }
  absl::StatusOr<Plan*> plan = GetPlan(kTrain, batch_size, NumThreads());
  if (!plan.ok()) return plan.status();
  return (*plan)->Report();
}

}  // namespace graft::keras
