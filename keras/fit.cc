// Model::Fit and the loops over data: epochs of batches from arrays or a Dataset, validation,
// callbacks, and Evaluate / Predict on a Dataset.
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <functional>
#include <limits>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "keras/data_parallel.h"
#include "keras/model.h"
#include "keras/model_internal.h"
#include "keras/progress.h"
#include "keras/random.h"
#include "keras/sample_weights.h"
#include "keras/validation.h"

namespace graft::keras {

thread_local const Model* model_in_fit = nullptr;

namespace {

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

using internal::EachCallback;

// Every target array has as many samples as x[0]: "<prefix>x has 10 samples but y has 9
// (expected one target per sample, 10)<fix>" otherwise (Fit's arrays, a dataset's batches,
// Evaluate's arrays).
absl::Status CheckTargetCounts(const std::vector<Tensor>& x, const std::vector<Tensor>& y,
                               const std::string& prefix, const std::string& fix) {
  const int64_t n = x[0].shape().dim(0);
  for (size_t i = 0; i < y.size(); ++i) {
    if (y[i].shape().dim(0) != n) {
      return absl::InvalidArgumentError(absl::StrCat(
          prefix, "x has ", n, " samples but ", internal::Indexed("y", i, y.size()), " has ",
          y[i].shape().dim(0), " (expected one target per sample, ", n, ")", fix));
    }
  }
  return absl::OkStatus();
}

// A source of training batches for one epoch after another.
class BatchSource {
 public:
  virtual ~BatchSource() = default;
  virtual absl::Status StartEpoch(int epoch) = 0;
  // Sets `feeds` to the next batch (every input, every target, and one weight array per output
  // when the data has weights); false at the epoch's end.
  virtual absl::StatusOr<bool> Next(std::vector<Tensor>& feeds) = 0;
  virtual int64_t steps() const = 0;  // batches per epoch; -1 when not known
  virtual int64_t samples() const { return -1; }  // samples per epoch; -1 when not known
};

// Arrays in memory, shuffled every epoch from the model's stream; batches are gathered into
// buffers reused every step (no allocation, no page faults).
class ArraySource : public BatchSource {
 public:
  ArraySource(std::vector<Tensor> arrays, int64_t batch_size, bool shuffle, std::mt19937_64& rng,
              std::map<int64_t, std::vector<Tensor>>& buffers)
      : arrays_(std::move(arrays)), batch_size_(batch_size), shuffle_(shuffle), rng_(rng),
        buffers_(buffers), n_(arrays_[0].shape().dim(0)) {}
  absl::Status StartEpoch(int) override {
    if (shuffle_) {
      order_ = internal::Permutation(n_, rng_);
    } else {
      order_.resize(n_);
      for (int64_t i = 0; i < n_; ++i) order_[i] = i;
    }
    next_ = 0;
    return absl::OkStatus();
  }
  absl::StatusOr<bool> Next(std::vector<Tensor>& feeds) override {
    if (next_ >= n_) return false;
    const int64_t b = next_, e = std::min(n_, b + batch_size_);
    next_ = e;
    std::vector<int64_t> idx(order_.begin() + b, order_.begin() + e);
    std::vector<Tensor>& buffers = buffers_[e - b];
    if (buffers.size() != arrays_.size()) {
      buffers.clear();
      for (const Tensor& a : arrays_) buffers.emplace_back(a.dtype(), a.shape().WithBatch(e - b));
    }
    for (size_t i = 0; i < arrays_.size(); ++i) arrays_[i].GatherRowsInto(idx, buffers[i]);
    feeds = buffers;
    return true;
  }
  int64_t steps() const override { return n_ / batch_size_ + (n_ % batch_size_ != 0); }
  int64_t samples() const override { return n_; }

 private:
  std::vector<Tensor> arrays_;
  int64_t batch_size_;
  bool shuffle_;
  std::mt19937_64& rng_;
  std::map<int64_t, std::vector<Tensor>>& buffers_;
  int64_t n_;
  std::vector<int64_t> order_;
  int64_t next_ = 0;
};

// A Dataset's batches, each prepared and checked by `prepare` as it arrives.
class DatasetSource : public BatchSource {
 public:
  using Prepare = std::function<absl::StatusOr<std::vector<Tensor>>(Element&, int64_t batch)>;
  DatasetSource(Dataset& data, int64_t steps_per_epoch, Prepare prepare)
      : data_(data), steps_per_epoch_(steps_per_epoch), prepare_(std::move(prepare)) {}
  absl::Status StartEpoch(int epoch) override {
    taken_ = 0;
    if (steps_per_epoch_ > 0 && started_ && !ended_) return absl::OkStatus();  // goes on
    started_ = true;
    ended_ = false;
    return data_.Start(epoch);
  }
  absl::StatusOr<bool> Next(std::vector<Tensor>& feeds) override {
    if (steps_per_epoch_ > 0 && taken_ >= steps_per_epoch_) return false;
    absl::StatusOr<std::optional<Element>> e = data_.Next();
    if (!e.ok()) return e.status();
    if (!e->has_value()) {
      ended_ = true;
      return false;
    }
    absl::StatusOr<std::vector<Tensor>> f = prepare_(**e, taken_);
    if (!f.ok()) return f.status();
    feeds = *std::move(f);
    ++taken_;
    return true;
  }
  int64_t steps() const override {
    if (steps_per_epoch_ > 0) return steps_per_epoch_;
    return data_.Cardinality();
  }

 private:
  Dataset& data_;
  int64_t steps_per_epoch_;
  Prepare prepare_;
  int64_t taken_ = 0;
  bool started_ = false, ended_ = false;
};

}  // namespace

// Fit's epochs. A friend of Model.
class FitLoop {
 public:
  struct Validation {
    std::vector<Tensor> x, y, w;  // arrays (empty: none; w empty: no weights)
    Dataset* data = nullptr;      // or a dataset
    bool present() const { return data != nullptr || !x.empty(); }
  };

  // The batch's feeds from a dataset element: prepared as Fit prepares arrays, checked, and
  // named by the batch's index in messages. The element's sample weights follow its targets;
  // with `class_weight` (Fit), the batch's class weights do.
  static DatasetSource::Prepare PrepareElement(Model& m, bool check_finite, const char* call,
                                               std::map<int, double> class_weight = {}) {
    return [&m, check_finite, call, class_weight](
               Element& e, int64_t batch) -> absl::StatusOr<std::vector<Tensor>> {
      const std::string where = absl::StrCat(call, " (dataset batch ", batch, ")");
      absl::StatusOr<std::vector<Tensor>> x = m.PrepareXs(e.x, where.c_str());
      if (!x.ok()) return x.status();
      absl::StatusOr<std::vector<Tensor>> y = m.PrepareYs(e.y, where.c_str());
      if (!y.ok()) return y.status();
      if (absl::Status s = CheckTargetCounts(
              *x, *y, where + ": ", ". Fix: make each element's x and y batches of the same length");
          !s.ok()) {
        return s;
      }
      if (check_finite) {
        if (absl::Status s = internal::CheckAllFinite(*x, "x", where); !s.ok()) return s;
        if (absl::Status s = internal::CheckAllFinite(*y, "y", where); !s.ok()) return s;
      }
      absl::StatusOr<std::vector<Tensor>> w =
          m.PrepareSampleWeights(SampleWeights(e.sample_weight), (*x)[0].shape().dim(0),
                                 "sample_weight", where);
      if (!w.ok()) return w.status();
      if (absl::Status s =
              m.CheckClassWeight(class_weight, !e.sample_weight.empty(), (*y)[0], where);
          !s.ok()) {
        return s;
      }
      if (!class_weight.empty()) w = std::vector<Tensor>{m.ClassWeights(class_weight, (*y)[0])};
      std::vector<Tensor> feeds = *std::move(x);
      feeds.insert(feeds.end(), y->begin(), y->end());
      feeds.insert(feeds.end(), w->begin(), w->end());
      return feeds;
    };
  }

  static absl::StatusOr<History> Run(Model& m, BatchSource& source, const Validation& val,
                                     const FitOptions& o);

 private:
  static absl::Status CheckMonitors(const Model& m, const std::vector<CallbackPtr>& callbacks,
                                    bool validation);
};

absl::Status FitLoop::CheckMonitors(const Model& m, const std::vector<CallbackPtr>& callbacks,
                                    bool validation) {
  std::vector<std::string> logged = m.metrics_names();
  if (validation) {
    for (const std::string& n : m.metrics_names()) logged.push_back("val_" + n);
  }
  for (const CallbackPtr& cb : callbacks) {
    for (const std::string& want : cb->MonitoredNames()) {
      if (std::find(logged.begin(), logged.end(), want) != logged.end()) continue;
      const bool needs_validation = want.rfind("val_", 0) == 0 && !validation;
      return absl::InvalidArgumentError(absl::StrCat(
          "Fit: ", cb->name(), " monitors \"", want, "\", which Fit does not log; it logs: ",
          absl::StrJoin(logged, ", "), ". Fix: ",
          needs_validation ? "pass validation data (validation_split, validation_data or "
                             "validation_dataset) so that val_* values exist, or "
                           : "",
          "monitor one of the names above (Keras only warns and then never acts)"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<History> FitLoop::Run(Model& m, BatchSource& source, const Validation& val,
                                     const FitOptions& o) {
  Model::Compiled& c = *m.compiled_;
  const Model* outer = model_in_fit;
  model_in_fit = &m;  // callbacks calling back into the model do not wait for this Fit's lock
  struct Restore {
    const Model* outer;
    ~Restore() { model_in_fit = outer; }
  } restore{outer};
  m.stop_training_ = false;
  m.resume_epoch_ = -1;

  if (c.comm == nullptr && DataParallelCommunicator() != nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "Fit: this process is rank ", DataParallelCommunicator()->rank(), " of ",
        DataParallelCommunicator()->size(), " but model \"", m.name_, "\" was compiled before "
        "graft::distributed::Context was created, so it would train alone on every rank. Fix: "
        "create the Context at the start of main, before Compile"));
  }
  // Data-parallel (keras/data_parallel.h): each rank trains on its share of every batch.
  std::unique_ptr<DataParallel> dp = DataParallel::For(m);
  std::ostream& out = o.output ? *o.output : std::cout;
  int verbose = o.verbose;
  if (verbose < 0) verbose = (o.output == nullptr && isatty(STDOUT_FILENO)) ? 1 : 2;
  if (dp != nullptr && dp->rank() != 0) verbose = 0;  // rank 0 shows the global logs
  int64_t steps = source.steps();
  History history;
  history.params = {{"verbose", static_cast<double>(verbose)},
                    {"epochs", static_cast<double>(o.epochs)},
                    {"steps", static_cast<double>(steps)}};
  const std::vector<CallbackPtr>& callbacks = o.callbacks;
  for (const CallbackPtr& cb : callbacks) {
    if (cb == nullptr) return absl::InvalidArgumentError("Fit: a callback in the list is null");
    cb->set_model(&m);
    cb->set_params(history.params);
  }
  if (absl::Status s = CheckMonitors(m, callbacks, val.present()); !s.ok()) return s;
  if (absl::Status s = EachCallback(callbacks, "OnTrainBegin",
                            [](Callback& cb) { return cb.OnTrainBegin({}); });
      !s.ok()) {
    return s;
  }
  if (dp != nullptr) {  // the ranks agree and start from rank 0's state
    if (absl::Status s = dp->BeginFit(m, o.batch_size, source.samples(), o.epochs); !s.ok()) {
      return s;
    }
  }
  const int first_epoch = m.resume_epoch_ >= 0 ? m.resume_epoch_ : o.initial_epoch;
  const size_t num_in = m.inputs_.size(), num_out = m.outputs_.size();

  const std::vector<std::string> names = m.metrics_names();
  // TerminateOnNaN: the last finite loss and where it was, for the message.
  double last_finite_loss = std::numeric_limits<double>::quiet_NaN();
  std::string last_finite_at = "none: the first step's loss was already not finite";
  Logs epoch_logs;
  for (int epoch = first_epoch; epoch < o.epochs && !m.stop_training_; ++epoch) {
    const auto start = std::chrono::steady_clock::now();
    if (verbose > 0 && o.epochs > 1) out << "Epoch " << epoch + 1 << "/" << o.epochs << "\n";
    if (absl::Status s = EachCallback(callbacks, "OnEpochBegin",
                              [epoch](Callback& cb) { return cb.OnEpochBegin(epoch, {}); });
        !s.ok()) {
      return s;
    }
    if (absl::Status s = source.StartEpoch(epoch); !s.ok()) {
      return internal::WithContext(s, absl::StrCat("Fit (epoch ", epoch + 1, "): "));
    }
    ProgressBar bar(out, verbose, steps);
    internal::LogMeans means(c.log_weighting);
    internal::UnitWeights unit(m.inputs_.size(), m.outputs_.size());
    int64_t s = 0;
    std::vector<Tensor> feeds, fetched;
    Logs logs;
    for (;; ++s) {
      absl::StatusOr<bool> more = source.Next(feeds);
      if (!more.ok()) {
        return internal::WithContext(more.status(),
                                     absl::StrCat("Fit (epoch ", epoch + 1, ", step ", s + 1, "): "));
      }
      if (!*more) break;
      if (absl::Status st = EachCallback(callbacks, "OnTrainBatchBegin",
                                 [s](Callback& cb) { return cb.OnTrainBatchBegin(s, {}); });
          !st.ok()) {
        return st;
      }
      int64_t batch = feeds[0].shape().dim(0);
      unit.Complete(feeds);  // ones when the data has no weights
      float scale = 1.0f;
      if (dp != nullptr) {
        batch = dp->ShareRows(batch);
        scale = dp->Shard(feeds, num_in + 2 * num_out, num_in + num_out, num_out);
      }
      feeds.push_back(
          Tensor::Scalar<float>(static_cast<float>(c.optimizer->LearningRateAt(c.iterations))));
      feeds.push_back(Tensor::Scalar<float>(static_cast<float>(c.iterations)));
      feeds.push_back(Tensor::Scalar<float>(0.0f));  // row offset: the batch is whole
      if (dp != nullptr) feeds.push_back(Tensor::Scalar<float>(scale));
      if (absl::Status st = m.RunStep(internal::kTrainStep, feeds, &fetched); !st.ok()) {
        return internal::WithContext(st,
                                     absl::StrCat("Fit (epoch ", epoch + 1, ", step ", s + 1, "): "));
      }
      ++c.iterations;
      double loss = fetched[0].AsDouble(0);
      if (dp == nullptr) {
        means.Add(fetched, batch, unit.Weights(feeds));
      } else {  // the global batch's logs: the ranks' shares summed
        internal::LogMeans local(c.log_weighting), global(c.log_weighting);
        if (batch > 0) local.Add(fetched, batch, unit.Weights(feeds));
        if (absl::Status st = dp->ReduceLogs(local, global); !st.ok()) return st;
        means.AddSums(global.Sums());
        loss = global.Mean(0);
      }
      logs = Logs();
      for (size_t k = 0; k < names.size(); ++k) logs.Set(names[k], means.Mean(k));
      if (absl::Status st = EachCallback(callbacks, "OnTrainBatchEnd",
                                 [s, &logs](Callback& cb) { return cb.OnTrainBatchEnd(s, logs); });
          !st.ok()) {
        return st;
      }
      if (!std::isfinite(loss)) {
        if (m.stop_training_) {  // a TerminateOnNaN callback: Keras's behaviour
          ++s;
          break;
        }
        return absl::AbortedError(absl::StrCat(
            "Fit: the loss became ", loss, " at epoch ", epoch + 1, ", step ", s + 1,
            steps > 0 ? absl::StrCat("/", steps) : "", " (iteration ", c.iterations,
            "); training stopped (TerminateOnNaN). Last finite loss: ",
            std::isfinite(last_finite_loss) ? absl::StrCat(last_finite_loss, " (") : "",
            last_finite_at, std::isfinite(last_finite_loss) ? ")" : "",
            ". The weights hold that step's update and are likely not finite: reload or "
            "re-initialise them, then lower the learning rate or add gradient clipping "
            "(clipnorm), and check the targets and the loss"));
      }
      last_finite_loss = loss;
      last_finite_at = absl::StrCat("epoch ", epoch + 1, ", step ", s + 1);
      bar.Update(s + 1, logs, Seconds(start));
      if (m.stop_training_) {
        ++s;
        break;
      }
    }
    if (s == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Fit (epoch ", epoch + 1, "): the data gave no batch. Fix: check that the dataset "
          "yields elements (a generator that ended, or a Start that does not rewind it)"));
    }
    if (steps < 0 && o.steps_per_epoch == 0) steps = s;  // learnt from the first pass
    if (dp != nullptr) {
      if (absl::Status st = dp->AverageMovingStatistics(m); !st.ok()) return st;
    }
    if (val.present()) {
      absl::StatusOr<std::vector<double>> v =
          val.data != nullptr ? m.EvaluateDataset(*val.data, callbacks)
                              : m.EvaluatePrepared(val.x, val.y, val.w, o.batch_size, callbacks);
      if (!v.ok()) return internal::WithContext(v.status(), "Fit (validation): ");
      for (size_t k = 0; k < names.size(); ++k) logs.Set("val_" + names[k], (*v)[k]);
    }
    const double seconds = Seconds(start);
    bar.Finish(logs, seconds, s);
    if (absl::Status st = EachCallback(callbacks, "OnEpochEnd",
                               [epoch, &logs](Callback& cb) { return cb.OnEpochEnd(epoch, logs); });
        !st.ok()) {
      return st;
    }
    history.epoch.push_back(epoch);
    history.epoch_seconds.push_back(seconds);
    for (const auto& [k, v] : logs) history.history[k].push_back(v);
    epoch_logs = logs;
  }
  if (absl::Status s = EachCallback(callbacks, "OnTrainEnd",
                            [&epoch_logs](Callback& cb) { return cb.OnTrainEnd(epoch_logs); });
      !s.ok()) {
    return s;
  }
  return history;
}

// ---- Fit -------------------------------------------------------------------------------------

absl::StatusOr<History> Model::Fit(const Tensor& x, const Tensor& y, const FitOptions& o) {
  return Fit(std::vector<Tensor>{x}, std::vector<Tensor>{y}, o);
}

absl::StatusOr<History> Model::Fit(const std::vector<Tensor>& x_in, const std::vector<Tensor>& y_in,
                                   const FitOptions& o) {
  if (InFitOnThisThread()) {
    return absl::FailedPreconditionError("Fit: called from a callback of this model's Fit");
  }
  std::unique_lock<std::shared_mutex> lock = WriteLock();  // no Predict or Evaluate meanwhile
  if (!compiled_ || !compiled_->trainable) return NotCompiled("Fit");
  if (absl::Status s = internal::CheckFitOptions(o); !s.ok()) return s;
  absl::StatusOr<std::vector<Tensor>> x = PrepareXs(x_in, "Fit");
  if (!x.ok()) return x.status();
  absl::StatusOr<std::vector<Tensor>> y = PrepareYs(y_in, "Fit");
  if (!y.ok()) return y.status();
  if (compiled_->advise) Advise(LintData(*x, *y, o.batch_size));  // the first batch (lint.cc)
  const int64_t n_all = (*x)[0].shape().dim(0);
  if (absl::Status s = CheckTargetCounts(*x, *y, "Fit: ", ". Fix: pass x and y of the same length");
      !s.ok()) {
    return s;
  }
  // Sample weights per output ((N,) each; none given: none), checked before the first step.
  absl::StatusOr<std::vector<Tensor>> w =
      PrepareSampleWeights(o.sample_weight, n_all, "sample_weight", "Fit");
  if (!w.ok()) return w.status();
  if (absl::Status s = CheckClassWeight(o.class_weight, !o.sample_weight.empty(), (*y)[0], "Fit");
      !s.ok()) {
    return s;
  }
  if (!o.validation_sample_weight.empty() && !o.validation_data && !o.validation_lists) {
    return absl::InvalidArgumentError(
        "Fit: validation_sample_weight was given without validation_data or validation_lists. "
        "Fix: pass the validation data it weighs (with validation_split, sample_weight is split "
        "with x and y)");
  }
  // Validation data: a dataset, explicit arrays, or the last samples before any shuffling.
  std::vector<Tensor> x_train = *x, y_train = *y, w_train = *w;
  FitLoop::Validation val;
  if (o.validation_dataset != nullptr) {
    val.data = o.validation_dataset.get();
  } else if (o.validation_data.has_value() || o.validation_lists.has_value()) {
    const std::vector<Tensor> xv_in = o.validation_lists
                                          ? o.validation_lists->first
                                          : std::vector<Tensor>{o.validation_data->first};
    const std::vector<Tensor> yv_in = o.validation_lists
                                          ? o.validation_lists->second
                                          : std::vector<Tensor>{o.validation_data->second};
    absl::StatusOr<std::vector<Tensor>> xv = PrepareXs(xv_in, "Fit (validation_data)");
    if (!xv.ok()) return xv.status();
    absl::StatusOr<std::vector<Tensor>> yv = PrepareYs(yv_in, "Fit (validation_data)");
    if (!yv.ok()) return yv.status();
    absl::StatusOr<std::vector<Tensor>> wv =
        PrepareSampleWeights(o.validation_sample_weight, (*xv)[0].shape().dim(0),
                             "validation_sample_weight", "Fit (validation_data)");
    if (!wv.ok()) return wv.status();
    val.x = *xv;
    val.y = *yv;
    val.w = *wv;
  } else if (o.validation_split > 0) {
    const int64_t n_train =
        static_cast<int64_t>(std::floor(static_cast<double>(n_all) * (1 - o.validation_split)));
    if (n_train == 0 || n_train == n_all) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Fit: validation_split=", o.validation_split, " on ", n_all,
          " samples leaves an empty training or validation set (", n_train, " training and ",
          n_all - n_train, " validation samples; expected at least 1 of each). Fix: more data, "
          "or a validation_split that leaves a sample on each side"));
    }
    for (std::vector<Tensor>* v : {&x_train, &y_train, &w_train}) {
      std::vector<Tensor>& held = v == &x_train ? val.x : v == &y_train ? val.y : val.w;
      for (Tensor& t : *v) {
        held.push_back(t.SliceRows(n_train, n_all));
        t = t.SliceRows(0, n_train);
      }
    }
  }
  // Keras weighs the training samples by class_weight (the validation data stays unweighted).
  if (!o.class_weight.empty()) w_train = {ClassWeights(o.class_weight, y_train[0])};
  // Everything is checked before the first step, with indices into the arrays as passed.
  if (o.check_finite) {
    if (absl::Status s = internal::CheckAllFinite(*x, "x", "Fit"); !s.ok()) return s;
    if (absl::Status s = internal::CheckAllFinite(*y, "y", "Fit"); !s.ok()) return s;
    if (o.validation_data || o.validation_lists) {
      if (absl::Status s = internal::CheckAllFinite(val.x, "x", "Fit (validation_data)");
          !s.ok()) {
        return s;
      }
      if (absl::Status s = internal::CheckAllFinite(val.y, "y", "Fit (validation_data)");
          !s.ok()) {
        return s;
      }
    }
  }
  std::vector<Tensor> arrays = x_train;  // every input, every target, every weight array (if any)
  arrays.insert(arrays.end(), y_train.begin(), y_train.end());
  arrays.insert(arrays.end(), w_train.begin(), w_train.end());
  ArraySource source(std::move(arrays), o.batch_size, o.shuffle, compiled_->shuffle,
                     compiled_->batch_buffers);
  return FitLoop::Run(*this, source, val, o);
}

absl::StatusOr<History> Model::Fit(Dataset& data, const FitOptions& o) {
  if (InFitOnThisThread()) {
    return absl::FailedPreconditionError("Fit: called from a callback of this model's Fit");
  }
  std::unique_lock<std::shared_mutex> lock = WriteLock();
  if (!compiled_ || !compiled_->trainable) return NotCompiled("Fit");
  if (absl::Status s = internal::CheckFitOptions(o); !s.ok()) return s;
  if (o.validation_split > 0 || o.validation_data || o.validation_lists) {
    return absl::InvalidArgumentError(
        "Fit: with a Dataset, validation data comes from FitOptions::validation_dataset "
        "(validation_split and validation_data take arrays). Fix: pass validation_dataset");
  }
  if (!o.sample_weight.empty() || !o.validation_sample_weight.empty()) {
    return absl::InvalidArgumentError(
        "Fit: with a Dataset, sample weights come from its elements (Element::sample_weight, "
        "Dataset::FromTensorSlices(x, y, sample_weight)); sample_weight and "
        "validation_sample_weight take arrays. Fix: put the weights in the dataset");
  }
  DatasetSource source(data, o.steps_per_epoch,
                       FitLoop::PrepareElement(*this, o.check_finite, "Fit", o.class_weight));
  FitLoop::Validation val;
  val.data = o.validation_dataset.get();
  return FitLoop::Run(*this, source, val, o);
}

// ---- evaluation and prediction loops ---------------------------------------------------------

absl::StatusOr<std::vector<double>> Model::EvaluatePrepared(
    const std::vector<Tensor>& x, const std::vector<Tensor>& y, const std::vector<Tensor>& w,
    int64_t batch_size, const std::vector<CallbackPtr>& callbacks) {
  const int64_t n = x[0].shape().dim(0);
  if (absl::Status s = CheckTargetCounts(x, y, "", ""); !s.ok()) return s;
  int64_t b = 0;
  internal::BatchFn next = [&](std::vector<Tensor>& feeds) -> absl::StatusOr<bool> {
    if (b >= n) return false;
    const int64_t e = std::min(n, b + batch_size);
    feeds.clear();
    for (const Tensor& t : x) feeds.push_back(t.RowsView(b, e));
    for (const Tensor& t : y) feeds.push_back(t.RowsView(b, e));
    for (const Tensor& t : w) feeds.push_back(t.RowsView(b, e));
    b = e;
    return true;
  };
  return EvaluateBatches(next, callbacks);
}

absl::StatusOr<std::vector<double>> Model::EvaluateDataset(
    Dataset& data, const std::vector<CallbackPtr>& callbacks) {
  if (absl::Status s = data.Start(0); !s.ok()) return s;
  DatasetSource::Prepare prepare = FitLoop::PrepareElement(*this, /*check_finite=*/false,
                                                           "Evaluate");
  int64_t batch = 0;
  internal::BatchFn next = [&](std::vector<Tensor>& feeds) -> absl::StatusOr<bool> {
    absl::StatusOr<std::optional<Element>> e = data.Next();
    if (!e.ok()) return e.status();
    if (!e->has_value()) return false;
    absl::StatusOr<std::vector<Tensor>> f = prepare(**e, batch++);
    if (!f.ok()) return f.status();
    feeds = *std::move(f);
    return true;
  };
  return EvaluateBatches(next, callbacks);
}

absl::StatusOr<std::vector<double>> Model::EvaluateBatches(
    const internal::BatchFn& next, const std::vector<CallbackPtr>& callbacks) {
  const std::vector<std::string> names = metrics_names();
  internal::LogMeans means(compiled_->log_weighting);
  internal::UnitWeights unit(inputs_.size(), outputs_.size());
  if (absl::Status s = EachCallback(callbacks, "OnTestBegin", [](Callback& cb) { return cb.OnTestBegin({}); });
      !s.ok()) {
    return s;
  }
  // Data-parallel: each rank evaluates its share of every batch; the sums are reduced at the end.
  std::unique_ptr<DataParallel> dp = DataParallel::For(*this);
  std::vector<Tensor> feeds, fetched;
  Logs logs;
  for (int64_t batch = 0;; ++batch) {
    absl::StatusOr<bool> more = next(feeds);
    if (!more.ok()) return more.status();
    if (!*more) break;
    if (absl::Status s = EachCallback(callbacks, "OnTestBatchBegin",
                              [batch](Callback& cb) { return cb.OnTestBatchBegin(batch, {}); });
        !s.ok()) {
      return s;
    }
    int64_t rows = feeds[0].shape().dim(0);
    unit.Complete(feeds);  // ones when the data has no weights
    if (dp != nullptr) {
      rows = dp->ShareRows(rows);
      dp->Shard(feeds, inputs_.size() + 2 * outputs_.size(), inputs_.size() + outputs_.size(),
                outputs_.size());
    }
    if (rows > 0) {  // an empty share has nothing to evaluate
      if (absl::Status s = RunStep(internal::kEvalStep, feeds, &fetched); !s.ok()) return s;
      means.Add(fetched, rows, unit.Weights(feeds));
    }
    logs = Logs();
    for (size_t i = 0; i < names.size(); ++i) logs.Set(names[i], means.Mean(i));
    if (absl::Status s = EachCallback(callbacks, "OnTestBatchEnd",
                              [batch, &logs](Callback& cb) { return cb.OnTestBatchEnd(batch, logs); });
        !s.ok()) {
      return s;
    }
  }
  if (dp != nullptr) {
    internal::LogMeans global(compiled_->log_weighting);
    if (absl::Status s = dp->ReduceLogs(means, global); !s.ok()) return s;
    means = global;
  }
  std::vector<double> result(names.size());
  for (size_t i = 0; i < names.size(); ++i) result[i] = means.Mean(i);
  if (absl::Status s = EachCallback(callbacks, "OnTestEnd", [&logs](Callback& cb) { return cb.OnTestEnd(logs); });
      !s.ok()) {
    return s;
  }
  return result;
}

absl::StatusOr<std::vector<double>> Model::Evaluate(Dataset& data, const EvaluateOptions& o) {
  std::shared_lock<std::shared_mutex> lock = ReadLock();
  if (!compiled_ || !compiled_->trainable) return NotCompiled("Evaluate");
  if (!o.sample_weight.empty()) {
    return absl::InvalidArgumentError(
        "Evaluate: with a Dataset, sample weights come from its elements (Element::sample_weight)"
        "; EvaluateOptions::sample_weight takes arrays. Fix: put the weights in the dataset");
  }
  for (const CallbackPtr& cb : o.callbacks) cb->set_model(this);
  absl::StatusOr<std::vector<double>> r = EvaluateDataset(data, o.callbacks);
  if (!r.ok()) return internal::WithContext(r.status(), "Evaluate: ");
  return r;
}

absl::StatusOr<std::vector<Tensor>> Model::Predict(Dataset& data, const PredictOptions& o) {
  for (const CallbackPtr& cb : o.callbacks) cb->set_model(this);
  if (absl::Status s = EachCallback(o.callbacks, "OnPredictBegin",
                            [](Callback& cb) { return cb.OnPredictBegin({}); });
      !s.ok()) {
    return s;
  }
  if (absl::Status s = data.Start(0); !s.ok()) return internal::WithContext(s, "Predict: ");
  std::vector<std::vector<Tensor>> parts;  // per batch, one result per output
  for (int64_t batch = 0;; ++batch) {
    absl::StatusOr<std::optional<Element>> e = data.Next();
    if (!e.ok()) return internal::WithContext(e.status(), "Predict: ");
    if (!e->has_value()) break;
    const std::vector<Tensor>& x = (*e)->x;
    const int64_t rows = !x.empty() && x[0].shape().rank() > 0 ? x[0].shape().dim(0) : 1;
    if (absl::Status s = EachCallback(o.callbacks, "OnPredictBatchBegin",
                              [batch](Callback& cb) { return cb.OnPredictBatchBegin(batch, {}); });
        !s.ok()) {
      return s;
    }
    absl::StatusOr<std::vector<Tensor>> r = Predict(x, {.batch_size = std::max<int64_t>(rows, 1)});
    if (!r.ok()) {
      return internal::WithContext(r.status(), absl::StrCat("(dataset batch ", batch, ") "));
    }
    parts.push_back(*std::move(r));
    if (absl::Status s = EachCallback(o.callbacks, "OnPredictBatchEnd",
                              [batch](Callback& cb) { return cb.OnPredictBatchEnd(batch, {}); });
        !s.ok()) {
      return s;
    }
  }
  if (absl::Status s = EachCallback(o.callbacks, "OnPredictEnd",
                            [](Callback& cb) { return cb.OnPredictEnd({}); });
      !s.ok()) {
    return s;
  }
  if (parts.empty()) {
    return absl::InvalidArgumentError("Predict: the dataset gave no batch");
  }
  std::vector<Tensor> out;
  for (size_t k = 0; k < parts[0].size(); ++k) {
    int64_t rows = 0;
    for (const auto& p : parts) rows += p[k].shape().dim(0);
    Tensor t(parts[0][k].dtype(), parts[0][k].shape().WithBatch(rows));
    int64_t at = 0;
    for (const auto& p : parts) {
      t.RowsView(at, at + p[k].shape().dim(0)).CopyFrom(p[k]);
      at += p[k].shape().dim(0);
    }
    out.push_back(t);
  }
  return out;
}

}  // namespace graft::keras
