#include "io/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace graft::io {
namespace {

absl::Status SysError(const std::string& path, absl::string_view what, int err) {
  const std::string text = absl::StrCat(path, ": ", what, ": ", std::strerror(err));
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return absl::NotFoundError(text);
    case EACCES:
    case EPERM:
    case EROFS:
      return absl::PermissionDeniedError(text);
    case ENOSPC:
    case EDQUOT:
      return absl::ResourceExhaustedError(text);
    default:
      return absl::InternalError(text);
  }
}

std::string Folder(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

absl::Status WriteAll(int fd, absl::string_view bytes, const std::string& path,
                      const std::string& tmp) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return SysError(path, absl::StrCat("cannot write ", tmp), errno);
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status WriteFileAtomically(const std::string& path,
                                 const std::vector<absl::string_view>& pieces) {
  if (path.empty()) return absl::InvalidArgumentError("cannot write a file with an empty path");
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": is a directory; give a file name such as ", path, "/model.graft"));
  }
  static std::atomic<int> counter{0};
  const std::string tmp = absl::StrCat(path, ".tmp.", ::getpid(), ".", counter++);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return SysError(path, absl::StrCat("cannot create temporary file ", tmp), errno);
  absl::Status status;
  for (absl::string_view piece : pieces) {
    status = WriteAll(fd, piece, path, tmp);
    if (!status.ok()) break;
  }
  if (status.ok() && ::fsync(fd) != 0) status = SysError(path, "fsync failed", errno);
  if (::close(fd) != 0 && status.ok()) status = SysError(path, "close failed", errno);
  if (status.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    status = SysError(path, absl::StrCat("cannot rename ", tmp, " into place"), errno);
  }
  if (!status.ok()) {
    ::unlink(tmp.c_str());
    return status;
  }
  // The rename is durable once the folder's entry is on disk.
  const std::string folder = Folder(path);
  const int dir = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return SysError(folder, "cannot open the folder to fsync it", errno);
  const int rc = ::fsync(dir);
  const int err = errno;
  ::close(dir);
  if (rc != 0) return SysError(folder, "fsync of the folder failed", err);
  return absl::OkStatus();
}

}  // namespace graft::io
