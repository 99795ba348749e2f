// graft — mixed precision, Keras's tf.keras.mixed_precision / keras.mixed_precision API.
//
//   graft::keras::mixed_precision::SetGlobalPolicy("mixed_bfloat16");  // before Compile
//
// Policies (Keras's names):
//   "float32"         compute and variables in float32 (the default).
//   "mixed_bfloat16"  convolutions and Dense layers multiply in bfloat16 (oneDNN's bf16
//                     primitives: inputs and kernels rounded to bf16, products accumulated in
//                     float32); variables, optimizer state, gradients' updates, losses, metrics
//                     and softmax / sigmoid outputs stay float32 (master weights in float32).
// A model takes the global policy when it is compiled (Compile, or the first Predict of an
// uncompiled model); changing the policy later does not change a compiled model.
// "mixed_bfloat16" needs a CPU with AVX512-BF16 (oneDNN's avx512_core_bf16 or newer): on another
// CPU Compile fails with an error naming the missing instruction set, unless the policy was set
// with {.fallback_to_float32 = true}, in which case the model runs in float32 and one warning
// says so. Where oneDNN has no optimised bf16 kernel for one convolution's shapes (it would run
// its reference loops), that convolution alone runs in float32.
#ifndef GRAFT_KERAS_MIXED_PRECISION_H_
#define GRAFT_KERAS_MIXED_PRECISION_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace graft::keras::mixed_precision {

struct PolicyOptions {
  // On a CPU without AVX512-BF16, run "mixed_bfloat16" models in float32 (with a warning)
  // instead of failing at Compile.
  bool fallback_to_float32 = false;
};

// Keras's DTypePolicy: name, compute_dtype ("float32" / "bfloat16"), variable_dtype ("float32").
struct Policy {
  std::string name = "float32";
  std::string compute_dtype = "float32";
  std::string variable_dtype = "float32";
  bool fallback_to_float32 = false;
};

// Sets the policy models take when compiled. INVALID_ARGUMENT for a name graft does not know
// (the message lists the known ones; "mixed_float16" is named as not supported on CPU).
absl::Status SetGlobalPolicy(absl::string_view name, PolicyOptions options = {});
// The policy in force ("float32" unless set).
Policy GlobalPolicy();

// Whether this CPU runs oneDNN's bf16 kernels (avx512_core_bf16 or newer), and oneDNN's name for
// the instruction set it runs at ("avx512_core", "avx512_core_bf16", ...).
bool CpuHasBf16();
std::string CpuIsaName();

}  // namespace graft::keras::mixed_precision

#endif  // GRAFT_KERAS_MIXED_PRECISION_H_
