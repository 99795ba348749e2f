// The loader only reads and validates: the conversion from R's mlbench data lives in
// tools/dna_to_npy.sh, so graft needs no R at build or run time.
#include "keras/datasets/dna.h"
#include <filesystem>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "io/npy.h"
#include "keras/datasets/data_dir.h"

namespace graft::keras::datasets {
namespace {

// The fix for a missing or damaged data directory.
std::string HowToCreate(const std::string& dir) {
  return absl::StrCat("create the files with `tools/dna_to_npy.sh ", dir,
                      "` (it needs R and its mlbench package: apt-get install r-cran-mlbench)");
}

std::string Describe(const Tensor& t) {
  return absl::StrCat(DTypeName(t.dtype()), t.shape().ToString());
}

absl::StatusOr<Tensor> LoadFile(const std::string& dir, const char* name) {
  const std::string path = absl::StrCat(dir, "/", name, ".npy");
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return absl::NotFoundError(
        absl::StrCat("LoadDna: ", path, " does not exist; ", HowToCreate(dir)));
  }
  absl::StatusOr<Tensor> t = io::LoadNpy(path);
  if (!t.ok()) {
    return absl::Status(t.status().code(),
                        absl::StrCat("LoadDna: ", t.status().message(), "; ", HowToCreate(dir)));
  }
  return t;
}

// Checks one (x, y) pair: x float32 (N, 60, 3), y int64 (N,) with labels in [0, 3).
absl::Status Check(const std::string& dir, const char* x_name, const Tensor& x, const char* y_name,
                   const Tensor& y) {
  const std::string x_path = absl::StrCat(dir, "/", x_name, ".npy");
  const std::string y_path = absl::StrCat(dir, "/", y_name, ".npy");
  if (x.dtype() != DType::kF32 || x.shape().rank() != 3 || x.shape().dim(1) != kDnaSteps ||
      x.shape().dim(2) != kDnaChannels) {
    return absl::InvalidArgumentError(absl::StrCat("LoadDna: ", x_path, " holds ", Describe(x),
                                                   "; expected float32(N, ", kDnaSteps, ", ",
                                                   kDnaChannels, "); ", HowToCreate(dir)));
  }
  if (y.dtype() != DType::kI64 || y.shape().rank() != 1) {
    return absl::InvalidArgumentError(absl::StrCat("LoadDna: ", y_path, " holds ", Describe(y),
                                                   "; expected int64(N,); ", HowToCreate(dir)));
  }
  if (y.shape().dim(0) != x.shape().dim(0)) {
    return absl::InvalidArgumentError(absl::StrCat("LoadDna: ", x_path, " has ", x.shape().dim(0),
                                                   " rows but ", y_path, " has ",
                                                   y.shape().dim(0)));
  }
  const int64_t* labels = y.data<int64_t>();
  for (int64_t i = 0; i < y.num_elements(); ++i) {
    if (labels[i] < 0 || labels[i] >= kDnaClasses) {
      return absl::InvalidArgumentError(absl::StrCat("LoadDna: ", y_path, ": label ", labels[i],
                                                     " at row ", i, " is not a class index in [0, ",
                                                     kDnaClasses, ")"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Split> LoadDna(const std::string& dir_in) {
  const std::string dir = ResolveDataDir(dir_in);
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return absl::NotFoundError(
        absl::StrCat("LoadDna: directory ", dir, " does not exist; ", HowToCreate(dir)));
  }
  Split s;
  const std::pair<const char*, Tensor*> files[] = {{"x_train", &s.x_train},
                                                   {"y_train", &s.y_train},
                                                   {"x_test", &s.x_test},
                                                   {"y_test", &s.y_test}};
  for (const auto& [name, tensor] : files) {
    absl::StatusOr<Tensor> t = LoadFile(dir, name);
    if (!t.ok()) return t.status();
    *tensor = *std::move(t);
  }
  absl::Status st = Check(dir, "x_train", s.x_train, "y_train", s.y_train);
  if (st.ok()) st = Check(dir, "x_test", s.x_test, "y_test", s.y_test);
  if (!st.ok()) return st;
  return s;
}

}  // namespace graft::keras::datasets
