// graft — learning curves: a PNG of the History that Fit returns (//keras:plot, which links
// Cairo; programs that do not plot do not).
//
//   absl::StatusOr<keras::History> h = model.Fit(x, y, {.epochs = 20, .validation_split = 0.2});
//   absl::Status s = keras::PlotHistory(*h, "curves.png");
//
// One panel per quantity: "loss" first, then each metric in the order of the History's keys,
// each with its training curve (solid blue) and, when the History has "val_<name>", the
// validation curve (dashed orange). x is the epoch counted from 1, as Keras's progress prints
// it ("Epoch 1/20"); History::epoch itself counts from 0, as Keras's does.
#ifndef GRAFT_KERAS_PLOT_HISTORY_H_
#define GRAFT_KERAS_PLOT_HISTORY_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keras/model.h"

namespace graft::keras {

struct PlotHistoryOptions {
  // Above the panels; "" for none.
  std::string title = "Learning curves";
  // The size of one panel in points (the image is `scale` pixels per point).
  int panel_width = 440;
  int panel_height = 330;
  // Pixels per point: 2 gives a sharp picture on high-density screens and in documents.
  double scale = 2.0;
  // Panels per row; 0: all in one row up to 3 panels, else 2 (for 4) or 3 per row.
  int columns = 0;
};

// Writes the learning curves of `history` to `png_path` as a PNG, atomically (a temporary file,
// fsync, rename: an existing file is replaced whole or not at all). INVALID_ARGUMENT when the
// history has no epochs, a series' length differs from the epoch count, or the options are out
// of range; the write's error (naming the path) when the file cannot be written. Values that
// are NaN or infinite are left out (the line breaks there).
absl::Status PlotHistory(const History& history, const std::string& png_path,
                         const PlotHistoryOptions& options = {});

// The same picture as PNG bytes.
absl::StatusOr<std::string> RenderHistoryPng(const History& history,
                                             const PlotHistoryOptions& options = {});

// One panel of the picture: the quantity and the History keys drawn in it.
struct HistoryPanel {
  std::string name;       // "loss"
  std::string train_key;  // "loss" ("" when the History has only "val_loss")
  std::string val_key;    // "val_loss", or "" when there is no validation
};
// The panels PlotHistory draws, in order.
std::vector<HistoryPanel> HistoryPanels(const History& history);

// Tick values for an axis over [lo, hi]: multiples of 1, 2, 2.5 or 5 times a power of ten, at
// most `max_ticks` of them, all inside [lo, hi]; with `integers`, steps of at least 1.
std::vector<double> NiceTicks(double lo, double hi, int max_ticks, bool integers = false);

}  // namespace graft::keras

#endif  // GRAFT_KERAS_PLOT_HISTORY_H_
