// The CPU's multiply-add peak, measured: what a convolution's GFLOP/s is a fraction of.
//   bazel run -c opt //bench:peak_flops
// One core (and, with threads, each of them) runs independent chains of fused multiply-adds on
// registers: f32 FMA (vfmadd231ps: 2 flops per lane) and, where the CPU has AVX512-BF16, the bf16
// dot product that oneDNN's bf16 convolutions are made of (vdpbf16ps: 2 bf16 products summed
// into each f32 lane, 4 flops per lane). Each figure is the median of 5 windows.
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include "ops/onednn/onednn.h"

namespace {

constexpr int64_t kIterations = 20'000'000;

// 12 independent accumulators, kept in registers (the loop unrolled), hide the multiply-add
// latency (4 cycles) on two pipes. kBf16: vdpbf16ps (the function is compiled for AVX512-BF16,
// but the f32 form runs no bf16 instruction and so runs on any AVX-512 CPU).
template <bool kBf16>
__attribute__((target("avx512f,avx512bf16"))) float Chains(int64_t n) {
  __m512 a[12];
  for (int i = 0; i < 12; ++i) a[i] = _mm512_set1_ps(0.001f * i);
  const __m512 x = _mm512_set1_ps(0.999f), y = _mm512_set1_ps(0.0001f);
  // bf16 pairs as bits (0.5 and 0.25; 1e-4 and -1e-4): no bf16 instruction outside the loop.
  const __m512bh xb = (__m512bh)_mm512_set1_epi32(0x3F003E80);
  const __m512bh yb = (__m512bh)_mm512_set1_epi32(0x38D2B8D2);
  for (int64_t k = 0; k < n; ++k) {
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) {
      a[i] = kBf16 ? _mm512_dpbf16_ps(a[i], xb, yb) : _mm512_fmadd_ps(a[i], x, y);
    }
  }
  __m512 s = a[0];
  for (int i = 1; i < 12; ++i) s = _mm512_add_ps(s, a[i]);
  return _mm512_reduce_add_ps(s);
}

// GFLOP/s of `threads` threads each running `kernel`, median of 5 windows.
template <typename Kernel>
double Measure(Kernel kernel, int threads, double flops_per_iteration) {
  std::vector<double> rates;
  volatile float sink = 0;
  for (int w = 0; w < 5; ++w) {
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> team;
    std::vector<float> out(threads);
    for (int t = 0; t < threads; ++t) team.emplace_back([&, t] { out[t] = kernel(kIterations); });
    for (auto& th : team) th.join();
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    for (float v : out) sink = sink + v;
    rates.push_back(threads * kIterations * flops_per_iteration / s / 1e9);
  }
  std::sort(rates.begin(), rates.end());
  return rates[rates.size() / 2];
}

}  // namespace

int main() {
  if (!__builtin_cpu_supports("avx512f")) {
    printf("peak_flops: this CPU has no AVX-512; the measurement needs it\n");
    return 0;
  }
  const unsigned cpus = std::max(1u, std::thread::hardware_concurrency());
  printf("threads  f32 FMA GFLOP/s  bf16 dot GFLOP/s\n");
  for (unsigned t = 1; t <= std::min(cpus, 2u); ++t) {
    const double f32 = Measure(Chains<false>, t, 12.0 * 16 * 2);
    if (graft::onednn::CpuHasBf16()) {
      printf("%7u  %15.1f  %16.1f\n", t, f32, Measure(Chains<true>, t, 12.0 * 16 * 4));
    } else {
      printf("%7u  %15.1f  %16s\n", t, f32, "- (no AVX512-BF16)");
    }
  }
}
