// Checks of what users pass to Fit / Evaluate (docs/decisions.md, "Hardening"). They run over
// all of the data before the first step, so a bad label in the last batch fails before any
// optimizer step has moved the weights, and errors name the sample's index in the caller's
// array rather than its row in a shuffled batch.
#include "keras/validation.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "keras/model_internal.h"

namespace graft::keras {
namespace internal {
namespace {

std::string Number(double v) { return absl::StrFormat("%.9g", v); }

// "(3, 1)" for the non-batch index of flat element `flat` of `shape`, or "3" for rank 2.
std::vector<int64_t> Unflatten(int64_t flat, const Shape& shape) {
  std::vector<int64_t> idx(shape.rank(), 0);
  for (int d = shape.rank() - 1; d >= 0; --d) {
    const int64_t n = shape.dim(d);
    idx[d] = n == 0 ? 0 : flat % n;
    flat = n == 0 ? 0 : flat / n;
  }
  return idx;
}

}  // namespace

absl::Status CheckFitOptions(const FitOptions& o) {
  if (o.batch_size <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Fit: batch_size must be a positive integer (samples per step), got batch_size=",
        o.batch_size, ". Fix: pass batch_size >= 1 (Keras's default is 32)"));
  }
  if (o.epochs < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Fit: epochs must be non-negative, got epochs=", o.epochs, ". Fix: pass epochs >= 1"));
  }
  if (o.initial_epoch < 0 || o.steps_per_epoch < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Fit: initial_epoch and steps_per_epoch must be non-negative, got initial_epoch=",
        o.initial_epoch, ", steps_per_epoch=", o.steps_per_epoch,
        ". Fix: initial_epoch 0 starts from the beginning; steps_per_epoch 0 means the whole "
        "data"));
  }
  if (!(o.validation_split >= 0 && o.validation_split < 1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Fit: validation_split must be in [0, 1) (the fraction of the samples held out for "
        "validation; 1 would leave no training data), got validation_split=",
        Number(o.validation_split), ". Fix: pass a fraction such as 0.2, or 0 for none"));
  }
  return absl::OkStatus();
}

absl::Status CheckAllFinite(const std::vector<Tensor>& arrays, const char* name,
                            const std::string& where) {
  for (size_t a = 0; a < arrays.size(); ++a) {
    const Tensor& t = arrays[a];
    if (t.dtype() != DType::kF32 || t.shape().rank() == 0) continue;
    const float* p = t.data<float>();
    const int64_t n = t.num_elements();
    int64_t bad = -1;
    for (int64_t i = 0; i < n; ++i) {
      if (!std::isfinite(p[i])) {
        bad = i;
        break;
      }
    }
    if (bad < 0) continue;
    const std::vector<int64_t> idx = Unflatten(bad, t.shape());
    const std::string array = arrays.size() == 1 ? std::string(name) : absl::StrCat(name, "[", a, "]");
    std::vector<int64_t> feature(idx.begin() + 1, idx.end());
    const std::string feature_text =
        feature.empty() ? std::string()
        : feature.size() == 1 ? absl::StrCat(", feature ", feature[0])
                              : absl::StrCat(", feature (", absl::StrJoin(feature, ", "), ")");
    return absl::InvalidArgumentError(absl::StrCat(
        where, ": ", array, "[", absl::StrJoin(idx, ", "), "] = ", Number(p[bad]),
        " is not finite (sample ", idx[0], feature_text, " of ", array, " with shape ",
        t.shape().ToString(), "); expected finite values (FitOptions::check_finite). Fix: drop "
        "or impute that sample, or pass check_finite = false to train on it anyway"));
  }
  return absl::OkStatus();
}

absl::Status CheckTargetValues(const Tensor& y, const std::string& loss, int64_t units,
                               const std::string& y_name, const std::string& output,
                               const std::string& where) {
  if (y.dtype() != DType::kF32 || y.shape().rank() == 0) return absl::OkStatus();
  const float* p = y.data<float>();
  const int64_t n = y.num_elements();
  const int64_t rows = y.shape().dim(0);
  const int64_t per_row = rows == 0 ? 1 : n / rows;
  auto at = [&](int64_t i) {
    const std::vector<int64_t> idx = Unflatten(i, y.shape());
    return absl::StrCat(y_name, "[", absl::StrJoin(idx, ", "), "]");
  };
  const std::string out_text = absl::StrCat("the ", units, "-unit output '", output, "'");
  if (loss == "sparse_categorical_crossentropy") {
    for (int64_t i = 0; i < n; ++i) {
      const double v = p[i];
      if (v >= 0 && v < static_cast<double>(units) && v == std::floor(v)) continue;
      std::string hint;
      if (!std::isfinite(v)) {
        hint = "drop or fix that sample";
      } else if (v != std::floor(v)) {
        hint = "sparse_categorical_crossentropy takes integer class labels; for one-hot or "
               "probability targets use categorical_crossentropy";
      } else if (v == static_cast<double>(units) && units > 0) {
        hint = absl::StrCat("labels look 1-based: subtract 1, or give the output ", units + 1,
                            " units");
      } else {
        hint = absl::StrCat("give the output as many units as there are classes, or remap the "
                            "labels to 0..",
                            units - 1);
      }
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": ", at(i), " = ", Number(v), " is not a class index of ", out_text,
          " (expected an integer in 0..", units - 1, ", for loss sparse_categorical_crossentropy"
          "). Fix: ", hint));
    }
    return absl::OkStatus();
  }
  const bool bounded =
      loss == "binary_crossentropy" || loss == "categorical_crossentropy";
  for (int64_t i = 0; i < n; ++i) {
    const double v = p[i];
    if (!std::isfinite(v)) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": ", at(i), " = ", Number(v), " is not finite (sample ", i / per_row,
          "); expected finite targets for loss ", loss, " on ", out_text,
          ". Fix: drop or fix that sample"));
    }
    if (bounded && !(v >= 0 && v <= 1)) {
      const std::string hint =
          loss == "binary_crossentropy"
              ? (units == 1 && v == std::floor(v)
                     ? std::string("for integer class labels use a softmax output with one unit "
                                   "per class and sparse_categorical_crossentropy")
                     : std::string("rescale the targets to [0, 1]"))
              : std::string("one-hot encode the labels, or pass the integer labels with "
                            "sparse_categorical_crossentropy");
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": ", at(i), " = ", Number(v), " is not a valid target of loss ", loss, " on ",
          out_text, " (expected a value in [0, 1]: 0/1 labels or probabilities). Fix: ", hint));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckSampleWeightArray(const Tensor& w, int64_t samples, const std::string& name,
                                    const std::string& where) {
  const Shape& shape = w.shape();
  const bool column = shape.rank() == 2 && shape.dim(1) == 1;
  if (w.empty() || !(shape.rank() == 1 || column)) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, ": ", name, " has shape ", w.empty() ? std::string("(empty)") : shape.ToString(),
        "; expected (", samples,
        ",): one weight per sample (Keras's sample weights are per "
        "sample; per-timestep or per-class weights are not supported). Fix: pass one weight per "
        "sample, or fold per-class weights into it (class_weight)"));
  }
  if (shape.dim(0) != samples) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": ", name, " has ", shape.dim(0), " weights but x has ", samples,
                     " samples; expected one weight per sample (", samples, "). Fix: pass ", name,
                     " of the same length as x"));
  }
  const Tensor f = w.dtype() == DType::kF32 ? w : w.CastTo(DType::kF32);
  const float* p = f.data<float>();
  for (int64_t i = 0; i < samples; ++i) {
    const double v = p[i];
    if (std::isfinite(v) && v >= 0) continue;
    return absl::InvalidArgumentError(absl::StrCat(
        where, ": ", name, "[", i, "] = ", Number(v), " is ",
        std::isfinite(v) ? "negative" : "not finite", " (sample ", i,
        "); expected a finite weight >= 0 for every sample (0 leaves a sample out; a negative "
        "weight would push the model away from its target). Fix: drop that sample or give it a "
        "weight >= 0"));
  }
  return absl::OkStatus();
}

absl::Status CheckClassWeight(const std::map<int, double>& class_weight, bool has_sample_weight,
                              size_t outputs, int64_t units, const Shape& y_shape,
                              const std::string& output, const std::string& where) {
  if (class_weight.empty()) return absl::OkStatus();
  if (has_sample_weight) {
    return absl::InvalidArgumentError(absl::StrCat(
        where,
        ": class_weight and sample_weight were both given; Keras refuses them together (\"You "
        "cannot `class_weight` and `sample_weight` at the same time.\"). Fix: pass one; to "
        "combine them, multiply each sample's weight by its class's weight into sample_weight"));
  }
  if (outputs != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        where,
        ": class_weight is only supported for a model of one output (Keras: \"`class_weight` is "
        "only supported for Models with a single output.\"); this model has ",
        outputs, ". Fix: turn the class weights into one sample_weight array per output"));
  }
  if (y_shape.rank() > 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, ": class_weight needs one class per sample, but the targets have shape ",
        y_shape.ToString(),
        " (a class per position). Fix: pass sample_weight instead (one weight per "
        "sample)"));
  }
  const int64_t classes = units == 1 ? 2 : units;
  for (const auto& [key, weight] : class_weight) {
    if (key < 0 || key >= classes) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": class_weight has key ", key, ", which is not a class of the ",
                       units, "-unit output '", output, "' (classes 0..", classes - 1,
                       units == 1 ? ", its targets rounded" : "",
                       "). Fix: use class indices as keys (Keras ignores such a key silently)"));
    }
    if (!(std::isfinite(weight) && weight >= 0)) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": class_weight[", key, "] = ", Number(weight),
                       " is not a finite weight >= 0. Fix: give every class a weight >= 0"));
    }
  }
  return absl::OkStatus();
}

}  // namespace internal

// ---- Model members backing model.cc's checks ----------------------------------------------

absl::Status Model::CheckTargets(size_t i, const Tensor& y, const std::string& where) const {
  const Compiled& c = *compiled_;
  const Shape& out = c.graph->type(c.outputs[i]).shape;
  const int64_t units = out.rank() == 0 ? 1 : out.dim(-1);
  const std::string output =
      outputs_[i].node() && outputs_[i].node()->layer ? outputs_[i].node()->layer->name()
                                                      : outputs_[i].name();
  const std::string y_name = outputs_.size() == 1 ? std::string("y") : absl::StrCat("y[", i, "]");
  return internal::CheckTargetValues(y, c.loss_names[i], units, y_name, output, where);
}

absl::Status Model::NotCompiled(const char* where) const {
  if (compile_failure_.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat(where, ": model \"", name_, "\" is not compiled: call Compile() before ",
                     where, "()"));
  }
  return absl::FailedPreconditionError(absl::StrCat(
      where, ": model \"", name_, "\" is not compiled: the last Compile() failed, so it has no "
      "training configuration (not even the previous one). That Compile() returned ",
      absl::StatusCodeToString(compile_failure_.code()), ": ", compile_failure_.message(),
      ". Fix that and call Compile() again before ", where, "()"));
}

}  // namespace graft::keras
