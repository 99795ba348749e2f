// Dataset prefetching (issue "training as people run it", item 4): does a slow source's time
// hide behind the training step? Trains a model from a keras::Dataset generator whose every batch
// costs --source_ms, four ways, side by side in one run:
//
//   compute only       a generator returning ready batches (the step's own time)
//   slow source        the generator sleeps --source_ms per batch (I/O-like: disk, network)
//   slow + Prefetch(2) the same, made on the prefetching thread while the step runs
//   busy + Prefetch(2) the generator computes for --source_ms (decoding, augmenting) instead
//                      of sleeping: it needs a core of its own (the step runs on --threads)
//
// Reports the median epoch time of --epochs epochs (after one warm-up epoch) and the share of
// the source's time hidden: (slow - prefetched) / (slow - compute only).
//
//   bazel run -c opt //bench:prefetch -- --model=M2 --threads=1 --source_ms=0 (auto: the step's time)
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_format.h"
#include "bench/models.h"
#include "keras/keras.h"
#include "runtime/threads.h"

ABSL_FLAG(std::string, model, "M2", "benchmark model (bench/models.h)");
ABSL_FLAG(int, threads, 1, "threads for the training step");
ABSL_FLAG(int64_t, batch, 32, "batch size");
ABSL_FLAG(int64_t, steps, 50, "batches per epoch");
ABSL_FLAG(int, epochs, 5, "timed epochs per configuration (after one warm-up epoch)");
ABSL_FLAG(double, source_ms, 0, "cost of one batch at the source, ms (0: the step's own time)");

namespace graft::bench {
namespace {

using Clock = std::chrono::steady_clock;

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Busy work for `ms` milliseconds on this thread (a decoder or an augmentation).
void Spin(double ms) {
  const auto until = Clock::now() + std::chrono::duration<double, std::milli>(ms);
  volatile double x = 1.0;
  while (Clock::now() < until) {
    for (int i = 0; i < 1000; ++i) x = x * 1.0000001 + 1e-9;
  }
}

enum class Source { kReady, kSleep, kSpin };

// Median epoch seconds of training from a generator of `steps` batches.
double EpochSeconds(keras::Model& model, const Dataset& data, Source source, double source_ms,
                    bool prefetch) {
  const int64_t batch = absl::GetFlag(FLAGS_batch), steps = absl::GetFlag(FLAGS_steps);
  int64_t next = 0;
  keras::DatasetPtr gen = keras::Dataset::FromGenerator(
      [&]() -> absl::StatusOr<std::optional<keras::Element>> {
        if (next == steps) return std::optional<keras::Element>();
        const int64_t b = (next++ % (data.x.shape().dim(0) / batch)) * batch;
        if (source == Source::kSleep) {
          std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(source_ms));
        } else if (source == Source::kSpin) {
          Spin(source_ms);
        }
        return std::optional<keras::Element>(
            keras::Element{{data.x.RowsView(b, b + batch)}, {data.y.RowsView(b, b + batch)}});
      },
      [&](int64_t) {
        next = 0;
        return absl::OkStatus();
      },
      steps);
  keras::DatasetPtr ds = prefetch ? gen->Prefetch(2) : gen;
  std::vector<double> times;
  for (int e = 0; e <= absl::GetFlag(FLAGS_epochs); ++e) {
    const auto t0 = Clock::now();
    absl::StatusOr<keras::History> h = model.Fit(*ds, {.epochs = 1, .verbose = 0});
    if (!h.ok()) {
      std::fprintf(stderr, "%s\n", h.status().ToString().c_str());
      std::exit(1);
    }
    if (e > 0) times.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
  }
  return Median(times);
}

int Main() {
  SetNumThreads(absl::GetFlag(FLAGS_threads));
  SetAdaptiveThreads(false);
  absl::StatusOr<ModelSpec> spec = FindModel(absl::GetFlag(FLAGS_model));
  absl::StatusOr<keras::Model> model = BuildModel(absl::GetFlag(FLAGS_model));
  if (!spec.ok() || !model.ok()) {
    std::fprintf(stderr, "unknown model\n");
    return 1;
  }
  const Dataset data = MakeData(*spec, absl::GetFlag(FLAGS_batch) * 20);
  const int64_t steps = absl::GetFlag(FLAGS_steps);
  const double compute = EpochSeconds(*model, data, Source::kReady, 0, false);
  double source_ms = absl::GetFlag(FLAGS_source_ms);
  if (source_ms <= 0) source_ms = compute / static_cast<double>(steps) * 1e3;
  const double slow = EpochSeconds(*model, data, Source::kSleep, source_ms, false);
  const double prefetched = EpochSeconds(*model, data, Source::kSleep, source_ms, true);
  const double busy_slow = EpochSeconds(*model, data, Source::kSpin, source_ms, false);
  const double busy_prefetched = EpochSeconds(*model, data, Source::kSpin, source_ms, true);
  auto hidden = [&](double without, double with) {
    return without - compute > 0 ? (without - with) / (without - compute) : 0.0;
  };
  std::printf("model %s, batch %lld, %lld steps/epoch, %d training thread(s); source %.2f ms/batch\n",
              spec->name.c_str(), static_cast<long long>(absl::GetFlag(FLAGS_batch)),
              static_cast<long long>(steps), absl::GetFlag(FLAGS_threads), source_ms);
  std::printf("%-34s %10s %12s\n", "configuration", "epoch (s)", "ms/step");
  auto row = [&](const char* name, double s) {
    std::printf("%-34s %10.4f %12.3f\n", name, s, s / static_cast<double>(steps) * 1e3);
  };
  row("compute only (ready batches)", compute);
  row("sleeping source, no prefetch", slow);
  row("sleeping source, Prefetch(2)", prefetched);
  row("busy source, no prefetch", busy_slow);
  row("busy source, Prefetch(2)", busy_prefetched);
  std::printf("source time hidden: sleeping %.0f%%, busy %.0f%%\n",
              100 * hidden(slow, prefetched), 100 * hidden(busy_slow, busy_prefetched));
  std::printf("{\"model\": \"%s\", \"threads\": %d, \"source_ms\": %.3f, \"compute_s\": %.4f, "
              "\"sleep_s\": %.4f, \"sleep_prefetch_s\": %.4f, \"busy_s\": %.4f, "
              "\"busy_prefetch_s\": %.4f}\n",
              spec->name.c_str(), absl::GetFlag(FLAGS_threads), source_ms, compute, slow,
              prefetched, busy_slow, busy_prefetched);
  return 0;
}

}  // namespace
}  // namespace graft::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return graft::bench::Main();
}
