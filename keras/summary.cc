#include "keras/summary.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace graft::keras {
namespace {

// Repeats a (multi-byte) box-drawing character.
std::string Repeat(const char* ch, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += ch;
  return s;
}

// Pads `text` to `width` display columns (ASCII text: one byte per column), truncating with
// an ellipsis when too long.
std::string Cell(const std::string& text, int width, bool right) {
  std::string t = text;
  if (static_cast<int>(t.size()) > width) t = t.substr(0, width - 1) + "\xE2\x80\xA6";
  const int pad = width - std::min<int>(static_cast<int>(text.size()), width);
  return right ? std::string(pad, ' ') + t : t + std::string(pad, ' ');
}

}  // namespace

namespace {
std::string Totals(const SummaryTotals& totals) {
  std::string out;
  const int64_t total = totals.trainable + totals.non_trainable;
  auto line = [&](const char* label, int64_t n) {
    return absl::StrCat(" ", label, ": ", WithThousands(n), " (",
                        ReadableSize(static_cast<double>(n) * totals.bytes_per_param), ")\n");
  };
  out += line("Total params", total);
  out += line("Trainable params", totals.trainable);
  out += line("Non-trainable params", totals.non_trainable);
  return out;
}
}  // namespace

std::string WithThousands(int64_t n) {
  std::string digits = absl::StrCat(n < 0 ? -n : n);
  std::string out;
  const int len = static_cast<int>(digits.size());
  for (int i = 0; i < len; ++i) {
    if (i > 0 && (len - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return n < 0 ? "-" + out : out;
}

std::string ReadableSize(double bytes) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB", "PB"};
  for (const char* unit : units) {
    if (bytes / 1024 < 1) return absl::StrFormat("%.2f %s", bytes, unit);
    bytes /= 1024;
  }
  return absl::StrFormat("%.2f PB", bytes);
}

std::string FormatSummary(const std::string& model_name, const std::vector<SummaryRow>& rows,
                          const SummaryTotals& totals, int line_length) {
  // rich's ratio distribution over the space inside the 4 vertical borders.
  const int inner = line_length - 4;
  const int w0 = static_cast<int>(std::lround(45.0 * inner / 100));
  const int w1 = static_cast<int>(std::lround(35.0 * (inner - w0) / 55));
  const int w2 = inner - w0 - w1;
  auto row = [&](const char* edge, const char* mid, const std::string& a, const std::string& b,
                 const std::string& c) {
    return absl::StrCat(edge, " ", Cell(a, w0 - 2, false), " ", mid, " ", Cell(b, w1 - 2, false),
                        " ", mid, " ", Cell(c, w2 - 2, true), " ", edge, "\n");
  };
  auto rule = [&](const char* l, const char* h, const char* m, const char* r) {
    return absl::StrCat(l, Repeat(h, w0), m, Repeat(h, w1), m, Repeat(h, w2), r, "\n");
  };
  std::string out = absl::StrCat("Model: \"", model_name, "\"\n");
  out += rule("┏", "━", "┳", "┓");
  out += row("┃", "┃", "Layer (type)", "Output Shape", "Param #");
  out += rule("┡", "━", "╇", "┩");
  for (size_t i = 0; i < rows.size(); ++i) {
    out += row("│", "│", rows[i].layer, rows[i].output_shape, WithThousands(rows[i].params));
    out += i + 1 < rows.size() ? rule("├", "─", "┼", "┤") : rule("└", "─", "┴", "┘");
  }
  if (rows.empty()) out += rule("└", "─", "┴", "┘");
  return out + Totals(totals);
}

std::string FormatFunctionalSummary(const std::string& model_name,
                                    const std::vector<SummaryRow>& rows,
                                    const SummaryTotals& totals, int line_length) {
  const int inner = line_length - 5;
  const int w[4] = {static_cast<int>(std::lround(0.3 * inner)),
                    static_cast<int>(std::lround(0.3 * inner)),
                    static_cast<int>(std::lround(0.1 * inner)), 0};
  const int w3 = inner - w[0] - w[1] - w[2];
  const int widths[4] = {w[0], w[1], w[2], w3};
  auto row = [&](const char* edge, const char* mid, const std::string(&cells)[4]) {
    std::string line = edge;
    for (int i = 0; i < 4; ++i) {
      absl::StrAppend(&line, " ", Cell(cells[i], widths[i] - 2, i == 2), " ", i < 3 ? mid : edge);
    }
    return line + "\n";
  };
  auto rule = [&](const char* l, const char* h, const char* m, const char* r) {
    std::string line = l;
    for (int i = 0; i < 4; ++i) absl::StrAppend(&line, Repeat(h, widths[i]), i < 3 ? m : r);
    return line + "\n";
  };
  std::string out = absl::StrCat("Model: \"", model_name, "\"\n");
  out += rule("┏", "━", "┳", "┓");
  out += row("┃", "┃", {"Layer (type)", "Output Shape", "Param #", "Connected to"});
  out += rule("┡", "━", "╇", "┩");
  for (size_t i = 0; i < rows.size(); ++i) {
    const std::vector<std::string>& links = rows[i].connected_to;
    const size_t lines = std::max<size_t>(1, links.size());
    for (size_t j = 0; j < lines; ++j) {
      const std::string link = links.empty() ? "-" : links[j];
      if (j == 0) {
        out += row("│", "│",
                   {rows[i].layer, rows[i].output_shape, WithThousands(rows[i].params), link});
      } else {
        out += row("│", "│", {"", "", "", link});
      }
    }
    out += i + 1 < rows.size() ? rule("├", "─", "┼", "┤") : rule("└", "─", "┴", "┘");
  }
  if (rows.empty()) out += rule("└", "─", "┴", "┘");
  return out + Totals(totals);
}

}  // namespace graft::keras
