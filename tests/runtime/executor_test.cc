// The TBB executor on graphs of non-oneDNN kernels (reference kernels), so ThreadSanitizer sees
// every access (oneDNN's OpenMP runtime is not instrumented):
//   bazel test --config=tsan //tests/runtime:executor_test
#include "gtest/gtest.h"
#include "runtime/plan.h"
#include "runtime/threads.h"
#include "tests/testing.h"

namespace graft {
namespace {

// A wide graph: 8 independent branches of elementwise work joined by a sum, with buffer reuse.
void WideGraphMatchesSequentialExactly(int threads) {
  SetNumThreads(threads);
  Graph g;
  Value x = g.Placeholder({DType::kF32, {256, 64}}, "x");
  std::vector<Value> ends;
  for (int b = 0; b < 8; ++b) {
    Value h = *g.Add(b % 2 ? "graft.Tanh" : "graft.Sigmoid", {x});
    h = *g.Add("graft.Mul", {h, h});
    h = *g.Add("graft.Relu", {h});
    ends.push_back(h);
  }
  Value sum = ends[0];
  for (size_t b = 1; b < ends.size(); ++b) sum = *g.Add("graft.Add", {sum, ends[b]});
  Value total = *g.Add("graft.ReduceSum", {sum});
  Tensor xv = testing::Random({256, 64}, 1, -2, 2);
  const PlanSpec spec{.feeds = {x}, .fetches = {total, sum}};
  auto seq = Plan::Compile(g, spec, {xv.type()}, {.kernels = KernelKind::kReference});
  auto tbb = Plan::Compile(g, spec, {xv.type()},
                           {.kernels = KernelKind::kReference, .executor = ExecutorKind::kTbb});
  ASSERT_TRUE(seq.ok() && tbb.ok());
  std::vector<Tensor> a, b;
  ASSERT_TRUE((*seq)->Run({xv}, &a).ok());
  for (int run = 0; run < 10; ++run) {
    ASSERT_TRUE((*tbb)->Run({xv}, &b).ok());
    EXPECT_TRUE(testing::AllClose(a[0], b[0], 0, 0));
    EXPECT_TRUE(testing::AllClose(a[1], b[1], 0, 0));
  }
  SetNumThreads(0);
}

TEST(TbbExecutor, WideGraphMatchesSequentialExactly) { WideGraphMatchesSequentialExactly(2); }

// With a budget of one thread TBB has no worker: the executor used to hand ready steps to a task
// group no one served and wait forever (found by the TSan run, which pins one thread).
TEST(TbbExecutor, OneThreadBudgetRunsEverythingOnTheCaller) {
  WideGraphMatchesSequentialExactly(1);
}

// An error in one branch stops the run and comes back as the status; nothing hangs.
TEST(TbbExecutor, AnErrorIsReturnedNotHung) {
  Graph g;
  Value logits = g.Placeholder({DType::kF32, {4, 3}}, "p");
  Value labels = g.Placeholder({DType::kF32, {4}}, "t");
  Value loss = *g.Add("graft.SparseCategoricalCrossentropyFromLogits", {labels, logits});
  Value other = *g.Add("graft.ReduceSum", {*g.Add("graft.Tanh", {logits})});
  auto plan = Plan::Compile(g, {.feeds = {logits, labels}, .fetches = {loss, other}},
                            {{DType::kF32, {4, 3}}, {DType::kF32, {4}}},
                            {.kernels = KernelKind::kReference, .executor = ExecutorKind::kTbb});
  ASSERT_TRUE(plan.ok()) << plan.status();
  Tensor bad = Tensor::FromVector<float>({4}, {0, 1, 7, 2});  // label 7 of 3 classes
  std::vector<Tensor> out;
  absl::Status s = (*plan)->Run({Tensor(DType::kF32, {4, 3}), bad}, &out);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("label 7 in row 2"), std::string::npos) << s;
}

}  // namespace
}  // namespace graft
