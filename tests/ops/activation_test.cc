#include "ops/activation.h"

#include "autodiff/grad_check.h"
#include "autodiff/gradients.h"
#include "gtest/gtest.h"
#include "runtime/plan.h"
#include "tests/testing.h"

namespace graft {
namespace {

using ::graft::testing::AllClose;
using ::graft::testing::Random;
using ::graft::testing::RunOp;

class Activation : public ::testing::TestWithParam<const char*> {};

TEST_P(Activation, OneDnnMatchesReference) {
  Tensor x = Random({4, 7, 5}, 3, -3, 3);
  auto fast = RunOp(GetParam(), NoAttrs{}, {x}, KernelKind::kFast);
  auto ref = RunOp(GetParam(), NoAttrs{}, {x}, KernelKind::kReference);
  ASSERT_TRUE(fast.ok()) << fast.status();
  ASSERT_TRUE(ref.ok()) << ref.status();
  EXPECT_TRUE(AllClose((*fast)[0], (*ref)[0], 1e-5, 1e-6));
}

TEST_P(Activation, GradientMatchesCentralDifferences) {
  // Stay away from relu's kink at 0: draw |x| in [0.1, 2].
  Tensor x = Random({3, 6}, 5, 0.1, 2.0);
  for (int64_t i = 0; i < x.num_elements(); i += 2) x.data<float>()[i] *= -1;
  auto report = autodiff::CheckGradients(GetParam(), NoAttrs{}, {x});
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->ok) << report->ToString();
  EXPECT_EQ(report->entries_checked, 18);
}

INSTANTIATE_TEST_SUITE_P(All, Activation,
                         ::testing::Values("graft.Relu", "graft.Sigmoid", "graft.Softmax"));

TEST(ActivationBackward, OneDnnMatchesReference) {
  Tensor dy = Random({4, 9}, 1);
  Tensor x = Random({4, 9}, 2, -2, 2);
  auto y_sig = RunOp("graft.Sigmoid", NoAttrs{}, {x}, KernelKind::kReference);
  auto y_soft = RunOp("graft.Softmax", NoAttrs{}, {x}, KernelKind::kReference);
  ASSERT_TRUE(y_sig.ok() && y_soft.ok());
  for (auto [op, second] :
       std::vector<std::pair<const char*, Tensor>>{{"graft.ReluGrad", x},
                                                   {"graft.SigmoidGrad", (*y_sig)[0]},
                                                   {"graft.SoftmaxGrad", (*y_soft)[0]}}) {
    auto fast = RunOp(op, NoAttrs{}, {dy, second}, KernelKind::kFast);
    auto ref = RunOp(op, NoAttrs{}, {dy, second}, KernelKind::kReference);
    ASSERT_TRUE(fast.ok()) << fast.status();
    ASSERT_TRUE(ref.ok()) << ref.status();
    EXPECT_TRUE(AllClose((*fast)[0], (*ref)[0], 1e-5, 1e-6)) << op;
  }
}

// Forward and gradient (through autodiff, fast kernels) against PyTorch.
TEST(ActivationGolden, MatchesPyTorch) {
  Tensor x = testing::Golden("activation_x"), dy = testing::Golden("activation_dy");
  for (const char* name : {"relu", "sigmoid", "softmax"}) {
    Graph g;
    Value xv = g.Placeholder(x.type(), "x");
    Value dyv = g.Placeholder(dy.type(), "dy");
    absl::StatusOr<Value> y = ops::Activation(g, xv, name);
    ASSERT_TRUE(y.ok()) << y.status();
    Value loss = *g.Add("graft.ReduceSum", {*g.Add("graft.Mul", {*y, dyv})});
    auto grads = autodiff::Gradients(g, loss, {xv});
    ASSERT_TRUE(grads.ok()) << grads.status();
    auto plan =
        Plan::Compile(g, {.feeds = {xv, dyv}, .fetches = {*y, (*grads)[0]}}, {x.type(), dy.type()});
    ASSERT_TRUE(plan.ok()) << plan.status();
    std::vector<Tensor> out;
    ASSERT_TRUE((*plan)->Run({x, dy}, &out).ok());
    EXPECT_TRUE(AllClose(out[0], testing::Golden(absl::StrCat("activation_", name, "_y")))) << name;
    EXPECT_TRUE(AllClose(out[1], testing::Golden(absl::StrCat("activation_", name, "_dx"))))
        << name;
  }
}

TEST(ActivationByName, UnknownNameIsAClearError) {
  Graph g;
  Value x = g.Placeholder({DType::kF32, {-1, 3}}, "x");
  auto y = ops::Activation(g, x, "rleu");
  ASSERT_FALSE(y.ok());
  EXPECT_NE(y.status().message().find("unknown activation \"rleu\""), std::string::npos);
  EXPECT_TRUE(ops::IsKnownActivation("relu"));
  EXPECT_FALSE(ops::IsKnownActivation("rleu"));
}

}  // namespace
}  // namespace graft
