// A real time series, read from CSV and windowed for Conv1D: the weekly Mauna Loa CO2
// concentration (co2.csv of Debian's python3-statsmodels; tools/setup.sh --series). From the
// weekly changes of the last 52 weeks, forecast the change over the next 4 weeks. The
// preprocessing, windows and model are those of tools/series_reference.py (PyTorch);
// docs/series.md has the task and both sets of numbers.
//
//   tools/setup.sh --series
//   bazel run -c opt //examples:co2_forecast -- --seed=1 --plot=co2_curves.png
#include <cmath>
#include <cstdio>
#include <iostream>
#include <limits>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "examples/example_util.h"
#include "io/csv.h"
#include "keras/keras.h"

ABSL_FLAG(std::string, csv, "data/co2/co2.csv", "co2.csv (tools/setup.sh --series puts it here)");
ABSL_FLAG(int, epochs, 50, "epochs");
ABSL_FLAG(int, seed, 1, "random seed (weights and the windows' order)");
ABSL_FLAG(int, threads, 1, "threads");
ABSL_FLAG(int, verbose, 0, "0 silent, 1 bar, 2 a line per epoch");
ABSL_FLAG(std::string, log, "", "write the per-epoch logs here (CSVLogger)");

namespace graft::examples {
namespace {

constexpr int64_t kSequenceLength = 52;  // weekly changes in a window
constexpr int64_t kHorizon = 4;          // the target: the change over the next 4 weeks
constexpr int64_t kBatch = 128;

int Fail(const absl::Status& s) {
  std::cerr << s.message() << "\n";
  return 1;
}

// Linear interpolation of each run of missing (NaN) values between its known neighbours.
absl::Status Interpolate(std::vector<double>& v) {
  if (v.empty() || std::isnan(v.front()) || std::isnan(v.back())) {
    return absl::InvalidArgumentError("co2: the first and last weeks must be known");
  }
  size_t a = 0;
  for (size_t b = 1; b < v.size(); ++b) {
    if (std::isnan(v[b])) continue;
    const double slope = (v[b] - v[a]) / static_cast<double>(b - a);
    for (size_t i = a + 1; i < b; ++i) v[i] = slope * static_cast<double>(i - a) + v[a];
    a = b;
  }
  return absl::OkStatus();
}

int Main() {
  SetNumThreads(absl::GetFlag(FLAGS_threads));
  const std::string path = UserPath(absl::GetFlag(FLAGS_csv));
  // The "co2" column (the "date" column is never parsed); an empty field is a missing week.
  absl::StatusOr<io::CsvTable> table = io::LoadCsv(
      path, {.columns = {"co2"}, .dtype = DType::kF64,
             .fill_value = std::numeric_limits<double>::quiet_NaN()});
  if (!table.ok()) {
    return Fail(absl::Status(table.status().code(),
                             absl::StrCat(table.status().message(),
                                          "\n(co2.csv comes with tools/setup.sh --series)")));
  }
  std::vector<double> v = table->features.ToVector<double>();
  const int64_t n = static_cast<int64_t>(v.size());
  int64_t missing = 0;
  for (double x : v) missing += std::isnan(x);
  if (absl::Status s = Interpolate(v); !s.ok()) return Fail(s);

  // Weekly changes, split by time, normalised with the training part's mean and std.
  const int64_t changes = n - 1;
  const int64_t n_train = changes * 70 / 100, n_val = changes * 15 / 100;
  double mean = 0, var = 0;
  for (int64_t i = 0; i < n_train; ++i) mean += v[i + 1] - v[i];
  mean /= static_cast<double>(n_train);
  for (int64_t i = 0; i < n_train; ++i) var += std::pow(v[i + 1] - v[i] - mean, 2);
  const double std_dev = std::sqrt(var / static_cast<double>(n_train));
  const int64_t t_max = n - kSequenceLength - kHorizon;  // windows start at t < t_max
  Tensor z(DType::kF32, Shape({t_max, 1})), y(DType::kF32, Shape({t_max}));
  for (int64_t t = 0; t < t_max; ++t) {
    z.data<float>()[t] = static_cast<float>((v[t + 1] - v[t] - mean) / std_dev);
    const double change = v[t + kSequenceLength + kHorizon] - v[t + kSequenceLength];
    y.data<float>()[t] = static_cast<float>((change - kHorizon * mean) / std_dev);
  }
  std::printf("%s: %lld weeks, %lld missing (interpolated); %lld weekly changes: train %lld, "
              "val %lld, test %lld\n",
              path.c_str(), static_cast<long long>(n), static_cast<long long>(missing),
              static_cast<long long>(changes), static_cast<long long>(n_train),
              static_cast<long long>(n_val), static_cast<long long>(changes - n_train - n_val));
  std::printf("train mean %.6f ppm/week, std %.6f ppm/week\n", mean, std_dev);

  // Windows of 52 changes with the next 4 weeks' change as target, made per batch.
  const int seed = absl::GetFlag(FLAGS_seed);
  auto windows = [&](int64_t begin, std::optional<int64_t> end, bool shuffle) {
    return keras::TimeseriesDatasetFromArray(
        z, y, {.sequence_length = kSequenceLength, .batch_size = kBatch, .shuffle = shuffle,
               .seed = static_cast<uint64_t>(seed), .start_index = begin, .end_index = end});
  };
  absl::StatusOr<keras::DatasetPtr> train = windows(0, n_train, true);
  absl::StatusOr<keras::DatasetPtr> val = windows(n_train, n_train + n_val, false);
  absl::StatusOr<keras::DatasetPtr> test = windows(n_train + n_val, std::nullopt, false);
  for (const auto* d : {&train, &val, &test}) {
    if (!d->ok()) return Fail(d->status());
  }

  namespace layers = keras::layers;
  keras::SetRandomSeed(static_cast<uint64_t>(seed));
  keras::Sequential model({
      layers::Conv1D(16, 3, {.activation = "relu", .input_shape = {kSequenceLength, 1}}),
      layers::Conv1D(16, 3, {.activation = "relu"}),
      layers::Flatten(),
      layers::Dense(1),
  });
  if (absl::Status s = model.Compile({.optimizer = "adam", .loss = "mse", .metrics = {"mae"}});
      !s.ok()) {
    return Fail(s);
  }
  keras::FitOptions fit{.epochs = absl::GetFlag(FLAGS_epochs),
                        .verbose = absl::GetFlag(FLAGS_verbose),
                        .validation_dataset = *val};
  if (!absl::GetFlag(FLAGS_log).empty()) {
    fit.callbacks.push_back(
        keras::callbacks::CSVLogger({.filename = UserPath(absl::GetFlag(FLAGS_log))}));
  }
  absl::StatusOr<keras::History> h = model.Fit(**train, fit);
  if (!h.ok()) return Fail(h.status());
  absl::StatusOr<std::vector<double>> r = model.Evaluate(**test);
  if (!r.ok()) return Fail(r.status());

  // The naive forecast repeats the last level: a change of 0, normalised -4 mean / std.
  double naive_mse = 0, naive_mae = 0;
  int64_t count = 0;
  if (absl::Status s = (*test)->Start(0); !s.ok()) return Fail(s);
  while (true) {
    absl::StatusOr<std::optional<keras::Element>> e = (*test)->Next();
    if (!e.ok()) return Fail(e.status());
    if (!e->has_value()) break;
    for (float target : (*e)->y[0].ToVector<float>()) {
      const double err = -kHorizon * mean / std_dev - target;
      naive_mse += err * err;
      naive_mae += std::abs(err);
      ++count;
    }
  }
  naive_mse /= static_cast<double>(count);
  naive_mae /= static_cast<double>(count);
  double seconds = 0;
  for (double t : h->epoch_seconds) seconds += t;
  const double mse = (*r)[0], mae = (*r)[1];
  std::printf("seed %d: test mse %.5f mae %.5f (normalised); mse %.4f ppm^2, mae %.4f ppm; "
              "val mse %.5f; %.1f s\n",
              seed, mse, mae, mse * std_dev * std_dev, mae * std_dev,
              h->history["val_loss"].back(), seconds);
  std::printf("naive (repeat the last value): test mse %.5f mae %.5f (normalised); mse %.4f "
              "ppm^2, mae %.4f ppm\n",
              naive_mse, naive_mae, naive_mse * std_dev * std_dev, naive_mae * std_dev);
  return 0;
}

}  // namespace
}  // namespace graft::examples

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return graft::examples::Main();
}
