// Sample weights, class weights and the epoch means of weighted logs (docs/decisions.md,
// "Sample weights and class weights"). Everything here runs once per call or once per batch on
// a handful of numbers; the per-element work is in the loss and metric kernels (ops/loss.cc).
#include "keras/sample_weights.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "keras/model_internal.h"
#include "keras/validation.h"

namespace graft::keras {
namespace internal {

std::vector<std::string> MetricLogNames(const std::vector<std::vector<std::string>>& metrics,
                                        const std::vector<std::vector<std::string>>& weighted,
                                        const std::vector<std::string>& output_names) {
  std::vector<std::string> names;
  std::map<std::string, int> counters;  // Keras's unique_name_counters
  auto prefixed = [&](size_t out, const std::string& name) {
    return output_names.empty() ? name : absl::StrCat(output_names[out], "_", name);
  };
  for (size_t out = 0; out < metrics.size(); ++out) {
    for (const std::string& m : metrics[out]) {
      std::string name = prefixed(out, m);
      if (auto [it, fresh] = counters.emplace(name, 1); !fresh)
        name += "_" + std::to_string(it->second++);
      names.push_back(name);
    }
  }
  for (size_t out = 0; out < weighted.size(); ++out) {
    for (const std::string& m : weighted[out]) {
      std::string name = prefixed(out, m);
      if (!counters.emplace(name, 1).second) {
        name = prefixed(out, "weighted_" + m);
        if (auto [it, fresh] = counters.emplace(name, 1); !fresh) {
          name += "_" + std::to_string(it->second++);
        }
      }
      names.push_back(name);
    }
  }
  return names;
}

Tensor Ones(int64_t n) {
  Tensor t(DType::kF32, Shape{n});
  std::fill(t.data<float>(), t.data<float>() + n, 1.0f);
  return t;
}

void UnitWeights::Complete(std::vector<Tensor>& feeds) {
  if (feeds.size() != inputs_ + outputs_) return;  // the weights are there
  const int64_t n = feeds[0].shape().rank() == 0 ? 1 : feeds[0].shape().dim(0);
  if (ones_.empty() || ones_.shape().dim(0) < n) ones_ = Ones(n);
  const Tensor w = ones_.shape().dim(0) == n ? ones_ : ones_.RowsView(0, n);
  feeds.insert(feeds.end(), outputs_, w);
}

LogMeans::LogMeans(std::vector<int> weighting)
    : weighting_(std::move(weighting)),
      total_(weighting_.size(), 0.0),
      count_(weighting_.size(), 0.0) {}

void LogMeans::Add(const std::vector<Tensor>& fetched, int64_t batch,
                   absl::Span<const Tensor> weights) {
  std::vector<double> sums;  // per output, computed when a log needs it
  for (size_t k = 0; k < weighting_.size(); ++k) {
    double weight = static_cast<double>(batch);
    if (const int out = weighting_[k]; out >= 0) {
      if (sums.empty()) {
        for (const Tensor& w : weights) {
          double s = 0;
          for (int64_t i = 0; i < w.num_elements(); ++i) s += w.data<float>()[i];
          sums.push_back(s);
        }
      }
      weight = sums[out];
    }
    total_[k] += fetched[k].AsDouble(0) * weight;
    count_[k] += weight;
  }
}

double LogMeans::Mean(size_t k) const { return count_[k] != 0 ? total_[k] / count_[k] : 0.0; }

std::vector<double> LogMeans::Sums() const {
  std::vector<double> sums = total_;
  sums.insert(sums.end(), count_.begin(), count_.end());
  return sums;
}

void LogMeans::AddSums(const std::vector<double>& sums) {
  const size_t k = total_.size();
  for (size_t i = 0; i < k; ++i) {
    total_[i] += sums[i];
    count_[i] += sums[k + i];
  }
}

}  // namespace internal

// ---- Model members ----------------------------------------------------------------------------

absl::StatusOr<std::vector<Tensor>> Model::PrepareSampleWeights(const SampleWeights& given,
                                                                int64_t n, const std::string& name,
                                                                const std::string& where) const {
  const size_t outputs = outputs_.size();
  std::vector<Tensor> w;
  if (given.empty()) return w;
  if (given.arrays.size() != 1 && given.arrays.size() != outputs) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, ": ", name, " has ", given.arrays.size(), " arrays but model \"", name_, "\" has ",
        outputs,
        " outputs; expected one array per output, or one for all of them (Keras: \"You "
        "should provide one `sample_weight` array per output in `y`.\"). Fix: pass ",
        outputs, " arrays, or one"));
  }
  for (size_t i = 0; i < given.arrays.size(); ++i) {
    const std::string array = given.arrays.size() == 1 ? name : absl::StrCat(name, "[", i, "]");
    const Tensor& a = given.arrays[i];
    if (absl::Status s = internal::CheckSampleWeightArray(a, n, array, where); !s.ok()) return s;
    absl::StatusOr<Tensor> flat =
        (a.dtype() == DType::kF32 ? a : a.CastTo(DType::kF32)).Reshaped(Shape{n});
    if (!flat.ok()) return flat.status();
    w.push_back(*flat);
  }
  while (w.size() < outputs) w.push_back(w[0]);  // one array for every output (Keras)
  return w;
}

absl::Status Model::CheckClassWeight(const std::map<int, double>& class_weight,
                                     bool has_sample_weight, const Tensor& y,
                                     const std::string& where) const {
  const Compiled& c = *compiled_;
  const Shape& out = c.graph->type(c.outputs[0]).shape;
  const std::string output = outputs_[0].node() && outputs_[0].node()->layer
                                 ? outputs_[0].node()->layer->name()
                                 : outputs_[0].name();
  return internal::CheckClassWeight(class_weight, has_sample_weight, outputs_.size(),
                                    out.rank() == 0 ? 1 : out.dim(-1), y.shape(), output, where);
}

Tensor Model::ClassWeights(const std::map<int, double>& class_weight, const Tensor& y) const {
  // Keras's class_weight_to_sample_weights: the class of a sample is the argmax of its row
  // (one-hot, (N, K) with K > 1), else its value rounded half to even (np.round): sparse labels,
  // binary targets; a class not in the map weighs 1.
  const Shape& shape = y.shape();
  const int64_t n = shape.dim(0);
  const int64_t k = shape.rank() == 2 ? shape.dim(1) : 1;
  const float* t = y.data<float>();
  Tensor w = internal::Ones(n);
  float* out = w.data<float>();
  for (int64_t i = 0; i < n; ++i) {
    const double cls =
        k > 1 ? static_cast<double>(std::max_element(t + i * k, t + (i + 1) * k) - (t + i * k))
              : std::nearbyint(static_cast<double>(t[i]));
    if (!std::isfinite(cls) || std::abs(cls) > 1e9) continue;  // no key can match
    if (auto it = class_weight.find(static_cast<int>(cls)); it != class_weight.end()) {
      out[i] = static_cast<float>(it->second);
    }
  }
  return w;
}

}  // namespace graft::keras
