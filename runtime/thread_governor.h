// graft — picks the thread count for each step of a repeated computation (training steps,
// inference batches) from how long recent steps took.
//
// Why: oneDNN's OpenMP team of N threads waits at every barrier for its slowest member. When
// another process keeps one of the cores busy, the team member on that core gets a fraction of
// it and every parallel region waits for it: measured here, the seed Conv1D model trains 6-10x
// slower on 2 threads than on 1 under such contention. And on an idle machine more threads are
// not always faster: a small model's step (the seed Conv1D, ~200 us) loses more to the team's
// barriers than the second core gives, and a VM's second vCPU may share a core with the first.
// The governor treats the budget (N threads) as a limit, not an order: it starts on N, measures
// 1 thread within the first steps, keeps whichever is faster per sample (by more than 3%), and
// probes the other now and then — at once when steps suddenly slow down. Probes back off
// exponentially while the current choice keeps winning, and a probe that loses r steps waits at
// least 200 r steps, so they cost about 0.5% of the time on an idle machine and under contention
// alike.
#ifndef GRAFT_RUNTIME_THREAD_GOVERNOR_H_
#define GRAFT_RUNTIME_THREAD_GOVERNOR_H_

#include <cstdint>

namespace graft {

class ThreadGovernor {
 public:
  // `budget`: the most threads to use; `adaptive` false always answers `budget`.
  ThreadGovernor(int budget, bool adaptive);

  // The thread count for the next step.
  int Choose();
  // Reports that a step of `samples` samples ran on `threads` threads in `seconds`. The first
  // step of each plan (plan compilation, oneDNN JIT) should not be reported.
  void Record(int threads, double seconds, int64_t samples);

  int budget() const { return budget_; }
  int current() const { return current_; }
  int64_t switches() const { return switches_; }
  // How many steps were reported (Record with samples > 0, when adaptive).
  int64_t reports() const { return reports_; }

 private:
  int Other() const { return current_ == budget_ ? 1 : budget_; }

  int budget_;
  bool adaptive_;
  int current_;
  double cost_[2] = {-1, -1};       // seconds per sample: [0] for 1 thread, [1] for the budget
  double last_cost_[2] = {-1, -1};  // the latest step's, unsmoothed
  int64_t steps_since_probe_ = 0;
  int64_t probe_interval_ = 8;
  int slow_streak_ = 0;
  double slow_score_ = 0;  // +1 per slow step on the budget, -1/2 per normal one (>= 0)
  // The latest step took 20 ms or more: one such step is baseline enough before the first probe
  // (a chunked M4 step under contention takes ~150 ms; a short run cannot wait for two).
  bool long_steps_ = false;
  bool probe_next_ = false;
  int probe_step_ = 0;  // steps of the current probe run so far (the first is not measured)
  static constexpr int kProbeMeasured =
      3;  // a probe measures this many steps, after one unmeasured
  double probe_costs_[kProbeMeasured] = {};  // the probe's measured steps
  int64_t switches_ = 0;
  int64_t reports_ = 0;
};

}  // namespace graft

#endif  // GRAFT_RUNTIME_THREAD_GOVERNOR_H_
