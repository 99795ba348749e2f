// graft — learning-rate schedules (Keras 3 `keras.optimizers.schedules`), usable wherever an
// optimizer takes a learning rate.
//
// A schedule maps the optimizer's iteration count (the number of updates applied before this
// one, Keras `optimizer.iterations`, 0 on the first step) to the learning rate of that update.
// The trainer feeds the value to the plan's `learning_rate` placeholder every step, so a
// schedule never recompiles a plan. The formulas are Keras 3's
// (keras/src/optimizers/schedules/learning_rate_schedule.py), step = iteration:
//
//   ExponentialDecay        lr0 * decay_rate^(step / decay_steps)   (staircase: floor of the
//                           exponent)
//   PiecewiseConstantDecay  values[0] while step <= boundaries[0], values[i] while
//                           boundaries[i-1] < step <= boundaries[i], values.back() after the last
//   InverseTimeDecay        lr0 / (1 + decay_rate * step / decay_steps)   (staircase: floor of
//                           step / decay_steps)
//   PolynomialDecay         (lr0 - end) * (1 - s / d)^power + end, with s = min(step,
//                           decay_steps), d = decay_steps; cycle: s = step, d = decay_steps *
//                           ceil(step / decay_steps) (d = decay_steps at step 0)
//   CosineDecay             decayed(s, lr) = lr * ((1 - alpha) * 0.5 * (1 + cos(pi * s /
//                           decay_steps)) + alpha). Without warmup_target: decayed(min(step,
//                           decay_steps), lr0). With it: s = min(step, warmup_steps +
//                           decay_steps); s < warmup_steps: lr0 + (warmup_target - lr0) * s /
//                           warmup_steps; else decayed(s - warmup_steps, warmup_target)
//   CosineDecayRestarts     f = step / first_decay_steps; period i and fraction r of it: t_mul
//                           == 1: i = floor(f), r = f - i; else i = floor(log(1 - f (1 - t_mul))
//                           / log(t_mul)), r = (f - (1 - t_mul^i) / (1 - t_mul)) / t_mul^i;
//                           lr0 * ((1 - alpha) * 0.5 * m_mul^i * (1 + cos(pi r)) + alpha)
//
// graft evaluates them in double (Keras in the rate's float32) and rounds once, to the float32
// fed to the plan. CosineDecayRestarts's period is the exact floor of Keras's expression: a
// float log can land just below an integer at a restart (in float32, numpy's log puts step 8
// of t_mul = 7, first_decay_steps = 1 at the end of period 1, rate lr0 * alpha, where period 2
// begins, rate lr0 * m_mul^2), so graft settles the period by comparing the step with the
// periods' boundaries.
//
// Arguments are checked as an optimizer's hyperparameters are: the factories below always return
// a schedule; Check() says whether its arguments are valid, and Optimizer::AppendUpdates (so
// Model::Compile), Optimizer::SetLearningRate and ScheduleFromConfig fail with it, naming the
// schedule and the argument. Beyond Keras's own checks (decay_steps > 0, one more value than
// boundaries), graft refuses arguments for which the formula has no finite value at some step:
// non-finite numbers, boundaries that do not increase, a negative decay_rate (ExponentialDecay,
// InverseTimeDecay), a negative power (PolynomialDecay), warmup_steps < 0, and t_mul < 1
// (CosineDecayRestarts; Keras's log turns NaN once shrinking periods run out; PyTorch's
// CosineAnnealingWarmRestarts also requires T_mult >= 1).
//
// Usage:
//   namespace optim = graft::optim;
//   auto sgd = optim::MakeSgd({.learning_rate = optim::ExponentialDecay(0.1, 1000, 0.96)});
//   auto adam = optim::MakeAdam(
//       {.learning_rate = optim::CosineDecay(0.0, 10000, {.warmup_target = 1e-3,
//                                                         .warmup_steps = 500})});
//   model.Compile({.optimizer = std::move(adam), .loss = "mse"});   // Fit feeds
//                                                                   // LearningRateAt(iterations)
//   double lr = (*optim::PiecewiseConstantDecay({100, 200}, {1.0, 0.5, 0.1}))(150);   // 0.5
//
// A schedule of your own derives from LearningRateSchedule; to load models that use it, register
// its config reader with RegisterScheduleClass.
#ifndef GRAFT_OPTIM_SCHEDULES_H_
#define GRAFT_OPTIM_SCHEDULES_H_

#include <concepts>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace graft::optim {

// The base class (Keras `LearningRateSchedule`). Schedules are immutable and shared by pointer;
// every method is const and safe to call from several threads.
class LearningRateSchedule {
 public:
  virtual ~LearningRateSchedule() = default;

  // Keras's class name: "ExponentialDecay", "PiecewiseConstantDecay", ... (the key a saved model
  // records, and which ScheduleFromConfig reads).
  virtual std::string class_name() const = 0;

  // The learning rate of the update applied when `step` updates were applied before it (Keras
  // `__call__(step)`); step >= 0. Unspecified (possibly NaN) when Check() fails.
  virtual double operator()(int64_t step) const = 0;

  // Keras's `get_config()`: the constructor arguments by their Keras names (numbers, booleans,
  // lists, null for an absent optional, the name string). ScheduleFromConfig(class_name(),
  // GetConfig()) makes an equal schedule.
  virtual nlohmann::json GetConfig() const = 0;

  // OK when the arguments are valid; otherwise InvalidArgument "<class>: <argument> must be ...,
  // got ... Fix: ...".
  virtual absl::Status Check() const { return absl::OkStatus(); }
};

using LearningRateSchedulePtr = std::shared_ptr<const LearningRateSchedule>;

// A learning rate: a fixed number or a schedule. Implicitly constructible from both, so every
// optimizer option takes either: `.learning_rate = 1e-3` or `.learning_rate = ExponentialDecay(
// 0.1, 100, 0.5)` (or a std::shared_ptr to a schedule of your own).
class LearningRate {
 public:
  LearningRate(double value) : value_(value) {}   // NOLINT: implicit by design
  LearningRate(LearningRateSchedulePtr schedule)  // NOLINT: implicit by design
      : schedule_(std::move(schedule)), is_schedule_(true) {}
  template <typename S>
  requires std::derived_from<S, LearningRateSchedule> LearningRate(
      std::shared_ptr<S> schedule)  // NOLINT: implicit by design
      : LearningRate(LearningRateSchedulePtr(std::move(schedule))) {}

  bool is_schedule() const { return is_schedule_; }
  // The schedule; null for a fixed rate.
  const LearningRateSchedulePtr& schedule() const { return schedule_; }
  // The rate of the update with this iteration count: the fixed value, or the schedule's.
  double At(int64_t iteration) const;
  // A fixed rate must be finite; a schedule non-null with valid arguments (its Check()).
  absl::Status Check() const;

 private:
  double value_ = 0;
  LearningRateSchedulePtr schedule_;
  bool is_schedule_ = false;
};

// ---- the schedules: required arguments positional, Keras's optional ones in Options ---------
// Step counts (decay_steps, warmup_steps, first_decay_steps) are numbers, as Keras casts them
// to the rate's float type; they are written to configs as integers when they are whole.

struct ExponentialDecayOptions {
  bool staircase = false;
  std::string name = "ExponentialDecay";
};
// decay_steps > 0, decay_rate >= 0.
LearningRateSchedulePtr ExponentialDecay(double initial_learning_rate, double decay_steps,
                                         double decay_rate, ExponentialDecayOptions options = {});

struct PiecewiseConstantDecayOptions {
  std::string name = "PiecewiseConstant";
};
// boundaries: at least one, strictly increasing; values: boundaries.size() + 1 entries.
LearningRateSchedulePtr PiecewiseConstantDecay(std::vector<int64_t> boundaries,
                                               std::vector<double> values,
                                               PiecewiseConstantDecayOptions options = {});

struct InverseTimeDecayOptions {
  bool staircase = false;
  std::string name = "InverseTimeDecay";
};
// decay_steps > 0, decay_rate >= 0.
LearningRateSchedulePtr InverseTimeDecay(double initial_learning_rate, double decay_steps,
                                         double decay_rate, InverseTimeDecayOptions options = {});

struct PolynomialDecayOptions {
  double end_learning_rate = 0.0001;
  double power = 1.0;  // >= 0
  bool cycle = false;
  std::string name = "PolynomialDecay";
};
// decay_steps > 0.
LearningRateSchedulePtr PolynomialDecay(double initial_learning_rate, double decay_steps,
                                        PolynomialDecayOptions options = {});

struct CosineDecayOptions {
  double alpha = 0.0;
  std::optional<double> warmup_target;  // none: no warmup (Keras None)
  double warmup_steps = 0;              // >= 0
  std::string name = "CosineDecay";
};
// decay_steps > 0.
LearningRateSchedulePtr CosineDecay(double initial_learning_rate, double decay_steps,
                                    CosineDecayOptions options = {});

struct CosineDecayRestartsOptions {
  double t_mul = 2.0;  // >= 1
  double m_mul = 1.0;
  double alpha = 0.0;
  std::string name = "SGDRDecay";
};
// first_decay_steps > 0.
LearningRateSchedulePtr CosineDecayRestarts(double initial_learning_rate, double first_decay_steps,
                                            CosineDecayRestartsOptions options = {});

// ---- configs (schedule_config.cc) ---------------------------------------------------------

// Reads a schedule's config (Keras's get_config() dict) into a schedule. Given a config:
// the object the factory receives; it returns the schedule or an error naming the key.
using ScheduleFactory =
    std::function<absl::StatusOr<LearningRateSchedulePtr>(const nlohmann::json& config)>;

// Registers the config reader of a schedule class of your own (later registrations of a name
// replace earlier ones, built-in names included). Thread-safe.
void RegisterScheduleClass(const std::string& class_name, ScheduleFactory factory);

// The schedule `config` describes (Keras `from_config`): missing optional keys take Keras's
// defaults, "name" may be null (the default name), step counts in lists may be written 100 or
// 100.0. An unknown class is NOT_FOUND listing the known ones; a missing or unknown key or a
// value of the wrong kind is InvalidArgument naming the key ("ExponentialDecay:
// config.decay_steps: expected a number, found string"), an invalid value is Check()'s error
// ("ExponentialDecay: decay_steps must be > 0, got 0. Fix: ..."). Never throws.
absl::StatusOr<LearningRateSchedulePtr> ScheduleFromConfig(const std::string& class_name,
                                                           const nlohmann::json& config);

// Keras's serialised form, as optimizer configs hold it:
// {"class_name": "ExponentialDecay", "config": {...}}.
nlohmann::json SerializeSchedule(const LearningRateSchedule& schedule);
// Reads SerializeSchedule's form (Keras's "module" and "registered_name" keys are accepted and
// ignored); errors as ScheduleFromConfig's, or naming "class_name" / "config".
absl::StatusOr<LearningRateSchedulePtr> DeserializeSchedule(const nlohmann::json& serialized);

}  // namespace graft::optim

#endif  // GRAFT_OPTIM_SCHEDULES_H_
