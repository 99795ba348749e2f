#include "autodiff/grad_check.h"

#include <cmath>
#include <random>

#include "absl/strings/str_cat.h"
#include "autodiff/gradients.h"
#include "graph/graph.h"
#include "graph/op_registry.h"
#include "ops/core.h"
#include "runtime/plan.h"

namespace graft::autodiff {

std::string GradCheckReport::ToString() const {
  return absl::StrCat(ok ? "ok" : "MISMATCH", ": ", entries_checked, " entries, max abs error ",
                      max_abs_error, worst.empty() ? "" : absl::StrCat(", worst ", worst));
}

absl::StatusOr<GradCheckReport> CheckGradients(const std::string& op_name, std::any attrs,
                                               const std::vector<Tensor>& inputs,
                                               const GradCheckOptions& options) {
  const OpSchema* op = OpRegistry::Global().Find(op_name);
  if (op == nullptr) return absl::NotFoundError(absl::StrCat("unknown op ", op_name));
  Graph g;
  std::vector<Tensor> feeds;
  std::vector<Value> placeholders;
  std::vector<TensorType> feed_types;
  for (size_t i = 0; i < inputs.size(); ++i) {
    Tensor t = IsFloating(inputs[i].dtype()) ? inputs[i].CastTo(DType::kF64) : inputs[i].Clone();
    placeholders.push_back(g.Placeholder(t.type(), absl::StrCat("input", i)));
    feed_types.push_back(t.type());
    feeds.push_back(t);
  }
  absl::StatusOr<std::vector<Value>> outs = g.AddNode(op_name, placeholders, std::move(attrs));
  if (!outs.ok()) return outs.status();

  // L = sum_j sum(y_j * c_j) over the visible floating outputs.
  std::mt19937_64 rng(options.seed);
  std::uniform_real_distribution<double> uni(-1.0, 1.0);
  std::optional<Value> loss;
  for (size_t j = 0; j < outs->size(); ++j) {
    const TensorType& t = g.type((*outs)[j]);
    if (op->is_hidden_output(static_cast<int>(j)) || !IsFloating(t.dtype)) continue;
    Tensor c(DType::kF64, t.shape);
    for (int64_t k = 0; k < c.num_elements(); ++k) c.data<double>()[k] = uni(rng);
    Value cv = g.Constant(c, absl::StrCat("cotangent", j));
    absl::StatusOr<Value> prod = g.Add(ops::kMulOp, {(*outs)[j], cv});
    if (!prod.ok()) return prod.status();
    absl::StatusOr<Value> sum = g.Add(ops::kReduceSumOp, {*prod});
    if (!sum.ok()) return sum.status();
    if (loss.has_value()) {
      absl::StatusOr<Value> acc = g.Add(ops::kAddOp, {*loss, *sum});
      if (!acc.ok()) return acc.status();
      loss = *acc;
    } else {
      loss = *sum;
    }
  }
  if (!loss.has_value()) return absl::InvalidArgumentError(op_name + " has no floating output");

  std::vector<int> wrt_idx = options.wrt;
  if (wrt_idx.empty()) {
    for (size_t i = 0; i < feeds.size(); ++i) {
      if (IsFloating(feeds[i].dtype())) wrt_idx.push_back(static_cast<int>(i));
    }
  }
  std::vector<Value> wrt;
  for (int i : wrt_idx) wrt.push_back(placeholders[i]);
  absl::StatusOr<std::vector<Value>> grads = Gradients(g, *loss, wrt);
  if (!grads.ok()) return grads.status();

  PlanOptions ref{.kernels = KernelKind::kReference};
  absl::StatusOr<std::unique_ptr<Plan>> grad_plan =
      Plan::Compile(g, {.feeds = placeholders, .fetches = *grads}, feed_types, ref);
  if (!grad_plan.ok()) return grad_plan.status();
  absl::StatusOr<std::unique_ptr<Plan>> loss_plan =
      Plan::Compile(g, {.feeds = placeholders, .fetches = {*loss}}, feed_types, ref);
  if (!loss_plan.ok()) return loss_plan.status();

  std::vector<Tensor> analytic;
  absl::Status s = (*grad_plan)->Run(feeds, &analytic);
  if (!s.ok()) return s;

  GradCheckReport report;
  std::vector<Tensor> out;
  for (size_t w = 0; w < wrt_idx.size(); ++w) {
    Tensor& x = feeds[wrt_idx[w]];
    std::vector<int64_t> entries;
    for (int64_t k = 0; k < x.num_elements(); ++k) entries.push_back(k);
    if (options.max_entries > 0 && options.max_entries < x.num_elements()) {
      std::shuffle(entries.begin(), entries.end(), rng);
      entries.resize(options.max_entries);
    }
    for (int64_t k : entries) {
      double* p = x.data<double>() + k;
      const double orig = *p;
      *p = orig + options.eps;
      if (s = (*loss_plan)->Run(feeds, &out); !s.ok()) return s;
      const double plus = out[0].AsDouble(0);
      *p = orig - options.eps;
      if (s = (*loss_plan)->Run(feeds, &out); !s.ok()) return s;
      const double minus = out[0].AsDouble(0);
      *p = orig;
      const double numeric = (plus - minus) / (2 * options.eps);
      const double a = analytic[w].AsDouble(k);
      const double err = std::abs(a - numeric);
      ++report.entries_checked;
      if (err > report.max_abs_error) {
        report.max_abs_error = err;
        report.worst =
            absl::StrCat("input ", wrt_idx[w], " [", k, "]: analytic ", a, ", numeric ", numeric);
      }
      if (err > options.atol + options.rtol * std::abs(numeric)) report.ok = false;
    }
  }
  return report;
}

}  // namespace graft::autodiff
