// graft — the benchmark models M1..M5 and their synthetic data (see models.h).
#include "bench/models.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "examples/resnet_model.h"
#include "io/npy.h"
#include "keras/keras.h"

namespace graft::bench {
namespace {

namespace L = keras::layers;

// splitmix64: a tiny, portable generator (no <random> distributions, whose output is
// implementation-defined), so the data files are identical on every machine.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1) with 24 random bits: exact in float32.
  float Uniform() { return static_cast<float>(Next() >> 40) * (1.0f / 16777216.0f); }

 private:
  uint64_t state_;
};

std::vector<keras::Layer> Layers(absl::string_view name) {
  if (name == "M1") {
    return {
        L::Conv1D(32, 5, {.activation = "relu", .input_shape = {100, 3}}),
        L::MaxPooling1D(2),
        L::Flatten(),
        L::Dense(1, {.activation = "sigmoid"}),
    };
  }
  if (name == "M2") {
    return {
        L::Conv2D(32, {3, 3}, {.activation = "relu", .input_shape = {32, 32, 3}}),
        L::MaxPooling2D({2, 2}),
        L::Flatten(),
        L::Dense(10, {.activation = "softmax"}),
    };
  }
  if (name == "M3") {
    return {
        L::Conv2D(32, 3, {.activation = "relu", .input_shape = {28, 28, 1}}),
        L::MaxPooling2D(2),
        L::Conv2D(64, 3, {.activation = "relu"}),
        L::MaxPooling2D(2),
        L::Flatten(),
        L::Dropout(0.5),
        L::Dense(10, {.activation = "softmax"}),
    };
  }
  // M4
  return {
      L::Conv2D(64, 3, {.padding = "same", .activation = "relu", .input_shape = {32, 32, 3}}),
      L::Conv2D(64, 3, {.padding = "same", .activation = "relu"}),
      L::MaxPooling2D(),
      L::Conv2D(128, 3, {.padding = "same", .activation = "relu"}),
      L::Conv2D(128, 3, {.padding = "same", .activation = "relu"}),
      L::MaxPooling2D(),
      L::Flatten(),
      L::Dense(10, {.activation = "softmax"}),
  };
}

absl::Status Compile(const ModelSpec& spec, keras::Model& model) {
  const char* loss =
      spec.num_classes == 1 ? "binary_crossentropy" : "sparse_categorical_crossentropy";
  return model.Compile({.optimizer = "adam", .loss = loss});
}

}  // namespace

const std::vector<ModelSpec>& ModelSpecs() {
  static const std::vector<ModelSpec>* specs = new std::vector<ModelSpec>{
      {"M1", "seed Conv1D (100x3): Conv1D(32,5) MaxPool1D Dense(1,sigmoid), BCE", {100, 3}, 1, 32},
      {"M2",
       "seed Conv2D (32x32x3): Conv2D(32,3) MaxPool2D Dense(10,softmax)",
       {32, 32, 3},
       10,
       32},
      {"M3",
       "Keras MNIST convnet (28x28x1): 2x[Conv2D MaxPool2D] Dropout Dense(10)",
       {28, 28, 1},
       10,
       32},
      {"M4", "VGG-style (32x32x3): 2x[2x Conv2D(same) MaxPool2D] Dense(10)", {32, 32, 3}, 10, 64},
      {"M5",
       "ResNet-8 (28x28x1, functional): 3 residual blocks with BN, GAP, Dense(10)",
       {28, 28, 1},
       10,
       32,
       /*sequential=*/false},
  };
  return *specs;
}

absl::StatusOr<ModelSpec> FindModel(absl::string_view name) {
  const std::string upper = absl::AsciiStrToUpper(name);
  std::vector<std::string> names;
  for (const ModelSpec& s : ModelSpecs()) {
    if (s.name == upper) return s;
    names.push_back(s.name);
  }
  return absl::NotFoundError(
      absl::StrCat("unknown model \"", name, "\"; the models are ", absl::StrJoin(names, ", ")));
}

absl::StatusOr<keras::Sequential> BuildSequentialModel(absl::string_view name, uint64_t seed) {
  absl::StatusOr<ModelSpec> spec = FindModel(name);
  if (!spec.ok()) return spec.status();
  if (!spec->sequential) {
    return absl::UnimplementedError(
        absl::StrCat(spec->name, " is a functional model, not a Sequential one"));
  }
  keras::SetRandomSeed(seed);
  keras::Sequential model(Layers(spec->name), absl::AsciiStrToLower(spec->name));
  if (absl::Status s = Compile(*spec, model); !s.ok()) return s;
  return model;
}

absl::StatusOr<keras::Model> BuildModel(absl::string_view name, uint64_t seed) {
  absl::StatusOr<ModelSpec> spec = FindModel(name);
  if (!spec.ok()) return spec.status();
  if (spec->sequential) {
    absl::StatusOr<keras::Sequential> model = BuildSequentialModel(spec->name, seed);
    if (!model.ok()) return model.status();
    return keras::Model(*std::move(model));
  }
  keras::SetRandomSeed(seed);
  keras::Model model = examples::SmallResNet({.input_shape = spec->input_shape,
                                              .num_classes = spec->num_classes,
                                              .name = absl::AsciiStrToLower(spec->name)});
  if (absl::Status s = Compile(*spec, model); !s.ok()) return s;
  return model;
}

Dataset MakeData(const ModelSpec& spec, int64_t n, uint64_t seed) {
  std::vector<int64_t> dims = {n};
  dims.insert(dims.end(), spec.input_shape.begin(), spec.input_shape.end());
  Dataset d{Tensor(DType::kF32, Shape(dims)), Tensor()};
  SplitMix64 rng(seed * 0x100000001B3ULL + static_cast<uint64_t>(spec.name.back()));
  float* x = d.x.data<float>();
  for (int64_t i = 0; i < d.x.num_elements(); ++i) x[i] = rng.Uniform();
  if (spec.num_classes == 1) {
    d.y = Tensor(DType::kF32, Shape({n, 1}));
    float* y = d.y.data<float>();
    for (int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(rng.Next() >> 63);
  } else {
    d.y = Tensor(DType::kI64, Shape({n}));
    int64_t* y = d.y.data<int64_t>();
    const uint64_t k = static_cast<uint64_t>(spec.num_classes);
    for (int64_t i = 0; i < n; ++i) y[i] = static_cast<int64_t>((rng.Next() >> 11) % k);
  }
  return d;
}

std::string DataPathX(const std::string& dir, const ModelSpec& spec) {
  return absl::StrCat(dir, "/", spec.name, "_x.npy");
}

std::string DataPathY(const std::string& dir, const ModelSpec& spec) {
  return absl::StrCat(dir, "/", spec.name, "_y.npy");
}

absl::Status WriteData(const std::string& dir, const ModelSpec& spec, int64_t n, uint64_t seed) {
  const Dataset d = MakeData(spec, n, seed);
  if (absl::Status s = io::SaveNpy(DataPathX(dir, spec), d.x); !s.ok()) return s;
  return io::SaveNpy(DataPathY(dir, spec), d.y);
}

}  // namespace graft::bench
