// graft — datasets: data that is not one array in memory, for Fit, Evaluate and Predict
// (tf.data's shape of API, as Keras users feed it).
//
// A Dataset is a stream of elements, passed over once per epoch. An element holds one tensor
// per model input (x), one per output (y, empty for Predict) and optionally one sample weight
// per output. Sources make elements; Shuffle, Batch and Prefetch wrap a dataset:
//
//   auto train = keras::Dataset::FromTensorSlices({x}, {y})      // one element per sample
//                    ->Shuffle(10000, /*seed=*/1)                // a shuffling buffer
//                    ->Batch(32)                                 // stacked into batches
//                    ->Prefetch(2);                              // made while the step runs
//   model.Fit(*train, {.epochs = 10});
//
// Any source of batches works: a generator function (FromGenerator), or a subclass of Dataset
// (an iterator class: Start and Next). Fit checks each batch as it arrives (shapes, targets
// against the loss, and with FitOptions::check_finite every value) and names the batch.
//
// TimeseriesDatasetFromArray makes Conv1D windows from one long recording as Keras's
// keras.utils.timeseries_dataset_from_array does, copying each window only when its batch is
// made.
#ifndef GRAFT_KERAS_DATASET_H_
#define GRAFT_KERAS_DATASET_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "graph/tensor.h"

namespace graft::keras {

// One element: a sample (tensors without the batch axis) or a batch (with it).
struct Element {
  std::vector<Tensor> x;              // one per model input
  std::vector<Tensor> y;              // one per model output (targets); empty for Predict
  std::vector<Tensor> sample_weight;  // one per output, or empty
};

class Dataset : public std::enable_shared_from_this<Dataset> {
 public:
  virtual ~Dataset() = default;

  // Begins a pass over the data (an epoch); called before the first Next of every pass.
  virtual absl::Status Start(int64_t epoch) = 0;
  // The next element of the pass, or nullopt at its end.
  virtual absl::StatusOr<std::optional<Element>> Next() = 0;
  // The number of elements of a pass when known in advance, else -1.
  virtual int64_t Cardinality() const { return -1; }

  // ---- sources ----
  // One element per row of the arrays (all with the same number of rows), in order; the
  // element's tensors are views of the rows (no copy).
  static absl::StatusOr<std::shared_ptr<Dataset>> FromTensorSlices(
      std::vector<Tensor> x, std::vector<Tensor> y = {}, std::vector<Tensor> sample_weight = {});
  // Elements from a function: `next` returns the next element, nullopt at the end of a pass, or
  // an error (which stops Fit with it). `start`, when given, is called at the start of every
  // pass with the epoch (to rewind a file, reseed, ...). With Prefetch, `next` runs on the
  // prefetching thread (one call at a time).
  using NextFn = std::function<absl::StatusOr<std::optional<Element>>()>;
  using StartFn = std::function<absl::Status(int64_t epoch)>;
  static std::shared_ptr<Dataset> FromGenerator(NextFn next, StartFn start = nullptr,
                                                int64_t cardinality = -1);

  // ---- wrappers (each returns a new dataset reading this one) ----
  // tf.data's shuffle: a buffer of `buffer_size` elements; each Next takes a random one and
  // refills its place from this dataset. A different order every pass, reproducible from
  // `seed` (when not given, from graft's random stream: keras::SetRandomSeed).
  std::shared_ptr<Dataset> Shuffle(int64_t buffer_size, std::optional<uint64_t> seed = {});
  // Stacks `batch_size` consecutive elements (samples) into one batch; the last batch of a pass
  // may be smaller unless drop_remainder. Elements must agree in shape and dtype (an error
  // naming the element otherwise).
  std::shared_ptr<Dataset> Batch(int64_t batch_size, bool drop_remainder = false);
  // Makes up to `buffer_size` elements ahead on a background thread while the caller works on
  // the current one (a training step): a slow source's time hides behind compute.
  std::shared_ptr<Dataset> Prefetch(int64_t buffer_size = 1);
};

using DatasetPtr = std::shared_ptr<Dataset>;

// keras.utils.timeseries_dataset_from_array. `data` is (T, ...) with time on axis 0; `targets`
// (optional, empty Tensor for none) has T rows too. Window i starts at position
// p_i = start_index + i * sequence_stride and holds data[p_i + k * sampling_rate] for
// k < sequence_length; its target is targets[p_i]. Windows run while they fit before end_index
// (default: T), and no further than the targets' length. Batches of batch_size windows
// (shape (batch, sequence_length, ...)); each window is copied only when its batch is made.
// shuffle (as Keras): the start positions are shuffled once in NumPy's order for the seed
// (np.random.RandomState(seed).shuffle, as Keras does it: the same windows in the same order
// as Keras's and a NumPy/PyTorch reference's first pass before tf.data's buffer), then every
// pass goes through a shuffling buffer of 8 batches (Keras's tf.data shuffle, with graft's own
// random stream: TensorFlow's order cannot be reproduced). end_index may be T (Keras refuses
// end_index == len(data) and wants None there).
struct TimeseriesOptions {
  int64_t sequence_length = 0;
  int64_t sequence_stride = 1;
  int64_t sampling_rate = 1;
  int64_t batch_size = 128;
  bool shuffle = false;
  std::optional<uint64_t> seed;
  int64_t start_index = 0;
  std::optional<int64_t> end_index;
};
namespace internal {
// np.random.RandomState(seed).shuffle(a) for a 1-D array, exactly (for Keras's start positions).
void NumpyShuffle(std::vector<int64_t>& a, uint32_t seed);
}  // namespace internal

absl::StatusOr<DatasetPtr> TimeseriesDatasetFromArray(const Tensor& data, const Tensor& targets,
                                                      const TimeseriesOptions& options);

}  // namespace graft::keras

#endif  // GRAFT_KERAS_DATASET_H_
