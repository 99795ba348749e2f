// A long run (issue "hardened", item 4): trains the seed Conv2D model (M2) for --steps steps, 100
// per epoch, and predicts in between: a Predict of 64 samples after every epoch, and every 50th
// epoch trains at batch 48 instead of 32 (a second set of plans, first used at step 500). Samples the process's resident
// memory (VmRSS) and peak (VmHWM) every 1,000 steps; afterwards, the peak after step 1,000 must
// stay within 1% (no leak, no arena growth). Writes a CSV and a PNG of the curve.
//
//   bazel run -c opt //bench:soak -- --steps=100000 --csv=bench/results/soak_rss.csv
//   /usr/bin/python3 bench/plot_soak.py --csv bench/results/soak_rss.csv --png bench/results/soak_rss.png
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_format.h"
#include "bench/child.h"
#include "bench/models.h"
#include "keras/keras.h"
#include "runtime/threads.h"

ABSL_FLAG(int64_t, steps, 100000, "training steps (100 per epoch)");
ABSL_FLAG(int, threads, 1, "thread budget");
ABSL_FLAG(std::string, csv, "", "write step,rss_mb,peak_mb,seconds here");

namespace graft::bench {
namespace {

// VmRSS and VmHWM of this process, MiB.
std::pair<double, double> Memory() {
  std::ifstream f("/proc/self/status");
  std::string line;
  double rss = 0, hwm = 0;
  while (std::getline(f, line)) {
    if (line.rfind("VmRSS:", 0) == 0) rss = std::atof(line.c_str() + 6) / 1024.0;
    if (line.rfind("VmHWM:", 0) == 0) hwm = std::atof(line.c_str() + 6) / 1024.0;
  }
  return {rss, hwm};
}

int Main() {
  SetNumThreads(absl::GetFlag(FLAGS_threads));
  absl::StatusOr<ModelSpec> spec = FindModel("M2");
  absl::StatusOr<keras::Model> model = BuildModel("M2");
  if (!spec.ok() || !model.ok()) return 1;
  const Dataset train = MakeData(*spec, 4800);  // 100 batches of 48
  const Dataset probe = MakeData(*spec, 64, 2);
  const int64_t steps = absl::GetFlag(FLAGS_steps);
  std::string csv = "step,rss_mb,peak_mb,seconds\n";
  const auto start = std::chrono::steady_clock::now();
  double peak_at_1000 = 0, last_peak = 0;
  int64_t done = 0;
  for (int64_t epoch = 0; done < steps; ++epoch) {
    // Every 50th epoch at batch 48, the first of them (epoch 5, steps 500-600) before the
    // baseline at step 1,000: every plan has been compiled once by then.
    const int64_t batch = epoch % 50 == 5 ? 48 : 32;
    const int64_t n = std::min<int64_t>(100 * batch, (steps - done) * batch);
    absl::StatusOr<keras::History> h = model->Fit(train.x.RowsView(0, n), train.y.RowsView(0, n),
                                                  {.batch_size = batch, .epochs = 1, .verbose = 0});
    if (!h.ok()) {
      std::cerr << h.status() << "\n";
      return 1;
    }
    const int64_t before = done;
    done += (n + batch - 1) / batch;
    absl::StatusOr<Tensor> p = model->Predict(probe.x);
    if (!p.ok()) {
      std::cerr << p.status() << "\n";
      return 1;
    }
    if (done / 1000 != before / 1000 || done >= steps) {
      const auto [rss, hwm] = Memory();
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      csv += absl::StrFormat("%d,%.2f,%.2f,%.1f\n", done, rss, hwm, seconds);
      if (peak_at_1000 == 0 && done >= 1000) peak_at_1000 = hwm;
      last_peak = hwm;
      if (done % 10000 < 100) {
        std::cout << absl::StrFormat("step %7d: RSS %.1f MiB, peak %.1f MiB, %.0f s, loss %.4f\n",
                                     done, rss, hwm, seconds, h->history["loss"].back());
      }
    }
  }
  const double growth = peak_at_1000 > 0 ? (last_peak - peak_at_1000) / peak_at_1000 : 0;
  std::cout << absl::StrFormat(
      "peak RSS after step 1,000: %.2f MiB; at the end (step %d): %.2f MiB; growth %.2f%% (%s)\n",
      peak_at_1000, done, last_peak, 100 * growth, growth <= 0.01 ? "flat: within 1%" : "GREW");
  if (const std::string path = absl::GetFlag(FLAGS_csv); !path.empty()) {
    std::ofstream(UserPath(path)) << csv;
    std::cout << "wrote " << path << "\n";
  }
  return growth <= 0.01 ? 0 : 1;
}

}  // namespace
}  // namespace graft::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return graft::bench::Main();
}
