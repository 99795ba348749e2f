// graft — numeric CSV tables: a features tensor (rows x columns), optional labels, and the
// column names. The tokenising is libcsv's (RFC 4180: quoted fields, doubled quotes, CRLF or LF
// or CR line ends); numbers are parsed with std::from_chars.
#ifndef GRAFT_IO_CSV_H_
#define GRAFT_IO_CSV_H_

#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/dtype.h"
#include "graph/tensor.h"

namespace graft::io {

// A column of a CSV file: by its header name ("temp") or by its 0-based index (3). Converts
// implicitly from a string or an integer, so options read `.columns = {"temp", "pressure"}`,
// `.columns = {0, 2}` or `.label_column = "y"`.
class CsvColumn {
 public:
  CsvColumn(const char* name) : name_(name), by_name_(true) {}  // NOLINT: implicit by design
  CsvColumn(std::string name) : name_(std::move(name)), by_name_(true) {}  // NOLINT
  CsvColumn(absl::string_view name) : name_(name), by_name_(true) {}       // NOLINT
  template <std::integral I>
  requires(!std::same_as<I, bool> && !std::same_as<I, char>) CsvColumn(I index)
      : index_(static_cast<int64_t>(index)), by_name_(false) {}  // NOLINT

  bool by_name() const { return by_name_; }
  // The name (by_name()) or the index (otherwise).
  const std::string& name() const { return name_; }
  int64_t index() const { return index_; }
  // "'temp'" or "index 3", for messages.
  std::string ToString() const;

 private:
  std::string name_;
  int64_t index_ = -1;
  bool by_name_ = false;
};

// pandas' default missing-value tokens (read_csv's na_values), the empty field first.
std::vector<std::string> DefaultNaValues();

// How LoadCsv reads a file. The names follow pandas' read_csv where it has one.
struct CsvOptions {
  // The first row gives the column names. When false, every row is data and the columns are
  // named by their indices ("0", "1", ...).
  bool header = true;
  // The field separator: ',' (CSV), ';', '\t' (TSV), '|', ' ', ...
  char delimiter = ',';
  // RFC 4180's quote: a field enclosed in it may hold the delimiter, line breaks and doubled
  // quotes. A quoted number is still a number.
  char quotechar = '"';
  // A line whose first character other than spaces and tabs is this one is skipped (outside a
  // quoted field). '\0': no comment lines.
  char comment = '#';
  // The feature columns, in the order given (names need header = true). Empty: every column
  // except label_column, in file order. Columns not named are never parsed (a date or text
  // column may be skipped this way).
  std::vector<CsvColumn> columns;
  // A column returned separately as CsvTable::labels. It may also be listed in `columns`.
  std::optional<CsvColumn> label_column;
  // kF32 (default) or kF64. Each number is rounded once, straight to this type.
  DType dtype = DType::kF32;
  // Fields that mean "missing" (compared after trimming spaces; case-sensitive). Any field that
  // parses as NaN ("nan(0x1)") is missing too, so a loaded table holds no NaN unless
  // fill_value is NaN.
  std::vector<std::string> na_values = DefaultNaValues();
  // What a missing value becomes. Unset (default): a missing value is an error naming its line
  // and column. NaN is allowed, to interpolate later (std::nan("") / quiet_NaN()).
  std::optional<double> fill_value;
};

// A loaded table.
struct CsvTable {
  // (rows, number of feature columns), of options.dtype.
  Tensor features;
  // (rows,), of options.dtype; set when options.label_column is.
  std::optional<Tensor> labels;
  // The feature columns' names (header names, or "0", "1", ... without a header), in the
  // order of features' columns.
  std::vector<std::string> column_names;
  // The label column's name; empty without label_column.
  std::string label_name;
};

// Reads a numeric CSV file through io/file.h. Errors (never a crash) name the file, the line
// (with thousands separators), the column (by name when there is a header, else by index), the
// field, and a fix:
//   "data.csv: line 1,204, column 'temp': 'abc' is not a number. Fix: ..."
// NotFound for a file that is not there, InvalidArgument for a directory or another
// non-regular file, an empty file, a file with a header and no data rows, a row with more or
// fewer fields than the first row, bad quoting (line and character), an unknown or ambiguous
// column name or an index out of range, a missing value without fill_value, a number outside
// the dtype's range, and invalid options; ResourceExhausted when memory runs out. A UTF-8 byte
// order mark at the start is skipped; blank lines are skipped.
absl::StatusOr<CsvTable> LoadCsv(const std::string& path, const CsvOptions& options = {});

// The same on the bytes of a CSV file in memory; `source` names it in messages.
absl::StatusOr<CsvTable> ParseCsv(absl::string_view text, const CsvOptions& options = {},
                                  absl::string_view source = "<memory>");

}  // namespace graft::io

#endif  // GRAFT_IO_CSV_H_
