// graft — a training log in Keras's CSVLogger format read back as a History, for
// //tools:plot_history.
//
//   epoch,accuracy,loss,val_accuracy,val_loss
//   0,0.61,0.66,0.70,0.58
//   1,0.74,0.52,0.77,0.49
//
// A header of column names, then one row of numbers per epoch. "epoch" (counted from 0, as
// CSVLogger writes it) becomes History::epoch; without it the rows are epochs 0, 1, ...
// Missing values ("", "NA", "nan") are NaN. Only this numeric format is read: no quoting.
// (A general CSV reader belongs in io/; this one is deliberately just enough for the tool.)
#ifndef GRAFT_TOOLS_HISTORY_CSV_H_
#define GRAFT_TOOLS_HISTORY_CSV_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "keras/model.h"

namespace graft::tools {

// Parses `text`; errors are INVALID_ARGUMENT naming `source` (the file name) and the line.
absl::StatusOr<keras::History> ParseHistoryCsv(absl::string_view text, const std::string& source);

}  // namespace graft::tools

#endif  // GRAFT_TOOLS_HISTORY_CSV_H_
