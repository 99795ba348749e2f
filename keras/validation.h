// graft — checks of the data and options a Model is given, run before the first step (internal
// to keras/: model.cc calls them; the Model members they back are defined in validation.cc).
#ifndef GRAFT_KERAS_VALIDATION_H_
#define GRAFT_KERAS_VALIDATION_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "graph/tensor.h"
#include "keras/model.h"

namespace graft::keras::internal {

// batch_size >= 1, epochs >= 0, validation_split in [0, 1) (NaN and negative values too).
absl::Status CheckFitOptions(const FitOptions& o);

// Every element of every array is finite (no NaN, no Inf). `name` is "x" or "y" (a list of
// several is "x[i]"); `where` the call ("Fit", "Fit (validation_data)"). The error names the
// sample and the feature: "Fit: x[12, 3] = nan is not finite (sample 12, feature 3) ...".
absl::Status CheckAllFinite(const std::vector<Tensor>& arrays, const char* name,
                            const std::string& where);

// One target array's values against its loss. `y` has the prepared target shape (sparse:
// (N,)); `units` is the output's last dimension; `y_name` is "y" or "y[1]"; `output` the
// output layer's name. Sparse labels must be integers in [0, units); binary_crossentropy and
// categorical_crossentropy targets must lie in [0, 1] (0/1 labels, one-hot rows, or
// probabilities: Keras's soft labels); every target must be finite. Errors name the sample's
// index in the array the caller passed (before any shuffling or splitting).
absl::Status CheckTargetValues(const Tensor& y, const std::string& loss, int64_t units,
                               const std::string& y_name, const std::string& output,
                               const std::string& where);

// One sample-weight array as given to Fit / Evaluate: float, shape (N,) or (N, 1) with N =
// `samples`, every weight finite and >= 0 (Keras does not check the sign; a negative weight
// would train away from the target). `name` is "sample_weight", "sample_weight[1]" or
// "validation_sample_weight"; errors name the sample.
absl::Status CheckSampleWeightArray(const Tensor& w, int64_t samples, const std::string& name,
                                    const std::string& where);

// Fit's class_weight, before the first step: not together with sample_weight and only for a
// model of one output (Keras refuses both, with these messages quoted), targets with one class
// per sample (rank <= 2), keys that are classes of the output (0..units-1; 0 and 1 for one
// unit), weights finite and >= 0. `output` names the output layer.
absl::Status CheckClassWeight(const std::map<int, double>& class_weight, bool has_sample_weight,
                              size_t outputs, int64_t units, const Shape& y_shape,
                              const std::string& output, const std::string& where);

}  // namespace graft::keras::internal

#endif  // GRAFT_KERAS_VALIDATION_H_
