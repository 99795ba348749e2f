// Save / LoadModel / SaveWeights / LoadWeights in one process: what comes back, and the errors
// for files that do not fit.
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "io/safetensors.h"
#include "keras/datasets/sensor_faults.h"
#include "keras/keras.h"
#include "keras/layer_config.h"
#include "nlohmann/json.hpp"

namespace graft::keras {
namespace {

using ::testing::HasSubstr;

std::string Tmp(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return absl::StrCat(dir ? dir : "/tmp", "/", name);
}

bool SameBits(const Tensor& a, const Tensor& b) {
  return a.type() == b.type() && std::memcmp(a.raw_data(), b.raw_data(), a.nbytes()) == 0;
}

void ExpectSameWeights(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(SameBits(a[i], b[i])) << "weight " << i;
}

Sequential SeedModel() {
  return Sequential({
      layers::Conv1D(32, 5, {.activation = "relu", .input_shape = {100, 3}}),
      layers::MaxPooling1D(2),
      layers::Flatten(),
      layers::Dense(1, {.activation = "sigmoid"}),
  });
}

class SavingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SetNumThreads(1);
    SetAdaptiveThreads(false);
    SetRandomSeed(5);
    data_ = datasets::SensorFaults({.num_train = 128, .num_test = 64, .seed = 3});
  }
  void TearDown() override { SetAdaptiveThreads(true); }
  datasets::Split data_;
};

TEST_F(SavingTest, LoadedModelPredictsEvaluatesAndContinuesFitExactly) {
  Sequential a = SeedModel();
  ASSERT_TRUE(
      a.Compile({.optimizer = "adam", .loss = "binary_crossentropy", .metrics = {"accuracy"}})
          .ok());
  ASSERT_TRUE(a.Fit(data_.x_train, data_.y_train, {.epochs = 2, .verbose = 0}).ok());
  const std::string path = Tmp("seed.graft");
  ASSERT_TRUE(a.Save(path).ok());

  absl::StatusOr<Model> b = LoadModel(path);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->name(), a.name());
  ASSERT_EQ(b->layers().size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(b->layers()[i]->name(), a.layers()[i]->name());
    EXPECT_EQ(b->layers()[i]->GetConfig(), a.layers()[i]->GetConfig());
  }
  EXPECT_EQ(b->metrics_names(), a.metrics_names());
  ExpectSameWeights(a.GetWeights(), b->GetWeights());
  absl::StatusOr<Tensor> pa = a.Predict(data_.x_test), pb = b->Predict(data_.x_test);
  ASSERT_TRUE(pa.ok() && pb.ok());
  EXPECT_TRUE(SameBits(*pa, *pb));
  absl::StatusOr<std::vector<double>> ea = a.Evaluate(data_.x_test, data_.y_test);
  absl::StatusOr<std::vector<double>> eb = b->Evaluate(data_.x_test, data_.y_test);
  ASSERT_TRUE(ea.ok() && eb.ok());
  EXPECT_EQ(*ea, *eb);
  // One more epoch on each: the same shuffles, the same Adam state, the same weights.
  ASSERT_TRUE(a.Fit(data_.x_train, data_.y_train, {.epochs = 1, .verbose = 0}).ok());
  ASSERT_TRUE(b->Fit(data_.x_train, data_.y_train, {.epochs = 1, .verbose = 0}).ok());
  ExpectSameWeights(a.GetWeights(), b->GetWeights());
}

TEST_F(SavingTest, EveryLayerAndOptimizerConfigRoundTrips) {
  Sequential a({
      layers::Conv1D(6, 3,
                     {.strides = 1,
                      .padding = "causal",
                      .dilation_rate = 2,
                      .groups = 2,
                      .activation = "elu",
                      .use_bias = false,
                      .input_shape = {24, 4},
                      .name = "causal"}),
      layers::BatchNormalization({.momentum = 0.9, .epsilon = 1e-2, .center = false}),
      layers::AveragePooling1D(2, {.strides = 1, .padding = "same"}),
      layers::Reshape({6, 4, 6}),
      layers::Conv2D(4, {3, 2}, {.strides = {2, 1}, .padding = "same", .activation = "selu"}),
      layers::MaxPooling2D({2, 1}, {.padding = "same"}),
      layers::AveragePooling2D(1),
      layers::Activation("gelu"),
      layers::Dropout(0.25, {.seed = 99}),
      layers::GlobalMaxPooling2D({.keepdims = true}),
      layers::Flatten(),
      layers::Dense(5, {.activation = "softmax", .kernel_initializer = "zeros"}),
  });
  // GlobalAveragePooling needs its own chain.
  ASSERT_TRUE(a.Compile({.optimizer = optim::MakeRmsprop(
                             {.learning_rate = 0.01, .momentum = 0.5, .centered = true}),
                         .loss = Loss("sparse_categorical_crossentropy", {.from_logits = false}),
                         .metrics = {"accuracy"}})
                  .ok());
  Tensor x(DType::kF32, {8, 24, 4});
  for (int64_t i = 0; i < x.num_elements(); ++i) x.data<float>()[i] = (i % 7) * 0.1f;
  Tensor y = Tensor::FromVector<int64_t>({8}, {0, 1, 2, 3, 4, 0, 1, 2});
  ASSERT_TRUE(a.Fit(x, y, {.batch_size = 4, .epochs = 1, .verbose = 0}).ok());
  ASSERT_TRUE(a.Save(Tmp("all.graft")).ok());
  absl::StatusOr<Model> b = LoadModel(Tmp("all.graft"));
  ASSERT_TRUE(b.ok()) << b.status();
  for (size_t i = 0; i < a.layers().size(); ++i) {
    EXPECT_EQ(b->layers()[i]->GetConfig(), a.layers()[i]->GetConfig()) << i;
    EXPECT_EQ(b->layers()[i]->class_name(), a.layers()[i]->class_name());
  }
  ExpectSameWeights(a.GetWeights(), b->GetWeights());
  ASSERT_TRUE(a.Fit(x, y, {.batch_size = 4, .epochs = 1, .verbose = 0}).ok());
  ASSERT_TRUE(b->Fit(x, y, {.batch_size = 4, .epochs = 1, .verbose = 0}).ok());
  ExpectSameWeights(a.GetWeights(), b->GetWeights());

  for (auto layer : {layers::GlobalAveragePooling1D({.keepdims = true}),
                     layers::GlobalAveragePooling2D(), layers::GlobalMaxPooling1D()}) {
    absl::StatusOr<Layer> back = LayerFromConfig(layer->class_name(), layer->GetConfig(), "test");
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ((*back)->GetConfig(), layer->GetConfig());
  }
  for (const std::string name : {"adam", "adamw", "sgd", "rmsprop", "adagrad"}) {
    absl::StatusOr<std::unique_ptr<optim::Optimizer>> o = optim::OptimizerByName(name);
    ASSERT_TRUE(o.ok());
    absl::StatusOr<std::unique_ptr<optim::Optimizer>> back =
        optim::OptimizerFromConfig(name, (*o)->GetConfig());
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ((*back)->GetConfig(), (*o)->GetConfig());
  }
}

TEST_F(SavingTest, UncompiledModelSavesArchitectureAndWeights) {
  Sequential a = SeedModel();
  ASSERT_TRUE(a.Build().ok());
  ASSERT_TRUE(a.Save(Tmp("plain.graft")).ok());
  absl::StatusOr<Model> b = LoadModel(Tmp("plain.graft"));
  ASSERT_TRUE(b.ok()) << b.status();
  ExpectSameWeights(a.GetWeights(), b->GetWeights());
  EXPECT_TRUE(b->Predict(data_.x_test).ok());
  EXPECT_THAT(b->Fit(data_.x_train, data_.y_train, {.verbose = 0}).status().message(),
              HasSubstr("Compile"));
}

TEST_F(SavingTest, WeightsFileHasKerasNamesAndLayouts) {
  Sequential a = SeedModel();
  ASSERT_TRUE(a.Build().ok());
  ASSERT_TRUE(a.SaveWeights(Tmp("w.safetensors")).ok());
  absl::StatusOr<io::Safetensors> f = io::LoadSafetensors(Tmp("w.safetensors"));
  ASSERT_TRUE(f.ok());
  const std::string conv = a.layers()[0]->name(), dense = a.layers()[3]->name();
  ASSERT_EQ(f->tensors.size(), 4u);
  EXPECT_EQ(f->tensors[0].name, conv + "/kernel");
  EXPECT_EQ(f->tensors[0].value.shape(), Shape({5, 3, 32}));  // (k, in, out)
  EXPECT_EQ(f->tensors[1].name, conv + "/bias");
  EXPECT_EQ(f->tensors[2].name, dense + "/kernel");
  EXPECT_EQ(f->tensors[2].value.shape(), Shape({1536, 1}));  // (in, out)
  EXPECT_EQ(f->metadata.at("format"), "graft.weights");

  Sequential b = SeedModel();
  ASSERT_TRUE(b.LoadWeights(Tmp("w.safetensors")).ok());
  ExpectSameWeights(a.GetWeights(), b.GetWeights());
}

TEST_F(SavingTest, LoadWeightsIntoAnotherArchitectureNamesTheTensorAndChangesNothing) {
  Sequential a = SeedModel();
  ASSERT_TRUE(a.SaveWeights(Tmp("seed.safetensors")).ok());
  Sequential b({
      layers::Conv1D(32, 5, {.activation = "relu", .input_shape = {100, 3}}),
      layers::MaxPooling1D(2),
      layers::Flatten(),
      layers::Dense(10, {.activation = "softmax"}),
  });
  ASSERT_TRUE(b.Build().ok());
  const std::vector<Tensor> before = b.GetWeights();
  absl::Status s = b.LoadWeights(Tmp("seed.safetensors"));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("tensor 2"));
  EXPECT_THAT(s.message(), HasSubstr(a.layers()[3]->name() + "/kernel"));
  EXPECT_THAT(s.message(), HasSubstr("(1536, 1)"));
  EXPECT_THAT(s.message(), HasSubstr("(1536, 10)"));
  EXPECT_THAT(s.message(), HasSubstr("Nothing was changed"));
  ExpectSameWeights(before, b.GetWeights());  // the conv weights that did fit were not written

  Sequential c({layers::Dense(3, {.input_shape = {4}})});
  s = c.LoadWeights(Tmp("seed.safetensors"));
  EXPECT_THAT(s.message(), HasSubstr("holds 4 weight tensors but model"));
  EXPECT_THAT(SeedModel().LoadWeights(Tmp("missing.safetensors")).message(),
              HasSubstr("missing.safetensors"));
}

TEST_F(SavingTest, SaveErrorsAreStatuses) {
  Sequential a = SeedModel();
  absl::Status s = a.Save(Tmp("no/such/folder/m.graft"));
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(s.message(), HasSubstr("no/such/folder/m.graft"));
  s = a.Save(std::getenv("TEST_TMPDIR") ? std::getenv("TEST_TMPDIR") : "/tmp");
  EXPECT_THAT(s.message(), HasSubstr("is a directory"));
  Sequential empty;
  EXPECT_FALSE(empty.Save(Tmp("e.graft")).ok());
  Sequential no_shape({layers::Dense(3)});
  EXPECT_THAT(no_shape.Save(Tmp("n.graft")).message(), HasSubstr("input_shape"));
}

// ---- bad files ------------------------------------------------------------------------------

class BadModelFileTest : public SavingTest {
 protected:
  void SetUp() override {
    SavingTest::SetUp();
    Sequential a = SeedModel();
    ASSERT_TRUE(a.Compile({.optimizer = "adam", .loss = "binary_crossentropy"}).ok());
    ASSERT_TRUE(a.Save(Tmp("good.graft")).ok());
    absl::StatusOr<std::string> bytes = io::ReadWholeFile(Tmp("good.graft"));
    ASSERT_TRUE(bytes.ok());
    bytes_ = *bytes;
    std::memcpy(&header_size_, bytes_.data(), 8);
    header_ = nlohmann::json::parse(bytes_.substr(8, header_size_));
    config_ = nlohmann::json::parse(header_["__metadata__"]["graft_model"].get<std::string>());
  }
  // The file with its header replaced (the data section kept).
  std::string WithHeader(const nlohmann::json& header) const {
    std::string text = header.dump();
    uint64_t n = text.size();
    std::string out(reinterpret_cast<const char*>(&n), 8);
    return out + text + bytes_.substr(8 + header_size_);
  }
  std::string WithConfig(const nlohmann::json& config) const {
    nlohmann::json h = header_;
    h["__metadata__"]["graft_model"] = config.dump();
    return WithHeader(h);
  }
  absl::Status Load(const std::string& bytes) const {
    return LoadModelFromBytes(bytes, "bad.graft").status();
  }
  std::string bytes_;
  uint64_t header_size_ = 0;
  nlohmann::json header_, config_;
};

TEST_F(BadModelFileTest, EveryTruncationIsAnErrorNeverACrash) {
  ASSERT_TRUE(LoadModelFromBytes(bytes_, "good").ok());
  for (size_t n = 0; n < bytes_.size(); n += (n < 8 + header_size_ + 64 ? 1 : 997)) {
    absl::Status s = Load(bytes_.substr(0, n));
    ASSERT_FALSE(s.ok()) << "a file cut at byte " << n << " loaded";
    EXPECT_THAT(s.message(), HasSubstr("bad.graft")) << n;
  }
}

TEST_F(BadModelFileTest, HeaderProblemsNameTheByteOrJsonPath) {
  std::string b = bytes_;
  uint64_t huge = uint64_t{1} << 40;
  std::memcpy(b.data(), &huge, 8);
  EXPECT_THAT(Load(b).message(), HasSubstr("header length says 1099511627776 bytes"));

  b = bytes_;
  b[8] = '#';
  EXPECT_THAT(Load(b).message(), HasSubstr("byte 8"));
  EXPECT_THAT(Load(b).message(), HasSubstr("not valid JSON"));

  nlohmann::json h = header_;
  std::string first = h.items().begin().key() == "__metadata__" ? std::next(h.items().begin()).key()
                                                                : h.items().begin().key();
  h[first]["data_offsets"][1] = 1 << 30;
  EXPECT_THAT(Load(WithHeader(h)).message(), HasSubstr("out of range"));
  EXPECT_THAT(Load(WithHeader(h)).message(), HasSubstr("data_offsets"));

  h = header_;
  h[first]["dtype"] = "Q7";
  EXPECT_THAT(Load(WithHeader(h)).message(), HasSubstr("unknown dtype \"Q7\""));
  h[first]["dtype"] = "BF16";
  EXPECT_THAT(Load(WithHeader(h)).message(), HasSubstr("unsupported dtype \"BF16\""));

  h = header_;
  h[first]["shape"] = {uint64_t{1} << 32, uint64_t{1} << 32};
  EXPECT_THAT(Load(WithHeader(h)).message(), HasSubstr("overflows"));
  h[first]["shape"] = {-1};
  EXPECT_THAT(Load(WithHeader(h)).message(), HasSubstr("shape[0]"));

  // A tensor laid over the first one's bytes.
  h = header_;
  std::string at_zero, other;
  for (auto& [k, v] : h.items()) {
    if (k == "__metadata__") continue;
    (v["data_offsets"][0].get<uint64_t>() == 0 ? at_zero : other) = k;
  }
  const uint64_t size =
      h[other]["data_offsets"][1].get<uint64_t>() - h[other]["data_offsets"][0].get<uint64_t>();
  h[other]["data_offsets"] = {4, 4 + size};
  EXPECT_THAT(Load(WithHeader(h)).message(), HasSubstr("overlap"));
}

TEST_F(BadModelFileTest, ConfigProblemsNameTheJsonPath) {
  nlohmann::json c = config_;
  c["config"]["layers"][1]["class_name"] = "Conv7D";
  absl::Status s = Load(WithConfig(c));
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(s.message(), HasSubstr("config.layers[1]"));
  EXPECT_THAT(s.message(), HasSubstr("unknown layer class \"Conv7D\""));
  EXPECT_THAT(s.message(), HasSubstr("Conv1D"));  // lists the known ones

  c = config_;
  c["config"]["layers"][0]["config"]["filters"] = "32";
  EXPECT_THAT(Load(WithConfig(c)).message(),
              HasSubstr("config.layers[0].config.filters: expected an integer"));
  c = config_;
  c["config"]["layers"][0]["config"]["filterz"] = 3;
  EXPECT_THAT(Load(WithConfig(c)).message(), HasSubstr("unknown option \"filterz\""));
  c = config_;
  c["config"]["layers"][0]["config"]["filters"] = 16;  // the weights no longer fit
  EXPECT_THAT(Load(WithConfig(c)).message(), HasSubstr("but the model needs"));
  c = config_;
  c["compile_config"]["optimizer"]["class_name"] = "adamax";
  EXPECT_THAT(Load(WithConfig(c)).message(), HasSubstr("unknown optimizer \"adamax\""));
  c = config_;
  c["config"].erase("layers");
  EXPECT_THAT(Load(WithConfig(c)).message(), HasSubstr("config.layers: missing"));

  nlohmann::json h = header_;
  h["__metadata__"]["graft_model"] = "{\"class_name\": ";
  EXPECT_THAT(Load(WithHeader(h)).message(), HasSubstr("graft_model byte"));
  h = header_;
  h["__metadata__"]["format_version"] = "2";
  s = Load(WithHeader(h));
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("newer graft (model format version 2"));
  h = header_;
  h["__metadata__"]["format"] = "graft.weights";
  EXPECT_THAT(Load(WithHeader(h)).message(), HasSubstr("LoadWeights"));
  h = header_;
  h.erase("__metadata__");
  EXPECT_THAT(Load(WithHeader(h)).message(), HasSubstr("not a graft model file"));
}

TEST_F(BadModelFileTest, MissingFileAndDirectory) {
  absl::Status s = LoadModel(Tmp("nope.graft")).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(s.message(), HasSubstr("nope.graft"));
  std::filesystem::create_directories(Tmp("dir.graft"));
  EXPECT_THAT(LoadModel(Tmp("dir.graft")).status().message(), HasSubstr("directory"));
}

}  // namespace
}  // namespace graft::keras
