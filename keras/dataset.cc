// Datasets: sources (tensor slices, generators, time-series windows) and wrappers (shuffle,
// batch, prefetch).
#include "keras/dataset.h"

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "keras/random.h"

namespace graft::keras {
namespace {

// The element's tensors in one list (x, then y, then sample weights), for code that treats
// them alike.
std::vector<Tensor*> Parts(Element& e) {
  std::vector<Tensor*> parts;
  for (std::vector<Tensor>* v : {&e.x, &e.y, &e.sample_weight}) {
    for (Tensor& t : *v) parts.push_back(&t);
  }
  return parts;
}

// ---- sources -------------------------------------------------------------------------------

class SlicesDataset : public Dataset {
 public:
  SlicesDataset(Element arrays, int64_t rows) : arrays_(std::move(arrays)), rows_(rows) {}
  absl::Status Start(int64_t) override {
    next_ = 0;
    return absl::OkStatus();
  }
  absl::StatusOr<std::optional<Element>> Next() override {
    if (next_ >= rows_) return std::optional<Element>();
    Element e = arrays_;
    for (Tensor* t : Parts(e)) {
      std::vector<int64_t> dims = t->shape().dims();
      dims.erase(dims.begin());
      absl::StatusOr<Tensor> row = t->RowsView(next_, next_ + 1).Reshaped(Shape(dims));
      if (!row.ok()) return row.status();
      *t = *std::move(row);
    }
    ++next_;
    return std::optional<Element>(std::move(e));
  }
  int64_t Cardinality() const override { return rows_; }

 private:
  Element arrays_;
  int64_t rows_;
  int64_t next_ = 0;
};

class GeneratorDataset : public Dataset {
 public:
  GeneratorDataset(NextFn next, StartFn start, int64_t cardinality)
      : next_(std::move(next)), start_(std::move(start)), cardinality_(cardinality) {}
  absl::Status Start(int64_t epoch) override {
    return start_ ? start_(epoch) : absl::OkStatus();
  }
  absl::StatusOr<std::optional<Element>> Next() override { return next_(); }
  int64_t Cardinality() const override { return cardinality_; }

 private:
  NextFn next_;
  StartFn start_;
  int64_t cardinality_;
};

// ---- wrappers ------------------------------------------------------------------------------

class ShuffleDataset : public Dataset {
 public:
  ShuffleDataset(std::shared_ptr<Dataset> in, int64_t buffer_size, uint64_t seed)
      : in_(std::move(in)), buffer_size_(std::max<int64_t>(buffer_size, 1)), rng_(seed) {}
  absl::Status Start(int64_t epoch) override {
    buffer_.clear();
    exhausted_ = false;
    return in_->Start(epoch);
  }
  absl::StatusOr<std::optional<Element>> Next() override {
    while (!exhausted_ && static_cast<int64_t>(buffer_.size()) < buffer_size_) {
      absl::StatusOr<std::optional<Element>> e = in_->Next();
      if (!e.ok()) return e.status();
      if (!e->has_value()) {
        exhausted_ = true;
        break;
      }
      buffer_.push_back(**std::move(e));
    }
    if (buffer_.empty()) return std::optional<Element>();
    // 64 random bits modulo a buffer size below 2^40: the bias is below 2^-24.
    const size_t i = static_cast<size_t>(rng_() % buffer_.size());
    Element out = std::move(buffer_[i]);
    buffer_[i] = std::move(buffer_.back());
    buffer_.pop_back();
    return std::optional<Element>(std::move(out));
  }
  int64_t Cardinality() const override { return in_->Cardinality(); }

 private:
  std::shared_ptr<Dataset> in_;
  int64_t buffer_size_;
  std::mt19937_64 rng_;
  std::vector<Element> buffer_;
  bool exhausted_ = false;
};

class BatchDataset : public Dataset {
 public:
  BatchDataset(std::shared_ptr<Dataset> in, int64_t batch_size, bool drop_remainder)
      : in_(std::move(in)), batch_size_(batch_size), drop_remainder_(drop_remainder) {}
  absl::Status Start(int64_t epoch) override {
    element_ = 0;
    return in_->Start(epoch);
  }
  absl::StatusOr<std::optional<Element>> Next() override {
    std::vector<Element> items;
    while (static_cast<int64_t>(items.size()) < batch_size_) {
      absl::StatusOr<std::optional<Element>> e = in_->Next();
      if (!e.ok()) return e.status();
      if (!e->has_value()) break;
      items.push_back(**std::move(e));
    }
    if (items.empty() || (drop_remainder_ && static_cast<int64_t>(items.size()) < batch_size_)) {
      return std::optional<Element>();
    }
    Element batch = items[0];
    std::vector<Tensor*> out = Parts(batch);
    const int64_t n = static_cast<int64_t>(items.size());
    for (size_t k = 0; k < out.size(); ++k) {
      const Tensor first = *out[k];
      std::vector<int64_t> dims = first.shape().dims();
      dims.insert(dims.begin(), n);
      absl::StatusOr<Tensor> stacked = Tensor::Create(first.dtype(), Shape(dims));
      if (!stacked.ok()) return stacked.status();
      char* dst = static_cast<char*>(stacked->raw_data());
      for (int64_t i = 0; i < n; ++i) {
        std::vector<Tensor*> parts = Parts(items[i]);
        if (parts.size() != out.size() || !(parts[k]->type() == first.type())) {
          return absl::InvalidArgumentError(absl::StrCat(
              "Dataset::Batch: element ", element_ + i, " has ",
              parts.size() != out.size() ? absl::StrCat(parts.size(), " tensors")
                                         : parts[k]->type().ToString(),
              " but element ", element_, " of the same batch has ",
              parts.size() != out.size() ? absl::StrCat(out.size(), " tensors")
                                         : first.type().ToString(),
              ". Fix: make every element the same shape (pad or crop them), or batch them "
              "yourself in the generator"));
        }
        if (first.nbytes() > 0) {
          std::memcpy(dst + i * first.nbytes(), parts[k]->raw_data(), first.nbytes());
        }
      }
      *out[k] = *std::move(stacked);
    }
    element_ += n;
    return std::optional<Element>(std::move(batch));
  }
  int64_t Cardinality() const override {
    const int64_t n = in_->Cardinality();
    if (n < 0) return -1;
    return drop_remainder_ ? n / batch_size_ : n / batch_size_ + (n % batch_size_ != 0);
  }

 private:
  std::shared_ptr<Dataset> in_;
  int64_t batch_size_;
  bool drop_remainder_;
  int64_t element_ = 0;  // index of the next element within the pass, for messages
};

// A producer thread per pass fills a bounded queue from the wrapped dataset. A thread rather
// than a TBB task: TBB's global_control caps its workers at graft's thread budget, so with a
// budget of one thread a task would only run when the step waits for it, with no overlap.
class PrefetchDataset : public Dataset {
 public:
  PrefetchDataset(std::shared_ptr<Dataset> in, int64_t buffer_size)
      : in_(std::move(in)), capacity_(static_cast<size_t>(std::max<int64_t>(buffer_size, 1))) {}
  ~PrefetchDataset() override { Stop(); }

  absl::Status Start(int64_t epoch) override {
    Stop();
    queue_.clear();
    if (absl::Status s = in_->Start(epoch); !s.ok()) return s;
    cancel_ = false;
    producer_ = std::thread([this] { Produce(); });
    return absl::OkStatus();
  }
  absl::StatusOr<std::optional<Element>> Next() override {
    std::unique_lock<std::mutex> lock(mu_);
    if (!producer_.joinable() && queue_.empty()) return std::optional<Element>();  // no Start
    changed_.wait(lock, [this] { return !queue_.empty(); });
    absl::StatusOr<std::optional<Element>> item = std::move(queue_.front());
    const bool last = !item.ok() || !item->has_value();
    if (!last) queue_.pop_front();  // the end (or an error) stays: every later Next sees it
    changed_.notify_all();
    return item;
  }
  int64_t Cardinality() const override { return in_->Cardinality(); }

 private:
  void Produce() {
    while (true) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        changed_.wait(lock, [this] { return cancel_ || queue_.size() < capacity_; });
        if (cancel_) return;
      }
      absl::StatusOr<std::optional<Element>> e = in_->Next();
      const bool last = !e.ok() || !e->has_value();
      {
        std::lock_guard<std::mutex> lock(mu_);
        queue_.push_back(std::move(e));
      }
      changed_.notify_all();
      if (last) return;
    }
  }
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      cancel_ = true;
    }
    changed_.notify_all();
    if (producer_.joinable()) producer_.join();
  }

  std::shared_ptr<Dataset> in_;
  size_t capacity_;
  std::mutex mu_;
  std::condition_variable changed_;
  std::deque<absl::StatusOr<std::optional<Element>>> queue_;
  bool cancel_ = false;
  std::thread producer_;
};

// ---- time-series windows -------------------------------------------------------------------

}  // namespace

// MT19937 seeded with init_genrand(seed) (std::mt19937's seeding), then for i from n - 1 down
// to 1 a draw v in [0, i] by masking 32-bit outputs and rejecting v > i, and a swap (NumPy's
// legacy random_interval).
void internal::NumpyShuffle(std::vector<int64_t>& a, uint32_t seed) {
  std::mt19937 engine(seed);
  for (size_t i = a.size(); i-- > 1;) {
    uint32_t mask = static_cast<uint32_t>(i);
    for (int s : {1, 2, 4, 8, 16}) mask |= mask >> s;
    uint32_t v;
    do {
      v = static_cast<uint32_t>(engine()) & mask;
    } while (v > i);
    std::swap(a[i], a[v]);
  }
}

namespace {

class TimeseriesDataset : public Dataset {
 public:
  TimeseriesDataset(Tensor data, Tensor targets, std::vector<int64_t> positions,
                    const TimeseriesOptions& o, uint64_t seed)
      : data_(std::move(data)), targets_(std::move(targets)), positions_(std::move(positions)),
        o_(o), rng_(seed) {
    if (o_.shuffle) internal::NumpyShuffle(positions_, static_cast<uint32_t>(seed));
  }
  // As Keras: the start positions were shuffled once (NumPy's order for the seed); each pass
  // then goes through a shuffling buffer of 8 batches (tf.data's shuffle, reshuffled per pass;
  // graft's own random order, which TensorFlow's generator would not give).
  absl::Status Start(int64_t) override {
    order_.clear();
    const int64_t n = static_cast<int64_t>(positions_.size());
    if (!o_.shuffle) {
      for (int64_t i = 0; i < n; ++i) order_.push_back(i);
    } else {
      const int64_t size = std::min(n, o_.batch_size * 8);
      std::vector<int64_t> buffer;
      int64_t next = 0;
      while (next < size) buffer.push_back(next++);
      while (!buffer.empty()) {
        const size_t pick = static_cast<size_t>(rng_() % buffer.size());
        order_.push_back(buffer[pick]);
        if (next < n) {
          buffer[pick] = next++;
        } else {
          buffer[pick] = buffer.back();
          buffer.pop_back();
        }
      }
    }
    next_ = 0;
    return absl::OkStatus();
  }
  absl::StatusOr<std::optional<Element>> Next() override {
    const int64_t total = static_cast<int64_t>(positions_.size());
    if (next_ >= total) return std::optional<Element>();
    const int64_t n = std::min(o_.batch_size, total - next_);
    std::vector<int64_t> dims = data_.shape().dims();
    const size_t row = dims.empty() || dims[0] == 0 ? 0 : data_.nbytes() / dims[0];
    dims[0] = o_.sequence_length;
    dims.insert(dims.begin(), n);
    absl::StatusOr<Tensor> x = Tensor::Create(data_.dtype(), Shape(dims));
    if (!x.ok()) return x.status();
    Element e;
    char* dst = static_cast<char*>(x->raw_data());
    const char* src = static_cast<const char*>(data_.raw_data());
    for (int64_t i = 0; i < n; ++i) {
      const int64_t p = positions_[order_[next_ + i]];
      for (int64_t k = 0; k < o_.sequence_length; ++k) {
        std::memcpy(dst, src + (p + k * o_.sampling_rate) * row, row);
        dst += row;
      }
    }
    e.x.push_back(*std::move(x));
    if (!targets_.empty()) {
      std::vector<int64_t> rows;
      for (int64_t i = 0; i < n; ++i) rows.push_back(positions_[order_[next_ + i]]);
      e.y.push_back(targets_.GatherRows(rows));
    }
    next_ += n;
    return std::optional<Element>(std::move(e));
  }
  int64_t Cardinality() const override {
    const int64_t n = static_cast<int64_t>(positions_.size());
    return n / o_.batch_size + (n % o_.batch_size != 0);
  }

 private:
  Tensor data_, targets_;
  std::vector<int64_t> positions_;  // absolute start rows of the windows
  TimeseriesOptions o_;
  std::mt19937_64 rng_;
  std::vector<int64_t> order_;
  int64_t next_ = 0;
};

}  // namespace

absl::StatusOr<DatasetPtr> Dataset::FromTensorSlices(std::vector<Tensor> x, std::vector<Tensor> y,
                                                     std::vector<Tensor> sample_weight) {
  Element arrays{std::move(x), std::move(y), std::move(sample_weight)};
  if (arrays.x.empty()) {
    return absl::InvalidArgumentError(
        "Dataset::FromTensorSlices: no x arrays. Fix: pass one array per model input");
  }
  const int64_t rows = arrays.x[0].shape().rank() == 0 ? -1 : arrays.x[0].shape().dim(0);
  for (Tensor* t : Parts(arrays)) {
    if (t->empty() || t->shape().rank() == 0 || t->shape().dim(0) != rows) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Dataset::FromTensorSlices: every array needs the same number of rows (the first x "
          "array has ", rows, "), got an array of shape ",
          t->empty() ? "(none)" : t->shape().ToString(),
          ". Fix: pass x, y and sample weights with one row per sample"));
    }
  }
  return std::shared_ptr<Dataset>(std::make_shared<SlicesDataset>(std::move(arrays), rows));
}

DatasetPtr Dataset::FromGenerator(NextFn next, StartFn start, int64_t cardinality) {
  return std::make_shared<GeneratorDataset>(std::move(next), std::move(start), cardinality);
}

DatasetPtr Dataset::Shuffle(int64_t buffer_size, std::optional<uint64_t> seed) {
  return std::make_shared<ShuffleDataset>(shared_from_this(), buffer_size,
                                          seed ? *seed : internal::NextSeed());
}

DatasetPtr Dataset::Batch(int64_t batch_size, bool drop_remainder) {
  return std::make_shared<BatchDataset>(shared_from_this(), std::max<int64_t>(batch_size, 1),
                                        drop_remainder);
}

DatasetPtr Dataset::Prefetch(int64_t buffer_size) {
  return std::make_shared<PrefetchDataset>(shared_from_this(), buffer_size);
}

absl::StatusOr<DatasetPtr> TimeseriesDatasetFromArray(const Tensor& data, const Tensor& targets,
                                                      const TimeseriesOptions& o) {
  auto bad = [](const std::string& what) {
    return absl::InvalidArgumentError(absl::StrCat("timeseries_dataset_from_array: ", what));
  };
  if (data.empty() || data.shape().rank() == 0) {
    return bad("data must be an array with time on axis 0 (shape (T, ...)), got a scalar or none");
  }
  const int64_t t = data.shape().dim(0);
  if (o.sequence_length <= 0) {
    return bad(absl::StrCat("sequence_length must be positive, got ", o.sequence_length));
  }
  if (o.sampling_rate <= 0 || o.sampling_rate >= t) {
    return bad(absl::StrCat("sampling_rate must be higher than 0 and lower than the length of "
                            "the data (", t, "), got ", o.sampling_rate));
  }
  if (o.sequence_stride <= 0 || o.sequence_stride >= t) {
    return bad(absl::StrCat("sequence_stride must be higher than 0 and lower than the length of "
                            "the data (", t, "), got ", o.sequence_stride));
  }
  if (o.batch_size <= 0) {
    return bad(absl::StrCat("batch_size must be positive, got ", o.batch_size));
  }
  const int64_t end = o.end_index.value_or(t);
  if (o.start_index < 0 || o.start_index >= t) {
    return bad(absl::StrCat("start_index must be in [0, ", t, "), got ", o.start_index));
  }
  if (end <= o.start_index || end > t) {
    return bad(absl::StrCat("end_index must be in (start_index=", o.start_index, ", ", t,
                            "], got ", end));
  }
  int64_t windows = end - o.start_index - (o.sequence_length - 1) * o.sampling_rate;
  if (!targets.empty()) {
    if (targets.shape().rank() == 0) return bad("targets must have one row per time step");
    windows = std::min(windows, targets.shape().dim(0) - o.start_index);
  }
  if (windows <= 0) {
    return bad(absl::StrCat(
        "no window fits: a window spans (sequence_length - 1) * sampling_rate + 1 = ",
        (o.sequence_length - 1) * o.sampling_rate + 1, " steps but [start_index, end_index) = [",
        o.start_index, ", ", end, ") holds ", end - o.start_index,
        ". Fix: a shorter sequence_length or a wider index range"));
  }
  std::vector<int64_t> positions;
  for (int64_t p = 0; p < windows; p += o.sequence_stride) positions.push_back(o.start_index + p);
  const uint64_t seed = o.seed ? *o.seed : internal::NextSeed();
  return std::shared_ptr<Dataset>(
      std::make_shared<TimeseriesDataset>(data, targets, std::move(positions), o, seed));
}

}  // namespace graft::keras
