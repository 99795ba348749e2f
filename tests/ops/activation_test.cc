#include "ops/activation.h"

#include <string>
#include <vector>

#include "autodiff/grad_check.h"
#include "autodiff/gradients.h"
#include "graph/op_registry.h"
#include "gtest/gtest.h"
#include "runtime/plan.h"
#include "tests/testing.h"

namespace graft {
namespace {

using ::graft::testing::AllClose;
using ::graft::testing::Random;
using ::graft::testing::RunOp;

// Every activation name but linear.
std::vector<std::string> Names() {
  std::vector<std::string> names = ops::KnownActivations();
  names.erase(names.begin());
  return names;
}

// The op Activation() emits for a Keras name.
std::string OpFor(const std::string& name) {
  Graph g;
  Value x = g.Placeholder({DType::kF32, {2}}, "x");
  absl::StatusOr<Value> y = ops::Activation(g, x, name);
  EXPECT_TRUE(y.ok()) << y.status();
  return y.ok() ? g.node(*y).op->name : "";
}

// y = act(x) and dx for L = sum(y * dy), from one plan with the given kernels.
absl::StatusOr<std::vector<Tensor>> ForwardAndGradient(const std::string& name, const Tensor& x,
                                                       const Tensor& dy, KernelKind kind) {
  Graph g;
  Value xv = g.Placeholder(x.type(), "x");
  Value dyv = g.Placeholder(dy.type(), "dy");
  absl::StatusOr<Value> y = ops::Activation(g, xv, name);
  if (!y.ok()) return y.status();
  absl::StatusOr<Value> prod = g.Add("graft.Mul", {*y, dyv});
  if (!prod.ok()) return prod.status();
  absl::StatusOr<Value> loss = g.Add("graft.ReduceSum", {*prod});
  if (!loss.ok()) return loss.status();
  auto grads = autodiff::Gradients(g, *loss, {xv});
  if (!grads.ok()) return grads.status();
  auto plan = Plan::Compile(g, {.feeds = {xv, dyv}, .fetches = {*y, (*grads)[0]}},
                            {x.type(), dy.type()}, {.kernels = kind});
  if (!plan.ok()) return plan.status();
  std::vector<Tensor> out;
  if (absl::Status s = (*plan)->Run({x, dy}, &out); !s.ok()) return s;
  return out;
}

class Activation : public ::testing::TestWithParam<std::string> {};

TEST_P(Activation, FastMatchesReference) {
  Tensor x = Random({4, 7, 5}, 3, -3, 3);
  const std::string op = OpFor(GetParam());
  auto fast = RunOp(op, NoAttrs{}, {x}, KernelKind::kFast);
  auto ref = RunOp(op, NoAttrs{}, {x}, KernelKind::kReference);
  ASSERT_TRUE(fast.ok()) << fast.status();
  ASSERT_TRUE(ref.ok()) << ref.status();
  EXPECT_TRUE(AllClose((*fast)[0], (*ref)[0], 1e-5, 1e-6)) << op;
}

TEST_P(Activation, BackwardFastMatchesReference) {
  Tensor x = Random({4, 9}, 2, -3, 3);
  Tensor dy = Random({4, 9}, 1);
  auto fast = ForwardAndGradient(GetParam(), x, dy, KernelKind::kFast);
  auto ref = ForwardAndGradient(GetParam(), x, dy, KernelKind::kReference);
  ASSERT_TRUE(fast.ok()) << fast.status();
  ASSERT_TRUE(ref.ok()) << ref.status();
  EXPECT_TRUE(AllClose((*fast)[1], (*ref)[1], 1e-5, 1e-6)) << GetParam();
}

TEST_P(Activation, GradientMatchesCentralDifferences) {
  // Stay away from the kinks at 0: draw |x| in [0.1, 2].
  Tensor x = Random({3, 6}, 5, 0.1, 2.0);
  for (int64_t i = 0; i < x.num_elements(); i += 2) x.data<float>()[i] *= -1;
  auto report = autodiff::CheckGradients(OpFor(GetParam()), NoAttrs{}, {x});
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->ok) << report->ToString();
  EXPECT_EQ(report->entries_checked, 18);
}

TEST_P(Activation, UnknownBatchIsPropagated) {
  Graph g;
  Value x = g.Placeholder({DType::kF32, {-1, 3}}, "x");
  absl::StatusOr<Value> y = ops::Activation(g, x, GetParam());
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(g.type(*y).shape, Shape({-1, 3}));
}

// The oneDNN kernels build their arguments once per plan and re-point them only when a feed's
// storage moves: one plan run on alternating feeds gives, bitwise, what a fresh plan gives.
TEST_P(Activation, PlanRerunOnNewFeedsMatchesFreshPlan) {
  Graph g;
  Value xv = g.Placeholder({DType::kF32, {-1, 9}}, "x");
  Value dyv = g.Placeholder({DType::kF32, {-1, 9}}, "dy");
  absl::StatusOr<Value> y = ops::Activation(g, xv, GetParam());
  ASSERT_TRUE(y.ok()) << y.status();
  absl::StatusOr<Value> prod = g.Add("graft.Mul", {*y, dyv});
  ASSERT_TRUE(prod.ok()) << prod.status();
  absl::StatusOr<Value> loss = g.Add("graft.ReduceSum", {*prod});
  ASSERT_TRUE(loss.ok()) << loss.status();
  auto grads = autodiff::Gradients(g, *loss, {xv});
  ASSERT_TRUE(grads.ok()) << grads.status();
  const TensorType t{DType::kF32, {4, 9}};
  auto plan = Plan::Compile(g, {.feeds = {xv, dyv}, .fetches = {*y, (*grads)[0]}}, {t, t});
  ASSERT_TRUE(plan.ok()) << plan.status();
  const std::vector<Tensor> xs = {Random({4, 9}, 11, -3, 3), Random({4, 9}, 12, -3, 3)};
  const std::vector<Tensor> dys = {Random({4, 9}, 13), Random({4, 9}, 14)};
  for (int run = 0; run < 4; ++run) {
    const int i = run % 2;
    std::vector<Tensor> out;
    ASSERT_TRUE((*plan)->Run({xs[i].Clone(), dys[i].Clone()}, &out).ok());
    auto fresh = ForwardAndGradient(GetParam(), xs[i], dys[i], KernelKind::kFast);
    ASSERT_TRUE(fresh.ok()) << fresh.status();
    EXPECT_TRUE(AllClose(out[0], (*fresh)[0], 0, 0)) << "run " << run;
    EXPECT_TRUE(AllClose(out[1], (*fresh)[1], 0, 0)) << "run " << run;
  }
}

INSTANTIATE_TEST_SUITE_P(All, Activation, ::testing::ValuesIn(Names()),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

// Large |x|: the stable formulas give no inf or NaN, and fast and reference kernels agree.
TEST(ActivationExtremes, FastMatchesReferenceForLargeInputs) {
  Tensor x(DType::kF32, Shape{6});
  const float v[] = {-100.f, -30.f, -1e-3f, 1e-3f, 30.f, 100.f};
  for (int i = 0; i < 6; ++i) x.data<float>()[i] = v[i];
  for (const std::string& name : Names()) {
    const std::string op = OpFor(name);
    auto fast = RunOp(op, NoAttrs{}, {x}, KernelKind::kFast);
    auto ref = RunOp(op, NoAttrs{}, {x}, KernelKind::kReference);
    ASSERT_TRUE(fast.ok() && ref.ok()) << op;
    EXPECT_TRUE(AllClose((*fast)[0], (*ref)[0], 1e-5, 1e-6)) << op;
  }
}

// Forward and gradient (through autodiff, fast kernels) against PyTorch.
TEST(ActivationGolden, MatchesPyTorch) {
  Tensor x = testing::Golden("activation_x"), dy = testing::Golden("activation_dy");
  std::vector<std::string> names = Names();
  std::erase(names, "swish");  // an alias of silu
  for (const std::string& name : names) {
    auto out = ForwardAndGradient(name, x, dy, KernelKind::kFast);
    ASSERT_TRUE(out.ok()) << out.status();
    EXPECT_TRUE(AllClose((*out)[0], testing::Golden(absl::StrCat("activation_", name, "_y"))))
        << name;
    EXPECT_TRUE(AllClose((*out)[1], testing::Golden(absl::StrCat("activation_", name, "_dx"))))
        << name;
  }
}

TEST(ActivationByName, KerasNamesAndAliases) {
  EXPECT_EQ(ops::KnownActivations(),
            (std::vector<std::string>{"linear", "relu", "leaky_relu", "sigmoid", "tanh", "elu",
                                      "selu", "gelu", "silu", "softplus", "softmax", "swish"}));
  EXPECT_EQ(OpFor("swish"), "graft.Silu");
  EXPECT_EQ(OpFor("leaky_relu"), "graft.LeakyRelu");
  Graph g;
  Value x = g.Placeholder({DType::kF32, {-1, 3}}, "x");
  for (const char* linear : {"", "linear"}) {
    absl::StatusOr<Value> y = ops::Activation(g, x, linear);
    ASSERT_TRUE(y.ok());
    EXPECT_EQ(*y, x);
  }
}

TEST(ActivationByName, EveryOpPairIsRegistered) {
  for (const std::string& name : Names()) {
    const std::string op = OpFor(name);
    const OpSchema* fwd = OpRegistry::Global().Find(op);
    const OpSchema* bwd = OpRegistry::Global().Find(op + "Grad");
    ASSERT_NE(fwd, nullptr) << op;
    ASSERT_NE(bwd, nullptr) << op << "Grad";
    EXPECT_FALSE(fwd->doc.empty()) << op;
    EXPECT_FALSE(bwd->doc.empty()) << op;
    EXPECT_TRUE(fwd->grad) << op;
    EXPECT_NE(fwd->FindKernel(DType::kF32, KernelKind::kFast), nullptr) << op;
    EXPECT_NE(bwd->FindKernel(DType::kF64, KernelKind::kReference), nullptr) << op;
  }
}

TEST(ActivationByName, UnknownNameIsAClearError) {
  Graph g;
  Value x = g.Placeholder({DType::kF32, {-1, 3}}, "x");
  auto y = ops::Activation(g, x, "rleu");
  ASSERT_FALSE(y.ok());
  EXPECT_NE(y.status().message().find("unknown activation \"rleu\""), std::string::npos);
  EXPECT_NE(y.status().message().find(
                "graft knows: linear, relu, leaky_relu, sigmoid, tanh, elu, selu, gelu, silu, "
                "softplus, softmax, swish"),
            std::string::npos)
      << y.status();
  EXPECT_TRUE(ops::IsKnownActivation("relu"));
  EXPECT_TRUE(ops::IsKnownActivation("swish"));
  EXPECT_TRUE(ops::IsKnownActivation(""));
  EXPECT_FALSE(ops::IsKnownActivation("rleu"));
  EXPECT_TRUE(ops::ValidateActivation("gelu").ok());
  EXPECT_FALSE(ops::ValidateActivation("Relu").ok());
}

}  // namespace
}  // namespace graft
