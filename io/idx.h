// graft — IDX files (the format of MNIST and Fashion-MNIST), raw or gzip-compressed.
#ifndef GRAFT_IO_IDX_H_
#define GRAFT_IO_IDX_H_

#include <string>

#include "absl/status/statusor.h"
#include "graph/tensor.h"

namespace graft::io {

// Reads an IDX file: the magic 00 00 <type code> <rank>, <rank> big-endian uint32 dimensions,
// then the elements in C order, big-endian. A file that starts with the gzip magic 1f 8b is
// decompressed first (whatever its name; concatenated gzip members are read in turn).
//
// graft has no 8- or 16-bit dtypes, so the element types map to these (every value exact):
//   type code                          rank 0 or 1 (labels)   rank >= 2 (images)
//   0x08 uint8, 0x09 int8, 0x0B int16  int64                  float32, the raw values: MNIST
//                                                             pixels come back in [0, 255]
//   0x0C int32                         int64                  int32
//   0x0D float32 / 0x0E float64        float32 / float64      float32 / float64
//
// Errors name the file: NotFound when it cannot be opened; InvalidArgument for a bad magic (not
// an IDX file), an unsupported type code, a truncated header or data (the message gives the
// expected and actual byte counts), bytes after the data, or a gzip stream that cannot be
// decompressed (corrupt or truncated).
absl::StatusOr<Tensor> LoadIdx(const std::string& path);

}  // namespace graft::io

#endif  // GRAFT_IO_IDX_H_
