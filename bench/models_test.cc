// The benchmark models build with Keras's parameter counts, their data are deterministic, and
// the timing protocol counts what it should.
#include "bench/models.h"

#include <cmath>
#include <cstring>

#include "bench/timing.h"
#include "gtest/gtest.h"
#include "keras/keras.h"

namespace graft::bench {
namespace {

TEST(BenchModels, KerasParameterCounts) {
  // model.count_params() of the same models in Keras.
  const std::vector<std::pair<std::string, int64_t>> expected = {
      {"M1", 2049}, {"M2", 72906}, {"M3", 34826}, {"M4", 342090}};
  for (const auto& [name, count] : expected) {
    absl::StatusOr<keras::Sequential> model = BuildModel(name);
    ASSERT_TRUE(model.ok()) << name << ": " << model.status();
    EXPECT_EQ(model->CountParams(), count) << name;
  }
}

TEST(BenchModels, UnknownModelListsTheNames) {
  absl::StatusOr<ModelSpec> spec = FindModel("M9");
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(spec.status().message().find("M1, M2, M3, M4"), std::string::npos);
  EXPECT_TRUE(FindModel("m3").ok());
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
    absl::StatusOr<keras::Sequential> model = BuildModel(spec.name);
    ASSERT_TRUE(model.ok()) << spec.name << ": " << model.status();
    const Dataset d = MakeData(spec, 4);
    absl::StatusOr<keras::History> h = model->Fit(d.x, d.y, {.batch_size = 4, .verbose = 0});
    ASSERT_TRUE(h.ok()) << spec.name << ": " << h.status();
    absl::StatusOr<Tensor> p = model->Predict(d.x, {.batch_size = 4});
    ASSERT_TRUE(p.ok()) << spec.name << ": " << p.status();
    EXPECT_EQ(p->shape().dim(1), spec.num_classes);
  }
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
