#include "keras/random.h"

#include <cmath>
#include <mutex>
#include <random>

namespace graft::keras {
namespace {

std::mutex mu;
std::mt19937_64& Engine() {
  static std::mt19937_64 engine(std::random_device{}());
  return engine;
}

}  // namespace

void SetRandomSeed(uint64_t seed) {
  std::lock_guard<std::mutex> lock(mu);
  Engine().seed(seed);
}

namespace internal {
namespace {
double Uniform(std::mt19937_64& engine) { return static_cast<double>(engine() >> 11) * 0x1.0p-53; }
}  // namespace

double NextUniform() {
  std::lock_guard<std::mutex> lock(mu);
  return Uniform(Engine());
}

double NextNormal() {
  const double u1 = 1.0 - NextUniform();  // (0, 1]
  const double u2 = NextUniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

std::vector<int64_t> Permutation(int64_t n) {
  std::lock_guard<std::mutex> lock(mu);
  return Permutation(n, Engine());
}

uint64_t NextSeed() {
  std::lock_guard<std::mutex> lock(mu);
  return Engine()();
}

std::vector<int64_t> Permutation(int64_t n, std::mt19937_64& engine) {
  std::vector<int64_t> p(n);
  for (int64_t i = 0; i < n; ++i) p[i] = i;
  for (int64_t i = n - 1; i > 0; --i) {
    int64_t j = static_cast<int64_t>(Uniform(engine) * static_cast<double>(i + 1));
    if (j > i) j = i;
    std::swap(p[i], p[j]);
  }
  return p;
}

}  // namespace internal
}  // namespace graft::keras
