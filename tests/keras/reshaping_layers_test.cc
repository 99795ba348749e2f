// ZeroPadding1D/2D, Cropping1D/2D, UpSampling1D/2D: shapes with Keras's defaults, values,
// errors that name the layer, configs, and a model that trains, saves, loads and predicts the
// same.
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "keras/keras.h"
#include "keras/layer_config.h"
#include "nlohmann/json.hpp"
#include "tests/testing.h"

namespace graft::keras {
namespace {

using ::graft::testing::Contains;

namespace L = layers;
using Json = nlohmann::json;

std::string Tmp(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return absl::StrCat(dir ? dir : "/tmp", "/", name);
}

bool SameBits(const Tensor& a, const Tensor& b) {
  return a.type() == b.type() && std::memcmp(a.raw_data(), b.raw_data(), a.nbytes()) == 0;
}

// The output shape Summary reports for a one-layer model.
std::string OutputShape(Layer layer) {
  Sequential m({layer});
  absl::StatusOr<std::string> text = m.SummaryText();
  if (!text.ok()) return std::string(text.status().message());
  const size_t at = text->find("(None");
  return at == std::string::npos ? *text : text->substr(at, text->find(')', at) - at + 1);
}

TEST(ReshapingLayers, KerasDefaultsAndForms) {
  struct Case {
    Layer layer;
    const char* want;
  };
  const Case cases[] = {
      {L::ZeroPadding1D(1, {.input_shape = {10, 3}}), "(None, 12, 3)"},
      {L::ZeroPadding1D({2, 0}, {.input_shape = {10, 3}}), "(None, 12, 3)"},
      {L::ZeroPadding2D(1, {.input_shape = {5, 6, 2}}), "(None, 7, 8, 2)"},
      {L::ZeroPadding2D({2, 3}, {.input_shape = {5, 6, 2}}), "(None, 9, 12, 2)"},
      {L::ZeroPadding2D({{1, 0}, {0, 3}}, {.input_shape = {5, 6, 2}}), "(None, 6, 9, 2)"},
      {L::Cropping1D(1, {.input_shape = {10, 3}}), "(None, 8, 3)"},
      {L::Cropping1D({0, 4}, {.input_shape = {10, 3}}), "(None, 6, 3)"},
      {L::Cropping2D(0, {.input_shape = {28, 28, 1}}), "(None, 28, 28, 1)"},  // Keras default
      {L::Cropping2D({{2, 2}, {4, 4}}, {.input_shape = {28, 28, 3}}), "(None, 24, 20, 3)"},
      {L::Cropping2D({1, 2}, {.input_shape = {8, 8, 1}}), "(None, 6, 4, 1)"},
      {L::UpSampling1D(2, {.input_shape = {4, 3}}), "(None, 8, 3)"},
      {L::UpSampling1D(3, {.input_shape = {4, 3}}), "(None, 12, 3)"},
      {L::UpSampling2D(2, {.input_shape = {3, 4, 2}}), "(None, 6, 8, 2)"},
      {L::UpSampling2D({1, 2}, {.interpolation = "Nearest", .input_shape = {3, 4, 2}}),
       "(None, 3, 8, 2)"},
  };
  for (const Case& c : cases) EXPECT_EQ(OutputShape(c.layer), c.want) << c.layer->class_name();
  // The defaults as Keras writes them in configs.
  EXPECT_EQ(L::ZeroPadding1D()->GetConfig()["padding"], Json({1, 1}));
  EXPECT_EQ(L::ZeroPadding2D()->GetConfig()["padding"], Json({{1, 1}, {1, 1}}));
  EXPECT_EQ(L::Cropping1D()->GetConfig()["cropping"], Json({1, 1}));
  EXPECT_EQ(L::Cropping2D()->GetConfig()["cropping"], Json({{0, 0}, {0, 0}}));
  EXPECT_EQ(L::UpSampling1D()->GetConfig()["size"], 2);
  EXPECT_EQ(L::UpSampling2D()->GetConfig()["size"], Json({2, 2}));
  EXPECT_EQ(L::UpSampling2D()->GetConfig()["interpolation"], "nearest");
  EXPECT_EQ(L::ZeroPadding2D()->name().rfind("zero_padding2d", 0), 0u);
  EXPECT_EQ(L::UpSampling1D()->name().rfind("up_sampling1d", 0), 0u);
}

// Keras's docstring examples, through Predict.
TEST(ReshapingLayers, Values) {
  Tensor x(DType::kF32, {2, 2, 3});
  for (int i = 0; i < 12; ++i) x.data<float>()[i] = static_cast<float>(i);
  Sequential pad({L::ZeroPadding1D(2, {.input_shape = {2, 3}})});
  absl::StatusOr<Tensor> y = pad.Predict(x);
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(y->shape(), Shape({2, 6, 3}));
  EXPECT_EQ(y->ToVector<float>(),
            (std::vector<float>{0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4,  5,  0, 0, 0, 0, 0, 0,
                                0, 0, 0, 0, 0, 0, 6, 7, 8, 9, 10, 11, 0, 0, 0, 0, 0, 0}));
  Sequential up({L::UpSampling1D(2, {.input_shape = {2, 3}})});
  y = up.Predict(x);
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(y->ToVector<float>(), (std::vector<float>{0, 1, 2, 0, 1, 2, 3, 4,  5,  3, 4,  5,
                                                      6, 7, 8, 6, 7, 8, 9, 10, 11, 9, 10, 11}));
  Sequential crop({L::Cropping1D({1, 0}, {.input_shape = {2, 3}})});
  y = crop.Predict(x);
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(y->ToVector<float>(), (std::vector<float>{3, 4, 5, 9, 10, 11}));
}

TEST(ReshapingLayers, ErrorsNameTheLayer) {
  struct Case {
    Layer layer;
    const char* error;
    absl::StatusCode code = absl::StatusCode::kInvalidArgument;
  };
  const Case cases[] = {
      {L::Cropping1D({3, 3}, {.input_shape = {5, 7}, .name = "crop"}),
       "crop (Cropping1D, layer 0): `cropping` must be smaller than the input along steps: 5 - 3 "
       "- 3 = -1 would remain. Received: input_shape=(None, 5, 7), cropping=(3, 3). Fix: crop "
       "at most 4 in total along steps."},
      {L::Cropping2D({{0, 0}, {2, 2}}, {.input_shape = {5, 4, 1}, .name = "crop2"}),
       "crop2 (Cropping2D, layer 0): `cropping` must be smaller than the input along width: 4 - "
       "2 - 2 = 0 would remain. Received: input_shape=(None, 5, 4, 1), cropping=((0, 0), (2, "
       "2))"},
      {L::ZeroPadding1D({-1, 1}, {.input_shape = {5, 7}, .name = "pad"}),
       "pad (ZeroPadding1D, layer 0): The `padding` argument must hold non-negative integers. "
       "Received: padding=(-1, 1)"},
      {L::ZeroPadding2D(1, {.input_shape = {5, 7}, .name = "pad2"}),
       "pad2 (ZeroPadding2D, layer 0): expected input of rank 4 (batch, height, width, "
       "channels), got shape (None, 5, 7) (rank 3)"},
      {L::UpSampling1D(0, {.input_shape = {5, 7}, .name = "up"}),
       "up (UpSampling1D, layer 0): Argument `size` should hold positive integers. Received: "
       "size=0"},
      {L::UpSampling2D({2, 0}, {.input_shape = {5, 7, 1}, .name = "up2"}), "Received: size=(2, 0)"},
      {L::UpSampling2D(2, {.interpolation = "bilinear", .input_shape = {5, 7, 1}, .name = "up3"}),
       "up3 (UpSampling2D, layer 0): interpolation=\"bilinear\" is not implemented in graft; "
       "UpSampling2D supports interpolation=\"nearest\" only",
       absl::StatusCode::kUnimplemented},
      {L::UpSampling2D(2, {.interpolation = "cubic", .input_shape = {5, 7, 1}}),
       "unknown interpolation \"cubic\"; Keras accepts bicubic, bilinear, lanczos3, lanczos5, "
       "nearest"},
  };
  for (const Case& c : cases) {
    Sequential m({c.layer});
    absl::Status s = m.Compile({.optimizer = "sgd", .loss = "mse"});
    ASSERT_FALSE(s.ok()) << c.error;
    EXPECT_TRUE(Contains(s.message(), c.error)) << s;
    EXPECT_EQ(s.code(), c.code) << s;
  }
}

// Configs as Keras writes them (every padding form) load, and GetConfig round-trips.
TEST(ReshapingLayers, KerasConfigsLoad) {
  struct Case {
    const char* class_name;
    Json config;
    const char* want;  // output shape for the input (None, 6, 8, 2) or (None, 6, 2)
  };
  const Json base = {{"name", "l"}, {"trainable", true}, {"dtype", "float32"}};
  auto with = [&](Json extra) {
    Json c = base;
    c.update(extra);
    return c;
  };
  const Case cases[] = {
      {"ZeroPadding1D", with({{"padding", 2}}), "(None, 10, 2)"},
      {"ZeroPadding1D", with({{"padding", {1, 3}}}), "(None, 10, 2)"},
      {"ZeroPadding1D", base, "(None, 8, 2)"},
      {"ZeroPadding2D", with({{"padding", 1}, {"data_format", "channels_last"}}),
       "(None, 8, 10, 2)"},
      {"ZeroPadding2D", with({{"padding", {1, 2}}}), "(None, 8, 12, 2)"},
      {"ZeroPadding2D", with({{"padding", {{1, 0}, {0, 2}}}}), "(None, 7, 10, 2)"},
      {"ZeroPadding2D", with({{"padding", Json::array({Json({1, 0}), 2})}}), "(None, 7, 12, 2)"},
      {"Cropping1D", with({{"cropping", {1, 2}}}), "(None, 3, 2)"},
      {"Cropping1D", base, "(None, 4, 2)"},
      {"Cropping2D", with({{"cropping", {{1, 1}, {2, 3}}}, {"data_format", "channels_last"}}),
       "(None, 4, 3, 2)"},
      {"Cropping2D", base, "(None, 6, 8, 2)"},
      {"UpSampling1D", with({{"size", 3}}), "(None, 18, 2)"},
      {"UpSampling1D", base, "(None, 12, 2)"},
      {"UpSampling2D",
       with({{"size", {2, 1}}, {"data_format", "channels_last"}, {"interpolation", "nearest"}}),
       "(None, 12, 8, 2)"},
      {"UpSampling2D", base, "(None, 12, 16, 2)"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<Layer> layer = LayerFromConfig(c.class_name, c.config, "test");
    ASSERT_TRUE(layer.ok()) << c.config.dump() << ": " << layer.status();
    absl::StatusOr<Layer> again =
        LayerFromConfig(c.class_name, (*layer)->GetConfig(), "test.again");
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ((*again)->GetConfig(), (*layer)->GetConfig());
    Graph g;
    const bool two_d = Contains(c.class_name, "2D");
    Value x = g.Placeholder({DType::kF32, two_d ? Shape({-1, 6, 8, 2}) : Shape({-1, 6, 2})}, "x");
    absl::StatusOr<Value> y = (*layer)->Call(g, x);
    ASSERT_TRUE(y.ok()) << y.status();
    EXPECT_EQ(g.type(*y).shape.ToString(), c.want) << c.config.dump();
  }
  const struct {
    const char* class_name;
    Json config;
    const char* error;
  } bad[] = {
      {"ZeroPadding1D", with({{"padding", {1, 2, 3}}}), "test.padding: expected an integer or 2"},
      {"ZeroPadding2D", with({{"padding", {{1, 2, 3}, {0, 0}}}}), "test.padding: entry 0"},
      {"ZeroPadding2D", with({{"padding", "1"}}), "test.padding: expected an integer or a list"},
      {"Cropping2D", with({{"data_format", "channels_first"}}), "channels_last"},
      {"UpSampling2D", with({{"interpolation", "bilinear"}}), "not implemented in graft"},
      {"UpSampling1D", with({{"size", 2}, {"interpolation", "nearest"}}), "unknown option"},
  };
  for (const auto& b : bad) {
    absl::StatusOr<Layer> layer = LayerFromConfig(b.class_name, b.config, "test");
    if (layer.ok()) {  // constructor problems surface when the layer is used
      Graph g;
      Value x = g.Placeholder({DType::kF32, {-1, 6, 8, 2}}, "x");
      absl::StatusOr<Value> y = (*layer)->Call(g, x);
      ASSERT_FALSE(y.ok()) << b.config.dump();
      EXPECT_TRUE(Contains(y.status().message(), b.error)) << y.status();
      continue;
    }
    EXPECT_TRUE(Contains(layer.status().message(), b.error)) << layer.status();
  }
}

class ReshapingSaving : public ::testing::Test {
 protected:
  void SetUp() override {
    SetNumThreads(1);
    SetAdaptiveThreads(false);
    SetRandomSeed(11);
  }
  void TearDown() override { SetAdaptiveThreads(true); }

  // Trains a step, saves, loads; the loaded model has the same configs and weights, predicts
  // the same bits, and a further step on each gives the same weights.
  void RoundTrip(Sequential& a, const Tensor& x, const Tensor& y, const std::string& file) {
    ASSERT_TRUE(a.Compile({.optimizer = "adam", .loss = "mse"}).ok());
    absl::StatusOr<History> h = a.Fit(x, y, {.batch_size = 4, .epochs = 1, .verbose = 0});
    ASSERT_TRUE(h.ok()) << h.status();
    ASSERT_TRUE(a.Save(Tmp(file)).ok());
    absl::StatusOr<Model> b = LoadModel(Tmp(file));
    ASSERT_TRUE(b.ok()) << b.status();
    ASSERT_EQ(b->layers().size(), a.layers().size());
    for (size_t i = 0; i < a.layers().size(); ++i) {
      EXPECT_EQ(b->layers()[i]->class_name(), a.layers()[i]->class_name());
      EXPECT_EQ(b->layers()[i]->GetConfig(), a.layers()[i]->GetConfig()) << i;
    }
    absl::StatusOr<Tensor> pa = a.Predict(x), pb = b->Predict(x);
    ASSERT_TRUE(pa.ok() && pb.ok());
    EXPECT_TRUE(SameBits(*pa, *pb));
    ASSERT_TRUE(a.Fit(x, y, {.batch_size = 4, .epochs = 1, .verbose = 0}).ok());
    ASSERT_TRUE(b->Fit(x, y, {.batch_size = 4, .epochs = 1, .verbose = 0}).ok());
    const std::vector<Tensor> wa = a.GetWeights(), wb = b->GetWeights();
    ASSERT_EQ(wa.size(), wb.size());
    for (size_t i = 0; i < wa.size(); ++i) EXPECT_TRUE(SameBits(wa[i], wb[i])) << "weight " << i;
  }
};

TEST_F(ReshapingSaving, Sequence) {
  Sequential a({
      L::ZeroPadding1D({2, 1}, {.input_shape = {10, 3}}),
      L::Conv1D(4, 3, {.activation = "relu"}),
      L::UpSampling1D(2),
      L::Cropping1D({1, 3}),
      L::Flatten(),
      L::Dense(1),
  });
  RoundTrip(a, testing::Random({8, 10, 3}, 1), testing::Random({8, 1}, 2), "seq.graft");
}

TEST_F(ReshapingSaving, Image) {
  Sequential a({
      L::ZeroPadding2D({{1, 0}, {2, 1}}, {.input_shape = {6, 5, 2}}),
      L::Conv2D(3, 3, {.activation = "tanh"}),
      L::UpSampling2D({2, 1}),
      L::Cropping2D({{1, 2}, {0, 1}}),
      L::Conv2D(2, 2),
      L::GlobalAveragePooling2D(),
      L::Dense(1),
  });
  RoundTrip(a, testing::Random({8, 6, 5, 2}, 3), testing::Random({8, 1}, 4), "image.graft");
}

}  // namespace
}  // namespace graft::keras
