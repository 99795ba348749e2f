// graft — the benchmark children's timing protocol and report (see timing.h).
#include "bench/timing.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace graft::bench {
namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string Number(double v) { return absl::StrFormat("%.6g", v); }

// The p-quantile of `v` (nearest rank); reorders v.
double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  const size_t k = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

}  // namespace

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t h = v.size() / 2;
  return v.size() % 2 ? v[h] : 0.5 * (v[h - 1] + v[h]);
}

absl::StatusOr<Throughput> MeasureThroughput(const std::function<absl::Status()>& step,
                                             int64_t batch, const TimingOptions& options) {
  if (batch <= 0 || options.repetitions <= 0 || options.min_seconds < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("MeasureThroughput: need batch > 0, repetitions > 0, min_seconds >= 0; got ",
                     batch, ", ", options.repetitions, ", ", options.min_seconds));
  }
  const Clock::time_point warm = Clock::now();
  for (int i = 0; i < 2 || Since(warm) < options.warmup_seconds; ++i) {
    if (absl::Status s = step(); !s.ok()) return s;
  }
  Throughput t;
  std::vector<double> latencies;  // seconds per step
  latencies.reserve(1 << 16);
  for (int r = 0; r < options.repetitions; ++r) {
    int64_t steps = 0;
    const Clock::time_point start = Clock::now();
    Clock::time_point before = start;
    double seconds = 0;
    do {
      if (absl::Status s = step(); !s.ok()) return s;
      const Clock::time_point after = Clock::now();
      latencies.push_back(std::chrono::duration<double>(after - before).count());
      before = after;
      ++steps;
      seconds = std::chrono::duration<double>(after - start).count();
    } while (seconds < options.min_seconds);
    t.windows.push_back(static_cast<double>(steps * batch) / seconds);
    t.steps += steps;
    t.seconds += seconds;
  }
  t.median = Median(t.windows);
  t.min = *std::min_element(t.windows.begin(), t.windows.end());
  t.max = *std::max_element(t.windows.begin(), t.windows.end());
  t.p50_us = 1e6 * Percentile(latencies, 0.50);
  t.p99_us = 1e6 * Percentile(latencies, 0.99);
  return t;
}

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += absl::StrFormat("\\u%04x", c);
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string ChildReportJson(const ChildReport& r) {
  const Throughput& t = r.throughput;
  std::vector<std::string> windows;
  for (double w : t.windows) windows.push_back(Number(w));
  std::string out = absl::StrCat(
      "{\"framework\": ", JsonString(r.framework), ", \"config\": ", JsonString(r.config),
      ", \"model\": ", JsonString(r.model), ", \"mode\": ", JsonString(r.mode),
      ", \"batch\": ", r.batch, ", \"threads\": ", r.threads,
      ", \"samples_per_s\": ", Number(t.median), ", \"samples_per_s_min\": ", Number(t.min),
      ", \"samples_per_s_max\": ", Number(t.max), ", \"windows\": [", absl::StrJoin(windows, ", "),
      "], \"steps\": ", t.steps, ", \"seconds\": ", Number(t.seconds),
      ", \"p50_us\": ", Number(t.p50_us), ", \"p99_us\": ", Number(t.p99_us));
  for (const auto& [key, value] : r.extra)
    absl::StrAppend(&out, ", ", JsonString(key), ": ", value);
  return out + "}";
}

absl::StatusOr<ServeResult> MeasureServing(
    const std::function<absl::Status(int client, int64_t batch)>& predict, const ServeLoad& load) {
  std::atomic<int> phase{0};  // 0: warm-up, 1: measuring, 2: stop
  std::mutex mu;
  absl::Status first_error;
  std::vector<std::vector<double>> latencies(load.clients);
  std::vector<int64_t> samples(load.clients, 0);
  std::vector<std::thread> threads;
  for (int c = 0; c < load.clients; ++c) {
    threads.emplace_back([&, c] {
      int64_t k = c * 7;
      while (phase.load() < 2) {
        const int64_t batch = 1 + (k++ * 7) % load.max_batch;
        const auto start = Clock::now();
        absl::Status s = predict(c, batch);
        const double seconds = Since(start);
        if (!s.ok()) {
          std::lock_guard<std::mutex> lock(mu);
          if (first_error.ok()) first_error = s;
          phase = 2;
          return;
        }
        if (phase.load() == 1) {
          latencies[c].push_back(seconds);
          samples[c] += batch;
        }
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(load.warmup_seconds));
  const auto start = Clock::now();
  if (phase.load() == 0) phase = 1;
  std::this_thread::sleep_for(std::chrono::duration<double>(load.seconds));
  const double seconds = Since(start);
  phase = 2;
  for (std::thread& t : threads) t.join();
  if (!first_error.ok()) return first_error;
  ServeResult r;
  std::vector<double> all;
  for (int c = 0; c < load.clients; ++c) {
    all.insert(all.end(), latencies[c].begin(), latencies[c].end());
    r.samples += samples[c];
  }
  if (all.empty()) return absl::DeadlineExceededError("serving: no request finished in time");
  std::sort(all.begin(), all.end());
  auto percentile = [&](double p) {
    return all[std::min(all.size() - 1, static_cast<size_t>(p * static_cast<double>(all.size())))];
  };
  r.requests = static_cast<int64_t>(all.size());
  r.seconds = seconds;
  r.requests_per_second = static_cast<double>(r.requests) / seconds;
  r.samples_per_second = static_cast<double>(r.samples) / seconds;
  r.p50_ms = 1e3 * percentile(0.50);
  r.p99_ms = 1e3 * percentile(0.99);
  return r;
}

std::string ServeResultJson(const std::string& framework, int clients, int threads,
                            const ServeResult& r) {
  return absl::StrCat("{\"framework\": ", JsonString(framework), ", \"clients\": ", clients,
                      ", \"threads\": ", threads, ", \"requests\": ", r.requests,
                      ", \"samples\": ", r.samples, ", \"seconds\": ", Number(r.seconds),
                      ", \"requests_per_second\": ", Number(r.requests_per_second),
                      ", \"samples_per_second\": ", Number(r.samples_per_second),
                      ", \"p50_ms\": ", Number(r.p50_ms), ", \"p99_ms\": ", Number(r.p99_ms),
                      "}");
}

std::string LoadedBlasLibraries() {
  std::ifstream maps("/proc/self/maps");
  std::set<std::string> libs;
  std::string line;
  while (std::getline(maps, line)) {
    const size_t slash = line.find('/');
    if (slash == std::string::npos) continue;
    const std::string path = line.substr(slash);
    const std::string base = path.substr(path.rfind('/') + 1);
    if (absl::StrContains(base, "blas")) libs.insert(path);
  }
  return absl::StrJoin(libs, ",");
}

}  // namespace graft::bench
