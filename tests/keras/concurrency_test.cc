// Many threads on one model: Predict and Evaluate from 8 threads at once return, for every call,
// exactly what a lone call returns; Fit waits for the predictions running and they for it (never
// a torn read); global state (layer names, the op registry) takes concurrent use.
#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "graph/op_registry.h"
#include "keras/keras.h"
#include "runtime/threads.h"

namespace graft::keras {
namespace {

namespace L = layers;

// The seed Conv2D model on small images, compiled.
Sequential SeedConv2D() {
  Sequential model({
      L::Conv2D(8, {3, 3}, {.activation = "relu", .input_shape = {12, 12, 3}}),
      L::MaxPooling2D({2, 2}),
      L::Flatten(),
      L::Dense(4, {.activation = "softmax"}),
  });
  EXPECT_TRUE(model.Compile({.optimizer = "adam",
                             .loss = "sparse_categorical_crossentropy",
                             .metrics = {"accuracy"}})
                  .ok());
  return model;
}

Tensor Images(int64_t n, float offset) {
  Tensor x(DType::kF32, Shape{n, 12, 12, 3});
  float* p = x.data<float>();
  for (int64_t i = 0; i < x.num_elements(); ++i) p[i] = std::sin(0.37f * i + offset);
  return x;
}

Tensor Labels(int64_t n) {
  Tensor y(DType::kF32, Shape{n});
  for (int64_t i = 0; i < n; ++i) y.data<float>()[i] = static_cast<float>(i % 4);
  return y;
}

bool BitwiseEqual(const Tensor& a, const Tensor& b) {
  return a.type() == b.type() &&
         std::equal(a.data<float>(), a.data<float>() + a.num_elements(), b.data<float>());
}

class Concurrency : public ::testing::Test {
 protected:
  void SetUp() override {
    SetAdaptiveThreads(false);  // the same thread count for every call: bitwise comparisons
    SetRandomSeed(7);
  }
  void TearDown() override { SetAdaptiveThreads(true); }
};

TEST_F(Concurrency, PredictFromEightThreadsEqualsLoneCalls) {
  Sequential model = SeedConv2D();
  // Requests of batch 1..32 (several batch sizes at once, so plans of different sizes overlap
  // on the shared arena too).
  constexpr int kThreads = 8, kCalls = 12;
  std::vector<Tensor> requests;
  std::vector<Tensor> expected;
  for (int i = 0; i < kThreads * kCalls; ++i) {
    requests.push_back(Images(1 + (i * 7) % 32, static_cast<float>(i)));
    absl::StatusOr<Tensor> lone = model.Predict(requests.back());
    ASSERT_TRUE(lone.ok()) << lone.status();
    expected.push_back(*lone);
  }
  std::atomic<int> mismatches{0}, failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int c = 0; c < kCalls; ++c) {
        const int i = t * kCalls + (c * 5 + t) % kCalls;
        absl::StatusOr<Tensor> got = model.Predict(requests[i]);
        if (!got.ok()) {
          failures++;
        } else if (!BitwiseEqual(*got, expected[i])) {
          mismatches++;
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(mismatches.load(), 0);
}

TEST_F(Concurrency, PredictBeforeCompileFromManyThreads) {
  // The forward plan is built on first use: by exactly one of the racing threads.
  Sequential model({L::Dense(3, {.input_shape = {5}})});
  Tensor x(DType::kF32, Shape{4, 5});
  for (int64_t i = 0; i < 20; ++i) x.data<float>()[i] = 0.1f * i;
  std::atomic<int> failures{0};
  std::vector<absl::StatusOr<Tensor>> got(8, absl::UnknownError("not run"));
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) threads.emplace_back([&, t] { got[t] = model.Predict(x); });
  for (std::thread& th : threads) th.join();
  for (const auto& g : got) {
    ASSERT_TRUE(g.ok()) << g.status();
    EXPECT_TRUE(BitwiseEqual(*g, *got[0]));
  }
}

TEST_F(Concurrency, EvaluateFromFourThreadsEqualsLoneCall) {
  Sequential model = SeedConv2D();
  const Tensor x = Images(40, 0.5f), y = Labels(40);
  absl::StatusOr<std::vector<double>> lone = model.Evaluate(x, y, {.batch_size = 16});
  ASSERT_TRUE(lone.ok()) << lone.status();
  std::vector<absl::StatusOr<std::vector<double>>> got(4, absl::UnknownError("not run"));
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] { got[t] = model.Evaluate(x, y, {.batch_size = 16}); });
  }
  for (std::thread& th : threads) th.join();
  for (const auto& g : got) {
    ASSERT_TRUE(g.ok()) << g.status();
    EXPECT_EQ(*g, *lone);
  }
}

TEST_F(Concurrency, PredictDuringFitSeesWeightsBeforeOrAfterNeverBetween) {
  Sequential model = SeedConv2D();
  const Tensor x = Images(64, 1.0f), y = Labels(64);
  const Tensor probe = Images(5, 2.0f);
  absl::StatusOr<Tensor> before = model.Predict(probe);
  ASSERT_TRUE(before.ok());
  std::atomic<bool> fitting{true};
  std::vector<Tensor> seen;
  std::thread predictor([&] {
    while (fitting.load()) {
      absl::StatusOr<Tensor> p = model.Predict(probe);
      if (p.ok()) seen.push_back(*p);
    }
  });
  absl::StatusOr<History> h = model.Fit(x, y, {.batch_size = 8, .epochs = 3, .verbose = 0});
  fitting = false;
  predictor.join();
  ASSERT_TRUE(h.ok()) << h.status();
  absl::StatusOr<Tensor> after = model.Predict(probe);
  ASSERT_TRUE(after.ok());
  ASSERT_FALSE(BitwiseEqual(*before, *after)) << "Fit changed nothing";
  for (const Tensor& p : seen) {
    EXPECT_TRUE(BitwiseEqual(p, *before) || BitwiseEqual(p, *after))
        << "a prediction saw weights in the middle of Fit";
  }
}

TEST_F(Concurrency, GlobalStateTakesConcurrentUse) {
  // Layer names from 8 threads stay unique; the op registry answers while others look up.
  std::vector<std::vector<std::string>> names(8);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        names[t].push_back(L::Dense(2)->name());
        EXPECT_NE(OpRegistry::Global().Find("graft.Dense"), nullptr);
        NumThreads();
      }
    });
  }
  for (std::thread& th : threads) th.join();
  std::set<std::string> unique;
  for (const auto& v : names) unique.insert(v.begin(), v.end());
  EXPECT_EQ(unique.size(), 400u);
}

}  // namespace
}  // namespace graft::keras
