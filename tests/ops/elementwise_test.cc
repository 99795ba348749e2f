// The small elementwise ops that autodiff and the gradient checker build on.
#include "autodiff/grad_check.h"
#include "gtest/gtest.h"
#include "tests/testing.h"

namespace graft {
namespace {

using ::graft::testing::AllClose;
using ::graft::testing::InferOp;
using ::graft::testing::Random;
using ::graft::testing::RunOp;

TEST(Elementwise, ValuesOnBothKernelKinds) {
  Tensor a = Tensor::FromVector<float>({2, 2}, {1, -2, 3, 0.5});
  Tensor b = Tensor::FromVector<float>({2, 2}, {4, 5, -1, 2});
  for (KernelKind kind : {KernelKind::kFast, KernelKind::kReference}) {
    EXPECT_EQ((*RunOp("graft.Add", NoAttrs{}, {a, b}, kind))[0].ToVector<float>(),
              (std::vector<float>{5, 3, 2, 2.5}));
    EXPECT_EQ((*RunOp("graft.Mul", NoAttrs{}, {a, b}, kind))[0].ToVector<float>(),
              (std::vector<float>{4, -10, -3, 1}));
    EXPECT_EQ((*RunOp("graft.ReduceSum", NoAttrs{}, {a}, kind))[0].ToVector<float>(),
              (std::vector<float>{2.5}));
    EXPECT_EQ((*RunOp("graft.OnesLike", NoAttrs{}, {a}, kind))[0].ToVector<float>(),
              (std::vector<float>{1, 1, 1, 1}));
    EXPECT_EQ((*RunOp("graft.ZerosLike", NoAttrs{}, {a}, kind))[0].ToVector<float>(),
              (std::vector<float>{0, 0, 0, 0}));
    EXPECT_EQ((*RunOp("graft.BroadcastLike", NoAttrs{}, {Tensor::Scalar<float>(7), a}, kind))[0]
                  .ToVector<float>(),
              (std::vector<float>{7, 7, 7, 7}));
  }
}

TEST(Elementwise, LargeInputsSplitAcrossThreadsMatchReference) {
  Tensor a = Random({300, 301}, 1), b = Random({300, 301}, 2);
  for (const char* op : {"graft.Add", "graft.Mul"}) {
    auto fast = RunOp(op, NoAttrs{}, {a, b}, KernelKind::kFast);
    auto ref = RunOp(op, NoAttrs{}, {a, b}, KernelKind::kReference);
    ASSERT_TRUE(fast.ok() && ref.ok());
    EXPECT_TRUE(AllClose((*fast)[0], (*ref)[0], 0, 0)) << op;
  }
}

TEST(Elementwise, ShapeErrors) {
  auto r = InferOp("graft.Add", NoAttrs{}, {{DType::kF32, {2, 3}}, {DType::kF32, {3, 2}}});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("inputs must have equal types"), std::string::npos);
  r = InferOp("graft.BroadcastLike", NoAttrs{}, {{DType::kF32, {2}}, {DType::kF32, {3, 2}}});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("must be a scalar"), std::string::npos);
  auto ok = InferOp("graft.ReduceSum", NoAttrs{}, {{DType::kF32, {-1, 3}}});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ((*ok)[0].shape, Shape{});
}

TEST(Elementwise, Gradients) {
  Tensor a = Random({3, 4}, 3), b = Random({3, 4}, 4);
  for (const char* op : {"graft.Add", "graft.Mul"}) {
    auto r = autodiff::CheckGradients(op, NoAttrs{}, {a, b});
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_TRUE(r->ok) << op << ": " << r->ToString();
  }
  auto r = autodiff::CheckGradients("graft.ReduceSum", NoAttrs{}, {a});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->ok) << r->ToString();
  r = autodiff::CheckGradients("graft.BroadcastLike", NoAttrs{}, {Tensor::Scalar<float>(0.3f), a},
                               {.wrt = {0}});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->ok) << r->ToString();
}

TEST(GradCheck, CatchesAWrongGradient) {
  // The checker must be able to fail: Relu's rule evaluated at the kink gives the one-sided
  // derivative 0, while the central difference there is 0.5.
  Tensor x = Tensor::FromVector<float>({2}, {0.0f, 1.0f});
  auto r = autodiff::CheckGradients("graft.Relu", NoAttrs{}, {x});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->ok);
  EXPECT_NE(r->worst.find("input 0 [0]"), std::string::npos) << r->worst;
}

}  // namespace
}  // namespace graft
