// graft — reading files for the loaders (.npy, IDX, safetensors): one place that opens a path,
// tells a directory or a device from a regular file, knows the file's real size before anything
// is allocated from what the file claims, and names the file in every error.
#ifndef GRAFT_IO_FILE_H_
#define GRAFT_IO_FILE_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace graft::io {

// A regular file opened for reading, with its size when it was opened. Move-only; closes the
// file when destroyed.
class ReadOnlyFile {
 public:
  // Opens `path`. Errors name it: NotFound when it does not exist, PermissionDenied when it
  // cannot be opened, InvalidArgument for a directory ("is a directory, not a file") or another
  // non-regular file (a FIFO, socket or device). Never blocks on a FIFO.
  static absl::StatusOr<ReadOnlyFile> Open(const std::string& path);

  ReadOnlyFile(ReadOnlyFile&& other) noexcept;
  ReadOnlyFile& operator=(ReadOnlyFile&& other) noexcept;
  ReadOnlyFile(const ReadOnlyFile&) = delete;
  ReadOnlyFile& operator=(const ReadOnlyFile&) = delete;
  ~ReadOnlyFile();

  const std::string& path() const { return path_; }
  // The size in bytes when the file was opened: check what a header claims against this before
  // allocating.
  uint64_t size() const { return size_; }

  // Reads exactly `n` bytes at `offset` into `dst`. DataLoss naming the file and the byte when
  // the read fails or the file ends early (it shrank since Open).
  absl::Status ReadAt(uint64_t offset, size_t n, void* dst) const;

 private:
  ReadOnlyFile(std::string path, int fd, uint64_t size)
      : path_(std::move(path)), fd_(fd), size_(size) {}

  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

// Reads the whole of a regular file into memory (ReadOnlyFile's errors).
absl::StatusOr<std::string> ReadWholeFile(const std::string& path);

}  // namespace graft::io

#endif  // GRAFT_IO_FILE_H_
