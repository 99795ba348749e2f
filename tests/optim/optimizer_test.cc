// Tests for optim/: Adam, AdamW, SGD, RMSprop and Adagrad against golden data
// (tools/golden/optim.py: torch.optim, or the Keras formula where torch differs), fast
// vs reference kernels, name lookup, argument errors, and the plan's ordering of a variable's
// readers before its in-place update.
#include "optim/optimizer.h"

#include <cctype>
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
  const std::vector<int64_t> all = stacked.shape().dims();
  std::vector<int64_t> dims(all.begin() + 1, all.end());
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
    return plan_->Run(
        {g.CastTo(param_type().dtype), Tensor::Scalar<float>(opt_.LearningRateAt(iteration)),
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

// Runs three steps of `opt` from optim_p0 with optim_grads under config `c` and compares the
// parameter with <prefix>_params and <prefix>_updates, and slot i with <prefix>_<slots[i]>.
void ExpectGolden(optim::Optimizer& opt, const std::string& prefix,
                  const std::vector<std::string>& slots, const Config& c) {
  SCOPED_TRACE(prefix);
  const Tensor grads = Golden("optim_grads");
  Harness h(opt, Golden("optim_p0"), c);
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(opt.slots().size(), slots.size());
  const Tensor params = Golden(prefix + "_params"), updates = Golden(prefix + "_updates");
  std::vector<Tensor> slot_values;
  for (const std::string& s : slots) slot_values.push_back(Golden(prefix + "_" + s));
  Tensor prev = h.param();
  for (int t = 0; t < 3; ++t) {
    SCOPED_TRACE(::testing::Message() << "step " << t + 1);
    ASSERT_TRUE(h.Step(Step(grads, t), t).ok());
    const Tensor p = h.param();
    EXPECT_TRUE(AllClose(Diff(p, prev), Step(updates, t), kUpdateRtol, kUpdateAtol));
    EXPECT_TRUE(AllClose(p, Step(params, t), kParamRtol, kParamAtol));
    for (size_t i = 0; i < slots.size(); ++i) {
      EXPECT_TRUE(AllClose(h.slot(i), Step(slot_values[i], t), kSlotRtol, kSlotAtol)) << slots[i];
    }
    prev = p;
  }
}

class OptimizerGolden : public ::testing::TestWithParam<Config> {};

TEST_P(OptimizerGolden, AdamMatchesTorchWithEpsilonHat) {
  for (const char* tag : {"1e-3", "1e-2"}) {
    auto adam = optim::MakeAdam({.learning_rate = std::stod(tag)});
    ExpectGolden(*adam, std::string("optim_adam_lr") + tag, {"m", "v"}, GetParam());
  }
}

TEST_P(OptimizerGolden, AdamWMatchesTorch) {
  auto keras_default = optim::MakeAdamW();
  ExpectGolden(*keras_default, "optim_adamw_default", {"m", "v"}, GetParam());
  auto strong = optim::MakeAdamW({.learning_rate = 1e-2, .weight_decay = 0.1});
  ExpectGolden(*strong, "optim_adamw_lr1e-2_wd0.1", {"m", "v"}, GetParam());
}

TEST_P(OptimizerGolden, SgdMatchesTorch) {
  struct Variant {
    const char* name;
    double momentum;
    bool nesterov;
  };
  for (const Variant& v : {Variant{"plain", 0.0, false}, Variant{"momentum", 0.9, false},
                           Variant{"nesterov", 0.9, true}}) {
    auto sgd = optim::MakeSgd({.momentum = v.momentum, .nesterov = v.nesterov});
    ExpectGolden(
        *sgd, std::string("optim_sgd_") + v.name,
        v.momentum == 0 ? std::vector<std::string>{} : std::vector<std::string>{"velocity"},
        GetParam());
  }
}

TEST_P(OptimizerGolden, RmspropMatchesKerasWithEpsilonInsideTheSqrt) {
  struct Variant {
    const char* name;
    double momentum;
    bool centered;
    std::vector<std::string> slots;
  };
  for (const Variant& v :
       {Variant{"plain", 0.0, false, {"velocity"}},
        Variant{"momentum", 0.9, false, {"velocity", "momentum"}},
        Variant{"centered", 0.0, true, {"velocity", "average_gradient"}},
        Variant{"centered_momentum", 0.9, true, {"velocity", "momentum", "average_gradient"}}}) {
    auto rmsprop = optim::MakeRmsprop({.momentum = v.momentum, .centered = v.centered});
    ExpectGolden(*rmsprop, std::string("optim_rmsprop_") + v.name, v.slots, GetParam());
  }
}

TEST_P(OptimizerGolden, AdagradMatchesKerasWithEpsilonInsideTheSqrt) {
  auto adagrad = optim::MakeAdagrad({.learning_rate = 1e-2});
  ExpectGolden(*adagrad, "optim_adagrad", {"accumulator"}, GetParam());
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
      [] { return optim::MakeAdamW({.learning_rate = 1e-2, .weight_decay = 0.1}); },
      [] { return optim::MakeRmsprop(); },
      [] { return optim::MakeRmsprop({.momentum = 0.5, .centered = true}); },
      [] { return optim::MakeAdagrad(); },
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
    EXPECT_DOUBLE_EQ((*opt)->LearningRateAt(0), 0.001);
  }
  for (const char* name : {"sgd", "SGD"}) {
    auto opt = optim::OptimizerByName(name);
    ASSERT_TRUE(opt.ok()) << opt.status();
    EXPECT_EQ((*opt)->name(), "sgd");
    EXPECT_DOUBLE_EQ((*opt)->LearningRateAt(0), 0.01);
  }
  for (const char* name : {"rmsprop", "RMSprop", "adamw", "AdamW", "adagrad", "Adagrad"}) {
    auto opt = optim::OptimizerByName(name);
    ASSERT_TRUE(opt.ok()) << opt.status();
    std::string lower = name;
    for (char& ch : lower) ch = static_cast<char>(std::tolower(ch));
    EXPECT_EQ((*opt)->name(), lower);
    EXPECT_DOUBLE_EQ((*opt)->LearningRateAt(0), 0.001);
  }
}

TEST(OptimizerByName, DefaultsAreKeras) {
  // The update nodes carry Keras's default hyperparameters.
  Graph g;
  Value w = g.Variable(Random({3}, 1), "w");
  Value gw = g.Placeholder({DType::kF32, {3}}, "gw");
  Value lr = g.Placeholder({DType::kF32, {}}, "lr");
  Value it = g.Placeholder({DType::kF32, {}}, "it");
  auto node = [&](const char* name) -> const Node& {
    auto opt = optim::OptimizerByName(name);
    EXPECT_TRUE(opt.ok()) << opt.status();
    auto updates = (*opt)->AppendUpdates(g, {w}, {gw}, lr, it);
    EXPECT_TRUE(updates.ok()) << updates.status();
    return g.node(updates->at(0));
  };
  const auto& rms = node("rmsprop").attrs_as<optim::RmspropUpdateAttrs>();
  EXPECT_EQ(rms.rho, 0.9);
  EXPECT_EQ(rms.momentum, 0.0);
  EXPECT_EQ(rms.epsilon, 1e-7);
  EXPECT_FALSE(rms.centered);
  const auto& adamw = node("adamw").attrs_as<optim::AdamUpdateAttrs>();
  EXPECT_EQ(adamw.weight_decay, 0.004);
  EXPECT_EQ(adamw.beta_1, 0.9);
  EXPECT_EQ(adamw.beta_2, 0.999);
  EXPECT_EQ(adamw.epsilon, 1e-7);
  EXPECT_EQ(node("adam").attrs_as<optim::AdamUpdateAttrs>().weight_decay, 0.0);
  EXPECT_EQ(node("adagrad").attrs_as<optim::AdagradUpdateAttrs>().epsilon, 1e-7);
}

TEST(OptimizerByName, UnknownNameListsKnownNames) {
  auto opt = optim::OptimizerByName("nadam");
  ASSERT_FALSE(opt.ok());
  EXPECT_EQ(opt.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(opt.status().message().find("unknown optimizer \"nadam\""), std::string::npos)
      << opt.status();
  EXPECT_NE(opt.status().message().find("adagrad, adam, adamw, rmsprop, sgd"), std::string::npos)
      << opt.status();
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

  // RMSprop: the velocity always, momentum and average gradient only when used (as Keras).
  auto rmsprop = optim::MakeRmsprop();
  auto rms_updates = rmsprop->AppendUpdates(g, {w}, {gw}, lr, it);
  ASSERT_TRUE(rms_updates.ok()) << rms_updates.status();
  EXPECT_EQ(g.node((*rms_updates)[0]).op->name, "graft.RmspropUpdate");
  ASSERT_EQ(rmsprop->slots().size(), 1u);
  EXPECT_EQ(g.node(rmsprop->slots()[0]).name, "rmsprop/dense_kernel_velocity");
  auto full = optim::MakeRmsprop({.momentum = 0.9, .centered = true});
  ASSERT_TRUE(full->AppendUpdates(g, {w}, {gw}, lr, it).ok());
  ASSERT_EQ(full->slots().size(), 3u);
  EXPECT_EQ(g.node(full->slots()[1]).name, "rmsprop/dense_kernel_momentum");
  EXPECT_EQ(g.node(full->slots()[2]).name, "rmsprop/dense_kernel_average_gradient");
  auto centered = optim::MakeRmsprop({.centered = true});
  ASSERT_TRUE(centered->AppendUpdates(g, {w}, {gw}, lr, it).ok());
  ASSERT_EQ(centered->slots().size(), 2u);

  // AdamW: Adam's slots under its own name.
  auto adamw = optim::MakeAdamW();
  ASSERT_TRUE(adamw->AppendUpdates(g, {w}, {gw}, lr, it).ok());
  ASSERT_EQ(adamw->slots().size(), 2u);
  EXPECT_EQ(g.node(adamw->slots()[0]).name, "adamw/dense_kernel_momentum");

  // Adagrad: the accumulator starts at initial_accumulator_value, rounded to the param's type.
  auto adagrad = optim::MakeAdagrad();
  ASSERT_TRUE(adagrad->AppendUpdates(g, {w, b}, {gw, gb}, lr, it).ok());
  ASSERT_EQ(adagrad->slots().size(), 2u);
  EXPECT_EQ(g.node(adagrad->slots()[0]).name, "adagrad/dense_kernel_accumulator");
  for (Value s : adagrad->slots()) {
    EXPECT_FALSE(g.node(s).attrs_as<VariableAttrs>().trainable);
    const Tensor t = g.VariableValue(s);
    for (int64_t i = 0; i < t.num_elements(); ++i) EXPECT_EQ(t.AsDouble(i), double{0.1f});
  }
  EXPECT_TRUE(g.Verify().ok());
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
  auto expect_error = [](const absl::StatusOr<std::vector<Operation>>& r, const std::string& needle) {
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
               "sgd optimizer: momentum must lie in [0, 1], got 1.5");
  EXPECT_TRUE(adam->slots().empty());
  // Hyperparameters out of range fail before anything is added.
  const int nodes = g.num_nodes();
  expect_error(optim::MakeRmsprop({.rho = 1.5})->AppendUpdates(g, {w}, {x}, lr, it),
               "rmsprop optimizer: rho must lie in [0, 1], got 1.5");
  expect_error(optim::MakeRmsprop({.momentum = -0.5})->AppendUpdates(g, {w}, {x}, lr, it),
               "momentum must lie in [0, 1], got -0.5");
  expect_error(optim::MakeRmsprop({.epsilon = -1})->AppendUpdates(g, {w}, {x}, lr, it),
               "epsilon must be >= 0, got -1");
  expect_error(optim::MakeAdamW({.weight_decay = -0.1})->AppendUpdates(g, {w}, {x}, lr, it),
               "adamw optimizer: weight_decay must be >= 0, got -0.1");
  expect_error(optim::MakeAdam({.beta_2 = 1})->AppendUpdates(g, {w}, {x}, lr, it),
               "adam optimizer: beta_1 and beta_2 must lie in [0, 1)");
  expect_error(
      optim::MakeAdagrad({.initial_accumulator_value = -1})->AppendUpdates(g, {w}, {x}, lr, it),
      "adagrad optimizer: initial_accumulator_value must be >= 0, got -1");
  EXPECT_EQ(g.num_nodes(), nodes);

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
  // RMSprop's optional slots follow its attributes.
  auto missing = g.AddNode("graft.RmspropUpdate", {w, x, lr, m},
                           optim::RmspropUpdateAttrs{.momentum = 0.9, .centered = true});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("with these attributes the inputs are (param, grad, "
                                            "lr, velocity, momentum, average_gradient), got 4 "
                                            "inputs"),
            std::string::npos)
      << missing.status();
  auto centered_only = g.AddNode("graft.RmspropUpdate", {w, x, lr, m, m},
                                 optim::RmspropUpdateAttrs{.centered = true});
  EXPECT_TRUE(centered_only.ok()) << centered_only.status();
  auto bad_acc = g.AddNode("graft.AdagradUpdate", {w, x, wrong, lr}, optim::AdagradUpdateAttrs{});
  ASSERT_FALSE(bad_acc.ok());
  EXPECT_NE(bad_acc.status().message().find("accumulator must have the type of param"),
            std::string::npos)
      << bad_acc.status();
  auto bad_lr = g.AddNode("graft.AdagradUpdate", {w, x, m, vec}, optim::AdagradUpdateAttrs{});
  EXPECT_FALSE(bad_lr.ok());
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
