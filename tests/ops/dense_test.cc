#include "ops/dense.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "autodiff/grad_check.h"
#include "autodiff/gradients.h"
#include "gtest/gtest.h"
#include "runtime/plan.h"
#include "tests/testing.h"

namespace graft {
namespace {

using ::graft::testing::Contains;
using ::graft::testing::F32;

using ::graft::testing::AllClose;
using ::graft::testing::Golden;
using ::graft::testing::InferOp;
using ::graft::testing::Random;
using ::graft::testing::RunOp;

// ---- shapes ---------------------------------------------------------------------------------

struct ShapeCase {
  std::string op;
  std::vector<TensorType> inputs;
  std::vector<Shape> want;  // empty: an error containing `error`
  std::string error;
};

TensorType F64(Shape s) { return {DType::kF64, std::move(s)}; }

class DenseShapes : public ::testing::TestWithParam<ShapeCase> {};

TEST_P(DenseShapes, InferOrExplain) {
  const ShapeCase& c = GetParam();
  absl::StatusOr<std::vector<TensorType>> got = InferOp(c.op, NoAttrs{}, c.inputs);
  if (c.want.empty()) {
    ASSERT_FALSE(got.ok()) << "expected an error containing: " << c.error;
    EXPECT_TRUE(Contains(got.status().message(), c.error)) << got.status();
    EXPECT_TRUE(Contains(got.status().message(), absl::StrCat("(", c.op, ")"))) << got.status();
    return;
  }
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), c.want.size());
  for (size_t i = 0; i < c.want.size(); ++i) {
    EXPECT_EQ((*got)[i].shape, c.want[i]) << (*got)[i].ToString();
    EXPECT_EQ((*got)[i].dtype, c.inputs[0].dtype);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, DenseShapes,
    ::testing::Values(
        // Forward.
        ShapeCase{"graft.Dense", {F32({-1, 1536}), F32({1536, 1}), F32({1})}, {{-1, 1}}},
        ShapeCase{"graft.Dense", {F32({-1, 7200}), F32({7200, 10})}, {{-1, 10}}},
        ShapeCase{"graft.Dense", {F32({4, 3, 5}), F32({5, 2}), F32({2})}, {{4, 3, 2}}},
        ShapeCase{"graft.Dense", {F32({-1, 7, 5}), F32({5, 2})}, {{-1, 7, 2}}},
        ShapeCase{"graft.Dense", {F64({2, 3}), F64({3, 4})}, {{2, 4}}},
        ShapeCase{"graft.Dense",
                  {F32({-1, 1537}), F32({1536, 1}), F32({1})},
                  {},
                  "expected input last dimension 1536 (the kernel's in-features), got 1537"},
        ShapeCase{"graft.Dense", {F32({-1}), F32({1, 1})}, {}, "rank >= 2"},
        ShapeCase{"graft.Dense", {F32({-1, 3}), F32({3, 2, 1})}, {}, "kernel of rank 2"},
        ShapeCase{"graft.Dense", {F32({-1, 3}), F32({3})}, {}, "kernel of rank 2"},
        ShapeCase{"graft.Dense",
                  {F32({-1, 3}), F32({3, 1}), F32({2})},
                  {},
                  "expected bias shape (1,) (the kernel's units), got (2,)"},
        ShapeCase{"graft.Dense", {F32({-1, 3}), F32({3, 2}), F32({1, 2})}, {}, "bias shape (2,)"},
        ShapeCase{"graft.Dense", {F32({-1, 3}), F64({3, 2})}, {}, "kernel dtype float64"},
        ShapeCase{"graft.Dense", {F32({-1, 3}), F32({3, 2}), F64({2})}, {}, "bias dtype"},
        ShapeCase{"graft.Dense", {F32({-1, -1}), F32({3, 2})}, {}, "must be known"},
        // Backward data: (dy, w) -> dx.
        ShapeCase{"graft.DenseBackwardData", {F32({-1, 1}), F32({1536, 1})}, {{-1, 1536}}},
        ShapeCase{"graft.DenseBackwardData", {F32({-1, 3, 4}), F32({5, 4})}, {{-1, 3, 5}}},
        ShapeCase{"graft.DenseBackwardData",
                  {F32({-1, 3}), F32({5, 4})},
                  {},
                  "expected dy last dimension 4 (the kernel's units), got 3"},
        // Backward weights: (x, dy) -> (dw, db).
        ShapeCase{"graft.DenseBackwardWeights", {F32({-1, 1536}), F32({-1, 1})}, {{1536, 1}, {1}}},
        ShapeCase{"graft.DenseBackwardWeights", {F32({2, 3, 5}), F32({2, 3, 4})}, {{5, 4}, {4}}},
        ShapeCase{"graft.DenseBackwardWeights",
                  {F32({2, 3, 5}), F32({2, 4, 4})},
                  {},
                  "leading dimensions of the input and dy must match"},
        ShapeCase{"graft.DenseBackwardWeights",
                  {F32({6, 5}), F32({2, 3, 4})},
                  {},
                  "leading dimensions of the input and dy must match"}));

TEST(DenseBuilder, ErrorNamesTheNode) {
  Graph g;
  Value x = g.Placeholder(F32({-1, 1537}), "x");
  Value w = g.Variable(Tensor(DType::kF32, {1536, 1}), "kernel");
  Value b = g.Variable(Tensor(DType::kF32, {1}), "bias");
  absl::StatusOr<Value> y = ops::Dense(g, x, w, b, "dense");
  ASSERT_FALSE(y.ok());
  EXPECT_EQ(y.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(y.status().message(),
                       "dense (graft.Dense): expected input last dimension 1536 (the kernel's "
                       "in-features), got 1537"))
      << y.status();
}

TEST(DenseBuilder, BuildsWithAndWithoutBias) {
  Graph g;
  Value x = g.Placeholder(F32({-1, 4}), "x");
  Value w = g.Variable(Tensor(DType::kF32, {4, 3}), "kernel");
  Value b = g.Variable(Tensor(DType::kF32, {3}), "bias");
  absl::StatusOr<Value> y1 = ops::Dense(g, x, w, b);
  absl::StatusOr<Value> y2 = ops::Dense(g, x, w, std::nullopt, "no_bias");
  ASSERT_TRUE(y1.ok()) << y1.status();
  ASSERT_TRUE(y2.ok()) << y2.status();
  EXPECT_EQ(g.type(*y1), F32({-1, 3}));
  EXPECT_EQ(g.type(*y2), F32({-1, 3}));
  EXPECT_EQ(g.node(*y1).inputs.size(), 3u);
  EXPECT_EQ(g.node(*y2).inputs.size(), 2u);
  EXPECT_EQ(g.node(*y1).name, "Dense");
  EXPECT_EQ(g.node(*y2).name, "no_bias");
}

// ---- oneDNN vs reference --------------------------------------------------------------------

struct KernelCase {
  Shape x;  // (..., in)
  int64_t units;
  bool bias;
};

std::string CaseName(const ::testing::TestParamInfo<KernelCase>& info) {
  std::string s = "x";
  for (int64_t d : info.param.x.dims()) absl::StrAppend(&s, "_", d);
  return absl::StrCat(s, "_units_", info.param.units, info.param.bias ? "_bias" : "_nobias");
}

class DenseKernels : public ::testing::TestWithParam<KernelCase> {
 protected:
  Shape DyShape() const {
    Shape s = GetParam().x;
    s.set_dim(-1, GetParam().units);
    return s;
  }
};

void ExpectSame(const std::string& op, const std::vector<Tensor>& inputs, int outputs) {
  auto fast = RunOp(op, NoAttrs{}, inputs, KernelKind::kFast);
  auto ref = RunOp(op, NoAttrs{}, inputs, KernelKind::kReference);
  ASSERT_TRUE(fast.ok()) << fast.status();
  ASSERT_TRUE(ref.ok()) << ref.status();
  ASSERT_EQ(fast->size(), static_cast<size_t>(outputs));
  for (int i = 0; i < outputs; ++i) {
    EXPECT_TRUE(AllClose((*fast)[i], (*ref)[i], 1e-5, 1e-5)) << op << " output " << i;
  }
}

TEST_P(DenseKernels, ForwardOneDnnMatchesReference) {
  const KernelCase& c = GetParam();
  const int64_t in = c.x.dim(-1);
  std::vector<Tensor> inputs = {Random(c.x, 1), Random({in, c.units}, 2)};
  if (c.bias) inputs.push_back(Random({c.units}, 3));
  ExpectSame("graft.Dense", inputs, 1);
}

TEST_P(DenseKernels, BackwardDataOneDnnMatchesReference) {
  const KernelCase& c = GetParam();
  ExpectSame("graft.DenseBackwardData", {Random(DyShape(), 4), Random({c.x.dim(-1), c.units}, 5)},
             1);
}

TEST_P(DenseKernels, BackwardWeightsOneDnnMatchesReference) {
  ExpectSame("graft.DenseBackwardWeights", {Random(GetParam().x, 6), Random(DyShape(), 7)}, 2);
}

INSTANTIATE_TEST_SUITE_P(Sizes, DenseKernels,
                         ::testing::Values(KernelCase{{1, 1}, 1, true}, KernelCase{{3, 5}, 4, true},
                                           KernelCase{{3, 5}, 4, false},
                                           KernelCase{{17, 33}, 65, true},
                                           KernelCase{{2, 3, 7}, 6, true},
                                           KernelCase{{2, 3, 7}, 6, false},
                                           KernelCase{{2, 4, 3, 5}, 2, true},
                                           // Enough columns for db to split across threads.
                                           KernelCase{{64, 20}, 300, true}),
                         CaseName);

TEST(DenseKernels, BackwardWeightsIsDeterministic) {
  Tensor x = Random({64, 20}, 8), dy = Random({64, 300}, 9);
  auto a = RunOp("graft.DenseBackwardWeights", NoAttrs{}, {x, dy});
  auto b = RunOp("graft.DenseBackwardWeights", NoAttrs{}, {x, dy});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(AllClose((*a)[0], (*b)[0], 0, 0));
  EXPECT_TRUE(AllClose((*a)[1], (*b)[1], 0, 0));
}

TEST(DenseKernels, KnownValues) {
  // x = [[1, 2]], w = [[1, 2, 3], [4, 5, 6]], b = [0.5, 0, -1] -> y = [[9.5, 12, 14]].
  Tensor x = Tensor::FromVector<float>({1, 2}, {1, 2});
  Tensor w = Tensor::FromVector<float>({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor b = Tensor::FromVector<float>({3}, {0.5f, 0, -1});
  Tensor want = Tensor::FromVector<float>({1, 3}, {9.5f, 12, 14});
  for (KernelKind k : {KernelKind::kFast, KernelKind::kReference}) {
    auto y = RunOp("graft.Dense", NoAttrs{}, {x, w, b}, k);
    ASSERT_TRUE(y.ok()) << y.status();
    EXPECT_TRUE(AllClose((*y)[0], want, 0, 0));
  }
}

// An empty batch: y and dx are empty, dw and db are empty sums (zeros).
TEST(DenseKernels, EmptyBatch) {
  Tensor x(DType::kF32, {0, 3}), dy(DType::kF32, {0, 2});
  Tensor w = Random({3, 2}, 1), b = Random({2}, 2);
  for (KernelKind k : {KernelKind::kFast, KernelKind::kReference}) {
    auto y = RunOp("graft.Dense", NoAttrs{}, {x, w, b}, k);
    ASSERT_TRUE(y.ok()) << y.status();
    EXPECT_EQ((*y)[0].shape(), Shape({0, 2}));
    auto dx = RunOp("graft.DenseBackwardData", NoAttrs{}, {dy, w}, k);
    ASSERT_TRUE(dx.ok()) << dx.status();
    EXPECT_EQ((*dx)[0].shape(), Shape({0, 3}));
    auto dwb = RunOp("graft.DenseBackwardWeights", NoAttrs{}, {x, dy}, k);
    ASSERT_TRUE(dwb.ok()) << dwb.status();
    EXPECT_TRUE(AllClose((*dwb)[0], Tensor(DType::kF32, {3, 2}), 0, 0));
    EXPECT_TRUE(AllClose((*dwb)[1], Tensor(DType::kF32, {2}), 0, 0));
  }
}

// Zero in-features: y is the bias in every row.
TEST(DenseKernels, ZeroInFeatures) {
  Tensor x(DType::kF32, {2, 0}), w(DType::kF32, {0, 3});
  Tensor b = Tensor::FromVector<float>({3}, {1, 2, 3});
  Tensor want = Tensor::FromVector<float>({2, 3}, {1, 2, 3, 1, 2, 3});
  for (KernelKind k : {KernelKind::kFast, KernelKind::kReference}) {
    auto y = RunOp("graft.Dense", NoAttrs{}, {x, w, b}, k);
    ASSERT_TRUE(y.ok()) << y.status();
    EXPECT_TRUE(AllClose((*y)[0], want, 0, 0));
  }
}

// ---- gradients ------------------------------------------------------------------------------

TEST(DenseGradients, Rank2WithBias) {
  auto r = autodiff::CheckGradients("graft.Dense", NoAttrs{},
                                    {Random({3, 4}, 1), Random({4, 2}, 2), Random({2}, 3)});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->ok) << r->ToString();
  EXPECT_EQ(r->entries_checked, 12 + 8 + 2);
}

TEST(DenseGradients, Rank2NoBias) {
  auto r =
      autodiff::CheckGradients("graft.Dense", NoAttrs{}, {Random({5, 3}, 4), Random({3, 4}, 5)});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->ok) << r->ToString();
  EXPECT_EQ(r->entries_checked, 15 + 12);
}

TEST(DenseGradients, Rank3WithBias) {
  auto r = autodiff::CheckGradients("graft.Dense", NoAttrs{},
                                    {Random({2, 3, 4}, 6), Random({4, 3}, 7), Random({3}, 8)});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->ok) << r->ToString();
  EXPECT_EQ(r->entries_checked, 24 + 12 + 3);
}

TEST(DenseGradients, Rank3NoBias) {
  auto r = autodiff::CheckGradients("graft.Dense", NoAttrs{},
                                    {Random({2, 2, 3}, 9), Random({3, 2}, 10)});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->ok) << r->ToString();
}

// Second order: the backward ops are differentiable too.
TEST(DenseGradients, BackwardDataIsDifferentiable) {
  auto r = autodiff::CheckGradients("graft.DenseBackwardData", NoAttrs{},
                                    {Random({2, 3, 4}, 11), Random({5, 4}, 12)});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->ok) << r->ToString();
}

TEST(DenseGradients, BackwardWeightsIsDifferentiable) {
  auto r = autodiff::CheckGradients("graft.DenseBackwardWeights", NoAttrs{},
                                    {Random({2, 3, 4}, 13), Random({2, 3, 5}, 14)});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->ok) << r->ToString();
}

int CountOp(const Graph& g, absl::string_view op) {
  int n = 0;
  for (int i = 0; i < g.num_nodes(); ++i) n += g.node(i).op->name == op;
  return n;
}

// The rule emits only the backward ops some needed gradient uses.
TEST(DenseGradients, EmitsOnlyNeededBackwardOps) {
  struct Want {
    std::vector<int> wrt;  // 0 = x, 1 = w, 2 = b
    int data, weights;
  };
  for (const Want& want : {Want{{0}, 1, 0}, Want{{1}, 0, 1}, Want{{2}, 0, 1}, Want{{1, 2}, 0, 1},
                           Want{{0, 1, 2}, 1, 1}}) {
    Graph g;
    std::vector<Value> in = {g.Placeholder(F32({-1, 3}), "x"),
                             g.Variable(Random({3, 2}, 1), "kernel"),
                             g.Variable(Random({2}, 2), "bias")};
    absl::StatusOr<Value> y = ops::Dense(g, in[0], in[1], in[2]);
    ASSERT_TRUE(y.ok()) << y.status();
    absl::StatusOr<Value> loss = g.Add("graft.ReduceSum", {*y});
    ASSERT_TRUE(loss.ok()) << loss.status();
    std::vector<Value> wrt;
    for (int i : want.wrt) wrt.push_back(in[i]);
    absl::StatusOr<std::vector<Value>> grads = autodiff::Gradients(g, *loss, wrt);
    ASSERT_TRUE(grads.ok()) << grads.status();
    EXPECT_EQ(CountOp(g, "graft.DenseBackwardData"), want.data) << want.wrt.size();
    EXPECT_EQ(CountOp(g, "graft.DenseBackwardWeights"), want.weights) << want.wrt.size();
  }
}

// ---- PyTorch golden data (tools/golden/dense.py) ----------------------------------------------

class DenseGolden : public ::testing::TestWithParam<const char*> {
 protected:
  Tensor G(const char* what) { return Golden(absl::StrCat("dense_", GetParam(), "_", what)); }
};

TEST_P(DenseGolden, FastKernelsMatchPyTorch) {
  Tensor x = G("x"), w = G("w"), b = G("b"), dy = G("dy");
  auto y = RunOp("graft.Dense", NoAttrs{}, {x, w, b});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_TRUE(AllClose((*y)[0], G("y")));
  auto dx = RunOp("graft.DenseBackwardData", NoAttrs{}, {dy, w});
  ASSERT_TRUE(dx.ok()) << dx.status();
  EXPECT_TRUE(AllClose((*dx)[0], G("dx")));
  auto dwb = RunOp("graft.DenseBackwardWeights", NoAttrs{}, {x, dy});
  ASSERT_TRUE(dwb.ok()) << dwb.status();
  EXPECT_TRUE(AllClose((*dwb)[0], G("dw")));
  EXPECT_TRUE(AllClose((*dwb)[1], G("db")));
}

// The whole path: graph, autodiff's rule, a fast plan with an unknown batch in the graph.
TEST_P(DenseGolden, GradientPlanMatchesPyTorch) {
  Tensor x = G("x"), w = G("w"), b = G("b"), dy = G("dy");
  Graph g;
  Shape xs = x.shape();
  xs.set_dim(0, -1);
  Value xv = g.Placeholder(F32(xs), "x");
  Value wv = g.Variable(w.Clone(), "kernel");
  Value bv = g.Variable(b.Clone(), "bias");
  absl::StatusOr<Value> y = ops::Dense(g, xv, wv, bv, "dense");
  ASSERT_TRUE(y.ok()) << y.status();
  // L = sum(y * dy), so dL/dy = dy.
  Shape dys = dy.shape();
  dys.set_dim(0, -1);
  Value c = g.Placeholder(F32(dys), "cotangent");
  absl::StatusOr<Value> prod = g.Add("graft.Mul", {*y, c});
  ASSERT_TRUE(prod.ok()) << prod.status();
  absl::StatusOr<Value> loss = g.Add("graft.ReduceSum", {*prod});
  ASSERT_TRUE(loss.ok()) << loss.status();
  absl::StatusOr<std::vector<Value>> grads = autodiff::Gradients(g, *loss, {xv, wv, bv});
  ASSERT_TRUE(grads.ok()) << grads.status();
  std::vector<Value> fetches = {*y};
  fetches.insert(fetches.end(), grads->begin(), grads->end());
  auto plan = Plan::Compile(g, {.feeds = {xv, c}, .fetches = fetches}, {x.type(), dy.type()});
  ASSERT_TRUE(plan.ok()) << plan.status();
  std::vector<Tensor> out;
  absl::Status s = (*plan)->Run({x, dy}, &out);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_TRUE(AllClose(out[0], G("y")));
  EXPECT_TRUE(AllClose(out[1], G("dx")));
  EXPECT_TRUE(AllClose(out[2], G("dw")));
  EXPECT_TRUE(AllClose(out[3], G("db")));
}

INSTANTIATE_TEST_SUITE_P(PyTorch, DenseGolden, ::testing::Values("r2", "r3"));

// ---- plans ----------------------------------------------------------------------------------

// y = Dense(x, w, b?) and the gradients of sum(y * dy) with respect to x, w and b, from one
// plan compiled for (4, 7) feeds.
absl::StatusOr<std::unique_ptr<Plan>> DensePlan(Graph& g, bool bias) {
  Value xv = g.Placeholder(F32({-1, 7}), "x");
  Value cv = g.Placeholder(F32({-1, 5}), "cotangent");
  Value wv = g.Variable(Random({7, 5}, 21), "kernel");
  std::optional<Value> bv;
  std::vector<Value> wrt = {xv, wv};
  if (bias) {
    bv = g.Variable(Random({5}, 22), "bias");
    wrt.push_back(*bv);
  }
  absl::StatusOr<Value> y = ops::Dense(g, xv, wv, bv, "dense");
  if (!y.ok()) return y.status();
  absl::StatusOr<Value> prod = g.Add("graft.Mul", {*y, cv});
  if (!prod.ok()) return prod.status();
  absl::StatusOr<Value> loss = g.Add("graft.ReduceSum", {*prod});
  if (!loss.ok()) return loss.status();
  absl::StatusOr<std::vector<Value>> grads = autodiff::Gradients(g, *loss, wrt);
  if (!grads.ok()) return grads.status();
  std::vector<Value> fetches = {*y};
  fetches.insert(fetches.end(), grads->begin(), grads->end());
  return Plan::Compile(g, {.feeds = {xv, cv}, .fetches = fetches}, {F32({4, 7}), F32({4, 5})});
}

// The oneDNN kernels build their arguments once per plan and re-point them only when a feed's
// storage moves: one plan run on alternating feeds gives, bitwise, what a fresh plan gives.
TEST(DensePlan, RerunOnNewFeedsMatchesFreshPlan) {
  for (bool bias : {true, false}) {
    Graph g;
    auto plan = DensePlan(g, bias);
    ASSERT_TRUE(plan.ok()) << plan.status();
    const std::vector<Tensor> xs = {Random({4, 7}, 31), Random({4, 7}, 32)};
    const std::vector<Tensor> cs = {Random({4, 5}, 33), Random({4, 5}, 34)};
    for (int run = 0; run < 4; ++run) {
      const int i = run % 2;
      std::vector<Tensor> out, want;
      ASSERT_TRUE((*plan)->Run({xs[i].Clone(), cs[i].Clone()}, &out).ok());
      Graph fresh_graph;
      auto fresh = DensePlan(fresh_graph, bias);
      ASSERT_TRUE(fresh.ok()) << fresh.status();
      ASSERT_TRUE((*fresh)->Run({xs[i], cs[i]}, &want).ok());
      ASSERT_EQ(out.size(), want.size());
      for (size_t k = 0; k < out.size(); ++k) {
        EXPECT_TRUE(AllClose(out[k], want[k], 0, 0))
            << "bias " << bias << " run " << run << " fetch " << k;
      }
    }
  }
}

}  // namespace
}  // namespace graft
