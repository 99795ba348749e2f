// The seed's Example B: a Conv2D model on images, and the Keras MNIST convnet.
//
//   --model=seed:    Conv2D(32, (3,3), relu) -> MaxPooling2D((2,2)) -> Flatten -> Dense(10,
//   softmax)
//   --model=convnet: Conv2D(32,3,relu) -> MaxPooling2D(2) -> Conv2D(64,3,relu) -> MaxPooling2D(2)
//                    -> Flatten -> Dropout(0.5) -> Dense(10, softmax)        (keras.io
//                    mnist_convnet)
//   --dataset=mnist | fashion   (tools/setup.sh --mnist fetches both), input (28, 28, 1)
//
// adam, sparse_categorical_crossentropy, accuracy, batch 32.
#include <cstdio>
#include <iostream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "examples/example_util.h"
#include "keras/datasets/mnist.h"
#include "keras/keras.h"

ABSL_FLAG(std::string, model, "seed", "seed (Example B) or convnet (the Keras MNIST convnet)");
ABSL_FLAG(std::string, dataset, "mnist", "mnist or fashion");
ABSL_FLAG(std::string, data_dir, "", "directory of the IDX files (default data/<dataset>)");
ABSL_FLAG(int, epochs, 3, "training epochs");
ABSL_FLAG(int64_t, batch_size, 32, "batch size");
ABSL_FLAG(int64_t, train_samples, 0, "use only the first N training images (0: all)");
ABSL_FLAG(double, validation_split, 0.0, "fraction of the training set held out for validation");
ABSL_FLAG(uint64_t, seed, 42, "random seed (weights, shuffling, dropout)");
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
namespace layers = graft::keras::layers;

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("Trains the seed Conv2D model (Example B) or the Keras convnet.");
  absl::ParseCommandLine(argc, argv);
  graft::SetNumThreads(absl::GetFlag(FLAGS_threads));
  keras::SetRandomSeed(absl::GetFlag(FLAGS_seed));
  if (absl::Status s =
          keras::mixed_precision::SetGlobalPolicy(absl::GetFlag(FLAGS_mixed_precision));
      !s.ok()) {
    std::cerr << s.message() << "\n";
    return 1;
  }

  const std::string dataset = absl::GetFlag(FLAGS_dataset);
  std::string dir = absl::GetFlag(FLAGS_data_dir);
  absl::StatusOr<keras::datasets::Split> data;
  if (dataset == "mnist") {
    data = keras::datasets::LoadMnist(dir.empty() ? "data/mnist" : dir);
  } else if (dataset == "fashion") {
    data = keras::datasets::LoadFashionMnist(dir.empty() ? "data/fashion-mnist" : dir);
  } else {
    std::cerr << "--dataset must be mnist or fashion\n";
    return 1;
  }
  if (!data.ok()) {
    std::cerr << data.status().message() << "\n";
    return 1;
  }
  graft::Tensor x_train = data->x_train, y_train = data->y_train;
  if (int64_t n = absl::GetFlag(FLAGS_train_samples); n > 0 && n < x_train.shape().dim(0)) {
    x_train = x_train.SliceRows(0, n);
    y_train = y_train.SliceRows(0, n);
  }
  std::cout << (dataset == "mnist" ? "MNIST" : "Fashion-MNIST") << ": " << x_train.shape().dim(0)
            << " training and " << data->x_test.shape().dim(0) << " test images of 28x28x1\n";

  std::vector<keras::Layer> model_layers;
  if (absl::GetFlag(FLAGS_model) == "convnet") {
    model_layers = {
        layers::Conv2D(32, 3, {.activation = "relu", .input_shape = {28, 28, 1}}),
        layers::MaxPooling2D(2),
        layers::Conv2D(64, 3, {.activation = "relu"}),
        layers::MaxPooling2D(2),
        layers::Flatten(),
        layers::Dropout(0.5),
        layers::Dense(10, {.activation = "softmax"}),
    };
  } else if (absl::GetFlag(FLAGS_model) == "seed") {
    model_layers = {
        layers::Conv2D(32, {3, 3}, {.activation = "relu", .input_shape = {28, 28, 1}}),
        layers::MaxPooling2D({2, 2}),
        layers::Flatten(),
        layers::Dense(10, {.activation = "softmax"}),
    };
  } else {
    std::cerr << "--model must be seed or convnet\n";
    return 1;
  }
  keras::Sequential model(std::move(model_layers));
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
