// Tests for optim/schedules.h: each schedule against Keras 3's formula at chosen steps (the
// expected values are worked out by hand in the comments), the edge cases (staircase, cycle,
// warmup, restarts, the last boundary), argument and config errors, the optimizer's
// learning-rate API, Fit applying the scheduled rate step by step, and save / load / resume.
#include "optim/schedules.h"

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "io/safetensors.h"
#include "keras/keras.h"
#include "nlohmann/json.hpp"
#include "optim/optimizer.h"
#include "runtime/threads.h"
#include "tests/testing.h"

namespace graft {
namespace {

using ::graft::testing::Contains;
using Json = nlohmann::json;
namespace optim = ::graft::optim;

// `expected` within 1e-12 relative (graft computes in double; the literals are rounded).
void ExpectRate(const optim::LearningRateSchedulePtr& s, int64_t step, double expected) {
  ASSERT_NE(s, nullptr);
  EXPECT_TRUE(s->Check().ok()) << s->Check();
  EXPECT_NEAR((*s)(step), expected, 1e-12 * std::fabs(expected) + 1e-15)
      << s->class_name() << " at step " << step;
}

TEST(ExponentialDecay, KerasFormula) {
  auto s = optim::ExponentialDecay(0.1, 10, 0.5);
  ExpectRate(s, 0, 0.1);                   // 0.1 * 0.5^0
  ExpectRate(s, 15, 0.03535533905932738);  // 0.1 * 0.5^(15/10)
  ExpectRate(s, 20, 0.025);                // 0.1 * 0.5^2
  auto stairs = optim::ExponentialDecay(0.1, 10, 0.5, {.staircase = true});
  ExpectRate(stairs, 9, 0.1);    // 0.1 * 0.5^floor(0.9)
  ExpectRate(stairs, 15, 0.05);  // 0.1 * 0.5^floor(1.5)
  ExpectRate(stairs, 20, 0.025);
}

TEST(PiecewiseConstantDecay, ValueChangesAfterEachBoundary) {
  auto s = optim::PiecewiseConstantDecay({10, 20}, {1.0, 0.5, 0.1});
  ExpectRate(s, 0, 1.0);
  ExpectRate(s, 10, 1.0);  // step <= boundaries[0]
  ExpectRate(s, 11, 0.5);
  ExpectRate(s, 20, 0.5);  // the last boundary still belongs to the interval before it
  ExpectRate(s, 21, 0.1);
  ExpectRate(s, 1000000, 0.1);
}

TEST(InverseTimeDecay, KerasFormula) {
  auto s = optim::InverseTimeDecay(0.1, 10, 0.5);
  ExpectRate(s, 0, 0.1);
  ExpectRate(s, 15, 0.05714285714285715);  // 0.1 / (1 + 0.5 * 15/10) = 0.1 / 1.75
  auto stairs = optim::InverseTimeDecay(0.1, 10, 0.5, {.staircase = true});
  ExpectRate(stairs, 15, 0.1 / 1.5);  // 0.1 / (1 + 0.5 * floor(1.5))
}

TEST(PolynomialDecay, DecaysThenHoldsTheEndRate) {
  auto s = optim::PolynomialDecay(0.1, 10, {.end_learning_rate = 0.01, .power = 2});
  ExpectRate(s, 0, 0.1);
  ExpectRate(s, 5, 0.0325);  // (0.1 - 0.01) * (1 - 5/10)^2 + 0.01
  ExpectRate(s, 10, 0.01);
  ExpectRate(s, 15, 0.01);  // step clamped to decay_steps
  // Keras's defaults: end_learning_rate 0.0001, power 1.
  ExpectRate(optim::PolynomialDecay(0.1, 10), 5, 0.05005);  // 0.0999 * 0.5 + 0.0001
}

TEST(PolynomialDecay, CycleStretchesToTheNextMultipleOfDecaySteps) {
  auto s = optim::PolynomialDecay(0.1, 10, {.end_learning_rate = 0.01, .power = 2, .cycle = true});
  ExpectRate(s, 0, 0.1);        // decay_steps * 1 at step 0
  ExpectRate(s, 10, 0.01);      // ceil(10/10) = 1: the end of the first cycle
  ExpectRate(s, 11, 0.028225);  // d = 10 * ceil(1.1) = 20: 0.09 * (1 - 11/20)^2 + 0.01
  ExpectRate(s, 15, 0.015625);  // d = 20: 0.09 * (1 - 0.75)^2 + 0.01
  ExpectRate(s, 20, 0.01);
}

TEST(CosineDecay, KerasFormulaWithoutWarmup) {
  auto s = optim::CosineDecay(0.1, 10);
  ExpectRate(s, 0, 0.1);
  ExpectRate(s, 2, 0.09045084971874738);  // 0.1 * 0.5 * (1 + cos(pi * 2/10))
  ExpectRate(s, 5, 0.05);                 // 0.1 * 0.5 * (1 + cos(pi / 2))
  ExpectRate(s, 10, 0.0);
  ExpectRate(s, 50, 0.0);  // clamped to decay_steps
  auto floor = optim::CosineDecay(0.1, 10, {.alpha = 0.1});
  ExpectRate(floor, 5, 0.055);  // 0.1 * ((1 - 0.1) * 0.5 + 0.1)
  ExpectRate(floor, 99, 0.01);  // 0.1 * alpha
}

TEST(CosineDecay, LinearWarmupThenDecayFromTheTarget) {
  auto s = optim::CosineDecay(0.0, 10, {.warmup_target = 0.1, .warmup_steps = 4});
  ExpectRate(s, 0, 0.0);
  ExpectRate(s, 1, 0.025);  // 0 + (0.1 - 0) * 1/4
  ExpectRate(s, 3, 0.075);
  ExpectRate(s, 4, 0.1);   // decay starts: 0.1 * 0.5 * (1 + cos(0))
  ExpectRate(s, 9, 0.05);  // 0.1 * 0.5 * (1 + cos(pi * 5/10))
  ExpectRate(s, 14, 0.0);
  ExpectRate(s, 100, 0.0);  // clamped to warmup_steps + decay_steps
  auto floor = optim::CosineDecay(0.0, 10, {.alpha = 0.5, .warmup_target = 0.1, .warmup_steps = 4});
  ExpectRate(floor, 100, 0.05);  // warmup_target * alpha
  // Keras: a warmup_target with warmup_steps 0 decays from the target, not from lr0.
  ExpectRate(optim::CosineDecay(0.5, 10, {.warmup_target = 0.1}), 0, 0.1);
}

TEST(CosineDecayRestarts, PeriodsGrowByTMul) {
  // Periods of 10, 20, 40, 80 steps start at 0, 10, 30, 70.
  auto s = optim::CosineDecayRestarts(1.0, 10);
  ExpectRate(s, 0, 1.0);
  ExpectRate(s, 5, 0.5);   // 0.5 * (1 + cos(pi * 0.5))
  ExpectRate(s, 10, 1.0);  // restart
  ExpectRate(s, 20, 0.5);  // i = 1, r = (2 - 1) / 2
  ExpectRate(s, 30, 1.0);
  ExpectRate(s, 50, 0.5);                   // i = 2, r = (5 - 3) / 4
  ExpectRate(s, 69, 0.001541333133436018);  // i = 2, r = (6.9 - 3) / 4 = 0.975
  ExpectRate(s, 70, 1.0);
  // m_mul scales each period's cosine, alpha is added after: i = 2, m_mul^2 = 0.25,
  // 0.1 * ((1 - 0.1) * 0.5 * 0.25 * (1 + cos(pi/2)) + 0.1).
  ExpectRate(optim::CosineDecayRestarts(0.1, 10, {.m_mul = 0.5, .alpha = 0.1}), 50,
             0.021250000000000005);
}

TEST(CosineDecayRestarts, EqualPeriodsWhenTMulIsOne) {
  auto s = optim::CosineDecayRestarts(1.0, 10, {.t_mul = 1, .m_mul = 0.5});
  ExpectRate(s, 25, 0.125);  // i = floor(2.5) = 2, r = 0.5: 0.5 * 0.5^2 * (1 + cos(pi/2))
  ExpectRate(s, 30, 0.125);  // i = 3, r = 0: 0.5 * 0.5^3 * 2
}

TEST(CosineDecayRestarts, ExactRestartWhereTheFloatLogFallsShort) {
  // t_mul 10, first period 1 step: periods start at 0, 1, 11, 111. In double,
  // log(1 + 111 * 9) / log(10) is just below 3, so Keras's expression taken literally gives
  // period 2 at its very end (rate 0); step 111 is the start of period 3.
  auto s = optim::CosineDecayRestarts(1.0, 1, {.t_mul = 10});
  ExpectRate(s, 110, 0.0002467198171342);  // i = 2, r = (110 - 11) / 100: 0.5 (1 + cos(0.99 pi))
  ExpectRate(s, 111, 1.0);
  ExpectRate(s, 11, 1.0);
}

TEST(Schedules, InvalidArgumentsNameTheScheduleAndTheArgument) {
  struct Case {
    optim::LearningRateSchedulePtr schedule;
    const char* message;
  };
  const Case cases[] = {
      {optim::ExponentialDecay(0.1, 0, 0.5), "ExponentialDecay: decay_steps must be > 0, got 0"},
      {optim::ExponentialDecay(0.1, 10, -0.5), "ExponentialDecay: decay_rate must be >= 0"},
      {optim::ExponentialDecay(NAN, 10, 0.5),
       "ExponentialDecay: initial_learning_rate must be a finite number, got nan"},
      {optim::InverseTimeDecay(0.1, -1, 0.5), "InverseTimeDecay: decay_steps must be > 0, got -1"},
      {optim::PiecewiseConstantDecay({10, 5}, {1, 2, 3}),
       "PiecewiseConstantDecay: boundaries must be strictly increasing, got boundaries[0] = 10 "
       "then boundaries[1] = 5"},
      {optim::PiecewiseConstantDecay({10, 10}, {1, 2, 3}), "strictly increasing"},
      {optim::PiecewiseConstantDecay({10}, {1}),
       "PiecewiseConstantDecay: values needs one more entry than boundaries"},
      {optim::PiecewiseConstantDecay({10}, {1}), "expected 2 values for 1 boundaries [10], got 1"},
      {optim::PiecewiseConstantDecay({}, {1}), "PiecewiseConstantDecay: boundaries is empty"},
      {optim::PolynomialDecay(0.1, 10, {.power = -1}), "PolynomialDecay: power must be >= 0"},
      {optim::CosineDecay(0.1, 0), "CosineDecay: decay_steps must be > 0"},
      {optim::CosineDecay(0.1, 10, {.warmup_target = 1, .warmup_steps = -2}),
       "CosineDecay: warmup_steps must be >= 0, got -2"},
      {optim::CosineDecayRestarts(0.1, 0), "CosineDecayRestarts: first_decay_steps must be > 0"},
      {optim::CosineDecayRestarts(0.1, 10, {.t_mul = 0.5}),
       "CosineDecayRestarts: t_mul must be >= 1, got 0.5"},
  };
  for (const Case& c : cases) {
    const absl::Status s = c.schedule->Check();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.message;
    EXPECT_TRUE(Contains(s.message(), c.message)) << s;
    EXPECT_TRUE(Contains(s.message(), "Fix: ")) << s;
  }
}

// ---- the optimizer's learning-rate API ------------------------------------------------------

TEST(OptimizerLearningRate, NumberOrScheduleInEveryOptimizer) {
  auto schedule = optim::ExponentialDecay(0.1, 10, 0.5);
  std::unique_ptr<optim::Optimizer> opts[] = {
      optim::MakeAdam({.learning_rate = schedule}),
      optim::MakeAdamW({.learning_rate = schedule}),
      optim::MakeSgd({.learning_rate = schedule}),
      optim::MakeRmsprop({.learning_rate = schedule}),
      optim::MakeAdagrad({.learning_rate = schedule}),
  };
  for (const auto& o : opts) {
    SCOPED_TRACE(o->name());
    EXPECT_TRUE(o->has_schedule());
    EXPECT_EQ(o->schedule(), schedule);
    EXPECT_NEAR(o->LearningRateAt(20), 0.025, 1e-15);  // 0.1 * 0.5^2
    for (const auto& [key, value] : o->GetConfig()) EXPECT_NE(key, "learning_rate");
  }
  auto fixed = optim::MakeAdam({.learning_rate = 1e-3});
  EXPECT_FALSE(fixed->has_schedule());
  EXPECT_EQ(fixed->schedule(), nullptr);
  EXPECT_EQ(fixed->LearningRateAt(0), 1e-3);
  EXPECT_EQ(fixed->LearningRateAt(12345), 1e-3);
  ASSERT_FALSE(fixed->GetConfig().empty());
  EXPECT_EQ(fixed->GetConfig()[0], (std::pair<std::string, double>{"learning_rate", 1e-3}));
}

TEST(OptimizerLearningRate, SetLearningRateFailsUnderASchedule) {
  auto sgd = optim::MakeSgd({.learning_rate = optim::PiecewiseConstantDecay({5}, {0.1, 0.01})});
  const absl::Status s = sgd->SetLearningRate(0.5);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Contains(s.message(),
                       "sgd optimizer: SetLearningRate(0.5): this optimizer was created with a "
                       "LearningRateSchedule object (PiecewiseConstantDecay) as its "
                       "learning_rate, hence its learning rate is not settable"))
      << s;
  EXPECT_TRUE(Contains(s.message(), "Fix: ")) << s;
  EXPECT_EQ(sgd->LearningRateAt(6), 0.01);  // unchanged

  auto fixed = optim::MakeSgd();
  ASSERT_TRUE(fixed->SetLearningRate(0.5).ok());
  EXPECT_EQ(fixed->LearningRateAt(3), 0.5);
  EXPECT_EQ(fixed->SetLearningRate(INFINITY).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(fixed->LearningRateAt(3), 0.5);
  // A schedule may replace either (Keras allows assigning one); an invalid one changes nothing.
  const absl::Status bad = fixed->SetLearningRate(optim::ExponentialDecay(0.1, 0, 0.5));
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(bad.message(), "sgd optimizer: ExponentialDecay: decay_steps")) << bad;
  EXPECT_FALSE(fixed->has_schedule());
  ASSERT_TRUE(fixed->SetLearningRate(optim::ExponentialDecay(0.1, 1, 0.5)).ok());
  EXPECT_TRUE(fixed->has_schedule());
  EXPECT_EQ(fixed->LearningRateAt(2), 0.025);
  EXPECT_EQ(fixed->SetLearningRate(optim::LearningRateSchedulePtr()).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(OptimizerLearningRate, InvalidScheduleFailsAppendUpdatesBeforeAddingNodes) {
  Graph g;
  Value w = g.Variable(Tensor(DType::kF32, {2}), "w");
  Value gw = g.Placeholder({DType::kF32, {2}}, "gw");
  Value lr = g.Placeholder({DType::kF32, {}}, "lr");
  Value it = g.Placeholder({DType::kF32, {}}, "it");
  const int nodes = g.num_nodes();
  auto adam = optim::MakeAdam({.learning_rate = optim::CosineDecay(0.1, -3)});
  auto updates = adam->AppendUpdates(g, {w}, {gw}, lr, it);
  ASSERT_FALSE(updates.ok());
  EXPECT_EQ(updates.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(updates.status().message(),
                       "adam optimizer: CosineDecay: decay_steps must be > 0, got -3"))
      << updates.status();
  EXPECT_EQ(g.num_nodes(), nodes);
  auto null = optim::MakeSgd({.learning_rate = optim::LearningRateSchedulePtr()});
  updates = null->AppendUpdates(g, {w}, {gw}, lr, it);
  ASSERT_FALSE(updates.ok());
  EXPECT_TRUE(Contains(updates.status().message(), "the schedule is null")) << updates.status();
}

// ---- configs --------------------------------------------------------------------------------

TEST(ScheduleConfig, KerasKeysAndRoundTrip) {
  EXPECT_EQ(optim::ExponentialDecay(0.1, 10, 0.5)->GetConfig(),
            Json({{"initial_learning_rate", 0.1},
                  {"decay_steps", 10},
                  {"decay_rate", 0.5},
                  {"staircase", false},
                  {"name", "ExponentialDecay"}}));
  const Json cosine = optim::CosineDecay(0.1, 1000)->GetConfig();
  EXPECT_TRUE(cosine["warmup_target"].is_null());
  EXPECT_TRUE(cosine["decay_steps"].is_number_integer());
  EXPECT_EQ(optim::CosineDecayRestarts(0.1, 10)->GetConfig()["name"], "SGDRDecay");
  EXPECT_EQ(optim::PiecewiseConstantDecay({1}, {2, 3})->GetConfig()["name"], "PiecewiseConstant");

  const optim::LearningRateSchedulePtr all[] = {
      optim::ExponentialDecay(0.1, 10, 0.5, {.staircase = true, .name = "exp"}),
      optim::PiecewiseConstantDecay({10, 20}, {1.0, 0.5, 0.1}),
      optim::InverseTimeDecay(0.1, 2.5, 0.5),
      optim::PolynomialDecay(0.1, 10, {.end_learning_rate = 0.01, .power = 0.5, .cycle = true}),
      optim::CosineDecay(0.0, 10, {.alpha = 0.1, .warmup_target = 0.1, .warmup_steps = 4}),
      optim::CosineDecayRestarts(0.1, 10, {.t_mul = 3, .m_mul = 0.9, .alpha = 0.01}),
  };
  for (const auto& s : all) {
    SCOPED_TRACE(s->class_name());
    const Json serialized = optim::SerializeSchedule(*s);
    EXPECT_EQ(serialized["class_name"], s->class_name());
    absl::StatusOr<optim::LearningRateSchedulePtr> back =
        optim::DeserializeSchedule(Json::parse(serialized.dump()));
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ((*back)->GetConfig(), s->GetConfig());
    for (int64_t step : {0, 3, 7, 15, 40}) EXPECT_EQ((**back)(step), (*s)(step)) << step;
  }
}

TEST(ScheduleConfig, ReadsKerasWrittenConfigs) {
  // keras.optimizers.schedules.deserialize's docstring example, and Keras 3's serialize() form.
  absl::StatusOr<optim::LearningRateSchedulePtr> s = optim::ScheduleFromConfig(
      "PolynomialDecay", Json::parse(R"({"cycle": false, "decay_steps": 10000,
          "end_learning_rate": 0.01, "initial_learning_rate": 0.1, "name": null, "power": 0.5})"));
  ASSERT_TRUE(s.ok()) << s.status();
  ExpectRate(*s, 7500, 0.055);  // 0.09 * (1 - 0.75)^0.5 + 0.01
  EXPECT_EQ((*s)->GetConfig()["name"], "PolynomialDecay");
  s = optim::DeserializeSchedule(Json::parse(R"({"module": "keras.optimizers.schedules",
      "class_name": "ExponentialDecay", "registered_name": null,
      "config": {"initial_learning_rate": 0.1, "decay_steps": 100000.0, "decay_rate": 0.96}})"));
  ASSERT_TRUE(s.ok()) << s.status();
  ExpectRate(*s, 100000, 0.096);
  // Integral floats are accepted as boundaries.
  s = optim::ScheduleFromConfig("PiecewiseConstantDecay",
                                Json::parse(R"({"boundaries": [5.0], "values": [1, 2]})"));
  ASSERT_TRUE(s.ok()) << s.status();
  ExpectRate(*s, 6, 2);
}

TEST(ScheduleConfig, ErrorsNameTheKey) {
  struct Case {
    const char* class_name;
    const char* config;
    absl::StatusCode code;
    const char* message;
  };
  const Case cases[] = {
      {"ExponentialDecay", R"({"initial_learning_rate": 0.1, "decay_step": 10, "decay_rate": 0.5})",
       absl::StatusCode::kInvalidArgument,
       "ExponentialDecay: config.decay_steps: missing (a number is required)"},
      {"ExponentialDecay",
       R"({"initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.5, "decay_step": 1})",
       absl::StatusCode::kInvalidArgument,
       "ExponentialDecay: config.decay_step: unknown argument; ExponentialDecay has: "
       "initial_learning_rate, decay_steps, decay_rate, staircase, name"},
      {"ExponentialDecay",
       R"({"initial_learning_rate": 0.1, "decay_steps": "10", "decay_rate": 0.5})",
       absl::StatusCode::kInvalidArgument,
       "ExponentialDecay: config.decay_steps: expected a number, found string"},
      {"ExponentialDecay", R"({"initial_learning_rate": 0.1, "decay_steps": 0, "decay_rate": 0.5})",
       absl::StatusCode::kInvalidArgument, "ExponentialDecay: decay_steps must be > 0, got 0"},
      {"InverseTimeDecay",
       R"({"initial_learning_rate": 0.1, "decay_steps": 1, "decay_rate": 0.5, "staircase": 1})",
       absl::StatusCode::kInvalidArgument,
       "InverseTimeDecay: config.staircase: expected true or false, found number"},
      {"PiecewiseConstantDecay", R"({"boundaries": [1.5], "values": [1, 2]})",
       absl::StatusCode::kInvalidArgument,
       "PiecewiseConstantDecay: config.boundaries[0]: expected an integer within +-2^53, found "
       "number"},
      {"PiecewiseConstantDecay", R"({"boundaries": [1], "values": [1, "x"]})",
       absl::StatusCode::kInvalidArgument,
       "PiecewiseConstantDecay: config.values[1]: expected a number, found string"},
      {"PiecewiseConstantDecay", R"({"boundaries": 3, "values": [1, 2]})",
       absl::StatusCode::kInvalidArgument, "config.boundaries: expected a list of integers"},
      {"CosineDecay", R"({"initial_learning_rate": 0.1, "decay_steps": 5, "warmup_target": "a"})",
       absl::StatusCode::kInvalidArgument,
       "CosineDecay: config.warmup_target: expected a number or null, found string"},
      {"CosineDecayRestarts", R"([1, 2])", absl::StatusCode::kInvalidArgument,
       "CosineDecayRestarts: config: expected an object, found array"},
      {"StepDecay", R"({})", absl::StatusCode::kNotFound,
       "unknown learning-rate schedule class \"StepDecay\"; graft knows: CosineDecay, "
       "CosineDecayRestarts, ExponentialDecay, InverseTimeDecay, PiecewiseConstantDecay, "
       "PolynomialDecay"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<optim::LearningRateSchedulePtr> s =
        optim::ScheduleFromConfig(c.class_name, Json::parse(c.config));
    ASSERT_FALSE(s.ok()) << c.message;
    EXPECT_EQ(s.status().code(), c.code) << s.status();
    EXPECT_TRUE(Contains(s.status().message(), c.message)) << s.status();
  }
  for (const char* serialized : {R"([])", R"({"config": {}})", R"({"class_name": "CosineDecay"})",
                                 R"({"class_name": "CosineDecay", "config": {}, "extra": 1})"}) {
    absl::StatusOr<optim::LearningRateSchedulePtr> s =
        optim::DeserializeSchedule(Json::parse(serialized));
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << serialized;
  }
}

// A schedule of a program's own: halves the rate every `every` steps.
class Halving : public optim::LearningRateSchedule {
 public:
  Halving(double lr0, int64_t every) : lr0_(lr0), every_(every) {}
  std::string class_name() const override { return "test.Halving"; }
  double operator()(int64_t step) const override {
    return lr0_ * std::pow(0.5, static_cast<double>(step / every_));
  }
  Json GetConfig() const override { return {{"lr0", lr0_}, {"every", every_}}; }
  absl::Status Check() const override {
    return every_ > 0 ? absl::OkStatus() : absl::InvalidArgumentError("test.Halving: every <= 0");
  }

 private:
  double lr0_;
  int64_t every_;
};

TEST(ScheduleConfig, RegisteredScheduleOfYourOwn) {
  optim::RegisterScheduleClass("test.Halving", [](const Json& c) {
    return absl::StatusOr<optim::LearningRateSchedulePtr>(
        std::make_shared<Halving>(c.value("lr0", 1.0), c.value("every", int64_t{0})));
  });
  auto sgd = optim::MakeSgd({.learning_rate = std::make_shared<Halving>(0.8, 2)});
  ASSERT_TRUE(sgd->has_schedule());
  absl::StatusOr<optim::LearningRateSchedulePtr> back =
      optim::DeserializeSchedule(optim::SerializeSchedule(*sgd->schedule()));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ((**back)(5), 0.2);  // 0.8 * 0.5^floor(5/2)
  // The factory's schedule is checked too.
  back = optim::ScheduleFromConfig("test.Halving", Json{{"lr0", 1.0}, {"every", 0}});
  EXPECT_FALSE(back.ok());
}

// ---- training with a schedule ---------------------------------------------------------------

class ScheduledFit : public ::testing::Test {
 protected:
  void SetUp() override {
    SetNumThreads(1);
    SetAdaptiveThreads(false);
    keras::SetRandomSeed(11);
  }
  void TearDown() override { SetAdaptiveThreads(true); }

  // One Dense unit on 4 samples of 2 features.
  static keras::Sequential TinyModel() {
    return keras::Sequential({keras::layers::Dense(1, {.input_shape = {2}})});
  }
  // Plain SGD on mean squared error, lr 0.1 * 0.5^step.
  static absl::Status Compile(keras::Sequential& m) {
    return m.Compile({.optimizer = std::shared_ptr<optim::Optimizer>(
                          optim::MakeSgd({.learning_rate = optim::ExponentialDecay(0.1, 1, 0.5)})),
                      .loss = "mse"});
  }
  // One Fit step on the whole batch; checks that the weights moved by -lr * gradient, the
  // gradient of mean((x w + b - y)^2) taken at the weights before the step.
  void StepAndExpectRate(keras::Model& m, double lr) {
    const std::vector<Tensor> before = m.GetWeights();
    ASSERT_EQ(before.size(), 2u);
    std::vector<double> gw(2, 0.0);
    double gb = 0;
    for (int i = 0; i < 4; ++i) {
      const double x0 = x_.AsDouble(2 * i), x1 = x_.AsDouble(2 * i + 1);
      const double err = x0 * before[0].AsDouble(0) + x1 * before[0].AsDouble(1) +
                         before[1].AsDouble(0) - y_.AsDouble(i);
      gw[0] += 2 * err * x0 / 4;
      gw[1] += 2 * err * x1 / 4;
      gb += 2 * err / 4;
    }
    absl::StatusOr<keras::History> h =
        m.Fit(x_, y_, {.batch_size = 4, .epochs = 1, .verbose = 0, .shuffle = false});
    ASSERT_TRUE(h.ok()) << h.status();
    const std::vector<Tensor> after = m.GetWeights();
    const double expected[] = {-lr * gw[0], -lr * gw[1], -lr * gb};
    const double moved[] = {after[0].AsDouble(0) - before[0].AsDouble(0),
                            after[0].AsDouble(1) - before[0].AsDouble(1),
                            after[1].AsDouble(0) - before[1].AsDouble(0)};
    for (int k = 0; k < 3; ++k) {
      EXPECT_NEAR(moved[k], expected[k], 1e-3 * std::fabs(expected[k]) + 1e-6)
          << "parameter " << k << ", lr " << lr;
    }
  }

  const Tensor x_ = Tensor::FromVector<float>({4, 2}, {1, 2, -1, 0.5, 0.5, -2, 2, 1});
  const Tensor y_ = Tensor::FromVector<float>({4, 1}, {3, -1, 2, 0.5});
};

TEST_F(ScheduledFit, EachStepUsesTheScheduledRate) {
  keras::Sequential m = TinyModel();
  ASSERT_TRUE(Compile(m).ok());
  // Iterations 0, 1, 2, 3 (updates applied before each): 0.1 * 0.5^t.
  for (double lr : {0.1, 0.05, 0.025, 0.0125}) {
    StepAndExpectRate(m, lr);
    if (HasFatalFailure()) return;
  }
}

TEST_F(ScheduledFit, SavedScheduleLoadsAndResumesAtTheIterationCount) {
  keras::Sequential m = TinyModel();
  ASSERT_TRUE(Compile(m).ok());
  StepAndExpectRate(m, 0.1);
  StepAndExpectRate(m, 0.05);
  const char* dir = std::getenv("TEST_TMPDIR");
  const std::string path = std::string(dir ? dir : "/tmp") + "/scheduled.graft";
  ASSERT_TRUE(m.Save(path).ok());

  // The file holds Keras's serialised form in the optimizer config.
  absl::StatusOr<io::Safetensors> file = io::LoadSafetensors(path);
  ASSERT_TRUE(file.ok()) << file.status();
  Json root = Json::parse(file->metadata.at("graft_model"));
  const Json& lr = root["compile_config"]["optimizer"]["config"]["learning_rate"];
  EXPECT_EQ(lr, Json({{"class_name", "ExponentialDecay"},
                      {"config",
                       {{"initial_learning_rate", 0.1},
                        {"decay_steps", 1},
                        {"decay_rate", 0.5},
                        {"staircase", false},
                        {"name", "ExponentialDecay"}}}}));
  EXPECT_EQ(root["training_state"]["iterations"], 2);

  absl::StatusOr<keras::Model> loaded = keras::LoadModel(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  StepAndExpectRate(*loaded, 0.025);  // iteration 2, not the schedule's start
  StepAndExpectRate(*loaded, 0.0125);

  // A bad schedule config in a file is an error naming the key.
  root["compile_config"]["optimizer"]["config"]["learning_rate"]["config"]["decay_steps"] = 0;
  file->metadata["graft_model"] = root.dump();
  const std::string bad = std::string(dir ? dir : "/tmp") + "/bad_schedule.graft";
  ASSERT_TRUE(io::SaveSafetensors(bad, file->tensors, file->metadata).ok());
  absl::StatusOr<keras::Model> refused = keras::LoadModel(bad);
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(Contains(refused.status().message(),
                       "graft_model compile_config.optimizer.config.learning_rate: "
                       "ExponentialDecay: decay_steps must be > 0, got 0"))
      << refused.status();
  root["compile_config"]["optimizer"]["config"]["learning_rate"] = {{"class_name", "Nope"},
                                                                    {"config", Json::object()}};
  file->metadata["graft_model"] = root.dump();
  ASSERT_TRUE(io::SaveSafetensors(bad, file->tensors, file->metadata).ok());
  refused = keras::LoadModel(bad);
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(Contains(refused.status().message(),
                       "compile_config.optimizer.config.learning_rate: unknown learning-rate "
                       "schedule class \"Nope\""))
      << refused.status();
}

TEST_F(ScheduledFit, CallbacksSeeTheScheduledRateAndCannotSetIt) {
  keras::Sequential m = TinyModel();
  ASSERT_TRUE(Compile(m).ok());
  EXPECT_EQ(m.iterations(), 0);
  // ReduceLROnPlateau logs the rate in force at the end of each epoch (one step per epoch):
  // 0.1 * 0.5^1, then 0.1 * 0.5^2; it never needs to reduce here.
  absl::StatusOr<keras::History> h =
      m.Fit(x_, y_,
            {.batch_size = 4,
             .epochs = 2,
             .verbose = 0,
             .shuffle = false,
             .callbacks = {keras::callbacks::ReduceLROnPlateau({.monitor = "loss"})}});
  ASSERT_TRUE(h.ok()) << h.status();
  ASSERT_EQ(h->history["learning_rate"].size(), 2u);
  EXPECT_FLOAT_EQ(h->history["learning_rate"][0], 0.05f);
  EXPECT_FLOAT_EQ(h->history["learning_rate"][1], 0.025f);
  EXPECT_EQ(m.iterations(), 2);
  // LearningRateScheduler sets the rate (here the one in force at iteration 2, 0.1 * 0.5^2),
  // which a schedule forbids (Keras raises too).
  h = m.Fit(
      x_, y_,
      {.batch_size = 4,
       .verbose = 0,
       .callbacks = {keras::callbacks::LearningRateScheduler([](int, double lr) { return lr; })}});
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Contains(h.status().message(),
                       "LearningRateScheduler.OnEpochBegin: sgd optimizer: SetLearningRate(0.025)"
                       ": this optimizer was created with a LearningRateSchedule object"))
      << h.status();
}

TEST_F(ScheduledFit, CompileRefusesAnInvalidSchedule) {
  keras::Sequential m = TinyModel();
  const absl::Status s =
      m.Compile({.optimizer = std::shared_ptr<optim::Optimizer>(optim::MakeSgd(
                     {.learning_rate = optim::PiecewiseConstantDecay({10, 20}, {1.0, 0.5})})),
                 .loss = "mse"});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(s.message(),
                       "sgd optimizer: PiecewiseConstantDecay: values needs one "
                       "more entry than boundaries"))
      << s;
}

}  // namespace
}  // namespace graft
