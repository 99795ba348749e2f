#include <cstring>
#include <cstdio>
#include <cmath>
#include <algorithm>
#include <sstream>
#include "keras/keras.h"
#include "keras/datasets/sensor_faults.h"
namespace K = graft::keras; namespace L = graft::keras::layers;
std::vector<graft::Tensor> Run(int threads, int which) {
  graft::SetNumThreads(threads);
  K::SetRandomSeed(5);
  std::vector<K::Layer> ls;
  graft::Tensor x, y;
  if (which == 0) {
    ls = {L::Conv1D(32, 5, {.activation = "relu", .input_shape = {100, 3}}), L::MaxPooling1D(2), L::Flatten(), L::Dense(1, {.activation = "sigmoid"})};
    auto d = K::datasets::SensorFaults({.num_train = 512, .num_test = 10});
    x = d.x_train; y = d.y_train;
  } else {
    ls = {L::Conv2D(64, 3, {.padding = "same", .activation = "relu", .input_shape = {32, 32, 3}}), L::Conv2D(64, 3, {.padding = "same", .activation = "relu"}), L::MaxPooling2D(2), L::Flatten(), L::Dense(10, {.activation = "softmax"})};
    x = graft::Tensor(graft::DType::kF32, {256, 32, 32, 3});
    for (int i = 0; i < x.num_elements(); ++i) x.data<float>()[i] = (i * 7919 % 1000) / 1000.0f;
    y = graft::Tensor(graft::DType::kF32, {256});
    for (int i = 0; i < 256; ++i) y.data<float>()[i] = i % 10;
  }
  K::Sequential m(ls);
  (void)m.Compile({.optimizer = "adam", .loss = which == 0 ? "binary_crossentropy" : "sparse_categorical_crossentropy"});
  std::ostringstream o;
  auto h = m.Fit(x, y, {.batch_size = 64, .epochs = 2, .verbose = 0, .output = &o});
  if (!h.ok()) printf("%s\n", std::string(h.status().message()).c_str());
  return m.GetWeights();
}
int main() {
  for (int which : {0, 1}) {
    auto b = Run(2, which), c = Run(2, which), a = Run(1, which), d = Run(1, which);
    for (size_t i = 0; i < a.size(); ++i) { double m = 0; int cnt = 0; for (int64_t k = 0; k < a[i].num_elements(); ++k) { double dd = std::abs(a[i].AsDouble(k) - d[i].AsDouble(k)); if (dd > 0) cnt++; m = std::max(m, dd);} printf("1v1 %zu maxdiff %g count %d of %ld\n", i, m, cnt, (long)a[i].num_elements()); }
    for (size_t i = 0; i < a.size(); ++i) {
      printf("model %d weight %zu: 1v2 %s, 2v2 %s\n", which, i,
             memcmp(a[i].raw_data(), b[i].raw_data(), a[i].nbytes()) ? "DIFFER" : "same",
             memcmp(b[i].raw_data(), c[i].raw_data(), b[i].nbytes()) ? "DIFFER" : "same");
    }
  }
}
