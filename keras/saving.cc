// Saving and loading Sequential models (the format: docs/model-format.md).
#include "keras/saving.h"

#include <set>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "io/safetensors.h"
#include "keras/layer_config.h"
#include "keras/sequential_internal.h"
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

// The optimizer's hyperparameters as JSON: booleans where Keras has them.
Json OptimizerConfig(const optim::Optimizer& o) {
  Json c = Json::object();
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

// Friend of Sequential: reads and writes its private state.
class ModelFile {
 public:
  // Every weight of the model, "layer/weight", in layer order (brought up to date from packed
  // copies by Layer::weights()).
  static std::vector<io::NamedTensor> Weights(const Sequential& m) {
    std::vector<io::NamedTensor> out;
    for (const Layer& l : m.layers_) {
      for (const Weight& w : l->weights()) out.push_back({l->name() + "/" + w.name, w.value});
    }
    return out;
  }

  static absl::Status Save(Sequential& m, const std::string& path) {
    if (absl::Status s = m.Build(); !s.ok()) return Prefixed("Save: ", s);
    Json layers = Json::array();
    for (const Layer& l : m.layers_) {
      layers.push_back({{"class_name", l->class_name()}, {"config", l->GetConfig()}});
    }
    Json root = {{"class_name", "Sequential"},
                 {"config", {{"name", m.name_}, {"layers", layers}}},
                 {"compile_config", nullptr},
                 {"training_state", nullptr}};
    std::vector<io::NamedTensor> tensors = Weights(m);
    if (m.compiled_ && m.compiled_->trainable) {
      Sequential::Compiled& c = *m.compiled_;
      root["compile_config"] = {
          {"optimizer",
           {{"class_name", c.optimizer->name()}, {"config", OptimizerConfig(*c.optimizer)}}},
          {"loss", c.loss_name},
          {"loss_from_logits", c.loss_options.from_logits},
          {"metrics", c.metric_names}};
      std::ostringstream stream;
      stream << c.shuffle;
      root["training_state"] = {{"iterations", c.iterations}, {"shuffle_stream", stream.str()}};
      if (absl::Status s = c.graph->SyncVariables(); !s.ok()) return Prefixed("Save: ", s);
      for (Value slot : c.slots) {
        tensors.push_back({kSlotPrefix + c.graph->node(slot).name, c.graph->VariableValue(slot)});
      }
    }
    const std::map<std::string, std::string> metadata = {
        {"format", kModelFormat},
        {"format_version", absl::StrCat(kModelFormatVersion)},
        {"graft_model", root.dump()}};
    return Prefixed("Save: ", io::SaveSafetensors(path, tensors, metadata));
  }

  static absl::Status LoadWeights(Sequential& m, const std::string& path) {
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

  static absl::StatusOr<Sequential> Load(absl::string_view bytes, absl::string_view source);
};

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

}  // namespace

absl::StatusOr<Sequential> ModelFile::Load(absl::string_view bytes, absl::string_view source) {
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
  if (klass && *klass != "Sequential") {
    return absl::UnimplementedError(absl::StrCat(source, ": graft_model.class_name is ",
                                                 klass->dump().substr(0, 40),
                                                 "; this graft loads Sequential models"));
  }
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
  for (size_t i = 0; i < layer_list->size(); ++i) {
    const std::string path = absl::StrCat("config.layers[", i, "]");
    const Json& entry = (*layer_list)[i];
    const Json* cls = r.Get(entry, "class_name", path, &Json::is_string, "a string");
    const Json* cfg = r.Get(entry, "config", path, &Json::is_object, "an object");
    if (!r.status().ok()) return r.status();
    absl::StatusOr<Layer> layer = LayerFromConfig(
        cls->get<std::string>(), *cfg, absl::StrCat(source, ": graft_model ", path, ".config"));
    if (!layer.ok()) return layer.status();
    layers.push_back(*std::move(layer));
  }
  Sequential model(std::move(layers), name->get<std::string>());
  if (absl::Status s = model.Build(); !s.ok()) {
    return Prefixed(absl::StrCat(source, ": the saved architecture does not build: "), s);
  }

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
    const Json* loss = r.Get(*compile, "loss", "compile_config", &Json::is_string, "a string");
    const Json* logits =
        r.Get(*compile, "loss_from_logits", "compile_config", &Json::is_boolean, "true or false");
    const Json* metrics =
        r.Get(*compile, "metrics", "compile_config", &Json::is_array, "an array of strings");
    if (!r.status().ok()) return r.status();
    std::vector<std::pair<std::string, double>> hyper;
    for (const auto& [key, value] : opt_config->items()) {
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
    if (!optimizer.ok()) {
      return Prefixed(absl::StrCat(source, ": graft_model compile_config.optimizer: "),
                      optimizer.status());
    }
    CompileOptions options{
        .optimizer = std::shared_ptr<optim::Optimizer>(*std::move(optimizer)),
        .loss = Loss(loss->get<std::string>(), {.from_logits = logits->get<bool>()})};
    for (size_t i = 0; i < metrics->size(); ++i) {
      if (!(*metrics)[i].is_string()) {
        r.Fail(absl::StrCat("compile_config.metrics[", i, "]"), "expected a string");
        return r.status();
      }
      options.metrics.push_back((*metrics)[i].get<std::string>());
    }
    if (absl::Status s = model.Compile(options); !s.ok()) {
      return Prefixed(absl::StrCat(source, ": graft_model compile_config: "), s);
    }
    Sequential::Compiled& c = *model.compiled_;
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

absl::Status Sequential::Save(const std::string& path) { return ModelFile::Save(*this, path); }

absl::Status Sequential::SaveWeights(const std::string& path) {
  if (absl::Status s = Build(); !s.ok()) return Prefixed("SaveWeights: ", s);
  return Prefixed("SaveWeights: ",
                  io::SaveSafetensors(path, ModelFile::Weights(*this),
                                      {{"format", kWeightsFormat},
                                       {"format_version", absl::StrCat(kModelFormatVersion)}}));
}

absl::Status Sequential::LoadWeights(const std::string& path) {
  return ModelFile::LoadWeights(*this, path);
}

absl::StatusOr<Sequential> LoadModelFromBytes(absl::string_view bytes, absl::string_view source) {
  return ModelFile::Load(bytes, source);
}

absl::StatusOr<Sequential> LoadModel(const std::string& path) {
  absl::StatusOr<std::string> bytes = io::ReadWholeFile(path);
  if (!bytes.ok()) return Prefixed("LoadModel: ", bytes.status());
  return ModelFile::Load(*bytes, path);
}

}  // namespace graft::keras
