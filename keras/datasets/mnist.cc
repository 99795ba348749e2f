// Both sets share one loader: the same four IDX file names, shapes and checks; only the
// directory and the name in the messages differ. Reading and gunzipping is io::LoadIdx's job.
#include "keras/datasets/mnist.h"
#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "io/idx.h"
#include "keras/datasets/data_dir.h"

namespace graft::keras::datasets {
namespace {

constexpr char kHowToGet[] =
    "run `tools/setup.sh --mnist` (or tools/fetch_mnist.sh) in the graft checkout to fetch "
    "MNIST and Fashion-MNIST into data/";

std::string Describe(const Tensor& t) {
  return absl::StrCat(DTypeName(t.dtype()), t.shape().ToString());
}

// Loads <dir>/<name>, or <dir>/<name>.gz when the plain file does not exist.
absl::StatusOr<Tensor> LoadFile(const char* loader, const std::string& dir, const char* name,
                                std::string* path) {
  *path = absl::StrCat(dir, "/", name);
  std::error_code ec;
  if (!std::filesystem::exists(*path, ec)) {
    const std::string gz = absl::StrCat(*path, ".gz");
    if (!std::filesystem::exists(gz, ec)) {
      return absl::NotFoundError(
          absl::StrCat(loader, ": neither ", *path, " nor ", gz, " exists; ", kHowToGet));
    }
    *path = gz;
  }
  absl::StatusOr<Tensor> t = io::LoadIdx(*path);
  if (!t.ok()) {
    return absl::Status(t.status().code(), absl::StrCat(loader, ": ", t.status().message()));
  }
  return t;
}

// Loads one images/labels pair: images (N, 28, 28) scaled to [0, 1] with a channel axis added,
// labels (N,) in [0, 10).
absl::Status LoadPair(const char* loader, const std::string& dir, const char* images_name,
                      const char* labels_name, Tensor* x, Tensor* y) {
  std::string x_path, y_path;
  absl::StatusOr<Tensor> images = LoadFile(loader, dir, images_name, &x_path);
  if (!images.ok()) return images.status();
  absl::StatusOr<Tensor> labels = LoadFile(loader, dir, labels_name, &y_path);
  if (!labels.ok()) return labels.status();

  const Shape& xs = images->shape();
  if (images->dtype() != DType::kF32 || xs.rank() != 3 || xs.dim(1) != kMnistRows ||
      xs.dim(2) != kMnistCols) {
    return absl::InvalidArgumentError(absl::StrCat(
        loader, ": ", x_path, " holds ", Describe(*images), "; expected ", kMnistRows, " x ",
        kMnistCols, " uint8 images, read as float32(N, ", kMnistRows, ", ", kMnistCols, ")"));
  }
  if (labels->dtype() != DType::kI64 || labels->shape().rank() != 1) {
    return absl::InvalidArgumentError(absl::StrCat(loader, ": ", y_path, " holds ",
                                                   Describe(*labels),
                                                   "; expected integer labels, int64(N,)"));
  }
  const int64_t n = xs.dim(0);
  if (labels->shape().dim(0) != n) {
    return absl::InvalidArgumentError(absl::StrCat(loader, ": ", x_path, " has ", n, " images but ",
                                                   y_path, " has ", labels->shape().dim(0),
                                                   " labels"));
  }
  const int64_t* label = labels->data<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    if (label[i] < 0 || label[i] >= kMnistClasses) {
      return absl::InvalidArgumentError(absl::StrCat(loader, ": ", y_path, ": label ", label[i],
                                                     " at row ", i, " is not a class index in [0, ",
                                                     kMnistClasses, ")"));
    }
  }
  float* pixel = images->data<float>();
  for (int64_t i = 0; i < images->num_elements(); ++i) {
    if (!(pixel[i] >= 0.0f && pixel[i] <= 255.0f)) {
      const int64_t per_image = kMnistRows * kMnistCols;
      return absl::InvalidArgumentError(absl::StrCat(
          loader, ": ", x_path, ": pixel ", pixel[i], " of image ", i / per_image, " (row ",
          i % per_image / kMnistCols, ", column ", i % kMnistCols, ") is outside [0, 255]"));
    }
    pixel[i] /= 255.0f;
  }
  absl::StatusOr<Tensor> nhwc = images->Reshaped(Shape{n, kMnistRows, kMnistCols, 1});
  if (!nhwc.ok()) return nhwc.status();
  *x = *std::move(nhwc);
  *y = *std::move(labels);
  return absl::OkStatus();
}

absl::StatusOr<Split> LoadImageSet(const char* loader, const std::string& dir_in) {
  const std::string dir = ResolveDataDir(dir_in);
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return absl::NotFoundError(
        absl::StrCat(loader, ": directory ", dir, " does not exist; ", kHowToGet));
  }
  Split s;
  absl::Status st = LoadPair(loader, dir, "train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                             &s.x_train, &s.y_train);
  if (st.ok()) {
    st = LoadPair(loader, dir, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", &s.x_test,
                  &s.y_test);
  }
  if (!st.ok()) return st;
  return s;
}

}  // namespace

absl::StatusOr<Split> LoadMnist(const std::string& dir) { return LoadImageSet("LoadMnist", dir); }

absl::StatusOr<Split> LoadFashionMnist(const std::string& dir) {
  return LoadImageSet("LoadFashionMnist", dir);
}

}  // namespace graft::keras::datasets
