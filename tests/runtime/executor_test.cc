// The TBB executor on graphs of non-oneDNN kernels (reference kernels), so ThreadSanitizer sees
// every access (oneDNN's OpenMP runtime is not instrumented):
//   bazel test --config=tsan //tests/runtime:executor_test
#include <chrono>
#include <mutex>
#include <set>
#include <thread>

#include "graph/op_registry.h"
#include "gtest/gtest.h"
#include "runtime/kernel.h"
#include "runtime/plan.h"
#include "runtime/threads.h"
#include "tests/testing.h"

namespace graft {
namespace {

// test.RecordThread: y = x, after noting which thread ran it and sleeping 1 ms (long enough
// that a TBB worker, if the executor hands steps out, takes some of them).
std::mutex threads_mu;
std::set<std::thread::id> threads_seen;

class RecordThreadKernel : public Kernel {
 public:
  absl::Status Run(KernelRunContext& ctx) override {
    {
      std::lock_guard<std::mutex> lock(threads_mu);
      threads_seen.insert(std::this_thread::get_id());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    const float* x = ctx.input(0).data<float>();
    float* y = ctx.output(0).data<float>();
    for (int64_t i = 0; i < ctx.input(0).num_elements(); ++i) y[i] = x[i];
    return absl::OkStatus();
  }
};

template <typename T>
using RecordThreadRef = RecordThreadKernel;

GRAFT_REGISTER_OP(OpDef<NoAttrs>("test.RecordThread")
                      .Doc("y = x; notes the thread that ran it")
                      .Inputs({"x"})
                      .Outputs({"y"})
                      .Shape([](const ShapeContext& c,
                                const NoAttrs&) -> absl::StatusOr<std::vector<TensorType>> {
                        return std::vector<TensorType>{c.inputs[0]};
                      })
                      .Kernel<RecordThreadKernel>(DType::kF32)
                      .Reference<RecordThreadRef>());

// How many threads ran the steps of 8 independent branches, in a plan compiled for
// `plan_threads` under a budget of 2.
size_t ThreadsThatRanEightBranches(int plan_threads) {
  SetNumThreads(2);
  Graph g;
  Value x = g.Placeholder({DType::kF32, {16}}, "x");
  Value sum;
  for (int b = 0; b < 8; ++b) {
    Value h = *g.Add("test.RecordThread", {x});
    sum = b == 0 ? h : *g.Add("graft.Add", {sum, h});
  }
  auto plan = Plan::Compile(g, {.feeds = {x}, .fetches = {sum}}, {{DType::kF32, {16}}},
                            {.executor = ExecutorKind::kTbb, .num_threads = plan_threads});
  EXPECT_TRUE(plan.ok()) << plan.status();
  {
    std::lock_guard<std::mutex> lock(threads_mu);
    threads_seen.clear();
  }
  std::vector<Tensor> out;
  for (int run = 0; run < 20 && plan.ok(); ++run)
    EXPECT_TRUE((*plan)->Run({Tensor(DType::kF32, {16})}, &out).ok());
  SetNumThreads(0);
  std::lock_guard<std::mutex> lock(threads_mu);
  return threads_seen.size();
}

// A plan the governor compiled for 1 thread under a budget of 2 (contention on the other core)
// runs every step on the calling thread: a TBB worker would run on the busy core.
TEST(TbbExecutor, AOneThreadPlanUnderALargerBudgetHandsNothingToWorkers) {
  if (std::thread::hardware_concurrency() < 2) GTEST_SKIP() << "one CPU: no TBB worker";
  EXPECT_GT(ThreadsThatRanEightBranches(2), 1u);  // the control: a 2-thread plan does
  EXPECT_EQ(ThreadsThatRanEightBranches(1), 1u);
}

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
