// The registry is open: an op from outside graft's folders trains through autodiff and passes
// the public gradient checker.
#include "autodiff/grad_check.h"
#include "autodiff/gradients.h"
#include "graph/graph.h"
#include "gtest/gtest.h"
#include "io/npy.h"
#include "runtime/plan.h"

namespace {

graft::Tensor Load(const std::string& name) {
  absl::StatusOr<graft::Tensor> t = graft::io::LoadNpy("tests/golden/" + name + ".npy");
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? *t : graft::Tensor();
}

TEST(UserOp, SwishIsRegistered) {
  EXPECT_NE(graft::OpRegistry::Global().Find("myproj.Swish"), nullptr);
  EXPECT_NE(graft::OpRegistry::Global().Find("myproj.SwishGrad"), nullptr);
}

TEST(UserOp, SwishGradientPassesThePublicChecker) {
  graft::Tensor x =
      graft::Tensor::FromVector<float>({2, 5}, {-3, -1.5, -0.2, 0, 0.1, 0.7, 1.3, 2.2, 4, -0.9});
  absl::StatusOr<graft::autodiff::GradCheckReport> r =
      graft::autodiff::CheckGradients("myproj.Swish", graft::NoAttrs{}, {x});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->ok) << r->ToString();
  EXPECT_EQ(r->entries_checked, 10);
}

TEST(UserOp, SwishMatchesPyTorchSilu) {
  graft::Tensor x = Load("swish_x"), dy = Load("swish_dy");
  graft::Graph g;
  graft::Value xv = g.Placeholder(x.type(), "x");
  graft::Value dyv = g.Placeholder(dy.type(), "dy");
  absl::StatusOr<graft::Value> y = g.Add("myproj.Swish", {xv});
  ASSERT_TRUE(y.ok());
  absl::StatusOr<graft::Value> prod = g.Add("graft.Mul", {*y, dyv});
  absl::StatusOr<graft::Value> loss = g.Add("graft.ReduceSum", {*prod});
  ASSERT_TRUE(loss.ok()) << loss.status();
  auto grads = graft::autodiff::Gradients(g, *loss, {xv});
  ASSERT_TRUE(grads.ok()) << grads.status();
  auto plan = graft::Plan::Compile(g, {.feeds = {xv, dyv}, .fetches = {*y, (*grads)[0]}},
                                   {x.type(), dy.type()});
  ASSERT_TRUE(plan.ok()) << plan.status();
  std::vector<graft::Tensor> out;
  ASSERT_TRUE((*plan)->Run({x, dy}, &out).ok());
  graft::Tensor want_y = Load("swish_y"), want_dx = Load("swish_dx");
  for (int64_t i = 0; i < x.num_elements(); ++i) {
    EXPECT_NEAR(out[0].AsDouble(i), want_y.AsDouble(i), 1e-5 + 1e-4 * std::abs(want_y.AsDouble(i)));
    EXPECT_NEAR(out[1].AsDouble(i), want_dx.AsDouble(i),
                1e-5 + 1e-4 * std::abs(want_dx.AsDouble(i)));
  }
}

}  // namespace
