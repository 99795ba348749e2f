// Learning curves (keras/plot_history.h): the panels, the ticks, the PNG (decoded back with
// Cairo and inspected pixel by pixel) and the errors.
#include "keras/plot_history.h"

#include <cairo/cairo.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <memory>
#include <sstream>
#include <string>

#include "gtest/gtest.h"
#include "tests/testing.h"

namespace graft::keras {
namespace {

using ::graft::testing::Contains;

History TwoMetrics(bool validation, int epochs = 8) {
  History h;
  for (int e = 0; e < epochs; ++e) {
    h.epoch.push_back(e);
    h.history["loss"].push_back(0.7 * std::exp(-0.3 * e) + 0.05);
    h.history["accuracy"].push_back(0.95 - 0.45 * std::exp(-0.4 * e));
    if (validation) {
      h.history["val_loss"].push_back(0.75 * std::exp(-0.25 * e) + 0.09);
      h.history["val_accuracy"].push_back(0.92 - 0.4 * std::exp(-0.35 * e));
    }
  }
  return h;
}

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir ? dir : "/tmp") + "/" + name;
}

// A decoded PNG (Cairo reads what it wrote: a real PNG decoder, not a byte comparison).
struct Image {
  std::unique_ptr<cairo_surface_t, decltype(&cairo_surface_destroy)> surface{nullptr,
                                                                             cairo_surface_destroy};
  int width() const { return cairo_image_surface_get_width(surface.get()); }
  int height() const { return cairo_image_surface_get_height(surface.get()); }
  // Pixels within `tolerance` (per channel, 0..255) of the colour.
  int64_t Count(int r, int g, int b, int tolerance = 12) const {
    const unsigned char* data = cairo_image_surface_get_data(surface.get());
    const int stride = cairo_image_surface_get_stride(surface.get());
    int64_t n = 0;
    for (int y = 0; y < height(); ++y) {
      const uint32_t* row = reinterpret_cast<const uint32_t*>(data + y * stride);
      for (int x = 0; x < width(); ++x) {
        const int pr = (row[x] >> 16) & 255, pg = (row[x] >> 8) & 255, pb = row[x] & 255;
        if (std::abs(pr - r) <= tolerance && std::abs(pg - g) <= tolerance &&
            std::abs(pb - b) <= tolerance) {
          ++n;
        }
      }
    }
    return n;
  }
};

struct Reader {
  const std::string* bytes;
  size_t offset = 0;
};

cairo_status_t ReadChunk(void* closure, unsigned char* data, unsigned int length) {
  Reader* r = static_cast<Reader*>(closure);
  if (r->offset + length > r->bytes->size()) return CAIRO_STATUS_READ_ERROR;
  std::copy(r->bytes->data() + r->offset, r->bytes->data() + r->offset + length, data);
  r->offset += length;
  return CAIRO_STATUS_SUCCESS;
}

Image Decode(const std::string& png) {
  Reader reader{&png};
  Image image;
  image.surface.reset(cairo_image_surface_create_from_png_stream(ReadChunk, &reader));
  EXPECT_EQ(cairo_surface_status(image.surface.get()), CAIRO_STATUS_SUCCESS);
  return image;
}

constexpr int kBlue[3] = {0x1f, 0x77, 0xb4};
constexpr int kOrange[3] = {0xff, 0x7f, 0x0e};

TEST(HistoryPanels, LossFirstThenMetricsEachWithItsValidation) {
  History h = TwoMetrics(true);
  h.history["auc"] = std::vector<double>(8, 0.5);  // sorts before "loss"
  const std::vector<HistoryPanel> panels = HistoryPanels(h);
  ASSERT_EQ(panels.size(), 3u);
  EXPECT_EQ(panels[0].name, "loss");
  EXPECT_EQ(panels[0].train_key, "loss");
  EXPECT_EQ(panels[0].val_key, "val_loss");
  EXPECT_EQ(panels[1].name, "accuracy");
  EXPECT_EQ(panels[1].val_key, "val_accuracy");
  EXPECT_EQ(panels[2].name, "auc");
  EXPECT_EQ(panels[2].val_key, "");
}

TEST(HistoryPanels, ValidationOnlySeriesGetsItsOwnPanel) {
  History h;
  h.history["loss"] = {1, 0.5};
  h.history["val_top5"] = {0.2, 0.3};
  const std::vector<HistoryPanel> panels = HistoryPanels(h);
  ASSERT_EQ(panels.size(), 2u);
  EXPECT_EQ(panels[1].name, "top5");
  EXPECT_EQ(panels[1].train_key, "");
  EXPECT_EQ(panels[1].val_key, "val_top5");
}

TEST(NiceTicks, StepsOfOneTwoTwoAndAHalfOrFive) {
  const std::vector<double> a = NiceTicks(0.23, 0.71, 6);
  ASSERT_EQ(a.size(), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_NEAR(a[i], 0.3 + 0.1 * i, 1e-12);
  EXPECT_EQ(NiceTicks(0, 1, 5), (std::vector<double>{0, 0.25, 0.5, 0.75, 1}));
  EXPECT_EQ(NiceTicks(1, 100, 6, true), (std::vector<double>{20, 40, 60, 80, 100}));
  EXPECT_EQ(NiceTicks(0.8, 3.2, 10, true), (std::vector<double>{1, 2, 3}));  // never 0.5 apart
  EXPECT_EQ(NiceTicks(2, 2, 5), (std::vector<double>{2}));
}

TEST(NiceTicks, InsideTheRangeEvenlySpacedAndAtMostMax) {
  for (double lo : {-3.7, 0.0, 0.0012, 12.5, 1e5}) {
    for (double span : {1e-3, 0.37, 1.0, 42.0, 9e6}) {
      for (int max_ticks : {2, 5, 8}) {
        const std::vector<double> t = NiceTicks(lo, lo + span, max_ticks);
        ASSERT_GE(t.size(), 1u) << lo << " " << span;
        EXPECT_LE(static_cast<int>(t.size()), max_ticks) << lo << " " << span;
        for (size_t i = 0; i < t.size(); ++i) {
          EXPECT_GE(t[i], lo - 1e-9 * std::fabs(lo + span));
          EXPECT_LE(t[i], lo + span + 1e-9 * std::fabs(lo + span));
          if (i >= 2) {
            EXPECT_NEAR(t[i] - t[i - 1], t[1] - t[0], 1e-9 * std::fabs(t[i]) + 1e-12);
          }
        }
      }
    }
  }
}

TEST(RenderHistoryPng, TrainAndValidationCurvesInTwoPanels) {
  absl::StatusOr<std::string> png = RenderHistoryPng(TwoMetrics(true));
  ASSERT_TRUE(png.ok()) << png.status();
  ASSERT_GE(png->size(), 8u);
  EXPECT_EQ(png->substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  const Image image = Decode(*png);
  // Two 440 x 330 point panels side by side, a 40-point title, 8-point borders, at scale 2.
  EXPECT_EQ(image.width(), 2 * (2 * 440 + 16));
  EXPECT_EQ(image.height(), 2 * (40 + 330 + 8));
  // Both curves in both panels: thousands of pixels of each colour (a 2-point line at scale 2
  // over ~350 points of plot width is ~1400 pixels per curve).
  EXPECT_GT(image.Count(kBlue[0], kBlue[1], kBlue[2]), 2000);
  EXPECT_GT(image.Count(kOrange[0], kOrange[1], kOrange[2]), 1500);
}

TEST(RenderHistoryPng, WithoutValidationThereIsNoValidationColour) {
  absl::StatusOr<std::string> png = RenderHistoryPng(TwoMetrics(false));
  ASSERT_TRUE(png.ok()) << png.status();
  const Image image = Decode(*png);
  EXPECT_GT(image.Count(kBlue[0], kBlue[1], kBlue[2]), 2000);
  EXPECT_EQ(image.Count(kOrange[0], kOrange[1], kOrange[2], 30), 0);
}

TEST(RenderHistoryPng, FourPanelsMakeTwoRowsOfTwo) {
  History h = TwoMetrics(true);
  h.history["mae"] = std::vector<double>(8, 0.3);
  h.history["mse"] = std::vector<double>(8, 0.1);
  absl::StatusOr<std::string> png =
      RenderHistoryPng(h, {.title = "", .panel_width = 300, .panel_height = 200, .scale = 1});
  ASSERT_TRUE(png.ok()) << png.status();
  const Image image = Decode(*png);
  EXPECT_EQ(image.width(), 2 * 300 + 16);
  EXPECT_EQ(image.height(), 8 + 2 * 200 + 8);
}

TEST(RenderHistoryPng, OneEpochAndNonFiniteValuesDraw) {
  History one;
  one.epoch = {0};
  one.history["loss"] = {0.5};
  one.history["val_loss"] = {0.6};
  ASSERT_TRUE(RenderHistoryPng(one).ok());

  History gaps = TwoMetrics(true);
  gaps.history["val_loss"][3] = std::numeric_limits<double>::quiet_NaN();
  gaps.history["loss"][5] = std::numeric_limits<double>::infinity();
  gaps.history["accuracy"] = std::vector<double>(8, std::numeric_limits<double>::quiet_NaN());
  absl::StatusOr<std::string> png = RenderHistoryPng(gaps);
  ASSERT_TRUE(png.ok()) << png.status();
  EXPECT_GT(Decode(*png).Count(kOrange[0], kOrange[1], kOrange[2]), 1000);
}

TEST(PlotHistory, WritesThePngFile) {
  const std::string path = TempPath("curves.png");
  ASSERT_TRUE(PlotHistory(TwoMetrics(true), path).ok());
  std::ifstream in(path, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  const std::string png = bytes.str();
  ASSERT_GE(png.size(), 8u);
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_EQ(Decode(png).width(), 2 * (2 * 440 + 16));
}

TEST(PlotHistory, EmptyHistoryIsAnError) {
  const absl::Status s = PlotHistory(History{}, TempPath("empty.png"));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(s.message(), "no epochs")) << s;
  EXPECT_TRUE(Contains(s.message(), "Fix:")) << s;
}

TEST(PlotHistory, SeriesOfTheWrongLengthIsNamed) {
  History h = TwoMetrics(true);
  h.history["val_accuracy"].pop_back();
  const absl::Status s = PlotHistory(h, TempPath("bad.png"));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(s.message(), "\"val_accuracy\" has 7 values, expected 8")) << s;
}

TEST(PlotHistory, UnwritablePathNamesThePathAndAFix) {
  const std::string path = TempPath("no/such/folder/curves.png");
  const absl::Status s = PlotHistory(TwoMetrics(false), path);
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(Contains(s.message(), path)) << s;
  EXPECT_TRUE(Contains(s.message(), "Fix:")) << s;
  EXPECT_FALSE(PlotHistory(TwoMetrics(false), "").ok());
}

TEST(PlotHistory, OptionsOutOfRange) {
  for (PlotHistoryOptions o :
       {PlotHistoryOptions{.panel_width = 10}, PlotHistoryOptions{.scale = 0},
        PlotHistoryOptions{.columns = -1}, PlotHistoryOptions{.panel_width = 4000, .scale = 8}}) {
    const absl::Status s = RenderHistoryPng(TwoMetrics(true), o).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
    EXPECT_TRUE(Contains(s.message(), "Fix:")) << s;
  }
}

}  // namespace
}  // namespace graft::keras
