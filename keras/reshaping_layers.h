// graft — Keras's single-input spatial reshaping layers: ZeroPadding1D/2D, Cropping1D/2D and
// UpSampling1D/2D (keras.layers.reshaping), channels-last.
//
//   namespace layers = graft::keras::layers;
//   layers::ZeroPadding1D(2)                      // 2 zeros before and after the steps
//   layers::ZeroPadding2D({{1, 2}, {3, 4}})       // ((top, bottom), (left, right))
//   layers::Cropping2D({2, 4})                    // 2 rows top and bottom, 4 columns each side
//   layers::UpSampling2D({2, 3}, {.interpolation = "nearest"})
//
// Arguments and defaults are Keras's; data_format is channels_last only (as every graft layer).
// Included by keras/keras.h.
#ifndef GRAFT_KERAS_RESHAPING_LAYERS_H_
#define GRAFT_KERAS_RESHAPING_LAYERS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "keras/layers.h"

namespace graft::keras {

// A (begin, end) amount along one spatial axis, Keras's int-or-pair: `2` is (2, 2), {1, 3} is
// (1, 3).
struct Border {
  Border(int64_t both) : begin(both), end(both) {}  // NOLINT: implicit, as Keras's int
  Border(int64_t begin_amount, int64_t end_amount) : begin(begin_amount), end(end_amount) {}
  int64_t begin, end;
};

// (begin, end) amounts along height and width, Keras's three forms: `1` is ((1, 1), (1, 1));
// {2, 3} is symmetric per axis, ((2, 2), (3, 3)); {{1, 2}, {3, 4}} is ((top, bottom), (left,
// right)).
struct Border2 {
  Border2(int64_t all) : height(all), width(all) {}  // NOLINT: implicit, as Keras's int
  Border2(Border height_amount, Border width_amount) : height(height_amount), width(width_amount) {}
  Border height, width;
};

struct UpSampling2DOptions {
  // Keras's resize method; graft implements "nearest" only ("bilinear", "bicubic", "lanczos3",
  // "lanczos5" are refused as not implemented). Case-insensitive, as Keras.
  std::string interpolation = "nearest";
  std::vector<int64_t> input_shape;  // (height, width, channels)
  std::string name;
};

namespace layers {

// (batch, steps, C) -> (batch, begin + steps + end, C) with zeros in the new steps.
Layer ZeroPadding1D(Border padding = 1, LayerOptions options = {});
// (batch, H, W, C) -> (batch, top + H + bottom, left + W + right, C) with zeros around.
Layer ZeroPadding2D(Border2 padding = 1, LayerOptions options = {});
// (batch, steps, C) -> (batch, steps - begin - end, C); at least one step must remain.
Layer Cropping1D(Border cropping = 1, LayerOptions options = {});
// (batch, H, W, C) -> (batch, H - top - bottom, W - left - right, C); Keras's default crops
// nothing.
Layer Cropping2D(Border2 cropping = 0, LayerOptions options = {});
// Repeats each step `size` times: (batch, steps, C) -> (batch, steps * size, C).
Layer UpSampling1D(int64_t size = 2, LayerOptions options = {});
// Repeats rows size.h times and columns size.w times (nearest neighbour):
// (batch, H, W, C) -> (batch, H * size.h, W * size.w, C).
Layer UpSampling2D(Size2 size = 2, UpSampling2DOptions options = {});

}  // namespace layers

}  // namespace graft::keras

#endif  // GRAFT_KERAS_RESHAPING_LAYERS_H_
