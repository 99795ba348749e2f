// Layer configs: the reader, the registry, and the factories of graft's built-in layers (each
// layer's GetConfig is beside its implementation).
#include "keras/layer_config.h"

#include <map>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "keras/reshaping_layers.h"

namespace graft::keras {

using Json = nlohmann::json;

LayerConfig::LayerConfig(const Json& config, std::string path)
    : config_(config), path_(std::move(path)) {
  if (!config_.is_object()) {
    status_ = absl::InvalidArgumentError(
        absl::StrCat(path_, ": expected an object of layer options, found ", config_.type_name()));
  }
}

void LayerConfig::Fail(const char* key, const std::string& what) {
  if (status_.ok()) {
    status_ = absl::InvalidArgumentError(absl::StrCat(path_, ".", key, ": ", what));
  }
}

const Json* LayerConfig::Find(const char* key, bool required) {
  read_.insert(key);
  if (!config_.is_object()) return nullptr;
  auto it = config_.find(key);
  if (it == config_.end() || (it->is_null() && !required)) {
    if (required) Fail(key, "missing (required)");
    return nullptr;
  }
  return &*it;
}

namespace {
std::string Found(const Json& j) {
  return absl::StrCat("found ", j.type_name(), " ", j.dump().substr(0, 60));
}
}  // namespace

namespace {
// Sizes and counts in a config stay far from int64's limits, so that no shape arithmetic on them
// can overflow (a config is user input).
constexpr int64_t kMaxConfigInt = int64_t{1} << 31;
bool InRange(const Json& j) {
  if (j.is_number_unsigned()) return j.get<uint64_t>() <= static_cast<uint64_t>(kMaxConfigInt);
  return j.is_number_integer() && j.get<int64_t>() >= -kMaxConfigInt &&
         j.get<int64_t>() <= kMaxConfigInt;
}
}  // namespace

int64_t LayerConfig::Int(const char* key, std::optional<int64_t> fallback) {
  const Json* j = Find(key, !fallback.has_value());
  if (j == nullptr) return fallback.value_or(0);
  if (!j->is_number_integer() || !InRange(*j)) {
    Fail(key, absl::StrCat("expected an integer in [-2^31, 2^31], ", Found(*j)));
    return fallback.value_or(0);
  }
  return j->get<int64_t>();
}

uint64_t LayerConfig::Uint64(const char* key, std::optional<uint64_t> fallback) {
  const Json* j = Find(key, !fallback.has_value());
  if (j == nullptr) return fallback.value_or(0);
  if (!j->is_number_unsigned()) {
    Fail(key, absl::StrCat("expected an integer in [0, 2^64), ", Found(*j)));
    return fallback.value_or(0);
  }
  return j->get<uint64_t>();
}

double LayerConfig::Double(const char* key, std::optional<double> fallback) {
  const Json* j = Find(key, !fallback.has_value());
  if (j == nullptr) return fallback.value_or(0);
  if (!j->is_number()) {
    Fail(key, absl::StrCat("expected a number, ", Found(*j)));
    return fallback.value_or(0);
  }
  return j->get<double>();
}

bool LayerConfig::Bool(const char* key, std::optional<bool> fallback) {
  const Json* j = Find(key, !fallback.has_value());
  if (j == nullptr) return fallback.value_or(false);
  if (!j->is_boolean()) {
    Fail(key, absl::StrCat("expected true or false, ", Found(*j)));
    return fallback.value_or(false);
  }
  return j->get<bool>();
}

std::string LayerConfig::String(const char* key, std::optional<std::string> fallback) {
  const Json* j = Find(key, !fallback.has_value());
  if (j == nullptr) return fallback.value_or("");
  if (!j->is_string()) {
    Fail(key, absl::StrCat("expected a string, ", Found(*j)));
    return fallback.value_or("");
  }
  return j->get<std::string>();
}

std::vector<int64_t> LayerConfig::Ints(const char* key,
                                       std::optional<std::vector<int64_t>> fallback) {
  const Json* j = Find(key, !fallback.has_value());
  if (j == nullptr) return fallback.value_or(std::vector<int64_t>{});
  if (j->is_number_integer() && InRange(*j)) return {j->get<int64_t>()};
  std::vector<int64_t> out;
  if (j->is_array() && j->size() <= 16) {
    for (const Json& v : *j) {
      if (!v.is_number_integer() || !InRange(v)) break;
      out.push_back(v.get<int64_t>());
    }
    if (out.size() == j->size()) return out;
  }
  Fail(key, absl::StrCat("expected an integer or a list of at most 16 integers in [-2^31, 2^31], ",
                         Found(*j)));
  return fallback.value_or(std::vector<int64_t>{});
}

std::vector<std::vector<int64_t>> LayerConfig::NestedInts(
    const char* key, std::optional<std::vector<std::vector<int64_t>>> fallback) {
  using Nested = std::vector<std::vector<int64_t>>;
  const Json* j = Find(key, !fallback.has_value());
  if (j == nullptr) return fallback.value_or(Nested{});
  if (j->is_number_integer() && InRange(*j)) return {{j->get<int64_t>()}};
  Nested out;
  if (j->is_array() && j->size() <= 16) {
    for (const Json& entry : *j) {
      std::vector<int64_t> inner;
      if (entry.is_number_integer() && InRange(entry)) {
        inner.push_back(entry.get<int64_t>());
      } else if (entry.is_array() && entry.size() <= 16) {
        for (const Json& v : entry) {
          if (!v.is_number_integer() || !InRange(v)) break;
          inner.push_back(v.get<int64_t>());
        }
        if (inner.size() != entry.size()) break;
      } else {
        break;
      }
      out.push_back(std::move(inner));
    }
    if (out.size() == j->size()) return out;
  }
  Fail(key, absl::StrCat("expected an integer or a list of integers or integer lists (at most 16 "
                         "each, in [-2^31, 2^31]), ",
                         Found(*j)));
  return fallback.value_or(Nested{});
}

std::string LayerConfig::Name() {
  std::string name = String("name");
  if (ok() && name.empty()) Fail("name", "must not be empty");
  Bool("trainable", true);
  const std::string dtype = String("dtype", "float32");
  if (dtype != "float32") {
    Fail("dtype", absl::StrCat("graft layers compute in float32, found \"", dtype, "\""));
  }
  return name;
}

std::vector<int64_t> LayerConfig::InputShape() {
  const Json* j = Find("batch_input_shape", false);
  if (j == nullptr) return {};
  if (!j->is_array() || j->empty() || !(*j)[0].is_null() || j->size() > 17) {
    Fail("batch_input_shape", absl::StrCat("expected [null, d1, d2, ...], ", Found(*j)));
    return {};
  }
  std::vector<int64_t> dims;
  int64_t elements = 1;
  for (size_t i = 1; i < j->size(); ++i) {
    const Json& d = (*j)[i];
    if (!d.is_number_integer() || !InRange(d) || d.get<int64_t>() <= 0 ||
        elements > (int64_t{1} << 40) / d.get<int64_t>()) {
      Fail("batch_input_shape",
           absl::StrCat("sizes after the batch must be positive integers of at most 2^40 "
                        "elements in all, ",
                        Found(*j)));
      return {};
    }
    elements *= d.get<int64_t>();
    dims.push_back(d.get<int64_t>());
  }
  return dims;
}

std::string LayerConfig::Activation(const char* key) {
  std::string a = String(key, "linear");
  return a == "linear" ? "" : a;
}

absl::Status LayerConfig::Finish() {
  if (!status_.ok()) return status_;
  for (const auto& [key, value] : config_.items()) {
    if (!read_.count(key)) {
      return absl::InvalidArgumentError(
          absl::StrCat(path_, ": unknown option \"", key.substr(0, 60),
                       "\" for this layer (written by a newer graft, or edited by hand?)"));
    }
  }
  return absl::OkStatus();
}

namespace {
std::mutex registry_mu;
std::map<std::string, LayerFactory>& Registry() {
  static auto* registry = new std::map<std::string, LayerFactory>();
  return *registry;
}
}  // namespace

void RegisterLayerClass(const std::string& class_name, LayerFactory factory) {
  std::lock_guard<std::mutex> lock(registry_mu);
  Registry()[class_name] = std::move(factory);
}

std::vector<std::string> RegisteredLayerClasses() {
  std::lock_guard<std::mutex> lock(registry_mu);
  std::vector<std::string> names;
  for (const auto& [name, factory] : Registry()) names.push_back(name);
  return names;
}

absl::StatusOr<Layer> LayerFromConfig(const std::string& class_name, const Json& config,
                                      const std::string& path) {
  LayerFactory factory;
  {
    std::lock_guard<std::mutex> lock(registry_mu);
    auto it = Registry().find(class_name);
    if (it != Registry().end()) factory = it->second;
  }
  if (!factory) {
    return absl::NotFoundError(absl::StrCat(
        path, ": unknown layer class \"", class_name.substr(0, 60),
        "\"; registered: ", absl::StrJoin(RegisteredLayerClasses(), ", "),
        ". A custom layer must be registered (GRAFT_REGISTER_LAYER) in the loading program."));
  }
  LayerConfig reader(config, path);
  absl::StatusOr<Layer> layer = factory(reader);
  if (!layer.ok()) return layer.status();
  if (absl::Status s = reader.Finish(); !s.ok()) return s;
  if (*layer == nullptr)
    return absl::InternalError(
        absl::StrCat(path, ": the factory of ", class_name, " returned null"));
  return layer;
}

Json BaseLayerConfig(const LayerImpl& layer) {
  Json c = {{"name", layer.name()}, {"trainable", true}, {"dtype", "float32"}};
  if (!layer.input_shape().empty()) {
    Json shape = Json::array({nullptr});
    for (int64_t d : layer.input_shape()) shape.push_back(d);
    c["batch_input_shape"] = shape;
  }
  return c;
}

// ---- graft's layers ---------------------------------------------------------------------------

namespace {

// A per-spatial-dimension option of `rank` entries; one integer stands for all.
std::vector<int64_t> Spatial(LayerConfig& c, const char* key, size_t rank,
                             std::optional<int64_t> fallback = std::nullopt) {
  std::optional<std::vector<int64_t>> fb;
  if (fallback) fb = std::vector<int64_t>(rank, *fallback);
  std::vector<int64_t> v = c.Ints(key, fb);
  if (v.size() == 1) v.resize(rank, v[0]);
  if (v.size() != rank) {
    c.Fail(key,
           absl::StrCat("expected ", rank, " value", rank == 1 ? "" : "s", ", found ", v.size()));
    return std::vector<int64_t>(rank, 1);
  }
  return v;
}

// graft's layers are channels-last (Keras's default); a channels_first config is refused.
void ChannelsLast(LayerConfig& c) {
  const std::string f = c.String("data_format", "channels_last");
  if (f != "channels_last") {
    c.Fail("data_format", absl::StrCat("graft layers are channels_last, found \"", f, "\""));
  }
}

template <typename Options>
void Common(LayerConfig& c, Options& o) {
  o.name = c.Name();
  o.input_shape = c.InputShape();
}

absl::StatusOr<Layer> Done(LayerConfig& c, Layer layer) {
  if (!c.ok()) return c.status();
  return layer;
}

GRAFT_REGISTER_LAYER("Conv1D", [](LayerConfig& c) {
  Conv1DOptions o;
  Common(c, o);
  const int64_t filters = c.Int("filters");
  const int64_t kernel = Spatial(c, "kernel_size", 1)[0];
  o.strides = Spatial(c, "strides", 1, 1)[0];
  o.padding = c.String("padding", "valid");
  ChannelsLast(c);
  o.dilation_rate = Spatial(c, "dilation_rate", 1, 1)[0];
  o.groups = c.Int("groups", 1);
  o.activation = c.Activation();
  o.use_bias = c.Bool("use_bias", true);
  o.kernel_initializer = c.String("kernel_initializer", "glorot_uniform");
  o.bias_initializer = c.String("bias_initializer", "zeros");
  return Done(c, layers::Conv1D(filters, kernel, o));
});

GRAFT_REGISTER_LAYER("Conv2D", [](LayerConfig& c) {
  Conv2DOptions o;
  Common(c, o);
  const int64_t filters = c.Int("filters");
  const std::vector<int64_t> k = Spatial(c, "kernel_size", 2);
  const std::vector<int64_t> s = Spatial(c, "strides", 2, 1);
  o.strides = {s[0], s[1]};
  o.padding = c.String("padding", "valid");
  ChannelsLast(c);
  const std::vector<int64_t> d = Spatial(c, "dilation_rate", 2, 1);
  o.dilation_rate = {d[0], d[1]};
  o.groups = c.Int("groups", 1);
  o.activation = c.Activation();
  o.use_bias = c.Bool("use_bias", true);
  o.kernel_initializer = c.String("kernel_initializer", "glorot_uniform");
  o.bias_initializer = c.String("bias_initializer", "zeros");
  return Done(c, layers::Conv2D(filters, {k[0], k[1]}, o));
});

template <int kRank>
absl::StatusOr<Layer> Pooling(LayerConfig& c, bool max) {
  const std::vector<int64_t> pool = Spatial(c, "pool_size", kRank, 2);
  // strides: null (= pool_size) is read as 0, graft's "None".
  const std::vector<int64_t> strides = Spatial(c, "strides", kRank, 0);
  const std::string padding = c.String("padding", "valid");
  ChannelsLast(c);
  if constexpr (kRank == 1) {
    Pooling1DOptions o{.strides = strides[0], .padding = padding};
    Common(c, o);
    return Done(c, max ? layers::MaxPooling1D(pool[0], o) : layers::AveragePooling1D(pool[0], o));
  } else {
    Pooling2DOptions o{.strides = {strides[0], strides[1]}, .padding = padding};
    Common(c, o);
    const Size2 p(pool[0], pool[1]);
    return Done(c, max ? layers::MaxPooling2D(p, o) : layers::AveragePooling2D(p, o));
  }
}
GRAFT_REGISTER_LAYER("MaxPooling1D", [](LayerConfig& c) { return Pooling<1>(c, true); });
GRAFT_REGISTER_LAYER("AveragePooling1D", [](LayerConfig& c) { return Pooling<1>(c, false); });
GRAFT_REGISTER_LAYER("MaxPooling2D", [](LayerConfig& c) { return Pooling<2>(c, true); });
GRAFT_REGISTER_LAYER("AveragePooling2D", [](LayerConfig& c) { return Pooling<2>(c, false); });

absl::StatusOr<Layer> GlobalPooling(LayerConfig& c, Layer (*make)(GlobalPoolingOptions)) {
  GlobalPoolingOptions o;
  Common(c, o);
  o.keepdims = c.Bool("keepdims", false);
  ChannelsLast(c);
  return Done(c, make(o));
}
GRAFT_REGISTER_LAYER("GlobalAveragePooling1D", [](LayerConfig& c) {
  return GlobalPooling(c, layers::GlobalAveragePooling1D);
});
GRAFT_REGISTER_LAYER("GlobalAveragePooling2D", [](LayerConfig& c) {
  return GlobalPooling(c, layers::GlobalAveragePooling2D);
});
GRAFT_REGISTER_LAYER("GlobalMaxPooling1D",
                     [](LayerConfig& c) { return GlobalPooling(c, layers::GlobalMaxPooling1D); });
GRAFT_REGISTER_LAYER("GlobalMaxPooling2D",
                     [](LayerConfig& c) { return GlobalPooling(c, layers::GlobalMaxPooling2D); });

GRAFT_REGISTER_LAYER("Flatten", [](LayerConfig& c) {
  FlattenOptions o;
  Common(c, o);
  ChannelsLast(c);
  return Done(c, layers::Flatten(o));
});

GRAFT_REGISTER_LAYER("Dense", [](LayerConfig& c) {
  DenseOptions o;
  Common(c, o);
  const int64_t units = c.Int("units");
  o.activation = c.Activation();
  o.use_bias = c.Bool("use_bias", true);
  o.kernel_initializer = c.String("kernel_initializer", "glorot_uniform");
  o.bias_initializer = c.String("bias_initializer", "zeros");
  return Done(c, layers::Dense(units, o));
});

GRAFT_REGISTER_LAYER("Reshape", [](LayerConfig& c) {
  LayerOptions o;
  Common(c, o);
  return Done(c, layers::Reshape(c.Ints("target_shape"), o));
});

// ZeroPadding / Cropping: 1-D "padding" is n or [begin, end]; 2-D is n, [h, w] (symmetric per
// axis) or [[top, bottom], [left, right]] (mixed forms too, as Keras's standardize_tuple).
std::vector<Border> Borders(LayerConfig& c, const char* key, size_t rank, int64_t fallback) {
  std::vector<Border> out(rank, Border(fallback));
  if (rank == 1) {
    std::vector<int64_t> v = c.Ints(key, std::vector<int64_t>{fallback, fallback});
    if (v.size() == 1) v.push_back(v[0]);
    if (v.size() != 2) {
      c.Fail(key, absl::StrCat("expected an integer or 2 integers, found ", v.size()));
      return out;
    }
    out[0] = Border(v[0], v[1]);
    return out;
  }
  std::vector<std::vector<int64_t>> v =
      c.NestedInts(key, std::vector<std::vector<int64_t>>(rank, {fallback, fallback}));
  if (v.size() == 1 && v[0].size() == 1) v.assign(rank, v[0]);  // a plain integer
  if (v.size() != rank) {
    c.Fail(key, absl::StrCat("expected an integer or ", rank, " entries, found ", v.size()));
    return out;
  }
  for (size_t a = 0; a < rank; ++a) {
    if (v[a].size() == 1) v[a].push_back(v[a][0]);
    if (v[a].size() != 2) {
      c.Fail(key,
             absl::StrCat("entry ", a, ": expected an integer or 2 integers, found ", v[a].size()));
      return out;
    }
    out[a] = Border(v[a][0], v[a][1]);
  }
  return out;
}

template <int kRank>
absl::StatusOr<Layer> BorderLayerFromConfig(LayerConfig& c, bool crop) {
  LayerOptions o;
  Common(c, o);
  const char* key = crop ? "cropping" : "padding";
  // Keras's defaults: padding 1 / (1, 1); cropping (1, 1) / ((0, 0), (0, 0)).
  const std::vector<Border> b = Borders(c, key, kRank, crop && kRank == 2 ? 0 : 1);
  if constexpr (kRank == 1) {
    return Done(c, crop ? layers::Cropping1D(b[0], o) : layers::ZeroPadding1D(b[0], o));
  } else {
    ChannelsLast(c);
    const Border2 b2(b[0], b[1]);
    return Done(c, crop ? layers::Cropping2D(b2, o) : layers::ZeroPadding2D(b2, o));
  }
}
GRAFT_REGISTER_LAYER("ZeroPadding1D",
                     [](LayerConfig& c) { return BorderLayerFromConfig<1>(c, false); });
GRAFT_REGISTER_LAYER("ZeroPadding2D",
                     [](LayerConfig& c) { return BorderLayerFromConfig<2>(c, false); });
GRAFT_REGISTER_LAYER("Cropping1D",
                     [](LayerConfig& c) { return BorderLayerFromConfig<1>(c, true); });
GRAFT_REGISTER_LAYER("Cropping2D",
                     [](LayerConfig& c) { return BorderLayerFromConfig<2>(c, true); });

GRAFT_REGISTER_LAYER("UpSampling1D", [](LayerConfig& c) {
  LayerOptions o;
  Common(c, o);
  const int64_t size = c.Int("size", 2);
  return Done(c, layers::UpSampling1D(size, o));
});

GRAFT_REGISTER_LAYER("UpSampling2D", [](LayerConfig& c) {
  UpSampling2DOptions o;
  o.name = c.Name();
  o.input_shape = c.InputShape();
  const std::vector<int64_t> size = Spatial(c, "size", 2, 2);
  ChannelsLast(c);
  o.interpolation = c.String("interpolation", "nearest");
  return Done(c, layers::UpSampling2D({size[0], size[1]}, o));
});

GRAFT_REGISTER_LAYER("Activation", [](LayerConfig& c) {
  LayerOptions o;
  Common(c, o);
  std::string activation = c.String("activation");
  return Done(c, layers::Activation(activation, o));
});

GRAFT_REGISTER_LAYER("Dropout", [](LayerConfig& c) {
  DropoutOptions o;
  Common(c, o);
  const double rate = c.Double("rate");
  o.seed = c.Uint64("seed", 0);
  return Done(c, layers::Dropout(rate, o));
});

GRAFT_REGISTER_LAYER("BatchNormalization", [](LayerConfig& c) {
  BatchNormalizationOptions o;
  Common(c, o);
  const int64_t axis = c.Int("axis", -1);
  if (axis != -1) c.Fail("axis", absl::StrCat("graft normalises the last axis (-1), found ", axis));
  o.momentum = c.Double("momentum", 0.99);
  o.epsilon = c.Double("epsilon", 1e-3);
  o.center = c.Bool("center", true);
  o.scale = c.Bool("scale", true);
  return Done(c, layers::BatchNormalization(o));
});

// Merge layers: only the common keys.
absl::StatusOr<Layer> Plain(LayerConfig& c, Layer (*make)(LayerOptions)) {
  LayerOptions o;
  Common(c, o);
  return Done(c, make(o));
}
GRAFT_REGISTER_LAYER("Add", [](LayerConfig& c) { return Plain(c, layers::Add); });
GRAFT_REGISTER_LAYER("Subtract", [](LayerConfig& c) { return Plain(c, layers::Subtract); });
GRAFT_REGISTER_LAYER("Multiply", [](LayerConfig& c) { return Plain(c, layers::Multiply); });
GRAFT_REGISTER_LAYER("Average", [](LayerConfig& c) { return Plain(c, layers::Average); });
GRAFT_REGISTER_LAYER("Maximum", [](LayerConfig& c) { return Plain(c, layers::Maximum); });
GRAFT_REGISTER_LAYER("Minimum", [](LayerConfig& c) { return Plain(c, layers::Minimum); });
GRAFT_REGISTER_LAYER("Concatenate", [](LayerConfig& c) {
  ConcatenateOptions o;
  Common(c, o);
  o.axis = c.Int("axis", -1);
  return Done(c, layers::Concatenate(o));
});

}  // namespace

}  // namespace graft::keras
