// Tests of ops/conv.cc: Conv1D shape inference and errors, oneDNN kernels against the
// reference loops, gradients against central differences, and everything against PyTorch
// golden data (tools/golden/conv1d.py).
#include "ops/conv.h"

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "autodiff/grad_check.h"
#include "autodiff/gradients.h"
#include "gtest/gtest.h"
#include "ops/padding.h"
#include "runtime/plan.h"
#include "tests/testing.h"

namespace graft {
namespace {

using ::graft::ops::Conv1DAttrs;
using ::graft::ops::Conv1DBackwardDataAttrs;
using ::graft::ops::Conv1DBackwardWeightsAttrs;
using ::graft::ops::Padding;
using ::graft::testing::AllClose;
using ::graft::testing::Golden;
using ::graft::testing::InferOp;
using ::graft::testing::Random;
using ::graft::testing::RunOp;

TensorType F32(Shape s) { return {DType::kF32, std::move(s)}; }

std::vector<TensorType> ConvInputs(Shape x, Shape w, std::optional<Shape> b) {
  std::vector<TensorType> in = {F32(std::move(x)), F32(std::move(w))};
  if (b.has_value()) in.push_back(F32(*b));
  return in;
}

// ---- shapes ---------------------------------------------------------------------------------

struct ShapeCase {
  const char* label;
  Shape x, w;
  std::optional<Shape> b;
  Conv1DAttrs attrs;
  Shape expected;
};

TEST(Conv1DShape, Table) {
  // clang-format off
  const std::vector<ShapeCase> cases = {
      {"valid", {2, 10, 3}, {3, 3, 5}, Shape{5}, {}, {2, 8, 5}},
      {"valid k=1", {2, 10, 3}, {1, 3, 5}, Shape{5}, {}, {2, 10, 5}},
      {"valid k=L", {2, 10, 3}, {10, 3, 5}, Shape{5}, {}, {2, 1, 5}},
      {"valid stride 2 drops the last step", {2, 10, 3}, {3, 3, 5}, Shape{5}, {.stride = 2},
       {2, 4, 5}},
      {"valid stride 3", {2, 10, 3}, {3, 3, 5}, Shape{5}, {.stride = 3}, {2, 3, 5}},
      {"valid dilation 2", {2, 10, 3}, {3, 3, 5}, Shape{5}, {.dilation = 2}, {2, 6, 5}},
      {"same k=4", {2, 10, 3}, {4, 3, 5}, Shape{5}, {.padding = Padding::kSame}, {2, 10, 5}},
      {"same stride 2 even L", {2, 10, 3}, {3, 3, 5}, Shape{5},
       {.stride = 2, .padding = Padding::kSame}, {2, 5, 5}},
      {"same stride 2 odd L", {2, 9, 3}, {3, 3, 5}, Shape{5},
       {.stride = 2, .padding = Padding::kSame}, {2, 5, 5}},
      {"same stride 3", {2, 10, 3}, {2, 3, 5}, Shape{5},
       {.stride = 3, .padding = Padding::kSame}, {2, 4, 5}},
      {"same dilation 2", {2, 10, 3}, {3, 3, 5}, Shape{5},
       {.padding = Padding::kSame, .dilation = 2}, {2, 10, 5}},
      {"same kernel longer than input", {2, 3, 3}, {5, 3, 5}, Shape{5},
       {.padding = Padding::kSame}, {2, 3, 5}},
      {"causal", {2, 10, 3}, {3, 3, 5}, Shape{5}, {.padding = Padding::kCausal}, {2, 10, 5}},
      {"causal stride 2", {2, 9, 3}, {4, 3, 5}, Shape{5},
       {.stride = 2, .padding = Padding::kCausal}, {2, 5, 5}},
      {"causal dilation 2", {2, 10, 3}, {3, 3, 5}, Shape{5},
       {.padding = Padding::kCausal, .dilation = 2}, {2, 10, 5}},
      {"no bias", {2, 10, 3}, {3, 3, 5}, std::nullopt, {}, {2, 8, 5}},
      {"unknown batch", {-1, 10, 3}, {3, 3, 5}, Shape{5}, {}, {-1, 8, 5}},
      {"unknown length (valid)", {4, -1, 3}, {3, 3, 5}, Shape{5}, {}, {4, -1, 5}},
      {"unknown batch and length (same)", {-1, -1, 3}, {3, 3, 5}, Shape{5},
       {.padding = Padding::kSame}, {-1, -1, 5}},
  };
  // clang-format on
  for (const ShapeCase& c : cases) {
    SCOPED_TRACE(c.label);
    auto out = InferOp("graft.Conv1D", c.attrs, ConvInputs(c.x, c.w, c.b));
    ASSERT_TRUE(out.ok()) << out.status();
    ASSERT_EQ(out->size(), 1u);
    EXPECT_EQ((*out)[0], F32(c.expected)) << (*out)[0].ToString();
  }
}

struct ErrorCase {
  const char* label;
  Shape x, w;
  std::optional<Shape> b;
  Conv1DAttrs attrs;
  std::vector<std::string> words;  // each must appear in the message
};

TEST(Conv1DShape, ErrorsNameTheNodeAndSayExpectedVsActual) {
  // clang-format off
  const std::vector<ErrorCase> cases = {
      {"input rank 2", {4, 10}, {3, 3, 5}, Shape{5}, {},
       {"(batch, steps, channels)", "(4, 10)", "rank 2"}},
      {"input rank 4", {4, 10, 3, 1}, {3, 3, 5}, Shape{5}, {},
       {"(batch, steps, channels)", "(4, 10, 3, 1)"}},
      {"kernel rank 2", {4, 10, 3}, {3, 5}, Shape{5}, {},
       {"(kernel_size, in_channels, filters)", "(3, 5)"}},
      {"channel mismatch", {4, 10, 4}, {3, 3, 5}, Shape{5}, {},
       {"input has 4 channels", "(4, 10, 4)", "in_channels=3", "(3, 3, 5)"}},
      {"bias shape", {4, 10, 3}, {3, 3, 5}, Shape{4}, {}, {"bias", "(5,)", "(4,)"}},
      {"bias rank", {4, 10, 3}, {3, 3, 5}, Shape{1, 5}, {}, {"bias", "(5,)", "(1, 5)"}},
      {"valid output negative", {4, 1, 3}, {3, 3, 5}, Shape{5}, {},
       {"output length would be -1", "floor((1 - 1*(3-1) - 1)/1) + 1 = -1", "valid"}},
      {"valid output zero", {4, 2, 3}, {3, 3, 5}, Shape{5}, {},
       {"output length would be 0", "floor((2 - 1*(3-1) - 1)/1) + 1 = 0"}},
      {"valid output negative with dilation", {4, 4, 3}, {3, 3, 5}, Shape{5},
       {.dilation = 2}, {"output length would be 0", "floor((4 - 2*(3-1) - 1)/1) + 1 = 0"}},
      {"kernel_size 0", {4, 10, 3}, {0, 3, 5}, Shape{5}, {},
       {"`kernel_size` cannot contain 0", "kernel_size=0"}},
      {"stride 0", {4, 10, 3}, {3, 3, 5}, Shape{5}, {.stride = 0},
       {"strides", "Received strides=0", ">= 1"}},
      {"dilation 0", {4, 10, 3}, {3, 3, 5}, Shape{5}, {.dilation = 0},
       {"dilation_rate", "Received dilation_rate=0", ">= 1"}},
      {"stride and dilation", {4, 10, 3}, {3, 3, 5}, Shape{5}, {.stride = 2, .dilation = 2},
       {"`strides > 1` not supported in conjunction with `dilation_rate > 1`. Received: "
        "strides=2 and dilation_rate=2"}},
  };
  // clang-format on
  for (const ErrorCase& c : cases) {
    SCOPED_TRACE(c.label);
    auto out = InferOp("graft.Conv1D", c.attrs, ConvInputs(c.x, c.w, c.b));
    ASSERT_FALSE(out.ok()) << c.label;
    const std::string msg(out.status().message());
    EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument) << msg;
    EXPECT_NE(msg.find("Conv1D (graft.Conv1D)"), std::string::npos) << msg;
    for (const std::string& w : c.words) EXPECT_NE(msg.find(w), std::string::npos) << msg;
  }
}

TEST(Conv1DShape, BuilderNamesTheNode) {
  Graph g;
  Value x = g.Placeholder(F32({-1, 1, 3}), "x");
  Value w = g.Variable(Tensor(DType::kF32, {3, 3, 8}), "kernel");
  auto y = ops::Conv1D(g, x, w, std::nullopt, {}, "conv1d");
  ASSERT_FALSE(y.ok());
  const std::string msg(y.status().message());
  EXPECT_EQ(msg.rfind("conv1d (graft.Conv1D): output length would be -1", 0), 0u) << msg;

  Value b = g.Variable(Tensor(DType::kF32, {8}), "bias");
  Value x2 = g.Placeholder(F32({-1, 100, 3}), "x2");
  auto y2 = ops::Conv1D(g, x2, w, b, {.padding = Padding::kCausal}, "conv1d");
  ASSERT_TRUE(y2.ok()) << y2.status();
  EXPECT_EQ(g.type(*y2), F32({-1, 100, 8}));
  EXPECT_EQ(g.node(*y2).name, "conv1d");
}

TEST(Conv1DShape, BackwardOps) {
  const Conv1DAttrs same{.stride = 2, .padding = Padding::kSame};
  auto dx = InferOp("graft.Conv1DBackwardData", Conv1DBackwardDataAttrs{same, 9},
                    {F32({-1, 5, 4}), F32({3, 2, 4})});
  ASSERT_TRUE(dx.ok()) << dx.status();
  EXPECT_EQ((*dx)[0], F32({-1, 9, 2}));
  auto bad = InferOp("graft.Conv1DBackwardData", Conv1DBackwardDataAttrs{same, 9},
                     {F32({2, 4, 4}), F32({3, 2, 4})});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("expected dy of length 5"), std::string::npos)
      << bad.status();

  auto dwb = InferOp("graft.Conv1DBackwardWeights", Conv1DBackwardWeightsAttrs{same, 3},
                     {F32({-1, 9, 2}), F32({-1, 5, 4})});
  ASSERT_TRUE(dwb.ok()) << dwb.status();
  ASSERT_EQ(dwb->size(), 2u);
  EXPECT_EQ((*dwb)[0], F32({3, 2, 4}));
  EXPECT_EQ((*dwb)[1], F32({4}));
  auto bad_w = InferOp("graft.Conv1DBackwardWeights", Conv1DBackwardWeightsAttrs{same, 3},
                       {F32({2, 9, 2}), F32({2, 9, 4})});
  ASSERT_FALSE(bad_w.ok());
  EXPECT_NE(bad_w.status().message().find("expected dy of length 5"), std::string::npos)
      << bad_w.status();
}

// ---- oneDNN against the reference loops -----------------------------------------------------

struct GridCase {
  int64_t length, k, stride, dilation;
  Padding padding;
  bool bias;
};

void PrintTo(const GridCase& c, std::ostream* os) {
  *os << ops::PaddingName(c.padding) << " L=" << c.length << " k=" << c.k << " stride=" << c.stride
      << " dilation=" << c.dilation << (c.bias ? " bias" : " no bias");
}

std::vector<GridCase> Grid() {
  std::vector<GridCase> out;
  const std::pair<int64_t, int64_t> stride_dilation[] = {{1, 1}, {2, 1}, {1, 2}};
  for (int64_t length : {7, 8}) {
    for (int64_t k : {1, 2, 3, 5}) {
      for (auto [s, d] : stride_dilation) {
        for (Padding p : {Padding::kValid, Padding::kSame, Padding::kCausal}) {
          if (p == Padding::kValid && length - d * (k - 1) - 1 < 0) continue;
          for (bool bias : {true, false}) out.push_back({length, k, s, d, p, bias});
        }
      }
    }
  }
  return out;
}

std::string GridName(const ::testing::TestParamInfo<GridCase>& info) {
  const GridCase& c = info.param;
  return absl::StrCat(ops::PaddingName(c.padding), "_L", c.length, "_k", c.k, "_s", c.stride, "_d",
                      c.dilation, c.bias ? "_bias" : "_nobias");
}

class Conv1DGrid : public ::testing::TestWithParam<GridCase> {
 protected:
  static constexpr int64_t kN = 2, kCin = 3, kCout = 4;
  Conv1DAttrs attrs() const {
    return {.stride = GetParam().stride,
            .padding = GetParam().padding,
            .dilation = GetParam().dilation};
  }
  int64_t out_length() const {
    const GridCase& c = GetParam();
    return ops::ComputeGeometry(c.length, c.k, c.stride, c.dilation, c.padding).out;
  }
};

void ExpectFastMatchesReference(const std::string& op, std::any attrs,
                                const std::vector<Tensor>& inputs) {
  auto fast = RunOp(op, attrs, inputs, KernelKind::kFast);
  auto ref = RunOp(op, attrs, inputs, KernelKind::kReference);
  ASSERT_TRUE(fast.ok()) << fast.status();
  ASSERT_TRUE(ref.ok()) << ref.status();
  ASSERT_EQ(fast->size(), ref->size());
  for (size_t i = 0; i < fast->size(); ++i) {
    EXPECT_TRUE(AllClose((*fast)[i], (*ref)[i], 1e-4, 1e-5)) << op << " output " << i;
  }
}

TEST_P(Conv1DGrid, ForwardOneDnnMatchesReference) {
  const GridCase& c = GetParam();
  std::vector<Tensor> in = {Random({kN, c.length, kCin}, 1), Random({c.k, kCin, kCout}, 2)};
  if (c.bias) in.push_back(Random({kCout}, 3));
  ExpectFastMatchesReference("graft.Conv1D", attrs(), in);
}

TEST_P(Conv1DGrid, BackwardDataOneDnnMatchesReference) {
  const GridCase& c = GetParam();
  ExpectFastMatchesReference("graft.Conv1DBackwardData", Conv1DBackwardDataAttrs{attrs(), c.length},
                             {Random({kN, out_length(), kCout}, 4), Random({c.k, kCin, kCout}, 5)});
}

TEST_P(Conv1DGrid, BackwardWeightsOneDnnMatchesReference) {
  const GridCase& c = GetParam();
  ExpectFastMatchesReference(
      "graft.Conv1DBackwardWeights", Conv1DBackwardWeightsAttrs{attrs(), c.k},
      {Random({kN, c.length, kCin}, 6), Random({kN, out_length(), kCout}, 7)});
}

INSTANTIATE_TEST_SUITE_P(All, Conv1DGrid, ::testing::ValuesIn(Grid()), GridName);

// A hand-computed case: same padding, L=4, k=2 puts the one padding element on the right.
TEST(Conv1DKernels, SamePaddingGoesRight) {
  // x = [1, 2, 3, 4] (one channel), w = [10, 1]: y[o] = 10 x[o] + x[o+1], x[4] = 0.
  Tensor x = Tensor::FromVector<float>({1, 4, 1}, {1, 2, 3, 4});
  Tensor w = Tensor::FromVector<float>({2, 1, 1}, {10, 1});
  Tensor want = Tensor::FromVector<float>({1, 4, 1}, {12, 23, 34, 40});
  for (KernelKind kind : {KernelKind::kFast, KernelKind::kReference}) {
    auto y = RunOp("graft.Conv1D", Conv1DAttrs{.padding = Padding::kSame}, {x, w}, kind);
    ASSERT_TRUE(y.ok()) << y.status();
    EXPECT_TRUE(AllClose((*y)[0], want));
  }
  // causal: y[o] = 10 x[o-1] + x[o], x[-1] = 0.
  Tensor want_causal = Tensor::FromVector<float>({1, 4, 1}, {1, 12, 23, 34});
  for (KernelKind kind : {KernelKind::kFast, KernelKind::kReference}) {
    auto y = RunOp("graft.Conv1D", Conv1DAttrs{.padding = Padding::kCausal}, {x, w}, kind);
    ASSERT_TRUE(y.ok()) << y.status();
    EXPECT_TRUE(AllClose((*y)[0], want_causal));
  }
}

// ---- gradients ------------------------------------------------------------------------------

struct GradCase {
  const char* label;
  int64_t length, k;
  Conv1DAttrs attrs;
  bool bias;
};

TEST(Conv1DGradient, MatchesCentralDifferences) {
  // clang-format off
  const std::vector<GradCase> cases = {
      {"same L=10 k=4 (pads 1, 2)", 10, 4, {.padding = Padding::kSame}, true},
      {"same stride 2 L=9 k=3", 9, 3, {.stride = 2, .padding = Padding::kSame}, true},
      {"same stride 2 L=10 k=4", 10, 4, {.stride = 2, .padding = Padding::kSame}, true},
      {"causal k=3", 8, 3, {.padding = Padding::kCausal}, true},
      {"causal dilation 2 k=3", 9, 3, {.padding = Padding::kCausal, .dilation = 2}, true},
      {"causal stride 2 k=4", 9, 4, {.stride = 2, .padding = Padding::kCausal}, true},
      {"valid stride 2 drops the tail", 10, 3, {.stride = 2}, true},
      {"valid dilation 2 no bias", 9, 2, {.dilation = 2}, false},
  };
  // clang-format on
  const int64_t n = 2, cin = 2, cout = 3;
  for (const GradCase& c : cases) {
    SCOPED_TRACE(c.label);
    std::vector<Tensor> in = {Random({n, c.length, cin}, 11), Random({c.k, cin, cout}, 12)};
    if (c.bias) in.push_back(Random({cout}, 13));
    auto report = autodiff::CheckGradients("graft.Conv1D", c.attrs, in);
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_TRUE(report->ok) << report->ToString();
    EXPECT_EQ(report->entries_checked, n * c.length * cin + c.k * cin * cout + (c.bias ? cout : 0));
  }
}

int CountOps(const Graph& g, const std::string& op) {
  int count = 0;
  for (int id = 0; id < g.num_nodes(); ++id) count += g.node(id).op->name == op;
  return count;
}

TEST(Conv1DGradient, EmitsOnlyTheBackwardOpsNeeded) {
  {  // First layer: x is data, only w and b need gradients; the batch is unknown.
    Graph g;
    Value x = g.Placeholder(F32({-1, 10, 3}), "x");
    Value w = g.Variable(Random({4, 3, 5}, 1), "kernel");
    Value b = g.Variable(Random({5}, 2), "bias");
    auto y = ops::Conv1D(g, x, w, b, {.padding = Padding::kSame}, "conv1d");
    ASSERT_TRUE(y.ok()) << y.status();
    auto loss = g.Add("graft.ReduceSum", {*y});
    ASSERT_TRUE(loss.ok());
    auto grads = autodiff::Gradients(g, *loss, {w, b});
    ASSERT_TRUE(grads.ok()) << grads.status();
    EXPECT_EQ(CountOps(g, "graft.Conv1DBackwardData"), 0);
    EXPECT_EQ(CountOps(g, "graft.Conv1DBackwardWeights"), 1);
    EXPECT_EQ(g.type((*grads)[0]), F32({4, 3, 5}));
    EXPECT_EQ(g.type((*grads)[1]), F32({5}));
    ASSERT_TRUE(g.Verify().ok());

    // The plan fixes the batch; the gradients equal the backward-weights op run on its own
    // with dy = ones.
    Tensor xv = Random({2, 10, 3}, 3);
    auto plan = Plan::Compile(g, {.feeds = {x}, .fetches = *grads}, {xv.type()});
    ASSERT_TRUE(plan.ok()) << plan.status();
    std::vector<Tensor> got;
    ASSERT_TRUE((*plan)->Run({xv}, &got).ok());
    Tensor ones(DType::kF32, {2, 10, 5});
    for (int64_t i = 0; i < ones.num_elements(); ++i) ones.data<float>()[i] = 1;
    auto want = RunOp("graft.Conv1DBackwardWeights",
                      Conv1DBackwardWeightsAttrs{{.padding = Padding::kSame}, 4}, {xv, ones},
                      KernelKind::kReference);
    ASSERT_TRUE(want.ok()) << want.status();
    EXPECT_TRUE(AllClose(got[0], (*want)[0]));
    EXPECT_TRUE(AllClose(got[1], (*want)[1]));
  }
  {  // Only x: no weight gradient op.
    Graph g;
    Value x = g.Placeholder(F32({2, 10, 3}), "x");
    Value w = g.Variable(Random({4, 3, 5}, 1), "kernel");
    auto y = ops::Conv1D(g, x, w, std::nullopt, {}, "conv1d");
    ASSERT_TRUE(y.ok()) << y.status();
    auto loss = g.Add("graft.ReduceSum", {*y});
    ASSERT_TRUE(loss.ok());
    auto grads = autodiff::Gradients(g, *loss, {x});
    ASSERT_TRUE(grads.ok()) << grads.status();
    EXPECT_EQ(CountOps(g, "graft.Conv1DBackwardData"), 1);
    EXPECT_EQ(CountOps(g, "graft.Conv1DBackwardWeights"), 0);
    EXPECT_EQ(g.type((*grads)[0]), F32({2, 10, 3}));
  }
}

TEST(Conv1DGradient, UnknownLengthIsAClearErrorOnlyForTheInputGradient) {
  Graph g;
  Value x = g.Placeholder(F32({-1, -1, 3}), "x");
  Value w = g.Variable(Random({3, 3, 5}, 1), "kernel");
  auto y = ops::Conv1D(g, x, w, std::nullopt, {.padding = Padding::kSame}, "conv1d");
  ASSERT_TRUE(y.ok()) << y.status();
  auto loss = g.Add("graft.ReduceSum", {*y});
  ASSERT_TRUE(loss.ok());
  auto dw = autodiff::Gradients(g, *loss, {w});
  ASSERT_TRUE(dw.ok()) << dw.status();
  EXPECT_EQ(g.type((*dw)[0]), F32({3, 3, 5}));
  auto dx = autodiff::Gradients(g, *loss, {x});
  ASSERT_FALSE(dx.ok());
  EXPECT_NE(dx.status().message().find("known input length"), std::string::npos) << dx.status();
}

// ---- PyTorch golden data --------------------------------------------------------------------

class Conv1DGolden : public ::testing::TestWithParam<const char*> {};

// config = [L, k, stride, dilation, padding (0 valid, 1 same, 2 causal), has_bias, N, Cin, Cout]
Conv1DAttrs AttrsFromConfig(const Tensor& config) {
  const Padding pads[] = {Padding::kValid, Padding::kSame, Padding::kCausal};
  return {.stride = static_cast<int64_t>(config.AsDouble(2)),
          .padding = pads[static_cast<int>(config.AsDouble(4))],
          .dilation = static_cast<int64_t>(config.AsDouble(3))};
}

TEST_P(Conv1DGolden, ForwardAndGradientsMatchPyTorch) {
  const std::string p = absl::StrCat("conv1d_", GetParam(), "_");
  const Tensor config = Golden(p + "config");
  ASSERT_EQ(config.num_elements(), 9);
  const bool has_bias = config.AsDouble(5) != 0;
  const Conv1DAttrs attrs = AttrsFromConfig(config);
  const Tensor x = Golden(p + "x"), w = Golden(p + "w"), dy = Golden(p + "dy");
  ASSERT_EQ(w.shape().dim(0), static_cast<int64_t>(config.AsDouble(1)));

  // y and the gradients of sum(y * dy) with respect to x, w (and b).
  Graph g;
  Value xv = g.Placeholder(x.type(), "x");
  Value wv = g.Placeholder(w.type(), "w");
  std::vector<Value> feeds = {xv, wv};
  std::vector<Tensor> feed_values = {x, w};
  std::optional<Value> bv;
  if (has_bias) {
    Tensor b = Golden(p + "b");
    bv = g.Placeholder(b.type(), "b");
    feeds.push_back(*bv);
    feed_values.push_back(b);
  }
  auto y = ops::Conv1D(g, xv, wv, bv, attrs, "conv1d");
  ASSERT_TRUE(y.ok()) << y.status();
  auto prod = g.Add("graft.Mul", {*y, g.Constant(dy, "dy")});
  ASSERT_TRUE(prod.ok()) << prod.status();
  auto loss = g.Add("graft.ReduceSum", {*prod});
  ASSERT_TRUE(loss.ok()) << loss.status();
  auto grads = autodiff::Gradients(g, *loss, feeds);
  ASSERT_TRUE(grads.ok()) << grads.status();
  std::vector<Value> fetches = {*y};
  fetches.insert(fetches.end(), grads->begin(), grads->end());
  std::vector<TensorType> types;
  for (const Tensor& t : feed_values) types.push_back(t.type());

  std::vector<std::string> names = {"y", "dx", "dw"};
  if (has_bias) names.push_back("db");
  for (KernelKind kind : {KernelKind::kFast, KernelKind::kReference}) {
    SCOPED_TRACE(kind == KernelKind::kFast ? "fast kernels" : "reference kernels");
    auto plan = Plan::Compile(g, {.feeds = feeds, .fetches = fetches}, types, {.kernels = kind});
    ASSERT_TRUE(plan.ok()) << plan.status();
    int conv_steps = 0;
    for (const PlanStep& s : (*plan)->steps()) {
      if (s.node->op->name.rfind("graft.Conv1D", 0) != 0) continue;
      ++conv_steps;
      EXPECT_EQ(s.kernel->UsesOneDnn(), kind == KernelKind::kFast) << s.node->name;
    }
    EXPECT_EQ(conv_steps, 3);  // forward, backward data, backward weights
    std::vector<Tensor> got;
    absl::Status s = (*plan)->Run(feed_values, &got);
    ASSERT_TRUE(s.ok()) << s;
    for (size_t i = 0; i < names.size(); ++i) {
      EXPECT_TRUE(AllClose(got[i], Golden(p + names[i]), 1e-4, 1e-5)) << names[i];
    }
  }

  // The backward ops run directly give the same.
  auto dx =
      RunOp("graft.Conv1DBackwardData", Conv1DBackwardDataAttrs{attrs, x.shape().dim(1)}, {dy, w});
  ASSERT_TRUE(dx.ok()) << dx.status();
  EXPECT_TRUE(AllClose((*dx)[0], Golden(p + "dx"), 1e-4, 1e-5));
  auto dwb = RunOp("graft.Conv1DBackwardWeights",
                   Conv1DBackwardWeightsAttrs{attrs, w.shape().dim(0)}, {x, dy});
  ASSERT_TRUE(dwb.ok()) << dwb.status();
  EXPECT_TRUE(AllClose((*dwb)[0], Golden(p + "dw"), 1e-4, 1e-5));
  if (has_bias) {
    EXPECT_TRUE(AllClose((*dwb)[1], Golden(p + "db"), 1e-4, 1e-5));
  }
}

INSTANTIATE_TEST_SUITE_P(PyTorch, Conv1DGolden,
                         ::testing::Values("same_l10_k4", "same_s2_l10_k3", "causal_d2_l9_k3",
                                           "valid_s2_l10_k3", "valid_d2_l12_k3_nobias",
                                           "causal_s2_l9_k4", "same_d2_l8_k5_nobias"));

}  // namespace
}  // namespace graft
