// The benchmark models build with Keras's parameter counts, their data are deterministic, and
// the timing protocol counts what it should.
#include "bench/models.h"

#include <cmath>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "bench/timing.h"
#include "gtest/gtest.h"
#include "keras/keras.h"
#include "oneapi/dnnl/dnnl.hpp"

namespace graft::bench {
namespace {

TEST(BenchModels, KerasParameterCounts) {
  // model.count_params() of the same models in Keras (M5: 77,898 trainable, the count of
  // tools/resnet_reference.py's PyTorch model, plus 480 moving statistics).
  const std::vector<std::pair<std::string, int64_t>> expected = {
      {"M1", 2049}, {"M2", 72906}, {"M3", 34826}, {"M4", 342090}, {"M5", 78378}};
  for (const auto& [name, count] : expected) {
    absl::StatusOr<keras::Model> model = BuildModel(name);
    ASSERT_TRUE(model.ok()) << name << ": " << model.status();
    EXPECT_EQ(model->CountParams(), count) << name;
  }
}

TEST(BenchModels, UnknownModelListsTheNames) {
  absl::StatusOr<ModelSpec> spec = FindModel("M9");
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(spec.status().message().find("M1, M2, M3, M4, M5"), std::string::npos);
  EXPECT_TRUE(FindModel("m3").ok());
}

TEST(BenchModels, M5IsAFunctionalResNet) {
  absl::StatusOr<keras::Model> model = BuildModel("M5");
  ASSERT_TRUE(model.ok()) << model.status();
  int adds = 0, batch_norms = 0, convs = 0;
  for (const keras::Layer& l : model->layers()) {
    adds += l->class_name() == "Add";
    batch_norms += l->class_name() == "BatchNormalization";
    convs += l->class_name() == "Conv2D";
  }
  EXPECT_EQ(adds, 3);
  EXPECT_EQ(batch_norms, 7);
  EXPECT_EQ(convs, 9);  // 7 on the main path, 2 projections
  absl::StatusOr<std::string> summary = model->SummaryText();
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_NE(summary->find("Connected to"), std::string::npos);
  EXPECT_EQ(BuildSequentialModel("M5").status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_TRUE(BuildSequentialModel("M4").ok());
}

TEST(BenchModels, DataAreDeterministicAndInRange) {
  for (const ModelSpec& spec : ModelSpecs()) {
    const Dataset a = MakeData(spec, 64), b = MakeData(spec, 64), c = MakeData(spec, 64, 2);
    ASSERT_EQ(a.x.shape().dim(0), 64);
    EXPECT_EQ(a.x.shape().rank(), 1 + static_cast<int>(spec.input_shape.size()));
    EXPECT_EQ(0, std::memcmp(a.x.raw_data(), b.x.raw_data(), a.x.nbytes())) << spec.name;
    EXPECT_EQ(0, std::memcmp(a.y.raw_data(), b.y.raw_data(), a.y.nbytes())) << spec.name;
    EXPECT_NE(0, std::memcmp(a.x.raw_data(), c.x.raw_data(), a.x.nbytes())) << spec.name;
    for (double v : a.x.ToVector<double>()) {
      ASSERT_GE(v, 0.0);
      ASSERT_LT(v, 1.0);
    }
    const int64_t classes = spec.num_classes == 1 ? 2 : spec.num_classes;
    for (double v : a.y.ToVector<double>()) {
      ASSERT_GE(v, 0.0);
      ASSERT_LT(v, static_cast<double>(classes));
      ASSERT_EQ(v, std::floor(v));
    }
    EXPECT_EQ(a.y.dtype(), spec.num_classes == 1 ? DType::kF32 : DType::kI64);
  }
}

TEST(BenchModels, OneTrainStepAndOnePredictRun) {
  for (const ModelSpec& spec : ModelSpecs()) {
    absl::StatusOr<keras::Model> model = BuildModel(spec.name);
    ASSERT_TRUE(model.ok()) << spec.name << ": " << model.status();
    const Dataset d = MakeData(spec, 4);
    absl::StatusOr<keras::History> h = model->Fit(d.x, d.y, {.batch_size = 4, .verbose = 0});
    ASSERT_TRUE(h.ok()) << spec.name << ": " << h.status();
    absl::StatusOr<Tensor> p = model->Predict(d.x, {.batch_size = 4});
    ASSERT_TRUE(p.ok()) << spec.name << ": " << p.status();
    EXPECT_EQ(p->shape().dim(1), spec.num_classes);
  }
}

// oneDNN falls back to its reference kernels (0.1 GFLOP/s) when handed a layout it has no
// optimised implementation for (plain weights, say). Every primitive a benchmark model's train
// step and inference run executes, at the benchmark batch sizes and thread counts, must be an
// optimised one: read back from ONEDNN_VERBOSE's exec lines. (M5 at batch 256 makes this the
// slowest test here: a few seconds.)
TEST(BenchModels, NoReferenceImplementationAtTheBenchmarkShapes) {
  SetAdaptiveThreads(false);
  for (const ModelSpec& spec : ModelSpecs()) {
    for (int64_t batch : {spec.small_batch, int64_t{256}}) {
      for (int threads : {1, 2}) {
        SetNumThreads(threads);
        absl::StatusOr<keras::Model> model = BuildModel(spec.name);
        ASSERT_TRUE(model.ok()) << spec.name;
        const Dataset d = MakeData(spec, batch);
        dnnl::set_verbose(1);
        ::testing::internal::CaptureStdout();
        absl::StatusOr<keras::History> h =
            model->Fit(d.x, d.y, {.batch_size = batch, .verbose = 0});
        absl::StatusOr<Tensor> p = model->Predict(d.x, {.batch_size = batch});
        const std::string log = ::testing::internal::GetCapturedStdout();
        dnnl::set_verbose(0);
        ASSERT_TRUE(h.ok() && p.ok()) << spec.name;
        int executed = 0;
        std::istringstream lines(log);
        for (std::string line; std::getline(lines, line);) {
          if (line.rfind("onednn_verbose,exec,", 0) != 0) continue;
          ++executed;
          // onednn_verbose,exec,cpu,<primitive>,<implementation>,...
          std::vector<std::string> f;
          std::istringstream fields(line);
          for (std::string x; std::getline(fields, x, ',');) f.push_back(x);
          ASSERT_GE(f.size(), 5u) << line;
          EXPECT_NE(f[4].rfind("ref", 0), 0u)
              << spec.name << " batch " << batch << " threads " << threads << ": " << line;
          // Nor the generic loop for plain channels-first layouts (ncsp_bnorm), which a
          // channels-last batch handed over as a 2-D matrix lands on: 10-20x slower than the
          // JIT kernel on M5's images.
          if (f[3] == "batch_normalization") {
            EXPECT_NE(f[4].rfind("ncsp", 0), 0u)
                << spec.name << " batch " << batch << " threads " << threads << ": " << line;
          }
        }
        EXPECT_GT(executed, 0) << spec.name;
      }
    }
  }
  SetNumThreads(0);
  SetAdaptiveThreads(true);
}

TEST(BenchTiming, CountsStepsAndWindows) {
  int calls = 0;
  absl::StatusOr<Throughput> t = MeasureThroughput(
      [&] {
        ++calls;
        return absl::OkStatus();
      },
      8, {.warmup_seconds = 0, .min_seconds = 0.001, .repetitions = 3});
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->windows.size(), 3u);
  EXPECT_EQ(calls, t->steps + 2);  // two warm-up steps
  EXPECT_LE(t->min, t->median);
  EXPECT_LE(t->median, t->max);
  EXPECT_NE(ChildReportJson({.framework = "graft", .throughput = *t}).find("\"windows\": ["),
            std::string::npos);
}

TEST(BenchTiming, StepErrorEndsTheMeasurement) {
  absl::StatusOr<Throughput> t =
      MeasureThroughput([] { return absl::InternalError("boom"); }, 8, {});
  EXPECT_EQ(t.status().message(), "boom");
}

}  // namespace
}  // namespace graft::bench
