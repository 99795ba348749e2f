// Conv1D and Conv2D layers: one implementation over the number of spatial dimensions.
#include <array>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "keras/layer_config.h"
#include "keras/layer_util.h"
#include "keras/layers.h"
#include "ops/activation.h"
#include "ops/conv.h"
#include "ops/padding.h"

namespace graft::keras {
namespace {

using internal::RankError;

// kRank spatial dimensions: 1 (steps) or 2 (height, width).
template <int kRank>
class ConvLayer : public LayerImpl {
 public:
  using Dims = std::array<int64_t, kRank>;

  ConvLayer(const char* snake, const char* klass, int64_t filters, Dims kernel, Dims strides,
            Dims dilation, int64_t groups, const std::string& padding, std::string activation,
            bool use_bias, std::string kernel_init, std::string bias_init,
            std::vector<int64_t> input_shape, std::string name)
      : LayerImpl(snake, std::move(name), std::move(input_shape)),
        class_name_(klass),
        filters_(filters),
        kernel_(kernel),
        strides_(strides),
        dilation_(dilation),
        groups_(groups),
        use_bias_(use_bias),
        kernel_init_(std::move(kernel_init)),
        bias_init_(std::move(bias_init)) {
    SetActivation(std::move(activation));
    absl::StatusOr<ops::Padding> p = ops::ParsePadding(padding, /*allow_causal=*/kRank == 1);
    if (p.ok()) {
      padding_ = *p;
    } else {
      Invalid(p.status());
    }
    if (filters <= 0) {
      Invalid(absl::InvalidArgumentError(absl::StrCat(
          "Invalid value for argument `filters`. Expected a strictly positive value. Received "
          "filters=",
          filters, ".")));
    }
    if (groups <= 0) {
      Invalid(absl::InvalidArgumentError(absl::StrCat(
          "The number of groups must be a positive integer. Received: groups=", groups, ".")));
    } else if (filters > 0 && filters % groups != 0) {
      Invalid(absl::InvalidArgumentError(absl::StrCat(
          "The number of filters must be evenly divisible by the number of groups. Received: "
          "groups=",
          groups, ", filters=", filters, ".")));
    }
    bool strided = false, dilated = false;
    for (int i = 0; i < kRank; ++i) {
      if (kernel[i] <= 0) {
        // Keras's message for 0; a negative size gets its own (Keras's would say "0").
        Invalid(absl::InvalidArgumentError(
            kernel[i] == 0
                ? absl::StrCat("The argument `kernel_size` cannot contain 0. Received kernel_size=",
                               Text(kernel), ".")
                : absl::StrCat("The argument `kernel_size` must hold positive sizes (expected "
                               ">= 1 along every axis). Received kernel_size=",
                               Text(kernel), ".")));
      }
      if (strides[i] <= 0 || dilation[i] <= 0) {
        Invalid(absl::InvalidArgumentError(absl::StrCat(
            "strides and dilation_rate must be positive; received strides=", Text(strides),
            ", dilation_rate=", Text(dilation))));
      }
      strided |= strides[i] > 1;
      dilated |= dilation[i] > 1;
    }
    if (strided && dilated) {
      Invalid(absl::InvalidArgumentError(absl::StrCat(
          "`strides > 1` not supported in conjunction with `dilation_rate > 1`. Received: "
          "strides=",
          Text(strides), " and dilation_rate=", Text(dilation))));
    }
    if (absl::Status s = ops::ValidateActivation(this->activation()); !s.ok()) Invalid(s);
  }

  std::string class_name() const override { return class_name_; }
  nlohmann::json GetConfig() const override {
    nlohmann::json c = BaseLayerConfig(*this);
    c["filters"] = filters_;
    c["kernel_size"] = kernel_;
    c["strides"] = strides_;
    c["padding"] = ops::PaddingName(padding_);
    c["data_format"] = "channels_last";
    c["dilation_rate"] = dilation_;
    c["groups"] = groups_;
    c["activation"] = activation().empty() ? "linear" : activation();
    c["use_bias"] = use_bias_;
    c["kernel_initializer"] = kernel_init_;
    c["bias_initializer"] = bias_init_;
    return c;
  }

 private:
  static std::string Text(const Dims& d) { return internal::SpatialText(d); }
  static const char* Layout() { return internal::SpatialLayout(kRank); }

  absl::Status Build(const TensorType& in) override {
    if (in.shape.rank() != kRank + 2) return RankError(in, kRank + 2, Layout());
    const int64_t channels = in.shape.dim(-1);
    if (channels % groups_ != 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "The number of input channels must be evenly divisible by the number of groups. "
          "Received groups=",
          groups_, ", but the input has ", channels, " channels (full input shape is ",
          in.shape.ToString(), ")."));
    }
    std::vector<int64_t> shape(kernel_.begin(), kernel_.end());
    shape.push_back(channels / groups_);
    shape.push_back(filters_);
    if (absl::Status s = AddWeight("kernel", Shape(shape), kernel_init_); !s.ok()) return s;
    if (use_bias_) return AddWeight("bias", {filters_}, bias_init_);
    return absl::OkStatus();
  }

  // The Keras-level check, before the op: which dimension, the formula, and fixes.
  absl::Status CheckOutputSize(const Shape& in) const {
    static const char* kNames[2][2] = {{"length", ""}, {"height", "width"}};
    for (int i = 0; i < kRank; ++i) {
      const int64_t size = in.dim(1 + i);
      const ops::Geometry geo =
          ops::ComputeGeometry(size, kernel_[i], strides_[i], dilation_[i], padding_);
      if (size < 0 || geo.out > 0) continue;
      std::string message = absl::StrCat(
          "output ", kNames[kRank - 1][i], " would be ", geo.out, " = ",
          ops::ValidExpression(size, kernel_[i], strides_[i], dilation_[i]), " (input ",
          in.ToString(), ", kernel_size ", Text(kernel_), ", strides ", Text(strides_),
          ", dilation_rate ", Text(dilation_), ", padding \"valid\").");
      if (kRank == 2 && (in.dim(1) == 1 || in.dim(2) == 1)) {
        // A 2-D convolution over data with a spatial size of 1 is a sequence in disguise.
        const bool width_is_one = in.dim(2) == 1;
        const int64_t steps = width_is_one ? in.dim(1) : in.dim(2);
        const int64_t features = in.dim(3);
        absl::StrAppend(
            &message, " Input ", in.ToString(), " looks like a sequence of ", steps, " steps x ",
            features, " feature", features == 1 ? "" : "s", ": use Conv1D(", filters_, ", ",
            kernel_[width_is_one ? 0 : 1], ") with input_shape (", steps, ", ", features,
            "); or kernel_size ",
            width_is_one ? internal::Tuple(kernel_[0], 1) : internal::Tuple(1, kernel_[kRank - 1]),
            "; or padding \"same\".");
      } else {
        absl::StrAppend(&message, " Fix: use padding=\"same\" (keeps ", size, "), a kernel_size",
                        " of at most ", size, " along that axis, or a larger input.");
      }
      return absl::InvalidArgumentError(message);
    }
    return absl::OkStatus();
  }

  absl::StatusOr<Value> Forward(Graph& g, Value x, const std::vector<Value>& w,
                                const CallContext&) override {
    const TensorType& in = g.type(x);
    if (in.shape.rank() != kRank + 2) return RankError(in, kRank + 2, Layout());
    if (absl::Status s = CheckOutputSize(in.shape); !s.ok()) return s;
    std::optional<Value> bias;
    if (use_bias_) bias = w[1];
    if constexpr (kRank == 1) {
      ops::Conv1DAttrs a{
          .stride = strides_[0], .padding = padding_, .dilation = dilation_[0], .groups = groups_};
      return ops::Conv1D(g, x, w[0], bias, a, "Conv1D");
    } else {
      ops::Conv2DAttrs a{.stride_h = strides_[0],
                         .stride_w = strides_[1],
                         .padding = padding_,
                         .dilation_h = dilation_[0],
                         .dilation_w = dilation_[1],
                         .groups = groups_};
      return ops::Conv2D(g, x, w[0], bias, a, "Conv2D");
    }
  }

  std::string class_name_;
  int64_t filters_;
  Dims kernel_, strides_, dilation_;
  int64_t groups_;
  bool use_bias_;
  std::string kernel_init_, bias_init_;
  ops::Padding padding_ = ops::Padding::kValid;
};

}  // namespace

namespace layers {
Layer Conv1D(int64_t filters, int64_t kernel_size, Conv1DOptions o) {
  return std::make_shared<ConvLayer<1>>(
      "conv1d", "Conv1D", filters, std::array<int64_t, 1>{kernel_size},
      std::array<int64_t, 1>{o.strides}, std::array<int64_t, 1>{o.dilation_rate}, o.groups,
      o.padding, o.activation, o.use_bias, o.kernel_initializer, o.bias_initializer, o.input_shape,
      o.name);
}
Layer Conv2D(int64_t filters, Size2 k, Conv2DOptions o) {
  return std::make_shared<ConvLayer<2>>(
      "conv2d", "Conv2D", filters, std::array<int64_t, 2>{k.h, k.w},
      std::array<int64_t, 2>{o.strides.h, o.strides.w},
      std::array<int64_t, 2>{o.dilation_rate.h, o.dilation_rate.w}, o.groups, o.padding,
      o.activation, o.use_bias, o.kernel_initializer, o.bias_initializer, o.input_shape, o.name);
}
}  // namespace layers

}  // namespace graft::keras
