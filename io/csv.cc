// Numeric CSV tables. libcsv (Debian libcsv-dev) does the RFC 4180 tokenising; this file adds
// what it lacks: comment lines, line numbers for messages, column selection and numbers.
//
// The text is fed to libcsv one physical line at a time (each chunk ends with its '\n' or
// '\r'), so that every callback knows the current line, and so that a comment or blank line can
// be dropped before libcsv sees it -- but only between records: inside a quoted field a line
// that starts with '#' is data. libcsv ends a record only at a line end, so "between records"
// is exactly "the last chunk ended a record" (OnRecord ran last), or nothing was fed yet.
#include "io/csv.h"

#include <csv.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <exception>
#include <limits>
#include <system_error>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "io/file.h"

namespace graft::io {
namespace {

constexpr size_t kShownFieldBytes = 40;  // longer fields are cut in messages
constexpr size_t kShownColumns = 20;     // longer headers are cut in messages

// 1204 -> "1,204".
std::string Thousands(int64_t n) {
  std::string s = absl::StrCat(n);
  const int first = s[0] == '-' ? 1 : 0;
  for (int i = static_cast<int>(s.size()) - 3; i > first; i -= 3) s.insert(i, ",");
  return s;
}

// A field as shown in a message: quoted, escaped (it may hold any byte), cut when long.
std::string Quote(absl::string_view s) {
  const bool cut = s.size() > kShownFieldBytes;
  return absl::StrCat("'", absl::CHexEscape(s.substr(0, kShownFieldBytes)), cut ? "...'" : "'");
}

std::string ShowChar(char c) {
  if (c == '\t') return "'\\t' (tab)";
  if (c == ' ') return "' ' (space)";
  if (c > ' ' && c < 0x7f && c != '\'') return absl::StrCat("'", absl::string_view(&c, 1), "'");
  return Quote(absl::string_view(&c, 1));
}

absl::string_view TrimBlanks(absl::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

enum class Number { kOk, kMissing, kNotANumber, kOutOfRange };

// Parses all of `s` (already trimmed) as a T. NaN in any spelling counts as missing.
template <typename T>
Number ParseNumber(absl::string_view s, T* out) {
  // from_chars takes no '+'; pandas and strtod do.
  if (s.size() > 1 && s[0] == '+' && s[1] != '-' && s[1] != '+') s.remove_prefix(1);
  const char* end = s.data() + s.size();
  T v{};
  auto [p, ec] = std::from_chars(s.data(), end, v);
  if (p != end || s.empty()) return Number::kNotANumber;
  if (ec == std::errc::result_out_of_range) {
    if constexpr (std::is_same_v<T, float>) {
      // Out of float's range may still be a double that rounds to a float: underflow becomes
      // zero (or the nearest subnormal), as NumPy's float64 -> float32 cast does.
      double d = 0;
      auto [pd, ecd] = std::from_chars(s.data(), end, d);
      if (pd == end && ecd == std::errc() &&
          std::fabs(d) <= static_cast<double>(std::numeric_limits<float>::max())) {
        *out = static_cast<float>(d);
        return Number::kOk;
      }
    }
    return Number::kOutOfRange;
  }
  if (ec != std::errc()) return Number::kNotANumber;
  if (std::isnan(v)) return Number::kMissing;
  *out = v;
  return Number::kOk;
}

class Parser {
 public:
  Parser(absl::string_view source, const CsvOptions& options)
      : source_(source), options_(options) {}

  absl::StatusOr<CsvTable> Run(absl::string_view text);

 private:
  struct FieldRef {
    size_t offset;  // in record_text_
    size_t size;
    int64_t line;  // where the field ends
  };

  static void OnField(void* data, size_t size, void* self) {
    static_cast<Parser*>(self)->Field(static_cast<const char*>(data), size);
  }
  static void OnRecord(int /*terminator*/, void* self) { static_cast<Parser*>(self)->Record(); }

  void Field(const char* data, size_t size);
  void Record();
  absl::Status FirstRecord();
  absl::Status DataRecord();
  absl::StatusOr<int64_t> Resolve(const CsvColumn& column, const std::string& what) const;
  absl::Status ParseField(int64_t column, double* out) const;
  absl::StatusOr<CsvTable> Finish(size_t text_size);

  absl::string_view Text(const FieldRef& f) const {
    return absl::string_view(record_text_).substr(f.offset, f.size);
  }
  std::string Where(int64_t line) const {
    return absl::StrCat(source_, ": line ", Thousands(line));
  }
  std::string ColumnText(int64_t i) const;
  std::string HeaderColumns() const;
  absl::Status Error(absl::string_view message) const {
    return absl::InvalidArgumentError(message);
  }
  // Called from libcsv's callbacks, which must not throw through C code.
  void Fail(absl::Status s) {
    if (status_.ok()) status_ = std::move(s);
  }

  const std::string source_;
  const CsvOptions& options_;
  absl::Status status_;

  // Reading position.
  int64_t line_ = 1;         // the physical line being fed
  int64_t record_line_ = 1;  // where the current record started
  bool at_record_start_ = true;

  // The current record's fields.
  std::string record_text_;
  std::vector<FieldRef> fields_;

  // Known after the first record.
  int64_t num_columns_ = -1;
  std::vector<std::string> names_;        // header names, or "0", "1", ...
  std::vector<int> name_count_;           // how often names_[i] occurs in the header
  std::vector<int64_t> feature_slot_;     // per file column: its feature position, or -1
  std::vector<int64_t> feature_columns_;  // per feature position: the file column
  int64_t label_column_ = -1;
  int64_t header_line_ = 0;

  // The data, row-major.
  int64_t rows_ = 0;
  std::vector<double> row_;  // one row's features, then its label
  std::vector<float> f32_, f32_labels_;
  std::vector<double> f64_, f64_labels_;
};

std::string Parser::ColumnText(int64_t i) const {
  if (!options_.header) return absl::StrCat("column ", i);
  if (names_[i].empty() || name_count_[i] > 1) {
    return absl::StrCat("column ", i, " (", Quote(names_[i]), ")");
  }
  return absl::StrCat("column ", Quote(names_[i]));
}

std::string Parser::HeaderColumns() const {
  std::vector<std::string> shown;
  for (size_t i = 0; i < names_.size() && i < kShownColumns; ++i) shown.push_back(Quote(names_[i]));
  return absl::StrCat(absl::StrJoin(shown, ", "),
                      names_.size() > kShownColumns
                          ? absl::StrCat(" and ", names_.size() - kShownColumns, " more")
                          : "");
}

void Parser::Field(const char* data, size_t size) {
  if (!status_.ok()) return;
  try {
    fields_.push_back({record_text_.size(), size, line_});
    record_text_.append(data, size);
  } catch (const std::exception& e) {
    Fail(absl::ResourceExhaustedError(
        absl::StrCat(Where(line_), ": out of memory while reading the file (", e.what(), ")")));
  }
}

void Parser::Record() {
  at_record_start_ = true;
  if (!status_.ok()) return;
  try {
    absl::Status s = num_columns_ < 0 ? FirstRecord() : DataRecord();
    if (!s.ok()) Fail(std::move(s));
  } catch (const std::exception& e) {
    Fail(absl::ResourceExhaustedError(
        absl::StrCat(Where(line_), ": out of memory while reading the file (", e.what(), ")")));
  }
  fields_.clear();
  record_text_.clear();
}

absl::StatusOr<int64_t> Parser::Resolve(const CsvColumn& column, const std::string& what) const {
  const int64_t n = num_columns_;
  if (!column.by_name()) {
    if (column.index() < 0 || column.index() >= n) {
      return Error(absl::StrCat(source_, ": ", what, " is index ", column.index(),
                                ", but the file has ", n, n == 1 ? " column" : " columns",
                                " (indices 0 to ", n - 1, "). Fix: use a 0-based index below ", n,
                                options_.header ? " or a name from the header" : ""));
    }
    return column.index();
  }
  if (!options_.header) {
    return Error(absl::StrCat(source_, ": ", what, " names column ", Quote(column.name()),
                              ", but CsvOptions.header is false, so the columns have no "
                              "names. Fix: use a 0-based index, or set .header = true if the "
                              "first row holds the names"));
  }
  std::vector<int64_t> found;
  for (int64_t i = 0; i < n; ++i) {
    if (names_[i] == column.name()) found.push_back(i);
  }
  if (found.size() > 1) {
    return Error(absl::StrCat(source_, ": ", what, " names column ", Quote(column.name()),
                              ", which the header (line ", Thousands(header_line_), ") has ",
                              found.size(), " times, at indices ", absl::StrJoin(found, ", "),
                              ". Fix: use the 0-based index"));
  }
  if (found.empty()) {
    std::string hint;
    for (int64_t i = 0; i < n; ++i) {
      if (absl::EqualsIgnoreCase(names_[i], column.name())) {
        hint = absl::StrCat(" (names are case-sensitive: did you mean ", Quote(names_[i]), "?)");
        break;
      }
    }
    return Error(absl::StrCat(source_, ": ", what, " names column ", Quote(column.name()),
                              ", but the header (line ", Thousands(header_line_),
                              ") has no such column", hint, "; its columns are ", HeaderColumns(),
                              ". Fix: use one of these names or a 0-based "
                              "index"));
  }
  return found[0];
}

absl::Status Parser::FirstRecord() {
  num_columns_ = static_cast<int64_t>(fields_.size());
  header_line_ = record_line_;
  for (int64_t i = 0; i < num_columns_; ++i) {
    names_.push_back(options_.header ? std::string(Text(fields_[i])) : absl::StrCat(i));
  }
  absl::flat_hash_map<std::string, int> count;
  for (const std::string& name : names_) ++count[name];
  for (const std::string& name : names_) name_count_.push_back(count[name]);

  if (options_.label_column.has_value()) {
    absl::StatusOr<int64_t> c = Resolve(*options_.label_column, "CsvOptions.label_column");
    if (!c.ok()) return c.status();
    label_column_ = *c;
  }
  feature_slot_.assign(num_columns_, -1);
  if (options_.columns.empty()) {
    for (int64_t i = 0; i < num_columns_; ++i) {
      if (i != label_column_) feature_columns_.push_back(i);
    }
    if (feature_columns_.empty()) {
      return Error(absl::StrCat(source_, ": the file's only column, ", ColumnText(0),
                                ", is CsvOptions.label_column, which leaves no feature column. "
                                "Fix: list the features in CsvOptions.columns (the label may be "
                                "one of them), or leave label_column unset"));
    }
  } else {
    for (size_t j = 0; j < options_.columns.size(); ++j) {
      const std::string what = absl::StrCat("CsvOptions.columns[", j, "]");
      absl::StatusOr<int64_t> c = Resolve(options_.columns[j], what);
      if (!c.ok()) return c.status();
      if (feature_slot_[*c] >= 0) {
        return Error(absl::StrCat(source_, ": ", what, " (", options_.columns[j].ToString(),
                                  ") is ", ColumnText(*c), ", which CsvOptions.columns[",
                                  feature_slot_[*c],
                                  "] already selects. Fix: list each column "
                                  "once"));
      }
      feature_slot_[*c] = static_cast<int64_t>(feature_columns_.size());
      feature_columns_.push_back(*c);
    }
  }
  for (size_t j = 0; j < feature_columns_.size(); ++j) feature_slot_[feature_columns_[j]] = j;
  row_.assign(feature_columns_.size() + 1, 0.0);
  return options_.header ? absl::OkStatus() : DataRecord();
}

absl::Status Parser::ParseField(int64_t column, double* out) const {
  const FieldRef& f = fields_[column];
  const absl::string_view raw = Text(f);
  const absl::string_view s = TrimBlanks(raw);
  const auto where = [&] { return absl::StrCat(Where(f.line), ", ", ColumnText(column), ": "); };
  const auto missing = [&](absl::string_view what) {
    return Error(absl::StrCat(
        where(), "missing value (", what,
        "). Fix: set CsvOptions.fill_value to replace missing "
        "values (std::nan(\"\") keeps them as NaN, to interpolate later), or leave the column "
        "out of CsvOptions.columns"));
  };
  if (std::find(options_.na_values.begin(), options_.na_values.end(), s) !=
      options_.na_values.end()) {
    if (options_.fill_value.has_value()) {
      *out = *options_.fill_value;
      return absl::OkStatus();
    }
    return missing(s.empty() ? "an empty field" : absl::StrCat(Quote(s), ", one of na_values"));
  }
  Number result;
  if (options_.dtype == DType::kF32) {
    float v = 0;
    result = ParseNumber(s, &v);
    *out = v;
  } else {
    result = ParseNumber(s, out);
  }
  switch (result) {
    case Number::kOk:
      return absl::OkStatus();
    case Number::kMissing:
      if (options_.fill_value.has_value()) {
        *out = *options_.fill_value;
        return absl::OkStatus();
      }
      return missing(absl::StrCat(Quote(s), " is NaN"));
    case Number::kOutOfRange:
      return Error(
          absl::StrCat(where(), Quote(raw), " is outside the range of ", DTypeName(options_.dtype),
                       options_.dtype == DType::kF32
                           ? ". Fix: set CsvOptions.dtype = DType::kF64, or rescale the column"
                           : ". Fix: rescale the column, or leave it out of CsvOptions.columns"));
    case Number::kNotANumber:
      break;
  }
  return Error(absl::StrCat(
      where(), s.empty() ? "an empty field" : Quote(raw), " is not a number",
      s.empty() ? " (the empty field was removed from CsvOptions.na_values)" : "",
      ". Fix: correct the value, add it to CsvOptions.na_values if it means \"missing\", or "
      "leave the column out of CsvOptions.columns (columns that are not selected are never "
      "parsed)"));
}

absl::Status Parser::DataRecord() {
  const int64_t got = static_cast<int64_t>(fields_.size());
  if (got != num_columns_) {
    const std::string first =
        options_.header ? absl::StrCat("the header (line ", Thousands(header_line_), ")")
                        : absl::StrCat("the first row (line ", Thousands(header_line_), ")");
    return Error(absl::StrCat(
        Where(record_line_), ": ", got, got == 1 ? " field" : " fields", ", but ", first, " has ",
        num_columns_, ". Fix: give every row one field per column (look for a missing or extra ",
        ShowChar(options_.delimiter), ", or a field with a delimiter in it that is not quoted)"));
  }
  const size_t features = feature_columns_.size();
  for (int64_t i = 0; i < num_columns_; ++i) {
    if (feature_slot_[i] < 0 && i != label_column_) continue;
    double v = 0;
    absl::Status s = ParseField(i, &v);
    if (!s.ok()) return s;
    if (feature_slot_[i] >= 0) row_[feature_slot_[i]] = v;
    if (i == label_column_) row_[features] = v;
  }
  if (options_.dtype == DType::kF32) {
    // Exact: each value was parsed as float (or is the fill value, checked to fit).
    for (size_t j = 0; j < features; ++j) f32_.push_back(static_cast<float>(row_[j]));
    if (label_column_ >= 0) f32_labels_.push_back(static_cast<float>(row_[features]));
  } else {
    f64_.insert(f64_.end(), row_.begin(), row_.begin() + features);
    if (label_column_ >= 0) f64_labels_.push_back(row_[features]);
  }
  ++rows_;
  return absl::OkStatus();
}

absl::Status CheckOptions(absl::string_view source, const CsvOptions& o) {
  const auto bad = [&](absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": ", what));
  };
  if (o.dtype != DType::kF32 && o.dtype != DType::kF64) {
    return bad(absl::StrCat("CsvOptions.dtype is ", DTypeName(o.dtype),
                            "; LoadCsv reads float32 or float64. Fix: use DType::kF32 or "
                            "DType::kF64 and cast the tensor (Tensor::CastTo)"));
  }
  const std::pair<const char*, char> chars[] = {
      {"delimiter", o.delimiter}, {"quotechar", o.quotechar}, {"comment", o.comment}};
  for (const auto& [name, c] : chars) {
    const bool may_be_nul = absl::string_view(name) == "comment";  // '\0': no comments
    if (c == '\n' || c == '\r' || (c == '\0' && !may_be_nul)) {
      return bad(absl::StrCat("CsvOptions.", name, " is ", Quote(absl::string_view(&c, 1)),
                              ", which cannot mark fields. Fix: use a printable character"));
    }
  }
  if (o.quotechar == ' ' || o.quotechar == '\t' || o.comment == ' ' || o.comment == '\t') {
    return bad(
        "CsvOptions.quotechar and .comment cannot be a space or a tab. Fix: use another "
        "character ('\\0' turns comments off)");
  }
  if (o.delimiter == o.quotechar || o.delimiter == o.comment || o.quotechar == o.comment) {
    return bad(absl::StrCat("CsvOptions.delimiter ", ShowChar(o.delimiter), ", .quotechar ",
                            ShowChar(o.quotechar), " and .comment ", ShowChar(o.comment),
                            " must differ. Fix: change one of them"));
  }
  if (o.dtype == DType::kF32 && o.fill_value.has_value() && std::isfinite(*o.fill_value) &&
      std::fabs(*o.fill_value) > static_cast<double>(std::numeric_limits<float>::max())) {
    return bad(absl::StrCat("CsvOptions.fill_value ", *o.fill_value,
                            " is outside the range of float32. Fix: use a smaller value or "
                            "DType::kF64"));
  }
  return absl::OkStatus();
}

absl::StatusOr<CsvTable> Parser::Run(absl::string_view text) {
  if (absl::Status s = CheckOptions(source_, options_); !s.ok()) return s;
  const size_t text_size = text.size();
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // UTF-8 byte order mark

  csv_parser p;
  if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI) != 0) {
    return absl::ResourceExhaustedError(absl::StrCat(source_, ": libcsv could not start"));
  }
  absl::Cleanup free_parser = [&p] { csv_free(&p); };
  csv_set_delim(&p, static_cast<unsigned char>(options_.delimiter));
  csv_set_quote(&p, static_cast<unsigned char>(options_.quotechar));

  size_t pos = 0;
  size_t line_start = 0;  // where line_ begins in text
  while (pos < text.size()) {
    const size_t end = text.find_first_of("\r\n", pos);
    const size_t stop = end == absl::string_view::npos ? text.size() : end + 1;
    const absl::string_view chunk = text.substr(pos, stop - pos);
    bool skip = false;
    if (at_record_start_) {
      const size_t first = chunk.find_first_not_of(
          options_.delimiter == '\t' ? " " : (options_.delimiter == ' ' ? "\t" : " \t"));
      skip = first == absl::string_view::npos || chunk[first] == '\r' || chunk[first] == '\n' ||
             (options_.comment != '\0' && chunk[first] == options_.comment);
    }
    if (!skip) {
      if (at_record_start_) record_line_ = line_;
      at_record_start_ = false;
      // libcsv grows its field buffer by this block size: one step covers any field of the
      // chunk (the default, 128 bytes, would copy a long field over and over).
      csv_set_blk_size(&p, std::max<size_t>(128, chunk.size() + 1));
      const size_t done = csv_parse(&p, chunk.data(), chunk.size(), OnField, OnRecord, this);
      if (!status_.ok()) return status_;
      if (done != chunk.size()) {
        const int err = csv_error(&p);
        if (err != CSV_EPARSE) {
          return absl::ResourceExhaustedError(
              absl::StrCat(Where(line_), ": libcsv failed: ", csv_strerror(err)));
        }
        const char c = chunk[done];
        const std::string at = absl::StrCat(Where(line_), ", character ",
                                            Thousands(pos + done - line_start + 1), ": ");
        if (c == options_.quotechar) {
          return Error(
              absl::StrCat(at, "a stray quote ", ShowChar(c),
                           ". Fix: a field that holds the quote character "
                           "must be enclosed in quotes, with each quote inside doubled (RFC 4180: "
                           "\"say \"\"hi\"\"\")"));
        }
        return Error(absl::StrCat(at, ShowChar(c),
                                  " after the closing quote of a quoted field. Fix: put the whole "
                                  "field inside the quotes, or end it with a delimiter ",
                                  ShowChar(options_.delimiter), " right after the closing quote"));
      }
    }
    if (end != absl::string_view::npos &&
        (text[end] == '\n' || end + 1 == text.size() || text[end + 1] != '\n')) {
      ++line_;
      line_start = end + 1;
    }
    pos = stop;
  }
  if (csv_fini(&p, OnField, OnRecord, this) != 0) {
    return Error(absl::StrCat(
        source_, ": the row that starts on line ", Thousands(record_line_),
        " has a quoted field that is never closed: the file ends inside it. Fix: add the "
        "closing quote ",
        ShowChar(options_.quotechar),
        " (and double any quote inside the "
        "field)"));
  }
  if (!status_.ok()) return status_;
  return Finish(text_size);
}

absl::StatusOr<CsvTable> Parser::Finish(size_t text_size) {
  if (text_size == 0) {
    return Error(absl::StrCat(source_,
                              ": the file is empty (0 bytes). Fix: write a header "
                              "row and at least one data row"));
  }
  if (num_columns_ < 0) {
    return Error(absl::StrCat(source_, ": no rows, only blank lines",
                              options_.comment != '\0' ? " and comment lines" : "",
                              ". Fix: write a header row and at least one data row"));
  }
  if (rows_ == 0) {
    return Error(absl::StrCat(source_, ": a header (line ", Thousands(header_line_), ", ",
                              num_columns_,
                              num_columns_ == 1 ? " column: " : " columns: ", HeaderColumns(),
                              ") but no data rows. Fix: add data rows, or set "
                              "CsvOptions.header = false if the first row is data"));
  }
  CsvTable table;
  const int64_t features = static_cast<int64_t>(feature_columns_.size());
  absl::StatusOr<Tensor> x = options_.dtype == DType::kF32
                                 ? Tensor::CreateFromVector(Shape{rows_, features}, f32_)
                                 : Tensor::CreateFromVector(Shape{rows_, features}, f64_);
  if (!x.ok())
    return absl::Status(x.status().code(), absl::StrCat(source_, ": ", x.status().message()));
  table.features = *std::move(x);
  for (int64_t c : feature_columns_) table.column_names.push_back(names_[c]);
  if (label_column_ >= 0) {
    absl::StatusOr<Tensor> y = options_.dtype == DType::kF32
                                   ? Tensor::CreateFromVector(Shape{rows_}, f32_labels_)
                                   : Tensor::CreateFromVector(Shape{rows_}, f64_labels_);
    if (!y.ok()) {
      return absl::Status(y.status().code(), absl::StrCat(source_, ": ", y.status().message()));
    }
    table.labels = *std::move(y);
    table.label_name = names_[label_column_];
  }
  return table;
}

}  // namespace

std::string CsvColumn::ToString() const {
  return by_name_ ? Quote(name_) : absl::StrCat("index ", index_);
}

std::vector<std::string> DefaultNaValues() {
  return {"",     "#N/A",   "#N/A N/A", "#NA",  "-1.#IND", "-1.#QNAN", "-NaN",
          "-nan", "1.#IND", "1.#QNAN",  "<NA>", "N/A",     "NA",       "NULL",
          "NaN",  "None",   "n/a",      "nan",  "null"};
}

absl::StatusOr<CsvTable> ParseCsv(absl::string_view text, const CsvOptions& options,
                                  absl::string_view source) {
  try {
    return Parser(source, options).Run(text);
  } catch (const std::exception& e) {
    return absl::ResourceExhaustedError(
        absl::StrCat(source, ": out of memory while reading the file (", e.what(), ")"));
  }
}

absl::StatusOr<CsvTable> LoadCsv(const std::string& path, const CsvOptions& options) {
  absl::StatusOr<std::string> text = ReadWholeFile(path);
  if (!text.ok()) return text.status();
  return ParseCsv(*text, options, path);
}

}  // namespace graft::io
