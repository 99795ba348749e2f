#include "ops/batchnorm.h"

#include <memory>
#include <string>
#include <vector>

#include "autodiff/grad_check.h"
#include "autodiff/gradients.h"
#include "gtest/gtest.h"
#include "runtime/plan.h"
#include "tests/testing.h"

namespace graft {
namespace {

using ::graft::testing::F32;

using ::graft::testing::AllClose;
using ::graft::testing::Golden;
using ::graft::testing::InferOp;
using ::graft::testing::Random;
using ::graft::testing::RunOp;

const ops::BatchNormAttrs kAttrs{};  // epsilon 1e-3

// Positive values for variances.
Tensor Variances(int64_t c, uint64_t seed) { return Random({c}, seed, 0.3, 2.0); }

// ---- shapes ---------------------------------------------------------------------------------

TEST(BatchNormShape, TrainingAndInferenceTypes) {
  auto t = InferOp("graft.BatchNormTraining", kAttrs, {F32({-1, 5, 3}), F32({3}), F32({3})});
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(*t, (std::vector<TensorType>{F32({-1, 5, 3}), F32({3}), F32({3})}));
  auto inf = InferOp("graft.BatchNormInference", kAttrs,
                     {F32({-1, 2, 2, 4}), F32({4}), F32({4}), F32({4}), F32({4})});
  ASSERT_TRUE(inf.ok()) << inf.status();
  EXPECT_EQ(*inf, (std::vector<TensorType>{F32({-1, 2, 2, 4})}));
  auto bwd = InferOp("graft.BatchNormTrainingBackward", kAttrs,
                     {F32({-1, 3}), F32({-1, 3}), F32({3}), F32({3}), F32({3})});
  ASSERT_TRUE(bwd.ok()) << bwd.status();
  EXPECT_EQ(*bwd, (std::vector<TensorType>{F32({-1, 3}), F32({3}), F32({3})}));
}

TEST(BatchNormShape, Errors) {
  struct Case {
    std::vector<TensorType> inputs;
    ops::BatchNormAttrs attrs;
    const char* message;
  };
  const std::vector<Case> cases = {
      {{F32({3}), F32({3}), F32({3})}, kAttrs, "expected x of rank >= 2 (batch, ..., channels)"},
      {{F32({-1, 5, 3}), F32({4}), F32({3})},
       kAttrs,
       "gamma must be float32(3,) (one value per channel of x float32(None, 5, 3)), got "
       "float32(4,)"},
      {{F32({-1, 3}), F32({3}), F32({1, 3})}, kAttrs, "beta must be float32(3,)"},
      {{F32({-1, 3}), F32({3}), {DType::kF64, {3}}}, kAttrs, "beta must be float32(3,)"},
      {{F32({2, -1}), F32({3}), F32({3})}, kAttrs, "channel dimension (x's last) must be known"},
      {{F32({2, 3}), F32({3}), F32({3})}, {.epsilon = -1}, "epsilon must be a finite number >= 0"},
  };
  for (const Case& c : cases) {
    auto t = InferOp("graft.BatchNormTraining", c.attrs, c.inputs);
    ASSERT_FALSE(t.ok()) << c.message;
    EXPECT_NE(t.status().message().find(c.message), std::string::npos) << t.status();
  }
  auto inf = InferOp("graft.BatchNormInference", kAttrs,
                     {F32({-1, 3}), F32({3}), F32({3}), F32({3}), F32({2})});
  ASSERT_FALSE(inf.ok());
  EXPECT_NE(inf.status().message().find("moving_variance must be float32(3,)"), std::string::npos)
      << inf.status();
  auto bwd = InferOp("graft.BatchNormTrainingBackward", kAttrs,
                     {F32({4, 2}), F32({4, 3}), F32({3}), F32({3}), F32({3})});
  ASSERT_FALSE(bwd.ok());
  EXPECT_NE(bwd.status().message().find("dy must have x's type"), std::string::npos)
      << bwd.status();
}

// ---- fast vs reference ----------------------------------------------------------------------

void ExpectFastMatchesReference(const std::string& op, const std::vector<Tensor>& inputs,
                                std::any attrs = kAttrs) {
  auto fast = RunOp(op, attrs, inputs, KernelKind::kFast);
  auto ref = RunOp(op, attrs, inputs, KernelKind::kReference);
  ASSERT_TRUE(fast.ok()) << op << ": " << fast.status();
  ASSERT_TRUE(ref.ok()) << op << ": " << ref.status();
  ASSERT_EQ(fast->size(), ref->size());
  for (size_t i = 0; i < fast->size(); ++i) {
    EXPECT_TRUE(AllClose((*fast)[i], (*ref)[i], 1e-5, 1e-5)) << op << " output " << i;
  }
}

TEST(BatchNorm, FastMatchesReference) {
  // Ranks 3-5 run oneDNN on nwc / nhwc / ndhwc descriptors, other ranks on an (R, C) matrix;
  // (4, 7, 7, 16) takes oneDNN's JIT kernel.
  for (const Shape& shape : {Shape{16, 5}, Shape{4, 6, 3}, Shape{2, 3, 4, 6}, Shape{4, 7, 7, 16},
                             Shape{2, 3, 2, 2, 5}, Shape{2, 1, 2, 1, 2, 3}}) {
    const int64_t c = shape.dim(-1);
    const Tensor x = Random(shape, 1, -2, 4), dy = Random(shape, 2);
    const Tensor gamma = Random({c}, 3, 0.5, 1.5), beta = Random({c}, 4);
    const Tensor mean = Random({c}, 5), var = Variances(c, 6);
    ExpectFastMatchesReference("graft.BatchNormTraining", {x, gamma, beta});
    ExpectFastMatchesReference("graft.BatchNormInference", {x, gamma, beta, mean, var});
    auto stats = RunOp("graft.BatchNormTraining", kAttrs, {x, gamma, beta});
    ASSERT_TRUE(stats.ok());
    ExpectFastMatchesReference("graft.BatchNormTrainingBackward",
                               {dy, x, gamma, (*stats)[1], (*stats)[2]});
    ExpectFastMatchesReference("graft.BatchNormInferenceBackward", {dy, x, gamma, mean, var});
    ExpectFastMatchesReference("graft.BatchNormStatsGrad",
                               {x, mean, Random({c}, 7), Random({c}, 8)});
  }
}

// ---- gradients ------------------------------------------------------------------------------

// Through y and through the mean and variance outputs: the checker's loss reads all three, so
// this also checks graft.BatchNormStatsGrad.
TEST(BatchNorm, TrainingGradientMatchesCentralDifferences) {
  const Tensor x = Random({4, 3, 2}, 11, -1, 2);
  const Tensor gamma = Random({2}, 12, 0.5, 1.5), beta = Random({2}, 13);
  auto report = autodiff::CheckGradients("graft.BatchNormTraining", kAttrs, {x, gamma, beta},
                                         {.rtol = 1e-5, .atol = 1e-7});
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->ok) << report->ToString();
  EXPECT_EQ(report->entries_checked, 24 + 2 + 2);
}

TEST(BatchNorm, InferenceGradientMatchesCentralDifferences) {
  const Tensor x = Random({5, 3}, 21, -1, 2);
  const Tensor gamma = Random({3}, 22, 0.5, 1.5), beta = Random({3}, 23);
  const Tensor mean = Random({3}, 24), var = Variances(3, 25);
  auto report = autodiff::CheckGradients("graft.BatchNormInference", kAttrs,
                                         {x, gamma, beta, mean, var}, {.wrt = {0, 1, 2}});
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->ok) << report->ToString();
  EXPECT_EQ(report->entries_checked, 15 + 3 + 3);
}

// ---- PyTorch golden -------------------------------------------------------------------------

struct Run {
  std::vector<Tensor> out;  // y, [mean, variance,] dx, dgamma, dbeta
};

// Builds the training or inference graph for a golden case, differentiates sum(y * dy) with
// respect to x, gamma and beta, and runs it with the given kernels.
absl::StatusOr<Run> RunGoldenCase(const std::string& prefix, bool training, KernelKind kind) {
  Graph g;
  std::vector<Tensor> feeds;
  std::vector<Value> ph;
  std::vector<TensorType> types;
  for (const char* name : {"x", "gamma", "beta", "dy", "moving_mean", "moving_variance"}) {
    feeds.push_back(Golden(absl::StrCat(prefix, "_", name)));
    types.push_back(feeds.back().type());
    ph.push_back(g.Placeholder(types.back(), name));
  }
  std::vector<Value> fetches;
  if (training) {
    auto bn = ops::BatchNormTraining(g, ph[0], ph[1], ph[2], kAttrs, "bn");
    if (!bn.ok()) return bn.status();
    fetches = {bn->y, bn->mean, bn->variance};
  } else {
    auto y = ops::BatchNormInference(g, ph[0], ph[1], ph[2], ph[4], ph[5], kAttrs, "bn");
    if (!y.ok()) return y.status();
    fetches = {*y};
  }
  absl::StatusOr<Value> prod = g.Add("graft.Mul", {fetches[0], ph[3]});
  if (!prod.ok()) return prod.status();
  absl::StatusOr<Value> loss = g.Add("graft.ReduceSum", {*prod});
  if (!loss.ok()) return loss.status();
  auto grads = autodiff::Gradients(g, *loss, {ph[0], ph[1], ph[2]});
  if (!grads.ok()) return grads.status();
  fetches.insert(fetches.end(), grads->begin(), grads->end());
  auto plan = Plan::Compile(g, {.feeds = ph, .fetches = fetches}, types, {.kernels = kind});
  if (!plan.ok()) return plan.status();
  Run r;
  if (absl::Status s = (*plan)->Run(feeds, &r.out); !s.ok()) return s;
  return r;
}

TEST(BatchNormGolden, MatchesPyTorch) {
  for (const char* prefix : {"batchnorm_r3", "batchnorm_r2"}) {
    for (KernelKind kind : {KernelKind::kFast, KernelKind::kReference}) {
      const std::string what =
          absl::StrCat(prefix, kind == KernelKind::kFast ? " fast" : " reference");
      auto train = RunGoldenCase(prefix, true, kind);
      ASSERT_TRUE(train.ok()) << train.status();
      int i = 0;
      for (const char* name : {"y", "mean", "variance", "dx", "dgamma", "dbeta"}) {
        EXPECT_TRUE(AllClose(train->out[i++], Golden(absl::StrCat(prefix, "_train_", name))))
            << what << " training " << name;
      }
      auto infer = RunGoldenCase(prefix, false, kind);
      ASSERT_TRUE(infer.ok()) << infer.status();
      i = 0;
      for (const char* name : {"y", "dx", "dgamma", "dbeta"}) {
        EXPECT_TRUE(AllClose(infer->out[i++], Golden(absl::StrCat(prefix, "_infer_", name))))
            << what << " inference " << name;
      }
    }
  }
}

// The oneDNN kernels build their arguments once per plan and re-point them only when a feed's
// storage moves: one plan run on alternating feeds gives, bitwise, what a fresh plan gives.
TEST(BatchNormPlan, RerunOnNewFeedsMatchesFreshPlan) {
  auto compile = [](Graph& g, bool training) -> absl::StatusOr<std::unique_ptr<Plan>> {
    Value xv = g.Placeholder(F32({-1, 5, 3}), "x");
    Value dyv = g.Placeholder(F32({-1, 5, 3}), "dy");
    Value gamma = g.Variable(Random({3}, 41), "gamma");
    Value beta = g.Variable(Random({3}, 42), "beta");
    Value mm = g.Variable(Random({3}, 43), "moving_mean", false);
    Value mv = g.Variable(Variances(3, 44), "moving_variance", false);
    std::vector<Value> fetches;
    if (training) {
      auto bn = ops::BatchNormTraining(g, xv, gamma, beta, kAttrs, "bn");
      if (!bn.ok()) return bn.status();
      fetches = {bn->y, bn->mean, bn->variance};
    } else {
      auto y = ops::BatchNormInference(g, xv, gamma, beta, mm, mv, kAttrs, "bn");
      if (!y.ok()) return y.status();
      fetches = {*y};
    }
    absl::StatusOr<Value> prod = g.Add("graft.Mul", {fetches[0], dyv});
    if (!prod.ok()) return prod.status();
    absl::StatusOr<Value> loss = g.Add("graft.ReduceSum", {*prod});
    if (!loss.ok()) return loss.status();
    auto grads = autodiff::Gradients(g, *loss, {xv, gamma, beta});
    if (!grads.ok()) return grads.status();
    fetches.insert(fetches.end(), grads->begin(), grads->end());
    return Plan::Compile(g, {.feeds = {xv, dyv}, .fetches = fetches},
                         {F32({4, 5, 3}), F32({4, 5, 3})});
  };
  const std::vector<Tensor> xs = {Random({4, 5, 3}, 51), Random({4, 5, 3}, 52)};
  const std::vector<Tensor> dys = {Random({4, 5, 3}, 53), Random({4, 5, 3}, 54)};
  for (bool training : {true, false}) {
    Graph g;
    auto plan = compile(g, training);
    ASSERT_TRUE(plan.ok()) << plan.status();
    for (int run = 0; run < 4; ++run) {
      const int i = run % 2;
      std::vector<Tensor> out, want;
      ASSERT_TRUE((*plan)->Run({xs[i].Clone(), dys[i].Clone()}, &out).ok());
      Graph fresh_graph;
      auto fresh = compile(fresh_graph, training);
      ASSERT_TRUE(fresh.ok()) << fresh.status();
      ASSERT_TRUE((*fresh)->Run({xs[i], dys[i]}, &want).ok());
      ASSERT_EQ(out.size(), want.size());
      for (size_t k = 0; k < out.size(); ++k) {
        EXPECT_TRUE(AllClose(out[k], want[k], 0, 0))
            << (training ? "training" : "inference") << " run " << run << " fetch " << k;
      }
    }
  }
}

// ---- moving averages ------------------------------------------------------------------------

// A training step as the Keras layer builds it: batch statistics feed the moving averages,
// which the plan updates in place as targets (Keras: moving = moving * 0.99 + batch * 0.01).
TEST(MovingAverageUpdate, KerasMomentumConvention) {
  const Tensor x = Golden("batchnorm_r3_x");
  const Tensor mean = Golden("batchnorm_r3_train_mean");
  const Tensor var = Golden("batchnorm_r3_train_variance");
  for (KernelKind kind : {KernelKind::kFast, KernelKind::kReference}) {
    Graph g;
    Value xv = g.Placeholder({DType::kF32, {-1, 5, 3}}, "x");
    Value gamma = g.Variable(Tensor::FromVector<float>({3}, {1, 1, 1}), "gamma");
    Value beta = g.Variable(Tensor::FromVector<float>({3}, {0, 0, 0}), "beta");
    Value mm = g.Variable(Tensor::FromVector<float>({3}, {0, 0, 0}), "moving_mean", false);
    Value mv = g.Variable(Tensor::FromVector<float>({3}, {1, 1, 1}), "moving_variance", false);
    auto bn = ops::BatchNormTraining(g, xv, gamma, beta, kAttrs);
    ASSERT_TRUE(bn.ok()) << bn.status();
    auto um = ops::MovingAverageUpdate(g, mm, bn->mean, 0.99);
    auto uv = ops::MovingAverageUpdate(g, mv, bn->variance, 0.99);
    ASSERT_TRUE(um.ok() && uv.ok()) << um.status() << uv.status();
    auto plan = Plan::Compile(g, {.feeds = {xv}, .fetches = {bn->y}, .targets = {*um, *uv}},
                              {x.type()}, {.kernels = kind});
    ASSERT_TRUE(plan.ok()) << plan.status();
    double want_m[3] = {0, 0, 0}, want_v[3] = {1, 1, 1};
    std::vector<Tensor> out;
    for (int step = 0; step < 3; ++step) {
      ASSERT_TRUE((*plan)->Run({x}, &out).ok());
      for (int c = 0; c < 3; ++c) {
        want_m[c] = want_m[c] * 0.99 + mean.AsDouble(c) * 0.01;
        want_v[c] = want_v[c] * 0.99 + var.AsDouble(c) * 0.01;
        EXPECT_NEAR(g.VariableValue(mm).AsDouble(c), want_m[c], 1e-5) << step << " " << c;
        EXPECT_NEAR(g.VariableValue(mv).AsDouble(c), want_v[c], 1e-5) << step << " " << c;
      }
    }
  }
}

TEST(MovingAverageUpdate, FastMatchesReferenceBitwise) {
  for (KernelKind kind : {KernelKind::kFast, KernelKind::kReference}) {
    Graph g;
    const Tensor start = Random({40000}, 1);
    Value moving = g.Variable(start.Clone(), "moving", false);
    Value value = g.Placeholder({DType::kF32, {40000}}, "value");
    auto u = ops::MovingAverageUpdate(g, moving, value, 0.9);
    ASSERT_TRUE(u.ok()) << u.status();
    auto plan =
        Plan::Compile(g, {.feeds = {value}, .targets = {*u}}, {start.type()}, {.kernels = kind});
    ASSERT_TRUE(plan.ok()) << plan.status();
    const Tensor v = Random({40000}, 2);
    std::vector<Tensor> out;
    ASSERT_TRUE((*plan)->Run({v}, &out).ok());
    const Tensor after = g.VariableValue(moving);
    for (int64_t i = 0; i < start.num_elements(); ++i) {
      const float want = start.data<float>()[i] * 0.9f + v.data<float>()[i] * 0.1f;
      ASSERT_EQ(after.data<float>()[i], want) << i;
    }
  }
}

TEST(MovingAverageUpdate, Errors) {
  Graph g;
  Value moving = g.Variable(Tensor::FromVector<float>({3}, {0, 0, 0}), "moving", false);
  Value value = g.Placeholder(F32({3}), "value");
  auto not_variable = ops::MovingAverageUpdate(g, value, value, 0.99);
  ASSERT_FALSE(not_variable.ok());
  EXPECT_NE(not_variable.status().message().find("moving must be a variable"), std::string::npos);
  auto momentum = ops::MovingAverageUpdate(g, moving, value, 1.5);
  ASSERT_FALSE(momentum.ok());
  EXPECT_NE(momentum.status().message().find("momentum must lie in [0, 1]"), std::string::npos)
      << momentum.status();
  Value wrong = g.Placeholder(F32({4}), "wrong");
  auto shape = ops::MovingAverageUpdate(g, moving, wrong, 0.99);
  ASSERT_FALSE(shape.ok());
  EXPECT_NE(shape.status().message().find("value must have the moving average's type"),
            std::string::npos)
      << shape.status();
}

// An empty batch has no statistics: training fails clearly, inference has nothing to do.
TEST(BatchNorm, EmptyBatch) {
  const Tensor gamma = Random({3}, 1), beta = Random({3}, 2), var = Variances(3, 3);
  for (const Shape& shape : {Shape{0, 3}, Shape{0, 2, 2, 3}}) {
    const Tensor x(DType::kF32, shape);
    for (KernelKind kind : {KernelKind::kFast, KernelKind::kReference}) {
      auto train = RunOp("graft.BatchNormTraining", kAttrs, {x, gamma, beta}, kind);
      ASSERT_FALSE(train.ok());
      EXPECT_NE(train.status().message().find("at least one row"), std::string::npos)
          << train.status();
      auto infer = RunOp("graft.BatchNormInference", kAttrs, {x, gamma, beta, beta, var}, kind);
      ASSERT_TRUE(infer.ok()) << infer.status();
      EXPECT_EQ((*infer)[0].num_elements(), 0);
    }
  }
}

}  // namespace
}  // namespace graft
