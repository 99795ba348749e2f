// Datasets: slices, shuffle, batch, prefetch, generators and time-series windows, and Fit /
// Evaluate / Predict on them (the seed Conv1D model trained from a Dataset ends with the
// weights of the array path for the same batches).
#include "keras/dataset.h"

#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "keras/keras.h"
#include "tests/testing.h"

namespace graft::keras {
namespace {

using graft::testing::Contains;

Tensor Iota(Shape shape, float scale = 1.0f) {
  Tensor t(DType::kF32, shape);
  for (int64_t i = 0; i < t.num_elements(); ++i) t.data<float>()[i] = scale * static_cast<float>(i);
  return t;
}

// Every element of a pass, as the first value of its first x tensor.
std::vector<float> Firsts(Dataset& d, int64_t epoch = 0) {
  EXPECT_TRUE(d.Start(epoch).ok());
  std::vector<float> out;
  while (true) {
    absl::StatusOr<std::optional<Element>> e = d.Next();
    EXPECT_TRUE(e.ok()) << e.status();
    if (!e.ok() || !e->has_value()) break;
    out.push_back((*e)->x[0].data<float>()[0]);
  }
  return out;
}

TEST(DatasetTest, SlicesBatchAndCardinality) {
  absl::StatusOr<DatasetPtr> s = Dataset::FromTensorSlices({Iota(Shape({10, 2}))}, {Iota(Shape({10}))});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ((*s)->Cardinality(), 10);
  DatasetPtr b = (*s)->Batch(4);
  EXPECT_EQ(b->Cardinality(), 3);
  ASSERT_TRUE(b->Start(0).ok());
  absl::StatusOr<std::optional<Element>> e = b->Next();
  ASSERT_TRUE(e.ok() && e->has_value());
  EXPECT_EQ((*e)->x[0].shape(), Shape({4, 2}));
  EXPECT_EQ((*e)->y[0].shape(), Shape({4}));
  EXPECT_EQ((*e)->x[0].ToVector<float>(), std::vector<float>({0, 1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(Firsts(*b), std::vector<float>({0, 8, 16}));  // the last batch holds 2
  EXPECT_EQ(Firsts(*(*s)->Batch(4, /*drop_remainder=*/true)).size(), 2u);
  EXPECT_FALSE(Dataset::FromTensorSlices({Iota(Shape({10, 2}))}, {Iota(Shape({9}))}).ok());
}

TEST(DatasetTest, BatchNamesTheElementThatDoesNotFit) {
  int i = 0;
  DatasetPtr g = Dataset::FromGenerator([&i]() -> absl::StatusOr<std::optional<Element>> {
    if (i == 5) return std::optional<Element>();
    Element e{{Iota(Shape({i == 3 ? 3 : 2}))}};
    ++i;
    return std::optional<Element>(e);
  });
  DatasetPtr b = g->Batch(5);
  ASSERT_TRUE(b->Start(0).ok());
  absl::StatusOr<std::optional<Element>> e = b->Next();
  ASSERT_FALSE(e.ok());
  EXPECT_TRUE(Contains(e.status().message(), "element 3 has float32(3,) but element 0")) << e.status();
}

TEST(DatasetTest, ShuffleIsAPermutationPerPassReproducibleFromTheSeed) {
  absl::StatusOr<DatasetPtr> s = Dataset::FromTensorSlices({Iota(Shape({50}))});
  ASSERT_TRUE(s.ok());
  DatasetPtr a = (*s)->Shuffle(16, 42), b = (*s)->Shuffle(16, 42);
  const std::vector<float> a0 = Firsts(*a, 0), a1 = Firsts(*a, 1);
  EXPECT_EQ(a0, Firsts(*b, 0));
  EXPECT_EQ(a1, Firsts(*b, 1));
  EXPECT_NE(a0, a1);  // a new order every pass
  std::vector<float> sorted = a0;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, Firsts(**s));  // every element once
  // A buffer of 1 keeps the order; a buffer of 16 cannot move an element more than 15 ahead.
  EXPECT_EQ(Firsts(*(*s)->Shuffle(1, 3)), Firsts(**s));
  for (size_t i = 0; i < a0.size(); ++i) EXPECT_LE(a0[i], static_cast<float>(i + 15));
}

TEST(DatasetTest, PrefetchRunsTheSourceOnAnotherThreadAndPassesErrorsOn) {
  const std::thread::id caller = std::this_thread::get_id();
  std::atomic<bool> other_thread{false};
  int i = 0;
  DatasetPtr g = Dataset::FromGenerator(
      [&]() -> absl::StatusOr<std::optional<Element>> {
        if (std::this_thread::get_id() != caller) other_thread = true;
        if (i == 6) return absl::DataLossError("disk gone at element 6");
        Element e{{Tensor::FromVector<float>(Shape({1}), {static_cast<float>(i++)})}};
        return std::optional<Element>(e);
      },
      [&](int64_t) {
        i = 0;
        return absl::OkStatus();
      });
  DatasetPtr p = g->Prefetch(2);
  for (int pass = 0; pass < 2; ++pass) {
    ASSERT_TRUE(p->Start(pass).ok());
    for (int k = 0; k < 6; ++k) {
      absl::StatusOr<std::optional<Element>> e = p->Next();
      ASSERT_TRUE(e.ok() && e->has_value());
      EXPECT_EQ((*e)->x[0].data<float>()[0], static_cast<float>(k));
    }
    absl::StatusOr<std::optional<Element>> e = p->Next();
    ASSERT_FALSE(e.ok());
    EXPECT_EQ(e.status().message(), "disk gone at element 6");
  }
  EXPECT_TRUE(other_thread);
}

// keras.utils.timeseries_dataset_from_array, its docstring's examples.
TEST(DatasetTest, TimeseriesWindowsAsKeras) {
  // Example 1: indices 0..98, sequence_length 10, sampling_rate 2, sequence_stride 3.
  Tensor data = Iota(Shape({99}));
  absl::StatusOr<DatasetPtr> d = TimeseriesDatasetFromArray(
      data, Tensor(), {.sequence_length = 10, .sequence_stride = 3, .sampling_rate = 2,
                       .batch_size = 100});
  ASSERT_TRUE(d.ok()) << d.status();
  ASSERT_TRUE((*d)->Start(0).ok());
  absl::StatusOr<std::optional<Element>> e = (*d)->Next();
  ASSERT_TRUE(e.ok() && e->has_value());
  const Tensor& w = (*e)->x[0];
  ASSERT_EQ(w.shape(), Shape({27, 10}));
  EXPECT_EQ(w.RowsView(0, 1).ToVector<float>(),
            std::vector<float>({0, 2, 4, 6, 8, 10, 12, 14, 16, 18}));
  EXPECT_EQ(w.RowsView(1, 2).ToVector<float>(),
            std::vector<float>({3, 5, 7, 9, 11, 13, 15, 17, 19, 21}));
  EXPECT_EQ(w.RowsView(26, 27).ToVector<float>(),
            std::vector<float>({78, 80, 82, 84, 86, 88, 90, 92, 94, 96}));
  EXPECT_TRUE((*e)->y.empty());
  // Example 2: the past 10 steps predict the next: data[:-10] with targets data[10:].
  Tensor series = Iota(Shape({20}));
  absl::StatusOr<DatasetPtr> r = TimeseriesDatasetFromArray(
      series.SliceRows(0, 10), series.SliceRows(10, 20), {.sequence_length = 10});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE((*r)->Start(0).ok());
  e = (*r)->Next();
  ASSERT_TRUE(e.ok() && e->has_value());
  EXPECT_EQ((*e)->x[0].shape(), Shape({1, 10}));
  EXPECT_EQ((*e)->y[0].ToVector<float>(), std::vector<float>({10}));
  // Features stay on the last axis: (T, 3) data gives (batch, steps, 3) windows (Conv1D input).
  absl::StatusOr<DatasetPtr> f = TimeseriesDatasetFromArray(
      Iota(Shape({30, 3})), Iota(Shape({30})),
      {.sequence_length = 5, .batch_size = 4, .start_index = 2, .end_index = 20});
  ASSERT_TRUE(f.ok());
  EXPECT_EQ((*f)->Cardinality(), 4);  // windows start at 2..15: 14 windows
  ASSERT_TRUE((*f)->Start(0).ok());
  e = (*f)->Next();
  ASSERT_TRUE(e.ok() && e->has_value());
  EXPECT_EQ((*e)->x[0].shape(), Shape({4, 5, 3}));
  EXPECT_EQ((*e)->x[0].data<float>()[0], 6.0f);  // row 2, feature 0
  EXPECT_EQ((*e)->y[0].ToVector<float>(), std::vector<float>({2, 3, 4, 5}));
  // Shuffled: the start positions in NumPy's order for the seed, as Keras shuffles them
  // (np.random.RandomState(1).shuffle(np.arange(7)) is [6, 2, 1, 0, 4, 3, 5]); a buffer of 8
  // batches of 1 does not move window 6 out of the first 8 places.
  absl::StatusOr<DatasetPtr> seven = TimeseriesDatasetFromArray(
      Iota(Shape({10})), Tensor(), {.sequence_length = 4, .batch_size = 7, .shuffle = true, .seed = 1});
  ASSERT_TRUE(seven.ok());
  ASSERT_TRUE((*seven)->Start(0).ok());
  e = (*seven)->Next();
  ASSERT_TRUE(e.ok() && e->has_value());
  std::vector<float> starts;
  for (int64_t i = 0; i < 7; ++i) starts.push_back((*e)->x[0].data<float>()[i * 4]);
  std::sort(starts.begin(), starts.end());
  EXPECT_EQ(starts, std::vector<float>({0, 1, 2, 3, 4, 5, 6}));
  // NumPy's shuffle itself (printed by /usr/bin/python3 with numpy).
  std::vector<int64_t> a7 = {0, 1, 2, 3, 4, 5, 6}, a20(20);
  for (int64_t i = 0; i < 20; ++i) a20[i] = i;
  internal::NumpyShuffle(a7, 1);
  internal::NumpyShuffle(a20, 1);
  EXPECT_EQ(a7, std::vector<int64_t>({6, 2, 1, 0, 4, 3, 5}));
  EXPECT_EQ(a20, std::vector<int64_t>({3, 16, 6, 10, 2, 14, 4, 17, 7, 1, 13, 0, 19, 18, 9, 15,
                                       8, 12, 11, 5}));
  // Every window once per pass, in another order each pass.
  absl::StatusOr<DatasetPtr> sh = TimeseriesDatasetFromArray(
      data, data, {.sequence_length = 4, .batch_size = 1, .shuffle = true, .seed = 5});
  ASSERT_TRUE(sh.ok());
  std::vector<float> order = Firsts(**sh);
  ASSERT_EQ(order.size(), 96u);
  EXPECT_EQ(std::set<float>(order.begin(), order.end()).size(), 96u);
  EXPECT_NE(order, Firsts(**sh, 1));
  // Errors, as Keras raises them.
  EXPECT_TRUE(Contains(TimeseriesDatasetFromArray(data, Tensor(), {.sequence_length = 200})
                           .status().message(),
                       "no window fits"));
  EXPECT_TRUE(Contains(TimeseriesDatasetFromArray(data, Tensor(),
                                                  {.sequence_length = 5, .sampling_rate = 0})
                           .status().message(),
                       "sampling_rate must be higher than 0"));
  EXPECT_TRUE(Contains(TimeseriesDatasetFromArray(data, Tensor(),
                                                  {.sequence_length = 5, .start_index = 99})
                           .status().message(),
                       "start_index must be in [0, 99)"));
}

// The seed article's Conv1D model on (100 steps, 3 features).
Sequential SeedConv1D() {
  SetRandomSeed(11);
  Sequential m({
      layers::Conv1D(8, 5, {.activation = "relu", .input_shape = {100, 3}}),
      layers::MaxPooling1D(2),
      layers::Flatten(),
      layers::Dense(1, {.activation = "sigmoid"}),
  });
  EXPECT_TRUE(m.Compile({.optimizer = "adam", .loss = "binary_crossentropy",
                         .metrics = {"accuracy"}})
                  .ok());
  return m;
}

TEST(DatasetTest, FitOnADatasetEndsWithTheWeightsOfTheArrayPath) {
  // Bitwise needs a fixed thread count: the adaptive governor may pick another count for one of
  // the two runs (and oneDNN's reductions then sum in another order).
  SetAdaptiveThreads(false);
  SetNumThreads(1);
  Tensor x = graft::testing::Random(Shape({70, 100, 3}), 5);
  Tensor y(DType::kF32, Shape({70}));
  for (int64_t i = 0; i < 70; ++i) y.data<float>()[i] = x.data<float>()[i * 300] > 0 ? 1.0f : 0.0f;
  Sequential a = SeedConv1D(), b = SeedConv1D();
  absl::StatusOr<History> ha =
      a.Fit(x, y, {.batch_size = 16, .epochs = 3, .verbose = 0, .shuffle = false});
  ASSERT_TRUE(ha.ok()) << ha.status();
  absl::StatusOr<DatasetPtr> slices = Dataset::FromTensorSlices({x}, {y});
  ASSERT_TRUE(slices.ok());
  DatasetPtr data = (*slices)->Batch(16)->Prefetch(2);
  absl::StatusOr<History> hb = b.Fit(*data, {.epochs = 3, .verbose = 0});
  ASSERT_TRUE(hb.ok()) << hb.status();
  std::vector<Tensor> wa = a.GetWeights(), wb = b.GetWeights();
  ASSERT_EQ(wa.size(), wb.size());
  for (size_t i = 0; i < wa.size(); ++i) EXPECT_TRUE(graft::testing::AllClose(wa[i], wb[i], 0, 0));
  EXPECT_EQ(ha->history["loss"], hb->history["loss"]);
  EXPECT_EQ(*hb->params.Get("steps"), 5);
  // Evaluate and Predict on a dataset agree with the array calls.
  DatasetPtr eval = (*slices)->Batch(32);
  absl::StatusOr<std::vector<double>> ea = b.Evaluate(x, y), eb = b.Evaluate(*eval);
  ASSERT_TRUE(ea.ok() && eb.ok()) << eb.status();
  EXPECT_NEAR((*ea)[0], (*eb)[0], 1e-6);
  EXPECT_NEAR((*ea)[1], (*eb)[1], 1e-9);
  absl::StatusOr<Tensor> pa = b.Predict(x);
  absl::StatusOr<std::vector<Tensor>> pb = b.Predict(*eval);
  ASSERT_TRUE(pa.ok() && pb.ok()) << pb.status();
  EXPECT_TRUE(graft::testing::AllClose(*pa, (*pb)[0], 1e-6, 1e-7));
}

TEST(DatasetTest, FitOnAGeneratorWithStepsPerEpochAndValidation) {
  Sequential m = SeedConv1D();
  int64_t made = 0;
  DatasetPtr endless = Dataset::FromGenerator([&made]() -> absl::StatusOr<std::optional<Element>> {
    Tensor x = graft::testing::Random(Shape({8, 100, 3}), static_cast<uint64_t>(made++));
    Tensor y(DType::kF32, Shape({8}));
    for (int64_t i = 0; i < 8; ++i) y.data<float>()[i] = static_cast<float>(i % 2);
    return std::optional<Element>(Element{{x}, {y}});
  });
  absl::StatusOr<DatasetPtr> val =
      Dataset::FromTensorSlices({graft::testing::Random(Shape({12, 100, 3}), 99)},
                                {Tensor::FromVector<float>(Shape({12}), std::vector<float>(12, 1))});
  ASSERT_TRUE(val.ok());
  absl::StatusOr<History> h = m.Fit(
      *endless, {.epochs = 2, .verbose = 0, .steps_per_epoch = 3, .validation_dataset = (*val)->Batch(5)});
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(made, 6);
  EXPECT_EQ(h->history["val_loss"].size(), 2u);
  // A batch that does not fit the model is named.
  DatasetPtr wrong = Dataset::FromGenerator([]() -> absl::StatusOr<std::optional<Element>> {
    return std::optional<Element>(Element{{Tensor(DType::kF32, Shape({4, 100, 2}))},
                                          {Tensor(DType::kF32, Shape({4}))}});
  });
  h = m.Fit(*wrong, {.epochs = 1, .verbose = 0, .steps_per_epoch = 2});
  ASSERT_FALSE(h.ok());
  EXPECT_TRUE(Contains(h.status().message(), "Fit (dataset batch 0)")) << h.status();
  // A NaN in a batch is caught before its step, naming the batch.
  DatasetPtr nan = Dataset::FromGenerator([]() -> absl::StatusOr<std::optional<Element>> {
    Tensor x(DType::kF32, Shape({2, 100, 3}));
    for (int64_t i = 0; i < x.num_elements(); ++i) x.data<float>()[i] = i == 7 ? NAN : 0.0f;
    return std::optional<Element>(Element{{x}, {Tensor(DType::kF32, Shape({2}))}});
  });
  h = m.Fit(*nan, {.epochs = 1, .verbose = 0, .steps_per_epoch = 1});
  ASSERT_FALSE(h.ok());
  EXPECT_TRUE(Contains(h.status().message(), "dataset batch 0")) << h.status();
  EXPECT_TRUE(Contains(h.status().message(), "not finite")) << h.status();
}

}  // namespace
}  // namespace graft::keras
