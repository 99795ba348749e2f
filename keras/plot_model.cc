// Model::ModelToDot and Model::PlotModel: Keras 3's keras.utils.model_to_dot / plot_model
// (keras/src/utils/model_visualization.py). The graph is walked as Summary walks it (the
// model's inputs, then nodes_: every layer call after the calls it reads), one DOT node per
// layer however often it is called, as Keras draws a shared layer once with every call's edges.
// The labels are Keras's HTML tables: a black title row "name (Class)", then optional rows.
#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "graph/dtype.h"
#include "io/atomic_file.h"
#include "keras/functional_internal.h"
#include "keras/graphviz_internal.h"
#include "keras/model.h"
#include "nlohmann/json.hpp"

namespace graft::keras {
namespace {

std::string Html(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// A DOT quoted string's content.
std::string DotQuoted(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

// What one DOT node shows: a model input (layer == nullptr) or a layer with all of its calls.
struct DotLayer {
  std::string id, name, class_name;
  const LayerImpl* layer = nullptr;
  std::vector<std::vector<TensorType>> call_inputs;  // per call
  std::vector<TensorType> call_outputs;              // per call
};

// Keras prints a layer's input and output shapes as Python does: a tuple, or a list of tuples
// for a layer of several inputs; "?" where Keras cannot tell (a layer called several times on
// tensors of different shapes).
std::string InputShapes(const DotLayer& l) {
  for (const auto& call : l.call_inputs) {
    if (call != l.call_inputs.front()) return "?";
  }
  const std::vector<TensorType>& in = l.call_inputs.front();
  if (in.size() == 1) return in[0].shape.ToString();
  std::vector<std::string> parts;
  for (const TensorType& t : in) parts.push_back(t.shape.ToString());
  return absl::StrCat("[", absl::StrJoin(parts, ", "), "]");
}

bool SameOutputs(const DotLayer& l) {
  return std::all_of(l.call_outputs.begin(), l.call_outputs.end(),
                     [&](const TensorType& t) { return t == l.call_outputs.front(); });
}

std::string Label(const DotLayer& l, const PlotModelOptions& o) {
  std::vector<std::string> cells;
  auto cell = [](const std::string& text) {
    return absl::StrCat("<td bgcolor=\"white\"><font point-size=\"14\">", text, "</font></td>");
  };
  const bool same = SameOutputs(l);
  if (o.show_shapes) {
    if (l.layer) {  // an InputLayer shows its output only
      cells.push_back(cell(absl::StrCat("Input shape: <b>", Html(InputShapes(l)), "</b>")));
    }
    cells.push_back(cell(absl::StrCat(
        "Output shape: <b>", Html(same ? l.call_outputs.front().shape.ToString() : "?"), "</b>")));
  }
  if (o.show_dtype) {
    const std::string dtype = same ? std::string(DTypeName(l.call_outputs.front().dtype)) : "?";
    cells.push_back(cell(absl::StrCat("Output dtype: <b>", dtype, "</b>")));
  }
  nlohmann::json config = l.layer ? l.layer->GetConfig() : nlohmann::json::object();
  if (o.show_trainable && l.layer && l.layer->CountParams(true) + l.layer->CountParams(false) > 0) {
    const bool trainable = !config.contains("trainable") || config["trainable"] != false;
    cells.push_back(absl::StrCat("<td bgcolor=\"", trainable ? "forestgreen" : "firebrick",
                                 "\"><font point-size=\"14\" color=\"white\"><b>",
                                 trainable ? "Trainable" : "Non-trainable", "</b></font></td>"));
  }
  const int colspan = std::max<int>(1, static_cast<int>(cells.size()));
  std::string title = o.show_layer_names
                          ? absl::StrCat("<b>", Html(l.name), "</b> (", Html(l.class_name), ")")
                          : absl::StrCat("<b>", Html(l.class_name), "</b>");
  std::string table =
      absl::StrCat("<<table border=\"0\" cellborder=\"1\" bgcolor=\"black\" cellpadding=\"10\">",
                   "<tr><td colspan=\"", colspan,
                   "\" bgcolor=\"black\"><font point-size=\"16\" "
                   "color=\"white\">",
                   title, "</font></td></tr>");
  if (o.show_layer_activations && config.contains("activation") &&
      config["activation"].is_string()) {
    absl::StrAppend(&table, "<tr><td bgcolor=\"white\" colspan=\"", colspan,
                    "\"><font point-size=\"14\">Activation: <b>",
                    Html(config["activation"].get<std::string>()), "</b></font></td></tr>");
  }
  if (!cells.empty()) absl::StrAppend(&table, "<tr>", absl::StrJoin(cells, ""), "</tr>");
  return table + "</table>>";
}

absl::Status CheckOptions(const PlotModelOptions& o) {
  static const std::set<std::string> kRankdirs = {"TB", "LR", "BT", "RL"};
  static const std::set<std::string> kSplines = {"ortho", "spline", "curved", "polyline",
                                                 "line",  "true",   "false",  "none"};
  if (!kRankdirs.count(o.rankdir)) {
    return absl::InvalidArgumentError(
        absl::StrCat("PlotModel: rankdir is \"", o.rankdir,
                     "\", expected TB, LR, BT or RL. Fix: "
                     "{.rankdir = \"TB\"} draws top to bottom, \"LR\" left to right"));
  }
  if (!kSplines.count(o.splines)) {
    return absl::InvalidArgumentError(
        absl::StrCat("PlotModel: splines is \"", o.splines,
                     "\", expected ortho, spline, curved, polyline or "
                     "line. Fix: leave the default (\"ortho\", right angles)"));
  }
  if (o.dpi < 10 || o.dpi > 1200) {
    return absl::InvalidArgumentError(
        absl::StrCat("PlotModel: dpi is ", o.dpi,
                     ", expected 10..1200. Fix: 96 for a screen, 200 (Keras's "
                     "default) for print"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> Model::ModelToDot(const PlotModelOptions& options) {
  if (absl::Status s = CheckOptions(options); !s.ok()) return s;
  if (absl::Status s = Build(); !s.ok()) return s;
  // The nodes, in graph order: a functional model's inputs first (Keras's InputLayer boxes; a
  // Sequential model has none), then each layer at its first call.
  std::vector<DotLayer> boxes;
  std::map<const void*, size_t> box_of;  // a LayerImpl, or an input's FunctionalNode
  if (!sequential_like_) {
    for (const KerasTensor& in : inputs_) {
      box_of[in.node().get()] = boxes.size();
      boxes.push_back(
          {absl::StrCat("node_", boxes.size()), in.name(), "InputLayer", nullptr, {}, {in.type()}});
    }
  }
  std::set<std::pair<size_t, size_t>> edges;
  std::vector<std::pair<size_t, size_t>> edge_order;
  for (const auto& n : nodes_) {
    auto [it, first] = box_of.emplace(n->layer.get(), boxes.size());
    if (first) {
      boxes.push_back({absl::StrCat("node_", boxes.size()),
                       n->layer->name(),
                       n->layer->class_name(),
                       n->layer.get(),
                       {},
                       {}});
    }
    DotLayer& box = boxes[it->second];
    std::vector<TensorType> in_types;
    for (const KerasTensor& in : n->inputs) {
      in_types.push_back(in.type());
      const void* source = in.node()->layer ? static_cast<const void*>(in.node()->layer.get())
                                            : static_cast<const void*>(in.node().get());
      auto from = box_of.find(source);
      if (from == box_of.end()) continue;  // Sequential's implicit input: not drawn
      if (edges.insert({from->second, it->second}).second) {
        edge_order.push_back({from->second, it->second});
      }
    }
    box.call_inputs.push_back(std::move(in_types));
    box.call_outputs.push_back(n->type);
  }

  std::string dot = absl::StrCat("digraph \"", DotQuoted(name_), "\" {\n");
  absl::StrAppend(&dot, "  graph [rankdir=", options.rankdir,
                  ", concentrate=true, dpi=", options.dpi, ", splines=", options.splines, "];\n");
  absl::StrAppend(&dot, "  node [shape=record, fontname=\"Helvetica\", border=0, margin=0];\n");
  absl::StrAppend(&dot, "  edge [penwidth=2];\n");
  for (const DotLayer& box : boxes) {
    absl::StrAppend(&dot, "  ", box.id, " [label=", Label(box, options), "];\n");
  }
  for (const auto& [from, to] : edge_order) {
    absl::StrAppend(&dot, "  ", boxes[from].id, " -> ", boxes[to].id, ";\n");
  }
  return dot + "}\n";
}

absl::Status Model::PlotModel(const std::string& path, const PlotModelOptions& options) {
  if (path.empty()) {
    return absl::InvalidArgumentError(
        "PlotModel: the path is empty. Fix: pass a file name such as \"model.png\"");
  }
  // The format is the extension, as Keras's plot_model takes it; none means PNG.
  const size_t slash = path.find_last_of('/');
  const size_t dot_at = path.find_last_of('.');
  const bool has_ext =
      dot_at != std::string::npos && (slash == std::string::npos || dot_at > slash);
  const std::string format = has_ext ? absl::AsciiStrToLower(path.substr(dot_at + 1)) : "png";
  static const std::set<std::string> kFormats = {"png", "svg", "pdf", "jpg", "jpeg", "gif", "dot"};
  if (!kFormats.count(format)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "PlotModel: ", path, ": the extension \".", format,
        "\" is not a picture format graft "
        "asks Graphviz for. Fix: end the name in .png, .svg, .pdf, .jpg, .gif (or .dot for the "
        "DOT text alone)"));
  }
  const std::string dot_path = (has_ext ? path.substr(0, dot_at) : path) + ".dot";

  absl::StatusOr<std::string> dot = ModelToDot(options);
  if (!dot.ok()) return dot.status();
  if (absl::Status s = io::WriteFileAtomically(dot_path, {*dot}); !s.ok()) {
    return absl::Status(
        s.code(), absl::StrCat("PlotModel: cannot write the DOT file ", dot_path, ": ", s.message(),
                               ". Fix: check that the folder "
                               "exists and is writable, or choose another path"));
  }
  if (format == "dot") return absl::OkStatus();

  const std::string program = internal::FindOnPath("dot");
  if (program.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "PlotModel: cannot draw ", path,
        ": Graphviz's `dot` was not found on PATH. Fix: "
        "sudo apt-get install graphviz (or tools/setup.sh, which installs it); the DOT text was "
        "written to ",
        dot_path, " (render it with: dot -T", format, " ", dot_path, " -o ", path, ")"));
  }
  absl::StatusOr<std::string> picture = internal::RunDot(program, format, dot_path);
  if (!picture.ok()) return picture.status();
  if (absl::Status s = io::WriteFileAtomically(path, {*picture}); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("PlotModel: cannot write ", path, ": ", s.message(),
                                               ". Fix: check that the folder is "
                                               "writable, or choose another path"));
  }
  return absl::OkStatus();
}

}  // namespace graft::keras
