// graft serving from many threads vs libtorch (issue "hardened", item 1): N client threads each
// send Predict requests of batch 1..32 (a fixed cycle) to ONE compiled model, for N = 1, 2, 8 and
// a per-request thread budget of 1 and 2; requests/s, samples/s and p50/p99 latency. libtorch
// runs the same load in bench/libtorch_runner --mode=serve: one module shared by the threads,
// InferenceMode, at::set_num_threads = the same budget, in bench/compare's "tuned" configuration
// (OpenBLAS, channels-last, malloc tunables). Side by side in one run.
//
//   bazel build -c opt //bench:libtorch_runner   # optional (tools/setup.sh --bench)
//   bazel run -c opt //bench:serve [-- --model=M2 --seconds=5 --out=bench/results/serve.json]
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "bench/child.h"
#include "bench/models.h"
#include "bench/timing.h"
#include "keras/keras.h"
#include "runtime/threads.h"

ABSL_FLAG(std::string, model, "M2", "the benchmark model (bench/models.h); M2 is the seed Conv2D");
ABSL_FLAG(std::string, clients, "1,2,8", "client thread counts");
ABSL_FLAG(std::string, threads, "1,2", "per-request thread budgets");
ABSL_FLAG(double, seconds, 5.0, "measured seconds per configuration");
ABSL_FLAG(double, warmup_seconds, 1.0, "warm-up seconds per configuration");
ABSL_FLAG(std::string, libtorch_runner, "", "bench/libtorch_runner (default: found as compare does)");
ABSL_FLAG(std::string, openblas_dir, "/usr/lib/x86_64-linux-gnu/openblas-pthread",
          "libtorch tuned: libopenblas0-pthread's folder, first on LD_LIBRARY_PATH");
ABSL_FLAG(std::string, out, "", "write the results as JSON lines here");

namespace graft::bench {
namespace {

namespace fs = std::filesystem;

std::vector<int> Ints(const std::string& csv) {
  std::vector<int> v;
  for (absl::string_view s : absl::StrSplit(csv, ',')) v.push_back(std::atoi(std::string(s).c_str()));
  return v;
}

// The value of "key": in a one-line JSON object (numbers only).
double JsonNumber(const std::string& json, const std::string& key) {
  const size_t at = json.find("\"" + key + "\": ");
  return at == std::string::npos ? 0 : std::atof(json.c_str() + at + key.size() + 4);
}

int Main() {
  absl::StatusOr<ModelSpec> spec = FindModel(absl::GetFlag(FLAGS_model));
  if (!spec.ok()) {
    std::cerr << spec.status() << "\n";
    return 1;
  }
  constexpr int64_t kRows = 512;
  const Dataset data = MakeData(*spec, kRows);
  absl::StatusOr<keras::Model> model = BuildModel(spec->name);
  if (!model.ok()) {
    std::cerr << model.status() << "\n";
    return 1;
  }
  // libtorch reads the same rows from .npy files.
  std::string tmpl = (fs::temp_directory_path() / "graft_serve_XXXXXX").string();
  const std::string dir = mkdtemp(tmpl.data()) == nullptr ? "" : tmpl;
  const std::string runner = FindLibtorchRunner(absl::GetFlag(FLAGS_libtorch_runner));
  if (!dir.empty() && !runner.empty()) {
    if (absl::Status s = WriteData(dir, *spec, kRows); !s.ok()) std::cerr << s << "\n";
  }
  if (runner.empty()) std::cout << "libtorch: skipped (no bench/libtorch_runner built)\n";

  std::cout << absl::StrFormat("%s (%s), requests of batch 1..32, %.0f s each\n", spec->name,
                               spec->description, absl::GetFlag(FLAGS_seconds));
  std::cout << absl::StrFormat("%-9s %7s %7s %10s %11s %9s %9s\n", "framework", "clients",
                               "threads", "requests/s", "samples/s", "p50 ms", "p99 ms");
  std::vector<std::string> lines;
  auto print = [&](const std::string& json) {
    lines.push_back(json);
    std::cout << absl::StrFormat(
        "%-9s %7d %7d %10.0f %11.0f %9.3f %9.3f\n",
        json.find("libtorch") != std::string::npos ? "libtorch" : "graft",
        static_cast<int>(JsonNumber(json, "clients")), static_cast<int>(JsonNumber(json, "threads")),
        JsonNumber(json, "requests_per_second"), JsonNumber(json, "samples_per_second"),
        JsonNumber(json, "p50_ms"), JsonNumber(json, "p99_ms"));
    std::cout.flush();
  };
  for (int threads : Ints(absl::GetFlag(FLAGS_threads))) {
    for (int clients : Ints(absl::GetFlag(FLAGS_clients))) {
      SetNumThreads(threads);
      absl::StatusOr<ServeResult> r = MeasureServing(
          [&](int client, int64_t batch) -> absl::Status {
            const int64_t start = (client * 97) % (kRows - batch);
            return model->Predict(data.x.RowsView(start, start + batch)).status();
          },
          {.clients = clients,
           .warmup_seconds = absl::GetFlag(FLAGS_warmup_seconds),
           .seconds = absl::GetFlag(FLAGS_seconds)});
      if (!r.ok()) {
        std::cerr << "graft: " << r.status() << "\n";
        return 1;
      }
      print(ServeResultJson("graft", clients, threads, *r));
      if (runner.empty() || dir.empty()) continue;
      absl::StatusOr<ChildResult> child = RunChild(
          {runner, "--mode=serve", absl::StrCat("--model=", spec->name),
           absl::StrCat("--threads=", threads), absl::StrCat("--clients=", clients),
           absl::StrCat("--serve_seconds=", absl::GetFlag(FLAGS_seconds)),
           absl::StrCat("--warmup_seconds=", absl::GetFlag(FLAGS_warmup_seconds)),
           absl::StrCat("--data_dir=", dir), "--config=tuned", "--channels_last"},
          LibtorchTunedEnvironment(absl::GetFlag(FLAGS_openblas_dir)));
      if (!child.ok() || child->exit_code != 0) {
        std::cerr << "libtorch_runner failed\n";
        continue;
      }
      print(std::string(absl::StripAsciiWhitespace(child->out)));
    }
  }
  if (!dir.empty()) fs::remove_all(dir);
  if (const std::string out = absl::GetFlag(FLAGS_out); !out.empty()) {
    std::ofstream f(UserPath(out));
    f << absl::StrJoin(lines, "\n") << "\n";
    std::cout << "wrote " << out << "\n";
  }
  return 0;
}

}  // namespace
}  // namespace graft::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return graft::bench::Main();
}
