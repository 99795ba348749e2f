#include <chrono>
#include <cstdio>
#include <cstdlib>
#include "keras/keras.h"
#include "runtime/plan.h"
namespace K = graft::keras; namespace L = graft::keras::layers;
int main() {
  graft::SetNumThreads(1);
  K::SetRandomSeed(1);
  K::Sequential m({L::Conv1D(32, 5, {.activation = "relu", .input_shape = {100, 3}}), L::MaxPooling1D(2), L::Flatten(), L::Dense(1, {.activation = "sigmoid"})});
  (void)m.Compile({.optimizer = "adam", .loss = "binary_crossentropy"});
  graft::Tensor x(graft::DType::kF32, {32, 100, 3});
  for (int i = 0; i < x.num_elements(); ++i) x.data<float>()[i] = (i % 17) / 17.0f;
  for (int w = 0; w < 50; ++w) (void)m.Predict(x);
  auto t0 = std::chrono::steady_clock::now();
  const int N = 5000;
  for (int i = 0; i < N; ++i) (void)m.Predict(x);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  printf("Predict: %.1f us/batch, %.0f samples/s\n", s / N * 1e6, N * 32 / s);
  // The bare plan.
  graft::Graph g;
  auto xv = g.Placeholder({graft::DType::kF32, {-1, 100, 3}}, "x");
  auto y = m.layers()[0]->Call(g, xv); y = m.layers()[1]->Call(g, *y); y = m.layers()[2]->Call(g, *y); y = m.layers()[3]->Call(g, *y);
  auto plan = graft::Plan::Compile(g, {.feeds = {xv}, .fetches = {*y}}, {x.type()}, {.kernels = getenv("REF") ? graft::KernelKind::kReference : graft::KernelKind::kFast});
  printf("%s", (*plan)->Report().c_str());
  std::vector<graft::Tensor> out;
  for (int w = 0; w < 50; ++w) (void)(*plan)->Run({x}, &out);
  t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < N; ++i) (void)(*plan)->Run({x}, &out);
  s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  printf("Plan::Run: %.1f us/batch\n", s / N * 1e6);
  for (auto& st : (*plan)->steps()) {
    auto& step = const_cast<graft::PlanStep&>(st);
    t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < N; ++i) (void)step.kernel->Run(step.ctx);
    s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    printf("  %-30s %.1f us\n", st.node->name.c_str(), s / N * 1e6);
  }
}
