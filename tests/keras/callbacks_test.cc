// Callbacks against Keras's documented behaviour (keras/src/callbacks/*.py and their tests):
// hook order, stop_training, EarlyStopping, ModelCheckpoint, ReduceLROnPlateau,
// LearningRateScheduler, CSVLogger, TerminateOnNaN, the monitored-name check.
// (BackupAndRestore across a SIGKILL: tests/keras/resume_test.cc.)
#include "keras/callbacks.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "io/file.h"
#include "keras/keras.h"
#include "tests/testing.h"

namespace graft::keras {
namespace {

using graft::testing::Contains;
namespace cb = callbacks;

std::string TempDir() {
  const char* dir = std::getenv("TEST_TMPDIR");
  return dir ? dir : "/tmp";
}

// y = x . (1, -2, 0.5, 3) + 0.1 on 64 samples: a model that learns, fast.
struct Data {
  Tensor x, y;
};
Data Linear(int64_t n = 64) {
  Data d{Tensor(DType::kF32, Shape({n, 4})), Tensor(DType::kF32, Shape({n, 1}))};
  const float w[4] = {1, -2, 0.5f, 3};
  uint64_t state = 7;
  for (int64_t i = 0; i < n; ++i) {
    float acc = 0.1f;
    for (int j = 0; j < 4; ++j) {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      const float v = static_cast<float>((state >> 40) % 1000) / 500.0f - 1.0f;
      d.x.data<float>()[i * 4 + j] = v;
      acc += w[j] * v;
    }
    d.y.data<float>()[i] = acc;
  }
  return d;
}

Sequential Linear4(const std::string& optimizer = "sgd") {
  SetRandomSeed(3);
  Sequential m({layers::Dense(1, {.input_shape = {4}})});
  EXPECT_TRUE(m.Compile({.optimizer = optimizer, .loss = "mse", .metrics = {"mae"}}).ok());
  return m;
}

// Replays monitored values through a callback's epoch hooks, as Fit would call them.
void Replay(Callback& c, Model& m, const std::string& key, const std::vector<double>& values) {
  c.set_model(&m);
  m.set_stop_training(false);
  ASSERT_TRUE(c.OnTrainBegin({}).ok());
  for (size_t e = 0; e < values.size() && !m.stop_training(); ++e) {
    Logs logs = {{key, values[e]}};
    ASSERT_TRUE(c.OnEpochEnd(static_cast<int>(e), logs).ok());
  }
}

TEST(CallbacksTest, HooksRunInKerasOrderWithLogs) {
  Sequential m = Linear4();
  Data d = Linear(40);
  std::vector<std::string> calls;
  auto rec = cb::LambdaCallback(
      {.on_train_begin = [&](const Logs&) { calls.push_back("train_begin"); },
       .on_train_end = [&](const Logs& l) { calls.push_back(absl::StrCat("train_end:", l.size())); },
       .on_epoch_begin = [&](int e, const Logs&) { calls.push_back(absl::StrCat("epoch_begin", e)); },
       .on_epoch_end =
           [&](int e, Logs& l) {
             calls.push_back(absl::StrCat("epoch_end", e, ":", absl::StrJoin(l.Names(), ",")));
           },
       .on_train_batch_begin = [&](int64_t b, const Logs&) { calls.push_back(absl::StrCat("b", b)); },
       .on_train_batch_end =
           [&](int64_t b, const Logs& l) { calls.push_back(absl::StrCat("B", b, ":", l.size())); },
       .on_test_batch_end = [&](int64_t b, const Logs&) { calls.push_back(absl::StrCat("t", b)); }});
  absl::StatusOr<History> h =
      m.Fit(d.x, d.y, {.batch_size = 16, .epochs = 2, .verbose = 0, .validation_split = 0.2,
                       .callbacks = {rec}});
  ASSERT_TRUE(h.ok()) << h.status();
  // 32 training samples: 2 batches; 8 validation samples: 1 batch.
  const std::vector<std::string> want = {
      "train_begin",  "epoch_begin0", "b0", "B0:2", "b1", "B1:2", "t0",
      "epoch_end0:loss,mae,val_loss,val_mae", "epoch_begin1", "b0", "B0:2", "b1", "B1:2", "t0",
      "epoch_end1:loss,mae,val_loss,val_mae", "train_end:4"};
  EXPECT_EQ(calls, want);
  EXPECT_EQ(h->epoch, std::vector<int>({0, 1}));
  EXPECT_EQ(*h->params.Get("epochs"), 2);
  EXPECT_EQ(*h->params.Get("steps"), 2);
}

TEST(CallbacksTest, StopTrainingFromACallbackEndsAfterTheBatch) {
  Sequential m = Linear4();
  Data d = Linear(64);
  int batches = 0;
  auto stop = cb::LambdaCallback({.on_train_batch_end = [&](int64_t b, const Logs&) {
    ++batches;
    if (b == 2) m.set_stop_training(true);
  }});
  absl::StatusOr<History> h =
      m.Fit(d.x, d.y, {.batch_size = 8, .epochs = 5, .verbose = 0, .callbacks = {stop}});
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(batches, 3);
  EXPECT_EQ(h->epoch.size(), 1u);  // the epoch still ends (logs, History), as in Keras
}

TEST(CallbacksTest, MonitoringANameFitDoesNotLogIsAnErrorListingTheNames) {
  Sequential m = Linear4();
  Data d = Linear();
  absl::StatusOr<History> h =
      m.Fit(d.x, d.y, {.epochs = 1, .verbose = 0, .callbacks = {cb::EarlyStopping()}});
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(h.status().message(), "EarlyStopping monitors \"val_loss\""));
  EXPECT_TRUE(Contains(h.status().message(), "it logs: loss, mae"));
  EXPECT_TRUE(Contains(h.status().message(), "pass validation data"));
  h = m.Fit(d.x, d.y, {.epochs = 1, .verbose = 0, .callbacks = {cb::ReduceLROnPlateau({.monitor = "accuracy"})}});
  ASSERT_FALSE(h.ok());
  EXPECT_TRUE(Contains(h.status().message(), "ReduceLROnPlateau monitors \"accuracy\""));
}

// keras early_stopping_test.py: test_early_stopping_patience and friends, replayed.
TEST(CallbacksTest, EarlyStoppingPatienceMinDeltaBaselineAndStartEpoch) {
  Sequential m = Linear4();
  {
    auto es = cb::EarlyStopping({.monitor = "val_loss", .patience = 2});
    Replay(*es, m, "val_loss", {0.5, 0.4, 0.45, 0.44, 0.43, 0.1});
    EXPECT_EQ(es->stopped_epoch(), 3);  // no improvement at 2 and 3: wait reaches 2
    EXPECT_EQ(es->best_epoch(), 1);
    EXPECT_DOUBLE_EQ(*es->best(), 0.4);
  }
  {  // min_delta: 0.4 -> 0.39 is not an improvement of more than 0.05
    auto es = cb::EarlyStopping({.monitor = "val_loss", .min_delta = 0.05, .patience = 1});
    Replay(*es, m, "val_loss", {0.5, 0.4, 0.39, 0.2});
    EXPECT_EQ(es->stopped_epoch(), 2);
  }
  {  // mode auto on an accuracy maximizes
    auto es = cb::EarlyStopping({.monitor = "val_accuracy", .patience = 1});
    Replay(*es, m, "val_accuracy", {0.5, 0.6, 0.55, 0.7});
    EXPECT_EQ(es->stopped_epoch(), 2);
  }
  {  // baseline: the first epoch does not reset the wait unless it beats the baseline
    auto plain = cb::EarlyStopping({.monitor = "val_loss", .patience = 2});
    Replay(*plain, m, "val_loss", {0.5, 0.5, 0.5, 0.5});
    EXPECT_EQ(plain->stopped_epoch(), 2);
    auto es = cb::EarlyStopping({.monitor = "val_loss", .patience = 2, .baseline = 0.1});
    Replay(*es, m, "val_loss", {0.5, 0.5, 0.5, 0.5});
    EXPECT_EQ(es->stopped_epoch(), 1);
  }
  {  // start_from_epoch: the first epochs are not watched
    auto es = cb::EarlyStopping({.monitor = "val_loss", .patience = 1, .start_from_epoch = 3});
    Replay(*es, m, "val_loss", {0.1, 0.5, 0.6, 0.7, 0.8});
    EXPECT_EQ(es->stopped_epoch(), 4);
  }
  {  // patience 0 never stops at epoch 0
    auto es = cb::EarlyStopping({.monitor = "loss"});
    Replay(*es, m, "loss", {0.5, 0.6});
    EXPECT_EQ(es->stopped_epoch(), 1);
  }
  auto bad = cb::EarlyStopping({.monitor = "val_weird"});
  bad->set_model(&m);
  absl::Status s = bad->OnTrainBegin({});
  EXPECT_TRUE(Contains(s.message(), "pass mode=\"max\"")) << s;
}

TEST(CallbacksTest, EarlyStoppingRestoresTheBestWeightsInFit) {
  Sequential m = Linear4();
  Data d = Linear();
  std::vector<Tensor> at_best;
  int epoch = 0;
  // val_loss is replaced by a made-up series whose best is epoch 1; the weights at the end of
  // epoch 1 are what must come back.
  const std::vector<double> series = {0.9, 0.2, 0.5, 0.6, 0.7, 0.8};
  auto fake = cb::LambdaCallback({.on_epoch_end = [&](int e, Logs& l) {
    l.Set("val_loss", series[e]);
    if (e == 1) at_best = m.GetWeights();
    epoch = e;
  }});
  auto es = cb::EarlyStopping({.monitor = "val_loss", .patience = 2, .restore_best_weights = true});
  absl::StatusOr<History> h = m.Fit(
      d.x, d.y,
      {.epochs = 6, .verbose = 0, .validation_split = 0.25, .callbacks = {fake, es}});
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(epoch, 3);
  EXPECT_EQ(es->stopped_epoch(), 3);
  std::vector<Tensor> now = m.GetWeights();
  ASSERT_EQ(now.size(), at_best.size());
  for (size_t i = 0; i < now.size(); ++i) EXPECT_TRUE(graft::testing::AllClose(now[i], at_best[i], 0, 0));
  EXPECT_EQ(h->history["val_loss"], std::vector<double>({0.9, 0.2, 0.5, 0.6}));
}

TEST(CallbacksTest, ModelCheckpointFormatsPathsSavesModelsAndTheBestOnly) {
  SetAdaptiveThreads(false);  // Predict of the trained and the loaded model, compared bitwise
  SetNumThreads(1);
  const std::string dir = TempDir() + "/ckpt";
  std::filesystem::remove_all(dir);
  Sequential m = Linear4("adam");
  Data d = Linear();
  auto every = cb::ModelCheckpoint({.filepath = dir + "/e{epoch:02d}-{loss:.4f}.graft"});
  auto best = cb::ModelCheckpoint({.filepath = dir + "/best.weights", .monitor = "loss",
                                   .save_best_only = true, .save_weights_only = true});
  absl::StatusOr<History> h =
      m.Fit(d.x, d.y, {.epochs = 3, .verbose = 0, .callbacks = {every, best}});
  ASSERT_TRUE(h.ok()) << h.status();
  ASSERT_EQ(every->saved().size(), 3u);
  for (int e = 0; e < 3; ++e) {
    const std::string want =
        absl::StrFormat("%s/e%02d-%.4f.graft", dir, e + 1, h->history["loss"][e]);
    EXPECT_EQ(every->saved()[e], want);
    EXPECT_TRUE(std::filesystem::exists(want));
  }
  // The last epoch's file is the model: loading it predicts as the trained model does.
  absl::StatusOr<Model> loaded = LoadModel(every->saved().back());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  absl::StatusOr<Tensor> a = m.Predict(d.x), b = loaded->Predict(d.x);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(graft::testing::AllClose(*a, *b, 0, 0));
  // The loss fell every epoch: the best-only checkpoint saved each time, weights only.
  EXPECT_EQ(best->saved().size(), 3u);
  EXPECT_DOUBLE_EQ(*best->best(), h->history["loss"].back());
  Sequential fresh = Linear4("adam");
  ASSERT_TRUE(fresh.LoadWeights(dir + "/best.weights").ok());
  // save_best_only on a rising series saves only the first epoch.
  auto never = cb::ModelCheckpoint({.filepath = dir + "/never.graft", .monitor = "val_loss",
                                    .save_best_only = true});
  int e_now = 0;
  auto rising = cb::LambdaCallback({.on_epoch_end = [&](int e, Logs& l) {
    l.Set("val_loss", 1.0 + e);
    e_now = e;
  }});
  ASSERT_TRUE(m.Fit(d.x, d.y, {.epochs = 3, .verbose = 0, .validation_split = 0.25,
                               .callbacks = {rising, never}})
                  .ok());
  EXPECT_EQ(never->saved().size(), 1u);
  // A path field that Fit will not log fails at the start, before any epoch.
  auto typo = cb::ModelCheckpoint({.filepath = dir + "/{val_los:.4f}.graft"});
  absl::StatusOr<History> bad = m.Fit(d.x, d.y, {.epochs = 1, .verbose = 0, .callbacks = {typo}});
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(Contains(bad.status().message(), "{val_los}")) << bad.status();
}

TEST(CallbacksTest, FormatFilepathFollowsPythonFormatSpecs) {
  Logs v = {{"epoch", 3}, {"val_loss", 0.123456}, {"acc", 0.5}};
  EXPECT_EQ(*FormatFilepath("m-{epoch:02d}-{val_loss:.4f}.graft", v), "m-03-0.1235.graft");
  EXPECT_EQ(*FormatFilepath("{epoch}_{acc}", v), "3_0.5");
  EXPECT_EQ(*FormatFilepath("{val_loss:.2e}{{x}}", v), "1.23e-01{x}");
  EXPECT_EQ(*FormatFilepath("{epoch:4d}", v), "   3");
  EXPECT_FALSE(FormatFilepath("{epoch:>4}", v).ok());
  EXPECT_FALSE(FormatFilepath("{epoch", v).ok());
}

TEST(CallbacksTest, PythonFloatIsPythonsRepr) {
  EXPECT_EQ(PythonFloat(0.1), "0.1");
  EXPECT_EQ(PythonFloat(1e-05), "1e-05");
  EXPECT_EQ(PythonFloat(0.0001), "0.0001");
  EXPECT_EQ(PythonFloat(123.0), "123.0");
  EXPECT_EQ(PythonFloat(1e16), "1e+16");
  EXPECT_EQ(PythonFloat(1234567890123456.0), "1234567890123456.0");
  EXPECT_EQ(PythonFloat(-2.5), "-2.5");
  EXPECT_EQ(PythonFloat(0.0), "0.0");
  EXPECT_EQ(PythonFloat(static_cast<float>(0.6931471805599453)), "0.6931471824645996");
  EXPECT_EQ(PythonFloat(std::nan("")), "nan");
}

// keras reduce_lr_on_plateau_test.py, replayed: patience, cooldown, min_lr, "learning_rate".
TEST(CallbacksTest, ReduceLROnPlateauReducesAfterPatienceWithCooldownAndFloor) {
  Sequential m = Linear4();  // SGD, learning rate 0.01
  auto r = cb::ReduceLROnPlateau(
      {.monitor = "val_loss", .factor = 0.5, .patience = 2, .cooldown = 1, .min_lr = 0.002});
  r->set_model(&m);
  ASSERT_TRUE(r->OnTrainBegin({}).ok());
  const std::vector<double> loss = {1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5};
  std::vector<double> rates, logged;
  for (size_t e = 0; e < loss.size(); ++e) {
    Logs l = {{"val_loss", loss[e]}};
    ASSERT_TRUE(r->OnEpochEnd(static_cast<int>(e), l).ok());
    rates.push_back(m.optimizer()->LearningRateAt(m.iterations()));
    logged.push_back(*l.Get("learning_rate"));
  }
  // Epoch 0 sets best; 1, 2 wait -> halve at 2. Epoch 3 ends the cooldown (the wait restarts
  // at 0, then counts 3 as waiting, as Keras does); 4 waits -> halve at 4 (0.0025); 5 ends the
  // cooldown and waits; 6 waits -> 0.00125, floored at min_lr 0.002; 8 improves.
  const std::vector<double> want = {0.01, 0.01, 0.005, 0.005, 0.0025, 0.0025, 0.002, 0.002, 0.002};
  for (size_t e = 0; e < want.size(); ++e) EXPECT_DOUBLE_EQ(rates[e], want[e]) << "epoch " << e;
  // The logged rate is the one in force during the epoch (read before any change).
  EXPECT_FLOAT_EQ(logged[2], 0.01f);
  EXPECT_FLOAT_EQ(logged[3], 0.005f);
  // The floor: min_lr caps the reduction.
  Sequential m2 = Linear4();
  auto floor = cb::ReduceLROnPlateau({.monitor = "loss", .factor = 0.1, .patience = 0, .min_lr = 0.004});
  Replay(*floor, m2, "loss", {1, 1, 1});
  EXPECT_DOUBLE_EQ(m2.optimizer()->LearningRateAt(m2.iterations()), 0.004);
  auto bad = cb::ReduceLROnPlateau({.factor = 1.5});
  bad->set_model(&m);
  EXPECT_TRUE(Contains(bad->OnTrainBegin({}).message(), "factor >= 1.0"));
}

TEST(CallbacksTest, LearningRateSchedulerSetsTheRateEachEpochAndLogsIt) {
  Sequential m = Linear4();
  Data d = Linear();
  std::vector<double> seen_rates;
  auto probe = cb::LambdaCallback({.on_train_batch_begin = [&](int64_t b, const Logs&) {
    if (b == 0) seen_rates.push_back(m.optimizer()->LearningRateAt(m.iterations()));
  }});
  auto sched = cb::LearningRateScheduler(
      [](int epoch, double lr) { return epoch < 1 ? lr : lr * 0.5; });
  absl::StatusOr<History> h =
      m.Fit(d.x, d.y, {.epochs = 3, .verbose = 0, .callbacks = {sched, probe}});
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(seen_rates, std::vector<double>({0.01, 0.005, 0.0025}));
  ASSERT_EQ(h->history["learning_rate"].size(), 3u);
  EXPECT_FLOAT_EQ(h->history["learning_rate"][2], 0.0025f);
  auto nan = cb::LearningRateScheduler([](int, double) { return std::nan(""); });
  absl::StatusOr<History> bad = m.Fit(d.x, d.y, {.epochs = 1, .verbose = 0, .callbacks = {nan}});
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(Contains(bad.status().message(), "LearningRateScheduler.OnEpochBegin"));
}

std::string Slurp(const std::string& path) {
  absl::StatusOr<std::string> s = io::ReadWholeFile(path);
  return s.ok() ? *s : "";
}

TEST(CallbacksTest, CSVLoggerWritesKerasRowsAndAppends) {
  const std::string path = TempDir() + "/log.csv";
  std::filesystem::remove(path);
  Sequential m = Linear4();
  Data d = Linear();
  absl::StatusOr<History> h = m.Fit(
      d.x, d.y, {.epochs = 2, .verbose = 0, .validation_split = 0.25,
                 .callbacks = {cb::CSVLogger({.filename = path})}});
  ASSERT_TRUE(h.ok()) << h.status();
  std::string want = "epoch,loss,mae,val_loss,val_mae\r\n";
  for (int e = 0; e < 2; ++e) {
    want += absl::StrCat(e, ",", PythonFloat(h->history["loss"][e]), ",",
                         PythonFloat(h->history["mae"][e]), ",",
                         PythonFloat(h->history["val_loss"][e]), ",",
                         PythonFloat(h->history["val_mae"][e]), "\r\n");
  }
  EXPECT_EQ(Slurp(path), want);
  // append: no second header; and without validation the val_ columns read NA.
  const std::string path2 = TempDir() + "/log2.csv";
  std::filesystem::remove(path2);
  for (int run = 0; run < 2; ++run) {
    ASSERT_TRUE(m.Fit(d.x, d.y, {.epochs = 1, .verbose = 0,
                                 .callbacks = {cb::CSVLogger({.filename = path2, .append = true})}})
                    .ok());
  }
  std::istringstream lines(Slurp(path2));
  std::string line;
  std::vector<std::string> rows;
  while (std::getline(lines, line)) rows.push_back(line);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0], "epoch,loss,mae,val_loss,val_mae\r");
  EXPECT_TRUE(absl::EndsWith(rows[1], ",NA,NA\r")) << rows[1];
  EXPECT_TRUE(absl::StartsWith(rows[2], "0,")) << rows[2];
  auto unwritable = cb::CSVLogger({.filename = TempDir() + "/no/such/dir/log.csv"});
  absl::StatusOr<History> bad =
      m.Fit(d.x, d.y, {.epochs = 1, .verbose = 0, .callbacks = {unwritable}});
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(Contains(bad.status().message(), "CSVLogger.OnTrainBegin: cannot open"));
}

TEST(CallbacksTest, TerminateOnNaNStopsAndReturnsTheHistory) {
  SetRandomSeed(3);
  Sequential m({layers::Dense(1, {.input_shape = {4}})});
  ASSERT_TRUE(m.Compile({.optimizer = std::shared_ptr<optim::Optimizer>(
                             optim::MakeSgd({.learning_rate = 1e18})),
                         .loss = "mse"})
                  .ok());
  Data d = Linear();
  // Without the callback: ABORTED (graft's default).
  absl::StatusOr<History> h = m.Fit(d.x, d.y, {.batch_size = 8, .epochs = 3, .verbose = 0});
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.status().code(), absl::StatusCode::kAborted);
  // With it: Keras's behaviour, training stops and Fit returns normally.
  ASSERT_TRUE(m.Compile({.optimizer = std::shared_ptr<optim::Optimizer>(
                             optim::MakeSgd({.learning_rate = 1e18})),
                         .loss = "mse"})
                  .ok());
  h = m.Fit(d.x, d.y, {.batch_size = 8, .epochs = 3, .verbose = 0,
                       .callbacks = {cb::TerminateOnNaN()}});
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->epoch.size(), 1u);
  EXPECT_FALSE(std::isfinite(h->history["loss"][0]));
}

TEST(CallbacksTest, CallbacksMayUseTheModelDuringFit) {
  Sequential m = Linear4();
  Data d = Linear();
  int predicted = 0;
  auto use = cb::LambdaCallback({.on_epoch_end = [&](int, Logs& l) {
    absl::StatusOr<Tensor> p = m.Predict(d.x);
    absl::StatusOr<std::vector<double>> ev = m.Evaluate(d.x, d.y);
    if (p.ok() && ev.ok()) ++predicted;
    l.Set("full_loss", (*ev)[0]);
    EXPECT_FALSE(m.Compile({.loss = "mse"}).ok());  // refused, not a deadlock or a crash
    EXPECT_FALSE(m.Fit(d.x, d.y).ok());
  }});
  absl::StatusOr<History> h = m.Fit(d.x, d.y, {.epochs = 2, .verbose = 0, .callbacks = {use}});
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(predicted, 2);
  EXPECT_EQ(h->history["full_loss"].size(), 2u);
}

}  // namespace
}  // namespace graft::keras
