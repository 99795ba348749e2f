// Data-parallel training throughput: the same global batch trained by 1 process with T threads
// or by N ranks with fewer threads each (issue 12, item 5), and how much of the gradient
// allreduce the backward pass hides (item 2).
//
//   bazel build -c opt //bench:data_parallel
//   bazel-bin/bench/data_parallel --threads=2                       # 1 rank x 2 threads
//   mpirun -np 2 --allow-run-as-root --oversubscribe --bind-to core \
//       bazel-bin/bench/data_parallel --threads=1                   # 2 ranks x 1 thread
//   bench/data_parallel.sh runs the whole comparison and writes bench/results/.
//
// Per model (--models, default M2,M3,M4) and global batch (--batch, default 64,256): Fit over
// `--steps` batches (default 2048 samples' worth) of bench/models.h's synthetic data (epochs=1, no shuffling, verbose 0) is
// one timed unit. Warm-up, then --repetitions windows of --min_time seconds as in bench/timing.h,
// but every rank runs the number of units rank 0's warm-up set (Fit is collective). Reported on rank 0 as one JSON line
// per measurement: global samples/s (median, min, max over windows), and per step the gradient
// bytes summed, the buckets, and the milliseconds a step spent blocked in the allreduce (the
// communication the backward pass did not hide; graft::distributed::GetGradientStats).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "bench/models.h"
#include "bench/timing.h"
#include "distributed/distributed.h"
#include "runtime/collective.h"
#include "runtime/threads.h"

ABSL_FLAG(std::string, models, "M2,M3,M4", "comma-separated models (M1..M5)");
ABSL_FLAG(std::string, batch, "64,256", "comma-separated global batch sizes");
ABSL_FLAG(int, threads, 1, "threads per rank");
ABSL_FLAG(int64_t, steps, 0, "train steps per timed Fit call (0: 2048 / batch, 2 to 20)");
ABSL_FLAG(int64_t, bucket_bytes, 0, "gradient bucket bytes (0: GRAFT_DIST_BUCKET_BYTES or 256 KiB)");
ABSL_FLAG(double, warmup, 1.0, "warm-up seconds per measurement (at least 2 Fit calls)");
ABSL_FLAG(double, min_time, 2.0, "seconds per timed window");
ABSL_FLAG(int, repetitions, 5, "timed windows per measurement");
ABSL_FLAG(std::string, label, "", "a label for the JSON lines (e.g. 2x1-shm)");

namespace graft::bench {
namespace {

int Fail(int rank, const absl::Status& s) {
  std::fprintf(stderr, "rank %d: %s\n", rank, std::string(s.message()).c_str());
  return 1;
}

int Run() {
  const int rank = distributed::Rank(), ranks = distributed::Size();
  SetNumThreads(absl::GetFlag(FLAGS_threads));
  SetAdaptiveThreads(false);  // the thread count asked for, not a measured one
  const std::vector<std::string> models = absl::StrSplit(absl::GetFlag(FLAGS_models), ',');
  const std::vector<std::string> batches = absl::StrSplit(absl::GetFlag(FLAGS_batch), ',');
  for (const std::string& batch_text : batches) {
    int64_t batch = 0;
    if (!absl::SimpleAtoi(batch_text, &batch) || batch <= 0) {
      std::fprintf(stderr, "--batch: \"%s\" is not a positive integer\n", batch_text.c_str());
      return 1;
    }
    for (const std::string& name : models) {
      absl::StatusOr<ModelSpec> spec = FindModel(name);
      if (!spec.ok()) {
        std::fprintf(stderr, "%s\n", std::string(spec.status().message()).c_str());
        return 1;
      }
      absl::StatusOr<keras::Model> model = BuildModel(name);  // compiled under the Context
      if (!model.ok()) {
        std::fprintf(stderr, "%s\n", std::string(model.status().message()).c_str());
        return 1;
      }
      const int64_t steps = absl::GetFlag(FLAGS_steps) > 0
                                ? absl::GetFlag(FLAGS_steps)
                                : std::clamp<int64_t>(2048 / batch, 2, 20);
      const Dataset data = MakeData(*spec, batch * steps);
      const keras::FitOptions fit = {.batch_size = batch, .epochs = 1, .verbose = 0,
                                     .shuffle = false};
      // Every rank must make the same number of Fit calls (each is a collective): the count per
      // window comes from rank 0's warm-up, not from each rank's own clock.
      int64_t fits = 0;
      auto fit_once = [&]() -> absl::Status {
        ++fits;
        return model->Fit(data.x, data.y, fit).status();
      };
      auto now = [] { return std::chrono::steady_clock::now(); };
      auto since = [&](auto t) { return std::chrono::duration<double>(now() - t).count(); };
      double warm_seconds = 0;
      Communicator& comm = *CurrentCommunicator();  // the Context's (one rank of one: trivial)
      for (const auto t0 = now();;) {
        const auto t = now();
        if (absl::Status s = fit_once(); !s.ok()) return Fail(rank, s);
        warm_seconds = since(t);
        int64_t go_on = fits < 2 || since(t0) < absl::GetFlag(FLAGS_warmup);  // rank 0 decides
        if (absl::Status s = comm.Broadcast(&go_on, sizeof(go_on), 0); !s.ok()) {
          return Fail(rank, s);
        }
        if (!go_on) break;
      }
      int64_t per_window = std::max<int64_t>(
          1, static_cast<int64_t>(std::ceil(absl::GetFlag(FLAGS_min_time) / warm_seconds)));
      if (absl::Status s = comm.Broadcast(&per_window, sizeof(per_window), 0); !s.ok()) {
        return Fail(rank, s);
      }
      const distributed::GradientStats before = distributed::GetGradientStats();
      const int64_t fits_before = fits;
      Throughput t;
      for (int w = 0; w < absl::GetFlag(FLAGS_repetitions); ++w) {
        const auto start = now();
        for (int64_t i = 0; i < per_window; ++i) {
          if (absl::Status s = fit_once(); !s.ok()) return Fail(rank, s);
        }
        const double seconds = since(start);
        t.windows.push_back(static_cast<double>(per_window * steps * batch) / seconds);
        t.seconds += seconds;
        t.steps += per_window * steps;
      }
      std::vector<double> sorted = t.windows;
      std::sort(sorted.begin(), sorted.end());
      t.min = sorted.front();
      t.max = sorted.back();
      t.median = sorted[sorted.size() / 2];
      const distributed::GradientStats after = distributed::GetGradientStats();
      const double all_steps = static_cast<double>((fits - fits_before) * steps);
      if (rank != 0) continue;
      ChildReport report{.framework = "graft",
                         .config = absl::GetFlag(FLAGS_label),
                         .model = name,
                         .mode = "train",
                         .batch = batch,
                         .threads = absl::GetFlag(FLAGS_threads),
                         .throughput = t};
      report.extra = {
          {"ranks", absl::StrCat(ranks)},
          {"bucket_bytes", absl::StrCat(distributed::BucketBytes())},
          {"grad_bytes_per_step", absl::StrCat((after.bytes - before.bytes) / all_steps)},
          {"buckets_per_step", absl::StrCat((after.buckets - before.buckets) / all_steps)},
          {"blocked_ms_per_step",
           absl::StrCat(1e3 * (after.wait_seconds - before.wait_seconds) / all_steps)},
          {"ms_per_step", absl::StrCat(1e3 * batch / t.median)}};
      std::printf("%s\n", ChildReportJson(report).c_str());
      std::fflush(stdout);
    }
  }
  return 0;
}

}  // namespace
}  // namespace graft::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  graft::distributed::Context context(&argc, &argv,
                                      {.bucket_bytes = absl::GetFlag(FLAGS_bucket_bytes)});
  if (!context.status().ok()) {
    std::fprintf(stderr, "%s\n", std::string(context.status().message()).c_str());
    return 1;
  }
  return graft::bench::Run();
}
