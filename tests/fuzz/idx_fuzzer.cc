// libFuzzer target: the IDX reader (io/idx.h, ParseIdx: raw and gzipped) on arbitrary bytes. A
// bad file must be a Status: never a crash, a leak, undefined behaviour, or an allocation from a
// size the bytes merely claim. Run with tools/fuzz.sh 600 idx_fuzzer; seeds in
// tests/fuzz/corpus/idx_fuzzer.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "absl/strings/string_view.h"
#include "graph/tensor.h"
#include "io/idx.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<graft::Tensor> t = graft::io::ParseIdx(bytes, "fuzz-idx");
  if (!t.ok()) return 0;
  // A tensor that loads is as large as its shape says; read every element so that ASan sees a
  // short buffer and UBSan a bad conversion.
  const graft::Tensor& x = *t;
  absl::StatusOr<int64_t> n = x.shape().CheckedNumBytes(x.dtype());
  if (!n.ok() || static_cast<size_t>(*n) != x.nbytes()) std::abort();
  double sum = 0;
  for (int64_t i = 0; i < x.num_elements(); ++i) sum += x.AsDouble(i);
  volatile double sink = sum;
  (void)sink;
  return 0;
}
