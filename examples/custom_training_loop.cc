// A training loop written by hand, below Fit: a graph, a loss no built-in provides, its
// gradients, an optimizer's updates, and a Session that runs the step batch after batch.
//
//   bazel run -c opt //examples:custom_training_loop
//
// The task: fit y = 2 x0 - x1 + 0.5 + noise where 5% of the targets are wild outliers. The loss
// is Huber's (delta = 1), which a squared error would let the outliers dominate:
//   huber(e) = 0.5 e^2              if |e| <= delta
//              delta (|e| - delta/2) otherwise
// written from graft's ops as 0.5 q^2 + delta (|e| - q) with q = min(|e|, delta).
#include <cmath>
#include <cstdio>
#include <memory>

#include "autodiff/gradients.h"
#include "graph/graph.h"
#include "keras/layers.h"
#include "keras/random.h"
#include "ops/dense.h"
#include "ops/elementwise.h"
#include "ops/merge.h"
#include "optim/optimizer.h"
#include "runtime/session.h"
#include "runtime/threads.h"

namespace {

using graft::DType;
using graft::Graph;
using graft::Shape;
using graft::Tensor;
using graft::Value;

// Stops the program with the message when a step fails (a small example's error handling).
template <typename T>
T Check(absl::StatusOr<T> v) {
  if (!v.ok()) {
    std::fprintf(stderr, "%s\n", std::string(v.status().message()).c_str());
    std::exit(1);
  }
  return *std::move(v);
}

// mean over the batch of huber(pred - y); `inv_n` is the scalar 1 / batch size, fed per step.
absl::StatusOr<Value> HuberLoss(Graph& g, Value pred, Value y, Value inv_n, double delta) {
  namespace ops = graft::ops;
  absl::StatusOr<Value> e = ops::Subtract(g, pred, y);
  if (!e.ok()) return e;
  absl::StatusOr<Value> neg = ops::Scale(g, *e, -1.0);
  if (!neg.ok()) return neg;
  absl::StatusOr<Value> abs = ops::Maximum(g, *e, *neg);
  if (!abs.ok()) return abs;
  absl::StatusOr<Value> d = ops::BroadcastLike(
      g, g.Constant(Tensor::Scalar<float>(static_cast<float>(delta)), "delta"), *abs);
  if (!d.ok()) return d;
  absl::StatusOr<Value> q = ops::Minimum(g, *abs, *d);
  if (!q.ok()) return q;
  absl::StatusOr<Value> q2 = ops::Multiply(g, *q, *q);
  if (!q2.ok()) return q2;
  absl::StatusOr<Value> half_q2 = ops::Scale(g, *q2, 0.5);
  if (!half_q2.ok()) return half_q2;
  absl::StatusOr<Value> excess = ops::Subtract(g, *abs, *q);
  if (!excess.ok()) return excess;
  absl::StatusOr<Value> linear = ops::Scale(g, *excess, delta);
  if (!linear.ok()) return linear;
  absl::StatusOr<Value> per_sample = ops::Add(g, *half_q2, *linear);
  if (!per_sample.ok()) return per_sample;
  absl::StatusOr<Value> total = ops::ReduceSum(g, *per_sample);
  if (!total.ok()) return total;
  return ops::Multiply(g, *total, inv_n);
}

}  // namespace

int main() {
  graft::SetNumThreads(1);
  graft::keras::SetRandomSeed(7);

  // Data: 2,000 samples of 2 features; 5% of the targets are off by +-20.
  const int64_t n = 2000;
  Tensor x(DType::kF32, {n, 2}), y(DType::kF32, {n, 1});
  for (int64_t i = 0; i < n; ++i) {
    const float x0 = static_cast<float>(2 * graft::keras::internal::NextUniform() - 1);
    const float x1 = static_cast<float>(2 * graft::keras::internal::NextUniform() - 1);
    x.data<float>()[2 * i] = x0;
    x.data<float>()[2 * i + 1] = x1;
    float target =
        2 * x0 - x1 + 0.5f + 0.05f * static_cast<float>(graft::keras::internal::NextNormal());
    if (graft::keras::internal::NextUniform() < 0.05) {
      target += graft::keras::internal::NextUniform() < 0.5 ? 20.0f : -20.0f;
    }
    y.data<float>()[i] = target;
  }

  // The graph: a linear model (a Dense op over two variables), Huber's loss, its gradients and
  // Adam's updates.
  auto graph = std::make_shared<Graph>();
  Graph& g = *graph;
  const Value xb = g.Placeholder({DType::kF32, Shape{Shape::kUnknownDim, 2}}, "x");
  const Value yb = g.Placeholder({DType::kF32, Shape{Shape::kUnknownDim, 1}}, "y");
  const Value inv_n = g.Placeholder({DType::kF32, Shape{}}, "inv_batch");
  const Value lr = g.Placeholder({DType::kF32, Shape{}}, "learning_rate");
  const Value it = g.Placeholder({DType::kF32, Shape{}}, "iteration");
  const Value w = g.Variable(Tensor(DType::kF32, {2, 1}), "w");
  const Value b = g.Variable(Tensor(DType::kF32, {1}), "b");
  const Value pred = Check(graft::ops::Dense(g, xb, w, b, "linear"));
  const Value loss = Check(HuberLoss(g, pred, yb, inv_n, /*delta=*/1.0));
  const std::vector<Value> grads = Check(graft::autodiff::Gradients(g, loss, {w, b}));
  std::unique_ptr<graft::optim::Optimizer> adam = graft::optim::MakeAdam({.learning_rate = 0.05});
  const std::vector<graft::Operation> updates = Check(adam->AppendUpdates(g, {w, b}, grads, lr, it));

  // The session runs the train step (feeds, fetches, targets) and caches its plan per batch.
  graft::Session session(graph);
  const graft::StepId train =
      session.AddStep({.feeds = {xb, yb, inv_n, lr, it}, .fetches = {loss}, .targets = updates});
  const int64_t batch = 50;
  std::vector<Tensor> fetched;
  int64_t step = 0;
  for (int epoch = 0; epoch < 20; ++epoch) {
    double sum = 0;
    for (int64_t start = 0; start < n; start += batch) {
      const Tensor feeds_x = x.RowsView(start, start + batch);
      const Tensor feeds_y = y.RowsView(start, start + batch);
      absl::Status s =
          session.Run(train,
                      {feeds_x, feeds_y, Tensor::Scalar<float>(1.0f / batch),
                       Tensor::Scalar<float>(static_cast<float>(adam->LearningRateAt(step))),
                       Tensor::Scalar<float>(static_cast<float>(step++))},
                      &fetched);
      if (!s.ok()) {
        std::fprintf(stderr, "%s\n", std::string(s.message()).c_str());
        return 1;
      }
      sum += fetched[0].AsDouble(0);
    }
    if (epoch % 5 == 4) {
      std::printf("epoch %2d: huber loss %.4f\n", epoch + 1, sum / (n / batch));
    }
  }
  const Tensor wv = g.VariableValue(w), bv = g.VariableValue(b);
  std::printf("learned y = %.3f x0 %+.3f x1 %+.3f   (true: 2 x0 - 1 x1 + 0.5; outliers ignored)\n",
              wv.AsDouble(0), wv.AsDouble(1), bv.AsDouble(0));
  const bool close = std::abs(wv.AsDouble(0) - 2) < 0.1 && std::abs(wv.AsDouble(1) + 1) < 0.1 &&
                     std::abs(bv.AsDouble(0) - 0.5) < 0.1;
  return close ? 0 : 2;
}
