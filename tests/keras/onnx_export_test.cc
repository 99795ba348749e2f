// ONNX export, proven by ONNX Runtime: each model is exported, checked with ONNX's checker, run
// in ONNX Runtime (npm onnxruntime-node, through tools/onnxruntime/run_ort.js) at batch 1, 7 and
// 32, and compared with graft's Predict on the same inputs. Needs node and
// tools/onnxruntime/node_modules (tools/setup.sh --onnx); the ONNX Runtime tests are skipped,
// saying so, only when those are missing.
#include "keras/onnx_export.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "io/npy.h"
#include "keras/keras.h"
#include "onnx/checker.h"
#include "onnx/onnx_pb.h"
#include "tests/testing.h"

extern char** environ;

namespace graft {
namespace {

namespace fs = std::filesystem;
namespace layers = keras::layers;
using keras::Sequential;

constexpr char kSetup[] = "run tools/setup.sh --onnx (installs node and onnxruntime-node)";

std::string TempDir() {
  const char* t = std::getenv("TEST_TMPDIR");
  return t != nullptr ? t : fs::temp_directory_path().string();
}

// Runs argv; returns its exit status (-1 when it could not start), its output in `*log`.
int Spawn(const std::vector<std::string>& argv, std::string* log) {
  const std::string log_path = TempDir() + "/spawn.log";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid;
  const int err = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (err != 0) return -1;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  std::ifstream in(log_path);
  std::stringstream text;
  text << in.rdbuf();
  *log = text.str();
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// node and tools/onnxruntime/run_ort.js, or why ONNX Runtime cannot run.
struct Ort {
  std::string node, script, missing;
};

const Ort& FindOrt() {
  static const Ort* ort = [] {
    auto* o = new Ort;
    std::vector<std::string> nodes;
    if (const char* path = std::getenv("PATH")) {
      std::stringstream dirs(path);
      for (std::string d; std::getline(dirs, d, ':');) nodes.push_back(d + "/node");
    }
    nodes.insert(nodes.end(), {"/usr/bin/node", "/usr/local/bin/node", "/usr/bin/nodejs"});
    for (const std::string& n : nodes) {
      if (access(n.c_str(), X_OK) == 0) {
        o->node = n;
        break;
      }
    }
    // The script from the runfiles (node resolves its real path, where node_modules lies).
    std::vector<fs::path> scripts;
    for (const char* var : {"TEST_SRCDIR", "RUNFILES_DIR"}) {
      if (const char* d = std::getenv(var)) scripts.push_back(fs::path(d) / "graft");
    }
    if (const char* w = std::getenv("BUILD_WORKSPACE_DIRECTORY")) scripts.push_back(w);
    scripts.push_back(fs::current_path());
    for (const fs::path& dir : scripts) {
      const fs::path s = dir / "tools/onnxruntime/run_ort.js";
      if (fs::exists(s)) {
        o->script = s.string();
        break;
      }
    }
    std::string log;
    if (o->node.empty()) {
      o->missing = absl::StrCat("node (Node.js) is not installed: ", kSetup);
    } else if (o->script.empty()) {
      o->missing = "tools/onnxruntime/run_ort.js is not in the test's runfiles";
    } else if (int rc = Spawn({o->node, o->script, "--check=1"}, &log); rc == 3) {
      o->missing = absl::StrCat("onnxruntime-node is not installed in tools/onnxruntime: ", kSetup);
    } else if (rc != 0) {
      o->missing = absl::StrCat("run_ort.js --check=1 failed (status ", rc, "): ", log);
    }
    return o;
  }();
  return *ort;
}

#define REQUIRE_ORT()                                                  \
  do {                                                                 \
    if (!FindOrt().missing.empty()) GTEST_SKIP() << FindOrt().missing; \
  } while (0)

// Every weight set to random values of a plausible range (non-zero biases, BN statistics away
// from 0 and 1), so a swapped or misplaced weight shows.
void RandomizeWeights(Sequential& model, uint64_t seed) {
  for (const keras::Layer& layer : model.layers()) {
    std::vector<Tensor> values;
    for (const keras::Weight& w : layer->weights()) {
      const bool positive = w.name == "gamma" || w.name == "moving_variance";
      const double scale = w.name == "kernel" ? 0.4 : 0.3;
      values.push_back(positive ? testing::Random(w.value.shape(), ++seed, 0.5, 1.5)
                                : testing::Random(w.value.shape(), ++seed, -scale, scale));
    }
    ASSERT_TRUE(layer->SetWeights(values).ok()) << layer->name();
  }
}

Shape WithBatch(const std::vector<int64_t>& sample, int64_t batch) {
  std::vector<int64_t> dims = {batch};
  dims.insert(dims.end(), sample.begin(), sample.end());
  return Shape(dims);
}

// Exports `model` as <name>.onnx, checks the file, and compares ONNX Runtime with Predict at
// batch 1, 7 and 32: max |ort - graft| <= 1e-5 * the output's scale (max |graft|, at least 1e-3).
void ExpectOrtMatchesPredict(Sequential& model, const std::string& name,
                             const onnx::ExportOptions& options = {}) {
  const std::string dir = TempDir();
  const std::string path = absl::StrCat(dir, "/", name, ".onnx");
  absl::Status s = onnx::Export(model, path, options);
  ASSERT_TRUE(s.ok()) << s;
  try {
    ::onnx::checker::check_model(path);
  } catch (const std::exception& e) {
    FAIL() << "check_model(" << path << "): " << e.what();
  }
  const std::vector<int64_t>& sample = model.layers()[0]->input_shape();
  for (int64_t batch : {1, 7, 32}) {
    SCOPED_TRACE(absl::StrCat(name, ", batch ", batch));
    const Tensor x = testing::Random(WithBatch(sample, batch), 100 + batch);
    absl::StatusOr<Tensor> want = model.Predict(x, {.batch_size = batch});
    ASSERT_TRUE(want.ok()) << want.status();
    const std::string x_path = absl::StrCat(dir, "/", name, "_x", batch, ".npy");
    const std::string y_path = absl::StrCat(dir, "/", name, "_y", batch, ".npy");
    ASSERT_TRUE(io::SaveNpy(x_path, x).ok());
    std::string log;
    const Ort& ort = FindOrt();
    const int rc = Spawn({ort.node, ort.script, "--model=" + path, "--input=" + x_path,
                          "--output=" + y_path, "--threads=1"},
                         &log);
    ASSERT_EQ(rc, 0) << "run_ort.js failed:\n" << log;
    absl::StatusOr<Tensor> got = io::LoadNpy(y_path);
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_EQ(got->shape(), want->shape());
    double diff = 0, scale = 1e-3;
    for (int64_t i = 0; i < want->num_elements(); ++i) {
      const double w = want->data<float>()[i], g = got->data<float>()[i];
      diff = std::max(diff, std::abs(w - g));
      scale = std::max(scale, std::abs(w));
      if (!std::isfinite(g)) diff = INFINITY;
    }
    std::cout << absl::StrFormat(
        "[onnx] %-22s opset %2d batch %2d  max |ort - graft| = %.3g"
        "  (output scale %.3g, ratio %.3g)\n",
        name, options.opset, batch, diff, scale, diff / scale);
    EXPECT_LE(diff, 1e-5 * scale) << "output scale " << scale;
  }
}

// A short Fit so the BatchNormalization moving statistics and the weights move (and the weights
// are packed in oneDNN's layout when Export reads them).
void CompileAndFit(Sequential& model, int64_t classes, uint64_t seed) {
  ASSERT_TRUE(model.Compile({.optimizer = "adam", .loss = "sparse_categorical_crossentropy"}).ok());
  const Tensor x = testing::Random(WithBatch(model.layers()[0]->input_shape(), 64), seed);
  Tensor y(DType::kI64, {64});
  for (int64_t i = 0; i < 64; ++i) y.data<int64_t>()[i] = (i * 7 + seed) % classes;
  absl::StatusOr<keras::History> h = model.Fit(x, y, {.batch_size = 16, .epochs = 2, .verbose = 0});
  ASSERT_TRUE(h.ok()) << h.status();
}

Sequential SeedConv1D() {
  return Sequential({
      layers::Conv1D(32, 5, {.activation = "relu", .input_shape = {100, 3}}),
      layers::MaxPooling1D(2),
      layers::Flatten(),
      layers::Dense(1, {.activation = "sigmoid"}),
  });
}

Sequential SeedConv2D() {
  return Sequential({
      layers::Conv2D(32, {3, 3}, {.activation = "relu", .input_shape = {32, 32, 3}}),
      layers::MaxPooling2D({2, 2}),
      layers::Flatten(),
      layers::Dense(10, {.activation = "softmax"}),
  });
}

TEST(OnnxExportTest, SeedConv1D) {
  REQUIRE_ORT();
  Sequential model = SeedConv1D();
  ASSERT_TRUE(model.Build().ok());
  RandomizeWeights(model, 1);
  ExpectOrtMatchesPredict(model, "seed_conv1d");
}

TEST(OnnxExportTest, SeedConv2DBothFlattenStrategies) {
  REQUIRE_ORT();
  Sequential model = SeedConv2D();
  CompileAndFit(model, 10, 2);
  ExpectOrtMatchesPredict(model, "seed_conv2d");
  ExpectOrtMatchesPredict(model, "seed_conv2d_transpose", {.permute_dense_after_flatten = false});
}

TEST(OnnxExportTest, MnistConvnetWithDropout) {
  REQUIRE_ORT();
  Sequential model({
      layers::Conv2D(32, 3, {.activation = "relu", .input_shape = {28, 28, 1}}),
      layers::MaxPooling2D(2),
      layers::Conv2D(64, 3, {.activation = "relu"}),
      layers::MaxPooling2D(2),
      layers::Flatten(),
      layers::Dropout(0.5),
      layers::Dense(10, {.activation = "softmax"}),
  });
  CompileAndFit(model, 10, 3);
  ExpectOrtMatchesPredict(model, "mnist_convnet");
}

// Conv1D: causal + dilated, asymmetric same, strided same, grouped; BN on sequences and on
// features; average pooling with same padding (padding excluded); global pooling with keepdims;
// Reshape; Dense on rank 2; elu, selu, gelu, silu, leaky_relu, softplus, tanh, softmax.
Sequential Sequence() {
  return Sequential({
      layers::Conv1D(
          8, 3,
          {.padding = "causal", .dilation_rate = 2, .activation = "elu", .input_shape = {40, 6}}),
      layers::BatchNormalization({.momentum = 0.5}),
      layers::Conv1D(8, 4, {.padding = "same", .groups = 2, .activation = "selu"}),
      layers::Conv1D(12, 3, {.strides = 2, .padding = "same", .activation = "gelu"}),
      layers::AveragePooling1D(3, {.strides = 2, .padding = "same"}),
      layers::MaxPooling1D(2, {.padding = "same"}),
      layers::Activation("silu"),
      layers::GlobalAveragePooling1D({.keepdims = true}),
      layers::Reshape({12}),
      layers::Dense(16, {.activation = "leaky_relu"}),
      layers::BatchNormalization({.momentum = 0.5}),
      layers::Dense(8, {.activation = "softplus"}),
      layers::Dense(6, {.activation = "tanh", .use_bias = false}),
      layers::Dense(3, {.activation = "softmax"}),
  });
}

// Conv2D: strided + asymmetric same, dilated + grouped same, valid, no bias; BN (also without
// gamma/beta); average and max pooling; Reshape back to an image; Dense on rank 4; global max
// pooling; relu, sigmoid, linear, gelu, swish, selu, softmax.
Sequential Image() {
  return Sequential({
      layers::Conv2D(
          8, {3, 2},
          {.strides = {2, 1}, .padding = "same", .activation = "relu", .input_shape = {13, 11, 4}}),
      layers::Conv2D(8, 3,
                     {.padding = "same", .dilation_rate = 2, .groups = 4, .activation = "sigmoid"}),
      layers::BatchNormalization({.momentum = 0.5}),
      layers::AveragePooling2D(2, {.padding = "same"}),
      layers::Conv2D(6, 2, {.activation = "linear", .use_bias = false}),
      layers::BatchNormalization({.momentum = 0.5, .center = false, .scale = false}),
      layers::Reshape({5, 3, 6}),
      layers::MaxPooling2D(2, {.strides = 1}),
      layers::Activation("gelu"),
      layers::Dense(7, {.activation = "swish"}),
      layers::GlobalMaxPooling2D(),
      layers::Activation("selu"),
      layers::Dense(4, {.activation = "softmax"}),
  });
}

TEST(OnnxExportTest, SequenceLayersAfterFit) {
  REQUIRE_ORT();
  Sequential model = Sequence();
  CompileAndFit(model, 3, 4);
  ExpectOrtMatchesPredict(model, "sequence");
  ExpectOrtMatchesPredict(model, "sequence_opset17", {.opset = 17});
}

TEST(OnnxExportTest, ImageLayersAfterFit) {
  REQUIRE_ORT();
  Sequential model = Image();
  CompileAndFit(model, 4, 5);
  ExpectOrtMatchesPredict(model, "image");
}

TEST(OnnxExportTest, ImageLayersRandomWeights) {
  REQUIRE_ORT();
  Sequential model = Image();
  ASSERT_TRUE(model.Build().ok());
  RandomizeWeights(model, 6);
  ExpectOrtMatchesPredict(model, "image_random");
}

// Flatten -> activation -> Dense (the permuted kernel behind an activation); Flatten -> softmax
// as the output (transposed back before the Flatten); global pooling variants; a model ending on a
// convolution with softmax over its channels (channels-first inside, channels-last out).
TEST(OnnxExportTest, LayoutEdges) {
  REQUIRE_ORT();
  Sequential through_activation({
      layers::Conv2D(4, 3, {.input_shape = {6, 5, 2}}),
      layers::Flatten(),
      layers::Activation("tanh"),
      layers::Dense(3, {.activation = "softmax"}),
  });
  ASSERT_TRUE(through_activation.Build().ok());
  RandomizeWeights(through_activation, 7);
  ExpectOrtMatchesPredict(through_activation, "flatten_activation_dense");

  Sequential flat_output({
      layers::Conv1D(3, 2, {.activation = "relu", .input_shape = {5, 2}}),
      layers::Flatten(),
      layers::Activation("softmax"),
  });
  ASSERT_TRUE(flat_output.Build().ok());
  RandomizeWeights(flat_output, 8);
  ExpectOrtMatchesPredict(flat_output, "flatten_softmax_output");

  Sequential global({
      layers::Conv2D(5, 2, {.activation = "tanh", .input_shape = {6, 6, 3}}),
      layers::GlobalAveragePooling2D({.keepdims = true}),
      layers::Flatten(),
      layers::Dense(4),
      layers::Reshape({2, 2}),
      layers::GlobalMaxPooling1D(),
  });
  ASSERT_TRUE(global.Build().ok());
  RandomizeWeights(global, 9);
  ExpectOrtMatchesPredict(global, "global_pooling");

  Sequential conv_output({
      layers::Conv2D(3, 2, {.input_shape = {5, 4, 2}}),
      layers::Activation("softmax"),
  });
  ASSERT_TRUE(conv_output.Build().ok());
  RandomizeWeights(conv_output, 10);
  ExpectOrtMatchesPredict(conv_output, "conv_softmax_output");

  Sequential only_dropout({layers::Dropout(0.3, {.input_shape = {4}})});
  ExpectOrtMatchesPredict(only_dropout, "only_dropout");
}

// ZeroPadding, Cropping and UpSampling (Pad, Slice, Resize nearest): on graft's layout at the
// input and channels-first between convolutions, and as the model's output.
TEST(OnnxExportTest, ReshapingLayers) {
  REQUIRE_ORT();
  Sequential sequence({
      layers::ZeroPadding1D({2, 1}, {.input_shape = {12, 3}}),
      layers::Conv1D(4, 3, {.activation = "relu"}),
      layers::UpSampling1D(3),
      layers::Cropping1D({1, 2}),
      layers::Conv1D(2, 2),
      layers::ZeroPadding1D(1),
      layers::Flatten(),
      layers::Dense(3, {.activation = "softmax"}),
  });
  CompileAndFit(sequence, 3, 11);
  ExpectOrtMatchesPredict(sequence, "reshaping_sequence");

  Sequential image({
      layers::UpSampling2D({2, 1}, {.input_shape = {5, 4, 2}}),
      layers::Cropping2D({{1, 0}, {0, 1}}),
      layers::Conv2D(4, 3, {.activation = "tanh"}),
      layers::ZeroPadding2D({{1, 0}, {2, 1}}),
      layers::UpSampling2D(2),
      layers::Cropping2D({2, 1}),
      layers::MaxPooling2D(2),
      layers::Conv2D(3, 2),
  });
  ASSERT_TRUE(image.Build().ok());
  RandomizeWeights(image, 12);
  ExpectOrtMatchesPredict(image, "reshaping_image");

  Sequential only_pad({layers::ZeroPadding2D({{0, 2}, {1, 0}}, {.input_shape = {3, 4, 2}})});
  ExpectOrtMatchesPredict(only_pad, "only_zero_padding2d");
  Sequential only_up({layers::UpSampling1D(4, {.input_shape = {5, 3}})});
  ExpectOrtMatchesPredict(only_up, "only_up_sampling1d");
}

TEST(OnnxExportTest, NamesOpsetAndDynamicBatch) {
  Sequential model = SeedConv1D();
  absl::StatusOr<std::string> bytes = onnx::ExportToString(model);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  ::onnx::ModelProto m;
  ASSERT_TRUE(m.ParseFromString(*bytes));
  ASSERT_EQ(m.opset_import_size(), 1);
  EXPECT_EQ(m.opset_import(0).version(), 13);
  EXPECT_EQ(m.producer_name(), "graft");
  const ::onnx::GraphProto& g = m.graph();
  ASSERT_EQ(g.input_size(), 1);
  ASSERT_EQ(g.output_size(), 1);
  EXPECT_EQ(g.input(0).name(), "input_layer");
  EXPECT_EQ(g.output(0).name(), model.layers().back()->name());
  for (const ::onnx::ValueInfoProto* v : {&g.input(0), &g.output(0)}) {
    const ::onnx::TensorShapeProto& shape = v->type().tensor_type().shape();
    EXPECT_EQ(shape.dim(0).dim_param(), "N") << v->name();
    EXPECT_FALSE(shape.dim(0).has_dim_value()) << v->name();
  }
  // One Transpose (at the input): the Dense reads the channels-first flatten directly.
  int transposes = 0;
  for (const ::onnx::NodeProto& n : g.node()) transposes += n.op_type() == "Transpose";
  EXPECT_EQ(transposes, 1);

  absl::StatusOr<std::string> named =
      onnx::ExportToString(model, {.input_name = "x", .output_name = "probability"});
  ASSERT_TRUE(named.ok()) << named.status();
  ASSERT_TRUE(m.ParseFromString(*named));
  EXPECT_EQ(m.graph().input(0).name(), "x");
  EXPECT_EQ(m.graph().output(0).name(), "probability");
}

// A user layer whose op the export does not know: x * x through graft.Mul.
class SquareLayer : public keras::LayerImpl {
 public:
  SquareLayer() : LayerImpl("square", "", {}) {}
  std::string class_name() const override { return "Square"; }

 private:
  absl::Status Build(const TensorType&) override { return absl::OkStatus(); }
  absl::StatusOr<Value> Forward(Graph& g, Value x, const std::vector<Value>&,
                                const keras::CallContext&) override {
    return g.Add("graft.Mul", {x, x}, {}, "Mul");
  }
};

TEST(OnnxExportTest, UnsupportedLayerNamesTheLayerAndWritesNothing) {
  auto square = std::make_shared<SquareLayer>();
  Sequential model({layers::Dense(4, {.input_shape = {3}}), square, layers::Dense(2)});
  const std::string path = TempDir() + "/unsupported.onnx";
  absl::Status s = onnx::Export(model, path);
  std::cout << "[onnx] unsupported layer: " << s << "\n";
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), absl::StatusCode::kUnimplemented) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), absl::StrCat(square->name(), " (Square, layer 1)")))
      << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "graft.Mul")) << s;
  EXPECT_FALSE(fs::exists(path));
}

TEST(OnnxExportTest, ErrorsAreStatuses) {
  Sequential model = SeedConv1D();
  absl::Status bad_dir = onnx::Export(model, "/nonexistent-graft-dir/model.onnx");
  EXPECT_FALSE(bad_dir.ok());
  EXPECT_TRUE(absl::StrContains(bad_dir.message(), "/nonexistent-graft-dir")) << bad_dir;

  absl::Status is_dir = onnx::Export(model, TempDir());
  EXPECT_FALSE(is_dir.ok());

  EXPECT_FALSE(onnx::Export(model, "").ok());

  absl::Status opset = onnx::Export(model, TempDir() + "/m.onnx", {.opset = 12});
  EXPECT_EQ(opset.code(), absl::StatusCode::kInvalidArgument) << opset;

  Sequential no_input_shape({layers::Dense(3)});
  absl::Status not_built = onnx::Export(no_input_shape, TempDir() + "/m.onnx");
  EXPECT_EQ(not_built.code(), absl::StatusCode::kFailedPrecondition) << not_built;
  EXPECT_TRUE(absl::StrContains(not_built.message(), "input_shape")) << not_built;

  Sequential empty;
  EXPECT_FALSE(onnx::Export(empty, TempDir() + "/m.onnx").ok());

  absl::Status same_names =
      onnx::Export(model, TempDir() + "/m.onnx", {.input_name = "a", .output_name = "a"});
  EXPECT_EQ(same_names.code(), absl::StatusCode::kInvalidArgument) << same_names;

  // Nothing was left behind in the temporary folder by the failed writes.
  for (const auto& entry : fs::directory_iterator(TempDir())) {
    EXPECT_FALSE(absl::StrContains(entry.path().filename().string(), ".tmp.")) << entry.path();
  }
}

}  // namespace
}  // namespace graft
