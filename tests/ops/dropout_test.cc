#include "ops/dropout.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "autodiff/grad_check.h"
#include "autodiff/gradients.h"
#include "gtest/gtest.h"
#include "runtime/plan.h"
#include "runtime/threads.h"
#include "tests/testing.h"

namespace graft {
namespace {

using ::graft::testing::AllClose;
using ::graft::testing::InferOp;
using ::graft::testing::Random;
using ::graft::testing::RunOp;

Tensor Step(float s) { return Tensor::Scalar<float>(s); }

// (y, mask) for one run of graft.Dropout.
std::vector<Tensor> RunDropout(const Tensor& x, float step, ops::DropoutAttrs a,
                               KernelKind kind = KernelKind::kFast) {
  auto out = RunOp("graft.Dropout", a, {x, Step(step)}, kind);
  EXPECT_TRUE(out.ok()) << out.status();
  return out.ok() ? *out : std::vector<Tensor>{Tensor(), Tensor()};
}

bool BitwiseEqual(const Tensor& a, const Tensor& b) {
  return a.type() == b.type() && std::memcmp(a.raw_data(), b.raw_data(), a.nbytes()) == 0;
}

TEST(DropoutShape, TypesAndUnknownBatch) {
  auto t =
      InferOp("graft.Dropout", ops::DropoutAttrs{}, {{DType::kF32, {-1, 5, 3}}, {DType::kF32, {}}});
  ASSERT_TRUE(t.ok()) << t.status();
  ASSERT_EQ(t->size(), 2u);  // y and the hidden mask
  EXPECT_EQ((*t)[0], (TensorType{DType::kF32, {-1, 5, 3}}));
  EXPECT_EQ((*t)[1], (TensorType{DType::kF32, {-1, 5, 3}}));
}

TEST(DropoutShape, Errors) {
  const TensorType x{DType::kF32, {-1, 4}}, step{DType::kF32, {}};
  for (double rate : {-0.1, 1.5, std::nan("")}) {
    auto t = InferOp("graft.Dropout", ops::DropoutAttrs{.rate = rate}, {x, step});
    ASSERT_FALSE(t.ok()) << rate;
    EXPECT_NE(t.status().message().find("Expected a float value between 0 and 1"),
              std::string::npos)
        << t.status();
  }
  auto bad_step = InferOp("graft.Dropout", ops::DropoutAttrs{}, {x, {DType::kF32, {1}}});
  ASSERT_FALSE(bad_step.ok());
  EXPECT_NE(bad_step.status().message().find("step must be a float scalar"), std::string::npos)
      << bad_step.status();
  auto int_x = InferOp("graft.Dropout", ops::DropoutAttrs{}, {{DType::kI32, {2}}, step});
  EXPECT_FALSE(int_x.ok());
}

TEST(Dropout, MaskStatisticsAndScaling) {
  const Tensor x = Random({100, 1000}, 7, -2, 2);
  for (double rate : {0.1, 0.3, 0.5, 0.9}) {
    std::vector<Tensor> out = RunDropout(x, 3, {.rate = rate, .seed = 11});
    const float scale = static_cast<float>(1 / (1 - rate));
    int64_t kept = 0;
    for (int64_t i = 0; i < x.num_elements(); ++i) {
      const float m = out[1].data<float>()[i];
      ASSERT_TRUE(m == 0.f || m == scale) << i << ": " << m;
      if (m != 0.f) ++kept;
      ASSERT_EQ(out[0].data<float>()[i], x.data<float>()[i] * m) << i;
    }
    // 1e5 Bernoulli draws: the standard deviation of the kept fraction is below 0.0016.
    const double fraction = static_cast<double>(kept) / static_cast<double>(x.num_elements());
    EXPECT_NEAR(fraction, 1 - rate, 0.008) << "rate " << rate;
  }
}

TEST(Dropout, RateZeroIsIdentityAndRateOneDropsEverything) {
  const Tensor x = Random({7, 9}, 3);
  std::vector<Tensor> none = RunDropout(x, 0, {.rate = 0});
  EXPECT_TRUE(BitwiseEqual(none[0], x));
  std::vector<Tensor> all = RunDropout(x, 0, {.rate = 1});
  for (int64_t i = 0; i < x.num_elements(); ++i) {
    EXPECT_EQ(all[0].data<float>()[i], 0.f);
    EXPECT_EQ(all[1].data<float>()[i], 0.f);
  }
}

TEST(Dropout, DeterministicAcrossCallsThreadsAndKernels) {
  const Tensor x = Random({64, 1024}, 5);  // large enough for the TBB loop to split
  const ops::DropoutAttrs a{.rate = 0.4, .seed = 42};
  SetNumThreads(1);
  std::vector<Tensor> one = RunDropout(x, 17, a);
  SetNumThreads(2);
  std::vector<Tensor> two = RunDropout(x, 17, a);
  std::vector<Tensor> again = RunDropout(x, 17, a);
  SetNumThreads(0);
  std::vector<Tensor> ref = RunDropout(x, 17, a, KernelKind::kReference);
  for (int k : {0, 1}) {
    EXPECT_TRUE(BitwiseEqual(one[k], two[k])) << k;
    EXPECT_TRUE(BitwiseEqual(two[k], again[k])) << k;
    EXPECT_TRUE(BitwiseEqual(one[k], ref[k])) << k;
  }
}

// Element i's draw depends on (seed, step, i) only: a longer tensor extends a shorter one's mask.
TEST(Dropout, MaskIsCounterBased) {
  const ops::DropoutAttrs a{.rate = 0.5, .seed = 9};
  std::vector<Tensor> small = RunDropout(Random({10}, 1), 4, a);
  std::vector<Tensor> large = RunDropout(Random({50000}, 2), 4, a);
  for (int64_t i = 0; i < 10; ++i) {
    EXPECT_EQ(small[1].data<float>()[i], large[1].data<float>()[i]) << i;
  }
}

int64_t Differences(const Tensor& a, const Tensor& b) {
  int64_t n = 0;
  for (int64_t i = 0; i < a.num_elements(); ++i) n += a.data<float>()[i] != b.data<float>()[i];
  return n;
}

// With row_offset r, rows [r, r + n) draw the masks those rows get in the whole batch (a train
// step in chunks, keras/chunked_train.h), in the fast and the reference kernel.
TEST(Dropout, RowOffsetDrawsTheWholeBatchsRows) {
  const ops::DropoutAttrs a{.rate = 0.5, .seed = 21};
  const Tensor whole = Random({12, 3, 5}, 4);
  std::vector<Tensor> all = RunDropout(whole, 6, a);
  for (KernelKind kind : {KernelKind::kFast, KernelKind::kReference}) {
    for (int64_t r : {0, 4, 9}) {
      const Tensor rows = whole.SliceRows(r, std::min<int64_t>(12, r + 4));
      auto out = RunOp("graft.Dropout", a, {rows, Step(6), Step(static_cast<float>(r))}, kind);
      ASSERT_TRUE(out.ok()) << out.status();
      EXPECT_TRUE(BitwiseEqual((*out)[1], all[1].SliceRows(r, std::min<int64_t>(12, r + 4))))
          << "row offset " << r;
    }
  }
  // Without the offset a chunk draws from row 0: its mask is the first rows' (the reason for it).
  std::vector<Tensor> from_zero = RunDropout(whole.SliceRows(4, 8), 6, a);
  EXPECT_TRUE(BitwiseEqual(from_zero[1], all[1].SliceRows(0, 4)));
  EXPECT_GT(Differences(from_zero[1], all[1].SliceRows(4, 8)), 10);
}

TEST(Dropout, BadRowOffsetIsAnError) {
  const Tensor x = Random({4, 2}, 1);
  for (float r : {-1.f, 0.5f, std::nanf("")}) {
    auto out = RunOp("graft.Dropout", ops::DropoutAttrs{}, {x, Step(0), Step(r)});
    ASSERT_FALSE(out.ok()) << r;
    EXPECT_NE(out.status().message().find("row_offset must be a non-negative whole number"),
              std::string::npos)
        << out.status();
  }
  auto shape = InferOp("graft.Dropout", ops::DropoutAttrs{},
                       {x.type(), Step(0).type(), Tensor(DType::kF32, {2}).type()});
  ASSERT_FALSE(shape.ok());
  EXPECT_NE(shape.status().message().find("row_offset must be a float scalar"), std::string::npos)
      << shape.status();
}

TEST(Dropout, StepsAndSeedsGiveDifferentMasks) {
  const Tensor x = Random({1000}, 3);
  const ops::DropoutAttrs a{.rate = 0.5, .seed = 1};
  std::vector<Tensor> s0 = RunDropout(x, 0, a), s1 = RunDropout(x, 1, a);
  std::vector<Tensor> other_seed = RunDropout(x, 0, {.rate = 0.5, .seed = 2});
  // Independent masks at rate 0.5 differ in about half the positions.
  EXPECT_GT(Differences(s0[1], s1[1]), 400);
  EXPECT_GT(Differences(s0[1], other_seed[1]), 400);
}

TEST(Dropout, BadStepIsARunError) {
  const Tensor x = Random({4}, 1);
  for (float step : {-1.f, 2.5f, std::nanf("")}) {
    auto out = RunOp("graft.Dropout", ops::DropoutAttrs{}, {x, Step(step)});
    ASSERT_FALSE(out.ok()) << step;
    EXPECT_NE(out.status().message().find("non-negative whole number"), std::string::npos)
        << out.status();
  }
}

TEST(Dropout, GradientMatchesCentralDifferences) {
  const Tensor x = Random({5, 6}, 8);
  auto report = autodiff::CheckGradients("graft.Dropout", ops::DropoutAttrs{.rate = 0.3, .seed = 5},
                                         {x, Step(2)}, {.wrt = {0}});
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->ok) << report->ToString();
  EXPECT_EQ(report->entries_checked, 30);
}

// Through the builder and autodiff: dx = dy * mask, and step gets no gradient.
TEST(Dropout, BuilderGradientIsDyTimesMask) {
  Graph g;
  const Tensor x = Random({6, 5}, 4), dy = Random({6, 5}, 6);
  Value xv = g.Placeholder(x.type(), "x");
  Value dyv = g.Placeholder(dy.type(), "dy");
  Value step = g.Placeholder({DType::kF32, {}}, "step");
  absl::StatusOr<Value> y = ops::Dropout(g, xv, step, {.rate = 0.5, .seed = 3}, "dropout");
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(g.node(*y).name, "dropout");
  Value loss = *g.Add("graft.ReduceSum", {*g.Add("graft.Mul", {*y, dyv})});
  auto grads = autodiff::Gradients(g, loss, {xv});
  ASSERT_TRUE(grads.ok()) << grads.status();
  auto plan =
      Plan::Compile(g, {.feeds = {xv, dyv, step}, .fetches = {Value{y->node, 1}, (*grads)[0]}},
                    {x.type(), dy.type(), TensorType{DType::kF32, {}}});
  ASSERT_TRUE(plan.ok()) << plan.status();
  std::vector<Tensor> out;
  ASSERT_TRUE((*plan)->Run({x, dy, Step(5)}, &out).ok());
  for (int64_t i = 0; i < x.num_elements(); ++i) {
    EXPECT_EQ(out[1].data<float>()[i], dy.data<float>()[i] * out[0].data<float>()[i]) << i;
  }
  EXPECT_FALSE(ops::Dropout(g, xv, step, {.rate = 2}).ok());
}

}  // namespace
}  // namespace graft
