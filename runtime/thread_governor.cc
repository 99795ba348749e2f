#include "runtime/thread_governor.h"

#include <algorithm>

namespace graft {
namespace {
constexpr int64_t kMaxProbeInterval = 1024;
constexpr double kSmoothing = 0.2;      // weight of a new measurement in the running cost
constexpr double kSlowdown = 1.5;       // a step this much slower than usual is suspicious
constexpr int kSlowStreakToProbe = 3;   // ... and this many in a row trigger a probe
constexpr double kSevereSlowdown = 10;  // two steps this much slower trigger a probe at once
constexpr double kProbeBudget = 200;    // steps of the current choice per step-cost of a probe
constexpr double kSwitchGain = 0.97;    // the other count must cost less than this to switch
constexpr double kClearlyWorse = 1.25;  // a probe step this much dearer ends the probe
constexpr double kLongStep = 0.02;      // seconds: a step this long needs no warm-up step
// Leaving the budget for a gain under this ratio is not what contention looks like (it costs a
// 2-thread team 2-90x): it may be a plan for which 1 thread is a little faster, or a probe that
// the VM's noise flattered. The budget is probed again after kRecheck steps, which a wrong
// switch cannot afford to wait 64 or more (a short Fit on M4 runs fewer steps than that).
constexpr double kMarginalLeave = 1.25;
constexpr int64_t kRecheck = 16;
}  // namespace

ThreadGovernor::ThreadGovernor(int budget, bool adaptive)
    : budget_(std::max(1, budget)), adaptive_(adaptive && budget > 1), current_(budget_) {}

int ThreadGovernor::Choose() {
  if (!adaptive_) return budget_;
  if (probe_step_ > 0) return Other();  // the probe's measured steps
  const int slot = Other() == 1 ? 0 : 1;
  if (probe_next_ || steps_since_probe_ >= probe_interval_ ||
      (cost_[slot] < 0 && steps_since_probe_ >= (long_steps_ ? 1 : 2))) {
    return Other();
  }
  return current_;
}

void ThreadGovernor::Record(int threads, double seconds, int64_t samples) {
  if (!adaptive_ || samples <= 0) return;
  ++reports_;
  const double cost = seconds / static_cast<double>(samples);
  const int slot = threads == 1 ? 0 : 1;
  long_steps_ = seconds >= kLongStep;
  if (threads == current_) {
    ++steps_since_probe_;
    // Only a slowdown on the full budget suggests contention has started; on 1 thread, noise
    // from the other process is expected and the periodic probe is enough to notice it left.
    const bool slow = current_ == budget_ && cost_[slot] > 0 && cost > kSlowdown * cost_[slot];
    // Slow steps scattered among normal ones count too (each slow step +1, each normal one
    // -1/2): under the contention test M4's 2-thread steps alternated 70 and 200 ms, which never
    // made a streak of three, while 1 thread took 85-105 ms.
    slow_score_ = slow ? slow_score_ + 1 : std::max(0.0, slow_score_ - 0.5);
    if (slow) {
      ++slow_streak_;
      // Contention costs a 2-thread team 20-90x: two such steps in a row are evidence enough;
      // milder slowdowns need three (or a score of three).
      if (slow_score_ >= kSlowStreakToProbe ||
          (slow_streak_ >= 2 && cost > kSevereSlowdown * cost_[slot])) {
        probe_next_ = true;
      }
    } else {
      slow_streak_ = 0;
    }
    last_cost_[slot] = cost;
    // A lone outlier (a page fault, a hiccup of the VM) enters the estimate clamped, so that it
    // cannot talk the governor into switching; a streak, or slow steps frequent enough to score
    // two, enter whole.
    const double sample = slow && slow_score_ < 2 ? kSlowdown * cost_[slot] : cost;
    cost_[slot] = cost_[slot] < 0 ? cost : (1 - kSmoothing) * cost_[slot] + kSmoothing * sample;
    // The current count's cost has drifted above the other's last measurement: check the other
    // now rather than at the next scheduled probe (hundreds of steps away after one that lost).
    // Self-limiting: the probe refreshes the other's cost.
    const double other = cost_[1 - slot];
    if (other > 0 && other < kSwitchGain * cost_[slot]) probe_next_ = true;
    return;
  }
  // A probe of the other count runs 1 + kProbeMeasured steps and measures all but the first: the
  // first pays for changing the team size (waking a sleeping OpenMP thread costs more than a
  // small model's whole step), which the steps after a switch would not. The median of the
  // measured ones is the probe's result: one hiccup of the VM cannot decide it.
  // A measured step 25% dearer than the current choice ends the probe at once: under contention
  // a probe of the budget costs two steps, not four. A step of 20 ms or more needs no warm-up
  // (waking the team is lost in it): M4's batch-256 step takes 0.5-0.8 s, and a probe of four
  // 1-thread steps was most of a short run.
  const int cur = current_ == 1 ? 0 : 1;
  // Clearly worse: every measured step so far, not just the latest. One dear step ended probes
  // before: M4's finishing chunk (100 ms against 66 on 1 thread, before a chunked batch became
  // one unit, Session::BeginUnit) kept M4 on a 2-thread team that ran 1.5-2x slower under
  // contention; steps of unequal cost still come from other steps run in turns.
  if (probe_step_ == 0 && long_steps_) probe_step_ = 1;
  if (probe_step_ > 0) probe_costs_[probe_step_ - 1] = cost;
  const double best =
      probe_step_ > 0 ? *std::min_element(probe_costs_, probe_costs_ + probe_step_) : cost;
  const bool clearly_worse = probe_step_ > 0 && best > kClearlyWorse * cost_[cur];
  if (++probe_step_ <= kProbeMeasured && !clearly_worse) return;
  const double steps_taken = probe_step_;
  const int measured = probe_step_ - 1;
  probe_step_ = 0;
  double* pc = probe_costs_;
  std::sort(pc, pc + measured);
  const double probe = clearly_worse ? best : pc[measured / 2];
  // Its cost replaces the old estimate (conditions change).
  cost_[slot] = probe;
  steps_since_probe_ = 0;
  probe_next_ = false;
  slow_streak_ = 0;
  slow_score_ = 0;
  if (probe < kSwitchGain * cost_[cur]) {
    // What the count being left costs now: its latest step, if that is above the average.
    const double left_ratio = std::max(cost_[cur], last_cost_[cur]) / std::max(probe, 1e-12);
    current_ = threads;
    ++switches_;
    // Leaving the budget (contention, or a plan for which 1 thread is simply faster): the budget
    // costs the ratio just measured to probe, so the next probe already waits kProbeBudget times
    // that (it will take two steps: one unmeasured, one clearly worse).
    // A marginal gain is checked again soon (kMarginalLeave); if it holds, that probe's
    // ratio sets the next interval (the else branch below: hundreds of steps).
    probe_interval_ =
        current_ == budget_ ? 8
        : left_ratio < kMarginalLeave
            ? kRecheck
            : std::max<int64_t>(64, static_cast<int64_t>(2 * kProbeBudget * left_ratio));
  } else {
    // Keep the probes' cost near 0.5% of the time: a probe whose steps cost r times the current
    // choice's lost (r - 1) steps each, so it waits at least 200 (r - 1) steps per probe step
    // (under contention a 2-thread step can cost 90). A probe that cost nothing (r <= 1: the
    // counts are level) only doubles the interval: M4's chunked step under the contention test
    // ran level on 2 and 1 threads at first (~80 ms), and when the other process then took more
    // of the shared core (150-200 ms steps) the next probe, at 200 r steps, lay past the run.
    const double ratio = probe / std::max(cost_[cur], 1e-12);
    const double lost = steps_taken * std::max(0.0, ratio - 1);
    probe_interval_ = std::max(std::min(probe_interval_ * 2, kMaxProbeInterval),
                               static_cast<int64_t>(lost * kProbeBudget));
  }
}

}  // namespace graft
