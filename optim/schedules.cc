// optim/schedules.cc — the six Keras 3 learning-rate schedules: their formulas, argument checks
// and configs (the math is in schedules.h). Reading configs is in schedule_config.cc.
#include "optim/schedules.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "optim/update_op.h"

namespace graft::optim {
namespace {

using Json = nlohmann::json;

// A step count as Keras users write it: an integer when whole (JSON 1000, not 1000.0).
Json StepsJson(double steps) {
  if (std::isfinite(steps) && steps == std::floor(steps) && std::fabs(steps) < 0x1p53) {
    return static_cast<int64_t>(steps);
  }
  return steps;
}

// "<schedule>: <argument> must be <what>, got <value>. Fix: <fix>", or OK when `ok`.
absl::Status Expect(bool ok, absl::string_view schedule, absl::string_view argument,
                    absl::string_view what, double value, absl::string_view fix) {
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(schedule, ": ", argument, " must be ", what, ", got ", value, ". Fix: ", fix));
}

absl::Status ExpectFinite(absl::string_view schedule, absl::string_view argument, double value) {
  return Expect(std::isfinite(value), schedule, argument, "a finite number", value,
                "give a finite value");
}

absl::Status ExpectSteps(absl::string_view schedule, absl::string_view argument, double value) {
  return Expect(std::isfinite(value) && value > 0, schedule, argument, "> 0", value,
                "give the number of steps (updates) the decay takes, e.g. 1000");
}

using internal::FirstError;

// Keras's cosine decay from `from` towards from * alpha: s in [0, decay_steps].
double Cosine(double s, double decay_steps, double from, double alpha) {
  const double cosine = 0.5 * (1.0 + std::cos(std::numbers::pi * s / decay_steps));
  return from * ((1 - alpha) * cosine + alpha);
}

// ExponentialDecay and InverseTimeDecay: the same arguments, two formulas.
class RateDecay : public LearningRateSchedule {
 public:
  RateDecay(bool inverse, double lr0, double decay_steps, double decay_rate, bool staircase,
            std::string name)
      : inverse_(inverse),
        lr0_(lr0),
        decay_steps_(decay_steps),
        decay_rate_(decay_rate),
        staircase_(staircase),
        name_(std::move(name)) {}

  std::string class_name() const override {
    return inverse_ ? "InverseTimeDecay" : "ExponentialDecay";
  }
  double operator()(int64_t step) const override {
    double p = static_cast<double>(step) / decay_steps_;
    if (staircase_) p = std::floor(p);
    return inverse_ ? lr0_ / (1 + decay_rate_ * p) : lr0_ * std::pow(decay_rate_, p);
  }
  Json GetConfig() const override {
    return {{"initial_learning_rate", lr0_},
            {"decay_steps", StepsJson(decay_steps_)},
            {"decay_rate", decay_rate_},
            {"staircase", staircase_},
            {"name", name_}};
  }
  absl::Status Check() const override {
    const std::string who = class_name();
    return FirstError(
        {ExpectFinite(who, "initial_learning_rate", lr0_),
         ExpectSteps(who, "decay_steps", decay_steps_),
         Expect(std::isfinite(decay_rate_) && decay_rate_ >= 0, who, "decay_rate", ">= 0",
                decay_rate_,
                inverse_ ? "a negative rate divides by zero once decay_rate * step / "
                           "decay_steps reaches -1; give a rate >= 0"
                         : "a negative base has no real power at fractional exponents; give "
                           "the factor per decay_steps, e.g. 0.96")});
  }

 private:
  bool inverse_;
  double lr0_, decay_steps_, decay_rate_;
  bool staircase_;
  std::string name_;
};

class PiecewiseConstant : public LearningRateSchedule {
 public:
  PiecewiseConstant(std::vector<int64_t> boundaries, std::vector<double> values, std::string name)
      : boundaries_(std::move(boundaries)), values_(std::move(values)), name_(std::move(name)) {}

  std::string class_name() const override { return "PiecewiseConstantDecay"; }
  double operator()(int64_t step) const override {
    if (values_.size() != boundaries_.size() + 1) return std::nan("");
    // The first boundary >= step: values[i] holds while boundaries[i-1] < step <= boundaries[i].
    size_t i = 0;
    while (i < boundaries_.size() && step > boundaries_[i]) ++i;
    return values_[i];
  }
  Json GetConfig() const override {
    return {{"boundaries", boundaries_}, {"values", values_}, {"name", name_}};
  }
  absl::Status Check() const override {
    const std::string who = class_name();
    if (boundaries_.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          who,
          ": boundaries is empty; at least one step is needed where the value changes. "
          "Fix: give boundaries, or a number as learning_rate for a constant rate"));
    }
    if (values_.size() != boundaries_.size() + 1) {
      return absl::InvalidArgumentError(
          absl::StrCat(who,
                       ": values needs one more entry than boundaries (a value before the first "
                       "boundary, one between each two, one after the last): expected ",
                       boundaries_.size() + 1, " values for ", boundaries_.size(), " boundaries [",
                       absl::StrJoin(boundaries_, ", "), "], got ", values_.size(),
                       ". Fix: add or remove values"));
    }
    for (size_t i = 1; i < boundaries_.size(); ++i) {
      if (boundaries_[i] <= boundaries_[i - 1]) {
        return absl::InvalidArgumentError(
            absl::StrCat(who, ": boundaries must be strictly increasing, got boundaries[", i - 1,
                         "] = ", boundaries_[i - 1], " then boundaries[", i, "] = ", boundaries_[i],
                         ". Fix: sort the boundaries and remove duplicates"));
      }
    }
    for (size_t i = 0; i < values_.size(); ++i) {
      if (absl::Status s = ExpectFinite(who, absl::StrCat("values[", i, "]"), values_[i]);
          !s.ok()) {
        return s;
      }
    }
    return absl::OkStatus();
  }

 private:
  std::vector<int64_t> boundaries_;
  std::vector<double> values_;
  std::string name_;
};

class Polynomial : public LearningRateSchedule {
 public:
  Polynomial(double lr0, double decay_steps, const PolynomialDecayOptions& o)
      : lr0_(lr0), decay_steps_(decay_steps), o_(o) {}

  std::string class_name() const override { return "PolynomialDecay"; }
  double operator()(int64_t step) const override {
    double s = static_cast<double>(step), d = decay_steps_;
    if (o_.cycle) {
      // The first multiple of decay_steps that is >= step (decay_steps itself at step 0).
      d *= step == 0 ? 1.0 : std::ceil(s / decay_steps_);
    } else {
      s = std::min(s, d);
    }
    return (lr0_ - o_.end_learning_rate) * std::pow(1 - s / d, o_.power) + o_.end_learning_rate;
  }
  Json GetConfig() const override {
    return {{"initial_learning_rate", lr0_},
            {"decay_steps", StepsJson(decay_steps_)},
            {"end_learning_rate", o_.end_learning_rate},
            {"power", o_.power},
            {"cycle", o_.cycle},
            {"name", o_.name}};
  }
  absl::Status Check() const override {
    const std::string who = class_name();
    return FirstError(
        {ExpectFinite(who, "initial_learning_rate", lr0_),
         ExpectSteps(who, "decay_steps", decay_steps_),
         ExpectFinite(who, "end_learning_rate", o_.end_learning_rate),
         Expect(std::isfinite(o_.power) && o_.power >= 0, who, "power", ">= 0", o_.power,
                "a negative power is infinite at the end of the decay (0^power); "
                "give e.g. 1 (linear) or 0.5 (square root)")});
  }

 private:
  double lr0_, decay_steps_;
  PolynomialDecayOptions o_;
};

class CosineSchedule : public LearningRateSchedule {
 public:
  CosineSchedule(double lr0, double decay_steps, const CosineDecayOptions& o)
      : lr0_(lr0), decay_steps_(decay_steps), o_(o) {}

  std::string class_name() const override { return "CosineDecay"; }
  double operator()(int64_t step) const override {
    const double s = static_cast<double>(step);
    if (!o_.warmup_target) return Cosine(std::min(s, decay_steps_), decay_steps_, lr0_, o_.alpha);
    const double target = *o_.warmup_target, warmup = o_.warmup_steps;
    const double t = std::min(s, warmup + decay_steps_);
    if (t < warmup) return (target - lr0_) * (t / warmup) + lr0_;
    return Cosine(t - warmup, decay_steps_, target, o_.alpha);
  }
  Json GetConfig() const override {
    return {{"initial_learning_rate", lr0_},
            {"decay_steps", StepsJson(decay_steps_)},
            {"alpha", o_.alpha},
            {"name", o_.name},
            {"warmup_target", o_.warmup_target ? Json(*o_.warmup_target) : Json(nullptr)},
            {"warmup_steps", StepsJson(o_.warmup_steps)}};
  }
  absl::Status Check() const override {
    const std::string who = class_name();
    return FirstError(
        {ExpectFinite(who, "initial_learning_rate", lr0_),
         ExpectSteps(who, "decay_steps", decay_steps_), ExpectFinite(who, "alpha", o_.alpha),
         o_.warmup_target ? ExpectFinite(who, "warmup_target", *o_.warmup_target)
                          : absl::OkStatus(),
         Expect(std::isfinite(o_.warmup_steps) && o_.warmup_steps >= 0, who, "warmup_steps", ">= 0",
                o_.warmup_steps, "give the number of warmup steps, or 0 for none")});
  }

 private:
  double lr0_, decay_steps_;
  CosineDecayOptions o_;
};

class CosineRestarts : public LearningRateSchedule {
 public:
  CosineRestarts(double lr0, double first_decay_steps, const CosineDecayRestartsOptions& o)
      : lr0_(lr0), first_(first_decay_steps), o_(o) {}

  std::string class_name() const override { return "CosineDecayRestarts"; }
  double operator()(int64_t step) const override {
    const double f = static_cast<double>(step) / first_, t = o_.t_mul;
    if (!std::isfinite(f) || !(t >= 1)) return std::nan("");  // Check() fails
    double i, r;
    if (t == 1) {
      i = std::floor(f);
      r = f - i;
    } else {
      // Period i starts at sum_{k<i} t^k = (t^i - 1) / (t - 1) first periods.
      auto start = [t](double k) { return (std::pow(t, k) - 1) / (t - 1); };
      i = std::floor(std::log(1 - f * (1 - t)) / std::log(t));
      if (!(i >= 0 && i < 0x1p53)) i = 0;  // overflow with a huge t_mul; settled below
      // The float log can land just beside an integer at a restart: settle i exactly.
      for (int k = 0; k < 64 && i > 0 && f < start(i); ++k) --i;
      for (int k = 0; k < 64 && f >= start(i + 1); ++k) ++i;
      r = (f - start(i)) / std::pow(t, i);
    }
    const double cosine = 0.5 * std::pow(o_.m_mul, i) * (1 + std::cos(std::numbers::pi * r));
    return lr0_ * ((1 - o_.alpha) * cosine + o_.alpha);
  }
  Json GetConfig() const override {
    return {{"initial_learning_rate", lr0_},
            {"first_decay_steps", StepsJson(first_)},
            {"t_mul", o_.t_mul},
            {"m_mul", o_.m_mul},
            {"alpha", o_.alpha},
            {"name", o_.name}};
  }
  absl::Status Check() const override {
    const std::string who = class_name();
    return FirstError(
        {ExpectFinite(who, "initial_learning_rate", lr0_),
         ExpectSteps(who, "first_decay_steps", first_),
         Expect(std::isfinite(o_.t_mul) && o_.t_mul >= 1, who, "t_mul", ">= 1", o_.t_mul,
                "each period lasts t_mul times the previous one; with t_mul < 1 they shrink "
                "and run out after first_decay_steps / (1 - t_mul) steps. Give 1 (equal "
                "periods) or more, e.g. 2"),
         ExpectFinite(who, "m_mul", o_.m_mul), ExpectFinite(who, "alpha", o_.alpha)});
  }

 private:
  double lr0_, first_;
  CosineDecayRestartsOptions o_;
};

}  // namespace

double LearningRate::At(int64_t iteration) const {
  if (!is_schedule_) return value_;
  return schedule_ ? (*schedule_)(iteration) : std::nan("");
}

absl::Status LearningRate::Check() const {
  if (!is_schedule_) {
    if (std::isfinite(value_)) return absl::OkStatus();
    return absl::InvalidArgumentError(
        absl::StrCat("learning_rate must be a finite number, got ", value_,
                     ". Fix: give a number such as 0.001, or a schedule"));
  }
  if (!schedule_) {
    return absl::InvalidArgumentError(
        "learning_rate: the schedule is null. Fix: pass a schedule made by one of "
        "graft::optim's schedule functions (ExponentialDecay, ...), or a number");
  }
  return schedule_->Check();
}

LearningRateSchedulePtr ExponentialDecay(double initial_learning_rate, double decay_steps,
                                         double decay_rate, ExponentialDecayOptions options) {
  return std::make_shared<RateDecay>(/*inverse=*/false, initial_learning_rate, decay_steps,
                                     decay_rate, options.staircase, std::move(options.name));
}

LearningRateSchedulePtr PiecewiseConstantDecay(std::vector<int64_t> boundaries,
                                               std::vector<double> values,
                                               PiecewiseConstantDecayOptions options) {
  return std::make_shared<PiecewiseConstant>(std::move(boundaries), std::move(values),
                                             std::move(options.name));
}

LearningRateSchedulePtr InverseTimeDecay(double initial_learning_rate, double decay_steps,
                                         double decay_rate, InverseTimeDecayOptions options) {
  return std::make_shared<RateDecay>(/*inverse=*/true, initial_learning_rate, decay_steps,
                                     decay_rate, options.staircase, std::move(options.name));
}

LearningRateSchedulePtr PolynomialDecay(double initial_learning_rate, double decay_steps,
                                        PolynomialDecayOptions options) {
  return std::make_shared<Polynomial>(initial_learning_rate, decay_steps, options);
}

LearningRateSchedulePtr CosineDecay(double initial_learning_rate, double decay_steps,
                                    CosineDecayOptions options) {
  return std::make_shared<CosineSchedule>(initial_learning_rate, decay_steps, options);
}

LearningRateSchedulePtr CosineDecayRestarts(double initial_learning_rate, double first_decay_steps,
                                            CosineDecayRestartsOptions options) {
  return std::make_shared<CosineRestarts>(initial_learning_rate, first_decay_steps, options);
}

}  // namespace graft::optim
