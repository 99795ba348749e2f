#include "graph/op_registry.h"

#include <cxxabi.h>

#include <cstdio>
#include <cstdlib>
#include <limits>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace graft {

absl::Status ShapeError(const ShapeContext& c, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(c.node_name, " (", c.op_name, "): ", message));
}

absl::Status ExpectFloat(const ShapeContext& c, int i, int rank) {
  const TensorType& t = c.inputs[i];
  if (!IsFloating(t.dtype)) {
    return ShapeError(
        c, absl::StrCat("input ", i, " must be float32 or float64, got ", DTypeName(t.dtype)));
  }
  if (rank >= 0 && t.shape.rank() != rank) {
    return ShapeError(
        c, absl::StrCat("input ", i, " must have rank ", rank, ", got shape ", t.shape.ToString()));
  }
  return absl::OkStatus();
}

namespace internal {

std::string TypeName(const std::type_info& type) {
  int status = 0;
  char* demangled = abi::__cxa_demangle(type.name(), nullptr, nullptr, &status);
  if (status != 0 || demangled == nullptr) return type.name();
  std::string name(demangled);
  std::free(demangled);
  return name;
}

}  // namespace internal

int OpSchema::min_inputs() const {
  int n = 0;
  for (const std::string& in : inputs) {
    if (!in.empty() && in.back() == '?') break;
    ++n;
  }
  return n;
}

bool OpSchema::is_variadic() const {
  return !inputs.empty() && absl::EndsWith(inputs.back(), "...");
}

int OpSchema::max_inputs() const {
  return is_variadic() ? std::numeric_limits<int>::max() : static_cast<int>(inputs.size());
}

bool OpSchema::is_hidden_output(int i) const {
  return i < static_cast<int>(outputs.size()) && !outputs[i].empty() && outputs[i].back() == '~';
}

absl::string_view OpSchema::output_name(int i) const {
  absl::string_view n = outputs[i];
  if (!n.empty() && (n.back() == '~' || n.back() == '?')) n.remove_suffix(1);
  return n;
}

const KernelFactory* OpSchema::FindKernel(DType dtype, KernelKind kind) const {
  if (kind == KernelKind::kFast) {
    auto it = fast_kernels.find(dtype);
    if (it != fast_kernels.end()) return &it->second;
  }
  auto it = reference_kernels.find(dtype);
  if (it != reference_kernels.end()) return &it->second;
  return nullptr;
}

OpRegistry& OpRegistry::Global() {
  static OpRegistry* registry = new OpRegistry();
  return *registry;
}

absl::Status OpRegistry::Register(OpSchema schema) {
  if (schema.name.empty()) return absl::InvalidArgumentError("an op needs a name");
  if (!schema.shape) {
    return absl::InvalidArgumentError(absl::StrCat("op ", schema.name, " has no shape function"));
  }
  std::unique_lock<std::shared_mutex> lock(mu_);
  if (ops_.count(schema.name)) {
    return absl::AlreadyExistsError(absl::StrCat("op ", schema.name, " is registered twice"));
  }
  std::string name = schema.name;
  ops_.emplace(std::move(name), std::make_unique<OpSchema>(std::move(schema)));
  return absl::OkStatus();
}

const OpSchema* OpRegistry::Find(absl::string_view name) const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  auto it = ops_.find(name);
  return it == ops_.end() ? nullptr : it->second.get();
}

std::vector<std::string> OpRegistry::Names() const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  std::vector<std::string> names;
  for (const auto& [name, _] : ops_) names.push_back(name);
  return names;
}

namespace internal {
OpRegistrar::OpRegistrar(OpSchema schema) {
  absl::Status s = OpRegistry::Global().Register(std::move(schema));
  if (!s.ok()) {
    std::fprintf(stderr, "graft: %s\n", std::string(s.message()).c_str());
    std::abort();
  }
}
}  // namespace internal

}  // namespace graft
