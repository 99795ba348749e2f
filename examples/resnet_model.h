// A small ResNet (v1, Keras's CIFAR-10 example style) built with the functional API; the
// Fashion-MNIST example (examples/resnet.cc) trains it and bench/compare measures it as M5.
//
//   input (28, 28, 1)
//   stem:   Conv2D(16, 3, same) -> BatchNormalization -> ReLU
//   stages: one residual block each, 16 / 32 / 64 filters, strides 1 / 2 / 2:
//             y = Conv2D(f, 3, strides s, same) -> BatchNormalization -> ReLU
//                 -> Conv2D(f, 3, same) -> BatchNormalization
//             shortcut = x, or Conv2D(f, 1, strides s) when the shape changes
//             out = ReLU(Add(y, shortcut))
//   head:   GlobalAveragePooling2D -> Dense(10, softmax)
//
// 7 convolutions + 1 dense layer on the main path: "ResNet-8" (the two 1x1 projections are not
// counted, as in He et al.). Keras defaults everywhere: glorot_uniform kernels, zero biases
// (the convolutions keep theirs, as Keras's example does), BatchNormalization momentum 0.99,
// epsilon 1e-3. tools/resnet_reference.py is the same network in PyTorch.
#ifndef GRAFT_EXAMPLES_RESNET_MODEL_H_
#define GRAFT_EXAMPLES_RESNET_MODEL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "keras/keras.h"

namespace graft::examples {

struct ResNetOptions {
  std::vector<int64_t> input_shape = {28, 28, 1};
  // Filters of each stage; every stage after the first halves the resolution.
  std::vector<int64_t> stage_filters = {16, 32, 64};
  int blocks_per_stage = 1;
  int64_t num_classes = 10;
  std::string name = "resnet8";
};

// One residual block on `x`: two 3x3 convolutions with batch normalisation, the shortcut (a
// strided 1x1 convolution when the shape changes), ReLU after the sum.
keras::KerasTensor ResidualBlock(const keras::KerasTensor& x, int64_t filters, int64_t strides);

// The whole network (not compiled). A shape problem is reported by the model's Build/Compile.
keras::Model SmallResNet(const ResNetOptions& options = {});

}  // namespace graft::examples

#endif  // GRAFT_EXAMPLES_RESNET_MODEL_H_
