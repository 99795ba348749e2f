// Tests of ops/conv.cc: Conv1D and Conv2D shape inference and errors, oneDNN kernels against the
// reference loops, gradients against central differences, and everything against PyTorch
// golden data (tools/golden/conv1d.py, conv2d.py).
#include "ops/conv.h"

#include <algorithm>
#include <array>
#include <functional>
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

using ::graft::testing::F32;

using ::graft::ops::Conv1DAttrs;
using ::graft::ops::Conv1DBackwardDataAttrs;
using ::graft::ops::Conv1DBackwardWeightsAttrs;
using ::graft::ops::Conv2DAttrs;
using ::graft::ops::Conv2DBackwardDataAttrs;
using ::graft::ops::Conv2DBackwardWeightsAttrs;
using ::graft::ops::Padding;
using ::graft::testing::AllClose;
using ::graft::testing::Golden;
using ::graft::testing::InferOp;
using ::graft::testing::Random;
using ::graft::testing::RunOp;

std::vector<TensorType> ConvInputs(Shape x, Shape w, std::optional<Shape> b) {
  std::vector<TensorType> in = {F32(std::move(x)), F32(std::move(w))};
  if (b.has_value()) in.push_back(F32(*b));
  return in;
}

// ---- shapes ---------------------------------------------------------------------------------

// A row of a shape table: the op's input shapes and attributes, and what to expect: y's shape
// (ShapeCase), or words that must all appear in the error (ErrorCase), which must also name the
// node ("Conv1D (graft.Conv1D)").
template <typename Attrs, typename Expected>
struct InferCase {
  const char* label;
  Shape x, w;
  std::optional<Shape> b;
  Attrs attrs;
  Expected expected;
};
template <typename Attrs>
using ShapeCase = InferCase<Attrs, Shape>;
template <typename Attrs>
using ErrorCase = InferCase<Attrs, std::vector<std::string>>;

void ExpectInferred(const absl::StatusOr<std::vector<TensorType>>& out, const Shape& expected,
                    const std::string&) {
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->size(), 1u);
  EXPECT_EQ((*out)[0], F32(expected)) << (*out)[0].ToString();
}

void ExpectInferred(const absl::StatusOr<std::vector<TensorType>>& out,
                    const std::vector<std::string>& words, const std::string& node) {
  ASSERT_FALSE(out.ok());
  const std::string msg(out.status().message());
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument) << msg;
  EXPECT_NE(msg.find(node), std::string::npos) << msg;
  for (const std::string& w : words) EXPECT_NE(msg.find(w), std::string::npos) << msg;
}

template <typename Attrs, typename Expected>
void ExpectTable(const std::string& op, const std::vector<InferCase<Attrs, Expected>>& cases) {
  const std::string node = absl::StrCat(op.substr(op.find('.') + 1), " (", op, ")");
  for (const InferCase<Attrs, Expected>& c : cases) {
    SCOPED_TRACE(c.label);
    ExpectInferred(InferOp(op, c.attrs, ConvInputs(c.x, c.w, c.b)), c.expected, node);
  }
}

TEST(Conv1DShape, Table) {
  // clang-format off
  const std::vector<ShapeCase<Conv1DAttrs>> cases = {
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
  ExpectTable("graft.Conv1D", cases);
}

TEST(Conv1DShape, ErrorsNameTheNodeAndSayExpectedVsActual) {
  // clang-format off
  const std::vector<ErrorCase<Conv1DAttrs>> cases = {
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
  ExpectTable("graft.Conv1D", cases);
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

// Adds the forward conv node y = conv(x, w, b) to a graph.
using ConvBuilder =
    std::function<absl::StatusOr<Value>(Graph&, Value x, Value w, std::optional<Value> b)>;

// With unknown spatial sizes in x, the weight gradient still builds (and needs no backward data
// op) while the input gradient is a clear error holding `words`.
void ExpectInputGradientNeedsKnownSizes(const Shape& x_shape, const Tensor& kernel,
                                        const ConvBuilder& build, const std::string& words) {
  Graph g;
  Value x = g.Placeholder(F32(x_shape), "x");
  Value w = g.Variable(kernel, "kernel");
  auto y = build(g, x, w, std::nullopt);
  ASSERT_TRUE(y.ok()) << y.status();
  auto loss = g.Add("graft.ReduceSum", {*y});
  ASSERT_TRUE(loss.ok());
  auto dw = autodiff::Gradients(g, *loss, {w});
  ASSERT_TRUE(dw.ok()) << dw.status();
  EXPECT_EQ(g.type((*dw)[0]), kernel.type());
  EXPECT_EQ(CountOps(g, g.node(*y).op->name + "BackwardData"), 0);
  auto dx = autodiff::Gradients(g, *loss, {x});
  ASSERT_FALSE(dx.ok());
  EXPECT_NE(dx.status().message().find(words), std::string::npos) << dx.status();
}

TEST(Conv1DGradient, UnknownLengthIsAClearErrorOnlyForTheInputGradient) {
  ExpectInputGradientNeedsKnownSizes(
      {-1, -1, 3}, Random({3, 3, 5}, 1),
      [](Graph& g, Value x, Value w, std::optional<Value> b) {
        return ops::Conv1D(g, x, w, b, {.padding = Padding::kSame}, "conv1d");
      },
      "known input length");
}

// ---- PyTorch golden data --------------------------------------------------------------------

// Checks y and the gradients of sum(y * dy) with respect to x, w (and b), built through the
// gradient rule, against golden/<p>{y, dx, dw, db} with the fast and the reference kernels; the
// fast plan must run the op's three conv steps (names starting with `op`) on oneDNN. Then runs
// the backward ops on their own (fast kernels) against the same data.
void ExpectMatchesGolden(const std::string& p, bool has_bias, const std::string& op,
                         const ConvBuilder& build, std::any data_attrs, std::any weights_attrs) {
  const Tensor x = Golden(p + "x"), w = Golden(p + "w"), dy = Golden(p + "dy");
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
  auto y = build(g, xv, wv, bv);
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
      if (s.node->op->name.rfind(op, 0) != 0) continue;
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
  auto dx = RunOp(op + "BackwardData", std::move(data_attrs), {dy, w});
  ASSERT_TRUE(dx.ok()) << dx.status();
  EXPECT_TRUE(AllClose((*dx)[0], Golden(p + "dx"), 1e-4, 1e-5));
  auto dwb = RunOp(op + "BackwardWeights", std::move(weights_attrs), {x, dy});
  ASSERT_TRUE(dwb.ok()) << dwb.status();
  EXPECT_TRUE(AllClose((*dwb)[0], Golden(p + "dw"), 1e-4, 1e-5));
  if (has_bias) {
    EXPECT_TRUE(AllClose((*dwb)[1], Golden(p + "db"), 1e-4, 1e-5));
  }
}

int64_t ConfigInt(const Tensor& config, int64_t i) {
  return static_cast<int64_t>(config.AsDouble(i));
}

class Conv1DGolden : public ::testing::TestWithParam<const char*> {};

// config = [L, k, stride, dilation, padding (0 valid, 1 same, 2 causal), has_bias, N, Cin, Cout]
Conv1DAttrs AttrsFromConfig(const Tensor& config) {
  const Padding pads[] = {Padding::kValid, Padding::kSame, Padding::kCausal};
  return {.stride = ConfigInt(config, 2),
          .padding = pads[ConfigInt(config, 4)],
          .dilation = ConfigInt(config, 3)};
}

TEST_P(Conv1DGolden, ForwardAndGradientsMatchPyTorch) {
  const std::string p = absl::StrCat("conv1d_", GetParam(), "_");
  const Tensor config = Golden(p + "config");
  ASSERT_EQ(config.num_elements(), 9);
  const Conv1DAttrs attrs = AttrsFromConfig(config);
  const Tensor x = Golden(p + "x"), w = Golden(p + "w");
  ASSERT_EQ(w.shape().dim(0), ConfigInt(config, 1));
  ExpectMatchesGolden(
      p, ConfigInt(config, 5) != 0, "graft.Conv1D",
      [&](Graph& g, Value xv, Value wv, std::optional<Value> bv) {
        return ops::Conv1D(g, xv, wv, bv, attrs, "conv1d");
      },
      Conv1DBackwardDataAttrs{attrs, x.shape().dim(1)},
      Conv1DBackwardWeightsAttrs{attrs, w.shape().dim(0)});
}

INSTANTIATE_TEST_SUITE_P(PyTorch, Conv1DGolden,
                         ::testing::Values("same_l10_k4", "same_s2_l10_k3", "causal_d2_l9_k3",
                                           "valid_s2_l10_k3", "valid_d2_l12_k3_nobias",
                                           "causal_s2_l9_k4", "same_d2_l8_k5_nobias"));

// ---- Conv1D with groups ---------------------------------------------------------------------

TEST(Conv1DGroups, ShapesKernelsAndGradients) {
  const Conv1DAttrs attrs{.padding = Padding::kSame, .groups = 2};
  auto out = InferOp("graft.Conv1D", attrs, ConvInputs({-1, 10, 4}, {3, 2, 6}, Shape{6}));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)[0], F32({-1, 10, 6}));
  auto bad = InferOp("graft.Conv1D", attrs, ConvInputs({-1, 10, 4}, {3, 2, 5}, Shape{5}));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("Received: groups=2, filters=5."), std::string::npos)
      << bad.status();

  const std::vector<Tensor> in = {Random({2, 9, 4}, 1), Random({3, 2, 6}, 2), Random({6}, 3)};
  ExpectFastMatchesReference("graft.Conv1D", attrs, in);
  ExpectFastMatchesReference("graft.Conv1DBackwardData", Conv1DBackwardDataAttrs{attrs, 9},
                             {Random({2, 9, 6}, 4), in[1]});
  ExpectFastMatchesReference("graft.Conv1DBackwardWeights", Conv1DBackwardWeightsAttrs{attrs, 3},
                             {in[0], Random({2, 9, 6}, 5)});
  auto report = autodiff::CheckGradients("graft.Conv1D", attrs, in);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->ok) << report->ToString();
}

// ---- Conv2D shapes --------------------------------------------------------------------------

TEST(Conv2DShape, Table) {
  const Padding same = Padding::kSame;
  // clang-format off
  const std::vector<ShapeCase<Conv2DAttrs>> cases = {
      {"valid", {2, 10, 9, 3}, {3, 3, 3, 5}, Shape{5}, {}, {2, 8, 7, 5}},
      {"Example B", {-1, 32, 32, 3}, {3, 3, 3, 32}, Shape{32}, {}, {-1, 30, 30, 32}},
      {"valid k=1", {2, 10, 9, 3}, {1, 1, 3, 5}, Shape{5}, {}, {2, 10, 9, 5}},
      {"valid k=(5,3)", {2, 10, 9, 3}, {5, 3, 3, 5}, Shape{5}, {}, {2, 6, 7, 5}},
      {"valid stride 2", {2, 10, 9, 3}, {3, 3, 3, 5}, Shape{5}, {.stride_h = 2, .stride_w = 2},
       {2, 4, 4, 5}},
      {"valid stride (2,1)", {2, 10, 9, 3}, {3, 3, 3, 5}, Shape{5}, {.stride_h = 2}, {2, 4, 7, 5}},
      {"valid dilation 2", {2, 10, 9, 3}, {3, 3, 3, 5}, Shape{5},
       {.dilation_h = 2, .dilation_w = 2}, {2, 6, 5, 5}},
      {"same k=(4,2)", {2, 10, 9, 3}, {4, 2, 3, 5}, Shape{5}, {.padding = same}, {2, 10, 9, 5}},
      {"same stride 2", {2, 10, 9, 3}, {3, 3, 3, 5}, Shape{5},
       {.stride_h = 2, .stride_w = 2, .padding = same}, {2, 5, 5, 5}},
      {"same stride (2,1)", {2, 10, 9, 3}, {3, 3, 3, 5}, Shape{5},
       {.stride_h = 2, .padding = same}, {2, 5, 9, 5}},
      {"same kernel larger than input", {2, 2, 3, 3}, {5, 5, 3, 5}, Shape{5}, {.padding = same},
       {2, 2, 3, 5}},
      {"groups 2", {2, 10, 9, 4}, {3, 3, 2, 6}, Shape{6}, {.groups = 2}, {2, 8, 7, 6}},
      {"groups = channels", {2, 10, 9, 4}, {3, 3, 1, 8}, Shape{8}, {.groups = 4}, {2, 8, 7, 8}},
      {"no bias", {2, 10, 9, 3}, {3, 3, 3, 5}, std::nullopt, {}, {2, 8, 7, 5}},
      {"unknown height (valid)", {-1, -1, 9, 3}, {3, 3, 3, 5}, Shape{5}, {}, {-1, -1, 7, 5}},
      {"unknown width (same)", {4, 10, -1, 3}, {3, 3, 3, 5}, Shape{5}, {.padding = same},
       {4, 10, -1, 5}},
  };
  // clang-format on
  ExpectTable("graft.Conv2D", cases);
}

TEST(Conv2DShape, ErrorsNameTheNodeAndSayExpectedVsActual) {
  // clang-format off
  const std::vector<ErrorCase<Conv2DAttrs>> cases = {
      {"input rank 3", {4, 10, 3}, {3, 3, 3, 5}, Shape{5}, {},
       {"(batch, height, width, channels)", "(4, 10, 3)", "rank 3"}},
      {"kernel rank 3", {4, 10, 10, 3}, {3, 3, 5}, Shape{5}, {},
       {"(kernel_height, kernel_width, in_channels, filters)", "(3, 3, 5)"}},
      {"channel mismatch", {4, 10, 10, 4}, {3, 3, 3, 5}, Shape{5}, {},
       {"input has 4 channels", "(4, 10, 10, 4)", "in_channels=3", "(3, 3, 3, 5)"}},
      {"channel mismatch with groups", {4, 10, 10, 6}, {3, 3, 2, 4}, Shape{4}, {.groups = 2},
       {"input has 6 channels", "in_channels=4 = groups 2 * 2",
        "(kernel_height, kernel_width, in_channels/groups, filters)"}},
      {"groups do not divide the filters", {4, 10, 10, 4}, {3, 3, 2, 5}, Shape{5}, {.groups = 2},
       {"The number of filters must be evenly divisible by the number of groups. Received: "
        "groups=2, filters=5."}},
      {"groups do not divide the input channels", {-1, 10, 10, 3}, {3, 3, 1, 4}, Shape{4},
       {.groups = 2},
       {"The number of input channels must be evenly divisible by the number of groups. "
        "Received groups=2, but the input has 3 channels (full input shape is "
        "(None, 10, 10, 3))."}},
      {"groups 0", {4, 10, 10, 3}, {3, 3, 3, 5}, Shape{5}, {.groups = 0},
       {"The number of groups must be a positive integer. Received: groups=0."}},
      {"bias shape", {4, 10, 10, 3}, {3, 3, 3, 5}, Shape{4}, {}, {"bias", "(5,)", "(4,)"}},
      {"Example C: width -1", {-1, 100, 1, 1}, {3, 3, 1, 32}, Shape{32}, {},
       {"output width would be -1", "floor((1 - 1*(3-1) - 1)/1) + 1 = -1", "valid",
        "input width 1", "kernel width 3", "(None, 100, 1, 1)"}},
      {"height 0", {4, 2, 10, 3}, {3, 3, 3, 5}, Shape{5}, {},
       {"output height would be 0", "floor((2 - 1*(3-1) - 1)/1) + 1 = 0"}},
      {"height with dilation", {4, 10, 10, 3}, {5, 3, 3, 5}, Shape{5}, {.dilation_h = 3},
       {"output height would be -2", "floor((10 - 3*(5-1) - 1)/1) + 1 = -2",
        "dilation_rate=(3, 1)"}},
      {"kernel_size 0", {4, 10, 10, 3}, {3, 0, 3, 5}, Shape{5}, {},
       {"The argument `kernel_size` cannot contain 0. Received kernel_size=(3, 0)."}},
      {"stride 0", {4, 10, 10, 3}, {3, 3, 3, 5}, Shape{5}, {.stride_w = 0},
       {"Received strides=(1, 0)", ">= 1"}},
      {"stride and dilation", {4, 10, 10, 3}, {3, 3, 3, 5}, Shape{5},
       {.stride_h = 2, .dilation_w = 2},
       {"`strides > 1` not supported in conjunction with `dilation_rate > 1`. Received: "
        "strides=(2, 1) and dilation_rate=(1, 2)"}},
      {"causal", {4, 10, 10, 3}, {3, 3, 3, 5}, Shape{5}, {.padding = Padding::kCausal},
       {"\"causal\" is only allowed for Conv1D"}},
  };
  // clang-format on
  ExpectTable("graft.Conv2D", cases);
}

TEST(Conv2DShape, BuilderNamesTheNode) {
  Graph g;
  Value x = g.Placeholder(F32({-1, 100, 1, 1}), "x");
  Value w = g.Variable(Tensor(DType::kF32, {3, 3, 1, 32}), "kernel");
  auto y = ops::Conv2D(g, x, w, std::nullopt, {}, "conv2d");
  ASSERT_FALSE(y.ok());
  const std::string msg(y.status().message());
  EXPECT_EQ(msg.rfind("conv2d (graft.Conv2D): output width would be -1", 0), 0u) << msg;

  Value b = g.Variable(Tensor(DType::kF32, {32}), "bias");
  Value x2 = g.Placeholder(F32({-1, 32, 32, 1}), "x2");
  auto y2 =
      ops::Conv2D(g, x2, w, b, {.stride_h = 2, .stride_w = 2, .padding = Padding::kSame}, "conv2d");
  ASSERT_TRUE(y2.ok()) << y2.status();
  EXPECT_EQ(g.type(*y2), F32({-1, 16, 16, 32}));
  EXPECT_EQ(g.node(*y2).name, "conv2d");
}

TEST(Conv2DShape, BackwardOps) {
  const Conv2DAttrs a{.stride_h = 2, .padding = Padding::kSame, .groups = 2};
  auto dx = InferOp("graft.Conv2DBackwardData", Conv2DBackwardDataAttrs{a, 9, 8},
                    {F32({-1, 5, 8, 6}), F32({3, 2, 2, 6})});
  ASSERT_TRUE(dx.ok()) << dx.status();
  EXPECT_EQ((*dx)[0], F32({-1, 9, 8, 4}));
  auto bad = InferOp("graft.Conv2DBackwardData", Conv2DBackwardDataAttrs{a, 9, 8},
                     {F32({2, 5, 7, 6}), F32({3, 2, 2, 6})});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("expected dy of height 5, width 8"), std::string::npos)
      << bad.status();
  auto no_size = InferOp("graft.Conv2DBackwardData", Conv2DBackwardDataAttrs{a, 9, 0},
                         {F32({2, 5, 8, 6}), F32({3, 2, 2, 6})});
  ASSERT_FALSE(no_size.ok());
  EXPECT_NE(no_size.status().message().find("got height=9, width=0"), std::string::npos)
      << no_size.status();

  auto dwb = InferOp("graft.Conv2DBackwardWeights", Conv2DBackwardWeightsAttrs{a, 3, 2},
                     {F32({-1, 9, 8, 4}), F32({-1, 5, 8, 6})});
  ASSERT_TRUE(dwb.ok()) << dwb.status();
  ASSERT_EQ(dwb->size(), 2u);
  EXPECT_EQ((*dwb)[0], F32({3, 2, 2, 6}));
  EXPECT_EQ((*dwb)[1], F32({6}));
  auto bad_w = InferOp("graft.Conv2DBackwardWeights", Conv2DBackwardWeightsAttrs{a, 3, 2},
                       {F32({2, 9, 8, 4}), F32({2, 5, 7, 6})});
  ASSERT_FALSE(bad_w.ok());
  EXPECT_NE(bad_w.status().message().find("expected dy of height 5, width 8"), std::string::npos)
      << bad_w.status();
}

// ---- Conv2D: oneDNN against the reference loops ---------------------------------------------

struct Grid2DCase {
  int64_t h, w, kh, kw, sh, sw, dh, dw;
  Padding padding;
  bool bias;
  int64_t groups;
};

void PrintTo(const Grid2DCase& c, std::ostream* os) {
  *os << ops::PaddingName(c.padding) << " HxW=" << c.h << "x" << c.w << " k=" << c.kh << "x" << c.kw
      << " stride=" << c.sh << "x" << c.sw << " dilation=" << c.dh << "x" << c.dw
      << " groups=" << c.groups << (c.bias ? " bias" : " no bias");
}

// Every kernel size x stride/dilation x padding x groups; the input size (odd and even heights
// and widths) and the bias alternate between cases so the grid stays small.
std::vector<Grid2DCase> Grid2D() {
  const std::pair<int64_t, int64_t> kernels[] = {{1, 1}, {2, 2}, {3, 3}, {5, 3}};
  const std::array<int64_t, 4> stride_dilation[] = {
      {1, 1, 1, 1}, {2, 2, 1, 1}, {2, 1, 1, 1}, {1, 1, 2, 2}};
  std::vector<Grid2DCase> out;
  int i = 0;
  for (auto [kh, kw] : kernels) {
    for (auto [sh, sw, dh, dw] : stride_dilation) {
      for (Padding p : {Padding::kValid, Padding::kSame}) {
        for (int64_t groups : {1, 2}) {
          const bool odd_h = i % 2 == 0;
          const int64_t h = odd_h ? 7 : 8, w = odd_h ? 8 : 9;
          const bool bias = (i / 2) % 2 == 0;
          ++i;
          if (p == Padding::kValid && (h < dh * (kh - 1) + 1 || w < dw * (kw - 1) + 1)) continue;
          out.push_back({h, w, kh, kw, sh, sw, dh, dw, p, bias, groups});
        }
      }
    }
  }
  return out;
}

std::string Grid2DName(const ::testing::TestParamInfo<Grid2DCase>& info) {
  const Grid2DCase& c = info.param;
  return absl::StrCat(ops::PaddingName(c.padding), "_", c.h, "x", c.w, "_k", c.kh, "x", c.kw, "_s",
                      c.sh, "x", c.sw, "_d", c.dh, "x", c.dw, "_g", c.groups,
                      c.bias ? "_bias" : "_nobias");
}

class Conv2DGrid : public ::testing::TestWithParam<Grid2DCase> {
 protected:
  static constexpr int64_t kN = 2, kCin = 4, kCout = 4;
  Conv2DAttrs attrs() const {
    const Grid2DCase& c = GetParam();
    return {.stride_h = c.sh,
            .stride_w = c.sw,
            .padding = c.padding,
            .dilation_h = c.dh,
            .dilation_w = c.dw,
            .groups = c.groups};
  }
  Shape x_shape() const { return {kN, GetParam().h, GetParam().w, kCin}; }
  Shape w_shape() const { return {GetParam().kh, GetParam().kw, kCin / GetParam().groups, kCout}; }
  Shape y_shape() const {
    const Grid2DCase& c = GetParam();
    return {kN, ops::ComputeGeometry(c.h, c.kh, c.sh, c.dh, c.padding).out,
            ops::ComputeGeometry(c.w, c.kw, c.sw, c.dw, c.padding).out, kCout};
  }
};

TEST_P(Conv2DGrid, ForwardOneDnnMatchesReference) {
  std::vector<Tensor> in = {Random(x_shape(), 1), Random(w_shape(), 2)};
  if (GetParam().bias) in.push_back(Random({kCout}, 3));
  ExpectFastMatchesReference("graft.Conv2D", attrs(), in);
}

TEST_P(Conv2DGrid, BackwardDataOneDnnMatchesReference) {
  ExpectFastMatchesReference("graft.Conv2DBackwardData",
                             Conv2DBackwardDataAttrs{attrs(), GetParam().h, GetParam().w},
                             {Random(y_shape(), 4), Random(w_shape(), 5)});
}

TEST_P(Conv2DGrid, BackwardWeightsOneDnnMatchesReference) {
  ExpectFastMatchesReference("graft.Conv2DBackwardWeights",
                             Conv2DBackwardWeightsAttrs{attrs(), GetParam().kh, GetParam().kw},
                             {Random(x_shape(), 6), Random(y_shape(), 7)});
}

INSTANTIATE_TEST_SUITE_P(All, Conv2DGrid, ::testing::ValuesIn(Grid2D()), Grid2DName);

// A hand-computed case: same padding, 3x3 input, 2x2 kernel puts the one padding row at the
// bottom and the one padding column on the right.
TEST(Conv2DKernels, SamePaddingGoesBottomRight) {
  // y[i, j] = x[i, j] + 10 x[i, j+1] + 100 x[i+1, j] + 1000 x[i+1, j+1], x outside = 0.
  Tensor x = Tensor::FromVector<float>({1, 3, 3, 1}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  Tensor w = Tensor::FromVector<float>({2, 2, 1, 1}, {1, 10, 100, 1000});
  Tensor want =
      Tensor::FromVector<float>({1, 3, 3, 1}, {5421, 6532, 603, 8754, 9865, 906, 87, 98, 9});
  for (KernelKind kind : {KernelKind::kFast, KernelKind::kReference}) {
    auto y = RunOp("graft.Conv2D", Conv2DAttrs{.padding = Padding::kSame}, {x, w}, kind);
    ASSERT_TRUE(y.ok()) << y.status();
    EXPECT_TRUE(AllClose((*y)[0], want));
  }
}

// A train-step plan with the fast kernels runs every conv step through oneDNN (the kernels say
// so through UsesOneDnn(), which the executors rely on); the reference plan runs none.
TEST(Conv2DKernels, FastPlanRunsEveryConvStepOnOneDnn) {
  Graph g;
  Value x = g.Placeholder(F32({-1, 8, 7, 4}), "x");
  Value w = g.Variable(Random({3, 2, 2, 6}, 1), "kernel");
  Value b = g.Variable(Random({6}, 2), "bias");
  auto y = ops::Conv2D(
      g, x, w, b, {.stride_h = 2, .stride_w = 2, .padding = Padding::kSame, .groups = 2}, "conv2d");
  ASSERT_TRUE(y.ok()) << y.status();
  auto loss = g.Add("graft.ReduceSum", {*y});
  ASSERT_TRUE(loss.ok()) << loss.status();
  auto grads = autodiff::Gradients(g, *loss, {x, w, b});
  ASSERT_TRUE(grads.ok()) << grads.status();
  const Tensor xv = Random({2, 8, 7, 4}, 3);
  for (KernelKind kind : {KernelKind::kFast, KernelKind::kReference}) {
    auto plan = Plan::Compile(g, {.feeds = {x}, .fetches = *grads}, {xv.type()}, {.kernels = kind});
    ASSERT_TRUE(plan.ok()) << plan.status();
    std::vector<std::string> conv_ops;
    for (const PlanStep& s : (*plan)->steps()) {
      if (s.node->op->name.rfind("graft.Conv2D", 0) != 0) continue;
      conv_ops.push_back(s.node->op->name);
      EXPECT_EQ(s.kernel->UsesOneDnn(), kind == KernelKind::kFast) << s.node->name;
    }
    std::sort(conv_ops.begin(), conv_ops.end());
    EXPECT_EQ(conv_ops, (std::vector<std::string>{"graft.Conv2D", "graft.Conv2DBackwardData",
                                                  "graft.Conv2DBackwardWeights"}));
    std::vector<Tensor> got;
    ASSERT_TRUE((*plan)->Run({xv}, &got).ok());
  }
}

// ---- Conv2D gradients -----------------------------------------------------------------------

struct Grad2DCase {
  const char* label;
  int64_t h, w, kh, kw;
  Conv2DAttrs attrs;
  bool bias;
};

TEST(Conv2DGradient, MatchesCentralDifferences) {
  const Padding same = Padding::kSame;
  // clang-format off
  const std::vector<Grad2DCase> cases = {
      {"same k=(2,3) (pads (0,1), (1,1))", 5, 6, 2, 3, {.padding = same}, true},
      {"same k=(4,2) (pads (1,2), (0,1))", 5, 4, 4, 2, {.padding = same}, true},
      {"same stride (2,1) even height", 6, 5, 3, 3, {.stride_h = 2, .padding = same}, true},
      {"same stride 2 groups 2 (pads (0,1))", 5, 6, 2, 3,
       {.stride_h = 2, .stride_w = 2, .padding = same, .groups = 2}, true},
      {"valid dilation 2 groups 2 no bias", 6, 5, 2, 2,
       {.dilation_h = 2, .dilation_w = 2, .groups = 2}, false},
      {"valid stride 2 drops the tail", 6, 5, 3, 2, {.stride_h = 2, .stride_w = 2}, true},
  };
  // clang-format on
  for (const Grad2DCase& c : cases) {
    SCOPED_TRACE(c.label);
    const int64_t n = 2, cin = c.attrs.groups * 2, cout = c.attrs.groups * 2;
    std::vector<Tensor> in = {Random({n, c.h, c.w, cin}, 11),
                              Random({c.kh, c.kw, cin / c.attrs.groups, cout}, 12)};
    if (c.bias) in.push_back(Random({cout}, 13));
    auto report = autodiff::CheckGradients("graft.Conv2D", c.attrs, in);
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_TRUE(report->ok) << report->ToString();
    EXPECT_EQ(report->entries_checked,
              in[0].num_elements() + in[1].num_elements() + (c.bias ? cout : 0));
  }
}

TEST(Conv2DGradient, UnknownSizeIsAClearErrorOnlyForTheInputGradient) {
  ExpectInputGradientNeedsKnownSizes(
      {-1, 8, -1, 3}, Random({3, 3, 3, 5}, 1),
      [](Graph& g, Value x, Value w, std::optional<Value> b) {
        return ops::Conv2D(g, x, w, b, {.padding = Padding::kSame}, "conv2d");
      },
      "known input height and width");
}

// ---- Conv2D PyTorch golden data -------------------------------------------------------------

class Conv2DGolden : public ::testing::TestWithParam<const char*> {};

// config = [H, W, kh, kw, stride_h, stride_w, dilation_h, dilation_w, padding (0 valid, 1 same),
//           has_bias, groups, N, Cin, Cout]
TEST_P(Conv2DGolden, ForwardAndGradientsMatchPyTorch) {
  const std::string p = absl::StrCat("conv2d_", GetParam(), "_");
  const Tensor config = Golden(p + "config");
  ASSERT_EQ(config.num_elements(), 14);
  const Conv2DAttrs attrs{.stride_h = ConfigInt(config, 4),
                          .stride_w = ConfigInt(config, 5),
                          .padding = ConfigInt(config, 8) == 1 ? Padding::kSame : Padding::kValid,
                          .dilation_h = ConfigInt(config, 6),
                          .dilation_w = ConfigInt(config, 7),
                          .groups = ConfigInt(config, 10)};
  const int64_t h = ConfigInt(config, 0), w = ConfigInt(config, 1);
  const int64_t kh = ConfigInt(config, 2), kw = ConfigInt(config, 3);
  ASSERT_EQ(Golden(p + "x").shape(), Shape({ConfigInt(config, 11), h, w, ConfigInt(config, 12)}));
  ASSERT_EQ(Golden(p + "w").shape(),
            Shape({kh, kw, ConfigInt(config, 12) / attrs.groups, ConfigInt(config, 13)}));
  ExpectMatchesGolden(
      p, ConfigInt(config, 9) != 0, "graft.Conv2D",
      [&](Graph& g, Value xv, Value wv, std::optional<Value> bv) {
        return ops::Conv2D(g, xv, wv, bv, attrs, "conv2d");
      },
      Conv2DBackwardDataAttrs{attrs, h, w}, Conv2DBackwardWeightsAttrs{attrs, kh, kw});
}

INSTANTIATE_TEST_SUITE_P(PyTorch, Conv2DGolden,
                         ::testing::Values("same_h7_w8_k3", "same_h6_w7_k4x2",
                                           "same_s2_h8_w7_k3_g2", "same_s21_h9_w6_k5x3_g2",
                                           "valid_s2_h9_w8_k3_nobias", "valid_d2_h8_w9_k3_g2",
                                           "same_d2_h7_w6_k3x2", "valid_s12_h5_w8_k2_g2"));

}  // namespace
}  // namespace graft
