// `dot` runs as a child process through posix_spawn: no shell, so no quoting of paths, and the
// pipes are created close-on-exec so that a program spawning from other threads at the same
// time does not inherit them (a leaked write end would keep our reads from seeing EOF).
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "keras/graphviz_internal.h"

extern char** environ;

namespace graft::keras::internal {
namespace {

constexpr size_t kMaxPicture = size_t{1} << 30;  // a picture larger than 1 GiB is a runaway
constexpr size_t kMaxStderr = 16 << 10;          // what the error message quotes

class Pipe {
 public:
  Pipe() {
    if (pipe2(fd_, O_CLOEXEC) != 0) fd_[0] = fd_[1] = -1;
  }
  ~Pipe() {
    CloseRead();
    CloseWrite();
  }
  bool ok() const { return fd_[0] >= 0; }
  int read_end() const { return fd_[0]; }
  int write_end() const { return fd_[1]; }
  void CloseRead() { Close(0); }
  void CloseWrite() { Close(1); }

 private:
  void Close(int i) {
    if (fd_[i] >= 0) close(fd_[i]);
    fd_[i] = -1;
  }
  int fd_[2];
};

int WaitFor(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

}  // namespace

std::string FindOnPath(const std::string& program) {
  const char* path = std::getenv("PATH");
  for (absl::string_view dir : absl::StrSplit(path ? path : "/usr/bin:/bin", ':')) {
    const std::string candidate = absl::StrCat(dir.empty() ? "." : dir, "/", program);
    struct stat st;
    if (stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return "";
}

absl::StatusOr<std::string> RunDot(const std::string& dot_program, const std::string& format,
                                   const std::string& dot_path, int timeout_seconds) {
  Pipe out, err;
  if (!out.ok() || !err.ok()) {
    return absl::ResourceExhaustedError(
        absl::StrCat("PlotModel: cannot create a pipe for Graphviz's dot: ", strerror(errno)));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out.write_end(), STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err.write_end(), STDERR_FILENO);
  std::string type = "-T" + format;
  std::vector<char*> argv = {const_cast<char*>(dot_program.c_str()), type.data(),
                             const_cast<char*>(dot_path.c_str()), nullptr};
  pid_t pid = 0;
  const int spawned =
      posix_spawn(&pid, dot_program.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "PlotModel: cannot run Graphviz's dot (", dot_program, "): ", strerror(spawned),
        ". Fix: reinstall Graphviz (apt-get install graphviz); the DOT text is in ", dot_path));
  }
  out.CloseWrite();
  err.CloseWrite();

  // Both pipes are drained together: dot blocks when either fills up.
  std::string picture, messages;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  bool out_open = true, err_open = true, too_long = false, too_big = false, poll_failed = false;
  char buffer[1 << 16];
  while ((out_open || err_open) && !too_long && !too_big) {
    pollfd fds[2] = {{out_open ? out.read_end() : -1, POLLIN, 0},
                     {err_open ? err.read_end() : -1, POLLIN, 0}};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      too_long = true;
      break;
    }
    const int ready = poll(fds, 2, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) {
      poll_failed = true;  // stop dot: it may block on a full pipe we no longer read
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      const ssize_t n = read(fds[i].fd, buffer, sizeof(buffer));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        (i == 0 ? out_open : err_open) = false;
      } else if (i == 0) {
        picture.append(buffer, n);
        too_big = picture.size() > kMaxPicture;
      } else if (messages.size() < kMaxStderr) {
        messages.append(buffer, std::min<size_t>(n, kMaxStderr - messages.size()));
      }
    }
  }
  if (too_long || too_big || poll_failed) kill(pid, SIGKILL);
  const int status = WaitFor(pid);
  if (too_long) {
    return absl::DeadlineExceededError(
        absl::StrCat("PlotModel: Graphviz's dot did not finish rendering ", dot_path, " within ",
                     timeout_seconds,
                     " s and was stopped. Fix: draw a smaller model, or render the DOT file "
                     "by hand (dot -T",
                     format, " ", dot_path, ")"));
  }
  if (too_big) {
    return absl::ResourceExhaustedError(
        absl::StrCat("PlotModel: Graphviz's dot wrote more than 1 GiB for ", dot_path,
                     " and was stopped. Fix: lower PlotModelOptions::dpi"));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    const std::string how = WIFEXITED(status) ? absl::StrCat("exit status ", WEXITSTATUS(status))
                                              : absl::StrCat("signal ", WTERMSIG(status));
    return absl::InternalError(absl::StrCat(
        "PlotModel: Graphviz's dot failed (", how, ") on ", dot_path, " with -T", format, ": ",
        messages.empty() ? "(no error output)" : absl::StripTrailingAsciiWhitespace(messages), ".",
        " Fix: check that Graphviz supports that format (dot -T?), else report this with the "
        "DOT file"));
  }
  return picture;
}

}  // namespace graft::keras::internal
