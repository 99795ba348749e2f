// graft — ONNX export (keras/onnx_export.h).
//
// The layers are called in inference mode on a fresh graph (the nodes Predict's plan runs, before
// any plan-level fusion) and each graft node becomes one or a few ONNX nodes (onnx_translate.cc).
// This file assembles the ModelProto, checks it with ONNX's checker and shape inference, and
// writes it atomically.
#include "keras/onnx_export.h"

#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "graph/graph.h"
#include "io/atomic_file.h"
#include "keras/onnx_translate.h"
#include "onnx/checker.h"
#include "onnx/onnx_pb.h"
#include "onnx/shape_inference/implementation.h"

namespace graft::onnx {
namespace {

namespace pb = ::onnx;

constexpr int kMinOpset = 13;
constexpr int kMaxOpset = 17;  // the newest opset ONNX 1.12's checker knows
constexpr char kDefaultInputName[] = "input_layer";

absl::Status Prefixed(const absl::Status& s, absl::string_view prefix) {
  return absl::Status(s.code(), absl::StrCat(prefix, s.message()));
}

// A float32 tensor type (N, dims[1:]...) with the batch dimension named "N".
void SetBatchedType(const Shape& shape, pb::ValueInfoProto* info) {
  pb::TypeProto_Tensor* t = info->mutable_type()->mutable_tensor_type();
  t->set_elem_type(pb::TensorProto::FLOAT);
  pb::TensorShapeProto* s = t->mutable_shape();
  s->add_dim()->set_dim_param(kBatchParam);
  for (int i = 1; i < shape.rank(); ++i) s->add_dim()->set_dim_value(shape.dim(i));
}

std::string ShapeText(const pb::TensorShapeProto& s) {
  std::vector<std::string> dims;
  for (const pb::TensorShapeProto_Dimension& d : s.dim()) {
    dims.push_back(d.has_dim_value()   ? absl::StrCat(d.dim_value())
                   : d.has_dim_param() ? d.dim_param()
                                       : "?");
  }
  return absl::StrCat("(", absl::StrJoin(dims, ", "), ")");
}

// check_model, then strict shape inference on a copy whose output shape is left for inference to
// fill in: it must come out as graft's (batch dimension symbolic, never a number).
absl::Status Check(const pb::ModelProto& model, const Shape& graft_output) {
  try {
    pb::checker::check_model(model);
  } catch (const std::exception& e) {
    return absl::InternalError(
        absl::StrCat("the ONNX checker rejected the exported model (a bug in graft's export; "
                     "please report it with the model): ",
                     e.what()));
  }
  pb::ModelProto copy = model;
  copy.mutable_graph()->mutable_output(0)->mutable_type()->mutable_tensor_type()->clear_shape();
  try {
    pb::shape_inference::InferShapes(copy, pb::OpSchemaRegistry::Instance(),
                                     pb::ShapeInferenceOptions(/*check_type_val=*/true,
                                                               /*strict_mode_val=*/1));
  } catch (const std::exception& e) {
    return absl::InternalError(
        absl::StrCat("ONNX shape inference rejected the exported model (a bug in graft's export; "
                     "please report it with the model): ",
                     e.what()));
  }
  const pb::TypeProto_Tensor& t = copy.graph().output(0).type().tensor_type();
  bool same = t.has_shape() && t.shape().dim_size() == graft_output.rank() &&
              !t.shape().dim(0).has_dim_value();
  for (int i = 1; same && i < graft_output.rank(); ++i) {
    same = t.shape().dim(i).has_dim_value() && t.shape().dim(i).dim_value() == graft_output.dim(i);
  }
  if (!same) {
    return absl::InternalError(absl::StrCat(
        "ONNX shape inference gives the exported output the shape ",
        t.has_shape() ? ShapeText(t.shape()) : "(unknown)", " but graft's is ",
        graft_output.ToString(), " (a bug in graft's export; please report it with the model)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ExportUnchecked(keras::Sequential& model,
                                            const ExportOptions& options) {
  const std::string context = absl::StrCat("ONNX export of model \"", model.name(), "\": ");
  if (options.opset < kMinOpset || options.opset > kMaxOpset) {
    return absl::InvalidArgumentError(absl::StrCat(context, "opset ", options.opset,
                                                   " is not supported; use ", kMinOpset, " to ",
                                                   kMaxOpset, " (ONNX 1.12 knows up to 17)"));
  }
  if (absl::Status s = model.Build(); !s.ok()) return Prefixed(s, context);
  const std::vector<keras::Layer>& layers = model.layers();
  // Reading weights() first brings tensors a compiled model keeps packed up to date.
  for (const keras::Layer& layer : layers) (void)layer->weights();

  std::vector<int64_t> dims = {Shape::kUnknownDim};
  dims.insert(dims.end(), layers[0]->input_shape().begin(), layers[0]->input_shape().end());
  Graph g;
  const Value input = g.Placeholder({DType::kF32, Shape(dims)}, "x");
  Value x = input;
  for (size_t i = 0; i < layers.size(); ++i) {
    absl::StatusOr<Value> y = layers[i]->Call(g, x, {.training = false});
    if (!y.ok()) return Prefixed(y.status(), absl::StrCat(context, "layer ", i, ": "));
    x = *y;
  }

  const std::string input_name =
      options.input_name.empty() ? std::string(kDefaultInputName) : options.input_name;
  const std::string output_name =
      options.output_name.empty() ? layers.back()->name() : options.output_name;
  if (input_name == output_name) {
    return absl::InvalidArgumentError(
        absl::StrCat(context, "the input and the output would both be named \"", input_name,
                     "\"; set ExportOptions::input_name or output_name to something else"));
  }

  pb::ModelProto m;
  m.set_ir_version(pb::IR_VERSION);
  m.set_producer_name("graft");
  m.set_producer_version("0.1");
  m.set_model_version(1);
  m.set_doc_string(absl::StrCat("graft Sequential model \"", model.name(),
                                "\", inference mode; input and output channels-last, as graft's"));
  pb::OperatorSetIdProto* opset = m.add_opset_import();
  opset->set_domain("");
  opset->set_version(options.opset);
  pb::GraphProto* graph = m.mutable_graph();
  graph->set_name(model.name());
  pb::ValueInfoProto* in = graph->add_input();
  in->set_name(input_name);
  SetBatchedType(g.type(input).shape, in);
  pb::ValueInfoProto* out = graph->add_output();
  out->set_name(output_name);
  SetBatchedType(g.type(x).shape, out);

  Translator translator(g, layers, options.permute_dense_after_flatten, graph);
  if (absl::Status s = translator.Run(input, input_name, x, output_name); !s.ok()) {
    return Prefixed(s, context);
  }
  if (absl::Status s = Check(m, g.type(x).shape); !s.ok()) return Prefixed(s, context);
  std::string bytes;
  if (!m.SerializeToString(&bytes)) {
    return absl::InternalError(absl::StrCat(context, "protobuf could not serialize the model"));
  }
  return bytes;
}

}  // namespace

absl::StatusOr<std::string> ExportToString(keras::Sequential& model, const ExportOptions& options) {
  // Protobuf and ONNX may throw (the checker's ValidationError, std::bad_alloc): none escapes.
  try {
    return ExportUnchecked(model, options);
  } catch (const std::exception& e) {
    return absl::InternalError(
        absl::StrCat("ONNX export of model \"", model.name(), "\": ", e.what()));
  }
}

absl::Status Export(keras::Sequential& model, const std::string& path,
                    const ExportOptions& options) {
  if (path.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("ONNX export of model \"", model.name(), "\": the path is empty"));
  }
  absl::StatusOr<std::string> bytes = ExportToString(model, options);
  if (!bytes.ok()) return bytes.status();
  if (absl::Status s = io::WriteFileAtomically(path, {*bytes}); !s.ok()) {
    return Prefixed(s, absl::StrCat("ONNX export of model \"", model.name(), "\": "));
  }
  return absl::OkStatus();
}

}  // namespace graft::onnx
