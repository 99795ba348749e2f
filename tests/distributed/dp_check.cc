// Data-parallel training checks, run under mpirun by dp_test.sh (and once without it).
//
//   --mode=train     trains a small convnet with BatchNormalization on 1,601 MNIST images
//                    (batch 32, 2 epochs: 102 steps; each epoch's last batch has one sample,
//                    so rank 1 runs it with an empty share) in buckets of 4 KiB, evaluates
//                    and predicts on 1,000 test images, and writes its weights and
//                    predictions to <out>.rank<R> (raw float32).
//   --mode=mismatch  rank 1 passes another batch_size: Fit must fail on every rank naming
//                    rank 1 and batch_size.
//   --mode=kill      rank 1 SIGKILLs itself at step 5; the others must not hang (dp_test.sh
//                    times how long the job takes to end).
//   --mode=stall     rank 1 SIGSTOPs itself at step 5: alive but silent; the others must abort
//                    after GRAFT_DIST_TIMEOUT_S.
//   --compare=A,B    prints the largest difference between two weight files; exit 1 when it
//                    exceeds --tolerance (0: must be bitwise equal).
#include <signal.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "distributed/distributed.h"
#include "keras/datasets/mnist.h"
#include "keras/keras.h"
#include "runtime/threads.h"

ABSL_FLAG(std::string, mode, "train", "train, mismatch, kill or stall");
ABSL_FLAG(std::string, out, "", "train: write weights and predictions to <out>.rank<R>");
ABSL_FLAG(std::string, data_dir, "tests/data/mnist_subset", "MNIST IDX files");
ABSL_FLAG(bool, batch_norm, true,
          "train: with BatchNormalization (each rank normalises by its share's statistics, so "
          "N ranks differ from 1 by more than reduction order: compare 1 and N without it)");
ABSL_FLAG(std::string, compare, "", "A,B: compare two files written by --mode=train");
ABSL_FLAG(double, tolerance, 0, "--compare's largest allowed absolute difference");

namespace keras = graft::keras;
namespace layers = graft::keras::layers;
namespace distributed = graft::distributed;

namespace {

std::vector<float> ReadFloats(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<float> f(bytes.size() / sizeof(float));
  std::copy(bytes.begin(), bytes.begin() + f.size() * sizeof(float),
            reinterpret_cast<char*>(f.data()));
  return f;
}

int Compare(const std::string& spec, double tolerance) {
  std::vector<std::string> paths = absl::StrSplit(spec, ',');
  if (paths.size() != 2) return 2;
  const std::vector<float> a = ReadFloats(paths[0]), b = ReadFloats(paths[1]);
  if (a.empty() || a.size() != b.size()) {
    std::cerr << "compare: " << paths[0] << " has " << a.size() << " floats, " << paths[1]
              << " has " << b.size() << "\n";
    return 1;
  }
  double max_abs = 0, max_ref = 0;
  int64_t differ = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = std::fabs(static_cast<double>(a[i]) - b[i]);
    if (std::memcmp(&a[i], &b[i], sizeof(float)) != 0) ++differ;
    if (d > max_abs) max_abs = d;
    max_ref = std::max(max_ref, std::fabs(static_cast<double>(a[i])));
  }
  std::printf("compare %s %s: %zu floats, %lld differ, max |diff| %.3g (largest |value| %.3g)\n",
              paths[0].c_str(), paths[1].c_str(), a.size(), static_cast<long long>(differ),
              max_abs, max_ref);
  if (tolerance == 0) return differ == 0 ? 0 : 1;
  return max_abs <= tolerance ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  distributed::Context context(&argc, &argv, {.bucket_bytes = 4096});
  absl::ParseCommandLine(argc, argv);
  if (!absl::GetFlag(FLAGS_compare).empty()) {
    return Compare(absl::GetFlag(FLAGS_compare), absl::GetFlag(FLAGS_tolerance));
  }
  if (!context.status().ok()) {
    std::cerr << context.status().message() << "\n";
    return 1;
  }
  const std::string mode = absl::GetFlag(FLAGS_mode);
  const int rank = distributed::Rank();
  graft::SetNumThreads(1);
  graft::SetAdaptiveThreads(false);  // pinned: bitwise run to run
  keras::SetRandomSeed(7);

  absl::StatusOr<keras::datasets::Split> data =
      keras::datasets::LoadMnist(absl::GetFlag(FLAGS_data_dir));
  if (!data.ok()) {
    std::cerr << data.status().message() << "\n";
    return 1;
  }
  const int64_t n = 1601;
  const graft::Tensor x = data->x_train.SliceRows(0, n), y = data->y_train.SliceRows(0, n);

  std::vector<keras::Layer> stack = {
      layers::Conv2D(8, 3, {.activation = "relu", .input_shape = {28, 28, 1}}),
      layers::MaxPooling2D(2),
      layers::Conv2D(8, 3, {.activation = "relu"}),
      layers::MaxPooling2D(2),
      layers::Flatten(),
      layers::Dense(10, {.activation = "softmax"}),
  };
  if (absl::GetFlag(FLAGS_batch_norm)) {
    stack.insert(stack.begin() + 1, layers::BatchNormalization());
  }
  keras::Sequential model(std::move(stack));
  if (absl::Status s = model.Compile(
          {.optimizer = "adam", .loss = "sparse_categorical_crossentropy", .metrics = {"accuracy"}});
      !s.ok()) {
    std::cerr << s.message() << "\n";
    return 1;
  }
  keras::FitOptions fit = {.batch_size = 32, .epochs = 2, .verbose = 2};
  if (mode == "mismatch" && rank == 1) fit.batch_size = 16;
  if (mode == "kill" || mode == "stall") {
    fit.callbacks.push_back(keras::callbacks::LambdaCallback(
        {.on_train_batch_begin = [rank, mode](int64_t step, const keras::Logs&) {
          if (rank != 1 || step != 5) return;
          std::fprintf(stderr, "dp_check: rank 1 %s itself at step 5\n",
                       mode == "kill" ? "SIGKILLs" : "SIGSTOPs");
          raise(mode == "kill" ? SIGKILL : SIGSTOP);
        }}));
  }
  absl::StatusOr<keras::History> history = model.Fit(x, y, fit);
  if (mode == "mismatch") {
    const std::string want = "rank 1 differs from rank 0 in batch_size";
    if (history.ok() || !absl::StrContains(history.status().message(), want)) {
      std::cerr << "rank " << rank << ": expected an error containing \"" << want << "\", got: "
                << history.status() << "\n";
      return 1;
    }
    std::printf("rank %d: Fit failed as expected: %s\n", rank,
                std::string(history.status().message()).c_str());
    return 0;
  }
  if (!history.ok()) {
    std::cerr << "rank " << rank << ": " << history.status().message() << "\n";
    return 1;
  }
  if (mode != "train") {
    std::cerr << "rank " << rank << ": --mode=" << mode << " finished training; it must not\n";
    return 1;
  }
  absl::StatusOr<std::vector<double>> test = model.Evaluate(data->x_test, data->y_test);
  absl::StatusOr<graft::Tensor> predictions = model.Predict(data->x_test);
  if (!test.ok() || !predictions.ok()) {
    std::cerr << "rank " << rank << ": Evaluate or Predict failed\n";
    return 1;
  }
  std::printf("rank %d of %d: final loss %.6f, test loss %.6f, test accuracy %.4f\n", rank,
              distributed::Size(), history->history.at("loss").back(), (*test)[0], (*test)[1]);
  if (const std::string out = absl::GetFlag(FLAGS_out); !out.empty()) {
    std::ofstream file(out + ".rank" + std::to_string(rank), std::ios::binary);
    for (const graft::Tensor& w : model.GetWeights()) {
      file.write(static_cast<const char*>(w.raw_data()), w.nbytes());
    }
    file.write(static_cast<const char*>(predictions->raw_data()), predictions->nbytes());
  }
  return 0;
}
