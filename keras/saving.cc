// Saving and loading models (the format: docs/model-format.md).
#include "keras/saving.h"

#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "io/safetensors.h"
#include "keras/functional_internal.h"
#include "keras/layer_config.h"
#include "keras/layer_internal.h"
#include "keras/model_internal.h"
#include "keras/sequential.h"
#include "keras/training_state.h"
#include "io/file.h"
#include "nlohmann/json.hpp"

namespace graft::keras {

using Json = nlohmann::json;

namespace {

constexpr char kModelFormat[] = "graft.model";
constexpr char kWeightsFormat[] = "graft.weights";
constexpr char kSlotPrefix[] = "optimizer/";
constexpr size_t kMaxLayers = 100000;

absl::Status Prefixed(absl::string_view prefix, const absl::Status& s) {
  return absl::Status(s.code(), absl::StrCat(prefix, s.message()));
}

absl::Status Corrupt(absl::string_view source, absl::string_view where, absl::string_view what) {
  return absl::DataLossError(absl::StrCat(source, ": ", where, ": ", what));
}

std::string TypeText(const Tensor& t) { return t.type().ToString(); }

// True when `text` is valid UTF-8, as a JSON string (and so a model file) must be.
bool IsJsonText(const std::string& text) {
  try {
    (void)Json(text).dump();
    return true;
  } catch (const Json::exception&) {
    return false;
  }
}

// The model file and the weights file store names in JSON: the model's, its inputs' and its
// layers' names must be valid UTF-8. The error names the first one that is not, escaped.
absl::Status CheckNamesAreText(const std::string& model_name,
                               const std::vector<KerasTensor>& inputs,
                               const std::vector<Layer>& layers) {
  auto bad = [](absl::string_view what, const std::string& name) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " \"", absl::CHexEscape(name),
                     "\" is not valid UTF-8; model files store names as JSON text: rename it"));
  };
  if (!IsJsonText(model_name)) return bad("the model name", model_name);
  for (const KerasTensor& in : inputs) {
    if (!IsJsonText(in.name())) return bad("input name", in.name());
  }
  for (size_t i = 0; i < layers.size(); ++i) {
    if (!IsJsonText(layers[i]->name())) {
      return bad(absl::StrCat("layer ", i, " (", layers[i]->class_name(), "): name"),
                 layers[i]->name());
    }
  }
  return absl::OkStatus();
}

// The optimizer's hyperparameters as JSON: booleans where Keras has them, and a schedule as
// Keras serialises it ({"class_name": "ExponentialDecay", "config": {...}}).
Json OptimizerConfig(const optim::Optimizer& o) {
  Json c = Json::object();
  if (o.has_schedule()) c["learning_rate"] = optim::SerializeSchedule(*o.schedule());
  for (const auto& [key, value] : o.GetConfig()) {
    if (key == "nesterov" || key == "centered") {
      c[key] = value != 0;
    } else {
      c[key] = value;
    }
  }
  return c;
}

}  // namespace

// Friend of Model: reads and writes its private state.
class ModelFile {
 public:
  // Every weight of the model, "layer/weight", in layer order (brought up to date from packed
  // copies by Layer::weights()).
  static std::vector<io::NamedTensor> Weights(const Model& m) {
    std::vector<io::NamedTensor> out;
    for (const Layer& l : m.layers_) {
      for (const Weight& w : l->weights()) out.push_back({l->name() + "/" + w.name, w.value});
    }
    return out;
  }

  static absl::Status Save(Model& m, const std::string& path,
                           const std::map<std::string, std::string>& extra = {}) {
    if (absl::Status s = m.Build(); !s.ok()) return Prefixed("Save: ", s);
    if (m.data_parallel_rank() != 0) return absl::OkStatus();  // rank 0 saves for all
    if (absl::Status s = CheckNamesAreText(m.name_, m.inputs_, m.layers_); !s.ok()) {
      return Prefixed("Save: ", s);
    }
    Json root = Architecture(m);
    root.update(Json{{"compile_config", nullptr}, {"training_state", nullptr}});
    std::vector<io::NamedTensor> tensors = Weights(m);
    if (m.compiled_ && m.compiled_->trainable) {
      Model::Compiled& c = *m.compiled_;
      Json logits = Json::array();
      for (const LossOptions& o : c.loss_options) logits.push_back(o.from_logits);
      root["compile_config"] = {
          {"optimizer",
           {{"class_name", c.optimizer->name()}, {"config", OptimizerConfig(*c.optimizer)}}},
          {"loss", c.loss_names},
          {"loss_from_logits", logits},
          {"loss_weights", c.loss_weights},
          {"metrics", c.metric_names},
          {"weighted_metrics", c.weighted_metric_names}};
      std::ostringstream stream;
      stream << c.shuffle;
      root["training_state"] = {{"iterations", c.iterations}, {"shuffle_stream", stream.str()}};
      if (absl::Status s = c.graph->SyncVariables(); !s.ok()) return Prefixed("Save: ", s);
      for (Value slot : c.slots) {
        tensors.push_back({kSlotPrefix + c.graph->node(slot).name, c.graph->VariableValue(slot)});
      }
    }
    std::map<std::string, std::string> metadata = {
        {"format", kModelFormat},
        {"format_version", absl::StrCat(kModelFormatVersion)},
        {"graft_model", root.dump()}};
    metadata.insert(extra.begin(), extra.end());
    return Prefixed("Save: ", io::SaveSafetensors(path, tensors, metadata));
  }

  static absl::Status LoadWeights(Model& m, const std::string& path) {
    if (absl::Status s = m.Build(); !s.ok()) return Prefixed("LoadWeights: ", s);
    absl::StatusOr<io::Safetensors> file = io::LoadSafetensors(path);
    if (!file.ok()) return Prefixed("LoadWeights: ", file.status());
    std::vector<io::NamedTensor> found;
    const bool model_file =
        file->metadata.count("format") && file->metadata.at("format") == kModelFormat;
    for (io::NamedTensor& t : file->tensors) {
      if (model_file && t.name.rfind(kSlotPrefix, 0) == 0) continue;  // the optimizer's state
      found.push_back(std::move(t));
    }
    const std::vector<io::NamedTensor> want = Weights(m);
    if (found.size() != want.size()) {
      const size_t i = std::min(found.size(), want.size());
      return absl::InvalidArgumentError(absl::StrCat(
          "LoadWeights: ", path, " holds ", found.size(), " weight tensors but model \"", m.name_,
          "\" has ", want.size(), "; ",
          i < want.size() ? absl::StrCat("the first without a tensor is ", want[i].name, " (",
                                         TypeText(want[i].value), ")")
                          : absl::StrCat("the first extra one is \"", found[i].name, "\" (",
                                         TypeText(found[i].value), ")"),
          ". Was the file saved from another architecture? Nothing was changed."));
    }
    for (size_t i = 0; i < want.size(); ++i) {
      if (!(found[i].value.type() == want[i].value.type())) {
        return absl::InvalidArgumentError(absl::StrCat(
            "LoadWeights: tensor ", i, " of ", path, ", \"", found[i].name, "\", is ",
            TypeText(found[i].value), " but weight ", want[i].name, " of model \"", m.name_,
            "\" expects ", TypeText(want[i].value),
            ". Weights are matched in order (as Keras's load_weights): was the file saved from "
            "another architecture? Nothing was changed."));
      }
    }
    size_t k = 0;  // every tensor fits: now write
    for (const Layer& l : m.layers_) {
      std::vector<Tensor> values;
      for (size_t i = 0; i < l->weights().size(); ++i) values.push_back(found[k++].value);
      if (absl::Status s = l->SetWeights(values); !s.ok()) return Prefixed("LoadWeights: ", s);
    }
    return absl::OkStatus();
  }

  static absl::StatusOr<Model> Load(absl::string_view bytes, absl::string_view source);
  static absl::StatusOr<int> RestoreBackup(Model& m, const std::string& path);
  // The architecture: Keras's Sequential or Functional config.
  static Json Architecture(const Model& m);
};

Json ModelFile::Architecture(const Model& m) {
  Json layers = Json::array();
  if (m.sequential_like_) {
    for (const Layer& l : m.layers_) {
      layers.push_back({{"class_name", l->class_name()}, {"config", l->GetConfig()}});
    }
    return {{"class_name", "Sequential"}, {"config", {{"name", m.name_}, {"layers", layers}}}};
  }
  // Keras's functional config: every input and layer once, each with the tensors of every call
  // ("inbound_nodes": one list per call of [layer, call, 0]).
  auto ref = [](const KerasTensor& t) {
    const internal::FunctionalNode& n = *t.node();
    return n.layer ? Json::array({n.layer->name(), n.call_index, 0})
                   : Json::array({n.input_name, 0, 0});
  };
  Json inputs = Json::array(), outputs = Json::array();
  for (const KerasTensor& in : m.inputs_) {
    Json shape = Json::array({nullptr});
    for (int i = 1; i < in.shape().rank(); ++i) shape.push_back(in.shape().dim(i));
    layers.push_back(
        {{"class_name", "InputLayer"},
         {"name", in.node()->input_name},
         {"config",
          {{"name", in.node()->input_name}, {"batch_input_shape", shape}, {"dtype", "float32"}}},
         {"inbound_nodes", Json::array()}});
    inputs.push_back(ref(in));
  }
  std::map<const LayerImpl*, size_t> at;
  for (const auto& n : m.nodes_) {
    auto [it, first] = at.emplace(n->layer.get(), layers.size());
    if (first) {
      layers.push_back({{"class_name", n->layer->class_name()},
                        {"name", n->layer->name()},
                        {"config", n->layer->GetConfig()},
                        {"inbound_nodes", Json::array()}});
    }
    Json call = Json::array();
    for (const KerasTensor& in : n->inputs) call.push_back(ref(in));
    layers[it->second]["inbound_nodes"].push_back(call);
  }
  for (const KerasTensor& out : m.outputs_) outputs.push_back(ref(out));
  return {{"class_name", "Functional"},
          {"config",
           {{"name", m.name_},
            {"layers", layers},
            {"input_layers", inputs},
            {"output_layers", outputs}}}};
}

namespace {

// Reads `key` of a JSON object, or records where it is missing or of the wrong kind.
class Reader {
 public:
  Reader(absl::string_view source) : source_(source) {}
  const Json* Get(const Json& object, const char* key, const std::string& path,
                  bool (Json::*is)() const, const char* kind, bool nullable = false) {
    if (!status_.ok()) return nullptr;
    if (!object.is_object()) {
      Fail(path, absl::StrCat("expected an object, found ", object.type_name()));
      return nullptr;
    }
    auto it = object.find(key);
    const std::string where = path.empty() ? key : absl::StrCat(path, ".", key);
    if (it == object.end()) {
      Fail(where, absl::StrCat("missing (expected ", kind, ")"));
      return nullptr;
    }
    if (nullable && it->is_null()) return nullptr;
    if (!((*it).*is)()) {
      Fail(where, absl::StrCat("expected ", kind, ", found ", it->type_name()));
      return nullptr;
    }
    return &*it;
  }
  void Fail(const std::string& where, const std::string& what) {
    if (status_.ok()) {
      status_ = Corrupt(source_, absl::StrCat("graft_model ", where), what);
    }
  }
  const absl::Status& status() const { return status_; }

 private:
  absl::string_view source_;
  absl::Status status_;
};

// The functional graph of a Functional config: the inputs, then every call, replayed in an
// order where each call's tensors exist and each layer's calls keep their order. `layers[i]` is
// entry i's layer (null for an InputLayer).
absl::StatusOr<Model> Connect(const Json& config, const std::vector<const Json*>& entries,
                              const std::vector<Layer>& layers, const std::string& name,
                              Reader& r) {
  std::map<std::pair<std::string, int64_t>, KerasTensor> tensors;  // (layer, call) -> output
  std::vector<const Json*> calls(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    const std::string path = absl::StrCat("config.layers[", i, "]");
    const Json* lname = r.Get(*entries[i], "name", path, &Json::is_string, "a string");
    calls[i] = r.Get(*entries[i], "inbound_nodes", path, &Json::is_array, "an array");
    if (!r.status().ok()) return r.status();
    if (layers[i] == nullptr) {
      LayerConfig c((*entries[i])["config"], absl::StrCat(path, ".config"));
      std::string input_name = c.Name();
      std::vector<int64_t> shape = c.InputShape();
      if (absl::Status s = c.Finish(); !s.ok()) return s;
      if (shape.empty()) {
        r.Fail(path + ".config.batch_input_shape", "missing: an InputLayer needs its shape");
        return r.status();
      }
      tensors[{lname->get<std::string>(), 0}] = Input(shape, {.name = input_name});
    } else if (*lname != layers[i]->name()) {
      r.Fail(path + ".name", "differs from the layer config's name");
      return r.status();
    }
  }
  // Each pass makes every call whose inputs exist; a pass that makes none with calls left means
  // a cycle or a reference to nothing.
  std::vector<size_t> next(entries.size(), 0);
  size_t left = 0;
  for (size_t i = 0; i < entries.size(); ++i) left += layers[i] ? calls[i]->size() : 0;
  auto lookup = [&](const Json& ref, std::string* missing) -> std::optional<KerasTensor> {
    if (!ref.is_array() || ref.size() != 3 || !ref[0].is_string() || !ref[1].is_number_unsigned()) {
      *missing = ref.dump().substr(0, 60);
      return std::nullopt;
    }
    auto it = tensors.find({ref[0].get<std::string>(), ref[1].get<int64_t>()});
    if (it == tensors.end()) {
      *missing = ref.dump().substr(0, 60);
      return std::nullopt;
    }
    return it->second;
  };
  std::string missing;
  while (left > 0) {
    size_t made = 0;
    for (size_t i = 0; i < entries.size(); ++i) {
      if (!layers[i]) continue;
      while (next[i] < calls[i]->size()) {
        const Json& call = (*calls[i])[next[i]];
        std::vector<KerasTensor> args;
        bool ready = call.is_array() && !call.empty();
        for (size_t j = 0; ready && j < call.size(); ++j) {
          std::optional<KerasTensor> t = lookup(call[j], &missing);
          if (t) args.push_back(*t);
          ready = t.has_value();
        }
        if (!ready) break;
        KerasTensor y = args.size() == 1 ? layers[i](args[0]) : layers[i](args);
        if (!y.ok()) return y.status();
        tensors[{layers[i]->name(), static_cast<int64_t>(next[i])}] = y;
        ++next[i];
        ++made;
        --left;
      }
    }
    if (made == 0) {
      r.Fail("config.layers[].inbound_nodes",
             absl::StrCat("the calls cannot be replayed: a cycle, or a reference to a tensor no "
                          "layer makes (",
                          missing, ")"));
      return r.status();
    }
  }
  std::vector<KerasTensor> io[2];
  const char* keys[2] = {"input_layers", "output_layers"};
  for (int k = 0; k < 2; ++k) {
    const Json* list = r.Get(config, keys[k], "config", &Json::is_array, "an array");
    if (!r.status().ok()) return r.status();
    for (const Json& ref : *list) {
      std::optional<KerasTensor> t = lookup(ref, &missing);
      if (!t) {
        r.Fail(absl::StrCat("config.", keys[k]), absl::StrCat("unknown tensor ", missing));
        return r.status();
      }
      io[k].push_back(*t);
    }
  }
  Model model(io[0], io[1], name);
  if (absl::Status s = model.Build(); !s.ok()) return s;
  return model;
}

}  // namespace

absl::StatusOr<Model> ModelFile::Load(absl::string_view bytes, absl::string_view source) {
  absl::StatusOr<io::Safetensors> file = io::ParseSafetensors(bytes, source);
  if (!file.ok()) return file.status();
  const std::map<std::string, std::string>& meta = file->metadata;
  auto format = meta.find("format");
  if (format == meta.end() || format->second != kModelFormat) {
    if (format != meta.end() && format->second == kWeightsFormat) {
      return absl::InvalidArgumentError(
          absl::StrCat(source,
                       ": a weights file (SaveWeights), not a whole model: build the model in code "
                       "and call model.LoadWeights(path)"));
    }
    return absl::InvalidArgumentError(absl::StrCat(
        source, ": not a graft model file (__metadata__.format is ",
        format == meta.end() ? "absent" : absl::StrCat("\"", format->second.substr(0, 40), "\""),
        ", expected \"", kModelFormat,
        "\"). A plain safetensors file of weights loads with model.LoadWeights(path)."));
  }
  int version = 0;
  auto version_text = meta.find("format_version");
  if (version_text == meta.end() || !absl::SimpleAtoi(version_text->second, &version) ||
      version < 1) {
    return Corrupt(source, "__metadata__.format_version", "missing or not a positive integer");
  }
  if (version > kModelFormatVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        source, ": written by a newer graft (model format version ", version,
        "; this graft reads versions up to ", kModelFormatVersion,
        "). Upgrade graft, or save the weights alone (SaveWeights) with the newer one."));
  }
  auto text = meta.find("graft_model");
  if (text == meta.end()) return Corrupt(source, "__metadata__.graft_model", "missing");
  Json root;
  try {
    root = Json::parse(text->second);
  } catch (const Json::parse_error& e) {
    return Corrupt(source, absl::StrCat("__metadata__.graft_model byte ", e.byte),
                   absl::StrCat("not valid JSON (", e.what(), ")"));
  }
  Reader r(source);
  const Json* klass = r.Get(root, "class_name", "", &Json::is_string, "a string");
  if (klass && *klass != "Sequential" && *klass != "Functional") {
    return absl::UnimplementedError(
        absl::StrCat(source, ": graft_model.class_name is ", klass->dump().substr(0, 40),
                     "; this graft loads Sequential and Functional models"));
  }
  const bool sequential = klass && *klass == "Sequential";
  const Json* config = r.Get(root, "config", "", &Json::is_object, "an object");
  const Json* name =
      config ? r.Get(*config, "name", "config", &Json::is_string, "a string") : nullptr;
  const Json* layer_list =
      config ? r.Get(*config, "layers", "config", &Json::is_array, "an array") : nullptr;
  if (!r.status().ok()) return r.status();
  if (layer_list->empty() || layer_list->size() > kMaxLayers) {
    return Corrupt(
        source, "graft_model config.layers",
        absl::StrCat("expected 1 to ", kMaxLayers, " layers, found ", layer_list->size()));
  }
  // Weights built from the config may not take more than the file holds.
  uint64_t file_bytes = 0;
  for (const io::NamedTensor& t : file->tensors) file_bytes += t.value.nbytes();
  internal::ScopedWeightBudget budget(file_bytes);
  std::vector<Layer> layers;
  std::vector<const Json*> entries;
  for (size_t i = 0; i < layer_list->size(); ++i) {
    const std::string path = absl::StrCat("config.layers[", i, "]");
    const Json& entry = (*layer_list)[i];
    const Json* cls = r.Get(entry, "class_name", path, &Json::is_string, "a string");
    const Json* cfg = r.Get(entry, "config", path, &Json::is_object, "an object");
    if (!r.status().ok()) return r.status();
    entries.push_back(&entry);
    if (!sequential && *cls == "InputLayer") {
      layers.push_back(nullptr);  // an input: made by Connect
      continue;
    }
    absl::StatusOr<Layer> layer = LayerFromConfig(
        cls->get<std::string>(), *cfg, absl::StrCat(source, ": graft_model ", path, ".config"));
    if (!layer.ok()) return layer.status();
    layers.push_back(*std::move(layer));
  }
  absl::StatusOr<Model> built = [&]() -> absl::StatusOr<Model> {
    if (sequential) {
      Sequential chain(layers, name->get<std::string>());
      if (absl::Status s = chain.Build(); !s.ok()) return s;
      return Model(std::move(chain));
    }
    return Connect(*config, entries, layers, name->get<std::string>(), r);
  }();
  if (!built.ok()) {
    return Prefixed(absl::StrCat(source, ": the saved architecture does not build: "),
                    built.status());
  }
  Model model = *std::move(built);

  std::set<std::string> used;
  auto take = [&](const std::string& tensor_name, const Tensor& want) -> absl::StatusOr<Tensor> {
    const Tensor* t = file->Find(tensor_name);
    if (t == nullptr) {
      return Corrupt(source, absl::StrCat("tensor \"", tensor_name, "\""),
                     absl::StrCat("missing; the model needs it as ", TypeText(want)));
    }
    if (!(t->type() == want.type())) {
      return Corrupt(source, absl::StrCat("tensor \"", tensor_name, "\""),
                     absl::StrCat("is ", TypeText(*t), " but the model needs ", TypeText(want)));
    }
    used.insert(tensor_name);
    return *t;
  };
  for (const Layer& l : model.layers_) {
    std::vector<Tensor> values;
    for (const Weight& w : l->weights()) {
      absl::StatusOr<Tensor> t = take(l->name() + "/" + w.name, w.value);
      if (!t.ok()) return t.status();
      values.push_back(*t);
    }
    if (absl::Status s = l->SetWeights(values); !s.ok()) return Prefixed(source, s);
  }

  const Json* compile = r.Get(root, "compile_config", "", &Json::is_object, "an object or null",
                              /*nullable=*/true);
  if (!r.status().ok()) return r.status();
  if (compile != nullptr) {
    const Json* opt = r.Get(*compile, "optimizer", "compile_config", &Json::is_object, "an object");
    const Json* opt_name =
        opt ? r.Get(*opt, "class_name", "compile_config.optimizer", &Json::is_string, "a string")
            : nullptr;
    const Json* opt_config =
        opt ? r.Get(*opt, "config", "compile_config.optimizer", &Json::is_object, "an object")
            : nullptr;
    const Json* loss = r.Get(*compile, "loss", "compile_config", &Json::is_array,
                             "a list of loss names, one per output");
    const Json* logits = r.Get(*compile, "loss_from_logits", "compile_config", &Json::is_array,
                               "a list of true / false, one per output");
    const Json* weights = r.Get(*compile, "loss_weights", "compile_config", &Json::is_array,
                                "a list of numbers, one per output");
    const Json* metrics = r.Get(*compile, "metrics", "compile_config", &Json::is_array,
                                "a list of metric-name lists, one per output");
    if (!r.status().ok()) return r.status();
    const size_t outputs = model.outputs().size();
    for (auto [list, key] : {std::pair{loss, "loss"},
                             {logits, "loss_from_logits"},
                             {weights, "loss_weights"},
                             {metrics, "metrics"}}) {
      if (list->size() != outputs) {
        r.Fail(
            absl::StrCat("compile_config.", key),
            absl::StrCat("has ", list->size(), " entries but the model has ", outputs, " outputs"));
        return r.status();
      }
    }
    std::vector<std::pair<std::string, double>> hyper;
    optim::LearningRateSchedulePtr schedule;
    for (const auto& [key, value] : opt_config->items()) {
      if (key == "learning_rate" && value.is_object()) {
        absl::StatusOr<optim::LearningRateSchedulePtr> s = optim::DeserializeSchedule(value);
        if (!s.ok()) {
          r.Fail("compile_config.optimizer.config.learning_rate",
                 std::string(s.status().message()));
          return r.status();
        }
        schedule = *std::move(s);
        continue;
      }
      if (!value.is_number() && !value.is_boolean()) {
        r.Fail(absl::StrCat("compile_config.optimizer.config.", key),
               absl::StrCat("expected a number, found ", value.type_name()));
        return r.status();
      }
      hyper.push_back(
          {key, value.is_boolean() ? (value.get<bool>() ? 1.0 : 0.0) : value.get<double>()});
    }
    absl::StatusOr<std::unique_ptr<optim::Optimizer>> optimizer =
        optim::OptimizerFromConfig(opt_name->get<std::string>(), hyper);
    if (optimizer.ok() && schedule) {
      if (absl::Status s = (*optimizer)->SetLearningRate(schedule); !s.ok()) optimizer = s;
    }
    if (!optimizer.ok()) {
      return Prefixed(absl::StrCat(source, ": graft_model compile_config.optimizer: "),
                      optimizer.status());
    }
    CompileOptions options{.optimizer = std::shared_ptr<optim::Optimizer>(*std::move(optimizer))};
    for (size_t i = 0; i < outputs; ++i) {
      const Json &l = (*loss)[i], &g = (*logits)[i], &w = (*weights)[i], &m = (*metrics)[i];
      const std::string at = absl::StrCat("[", i, "]");
      if (!l.is_string() || !g.is_boolean() || !w.is_number() || !m.is_array()) {
        r.Fail(absl::StrCat("compile_config.(loss, loss_from_logits, loss_weights, metrics)", at),
               "expected a string, a boolean, a number and a list of strings");
        return r.status();
      }
      options.losses.push_back(Loss(l.get<std::string>(), {.from_logits = g.get<bool>()}));
      options.loss_weights.push_back(w.get<double>());
      std::vector<std::string> names;
      for (const Json& name_json : m) {
        if (!name_json.is_string()) {
          r.Fail(absl::StrCat("compile_config.metrics", at), "expected a list of strings");
          return r.status();
        }
        names.push_back(name_json.get<std::string>());
      }
      options.output_metrics.push_back(std::move(names));
    }
    // Optional (files written before weighted metrics existed have none): one list per output.
    if (auto it = compile->find("weighted_metrics"); it != compile->end()) {
      const Json& lists = *it;
      bool ok = lists.is_array() && lists.size() == outputs;
      for (size_t i = 0; ok && i < outputs; ++i) {
        std::vector<std::string> names;
        ok = lists[i].is_array();
        for (size_t j = 0; ok && j < lists[i].size(); ++j) {
          ok = lists[i][j].is_string();
          if (ok) names.push_back(lists[i][j].get<std::string>());
        }
        options.output_weighted_metrics.push_back(std::move(names));
      }
      if (!ok) {
        r.Fail("compile_config.weighted_metrics",
               absl::StrCat("expected a list of ", outputs, " metric-name lists, one per output"));
        return r.status();
      }
    }
    if (absl::Status s = model.Compile(options); !s.ok()) {
      return Prefixed(absl::StrCat(source, ": graft_model compile_config: "), s);
    }
    Model::Compiled& c = *model.compiled_;
    for (Value slot : c.slots) {
      Tensor value = c.graph->VariableValue(slot);
      absl::StatusOr<Tensor> t = take(kSlotPrefix + c.graph->node(slot).name, value);
      if (!t.ok()) return t.status();
      value.CopyFrom(*t);
    }
    const Json* state = r.Get(root, "training_state", "", &Json::is_object, "an object");
    const Json* iterations = state ? r.Get(*state, "iterations", "training_state",
                                           &Json::is_number_unsigned, "a count >= 0")
                                   : nullptr;
    const Json* stream =
        state ? r.Get(*state, "shuffle_stream", "training_state", &Json::is_string, "a string")
              : nullptr;
    if (!r.status().ok()) return r.status();
    if (iterations->get<uint64_t>() > (uint64_t{1} << 53)) {
      r.Fail("training_state.iterations", "larger than 2^53");
      return r.status();
    }
    c.iterations = static_cast<int64_t>(iterations->get<uint64_t>());
    std::istringstream in(stream->get<std::string>());
    in >> c.shuffle;
    if (in.fail()) {
      r.Fail("training_state.shuffle_stream", "not the state of a std::mt19937_64");
      return r.status();
    }
  }
  for (const io::NamedTensor& t : file->tensors) {
    if (!used.count(t.name)) {
      return Corrupt(source, absl::StrCat("tensor \"", t.name.substr(0, 80), "\""),
                     "is not a weight of the saved model nor optimizer state of its compile "
                     "configuration (edited, or written by a newer graft?)");
    }
  }
  return model;
}

constexpr char kBackupEpoch[] = "graft_backup_epoch";

absl::StatusOr<int> ModelFile::RestoreBackup(Model& m, const std::string& path) {
  absl::StatusOr<io::Safetensors> file = io::LoadSafetensors(path);
  if (!file.ok()) return file.status();
  auto epoch_entry = file->metadata.find(kBackupEpoch);
  int epoch = -1;
  if (epoch_entry == file->metadata.end() || !absl::SimpleAtoi(epoch_entry->second, &epoch) ||
      epoch < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, " is not a BackupAndRestore backup (no valid \"", kBackupEpoch, "\" metadata)"));
  }
  absl::StatusOr<std::string> bytes = io::ReadWholeFile(path);
  if (!bytes.ok()) return bytes.status();
  absl::StatusOr<Model> saved = Load(*bytes, path);
  if (!saved.ok()) return saved.status();
  if (!saved->compiled_ || !saved->compiled_->trainable || !m.compiled_ ||
      !m.compiled_->trainable) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " holds no training state, or the model is not compiled"));
  }
  Model::Compiled& from = *saved->compiled_;
  Model::Compiled& to = *m.compiled_;
  if (from.slots.size() != to.slots.size() || from.optimizer->name() != to.optimizer->name()) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, " was saved with optimizer ", from.optimizer->name(), " (", from.slots.size(),
        " slot variables) but this model trains with ", to.optimizer->name(), " (",
        to.slots.size(), ")"));
  }
  for (size_t i = 0; i < to.slots.size(); ++i) {
    const Tensor a = from.graph->VariableValue(from.slots[i]);
    if (!(a.type() == to.graph->VariableValue(to.slots[i]).type())) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": optimizer slot ", to.graph->node(to.slots[i]).name, " is ", TypeText(a),
          " in the file but ", TypeText(to.graph->VariableValue(to.slots[i])), " here"));
    }
  }
  std::vector<Tensor> weights;
  for (const Layer& l : saved->layers_) {
    for (const Weight& w : l->weights()) weights.push_back(w.value);
  }
  if (absl::Status s = m.SetWeights(weights); !s.ok()) return Prefixed(absl::StrCat(path, ": "), s);
  if (absl::Status s = to.graph->SyncVariables(/*release_packed=*/true); !s.ok()) return s;
  for (size_t i = 0; i < to.slots.size(); ++i) {
    Tensor value = to.graph->VariableValue(to.slots[i]);
    value.CopyFrom(from.graph->VariableValue(from.slots[i]));
  }
  to.iterations = from.iterations;
  to.shuffle = from.shuffle;
  m.resume_epoch_ = epoch + 1;
  return epoch;
}

namespace internal {
absl::Status SaveBackup(Model& m, const std::string& path, int completed_epoch) {
  return ModelFile::Save(m, path, {{kBackupEpoch, absl::StrCat(completed_epoch)}});
}
absl::StatusOr<int> RestoreBackup(Model& m, const std::string& path) {
  return ModelFile::RestoreBackup(m, path);
}
}  // namespace internal

absl::Status Model::Save(const std::string& path) {
  std::shared_lock<std::shared_mutex> lock = ReadLock();
  return ModelFile::Save(*this, path);
}

absl::Status Model::SaveWeights(const std::string& path) {
  std::shared_lock<std::shared_mutex> lock = ReadLock();
  if (absl::Status s = Build(); !s.ok()) return Prefixed("SaveWeights: ", s);
  if (data_parallel_rank() != 0) return absl::OkStatus();  // rank 0 saves for all
  if (absl::Status s = CheckNamesAreText(name_, inputs_, layers_); !s.ok()) {
    return Prefixed("SaveWeights: ", s);
  }
  return Prefixed("SaveWeights: ",
                  io::SaveSafetensors(path, ModelFile::Weights(*this),
                                      {{"format", kWeightsFormat},
                                       {"format_version", absl::StrCat(kModelFormatVersion)}}));
}

absl::Status Model::LoadWeights(const std::string& path) {
  std::unique_lock<std::shared_mutex> lock = WriteLock();
  return ModelFile::LoadWeights(*this, path);
}

absl::StatusOr<Model> LoadModelFromBytes(absl::string_view bytes, absl::string_view source) {
  return ModelFile::Load(bytes, source);
}

absl::StatusOr<Model> LoadModel(const std::string& path) {
  absl::StatusOr<std::string> bytes = io::ReadWholeFile(path);
  if (!bytes.ok()) return Prefixed("LoadModel: ", bytes.status());
  return ModelFile::Load(*bytes, path);
}

}  // namespace graft::keras
