// graft — the Keras-style public API in one include.
#ifndef GRAFT_KERAS_KERAS_H_
#define GRAFT_KERAS_KERAS_H_

#include "graph/tensor.h"            // IWYU pragma: export
#include "io/npy.h"                  // IWYU pragma: export
#include "keras/callbacks.h"         // IWYU pragma: export
#include "keras/dataset.h"           // IWYU pragma: export
#include "keras/keras_tensor.h"      // IWYU pragma: export
#include "keras/layers.h"            // IWYU pragma: export
#include "keras/lint.h"              // IWYU pragma: export
#include "keras/mixed_precision.h"   // IWYU pragma: export
#include "keras/model.h"             // IWYU pragma: export
#include "keras/random.h"            // IWYU pragma: export
#include "keras/reshaping_layers.h"  // IWYU pragma: export
#include "keras/saving.h"            // IWYU pragma: export
#include "keras/sequential.h"        // IWYU pragma: export
#include "optim/optimizer.h"         // IWYU pragma: export
#include "runtime/threads.h"         // IWYU pragma: export

#endif  // GRAFT_KERAS_KERAS_H_
