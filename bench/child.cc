#include "bench/child.h"

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

extern char** environ;

namespace graft::bench {

namespace fs = std::filesystem;

// Runs argv with environment env, its stdout captured and stderr passed through; waits for it
// and reads its peak RSS from wait4's rusage.
absl::StatusOr<ChildResult> RunChild(const std::vector<std::string>& argv,
                                     const std::vector<std::string>& env) {
  std::vector<char*> cargv, cenv;
  for (const std::string& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  for (const std::string& e : env) cenv.push_back(const_cast<char*>(e.c_str()));
  cargv.push_back(nullptr);
  cenv.push_back(nullptr);
  int fd[2];
  if (pipe(fd) != 0) return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
  std::cout.flush();
  std::cerr.flush();
  const pid_t pid = fork();
  if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  if (pid == 0) {
    dup2(fd[1], STDOUT_FILENO);
    close(fd[0]);
    close(fd[1]);
    execve(cargv[0], cargv.data(), cenv.data());
    std::fprintf(stderr, "exec %s: %s\n", cargv[0], std::strerror(errno));
    _exit(127);
  }
  close(fd[1]);
  ChildResult r;
  char buf[4096];
  for (;;) {
    const ssize_t n = read(fd[0], buf, sizeof(buf));
    if (n > 0) {
      r.out.append(buf, static_cast<size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  close(fd[0]);
  int status = 0;
  struct rusage ru;
  std::memset(&ru, 0, sizeof(ru));
  while (wait4(pid, &status, 0, &ru) < 0) {
    if (errno != EINTR) return absl::InternalError(absl::StrCat("wait4: ", std::strerror(errno)));
  }
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.peak_rss_mb = static_cast<double>(ru.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB
  return r;
}

// This process's environment without the variables that tune BLAS, OpenMP, glibc malloc or the
// loader, so "default" runs see the machine as it is.
std::vector<std::string> CleanEnvironment() {
  static const char* const kDrop[] = {
      "OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
      "GRAFT_NUM_THREADS",    "GLIBC_TUNABLES",   "LD_PRELOAD",      "LD_LIBRARY_PATH"};
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const absl::string_view kv(*e);
    const absl::string_view key = kv.substr(0, kv.find('='));
    bool drop = false;
    for (const char* d : kDrop) drop = drop || key == d;
    if (!drop) env.emplace_back(kv);
  }
  return env;
}

std::vector<std::string> LibtorchTunedEnvironment(const std::string& openblas_dir) {
  std::vector<std::string> env = CleanEnvironment();
  env.push_back("OPENBLAS_NUM_THREADS=1");
  env.push_back(
      "GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold="
      "17179869184:glibc.malloc.hugetlb=1");
  env.push_back(absl::StrCat("LD_LIBRARY_PATH=", openblas_dir));
  return env;
}

std::string SelfPath() {
  std::error_code ec;
  fs::path p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : p.string();
}

// A path given by the user, relative to where they ran `bazel run` from.
std::string UserPath(const std::string& p) {
  if (p.empty() || p[0] == '/') return p;
  if (const char* w = std::getenv("BUILD_WORKING_DIRECTORY")) return (fs::path(w) / p).string();
  return p;
}

std::string FindLibtorchRunner(const std::string& flag) {
  std::vector<fs::path> candidates;
  if (!flag.empty()) {
    candidates.push_back(UserPath(flag));
  } else {
    // Next to this binary (the same -c configuration), then the workspace's bazel-bin.
    candidates.push_back(fs::path(SelfPath()).parent_path() / "libtorch_runner");
    if (const char* w = std::getenv("BUILD_WORKSPACE_DIRECTORY")) {
      candidates.push_back(fs::path(w) / "bazel-bin/bench/libtorch_runner");
    }
    candidates.push_back("bazel-bin/bench/libtorch_runner");
  }
  for (const fs::path& p : candidates) {
    std::error_code ec;
    if (fs::exists(p, ec)) return fs::absolute(p, ec).string();
  }
  return "";
}

}  // namespace graft::bench
