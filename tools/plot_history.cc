// Learning curves from a training log in Keras's CSVLogger format (tools/history_csv.h):
//
//   bazel run //tools:plot_history -- training.csv curves.png [--title="ResNet-8"]
//
// Relative paths are taken from the folder `bazel run` was started in.
#include "keras/plot_history.h"

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "io/file.h"
#include "tools/history_csv.h"

ABSL_FLAG(std::string, title, "Learning curves", "the picture's title (empty: none)");
ABSL_FLAG(double, scale, 2.0, "pixels per point (the picture's resolution)");

namespace {
std::string UserPath(const std::string& path) {
  const char* cwd = std::getenv("BUILD_WORKING_DIRECTORY");
  if (path.empty() || path[0] == '/' || cwd == nullptr) return path;
  return std::string(cwd) + "/" + path;
}
}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Draws learning curves from a CSVLogger file: plot_history training.csv curves.png");
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (args.size() != 3) {
    std::cerr << "usage: plot_history TRAINING.csv CURVES.png [--title=T] [--scale=2]\n";
    return 2;
  }
  const std::string csv = UserPath(args[1]), png = UserPath(args[2]);
  absl::StatusOr<std::string> text = graft::io::ReadWholeFile(csv);
  if (!text.ok()) {
    std::cerr << text.status().message() << "\n";
    return 1;
  }
  absl::StatusOr<graft::keras::History> history = graft::tools::ParseHistoryCsv(*text, csv);
  if (!history.ok()) {
    std::cerr << history.status().message() << "\n";
    return 1;
  }
  const absl::Status s = graft::keras::PlotHistory(
      *history, png, {.title = absl::GetFlag(FLAGS_title), .scale = absl::GetFlag(FLAGS_scale)});
  if (!s.ok()) {
    std::cerr << s.message() << "\n";
    return 1;
  }
  std::cout << "Wrote " << png << "\n";
  return 0;
}
