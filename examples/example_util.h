// Helpers the example programs share.
#ifndef GRAFT_EXAMPLES_EXAMPLE_UTIL_H_
#define GRAFT_EXAMPLES_EXAMPLE_UTIL_H_

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "keras/keras.h"

namespace graft::examples {

// A path the user typed: relative paths are taken from the folder `bazel run` was started in
// (BUILD_WORKING_DIRECTORY), not from the runfiles folder the program runs in.
inline std::string UserPath(const std::string& path) {
  const char* cwd = std::getenv("BUILD_WORKING_DIRECTORY");
  if (path.empty() || path[0] == '/' || cwd == nullptr) return path;
  return std::string(cwd) + "/" + path;
}

// The end of every training example: Compile (Adam, `loss`, accuracy), Summary, Fit, Evaluate on
// the test set, the timings and test result, and a save when `save_path` is set. Returns the
// program's exit code; errors go to stderr.
inline int TrainAndReport(keras::Model& model, const std::string& loss, const Tensor& x_train,
                          const Tensor& y_train, const Tensor& x_test, const Tensor& y_test,
                          const keras::FitOptions& fit, const std::string& save_path) {
  absl::Status s = model.Compile({.optimizer = "adam", .loss = loss, .metrics = {"accuracy"}});
  if (!s.ok()) {
    std::cerr << s.message() << "\n";
    return 1;
  }
  model.Summary();
  absl::StatusOr<keras::History> history = model.Fit(x_train, y_train, fit);
  if (!history.ok()) {
    std::cerr << history.status().message() << "\n";
    return 1;
  }
  absl::StatusOr<std::vector<double>> test = model.Evaluate(x_test, y_test);
  if (!test.ok()) {
    std::cerr << test.status().message() << "\n";
    return 1;
  }
  double seconds = 0;
  for (double t : history->epoch_seconds) seconds += t;
  std::printf("Test loss: %.4f - test accuracy: %.4f (%.2f%%)\n", (*test)[0], (*test)[1],
              100 * (*test)[1]);
  std::printf("Training: %.1f s for %zu epochs\n", seconds, history->epoch_seconds.size());
  if (!save_path.empty()) {
    if (absl::Status saved = model.Save(UserPath(save_path)); !saved.ok()) {
      std::cerr << saved.message() << "\n";
      return 1;
    }
    std::printf("Saved the model to %s\n", save_path.c_str());
  }
  return 0;
}

}  // namespace graft::examples

#endif  // GRAFT_EXAMPLES_EXAMPLE_UTIL_H_
