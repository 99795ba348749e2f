// graft — sample weights, class weights and weighted metrics in Fit / Evaluate (internal to
// keras/: model.cc uses these; the Model members they back are defined in sample_weights.cc).
// Keras 3's rules: trainers/data_adapters (class_weight_to_sample_weights, ArrayDataAdapter),
// trainers/compile_utils.py (CompileMetrics), metrics/reduction_metrics.py (Mean).
#ifndef GRAFT_KERAS_SAMPLE_WEIGHTS_H_
#define GRAFT_KERAS_SAMPLE_WEIGHTS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/types/span.h"
#include "graph/tensor.h"

namespace graft::keras::internal {

// The log names of the compiled metrics, in Keras's order and naming (CompileMetrics.result()):
// every output's `metrics` first, then every output's `weighted_metrics`; with several outputs
// each name is prefixed by its output's name ("dense_1_accuracy"). A plain metric whose name
// is taken gets "_1", "_2", ...; a weighted one gets "weighted_<name>" (then "_1", ...).
// `output_names` is empty for a model of one output.
std::vector<std::string> MetricLogNames(const std::vector<std::vector<std::string>>& metrics,
                                        const std::vector<std::vector<std::string>>& weighted,
                                        const std::vector<std::string>& output_names);

// A float32 (n,) tensor of ones.
Tensor Ones(int64_t n);

// The sample weights fed when a batch has none: one tensor of ones per call (grown when a batch
// is larger), fed whole for a batch of its size and as a view for others. The feeds of a batch
// are every input, every target, then one weight array per output.
class UnitWeights {
 public:
  UnitWeights(size_t inputs, size_t outputs) : inputs_(inputs), outputs_(outputs) {}
  // Appends one array of ones per output when `feeds` holds no weights.
  void Complete(std::vector<Tensor>& feeds);
  // The weight arrays of completed feeds.
  absl::Span<const Tensor> Weights(const std::vector<Tensor>& feeds) const {
    return absl::MakeConstSpan(feeds).subspan(inputs_ + outputs_, outputs_);
  }

 private:
  size_t inputs_, outputs_;
  Tensor ones_;
};

// The running means of the logs over an epoch (or an Evaluate), as Keras's metric objects keep
// them: total / count, each batch value weighing by the batch size (the losses and `metrics`:
// Keras's loss tracker and Mean) or by the sum of its output's sample weights (a
// `weighted_metrics` value, which is the batch's weighted mean). A mean over zero weight is 0
// (Keras's divide_no_nan).
class LogMeans {
 public:
  // Per log: -1 for the batch size, else the output whose weights weigh it.
  explicit LogMeans(std::vector<int> weighting);
  // One batch: its fetched log values (scalars), its size, and its weights per output.
  void Add(const std::vector<Tensor>& fetched, int64_t batch, absl::Span<const Tensor> weights);
  double Mean(size_t k) const;
  // The running totals then counts, one per log (what data-parallel ranks sum), and adding such
  // sums (another LogMeans's, or the ranks' summed).
  std::vector<double> Sums() const;
  void AddSums(const std::vector<double>& sums);

 private:
  std::vector<int> weighting_;
  std::vector<double> total_, count_;
};

}  // namespace graft::keras::internal

#endif  // GRAFT_KERAS_SAMPLE_WEIGHTS_H_
