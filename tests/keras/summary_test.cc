// Summary text, layer naming and build-time errors of the Keras API.
#include "keras/summary.h"

#include <sstream>

#include "gtest/gtest.h"
#include "keras/keras.h"

namespace graft::keras {
namespace {

namespace L = layers;

// The golden text from the reference (Keras 3.16, Example A).
constexpr char kExampleA[] =
    "Model: \"sequential\"\n"
    "┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━┓\n"
    "┃ Layer (type)                         ┃ Output Shape                ┃         Param # ┃\n"
    "┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━┩\n"
    "│ conv1d (Conv1D)                      │ (None, 96, 32)              │             512 │\n"
    "├──────────────────────────────────────┼─────────────────────────────┼─────────────────┤\n"
    "│ max_pooling1d (MaxPooling1D)         │ (None, 48, 32)              │               0 │\n"
    "├──────────────────────────────────────┼─────────────────────────────┼─────────────────┤\n"
    "│ flatten (Flatten)                    │ (None, 1536)                │               0 │\n"
    "├──────────────────────────────────────┼─────────────────────────────┼─────────────────┤\n"
    "│ dense (Dense)                        │ (None, 1)                   │           1,537 │\n"
    "└──────────────────────────────────────┴─────────────────────────────┴─────────────────┘\n"
    " Total params: 2,049 (8.00 KB)\n"
    " Trainable params: 2,049 (8.00 KB)\n"
    " Non-trainable params: 0 (0.00 B)\n";

// This test must be the first in the binary to create layers: Keras names are per process.
TEST(Summary, ExampleAMatchesKeras3Exactly) {
  Sequential model({
      L::Conv1D(32, 5, {.activation = "relu", .input_shape = {100, 3}}),
      L::MaxPooling1D(2),
      L::Flatten(),
      L::Dense(1, {.activation = "sigmoid"}),
  });
  absl::StatusOr<std::string> text = model.SummaryText();
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text, kExampleA);
  EXPECT_EQ(model.CountParams(), 2049);
}

TEST(Summary, NamesAreUniquifiedPerProcess) {
  Sequential model({L::Conv1D(8, 3, {.input_shape = {10, 2}}), L::Flatten(), L::Dense(2)});
  EXPECT_EQ(model.name(), "sequential_1");
  EXPECT_EQ(model.layers()[0]->name(), "conv1d_1");
  EXPECT_EQ(model.layers()[1]->name(), "flatten_1");
  EXPECT_EQ(model.layers()[2]->name(), "dense_1");
}

TEST(Summary, FormatsSizesLikeKeras) {
  EXPECT_EQ(WithThousands(72906), "72,906");
  EXPECT_EQ(WithThousands(512), "512");
  EXPECT_EQ(WithThousands(1000000), "1,000,000");
  EXPECT_EQ(ReadableSize(2049 * 4), "8.00 KB");
  EXPECT_EQ(ReadableSize(72906 * 4), "284.79 KB");
  EXPECT_EQ(ReadableSize(0), "0.00 B");
  EXPECT_EQ(ReadableSize(3.5 * 1024 * 1024), "3.50 MB");
}

TEST(BuildErrors, ValidConvTooShortNamesLayerFormulaAndFix) {
  Sequential model(
      {L::Conv1D(4, 5, {.input_shape = {3, 2}, .name = "short_conv"}), L::Flatten(), L::Dense(1)});
  absl::Status s = model.Compile({.optimizer = "adam", .loss = "binary_crossentropy"});
  ASSERT_FALSE(s.ok());
  const std::string m(s.message());
  EXPECT_NE(m.find("short_conv (Conv1D, layer 0)"), std::string::npos) << m;
  EXPECT_NE(m.find("output length would be -1"), std::string::npos) << m;
  EXPECT_NE(m.find("floor((3 - 1*(5-1) - 1)/1) + 1 = -1"), std::string::npos) << m;
  EXPECT_NE(m.find("padding=\"same\""), std::string::npos) << m;
}

TEST(BuildErrors, ConstructorProblemsSurfaceAtCompile) {
  Sequential bad_filters({L::Conv1D(0, 3, {.input_shape = {10, 1}})});
  absl::Status s = bad_filters.Compile({.optimizer = "adam", .loss = "binary_crossentropy"});
  EXPECT_NE(s.message().find("Expected a strictly positive value. Received filters=0"),
            std::string::npos)
      << s;
  Sequential bad_act({L::Conv1D(2, 3, {.activation = "rleu", .input_shape = {10, 1}})});
  s = bad_act.Compile({.optimizer = "adam", .loss = "binary_crossentropy"});
  EXPECT_NE(s.message().find("unknown activation \"rleu\""), std::string::npos) << s;
  Sequential bad_pad({L::Conv1D(2, 3, {.padding = "full", .input_shape = {10, 1}})});
  s = bad_pad.Compile({.optimizer = "adam", .loss = "binary_crossentropy"});
  EXPECT_NE(s.message().find("received padding=\"full\""), std::string::npos) << s;
  Sequential dilated({L::Conv1D(2, 3, {.strides = 2, .dilation_rate = 2, .input_shape = {10, 1}})});
  s = dilated.Compile({.optimizer = "adam", .loss = "binary_crossentropy"});
  EXPECT_NE(s.message().find("`strides > 1` not supported in conjunction with `dilation_rate > 1`"),
            std::string::npos)
      << s;
}

TEST(BuildErrors, UnknownNamesAtCompile) {
  auto make = [] {
    return Sequential({L::Conv1D(2, 3, {.input_shape = {10, 1}}), L::Flatten(),
                       L::Dense(1, {.activation = "sigmoid"})});
  };
  Sequential a = make();
  EXPECT_NE(
      a.Compile({.optimizer = "adamm", .loss = "binary_crossentropy"}).message().find("adamm"),
      std::string::npos);
  Sequential b = make();
  EXPECT_NE(b.Compile({.optimizer = "adam", .loss = "hinge"}).message().find("unknown loss"),
            std::string::npos);
  Sequential c = make();
  EXPECT_NE(c.Compile({.optimizer = "adam", .loss = "binary_crossentropy", .metrics = {"auc"}})
                .message()
                .find("unknown metric \"auc\""),
            std::string::npos);
  Sequential d({L::Dense(1)});
  EXPECT_NE(d.Compile({.optimizer = "adam", .loss = "binary_crossentropy"})
                .message()
                .find("needs input_shape"),
            std::string::npos);
}

TEST(BuildErrors, SummaryOfABrokenModelSaysWhy) {
  Sequential model({L::Conv1D(4, 50, {.input_shape = {10, 2}})});
  std::ostringstream out;
  model.Summary(out);
  EXPECT_NE(out.str().find("cannot be built"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("layer 0"), std::string::npos) << out.str();
}

}  // namespace
}  // namespace graft::keras
