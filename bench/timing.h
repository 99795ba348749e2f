// graft — the timing protocol shared by the measuring children of `bench/compare` (graft's own
// child and bench/libtorch_runner; bench/pytorch_models.py implements the same in Python).
//
// A measurement: warm up for `warmup_seconds` (at least two steps), then time `repetitions`
// windows, each running whole steps until at least `min_seconds` have passed. A window's
// throughput is (steps x batch) / seconds; the report gives the median, min and max over windows,
// and the 50th and 99th percentiles of one step's latency over every timed step.
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
  double p50_us = 0, p99_us = 0;  // one step's (one call's) latency, over all timed steps
};

// The median of `v` (the mean of the middle two for an even count; 0 for none).
double Median(std::vector<double> v);

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

// A serving load (bench/serve): `clients` threads, each sending requests one after another, of
// batch sizes cycling through 1..max_batch (each client starting elsewhere in the cycle), for
// `seconds` after `warmup_seconds`. Every request's latency is recorded.
struct ServeLoad {
  int clients = 1;
  int64_t max_batch = 32;
  double warmup_seconds = 1.0;
  double seconds = 5.0;
};
struct ServeResult {
  int64_t requests = 0;
  int64_t samples = 0;
  double seconds = 0;
  double requests_per_second = 0, samples_per_second = 0;
  double p50_ms = 0, p99_ms = 0;  // request latency percentiles
};
// Runs the load through `predict(client, batch)`, which answers one request of `batch` samples
// for client `client` (0..clients-1). The first error ends the measurement.
absl::StatusOr<ServeResult> MeasureServing(
    const std::function<absl::Status(int client, int64_t batch)>& predict, const ServeLoad& load);
// The result as one JSON object (one line), with `framework` and `threads` (per request).
std::string ServeResultJson(const std::string& framework, int clients, int threads,
                            const ServeResult& r);

// The loaded BLAS and OpenBLAS libraries of this process (from /proc/self/maps), joined by ",".
std::string LoadedBlasLibraries();

}  // namespace graft::bench

#endif  // GRAFT_BENCH_TIMING_H_
