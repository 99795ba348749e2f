// libFuzzer target: the .npy reader (io/npy.h, ParseNpy) on arbitrary bytes. A bad file must be
// a Status: never a crash, a leak, undefined behaviour, or an allocation from a size the bytes
// merely claim. Run with tools/fuzz.sh 600 npy_fuzzer; seeds in tests/fuzz/corpus/npy_fuzzer.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "absl/strings/string_view.h"
#include "graph/tensor.h"
#include "io/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<graft::Tensor> t = graft::io::ParseNpy(bytes, "fuzz.npy");
  if (!t.ok()) return 0;
  // A tensor that loads is as large as its shape says, and its bytes came from the input (the
  // reader never amplifies): touch every byte so that ASan sees a short buffer.
  const graft::Tensor& x = *t;
  if (x.nbytes() > size) std::abort();
  absl::StatusOr<int64_t> n = x.shape().CheckedNumBytes(x.dtype());
  if (!n.ok() || static_cast<size_t>(*n) != x.nbytes()) std::abort();
  const auto* p = static_cast<const unsigned char*>(x.raw_data());
  unsigned sum = 0;
  for (size_t i = 0; i < x.nbytes(); ++i) sum += p[i];
  volatile unsigned sink = sum;
  (void)sink;
  return 0;
}
