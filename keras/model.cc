// Model: the graph of layer calls, Compile (losses, metrics, gradients, updates), and the
// plans that Fit, Evaluate and Predict run.
#include "keras/model.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <iostream>
#include <limits>
#include <map>
#include <mutex>
#include <new>
#include <set>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "autodiff/gradients.h"
#include "graph/memory.h"
#include "keras/data_parallel.h"
#include "keras/layer_internal.h"
#include "keras/losses.h"
#include "keras/mixed_precision.h"
#include "keras/model_internal.h"
#include "keras/progress.h"
#include "keras/random.h"
#include "keras/sample_weights.h"
#include "keras/summary.h"
#include "keras/validation.h"
#include "ops/collective.h"
#include "runtime/threads.h"

namespace graft::keras {

namespace {
using internal::Indexed;
using internal::WithContext;
constexpr int kTrain = internal::kTrainStep, kEval = internal::kEvalStep,
              kPredict = internal::kPredictStep;

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}
}  // namespace

int64_t internal::PredictChunk(const Graph& g) {
  if (const char* env = std::getenv("GRAFT_PREDICT_CHUNK")) {
    if (const int64_t n = std::atoll(env); n > 0) return n;
  }
  constexpr int64_t kBudget = int64_t{4} << 20;
  int64_t largest = 1;  // bytes per sample of the largest batched value
  for (int id = 0; id < g.num_nodes(); ++id) {
    for (const TensorType& t : g.node(id).outputs) {
      largest = std::max(largest, internal::SampleBytes(t, kBudget));
    }
  }
  return std::clamp<int64_t>(kBudget / largest, 8, 1024);
}

// ---- the graph ---------------------------------------------------------------------------------

Model::Model(std::string name)
    : name_(std::move(name)), mu_(std::make_unique<std::shared_mutex>()) {}

Model::Model(std::vector<KerasTensor> inputs, std::vector<KerasTensor> outputs, std::string name)
    : name_(name.empty() ? internal::UniqueLayerName("functional") : std::move(name)),
      mu_(std::make_unique<std::shared_mutex>()) {
  graph_status_ = SetGraph(std::move(inputs), std::move(outputs));
}

Model::~Model() = default;
Model::Model(Model&&) noexcept = default;
Model& Model::operator=(Model&&) noexcept = default;

absl::Status Model::SetGraph(std::vector<KerasTensor> inputs, std::vector<KerasTensor> outputs) {
  inputs_ = std::move(inputs);
  outputs_ = std::move(outputs);
  nodes_.clear();
  ResetCompiled();
  const std::string who = absl::StrCat("model \"", name_, "\": ");
  if (inputs_.empty() || outputs_.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(who, "needs at least one input and one output, got ", inputs_.size(),
                     " inputs and ", outputs_.size(), " outputs"));
  }
  std::set<const internal::FunctionalNode*> input_nodes;
  for (const KerasTensor& in : inputs_) {
    if (!in.node() || in.node()->layer) {
      return absl::InvalidArgumentError(absl::StrCat(
          who, "input ", in.name(), " is not made by keras::Input; a model's inputs must be"));
    }
    if (!in.ok()) return in.status();
    if (!input_nodes.insert(in.node().get()).second) {
      return absl::InvalidArgumentError(absl::StrCat(who, "input ", in.name(), " is listed twice"));
    }
  }
  for (const KerasTensor& out : outputs_) {
    if (!out.ok()) return out.status();
  }
  // Depth-first from the outputs: every call after its inputs' calls; a node met again while
  // it is being visited would be a cycle.
  std::map<const internal::FunctionalNode*, int> state;  // 1 visiting, 2 done
  std::set<const internal::FunctionalNode*> used_inputs;
  std::function<absl::Status(const std::shared_ptr<internal::FunctionalNode>&)> visit =
      [&](const std::shared_ptr<internal::FunctionalNode>& n) -> absl::Status {
    int& s = state[n.get()];
    if (s == 2) return absl::OkStatus();
    if (s == 1) {
      return absl::InvalidArgumentError(
          absl::StrCat(who, "the graph has a cycle through layer ", n->layer->name()));
    }
    if (!n->layer) {
      if (!input_nodes.count(n.get())) {
        return absl::InvalidArgumentError(
            absl::StrCat(who, "an output depends on input ", n->input_name,
                         ", which is not among the model's inputs: add it to Model({...}, ...)"));
      }
      used_inputs.insert(n.get());
      s = 2;
      return absl::OkStatus();
    }
    s = 1;
    for (const KerasTensor& in : n->inputs) {
      if (absl::Status st = visit(in.node()); !st.ok()) return st;
    }
    s = 2;
    nodes_.push_back(n);
    return absl::OkStatus();
  };
  for (const KerasTensor& out : outputs_) {
    if (absl::Status st = visit(out.node()); !st.ok()) return st;
  }
  for (const KerasTensor& in : inputs_) {
    if (!used_inputs.count(in.node().get())) {
      return absl::InvalidArgumentError(
          absl::StrCat(who, "input ", in.name(),
                       " does not reach any output: remove it from the inputs, or use it"));
    }
  }
  if (!sequential_like_) {
    layers_.clear();
    std::set<const LayerImpl*> seen;
    for (const auto& n : nodes_) {
      if (seen.insert(n->layer.get()).second) layers_.push_back(n->layer);
    }
  }
  return absl::OkStatus();
}

void Model::ResetCompiled() { compiled_.reset(); }

absl::Status Model::Build() { return graph_status_; }

void Model::InstallWeightHooks() {
  std::weak_ptr<Graph> graph = compiled_->graph;
  for (const Layer& l : layers_) {
    l->SetWeightsAccessHook([graph] {
      if (std::shared_ptr<Graph> g = graph.lock()) {
        g->SyncVariables(/*release_packed=*/true).IgnoreError();
      }
    });
  }
}

// ---- the lock ---------------------------------------------------------------------------------

bool Model::InFitOnThisThread() const { return model_in_fit == this; }

std::shared_lock<std::shared_mutex> Model::ReadLock() const {
  if (InFitOnThisThread()) return {};  // Fit holds it exclusively on this thread
  return std::shared_lock<std::shared_mutex>(*mu_);
}

std::unique_lock<std::shared_mutex> Model::WriteLock() const {
  if (InFitOnThisThread()) return {};
  return std::unique_lock<std::shared_mutex>(*mu_);
}

optim::Optimizer* Model::optimizer() const {
  return compiled_ && compiled_->trainable ? compiled_->optimizer.get() : nullptr;
}

int64_t Model::iterations() const {
  return compiled_ && compiled_->trainable ? compiled_->iterations : 0;
}

void Model::SetExecutor(ExecutorKind kind) {
  std::unique_lock<std::shared_mutex> lock = WriteLock();
  executor_ = kind;
  if (compiled_) compiled_->session->SetExecutor(kind);
}

absl::StatusOr<std::vector<Value>> Model::CallGraph(Graph& g, const std::vector<Value>& xs,
                                                    const CallContext& ctx) const {
  std::map<const internal::FunctionalNode*, Value> values;
  for (size_t i = 0; i < inputs_.size(); ++i) values[inputs_[i].node().get()] = xs[i];
  // A layer called more than once reads the same variable nodes in this pass.
  std::map<const void*, Value> variables;
  CallContext pass = ctx;
  pass.variables = &variables;
  std::map<const LayerImpl*, size_t> index;
  for (size_t i = 0; i < layers_.size(); ++i) index.emplace(layers_[i].get(), i);
  for (const auto& n : nodes_) {
    std::vector<Value> args;
    for (const KerasTensor& in : n->inputs) args.push_back(values.at(in.node().get()));
    absl::StatusOr<Value> y = n->layer->Call(g, args, pass);
    if (!y.ok()) {
      // "conv1d (Conv1D): msg" -> "conv1d (Conv1D, layer 0): msg"
      std::string msg(y.status().message());
      const std::string head = absl::StrCat(n->layer->name(), " (", n->layer->class_name());
      if (msg.rfind(head + "): ", 0) == 0) {
        msg = absl::StrCat(head, ", layer ", index[n->layer.get()],
                           "): ", msg.substr(head.size() + 3));
      }
      return absl::Status(y.status().code(), msg);
    }
    values[n.get()] = *y;
  }
  std::vector<Value> out;
  for (const KerasTensor& o : outputs_) out.push_back(values.at(o.node().get()));
  return out;
}

// ---- Compile ---------------------------------------------------------------------------------

absl::Status Model::Compile(const CompileOptions& options) {
  if (InFitOnThisThread()) {
    return absl::FailedPreconditionError(
        "Compile: called from a callback while this model's Fit runs; compile before Fit");
  }
  std::unique_lock<std::shared_mutex> lock(*mu_);
  // A failed Compile must not leave the previous configuration in place (Fit would train with
  // it silently): forget it first, and remember why this one failed for Fit and Evaluate.
  ResetCompiled();
  absl::Status status;
  try {
    status = CompileGraph(options);
  } catch (const std::bad_alloc&) {  // the last resort: sizes are checked before allocating
    status = absl::ResourceExhaustedError(
        absl::StrCat("Compile: out of memory while building model \"", name_, "\" (", CountParams(),
                     " parameters, ", HumanBytes(static_cast<uint64_t>(CountParams()) * 4),
                     " of weights, plus the optimizer's state): use smaller layers"));
  }
  if (!status.ok()) ResetCompiled();
  compile_failure_ = status;
  if (status.ok()) compiled_->advise = options.advise;
  if (status.ok() && options.advise) Advise(LintStructure());  // keras/lint.cc
  return status;
}

namespace {

// Whether a model compiled now computes in bf16: the global mixed precision policy, checked
// against this CPU. `where` names the call ("Compile", "Predict").
absl::StatusOr<bool> Bf16Policy(const char* where) {
  const mixed_precision::Policy p = mixed_precision::GlobalPolicy();
  if (p.compute_dtype != "bfloat16") return false;
  if (mixed_precision::CpuHasBf16()) return true;
  const std::string missing = absl::StrCat(
      "the mixed precision policy \"", p.name,
      "\" needs a CPU with AVX512-BF16 (oneDNN ISA avx512_core_bf16 or newer); this CPU runs "
      "oneDNN at ",
      mixed_precision::CpuIsaName());
  if (!p.fallback_to_float32) {
    return absl::FailedPreconditionError(absl::StrCat(
        where, ": ", missing,
        ". Use mixed_precision::SetGlobalPolicy(\"float32\"), or let graft run in float32 on "
        "such CPUs: SetGlobalPolicy(\"mixed_bfloat16\", {.fallback_to_float32 = true})"));
  }
  static std::once_flag warned;
  std::call_once(warned, [&] {
    std::cerr << "graft: warning: " << missing << "; running in float32 (fallback_to_float32)\n";
  });
  return false;
}

}  // namespace

absl::Status Model::CompileGraph(const CompileOptions& options) {
  if (absl::Status s = Build(); !s.ok()) return s;
  auto c = std::make_unique<Compiled>();
  absl::StatusOr<bool> bf16 = Bf16Policy("Compile");
  if (!bf16.ok()) return bf16.status();
  c->bf16 = *bf16;
  // Optimizer.
  if (const auto* name = std::get_if<std::string>(&options.optimizer)) {
    absl::StatusOr<std::unique_ptr<optim::Optimizer>> opt = optim::OptimizerByName(*name);
    if (!opt.ok()) return WithContext(opt.status(), "Compile: ");
    c->optimizer = std::move(*opt);
  } else {
    c->optimizer = std::get<std::shared_ptr<optim::Optimizer>>(options.optimizer);
    if (!c->optimizer) return absl::InvalidArgumentError("Compile: the optimizer is null");
  }
  // Losses, weights and metrics per output.
  const size_t k = outputs_.size();
  if (!options.losses.empty() && options.losses.size() != k) {
    return absl::InvalidArgumentError(absl::StrCat("Compile: losses has ", options.losses.size(),
                                                   " entries but the model has ", k,
                                                   " outputs: give one loss per output"));
  }
  if (!options.loss_weights.empty() && options.loss_weights.size() != k) {
    return absl::InvalidArgumentError(absl::StrCat("Compile: loss_weights has ",
                                                   options.loss_weights.size(),
                                                   " entries but the model has ", k, " outputs"));
  }
  if (!options.output_metrics.empty() && options.output_metrics.size() != k) {
    return absl::InvalidArgumentError(absl::StrCat("Compile: output_metrics has ",
                                                   options.output_metrics.size(),
                                                   " entries but the model has ", k, " outputs"));
  }
  if (!options.output_weighted_metrics.empty() && options.output_weighted_metrics.size() != k) {
    return absl::InvalidArgumentError(absl::StrCat("Compile: output_weighted_metrics has ",
                                                   options.output_weighted_metrics.size(),
                                                   " entries but the model has ", k, " outputs"));
  }
  for (size_t i = 0; i < k; ++i) {
    const Loss& loss = options.losses.empty() ? options.loss : options.losses[i];
    std::string name = internal::CanonicalLoss(loss.name);
    if (name.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("Compile: unknown loss \"", loss.name, "\"",
                                                     k > 1 ? absl::StrCat(" for output ", i) : "",
                                                     "; graft knows: ", internal::KnownLosses()));
    }
    c->loss_names.push_back(name);
    c->loss_options.push_back(loss.options);
    c->loss_weights.push_back(options.loss_weights.empty() ? 1.0 : options.loss_weights[i]);
    c->metric_names.push_back(options.output_metrics.empty() ? options.metrics
                                                             : options.output_metrics[i]);
    c->weighted_metric_names.push_back(options.output_weighted_metrics.empty()
                                           ? options.weighted_metrics
                                           : options.output_weighted_metrics[i]);
  }

  // Forward, twice when some layer behaves differently while training (Dropout, BN): the
  // training-mode branch feeds the loss that is differentiated, the inference-mode branch
  // feeds Evaluate and Predict. Both read the same variables.
  Graph& g = *c->graph;
  for (size_t i = 0; i < inputs_.size(); ++i) {
    c->xs.push_back(g.Placeholder(inputs_[i].type(), Indexed("x", i, inputs_.size())));
  }
  c->iteration = g.Placeholder({DType::kF32, Shape{}}, "iteration");
  c->row_offset = g.Placeholder({DType::kF32, Shape{}}, "row_offset");
  std::vector<Operation> layer_updates;
  const int train_begin = g.num_nodes();
  absl::StatusOr<std::vector<Value>> train_out = CallGraph(g, c->xs,
                                                           {.training = true,
                                                            .iteration = c->iteration,
                                                            .row_offset = c->row_offset,
                                                            .updates = &layer_updates});
  if (!train_out.ok()) return train_out.status();
  const int train_end = g.num_nodes();
  bool differs = false;
  for (const Layer& l : layers_) differs |= l->differs_in_training();
  absl::StatusOr<std::vector<Value>> eval_out = *train_out;
  if (differs) eval_out = CallGraph(g, c->xs, {.training = false});
  if (!eval_out.ok()) return eval_out.status();
  c->outputs = *eval_out;

  // Targets, losses and metrics, on both branches.
  for (size_t i = 0; i < k; ++i) {
    const TensorType out_type = g.type(c->outputs[i]);
    if (c->loss_names[i] == "sparse_categorical_crossentropy") {
      if (out_type.shape.rank() != 2) {
        return absl::InvalidArgumentError(absl::StrCat(
            "Compile: sparse_categorical_crossentropy expects the model output to be (batch, "
            "classes), but ",
            k > 1 ? absl::StrCat("output ", i, " (", outputs_[i].name(), ") is ")
                  : "the last layer outputs ",
            out_type.shape.ToString()));
      }
      c->y_types.push_back({DType::kF32, Shape{Shape::kUnknownDim}});
    } else {
      c->y_types.push_back(out_type);
    }
    c->y_trues.push_back(g.Placeholder(c->y_types[i], Indexed("y_true", i, k)));
  }
  for (size_t i = 0; i < k; ++i) {
    c->sample_weights.push_back(
        g.Placeholder({DType::kF32, Shape{Shape::kUnknownDim}}, Indexed("sample_weight", i, k)));
  }
  c->log_names = {"loss"};
  std::vector<std::string> output_names;
  // An output may be a model input itself (an identity model): it is named by the input's name.
  for (const KerasTensor& o : outputs_) {
    output_names.push_back(o.node() && o.node()->layer ? o.node()->layer->name() : o.name());
  }
  if (k > 1) {
    for (size_t i = 0; i < k; ++i) c->log_names.push_back(output_names[i] + "_loss");
  }
  c->log_weighting.assign(c->log_names.size(), -1);
  for (const std::string& m :
       internal::MetricLogNames(c->metric_names, c->weighted_metric_names,
                                k > 1 ? output_names : std::vector<std::string>{})) {
    c->log_names.push_back(m);
  }
  for (size_t i = 0; i < k; ++i) {
    c->log_weighting.insert(c->log_weighting.end(), c->metric_names[i].size(), -1);
  }
  for (size_t i = 0; i < k; ++i) {  // a weighted metric weighs by its output's weights
    c->log_weighting.insert(c->log_weighting.end(), c->weighted_metric_names[i].size(),
                            static_cast<int>(i));
  }
  for (const bool training : {true, false}) {
    if (!training && !differs) break;
    const std::vector<Value>& outs = training ? *train_out : *eval_out;
    std::vector<Value>& logs = training ? c->train_logs : c->eval_logs;
    std::vector<Value> losses, metrics;
    Value total;
    for (size_t i = 0; i < k; ++i) {
      absl::StatusOr<Value> loss =
          internal::BuildLoss(g, c->loss_names[i], c->loss_options[i].from_logits, c->y_trues[i],
                              outs[i], c->sample_weights[i]);
      if (!loss.ok()) {
        return WithContext(loss.status(), k > 1 ? absl::StrCat("Compile: loss of output ", i, ": ")
                                                : std::string("Compile: loss: "));
      }
      losses.push_back(*loss);
      Value term = *loss;
      if (c->loss_weights[i] != 1.0) {
        absl::StatusOr<Value> w =
            g.Add("graft.Mul",
                  {*loss, g.Constant(Tensor::Scalar<float>(static_cast<float>(c->loss_weights[i])),
                                     "loss_weight")});
        if (!w.ok()) return WithContext(w.status(), "Compile: loss_weights: ");
        term = *w;
      }
      if (!total.valid()) {
        total = term;
      } else {
        absl::StatusOr<Value> sum = g.Add("graft.Add", {total, term});
        if (!sum.ok()) return WithContext(sum.status(), "Compile: total loss: ");
        total = *sum;
      }
      for (const std::string& m : c->metric_names[i]) {
        absl::StatusOr<Value> v =
            internal::BuildMetric(g, m, c->loss_names[i], c->y_trues[i], outs[i]);
        if (!v.ok()) return WithContext(v.status(), absl::StrCat("Compile: metric ", m, ": "));
        metrics.push_back(*v);
      }
    }
    for (size_t i = 0; i < k; ++i) {  // Keras logs the weighted metrics after all the others
      for (const std::string& m : c->weighted_metric_names[i]) {
        absl::StatusOr<Value> v = internal::BuildMetric(g, m, c->loss_names[i], c->y_trues[i],
                                                        outs[i], c->sample_weights[i]);
        if (!v.ok()) {
          return WithContext(v.status(), absl::StrCat("Compile: weighted metric ", m, ": "));
        }
        metrics.push_back(*v);
      }
    }
    logs.push_back(total);
    if (k > 1) logs.insert(logs.end(), losses.begin(), losses.end());
    logs.insert(logs.end(), metrics.begin(), metrics.end());
  }
  if (!differs) c->eval_logs = c->train_logs;

  // Gradients and updates.
  // The parameters are the training branch's variable nodes (the inference branch has its
  // own nodes over the same storage, which must not be updated twice). A layer called twice
  // reads one variable node per branch (CallGraph), so its gradients add up in the reverse pass.
  std::vector<Value> params;
  for (int id = train_begin; id < train_end; ++id) {
    const Node& n = g.node(id);
    if (n.op->name == "graft.Variable" && n.attrs_as<VariableAttrs>().trainable) {
      params.push_back({id, 0});
    }
  }
  absl::StatusOr<std::vector<Value>> grads = autodiff::Gradients(g, c->train_logs[0], params);
  if (!grads.ok()) return WithContext(grads.status(), "Compile: gradients: ");
  c->lr = g.Placeholder({DType::kF32, Shape{}}, "learning_rate");
  if (Communicator* comm = DataParallelCommunicator(); comm != nullptr) {
    // Data-parallel: each gradient is summed over the ranks before its update (ops/collective.h).
    c->comm = comm;
    c->shard_scale = g.Placeholder({DType::kF32, Shape{}}, "shard_scale");
    grads = ops::AllreduceGradients(g, *grads, c->shard_scale, comm, comm->bucket_bytes());
    if (!grads.ok()) return WithContext(grads.status(), "Compile: data-parallel gradients: ");
  }
  const size_t slots_before = c->optimizer->slots().size();
  absl::StatusOr<std::vector<Operation>> updates =
      c->optimizer->AppendUpdates(g, params, *grads, c->lr, c->iteration);
  if (!updates.ok()) return WithContext(updates.status(), "Compile: optimizer: ");
  c->slots.assign(c->optimizer->slots().begin() + slots_before, c->optimizer->slots().end());
  c->updates = *updates;
  c->updates.insert(c->updates.end(), layer_updates.begin(), layer_updates.end());
  if (absl::Status s = g.Verify(); !s.ok()) return WithContext(s, "Compile: internal: ");
  c->trainable = true;
  c->shuffle.seed(internal::NextSeed());
  c->session = std::make_unique<Session>(c->graph, executor_, c->bf16);
  std::vector<Value> eval_feeds = c->xs;
  eval_feeds.insert(eval_feeds.end(), c->y_trues.begin(), c->y_trues.end());
  eval_feeds.insert(eval_feeds.end(), c->sample_weights.begin(), c->sample_weights.end());
  std::vector<Value> train_feeds = eval_feeds;
  train_feeds.push_back(c->lr);
  train_feeds.push_back(c->iteration);
  train_feeds.push_back(c->row_offset);
  if (c->comm != nullptr) train_feeds.push_back(c->shard_scale);
  c->steps[kTrain] = c->session->AddStep({train_feeds, c->train_logs, c->updates});
  if (layer_updates.empty() && c->comm == nullptr) {  // chunks are independent (chunked_train.h)
    absl::StatusOr<internal::ChunkedTrain> chunked = internal::BuildChunkedTrain(
        g, *c->session, *c->optimizer, params, *grads,
        {eval_feeds, c->lr, c->iteration, c->row_offset}, c->train_logs, internal::TrainChunk(g));
    if (!chunked.ok()) return WithContext(chunked.status(), "Compile: train step in chunks: ");
    c->chunked = *std::move(chunked);
  }
  c->steps[kEval] = c->session->AddStep({eval_feeds, c->eval_logs, {}});
  c->steps[kPredict] = c->session->AddStep({c->xs, c->outputs, {}});
  c->predict_chunk = internal::PredictChunk(*c->graph);
  compiled_ = std::move(c);
  InstallWeightHooks();
  return absl::OkStatus();
}

absl::Status Model::CompileForward() {
  if (compiled_) return absl::OkStatus();
  // Forward only: Keras predicts without compile.
  auto c = std::make_unique<Compiled>();
  absl::StatusOr<bool> bf16 = Bf16Policy("Predict");
  if (!bf16.ok()) return bf16.status();
  c->bf16 = *bf16;
  for (size_t i = 0; i < inputs_.size(); ++i) {
    c->xs.push_back(c->graph->Placeholder(inputs_[i].type(), Indexed("x", i, inputs_.size())));
  }
  absl::StatusOr<std::vector<Value>> out = CallGraph(*c->graph, c->xs, {});
  if (!out.ok()) return out.status();
  c->outputs = *out;
  c->session = std::make_unique<Session>(c->graph, executor_, c->bf16);
  c->steps[kPredict] = c->session->AddStep({c->xs, c->outputs, {}});
  c->predict_chunk = internal::PredictChunk(*c->graph);
  compiled_ = std::move(c);
  InstallWeightHooks();
  return absl::OkStatus();
}

std::vector<std::string> Model::metrics_names() const {
  if (compiled_ && compiled_->trainable) return compiled_->log_names;
  return {"loss"};
}

// ---- data ------------------------------------------------------------------------------------

absl::StatusOr<Tensor> Model::PrepareX(size_t i, const Tensor& x, const char* where) const {
  const Shape& expected = inputs_[i].shape();
  // The common case, checked without building any message: float32 of the declared shape.
  if (x.dtype() == DType::kF32 && x.shape().rank() == expected.rank() && x.shape().rank() > 0 &&
      x.shape().dim(0) > 0) {
    bool same = true;
    for (int d = 1; d < expected.rank(); ++d) same = same && x.shape().dim(d) == expected.dim(d);
    if (same) return x;
  }
  const std::vector<int64_t> expected_dims = expected.dims();
  const std::vector<int64_t> want(expected_dims.begin() + 1, expected_dims.end());
  const std::string expected_text = expected.ToString();
  const std::string what = Indexed("x", i, inputs_.size());
  if (x.empty() || x.shape().rank() == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": ", what, " is empty; expected an array of shape ", expected_text));
  }
  if (x.shape().dim(0) == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, ": ", what, " has 0 samples (shape ", x.shape().ToString(),
        "); expected at least 1 sample of shape ", expected_text, ". Fix: pass non-empty data"));
  }
  Tensor t = x.dtype() == DType::kF32 ? x : x.CastTo(DType::kF32);
  const std::vector<int64_t> t_dims = t.shape().dims();
  std::vector<int64_t> got(t_dims.begin() + 1, t_dims.end());
  if (got == want) return t;
  std::string hint =
      sequential_like_
          ? absl::StrCat("Reshape the data, or declare input_shape = (", absl::StrJoin(got, ", "),
                         ") on the first layer.")
          : absl::StrCat("Reshape the data, or declare Input({", absl::StrJoin(got, ", "), "}).");
  if (!want.empty() && want.back() == 1 && got.size() + 1 == want.size() &&
      std::equal(got.begin(), got.end(), want.begin())) {
    // Keras would add the trailing axis silently; graft says so and lets the user choose.
    std::vector<int64_t> fixed = t.shape().dims();
    fixed.push_back(1);
    hint = absl::StrCat(what, " lacks the trailing channel axis of size 1 (Keras adds it ",
                        "silently): pass ", what, ".Reshaped(", Shape(fixed).ToString(), ").");
  }
  const std::string declared = sequential_like_
                                   ? absl::StrCat("input_shape of layer ", layers_[0]->name())
                                   : absl::StrCat("Input ", inputs_[i].name());
  return absl::InvalidArgumentError(
      absl::StrCat(where, ": input ", what, " has shape ", t.shape().ToString(), " but model \"",
                   name_, "\" expects ", expected_text, " (declared by ", declared, "). ", hint));
}

absl::StatusOr<Tensor> Model::PrepareY(size_t i, const Tensor& y, const char* where) const {
  const Compiled& c = *compiled_;
  Tensor t = y.dtype() == DType::kF32 ? y : y.CastTo(DType::kF32);
  const Shape& want = c.y_types[i].shape;
  if (t.shape().rank() == want.rank()) {
    bool ok = true;
    for (int d = 1; d < want.rank(); ++d) ok = ok && t.shape().dim(d) == want.dim(d);
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
  std::string hint;
  if (c.loss_names[i] == "categorical_crossentropy" && want.rank() == 2 &&
      (y.shape().rank() == 1 || (y.shape().rank() == 2 && y.shape().dim(1) == 1))) {
    hint = absl::StrCat(
        ". These look like integer class labels: use loss "
        "sparse_categorical_crossentropy, or one-hot encode them to (N, ",
        want.dim(1), ")");
  } else if (c.loss_names[i] == "sparse_categorical_crossentropy") {
    hint =
        ". sparse_categorical_crossentropy takes one integer label per sample; for one-hot "
        "targets use categorical_crossentropy";
  }
  return absl::InvalidArgumentError(
      absl::StrCat(where, ": ", Indexed("y", i, outputs_.size()), " has shape ",
                   y.shape().ToString(), ", but loss ", c.loss_names[i], " on this model's output ",
                   c.graph->type(c.outputs[i]).shape.ToString(), " expects targets of shape ",
                   want.ToString(), hint));
}

absl::StatusOr<std::vector<Tensor>> Model::PrepareXs(const std::vector<Tensor>& x,
                                                     const char* where) const {
  std::vector<Tensor> out;
  if (absl::Status s = PrepareXsInto(x, where, &out); !s.ok()) return s;
  return out;
}

absl::Status Model::PrepareXsInto(const std::vector<Tensor>& x, const char* where,
                                  std::vector<Tensor>* prepared) const {
  if (x.size() != inputs_.size()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": got ", x.size(),
                                                   " input arrays, but model \"", name_, "\" has ",
                                                   inputs_.size(), " inputs"));
  }
  std::vector<Tensor>& out = *prepared;
  out.resize(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    absl::StatusOr<Tensor> t = PrepareX(i, x[i], where);
    if (!t.ok()) return t.status();
    if (i > 0 && t->shape().dim(0) != out[0].shape().dim(0)) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": x[0] has ", out[0].shape().dim(0),
                                                     " samples but x[", i, "] has ",
                                                     t->shape().dim(0)));
    }
    out[i] = *std::move(t);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Tensor>> Model::PrepareYs(const std::vector<Tensor>& y,
                                                     const char* where) const {
  if (y.size() != outputs_.size()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": got ", y.size(),
                                                   " target arrays, but model \"", name_, "\" has ",
                                                   outputs_.size(), " outputs"));
  }
  std::vector<Tensor> out;
  for (size_t i = 0; i < y.size(); ++i) {
    absl::StatusOr<Tensor> t = PrepareY(i, y[i], where);
    if (!t.ok()) return t.status();
    if (absl::Status s = CheckTargets(i, *t, where); !s.ok()) return s;
    out.push_back(*t);
  }
  return out;
}

// ---- plans -----------------------------------------------------------------------------------

absl::Status Model::RunStep(int kind, const std::vector<Tensor>& feeds,
                            std::vector<Tensor>* fetched) {
  Compiled& c = *compiled_;
  if (kind == kTrain && c.chunked.chunk > 0 && feeds[0].shape().dim(0) > c.chunked.chunk) {
    const size_t k = c.y_trues.size();
    return internal::RunChunked(*c.session, c.chunked, feeds, c.xs.size() + 2 * k, c.xs.size() + k,
                                k, c.log_weighting, fetched);
  }
  // Every step is shown to the thread governor, the first of a call too: where each call runs
  // one step (a serving loop, Fit on one batch) that step's cost, OpenMP team wake-up included,
  // is what the thread count has to be chosen for.
  return c.session->Run(c.steps[kind], feeds, fetched);
}

absl::StatusOr<Plan*> Model::GetPlan(int kind, int64_t batch, int threads) {
  return compiled_->session->GetPlan(compiled_->steps[kind], batch, threads);
}

// ---- Fit / Evaluate / Predict ----------------------------------------------------------------

absl::StatusOr<std::vector<double>> Model::Evaluate(const Tensor& x, const Tensor& y,
                                                    const EvaluateOptions& o) {
  return Evaluate(std::vector<Tensor>{x}, std::vector<Tensor>{y}, o);
}

absl::StatusOr<std::vector<double>> Model::Evaluate(const std::vector<Tensor>& x_in,
                                                    const std::vector<Tensor>& y_in,
                                                    const EvaluateOptions& o) {
  std::shared_lock<std::shared_mutex> lock = ReadLock();
  if (!compiled_ || !compiled_->trainable) {
    return NotCompiled("Evaluate");
  }
  if (o.batch_size <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Evaluate: batch_size must be a positive integer, got batch_size=", o.batch_size));
  }
  absl::StatusOr<std::vector<Tensor>> x = PrepareXs(x_in, "Evaluate");
  if (!x.ok()) return x.status();
  absl::StatusOr<std::vector<Tensor>> y = PrepareYs(y_in, "Evaluate");
  if (!y.ok()) return y.status();
  absl::StatusOr<std::vector<Tensor>> w =
      PrepareSampleWeights(o.sample_weight, (*x)[0].shape().dim(0), "sample_weight", "Evaluate");
  if (!w.ok()) return w.status();
  const auto start = std::chrono::steady_clock::now();
  for (const CallbackPtr& cb : o.callbacks) cb->set_model(this);
  absl::StatusOr<std::vector<double>> r = EvaluatePrepared(*x, *y, *w, o.batch_size, o.callbacks);
  if (!r.ok()) return WithContext(r.status(), "Evaluate: ");
  if (o.verbose > 0) {
    std::ostream& out = o.output ? *o.output : std::cout;
    const int64_t n = (*x)[0].shape().dim(0);
    const int64_t steps = n / o.batch_size + (n % o.batch_size != 0);
    ProgressBar bar(out, o.verbose, steps);
    Logs logs;
    const std::vector<std::string> names = metrics_names();
    for (size_t i = 0; i < names.size(); ++i) logs.Set(names[i], (*r)[i]);
    bar.Finish(logs, Seconds(start));
  }
  return r;
}

absl::StatusOr<Tensor> Model::Predict(const Tensor& x, const PredictOptions& o) {
  if (absl::Status s = Build(); !s.ok()) return s;  // outputs_ is final once built
  if (outputs_.size() > 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Predict: model \"", name_, "\" has ", outputs_.size(),
        " outputs: call Predict with a list of inputs, which returns one array per output"));
  }
  internal::PredictScratch::Use scratch;
  scratch->inputs.resize(1);
  scratch->inputs[0] = x;
  absl::Status s = PredictInto(scratch->inputs, o, &scratch->results, scratch.get());
  scratch->inputs[0] = Tensor();  // the caller's array is not kept alive
  if (!s.ok()) return s;
  return scratch->results[0];  // kept too: reused by the next call once the caller drops it
}

absl::StatusOr<std::vector<Tensor>> Model::Predict(const std::vector<Tensor>& x_in,
                                                   const PredictOptions& o) {
  std::vector<Tensor> results;
  internal::PredictScratch::Use scratch;
  if (absl::Status s = PredictInto(x_in, o, &results, scratch.get()); !s.ok()) return s;
  return results;
}

internal::PredictScratch::Use::Use() {
  thread_local PredictScratch mine;
  thread_local int depth = 0;
  // A Predict called from a callback of a Predict on this thread gets scratch of its own.
  scratch_ = depth == 0 ? &mine : new PredictScratch;
  ++depth;
  depth_ = &depth;
}

internal::PredictScratch::Use::~Use() {
  --*depth_;
  if (*depth_ > 0) delete scratch_;
}

absl::Status Model::PredictInto(const std::vector<Tensor>& x_in, const PredictOptions& o,
                                std::vector<Tensor>* out, internal::PredictScratch* scratch) {
  if (absl::Status s = Build(); !s.ok()) return s;
  if (o.batch_size <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Predict: batch_size must be a positive integer, got batch_size=", o.batch_size));
  }
  std::shared_lock<std::shared_mutex> lock = ReadLock();
  if (!compiled_ && lock.owns_lock()) {  // Predict before Compile: build the forward plan, alone
    lock.unlock();
    {
      std::unique_lock<std::shared_mutex> build(*mu_);
      if (absl::Status s = CompileForward(); !s.ok()) return s;
    }
    lock.lock();
    if (!compiled_) return absl::AbortedError("Predict: the model was recompiled meanwhile; retry");
  }
  std::vector<Tensor>* x = &scratch->x;
  // The caller's arrays (and views of them) are not kept alive past the call.
  absl::Cleanup release = [scratch] {
    for (Tensor& t : scratch->x) t = Tensor();
    for (Tensor& t : scratch->feeds) t = Tensor();
  };
  if (absl::Status s = PrepareXsInto(x_in, "Predict", x); !s.ok()) return s;
  const int64_t n = (*x)[0].shape().dim(0);
  std::vector<Tensor>& results = *out;
  results.resize(compiled_->outputs.size());
  for (size_t k = 0; k < results.size(); ++k) {
    Shape shape = compiled_->graph->type(compiled_->outputs[k]).shape;
    shape.set_dim(0, n);
    // The previous call's result, when nobody else holds it any more, is reused.
    if (results[k].SoleOwner() && results[k].shape() == shape &&
        results[k].dtype() == DType::kF32) {
      continue;
    }
    if (absl::Status s =
            CheckAllocation(CheckedBytes(DType::kF32, shape),
                            absl::StrCat("Predict: the result of shape ", shape.ToString()),
                            "Fix: predict on fewer samples at a time");
        !s.ok()) {
      return s;
    }
    results[k] = Tensor(DType::kF32, shape);
  }
  std::vector<Tensor>& fetched = scratch->fetched;
  std::vector<Tensor>& feeds = scratch->feeds;
  for (const CallbackPtr& cb : o.callbacks) cb->set_model(this);
  auto hooks = [&](const char* hook, auto&& call) -> absl::Status {
    absl::Status s = internal::EachCallback(o.callbacks, hook, call);
    return s.ok() ? s : WithContext(s, "Predict: ");
  };
  if (absl::Status s = hooks("OnPredictBegin", [](Callback& cb) { return cb.OnPredictBegin({}); });
      !s.ok()) {
    return s;
  }
  // Data-parallel: each rank predicts its share of the samples; the shares are gathered below.
  std::unique_ptr<DataParallel> dp = DataParallel::For(*this);
  const auto [lo, hi] = dp != nullptr ? dp->Share(n) : std::pair<int64_t, int64_t>{0, n};
  for (int64_t b = lo, batch = 0; b < hi; b += o.batch_size, ++batch) {
    const int64_t e = std::min(hi, b + o.batch_size);
    if (absl::Status s = hooks("OnPredictBatchBegin",
                               [batch](Callback& cb) { return cb.OnPredictBatchBegin(batch, {}); });
        !s.ok()) {
      return s;
    }
    const int64_t chunk = std::min<int64_t>(e - b, compiled_->predict_chunk);
    for (int64_t cb = b; cb < e; cb += chunk) {
      const int64_t ce = std::min(e, cb + chunk);
      feeds.resize(x->size());
      for (size_t k = 0; k < x->size(); ++k) {
        feeds[k] = cb == 0 && ce == n ? (*x)[k] : (*x)[k].RowsView(cb, ce);
      }
      if (absl::Status s = RunStep(kPredict, feeds, &fetched); !s.ok()) {
        return WithContext(s, "Predict: ");
      }
      for (size_t k = 0; k < results.size(); ++k) {
        const int64_t row = n == 0 ? 0 : results[k].num_elements() / n;
        std::copy(fetched[k].data<float>(), fetched[k].data<float>() + (ce - cb) * row,
                  results[k].data<float>() + cb * row);
      }
    }
    if (absl::Status s = hooks("OnPredictBatchEnd",
                               [batch](Callback& cb) { return cb.OnPredictBatchEnd(batch, {}); });
        !s.ok()) {
      return s;
    }
  }
  if (dp != nullptr) {  // every rank gets every rank's rows
    for (Tensor& r : results) {
      const int64_t row_bytes = n == 0 ? 0 : r.nbytes() / n;
      std::vector<int64_t> bytes(dp->size());
      for (int k = 0; k < dp->size(); ++k) {
        auto [b, e] = DataParallel::ShareOf(n, k, dp->size());
        bytes[k] = (e - b) * row_bytes;
      }
      const std::vector<char> mine(static_cast<const char*>(r.raw_data()) + lo * row_bytes,
                                   static_cast<const char*>(r.raw_data()) + hi * row_bytes);
      if (absl::Status s = dp->comm().Allgatherv(mine.data(), r.raw_data(), bytes); !s.ok()) {
        return WithContext(s, "Predict (data-parallel): ");
      }
    }
  }
  if (absl::Status s = hooks("OnPredictEnd", [](Callback& cb) { return cb.OnPredictEnd({}); });
      !s.ok()) {
    return s;
  }
  return absl::OkStatus();
}

// ---- weights, summary, tools -----------------------------------------------------------------

int64_t Model::CountParams() const {
  int64_t n = 0;
  for (const Layer& l : layers_) n += l->CountParams(true) + l->CountParams(false);
  return n;
}

std::vector<Tensor> Model::GetWeights() const {
  std::shared_lock<std::shared_mutex> lock = ReadLock();
  std::vector<Tensor> w;  // Layer::weights() brings packed weights up to date (the hook)
  for (const Layer& l : layers_) {
    for (const Weight& weight : l->weights()) w.push_back(weight.value.Clone());
  }
  return w;
}

absl::Status Model::SetWeights(const std::vector<Tensor>& weights) {
  std::unique_lock<std::shared_mutex> lock = WriteLock();
  if (absl::Status s = Build(); !s.ok()) return s;
  size_t expected = 0;
  for (const Layer& l : layers_) expected += l->weights().size();
  if (expected != weights.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("SetWeights: got ", weights.size(), " tensors, but model \"", name_, "\" has ",
                     expected, " weights (expected ", expected,
                     ", in GetWeights() order: each layer's kernel, bias, ...)"));
  }
  size_t k = 0;  // Layer::SetWeights marks packed copies stale before writing (the hook)
  for (const Layer& l : layers_) {
    const size_t count = l->weights().size();
    std::vector<Tensor> mine(weights.begin() + k, weights.begin() + k + count);
    if (absl::Status s = l->SetWeights(mine); !s.ok()) {
      return WithContext(s, absl::StrCat("SetWeights: tensors ", k, "..", k + count - 1, ": "));
    }
    k += count;
  }
  if (k != weights.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("SetWeights: got ", weights.size(), " tensors, the model has ", k));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Model::SummaryText() {
  if (absl::Status s = Build(); !s.ok()) return s;
  std::vector<SummaryRow> rows;
  SummaryTotals totals;
  for (const Layer& l : layers_) {
    totals.trainable += l->CountParams(true);
    totals.non_trainable += l->CountParams(false);
  }
  auto params = [](const Layer& l) { return l->CountParams(true) + l->CountParams(false); };
  if (sequential_like_) {
    for (const auto& n : nodes_) {
      rows.push_back({absl::StrCat(n->layer->name(), " (", n->layer->class_name(), ")"),
                      n->type.shape.ToString(), params(n->layer)});
    }
    return FormatSummary(name_, rows, totals);
  }
  // One row per input and per layer (its first call's output); "Connected to" lists the
  // tensors of every call, as Keras does for a shared layer.
  for (const KerasTensor& in : inputs_) {
    rows.push_back({absl::StrCat(in.name(), " (InputLayer)"), in.shape().ToString(), 0, {}});
  }
  std::map<const LayerImpl*, size_t> row_of;
  for (const auto& n : nodes_) {
    auto [it, first] = row_of.emplace(n->layer.get(), rows.size());
    if (first) {
      rows.push_back({absl::StrCat(n->layer->name(), " (", n->layer->class_name(), ")"),
                      n->type.shape.ToString(),
                      params(n->layer),
                      {}});
    }
    for (const KerasTensor& in : n->inputs) {
      rows[it->second].connected_to.push_back(in.node()->layer ? in.name() : in.name() + "[0][0]");
    }
  }
  return FormatFunctionalSummary(name_, rows, totals);
}

int Model::data_parallel_rank() const {
  if (compiled_ && compiled_->comm != nullptr) return compiled_->comm->rank();
  Communicator* comm = DataParallelCommunicator();
  return comm == nullptr ? 0 : comm->rank();
}

void Model::Summary(std::ostream& out) {
  if (data_parallel_rank() != 0) return;  // rank 0 prints for all
  absl::StatusOr<std::string> text = SummaryText();
  if (text.ok()) {
    out << *text;
  } else {
    out << "Model: \"" << name_ << "\" cannot be built:\n  " << text.status().message() << "\n";
  }
}

absl::StatusOr<std::string> Model::ToDot() const {
  if (!compiled_) return absl::FailedPreconditionError("ToDot: call Compile() first");
  return compiled_->graph->ToDot();
}

absl::StatusOr<std::string> Model::ProfileTrainStep(const Tensor& x_in, const Tensor& y_in,
                                                    int64_t batch_size, int iterations) {
  if (!compiled_ || !compiled_->trainable) {
    return absl::FailedPreconditionError("ProfileTrainStep: call Compile() first");
  }
  absl::StatusOr<std::vector<Tensor>> x = PrepareXs({x_in}, "ProfileTrainStep");
  if (!x.ok()) return x.status();
  absl::StatusOr<std::vector<Tensor>> y = PrepareYs({y_in}, "ProfileTrainStep");
  if (!y.ok()) return y.status();
  if ((*x)[0].shape().dim(0) < batch_size || (*y)[0].shape().dim(0) < batch_size) {
    return absl::InvalidArgumentError("ProfileTrainStep: fewer samples than batch_size");
  }
  absl::StatusOr<Plan*> plan = GetPlan(kTrain, batch_size, NumThreads());
  if (!plan.ok()) return plan.status();
  Compiled& c = *compiled_;
  return (*plan)->Profile(
      {(*x)[0].SliceRows(0, batch_size), (*y)[0].SliceRows(0, batch_size),
       internal::Ones(batch_size),
       Tensor::Scalar<float>(static_cast<float>(c.optimizer->LearningRateAt(c.iterations))),
       Tensor::Scalar<float>(static_cast<float>(c.iterations)), Tensor::Scalar<float>(0.0f)},
      iterations);
}

absl::StatusOr<std::string> Model::ProfilePredict(const Tensor& x_in, int64_t batch_size,
                                                  int iterations) {
  if (absl::Status s = CompileForward(); !s.ok()) return s;
  absl::StatusOr<std::vector<Tensor>> x = PrepareXs({x_in}, "ProfilePredict");
  if (!x.ok()) return x.status();
  if ((*x)[0].shape().dim(0) < batch_size) {
    return absl::InvalidArgumentError("ProfilePredict: fewer samples than batch_size");
  }
  const int64_t chunk = std::min<int64_t>(batch_size, compiled_->predict_chunk);
  absl::StatusOr<Plan*> plan = GetPlan(kPredict, chunk, NumThreads());
  if (!plan.ok()) return plan.status();
  return (*plan)->Profile({(*x)[0].SliceRows(0, chunk)}, iterations);
}

absl::StatusOr<std::string> Model::PlanReport(int64_t batch_size) {
  if (!compiled_ || !compiled_->trainable) {
    return absl::FailedPreconditionError("PlanReport: call Compile() first");
  }
  absl::StatusOr<Plan*> plan = GetPlan(kTrain, batch_size, NumThreads());
  if (!plan.ok()) return plan.status();
  return (*plan)->Report();
}

}  // namespace graft::keras
