// The CSVLogger reader behind //tools:plot_history.
#include "tools/history_csv.h"

#include <cmath>

#include "gtest/gtest.h"
#include "tests/testing.h"

namespace graft::tools {
namespace {

using ::graft::testing::Contains;

TEST(ParseHistoryCsv, ReadsCsvLoggerFiles) {
  // As Keras's CSVLogger writes it (keys sorted, epoch from 0), with a CRLF line and an NA.
  absl::StatusOr<keras::History> h = ParseHistoryCsv(
      "epoch,accuracy,loss,val_accuracy,val_loss\n"
      "0,0.61,0.66,0.70,0.58\r\n"
      "1,0.74,0.52,NA,0.49\n",
      "log.csv");
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->epoch, (std::vector<int>{0, 1}));
  EXPECT_EQ(h->history.size(), 4u);
  EXPECT_EQ(h->history.at("loss"), (std::vector<double>{0.66, 0.52}));
  EXPECT_EQ(h->history.at("val_loss"), (std::vector<double>{0.58, 0.49}));
  EXPECT_DOUBLE_EQ(h->history.at("val_accuracy")[0], 0.70);
  EXPECT_TRUE(std::isnan(h->history.at("val_accuracy")[1]));
  EXPECT_EQ(h->history.count("epoch"), 0u);
}

TEST(ParseHistoryCsv, WithoutAnEpochColumnRowsAreEpochs) {
  absl::StatusOr<keras::History> h = ParseHistoryCsv("loss\n1.5\n1.25\n", "log.csv");
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_TRUE(h->epoch.empty());
  EXPECT_EQ(h->history.at("loss"), (std::vector<double>{1.5, 1.25}));
}

TEST(ParseHistoryCsv, ErrorsNameTheFileTheLineAndAFix) {
  absl::Status s = ParseHistoryCsv("epoch,loss\n0,0.5\n1\n", "run.csv").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(s.message(), "run.csv:3: has 1 values, the header has 2")) << s;
  s = ParseHistoryCsv("epoch,loss\n0,abc\n", "run.csv").status();
  EXPECT_TRUE(Contains(s.message(), "run.csv:2: column \"loss\" holds \"abc\"")) << s;
  s = ParseHistoryCsv("epoch,loss\n0.5,1\n", "run.csv").status();
  EXPECT_TRUE(Contains(s.message(), "epoch is \"0.5\"")) << s;
  s = ParseHistoryCsv("\"epoch\",loss\n", "run.csv").status();
  EXPECT_TRUE(Contains(s.message(), "Fix:")) << s;
  s = ParseHistoryCsv("\n\n", "run.csv").status();
  EXPECT_TRUE(Contains(s.message(), "run.csv: empty")) << s;
}

}  // namespace
}  // namespace graft::tools
