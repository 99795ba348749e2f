// Helpers the example programs share.
#ifndef GRAFT_EXAMPLES_EXAMPLE_UTIL_H_
#define GRAFT_EXAMPLES_EXAMPLE_UTIL_H_

#include <cstdio>
#include <iostream>
#include <string>

#include "examples/user_path.h"
#include "keras/keras.h"
#include "keras/plot_history.h"

namespace graft::examples {

// What TrainAndReport writes besides its report; an empty path skips that file. Relative paths
// are the user's (UserPath).
struct ReportFiles {
  std::string save;        // the whole model after training (Model::Save)
  std::string plot;        // the learning curves, PNG (keras::PlotHistory)
  std::string plot_model;  // the layer graph with shapes (Model::PlotModel; needs Graphviz)
};

// Prints `status`'s message to stderr when it is an error; true when it is.
inline bool Failed(const absl::Status& status) {
  if (!status.ok()) std::cerr << status.message() << "\n";
  return !status.ok();
}

// The end of every training example: Compile (Adam, `loss`, accuracy), Summary, the model's
// picture, Fit, Evaluate on the test set, the timings and test result, then the saved model
// and the learning curves. Returns the program's exit code; errors go to stderr.
inline int TrainAndReport(keras::Model& model, const std::string& loss, const Tensor& x_train,
                          const Tensor& y_train, const Tensor& x_test, const Tensor& y_test,
                          const keras::FitOptions& fit, const ReportFiles& files = {}) {
  if (Failed(model.Compile({.optimizer = "adam", .loss = loss, .metrics = {"accuracy"}}))) {
    return 1;
  }
  model.Summary();
  // Before training, so that a missing Graphviz costs no training run.
  if (!files.plot_model.empty()) {
    // 96 dpi: a screen-sized picture (Keras's 200 makes ResNet-8 about 3200 x 8900 pixels).
    const keras::PlotModelOptions options = {.show_shapes = true, .dpi = 96};
    if (Failed(model.PlotModel(UserPath(files.plot_model), options))) return 1;
    std::printf("Drew the model in %s\n", files.plot_model.c_str());
  }
  absl::StatusOr<keras::History> history = model.Fit(x_train, y_train, fit);
  if (Failed(history.status())) return 1;
  absl::StatusOr<std::vector<double>> test = model.Evaluate(x_test, y_test);
  if (Failed(test.status())) return 1;
  double seconds = 0;
  for (double t : history->epoch_seconds) seconds += t;
  std::printf("Test loss: %.4f - test accuracy: %.4f (%.2f%%)\n", (*test)[0], (*test)[1],
              100 * (*test)[1]);
  std::printf("Training: %.1f s for %zu epochs\n", seconds, history->epoch_seconds.size());
  if (!files.save.empty()) {
    if (Failed(model.Save(UserPath(files.save)))) return 1;
    std::printf("Saved the model to %s\n", files.save.c_str());
  }
  if (!files.plot.empty()) {
    if (Failed(keras::PlotHistory(*history, UserPath(files.plot),
                                  {.title = "Learning curves of " + model.name()}))) {
      return 1;
    }
    std::printf("Drew the learning curves in %s\n", files.plot.c_str());
  }
  return 0;
}

}  // namespace graft::examples

#endif  // GRAFT_EXAMPLES_EXAMPLE_UTIL_H_
