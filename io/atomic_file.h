// graft — files that are never left half-written.
//
//   absl::Status s = io::WriteFileAtomically("run/model.graft", {header, weights...});
//
// The bytes go to a temporary file in the target's folder ("<name>.tmp.<pid>.<n>"), which is
// fsync'ed, renamed over the target, and the folder is fsync'ed. A crash or SIGKILL at any
// moment leaves either the old file or the new one at `path`, never a mix; at worst a stray
// temporary file stays behind.
#ifndef GRAFT_IO_ATOMIC_FILE_H_
#define GRAFT_IO_ATOMIC_FILE_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace graft::io {

// Writes the concatenation of `pieces` to `path` atomically (see above). Errors name the file
// and the system call that failed (e.g. "run/model.graft: cannot create temporary file
// run/model.graft.tmp.123.0: No such file or directory").
absl::Status WriteFileAtomically(const std::string& path,
                                 const std::vector<absl::string_view>& pieces);

}  // namespace graft::io

#endif  // GRAFT_IO_ATOMIC_FILE_H_
