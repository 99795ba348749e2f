// graft — ONNX export internals: one graft node at a time (see onnx_translate.h for layouts).
#include "keras/onnx_translate.h"

#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "graph/op_registry.h"
#include "ops/activation.h"
#include "ops/batchnorm.h"
#include "ops/conv.h"
#include "ops/padding.h"
#include "ops/pool.h"
#include "ops/spatial.h"

namespace graft::onnx {
namespace {

namespace pb = ::onnx;

void AttrInt(pb::NodeProto* n, const char* name, int64_t v) {
  pb::AttributeProto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(pb::AttributeProto::INT);
  a->set_i(v);
}
void AttrInts(pb::NodeProto* n, const char* name, const std::vector<int64_t>& v) {
  pb::AttributeProto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(pb::AttributeProto::INTS);
  for (int64_t x : v) a->add_ints(x);
}
void AttrString(pb::NodeProto* n, const char* name, const std::string& v) {
  pb::AttributeProto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(pb::AttributeProto::STRING);
  a->set_s(v);
}
void AttrFloat(pb::NodeProto* n, const char* name, float v) {
  pb::AttributeProto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(pb::AttributeProto::FLOAT);
  a->set_f(v);
}

// Graft's elementwise activations and the ONNX op each is (gelu and silu are composed).
const char* ElementwiseOnnxOp(const std::string& graft_op) {
  static const char* const kOps[][2] = {
      {"graft.Relu", "Relu"},         {"graft.LeakyRelu", "LeakyRelu"},
      {"graft.Sigmoid", "Sigmoid"},   {"graft.Tanh", "Tanh"},
      {"graft.Elu", "Elu"},           {"graft.Selu", "Selu"},
      {"graft.Gelu", "(composed)"},   {"graft.Silu", "(composed)"},
      {"graft.Softplus", "Softplus"}, {"graft.Softmax", "Softmax"}};
  for (const auto& [graft, onnx] : kOps) {
    if (graft_op == graft) return onnx;
  }
  return nullptr;
}

// The graft ops the export translates (for error messages).
constexpr const char* kExported =
    "graft.Conv1D, graft.Conv2D, graft.MaxPool1D/2D, graft.AveragePool1D/2D, graft.GlobalMaxPool, "
    "graft.GlobalAveragePool, graft.Reshape, graft.Dense, graft.BatchNormInference, graft.Pad, "
    "graft.Crop, graft.UpSample, and the activations";

// perm for channels-last -> channels-first of rank r: (0, r-1, 1, ..., r-2); and back.
std::vector<int64_t> ToChannelsFirst(int r) {
  std::vector<int64_t> p = {0, r - 1};
  for (int i = 1; i < r - 1; ++i) p.push_back(i);
  return p;
}
std::vector<int64_t> ToChannelsLast(int r) {
  std::vector<int64_t> p = {0};
  for (int i = 2; i < r; ++i) p.push_back(i);
  p.push_back(1);
  return p;
}

// ONNX pads [x1_begin, x2_begin, ..., x1_end, x2_end] from graft's own padding rules.
std::vector<int64_t> Pads(const Shape& x, const std::vector<int64_t>& kernel,
                          const std::vector<int64_t>& strides,
                          const std::vector<int64_t>& dilations, ops::Padding padding) {
  const size_t k = kernel.size();
  std::vector<int64_t> pads(2 * k);
  for (size_t i = 0; i < k; ++i) {
    const ops::Geometry geo =
        ops::ComputeGeometry(x.dim(1 + i), kernel[i], strides[i], dilations[i], padding);
    pads[i] = geo.pad_l;
    pads[k + i] = geo.pad_r;
  }
  return pads;
}

// The ONNX axis of spatial axis a: (N, s..., C) in graft's layout, (N, C, s...) channels-first.
int64_t SpatialAxis(bool channels_first, size_t a) {
  return static_cast<int64_t>(a) + (channels_first ? 2 : 1);
}

}  // namespace

Translator::Translator(const Graph& g, const std::vector<keras::Layer>& layers, bool permute_dense,
                       pb::GraphProto* out)
    : g_(g), layers_(layers), permute_dense_(permute_dense), out_(out) {
  for (int id = 0; id < g.num_nodes(); ++id) {
    const Node& n = g.node(id);
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      users_[KeyOf(n.inputs[i])].push_back({id, static_cast<int>(i)});
    }
  }
}

absl::Status Translator::Run(Value input, const std::string& input_name, Value output,
                             const std::string& output_name) {
  names_.insert(input_name);
  names_.insert(output_name);
  reps_[KeyOf(input)] = {input_name, Layout::kGraft, {}};
  // The nodes the output depends on, in id order (a topological order).
  std::vector<bool> needed(g_.num_nodes(), false);
  needed[output.node] = true;
  for (int id = output.node; id >= 0; --id) {
    if (!needed[id]) continue;
    for (const Value& v : g_.node(id).inputs) needed[v.node] = true;
  }
  for (int id = 0; id < g_.num_nodes(); ++id) {
    const Node& n = g_.node(id);
    const std::string& op = n.op->name;
    if (!needed[id] || id == input.node || op == "graft.Variable" || op == "graft.Constant") {
      continue;  // variables and constants become initializers where they are read
    }
    if (op == "graft.Placeholder") {
      return Error(n, "the model has a second input; the export handles one",
                   absl::StatusCode::kInvalidArgument);
    }
    if (absl::Status s = Translate(n); !s.ok()) return s;
  }
  absl::StatusOr<std::string> y = As(g_.node(output), output, Layout::kGraft);
  if (!y.ok()) return y.status();
  // Rename the value to the output's name where a node of ours produces it and nothing else
  // reads it; otherwise (the output is the input, or an initializer) add an Identity.
  pb::NodeProto* producer = nullptr;
  bool read = false;
  for (pb::NodeProto& node : *out_->mutable_node()) {
    for (const std::string& o : node.output()) {
      if (o == *y) producer = &node;
    }
    for (const std::string& i : node.input()) read = read || i == *y;
  }
  if (producer != nullptr && !read) {
    for (std::string& o : *producer->mutable_output()) {
      if (o == *y) o = output_name;
    }
  } else {
    pb::NodeProto* node = out_->add_node();
    node->set_op_type("Identity");
    node->set_name(Unique("output"));
    node->add_input(*y);
    node->add_output(output_name);
  }
  return absl::OkStatus();
}

absl::Status Translator::Translate(const Node& n) {
  const std::string& op = n.op->name;
  if (op == "graft.Conv1D") return Conv(n, 1);
  if (op == "graft.Conv2D") return Conv(n, 2);
  if (op == "graft.MaxPool1D") return Pool(n, 1, true);
  if (op == "graft.MaxPool2D") return Pool(n, 2, true);
  if (op == "graft.AveragePool1D") return Pool(n, 1, false);
  if (op == "graft.AveragePool2D") return Pool(n, 2, false);
  if (op == "graft.GlobalMaxPool") return GlobalPool(n, true);
  if (op == "graft.GlobalAveragePool") return GlobalPool(n, false);
  if (op == "graft.Reshape") return Reshape(n);
  if (op == "graft.Dense") return Dense(n);
  if (op == "graft.BatchNormInference") return BatchNorm(n);
  if (op == "graft.Pad") return ZeroPad(n);
  if (op == "graft.Crop") return Crop(n);
  if (op == "graft.UpSample") return UpSample(n);
  if (ElementwiseOnnxOp(op) != nullptr) return Activation(n);
  return Error(n, absl::StrCat("op \"", op, "\" has no ONNX translation (graft exports ", kExported,
                               "). Fix: leave this layer out of the exported model, "
                               "or add a translation of \"",
                               op, "\" to keras/onnx_translate.cc"));
}

absl::Status Translator::Error(const Node& n, absl::string_view what, absl::StatusCode code) const {
  // Node names are scoped "layer/...": the longest layer name that prefixes it.
  const keras::LayerImpl* layer = nullptr;
  size_t index = 0;
  for (size_t i = 0; i < layers_.size(); ++i) {
    const std::string& name = layers_[i]->name();
    if (absl::StartsWith(n.name, name + "/") &&
        (layer == nullptr || name.size() > layer->name().size())) {
      layer = layers_[i].get();
      index = i;
    }
  }
  const std::string where =
      layer == nullptr
          ? ""
          : absl::StrCat(layer->name(), " (", layer->class_name(), ", layer ", index, "): ");
  return absl::Status(
      code, absl::StrCat(where, what, " (node \"", n.name, "\", op \"", n.op->name, "\")"));
}

std::string Translator::Unique(absl::string_view base) {
  std::string name(base);
  for (int i = 1; names_.count(name); ++i) name = absl::StrCat(base, "_", i);
  names_.insert(name);
  return name;
}

std::string Translator::Emit(absl::string_view op, std::vector<std::string> inputs,
                             absl::string_view base, pb::NodeProto** node) {
  pb::NodeProto* n = out_->add_node();
  n->set_op_type(std::string(op));
  const std::string name = Unique(base);
  n->set_name(name);
  for (std::string& i : inputs) n->add_input(std::move(i));
  n->add_output(name);
  if (node != nullptr) *node = n;
  return name;
}

std::string Translator::FloatInit(absl::string_view base, const std::vector<int64_t>& dims,
                                  const std::vector<float>& values) {
  pb::TensorProto* t = out_->add_initializer();
  const std::string name = Unique(base);
  t->set_name(name);
  t->set_data_type(pb::TensorProto::FLOAT);
  for (int64_t d : dims) t->add_dims(d);
  t->mutable_float_data()->Add(values.begin(), values.end());
  return name;
}

std::string Translator::Int64Init(absl::string_view base, const std::vector<int64_t>& values) {
  pb::TensorProto* t = out_->add_initializer();
  const std::string name = Unique(base);
  t->set_name(name);
  t->set_data_type(pb::TensorProto::INT64);
  t->add_dims(static_cast<int64_t>(values.size()));
  t->mutable_int64_data()->Add(values.begin(), values.end());
  return name;
}

std::string Translator::Scalar(float value) {
  auto it = scalars_.find(value);
  if (it != scalars_.end()) return it->second;
  const std::string name = FloatInit(absl::StrCat("const_", value), {}, {value});
  scalars_[value] = name;
  return name;
}

void Translator::Set(const Node& n, std::string name, Layout layout, std::vector<int64_t> unflat) {
  reps_[{n.id, 0}] = {std::move(name), layout, std::move(unflat)};
}

absl::StatusOr<Tensor> Translator::WeightOf(const Node& n, int i) const {
  const Node& src = g_.node(n.inputs[i]);
  Tensor t;
  if (src.op->name == "graft.Variable") {
    t = g_.VariableValue(n.inputs[i]);
  } else if (src.op->name == "graft.Constant") {
    t = src.attrs_as<ConstantAttrs>().value;
  } else {
    return Error(n, absl::StrCat("input ", i, " (", n.op->inputs[i],
                                 ") must be a weight (a variable or constant), but it is computed "
                                 "by node \"",
                                 src.name, "\""));
  }
  if (t.dtype() != DType::kF32) {
    return Error(n, absl::StrCat("weight \"", src.name, "\" is ", t.type().ToString(),
                                 "; the export writes float32 only"));
  }
  return t;
}

absl::StatusOr<std::string> Translator::As(const Node& user, Value v, Layout want) {
  const Shape& shape = g_.type(v).shape;
  if (want == Layout::kChannelsFirst && shape.rank() < 3) want = Layout::kGraft;
  const Key key = KeyOf(v);
  if (auto it = converted_.find({key, want}); it != converted_.end()) return it->second;
  const Node& src = g_.node(v);
  if (!reps_.count(key) && (src.op->name == "graft.Variable" || src.op->name == "graft.Constant")) {
    int i = 0;
    while (!(user.inputs[i] == v)) ++i;
    absl::StatusOr<Tensor> t = WeightOf(user, i);
    if (!t.ok()) return t.status();
    const float* p = t->data<float>();
    reps_[key] = {
        FloatInit(src.name, t->shape().dims(), std::vector<float>(p, p + t->num_elements())),
        Layout::kGraft,
        {}};
  }
  auto it = reps_.find(key);
  if (it == reps_.end()) {
    return Error(user, absl::StrCat("reads output ", v.index, " of node \"", src.name,
                                    "\", which the export does not translate"));
  }
  const Rep& r = it->second;
  if (r.layout == want) return r.name;
  std::string name;
  if (r.layout == Layout::kGraft && want == Layout::kChannelsFirst) {
    pb::NodeProto* t;
    name = Emit("Transpose", {r.name}, src.name + "/channels_first", &t);
    AttrInts(t, "perm", ToChannelsFirst(shape.rank()));
  } else if (r.layout == Layout::kChannelsFirst && want == Layout::kGraft) {
    pb::NodeProto* t;
    name = Emit("Transpose", {r.name}, src.name + "/channels_last", &t);
    AttrInts(t, "perm", ToChannelsLast(shape.rank()));
  } else {
    // A flattened channels-first value is made only where a Dense alone reads it (FeedsDense).
    return Error(user, "internal: no conversion between these layouts",
                 absl::StatusCode::kInternal);
  }
  converted_[{key, want}] = name;
  return name;
}

bool Translator::FeedsDense(Value v) const {
  for (;;) {
    auto it = users_.find(KeyOf(v));
    if (it == users_.end() || it->second.size() != 1) return false;
    const auto [id, input] = it->second[0];
    const Node& n = g_.node(id);
    if (input != 0) return false;
    if (n.op->name == "graft.Dense") {
      const std::string& w = g_.node(n.inputs[1]).op->name;
      return w == "graft.Variable" || w == "graft.Constant";
    }
    if (ElementwiseOnnxOp(n.op->name) == nullptr) return false;
    v = Value{id, 0};
  }
}

absl::Status Translator::Conv(const Node& n, int rank) {
  ops::Padding padding;
  std::vector<int64_t> strides, dilations;
  int64_t groups;
  if (rank == 1) {
    const auto& a = n.attrs_as<ops::Conv1DAttrs>();
    padding = a.padding;
    strides = {a.stride};
    dilations = {a.dilation};
    groups = a.groups;
  } else {
    const auto& a = n.attrs_as<ops::Conv2DAttrs>();
    padding = a.padding;
    strides = {a.stride_h, a.stride_w};
    dilations = {a.dilation_h, a.dilation_w};
    groups = a.groups;
  }
  absl::StatusOr<Tensor> w = WeightOf(n, 1);
  if (!w.ok()) return w.status();
  // Keras (k..., Cin/g, Cout) -> ONNX (Cout, Cin/g, k...).
  const Shape& ws = w->shape();
  const int64_t cin = ws.dim(rank), cout = ws.dim(rank + 1);
  const std::vector<int64_t> ws_dims = ws.dims();
  std::vector<int64_t> kernel(ws_dims.begin(), ws_dims.begin() + rank);
  int64_t spatial = 1;
  for (int64_t k : kernel) spatial *= k;
  const float* src = w->data<float>();
  std::vector<float> dst(w->num_elements());
  for (int64_t s = 0; s < spatial; ++s) {
    for (int64_t ci = 0; ci < cin; ++ci) {
      for (int64_t co = 0; co < cout; ++co) {
        dst[(co * cin + ci) * spatial + s] = src[(s * cin + ci) * cout + co];
      }
    }
  }
  std::vector<int64_t> dims = {cout, cin};
  dims.insert(dims.end(), kernel.begin(), kernel.end());

  absl::StatusOr<std::string> x = As(n, n.inputs[0], Layout::kChannelsFirst);
  if (!x.ok()) return x.status();
  std::vector<std::string> inputs = {*x, FloatInit(g_.node(n.inputs[1]).name, dims, dst)};
  if (n.inputs.size() > 2) {
    absl::StatusOr<std::string> b = As(n, n.inputs[2], Layout::kGraft);
    if (!b.ok()) return b.status();
    inputs.push_back(*b);
  }
  pb::NodeProto* node;
  std::string y = Emit("Conv", std::move(inputs), n.name, &node);
  AttrInts(node, "kernel_shape", kernel);
  AttrInts(node, "strides", strides);
  AttrInts(node, "dilations", dilations);
  AttrInts(node, "pads", Pads(g_.type(n.inputs[0]).shape, kernel, strides, dilations, padding));
  AttrInt(node, "group", groups);
  Set(n, std::move(y), Layout::kChannelsFirst);
  return absl::OkStatus();
}

absl::Status Translator::Pool(const Node& n, int rank, bool max) {
  std::vector<int64_t> kernel, strides;
  ops::Padding padding;
  if (rank == 1) {
    const auto& a = n.attrs_as<ops::Pool1DAttrs>();
    kernel = {a.pool};
    strides = {a.stride};
    padding = a.padding;
  } else {
    const auto& a = n.attrs_as<ops::Pool2DAttrs>();
    kernel = {a.pool_h, a.pool_w};
    strides = {a.stride_h, a.stride_w};
    padding = a.padding;
  }
  absl::StatusOr<std::string> x = As(n, n.inputs[0], Layout::kChannelsFirst);
  if (!x.ok()) return x.status();
  pb::NodeProto* node;
  std::string y = Emit(max ? "MaxPool" : "AveragePool", {*x}, n.name, &node);
  AttrInts(node, "kernel_shape", kernel);
  AttrInts(node, "strides", strides);
  const std::vector<int64_t> ones(rank, 1);
  AttrInts(node, "pads", Pads(g_.type(n.inputs[0]).shape, kernel, strides, ones, padding));
  if (!max) AttrInt(node, "count_include_pad", 0);  // Keras averages the real elements only
  Set(n, std::move(y), Layout::kChannelsFirst);
  return absl::OkStatus();
}

absl::Status Translator::GlobalPool(const Node& n, bool max) {
  absl::StatusOr<std::string> x = As(n, n.inputs[0], Layout::kChannelsFirst);
  if (!x.ok()) return x.status();
  // (N, C, 1...): graft's keepdims output (N, 1..., C) in channels-first layout.
  std::string y = Emit(max ? "GlobalMaxPool" : "GlobalAveragePool", {*x}, n.name);
  if (n.attrs_as<ops::GlobalPoolAttrs>().keepdims) {
    Set(n, std::move(y), Layout::kChannelsFirst);
    return absl::OkStatus();
  }
  pb::NodeProto* f;
  y = Emit("Flatten", {y}, n.name + "/squeeze", &f);
  AttrInt(f, "axis", 1);
  Set(n, std::move(y), Layout::kGraft);
  return absl::OkStatus();
}

absl::Status Translator::Reshape(const Node& n) {
  const Shape& in = g_.type(n.inputs[0]).shape;
  const Shape& out = n.outputs[0].shape;
  auto rep = reps_.find(KeyOf(n.inputs[0]));
  if (out.rank() == 2 && in.rank() >= 3 && permute_dense_ && rep != reps_.end() &&
      rep->second.layout == Layout::kChannelsFirst && FeedsDense(Value{n.id, 0})) {
    // Flatten the channels-first tensor as it is; the Dense reading it permutes its kernel.
    pb::NodeProto* f;
    std::string y = Emit("Flatten", {rep->second.name}, n.name, &f);
    AttrInt(f, "axis", 1);
    const std::vector<int64_t> in_dims = in.dims();
    Set(n, std::move(y), Layout::kFlatChannelsFirst,
        std::vector<int64_t>(in_dims.begin() + 1, in_dims.end()));
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> x = As(n, n.inputs[0], Layout::kGraft);
  if (!x.ok()) return x.status();
  if (out.rank() == 2) {
    pb::NodeProto* f;
    std::string y = Emit("Flatten", {*x}, n.name, &f);
    AttrInt(f, "axis", 1);
    Set(n, std::move(y), Layout::kGraft);
    return absl::OkStatus();
  }
  // 0 copies the batch dimension: the export-time batch is never baked in.
  std::vector<int64_t> target = {0};
  const std::vector<int64_t> out_dims = out.dims();
  target.insert(target.end(), out_dims.begin() + 1, out_dims.end());
  Set(n, Emit("Reshape", {*x, Int64Init(n.name + "/shape", target)}, n.name), Layout::kGraft);
  return absl::OkStatus();
}

absl::Status Translator::Dense(const Node& n) {
  absl::StatusOr<Tensor> w = WeightOf(n, 1);
  if (!w.ok()) return w.status();
  const int64_t in = w->shape().dim(0), units = w->shape().dim(1);
  const float* src = w->data<float>();
  std::vector<float> kernel(src, src + w->num_elements());
  std::string x;
  auto rep = reps_.find(KeyOf(n.inputs[0]));
  if (rep != reps_.end() && rep->second.layout == Layout::kFlatChannelsFirst) {
    // Row (s, c) of graft's kernel (row s*C + c) moves to row c*S + s.
    const int64_t c_count = rep->second.unflat.back(), s_count = in / c_count;
    for (int64_t s = 0; s < s_count; ++s) {
      for (int64_t c = 0; c < c_count; ++c) {
        std::memcpy(&kernel[(c * s_count + s) * units], &src[(s * c_count + c) * units],
                    sizeof(float) * units);
      }
    }
    x = rep->second.name;
  } else {
    absl::StatusOr<std::string> converted = As(n, n.inputs[0], Layout::kGraft);
    if (!converted.ok()) return converted.status();
    x = *converted;
  }
  std::vector<std::string> inputs = {x, FloatInit(g_.node(n.inputs[1]).name, {in, units}, kernel)};
  std::string bias;
  if (n.inputs.size() > 2) {
    absl::StatusOr<std::string> b = As(n, n.inputs[2], Layout::kGraft);
    if (!b.ok()) return b.status();
    bias = *b;
  }
  if (g_.type(n.inputs[0]).shape.rank() == 2) {
    if (!bias.empty()) inputs.push_back(bias);
    Set(n, Emit("Gemm", std::move(inputs), n.name), Layout::kGraft);  // transB = 0: B is (in, out)
    return absl::OkStatus();
  }
  // Higher rank: Dense acts on the last axis.
  std::string y = Emit("MatMul", std::move(inputs), bias.empty() ? n.name : n.name + "/matmul");
  if (!bias.empty()) y = Emit("Add", {y, bias}, n.name);
  Set(n, std::move(y), Layout::kGraft);
  return absl::OkStatus();
}

absl::Status Translator::BatchNorm(const Node& n) {
  absl::StatusOr<std::string> x = As(n, n.inputs[0], Layout::kChannelsFirst);
  if (!x.ok()) return x.status();
  std::vector<std::string> inputs = {*x};
  for (int i = 1; i <= 4; ++i) {  // gamma, beta, moving mean, moving variance: (C)
    absl::StatusOr<std::string> p = As(n, n.inputs[i], Layout::kGraft);
    if (!p.ok()) return p.status();
    inputs.push_back(*p);
  }
  pb::NodeProto* node;
  std::string y = Emit("BatchNormalization", std::move(inputs), n.name, &node);
  AttrFloat(node, "epsilon", static_cast<float>(n.attrs_as<ops::BatchNormAttrs>().epsilon));
  const bool spatial = g_.type(n.inputs[0]).shape.rank() >= 3;
  Set(n, std::move(y), spatial ? Layout::kChannelsFirst : Layout::kGraft);
  return absl::OkStatus();
}

absl::Status Translator::Activation(const Node& n) {
  Layout layout = Layout::kGraft;
  std::vector<int64_t> unflat;
  std::string x;
  if (auto rep = reps_.find(KeyOf(n.inputs[0])); rep != reps_.end()) {
    x = rep->second.name;
    layout = rep->second.layout;
    unflat = rep->second.unflat;
  } else {
    absl::StatusOr<std::string> converted = As(n, n.inputs[0], Layout::kGraft);
    if (!converted.ok()) return converted.status();
    x = *converted;
  }
  const std::string& op = n.op->name;
  pb::NodeProto* node;
  std::string y;
  if (op == "graft.Gelu") {  // exact: x/2 (1 + erf(x sqrt(1/2))), as graft's gelu
    const std::string e =
        Emit("Erf",
             {Emit("Mul", {x, Scalar(static_cast<float>(ops::kGeluSqrtHalf))}, n.name + "/scaled")},
             n.name + "/erf");
    const std::string cdf2 = Emit("Add", {e, Scalar(1.0f)}, n.name + "/one_plus_erf");
    y = Emit("Mul", {Emit("Mul", {x, cdf2}, n.name + "/x_times"), Scalar(0.5f)}, n.name);
  } else if (op == "graft.Silu") {
    y = Emit("Mul", {x, Emit("Sigmoid", {x}, n.name + "/sigmoid")}, n.name);
  } else {
    y = Emit(ElementwiseOnnxOp(op), {x}, n.name, &node);
    if (op == "graft.LeakyRelu") AttrFloat(node, "alpha", ops::kLeakyReluNegativeSlope);
    if (op == "graft.Elu") AttrFloat(node, "alpha", ops::kEluAlpha);
    if (op == "graft.Selu") {
      AttrFloat(node, "alpha", static_cast<float>(ops::kSeluAlpha));
      AttrFloat(node, "gamma", static_cast<float>(ops::kSeluScale));
    }
    if (op == "graft.Softmax") {
      // graft's last axis; in channels-first layout that is axis 1. A flattened row in (C, s...)
      // order is the same row permuted, and softmax over a whole row commutes with that.
      const bool cf = layout == Layout::kChannelsFirst;
      AttrInt(node, "axis", cf ? 1 : -1);
    }
  }
  Set(n, std::move(y), layout, std::move(unflat));
  return absl::OkStatus();
}

// ---- spatial ops: on whichever layout their input has -------------------------------------

absl::StatusOr<std::string> Translator::SpatialInput(const Node& n, Layout* layout) {
  if (auto rep = reps_.find(KeyOf(n.inputs[0]));
      rep != reps_.end() && rep->second.layout == Layout::kChannelsFirst) {
    *layout = Layout::kChannelsFirst;
    return rep->second.name;
  }
  *layout = Layout::kGraft;
  return As(n, n.inputs[0], Layout::kGraft);
}

// Pad, constant mode (zeros): pads [x1_begin, ..., xr_begin, x1_end, ..., xr_end].
absl::Status Translator::ZeroPad(const Node& n) {
  Layout layout;
  absl::StatusOr<std::string> x = SpatialInput(n, &layout);
  if (!x.ok()) return x.status();
  const auto& a = n.attrs_as<ops::PadAttrs>();
  const size_t r = static_cast<size_t>(g_.type(n.inputs[0]).shape.rank());
  std::vector<int64_t> pads(2 * r, 0);
  for (size_t i = 0; i < a.begin.size(); ++i) {
    const int64_t axis = SpatialAxis(layout == Layout::kChannelsFirst, i);
    pads[axis] = a.begin[i];
    pads[r + axis] = a.end[i];
  }
  pb::NodeProto* node;
  std::string y = Emit("Pad", {*x, Int64Init(n.name + "/pads", pads)}, n.name, &node);
  AttrString(node, "mode", "constant");
  Set(n, std::move(y), layout);
  return absl::OkStatus();
}

// Slice [begin, size - end) of each spatial axis (graft's spatial sizes are known).
absl::Status Translator::Crop(const Node& n) {
  Layout layout;
  absl::StatusOr<std::string> x = SpatialInput(n, &layout);
  if (!x.ok()) return x.status();
  const auto& a = n.attrs_as<ops::CropAttrs>();
  const Shape& in = g_.type(n.inputs[0]).shape;
  std::vector<int64_t> starts, ends, axes;
  for (size_t i = 0; i < a.begin.size(); ++i) {
    starts.push_back(a.begin[i]);
    ends.push_back(in.dim(static_cast<int>(i) + 1) - a.end[i]);
    axes.push_back(SpatialAxis(layout == Layout::kChannelsFirst, i));
  }
  Set(n,
      Emit("Slice",
           {*x, Int64Init(n.name + "/starts", starts), Int64Init(n.name + "/ends", ends),
            Int64Init(n.name + "/axes", axes)},
           n.name),
      layout);
  return absl::OkStatus();
}

// Resize, nearest, with integer scales: "asymmetric" coordinates and "floor" rounding take
// output index i from input index floor(i / scale), graft's (and Keras's) repetition.
absl::Status Translator::UpSample(const Node& n) {
  Layout layout;
  absl::StatusOr<std::string> x = SpatialInput(n, &layout);
  if (!x.ok()) return x.status();
  const auto& a = n.attrs_as<ops::UpSampleAttrs>();
  const size_t r = static_cast<size_t>(g_.type(n.inputs[0]).shape.rank());
  std::vector<float> scales(r, 1.0f);
  for (size_t i = 0; i < a.size.size(); ++i) {
    scales[SpatialAxis(layout == Layout::kChannelsFirst, i)] = static_cast<float>(a.size[i]);
  }
  pb::NodeProto* node;
  std::string y =
      Emit("Resize", {*x, "", FloatInit(n.name + "/scales", {static_cast<int64_t>(r)}, scales)},
           n.name, &node);
  AttrString(node, "mode", "nearest");
  AttrString(node, "coordinate_transformation_mode", "asymmetric");
  AttrString(node, "nearest_mode", "floor");
  Set(n, std::move(y), layout);
  return absl::OkStatus();
}

}  // namespace graft::onnx
