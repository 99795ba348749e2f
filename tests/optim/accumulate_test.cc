// Gradient accumulation (optim/accumulate.h) and a second update path over the same optimizer
// state (Optimizer::AppendUpdatesSharingSlots): what keras::Model's train step in chunks is made
// of (keras/chunked_train.h; its end-to-end test is tests/keras/chunked_train_test).
#include "optim/accumulate.h"

#include <cmath>
#include <memory>
#include <vector>

#include "graph/graph.h"
#include "gtest/gtest.h"
#include "optim/optimizer.h"
#include "runtime/session.h"
#include "tests/testing.h"

namespace graft {
namespace {

using ::graft::testing::AllClose;
using ::graft::testing::Random;

Tensor Scalar(float v) { return Tensor::Scalar<float>(v); }

TEST(AccumulateGradient, FirstChunkOverwritesLaterChunksAdd) {
  auto g = std::make_shared<Graph>();
  // The sum starts as NaN: a first chunk (keep 0) must not read it (0 * NaN is NaN).
  Value sum = g->Variable(Tensor::FromVector<float>({3}, std::vector<float>(3, std::nanf(""))),
                          "sum", /*trainable=*/false);
  Value grad = g->Placeholder({DType::kF32, Shape{3}}, "grad");
  Value scale = g->Placeholder({DType::kF32, Shape{}}, "scale");
  Value keep = g->Placeholder({DType::kF32, Shape{}}, "keep");
  absl::StatusOr<Operation> op = optim::AccumulateGradient(*g, sum, grad, scale, keep, "acc");
  ASSERT_TRUE(op.ok()) << op.status();
  absl::StatusOr<Value> total = optim::AccumulatedGradient(*g, sum, grad, scale, "total");
  ASSERT_TRUE(total.ok()) << total.status();
  Session session(g);
  const StepId accumulate = session.AddStep({{grad, scale, keep}, {}, {*op}});
  const StepId finish = session.AddStep({{grad, scale}, {*total}, {}});
  const Tensor g1 = Tensor::FromVector<float>({3}, {1, 2, 3});
  const Tensor g2 = Tensor::FromVector<float>({3}, {10, -20, 30});
  const Tensor g3 = Tensor::FromVector<float>({3}, {4, 4, -4});
  std::vector<Tensor> out;
  ASSERT_TRUE(session.Run(accumulate, {g1, Scalar(0.25f), Scalar(0)}, &out).ok());
  ASSERT_TRUE(session.Run(accumulate, {g2, Scalar(0.25f), Scalar(1)}, &out).ok());
  ASSERT_TRUE(session.Run(finish, {g3, Scalar(0.5f)}, &out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(AllClose(out[0], Tensor::FromVector<float>({3}, {4.75f, -2.5f, 6.25f}), 0, 0))
      << out[0].AsDouble(0);
  EXPECT_TRUE(
      AllClose(g->VariableValue(sum), Tensor::FromVector<float>({3}, {2.75f, -4.5f, 8.25f}), 0, 0));
  // The next batch's first chunk forgets the sum.
  ASSERT_TRUE(session.Run(accumulate, {g3, Scalar(1), Scalar(0)}, &out).ok());
  EXPECT_TRUE(AllClose(g->VariableValue(sum), g3, 0, 0));
}

TEST(AccumulateGradient, SumMustBeAVariableOfTheGradientsType) {
  Graph g;
  Value grad = g.Placeholder({DType::kF32, Shape{3}}, "grad");
  Value scale = g.Placeholder({DType::kF32, Shape{}}, "scale");
  absl::StatusOr<Operation> op = optim::AccumulateGradient(g, grad, grad, scale, scale);
  ASSERT_FALSE(op.ok());
  EXPECT_NE(op.status().message().find("must be a variable"), std::string::npos) << op.status();
  Value sum = g.Variable(Tensor(DType::kF32, {4}), "sum", false);
  op = optim::AccumulateGradient(g, sum, grad, scale, scale);
  ASSERT_FALSE(op.ok());
  EXPECT_NE(op.status().message().find("grad must have the type of sum"), std::string::npos)
      << op.status();
}

// Two update paths (two gradients, two steps) over one Adam state give what one path gives when
// fed the same gradients in the same order.
TEST(AppendUpdatesSharingSlots, OneStateForBothPaths) {
  const Tensor p0 = Random({4, 5}, 1);
  const Tensor grads[] = {Random({4, 5}, 2), Random({4, 5}, 3), Random({4, 5}, 4)};
  auto build = [&](bool two_paths, std::shared_ptr<Graph>& g, Value& p,
                   std::unique_ptr<optim::Optimizer>& adam, std::vector<StepId>& steps,
                   std::unique_ptr<Session>& session) {
    g = std::make_shared<Graph>();
    p = g->Variable(p0.Clone(), "w");
    Value ga = g->Placeholder({DType::kF32, Shape{4, 5}}, "ga");
    Value gb = g->Placeholder({DType::kF32, Shape{4, 5}}, "gb");
    Value lr = g->Placeholder({DType::kF32, Shape{}}, "lr");
    Value it = g->Placeholder({DType::kF32, Shape{}}, "it");
    adam = optim::MakeAdam({.learning_rate = 0.1});
    auto a = adam->AppendUpdates(*g, {p}, {ga}, lr, it);
    ASSERT_TRUE(a.ok()) << a.status();
    session = std::make_unique<Session>(g);
    steps = {session->AddStep({{ga, lr, it}, {}, *a})};
    if (two_paths) {
      auto b = adam->AppendUpdatesSharingSlots(*g, {p}, {gb}, lr, it);
      ASSERT_TRUE(b.ok()) << b.status();
      EXPECT_EQ(adam->slots().size(), 2u);  // no new slot
      EXPECT_EQ(g->node((*b)[0]).inputs[2], adam->slots()[0]);
      steps.push_back(session->AddStep({{gb, lr, it}, {}, *b}));
    }
  };
  std::shared_ptr<Graph> g1, g2;
  Value p1, p2;
  std::unique_ptr<optim::Optimizer> o1, o2;
  std::vector<StepId> s1, s2;
  std::unique_ptr<Session> sess1, sess2;
  build(false, g1, p1, o1, s1, sess1);
  build(true, g2, p2, o2, s2, sess2);
  std::vector<Tensor> out;
  for (int t = 0; t < 3; ++t) {
    const std::vector<Tensor> feeds = {grads[t], Scalar(0.1f), Scalar(static_cast<float>(t))};
    ASSERT_TRUE(sess1->Run(s1[0], feeds, &out).ok());
    ASSERT_TRUE(sess2->Run(s2[t % 2], feeds, &out).ok());  // path a, b, a
  }
  EXPECT_TRUE(AllClose(g1->VariableValue(p1), g2->VariableValue(p2), 0, 0));
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_TRUE(
        AllClose(g1->VariableValue(o1->slots()[i]), g2->VariableValue(o2->slots()[i]), 0, 0));
  }
  EXPECT_FALSE(AllClose(g2->VariableValue(p2), p0, 0, 1e-3));
}

TEST(AppendUpdatesSharingSlots, NeedsTheLastCallsGraphAndParameters) {
  Graph g, other;
  Value w = g.Variable(Random({2}, 1), "w");
  Value v = g.Variable(Random({2}, 2), "v");
  Value gw = g.Placeholder({DType::kF32, Shape{2}}, "gw");
  Value lr = g.Placeholder({DType::kF32, Shape{}}, "lr");
  Value it = g.Placeholder({DType::kF32, Shape{}}, "it");
  auto adam = optim::MakeAdam();
  auto none = adam->AppendUpdatesSharingSlots(g, {w}, {gw}, lr, it);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(adam->AppendUpdates(g, {w}, {gw}, lr, it).ok());
  auto wrong = adam->AppendUpdatesSharingSlots(g, {v}, {gw}, lr, it);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("v has no momentum slot"), std::string::npos)
      << wrong.status();
  EXPECT_EQ(adam->slots().size(), 2u);
}

}  // namespace
}  // namespace graft
