// libFuzzer target: the model-file loader (safetensors header, JSON config, layer factories,
// weights, optimizer state) on arbitrary bytes. A bad file must be a Status: never a crash, a
// leak, undefined behaviour, or an allocation from an unchecked size. Run with tools/fuzz.sh.
#include <cstddef>
#include <cstdint>

#include "keras/saving.h"
#include "runtime/threads.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool once = [] {
    graft::SetNumThreads(1);
    return true;
  }();
  (void)once;
  absl::StatusOr<graft::keras::Model> model = graft::keras::LoadModelFromBytes(
      absl::string_view(reinterpret_cast<const char*>(data), size), "fuzz");
  if (model.ok()) {
    // A model that loads can describe itself.
    absl::StatusOr<std::string> summary = model->SummaryText();
    (void)summary;
  }
  return 0;
}
