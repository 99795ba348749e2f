// Loads a model saved with Save (e.g. by `seed_conv1d --save=...`) and predicts on new data.
//
//   bazel run -c opt //examples:seed_conv1d -- --save=/tmp/seed.graft
//   bazel run -c opt //examples:predict_saved -- --model=/tmp/seed.graft
//   bazel run -c opt //examples:predict_saved -- --model=m.graft --x=new.npy --out=pred.npy
//
// Without --x it makes data the model fits: new synthetic sensor recordings (a seed the training
// run did not use) for a (steps, 3) input, the MNIST / Fashion-MNIST test images for (28, 28, 1)
// when --mnist_dir holds them. With labels at hand it also evaluates.
#include <cstdio>
#include <iostream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "examples/user_path.h"
#include "keras/datasets/mnist.h"
#include "keras/datasets/sensor_faults.h"
#include "keras/keras.h"

ABSL_FLAG(std::string, model, "", "the saved model (.graft)");
ABSL_FLAG(std::string, x, "", "inputs as .npy (N, ...input_shape); empty: data the model fits");
ABSL_FLAG(std::string, y, "", "labels as .npy, to evaluate too (optional)");
ABSL_FLAG(std::string, out, "", "write the predictions here as .npy (optional)");
ABSL_FLAG(std::string, mnist_dir, "data/mnist", "MNIST IDX files, for a (28, 28, 1) model");
ABSL_FLAG(int, show, 5, "how many predictions to print");

namespace keras = graft::keras;
using graft::examples::UserPath;

namespace {
int Fail(const absl::Status& s) {
  std::cerr << s.message() << "\n";
  return 1;
}
}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("Loads a saved graft model and predicts with it.");
  absl::ParseCommandLine(argc, argv);
  if (absl::GetFlag(FLAGS_model).empty()) {
    std::cerr << "pass --model=PATH of a file written by model.Save (e.g. by "
                 "`bazel run //examples:seed_conv1d -- --save=/tmp/seed.graft`)\n";
    return 2;
  }
  absl::StatusOr<keras::Model> model = keras::LoadModel(UserPath(absl::GetFlag(FLAGS_model)));
  if (!model.ok()) return Fail(model.status());
  model->Summary();

  graft::Tensor x, y;
  // The input's shape without the batch dimension (Sequential and functional models alike).
  const std::vector<int64_t>& dims = model->inputs()[0].shape().dims();
  const std::vector<int64_t> in(dims.begin() + 1, dims.end());
  if (!absl::GetFlag(FLAGS_x).empty()) {
    absl::StatusOr<graft::Tensor> t = graft::io::LoadNpy(UserPath(absl::GetFlag(FLAGS_x)));
    if (!t.ok()) return Fail(t.status());
    x = *t;
    if (!absl::GetFlag(FLAGS_y).empty()) {
      absl::StatusOr<graft::Tensor> l = graft::io::LoadNpy(UserPath(absl::GetFlag(FLAGS_y)));
      if (!l.ok()) return Fail(l.status());
      y = *l;
    }
  } else if (in.size() == 2 && in[1] == 3) {
    keras::datasets::Split d = keras::datasets::SensorFaults(
        {.num_train = 0, .num_test = 500, .steps = in[0], .seed = 20261206});
    x = d.x_test;
    y = d.y_test;
    std::cout << "500 new synthetic sensor recordings of " << in[0] << " steps x 3 channels\n";
  } else if (in == std::vector<int64_t>{28, 28, 1}) {
    absl::StatusOr<keras::datasets::Split> d =
        keras::datasets::LoadMnist(UserPath(absl::GetFlag(FLAGS_mnist_dir)));
    if (!d.ok()) return Fail(d.status());
    x = d->x_test;
    y = d->y_test;
    std::cout << "the " << x.shape().dim(0) << " test images of " << absl::GetFlag(FLAGS_mnist_dir)
              << "\n";
  } else {
    std::cerr << "no built-in data fits input_shape of this model: pass --x=FILE.npy\n";
    return 2;
  }

  absl::StatusOr<graft::Tensor> p = model->Predict(x);
  if (!p.ok()) return Fail(p.status());
  const int64_t n = p->shape().dim(0), row = n ? p->num_elements() / n : 0;
  for (int64_t i = 0; i < std::min<int64_t>(n, absl::GetFlag(FLAGS_show)); ++i) {
    std::printf("sample %lld:", static_cast<long long>(i));
    for (int64_t j = 0; j < std::min<int64_t>(row, 10); ++j) {
      std::printf(" %.4f", p->data<float>()[i * row + j]);
    }
    std::printf("\n");
  }
  if (!y.empty() && !model->metrics_names().empty() && model->metrics_names().size() > 1) {
    absl::StatusOr<std::vector<double>> e = model->Evaluate(x, y);
    if (!e.ok()) return Fail(e.status());
    const std::vector<std::string> names = model->metrics_names();
    for (size_t i = 0; i < names.size(); ++i) std::printf("%s: %.4f  ", names[i].c_str(), (*e)[i]);
    std::printf("\n");
  }
  if (const std::string out = absl::GetFlag(FLAGS_out); !out.empty()) {
    if (absl::Status s = graft::io::SaveNpy(UserPath(out), *p); !s.ok()) return Fail(s);
    std::printf("Wrote %s\n", out.c_str());
  }
  return 0;
}
