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

// Example B's rows and totals as Keras 3 prints them (second model in the process).
TEST(Summary, ExampleBMatchesKeras3Rows) {
  Sequential model({
      L::Conv2D(32, {3, 3}, {.activation = "relu", .input_shape = {32, 32, 3}}),
      L::MaxPooling2D({2, 2}),
      L::Flatten(),
      L::Dense(10, {.activation = "softmax"}),
  });
  absl::StatusOr<std::string> text = model.SummaryText();
  ASSERT_TRUE(text.ok()) << text.status();
  const std::string& t = *text;
  EXPECT_NE(t.find("Model: \"sequential_1\""), std::string::npos) << t;
  EXPECT_NE(t.find("│ conv2d (Conv2D)                      │ (None, 30, 30, 32)          │         "
                   "    896 │"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("│ max_pooling2d (MaxPooling2D)         │ (None, 15, 15, 32)          │         "
                   "      0 │"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("│ flatten_1 (Flatten)                  │ (None, 7200)                │         "
                   "      0 │"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("│ dense_1 (Dense)                      │ (None, 10)                  │         "
                   " 72,010 │"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find(" Total params: 72,906 (284.79 KB)\n"), std::string::npos) << t;
  EXPECT_EQ(model.CountParams(), 72906);
}

TEST(Summary, NamesAreUniquifiedPerProcess) {
  Sequential model({L::Conv1D(8, 3, {.input_shape = {10, 2}}), L::Flatten(), L::Dense(2)});
  EXPECT_EQ(model.name(), "sequential_2");
  EXPECT_EQ(model.layers()[0]->name(), "conv1d_1");
  EXPECT_EQ(model.layers()[1]->name(), "flatten_2");
  EXPECT_EQ(model.layers()[2]->name(), "dense_2");
}

TEST(Summary, BatchNormalizationStatisticsAreNonTrainable) {
  Sequential model({L::Dense(16, {.input_shape = {8}}), L::BatchNormalization(), L::Dense(1)});
  absl::StatusOr<std::string> text = model.SummaryText();
  ASSERT_TRUE(text.ok()) << text.status();
  // dense 8*16+16 = 144, BN gamma+beta 32 trainable + 32 moving statistics, dense 17.
  EXPECT_NE(text->find(" Total params: 225 (900.00 B)"), std::string::npos) << *text;
  EXPECT_NE(text->find(" Trainable params: 193 (772.00 B)"), std::string::npos) << *text;
  EXPECT_NE(text->find(" Non-trainable params: 32 (128.00 B)"), std::string::npos) << *text;
}

// Example C: the "wrong" Conv2D fails at Compile, before any data, naming the layer, the width
// formula and the fixes.
TEST(BuildErrors, ExampleCWrongConv2DSuggestsConv1D) {
  Sequential model({L::Conv2D(32, {3, 3}, {.input_shape = {100, 1, 1}})});
  absl::Status s = model.Compile({.optimizer = "adam", .loss = "mse"});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  const std::string m(s.message());
  EXPECT_EQ(m.rfind("conv2d_1 (Conv2D, layer 0): output width would be -1 = "
                    "floor((1 - 1*(3-1) - 1)/1) + 1 (input (None, 100, 1, 1)",
                    0),
            0u)
      << m;
  EXPECT_NE(m.find("looks like a sequence of 100 steps x 1 feature: use Conv1D(32, 3) with "
                   "input_shape (100, 1); or kernel_size (3, 1); or padding \"same\"."),
            std::string::npos)
      << m;
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
  EXPECT_NE(m.find("would be -1 = floor((3 - 1*(5-1) - 1)/1) + 1 (input"), std::string::npos) << m;
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
