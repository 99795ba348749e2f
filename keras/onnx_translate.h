// graft — ONNX export internals: graft nodes to ONNX nodes (not part of the public API; see
// keras/onnx_export.h).
//
// Layouts. graft is channels-last; ONNX's Conv, MaxPool, AveragePool, the global poolings and
// BatchNormalization are channels-first. Every exported value carries the layout it has in the
// ONNX graph:
//   kGraft              the same shape and element order as graft's value
//   kChannelsFirst      graft's (N, s1..sk, C) stored as (N, C, s1..sk) (rank >= 3 only)
//   kFlatChannelsFirst  graft's Flatten of (N, s1..sk, C) stored with its columns in (C, s1..sk)
//                       order: the channels-first tensor flattened as it is
// An op converts its input to the layout it needs (a Transpose; at most once per value and
// layout), elementwise activations and softmax keep whatever layout they get. A Flatten of a
// channels-first value whose only reader is a Dense (through activations only) gives a
// kFlatChannelsFirst value, and that Dense gets its kernel rows permuted at export time to the
// same (C, s1..sk) order; otherwise Flatten transposes back first. The seed models so run with
// one Transpose, at the input.
#ifndef GRAFT_KERAS_ONNX_TRANSLATE_H_
#define GRAFT_KERAS_ONNX_TRANSLATE_H_

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/graph.h"
#include "keras/layers.h"
#include "onnx/onnx_pb.h"

namespace graft::onnx {

// The name of the dynamic batch dimension of the input and output.
inline constexpr char kBatchParam[] = "N";

class Translator {
 public:
  // Appends to `out` (whose input and output value infos the caller writes).
  Translator(const Graph& g, const std::vector<keras::Layer>& layers, bool permute_dense,
             ::onnx::GraphProto* out);

  // Translates every node `output` depends on; `input` is the graph's placeholder. The ONNX
  // output value is named `output_name`, in graft's layout.
  absl::Status Run(Value input, const std::string& input_name, Value output,
                   const std::string& output_name);

 private:
  enum class Layout { kGraft, kChannelsFirst, kFlatChannelsFirst };
  struct Rep {
    std::string name;  // the ONNX value
    Layout layout = Layout::kGraft;
    std::vector<int64_t> unflat;  // kFlatChannelsFirst: graft's (s1, ..., sk, C) per sample
  };
  using Key = std::pair<int, int>;  // (node, output)
  static Key KeyOf(Value v) { return {v.node, v.index}; }

  absl::Status Translate(const Node& n);
  absl::Status Conv(const Node& n, int rank);
  absl::Status Pool(const Node& n, int rank, bool max);
  absl::Status GlobalPool(const Node& n, bool max);
  absl::Status Reshape(const Node& n);
  absl::Status Dense(const Node& n);
  absl::Status BatchNorm(const Node& n);
  absl::Status Activation(const Node& n);
  absl::Status ZeroPad(const Node& n);
  absl::Status Crop(const Node& n);
  absl::Status UpSample(const Node& n);

  // The error for node n: "conv1d (Conv1D, layer 0): <what> (node "...", op "...")".
  absl::Status Error(const Node& n, absl::string_view what,
                     absl::StatusCode code = absl::StatusCode::kUnimplemented) const;
  // Value v in layout `want`, converting (and remembering the conversion) when needed. A
  // variable or constant becomes an initializer in graft's layout.
  absl::StatusOr<std::string> As(const Node& user, Value v, Layout want);
  // The tensor of a float32 variable or constant feeding input i of n.
  absl::StatusOr<Tensor> WeightOf(const Node& n, int i) const;
  // Input 0 of n as it is (graft's layout or channels-first; spatial ops work on either), its
  // layout in *layout.
  absl::StatusOr<std::string> SpatialInput(const Node& n, Layout* layout);
  // True when `v` (a Flatten's output) reaches only a Dense's input x, through nothing but
  // elementwise activations and softmax.
  bool FeedsDense(Value v) const;
  void Set(const Node& n, std::string name, Layout layout, std::vector<int64_t> unflat = {});

  std::string Unique(absl::string_view base);
  // Adds a node with one output named after `base`; returns the output's name.
  std::string Emit(absl::string_view op, std::vector<std::string> inputs, absl::string_view base,
                   ::onnx::NodeProto** node = nullptr);
  std::string FloatInit(absl::string_view base, const std::vector<int64_t>& dims,
                        const std::vector<float>& values);
  std::string Int64Init(absl::string_view base, const std::vector<int64_t>& values);
  std::string Scalar(float value);

  const Graph& g_;
  const std::vector<keras::Layer>& layers_;
  const bool permute_dense_;
  ::onnx::GraphProto* out_;
  std::map<Key, Rep> reps_;
  std::map<std::pair<Key, Layout>, std::string> converted_;
  std::map<Key, std::vector<std::pair<int, int>>> users_;  // (node, input index)
  std::map<float, std::string> scalars_;
  std::set<std::string> names_;
};

}  // namespace graft::onnx

#endif  // GRAFT_KERAS_ONNX_TRANSLATE_H_
