#include "keras/datasets/data_dir.h"

#include <cstdlib>
#include <filesystem>
#include <system_error>

namespace graft::keras::datasets {

std::string ResolveDataDir(const std::string& dir_in) {
  std::string dir = dir_in.empty() ? "." : dir_in;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  std::error_code ec;
  if (dir.front() == '/' || std::filesystem::is_directory(dir, ec)) return dir;
  if (const char* workspace = std::getenv("BUILD_WORKSPACE_DIRECTORY")) {
    const std::string there = std::string(workspace) + "/" + dir;
    if (std::filesystem::is_directory(there, ec)) return there;
  }
  return dir;
}

}  // namespace graft::keras::datasets
