// libFuzzer target: the CSV reader (io/csv.h, ParseCsv) on arbitrary text with options chosen
// by the input's last bytes (header, delimiter, quote and comment characters, columns and label
// by name or index, dtype, na_values, fill value; some of them invalid). A bad file or bad
// options must be a Status that names the source and, when the input is at fault, gives a fix:
// never a crash, a leak, undefined behaviour, or a NaN the options did not ask for. Run with
//   tools/fuzz.sh 600 csv_fuzzer
// Seeds in tests/fuzz/corpus/csv_fuzzer (plain CSV files; their last bytes pick the options).
#include <fuzzer/FuzzedDataProvider.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "graph/tensor.h"
#include "io/csv.h"

namespace {

using graft::DType;
using graft::Tensor;
using graft::io::CsvColumn;
using graft::io::CsvOptions;

template <typename T, size_t N>
T Pick(FuzzedDataProvider& in, const T (&options)[N]) {
  return options[in.ConsumeIntegralInRange<size_t>(0, N - 1)];
}

CsvColumn PickColumn(FuzzedDataProvider& in) {
  static const char* const kNames[] = {"a", "b", "temp", "0", "", "A"};
  if (in.ConsumeBool()) return CsvColumn(Pick(in, kNames));
  return CsvColumn(in.ConsumeIntegralInRange<int64_t>(-1, 4));
}

CsvOptions PickOptions(FuzzedDataProvider& in) {
  static const char kDelimiters[] = {',', ',', ';', '\t', ' ', '|', '"', '\n', '#', '\0'};
  static const char kQuotes[] = {'"', '"', '\''};
  static const char kComments[] = {'#', '#', '\0', '%', ' '};
  static const DType kDtypes[] = {DType::kF32, DType::kF32, DType::kF64, DType::kF64, DType::kI32};
  static const double kFills[] = {0.0, -1.0, std::numeric_limits<double>::quiet_NaN(),
                                  std::numeric_limits<double>::infinity(), 1e300};
  CsvOptions o;
  o.header = in.ConsumeBool();
  o.delimiter = Pick(in, kDelimiters);
  o.quotechar = Pick(in, kQuotes);
  o.comment = Pick(in, kComments);
  o.dtype = Pick(in, kDtypes);
  const int columns = in.ConsumeIntegralInRange(0, 3);
  for (int i = 0; i < columns; ++i) o.columns.push_back(PickColumn(in));
  if (in.ConsumeBool()) o.label_column = PickColumn(in);
  switch (in.ConsumeIntegralInRange(0, 3)) {
    case 0:
      o.na_values = {"?"};
      break;
    case 1:
      o.na_values = {};
      break;
    default:
      break;
  }
  if (in.ConsumeBool()) o.fill_value = Pick(in, kFills);
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const CsvOptions options = PickOptions(in);
  const std::string text = in.ConsumeRemainingBytesAsString();
  absl::StatusOr<graft::io::CsvTable> t = graft::io::ParseCsv(text, options, "fuzz.csv");
  if (!t.ok()) {
    // Every error names the source; the input's errors say how to fix them.
    const absl::string_view m = t.status().message();
    if (!absl::StartsWith(m, "fuzz.csv: ")) std::abort();
    if (t.status().code() == absl::StatusCode::kInvalidArgument && !absl::StrContains(m, "Fix: ")) {
      std::abort();
    }
    if (t.status().code() != absl::StatusCode::kInvalidArgument &&
        t.status().code() != absl::StatusCode::kResourceExhausted) {
      std::abort();
    }
    return 0;
  }
  // A table that loads: (rows, columns) of the asked dtype, named columns, (rows,) labels; at
  // most one value per input byte (plus the last row's); NaN only when fill_value is NaN.
  const Tensor& x = t->features;
  if (x.dtype() != options.dtype || x.shape().rank() != 2) std::abort();
  const int64_t rows = x.shape().dim(0);
  if (rows < 1 || x.shape().dim(1) < 1) std::abort();
  if (t->column_names.size() != static_cast<size_t>(x.shape().dim(1))) std::abort();
  if (static_cast<uint64_t>(x.num_elements()) > text.size() + 1) std::abort();
  absl::StatusOr<int64_t> n = x.shape().CheckedNumBytes(x.dtype());
  if (!n.ok() || static_cast<size_t>(*n) != x.nbytes()) std::abort();
  const bool nan_allowed = options.fill_value.has_value() && std::isnan(*options.fill_value);
  std::vector<const Tensor*> tensors = {&x};
  if (options.label_column.has_value() != t->labels.has_value()) std::abort();
  if (t->labels.has_value()) {
    const Tensor& y = *t->labels;
    if (y.dtype() != options.dtype || y.shape().rank() != 1 || y.shape().dim(0) != rows) {
      std::abort();
    }
    tensors.push_back(&y);
  }
  for (const Tensor* z : tensors) {
    for (int64_t i = 0; i < z->num_elements(); ++i) {
      if (std::isnan(z->AsDouble(i)) && !nan_allowed) std::abort();
    }
  }
  return 0;
}
