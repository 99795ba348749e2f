// graft — Keras callbacks: code that Fit, Evaluate and Predict call at the start and end of
// training, of each epoch and of each batch, with the logs (keras.callbacks).
//
//   namespace cb = graft::keras::callbacks;
//   auto stop = cb::EarlyStopping({.monitor = "val_loss", .patience = 3,
//                                  .restore_best_weights = true});
//   model.Fit(x, y, {.epochs = 100, .validation_split = 0.2,
//                    .callbacks = {stop, cb::ModelCheckpoint({.filepath =
//                                         "ckpt/epoch{epoch:02d}-{val_loss:.4f}.graft"}),
//                                  cb::CSVLogger({.filename = "training.csv"})}});
//
// Hooks have Keras's names in graft's spelling (on_epoch_end -> OnEpochEnd) and receive the
// logs Keras passes: batch hooks the running means of the epoch so far, OnEpochEnd the
// epoch's values with "val_*" (a callback may add entries, as ReduceLROnPlateau adds
// "learning_rate"; History records them). Epochs and batches are 0-based as in Keras. A hook
// that returns an error stops Fit, which returns that error prefixed with the callback's name.
// From a hook, model() may call GetWeights, SetWeights, Save, SaveWeights, Evaluate and Predict
// (they run on Fit's thread without waiting for Fit), and set_stop_training(true) ends training
// after the current batch (Keras's `model.stop_training = True`).
#ifndef GRAFT_KERAS_CALLBACKS_H_
#define GRAFT_KERAS_CALLBACKS_H_

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "graph/tensor.h"
#include "keras/logs.h"

namespace graft::keras {

class Model;

class Callback {
 public:
  virtual ~Callback() = default;
  // The class name in messages ("EarlyStopping").
  virtual std::string name() const { return "Callback"; }

  // The model being trained, evaluated or predicted with (set before the first hook).
  Model* model() const { return model_; }
  void set_model(Model* m) { model_ = m; }
  // Fit's parameters, as Keras's `self.params`: "epochs", "steps" (-1 when unknown),
  // "verbose".
  const Logs& params() const { return params_; }
  void set_params(Logs p) { params_ = std::move(p); }

  virtual absl::Status OnTrainBegin(const Logs& logs) { return absl::OkStatus(); }
  virtual absl::Status OnTrainEnd(const Logs& logs) { return absl::OkStatus(); }
  virtual absl::Status OnEpochBegin(int epoch, const Logs& logs) { return absl::OkStatus(); }
  // `logs` may be extended (History and the callbacks after this one see the additions).
  virtual absl::Status OnEpochEnd(int epoch, Logs& logs) { return absl::OkStatus(); }
  virtual absl::Status OnTrainBatchBegin(int64_t batch, const Logs& logs) {
    return absl::OkStatus();
  }
  virtual absl::Status OnTrainBatchEnd(int64_t batch, const Logs& logs) {
    return absl::OkStatus();
  }
  // Evaluate, and Fit's validation at the end of each epoch.
  virtual absl::Status OnTestBegin(const Logs& logs) { return absl::OkStatus(); }
  virtual absl::Status OnTestEnd(const Logs& logs) { return absl::OkStatus(); }
  virtual absl::Status OnTestBatchBegin(int64_t batch, const Logs& logs) {
    return absl::OkStatus();
  }
  virtual absl::Status OnTestBatchEnd(int64_t batch, const Logs& logs) {
    return absl::OkStatus();
  }
  virtual absl::Status OnPredictBegin(const Logs& logs) { return absl::OkStatus(); }
  virtual absl::Status OnPredictEnd(const Logs& logs) { return absl::OkStatus(); }
  virtual absl::Status OnPredictBatchBegin(int64_t batch, const Logs& logs) {
    return absl::OkStatus();
  }
  virtual absl::Status OnPredictBatchEnd(int64_t batch, const Logs& logs) {
    return absl::OkStatus();
  }

  // Names a callback must find in Fit's logs (its `monitor`), checked when Fit starts: a name
  // that Fit will not log is an error listing the names it does log (Keras only warns, then
  // silently does nothing).
  virtual std::vector<std::string> MonitoredNames() const { return {}; }

 private:
  Model* model_ = nullptr;
  Logs params_;
};

using CallbackPtr = std::shared_ptr<Callback>;

namespace callbacks {

// "min", "max" or "auto" (from the monitored name, as each Keras callback decides).
struct EarlyStoppingOptions {
  std::string monitor = "val_loss";
  double min_delta = 0.0;
  int patience = 0;
  int verbose = 0;
  std::string mode = "auto";
  std::optional<double> baseline;
  bool restore_best_weights = false;
  int start_from_epoch = 0;
};
// keras.callbacks.EarlyStopping: stops when `monitor` has not improved by more than min_delta
// for `patience` epochs (not before epoch 1, nor before start_from_epoch); with
// restore_best_weights, sets the best epoch's weights back when it stops.
class EarlyStoppingCallback;
std::shared_ptr<EarlyStoppingCallback> EarlyStopping(EarlyStoppingOptions options = {});

struct ModelCheckpointOptions {
  // May hold Python-style fields: "{epoch:02d}" (1-based epoch) and any log "{val_loss:.4f}".
  std::string filepath;
  std::string monitor = "val_loss";
  int verbose = 0;
  bool save_best_only = false;
  bool save_weights_only = false;  // SaveWeights instead of Save (the model file)
  std::string mode = "auto";
  // Keras's save_freq: "epoch", or a positive number of batches given here.
  int64_t save_freq_batches = 0;
  std::optional<double> initial_value_threshold;
};
// keras.callbacks.ModelCheckpoint: saves the model (Model::Save, the file LoadModel reads and
// Fit resumes from) or its weights at the end of every epoch, or only when `monitor` improved.
class ModelCheckpointCallback;
std::shared_ptr<ModelCheckpointCallback> ModelCheckpoint(ModelCheckpointOptions options);

struct ReduceLROnPlateauOptions {
  std::string monitor = "val_loss";
  double factor = 0.1;
  int patience = 10;
  int verbose = 0;
  std::string mode = "auto";
  double min_delta = 1e-4;
  int cooldown = 0;
  double min_lr = 0.0;
};
// keras.callbacks.ReduceLROnPlateau: multiplies the learning rate by `factor` when `monitor`
// has not improved for `patience` epochs; adds "learning_rate" to the logs.
class ReduceLROnPlateauCallback;
std::shared_ptr<ReduceLROnPlateauCallback> ReduceLROnPlateau(ReduceLROnPlateauOptions options = {});

// keras.callbacks.LearningRateScheduler: at the start of each epoch the learning rate becomes
// schedule(epoch, current_rate); adds "learning_rate" to the logs.
std::shared_ptr<Callback> LearningRateScheduler(std::function<double(int epoch, double lr)> schedule,
                                                int verbose = 0);

struct CSVLoggerOptions {
  std::string filename;
  char separator = ',';
  bool append = false;
};
// keras.callbacks.CSVLogger: one row per epoch ("epoch" 0-based, then the logs' names sorted,
// with "val_*" columns even without validation, written "NA"), flushed every epoch. append
// keeps an existing file and writes no second header.
std::shared_ptr<Callback> CSVLogger(CSVLoggerOptions options);

// keras.callbacks.TerminateOnNaN: when a batch's loss is NaN or Inf, prints "Batch N: Invalid
// loss, terminating training" and stops training; Fit then returns its History (OK) instead of
// the ABORTED error it returns without this callback.
std::shared_ptr<Callback> TerminateOnNaN();

struct BackupAndRestoreOptions {
  std::string backup_dir;
  // Delete the backup when training ends normally (Keras's delete_checkpoint).
  bool delete_checkpoint = true;
};
// keras.callbacks.BackupAndRestore: saves the whole training state (weights, optimizer state,
// iteration count, shuffling stream, the epoch) in backup_dir at the end of every epoch,
// atomically. A Fit that finds a backup there (the same program started again after being
// killed) restores it and goes on from the next epoch, ending with the weights an
// uninterrupted run would have had (bitwise, with pinned threads).
std::shared_ptr<Callback> BackupAndRestore(BackupAndRestoreOptions options);

// keras.callbacks.LambdaCallback: a callback from functions (any may be left empty).
struct LambdaCallbackOptions {
  std::function<void(const Logs&)> on_train_begin, on_train_end;
  std::function<void(int, const Logs&)> on_epoch_begin;
  std::function<void(int, Logs&)> on_epoch_end;
  std::function<void(int64_t, const Logs&)> on_train_batch_begin, on_train_batch_end;
  std::function<void(int64_t, const Logs&)> on_test_batch_end, on_predict_batch_end;
};
std::shared_ptr<Callback> LambdaCallback(LambdaCallbackOptions options);

// ---- the classes whose state users read after Fit ----

class EarlyStoppingCallback : public Callback {
 public:
  explicit EarlyStoppingCallback(EarlyStoppingOptions o) : o_(std::move(o)) {}
  std::string name() const override { return "EarlyStopping"; }
  std::vector<std::string> MonitoredNames() const override { return {o_.monitor}; }
  absl::Status OnTrainBegin(const Logs& logs) override;
  absl::Status OnEpochEnd(int epoch, Logs& logs) override;
  absl::Status OnTrainEnd(const Logs& logs) override;
  // 0 when training was not stopped early; else the 0-based epoch it stopped at.
  int stopped_epoch() const { return stopped_epoch_; }
  int best_epoch() const { return best_epoch_; }
  std::optional<double> best() const { return best_; }

 private:
  bool Improved(double current, double reference) const;
  EarlyStoppingOptions o_;
  bool maximize_ = false;
  int wait_ = 0, stopped_epoch_ = 0, best_epoch_ = 0;
  std::optional<double> best_;
  std::vector<Tensor> best_weights_;
};

class ModelCheckpointCallback : public Callback {
 public:
  explicit ModelCheckpointCallback(ModelCheckpointOptions o) : o_(std::move(o)) {}
  std::string name() const override { return "ModelCheckpoint"; }
  std::vector<std::string> MonitoredNames() const override;
  absl::Status OnTrainBegin(const Logs& logs) override;
  absl::Status OnEpochBegin(int epoch, const Logs& logs) override;
  absl::Status OnEpochEnd(int epoch, Logs& logs) override;
  absl::Status OnTrainBatchEnd(int64_t batch, const Logs& logs) override;
  // The best monitored value so far (save_best_only), and the files written, in order.
  std::optional<double> best() const { return best_; }
  const std::vector<std::string>& saved() const { return saved_; }

 private:
  absl::Status Save(int epoch, const Logs& logs, int64_t batch);
  ModelCheckpointOptions o_;
  bool maximize_ = false;
  int epoch_ = 0;
  int64_t batches_since_save_ = 0;
  std::optional<double> best_;
  std::vector<std::string> saved_;
};

class ReduceLROnPlateauCallback : public Callback {
 public:
  explicit ReduceLROnPlateauCallback(ReduceLROnPlateauOptions o) : o_(std::move(o)) {}
  std::string name() const override { return "ReduceLROnPlateau"; }
  std::vector<std::string> MonitoredNames() const override { return {o_.monitor}; }
  absl::Status OnTrainBegin(const Logs& logs) override;
  absl::Status OnEpochEnd(int epoch, Logs& logs) override;

 private:
  ReduceLROnPlateauOptions o_;
  bool maximize_ = false;
  double best_ = 0;
  int wait_ = 0, cooldown_counter_ = 0;
};

}  // namespace callbacks

// Formats a ModelCheckpoint file path: "{name}" and "{name:spec}" with a Python format spec of
// the form [0][width][.precision][d|f|e|g] ("{epoch:02d}", "{val_loss:.4f}"), from `values`.
// An unknown name or spec is an error naming it.
absl::StatusOr<std::string> FormatFilepath(const std::string& pattern, const Logs& values);

// Python's repr() of a float ("0.1", "1e-05", "123.0"): how CSVLogger writes values, as Keras.
std::string PythonFloat(double v);

}  // namespace graft::keras

#endif  // GRAFT_KERAS_CALLBACKS_H_
