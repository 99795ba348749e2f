// graft — helpers of the layer implementations and models (internal to keras/: not part of
// the public API a layer author uses).
#ifndef GRAFT_KERAS_LAYER_INTERNAL_H_
#define GRAFT_KERAS_LAYER_INTERNAL_H_

#include <cstdint>
#include <string>

namespace graft::keras::internal {

// Keras naming: the first "conv1d", then "conv1d_1", ... per process.
std::string UniqueLayerName(const std::string& base);

// While alive, weights created on this thread (AddWeight) may take at most `bytes` in all;
// beyond that AddWeight fails. Loading a model sets it to the bytes its file holds, so a config
// that asks for more than the file can provide fails before anything is allocated.
class ScopedWeightBudget {
 public:
  explicit ScopedWeightBudget(uint64_t bytes);
  ~ScopedWeightBudget();
  ScopedWeightBudget(const ScopedWeightBudget&) = delete;
  ScopedWeightBudget& operator=(const ScopedWeightBudget&) = delete;

 private:
  int64_t previous_;
};

}  // namespace graft::keras::internal

#endif  // GRAFT_KERAS_LAYER_INTERNAL_H_
