// The advisor's rules (keras/lint.h). They read what Compile already knows (each layer call's
// input and output shapes, the layers' configs, the losses) and, for the data rules, a few rows
// of x and y; they never fail: whatever they cannot read they skip. Thresholds and the reasons
// for them are in docs/decisions.md ("The advisor").
#include "keras/lint.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "keras/functional_internal.h"
#include "keras/model.h"
#include "keras/model_internal.h"
#include "nlohmann/json.hpp"

namespace graft::keras {

std::string FormatLintWarning(const LintWarning& w) {
  return absl::StrCat("UserWarning (graft advisor, rule ", w.rule, "): ", w.message);
}

bool AdvisorEnabledByEnvironment() {
  const char* v = std::getenv("GRAFT_ADVISOR");
  if (v == nullptr) return true;
  const std::string s = absl::AsciiStrToLower(v);
  return s != "0" && s != "off" && s != "false";
}

namespace {

// An input is far from unit scale when |mean| or std exceeds kLarge (raw pixels: std ~80;
// standardised data, even with outliers, stays near 1), or when every |x| is below kTiny and
// some x is not 0 (data scaled twice: pixels / 255 / 255 peak at 0.0039).
constexpr double kLarge = 10;
constexpr double kTiny = 0.01;

std::string Num(double v) { return absl::StrFormat("%.4g", v); }

// An integer from a layer's config: `key` itself, or its element `i` when it is a list.
int64_t ConfigInt(const nlohmann::json& c, const char* key, int i = 0, int64_t fallback = 1) {
  auto it = c.find(key);
  if (it == c.end()) return fallback;
  const nlohmann::json& v = it->is_array() && static_cast<int>(it->size()) > i ? (*it)[i] : *it;
  return v.is_number_integer() ? v.get<int64_t>() : fallback;
}

std::string ConfigString(const nlohmann::json& c, const char* key) {
  auto it = c.find(key);
  return it != c.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The input node a call reads, directly or through single-input layers that keep its shape
// (Dropout, BatchNormalization, Activation); null when there is none.
const internal::FunctionalNode* FeedingInput(const internal::FunctionalNode& n) {
  if (n.inputs.size() != 1) return nullptr;
  const internal::FunctionalNode* p = n.inputs[0].node().get();
  while (p != nullptr && p->layer) {
    if (p->inputs.size() != 1 || p->inputs[0].shape() != p->type.shape) return nullptr;
    p = p->inputs[0].node().get();
  }
  return p;
}

// The 1-D layer doing what a 2-D one does along axis `along` (0 height, 1 width).
std::string OneDEquivalent(const LayerImpl& l, int along) {
  const nlohmann::json c = l.GetConfig();
  const std::string padding = ConfigString(c, "padding");
  const int64_t strides = ConfigInt(c, "strides", along);
  if (l.class_name() == "Conv2D") {
    std::string opts;
    if (strides != 1) absl::StrAppend(&opts, "strides=", strides, ", ");
    if (!padding.empty() && padding != "valid") absl::StrAppend(&opts, "padding='", padding, "', ");
    if (!l.activation().empty()) absl::StrAppend(&opts, "activation='", l.activation(), "', ");
    if (!opts.empty()) opts = absl::StrCat(", ", opts.substr(0, opts.size() - 2));
    return absl::StrCat("Conv1D(", ConfigInt(c, "filters"), ", ",
                        ConfigInt(c, "kernel_size", along), opts, ")");
  }
  const int64_t pool = ConfigInt(c, "pool_size", along);
  std::string opts;
  if (strides != pool) absl::StrAppend(&opts, ", strides=", strides);
  if (!padding.empty() && padding != "valid") absl::StrAppend(&opts, ", padding='", padding, "'");
  const char* klass = l.class_name() == "MaxPooling2D" ? "MaxPooling1D" : "AveragePooling1D";
  return absl::StrCat(klass, "(", pool, opts, ")");
}

struct Stats {
  int64_t count = 0;
  double sum = 0, sum_sq = 0, min = std::numeric_limits<double>::infinity(),
         max = -std::numeric_limits<double>::infinity();
  bool integral = true;
  void Add(double v) {
    ++count;
    sum += v;
    sum_sq += v * v;
    min = std::min(min, v);
    max = std::max(max, v);
    integral = integral && v == std::floor(v);
  }
  void Merge(const Stats& o) {
    count += o.count;
    sum += o.sum;
    sum_sq += o.sum_sq;
    min = std::min(min, o.min);
    max = std::max(max, o.max);
    integral = integral && o.integral;
  }
  double mean() const { return count ? sum / static_cast<double>(count) : 0; }
  double stddev() const {
    return std::sqrt(std::max(0.0, sum_sq / std::max<int64_t>(count, 1) - mean() * mean()));
  }
  bool large() const { return std::abs(mean()) > kLarge || stddev() > kLarge; }
  double max_abs() const { return std::max(std::abs(min), std::abs(max)); }
  std::string Text() const {
    return absl::StrCat("range [", Num(min), ", ", Num(max), "], mean ", Num(mean()), ", std ",
                        Num(stddev()));
  }
};

// "(N, 100, 1)": a data shape with its sample count left open.
std::string DataShape(std::vector<int64_t> dims) {
  return absl::StrCat("(N, ", absl::StrJoin(dims, ", "), ")");
}

// "x (the first 32 of 1000 samples)".
std::string SampleText(const std::string& name, int64_t rows, int64_t all) {
  return rows < all ? absl::StrCat(name, " (the first ", rows, " of ", all, " samples)")
                    : absl::StrCat(name, " (", all, " samples)");
}

}  // namespace

// ---- structural rules (shapes, configs and losses; at Compile) ------------------------------

std::vector<LintWarning> Model::LintStructure() const {
  std::vector<LintWarning> out;
  std::map<const LayerImpl*, size_t> index;
  for (size_t i = 0; i < layers_.size(); ++i) index.emplace(layers_[i].get(), i);
  auto who = [&](const LayerImpl& l) {
    return absl::StrCat(l.name(), " (", l.class_name(), ", layer ", index[&l], ")");
  };

  // sequence-as-image: 2-D windows over a spatial axis of size 1. One warning, at the first
  // such layer, listing the others and each one's 1-D equivalent.
  std::vector<std::pair<const internal::FunctionalNode*, int>> flat;  // (call, axis along)
  for (const auto& n : nodes_) {
    const std::string klass = n->layer->class_name();
    if (klass != "Conv2D" && klass != "MaxPooling2D" && klass != "AveragePooling2D") continue;
    if (n->inputs.size() != 1 || n->inputs[0].shape().rank() != 4) continue;
    const Shape& s = n->inputs[0].shape();
    if ((s.dim(1) == 1) != (s.dim(2) == 1)) flat.emplace_back(n.get(), s.dim(1) == 1 ? 1 : 0);
  }
  if (!flat.empty()) {
    const internal::FunctionalNode& n = *flat[0].first;
    const int along = flat[0].second;
    const Shape& s = n.inputs[0].shape();
    const int64_t steps = s.dim(1 + along), channels = s.dim(3);
    const nlohmann::json c = n.layer->GetConfig();
    std::string msg = absl::StrCat(
        who(*n.layer), ": its input ", s.ToString(), " has ", along == 0 ? "width" : "height",
        " 1, so its window only ever moves along the ", along == 0 ? "height" : "width",
        ": the data is a sequence of ", steps, " steps with ", channels,
        channels == 1 ? " channel" : " channels", " dressed as an image.");
    const int64_t across =
        ConfigInt(c, n.layer->class_name() == "Conv2D" ? "kernel_size" : "pool_size", 1 - along);
    if (n.layer->class_name() == "Conv2D" && across > 1) {
      absl::StrAppend(&msg, " Its kernel spans ", across, " ", along == 0 ? "columns" : "rows",
                      " where there is 1: ", across - 1, "/", across,
                      " of its weights only ever multiply zero padding.");
    }
    std::vector<std::string> others, fixes;
    for (const auto& [m, m_along] : flat) {
      if (m != &n) others.push_back(who(*m->layer));
      fixes.push_back(absl::StrCat(OneDEquivalent(*m->layer, m_along), " for ", m->layer->name()));
    }
    if (!others.empty()) {
      absl::StrAppend(&msg, " The same holds for ", absl::StrJoin(others, ", "), ".");
    }
    absl::StrAppend(&msg,
                    " Conv1D and the 1-D poolings compute this on (steps, channels) "
                    "directly (Keras: Conv1D for time series, Conv2D for images). Fix: ");
    if (const internal::FunctionalNode* in = FeedingInput(n); in != nullptr && !in->layer) {
      absl::StrAppend(&msg, "declare the input as (", steps, ", ", channels,
                      ") (input_shape / Input) and reshape x from ",
                      DataShape({s.dim(1), s.dim(2), channels}), " to ",
                      DataShape({steps, channels}), ", then use ");
    } else {
      absl::StrAppend(&msg, "add Reshape({", steps, ", ", channels, "}) before ", n.layer->name(),
                      ", then use ");
    }
    absl::StrAppend(&msg, absl::StrJoin(fixes, ", "), ".");
    out.push_back({n.layer->name(), "sequence-as-image", msg});
  }

  // channels-first-sequence: a Conv1D reading a model input with more channels than steps.
  for (const auto& n : nodes_) {
    if (n->layer->class_name() != "Conv1D" || n->inputs.size() != 1) continue;
    const Shape& s = n->inputs[0].shape();
    const internal::FunctionalNode* in = FeedingInput(*n);
    if (s.rank() != 3 || s.dim(2) <= s.dim(1) || in == nullptr || in->layer) continue;
    out.push_back(
        {n->layer->name(), "channels-first-sequence",
         absl::StrCat(
             who(*n->layer), ": its input ", s.ToString(), " (from model input ", in->input_name,
             ") has ", s.dim(2), " channels but only ", s.dim(1),
             " steps. Conv1D slides along the steps (axis 1) and mixes the channels (the last "
             "axis: Keras is channels-last), so this data is probably laid out (samples, "
             "channels, steps), as PyTorch's Conv1d takes it. Fix: if each sample is ",
             s.dim(2), " steps of ", s.dim(1), " channels, transpose x to ",
             DataShape({s.dim(2), s.dim(1)}),
             " (NumPy: x.transpose(0, 2, 1); Keras: a Permute((2, 1)) layer first) and declare "
             "the input as (",
             s.dim(2), ", ", s.dim(1), ")")});
  }

  // The loss rules need the compile configuration.
  const bool compiled = compiled_ && compiled_->trainable;
  std::map<const LayerImpl*, bool> categorical_output;  // covered by single-unit-categorical
  for (size_t i = 0; compiled && i < outputs_.size() && i < compiled_->loss_names.size(); ++i) {
    const internal::FunctionalNode* n = outputs_[i].node().get();
    if (n == nullptr || !n->layer) continue;  // an identity model: no layer to advise on
    const LayerImpl& l = *n->layer;
    const Shape& shape = outputs_[i].shape();
    const int64_t units = shape.rank() >= 2 ? shape.dim(-1) : 1;
    const std::string& loss = compiled_->loss_names[i];
    const bool categorical =
        loss == "categorical_crossentropy" || loss == "sparse_categorical_crossentropy";
    const std::string& act = l.activation();
    if (categorical && units == 1) {
      categorical_output[&l] = true;
      out.push_back(
          {l.name(), "single-unit-categorical",
           absl::StrCat(
               who(l), ": the output ", shape.ToString(), " has 1 unit, but loss ", loss,
               " expects one unit per class (y_pred of shape (batch_size, num_classes) with "
               "num_classes > 1): with a single class the ",
               loss == "categorical_crossentropy"
                   ? "renormalised probability is always 1"
                   : "only valid label is 0 (labels 1 and above are refused)",
               " and the loss is always 0, so nothing is learned. Fix: for 2 classes use "
               "Dense(1, activation='sigmoid') with loss binary_crossentropy; for K classes "
               "Dense(K, activation='softmax') with ",
               loss)});
    }
    if (categorical && units > 1 && act == "sigmoid" && !compiled_->loss_options[i].from_logits) {
      out.push_back(
          {l.name(), "sigmoid-with-categorical",
           absl::StrCat(
               who(l), ": the output has activation 'sigmoid' but loss ", loss,
               " expects one probability distribution per sample (softmax: the ", units,
               " units sum to 1). Sigmoid units are independent, ",
               loss == "categorical_crossentropy"
                   ? "so the loss renormalises them and the outputs are not probabilities"
                   : "so the model can lower the loss by pushing every unit towards 1",
               ". Fix: activation='softmax' when each sample has one class, or loss "
               "binary_crossentropy (with multi-hot targets) when a sample may have several "
               "(multi-label)")});
    }
    if (compiled_->loss_options[i].from_logits && (act == "sigmoid" || act == "softmax")) {
      out.push_back(
          {l.name(), "activation-with-logits",
           absl::StrCat(who(l), ": `", loss,
                        "` received `from_logits=True`, but the output is produced by a ",
                        act == "sigmoid" ? "Sigmoid" : "Softmax",
                        " activation and thus does not represent logits; the loss applies ", act,
                        " a second time. Fix: remove the activation from ", l.name(),
                        " (keep from_logits=True, and apply ", act,
                        " to Predict's results), or keep it and drop from_logits")});
    }
  }

  // softmax-single-unit: softmax over one unit is always 1.0.
  for (const auto& n : nodes_) {
    const Shape& s = n->type.shape;
    if (n->layer->activation() != "softmax" || s.rank() < 2 || s.dim(-1) != 1) continue;
    if (categorical_output.count(n->layer.get())) continue;
    out.push_back(
        {n->layer->name(), "softmax-single-unit",
         absl::StrCat(who(*n->layer),
                      ": activation 'softmax' over its 1 unit always outputs 1.0 "
                      "(softmax normalises across the units), so nothing before it can be "
                      "learned. Fix: activation='sigmoid' for one binary output (with "
                      "binary_crossentropy), or one unit per class with softmax")});
  }
  return out;
}

// ---- data rules (a sample of x and y; at Fit and in Lint) -----------------------------------

std::vector<LintWarning> Model::LintData(const std::vector<Tensor>& x, const std::vector<Tensor>& y,
                                         int64_t rows) const {
  std::vector<LintWarning> out;
  for (size_t i = 0; i < x.size() && i < inputs_.size(); ++i) {
    const Tensor& t = x[i];
    if (t.empty() || t.shape().rank() == 0 || t.shape().dim(0) <= 0) continue;
    const int64_t all = t.shape().dim(0), k = std::min(all, std::max<int64_t>(rows, 1));
    const Tensor sample = t.RowsView(0, k);
    const int64_t features = t.shape().rank() >= 2 ? t.shape().dim(-1) : 1;
    if (features <= 0) continue;
    // One pass over float32 values (Lint may be given a whole training set).
    const Tensor f32 = sample.dtype() == DType::kF32 ? sample : sample.CastTo(DType::kF32);
    const float* p = f32.data<float>();
    std::vector<Stats> per_feature(features);
    for (int64_t e = 0, n = f32.num_elements(); e < n; e += features) {
      for (int64_t f = 0; f < features; ++f) {
        if (std::isfinite(p[e + f])) per_feature[f].Add(p[e + f]);  // NaN: check_finite's job
      }
    }
    Stats overall;
    for (const Stats& st : per_feature) overall.Merge(st);
    if (overall.count == 0) continue;
    const std::string input = inputs_[i].name();
    const std::string data = SampleText(x.size() == 1 ? "x" : absl::StrCat("x[", i, "]"), k, all);
    const std::string head = absl::StrCat("input ", input, ": ");
    const std::string why =
        " Keras's default initialisers and learning rates assume inputs of about unit scale "
        "(in [0, 1], or mean 0 and std 1)";
    // One feature (last axis) far off among others that are not: name it, with its numbers.
    std::vector<std::string> bad;
    int64_t bad_count = 0;
    for (int64_t f = 0; f < features && features > 1; ++f) {
      if (!per_feature[f].large()) continue;
      if (++bad_count <= 3) {
        bad.push_back(absl::StrCat("feature ", f, ": ", per_feature[f].Text(), " -> (x[..., ", f,
                                   "] - ", Num(per_feature[f].mean()), ") / ",
                                   Num(std::max(per_feature[f].stddev(), 1e-12))));
      }
    }
    if (bad_count > 0 && bad_count < features) {
      out.push_back(
          {input, "input-scale",
           absl::StrCat(head, bad_count, " of the ", features, " features (last axis) of ", data,
                        bad_count == 1 ? " is" : " are", " far from unit scale: ",
                        absl::StrJoin(bad, "; "), bad_count > 3 ? "; ..." : "", ".", why,
                        "; a feature this large dominates the first layer. Fix: standardise each "
                        "feature with the training set's mean and std before Fit (Keras: a "
                        "layers.Normalization(axis=-1) first layer, adapted to the data)")});
    } else if (overall.large()) {
      const bool pixels = overall.integral && overall.min >= 0 && overall.max <= 255;
      out.push_back(
          {input, "input-scale",
           absl::StrCat(head, data, " has ", overall.Text(), ".", why,
                        "; inputs this large start the first layer far from where it can learn "
                        "(saturated activations, huge gradients, a loss that diverges). ",
                        pixels ? "These look like raw 8-bit pixel values. Fix: divide by 255 "
                                 "before Fit (Keras: a layers.Rescaling(1./255) first layer)"
                               : absl::StrCat("Fix: standardise before Fit with the training "
                                              "set's statistics, e.g. x = (x - ",
                                              Num(overall.mean()), ") / ", Num(overall.stddev()),
                                              " (Keras: a layers.Normalization first layer, "
                                              "adapted to the data)"))});
    } else if (overall.max_abs() > 0 && overall.max_abs() < kTiny) {
      out.push_back(
          {input, "input-scale",
           absl::StrCat(head, "every value of ", data, " is within +-", Num(overall.max_abs()),
                        " (mean ", Num(overall.mean()), ", std ", Num(overall.stddev()), ").", why,
                        "; inputs this small leave the first layer's outputs near its biases, and "
                        "training crawls. Was the data scaled twice (e.g. divided by 255 twice)? "
                        "Fix: scale it once, to [0, 1] or to mean 0 and std 1")});
    }
  }

  // targets-out-of-range: crossentropy targets must be 0/1 labels or probabilities.
  const bool compiled = compiled_ && compiled_->trainable;
  for (size_t i = 0; compiled && i < y.size() && i < outputs_.size(); ++i) {
    const std::string& loss = compiled_->loss_names[i];
    if (loss != "binary_crossentropy" && loss != "categorical_crossentropy") continue;
    const Tensor& t = y[i];
    if (t.empty() || t.shape().rank() == 0 || t.shape().dim(0) <= 0) continue;
    const int64_t all = t.shape().dim(0), k = std::min(all, std::max<int64_t>(rows, 1));
    const Tensor sample = t.RowsView(0, k);
    Stats s;
    for (int64_t e = 0; e < sample.num_elements(); ++e) {
      if (const double v = sample.AsDouble(e); std::isfinite(v)) s.Add(v);
    }
    if (s.count == 0 || (s.min >= 0 && s.max <= 1)) continue;
    const internal::FunctionalNode* n = outputs_[i].node().get();
    const std::string output = n && n->layer ? n->layer->name() : outputs_[i].name();
    const Shape& shape = outputs_[i].shape();
    const int64_t units = shape.rank() >= 2 ? shape.dim(-1) : 1;
    std::string fix;
    if (s.integral && s.min == -1 && s.max == 1) {
      fix = "they look like -1/+1 labels: map them to 0/1 (y = (y + 1) / 2)";
    } else if (s.integral && s.min >= 0) {
      fix = absl::StrCat("they look like integer class labels 0..", Num(s.max), ": use Dense(",
                         Num(std::max<double>(s.max + 1, static_cast<double>(units))),
                         ", activation='softmax') with loss sparse_categorical_crossentropy",
                         loss == "categorical_crossentropy" ? ", or one-hot encode them" : "");
    } else {
      fix =
          "rescale the targets to [0, 1], or for real-valued targets use a regression loss "
          "(mse) with a linear output";
    }
    const std::string y_name = outputs_.size() == 1 ? "y" : absl::StrCat("y[", i, "]");
    out.push_back(
        {output, "targets-out-of-range",
         absl::StrCat("output ", output, ": the targets ", SampleText(y_name, k, all),
                      " range over [", Num(s.min), ", ", Num(s.max), "], but loss ", loss,
                      " takes targets in [0, 1] (0/1 labels, one-hot rows or probabilities): Fit "
                      "will refuse them. Fix: ",
                      fix)});
  }
  return out;
}

void Model::Advise(const std::vector<LintWarning>& warnings) {
  if (!AdvisorEnabledByEnvironment()) return;
  for (const LintWarning& w : warnings) {
    if (!advised_.insert(absl::StrCat(w.rule, "/", w.layer)).second) continue;
    std::cerr << FormatLintWarning(w) + "\n" << std::flush;
  }
}

// ---- Model::Lint -----------------------------------------------------------------------------

absl::StatusOr<std::vector<LintWarning>> Model::Lint() { return Lint(std::vector<Tensor>{}); }

absl::StatusOr<std::vector<LintWarning>> Model::Lint(const Tensor& x_sample) {
  return Lint(std::vector<Tensor>{x_sample});
}

absl::StatusOr<std::vector<LintWarning>> Model::Lint(const Tensor& x_sample,
                                                     const Tensor& y_sample) {
  return Lint(std::vector<Tensor>{x_sample}, std::vector<Tensor>{y_sample});
}

absl::StatusOr<std::vector<LintWarning>> Model::Lint(const std::vector<Tensor>& x,
                                                     const std::vector<Tensor>& y) {
  if (absl::Status s = Build(); !s.ok()) return s;
  std::shared_lock<std::shared_mutex> lock(*mu_);
  if (!x.empty() && x.size() != inputs_.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Lint: got ", x.size(), " input arrays, but model \"", name_, "\" has ", inputs_.size(),
        " inputs. Fix: pass one sample array per input, in the order of the model's inputs"));
  }
  if (!y.empty()) {
    if (!compiled_ || !compiled_->trainable) {
      return absl::FailedPreconditionError(
          absl::StrCat("Lint: the rules about the targets y need the loss, but model \"", name_,
                       "\" is not compiled. Fix: call Compile() first, or Lint(x) without y"));
    }
    if (y.size() != outputs_.size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Lint: got ", y.size(), " target arrays, but model \"", name_, "\" has ", outputs_.size(),
          " outputs. Fix: pass one target array per output, or none"));
    }
  }
  std::vector<LintWarning> warnings = LintStructure();
  std::vector<LintWarning> data = LintData(x, y, std::numeric_limits<int64_t>::max());
  warnings.insert(warnings.end(), data.begin(), data.end());
  return warnings;
}

}  // namespace graft::keras
