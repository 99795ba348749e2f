// graft — the compiled state of a Model (internal: shared by model.cc and saving.cc; not part
// of the public API).
#ifndef GRAFT_KERAS_MODEL_INTERNAL_H_
#define GRAFT_KERAS_MODEL_INTERNAL_H_

#include <map>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "keras/chunked_train.h"
#include "keras/functional_internal.h"
#include "keras/model.h"
#include "runtime/collective.h"
#include "runtime/plan.h"
#include "runtime/session.h"

namespace graft::keras {

// The model whose Fit runs on this thread (fit.cc), or null.
extern thread_local const Model* model_in_fit;

namespace internal {
// The steps of a compiled model's session.
enum StepKind { kTrainStep = 0, kEvalStep = 1, kPredictStep = 2 };

inline absl::Status WithContext(const absl::Status& s, absl::string_view context) {
  return absl::Status(s.code(), absl::StrCat(context, s.message()));
}

// Calls `call` on every callback in order (Fit, Evaluate and Predict hooks); the first error
// stops, prefixed "<callback>.<hook>: ".
template <typename F>
absl::Status EachCallback(const std::vector<CallbackPtr>& callbacks, const char* hook, F&& call) {
  for (const CallbackPtr& cb : callbacks) {
    if (absl::Status s = call(*cb); !s.ok()) {
      return absl::Status(s.code(), absl::StrCat(cb->name(), ".", hook, ": ", s.message()));
    }
  }
  return absl::OkStatus();
}

// "x" for a model of one input, "x[1]" otherwise.
inline std::string Indexed(const char* what, size_t i, size_t n) {
  return n == 1 ? std::string(what) : absl::StrCat(what, "[", i, "]");
}
// Predict's per-thread working vectors, reused from call to call so that a steady-state
// Predict allocates nothing of graft's own (tests/keras/predict_alloc_test.cc). A Predict
// called from a callback of another Predict on the same thread gets fresh ones.
struct PredictScratch {
  std::vector<Tensor> inputs, x, feeds, fetched, results;
  class Use {
   public:
    Use();
    ~Use();
    Use(const Use&) = delete;
    Use& operator=(const Use&) = delete;
    PredictScratch* operator->() { return scratch_; }
    PredictScratch* get() { return scratch_; }

   private:
    PredictScratch* scratch_;
    int* depth_;
  };
};

// How many samples Predict runs through the plan at once, whatever the batch size asked for:
// enough that the largest activation of the chunk fills ~4 MiB (at least 8, at most 1024).
// Inference has no dependency between samples, and per-sample cost grows once a batch's
// activations leave the cache: M2 (115 KB per sample after its convolution) predicted 26k
// samples/s at batch 256 and 55k in chunks of 32, 1 thread (ONNX Runtime: 48k). The answer is
// the same per sample whatever the chunk. $GRAFT_PREDICT_CHUNK overrides it (measurements).
int64_t PredictChunk(const Graph& g);

}  // namespace internal

struct Model::Compiled {
  // Plans keep convolution weights and their optimizer state packed in oneDNN's layout from
  // step to step and from call to call. The layers' own tensors are brought up to date when
  // something reads or writes them (Layer::weights() / SetWeights: InstallWeightHooks) and when
  // the graph goes (recompiled, a layer added, the model destroyed): here.
  ~Compiled() { graph->SyncVariables().IgnoreError(); }  // a reorder; cannot fail

  std::shared_ptr<Graph> graph = std::make_shared<Graph>();
  std::vector<Value> xs;       // one placeholder per model input
  std::vector<Value> outputs;  // inference-mode outputs (Predict, Evaluate)
  bool trainable = false;      // false: forward only (Predict before Compile)
  // Mixed precision (keras/mixed_precision.h): whether the global policy when compiled,
  // checked against this CPU (Bf16Policy in model.cc), makes the plans compute in bf16.
  bool bf16 = false;
  std::vector<Value> y_trues;  // one target placeholder per output
  std::vector<TensorType> y_types;
  // One sample-weight placeholder (N,) per output, fed after the targets: the losses and the
  // weighted metrics read them. Without weights, Fit and Evaluate feed a tensor of ones (one
  // per call), so one train plan serves both and the optimizer's update nodes exist once.
  std::vector<Value> sample_weights;
  Value lr, iteration;
  // The index of the batch's first row, fed after the iteration count: 0 for a whole batch, the
  // chunk's first row when a train step runs in chunks (Dropout's masks follow the rows).
  Value row_offset;
  // The train step's form in chunks, for batches larger than its chunk (chunk 0: none).
  internal::ChunkedTrain chunked;
  // Data-parallel training (keras/data_parallel.h): the communicator the train step sums its
  // gradients over (null: the model trains alone), and the scalar placeholder fed after the
  // iteration count with this rank's share of the global batch (the gradients' scale).
  Communicator* comm = nullptr;
  Value shard_scale;
  // The logs (the total loss, each output's loss when there are several, the metrics) on the
  // training-mode forward (Fit) and the inference-mode one (Evaluate, validation); the same
  // values when no layer behaves differently in training. log_names is metrics_names().
  std::vector<Value> train_logs, eval_logs;
  std::vector<std::string> log_names;
  // Per log: how its batch values average over an epoch (internal::LogMeans): -1 weighted by
  // the batch size (the losses, `metrics`), else by the sum of that output's sample weights
  // (`weighted_metrics`).
  std::vector<int> log_weighting;
  // The compile configuration, per output (for Save).
  std::vector<std::string> loss_names;
  std::vector<LossOptions> loss_options;
  std::vector<double> loss_weights;
  std::vector<std::vector<std::string>> metric_names;
  std::vector<std::vector<std::string>> weighted_metric_names;
  // CompileOptions::advise: whether Fit runs the advisor's data rules (keras/lint.h).
  bool advise = true;
  std::vector<Operation> updates;  // optimizer updates and layers' (BatchNormalization) updates
  std::shared_ptr<optim::Optimizer> optimizer;
  std::vector<Value> slots;  // the optimizer's slot variables in this graph, in creation order
  int64_t iterations = 0;
  // The plans of the train, eval and predict steps (per batch size and thread count, on one
  // shared arena, with a thread governor per step): a public runtime object (runtime/session.h).
  std::unique_ptr<Session> session;
  StepId steps[3];
  // Predict runs a batch in chunks of at most this many samples (internal::PredictChunk).
  int64_t predict_chunk = 1;
  // Fit's batch buffers (one per input and per output) by batch size, kept across Fit calls: a
  // fresh buffer per call would pay its page faults every call (about 1.4 ms per call for a
  // batch of 32 images of 32x32x3).
  std::map<int64_t, std::vector<Tensor>> batch_buffers;
  // Fit's shuffling stream, seeded at Compile from graft's random stream and saved with the
  // model (Save / LoadModel), so that a resumed run shuffles as an uninterrupted one.
  std::mt19937_64 shuffle;
};

}  // namespace graft::keras

#endif  // GRAFT_KERAS_MODEL_INTERNAL_H_
