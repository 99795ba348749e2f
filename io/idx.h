// graft — IDX files (the format of MNIST and Fashion-MNIST), raw or gzip-compressed.
#ifndef GRAFT_IO_IDX_H_
#define GRAFT_IO_IDX_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
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
// The header is untrusted: the data size its dimensions imply is counted with overflow checks
// (Shape::CheckedNumBytes, in the output dtype) and compared with the real size before the
// tensor is allocated, and a gzip stream is decompressed only as far as the header's size (a
// small file cannot expand into gigabytes of trailing bytes).
//
// Errors name the file: NotFound when it does not exist; InvalidArgument for a directory or
// another non-regular file, a bad magic (not an IDX file), an unsupported type code, a truncated
// header or data or a shape too large to count (the message gives the claimed shape and bytes
// and the actual byte count), bytes after the data, or a gzip stream that cannot be
// decompressed (corrupt or truncated).
absl::StatusOr<Tensor> LoadIdx(const std::string& path);

// The same on the bytes of an IDX file (raw or gzipped) in memory; `source` names it in
// messages (a path, or "<memory>").
absl::StatusOr<Tensor> ParseIdx(absl::string_view bytes, absl::string_view source = "<memory>");

}  // namespace graft::io

#endif  // GRAFT_IO_IDX_H_
