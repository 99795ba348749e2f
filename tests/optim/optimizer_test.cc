// Tests for optim/: Adam and SGD against torch.optim golden data (tools/golden/optim.py), fast
// vs reference kernels, name lookup, argument errors, and the plan's ordering of a variable's
// readers before its in-place update.
#include "optim/optimizer.h"

#include <cmath>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "autodiff/gradients.h"
#include "graph/graph.h"
#include "gtest/gtest.h"
#include "runtime/plan.h"
#include "tests/testing.h"

namespace graft {
namespace {

using ::graft::testing::AllClose;
using ::graft::testing::Golden;
using ::graft::testing::Random;

// Tolerances from shared reference/keras-semantics.md ("Tolerances ... Optimizers").
constexpr double kUpdateRtol = 1e-3, kUpdateAtol = 5e-7;
constexpr double kParamRtol = 1e-4, kParamAtol = 1e-6;
constexpr double kSlotRtol = 1e-4, kSlotAtol = 1e-12;

// Row t of a (steps, ...) golden array, as a tensor of the remaining shape.
Tensor Step(const Tensor& stacked, int t) {
  std::vector<int64_t> dims(stacked.shape().dims().begin() + 1, stacked.shape().dims().end());
  return *stacked.SliceRows(t, t + 1).Reshaped(Shape(dims));
}

// a - b, elementwise, in float64.
Tensor Diff(const Tensor& a, const Tensor& b) {
  Tensor d(DType::kF64, a.shape());
  for (int64_t i = 0; i < a.num_elements(); ++i)
    d.data<double>()[i] = a.AsDouble(i) - b.AsDouble(i);
  return d;
}

struct Config {
  KernelKind kernels;
  DType dtype;
  ExecutorKind executor;
};

std::string ConfigName(const ::testing::TestParamInfo<Config>& info) {
  const Config& c = info.param;
  return std::string(c.kernels == KernelKind::kFast ? "Fast" : "Reference") +
         (c.dtype == DType::kF32 ? "F32" : "F64") +
         (c.executor == ExecutorKind::kTbb ? "Tbb" : "Sequential");
}

// One parameter variable updated by an optimizer through a plan whose feeds are
// (gradient, learning rate, iteration) and whose targets are the update nodes.
class Harness {
 public:
  Harness(optim::Optimizer& opt, Tensor p0, const Config& c) : opt_(opt) {
    param_ = graph_.Variable(p0.CastTo(c.dtype), "dense/kernel");
    grad_ = graph_.Placeholder(param_type(), "grad");
    lr_ = graph_.Placeholder({DType::kF32, {}}, "learning_rate");
    it_ = graph_.Placeholder({DType::kF32, {}}, "iteration");
    auto updates = opt.AppendUpdates(graph_, {param_}, {grad_}, lr_, it_);
    EXPECT_TRUE(updates.ok()) << updates.status();
    if (!updates.ok()) return;
    auto plan = Plan::Compile(graph_, {.feeds = {grad_, lr_, it_}, .targets = *updates},
                              {param_type(), {DType::kF32, {}}, {DType::kF32, {}}},
                              {.kernels = c.kernels, .executor = c.executor});
    EXPECT_TRUE(plan.ok()) << plan.status();
    if (plan.ok()) plan_ = *std::move(plan);
  }

  bool ok() const { return plan_ != nullptr; }
  TensorType param_type() const { return graph_.type(param_); }

  // Applies update number `iteration` (0 first) with gradient g.
  absl::Status Step(const Tensor& g, int iteration) {
    return plan_->Run({g.CastTo(param_type().dtype), Tensor::Scalar<float>(opt_.learning_rate()),
                       Tensor::Scalar<float>(static_cast<float>(iteration))},
                      nullptr);
  }
  Tensor param() const { return graph_.VariableValue(param_).Clone(); }
  Tensor slot(int i) const { return graph_.VariableValue(opt_.slots()[i]).Clone(); }

 private:
  optim::Optimizer& opt_;
  Graph graph_;
  Value param_, grad_, lr_, it_;
  std::unique_ptr<Plan> plan_;
};

class OptimizerGolden : public ::testing::TestWithParam<Config> {};

TEST_P(OptimizerGolden, AdamMatchesTorchWithEpsilonHat) {
  const Tensor p0 = Golden("optim_p0");
  const Tensor grads = Golden("optim_grads");
  for (const char* tag : {"1e-3", "1e-2"}) {
    SCOPED_TRACE(std::string("lr ") + tag);
    auto adam = optim::MakeAdam({.learning_rate = std::stod(tag)});
    Harness h(*adam, p0, GetParam());
    ASSERT_TRUE(h.ok());
    ASSERT_EQ(adam->slots().size(), 2u);
    const std::string prefix = std::string("optim_adam_lr") + tag;
    const Tensor params = Golden(prefix + "_params"), updates = Golden(prefix + "_updates");
    const Tensor ms = Golden(prefix + "_m"), vs = Golden(prefix + "_v");
    Tensor prev = h.param();
    for (int t = 0; t < 3; ++t) {
      SCOPED_TRACE(::testing::Message() << "step " << t + 1);
      ASSERT_TRUE(h.Step(Step(grads, t), t).ok());
      const Tensor p = h.param();
      EXPECT_TRUE(AllClose(Diff(p, prev), Step(updates, t), kUpdateRtol, kUpdateAtol));
      EXPECT_TRUE(AllClose(p, Step(params, t), kParamRtol, kParamAtol));
      EXPECT_TRUE(AllClose(h.slot(0), Step(ms, t), kSlotRtol, kSlotAtol));
      EXPECT_TRUE(AllClose(h.slot(1), Step(vs, t), kSlotRtol, kSlotAtol));
      prev = p;
    }
  }
}

TEST_P(OptimizerGolden, SgdMatchesTorch) {
  const Tensor p0 = Golden("optim_p0");
  const Tensor grads = Golden("optim_grads");
  struct Variant {
    const char* name;
    double momentum;
    bool nesterov;
  };
  for (const Variant& v : {Variant{"plain", 0.0, false}, Variant{"momentum", 0.9, false},
                           Variant{"nesterov", 0.9, true}}) {
    SCOPED_TRACE(v.name);
    auto sgd = optim::MakeSgd({.momentum = v.momentum, .nesterov = v.nesterov});
    Harness h(*sgd, p0, GetParam());
    ASSERT_TRUE(h.ok());
    ASSERT_EQ(sgd->slots().size(), v.momentum == 0 ? 0u : 1u);
    const std::string prefix = std::string("optim_sgd_") + v.name;
    const Tensor params = Golden(prefix + "_params"), updates = Golden(prefix + "_updates");
    Tensor prev = h.param();
    for (int t = 0; t < 3; ++t) {
      SCOPED_TRACE(::testing::Message() << "step " << t + 1);
      ASSERT_TRUE(h.Step(Step(grads, t), t).ok());
      const Tensor p = h.param();
      EXPECT_TRUE(AllClose(Diff(p, prev), Step(updates, t), kUpdateRtol, kUpdateAtol));
      EXPECT_TRUE(AllClose(p, Step(params, t), kParamRtol, kParamAtol));
      if (v.momentum != 0) {
        EXPECT_TRUE(
            AllClose(h.slot(0), Step(Golden(prefix + "_velocity"), t), kSlotRtol, kSlotAtol));
      }
      prev = p;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    All, OptimizerGolden,
    ::testing::Values(Config{KernelKind::kFast, DType::kF32, ExecutorKind::kSequential},
                      Config{KernelKind::kFast, DType::kF32, ExecutorKind::kTbb},
                      Config{KernelKind::kReference, DType::kF32, ExecutorKind::kSequential},
                      Config{KernelKind::kReference, DType::kF64, ExecutorKind::kSequential}),
    ConfigName);

// Fast kernels split the loop across TBB workers (the tensor is larger than one grain); each
// element is computed the same way, so the results are bitwise equal to the serial reference.
TEST(OptimizerKernels, FastEqualsReference) {
  const Tensor p0 = Random({200, 201}, 11, -2, 2);
  const std::vector<std::function<std::unique_ptr<optim::Optimizer>()>> makers = {
      [] { return optim::MakeAdam({.learning_rate = 1e-2}); },
      [] { return optim::MakeSgd({.momentum = 0.9, .nesterov = true}); },
      [] { return optim::MakeSgd(); },
  };
  for (const auto& make : makers) {
    std::unique_ptr<optim::Optimizer> opts[] = {make(), make()};
    SCOPED_TRACE(opts[0]->name());
    Harness fast(*opts[0], p0, {KernelKind::kFast, DType::kF32, ExecutorKind::kTbb});
    Harness ref(*opts[1], p0, {KernelKind::kReference, DType::kF32, ExecutorKind::kSequential});
    ASSERT_TRUE(fast.ok() && ref.ok());
    for (int t = 0; t < 3; ++t) {
      const Tensor g = Random({200, 201}, 100 + t);
      ASSERT_TRUE(fast.Step(g, t).ok());
      ASSERT_TRUE(ref.Step(g, t).ok());
    }
    EXPECT_TRUE(AllClose(fast.param(), ref.param(), 0, 0));
    for (size_t i = 0; i < opts[0]->slots().size(); ++i) {
      EXPECT_TRUE(AllClose(fast.slot(i), ref.slot(i), 0, 0));
    }
  }
}

TEST(OptimizerByName, KnowsKerasNamesWithKerasDefaults) {
  for (const char* name : {"adam", "Adam", "ADAM"}) {
    auto opt = optim::OptimizerByName(name);
    ASSERT_TRUE(opt.ok()) << opt.status();
    EXPECT_EQ((*opt)->name(), "adam");
    EXPECT_DOUBLE_EQ((*opt)->learning_rate(), 0.001);
  }
  for (const char* name : {"sgd", "SGD"}) {
    auto opt = optim::OptimizerByName(name);
    ASSERT_TRUE(opt.ok()) << opt.status();
    EXPECT_EQ((*opt)->name(), "sgd");
    EXPECT_DOUBLE_EQ((*opt)->learning_rate(), 0.01);
  }
}

TEST(OptimizerByName, UnknownNameListsKnownNames) {
  auto opt = optim::OptimizerByName("adamw");
  ASSERT_FALSE(opt.ok());
  EXPECT_EQ(opt.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(opt.status().message().find("unknown optimizer \"adamw\""), std::string::npos)
      << opt.status();
  EXPECT_NE(opt.status().message().find("adam, sgd"), std::string::npos) << opt.status();
}

TEST(Optimizer, SlotsAreZeroNonTrainableVariablesWithKerasNames) {
  Graph g;
  Value w = g.Variable(Random({3, 2}, 1), "dense/kernel");
  Value b = g.Variable(Random({2}, 2), "dense/bias");
  Value gw = g.Placeholder({DType::kF32, {3, 2}}, "gw");
  Value gb = g.Placeholder({DType::kF32, {2}}, "gb");
  Value lr = g.Placeholder({DType::kF32, {}}, "lr");
  Value it = g.Placeholder({DType::kF32, {}}, "it");
  auto adam = optim::MakeAdam();
  auto updates = adam->AppendUpdates(g, {w, b}, {gw, gb}, lr, it);
  ASSERT_TRUE(updates.ok()) << updates.status();
  ASSERT_EQ(updates->size(), 2u);
  EXPECT_EQ(g.node((*updates)[0]).op->name, "graft.AdamUpdate");
  EXPECT_TRUE(g.node((*updates)[0]).outputs.empty());
  ASSERT_EQ(adam->slots().size(), 4u);
  EXPECT_EQ(g.node(adam->slots()[0]).name, "adam/dense_kernel_momentum");
  EXPECT_EQ(g.node(adam->slots()[1]).name, "adam/dense_kernel_velocity");
  EXPECT_EQ(g.node(adam->slots()[3]).name, "adam/dense_bias_velocity");
  for (Value s : adam->slots()) {
    ASSERT_TRUE(g.IsVariable(s));
    EXPECT_FALSE(g.node(s).attrs_as<VariableAttrs>().trainable);
    const Tensor t = g.VariableValue(s);
    for (int64_t i = 0; i < t.num_elements(); ++i) EXPECT_EQ(t.AsDouble(i), 0.0);
  }
  EXPECT_EQ(g.type(adam->slots()[2]), g.type(b));
  EXPECT_TRUE(g.Verify().ok());

  auto plain = optim::MakeSgd();
  ASSERT_TRUE(plain->AppendUpdates(g, {w, b}, {gw, gb}, lr, it).ok());
  EXPECT_TRUE(plain->slots().empty());
  auto momentum = optim::MakeSgd({.momentum = 0.5});
  ASSERT_TRUE(momentum->AppendUpdates(g, {w, b}, {gw, gb}, lr, it).ok());
  ASSERT_EQ(momentum->slots().size(), 2u);
  EXPECT_EQ(g.node(momentum->slots()[0]).name, "sgd/dense_kernel_momentum");
}

TEST(Optimizer, ArgumentErrorsAreClear) {
  Graph g;
  Value w = g.Variable(Random({3, 2}, 1), "w");
  Value x = g.Placeholder({DType::kF32, {3, 2}}, "x");
  Value wrong = g.Placeholder({DType::kF32, {2, 3}}, "wrong");
  Value lr = g.Placeholder({DType::kF32, {}}, "lr");
  Value it = g.Placeholder({DType::kF32, {}}, "it");
  Value vec = g.Placeholder({DType::kF32, {1}}, "vec");
  auto adam = optim::MakeAdam();
  auto expect_error = [](const absl::StatusOr<std::vector<int>>& r, const std::string& needle) {
    ASSERT_FALSE(r.ok()) << needle;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(needle), std::string::npos) << r.status();
  };
  expect_error(adam->AppendUpdates(g, {w}, {}, lr, it), "one gradient per parameter");
  expect_error(adam->AppendUpdates(g, {x}, {x}, lr, it), "(x) is not a variable");
  expect_error(adam->AppendUpdates(g, {w}, {wrong}, lr, it),
               "has type float32(2, 3), expected the parameter's type float32(3, 2)");
  expect_error(adam->AppendUpdates(g, {w}, {x}, vec, it),
               "learning_rate must be a floating scalar");
  expect_error(adam->AppendUpdates(g, {w}, {x}, lr, vec), "iteration must be a floating scalar");
  expect_error(optim::MakeSgd({.momentum = 1.5})->AppendUpdates(g, {w}, {x}, lr, it),
               "momentum must lie in [0, 1], got 1.5");
  EXPECT_TRUE(adam->slots().empty());

  // The op's own shape function rejects bad attributes and inputs when built directly.
  auto bad = g.AddNode("graft.SgdUpdate", {w, x, lr}, optim::SgdUpdateAttrs{.momentum = 0.9});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("needs the velocity input"), std::string::npos)
      << bad.status();
  Value m = g.Variable(Tensor(DType::kF32, {3, 2}), "m");
  auto bad_adam = g.AddNode("graft.AdamUpdate", {w, x, m, wrong, lr, it}, optim::AdamUpdateAttrs{});
  ASSERT_FALSE(bad_adam.ok());
  EXPECT_NE(bad_adam.status().message().find("v must have the type of param, float32(3, 2), got "
                                             "float32(2, 3)"),
            std::string::npos)
      << bad_adam.status();
  auto bad_beta =
      g.AddNode("graft.AdamUpdate", {w, x, m, m, lr, it}, optim::AdamUpdateAttrs{.beta_1 = 1.0});
  ASSERT_FALSE(bad_beta.ok());
  EXPECT_NE(bad_beta.status().message().find("must lie in [0, 1)"), std::string::npos)
      << bad_beta.status();
}

// A node that reads a variable must run before the node that updates the variable in place,
// whichever was added to the graph first and whichever executor runs the plan.
class ReaderBeforeUpdate
    : public ::testing::TestWithParam<std::tuple<ExecutorKind, bool /*reader_first*/>> {};

TEST_P(ReaderBeforeUpdate, ReaderSeesTheValueBeforeTheUpdate) {
  const auto [executor, reader_first] = GetParam();
  Graph g;
  const Tensor w0 = Random({4, 3}, 7);
  Value w = g.Variable(w0.Clone(), "w");
  Value grad = g.Placeholder({DType::kF32, {4, 3}}, "grad");
  Value lr = g.Placeholder({DType::kF32, {}}, "lr");
  Value it = g.Placeholder({DType::kF32, {}}, "it");
  auto sgd = optim::MakeSgd({.learning_rate = 0.5});
  Value doubled;
  if (reader_first) doubled = *g.Add("graft.Add", {w, w});
  auto updates = sgd->AppendUpdates(g, {w}, {grad}, lr, it);
  ASSERT_TRUE(updates.ok()) << updates.status();
  if (!reader_first) doubled = *g.Add("graft.Add", {w, w});
  auto plan = Plan::Compile(g, {.feeds = {grad, lr, it}, .fetches = {doubled}, .targets = *updates},
                            {{DType::kF32, {4, 3}}, {DType::kF32, {}}, {DType::kF32, {}}},
                            {.executor = executor});
  ASSERT_TRUE(plan.ok()) << plan.status();
  const Tensor gfeed = Random({4, 3}, 8);
  Tensor expected_w = w0.Clone();
  for (int step = 0; step < 3; ++step) {
    std::vector<Tensor> out;
    ASSERT_TRUE((*plan)
                    ->Run({gfeed, Tensor::Scalar<float>(0.5f),
                           Tensor::Scalar<float>(static_cast<float>(step))},
                          &out)
                    .ok());
    Tensor expected_doubled(DType::kF32, {4, 3});
    for (int64_t i = 0; i < 12; ++i) {
      expected_doubled.data<float>()[i] = 2 * expected_w.data<float>()[i];
      expected_w.data<float>()[i] -= 0.5f * gfeed.data<float>()[i];
    }
    EXPECT_TRUE(AllClose(out[0], expected_doubled, 0, 0)) << "step " << step;
    EXPECT_TRUE(AllClose(g.VariableValue(w), expected_w, 0, 0)) << "step " << step;
  }
}

INSTANTIATE_TEST_SUITE_P(
    All, ReaderBeforeUpdate,
    ::testing::Combine(::testing::Values(ExecutorKind::kSequential, ExecutorKind::kTbb),
                       ::testing::Bool()),
    [](const auto& info) {
      return std::string(std::get<0>(info.param) == ExecutorKind::kTbb ? "Tbb" : "Sequential") +
             (std::get<1>(info.param) ? "ReaderAddedFirst" : "ReaderAddedAfterUpdate");
    });

// Gradient descent on loss = sum(w^2) through autodiff: w_t = w0 * (1 - 2 lr)^t, and each step's
// fetched loss is computed from the weights before that step's update.
TEST(Optimizer, TrainsThroughAutodiffWithBothExecutors) {
  for (ExecutorKind executor : {ExecutorKind::kSequential, ExecutorKind::kTbb}) {
    Graph g;
    const Tensor w0 = Random({5}, 3);
    Value w = g.Variable(w0.Clone(), "w");
    Value loss = *g.Add("graft.ReduceSum", {*g.Add("graft.Mul", {w, w})});
    auto grads = autodiff::Gradients(g, loss, {w});
    ASSERT_TRUE(grads.ok()) << grads.status();
    Value lr = g.Placeholder({DType::kF32, {}}, "lr");
    Value it = g.Placeholder({DType::kF32, {}}, "it");
    auto sgd = optim::MakeSgd({.learning_rate = 0.1});
    auto updates = sgd->AppendUpdates(g, {w}, *grads, lr, it);
    ASSERT_TRUE(updates.ok()) << updates.status();
    auto plan = Plan::Compile(g, {.feeds = {lr, it}, .fetches = {loss}, .targets = *updates},
                              {{DType::kF32, {}}, {DType::kF32, {}}}, {.executor = executor});
    ASSERT_TRUE(plan.ok()) << plan.status();
    for (int t = 0; t < 3; ++t) {
      std::vector<Tensor> out;
      ASSERT_TRUE((*plan)->Run({Tensor::Scalar<float>(0.1f), Tensor::Scalar<float>(t)}, &out).ok());
      double expected_loss = 0;
      for (int64_t i = 0; i < 5; ++i) {
        expected_loss += std::pow(w0.AsDouble(i) * std::pow(0.8, t), 2);
      }
      EXPECT_NEAR(out[0].AsDouble(0), expected_loss, 1e-5) << "step " << t;
    }
    for (int64_t i = 0; i < 5; ++i) {
      EXPECT_NEAR(g.VariableValue(w).AsDouble(i), w0.AsDouble(i) * std::pow(0.8, 3), 1e-6);
    }
  }
}

}  // namespace
}  // namespace graft
