// Sample weights, class weights and weighted metrics through Fit and Evaluate (keras/model.h
// SampleWeights, FitOptions::class_weight, CompileOptions::weighted_metrics), with Keras 3's
// semantics: the loss sum(w l) / N, weighted metrics sum(w m) / sum(w), class_weight turned
// into sample weights, and the errors Keras raises.
#include <cmath>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keras/keras.h"
#include "optim/optimizer.h"
#include "tests/testing.h"

namespace graft::keras {
namespace {

using ::graft::testing::AllClose;
using ::graft::testing::Golden;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class SampleWeightTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SetNumThreads(1);
    SetAdaptiveThreads(false);
  }
  void TearDown() override { SetAdaptiveThreads(true); }
};

Tensor F32(Shape shape, std::vector<float> values) {
  return Tensor::FromVector<float>(std::move(shape), values);
}

// A two-feature binary problem: label 1 where x0 + x1 > 0.3 (a minority).
struct Data {
  Tensor x, y;
};
Data Binary(int64_t n, uint64_t seed) {
  Data d{testing::Random({n, 2}, seed), Tensor(DType::kF32, {n, 1})};
  for (int64_t i = 0; i < n; ++i) {
    const float* row = d.x.data<float>() + 2 * i;
    d.y.data<float>()[i] = row[0] + row[1] > 0.3f ? 1.0f : 0.0f;
  }
  return d;
}

// Dense(1, sigmoid), built from the seed so that two calls give the same model.
Sequential BinaryModel(uint64_t seed, std::vector<std::string> metrics = {},
                       std::vector<std::string> weighted = {}, double lr = 0.1) {
  SetRandomSeed(seed);
  Sequential m({layers::Dense(1, {.activation = "sigmoid", .input_shape = {2}})});
  absl::Status s = m.Compile(
      {.optimizer = std::shared_ptr<optim::Optimizer>(optim::MakeSgd({.learning_rate = lr})),
       .loss = "binary_crossentropy",
       .metrics = std::move(metrics),
       .weighted_metrics = std::move(weighted)});
  EXPECT_TRUE(s.ok()) << s;
  return m;
}

Tensor WeightsFor(const Tensor& y, float w0, float w1) {
  Tensor w(DType::kF32, {y.shape().dim(0)});
  for (int64_t i = 0; i < w.num_elements(); ++i) {
    w.data<float>()[i] = y.data<float>()[i] > 0.5f ? w1 : w0;
  }
  return w;
}

// ---- class_weight is sample_weight ----------------------------------------------------------

TEST_F(SampleWeightTest, ClassWeightTrainsAsTheEquivalentSampleWeight) {
  Data d = Binary(40, 1);
  Sequential by_class = BinaryModel(7);
  Sequential by_sample = BinaryModel(7);
  Sequential plain = BinaryModel(7);
  auto a = by_class.Fit(
      d.x, d.y, {.batch_size = 8, .epochs = 3, .verbose = 0, .class_weight = {{0, 1.0}, {1, 5.0}}});
  auto b = by_sample.Fit(
      d.x, d.y,
      {.batch_size = 8, .epochs = 3, .verbose = 0, .sample_weight = WeightsFor(d.y, 1, 5)});
  auto c = plain.Fit(d.x, d.y, {.batch_size = 8, .epochs = 3, .verbose = 0});
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  ASSERT_TRUE(c.ok()) << c.status();
  // Same shuffling (same seed), same weights: the same bits.
  EXPECT_EQ(a->history.at("loss"), b->history.at("loss"));
  std::vector<Tensor> wa = by_class.GetWeights(), wb = by_sample.GetWeights();
  for (size_t i = 0; i < wa.size(); ++i) EXPECT_TRUE(AllClose(wa[i], wb[i], 0, 0)) << i;
  // And the weights did something.
  EXPECT_NE(a->history.at("loss"), c->history.at("loss"));
  EXPECT_FALSE(AllClose(wa[0], plain.GetWeights()[0], 0, 1e-6));
}

TEST_F(SampleWeightTest, ClassMissingFromClassWeightWeighsOne) {
  // Keras: class_weight.get(class, 1.0). One-hot targets: the class is the row's argmax.
  Tensor x = testing::Random({12, 3}, 2);
  Tensor onehot(DType::kF32, {12, 3});
  Tensor w(DType::kF32, {12});
  for (int64_t i = 0; i < 12; ++i) {
    onehot.data<float>()[i * 3 + i % 3] = 1;
    w.data<float>()[i] = i % 3 == 2 ? 4.0f : 1.0f;
  }
  auto run = [&](const FitOptions& o) {
    SetRandomSeed(3);
    Sequential m({layers::Dense(3, {.activation = "softmax", .input_shape = {3}})});
    EXPECT_TRUE(m.Compile({.optimizer = "sgd", .loss = "categorical_crossentropy"}).ok());
    auto h = m.Fit(x, onehot, o);
    EXPECT_TRUE(h.ok()) << h.status();
    return m.GetWeights();
  };
  std::vector<Tensor> a =
      run({.batch_size = 5, .epochs = 2, .verbose = 0, .class_weight = {{2, 4.0}}});
  std::vector<Tensor> b = run({.batch_size = 5, .epochs = 2, .verbose = 0, .sample_weight = w});
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(AllClose(a[i], b[i], 0, 0)) << i;
}

TEST_F(SampleWeightTest, WeightsAreShuffledWithTheirSamples) {
  // One batch of everything, shuffled: zero weights must land on their own samples. Training
  // on the 5 weighted samples with the learning rate scaled by 5 / N (the weighted loss divides
  // by the batch's N = 8, the subset's by 5) is then the same training.
  Data d = Binary(8, 4);
  Tensor w = F32({8}, {1, 1, 0, 1, 0, 1, 1, 0});
  const std::vector<int64_t> kept = {0, 1, 3, 5, 6};
  Tensor xk(DType::kF32, {5, 2}), yk(DType::kF32, {5, 1});
  d.x.GatherRowsInto(kept, xk);
  d.y.GatherRowsInto(kept, yk);
  Sequential weighted = BinaryModel(5, {}, {}, 0.5);
  Sequential subset = BinaryModel(5, {}, {}, 0.5 * 5 / 8);
  ASSERT_TRUE(
      weighted.Fit(d.x, d.y, {.batch_size = 8, .epochs = 4, .verbose = 0, .sample_weight = w})
          .ok());
  ASSERT_TRUE(subset.Fit(xk, yk, {.batch_size = 5, .epochs = 4, .verbose = 0}).ok());
  std::vector<Tensor> a = weighted.GetWeights(), b = subset.GetWeights();
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(AllClose(a[i], b[i], 1e-5, 1e-6)) << i;
}

// ---- Evaluate against PyTorch (tools/golden/weighted_losses.py) -----------------------------

TEST_F(SampleWeightTest, WeightedEvaluateMatchesPyTorch) {
  SetRandomSeed(1);
  Sequential m({layers::Dense(3, {.activation = "softmax", .input_shape = {4}})});
  ASSERT_TRUE(m.Compile({.optimizer = "sgd",
                         .loss = "sparse_categorical_crossentropy",
                         .metrics = {"accuracy"},
                         .weighted_metrics = {"accuracy"}})
                  .ok());
  ASSERT_TRUE(m.SetWeights({Golden("wmodel_kernel"), Golden("wmodel_bias")}).ok());
  EXPECT_THAT(m.metrics_names(), ElementsAre("loss", "accuracy", "weighted_accuracy"));
  Tensor x = Golden("wmodel_x"), y = Golden("wmodel_y"), w = Golden("wmodel_w");
  // Batches of 4, 4 and 2: the batch losses averaged by batch size are sum(w l) / N overall.
  auto r = m.Evaluate(x, y, {.batch_size = 4, .sample_weight = w});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_NEAR((*r)[0], Golden("wmodel_loss").AsDouble(0), 1e-5);
  EXPECT_NEAR((*r)[1], Golden("wmodel_accuracy").AsDouble(0), 1e-6);
  EXPECT_NEAR((*r)[2], Golden("wmodel_weighted_accuracy").AsDouble(0), 1e-6);
  // Without weights the weighted metric is the plain one, and the loss the plain mean.
  auto plain = m.Evaluate(x, y, {.batch_size = 4});
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ((*plain)[1], (*plain)[2]);
  EXPECT_NE((*plain)[0], (*r)[0]);
  // A (N, 1) weight column is accepted as (N,).
  auto column = m.Evaluate(x, y, {.batch_size = 4, .sample_weight = *w.Reshaped({10, 1})});
  ASSERT_TRUE(column.ok()) << column.status();
  EXPECT_EQ((*column)[0], (*r)[0]);
}

// ---- weighted_metrics in Fit ----------------------------------------------------------------

TEST_F(SampleWeightTest, WeightedMetricsAccumulateSumWmOverSumW) {
  // With a learning rate of 0 the model does not move, so the epoch's logs can be checked
  // against Predict: accuracy = mean(right), weighted = sum(w right) / sum(w) over all batches
  // (batches of 6, 6, 6, 2 with different weight sums), loss = sum(w l) / N.
  Data d = Binary(20, 6);
  Tensor w = testing::Random({20}, 8, 0, 3);
  w.data<float>()[3] = 0;
  Sequential m = BinaryModel(9, {"accuracy", "mse"}, {"accuracy", "mae"}, 0.0);
  EXPECT_THAT(m.metrics_names(),
              ElementsAre("loss", "accuracy", "mse", "weighted_accuracy", "mae"));
  auto h = m.Fit(d.x, d.y, {.batch_size = 6, .verbose = 0, .sample_weight = w});
  ASSERT_TRUE(h.ok()) << h.status();
  auto p = m.Predict(d.x);
  ASSERT_TRUE(p.ok());
  double right = 0, w_right = 0, w_sum = 0, mse = 0, w_mae = 0, w_loss = 0;
  for (int64_t i = 0; i < 20; ++i) {
    const double pi = p->AsDouble(i), yi = d.y.AsDouble(i), wi = w.AsDouble(i);
    const double ok = (pi > 0.5) == (yi > 0.5) ? 1 : 0;
    right += ok;
    w_right += wi * ok;
    w_sum += wi;
    mse += (pi - yi) * (pi - yi);
    w_mae += wi * std::abs(pi - yi);
    w_loss += wi * -(yi * std::log(pi) + (1 - yi) * std::log(1 - pi));
  }
  EXPECT_NEAR(h->history.at("accuracy")[0], right / 20, 1e-6);
  EXPECT_NEAR(h->history.at("weighted_accuracy")[0], w_right / w_sum, 1e-6);
  EXPECT_NEAR(h->history.at("mse")[0], mse / 20, 1e-6);
  EXPECT_NEAR(h->history.at("mae")[0], w_mae / w_sum, 1e-6);
  EXPECT_NEAR(h->history.at("loss")[0], w_loss / 20, 1e-5);
  EXPECT_NE(h->history.at("accuracy")[0], h->history.at("weighted_accuracy")[0]);
}

TEST_F(SampleWeightTest, LogNamesFollowKeras) {
  // Keras's CompileMetrics: plain duplicates get "_1"; a weighted metric whose name is taken
  // gets "weighted_"; with several outputs every name starts with the output's name.
  Sequential dup = BinaryModel(1, {"accuracy", "accuracy"}, {"accuracy", "accuracy"});
  EXPECT_THAT(dup.metrics_names(), ElementsAre("loss", "accuracy", "accuracy_1",
                                               "weighted_accuracy", "weighted_accuracy_1"));
  Sequential only_weighted = BinaryModel(1, {}, {"acc"});
  EXPECT_THAT(only_weighted.metrics_names(), ElementsAre("loss", "acc"));

  KerasTensor in = Input({2});
  KerasTensor a = layers::Dense(1, {.activation = "sigmoid", .name = "a"})(in);
  KerasTensor b = layers::Dense(1, {.name = "b"})(in);
  Model two({in}, {a, b});
  ASSERT_TRUE(two.Compile({.optimizer = "sgd",
                           .losses = {"binary_crossentropy", "mse"},
                           .output_metrics = {{"accuracy"}, {}},
                           .output_weighted_metrics = {{"accuracy"}, {"mae"}}})
                  .ok());
  EXPECT_THAT(two.metrics_names(), ElementsAre("loss", "a_loss", "b_loss", "a_accuracy",
                                               "a_weighted_accuracy", "b_mae"));
  EXPECT_FALSE(
      two.Compile({.optimizer = "sgd", .loss = "mse", .output_weighted_metrics = {{"mae"}}}).ok());
}

TEST_F(SampleWeightTest, SaveKeepsWeightedMetrics) {
  Sequential m = BinaryModel(4, {"accuracy"}, {"accuracy", "mse"});
  const char* dir = std::getenv("TEST_TMPDIR");
  const std::string path = std::string(dir ? dir : "/tmp") + "/weighted.graft";
  ASSERT_TRUE(m.Save(path).ok());
  absl::StatusOr<Model> loaded = LoadModel(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_THAT(loaded->metrics_names(), ElementsAre("loss", "accuracy", "weighted_accuracy", "mse"));
}

// ---- several outputs, validation data -------------------------------------------------------

TEST_F(SampleWeightTest, PerOutputWeights) {
  KerasTensor in = Input({2});
  KerasTensor a = layers::Dense(1, {.name = "a"})(in);
  KerasTensor b = layers::Dense(1, {.name = "b"})(in);
  Model two({in}, {a, b});
  ASSERT_TRUE(two.Compile({.optimizer = "sgd", .loss = "mse"}).ok());
  Data d = Binary(9, 10);
  Tensor w = testing::Random({9}, 11, 0, 2);
  Tensor ones = F32({9}, {1, 1, 1, 1, 1, 1, 1, 1, 1});
  auto plain = two.Evaluate({d.x}, {d.y, d.y}, {.batch_size = 4});
  auto first = two.Evaluate({d.x}, {d.y, d.y}, {.batch_size = 4, .sample_weight = {w, ones}});
  auto second = two.Evaluate({d.x}, {d.y, d.y}, {.batch_size = 4, .sample_weight = {ones, w}});
  auto both = two.Evaluate({d.x}, {d.y, d.y}, {.batch_size = 4, .sample_weight = w});
  ASSERT_TRUE(plain.ok() && first.ok() && second.ok() && both.ok());
  // [loss, a_loss, b_loss]: each output's loss reads its own weights.
  EXPECT_NE((*first)[1], (*plain)[1]);
  EXPECT_NEAR((*first)[2], (*plain)[2], 1e-7);
  EXPECT_NEAR((*second)[1], (*plain)[1], 1e-7);
  EXPECT_NE((*second)[2], (*plain)[2]);
  // A single array weighs every output (Keras replicates it).
  EXPECT_NEAR((*both)[1], (*first)[1], 1e-7);
  EXPECT_NEAR((*both)[2], (*second)[2], 1e-7);
  EXPECT_NEAR((*both)[0], (*both)[1] + (*both)[2], 1e-6);
}

TEST_F(SampleWeightTest, ValidationDataCarriesWeights) {
  Data d = Binary(30, 12);
  Data v = Binary(10, 13);
  Tensor wv = testing::Random({10}, 14, 0, 2);
  Tensor w = testing::Random({30}, 15, 0, 2);
  {
    Sequential m = BinaryModel(2);
    auto h = m.Fit(d.x, d.y,
                   {.batch_size = 8,
                    .verbose = 0,
                    .validation_data = std::pair(v.x, v.y),
                    .validation_sample_weight = wv});
    ASSERT_TRUE(h.ok()) << h.status();
    auto e = m.Evaluate(v.x, v.y, {.batch_size = 8, .sample_weight = wv});
    ASSERT_TRUE(e.ok());
    EXPECT_NEAR(h->history.at("val_loss")[0], (*e)[0], 1e-6);
  }
  {
    // validation_split splits sample_weight with x and y: the last 6 samples.
    Sequential m = BinaryModel(2);
    auto h = m.Fit(d.x, d.y,
                   {.batch_size = 8, .verbose = 0, .validation_split = 0.2, .sample_weight = w});
    ASSERT_TRUE(h.ok()) << h.status();
    auto e = m.Evaluate(d.x.SliceRows(24, 30), d.y.SliceRows(24, 30),
                        {.batch_size = 8, .sample_weight = w.SliceRows(24, 30)});
    ASSERT_TRUE(e.ok());
    EXPECT_NEAR(h->history.at("val_loss")[0], (*e)[0], 1e-6);
  }
  {
    // class_weight weighs the training samples only (Keras): validation is unweighted.
    Sequential m = BinaryModel(2);
    auto h =
        m.Fit(d.x, d.y,
              {.batch_size = 8, .verbose = 0, .validation_split = 0.2, .class_weight = {{1, 3.0}}});
    ASSERT_TRUE(h.ok()) << h.status();
    auto e = m.Evaluate(d.x.SliceRows(24, 30), d.y.SliceRows(24, 30), {.batch_size = 8});
    ASSERT_TRUE(e.ok());
    EXPECT_NEAR(h->history.at("val_loss")[0], (*e)[0], 1e-6);
  }
}

TEST_F(SampleWeightTest, DatasetElementsCarryWeights) {
  // Dataset::FromTensorSlices(x, y, w) batched as Fit batches arrays (no shuffling): the same
  // training as the arrays with sample_weight; and class_weight weighs a dataset's batches too.
  Data d = Binary(20, 17);
  Tensor w = WeightsFor(d.y, 1, 5);
  auto sliced = Dataset::FromTensorSlices({d.x}, {d.y}, {w});
  ASSERT_TRUE(sliced.ok()) << sliced.status();
  DatasetPtr weighted = (*sliced)->Batch(6);
  auto plain_slices = Dataset::FromTensorSlices({d.x}, {d.y});
  ASSERT_TRUE(plain_slices.ok());
  DatasetPtr plain = (*plain_slices)->Batch(6);
  Sequential by_arrays = BinaryModel(8), by_dataset = BinaryModel(8), by_class = BinaryModel(8);
  auto a = by_arrays.Fit(
      d.x, d.y, {.batch_size = 6, .epochs = 2, .verbose = 0, .shuffle = false, .sample_weight = w});
  auto b = by_dataset.Fit(*weighted, {.epochs = 2, .verbose = 0});
  auto c = by_class.Fit(*plain, {.epochs = 2, .verbose = 0, .class_weight = {{1, 5.0}}});
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(a->history.at("loss"), b->history.at("loss"));
  EXPECT_EQ(a->history.at("loss"), c->history.at("loss"));
  // Evaluate on the weighted dataset is the weighted Evaluate on the arrays.
  auto e1 = by_dataset.Evaluate(*weighted);
  auto e2 = by_dataset.Evaluate(d.x, d.y, {.batch_size = 6, .sample_weight = w});
  ASSERT_TRUE(e1.ok() && e2.ok());
  EXPECT_DOUBLE_EQ((*e1)[0], (*e2)[0]);
  // sample_weight as an option is for arrays; with a Dataset it is an error naming the fix.
  auto bad = by_dataset.Fit(*plain, {.verbose = 0, .sample_weight = w});
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("put the weights in the dataset"));
  auto bad_eval = by_dataset.Evaluate(*plain, {.sample_weight = w});
  ASSERT_FALSE(bad_eval.ok());
  EXPECT_THAT(std::string(bad_eval.status().message()),
              HasSubstr("Evaluate: with a Dataset, sample weights come from its elements"));
  // A dataset with weights and class_weight: refused as Keras refuses it.
  auto both = by_dataset.Fit(*weighted, {.verbose = 0, .class_weight = {{1, 5.0}}});
  ASSERT_FALSE(both.ok());
  EXPECT_THAT(std::string(both.status().message()),
              HasSubstr("Fit (dataset batch 0): class_weight and sample_weight were both given"));
}

// ---- errors ---------------------------------------------------------------------------------

TEST_F(SampleWeightTest, ErrorsNameTheProblemBeforeAnyStep) {
  Data d = Binary(10, 16);
  Sequential m = BinaryModel(3);
  const std::vector<Tensor> before = m.GetWeights();
  auto fails = [&](const FitOptions& o, const std::string& text) {
    FitOptions opts = o;
    opts.verbose = 0;
    auto h = m.Fit(d.x, d.y, opts);
    ASSERT_FALSE(h.ok()) << text;
    EXPECT_EQ(h.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(h.status().message()), HasSubstr(text));
    EXPECT_THAT(std::string(h.status().message()), HasSubstr("Fix:"));
  };
  Tensor w = F32({10}, {1, 1, 1, 1, 1, 1, 1, 1, 1, 1});
  fails({.class_weight = {{0, 1.0}}, .sample_weight = w},
        "You cannot `class_weight` and `sample_weight` at the same time.");
  fails({.sample_weight = F32({9}, {1, 1, 1, 1, 1, 1, 1, 1, 1})},
        "Fit: sample_weight has 9 weights but x has 10 samples");
  Tensor negative = w.Clone();
  negative.data<float>()[7] = -2;
  fails({.sample_weight = negative}, "Fit: sample_weight[7] = -2 is negative (sample 7)");
  Tensor nan = w.Clone();
  nan.data<float>()[4] = std::nanf("");
  fails({.sample_weight = nan}, "Fit: sample_weight[4] = nan is not finite (sample 4)");
  fails({.sample_weight = Tensor(DType::kF32, {10, 2})},
        "Fit: sample_weight has shape (10, 2); expected (10,): one weight per sample");
  fails({.sample_weight = {w, w}}, "sample_weight has 2 arrays but model");
  fails({.class_weight = {{2, 1.0}}},
        "class_weight has key 2, which is not a class of the 1-unit output");
  fails({.class_weight = {{1, -1.0}}}, "class_weight[1] = -1 is not a finite weight >= 0");
  fails({.validation_sample_weight = w}, "validation_sample_weight was given without");
  fails({.validation_data = std::pair(d.x, d.y), .validation_sample_weight = F32({2}, {1, 1})},
        "Fit (validation_data): validation_sample_weight has 2 weights but x has 10 samples");
  // Nothing trained.
  std::vector<Tensor> after = m.GetWeights();
  for (size_t i = 0; i < after.size(); ++i) EXPECT_TRUE(AllClose(after[i], before[i], 0, 0));
  // Evaluate checks its weights the same way.
  auto e = m.Evaluate(d.x, d.y, {.sample_weight = F32({3}, {1, 1, 1})});
  ASSERT_FALSE(e.ok());
  EXPECT_THAT(std::string(e.status().message()),
              HasSubstr("Evaluate: sample_weight has 3 weights but x has 10 samples"));
  // class_weight on a model of two outputs (Keras refuses it).
  KerasTensor in = Input({2});
  Model two({in}, {layers::Dense(1)(in), layers::Dense(1)(in)});
  ASSERT_TRUE(two.Compile({.optimizer = "sgd", .loss = "mse"}).ok());
  auto h = two.Fit({d.x}, {d.y, d.y}, {.verbose = 0, .class_weight = {{0, 2.0}}});
  ASSERT_FALSE(h.ok());
  EXPECT_THAT(std::string(h.status().message()),
              HasSubstr("`class_weight` is only supported for Models with a single output."));
}

}  // namespace
}  // namespace graft::keras
