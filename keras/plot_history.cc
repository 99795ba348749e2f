// Learning curves drawn with Cairo's image surface and its "toy" text API (fontconfig's
// sans-serif, DejaVu Sans on Debian): labels are short ASCII strings, so Pango is not needed.
// Everything is laid out in points and scaled once (cairo_scale), so `scale` changes the
// resolution, never the layout.
#include "keras/plot_history.h"

#include <cairo/cairo.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "io/atomic_file.h"

namespace graft::keras {
namespace {

struct Rgb {
  double r, g, b;
};
constexpr Rgb kTrainColor = {0x1f / 255.0, 0x77 / 255.0, 0xb4 / 255.0};  // matplotlib's C0
constexpr Rgb kValColor = {0xff / 255.0, 0x7f / 255.0, 0x0e / 255.0};    // and C1
constexpr Rgb kText = {0.13, 0.13, 0.13};
constexpr Rgb kAxis = {0.35, 0.35, 0.35};
constexpr Rgb kGrid = {0.90, 0.90, 0.90};
constexpr Rgb kLegendEdge = {0.75, 0.75, 0.75};

void SetColor(cairo_t* cr, Rgb c) { cairo_set_source_rgb(cr, c.r, c.g, c.b); }

void SetFont(cairo_t* cr, double size, bool bold = false) {
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL,
                         bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size);
}

double TextWidth(cairo_t* cr, const std::string& text) {
  cairo_text_extents_t e;
  cairo_text_extents(cr, text.c_str(), &e);
  return e.x_advance;
}

// Draws `text` with its anchor at (x, y): ax 0 / 0.5 / 1 = left / centre / right; the vertical
// centre of the font's capitals is at y.
void DrawText(cairo_t* cr, const std::string& text, double x, double y, double ax) {
  cairo_font_extents_t fe;
  cairo_font_extents(cr, &fe);
  cairo_move_to(cr, x - ax * TextWidth(cr, text), y + 0.36 * fe.ascent);
  cairo_show_text(cr, text.c_str());
}

// Tick labels: as many decimals as the step needs (0.25 -> 2), "%g" for extreme magnitudes.
std::string FormatTick(double v, double step, double magnitude) {
  if (magnitude >= 1e6 || (magnitude > 0 && magnitude < 1e-4)) return absl::StrFormat("%.3g", v);
  int decimals = 0;
  while (decimals < 8) {
    const double scaled = step * std::pow(10.0, decimals);
    if (std::fabs(scaled - std::round(scaled)) < 1e-6 * std::max(1.0, scaled)) break;
    ++decimals;
  }
  std::string s = absl::StrFormat("%.*f", decimals, v);
  if (s.find_first_not_of("-0.") == std::string::npos && s[0] == '-') s = s.substr(1);  // "-0.0"
  return s;
}

struct Series {
  std::vector<double> y;
  Rgb color;
  bool dashed;
  std::string label;
};

// A panel's data range padded for the picture; a flat series gets a band around its value.
void Range(const std::vector<const Series*>& series, double* lo, double* hi) {
  *lo = std::numeric_limits<double>::infinity();
  *hi = -*lo;
  for (const Series* s : series) {
    for (double v : s->y) {
      if (std::isfinite(v)) *lo = std::min(*lo, v), *hi = std::max(*hi, v);
    }
  }
  if (!(*hi >= *lo)) {  // no finite value
    *lo = 0;
    *hi = 1;
    return;
  }
  const double span = *hi - *lo;
  if (span <= 1e-12 * std::max(1.0, std::fabs(*hi))) {
    const double pad = std::max(std::fabs(*hi) * 0.05, 0.05);
    *lo -= pad;
    *hi += pad;
  } else {
    *lo -= 0.06 * span;
    *hi += 0.06 * span;
  }
}

class PanelPainter {
 public:
  PanelPainter(cairo_t* cr, double x, double y, double w, double h)
      : cr_(cr), x_(x), y_(y), w_(w), h_(h) {}

  void Draw(const std::string& name, const std::vector<double>& epochs,
            const std::vector<Series>& series) {
    std::vector<const Series*> all;
    for (const Series& s : series) all.push_back(&s);
    double ylo, yhi;
    Range(all, &ylo, &yhi);
    xlo_ = epochs.front();
    xhi_ = epochs.back();
    if (xhi_ <= xlo_) {
      xlo_ -= 0.5;
      xhi_ += 0.5;
    } else {
      const double pad = 0.03 * (xhi_ - xlo_);
      xlo_ -= pad;
      xhi_ += pad;
    }
    ylo_ = ylo;
    yhi_ = yhi;

    // The y tick labels decide the left margin.
    top_ = y_ + 34;
    bottom_ = y_ + h_ - 46;
    const std::vector<double> yticks =
        NiceTicks(ylo_, yhi_, std::max(2, static_cast<int>((bottom_ - top_) / 30)));
    const double ystep = yticks.size() > 1 ? yticks[1] - yticks[0] : std::fabs(yticks[0]);
    const double ymag = std::max(std::fabs(ylo_), std::fabs(yhi_));
    std::vector<std::string> ylabels;
    SetFont(cr_, 10.5);
    double label_w = 0;
    for (double t : yticks) {
      ylabels.push_back(FormatTick(t, ystep, ymag));
      label_w = std::max(label_w, TextWidth(cr_, ylabels.back()));
    }
    left_ = x_ + 30 + label_w + 8;
    right_ = x_ + w_ - 18;

    // Panel title, grid, frame, ticks and labels.
    SetColor(cr_, kText);
    SetFont(cr_, 13, true);
    DrawText(cr_, name, (left_ + right_) / 2, y_ + 17, 0.5);
    cairo_set_line_width(cr_, 1);
    SetFont(cr_, 10.5);
    for (size_t i = 0; i < yticks.size(); ++i) {
      const double py = Snap(Y(yticks[i]));
      SetColor(cr_, kGrid);
      cairo_move_to(cr_, left_, py);
      cairo_line_to(cr_, right_, py);
      cairo_stroke(cr_);
      SetColor(cr_, kAxis);
      cairo_move_to(cr_, left_ - 4, py);
      cairo_line_to(cr_, left_, py);
      cairo_stroke(cr_);
      SetColor(cr_, kText);
      DrawText(cr_, ylabels[i], left_ - 7, py, 1.0);
    }
    const int max_xticks = std::max(2, static_cast<int>((right_ - left_) / 44));
    // Over the epochs run, not the padded range: no tick at an epoch 0 that never ran.
    const std::vector<double> xticks =
        NiceTicks(epochs.front(), epochs.back(), max_xticks, /*integers=*/true);
    for (double t : xticks) {
      const double px = Snap(X(t));
      SetColor(cr_, kGrid);
      cairo_move_to(cr_, px, top_);
      cairo_line_to(cr_, px, bottom_);
      cairo_stroke(cr_);
      SetColor(cr_, kAxis);
      cairo_move_to(cr_, px, bottom_);
      cairo_line_to(cr_, px, bottom_ + 4);
      cairo_stroke(cr_);
      SetColor(cr_, kText);
      DrawText(cr_, FormatTick(t, 1, 1), px, bottom_ + 14, 0.5);
    }
    SetColor(cr_, kAxis);
    cairo_rectangle(cr_, Snap(left_), Snap(top_), Snap(right_) - Snap(left_),
                    Snap(bottom_) - Snap(top_));
    cairo_stroke(cr_);
    SetColor(cr_, kText);
    SetFont(cr_, 11.5);
    DrawText(cr_, "epoch", (left_ + right_) / 2, bottom_ + 33, 0.5);
    cairo_save(cr_);
    cairo_translate(cr_, x_ + 14, (top_ + bottom_) / 2);
    cairo_rotate(cr_, -M_PI / 2);
    DrawText(cr_, name, 0, 0, 0.5);
    cairo_restore(cr_);

    // The curves, clipped to the plot area.
    cairo_save(cr_);
    cairo_rectangle(cr_, left_, top_, right_ - left_, bottom_ - top_);
    cairo_clip(cr_);
    for (const Series& s : series) DrawSeries(epochs, s);
    cairo_restore(cr_);
    DrawLegend(epochs, series);
  }

 private:
  double X(double v) const { return left_ + (v - xlo_) / (xhi_ - xlo_) * (right_ - left_); }
  double Y(double v) const { return bottom_ - (v - ylo_) / (yhi_ - ylo_) * (bottom_ - top_); }
  // Hairlines on pixel centres (1-point lines at scale 2 cover two whole pixels either way).
  static double Snap(double v) { return std::round(v) + 0.5; }

  void DrawSeries(const std::vector<double>& epochs, const Series& s) {
    SetColor(cr_, s.color);
    cairo_set_line_width(cr_, 2);
    cairo_set_line_join(cr_, CAIRO_LINE_JOIN_ROUND);
    cairo_set_line_cap(cr_, CAIRO_LINE_CAP_ROUND);
    const double dash[] = {6, 4};
    cairo_set_dash(cr_, dash, s.dashed ? 2 : 0, 0);
    bool open = false;
    for (size_t i = 0; i < s.y.size(); ++i) {
      if (!std::isfinite(s.y[i])) {
        open = false;
        continue;
      }
      if (open) {
        cairo_line_to(cr_, X(epochs[i]), Y(s.y[i]));
      } else {
        cairo_move_to(cr_, X(epochs[i]), Y(s.y[i]));
        open = true;
      }
    }
    cairo_stroke(cr_);
    cairo_set_dash(cr_, nullptr, 0, 0);
    if (s.y.size() > 40) return;  // markers only where they can be told apart
    for (size_t i = 0; i < s.y.size(); ++i) {
      if (!std::isfinite(s.y[i])) continue;
      cairo_new_sub_path(cr_);
      cairo_arc(cr_, X(epochs[i]), Y(s.y[i]), 2.8, 0, 2 * M_PI);
    }
    cairo_fill(cr_);
  }

  // The legend goes in the corner of the plot area that covers the fewest curve points.
  void DrawLegend(const std::vector<double>& epochs, const std::vector<Series>& series) {
    SetFont(cr_, 10.5);
    double text_w = 0;
    for (const Series& s : series) text_w = std::max(text_w, TextWidth(cr_, s.label));
    const double row = 17, pad = 7, sample = 24;
    const double bw = pad + sample + 6 + text_w + pad;
    const double bh = pad + row * series.size() + pad - 4;
    const double m = 8;
    const std::array<std::array<double, 2>, 4> corners = {{{right_ - m - bw, top_ + m},
                                                           {left_ + m, top_ + m},
                                                           {right_ - m - bw, bottom_ - m - bh},
                                                           {left_ + m, bottom_ - m - bh}}};
    int best = 0;
    int best_hits = std::numeric_limits<int>::max();
    for (int c = 0; c < 4; ++c) {
      const double bx = corners[c][0], by = corners[c][1];
      int hits = 0;
      for (const Series& s : series) {
        for (size_t i = 0; i < s.y.size(); ++i) {
          // Points along each segment, so a line crossing the box counts too.
          const bool next = i + 1 < s.y.size() && std::isfinite(s.y[i + 1]);
          for (int k = 0; k < (next ? 8 : 1); ++k) {
            if (!std::isfinite(s.y[i])) break;
            const double t = k / 8.0;
            const double px = X(epochs[i] + (next ? t * (epochs[i + 1] - epochs[i]) : 0));
            const double py = Y(s.y[i] + (next ? t * (s.y[i + 1] - s.y[i]) : 0));
            if (px >= bx - 3 && px <= bx + bw + 3 && py >= by - 3 && py <= by + bh + 3) ++hits;
          }
        }
      }
      if (hits < best_hits) best_hits = hits, best = c;
    }
    const double bx = corners[best][0], by = corners[best][1];
    cairo_rectangle(cr_, bx, by, bw, bh);
    cairo_set_source_rgba(cr_, 1, 1, 1, 0.88);
    cairo_fill_preserve(cr_);
    SetColor(cr_, kLegendEdge);
    cairo_set_line_width(cr_, 1);
    cairo_stroke(cr_);
    for (size_t i = 0; i < series.size(); ++i) {
      const double cy = by + pad + row * i + 5;
      SetColor(cr_, series[i].color);
      cairo_set_line_width(cr_, 2);
      const double dash[] = {6, 4};
      cairo_set_dash(cr_, dash, series[i].dashed ? 2 : 0, 0);
      cairo_move_to(cr_, bx + pad, cy);
      cairo_line_to(cr_, bx + pad + sample, cy);
      cairo_stroke(cr_);
      cairo_set_dash(cr_, nullptr, 0, 0);
      SetColor(cr_, kText);
      DrawText(cr_, series[i].label, bx + pad + sample + 6, cy, 0);
    }
  }

  cairo_t* cr_;
  double x_, y_, w_, h_;
  double left_ = 0, right_ = 0, top_ = 0, bottom_ = 0;
  double xlo_ = 0, xhi_ = 1, ylo_ = 0, yhi_ = 1;
};

absl::Status CheckHistory(const History& history, size_t* epochs) {
  size_t n = history.epoch.size();
  for (const auto& [key, values] : history.history) n = std::max(n, values.size());
  if (n == 0) {
    return absl::InvalidArgumentError(
        "PlotHistory: the History has no epochs (no values to plot). Fix: plot the History that "
        "Fit returned after at least one epoch (FitOptions::epochs >= 1)");
  }
  if (!history.epoch.empty() && history.epoch.size() != n) {
    return absl::InvalidArgumentError(absl::StrCat(
        "PlotHistory: History::epoch has ", history.epoch.size(), " entries but a series has ", n,
        ". Fix: give one epoch number per value (or leave History::epoch empty: 0, 1, ...)"));
  }
  for (const auto& [key, values] : history.history) {
    if (values.size() != n) {
      return absl::InvalidArgumentError(absl::StrCat(
          "PlotHistory: series \"", key, "\" has ", values.size(), " values, expected ", n,
          " (one per epoch). Fix: give every series one value per epoch"));
    }
  }
  for (size_t i = 1; i < history.epoch.size(); ++i) {
    if (history.epoch[i] <= history.epoch[i - 1]) {
      return absl::InvalidArgumentError(absl::StrCat(
          "PlotHistory: History::epoch must increase, but entry ", i, " is ", history.epoch[i],
          " after ", history.epoch[i - 1], ". Fix: plot one run's History (sorted by epoch)"));
    }
  }
  *epochs = n;
  return absl::OkStatus();
}

absl::Status CheckOptions(const PlotHistoryOptions& o) {
  auto bad = [](const std::string& what, const std::string& got, const std::string& want) {
    return absl::InvalidArgumentError(absl::StrCat("PlotHistory: PlotHistoryOptions::", what,
                                                   " is ", got, ", expected ", want,
                                                   ". Fix: pass a value in that range"));
  };
  if (o.panel_width < 200 || o.panel_width > 4000) {
    return bad("panel_width", absl::StrCat(o.panel_width), "200..4000 points");
  }
  if (o.panel_height < 150 || o.panel_height > 4000) {
    return bad("panel_height", absl::StrCat(o.panel_height), "150..4000 points");
  }
  if (!(o.scale >= 0.25 && o.scale <= 8)) return bad("scale", absl::StrCat(o.scale), "0.25..8");
  if (o.columns < 0 || o.columns > 16) return bad("columns", absl::StrCat(o.columns), "0..16");
  return absl::OkStatus();
}

cairo_status_t AppendPng(void* closure, const unsigned char* data, unsigned int length) {
  static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
  return CAIRO_STATUS_SUCCESS;
}

}  // namespace

std::vector<double> NiceTicks(double lo, double hi, int max_ticks, bool integers) {
  if (!std::isfinite(lo) || !std::isfinite(hi) || max_ticks < 1) return {};
  if (hi < lo) std::swap(lo, hi);
  if (hi == lo) return {lo};
  const double raw = (hi - lo) / std::max(1, max_ticks);
  double step = 0;
  for (int k = static_cast<int>(std::floor(std::log10(raw))) - 1; step == 0; ++k) {
    const double p = std::pow(10.0, k);
    for (double m : {1.0, 2.0, 2.5, 5.0}) {
      const double s = m * p;
      if (integers && (s < 1 || std::fabs(s - std::round(s)) > 1e-9)) continue;
      const double count = std::floor(hi / s + 1e-9) - std::ceil(lo / s - 1e-9) + 1;
      if (count <= max_ticks) {
        step = s;
        break;
      }
    }
  }
  std::vector<double> ticks;
  const int64_t first = static_cast<int64_t>(std::ceil(lo / step - 1e-9));
  const int64_t last = static_cast<int64_t>(std::floor(hi / step + 1e-9));
  for (int64_t i = first; i <= last; ++i) ticks.push_back(static_cast<double>(i) * step);
  return ticks;
}

std::vector<HistoryPanel> HistoryPanels(const History& history) {
  std::vector<HistoryPanel> panels;
  auto add = [&](const std::string& key) {
    const bool val = absl::StartsWith(key, "val_");
    const std::string name = val ? key.substr(4) : key;
    for (const HistoryPanel& p : panels) {
      if (p.name == name) return;
    }
    HistoryPanel p{name, "", ""};
    if (history.history.count(name)) p.train_key = name;
    if (history.history.count("val_" + name)) p.val_key = "val_" + name;
    panels.push_back(p);
  };
  if (history.history.count("loss") || history.history.count("val_loss")) add("loss");
  for (const auto& [key, values] : history.history) add(key);
  return panels;
}

absl::StatusOr<std::string> RenderHistoryPng(const History& history,
                                             const PlotHistoryOptions& options) {
  if (absl::Status s = CheckOptions(options); !s.ok()) return s;
  size_t n = 0;
  if (absl::Status s = CheckHistory(history, &n); !s.ok()) return s;
  const std::vector<HistoryPanel> panels = HistoryPanels(history);
  const int count = static_cast<int>(panels.size());
  int cols = options.columns;
  if (cols == 0) cols = count <= 3 ? count : (count == 4 ? 2 : 3);
  cols = std::min(cols, count);
  const int rows = (count + cols - 1) / cols;
  const double title_h = options.title.empty() ? 8 : 40;
  const double width_pt = cols * options.panel_width + 16;
  const double height_pt = title_h + rows * options.panel_height + 8;
  const double width_px = std::ceil(width_pt * options.scale);
  const double height_px = std::ceil(height_pt * options.scale);
  if (width_px > 32767 || height_px > 32767) {
    return absl::InvalidArgumentError(absl::StrCat(
        "PlotHistory: the picture would be ", width_px, " x ", height_px, " pixels (", count,
        " panels), over Cairo's limit of 32767. Fix: lower PlotHistoryOptions::scale or the "
        "panel size, or set columns"));
  }

  std::unique_ptr<cairo_surface_t, decltype(&cairo_surface_destroy)> surface(
      cairo_image_surface_create(CAIRO_FORMAT_RGB24, static_cast<int>(width_px),
                                 static_cast<int>(height_px)),
      cairo_surface_destroy);
  std::unique_ptr<cairo_t, decltype(&cairo_destroy)> context(cairo_create(surface.get()),
                                                             cairo_destroy);
  cairo_t* cr = context.get();
  if (cairo_status(cr) != CAIRO_STATUS_SUCCESS) {
    return absl::ResourceExhaustedError(
        absl::StrCat("PlotHistory: Cairo cannot make a ", width_px, " x ", height_px,
                     " image: ", cairo_status_to_string(cairo_status(cr))));
  }
  cairo_scale(cr, options.scale, options.scale);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  if (!options.title.empty()) {
    SetColor(cr, kText);
    SetFont(cr, 16, true);
    DrawText(cr, options.title, width_pt / 2, 22, 0.5);
  }

  std::vector<double> epochs(n);
  for (size_t i = 0; i < n; ++i) {
    epochs[i] = (history.epoch.empty() ? static_cast<double>(i) : history.epoch[i]) + 1;
  }
  for (int p = 0; p < count; ++p) {
    std::vector<Series> series;
    if (!panels[p].train_key.empty()) {
      series.push_back({history.history.at(panels[p].train_key), kTrainColor, false, "train"});
    }
    if (!panels[p].val_key.empty()) {
      series.push_back({history.history.at(panels[p].val_key), kValColor, true, "validation"});
    }
    PanelPainter painter(cr, 8 + (p % cols) * options.panel_width,
                         title_h + (p / cols) * options.panel_height, options.panel_width,
                         options.panel_height);
    painter.Draw(panels[p].name, epochs, series);
  }

  cairo_surface_flush(surface.get());
  std::string png;
  const cairo_status_t written = cairo_surface_write_to_png_stream(surface.get(), AppendPng, &png);
  if (written != CAIRO_STATUS_SUCCESS || cairo_status(cr) != CAIRO_STATUS_SUCCESS) {
    return absl::InternalError(absl::StrCat(
        "PlotHistory: Cairo failed to draw or encode: ",
        cairo_status_to_string(written != CAIRO_STATUS_SUCCESS ? written : cairo_status(cr))));
  }
  return png;
}

absl::Status PlotHistory(const History& history, const std::string& png_path,
                         const PlotHistoryOptions& options) {
  if (png_path.empty()) {
    return absl::InvalidArgumentError(
        "PlotHistory: the PNG path is empty. Fix: pass a file name such as \"curves.png\"");
  }
  absl::StatusOr<std::string> png = RenderHistoryPng(history, options);
  if (!png.ok()) return png.status();
  absl::Status s = io::WriteFileAtomically(png_path, {*png});
  if (!s.ok()) {
    return absl::Status(s.code(), absl::StrCat("PlotHistory: cannot write the learning curves to ",
                                               png_path, ": ", s.message(),
                                               ". Fix: check that the folder exists and is "
                                               "writable, or choose another path"));
  }
  return absl::OkStatus();
}

}  // namespace graft::keras
