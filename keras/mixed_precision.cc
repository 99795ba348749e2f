#include "keras/mixed_precision.h"

#include <mutex>

#include "absl/strings/str_cat.h"
#include "ops/onednn/onednn.h"

namespace graft::keras::mixed_precision {
namespace {

std::mutex& Mu() {
  static std::mutex* mu = new std::mutex;
  return *mu;
}
Policy& Global() {
  static Policy* policy = new Policy;
  return *policy;
}

}  // namespace

absl::Status SetGlobalPolicy(absl::string_view name, PolicyOptions options) {
  Policy p;
  if (name == "float32") {
    // the defaults
  } else if (name == "mixed_bfloat16") {
    p.name = "mixed_bfloat16";
    p.compute_dtype = "bfloat16";
    p.fallback_to_float32 = options.fallback_to_float32;
  } else if (name == "mixed_float16") {
    return absl::InvalidArgumentError(
        "mixed_precision policy \"mixed_float16\" is not supported: graft runs on CPUs, where "
        "float16 arithmetic is not faster; use \"mixed_bfloat16\" (AVX512-BF16 CPUs) or "
        "\"float32\"");
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown mixed_precision policy \"", name,
                     "\"; the policies are \"float32\" and \"mixed_bfloat16\" (Keras's names)"));
  }
  std::lock_guard<std::mutex> lock(Mu());
  Global() = p;
  return absl::OkStatus();
}

Policy GlobalPolicy() {
  std::lock_guard<std::mutex> lock(Mu());
  return Global();
}

bool CpuHasBf16() { return onednn::CpuHasBf16(); }
std::string CpuIsaName() { return onednn::CpuIsaName(); }

}  // namespace graft::keras::mixed_precision
