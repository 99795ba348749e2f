#include "examples/resnet_model.h"

namespace graft::examples {

namespace layers = keras::layers;
using keras::KerasTensor;

KerasTensor ResidualBlock(const KerasTensor& x, int64_t filters, int64_t strides) {
  KerasTensor y = layers::Conv2D(filters, 3, {.strides = strides, .padding = "same"})(x);
  y = layers::BatchNormalization()(y);
  y = layers::Activation("relu")(y);
  y = layers::Conv2D(filters, 3, {.padding = "same"})(y);
  y = layers::BatchNormalization()(y);
  KerasTensor shortcut = x;
  // A KerasTensor with an error has no trustworthy shape; the error travels through Add.
  if (strides != 1 || !x.ok() || x.shape().dim(-1) != filters) {
    shortcut = layers::Conv2D(filters, 1, {.strides = strides})(x);
  }
  return layers::Activation("relu")(layers::Add()({y, shortcut}));
}

keras::Model SmallResNet(const ResNetOptions& options) {
  KerasTensor in = keras::Input(options.input_shape);
  const int64_t stem = options.stage_filters.empty() ? 16 : options.stage_filters.front();
  KerasTensor x = layers::Conv2D(stem, 3, {.padding = "same"})(in);
  x = layers::BatchNormalization()(x);
  x = layers::Activation("relu")(x);
  for (size_t stage = 0; stage < options.stage_filters.size(); ++stage) {
    for (int block = 0; block < options.blocks_per_stage; ++block) {
      const int64_t strides = stage > 0 && block == 0 ? 2 : 1;
      x = ResidualBlock(x, options.stage_filters[stage], strides);
    }
  }
  x = layers::GlobalAveragePooling2D()(x);
  KerasTensor out = layers::Dense(options.num_classes, {.activation = "softmax"})(x);
  return keras::Model({in}, {out}, options.name);
}

}  // namespace graft::examples
