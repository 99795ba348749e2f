// Session's thread governors: one per step, or shared between steps that run the same work in
// turns (AddStep's governed_with; keras's chunked train step).
#include <memory>
#include <vector>

#include "graph/graph.h"
#include "gtest/gtest.h"
#include "ops/elementwise.h"
#include "runtime/session.h"
#include "runtime/threads.h"

namespace graft {
namespace {

// y = 2x on batches of 4 features, and a session over it; Step() adds a step computing y.
struct ScaleSession {
  std::shared_ptr<Graph> g = std::make_shared<Graph>();
  Value x = g->Placeholder({DType::kF32, Shape{-1, 4}}, "x");
  Value y = *ops::Scale(*g, x, 2.0);
  Session session{g};
  const Tensor batch = Tensor::FromVector<float>({2, 4}, {1, -2, 3, -4, 5, -6, 7, -8});
  StepId Step(StepId governed_with = {}) { return session.AddStep({{x}, {y}, {}}, governed_with); }
};

TEST(SessionGovernor, GovernedWithSharesOneGovernorOthersHaveTheirOwn) {
  ScaleSession t;
  Session& session = t.session;
  const StepId a = t.Step();
  const StepId b = t.Step(/*governed_with=*/a);
  const StepId c = t.Step(/*governed_with=*/b);
  const StepId alone = t.Step();
  EXPECT_EQ(session.governor(a), nullptr) << "no governor before the first run";
  const Tensor& batch = t.batch;
  std::vector<Tensor> out;
  for (StepId s : {a, b, c, alone}) {
    ASSERT_TRUE(session.Run(s, {batch}, &out).ok());
  }
  ASSERT_NE(session.governor(a), nullptr);
  EXPECT_EQ(session.governor(a), session.governor(b));
  EXPECT_EQ(session.governor(a), session.governor(c)) << "governed_with is transitive";
  EXPECT_NE(session.governor(a), session.governor(alone));
  EXPECT_EQ(session.governor(StepId{99}), nullptr);
}

// A unit (a chunked train step's chunks) takes one thread count and is reported once, with the
// total time of its runs; runs outside a unit are reported one by one.
TEST(SessionGovernor, AUnitOfRunsIsReportedOnce) {
  SetNumThreads(2);
  SetAdaptiveThreads(true);
  ScaleSession t;
  Session& session = t.session;
  const StepId a = t.Step();
  const StepId b = t.Step(/*governed_with=*/a);
  const Tensor& batch = t.batch;
  std::vector<Tensor> out;
  // Warm every plan the governor may pick (first runs are not reported).
  for (int threads : {2, 1}) {
    SetAdaptiveThreads(false);
    SetNumThreads(threads);
    for (StepId s : {a, b}) ASSERT_TRUE(session.Run(s, {batch}, &out).ok());
  }
  SetNumThreads(2);
  SetAdaptiveThreads(true);
  ASSERT_TRUE(session.Run(a, {batch}, &out).ok());
  ASSERT_TRUE(session.Run(a, {batch}, &out).ok());
  const int64_t before = session.governor(a)->reports();
  EXPECT_GE(before, 1);
  session.BeginUnit(a);
  for (StepId s : {a, a, a, b}) ASSERT_TRUE(session.Run(s, {batch}, &out).ok());
  session.EndUnit(a, 8);
  EXPECT_EQ(session.governor(a)->reports(), before + 1);
  // Not after an error: the unit is dropped.
  session.BeginUnit(b);
  ASSERT_TRUE(session.Run(a, {batch}, &out).ok());
  session.EndUnit(b, 0);
  EXPECT_EQ(session.governor(a)->reports(), before + 1);
  ASSERT_TRUE(session.Run(b, {batch}, &out).ok());
  EXPECT_EQ(session.governor(a)->reports(), before + 2);
  SetNumThreads(0);
}

}  // namespace
}  // namespace graft
