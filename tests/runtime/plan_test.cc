// Plans: memory planning, buffer reuse, fusion, executors.
#include <random>

#include "autodiff/gradients.h"
#include "gtest/gtest.h"
#include "ops/activation.h"
#include "ops/conv.h"
#include "ops/dense.h"
#include "ops/pool.h"
#include "ops/reshape.h"
#include "runtime/memory_planner.h"
#include "runtime/plan.h"
#include "tests/testing.h"

namespace graft {
namespace {

using ::graft::testing::AllClose;
using ::graft::testing::Random;

TEST(MemoryPlanner, BuffersAliveTogetherNeverOverlapAndDeadOnesAreReused) {
  std::mt19937 rng(3);
  std::vector<BufferRequest> req;
  for (int i = 0; i < 200; ++i) {
    const int first = static_cast<int>(rng() % 100);
    req.push_back({static_cast<int64_t>(1 + rng() % 5000), first,
                   first + static_cast<int>(rng() % 10)});
  }
  const MemoryPlan plan = PlanMemory(req);
  for (size_t i = 0; i < req.size(); ++i) {
    EXPECT_EQ(plan.offsets[i] % 64, 0);
    for (size_t j = i + 1; j < req.size(); ++j) {
      const bool together = req[i].first <= req[j].last && req[j].first <= req[i].last;
      const bool overlap = plan.offsets[i] < plan.offsets[j] + req[j].bytes &&
                           plan.offsets[j] < plan.offsets[i] + req[i].bytes;
      EXPECT_FALSE(together && overlap) << i << " " << j;
    }
  }
  EXPECT_LT(plan.arena_bytes, plan.total_bytes / 3);
  // A chain: each buffer dies as the next is born; two slots suffice.
  const MemoryPlan chain = PlanMemory({{1000, 0, 1}, {1000, 1, 2}, {1000, 2, 3}, {1000, 3, 4}});
  EXPECT_EQ(chain.arena_bytes, 2 * 1024);
}

// x -> Conv2D -> Relu: the fast plan runs one oneDNN step with relu as a post-op, and computes
// what the reference plan computes.
TEST(Fusion, ConvReluRunsAsOnePrimitive) {
  Graph g;
  Value x = g.Placeholder({DType::kF32, {2, 6, 5, 3}}, "x");
  Value w = g.Variable(Random({3, 3, 3, 4}, 1), "w");
  Value b = g.Variable(Random({4}, 2), "b");
  Value y = *ops::Conv2D(g, x, w, b, {.padding = ops::Padding::kSame});
  Value r = *ops::Activation(g, y, "relu");
  Tensor xv = Random({2, 6, 5, 3}, 3);
  std::vector<Tensor> fast, ref;
  auto p = Plan::Compile(g, {.feeds = {x}, .fetches = {r}}, {xv.type()});
  auto q = Plan::Compile(g, {.feeds = {x}, .fetches = {r}}, {xv.type()},
                         {.kernels = KernelKind::kReference});
  ASSERT_TRUE(p.ok() && q.ok());
  ASSERT_EQ((*p)->steps().size(), 1u) << (*p)->Report();
  EXPECT_EQ((*p)->steps()[0].fused, "graft.Relu");
  EXPECT_EQ((*q)->steps().size(), 2u);
  ASSERT_TRUE((*p)->Run({xv}, &fast).ok());
  ASSERT_TRUE((*q)->Run({xv}, &ref).ok());
  EXPECT_TRUE(AllClose(fast[0], ref[0]));
}

// The pre-activation is fetched: no fusion (the value must exist).
TEST(Fusion, NotWhenThePreActivationIsUsed) {
  Graph g;
  Value x = g.Placeholder({DType::kF32, {2, 4}}, "x");
  Value w = g.Variable(Random({4, 3}, 1), "w");
  Value y = *ops::Dense(g, x, w, std::nullopt);
  Value r = *ops::Activation(g, y, "relu");
  auto p = Plan::Compile(g, {.feeds = {x}, .fetches = {r, y}}, {{DType::kF32, {2, 4}}});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ((*p)->steps().size(), 2u);
}

// Training through a fused conv + relu: the gradient (ReluGrad reads relu's output) matches the
// reference plan's.
TEST(Fusion, GradientsThroughAFusedConvMatchReference) {
  Graph g;
  Value x = g.Placeholder({DType::kF32, {3, 7, 2}}, "x");
  Value w = g.Variable(Random({3, 2, 5}, 4), "w");
  Value b = g.Variable(Random({5}, 5), "b");
  Value r = *ops::Activation(g, *ops::Conv1D(g, x, w, b, {}), "relu");
  Value flat = *ops::Flatten(g, r);
  Value loss = *g.Add("graft.ReduceSum", {*g.Add("graft.Mul", {flat, flat})});
  auto grads = autodiff::Gradients(g, loss, {w, b});
  ASSERT_TRUE(grads.ok());
  Tensor xv = Random({3, 7, 2}, 6);
  std::vector<Tensor> fast, ref;
  PlanSpec spec{.feeds = {x}, .fetches = {loss, (*grads)[0], (*grads)[1]}};
  auto p = Plan::Compile(g, spec, {xv.type()});
  auto q = Plan::Compile(g, spec, {xv.type()}, {.kernels = KernelKind::kReference});
  ASSERT_TRUE(p.ok() && q.ok());
  EXPECT_NE((*p)->Report().find("+graft.Relu"), std::string::npos) << (*p)->Report();
  ASSERT_TRUE((*p)->Run({xv}, &fast).ok());
  ASSERT_TRUE((*q)->Run({xv}, &ref).ok());
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(AllClose(fast[i], ref[i])) << i;
}

// conv + relu -> max pool: in the gradient, ReluGrad(pool backward, relu output) folds into the
// pool backward (it reads the same relu output), and gradients still match the reference.
class ReluIntoPool : public ::testing::TestWithParam<int64_t> {};

TEST_P(ReluIntoPool, GradientFoldsIntoMaxPoolBackward) {
  const int64_t size = GetParam();  // 7: valid pooling leaves a row and a column uncovered
  Graph g;
  Value x = g.Placeholder({DType::kF32, {3, size, size, 2}}, "x");
  Value w = g.Variable(Random({3, 3, 2, 4}, 4), "w");
  Value b = g.Variable(Random({4}, 5), "b");
  Value r = *ops::Activation(g, *ops::Conv2D(g, x, w, b, {.padding = ops::Padding::kSame}),
                             "relu");
  Value p = *ops::MaxPool2D(g, r, {.pool_h = 2, .pool_w = 2, .stride_h = 2, .stride_w = 2});
  Value flat = *ops::Flatten(g, p);
  Value loss = *g.Add("graft.ReduceSum", {*g.Add("graft.Mul", {flat, flat})});
  auto grads = autodiff::Gradients(g, loss, {w, b, x});
  ASSERT_TRUE(grads.ok()) << grads.status();
  Tensor xv = Random({3, size, size, 2}, 6);
  PlanSpec spec{.feeds = {x}, .fetches = {loss, (*grads)[0], (*grads)[1], (*grads)[2]}};
  auto fast = Plan::Compile(g, spec, {xv.type()});
  auto ref = Plan::Compile(g, spec, {xv.type()}, {.kernels = KernelKind::kReference});
  ASSERT_TRUE(fast.ok() && ref.ok());
  const std::string report = (*fast)->Report();
  EXPECT_NE(report.find("MaxPool2DBackward +graft.ReluGrad"), std::string::npos) << report;
  EXPECT_EQ(report.find(" graft.ReluGrad "), std::string::npos) << "no ReluGrad step left";
  std::vector<Tensor> a, c;
  ASSERT_TRUE((*fast)->Run({xv}, &a).ok());
  ASSERT_TRUE((*ref)->Run({xv}, &c).ok());
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(AllClose(a[i], c[i])) << i;
}

INSTANTIATE_TEST_SUITE_P(Sizes, ReluIntoPool, ::testing::Values(6, 7));

// Reshape is a view; an activation whose input dies is computed over it.
TEST(Arena, ReshapeAliasesAndDeadInputsAreOverwrittenInPlace) {
  Graph g;
  Value x = g.Placeholder({DType::kF32, {4, 3, 2}}, "x");
  Value s = *ops::Activation(g, x, "sigmoid");  // arena value
  Value f = *ops::Flatten(g, s);                 // alias of s
  Value t = *ops::Activation(g, f, "tanh");      // may overwrite f (dead afterwards)
  Tensor xv = Random({4, 3, 2}, 7);
  auto p = Plan::Compile(g, {.feeds = {x}, .fetches = {t}}, {xv.type()});
  ASSERT_TRUE(p.ok());
  const auto& steps = (*p)->steps();
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[1].ctx.outputs[0]->raw_data(), steps[0].ctx.outputs[0]->raw_data());  // view
  EXPECT_EQ(steps[2].ctx.outputs[0]->raw_data(), steps[1].ctx.outputs[0]->raw_data());  // in place
  EXPECT_LT((*p)->arena_bytes(), (*p)->allocated_bytes());
  std::vector<Tensor> out, ref;
  ASSERT_TRUE((*p)->Run({xv}, &out).ok());
  auto q = Plan::Compile(g, {.feeds = {x}, .fetches = {t}}, {xv.type()},
                         {.kernels = KernelKind::kReference});
  ASSERT_TRUE(q.ok() && (*q)->Run({xv}, &ref).ok());
  EXPECT_TRUE(AllClose(out[0], ref[0], 1e-5, 1e-6));
}

// Buffer reuse planned on the sequential order is safe under the TBB executor: a graph with
// parallel branches gives identical results, run after run.
TEST(Executor, TbbMatchesSequentialWithSharedBuffers) {
  Graph g;
  Value x = g.Placeholder({DType::kF32, {64, 32}}, "x");
  std::vector<Value> branches;
  for (int i = 0; i < 6; ++i) {
    Value w = g.Variable(Random({32, 32}, 10 + i), "w");
    Value h = *ops::Activation(g, *ops::Dense(g, x, w, std::nullopt), i % 2 ? "tanh" : "relu");
    branches.push_back(*g.Add("graft.Mul", {h, h}));
  }
  Value sum = branches[0];
  for (int i = 1; i < 6; ++i) sum = *g.Add("graft.Add", {sum, branches[i]});
  Value loss = *g.Add("graft.ReduceSum", {sum});
  Tensor xv = Random({64, 32}, 9);
  auto seq = Plan::Compile(g, {.feeds = {x}, .fetches = {loss, sum}}, {xv.type()});
  auto tbb = Plan::Compile(g, {.feeds = {x}, .fetches = {loss, sum}}, {xv.type()},
                           {.executor = ExecutorKind::kTbb});
  ASSERT_TRUE(seq.ok() && tbb.ok());
  std::vector<Tensor> a, b;
  ASSERT_TRUE((*seq)->Run({xv}, &a).ok());
  for (int run = 0; run < 20; ++run) {
    ASSERT_TRUE((*tbb)->Run({xv}, &b).ok());
    EXPECT_TRUE(AllClose(a[1], b[1], 0, 0)) << run;
  }
}

// Plans of one model share one arena: a later, larger plan moves it, and the earlier plan
// re-points its views (and its oneDNN arguments) and still computes the same values.
TEST(Arena, PlansShareOneArenaThatGrowsToTheLargest) {
  Graph g;
  Value x = g.Placeholder({DType::kF32, {Shape::kUnknownDim, 3, 7, 2}}, "x");
  Value w = g.Variable(Random({3, 3, 2, 8}, 1), "w");
  Value b = g.Variable(Random({8}, 2), "b");
  Value y = *ops::Activation(
      g, *ops::Conv2D(g, x, w, b, {.padding = ops::Padding::kSame}), "relu");
  Value loss = *g.Add("graft.ReduceSum", {*g.Add("graft.Mul", {y, y})});
  auto shared = std::make_shared<SharedArena>();
  const Tensor small = Random({2, 3, 7, 2}, 3), large = Random({16, 3, 7, 2}, 4);
  auto p = Plan::Compile(g, {.feeds = {x}, .fetches = {loss}}, {small.type()},
                         {.arena = shared});
  ASSERT_TRUE(p.ok()) << p.status();
  std::vector<Tensor> before, after, own, big;
  ASSERT_TRUE((*p)->Run({small}, &before).ok());
  EXPECT_EQ(shared->bytes(), (*p)->arena_bytes());
  auto q = Plan::Compile(g, {.feeds = {x}, .fetches = {loss}}, {large.type()},
                         {.arena = shared});
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_GT((*q)->arena_bytes(), (*p)->arena_bytes());
  EXPECT_EQ(shared->bytes(), (*q)->arena_bytes());
  ASSERT_TRUE((*p)->Run({small}, &after).ok());
  ASSERT_TRUE((*q)->Run({large}, &big).ok());
  auto alone = Plan::Compile(g, {.feeds = {x}, .fetches = {loss}}, {large.type()});
  ASSERT_TRUE(alone.ok());
  ASSERT_TRUE((*alone)->Run({large}, &own).ok());
  EXPECT_TRUE(AllClose(before[0], after[0], 0, 0));
  EXPECT_TRUE(AllClose(big[0], own[0], 0, 0));
}

}  // namespace
}  // namespace graft
