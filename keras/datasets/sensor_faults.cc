// Why the generator avoids <random>'s distributions and libm: std::normal_distribution and
// friends are implementation-defined, and std::sin / std::log may differ in the last bit between
// C libraries, so either would make the "same seed, same data on every machine" promise false.
// Everything below uses std::mt19937_64 (fully specified by the standard), exactly rounded IEEE
// operations (+ - * / sqrt floor frexp) evaluated in a fixed order, and a BUILD copt that turns
// off FMA contraction. The values are computed in double and rounded to float32 once.
#include "keras/datasets/sensor_faults.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <utility>
#include <vector>

namespace graft::keras::datasets {
namespace {

constexpr double kTwoPi = 6.28318530717958647692528676655900577;
constexpr double kLn2 = 0.693147180559945309417232121458176568;
constexpr double kSqrtHalf = 0.707106781186547524400844362104849039;

// SplitMix64's output function: turns the user's seed into well-separated stream seeds.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// sin(t) and cos(t) for |t| <= pi/4: Taylor series through t^17 / t^16 (truncation < 1e-18).
double SinSmall(double t) {
  const double t2 = t * t;
  double r = 1.0;
  for (int k = 16; k >= 2; k -= 2) r = 1.0 - t2 / (k * (k + 1)) * r;
  return t * r;
}

double CosSmall(double t) {
  const double t2 = t * t;
  double r = 1.0;
  for (int k = 15; k >= 1; k -= 2) r = 1.0 - t2 / (k * (k + 1)) * r;
  return r;
}

// sin(2 pi x) with x in turns (cycles): reduce to the nearest quarter turn, then a series.
double SinTurns(double x) {
  const double r = x - std::floor(x);          // [0, 1)
  const double q = std::floor(4.0 * r + 0.5);  // nearest quarter, 0..4
  const double t = (r - 0.25 * q) * kTwoPi;    // [-pi/4, pi/4]
  switch (static_cast<int>(q) & 3) {
    case 0:
      return SinSmall(t);
    case 1:
      return CosSmall(t);
    case 2:
      return -SinSmall(t);
    default:
      return -CosSmall(t);
  }
}

double CosTurns(double x) { return SinTurns(x + 0.25); }

// Natural logarithm for u > 0: u = m 2^e with m in [sqrt(1/2), sqrt(2)), then
// ln m = 2 atanh(s) = 2 (s + s^3/3 + s^5/5 + ...), s = (m - 1) / (m + 1), |s| < 0.172.
double Log(double u) {
  int e = 0;
  double m = std::frexp(u, &e);  // m in [0.5, 1)
  if (m < kSqrtHalf) {
    m *= 2.0;
    --e;
  }
  const double s = (m - 1.0) / (m + 1.0);
  const double s2 = s * s;
  double r = 0.0;
  for (int k = 23; k >= 3; k -= 2) r = s2 * (1.0 / k + r);
  return 2.0 * s * (1.0 + r) + e * kLn2;
}

class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}

  // Uniform in [0, 1) with 53 random bits.
  double Uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  double Uniform(double lo, double hi) { return lo + (hi - lo) * Uniform(); }
  // Uniform integer in [0, n), n >= 1 (the modulo bias, n / 2^64, is irrelevant here).
  int64_t Index(int64_t n) { return static_cast<int64_t>(engine_() % static_cast<uint64_t>(n)); }
  // Standard normal by the Box-Muller transform; the second value of each pair is kept.
  double Normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const double u1 = 1.0 - Uniform();  // (0, 1]
    const double u2 = Uniform();
    const double radius = std::sqrt(-2.0 * Log(u1));
    spare_ = radius * SinTurns(u2);
    has_spare_ = true;
    return radius * CosTurns(u2);
  }

 private:
  std::mt19937_64 engine_;
  bool has_spare_ = false;
  double spare_ = 0.0;
};

enum class Fault { kNone, kJump, kBurst, kFrequencyShift };

// The shape of the data (the options after clamping).
struct Geometry {
  int64_t steps;
  int64_t channels;
  double noise;
};

// Fills x (n, steps, channels) and y (n, 1) from one random stream. The order of the draws is
// part of the dataset's definition: labels shuffle first, then per recording the channel
// parameters, the fault parameters, and the noise in row-major (t, c) order.
void Generate(uint64_t stream_seed, int64_t n, const Geometry& g, Tensor& x, Tensor& y) {
  const int64_t steps = g.steps;
  const int64_t channels = g.channels;
  x = Tensor(DType::kF32, Shape({n, steps, channels}));
  y = Tensor(DType::kF32, Shape({n, 1}));
  Rng rng(stream_seed);

  std::vector<int> label(static_cast<size_t>(n), 0);
  std::fill(label.begin(), label.begin() + n / 2, 1);
  for (int64_t i = n - 1; i > 0; --i) std::swap(label[i], label[rng.Index(i + 1)]);

  int64_t t0_lo = steps / 5;
  int64_t t0_hi = std::max(t0_lo + 1, 4 * steps / 5);
  std::vector<double> freq(channels), phase(channels), amp(channels), offset(channels),
      slope(channels);
  float* xs = x.data<float>();
  float* ys = y.data<float>();
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t c = 0; c < channels; ++c) {
      freq[c] = rng.Uniform(0.01, 0.03);
      phase[c] = rng.Uniform();
      amp[c] = rng.Uniform(0.5, 1.0);
      offset[c] = rng.Uniform(-0.3, 0.3);
      slope[c] = rng.Uniform(-0.3, 0.3);
    }
    Fault fault = Fault::kNone;
    int64_t channel = -1, t0 = 0, burst_len = 0;
    double jump = 0, burst_freq = 0, burst_phase = 0, burst_amp = 0, shifted_freq = 0;
    if (label[i] == 1) {
      channel = rng.Index(channels);
      t0 = t0_lo + rng.Index(t0_hi - t0_lo);
      fault = static_cast<Fault>(1 + rng.Index(3));
      switch (fault) {
        case Fault::kJump:
          jump = (rng.Index(2) == 0 ? -1.0 : 1.0) * rng.Uniform(2.0, 4.0);
          break;
        case Fault::kBurst:
          burst_len = 8 + rng.Index(9);
          burst_freq = rng.Uniform(0.3, 0.45);
          burst_phase = rng.Uniform();
          burst_amp = rng.Uniform(1.5, 3.0);
          break;
        case Fault::kFrequencyShift:
          shifted_freq = rng.Uniform(0.1, 0.25);
          break;
        case Fault::kNone:
          break;
      }
    }
    for (int64_t t = 0; t < steps; ++t) {
      for (int64_t c = 0; c < channels; ++c) {
        const bool faulty = c == channel && t >= t0;
        double cycles = phase[c] + freq[c] * t;
        if (faulty && fault == Fault::kFrequencyShift) {
          // Phase-continuous: the faster oscillation starts where the old one was at t0.
          cycles = phase[c] + freq[c] * t0 + shifted_freq * (t - t0);
        }
        double v =
            amp[c] * SinTurns(cycles) + offset[c] + slope[c] * (static_cast<double>(t) / steps);
        if (faulty && fault == Fault::kJump) v += jump;
        if (faulty && fault == Fault::kBurst && t < t0 + burst_len) {
          v += burst_amp * SinTurns(burst_phase + burst_freq * (t - t0));
        }
        v += g.noise * rng.Normal();
        xs[(i * steps + t) * channels + c] = static_cast<float>(v);
      }
    }
    ys[i] = static_cast<float>(label[i]);
  }
}

}  // namespace

Split SensorFaults(const SensorFaultsOptions& options) {
  const Geometry g{std::max<int64_t>(options.steps, 1), std::max<int64_t>(options.channels, 1),
                   options.noise > 0 ? options.noise : 0.0};
  const uint64_t root = Mix(options.seed);
  Split s;
  Generate(Mix(root ^ 1), std::max<int64_t>(options.num_train, 0), g, s.x_train, s.y_train);
  Generate(Mix(root ^ 2), std::max<int64_t>(options.num_test, 0), g, s.x_test, s.y_test);
  return s;
}

}  // namespace graft::keras::datasets
