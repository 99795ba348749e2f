// A residual network trained for real: ResNet-8 (examples/resnet_model.h) on Fashion-MNIST,
// built with the functional API.
//
//   tools/setup.sh --mnist
//   bazel run -c opt //examples:resnet -- --epochs=2 --seed=1
//
// Adam (Keras defaults, learning rate 1e-3), sparse_categorical_crossentropy, accuracy, batch 32.
// tools/resnet_reference.py trains the same network in PyTorch (Keras initialisation, the same
// data) for the reference accuracy.
#include <cstdio>
#include <iostream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "examples/example_util.h"
#include "examples/resnet_model.h"
#include "keras/datasets/mnist.h"
#include "keras/keras.h"

ABSL_FLAG(std::string, data_dir, "data/fashion-mnist",
          "directory of the Fashion-MNIST IDX files (relative: to the workspace)");
ABSL_FLAG(int, epochs, 2, "training epochs");
ABSL_FLAG(int64_t, batch_size, 32, "batch size");
ABSL_FLAG(int64_t, train_samples, 0, "use only the first N training images (0: all)");
ABSL_FLAG(double, validation_split, 0.0, "fraction of the training set held out for validation");
ABSL_FLAG(uint64_t, seed, 42, "random seed (weights, shuffling)");
ABSL_FLAG(std::string, mixed_precision, "float32",
          "Keras mixed precision policy: float32 or mixed_bfloat16 (needs AVX512-BF16)");
ABSL_FLAG(int, threads, 0, "threads (0: $GRAFT_NUM_THREADS or all cores)");
ABSL_FLAG(int, verbose, -1, "-1 auto (bar on a terminal, a line per epoch otherwise), 0, 1, 2");
ABSL_FLAG(std::string, save, "",
          "after training, save the whole model here (load it with LoadModel, e.g. "
          "//examples:predict_saved)");
ABSL_FLAG(std::string, plot, "", "after training, draw the learning curves here (PNG)");
ABSL_FLAG(std::string, plot_model, "",
          "before training, draw the model here (PNG, SVG or PDF; needs Graphviz's dot)");

namespace keras = graft::keras;

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("Trains a small ResNet (functional API) on Fashion-MNIST.");
  absl::ParseCommandLine(argc, argv);
  graft::SetNumThreads(absl::GetFlag(FLAGS_threads));
  keras::SetRandomSeed(absl::GetFlag(FLAGS_seed));
  if (absl::Status s =
          keras::mixed_precision::SetGlobalPolicy(absl::GetFlag(FLAGS_mixed_precision));
      !s.ok()) {
    std::cerr << s.message() << "\n";
    return 1;
  }

  absl::StatusOr<keras::datasets::Split> data =
      keras::datasets::LoadFashionMnist(absl::GetFlag(FLAGS_data_dir));
  if (!data.ok()) {
    std::cerr << data.status().message() << "\n";
    return 1;
  }
  graft::Tensor x_train = data->x_train, y_train = data->y_train;
  if (int64_t n = absl::GetFlag(FLAGS_train_samples); n > 0 && n < x_train.shape().dim(0)) {
    x_train = x_train.SliceRows(0, n);
    y_train = y_train.SliceRows(0, n);
  }
  std::cout << "Fashion-MNIST: " << x_train.shape().dim(0) << " training and "
            << data->x_test.shape().dim(0) << " test images of 28x28x1\n";

  keras::Model model = graft::examples::SmallResNet();
  return graft::examples::TrainAndReport(
      model, "sparse_categorical_crossentropy", x_train, y_train, data->x_test, data->y_test,
      {.batch_size = absl::GetFlag(FLAGS_batch_size),
       .epochs = absl::GetFlag(FLAGS_epochs),
       .verbose = absl::GetFlag(FLAGS_verbose),
       .validation_split = absl::GetFlag(FLAGS_validation_split)},
      {.save = absl::GetFlag(FLAGS_save),
       .plot = absl::GetFlag(FLAGS_plot),
       .plot_model = absl::GetFlag(FLAGS_plot_model)});
}
