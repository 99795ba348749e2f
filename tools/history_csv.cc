#include "tools/history_csv.h"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace graft::tools {

absl::StatusOr<keras::History> ParseHistoryCsv(absl::string_view text, const std::string& source) {
  auto error = [&](size_t line, const std::string& what) {
    return absl::InvalidArgumentError(absl::StrCat(source, ":", line, ": ", what));
  };
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
  std::vector<std::string> names;
  size_t epoch_column = std::string::npos;
  keras::History history;
  for (size_t i = 0; i < lines.size(); ++i) {
    absl::string_view line = absl::StripAsciiWhitespace(lines[i]);  // also a CRLF's '\r'
    if (line.empty()) continue;
    std::vector<absl::string_view> cells = absl::StrSplit(line, ',');
    if (names.empty()) {
      for (absl::string_view c : cells) {
        std::string name(absl::StripAsciiWhitespace(c));
        if (name.empty() || name.find('"') != std::string::npos) {
          return error(i + 1,
                       absl::StrCat("column ", names.size() + 1, " of the header is \"", name,
                                    "\", expected a plain name such as loss. Fix: "
                                    "pass a CSVLogger file (header epoch,loss,...)"));
        }
        if (name == "epoch") epoch_column = names.size();
        names.push_back(name);
      }
      continue;
    }
    if (cells.size() != names.size()) {
      return error(i + 1, absl::StrCat("has ", cells.size(), " values, the header has ",
                                       names.size(), " columns. Fix: one value per column"));
    }
    for (size_t c = 0; c < cells.size(); ++c) {
      absl::string_view cell = absl::StripAsciiWhitespace(cells[c]);
      double v = std::numeric_limits<double>::quiet_NaN();
      if (!cell.empty() && cell != "NA" && !absl::SimpleAtod(cell, &v)) {
        return error(i + 1, absl::StrCat("column \"", names[c], "\" holds \"", cell,
                                         "\", expected a number. Fix: a CSVLogger file has "
                                         "numbers only (NA or empty for a missing value)"));
      }
      if (c == epoch_column) {
        if (!(std::isfinite(v) && v >= 0 && v < 1e9 && v == std::floor(v))) {
          return error(i + 1, absl::StrCat("epoch is \"", cell,
                                           "\", expected a whole number "
                                           ">= 0. Fix: CSVLogger counts epochs from 0"));
        }
        history.epoch.push_back(static_cast<int>(v));
      } else {
        history.history[names[c]].push_back(v);
      }
    }
  }
  if (names.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(source,
                     ": empty, expected a header (epoch,loss,...) and one row per epoch. Fix: pass "
                     "the file CSVLogger wrote"));
  }
  return history;
}

}  // namespace graft::tools
