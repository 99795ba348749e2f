// A program the saving tests run as a separate process (a new process is what "resume" and "a
// crash while saving" mean).
//
//   saving_child train MODEL EPOCHS OUT       seed, build MODEL, Fit EPOCHS, Save to OUT
//   saving_child resume IN EPOCHS OUT         LoadModel(IN), Fit EPOCHS more, Save to OUT
//   saving_child save_loop OUT                Save a large model to OUT again and again,
//                                             alternating two versions, until killed
//   saving_child backup DIR EPOCHS OUT [E B]  build "bn", Fit EPOCHS with BackupAndRestore(DIR),
//                                             Save to OUT; with E B, SIGKILL itself after
//                                             batch B of epoch E (0-based) instead
//
// MODEL: "seed" (the seed Conv1D model) or "bn" (Conv1D -> BatchNormalization -> Dropout ->
// Flatten -> Dense). Threads are pinned to 1 (bitwise repeatable). Prints "saved N" after each
// completed save of the loop, so the parent can tell that a version is on disk.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "keras/datasets/sensor_faults.h"
#include "keras/keras.h"

namespace keras = graft::keras;
namespace layers = graft::keras::layers;

namespace {

keras::datasets::Split Data() {
  return keras::datasets::SensorFaults({.num_train = 256, .num_test = 64, .seed = 7});
}

absl::StatusOr<keras::Sequential> Build(const std::string& kind) {
  keras::SetRandomSeed(1234);
  keras::Sequential model;
  if (kind == "seed") {
    model = keras::Sequential({
        layers::Conv1D(32, 5, {.activation = "relu", .input_shape = {100, 3}}),
        layers::MaxPooling1D(2),
        layers::Flatten(),
        layers::Dense(1, {.activation = "sigmoid"}),
    });
  } else if (kind == "bn") {
    model = keras::Sequential({
        layers::Conv1D(8, 5, {.input_shape = {100, 3}}),
        layers::BatchNormalization(),
        layers::Activation("relu"),
        layers::Dropout(0.3),
        layers::MaxPooling1D(4),
        layers::Flatten(),
        layers::Dense(1, {.activation = "sigmoid"}),
    });
  } else {
    return absl::InvalidArgumentError("unknown model " + kind);
  }
  if (absl::Status s = model.Compile(
          {.optimizer = "adam", .loss = "binary_crossentropy", .metrics = {"accuracy"}});
      !s.ok()) {
    return s;
  }
  return model;
}

int Fail(const absl::Status& s) {
  std::cerr << s << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  graft::SetAdaptiveThreads(false);
  graft::SetNumThreads(1);
  const std::string mode = argc > 1 ? argv[1] : "";
  if ((mode == "train" || mode == "resume") && argc == 5) {
    const int epochs = std::atoi(argv[3]);
    absl::StatusOr<keras::Model> model =
        mode == "train" ? Build(argv[2]) : keras::LoadModel(argv[2]);
    if (!model.ok()) return Fail(model.status());
    keras::datasets::Split d = Data();
    absl::StatusOr<keras::History> h =
        model->Fit(d.x_train, d.y_train, {.batch_size = 32, .epochs = epochs, .verbose = 0});
    if (!h.ok()) return Fail(h.status());
    if (absl::Status s = model->Save(argv[4]); !s.ok()) return Fail(s);
    return 0;
  }
  if (mode == "backup" && (argc == 5 || argc == 7)) {
    absl::StatusOr<keras::Sequential> model = Build("bn");
    if (!model.ok()) return Fail(model.status());
    const int kill_epoch = argc == 7 ? std::atoi(argv[5]) : -1;
    const int kill_batch = argc == 7 ? std::atoi(argv[6]) : -1;
    int epoch_now = 0;
    auto killer = keras::callbacks::LambdaCallback(
        {.on_epoch_begin = [&](int e, const keras::Logs&) { epoch_now = e; },
         .on_train_batch_end =
             [&](int64_t b, const keras::Logs&) {
               if (epoch_now == kill_epoch && b == kill_batch) kill(getpid(), SIGKILL);
             }});
    keras::datasets::Split d = Data();
    absl::StatusOr<keras::History> h = model->Fit(
        d.x_train, d.y_train,
        {.batch_size = 32, .epochs = std::atoi(argv[3]), .verbose = 0,
         .callbacks = {keras::callbacks::BackupAndRestore({.backup_dir = argv[2]}), killer}});
    if (!h.ok()) return Fail(h.status());
    std::printf("ran epochs");
    for (int e : h->epoch) std::printf(" %d", e);
    std::printf("\n");
    if (absl::Status s = model->Save(argv[4]); !s.ok()) return Fail(s);
    return 0;
  }
  if (mode == "save_loop" && argc == 3) {
    // About 6 MB of weights and 12 MB of Adam state: a save takes a while.
    keras::Sequential model({
        layers::Dense(1536, {.input_shape = {1024}}),
        layers::Dense(10),
    });
    if (absl::Status s = model.Compile({.optimizer = "adam", .loss = "mse"}); !s.ok()) {
      return Fail(s);
    }
    std::vector<graft::Tensor> weights = model.GetWeights();
    for (long version = 1;; ++version) {
      // Every weight of version v holds v: a reader can tell the versions apart, and a torn
      // file would mix them.
      for (graft::Tensor& w : weights) {
        for (int64_t i = 0; i < w.num_elements(); ++i) {
          w.data<float>()[i] = static_cast<float>(version);
        }
      }
      if (absl::Status s = model.SetWeights(weights); !s.ok()) return Fail(s);
      if (absl::Status s = model.Save(argv[2]); !s.ok()) return Fail(s);
      std::printf("saved %ld\n", version);
      std::fflush(stdout);
    }
  }
  std::cerr << "usage: saving_child train MODEL EPOCHS OUT | resume IN EPOCHS OUT | "
               "save_loop OUT | backup DIR EPOCHS OUT [KILL_EPOCH KILL_BATCH]\n";
  return 2;
}
