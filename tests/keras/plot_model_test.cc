// Model::ModelToDot and Model::PlotModel (Keras's model_to_dot / plot_model): the DOT text of a
// Sequential chain and of a functional graph with a branch and a shared layer, the options,
// the PNG that Graphviz draws, and the errors when `dot` is missing or fails (a fake `dot`
// script on PATH stands in for a broken Graphviz).
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "keras/keras.h"
#include "tests/testing.h"

namespace graft::keras {
namespace {

using ::graft::testing::Contains;

std::string Tmp(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return absl::StrCat(dir ? dir : "/tmp", "/", name);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The label line of layer `name`.
std::string LineOf(const std::string& dot, const std::string& name) {
  for (absl::string_view line : absl::StrSplit(dot, '\n')) {
    if (Contains(line, absl::StrCat("<b>", name, "</b> ("))) return std::string(line);
  }
  return "";
}

// Every edge as (source layer, destination layer), by the names in the labels.
std::set<std::pair<std::string, std::string>> Edges(const std::string& dot) {
  std::map<std::string, std::string> name_of;
  for (absl::string_view line : absl::StrSplit(dot, '\n')) {
    const size_t b = line.find("<b>");
    if (b == absl::string_view::npos || !Contains(line, " [label=<")) continue;
    absl::string_view id = line.substr(line.find_first_not_of(' '));
    id = id.substr(0, id.find(' '));
    const size_t e = line.find("</b>", b);
    name_of[std::string(id)] = std::string(line.substr(b + 3, e - b - 3));
  }
  std::set<std::pair<std::string, std::string>> edges;
  for (absl::string_view line : absl::StrSplit(dot, '\n')) {
    std::vector<std::string> parts = absl::StrSplit(line, " -> ");
    if (parts.size() != 2) continue;
    std::string from(absl::StripAsciiWhitespace(parts[0]));
    std::string to(absl::StripAsciiWhitespace(parts[1]));
    if (!to.empty() && to.back() == ';') to.pop_back();
    edges.insert({name_of[from], name_of[to]});
  }
  return edges;
}

size_t CountOf(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

Sequential SeedModel(const std::string& prefix) {
  return Sequential({
      layers::Conv1D(32, 5,
                     {.activation = "relu", .input_shape = {100, 3}, .name = prefix + "conv"}),
      layers::MaxPooling1D(2, {.name = prefix + "pool"}),
      layers::Flatten({.name = prefix + "flatten"}),
      layers::Dense(1, {.activation = "sigmoid", .name = prefix + "dense"}),
  });
}

// in -> (a: Conv2D, b: Conv2D 1x1) -> Add -> GlobalAveragePooling2D -> head (Dense); `head` is
// also called on a second input of another width (a shared layer).
Model BranchModel() {
  KerasTensor in = Input({8, 8, 3}, {.name = "pixels"});
  KerasTensor a =
      layers::Conv2D(4, 3, {.padding = "same", .activation = "relu", .name = "branch_a"})(in);
  KerasTensor b = layers::Conv2D(4, 1, {.name = "branch_b"})(in);
  KerasTensor sum = layers::Add({.name = "merge"})({a, b});
  KerasTensor pooled = layers::GlobalAveragePooling2D({.name = "gap"})(sum);
  return Model({in}, {layers::Dense(2, {.activation = "softmax", .name = "head"})(pooled)},
               "branchy");
}

TEST(ModelToDot, SequentialIsAChainWithoutAnInputBox) {
  Sequential model = SeedModel("seq1_");
  absl::StatusOr<std::string> dot = model.ModelToDot();
  ASSERT_TRUE(dot.ok()) << dot.status();
  EXPECT_TRUE(Contains(*dot, "digraph \"")) << *dot;
  EXPECT_TRUE(Contains(*dot, "rankdir=TB, concentrate=true, dpi=200, splines=ortho")) << *dot;
  EXPECT_TRUE(Contains(*dot, "<b>seq1_conv</b> (Conv1D)")) << *dot;
  EXPECT_TRUE(Contains(*dot, "<b>seq1_dense</b> (Dense)")) << *dot;
  EXPECT_FALSE(Contains(*dot, "InputLayer")) << *dot;  // Keras draws none for Sequential
  EXPECT_EQ(CountOf(*dot, " [label=<"), 4u);
  const std::set<std::pair<std::string, std::string>> expected = {
      {"seq1_conv", "seq1_pool"}, {"seq1_pool", "seq1_flatten"}, {"seq1_flatten", "seq1_dense"}};
  EXPECT_EQ(Edges(*dot), expected) << *dot;
  EXPECT_FALSE(Contains(*dot, "shape:")) << "no shapes unless show_shapes";
}

TEST(ModelToDot, SequentialShapesWithNoneForTheBatch) {
  Sequential model = SeedModel("seq2_");
  absl::StatusOr<std::string> dot = model.ModelToDot({.show_shapes = true});
  ASSERT_TRUE(dot.ok()) << dot.status();
  const std::string conv = LineOf(*dot, "seq2_conv");
  EXPECT_TRUE(Contains(conv, "Input shape: <b>(None, 100, 3)</b>")) << conv;
  EXPECT_TRUE(Contains(conv, "Output shape: <b>(None, 96, 32)</b>")) << conv;
  const std::string flatten = LineOf(*dot, "seq2_flatten");
  EXPECT_TRUE(Contains(flatten, "Input shape: <b>(None, 48, 32)</b>")) << flatten;
  EXPECT_TRUE(Contains(flatten, "Output shape: <b>(None, 1536)</b>")) << flatten;
  EXPECT_TRUE(Contains(LineOf(*dot, "seq2_dense"), "Output shape: <b>(None, 1)</b>"));
}

TEST(ModelToDot, FunctionalBranchHasRealEdges) {
  Model model = BranchModel();
  absl::StatusOr<std::string> dot = model.ModelToDot({.show_shapes = true});
  ASSERT_TRUE(dot.ok()) << dot.status();
  EXPECT_TRUE(Contains(*dot, "digraph \"branchy\"")) << *dot;
  const std::string input = LineOf(*dot, "pixels");
  EXPECT_TRUE(Contains(input, "<b>pixels</b> (InputLayer)")) << input;
  EXPECT_TRUE(Contains(input, "Output shape: <b>(None, 8, 8, 3)</b>")) << input;
  EXPECT_FALSE(Contains(input, "Input shape")) << "an InputLayer shows its output only";
  const std::set<std::pair<std::string, std::string>> expected = {
      {"pixels", "branch_a"}, {"pixels", "branch_b"}, {"branch_a", "merge"},
      {"branch_b", "merge"},  {"merge", "gap"},       {"gap", "head"}};
  EXPECT_EQ(Edges(*dot), expected) << *dot;
  const std::string merge = LineOf(*dot, "merge");
  EXPECT_TRUE(Contains(merge, "Input shape: <b>[(None, 8, 8, 4), (None, 8, 8, 4)]</b>")) << merge;
  EXPECT_TRUE(Contains(merge, "Output shape: <b>(None, 8, 8, 4)</b>")) << merge;
  EXPECT_TRUE(Contains(LineOf(*dot, "head"), "Output shape: <b>(None, 2)</b>"));
}

TEST(ModelToDot, SharedLayerIsOneBoxWithEveryCallsEdges) {
  KerasTensor left = Input({6}, {.name = "left"});
  KerasTensor right = Input({6}, {.name = "right"});
  KerasTensor wide = layers::Dense(6, {.name = "widen"})(right);
  Layer shared = layers::Dense(4, {.name = "shared"});
  KerasTensor sum = layers::Add({.name = "both"})({shared(left), shared(wide)});
  Model model({left, right}, {sum});
  absl::StatusOr<std::string> dot = model.ModelToDot({.show_shapes = true});
  ASSERT_TRUE(dot.ok()) << dot.status();
  EXPECT_EQ(CountOf(*dot, "<b>shared</b>"), 1u) << *dot;
  const std::set<std::pair<std::string, std::string>> expected = {
      {"left", "shared"}, {"right", "widen"}, {"widen", "shared"}, {"shared", "both"}};
  EXPECT_EQ(Edges(*dot), expected) << *dot;  // the two shared->both edges drawn once
  EXPECT_TRUE(Contains(LineOf(*dot, "shared"), "Input shape: <b>(None, 6)</b>"));

  // Called on tensors of different shapes: Keras cannot name one input shape either.
  KerasTensor small = Input({3}, {.name = "small"});
  Layer twice = layers::Activation("relu", {.name = "twice"});
  KerasTensor out = layers::Concatenate({.name = "cat"})({twice(left), twice(small)});
  Model mixed({left, small}, {out});
  dot = mixed.ModelToDot({.show_shapes = true});
  ASSERT_TRUE(dot.ok()) << dot.status();
  const std::string line = LineOf(*dot, "twice");
  EXPECT_TRUE(Contains(line, "Input shape: <b>?</b>")) << line;
  EXPECT_TRUE(Contains(line, "Output shape: <b>?</b>")) << line;
  EXPECT_TRUE(Contains(LineOf(*dot, "cat"), "Input shape: <b>[(None, 6), (None, 3)]</b>"));
}

TEST(ModelToDot, OptionsAddTheirRows) {
  Sequential model = SeedModel("seq3_");
  absl::StatusOr<std::string> dot = model.ModelToDot({.show_dtype = true,
                                                      .show_layer_names = false,
                                                      .rankdir = "LR",
                                                      .dpi = 96,
                                                      .show_layer_activations = true,
                                                      .show_trainable = true});
  ASSERT_TRUE(dot.ok()) << dot.status();
  EXPECT_TRUE(Contains(*dot, "rankdir=LR")) << *dot;
  EXPECT_TRUE(Contains(*dot, "dpi=96")) << *dot;
  EXPECT_FALSE(Contains(*dot, "seq3_")) << "no layer names";
  EXPECT_TRUE(Contains(*dot, "<b>Conv1D</b>")) << *dot;
  EXPECT_EQ(CountOf(*dot, "Output dtype: <b>float32</b>"), 4u) << *dot;
  EXPECT_TRUE(Contains(*dot, "Activation: <b>relu</b>")) << *dot;
  EXPECT_TRUE(Contains(*dot, "Activation: <b>sigmoid</b>")) << *dot;
  EXPECT_EQ(CountOf(*dot, "Activation:"), 2u) << "Flatten and pooling have no activation";
  EXPECT_EQ(CountOf(*dot, "<b>Trainable</b>"), 2u) << "only the layers with weights";
}

TEST(ModelToDot, Errors) {
  Sequential model = SeedModel("seq4_");
  absl::Status s = model.ModelToDot({.rankdir = "UP"}).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(s.message(), "rankdir is \"UP\"")) << s;
  s = model.ModelToDot({.dpi = 0}).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  s = model.ModelToDot({.splines = "wavy"}).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  // A model that cannot be built says why, as Summary does.
  Sequential no_input({layers::Dense(3, {.name = "seq4_lonely"})});
  s = no_input.ModelToDot().status();
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(Contains(s.message(), "input_shape")) << s;
}

// Sets PATH for one test and puts it back.
class ScopedPath {
 public:
  explicit ScopedPath(const std::string& path) {
    const char* old = std::getenv("PATH");
    had_ = old != nullptr;
    if (had_) old_ = old;
    setenv("PATH", path.c_str(), 1);
  }
  ~ScopedPath() {
    if (had_) {
      setenv("PATH", old_.c_str(), 1);
    } else {
      unsetenv("PATH");
    }
  }

 private:
  bool had_ = false;
  std::string old_;
};

TEST(PlotModel, WithoutDotWritesTheDotFileAndSaysHowToInstallGraphviz) {
  const std::string empty_dir = Tmp("empty_bin");
  mkdir(empty_dir.c_str(), 0755);
  Sequential model = SeedModel("seq5_");
  const std::string png = Tmp("no_dot.png");
  absl::Status s;
  {
    ScopedPath path(empty_dir);
    s = model.PlotModel(png);
  }
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_TRUE(Contains(s.message(), "Graphviz's `dot` was not found on PATH")) << s;
  EXPECT_TRUE(Contains(s.message(), "Fix: sudo apt-get install graphviz")) << s;
  EXPECT_TRUE(Contains(s.message(), Tmp("no_dot.dot"))) << s;
  EXPECT_EQ(ReadFile(Tmp("no_dot.dot")), *model.ModelToDot());
  EXPECT_NE(access(png.c_str(), F_OK), 0) << "no picture without Graphviz";
}

TEST(PlotModel, DotThatFailsIsReportedWithItsErrorOutput) {
  const std::string bin = Tmp("fake_bin");
  mkdir(bin.c_str(), 0755);
  {
    std::ofstream fake(bin + "/dot");
    fake << "#!/bin/sh\necho 'Error: no layout engine (stand-in)' >&2\nexit 3\n";
  }
  chmod((bin + "/dot").c_str(), 0755);
  Sequential model = SeedModel("seq6_");
  absl::Status s;
  {
    ScopedPath path(bin);
    s = model.PlotModel(Tmp("fails.png"));
  }
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal) << s;
  EXPECT_TRUE(Contains(s.message(), "exit status 3")) << s;
  EXPECT_TRUE(Contains(s.message(), "Error: no layout engine (stand-in)")) << s;
  EXPECT_TRUE(Contains(s.message(), Tmp("fails.dot"))) << s;
}

TEST(PlotModel, PathErrors) {
  Sequential model = SeedModel("seq7_");
  absl::Status s = model.PlotModel("");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  s = model.PlotModel(Tmp("model.bmp"));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(s.message(), "Fix: end the name in .png")) << s;
  s = model.PlotModel(Tmp("no/such/folder/model.png"));
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(Contains(s.message(), Tmp("no/such/folder/model.dot"))) << s;
  EXPECT_TRUE(Contains(s.message(), "Fix:")) << s;
  // ".dot" asks for the DOT text alone: no Graphviz needed.
  ASSERT_TRUE(model.PlotModel(Tmp("only.dot")).ok());
  EXPECT_EQ(ReadFile(Tmp("only.dot")), *model.ModelToDot());
}

// PNG's IHDR: width and height, big-endian, at bytes 16 and 20.
std::pair<uint32_t, uint32_t> PngSize(const std::string& png) {
  auto be32 = [&](size_t at) {
    return (uint32_t{static_cast<unsigned char>(png[at])} << 24) |
           (uint32_t{static_cast<unsigned char>(png[at + 1])} << 16) |
           (uint32_t{static_cast<unsigned char>(png[at + 2])} << 8) |
           uint32_t{static_cast<unsigned char>(png[at + 3])};
  };
  return {be32(16), be32(20)};
}

TEST(PlotModel, GraphvizDrawsAPng) {
  const char* path = std::getenv("PATH");
  bool found = false;
  for (absl::string_view dir : absl::StrSplit(path ? path : "", ':')) {
    found = found || access(absl::StrCat(dir, "/dot").c_str(), X_OK) == 0;
  }
  if (!found) GTEST_SKIP() << "Graphviz's dot is not installed (tools/setup.sh installs it)";

  Sequential model = SeedModel("seq8_");
  ASSERT_TRUE(model.PlotModel(Tmp("chain.png"), {.dpi = 72}).ok());
  const std::string png = ReadFile(Tmp("chain.png"));
  ASSERT_GE(png.size(), 24u);
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  const auto [w, h] = PngSize(png);
  // Four boxes one above the other: taller than wide (measured 257 x 296).
  EXPECT_GT(h, w) << w << " x " << h;
  EXPECT_TRUE(Contains(ReadFile(Tmp("chain.dot")), "seq8_conv"));

  ASSERT_TRUE(model.PlotModel(Tmp("wide.png"), {.rankdir = "LR", .dpi = 72}).ok());
  const auto [lw, lh] = PngSize(ReadFile(Tmp("wide.png")));
  // The same boxes side by side (measured 976 x 53): about four boxes wide, one high.
  EXPECT_GT(lw, 3 * w) << lw << " x " << lh;
  EXPECT_LT(lh, h / 3) << lw << " x " << lh;
  // dpi scales the picture: 144 dpi is twice 72 dpi in each direction (within rounding).
  ASSERT_TRUE(model.PlotModel(Tmp("chain144.png"), {.dpi = 144}).ok());
  const auto [w2, h2] = PngSize(ReadFile(Tmp("chain144.png")));
  EXPECT_NEAR(static_cast<double>(w2) / w, 2.0, 0.05);
  EXPECT_NEAR(static_cast<double>(h2) / h, 2.0, 0.05);
}

}  // namespace
}  // namespace graft::keras
