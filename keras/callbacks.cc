// Keras's callbacks (keras/callbacks.h), each following Keras 3's keras/src/callbacks/*.py.
#include "keras/callbacks.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "keras/model.h"
#include "keras/training_state.h"
#include "optim/optimizer.h"

namespace graft::keras {
namespace {
using namespace callbacks;  // NOLINT: the options structs

// "auto" mode of EarlyStopping (Keras 3 _set_monitor_op): the loss and error metrics fall,
// accuracies rise; from the name without "val_" and an output prefix.
absl::StatusOr<bool> Maximize(const std::string& mode, const std::string& monitor,
                              const char* who) {
  if (mode == "max") return true;
  if (mode == "min") return false;
  if (mode != "auto") {
    return absl::InvalidArgumentError(absl::StrCat(
        who, ": mode must be \"auto\", \"min\" or \"max\", got \"", mode, "\""));
  }
  std::string name = monitor.rfind("val_", 0) == 0 ? monitor.substr(4) : monitor;
  auto ends_with = [&name](const std::string& suffix) {
    return name.size() >= suffix.size() &&
           name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (ends_with("accuracy") || ends_with("acc") || ends_with("auc")) return true;
  if (ends_with("loss") || ends_with("mae") || ends_with("mse") || ends_with("error")) {
    return false;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      who, " received monitor=\"", monitor, "\" but graft cannot tell whether that metric "
      "should be maximized or minimized. Fix: pass mode=\"max\" to use the highest value, or "
      "mode=\"min\" to use the lowest"));
}

// "acc" in the name maximizes (ModelCheckpoint's and ReduceLROnPlateau's "auto").
bool MaximizeByAcc(const std::string& mode, const std::string& monitor) {
  if (mode == "max") return true;
  if (mode == "min") return false;
  return monitor.find("acc") != std::string::npos;
}

absl::Status CheckMode(const std::string& mode, const char* who) {
  if (mode == "auto" || mode == "min" || mode == "max") return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(who, ": mode must be \"auto\", \"min\" or \"max\", got \"", mode, "\""));
}

absl::StatusOr<optim::Optimizer*> OptimizerOf(Model* m, const char* who) {
  optim::Optimizer* o = m == nullptr ? nullptr : m->optimizer();
  if (o == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat(who, ": the model has no optimizer (compile it before Fit)"));
  }
  return o;
}

// ---- LearningRateScheduler, CSVLogger, TerminateOnNaN, BackupAndRestore, LambdaCallback ----

class LearningRateSchedulerCallback : public Callback {
 public:
  LearningRateSchedulerCallback(std::function<double(int, double)> schedule, int verbose)
      : schedule_(std::move(schedule)), verbose_(verbose) {}
  std::string name() const override { return "LearningRateScheduler"; }
  absl::Status OnEpochBegin(int epoch, const Logs&) override {
    absl::StatusOr<optim::Optimizer*> o = OptimizerOf(model(), "LearningRateScheduler");
    if (!o.ok()) return o.status();
    const double lr = schedule_(epoch, (*o)->LearningRateAt(model()->iterations()));
    if (!std::isfinite(lr) || lr < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the schedule returned ", lr, " for epoch ", epoch,
          "; a learning rate must be a finite number >= 0. Fix: the schedule function"));
    }
    // FAILED_PRECONDITION when a schedule drives the optimizer (Keras raises there too).
    if (absl::Status s = (*o)->SetLearningRate(lr); !s.ok()) return s;
    if (verbose_ > 0) {
      std::cout << "\nEpoch " << epoch + 1 << ": LearningRateScheduler setting learning rate to "
                << PythonFloat(lr) << ".\n";
    }
    return absl::OkStatus();
  }
  absl::Status OnEpochEnd(int, Logs& logs) override {
    absl::StatusOr<optim::Optimizer*> o = OptimizerOf(model(), "LearningRateScheduler");
    if (!o.ok()) return o.status();
    logs.Set("learning_rate",
             static_cast<float>((*o)->LearningRateAt(model()->iterations())));
    return absl::OkStatus();
  }

 private:
  std::function<double(int, double)> schedule_;
  int verbose_;
};

class CSVLoggerCallback : public Callback {
 public:
  explicit CSVLoggerCallback(CSVLoggerOptions o) : o_(std::move(o)) {}
  std::string name() const override { return "CSVLogger"; }
  absl::Status OnTrainBegin(const Logs&) override {
    if (model()->data_parallel_rank() != 0) return absl::OkStatus();  // rank 0 writes
    write_header_ = true;
    if (o_.append) {
      std::ifstream in(o_.filename);
      std::string first;
      if (in && std::getline(in, first) && !first.empty()) write_header_ = false;
    }
    file_.open(o_.filename, o_.append ? std::ios::app : std::ios::trunc);
    if (!file_) {
      return absl::PermissionDeniedError(absl::StrCat(
          "cannot open \"", o_.filename, "\" for writing: ", std::strerror(errno),
          ". Fix: a writable path (does the folder exist?)"));
    }
    keys_.clear();
    return absl::OkStatus();
  }
  absl::Status OnEpochEnd(int epoch, Logs& logs) override {
    if (!file_.is_open()) return absl::OkStatus();  // not rank 0
    if (keys_.empty()) {
      keys_ = logs.Names();
      std::sort(keys_.begin(), keys_.end());
      bool has_val = false;
      for (const std::string& k : keys_) has_val = has_val || k.rfind("val_", 0) == 0;
      if (!has_val) {
        const size_t n = keys_.size();
        for (size_t i = 0; i < n; ++i) keys_.push_back("val_" + keys_[i]);
      }
      if (write_header_) file_ << "epoch" << o_.separator << Joined(keys_) << "\r\n";
    }
    std::vector<std::string> row;
    for (const std::string& k : keys_) {
      const double* v = logs.Get(k);
      row.push_back(v == nullptr ? "NA" : PythonFloat(*v));
    }
    file_ << epoch << o_.separator << Joined(row) << "\r\n";
    file_.flush();
    if (!file_) {
      return absl::DataLossError(absl::StrCat("writing \"", o_.filename, "\" failed: ",
                                              std::strerror(errno)));
    }
    return absl::OkStatus();
  }
  absl::Status OnTrainEnd(const Logs&) override {
    file_.close();
    return absl::OkStatus();
  }

 private:
  std::string Joined(const std::vector<std::string>& v) const {
    return absl::StrJoin(v, std::string(1, o_.separator));
  }
  CSVLoggerOptions o_;
  std::ofstream file_;
  std::vector<std::string> keys_;
  bool write_header_ = true;
};

class TerminateOnNaNCallback : public Callback {
 public:
  std::string name() const override { return "TerminateOnNaN"; }
  absl::Status OnTrainBatchEnd(int64_t batch, const Logs& logs) override {
    const double* loss = logs.Get("loss");
    if (loss != nullptr && !std::isfinite(*loss)) {
      std::cout << "Batch " << batch << ": Invalid loss, terminating training\n";
      model()->set_stop_training(true);
    }
    return absl::OkStatus();
  }
};

class BackupAndRestoreCallback : public Callback {
 public:
  explicit BackupAndRestoreCallback(BackupAndRestoreOptions o) : o_(std::move(o)) {}
  std::string name() const override { return "BackupAndRestore"; }
  std::string path() const { return (std::filesystem::path(o_.backup_dir) / "latest.graft").string(); }

  absl::Status OnTrainBegin(const Logs&) override {
    // Data-parallel: rank 0 restores, and Fit gives its state to the other ranks.
    if (model()->data_parallel_rank() != 0) return absl::OkStatus();
    std::error_code ec;
    std::filesystem::create_directories(o_.backup_dir, ec);
    if (ec) {
      return absl::PermissionDeniedError(absl::StrCat(
          "cannot create backup_dir \"", o_.backup_dir, "\": ", ec.message(),
          ". Fix: a writable folder"));
    }
    if (!std::filesystem::exists(path())) return absl::OkStatus();
    absl::StatusOr<int> epoch = internal::RestoreBackup(*model(), path());
    if (!epoch.ok()) {
      return absl::Status(epoch.status().code(),
                          absl::StrCat("restoring the backup failed: ", epoch.status().message(),
                                       ". Fix: delete ", path(), " to start afresh, or point "
                                       "backup_dir at this run's own folder"));
    }
    return absl::OkStatus();
  }
  absl::Status OnEpochEnd(int epoch, Logs&) override {
    return internal::SaveBackup(*model(), path(), epoch);
  }
  absl::Status OnTrainEnd(const Logs&) override {
    if (o_.delete_checkpoint && model()->data_parallel_rank() == 0) {
      std::error_code ec;
      std::filesystem::remove(path(), ec);
    }
    return absl::OkStatus();
  }

 private:
  BackupAndRestoreOptions o_;
};

class Lambda : public Callback {
 public:
  explicit Lambda(LambdaCallbackOptions o) : o_(std::move(o)) {}
  std::string name() const override { return "LambdaCallback"; }
  absl::Status OnTrainBegin(const Logs& l) override { return Call(o_.on_train_begin, l); }
  absl::Status OnTrainEnd(const Logs& l) override { return Call(o_.on_train_end, l); }
  absl::Status OnEpochBegin(int e, const Logs& l) override { return Call(o_.on_epoch_begin, e, l); }
  absl::Status OnEpochEnd(int e, Logs& l) override { return Call(o_.on_epoch_end, e, l); }
  absl::Status OnTrainBatchBegin(int64_t b, const Logs& l) override {
    return Call(o_.on_train_batch_begin, b, l);
  }
  absl::Status OnTrainBatchEnd(int64_t b, const Logs& l) override {
    return Call(o_.on_train_batch_end, b, l);
  }
  absl::Status OnTestBatchEnd(int64_t b, const Logs& l) override {
    return Call(o_.on_test_batch_end, b, l);
  }
  absl::Status OnPredictBatchEnd(int64_t b, const Logs& l) override {
    return Call(o_.on_predict_batch_end, b, l);
  }

 private:
  template <typename F, typename... A>
  static absl::Status Call(const F& f, A&&... a) {
    if (f) f(std::forward<A>(a)...);
    return absl::OkStatus();
  }
  LambdaCallbackOptions o_;
};

}  // namespace

// ---- formatting ------------------------------------------------------------------------------

std::string PythonFloat(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (v == 0) return std::signbit(v) ? "-0.0" : "0.0";
  // The shortest digits that round-trip, then Python's repr layout: positional for exponents
  // in [-4, 16), else d.ddde+XX.
  char buf[64];
  const std::to_chars_result r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  std::string sci(buf, r.ptr);
  const size_t e_at = sci.find('e');
  const int exp = std::stoi(sci.substr(e_at + 1));
  std::string mantissa = sci.substr(0, e_at);
  const bool negative = mantissa[0] == '-';
  if (negative) mantissa.erase(0, 1);
  std::string digits;
  for (char c : mantissa) {
    if (c != '.') digits.push_back(c);
  }
  std::string out;
  if (exp >= -4 && exp < 16) {
    if (exp < 0) {
      out = "0." + std::string(static_cast<size_t>(-exp - 1), '0') + digits;
    } else if (static_cast<int>(digits.size()) <= exp + 1) {
      out = digits + std::string(static_cast<size_t>(exp + 1 - static_cast<int>(digits.size())), '0') + ".0";
    } else {
      out = digits.substr(0, static_cast<size_t>(exp + 1)) + "." + digits.substr(static_cast<size_t>(exp + 1));
    }
  } else {
    out = digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    out += absl::StrFormat("e%c%02d", exp < 0 ? '-' : '+', std::abs(exp));
  }
  return negative ? "-" + out : out;
}

absl::StatusOr<std::string> FormatFilepath(const std::string& pattern, const Logs& values) {
  std::string out;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '{' && i + 1 < pattern.size() && pattern[i + 1] == '{') {
      out.push_back('{');
      ++i;
      continue;
    }
    if (c == '}' && i + 1 < pattern.size() && pattern[i + 1] == '}') {
      out.push_back('}');
      ++i;
      continue;
    }
    if (c != '{') {
      out.push_back(c);
      continue;
    }
    const size_t close = pattern.find('}', i);
    if (close == std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("filepath \"", pattern,
                                                     "\": a '{' without its '}'"));
    }
    const std::string field = pattern.substr(i + 1, close - i - 1);
    const size_t colon = field.find(':');
    const std::string name = field.substr(0, colon);
    const std::string spec = colon == std::string::npos ? "" : field.substr(colon + 1);
    const double* v = values.Get(name);
    if (v == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "filepath \"", pattern, "\" uses {", name, "}, which is not in the logs (",
          absl::StrJoin(values.Names(), ", "), "). Fix: use one of those names"));
    }
    // [0][width][.precision][type], type d, f, e or g (Python's format mini-language subset).
    size_t k = 0;
    std::string flags, width, precision;
    char type = spec.empty() ? 'r' : spec.back();
    std::string body = spec.empty() ? "" : spec.substr(0, spec.size() - 1);
    if (!spec.empty() && std::isdigit(static_cast<unsigned char>(type))) {
      type = 'r';
      body = spec;
    }
    if (k < body.size() && body[k] == '0') flags = "0", ++k;
    while (k < body.size() && std::isdigit(static_cast<unsigned char>(body[k]))) width += body[k++];
    if (k < body.size() && body[k] == '.') {
      ++k;
      while (k < body.size() && std::isdigit(static_cast<unsigned char>(body[k]))) {
        precision += body[k++];
      }
      if (precision.empty()) k = body.size() + 1;  // "." without digits: invalid
    }
    if (k != body.size() || (type != 'd' && type != 'f' && type != 'e' && type != 'g' && type != 'r')) {
      return absl::InvalidArgumentError(absl::StrCat(
          "filepath \"", pattern, "\": format spec \"", spec, "\" of {", name, "} is not "
          "supported; graft takes [0][width][.precision] and d, f, e or g (\"02d\", \".4f\")"));
    }
    if (type == 'r') {
      out += (name == "epoch" || name == "batch") ? absl::StrCat(static_cast<int64_t>(*v))
                                                  : PythonFloat(*v);
      i = close;
      continue;
    }
    const std::string fmt = absl::StrCat("%", flags, width,
                                         precision.empty() ? "" : "." + precision,
                                         type == 'd' ? "lld" : std::string(1, type));
    char buf[128];
    if (type == 'd') {
      std::snprintf(buf, sizeof buf, fmt.c_str(), static_cast<long long>(std::llround(*v)));
    } else {
      std::snprintf(buf, sizeof buf, fmt.c_str(), *v);
    }
    out += buf;
    i = close;
  }
  return out;
}

namespace callbacks {

// ---- EarlyStopping ---------------------------------------------------------------------------

std::shared_ptr<EarlyStoppingCallback> EarlyStopping(EarlyStoppingOptions options) {
  return std::make_shared<EarlyStoppingCallback>(std::move(options));
}

absl::Status EarlyStoppingCallback::OnTrainBegin(const Logs&) {
  absl::StatusOr<bool> max = Maximize(o_.mode, o_.monitor, "EarlyStopping");
  if (!max.ok()) return max.status();
  if (o_.patience < 0) {
    return absl::InvalidArgumentError(absl::StrCat("patience must be >= 0, got ", o_.patience));
  }
  maximize_ = *max;
  wait_ = 0;
  stopped_epoch_ = 0;
  best_epoch_ = 0;
  best_.reset();
  best_weights_.clear();
  return absl::OkStatus();
}

bool EarlyStoppingCallback::Improved(double current, double reference) const {
  // Keras: monitor_op(current - min_delta, reference), min_delta negated when minimizing.
  const double delta = std::abs(o_.min_delta);
  return maximize_ ? current - delta > reference : current + delta < reference;
}

absl::Status EarlyStoppingCallback::OnEpochEnd(int epoch, Logs& logs) {
  const double* current = logs.Get(o_.monitor);
  if (current == nullptr || epoch < o_.start_from_epoch) return absl::OkStatus();
  if (o_.restore_best_weights && best_weights_.empty()) {
    best_weights_ = model()->GetWeights();  // the first epoch's, in case nothing improves
    best_epoch_ = epoch;
  }
  ++wait_;
  if (!best_ || Improved(*current, *best_)) {
    best_ = *current;
    best_epoch_ = epoch;
    if (o_.restore_best_weights) best_weights_ = model()->GetWeights();
    if (!o_.baseline || Improved(*current, *o_.baseline)) wait_ = 0;
    return absl::OkStatus();
  }
  if (wait_ >= o_.patience && epoch > 0) {
    stopped_epoch_ = epoch;
    model()->set_stop_training(true);
    if (o_.restore_best_weights && !best_weights_.empty()) {
      if (o_.verbose > 0) {
        std::cout << "Restoring model weights from the end of the best epoch: "
                  << best_epoch_ + 1 << ".\n";
      }
      return model()->SetWeights(best_weights_);
    }
  }
  return absl::OkStatus();
}

absl::Status EarlyStoppingCallback::OnTrainEnd(const Logs&) {
  if (stopped_epoch_ > 0 && o_.verbose > 0) {
    std::cout << "Epoch " << stopped_epoch_ + 1 << ": early stopping\n";
  }
  return absl::OkStatus();
}

// ---- ModelCheckpoint -------------------------------------------------------------------------

std::shared_ptr<ModelCheckpointCallback> ModelCheckpoint(ModelCheckpointOptions options) {
  return std::make_shared<ModelCheckpointCallback>(std::move(options));
}

std::vector<std::string> ModelCheckpointCallback::MonitoredNames() const {
  if (o_.save_best_only) return {o_.monitor};
  return {};
}

absl::Status ModelCheckpointCallback::OnTrainBegin(const Logs&) {
  if (o_.filepath.empty()) {
    return absl::InvalidArgumentError("filepath is empty. Fix: a path such as "
                                      "\"ckpt/epoch{epoch:02d}.graft\"");
  }
  if (o_.save_freq_batches < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("save_freq_batches must be >= 0 (0: every epoch), got ", o_.save_freq_batches));
  }
  if (absl::Status s = CheckMode(o_.mode, "ModelCheckpoint"); !s.ok()) return s;
  // The path must format with the logs Fit will have (checked now, not after an epoch).
  Logs sample = {{"epoch", 1}, {"batch", 0}};
  for (const std::string& n : model()->metrics_names()) {
    sample.Set(n, 0.5);
    sample.Set("val_" + n, 0.5);
  }
  if (absl::StatusOr<std::string> p = FormatFilepath(o_.filepath, sample); !p.ok()) {
    return p.status();
  }
  maximize_ = MaximizeByAcc(o_.mode, o_.monitor);
  if (o_.initial_value_threshold) best_ = *o_.initial_value_threshold;
  batches_since_save_ = 0;
  return absl::OkStatus();
}

absl::Status ModelCheckpointCallback::OnEpochBegin(int epoch, const Logs&) {
  epoch_ = epoch;
  return absl::OkStatus();
}

absl::Status ModelCheckpointCallback::OnTrainBatchEnd(int64_t batch, const Logs& logs) {
  if (o_.save_freq_batches <= 0) return absl::OkStatus();
  if (++batches_since_save_ < o_.save_freq_batches) return absl::OkStatus();
  batches_since_save_ = 0;
  return Save(epoch_, logs, batch);
}

absl::Status ModelCheckpointCallback::OnEpochEnd(int epoch, Logs& logs) {
  if (o_.save_freq_batches > 0) return absl::OkStatus();
  return Save(epoch, logs, -1);
}

absl::Status ModelCheckpointCallback::Save(int epoch, const Logs& logs, int64_t batch) {
  Logs fields = logs;
  fields.Set("epoch", epoch + 1);  // Keras formats the 1-based epoch
  if (batch >= 0) fields.Set("batch", static_cast<double>(batch + 1));
  absl::StatusOr<std::string> path = FormatFilepath(o_.filepath, fields);
  if (!path.ok()) return path.status();
  if (o_.save_best_only) {
    const double* current = logs.Get(o_.monitor);
    if (current == nullptr) return absl::OkStatus();  // e.g. a batch save before validation
    const bool better = !best_ || (maximize_ ? *current > *best_ : *current < *best_);
    if (!better) {
      if (o_.verbose > 0) {
        std::cout << "\nEpoch " << epoch + 1 << ": " << o_.monitor << " did not improve from "
                  << absl::StrFormat("%.5f", best_ ? *best_ : 0.0) << "\n";
      }
      return absl::OkStatus();
    }
    if (o_.verbose > 0) {
      std::cout << "\nEpoch " << epoch + 1 << ": " << o_.monitor << " improved from "
                << (best_ ? absl::StrFormat("%.5f", *best_) : std::string("inf")) << " to "
                << absl::StrFormat("%.5f", *current) << ", saving model to " << *path << "\n";
    }
    best_ = *current;
  } else if (o_.verbose > 0) {
    std::cout << "\nEpoch " << epoch + 1 << ": saving model to " << *path << "\n";
  }
  const std::filesystem::path parent = std::filesystem::path(*path).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
  }
  absl::Status s = o_.save_weights_only ? model()->SaveWeights(*path) : model()->Save(*path);
  if (!s.ok()) return s;
  saved_.push_back(*path);
  return absl::OkStatus();
}

// ---- ReduceLROnPlateau -----------------------------------------------------------------------

std::shared_ptr<ReduceLROnPlateauCallback> ReduceLROnPlateau(ReduceLROnPlateauOptions options) {
  return std::make_shared<ReduceLROnPlateauCallback>(std::move(options));
}

absl::Status ReduceLROnPlateauCallback::OnTrainBegin(const Logs&) {
  if (o_.factor >= 1.0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ReduceLROnPlateau does not support a factor >= 1.0, got factor=", o_.factor,
        ". Fix: a factor in (0, 1), such as 0.1 or 0.5"));
  }
  if (absl::Status s = CheckMode(o_.mode, "ReduceLROnPlateau"); !s.ok()) return s;
  if (absl::StatusOr<optim::Optimizer*> o = OptimizerOf(model(), "ReduceLROnPlateau"); !o.ok()) {
    return o.status();
  }
  maximize_ = MaximizeByAcc(o_.mode, o_.monitor);
  best_ = maximize_ ? -HUGE_VAL : HUGE_VAL;
  wait_ = 0;
  cooldown_counter_ = 0;
  return absl::OkStatus();
}

absl::Status ReduceLROnPlateauCallback::OnEpochEnd(int epoch, Logs& logs) {
  optim::Optimizer* opt = model()->optimizer();
  logs.Set("learning_rate", static_cast<float>(opt->LearningRateAt(model()->iterations())));
  const double* current = logs.Get(o_.monitor);
  if (current == nullptr) return absl::OkStatus();
  if (cooldown_counter_ > 0) {
    --cooldown_counter_;
    wait_ = 0;
  }
  const bool better = maximize_ ? *current > best_ + o_.min_delta : *current < best_ - o_.min_delta;
  if (better) {
    best_ = *current;
    wait_ = 0;
  } else if (cooldown_counter_ <= 0) {
    if (++wait_ >= o_.patience) {
      const double old_lr = opt->LearningRateAt(model()->iterations());
      if (old_lr > static_cast<float>(o_.min_lr)) {
        const double new_lr = std::max(old_lr * o_.factor, o_.min_lr);
        // FAILED_PRECONDITION when a schedule drives the optimizer (Keras raises there too).
        if (absl::Status s = opt->SetLearningRate(new_lr); !s.ok()) return s;
        if (o_.verbose > 0) {
          std::cout << "\nEpoch " << epoch + 1 << ": ReduceLROnPlateau reducing learning rate to "
                    << PythonFloat(new_lr) << ".\n";
        }
        cooldown_counter_ = o_.cooldown;
        wait_ = 0;
      }
    }
  }
  return absl::OkStatus();
}

// ---- the rest --------------------------------------------------------------------------------

std::shared_ptr<Callback> LearningRateScheduler(std::function<double(int, double)> schedule,
                                                int verbose) {
  return std::make_shared<LearningRateSchedulerCallback>(std::move(schedule), verbose);
}

std::shared_ptr<Callback> CSVLogger(CSVLoggerOptions options) {
  return std::make_shared<CSVLoggerCallback>(std::move(options));
}

std::shared_ptr<Callback> TerminateOnNaN() { return std::make_shared<TerminateOnNaNCallback>(); }

std::shared_ptr<Callback> BackupAndRestore(BackupAndRestoreOptions options) {
  return std::make_shared<BackupAndRestoreCallback>(std::move(options));
}

std::shared_ptr<Callback> LambdaCallback(LambdaCallbackOptions options) {
  return std::make_shared<Lambda>(std::move(options));
}

}  // namespace callbacks
}  // namespace graft::keras
