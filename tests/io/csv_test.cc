// Tests for io/csv.h: every option and every error, on small files written to TEST_TMPDIR, and
// the regressions the fuzzer (tests/fuzz/csv_fuzzer.cc) found.
#include "io/csv.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "graph/tensor.h"
#include "gtest/gtest.h"
#include "tests/io/idx_fixtures.h"

namespace graft::io {
namespace {

using ::graft::io::testing::TestDir;
using ::graft::io::testing::WriteFile;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// Writes `text` to <test dir>/t.csv and loads it.
absl::StatusOr<CsvTable> Load(const std::string& text, const CsvOptions& options = {}) {
  return LoadCsv(WriteFile(TestDir("csv_test") + "/t.csv", text), options);
}

// The error message of loading `text`; a test failure when it loads.
std::string Error(const std::string& text, const CsvOptions& options = {},
                  absl::StatusCode code = absl::StatusCode::kInvalidArgument) {
  absl::StatusOr<CsvTable> t = Load(text, options);
  EXPECT_FALSE(t.ok()) << "loaded " << t->features.shape().ToString();
  if (t.ok()) return "";
  EXPECT_EQ(t.status().code(), code) << t.status();
  // The file is named first, and every InvalidArgument ends with a fix.
  EXPECT_THAT(std::string(t.status().message()), HasSubstr("t.csv"));
  if (code == absl::StatusCode::kInvalidArgument) {
    EXPECT_THAT(std::string(t.status().message()), HasSubstr("Fix: "));
  }
  return std::string(t.status().message());
}

std::vector<double> Values(const Tensor& t) { return t.ToVector<double>(); }

TEST(LoadCsv, HeaderGivesNamesAndFloat32ByDefault) {
  absl::StatusOr<CsvTable> t = Load("a,b\n1,2.5\n-3,4e2\n");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->features.dtype(), DType::kF32);
  EXPECT_EQ(t->features.shape(), Shape({2, 2}));
  EXPECT_THAT(Values(t->features), ElementsAre(1, 2.5, -3, 400));
  EXPECT_THAT(t->column_names, ElementsAre("a", "b"));
  EXPECT_FALSE(t->labels.has_value());
  EXPECT_EQ(t->label_name, "");
}

TEST(LoadCsv, WithoutHeaderEveryRowIsDataAndColumnsAreNamedByIndex) {
  absl::StatusOr<CsvTable> t = Load("1,2\n3,4\n", {.header = false});
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_THAT(Values(t->features), ElementsAre(1, 2, 3, 4));
  EXPECT_THAT(t->column_names, ElementsAre("0", "1"));
}

TEST(LoadCsv, Float32RoundsOnceAndFloat64KeepsTheDouble) {
  absl::StatusOr<CsvTable> f = Load("x\n0.1\n16777217\n");
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->features.data<float>()[0], 0.1f);
  EXPECT_EQ(f->features.data<float>()[1], 16777216.0f);  // 2^24 + 1 is not a float
  absl::StatusOr<CsvTable> d = Load("x\n0.1\n16777217\n", {.dtype = DType::kF64});
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->features.dtype(), DType::kF64);
  EXPECT_EQ(d->features.data<double>()[0], 0.1);
  EXPECT_EQ(d->features.data<double>()[1], 16777217.0);
}

TEST(LoadCsv, NumberSpellings) {
  absl::StatusOr<CsvTable> t =
      Load("x\n+1.5\n .5 \n5.\n1E3\n-0\ninf\n-infinity\n\"  7 \"\n", {.dtype = DType::kF64});
  ASSERT_TRUE(t.ok()) << t.status();
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_THAT(Values(t->features), ElementsAre(1.5, 0.5, 5, 1000, 0, inf, -inf, 7));
  EXPECT_TRUE(std::signbit(t->features.data<double>()[4]));
}

TEST(LoadCsv, OtherDelimiters) {
  absl::StatusOr<CsvTable> semi = Load("a;b\n1;2\n", {.delimiter = ';'});
  ASSERT_TRUE(semi.ok()) << semi.status();
  EXPECT_THAT(Values(semi->features), ElementsAre(1, 2));
  // Tabs separate fields here (they are not blanks to trim): an empty field stays a field.
  absl::StatusOr<CsvTable> tsv = Load("a\tb\tc\n1\t\t3\n", {.delimiter = '\t', .fill_value = 9});
  ASSERT_TRUE(tsv.ok()) << tsv.status();
  EXPECT_THAT(Values(tsv->features), ElementsAre(1, 9, 3));
  absl::StatusOr<CsvTable> space = Load("a b\n1 2\n", {.delimiter = ' '});
  ASSERT_TRUE(space.ok()) << space.status();
  EXPECT_THAT(Values(space->features), ElementsAre(1, 2));
}

TEST(LoadCsv, ColumnsByNameAndIndexInTheGivenOrder) {
  const std::string csv = "date,temp,rain,wind\n2020-01-01,1,2,3\n2020-01-02,4,5,6\n";
  // The date column is never parsed, so its text is no error.
  absl::StatusOr<CsvTable> t = Load(csv, {.columns = {"wind", 1}});
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->features.shape(), Shape({2, 2}));
  EXPECT_THAT(Values(t->features), ElementsAre(3, 1, 6, 4));
  EXPECT_THAT(t->column_names, ElementsAre("wind", "temp"));
  // Any integer type names an index.
  const size_t rain = 2;
  absl::StatusOr<CsvTable> u = Load(csv, {.columns = {rain}});
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_THAT(Values(u->features), ElementsAre(2, 5));
}

TEST(LoadCsv, LabelColumnIsReturnedSeparately) {
  const std::string csv = "a,y,b\n1,10,2\n3,30,4\n";
  absl::StatusOr<CsvTable> t = Load(csv, {.label_column = "y"});
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_THAT(Values(t->features), ElementsAre(1, 2, 3, 4));
  EXPECT_THAT(t->column_names, ElementsAre("a", "b"));
  ASSERT_TRUE(t->labels.has_value());
  EXPECT_EQ(t->labels->shape(), Shape({2}));
  EXPECT_EQ(t->labels->dtype(), DType::kF32);
  EXPECT_THAT(Values(*t->labels), ElementsAre(10, 30));
  EXPECT_EQ(t->label_name, "y");
  // By index, and also as a feature (a univariate series forecasting itself).
  absl::StatusOr<CsvTable> u =
      Load(csv, {.columns = {"y", "a"}, .label_column = 1, .dtype = DType::kF64});
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_THAT(Values(u->features), ElementsAre(10, 1, 30, 3));
  EXPECT_THAT(Values(*u->labels), ElementsAre(10, 30));
  EXPECT_EQ(u->labels->dtype(), DType::kF64);
}

TEST(LoadCsv, MissingValuesAreAnErrorByDefault) {
  EXPECT_THAT(Error("a,b\n1,2\n3,\n"),
              AllOf(HasSubstr("t.csv: line 3, column 'b': missing value (an empty field). Fix: "
                              "set CsvOptions.fill_value"),
                    HasSubstr("std::nan")));
  EXPECT_THAT(Error("a,b\n1,NA\n"), HasSubstr("line 2, column 'b': missing value ('NA', one of "
                                              "na_values)"));
  EXPECT_THAT(Error("a,b\n1, n/a \n"), HasSubstr("missing value ('n/a', one of na_values)"));
  EXPECT_THAT(Error("a,b\n1,\"\"\n"), HasSubstr("missing value (an empty field)"));
  // NaN in a spelling that is not in na_values is missing too: a table never holds a NaN that
  // the user did not ask for.
  EXPECT_THAT(Error("a\nnan(0x7)\n"), HasSubstr("missing value ('nan(0x7)' is NaN)"));
  EXPECT_THAT(Error("a\nNAN\n"), HasSubstr("missing value ('NAN' is NaN)"));
}

TEST(LoadCsv, FillValueReplacesMissingValues) {
  absl::StatusOr<CsvTable> t =
      Load("a,b\n1,\n,NaN\nnull,n/a\nNAN,4\n", {.label_column = "b", .fill_value = -1});
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_THAT(Values(t->features), ElementsAre(1, -1, -1, -1));
  EXPECT_THAT(Values(*t->labels), ElementsAre(-1, -1, -1, 4));
  absl::StatusOr<CsvTable> n =
      Load("a\n1\n\"\"\n3\n", {.dtype = DType::kF64, .fill_value = std::nan("")});
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(n->features.data<double>()[0], 1);
  EXPECT_TRUE(std::isnan(n->features.data<double>()[1]));
}

TEST(LoadCsv, NaValuesCanBeChosen) {
  absl::StatusOr<CsvTable> t = Load("a\n?\n2\n", {.na_values = {"?"}, .fill_value = 0});
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_THAT(Values(t->features), ElementsAre(0, 2));
  // Without "" in na_values an empty field is no longer a missing value, only not a number.
  EXPECT_THAT(Error("a,b\n1,\n", {.na_values = {"?"}, .fill_value = 0}),
              HasSubstr("line 2, column 'b': an empty field is not a number (the empty field "
                        "was removed from CsvOptions.na_values)"));
  // "NA" is now an ordinary word.
  EXPECT_THAT(Error("a\nNA\n", {.na_values = {"?"}}), HasSubstr("'NA' is not a number"));
}

TEST(LoadCsv, CommentAndBlankLinesAreSkipped) {
  absl::StatusOr<CsvTable> t = Load("# made by a sensor\na,b\n\n1,2\n  # a note\n \t \n3,4\n#\n");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_THAT(Values(t->features), ElementsAre(1, 2, 3, 4));
  // Line numbers still count the skipped lines.
  EXPECT_THAT(Error("# c\n\na\n# c\nx\n"), HasSubstr("line 5, column 'a': 'x' is not a number"));
  // Another comment character, or none.
  absl::StatusOr<CsvTable> pct = Load("%c\na\n1\n", {.comment = '%'});
  ASSERT_TRUE(pct.ok()) << pct.status();
  EXPECT_THAT(Error("a\n#1\n", {.comment = '\0'}), HasSubstr("'#1' is not a number"));
}

TEST(LoadCsv, CommentCharacterInsideAQuotedFieldIsData) {
  // The header's first name runs over two lines; its second line starts with '#'.
  absl::StatusOr<CsvTable> t = Load("\"a\n# not a comment\",b\n1,2\n");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_THAT(t->column_names, ElementsAre("a\n# not a comment", "b"));
  EXPECT_THAT(Error("\"a\n# x\",b\n1,2\n3\n"), HasSubstr("line 4: 1 field, but the header "
                                                         "(line 1) has 2"));
}

TEST(LoadCsv, LineEndsCrlfLfAndCr) {
  for (const std::string& eol : {std::string("\r\n"), std::string("\n"), std::string("\r")}) {
    const std::string csv = absl::StrCat("a,b", eol, "1,2", eol, eol, "3,4", eol);
    absl::StatusOr<CsvTable> t = Load(csv);
    ASSERT_TRUE(t.ok()) << t.status();
    EXPECT_THAT(Values(t->features), ElementsAre(1, 2, 3, 4));
    EXPECT_THAT(Error(absl::StrCat(csv, "5,x", eol)), HasSubstr("line 5, column 'b': 'x'"));
  }
}

TEST(LoadCsv, QuotedFieldsFollowRfc4180) {
  absl::StatusOr<CsvTable> t =
      Load("\"a,1\",\"say \"\"b\"\"\",c\n\"1.5\",\" -2 \",3\n", {.dtype = DType::kF64});
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_THAT(t->column_names, ElementsAre("a,1", "say \"b\"", "c"));
  EXPECT_THAT(Values(t->features), ElementsAre(1.5, -2, 3));
  absl::StatusOr<CsvTable> s = Load("'a'\n'1'\n", {.quotechar = '\''});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_THAT(s->column_names, ElementsAre("a"));
}

TEST(LoadCsv, ByteOrderMarkAndNoFinalNewline) {
  absl::StatusOr<CsvTable> t = Load("\xEF\xBB\xBFtemp\n1\n2");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_THAT(t->column_names, ElementsAre("temp"));
  EXPECT_THAT(Values(t->features), ElementsAre(1, 2));
}

TEST(LoadCsv, NotANumberNamesFileLineWithThousandsAndColumn) {
  std::string csv = "day,temp\n";
  for (int i = 2; i < 1204; ++i) absl::StrAppend(&csv, i, ",", i, ".5\n");
  absl::StrAppend(&csv, "1204,abc\n");
  const std::string message = Error(csv);
  EXPECT_THAT(message, StartsWith(TestDir("csv_test") + "/t.csv: line 1,204, column 'temp': 'abc' "
                                                        "is not a number. Fix: "));
  // Without a header the column is named by its index.
  EXPECT_THAT(Error("1,2\n3,x y\n", {.header = false}),
              HasSubstr("t.csv: line 2, column 1: 'x y' is not a number"));
  // An empty or repeated header name is shown with the index.
  EXPECT_THAT(Error("a,a\n1,x\n", {.columns = {1}}), HasSubstr("column 1 ('a'): 'x'"));
  EXPECT_THAT(Error(",b\nx,1\n"), HasSubstr("column 0 (''): 'x'"));
}

TEST(LoadCsv, LongAndOddFieldsAreCutAndEscapedInMessages) {
  const std::string message = Error(absl::StrCat("a\n", std::string(100, 'z'), "\x01\n"));
  EXPECT_THAT(message, HasSubstr(absl::StrCat("'", std::string(40, 'z'), "...' is not")));
  EXPECT_THAT(Error("a\nx\x01y\n"), HasSubstr("'x\\x01y' is not a number"));
}

TEST(LoadCsv, NumbersOutsideTheDtypeRange) {
  EXPECT_THAT(Error("a\n1e39\n"), HasSubstr("line 2, column 'a': '1e39' is outside the range of "
                                            "float32. Fix: set CsvOptions.dtype = DType::kF64"));
  absl::StatusOr<CsvTable> d = Load("a\n1e39\n", {.dtype = DType::kF64});
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->features.data<double>()[0], 1e39);
  EXPECT_THAT(Error("a\n-1e400\n", {.dtype = DType::kF64}), HasSubstr("outside the range of "
                                                                      "float64"));
  // Too small for a float: zero with its sign, as NumPy's float64 -> float32 cast gives.
  absl::StatusOr<CsvTable> tiny = Load("a\n1e-50\n-1e-50\n1e-40\n");
  ASSERT_TRUE(tiny.ok()) << tiny.status();
  EXPECT_EQ(tiny->features.data<float>()[0], 0.0f);
  EXPECT_TRUE(std::signbit(tiny->features.data<float>()[1]));
  EXPECT_EQ(tiny->features.data<float>()[2], 1e-40f);  // subnormal
}

TEST(LoadCsv, RaggedRows) {
  EXPECT_THAT(Error("a,b,c\n1,2,3\n4,5\n"),
              HasSubstr("t.csv: line 3: 2 fields, but the header (line 1) has 3. Fix: give every "
                        "row one field per column (look for a missing or extra ','"));
  EXPECT_THAT(Error("a,b\n1,2,3\n"), HasSubstr("line 2: 3 fields, but the header (line 1) has 2"));
  EXPECT_THAT(Error("a,b\n1,2,\n"), HasSubstr("line 2: 3 fields"));
  EXPECT_THAT(Error("\n1,2\n3\n", {.header = false}),
              HasSubstr("line 3: 1 field, but the first row (line 2) has 2"));
  EXPECT_THAT(Error("a\tb\n1\n", {.delimiter = '\t'}), HasSubstr("'\\t' (tab)"));
}

TEST(LoadCsv, BadColumnSelections) {
  const std::string csv = "Temp,rain\n1,2\n";
  EXPECT_THAT(Error(csv, {.columns = {"temp"}}),
              HasSubstr("t.csv: CsvOptions.columns[0] names column 'temp', but the header (line "
                        "1) has no such column (names are case-sensitive: did you mean 'Temp'?); "
                        "its columns are 'Temp', 'rain'. Fix: "));
  EXPECT_THAT(Error(csv, {.columns = {0, "snow"}}), HasSubstr("CsvOptions.columns[1] names "
                                                              "column 'snow'"));
  EXPECT_THAT(Error(csv, {.columns = {2}}),
              HasSubstr("CsvOptions.columns[0] is index 2, but the file has 2 columns (indices 0 "
                        "to 1)"));
  EXPECT_THAT(Error(csv, {.columns = {-1}}), HasSubstr("is index -1"));
  EXPECT_THAT(Error(csv, {.label_column = "y"}), HasSubstr("CsvOptions.label_column names column "
                                                           "'y'"));
  EXPECT_THAT(Error(csv, {.columns = {"rain", 1}}),
              HasSubstr("CsvOptions.columns[1] (index 1) is column 'rain', which "
                        "CsvOptions.columns[0] already selects"));
  EXPECT_THAT(Error("1,2\n", {.header = false, .columns = {"a"}}),
              HasSubstr("CsvOptions.header is false, so the columns have no names"));
  EXPECT_THAT(Error("a,b,a\n1,2,3\n", {.columns = {"a"}}),
              HasSubstr("names column 'a', which the header (line 1) has 2 times, at indices 0, "
                        "2. Fix: use the 0-based index"));
  EXPECT_THAT(Error("y\n1\n", {.label_column = "y"}), HasSubstr("leaves no feature column"));
}

TEST(LoadCsv, EmptyHeaderOnlyAndMissingFiles) {
  EXPECT_THAT(Error(""), HasSubstr("t.csv: the file is empty (0 bytes)"));
  EXPECT_THAT(Error("\n \r\n# only a comment\n"),
              HasSubstr("t.csv: no rows, only blank lines and comment lines"));
  EXPECT_THAT(Error("a,b\n"), HasSubstr("t.csv: a header (line 1, 2 columns: 'a', 'b') but no "
                                        "data rows. Fix: add data rows, or set "
                                        "CsvOptions.header = false"));
  EXPECT_THAT(Error("a,b\n# c\n\n"), HasSubstr("but no data rows"));

  const std::string dir = TestDir("csv_test");
  absl::StatusOr<CsvTable> none = LoadCsv(dir + "/none.csv");
  EXPECT_EQ(none.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(none.status().message()), HasSubstr("none.csv: cannot open"));
  absl::StatusOr<CsvTable> folder = LoadCsv(dir);
  EXPECT_EQ(folder.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(folder.status().message()), HasSubstr("is a directory"));
}

TEST(LoadCsv, BadQuoting) {
  EXPECT_THAT(Error("a,b\n1,2\"3\n"),
              HasSubstr("t.csv: line 2, character 4: a stray quote '\"'. Fix: a field that "
                        "holds the quote character must be enclosed in quotes"));
  EXPECT_THAT(Error("a,b\n\"1\"x,2\n"),
              HasSubstr("line 2, character 4: 'x' after the closing quote of a quoted field"));
  EXPECT_THAT(Error("a,b\n1,2\n3,\"4\n5\n"),
              HasSubstr("t.csv: the row that starts on line 3 has a quoted field that is never "
                        "closed: the file ends inside it"));
}

TEST(LoadCsv, InvalidOptions) {
  EXPECT_THAT(Error("a\n1\n", {.dtype = DType::kI64}),
              HasSubstr("CsvOptions.dtype is int64; LoadCsv reads float32 or float64"));
  EXPECT_THAT(Error("a\n1\n", {.delimiter = '\n'}), HasSubstr("CsvOptions.delimiter is '\\n'"));
  EXPECT_THAT(Error("a\n1\n", {.quotechar = '\0'}), HasSubstr("CsvOptions.quotechar is"));
  EXPECT_THAT(Error("a\n1\n", {.delimiter = '#'}), HasSubstr("must differ"));
  EXPECT_THAT(Error("a\n1\n", {.comment = ' '}), HasSubstr("cannot be a space or a tab"));
  EXPECT_THAT(Error("a\n1\n", {.fill_value = 1e300}),
              HasSubstr("CsvOptions.fill_value 1e+300 is outside the range of float32"));
}

TEST(LoadCsv, ReadsTheStatsmodelsCo2Excerpt) {
  // The real file's first 30 lines: a date column to skip and empty fields for missing weeks.
  const std::string path = "tests/data/co2/co2_head.csv";
  EXPECT_THAT(std::string(LoadCsv(path, {.columns = {"co2"}}).status().message()),
              HasSubstr("co2_head.csv: line 8, column 'co2': missing value (an empty field)"));
  absl::StatusOr<CsvTable> t =
      LoadCsv(path, {.columns = {"co2"}, .dtype = DType::kF64, .fill_value = std::nan("")});
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->features.shape(), Shape({29, 1}));
  EXPECT_THAT(t->column_names, ElementsAre("co2"));
  const std::vector<double> v = Values(t->features);
  EXPECT_EQ(std::count_if(v.begin(), v.end(), [](double x) { return std::isnan(x); }), 12);
  EXPECT_EQ(v[0], 316.1);          // 19580329,316.1
  EXPECT_EQ(v[5], 316.9);          // 19580503,316.9
  EXPECT_TRUE(std::isnan(v[6]));   // 19580510, (line 8)
  EXPECT_TRUE(std::isnan(v[28]));  // the last line, 19581011, without a value
}

TEST(ParseCsv, ReadsBytesAndNamesTheSource) {
  absl::StatusOr<CsvTable> t = ParseCsv("a\n1\n");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_THAT(Values(t->features), ElementsAre(1));
  absl::StatusOr<CsvTable> bad = ParseCsv("a\nx\n", {}, "sensor.csv");
  EXPECT_THAT(std::string(bad.status().message()), StartsWith("sensor.csv: line 2"));
}

TEST(CsvColumn, ToString) {
  EXPECT_EQ(CsvColumn("temp").ToString(), "'temp'");
  EXPECT_EQ(CsvColumn(3).ToString(), "index 3");
  EXPECT_TRUE(CsvColumn(std::string("x")).by_name());
  EXPECT_FALSE(CsvColumn(int64_t{4}).by_name());
}

}  // namespace
}  // namespace graft::io
