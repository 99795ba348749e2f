// graft — NumPy .npy files: read and write float32 / float64 / int32 / int64 arrays.
#ifndef GRAFT_IO_NPY_H_
#define GRAFT_IO_NPY_H_

#include <string>

#include "absl/status/statusor.h"
#include "graph/tensor.h"

namespace graft::io {

// Reads a .npy file (format 1.0-3.0, little-endian, C order). Supported dtypes: '<f4', '<f8',
// '<i4', '<i8'; anything else, a Fortran-order array, or a truncated file fails with a message
// that names the file and what was found.
absl::StatusOr<Tensor> LoadNpy(const std::string& path);

// Writes a .npy file (format 1.0). Writes to "<path>.tmp" and renames, so an existing file is
// never left half-written.
absl::Status SaveNpy(const std::string& path, const Tensor& tensor);

}  // namespace graft::io

#endif  // GRAFT_IO_NPY_H_
