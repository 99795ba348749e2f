// The user op's gradient through graft's public checker. This test links the op and the checker
// only (no graft.Mul from anywhere else): the checker's own ops come with its dependency.
#include "autodiff/grad_check.h"
#include "graph/op_registry.h"
#include "gtest/gtest.h"

namespace {

TEST(ScaledSoftSignOp, GradientPassesThePublicChecker) {
  graft::Tensor x = graft::Tensor::FromVector<float>(
      {3, 4}, {-3, -1.5, -0.2, 0.1, 0.4, 0.7, 1.3, 2.2, 4, -0.9, 0.05, -2.5});
  graft::Tensor alpha = graft::Tensor::FromVector<float>({4}, {0.5, -1.25, 2, 1});
  absl::StatusOr<graft::autodiff::GradCheckReport> r =
      graft::autodiff::CheckGradients("myproj.ScaledSoftSign", graft::NoAttrs{}, {x, alpha});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->ok) << r->ToString();
  EXPECT_EQ(r->entries_checked, 12 + 4);  // every entry of x and of alpha
}

TEST(ScaledSoftSignOp, ShapeErrorsNameTheNode) {
  graft::Graph g;
  graft::Value x = g.Placeholder({graft::DType::kF32, {-1, 4}}, "x");
  graft::Value alpha = g.Placeholder({graft::DType::kF32, {3}}, "alpha");
  absl::StatusOr<graft::Value> y = g.Add("myproj.ScaledSoftSign", {x, alpha});
  ASSERT_FALSE(y.ok());
  EXPECT_NE(y.status().message().find("ScaledSoftSign"), std::string::npos) << y.status();
  EXPECT_NE(y.status().message().find("(channels,)"), std::string::npos) << y.status();
}

}  // namespace
