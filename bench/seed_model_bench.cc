// Training and inference throughput of the seed Conv1D model (Example A).
//
//   bazel run -c opt //bench:seed_model_bench
//
// Arguments: {batch size, threads}. Each iteration is one full train step (forward, loss,
// backward, Adam update) on a batch of the synthetic sensor-fault data; `samples_per_s` is the
// throughput. Run with nothing else on the machine: oneDNN's OpenMP team collapses when another
// CPU-bound process shares the cores.
#include <sstream>

#include "benchmark/benchmark.h"
#include "keras/datasets/sensor_faults.h"
#include "keras/keras.h"

namespace graft::keras {
namespace {

namespace L = layers;

const datasets::Split& Data() {
  static const datasets::Split* d =
      new datasets::Split(datasets::SensorFaults({.num_train = 1024, .num_test = 256}));
  return *d;
}

Sequential SeedModel() {
  SetRandomSeed(1);
  Sequential model({
      L::Conv1D(32, 5, {.activation = "relu", .input_shape = {100, 3}}),
      L::MaxPooling1D(2),
      L::Flatten(),
      L::Dense(1, {.activation = "sigmoid"}),
  });
  (void)model.Compile(
      {.optimizer = "adam", .loss = "binary_crossentropy", .metrics = {"accuracy"}});
  return model;
}

void BM_SeedConv1DTrain(benchmark::State& state) {
  const int64_t batch = state.range(0);
  SetNumThreads(static_cast<int>(state.range(1)));
  Sequential model = SeedModel();
  const Tensor x = Data().x_train.SliceRows(0, batch * 8);
  const Tensor y = Data().y_train.SliceRows(0, batch * 8);
  std::ostringstream sink;
  // Warm-up: compiles the plan for this batch size.
  (void)model.Fit(x, y, {.batch_size = batch, .epochs = 1, .verbose = 0, .output = &sink});
  for (auto _ : state) {
    absl::StatusOr<History> h =
        model.Fit(x, y, {.batch_size = batch, .epochs = 1, .verbose = 0, .output = &sink});
    if (!h.ok()) state.SkipWithError(std::string(h.status().message()).c_str());
  }
  state.counters["samples_per_s"] = benchmark::Counter(
      static_cast<double>(state.iterations() * batch * 8), benchmark::Counter::kIsRate);
  state.counters["threads"] = static_cast<double>(state.range(1));
}
BENCHMARK(BM_SeedConv1DTrain)
    ->ArgNames({"batch", "threads"})
    ->Args({32, 1})
    ->Args({32, 2})
    ->Args({256, 1})
    ->Args({256, 2})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(2.0);

void BM_SeedConv1DPredict(benchmark::State& state) {
  const int64_t batch = state.range(0);
  SetNumThreads(static_cast<int>(state.range(1)));
  Sequential model = SeedModel();
  const Tensor x = Data().x_test.SliceRows(0, batch * 4);
  (void)model.Predict(x, {.batch_size = batch});
  for (auto _ : state) {
    absl::StatusOr<Tensor> p = model.Predict(x, {.batch_size = batch});
    if (!p.ok()) state.SkipWithError(std::string(p.status().message()).c_str());
  }
  state.counters["samples_per_s"] = benchmark::Counter(
      static_cast<double>(state.iterations() * batch * 4), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_SeedConv1DPredict)
    ->ArgNames({"batch", "threads"})
    ->Args({32, 1})
    ->Args({32, 2})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(1.0);

}  // namespace
}  // namespace graft::keras

BENCHMARK_MAIN();
