// graft side by side with PyTorch's C++ frontend (libtorch), PyTorch Python and, for inference,
// ONNX Runtime running the file graft exports.
//
//   bazel build -c opt //bench:libtorch_runner        # optional: needs Debian's libtorch-dev
//   bazel run -c opt //bench:compare -- --json_out=bench_results.json
//
// For each model (bench/models.h), mode (train step / inference batch), batch size and thread
// count, runs graft, libtorch in its tuned configuration, libtorch out of the box, PyTorch Python
// and ONNX Runtime (inference only) one after another, never at the same time, on the same
// synthetic data. Every measurement is a child process (graft: this binary again with --child;
// libtorch: bench/libtorch_runner; PyTorch: bench/pytorch_models.py; ONNX Runtime:
// tools/onnxruntime/bench_ort.js under node, on the model graft exported with
// graft::onnx::Export from the same initial weights) that prints one JSON line; the driver adds
// the child's peak RSS (wait4), prints a table, writes the records as a JSON list and draws the
// ratios with bench/plot_compare.py.
//
// libtorch tuned: OpenBLAS from libopenblas0-pthread (LD_LIBRARY_PATH=--openblas_dir) with
// OPENBLAS_NUM_THREADS=1, GLIBC_TUNABLES for large mmap/trim thresholds and huge pages, and
// channels-last tensors for M2, M4 and M5. ONNX Runtime runs the Sequential models (M1..M4):
// the export does not cover functional models (M5) yet. libtorch default: a clean environment (the
// tuning variables removed), whatever BLAS Debian's alternatives select, NCHW tensors.
//
// Mixed precision (--bf16_models, default M3 and M4, on CPUs with AVX512-BF16): graft with the
// "mixed_bfloat16" policy (config "bf16") and libtorch tuned under CPU autocast to bfloat16
// (config "autocast_bf16"), in a table of their own.
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "bench/child.h"
#include "bench/models.h"
#include "bench/timing.h"
#include "io/npy.h"
#include "keras/keras.h"
#include "keras/onnx_export.h"
#include "nlohmann/json.hpp"

ABSL_FLAG(std::string, models, "M1,M2,M3,M4,M5", "models to run (bench/models.h)");
ABSL_FLAG(std::string, batch_sizes, "",
          "batch sizes, comma-separated; empty = the issues' grid: 32,256 (M4: 64,256), and for "
          "inference with onnxruntime also 1 and 32");
ABSL_FLAG(std::string, threads, "1,2", "thread counts, comma-separated");
ABSL_FLAG(std::string, modes, "train,infer", "train (full train step) and/or infer");
ABSL_FLAG(std::string, frameworks, "graft,libtorch,pytorch,onnxruntime",
          "frameworks to run (onnxruntime: inference only)");
ABSL_FLAG(std::string, libtorch_configs, "tuned,default", "libtorch configurations to run");
ABSL_FLAG(int, repetitions, 5, "timed windows per measurement (median, min, max over them)");
ABSL_FLAG(double, min_seconds, 2.0, "minimum length of a timed window, seconds");
ABSL_FLAG(int, processes, 1,
          "processes per measurement, in passes over the whole grid: a process that runs slow "
          "or fast (10-30% apart on the VMs here) then lands on every configuration alike; a "
          "record's samples/s is the median of all its processes' windows, and it lists each "
          "process's median (process_medians)");
ABSL_FLAG(double, warmup_seconds, 1.0, "untimed warm-up before the windows, seconds");
ABSL_FLAG(int64_t, num_samples, 2048,
          "samples in each model's synthetic data set; batches cycle over them");
ABSL_FLAG(std::string, json_out, "bench_results.json", "where the records go (JSON list)");
ABSL_FLAG(std::string, png_out, "", "bar chart of the ratios; default: --json_out with .png");
ABSL_FLAG(std::string, python, "/usr/bin/python3", "Python with torch (Debian python3-torch)");
ABSL_FLAG(std::string, libtorch_runner, "",
          "bench/libtorch_runner binary; default: next to this binary, else "
          "bazel-bin/bench/libtorch_runner; libtorch is skipped when there is none");
ABSL_FLAG(std::string, channels_last_models, "M2,M4,M5",
          "image models that libtorch (tuned) and PyTorch run in channels-last memory format "
          "(the issues name M2, M4 and M5)");
ABSL_FLAG(std::string, openblas_dir, "/usr/lib/x86_64-linux-gnu/openblas-pthread",
          "libopenblas0-pthread's libblas.so.3, put first on LD_LIBRARY_PATH for libtorch tuned");
ABSL_FLAG(std::string, node, "",
          "Node.js for the onnxruntime child; default: node on PATH, else /usr/bin/node");
ABSL_FLAG(std::string, data_dir, "",
          "where the .npy data are written; default: a temporary directory, removed at the end");
ABSL_FLAG(uint64_t, seed, 1, "seed of the data and of graft's initial weights");
ABSL_FLAG(bool, contention, true,
          "also measure graft under contention (config \"contended\"): a CPU-bound process "
          "spins on the last CPU while graft runs, and the summary checks that a budget of 2 "
          "threads keeps >= 0.97x of 1 thread, idle and contended");
ABSL_FLAG(std::string, bf16_models, "M3,M4",
          "models also measured in mixed precision (where the CPU has AVX512-BF16): graft with "
          "the \"mixed_bfloat16\" policy (config \"bf16\") and libtorch tuned under CPU autocast "
          "to bfloat16 (config \"autocast_bf16\"); empty: none");
ABSL_FLAG(std::string, mixed_precision, "float32",
          "internal (--child): the graft child's mixed precision policy");
ABSL_FLAG(bool, child, false,
          "internal: measure graft for one model/mode/batch/threads and print one JSON line");

namespace graft::bench {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> SplitList(const std::string& s) {
  return absl::StrSplit(s, ',', absl::SkipWhitespace());
}

absl::StatusOr<std::vector<int64_t>> SplitInts(const std::string& flag, const std::string& s) {
  std::vector<int64_t> out;
  for (const std::string& part : SplitList(s)) {
    int64_t v;
    if (!absl::SimpleAtoi(part, &v) || v <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", flag, ": \"", part, "\" is not a positive integer"));
    }
    out.push_back(v);
  }
  if (out.empty()) return absl::InvalidArgumentError(absl::StrCat("--", flag, " is empty"));
  return out;
}

TimingOptions Timing() {
  return {.warmup_seconds = absl::GetFlag(FLAGS_warmup_seconds),
          .min_seconds = absl::GetFlag(FLAGS_min_seconds),
          .repetitions = absl::GetFlag(FLAGS_repetitions)};
}

// ---------------------------------------------------------------------------------------------
// The graft child: one measurement, one JSON line.

absl::Status RunGraftChild() {
  absl::StatusOr<ModelSpec> spec = FindModel(absl::GetFlag(FLAGS_models));
  if (!spec.ok()) return spec.status();
  const std::string mode = absl::GetFlag(FLAGS_modes);
  if (mode != "train" && mode != "infer") {
    return absl::InvalidArgumentError("--child: mode must be train or infer");
  }
  absl::StatusOr<std::vector<int64_t>> batch =
      SplitInts("batch_sizes", absl::GetFlag(FLAGS_batch_sizes));
  if (!batch.ok()) return batch.status();
  absl::StatusOr<std::vector<int64_t>> threads = SplitInts("threads", absl::GetFlag(FLAGS_threads));
  if (!threads.ok()) return threads.status();
  const int64_t b = batch->front();
  SetNumThreads(static_cast<int>(threads->front()));
  const std::string policy = absl::GetFlag(FLAGS_mixed_precision);
  if (absl::Status s = keras::mixed_precision::SetGlobalPolicy(policy); !s.ok()) return s;

  const std::string dir = absl::GetFlag(FLAGS_data_dir);
  absl::StatusOr<Tensor> x = io::LoadNpy(DataPathX(dir, *spec));
  if (!x.ok()) return x.status();
  absl::StatusOr<Tensor> y = io::LoadNpy(DataPathY(dir, *spec));
  if (!y.ok()) return y.status();
  const int64_t num_batches = x->shape().dim(0) / b;
  if (num_batches == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch ", b, " is larger than the data (", x->shape().dim(0), " samples)"));
  }
  // The batches, cut once; the whole arrays are dropped so memory holds the data once.
  std::vector<Tensor> xb, yb;
  for (int64_t i = 0; i < num_batches; ++i) {
    xb.push_back(x->SliceRows(i * b, (i + 1) * b));
    yb.push_back(y->SliceRows(i * b, (i + 1) * b));
  }
  *x = Tensor();
  *y = Tensor();

  absl::StatusOr<keras::Model> model = BuildModel(spec->name, absl::GetFlag(FLAGS_seed));
  if (!model.ok()) return model.status();
  std::ostringstream sink;
  size_t i = 0;
  std::function<absl::Status()> step;
  if (mode == "train") {
    // One Fit call per batch: gathering the batch, forward, loss, backward, Adam.
    step = [&]() -> absl::Status {
      absl::StatusOr<keras::History> h = model->Fit(
          xb[i], yb[i],
          {.batch_size = b, .epochs = 1, .verbose = 0, .shuffle = false, .output = &sink});
      i = (i + 1) % xb.size();
      return h.status();
    };
  } else {
    step = [&]() -> absl::Status {
      absl::StatusOr<Tensor> p = model->Predict(xb[i], {.batch_size = b});
      i = (i + 1) % xb.size();
      return p.status();
    };
  }
  absl::StatusOr<Throughput> t = MeasureThroughput(step, b, Timing());
  if (!t.ok()) return t.status();
  ChildReport r{.framework = "graft",
                .config = policy == "float32" ? "default" : "bf16",
                .model = spec->name,
                .mode = mode,
                .batch = b,
                .threads = static_cast<int>(threads->front()),
                .throughput = *t,
                .extra = {{"num_batches", absl::StrCat(num_batches)}}};
  std::cout << ChildReportJson(r) << std::endl;
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// The driver.

// A flat JSON object as (key, raw JSON value) pairs, in order.
using Fields = std::vector<std::pair<std::string, std::string>>;

absl::StatusOr<Fields> ParseFlatJson(absl::string_view s) {
  size_t p = 0;
  auto skip = [&] {
    while (p < s.size() && std::isspace(static_cast<unsigned char>(s[p]))) ++p;
  };
  auto scan_string = [&]() -> absl::StatusOr<std::string> {  // raw, quotes included
    const size_t begin = p++;
    while (p < s.size() && s[p] != '"') p += s[p] == '\\' ? 2 : 1;
    if (p >= s.size()) return absl::InvalidArgumentError("unterminated string");
    ++p;
    return std::string(s.substr(begin, p - begin));
  };
  Fields fields;
  skip();
  if (p >= s.size() || s[p] != '{') return absl::InvalidArgumentError("expected {");
  ++p;
  for (;;) {
    skip();
    if (p < s.size() && s[p] == '}') break;
    if (p >= s.size() || s[p] != '"') return absl::InvalidArgumentError("expected a key");
    absl::StatusOr<std::string> key = scan_string();
    if (!key.ok()) return key.status();
    skip();
    if (p >= s.size() || s[p] != ':') return absl::InvalidArgumentError("expected :");
    ++p;
    skip();
    std::string value;
    if (p < s.size() && s[p] == '"') {
      absl::StatusOr<std::string> v = scan_string();
      if (!v.ok()) return v.status();
      value = *v;
    } else {
      const size_t begin = p;
      int depth = 0;
      while (p < s.size() && (depth > 0 || (s[p] != ',' && s[p] != '}'))) {
        if (s[p] == '[' || s[p] == '{') ++depth;
        if (s[p] == ']' || s[p] == '}') --depth;
        ++p;
      }
      value = std::string(absl::StripTrailingAsciiWhitespace(s.substr(begin, p - begin)));
    }
    fields.emplace_back(key->substr(1, key->size() - 2), value);
    skip();
    if (p < s.size() && s[p] == ',') {
      ++p;
      continue;
    }
    if (p < s.size() && s[p] == '}') break;
    return absl::InvalidArgumentError("expected , or }");
  }
  return fields;
}

const std::string* Find(const Fields& f, absl::string_view key) {
  for (const auto& [k, v] : f) {
    if (k == key) return &v;
  }
  return nullptr;
}

double NumberField(const Fields& f, absl::string_view key) {
  const std::string* v = Find(f, key);
  double d = 0;
  if (v == nullptr || !absl::SimpleAtod(*v, &d)) return 0;
  return d;
}

std::vector<std::string> TunedEnvironment() {
  return LibtorchTunedEnvironment(absl::GetFlag(FLAGS_openblas_dir));
}

// A file shipped as a data dependency of //bench:compare (<folder>/<name>, folder in the
// workspace).
std::string FindBenchFile(const std::string& name, const std::string& folder = "bench") {
  std::vector<fs::path> candidates;
  if (const char* r = std::getenv("RUNFILES_DIR"))
    candidates.push_back(fs::path(r) / "graft" / folder);
  candidates.push_back(fs::path(SelfPath() + ".runfiles") / "graft" / folder);
  candidates.push_back(folder);  // `bazel run` starts in the runfiles tree
  if (const char* w = std::getenv("BUILD_WORKSPACE_DIRECTORY")) {
    candidates.push_back(fs::path(w) / folder);
  }
  for (const fs::path& dir : candidates) {
    std::error_code ec;
    if (fs::exists(dir / name, ec)) return fs::absolute(dir / name, ec).string();
  }
  return "";
}

std::string FindRunner() { return FindLibtorchRunner(absl::GetFlag(FLAGS_libtorch_runner)); }

// Node.js for the onnxruntime child: --node, else node on PATH, else /usr/bin/node; "" if none.
std::string FindNode() {
  const std::string flag = absl::GetFlag(FLAGS_node);
  if (!flag.empty()) return UserPath(flag);
  std::vector<std::string> candidates;
  if (const char* path = std::getenv("PATH")) {
    for (absl::string_view d : absl::StrSplit(path, ':', absl::SkipEmpty())) {
      candidates.push_back(absl::StrCat(d, "/node"));
    }
  }
  candidates.push_back("/usr/bin/node");
  candidates.push_back("/usr/local/bin/node");
  for (const std::string& c : candidates) {
    if (access(c.c_str(), X_OK) == 0) return c;
  }
  return "";
}

std::string CpuName() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (absl::StartsWith(line, "model name")) {
      return std::string(absl::StripAsciiWhitespace(line.substr(line.find(':') + 1)));
    }
  }
  return "unknown CPU";
}

// Whether torch runs `model` in channels-last memory format (when tuned).
bool ChannelsLast(const std::string& model) {
  for (const std::string& m : SplitList(absl::GetFlag(FLAGS_channels_last_models))) {
    if (absl::AsciiStrToUpper(m) == model) return true;
  }
  return false;
}

// One measurement to make.
struct Job {
  std::string model, mode;
  int64_t batch;
  int threads;
};

// A finished measurement: the child's fields plus the driver's.
struct Record {
  Job job;
  std::string framework, config;
  double median = 0, min = 0, max = 0, peak_rss_mb = 0;
  Fields extra;  // the child's other fields
};

std::string RecordJson(const Record& r) {
  std::string out = absl::StrCat(
      "{\"model\": ", JsonString(r.job.model), ", \"mode\": ", JsonString(r.job.mode),
      ", \"batch\": ", r.job.batch, ", \"threads\": ", r.job.threads,
      ", \"framework\": ", JsonString(r.framework), ", \"config\": ", JsonString(r.config),
      absl::StrFormat(", \"samples_per_s\": %.1f, \"samples_per_s_min\": %.1f", r.median, r.min),
      absl::StrFormat(", \"samples_per_s_max\": %.1f, \"peak_rss_mb\": %.1f", r.max,
                      r.peak_rss_mb));
  for (const auto& [k, v] : r.extra) absl::StrAppend(&out, ", ", JsonString(k), ": ", v);
  return out + "}";
}

std::string Rate(double v) {
  if (v <= 0) return "-";
  if (v >= 1e6) return absl::StrFormat("%.2fM", v / 1e6);
  if (v >= 1e3) return absl::StrFormat("%.1fk", v / 1e3);
  return absl::StrFormat("%.0f", v);
}

std::string Ratio(double a, double b) {
  if (a <= 0 || b <= 0) return "-";
  return absl::StrFormat("%.2fx", a / b);
}

// The frameworks run per job, in order: (framework, config).
using Run = std::pair<std::string, std::string>;

class Driver {
 public:
  absl::Status Init();
  void RunAll();
  absl::Status WriteJson(const std::string& path) const;
  void PrintTable(std::ostream& out) const;
  void PrintLatencyTable(std::ostream& out) const;
  void PrintSummary(std::ostream& out) const;
  void PrintBudgetTable(std::ostream& out) const;
  void PrintBf16Table(std::ostream& out) const;
  void Plot(const std::string& json, const std::string& png) const;
  bool any_failed() const { return failed_ > 0; }
  void Cleanup();

 private:
  std::vector<std::string> ChildArgs(const Job& job, bool graft) const;
  absl::StatusOr<Record> Measure(const Job& job, const Run& run);
  // Finds node and bench_ort.js and checks that onnxruntime-node loads; the error says why not.
  absl::Status FindOnnxRuntime();
  // Exports each model (from the weights graft's child starts from) to <data_dir>/<model>.onnx.
  absl::Status ExportModels(const std::vector<ModelSpec>& specs);
  // graft / onnxruntime into both records of a job ("graft_over_onnxruntime").
  void AddOnnxRuntimeRatios();
  // The record of job `j` by `fw` in `config`, or null.
  const Record* Find(const Job& j, const std::string& fw, const std::string& config) const;

  // Whether this run measures `run` for `model` (the bf16 configurations: --bf16_models only).
  bool Measures(const Run& run, const std::string& model) const;
  // Pass `pass` of `passes` over the grid: every job and run measured once, each into
  // `measured[job][run]`.
  void RunPass(int pass, int passes, std::vector<std::vector<std::vector<Record>>>& measured);

  std::vector<Job> jobs_;
  std::vector<Run> runs_;
  std::vector<std::string> bf16_models_;
  std::vector<std::string> skipped_;  // "framework: why", printed in the summary
  std::string data_dir_;
  bool own_data_dir_ = false;
  std::string runner_, pytorch_script_;
  std::string node_, ort_script_;
  std::vector<Record> records_;
  int failed_ = 0;
};

absl::Status Driver::Init() {
  std::cout << "machine: " << CpuName() << ", " << std::thread::hardware_concurrency()
            << " logical CPUs\n";
  bf16_models_ = SplitList(absl::GetFlag(FLAGS_bf16_models));
  if (!bf16_models_.empty() && !keras::mixed_precision::CpuHasBf16()) {
    const std::string why = absl::StrCat(
        "bf16 (graft mixed_bfloat16, libtorch autocast_bf16): skipped, this CPU runs oneDNN at ",
        keras::mixed_precision::CpuIsaName(), ", without AVX512-BF16");
    std::cout << why << "\n";
    skipped_.push_back(why);
    bf16_models_.clear();
  }
  for (const std::string& f : SplitList(absl::GetFlag(FLAGS_frameworks))) {
    if (f == "graft") {
      runs_.push_back({"graft", "default"});
      if (absl::GetFlag(FLAGS_contention)) runs_.push_back({"graft", "contended"});
      if (!bf16_models_.empty()) runs_.push_back({"graft", "bf16"});
    } else if (f == "libtorch") {
      runner_ = FindRunner();
      if (runner_.empty()) {
        // With libtorch-dev installed the runner is one build away: stop and say so, rather
        // than print a comparison without its strongest column.
        if (fs::exists("/usr/include/torch/csrc/api/include/torch/torch.h")) {
          return absl::FailedPreconditionError(
              "libtorch_runner is not built (it is opt-in: `bazel build //...` skips it). Run\n"
              "  bazel build -c opt //bench:libtorch_runner\n"
              "and run compare again; or leave libtorch out with "
              "--frameworks=graft,pytorch,onnxruntime");
        }
        const std::string why =
            "libtorch: skipped, libtorch-dev is not installed (tools/setup.sh --bench, then "
            "bazel build -c opt //bench:libtorch_runner)";
        std::cout << why << "\n";
        skipped_.push_back(why);
        continue;
      }
      for (const std::string& c : SplitList(absl::GetFlag(FLAGS_libtorch_configs))) {
        if (c != "tuned" && c != "default") {
          return absl::InvalidArgumentError(
              absl::StrCat("--libtorch_configs: \"", c, "\" is neither tuned nor default"));
        }
        runs_.push_back({"libtorch", c});
      }
      if (!bf16_models_.empty()) runs_.push_back({"libtorch", "autocast_bf16"});
    } else if (f == "pytorch") {
      pytorch_script_ = FindBenchFile("pytorch_models.py");
      if (pytorch_script_.empty()) {
        return absl::NotFoundError("bench/pytorch_models.py not found next to the binary");
      }
      runs_.push_back({"pytorch", "default"});
    } else if (f == "onnxruntime") {
      if (absl::Status s = FindOnnxRuntime(); !s.ok()) {
        const std::string why = absl::StrCat("onnxruntime: skipped, ", s.message());
        std::cout << why << "\n";
        skipped_.push_back(why);
        continue;
      }
      runs_.push_back({"onnxruntime", "default"});
    } else {
      return absl::InvalidArgumentError(absl::StrCat("--frameworks: unknown \"", f,
                                                     "\" (graft, libtorch, pytorch, onnxruntime)"));
    }
  }

  std::vector<ModelSpec> specs;
  for (const std::string& m : SplitList(absl::GetFlag(FLAGS_models))) {
    absl::StatusOr<ModelSpec> spec = FindModel(m);
    if (!spec.ok()) return spec.status();
    specs.push_back(*spec);
  }
  std::vector<std::string> modes = SplitList(absl::GetFlag(FLAGS_modes));
  for (const std::string& m : modes) {
    if (m != "train" && m != "infer") {
      return absl::InvalidArgumentError(
          absl::StrCat("--modes: \"", m, "\" is neither train nor infer"));
    }
  }
  absl::StatusOr<std::vector<int64_t>> threads = SplitInts("threads", absl::GetFlag(FLAGS_threads));
  if (!threads.ok()) return threads.status();
  std::optional<std::vector<int64_t>> batches;
  if (!absl::GetFlag(FLAGS_batch_sizes).empty()) {
    absl::StatusOr<std::vector<int64_t>> b =
        SplitInts("batch_sizes", absl::GetFlag(FLAGS_batch_sizes));
    if (!b.ok()) return b.status();
    batches = *b;
  }
  const int64_t n = absl::GetFlag(FLAGS_num_samples);
  const bool ort = std::any_of(runs_.begin(), runs_.end(),
                               [](const Run& r) { return r.first == "onnxruntime"; });
  for (const ModelSpec& spec : specs) {
    for (const std::string& mode : modes) {
      // Batch 1 (latency: p50/p99 per call) is in every default grid.
      std::vector<int64_t> bs = batches ? *batches : std::vector<int64_t>{1, spec.small_batch, 256};
      if (!batches && ort && mode == "infer") {
        // The ONNX Runtime comparison asks for batch 1, 32 and 256 on every model.
        bs.insert(bs.end(), {32});
        std::sort(bs.begin(), bs.end());
        bs.erase(std::unique(bs.begin(), bs.end()), bs.end());
      }
      for (int64_t b : bs) {
        if (b > n) {
          return absl::InvalidArgumentError(
              absl::StrCat("batch ", b, " is larger than --num_samples=", n));
        }
        for (int64_t t : *threads) jobs_.push_back({spec.name, mode, b, static_cast<int>(t)});
      }
    }
  }

  data_dir_ = absl::GetFlag(FLAGS_data_dir);
  if (data_dir_.empty()) {
    std::string tmpl = (fs::temp_directory_path() / "graft_bench_XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) {
      return absl::InternalError(absl::StrCat("mkdtemp: ", std::strerror(errno)));
    }
    data_dir_ = tmpl;
    own_data_dir_ = true;
  } else {
    data_dir_ = fs::absolute(UserPath(data_dir_)).string();
    std::error_code ec;
    fs::create_directories(data_dir_, ec);
  }
  for (const ModelSpec& spec : specs) {
    if (absl::Status s = WriteData(data_dir_, spec, n, absl::GetFlag(FLAGS_seed)); !s.ok()) {
      return s;
    }
  }
  if (!node_.empty()) {
    if (absl::Status s = ExportModels(specs); !s.ok()) return s;
  }
  std::cout << "data: " << n << " samples per model in " << data_dir_ << "\n"
            << "libtorch runner: " << (runner_.empty() ? "none" : runner_) << "\n"
            << "onnxruntime: " << (node_.empty() ? "none" : node_ + " " + ort_script_) << "\n"
            << "protocol: warm-up " << absl::GetFlag(FLAGS_warmup_seconds) << " s, "
            << absl::GetFlag(FLAGS_repetitions)
            << " windows of >= " << absl::GetFlag(FLAGS_min_seconds)
            << " s"
            << (absl::GetFlag(FLAGS_processes) > 1
                    ? absl::StrCat(" in each of ", absl::GetFlag(FLAGS_processes),
                                   " processes (passes over the grid)")
                    : std::string())
            << "; samples/s median (min-max)\n\n";
  return absl::OkStatus();
}

absl::Status Driver::FindOnnxRuntime() {
  const std::string node = FindNode();
  if (node.empty()) {
    return absl::NotFoundError(
        "no node (Node.js) found (install it and ONNX Runtime: tools/setup.sh --onnx)");
  }
  const std::string script = FindBenchFile("bench_ort.js", "tools/onnxruntime");
  if (script.empty()) return absl::NotFoundError("tools/onnxruntime/bench_ort.js not found");
  absl::StatusOr<ChildResult> r = RunChild({node, script, "--check=1"}, CleanEnvironment());
  if (!r.ok()) return r.status();
  if (r->exit_code == 3) {
    return absl::NotFoundError(
        "onnxruntime-node is not installed in tools/onnxruntime (run tools/setup.sh --onnx)");
  }
  if (r->exit_code != 0) {
    return absl::InternalError(
        absl::StrCat(script, " --check=1 exited with status ", r->exit_code));
  }
  node_ = node;
  ort_script_ = script;
  return absl::OkStatus();
}

absl::Status Driver::ExportModels(const std::vector<ModelSpec>& specs) {
  for (const ModelSpec& spec : specs) {
    if (!spec.sequential) {
      std::cout << "onnxruntime: " << spec.name
                << " skipped (a functional model; the ONNX export covers Sequential models)\n";
      continue;
    }
    absl::StatusOr<keras::Sequential> model =
        BuildSequentialModel(spec.name, absl::GetFlag(FLAGS_seed));
    if (!model.ok()) return model.status();
    const std::string path = (fs::path(data_dir_) / (spec.name + ".onnx")).string();
    if (absl::Status s = onnx::Export(*model, path); !s.ok()) return s;
  }
  return absl::OkStatus();
}

void Driver::AddOnnxRuntimeRatios() {
  for (Record& o : records_) {
    if (o.framework != "onnxruntime") continue;
    for (Record& g : records_) {
      const Job& a = g.job;
      const Job& b = o.job;
      if (g.framework != "graft" || a.model != b.model || a.mode != b.mode || a.batch != b.batch ||
          a.threads != b.threads || g.median <= 0 || o.median <= 0) {
        continue;
      }
      const std::string ratio = absl::StrFormat("%.4f", g.median / o.median);
      g.extra.emplace_back("graft_over_onnxruntime", ratio);
      o.extra.emplace_back("graft_over_onnxruntime", ratio);
    }
  }
}

// The measuring child's command line after the program. graft's own child reads this binary's
// flags (plural names, one value each); the libtorch runner and the Python script take the
// singular ones.
std::vector<std::string> Driver::ChildArgs(const Job& job, bool graft) const {
  return {absl::StrCat(graft ? "--models=" : "--model=", job.model),
          absl::StrCat(graft ? "--modes=" : "--mode=", job.mode),
          absl::StrCat(graft ? "--batch_sizes=" : "--batch=", job.batch),
          absl::StrCat("--threads=", job.threads),
          absl::StrCat("--repetitions=", absl::GetFlag(FLAGS_repetitions)),
          absl::StrCat("--min_seconds=", absl::GetFlag(FLAGS_min_seconds)),
          absl::StrCat("--warmup_seconds=", absl::GetFlag(FLAGS_warmup_seconds)),
          absl::StrCat("--seed=", absl::GetFlag(FLAGS_seed)),
          absl::StrCat("--data_dir=", data_dir_)};
}

absl::StatusOr<Record> Driver::Measure(const Job& job, const Run& run) {
  const auto& [framework, config] = run;
  std::vector<std::string> argv;
  std::vector<std::string> env = CleanEnvironment();
  if (framework == "graft") {
    argv = {SelfPath(), "--child"};
  } else if (framework == "libtorch") {
    argv = {runner_};
  } else if (framework == "onnxruntime") {
    argv = {node_, ort_script_,
            absl::StrCat("--onnx=", (fs::path(data_dir_) / job.model).string(), ".onnx")};
  } else {
    argv = {absl::GetFlag(FLAGS_python), pytorch_script_};
  }
  for (std::string& a : ChildArgs(job, framework == "graft")) argv.push_back(std::move(a));
  if (framework == "graft" && config == "bf16") argv.push_back("--mixed_precision=mixed_bfloat16");
  if (framework == "libtorch") {
    // autocast_bf16 is the tuned configuration under CPU autocast to bfloat16.
    const bool tuned = config == "tuned" || config == "autocast_bf16";
    const bool channels_last = tuned && ChannelsLast(job.model);
    argv.push_back(absl::StrCat("--config=", tuned ? "tuned" : "default"));
    argv.push_back(absl::StrCat("--channels_last=", channels_last ? "true" : "false"));
    if (config == "autocast_bf16") argv.push_back("--autocast_bf16=true");
    if (tuned) env = TunedEnvironment();
  } else if (framework == "pytorch") {
    argv.push_back(absl::StrCat("--config=", config));
    argv.push_back(absl::StrCat("--channels_last=", ChannelsLast(job.model) ? 1 : 0));
  }
  // The contention test: a CPU-bound process on the last CPU for the whole measurement.
  pid_t spinner = -1;
  if (config == "contended") {
    spinner = fork();
    if (spinner == 0) {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(std::max(1u, std::thread::hardware_concurrency()) - 1, &set);
      sched_setaffinity(0, sizeof(set), &set);
      for (volatile uint64_t k = 0;; k = k + 1) {
      }
    }
  }
  absl::StatusOr<ChildResult> r = RunChild(argv, env);
  if (spinner > 0) {
    kill(spinner, SIGKILL);
    waitpid(spinner, nullptr, 0);
  }
  if (!r.ok()) return r.status();
  if (r->exit_code != 0) {
    return absl::InternalError(absl::StrCat(argv[0], " exited with status ", r->exit_code));
  }
  // The report is the last line that starts with '{'.
  std::string line;
  for (absl::string_view l : absl::StrSplit(r->out, '\n')) {
    if (absl::StartsWith(l, "{")) line = std::string(l);
  }
  if (line.empty()) return absl::InternalError(absl::StrCat(argv[0], " printed no report"));
  absl::StatusOr<Fields> f = ParseFlatJson(line);
  if (!f.ok()) {
    return absl::InternalError(
        absl::StrCat("bad report from ", argv[0], ": ", f.status().message(), ": ", line));
  }
  Record rec{.job = job, .framework = framework, .config = config};
  rec.median = NumberField(*f, "samples_per_s");
  rec.min = NumberField(*f, "samples_per_s_min");
  rec.max = NumberField(*f, "samples_per_s_max");
  rec.peak_rss_mb = r->peak_rss_mb;
  static const char* const kOwn[] = {"model",
                                     "mode",
                                     "batch",
                                     "threads",
                                     "framework",
                                     "config",
                                     "samples_per_s",
                                     "samples_per_s_min",
                                     "samples_per_s_max"};
  for (const auto& [k, v] : *f) {
    bool own = false;
    for (const char* o : kOwn) own = own || k == o;
    if (!own) rec.extra.emplace_back(k, v);
  }
  return rec;
}

// The record of one job and run from its processes' records (--processes): the median and
// extremes over all their windows, their steps and seconds summed, the median of their
// latency percentiles, each process's median.
Record Combine(std::vector<Record> recs) {
  if (recs.size() == 1) return recs[0];
  std::vector<double> windows, medians, p50, p99;
  double steps = 0, seconds = 0;
  Record out = recs[0];
  for (const Record& r : recs) {
    medians.push_back(r.median);
    out.peak_rss_mb = std::max(out.peak_rss_mb, r.peak_rss_mb);
    if (const std::string* w = Find(r.extra, "windows")) {
      const nlohmann::json list = nlohmann::json::parse(*w, nullptr, /*allow_exceptions=*/false);
      if (list.is_array()) {
        for (const nlohmann::json& v : list) {
          if (v.is_number()) windows.push_back(v.get<double>());
        }
      }
    }
    steps += NumberField(r.extra, "steps");
    seconds += NumberField(r.extra, "seconds");
    p50.push_back(NumberField(r.extra, "p50_us"));
    p99.push_back(NumberField(r.extra, "p99_us"));
  }
  if (windows.empty()) windows = medians;
  out.median = Median(windows);
  out.min = *std::min_element(windows.begin(), windows.end());
  out.max = *std::max_element(windows.begin(), windows.end());
  for (auto& [k, v] : out.extra) {
    if (k == "windows") v = absl::StrCat("[", absl::StrJoin(windows, ", "), "]");
    if (k == "steps") v = absl::StrCat(steps);
    if (k == "seconds") v = absl::StrCat(seconds);
    if (k == "p50_us") v = absl::StrCat(Median(p50));
    if (k == "p99_us") v = absl::StrCat(Median(p99));
  }
  out.extra.emplace_back("processes", absl::StrCat(recs.size()));
  out.extra.emplace_back("process_medians", absl::StrCat("[", absl::StrJoin(medians, ", "), "]"));
  return out;
}

void Driver::RunPass(int pass, int passes,
                     std::vector<std::vector<std::vector<Record>>>& measured) {
  bool pytorch_ok = true;
  for (size_t j = 0; j < jobs_.size(); ++j) {
    const Job& job = jobs_[j];
    for (size_t k = 0; k < runs_.size(); ++k) {
      const Run& run = runs_[k];
      if (run.first == "pytorch" && !pytorch_ok) continue;
      if (!Measures(run, job.model)) continue;
      if (run.first == "onnxruntime" && job.mode != "infer") continue;  // inference only
      if (run.first == "onnxruntime" && !FindModel(job.model)->sequential) continue;  // no export
      if (passes > 1) std::cout << "pass " << pass + 1 << "/" << passes << "  ";
      std::cout << absl::StrFormat("%-3s %-5s batch %4d threads %d  %-11s %-7s ", job.model,
                                   job.mode, job.batch, job.threads, run.first, run.second)
                << std::flush;
      absl::StatusOr<Record> rec = Measure(job, run);
      if (!rec.ok()) {
        if (run.first == "pytorch" && absl::EndsWith(rec.status().message(), "status 3")) {
          const std::string why = absl::StrCat(
              "pytorch: skipped, ", absl::GetFlag(FLAGS_python),
              " cannot import torch and numpy (tools/setup.sh --bench installs python3-torch)");
          std::cout << "skipped\n" << why << "; PyTorch is left out of this run\n";
          if (pass == 0) skipped_.push_back(why);
          pytorch_ok = false;
        } else {
          std::cout << "FAILED: " << rec.status().message() << "\n";
          ++failed_;
        }
        continue;
      }
      std::cout << absl::StrFormat("%8s samples/s (%s-%s), peak RSS %.0f MB\n", Rate(rec->median),
                                   Rate(rec->min), Rate(rec->max), rec->peak_rss_mb);
      measured[j][k].push_back(*std::move(rec));
    }
  }
}

void Driver::RunAll() {
  std::vector<std::vector<std::vector<Record>>> measured(
      jobs_.size(), std::vector<std::vector<Record>>(runs_.size()));
  const int passes = std::max(1, absl::GetFlag(FLAGS_processes));
  for (int pass = 0; pass < passes; ++pass) RunPass(pass, passes, measured);
  for (auto& per_job : measured) {
    for (auto& recs : per_job) {
      if (!recs.empty()) records_.push_back(Combine(std::move(recs)));
    }
  }
  AddOnnxRuntimeRatios();
}

absl::Status Driver::WriteJson(const std::string& path) const {
  std::error_code ec;
  if (fs::path parent = fs::path(path).parent_path(); !parent.empty()) {
    fs::create_directories(parent, ec);
  }
  std::ofstream out(path);
  if (!out) return absl::UnavailableError(absl::StrCat("cannot write ", path));
  out << "[\n";
  for (size_t i = 0; i < records_.size(); ++i) {
    out << "  " << RecordJson(records_[i]) << (i + 1 < records_.size() ? ",\n" : "\n");
  }
  out << "]\n";
  out.close();
  if (!out) return absl::UnavailableError(absl::StrCat("error writing ", path));
  return absl::OkStatus();
}

const Record* Driver::Find(const Job& j, const std::string& fw, const std::string& config) const {
  for (const Record& r : records_) {
    if (r.job.model == j.model && r.job.mode == j.mode && r.job.batch == j.batch &&
        r.job.threads == j.threads && r.framework == fw && r.config == config) {
      return &r;
    }
  }
  return nullptr;
}

void Driver::PrintTable(std::ostream& out) const {
  auto find = [&](const Job& j, const std::string& fw, const std::string& config) {
    return Find(j, fw, config);
  };
  auto rate = [](const Record* r) { return r ? Rate(r->median) : std::string("-"); };
  auto rss = [](const Record* r) {
    return r ? absl::StrFormat("%.0f", r->peak_rss_mb) : std::string("-");
  };
  auto median = [](const Record* r) { return r ? r->median : 0.0; };
  out << "\nsamples/s, median of the windows; ratios are graft / other (> 1: graft faster)\n\n";
  out << absl::StrFormat("%-5s %-5s %5s %3s | %8s %9s %9s %8s %8s | %8s %8s %8s %8s | %s\n",
                         "model", "mode", "batch", "thr", "graft", "lt-tuned", "lt-dflt", "pytorch",
                         "onnxrt", "g/lt-tun", "g/lt-dfl", "g/pt", "g/ort",
                         "peak RSS MB (g/lt-tun/lt-dfl/pt/ort)");
  out << std::string(138, '-') << "\n";
  for (const Job& j : jobs_) {
    const Record* g = find(j, "graft", "default");
    const Record* lt = find(j, "libtorch", "tuned");
    const Record* ld = find(j, "libtorch", "default");
    const Record* pt = find(j, "pytorch", "default");
    const Record* ort = find(j, "onnxruntime", "default");
    if (!g && !lt && !ld && !pt && !ort) continue;
    out << absl::StrFormat(
        "%-5s %-5s %5d %3d | %8s %9s %9s %8s %8s | %8s %8s %8s %8s | %s/%s/%s/%s/%s\n", j.model,
        j.mode, j.batch, j.threads, rate(g), rate(lt), rate(ld), rate(pt), rate(ort),
        Ratio(median(g), median(lt)), Ratio(median(g), median(ld)), Ratio(median(g), median(pt)),
        Ratio(median(g), median(ort)), rss(g), rss(lt), rss(ld), rss(pt), rss(ort));
  }
}

// Batch-1 rows: one call's latency, p50 and p99 (the children time every step).
void Driver::PrintLatencyTable(std::ostream& out) const {
  auto us = [](const Record* r, const char* key) -> double {
    if (!r) return 0;
    for (const auto& [k, v] : r->extra) {
      if (k == key) return std::atof(v.c_str());
    }
    return 0;
  };
  auto cell = [&](const Record* r) {
    if (!r || us(r, "p50_us") <= 0) return std::string("-");
    return absl::StrFormat("%.0f/%.0f", us(r, "p50_us"), us(r, "p99_us"));
  };
  bool header = false;
  for (const Job& j : jobs_) {
    if (j.batch != 1) continue;
    const Record* g = Find(j, "graft", "default");
    const Record* lt = Find(j, "libtorch", "tuned");
    const Record* ld = Find(j, "libtorch", "default");
    const Record* pt = Find(j, "pytorch", "default");
    const Record* ort = Find(j, "onnxruntime", "default");
    if (!g) continue;
    if (!header) {
      out << "\nbatch 1: one call's latency, microseconds p50/p99; ratios are p50 other / p50 "
             "graft (> 1: graft faster)\n\n";
      out << absl::StrFormat("%-5s %-5s %3s | %11s %11s %11s %11s %11s | %8s %8s %8s\n", "model",
                             "mode", "thr", "graft", "lt-tuned", "lt-dflt", "pytorch", "onnxrt",
                             "lt-tun/g", "pt/g", "ort/g");
      out << std::string(100, '-') << "\n";
      header = true;
    }
    auto ratio = [&](const Record* o) { return Ratio(us(o, "p50_us"), us(g, "p50_us")); };
    out << absl::StrFormat("%-5s %-5s %3d | %11s %11s %11s %11s %11s | %8s %8s %8s\n", j.model,
                           j.mode, j.threads, cell(g), cell(lt), cell(ld), cell(pt), cell(ort),
                           ratio(lt), ratio(pt), ratio(ort));
  }
}

// The thread budget: graft at 2 threads against graft at 1 thread, idle and contended.
void Driver::PrintBudgetTable(std::ostream& out) const {
  bool header = false;
  int missed = 0, cells = 0;
  for (const Job& j : jobs_) {
    if (j.threads != 2) continue;
    Job one = j;
    one.threads = 1;
    std::string row;
    bool any = false;
    for (const char* config : {"default", "contended"}) {
      const Record* two_r = Find(j, "graft", config);
      const Record* one_r = Find(one, "graft", config);
      if (!two_r || !one_r || one_r->median <= 0) {
        absl::StrAppend(&row, absl::StrFormat(" %9s %9s %8s  ", "-", "-", "-"));
        continue;
      }
      any = true;
      const double q = two_r->median / one_r->median;
      ++cells;
      missed += q < 0.97;
      absl::StrAppend(&row, absl::StrFormat(" %9s %9s %7.2fx%s ", Rate(one_r->median),
                                            Rate(two_r->median), q, q < 0.97 ? "!" : " "));
    }
    if (!any) continue;
    if (!header) {
      out << "\nthread budget: graft with 2 threads / graft with 1 thread (target >= 0.97x; ! "
             "marks a miss); contended: a CPU-bound process on the last CPU\n\n";
      out << absl::StrFormat("%-5s %-5s %5s | %9s %9s %8s   | %9s %9s %8s\n", "model", "mode",
                             "batch", "idle 1", "idle 2", "2/1", "cont. 1", "cont. 2", "2/1");
      out << std::string(86, '-') << "\n";
      header = true;
    }
    out << absl::StrFormat("%-5s %-5s %5d |", j.model, j.mode, j.batch) << row << "\n";
  }
  if (header) out << missed << " of " << cells << " cells below 0.97x\n";
}

bool Driver::Measures(const Run& run, const std::string& model) const {
  if (run.second != "bf16" && run.second != "autocast_bf16") return true;
  return std::find(bf16_models_.begin(), bf16_models_.end(), model) != bf16_models_.end();
}

// Mixed precision: graft bf16 against graft fp32 and libtorch's autocast to bf16.
void Driver::PrintBf16Table(std::ostream& out) const {
  bool header = false;
  for (const Job& j : jobs_) {
    const Record* g = Find(j, "graft", "default");
    const Record* gb = Find(j, "graft", "bf16");
    const Record* lb = Find(j, "libtorch", "autocast_bf16");
    const Record* lt = Find(j, "libtorch", "tuned");
    if (!gb) continue;
    if (!header) {
      out << "\nbf16 mixed precision: graft \"mixed_bfloat16\" and libtorch tuned under CPU "
             "autocast to bfloat16, samples/s\n\n";
      out << absl::StrFormat("%-5s %-5s %5s %3s | %9s %9s %9s %9s | %9s %9s %9s\n", "model", "mode",
                             "batch", "thr", "graft", "graft bf16", "lt-tuned", "lt-bf16", "gbf/g",
                             "gbf/lt-bf", "lt-bf/lt");
      out << std::string(100, '-') << "\n";
      header = true;
    }
    auto rate = [](const Record* r) { return r ? Rate(r->median) : std::string("-"); };
    auto median = [](const Record* r) { return r ? r->median : 0.0; };
    out << absl::StrFormat("%-5s %-5s %5d %3d | %9s %9s %9s %9s | %9s %9s %9s\n", j.model, j.mode,
                           j.batch, j.threads, rate(g), rate(gb), rate(lt), rate(lb),
                           Ratio(median(gb), median(g)), Ratio(median(gb), median(lb)),
                           Ratio(median(lb), median(lt)));
  }
}

// Which frameworks and configurations this run measured, and which it skipped and why.
void Driver::PrintSummary(std::ostream& out) const {
  out << "\nmeasured:";
  for (const Run& run : runs_) {
    int n = 0;
    for (const Record& r : records_) n += r.framework == run.first && r.config == run.second;
    if (n > 0)
      out << " " << run.first << (run.second != "default" ? " " + run.second : "") << " (" << n
          << ")";
  }
  out << "\n";
  for (const std::string& why : skipped_) out << why << "\n";
  if (failed_ > 0) out << failed_ << " measurement(s) FAILED (see above)\n";
}

void Driver::Plot(const std::string& json, const std::string& png) const {
  const std::string script = FindBenchFile("plot_compare.py");
  if (script.empty()) {
    std::cout << "plot: skipped (bench/plot_compare.py not found)\n";
    return;
  }
  absl::StatusOr<ChildResult> r = RunChild(
      {absl::GetFlag(FLAGS_python), script, "--json", json, "--png", png}, CleanEnvironment());
  if (!r.ok()) {
    std::cout << "plot: " << r.status().message() << "\n";
  } else {
    std::cout << r->out;
    if (r->exit_code != 0 && r->out.empty()) {
      std::cout << "plot: " << script << " exited with status " << r->exit_code << "\n";
    }
  }
}

void Driver::Cleanup() {
  if (!own_data_dir_) return;
  std::error_code ec;
  fs::remove_all(data_dir_, ec);
}

int Main() {
  if (absl::GetFlag(FLAGS_child)) {
    if (absl::Status s = RunGraftChild(); !s.ok()) {
      std::cerr << "graft child: " << s << "\n";
      return 1;
    }
    return 0;
  }
  Driver driver;
  if (absl::Status s = driver.Init(); !s.ok()) {
    std::cerr << "compare: " << s << "\n";
    driver.Cleanup();
    return 2;
  }
  driver.RunAll();
  driver.Cleanup();
  driver.PrintTable(std::cout);
  driver.PrintLatencyTable(std::cout);
  driver.PrintBudgetTable(std::cout);
  driver.PrintBf16Table(std::cout);
  driver.PrintSummary(std::cout);
  const std::string json = UserPath(absl::GetFlag(FLAGS_json_out));
  if (absl::Status s = driver.WriteJson(json); !s.ok()) {
    std::cerr << "compare: " << s << "\n";
    return 1;
  }
  std::cout << "\nwrote " << json << "\n";
  std::string png = absl::GetFlag(FLAGS_png_out);
  if (png.empty()) {
    png = absl::EndsWith(json, ".json") ? json.substr(0, json.size() - 5) + ".png" : json + ".png";
  }
  driver.Plot(json, UserPath(png));
  return driver.any_failed() ? 1 : 0;
}

}  // namespace
}  // namespace graft::bench

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "graft vs libtorch vs PyTorch vs ONNX Runtime, side by side:\n"
      "  bazel build -c opt //bench:libtorch_runner   # optional, needs libtorch-dev\n"
      "  tools/setup.sh --onnx                        # optional, ONNX Runtime (inference)\n"
      "  bazel run -c opt //bench:compare -- --json_out=bench_results.json\n"
      "graft / ONNX Runtime alone, at the issue's batch sizes:\n"
      "  bazel run -c opt //bench:compare -- --frameworks=graft,onnxruntime --modes=infer \\\n"
      "      --batch_sizes=1,32,256");
  absl::ParseCommandLine(argc, argv);
  return graft::bench::Main();
}
