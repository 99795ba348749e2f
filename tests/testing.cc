#include "tests/testing.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "absl/strings/str_cat.h"
#include "graph/graph.h"
#include "io/npy.h"
#include "runtime/plan.h"

namespace graft::testing {

absl::StatusOr<std::vector<Tensor>> RunOp(const std::string& op, std::any attrs,
                                          const std::vector<Tensor>& inputs, KernelKind kind,
                                          bool bf16, std::string* report) {
  Graph g;
  std::vector<Value> ph;
  std::vector<TensorType> types;
  for (size_t i = 0; i < inputs.size(); ++i) {
    ph.push_back(g.Placeholder(inputs[i].type(), absl::StrCat("in", i)));
    types.push_back(inputs[i].type());
  }
  absl::StatusOr<std::vector<Value>> outs = g.AddNode(op, ph, std::move(attrs));
  if (!outs.ok()) return outs.status();
  absl::StatusOr<std::unique_ptr<Plan>> plan =
      Plan::Compile(g, {.feeds = ph, .fetches = *outs}, types, {.kernels = kind, .bf16 = bf16});
  if (!plan.ok()) return plan.status();
  if (report != nullptr) *report = (*plan)->Report();
  std::vector<Tensor> result;
  absl::Status s = (*plan)->Run(inputs, &result);
  if (!s.ok()) return s;
  return result;
}

absl::StatusOr<std::vector<TensorType>> InferOp(const std::string& op, std::any attrs,
                                                const std::vector<TensorType>& inputs) {
  Graph g;
  std::vector<Value> ph;
  for (size_t i = 0; i < inputs.size(); ++i) {
    ph.push_back(g.Placeholder(inputs[i], absl::StrCat("in", i)));
  }
  absl::StatusOr<std::vector<Value>> outs = g.AddNode(op, ph, std::move(attrs));
  if (!outs.ok()) return outs.status();
  std::vector<TensorType> types;
  for (const Value& v : *outs) types.push_back(g.type(v));
  return types;
}

Tensor Random(Shape shape, uint64_t seed, double lo, double hi, DType dtype) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> uni(lo, hi);
  Tensor t(DType::kF64, std::move(shape));
  for (int64_t i = 0; i < t.num_elements(); ++i) t.data<double>()[i] = uni(rng);
  return t.CastTo(dtype);
}

Tensor Golden(const std::string& name) {
  std::string path = absl::StrCat("tests/golden/", name, ".npy");
  absl::StatusOr<Tensor> t = io::LoadNpy(path);
  EXPECT_TRUE(t.ok()) << t.status() << " (regenerate with /usr/bin/python3 tools/golden/<op>.py)";
  return t.ok() ? *t : Tensor();
}

double MaxAbs(const Tensor& t) {
  double m = 0;
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    m = std::max(m, std::fabs(static_cast<double>(t.data<float>()[i])));
  }
  return m;
}

::testing::AssertionResult AllClose(const Tensor& a, const Tensor& b, double rtol, double atol) {
  if (a.shape() != b.shape()) {
    return ::testing::AssertionFailure()
           << "shapes differ: " << a.shape().ToString() << " vs " << b.shape().ToString();
  }
  int64_t bad = 0, worst = -1;
  double worst_excess = 0;
  for (int64_t i = 0; i < a.num_elements(); ++i) {
    const double x = a.AsDouble(i), y = b.AsDouble(i);
    const double excess = std::abs(x - y) - (atol + rtol * std::abs(y));
    if (excess > 0 || std::isnan(x) != std::isnan(y)) {
      ++bad;
      if (worst < 0 || excess > worst_excess) {
        worst = i;
        worst_excess = excess;
      }
    }
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << bad << " of " << a.num_elements() << " entries differ; worst [" << worst
         << "]: " << a.AsDouble(worst) << " vs " << b.AsDouble(worst) << " (rtol " << rtol
         << ", atol " << atol << ")";
}

}  // namespace graft::testing
