// graft — layer configs: what a saved model records of each layer, and how layers come back.
//
// Every layer has a Keras-style config (`LayerImpl::GetConfig()`): its constructor arguments by
// their Keras names, e.g. Conv1D's {"name": "conv1d", "filters": 32, "kernel_size": [5],
// "strides": [1], "padding": "valid", ...}. A model file stores {"class_name", "config"} per
// layer, and loading calls the factory registered for the class name. graft registers its own
// layers; a layer written outside graft registers itself the same way:
//
//   GRAFT_REGISTER_LAYER("MyScale", [](keras::LayerConfig& c) -> absl::StatusOr<keras::Layer> {
//     auto layer = std::make_shared<MyScale>(c.Double("factor"), c.Name());
//     if (!c.ok()) return c.status();
//     return layer;
//   });
#ifndef GRAFT_KERAS_LAYER_CONFIG_H_
#define GRAFT_KERAS_LAYER_CONFIG_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keras/layers.h"
#include "nlohmann/json.hpp"

namespace graft::keras {

// Typed reads from one layer's config. A missing or mistyped key records an error naming its
// JSON path ("config.layers[0].config.filters: expected an integer, found string \"32\"") and
// returns the default; the first error is kept. Keys a factory never read are errors too (a
// misspelt option must not be ignored silently): Finish() reports them.
class LayerConfig {
 public:
  LayerConfig(const nlohmann::json& config, std::string path);

  bool ok() const { return status_.ok(); }
  const absl::Status& status() const { return status_; }

  // Integers within [-2^31, 2^31] (sizes and counts: no shape arithmetic on them can overflow).
  int64_t Int(const char* key, std::optional<int64_t> fallback = std::nullopt);
  // Any unsigned 64-bit integer (random seeds).
  uint64_t Uint64(const char* key, std::optional<uint64_t> fallback = std::nullopt);
  double Double(const char* key, std::optional<double> fallback = std::nullopt);
  bool Bool(const char* key, std::optional<bool> fallback = std::nullopt);
  std::string String(const char* key, std::optional<std::string> fallback = std::nullopt);
  // An integer list; a plain integer n is read as [n] (Keras accepts both).
  std::vector<int64_t> Ints(const char* key, std::optional<std::vector<int64_t>> fallback = {});
  // Keras's nested integer tuples, e.g. ZeroPadding2D's ((top, bottom), (left, right)): a list
  // of at most 16 entries, each an integer or a list of at most 16 integers, every entry
  // returned as a list (an integer n as [n]); a plain integer n is read as [[n]].
  std::vector<std::vector<int64_t>> NestedInts(
      const char* key, std::optional<std::vector<std::vector<int64_t>>> fallback = {});
  // The common keys: "name" (required), "trainable", "dtype" (float32 only),
  // "batch_input_shape" ([null, d1, ...]; empty when absent).
  std::string Name();
  std::vector<int64_t> InputShape();
  // An activation name ("linear" means none and is returned as "").
  std::string Activation(const char* key = "activation");
  // Records an error about `key` (a value the factory rejects); the first error is kept.
  void Fail(const char* key, const std::string& what);

  // ok(), and every key was read; call last.
  absl::Status Finish();

 private:
  const nlohmann::json* Find(const char* key, bool required);

  const nlohmann::json& config_;
  std::string path_;
  std::set<std::string> read_;
  absl::Status status_;
};

using LayerFactory = std::function<absl::StatusOr<Layer>(LayerConfig&)>;

// Registers the factory for a Keras class name (later registrations of a name replace earlier
// ones). Thread-safe.
void RegisterLayerClass(const std::string& class_name, LayerFactory factory);
// The layer a config describes: the registered factory, then Finish(). `path` names the config
// in messages. An unknown class name is NOT_FOUND listing the registered ones.
absl::StatusOr<Layer> LayerFromConfig(const std::string& class_name, const nlohmann::json& config,
                                      const std::string& path);
// The registered class names, sorted.
std::vector<std::string> RegisteredLayerClasses();

// The common part of every layer's config: name, trainable, dtype, and batch_input_shape when
// the layer declares input_shape. Layers extend it in GetConfig().
nlohmann::json BaseLayerConfig(const LayerImpl& layer);

namespace internal {
struct LayerRegistration {
  LayerRegistration(const std::string& class_name, LayerFactory factory) {
    RegisterLayerClass(class_name, std::move(factory));
  }
};
}  // namespace internal

#define GRAFT_LAYER_CONCAT_INNER(a, b) a##b
#define GRAFT_LAYER_CONCAT(a, b) GRAFT_LAYER_CONCAT_INNER(a, b)
// Registers a layer class at static-initialisation time (build the file with alwayslink).
#define GRAFT_REGISTER_LAYER(class_name, ...)                            \
  static ::graft::keras::internal::LayerRegistration GRAFT_LAYER_CONCAT( \
      graft_layer_registration_, __COUNTER__)(class_name, __VA_ARGS__)

}  // namespace graft::keras

#endif  // GRAFT_KERAS_LAYER_CONFIG_H_
