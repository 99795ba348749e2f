// graft — the process-wide random stream behind weight initialisation and shuffling.
#ifndef GRAFT_KERAS_RANDOM_H_
#define GRAFT_KERAS_RANDOM_H_

#include <cstdint>
#include <random>
#include <vector>

namespace graft::keras {

// Seeds every random choice graft makes after this call: weight initialisers (in layer build
// order) and the per-epoch shuffles of Fit. Like keras.utils.set_random_seed: the same seed and
// the same program give bitwise-identical weights. Without a call the seed comes from
// std::random_device.
void SetRandomSeed(uint64_t seed);

namespace internal {
// Uniform double in [0, 1) with 53 random bits (portable: no std distribution involved).
double NextUniform();
// A standard normal (Box-Muller over two NextUniform draws).
double NextNormal();
// A uniformly random permutation of 0..n-1 (Fisher-Yates over NextUniform).
std::vector<int64_t> Permutation(int64_t n);
// 64 random bits from the process stream: the seed of a model's own shuffling stream.
uint64_t NextSeed();
// The same permutation drawn from `engine` (a model's shuffling stream, saved with the model so
// that a resumed run shuffles as the uninterrupted one would).
std::vector<int64_t> Permutation(int64_t n, std::mt19937_64& engine);
}  // namespace internal

}  // namespace graft::keras

#endif  // GRAFT_KERAS_RANDOM_H_
