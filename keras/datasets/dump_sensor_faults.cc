// Writes SensorFaults() as <out_dir>/{x_train,y_train,x_test,y_test}.npy, for checking the task
// outside graft (tools/calibrate_sensor_faults.py trains the seed model on it with PyTorch).
//   bazel run //keras/datasets:dump_sensor_faults -- --out_dir=/tmp/sensor_faults --noise=0.1
#include <cstdio>
#include <filesystem>
#include <string>
#include <system_error>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "io/npy.h"
#include "keras/datasets/sensor_faults.h"

namespace {
const graft::keras::datasets::SensorFaultsOptions kDefaults;
}  // namespace

ABSL_FLAG(std::string, out_dir, "", "output directory (created if missing)");
ABSL_FLAG(int64_t, num_train, kDefaults.num_train, "training recordings");
ABSL_FLAG(int64_t, num_test, kDefaults.num_test, "test recordings");
ABSL_FLAG(int64_t, steps, kDefaults.steps, "time steps per recording");
ABSL_FLAG(int64_t, channels, kDefaults.channels, "channels per recording");
ABSL_FLAG(double, noise, kDefaults.noise, "noise standard deviation");
ABSL_FLAG(uint64_t, seed, kDefaults.seed, "random seed");

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const std::string dir = absl::GetFlag(FLAGS_out_dir);
  if (dir.empty()) {
    std::fprintf(stderr, "usage: dump_sensor_faults --out_dir=DIR [--noise=X --seed=N ...]\n");
    return 2;
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    std::fprintf(stderr, "cannot create %s: %s\n", dir.c_str(), ec.message().c_str());
    return 1;
  }
  graft::keras::datasets::SensorFaultsOptions options;
  options.num_train = absl::GetFlag(FLAGS_num_train);
  options.num_test = absl::GetFlag(FLAGS_num_test);
  options.steps = absl::GetFlag(FLAGS_steps);
  options.channels = absl::GetFlag(FLAGS_channels);
  options.noise = absl::GetFlag(FLAGS_noise);
  options.seed = absl::GetFlag(FLAGS_seed);
  const graft::keras::datasets::Split s = graft::keras::datasets::SensorFaults(options);
  const std::pair<const char*, const graft::Tensor*> files[] = {{"x_train", &s.x_train},
                                                                {"y_train", &s.y_train},
                                                                {"x_test", &s.x_test},
                                                                {"y_test", &s.y_test}};
  for (const auto& [name, tensor] : files) {
    const std::string path = absl::StrCat(dir, "/", name, ".npy");
    if (absl::Status st = graft::io::SaveNpy(path, *tensor); !st.ok()) {
      std::fprintf(stderr, "%s\n", st.ToString().c_str());
      return 1;
    }
    std::printf("%s %s\n", path.c_str(), tensor->shape().ToString().c_str());
  }
  return 0;
}
