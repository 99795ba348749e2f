// graft — the timing protocol shared by the measuring children of `bench/compare` (graft's own
// child and bench/libtorch_runner; bench/pytorch_models.py implements the same in Python).
//
// A measurement: warm up for `warmup_seconds` (at least two steps), then time `repetitions`
// windows, each running whole steps until at least `min_seconds` have passed. A window's
// throughput is (steps x batch) / seconds; the report gives the median, min and max over windows.
// The child prints the report as one JSON line on stdout; the driver adds peak RSS.
#ifndef GRAFT_BENCH_TIMING_H_
#define GRAFT_BENCH_TIMING_H_

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace graft::bench {

struct TimingOptions {
  double warmup_seconds = 1.0;
  double min_seconds = 2.0;
  int repetitions = 5;
};

struct Throughput {
  std::vector<double> windows;  // samples/s of each window, in order
  double median = 0, min = 0, max = 0;
  int64_t steps = 0;   // timed steps, all windows together
  double seconds = 0;  // timed seconds, all windows together
};

// Runs `step` (one train step or one inference batch of `batch` samples) as described above.
// The first error `step` returns ends the measurement.
absl::StatusOr<Throughput> MeasureThroughput(const std::function<absl::Status()>& step,
                                             int64_t batch, const TimingOptions& options);

// What a child reports. `extra` holds further "key": value pairs, already JSON-encoded values.
struct ChildReport {
  std::string framework;  // graft, libtorch, pytorch
  std::string config;     // tuned, default
  std::string model;
  std::string mode;  // train, infer
  int64_t batch = 0;
  int threads = 0;
  Throughput throughput;
  std::vector<std::pair<std::string, std::string>> extra;
};
// One line of JSON, without the newline.
std::string ChildReportJson(const ChildReport& report);
// `s` as a JSON string literal, quotes included.
std::string JsonString(const std::string& s);

// The loaded BLAS and OpenBLAS libraries of this process (from /proc/self/maps), joined by ",".
std::string LoadedBlasLibraries();

}  // namespace graft::bench

#endif  // GRAFT_BENCH_TIMING_H_
