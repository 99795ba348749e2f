#include "keras/progress.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace graft::keras {
namespace progress {

std::string FormatValue(double v) {
  return std::abs(v) > 1e-3 ? absl::StrFormat("%.4f", v) : absl::StrFormat("%.4e", v);
}

std::string FormatLogs(const Logs& logs) {
  std::string s;
  for (const auto& [name, v] : logs) absl::StrAppend(&s, " - ", name, ": ", FormatValue(v));
  return s;
}

std::string FormatTimePerUnit(double t, const std::string& unit) {
  if (t >= 1 || t == 0) return absl::StrFormat(" %.0fs/%s", t, unit);
  if (t >= 1e-3) return absl::StrFormat(" %.0fms/%s", t * 1e3, unit);
  return absl::StrFormat(" %.0fus/%s", t * 1e6, unit);
}

std::string FormatEta(double eta) {
  const int64_t e = static_cast<int64_t>(eta);
  if (eta > 3600) return absl::StrFormat("ETA: %d:%02d:%02d", e / 3600, (e % 3600) / 60, e % 60);
  if (eta > 60) return absl::StrFormat("ETA: %d:%02d", e / 60, e % 60);
  return absl::StrFormat("ETA: %ds", e);
}

std::string FormatBar(int64_t current, int64_t target, int width) {
  const int digits = static_cast<int>(std::log10(static_cast<double>(target))) + 1;
  std::string bar = absl::StrFormat("%*d/%d [", digits, current, target);
  const int filled = static_cast<int>(width * static_cast<double>(current) / target);
  if (filled > 0) {
    bar.append(filled - 1, '=');
    bar.push_back(current < target ? '>' : '=');
  }
  bar.append(width - filled, '.');
  bar.push_back(']');
  return bar;
}

}  // namespace progress

ProgressBar::ProgressBar(std::ostream& out, int verbose, int64_t steps)
    : out_(out), verbose_(verbose), steps_(steps) {}

double ProgressBar::TimePerStep(int64_t current, double now) {
  if (current <= 0) return 0;
  double t = (time_after_first_step_ >= 0 && current > 1)
                 ? (now - time_after_first_step_) / static_cast<double>(current - 1)
                 : now / static_cast<double>(current);
  if (current == 1) time_after_first_step_ = now;
  return t;
}

void ProgressBar::Update(int64_t current, const Logs& logs, double now) {
  const double per_step = TimePerStep(current, now);
  if (verbose_ != 1 || (steps_ >= 0 && current >= steps_)) return;  // Finish draws the last
  if (last_draw_ >= 0 && now - last_draw_ < 0.05) return;
  last_draw_ = now;
  // A stream of unknown length (a Dataset without a cardinality): Keras's "12/Unknown".
  std::string line = steps_ < 0
                         ? absl::StrFormat("%7d/Unknown - %.0fs", current, now) +
                               progress::FormatTimePerUnit(per_step, "step") +
                               progress::FormatLogs(logs)
                         : progress::FormatBar(current, steps_) + " - " +
                               progress::FormatEta(per_step * static_cast<double>(steps_ - current)) +
                               progress::FormatLogs(logs);
  const size_t width = line.size();
  if (prev_width_ > width) line.append(prev_width_ - width, ' ');
  prev_width_ = width;
  out_ << '\r' << line << std::flush;
}

void ProgressBar::Finish(const Logs& logs, double now, int64_t steps_done) {
  if (steps_done >= 0) steps_ = steps_done;
  if (verbose_ == 0) return;
  const double per_step = TimePerStep(steps_, now);
  std::string line;
  if (verbose_ == 1) {
    line = progress::FormatBar(steps_, steps_) + absl::StrFormat(" - %.0fs", now) +
           progress::FormatTimePerUnit(per_step, "step") + progress::FormatLogs(logs);
    const size_t width = line.size();
    if (prev_width_ > width) line.append(prev_width_ - width, ' ');
    out_ << '\r' << line << '\n' << std::flush;
  } else {
    const int digits = static_cast<int>(std::log10(static_cast<double>(steps_))) + 1;
    line = absl::StrFormat("%*d/%d - %.0fs", digits, steps_, steps_, now) +
           progress::FormatLogs(logs) + " -" + progress::FormatTimePerUnit(now, "epoch") + " -" +
           progress::FormatTimePerUnit(now / static_cast<double>(steps_), "step");
    out_ << line << '\n' << std::flush;
  }
}

}  // namespace graft::keras
