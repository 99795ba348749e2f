// The Keras MNIST convnet trained data-parallel: the same program runs as one process or as N
// ranks under mpirun (or SLURM's srun), and the ranks split every global batch.
//
//   bazel build -c opt //examples:distributed_mnist
//   bazel-bin/examples/distributed_mnist                            # one process
//   mpirun -np 2 bazel-bin/examples/distributed_mnist               # two ranks, this machine
//   mpirun -np 8 --hostfile hosts bazel-bin/examples/distributed_mnist   # several machines
//   srun -N 4 --ntasks-per-node=1 bazel-bin/examples/distributed_mnist    # under SLURM
//
// Conv2D(32,3,relu) -> MaxPooling2D(2) -> Conv2D(64,3,relu) -> MaxPooling2D(2) -> Flatten ->
// Dropout(0.5) -> Dense(10, softmax); Adam, sparse categorical cross-entropy, accuracy; global
// batch 128 (keras.io's mnist_convnet). Rank 0 prints and saves; every rank evaluates its share
// of the test set and gets the global result.
#include <cstdio>
#include <iostream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "distributed/distributed.h"
#include "examples/user_path.h"
#include "keras/datasets/mnist.h"
#include "keras/keras.h"

ABSL_FLAG(std::string, data_dir, "data/mnist", "directory of the MNIST IDX files");
ABSL_FLAG(int, epochs, 3, "training epochs");
ABSL_FLAG(int64_t, batch_size, 128, "global batch size (the ranks split it)");
ABSL_FLAG(uint64_t, seed, 42, "random seed (weights, shuffling, dropout)");
ABSL_FLAG(int, threads, 0, "threads per rank (0: all cores on one process, else 1 per rank)");
ABSL_FLAG(std::string, save, "", "after training, rank 0 saves the whole model here");

namespace keras = graft::keras;
namespace layers = graft::keras::layers;
namespace distributed = graft::distributed;

int main(int argc, char** argv) {
  // First: MPI starts here (a plain run is one rank of one).
  distributed::Context context(&argc, &argv);
  absl::SetProgramUsageMessage("Trains the Keras MNIST convnet on one or several ranks.");
  absl::ParseCommandLine(argc, argv);
  if (!context.status().ok()) {
    std::cerr << context.status().message() << "\n";
    return 1;
  }
  const bool root = distributed::IsRoot();
  int threads = absl::GetFlag(FLAGS_threads);
  if (threads == 0 && distributed::Size() > 1) threads = 1;  // ranks share the machine's cores
  graft::SetNumThreads(threads);
  keras::SetRandomSeed(absl::GetFlag(FLAGS_seed));  // the same initial weights on every rank

  absl::StatusOr<keras::datasets::Split> data =
      keras::datasets::LoadMnist(graft::examples::UserPath(absl::GetFlag(FLAGS_data_dir)));
  if (!data.ok()) {
    std::cerr << "rank " << distributed::Rank() << ": " << data.status().message() << "\n";
    return 1;
  }
  if (root) {
    std::printf("MNIST: %lld training and %lld test images; %d rank(s) x %d thread(s), global "
                "batch %lld\n",
                static_cast<long long>(data->x_train.shape().dim(0)),
                static_cast<long long>(data->x_test.shape().dim(0)), distributed::Size(),
                graft::NumThreads(), static_cast<long long>(absl::GetFlag(FLAGS_batch_size)));
  }
  keras::Sequential model({
      layers::Conv2D(32, 3, {.activation = "relu", .input_shape = {28, 28, 1}}),
      layers::MaxPooling2D(2),
      layers::Conv2D(64, 3, {.activation = "relu"}),
      layers::MaxPooling2D(2),
      layers::Flatten(),
      layers::Dropout(0.5),
      layers::Dense(10, {.activation = "softmax"}),
  });
  // Compile after the Context: the train step then sums its gradients over the ranks.
  if (absl::Status s = model.Compile(
          {.optimizer = "adam", .loss = "sparse_categorical_crossentropy", .metrics = {"accuracy"}});
      !s.ok()) {
    std::cerr << s.message() << "\n";
    return 1;
  }
  model.Summary();  // prints on rank 0 only
  absl::StatusOr<keras::History> history = model.Fit(
      data->x_train, data->y_train,
      {.batch_size = absl::GetFlag(FLAGS_batch_size), .epochs = absl::GetFlag(FLAGS_epochs)});
  if (!history.ok()) {
    std::cerr << "rank " << distributed::Rank() << ": " << history.status().message() << "\n";
    return 1;
  }
  // Every rank calls Evaluate (each evaluates its share; the result is global).
  absl::StatusOr<std::vector<double>> test = model.Evaluate(data->x_test, data->y_test);
  if (!test.ok()) {
    std::cerr << "rank " << distributed::Rank() << ": " << test.status().message() << "\n";
    return 1;
  }
  double seconds = 0;
  for (double t : history->epoch_seconds) seconds += t;
  if (root) {
    std::printf("Test loss: %.4f - test accuracy: %.4f (%.2f%%)\n", (*test)[0], (*test)[1],
                100 * (*test)[1]);
    std::printf("Training: %.1f s for %zu epochs (%.0f samples/s)\n", seconds,
                history->epoch_seconds.size(),
                static_cast<double>(data->x_train.shape().dim(0)) *
                    history->epoch_seconds.size() / seconds);
  }
  if (const std::string path = absl::GetFlag(FLAGS_save); !path.empty()) {
    // Save writes on rank 0 and returns OK elsewhere: no rank overwrites another's file.
    if (absl::Status s = model.Save(graft::examples::UserPath(path)); !s.ok()) {
      std::cerr << s.message() << "\n";
      return 1;
    }
    if (root) std::printf("Saved the model to %s\n", path.c_str());
  }
  return 0;
}
