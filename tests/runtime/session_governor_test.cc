// Session's thread governors: one per step, or shared between steps that run the same work in
// turns (AddStep's governed_with; keras's chunked train step).
#include <memory>
#include <vector>

#include "graph/graph.h"
#include "gtest/gtest.h"
#include "ops/elementwise.h"
#include "runtime/session.h"

namespace graft {
namespace {

TEST(SessionGovernor, GovernedWithSharesOneGovernorOthersHaveTheirOwn) {
  auto g = std::make_shared<Graph>();
  Value x = g->Placeholder({DType::kF32, Shape{-1, 4}}, "x");
  absl::StatusOr<Value> y = ops::Scale(*g, x, 2.0);
  ASSERT_TRUE(y.ok()) << y.status();
  Session session(g);
  const StepId a = session.AddStep({{x}, {*y}, {}});
  const StepId b = session.AddStep({{x}, {*y}, {}}, /*governed_with=*/a);
  const StepId c = session.AddStep({{x}, {*y}, {}}, /*governed_with=*/b);
  const StepId alone = session.AddStep({{x}, {*y}, {}});
  EXPECT_EQ(session.governor(a), nullptr) << "no governor before the first run";
  const Tensor batch = Tensor::FromVector<float>({2, 4}, {1, -2, 3, -4, 5, -6, 7, -8});
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

}  // namespace
}  // namespace graft
