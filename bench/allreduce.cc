// MPI allreduce latency and bandwidth at the gradient sizes of graft's benchmark models (issue
// 12, item 5): what data-parallel training pays per step to sum its gradients, and the numbers
// docs/distributed.md's scaling model extrapolates from.
//
//   bazel build -c opt //bench:allreduce
//   mpirun -np 2 --allow-run-as-root --oversubscribe bazel-out/k8-opt/bin/bench/allreduce
//       --transport=shm --json_out=/tmp/allreduce_shm.json
//   TCP on loopback instead of shared memory: add to mpirun
//       --mca btl tcp,self --mca btl_tcp_if_include lo
//
// Sizes: the float32 gradients of M1..M5 (bench/models.h) and a sweep 4 B .. 64 MiB in powers
// of 4. Two ways per size:
//   single    one MPI_Allreduce(MPI_IN_PLACE, MPI_FLOAT, MPI_SUM) over the whole buffer;
//   bucketed  the buffer cut into --bucket_bytes pieces (the last one shorter), one
//             MPI_Iallreduce per piece issued back to back, then one MPI_Waitall: what the
//             data-parallel trainer does with its gradient buckets.
// Per size and way: one probing repetition, a warm-up (up to 5 repetitions or ~50 ms), then
// repetitions until --min_time seconds and at least --min_reps. Each repetition starts after an
// MPI_Barrier and is timed on every rank; its time is the slowest rank's (a step waits for the
// last rank). Reported: median, p10 and p90 per allreduce (µs), algorithm bandwidth
// algbw = bytes / median time, and bus bandwidth as NCCL-tests define it for allreduce,
// busbw = algbw * 2(N-1)/N (the traffic per rank of a ring allreduce; comparable across N).
// Every rank agrees on the repetition counts (they come from MAX-reduced times), so no rank
// waits in a collective the others never enter.
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "bench/timing.h"

ABSL_FLAG(int64_t, bucket_bytes, 256 << 10, "bucket size of the bucketed way, bytes (graft's default)");
ABSL_FLAG(double, min_time, 0.2, "timed seconds per size and way (at least --min_reps)");
ABSL_FLAG(int, min_reps, 20, "timed repetitions per size and way, at least");
ABSL_FLAG(int, max_reps, 100000, "timed repetitions per size and way, at most");
ABSL_FLAG(int64_t, min_bytes, 4, "smallest size of the sweep, bytes (then times 4)");
ABSL_FLAG(int64_t, max_bytes, int64_t{64} << 20, "largest size of the sweep, bytes");
ABSL_FLAG(bool, sweep, true, "measure the sweep 4 B .. --max_bytes");
ABSL_FLAG(bool, models, true, "measure the gradient sizes of M1..M5");
ABSL_FLAG(std::string, transport, "",
          "label for the table and the JSON (e.g. shm, tcp-lo, veth-10gbit); default: the "
          "btl list Open MPI was given (OMPI_MCA_btl), or \"default\"");
ABSL_FLAG(std::string, json_out, "", "also write the results as JSON to this file (rank 0)");

namespace graft::bench {
namespace {

using Clock = std::chrono::steady_clock;

// Trainable float32 parameters of the benchmark models (bench/models.h), i.e. the gradient each
// rank allreduces per step. Arithmetic (Keras layouts; kernel + bias per layer):
//   M1  Conv1D(32,5) on (100,3): 5*3*32 + 32 = 512; output (96,32), MaxPool1D(2) -> (48,32)
//       -> Flatten 1536; Dense(1): 1536*1 + 1 = 1537.                     512 + 1537 = 2,049
//   M2  Conv2D(32,3x3) on (32,32,3): 3*3*3*32 + 32 = 896; (30,30,32) -> pool (15,15,32)
//       -> 7200; Dense(10): 7200*10 + 10 = 72,010.                      896 + 72,010 = 72,906
//   M3  Conv2D(32,3) on (28,28,1): 3*3*1*32 + 32 = 320; (26,26,32) -> pool (13,13,32);
//       Conv2D(64,3): 3*3*32*64 + 64 = 18,496; (11,11,64) -> pool (5,5,64) -> 1600;
//       Dense(10): 1600*10 + 10 = 16,010.                     320 + 18,496 + 16,010 = 34,826
//   M4  Conv2D(64,3,same): 3*3*3*64 + 64 = 1,792; Conv2D(64,3,same): 3*3*64*64 + 64 = 36,928;
//       pool -> (16,16,64); Conv2D(128): 3*3*64*128 + 128 = 73,856; Conv2D(128):
//       3*3*128*128 + 128 = 147,584; pool -> (8,8,128) -> 8192; Dense(10): 81,930.
//       1,792 + 36,928 + 73,856 + 147,584 + 81,930 = 342,090
//   M5  ResNet-8 (examples/resnet_model.h), convolutions with bias, BatchNormalization's
//       gamma and beta trainable (its moving mean and variance are not, and are not reduced):
//       stem Conv2D(16,3) 3*3*1*16 + 16 = 160, BN 2*16 = 32;
//       block 16 (stride 1, no projection): 2 x (3*3*16*16 + 16 = 2,320) + 2 x BN 32 = 4,704;
//       block 32: 3*3*16*32 + 32 = 4,640, 3*3*32*32 + 32 = 9,248, 2 x BN 64, projection
//       1*1*16*32 + 32 = 544: 14,560;
//       block 64: 3*3*32*64 + 64 = 18,496, 3*3*64*64 + 64 = 36,928, 2 x BN 128, projection
//       1*1*32*64 + 64 = 2,112: 57,792; Dense(10): 64*10 + 10 = 650.
//       160 + 32 + 4,704 + 14,560 + 57,792 + 650 = 77,898 (CountParams() says 78,378: these
//       plus 480 moving statistics; bench/models_test.cc checks the totals).
struct ModelGradient {
  const char* name;
  int64_t params;
};
constexpr ModelGradient kModels[] = {
    {"M1", 2049}, {"M2", 72906}, {"M3", 34826}, {"M4", 342090}, {"M5", 77898},
};

struct Case {
  std::string name;  // "M1".."M5", or "sweep"
  int64_t bytes;
};

struct Result {
  Case c;
  std::string way;  // "single" or "bucketed"
  int buckets = 1;
  int reps = 0;
  double median_us = 0, p10_us = 0, p90_us = 0;
  double algbw_gbps = 0, busbw_gbps = 0;  // GB/s, 1e9 bytes
};

int Rank() {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}
int Size() {
  int n = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &n);
  return n;
}

// The q-quantile (0..1) of sorted `v`, nearest rank.
double Quantile(const std::vector<double>& sorted, double q) {
  const size_t i = static_cast<size_t>(std::lround(q * (sorted.size() - 1)));
  return sorted[std::min(i, sorted.size() - 1)];
}

// The slowest rank's value of `x` on every rank.
double MaxOverRanks(double x) {
  MPI_Allreduce(MPI_IN_PLACE, &x, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  return x;
}

class Runner {
 public:
  Runner(int64_t max_count, int64_t bucket_count) : buf_(max_count), bucket_count_(bucket_count) {}

  // One allreduce of the first `count` floats, either way.
  void Once(int64_t count, bool bucketed) {
    if (!bucketed) {
      MPI_Allreduce(MPI_IN_PLACE, buf_.data(), static_cast<int>(count), MPI_FLOAT, MPI_SUM,
                    MPI_COMM_WORLD);
      return;
    }
    requests_.clear();
    for (int64_t off = 0; off < count; off += bucket_count_) {
      const int64_t n = std::min(bucket_count_, count - off);
      requests_.emplace_back();
      MPI_Iallreduce(MPI_IN_PLACE, buf_.data() + off, static_cast<int>(n), MPI_FLOAT, MPI_SUM,
                     MPI_COMM_WORLD, &requests_.back());
    }
    MPI_Waitall(static_cast<int>(requests_.size()), requests_.data(), MPI_STATUSES_IGNORE);
  }

  // Seconds of one repetition on this rank, after a barrier.
  double TimeOnce(int64_t count, bool bucketed) {
    MPI_Barrier(MPI_COMM_WORLD);
    const auto t0 = Clock::now();
    Once(count, bucketed);
    return std::chrono::duration<double>(Clock::now() - t0).count();
  }

  // Sums rank+1 over the ranks once, both ways, and checks every element: the buffer sizes
  // and the bucketing are right before anything is timed. Leaves the buffer zero (sums of
  // zeros stay zero: no overflow, no denormals, however many repetitions).
  bool Check(int64_t count, bool bucketed) {
    const float mine = static_cast<float>(Rank() + 1);
    const float want = static_cast<float>(Size() * (Size() + 1) / 2);
    std::fill(buf_.begin(), buf_.begin() + count, mine);
    Once(count, bucketed);
    int bad = 0;
    for (int64_t i = 0; i < count; ++i) bad += buf_[i] != want;
    std::fill(buf_.begin(), buf_.begin() + count, 0.0f);
    MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    return bad == 0;
  }

  Result Measure(const Case& c, bool bucketed) {
    const int64_t count = c.bytes / 4;
    Result r{.c = c, .way = bucketed ? "bucketed" : "single"};
    r.buckets = bucketed ? static_cast<int>((count + bucket_count_ - 1) / bucket_count_) : 1;
    // Probe, warm up, then size the timed loop from the warm-up's median.
    const double probe = MaxOverRanks(TimeOnce(count, bucketed));
    const int warmup = static_cast<int>(std::clamp(0.05 / std::max(probe, 1e-9), 1.0, 5.0));
    std::vector<double> times;
    for (int i = 0; i < warmup; ++i) times.push_back(TimeOnce(count, bucketed));
    std::sort(times.begin(), times.end());
    const double estimate = MaxOverRanks(Quantile(times, 0.5));
    r.reps = static_cast<int>(std::clamp(std::ceil(absl::GetFlag(FLAGS_min_time) / estimate),
                                         static_cast<double>(absl::GetFlag(FLAGS_min_reps)),
                                         static_cast<double>(absl::GetFlag(FLAGS_max_reps))));
    times.assign(r.reps, 0.0);
    for (int i = 0; i < r.reps; ++i) times[i] = TimeOnce(count, bucketed);
    MPI_Allreduce(MPI_IN_PLACE, times.data(), r.reps, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    std::sort(times.begin(), times.end());
    r.median_us = Quantile(times, 0.5) * 1e6;
    r.p10_us = Quantile(times, 0.1) * 1e6;
    r.p90_us = Quantile(times, 0.9) * 1e6;
    r.algbw_gbps = c.bytes / (r.median_us * 1e-6) / 1e9;
    const int n = Size();
    r.busbw_gbps = r.algbw_gbps * 2.0 * (n - 1) / n;
    return r;
  }

 private:
  std::vector<float> buf_;
  int64_t bucket_count_;
  std::vector<MPI_Request> requests_;
};

std::string CpuModel() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  }
  return "unknown";
}

std::string HumanBytes(int64_t b) {
  if (b >= (1 << 20) && b % (1 << 20) == 0) return absl::StrCat(b >> 20, " MiB");
  if (b >= (1 << 10) && b % (1 << 10) == 0) return absl::StrCat(b >> 10, " KiB");
  return absl::StrCat(b, " B");
}

std::string Json(const std::vector<Result>& results, const std::string& transport,
                 const std::string& btl, int64_t bucket_bytes) {
  char when[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  std::vector<std::string> rows;
  for (const Result& r : results) {
    rows.push_back(absl::StrFormat(
        "    {\"name\": %s, \"bytes\": %d, \"way\": %s, \"buckets\": %d, \"reps\": %d, "
        "\"median_us\": %.3f, \"p10_us\": %.3f, \"p90_us\": %.3f, \"algbw_GBps\": %.6f, "
        "\"busbw_GBps\": %.6f}",
        JsonString(r.c.name), r.c.bytes, JsonString(r.way), r.buckets, r.reps, r.median_us,
        r.p10_us, r.p90_us, r.algbw_gbps, r.busbw_gbps));
  }
  return absl::StrCat(
      "{\n  \"bench\": \"allreduce\",\n  \"format\": 1,\n  \"ranks\": ", Size(),
      ",\n  \"transport\": ", JsonString(transport), ",\n  \"ompi_mca_btl\": ", JsonString(btl),
      ",\n  \"bucket_bytes\": ", bucket_bytes, ",\n  \"cpu\": ", JsonString(CpuModel()),
      ",\n  \"utc\": ", JsonString(when), ",\n  \"results\": [\n", absl::StrJoin(rows, ",\n"),
      "\n  ]\n}\n");
}

int Main() {
  const int64_t bucket_bytes = absl::GetFlag(FLAGS_bucket_bytes);
  const int64_t min_bytes = absl::GetFlag(FLAGS_min_bytes);
  const int64_t max_bytes = absl::GetFlag(FLAGS_max_bytes);
  if (bucket_bytes < 4 || bucket_bytes % 4 != 0 || min_bytes < 4 || min_bytes % 4 != 0) {
    if (Rank() == 0) std::fprintf(stderr, "--bucket_bytes and --min_bytes: multiples of 4\n");
    return 1;
  }
  std::vector<Case> cases;
  if (absl::GetFlag(FLAGS_models)) {
    for (const ModelGradient& m : kModels) cases.push_back({m.name, m.params * 4});
  }
  if (absl::GetFlag(FLAGS_sweep)) {
    for (int64_t b = min_bytes; b <= max_bytes; b *= 4) cases.push_back({"sweep", b});
  }
  int64_t largest = 4;
  for (const Case& c : cases) largest = std::max(largest, c.bytes);

  const char* env_btl = std::getenv("OMPI_MCA_btl");
  const std::string btl = env_btl != nullptr ? env_btl : "";
  std::string transport = absl::GetFlag(FLAGS_transport);
  if (transport.empty()) transport = btl.empty() ? "default" : btl;

  const bool root = Rank() == 0;
  if (root) {
    std::printf("MPI_Allreduce, float32 sum in place: %d ranks, transport %s, bucket %s\n",
                Size(), transport.c_str(), HumanBytes(bucket_bytes).c_str());
    std::printf("CPU: %s; time per allreduce is the slowest rank's, after a barrier\n\n",
                CpuModel().c_str());
    std::printf("%-6s %10s %-9s %4s %6s %11s %11s %11s %9s %9s\n", "case", "bytes", "way", "bkts",
                "reps", "median_us", "p10_us", "p90_us", "algbw", "busbw");
    std::printf("%-6s %10s %-9s %4s %6s %11s %11s %11s %9s %9s\n", "", "", "", "", "", "", "", "",
                "GB/s", "GB/s");
    std::fflush(stdout);
  }

  Runner runner(largest / 4, bucket_bytes / 4);
  for (bool bucketed : {false, true}) {
    if (!runner.Check(largest / 4, bucketed)) {
      if (root) std::fprintf(stderr, "allreduce gave wrong sums (%s)\n", bucketed ? "bucketed" : "single");
      return 1;
    }
  }
  std::vector<Result> results;
  for (const Case& c : cases) {
    for (bool bucketed : {false, true}) {
      const Result r = runner.Measure(c, bucketed);
      results.push_back(r);
      if (root) {
        std::printf("%-6s %10s %-9s %4d %6d %11.1f %11.1f %11.1f %9.3f %9.3f\n", c.name.c_str(),
                    HumanBytes(c.bytes).c_str(), r.way.c_str(), r.buckets, r.reps, r.median_us,
                    r.p10_us, r.p90_us, r.algbw_gbps, r.busbw_gbps);
        std::fflush(stdout);
      }
    }
  }
  const std::string json_out = absl::GetFlag(FLAGS_json_out);
  if (root && !json_out.empty()) {
    std::ofstream out(json_out);
    out << Json(results, transport, btl, bucket_bytes);
    if (!out) {
      std::fprintf(stderr, "cannot write %s\n", json_out.c_str());
      return 1;
    }
    std::printf("\nwrote %s\n", json_out.c_str());
  }
  return 0;
}

}  // namespace
}  // namespace graft::bench

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  absl::SetProgramUsageMessage(
      "MPI allreduce latency and bandwidth at graft's gradient sizes; run under mpirun");
  absl::ParseCommandLine(argc, argv);
  const int rc = graft::bench::Main();
  MPI_Finalize();
  return rc;
}
