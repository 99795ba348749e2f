// graft — ONNX export of a Sequential model for inference.
//
//   #include "keras/onnx_export.h"            // Bazel: //keras:onnx_export
//   absl::Status s = graft::onnx::Export(model, "model.onnx");
//
// The file holds the model's inference-mode forward pass (Dropout is the identity,
// BatchNormalization uses its moving statistics) with the current weights, at ONNX opset 13
// (ai.onnx, IR version 8), written with the ONNX project's own protobuf classes. Its one input is
// float32 (N, <the first layer's input_shape>) in graft's (Keras's) channels-last layout, with a
// dynamic batch dimension named "N"; its one output is what Predict returns. The model is checked
// with onnx::checker::check_model and strict shape inference before anything is written; the
// write goes to a temporary file in the same folder, is fsynced and renamed into place.
//
// Covered: Conv1D / Conv2D (valid, same, causal; strides, dilation, groups), Max/Average
// pooling 1D/2D (valid, same; averages exclude padding), global pooling (keepdims or not),
// Flatten, Reshape, Dense (on rank 2 and higher), Activation and every activation graft has,
// Dropout, BatchNormalization. A node of any other op fails the export with a Status that names
// the layer; nothing is written then. docs/decisions.md ("ONNX export") has the layout strategy
// and the names.
#ifndef GRAFT_KERAS_ONNX_EXPORT_H_
#define GRAFT_KERAS_ONNX_EXPORT_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keras/sequential.h"

namespace graft::onnx {

struct ExportOptions {
  // The ONNX opset (ai.onnx domain): 13 to 17, the range ONNX 1.12's checker knows and every
  // op graft exports exists in unchanged.
  int opset = 13;
  // The graph input's name; empty: "input_layer", the name Keras 3 gives a Sequential model's
  // input layer.
  std::string input_name;
  // The graph output's name; empty: the last layer's name ("dense"), as a Keras model's output
  // tensor is named.
  std::string output_name;
  // A Flatten whose output goes to a Dense layer (possibly through Dropout or an elementwise
  // activation) flattens the channels-first tensor as it is and reads a Dense kernel whose rows
  // were permuted at export time to match (no transpose at run time). false: transpose back to
  // channels-last before flattening, as graft's own Flatten order (H, W, C) is.
  bool permute_dense_after_flatten = true;
};

// Builds the model (Sequential::Build: the first layer needs input_shape) and writes its
// inference graph to `path`. Fails with a Status, never an exception: an unbuildable model, an
// op the export does not know (the message names the layer), a model the ONNX checker or shape
// inference rejects, or a file that cannot be written.
absl::Status Export(keras::Sequential& model, const std::string& path,
                    const ExportOptions& options = {});

// The serialized ModelProto that Export writes, checked the same way.
absl::StatusOr<std::string> ExportToString(keras::Sequential& model,
                                           const ExportOptions& options = {});

}  // namespace graft::onnx

#endif  // GRAFT_KERAS_ONNX_EXPORT_H_
