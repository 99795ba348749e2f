// The Keras-2 progress text, with fixed times.
#include "keras/progress.h"

#include <sstream>

#include "gtest/gtest.h"

namespace graft::keras {
namespace {

using progress::FormatBar;
using progress::FormatEta;
using progress::FormatTimePerUnit;
using progress::FormatValue;

TEST(Progress, BarMatchesKeras2) {
  EXPECT_EQ(FormatBar(1, 4), "1/4 [======>.......................]");
  EXPECT_EQ(FormatBar(4, 4), "4/4 [==============================]");
  EXPECT_EQ(FormatBar(3, 40), " 3/40 [=>............................]");
  EXPECT_EQ(FormatBar(0, 4), "0/4 [..............................]");
}

TEST(Progress, ValuesAndTimesMatchKeras2) {
  EXPECT_EQ(FormatValue(0.693147), "0.6931");
  EXPECT_EQ(FormatValue(0.0001234), "1.2340e-04");
  EXPECT_EQ(FormatValue(0), "0.0000e+00");
  EXPECT_EQ(FormatTimePerUnit(0.003, "step"), " 3ms/step");
  EXPECT_EQ(FormatTimePerUnit(2.4, "epoch"), " 2s/epoch");
  EXPECT_EQ(FormatTimePerUnit(0.000012, "step"), " 12us/step");
  EXPECT_EQ(FormatEta(5.7), "ETA: 5s");
  EXPECT_EQ(FormatEta(65), "ETA: 1:05");
  EXPECT_EQ(FormatEta(3665), "ETA: 1:01:05");
}

TEST(Progress, OneLinePerEpochWhenNotATerminal) {
  std::ostringstream out;
  ProgressBar bar(out, 2, 4);
  for (int i = 1; i <= 4; ++i) bar.Update(i, {{"loss", 0.7}, {"accuracy", 0.5}}, 0.03 * i);
  bar.Finish({{"loss", 0.693147}, {"accuracy", 0.5}}, 0.12);
  EXPECT_EQ(out.str(), "4/4 - 0s - loss: 0.6931 - accuracy: 0.5000 - 120ms/epoch - 30ms/step\n");
}

TEST(Progress, BarRedrawsWithCarriageReturnAndEndsWithTheFinalLine) {
  std::ostringstream out;
  ProgressBar bar(out, 1, 4);
  bar.Update(1, {{"loss", 0.7}}, 0.1);
  bar.Update(2, {{"loss", 0.69}}, 0.2);
  bar.Update(3, {{"loss", 0.68}}, 0.3);
  bar.Update(4, {{"loss", 0.67}}, 0.4);
  bar.Finish({{"loss", 0.67}, {"val_loss", 0.66}}, 0.4);
  const std::string s = out.str();
  EXPECT_EQ(s.find('\b'), std::string::npos);
  EXPECT_NE(s.find("\r1/4 [======>.......................] - ETA: 0s - loss: 0.7000"),
            std::string::npos)
      << s;
  EXPECT_NE(s.find("\r4/4 [==============================] - 0s 100ms/step - loss: 0.6700 - "
                   "val_loss: 0.6600\n"),
            std::string::npos)
      << s;
}

TEST(Progress, SilentAtVerboseZero) {
  std::ostringstream out;
  ProgressBar bar(out, 0, 4);
  bar.Update(1, {{"loss", 1}}, 0.1);
  bar.Finish({{"loss", 1}}, 0.2);
  EXPECT_EQ(out.str(), "");
}

}  // namespace
}  // namespace graft::keras
