// The graph IR, the registry, plans and autodiff's bookkeeping.
#include "graph/graph.h"

#include "autodiff/gradients.h"
#include "graph/op_registry.h"
#include "gtest/gtest.h"
#include "ops/metric.h"
#include "ops/reshape.h"
#include "runtime/plan.h"
#include "tests/testing.h"

namespace graft {
namespace {

TEST(Graph, UnknownOpIsAnErrorThatMentionsLinking) {
  Graph g;
  Value x = g.Placeholder({DType::kF32, {-1, 3}}, "x");
  auto y = g.Add("nope.Op", {x});
  ASSERT_FALSE(y.ok());
  EXPECT_NE(y.status().message().find("alwayslink"), std::string::npos);
}

TEST(Graph, WrongAttributeTypeIsAStatusNotACrash) {
  Graph g;
  Value x = g.Placeholder({DType::kF32, {-1, 3}}, "x");
  auto y = g.Add("graft.Reshape", {x}, NoAttrs{});
  ASSERT_FALSE(y.ok());
  EXPECT_NE(y.status().message().find("wrong attribute type"), std::string::npos) << y.status();
  // C++ names as written in source, given and expected (not "N5graft7NoAttrsE").
  EXPECT_NE(
      y.status().message().find("type graft::NoAttrs; this op takes graft::ops::ReshapeAttrs"),
      std::string::npos)
      << y.status();
}

TEST(Graph, ArityIsChecked) {
  Graph g;
  Value x = g.Placeholder({DType::kF32, {2, 3}}, "x");
  auto y = g.Add("graft.Add", {x});
  ASSERT_FALSE(y.ok());
  EXPECT_NE(y.status().message().find("takes 2 to 2 inputs, got 1"), std::string::npos)
      << y.status();
}

TEST(Graph, NamesAreUniqueAndScoped) {
  Graph g;
  Value x = g.Placeholder({DType::kF32, {2, 3}}, "x");
  g.SetNameScope("layer/");
  Value a = *g.Add("graft.Relu", {x});
  Value b = *g.Add("graft.Relu", {a});
  EXPECT_EQ(g.node(a).name, "layer/Relu");
  EXPECT_EQ(g.node(b).name, "layer/Relu_1");
}

TEST(Graph, VerifyAndDot) {
  Graph g;
  Value x = g.Placeholder({DType::kF32, {-1, 4, 5}}, "x");
  Value f = *ops::Flatten(g, x);
  Value r = *g.Add("graft.Relu", {f});
  ASSERT_TRUE(g.Verify().ok());
  std::string dot = g.ToDot();
  EXPECT_NE(dot.find("digraph graft"), std::string::npos);
  EXPECT_NE(dot.find("graft.Relu"), std::string::npos);
  EXPECT_NE(dot.find("(None, 20)"), std::string::npos) << dot;
  EXPECT_NE(dot.find("n1 -> n2"), std::string::npos) << dot;
  (void)r;
}

TEST(Autodiff, FanInIsSummedAndOffPathNodesGetNoBackward) {
  // L = sum(x*x + x) => dL/dx = 2x + 1; y is off the path to x.
  Graph g;
  Value x = g.Placeholder({DType::kF32, {4}}, "x");
  Value y = g.Placeholder({DType::kF32, {4}}, "y");
  Value xx = *g.Add("graft.Mul", {x, x});
  Value s = *g.Add("graft.Add", {xx, x});
  Value s2 = *g.Add("graft.Add", {s, y});
  Value loss = *g.Add("graft.ReduceSum", {s2});
  auto grads = autodiff::Gradients(g, loss, {x});
  ASSERT_TRUE(grads.ok()) << grads.status();
  for (int id = 0; id < g.num_nodes(); ++id) {
    // No Mul(dy, x) for y: y does not need a gradient, so only x's branches appear.
    EXPECT_EQ(g.node(id).name.find("Placeholder_"), std::string::npos);
  }
  auto plan = Plan::Compile(g, {.feeds = {x, y}, .fetches = {(*grads)[0]}},
                            {{DType::kF32, {4}}, {DType::kF32, {4}}});
  ASSERT_TRUE(plan.ok()) << plan.status();
  std::vector<Tensor> out;
  Tensor xv = Tensor::FromVector<float>({4}, {1, -2, 0.5, 3});
  ASSERT_TRUE((*plan)->Run({xv, Tensor(DType::kF32, {4})}, &out).ok());
  EXPECT_EQ(out[0].ToVector<float>(), (std::vector<float>{3, -3, 2, 7}));
}

TEST(Autodiff, UnreachableWrtGetsZeros) {
  Graph g;
  Value x = g.Placeholder({DType::kF32, {3}}, "x");
  Value z = g.Placeholder({DType::kF32, {3}}, "z");
  Value loss = *g.Add("graft.ReduceSum", {x});
  auto grads = autodiff::Gradients(g, loss, {z});
  ASSERT_TRUE(grads.ok());
  EXPECT_EQ(g.node((*grads)[0]).op->name, "graft.ZerosLike");
}

TEST(Autodiff, NonDifferentiableOpOnThePathIsAClearError) {
  Graph g;
  Value x = g.Placeholder({DType::kF32, {2, 1}}, "x");
  Value t = g.Placeholder({DType::kF32, {2, 1}}, "t");
  Value acc = *ops::BinaryAccuracy(g, t, x);
  auto grads = autodiff::Gradients(g, acc, {x});
  ASSERT_FALSE(grads.ok());
  EXPECT_NE(grads.status().message().find("has no gradient rule"), std::string::npos)
      << grads.status();
}

TEST(Plan, FeedTypeMismatchIsAnError) {
  Graph g;
  Value x = g.Placeholder({DType::kF32, {-1, 3}}, "x");
  Value y = *g.Add("graft.Relu", {x});
  auto plan = Plan::Compile(g, {.feeds = {x}, .fetches = {y}}, {{DType::kF32, {2, 3}}});
  ASSERT_TRUE(plan.ok());
  std::vector<Tensor> out;
  absl::Status s = (*plan)->Run({Tensor(DType::kF32, {3, 3})}, &out);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("expected float32(2, 3), got float32(3, 3)"), std::string::npos) << s;
}

TEST(Plan, UnfedPlaceholderIsAnError) {
  Graph g;
  Value x = g.Placeholder({DType::kF32, {2}}, "x");
  Value y = *g.Add("graft.Relu", {x});
  auto plan = Plan::Compile(g, {.fetches = {y}}, {});
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.status().message().find("not fed"), std::string::npos);
}

}  // namespace
}  // namespace graft
