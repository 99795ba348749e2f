// The seed's Example A: a Conv1D model on (100 steps, 3 features) time series.
//
//   Conv1D(32, 5, relu, input (100, 3)) -> MaxPooling1D(2) -> Flatten -> Dense(1, sigmoid)
//   adam, binary_crossentropy, accuracy
//
// Data: graft's synthetic sensor-fault set (keras/datasets/sensor_faults.h): three-channel
// waveforms; the label says whether a fault (a level jump, a burst, a frequency shift) occurs.
// With --dataset=dna it trains the same architecture on the StatLog DNA splice-junction set
// (60 positions x 3 indicator channels, 3 classes; tools/dna_to_npy.sh makes the files) with
// Dense(3, softmax) and sparse categorical cross-entropy.
#include <cstdio>
#include <iostream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "examples/example_util.h"
#include "keras/datasets/dna.h"
#include "keras/datasets/sensor_faults.h"
#include "keras/keras.h"

ABSL_FLAG(std::string, dataset, "sensor", "sensor (synthetic, built in) or dna (StatLog DNA)");
ABSL_FLAG(std::string, dna_dir, "data/dna", "where tools/dna_to_npy.sh wrote the DNA .npy files");
ABSL_FLAG(int, epochs, 10, "training epochs");
ABSL_FLAG(int64_t, batch_size, 32, "batch size");
ABSL_FLAG(double, validation_split, 0.2, "fraction of the training set held out for validation");
ABSL_FLAG(uint64_t, seed, 42, "random seed (weights, shuffling, synthetic data)");
ABSL_FLAG(int, threads, 0, "threads (0: $GRAFT_NUM_THREADS or all cores)");
ABSL_FLAG(int, verbose, -1, "-1 auto (bar on a terminal, a line per epoch otherwise), 0, 1, 2");
ABSL_FLAG(bool, tbb_executor, false, "run plans with the TBB executor");
ABSL_FLAG(std::string, save, "",
          "after training, save the whole model here (load it with LoadModel, e.g. "
          "//examples:predict_saved)");
ABSL_FLAG(std::string, plot, "", "after training, draw the learning curves here (PNG)");
ABSL_FLAG(std::string, plot_model, "",
          "before training, draw the model here (PNG, SVG or PDF; needs Graphviz's dot)");

namespace keras = graft::keras;
namespace layers = graft::keras::layers;

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("Trains the seed Conv1D model (Example A) on real data.");
  absl::ParseCommandLine(argc, argv);
  graft::SetNumThreads(absl::GetFlag(FLAGS_threads));
  keras::SetRandomSeed(absl::GetFlag(FLAGS_seed));

  const bool dna = absl::GetFlag(FLAGS_dataset) == "dna";
  keras::datasets::Split data;
  if (dna) {
    absl::StatusOr<keras::datasets::Split> d =
        keras::datasets::LoadDna(absl::GetFlag(FLAGS_dna_dir));
    if (!d.ok()) {
      std::cerr << d.status().message() << "\n";
      return 1;
    }
    data = *d;
    std::cout << "StatLog DNA splice junctions: " << data.x_train.shape().dim(0) << " train, "
              << data.x_test.shape().dim(0) << " test sequences of 60 positions x 3 channels\n";
  } else if (absl::GetFlag(FLAGS_dataset) == "sensor") {
    data = keras::datasets::SensorFaults({.seed = absl::GetFlag(FLAGS_seed)});
    std::cout << "Synthetic sensor faults: " << data.x_train.shape().dim(0) << " train, "
              << data.x_test.shape().dim(0) << " test recordings of 100 steps x 3 channels\n";
  } else {
    std::cerr << "--dataset must be sensor or dna\n";
    return 1;
  }
  const int64_t steps = data.x_train.shape().dim(1);
  const int64_t channels = data.x_train.shape().dim(2);

  keras::Sequential model({
      layers::Conv1D(32, 5, {.activation = "relu", .input_shape = {steps, channels}}),
      layers::MaxPooling1D(2),
      layers::Flatten(),
      dna ? layers::Dense(3, {.activation = "softmax"})
          : layers::Dense(1, {.activation = "sigmoid"}),
  });
  if (absl::GetFlag(FLAGS_tbb_executor)) model.SetExecutor(graft::ExecutorKind::kTbb);
  return graft::examples::TrainAndReport(
      model, dna ? "sparse_categorical_crossentropy" : "binary_crossentropy", data.x_train,
      data.y_train, data.x_test, data.y_test,
      {.batch_size = absl::GetFlag(FLAGS_batch_size),
       .epochs = absl::GetFlag(FLAGS_epochs),
       .verbose = absl::GetFlag(FLAGS_verbose),
       .validation_split = absl::GetFlag(FLAGS_validation_split)},
      {.save = absl::GetFlag(FLAGS_save),
       .plot = absl::GetFlag(FLAGS_plot),
       .plot_model = absl::GetFlag(FLAGS_plot_model)});
}
