// graft — safetensors files: named tensors with a JSON header, readable by any safetensors tool.
//
//   bytes 0..7     N, the header's length (unsigned 64-bit, little-endian)
//   bytes 8..8+N   a JSON object: {"__metadata__": {"key": "value", ...},
//                                  "conv1d/kernel": {"dtype": "F32", "shape": [5, 3, 32],
//                                                    "data_offsets": [0, 1920]}, ...}
//                  (padded with spaces to a multiple of 8 bytes)
//   the rest       the tensors' raw little-endian bytes, back to back, at data_offsets relative
//                  to the end of the header, covering the rest of the file without holes.
//
// This is the format of Hugging Face's `safetensors` library (format 0.x): Python's
// `safetensors.numpy.load_file` reads graft's files, and graft reads theirs when the dtypes are
// F32, F64, I32 or I64. The loader checks every size and offset against the file before it
// allocates anything; a bad file is an absl::Status naming the file, the byte offset or JSON
// path, and what was expected.
#ifndef GRAFT_IO_SAFETENSORS_H_
#define GRAFT_IO_SAFETENSORS_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/tensor.h"
#include "io/file.h"  // ReadWholeFile (moved there; included for its callers)

namespace graft::io {

struct NamedTensor {
  std::string name;
  Tensor value;
};

struct Safetensors {
  std::map<std::string, std::string> metadata;  // the header's "__metadata__" (strings only)
  std::vector<NamedTensor> tensors;             // in the order of their data in the file
  // The tensor called `name`, or nullptr.
  const Tensor* Find(absl::string_view name) const;
};

// The largest header graft reads (the safetensors library's own limit).
inline constexpr uint64_t kMaxSafetensorsHeader = 100'000'000;

// Writes `tensors` (in this order) and `metadata` to `path` atomically (io/atomic_file.h).
// Names must be unique and non-empty and may not be "__metadata__".
absl::Status SaveSafetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                             const std::map<std::string, std::string>& metadata = {});

// Reads a whole file.
absl::StatusOr<Safetensors> LoadSafetensors(const std::string& path);

// Parses the bytes of a file; `source` names it in messages (a path, or "<memory>").
absl::StatusOr<Safetensors> ParseSafetensors(absl::string_view bytes, absl::string_view source);

}  // namespace graft::io

#endif  // GRAFT_IO_SAFETENSORS_H_
