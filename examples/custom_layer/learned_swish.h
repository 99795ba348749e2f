// A layer written outside graft, the way a user writes one in their own code:
//
//   y = x * sigmoid(beta * x)        beta: one trainable scalar, starting at 1 (Swish / SiLU)
//
// It subclasses graft::keras::LayerImpl, creates its weight in Build with AddWeight (a Keras
// initializer), composes graft ops in Forward, describes itself in GetConfig, and registers a
// factory by class name so that LoadModel rebuilds it (learned_swish.cc).
#ifndef EXAMPLES_CUSTOM_LAYER_LEARNED_SWISH_H_
#define EXAMPLES_CUSTOM_LAYER_LEARNED_SWISH_H_

#include <string>

#include "keras/layers.h"

namespace myproj {

struct LearnedSwishOptions {
  double initial_beta = 1.0;
  std::string name;
};

graft::keras::Layer LearnedSwish(LearnedSwishOptions options = {});

}  // namespace myproj

#endif  // EXAMPLES_CUSTOM_LAYER_LEARNED_SWISH_H_
