// graft — NumPy .npy files: read and write float32 / float64 / int32 / int64 arrays.
#ifndef GRAFT_IO_NPY_H_
#define GRAFT_IO_NPY_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/tensor.h"

namespace graft::io {

// Reads a .npy file (format 1.0-3.0, little-endian, C order). Supported dtypes: '<f4', '<f8',
// '<i4', '<i8'; anything else, a Fortran-order array, or a truncated file fails with a message
// that names the file and what was found.
//
// The header is untrusted: its length and the data size its shape implies (counted with
// overflow checks, Shape::CheckedNumBytes) are checked against the file's real size before
// anything is allocated, so a 100-byte file claiming a terabyte costs nothing. Errors:
// NotFound (no such file), InvalidArgument naming the file for a directory or another
// non-regular file and for every malformed header or short file (with the claimed shape and
// bytes and the bytes the file holds). Bytes after the data are ignored, as NumPy does.
absl::StatusOr<Tensor> LoadNpy(const std::string& path);

// The same on the bytes of a .npy file in memory; `source` names it in messages (a path, or
// "<memory>").
absl::StatusOr<Tensor> ParseNpy(absl::string_view bytes, absl::string_view source = "<memory>");

// Writes a .npy file (format 1.0). Writes to "<path>.tmp" and renames, so an existing file is
// never left half-written.
absl::Status SaveNpy(const std::string& path, const Tensor& tensor);

}  // namespace graft::io

#endif  // GRAFT_IO_NPY_H_
