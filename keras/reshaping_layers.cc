// Spatial reshaping layers: ZeroPadding1D/2D, Cropping1D/2D, UpSampling1D/2D (ops/spatial.h).
#include "keras/reshaping_layers.h"

#include <array>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "keras/layer_config.h"
#include "keras/layer_util.h"
#include "ops/spatial.h"

namespace graft::keras {
namespace {

using internal::RankError;

// Keras's text of a (begin, end) setting: "(1, 2)" in 1-D, "((1, 2), (3, 4))" in 2-D.
std::string BorderText(const std::vector<Border>& b) {
  std::vector<std::string> parts;
  for (const Border& x : b) parts.push_back(absl::StrCat("(", x.begin, ", ", x.end, ")"));
  return b.size() == 1 ? parts[0] : absl::StrCat("(", absl::StrJoin(parts, ", "), ")");
}

const char* AxisName(size_t rank, size_t axis) {
  return rank == 1 ? "steps" : (axis == 0 ? "height" : "width");
}

// ZeroPadding1D/2D (kCrop false) and Cropping1D/2D (kCrop true) over `borders.size()` spatial
// axes.
template <bool kCrop>
class BorderLayer : public LayerImpl {
 public:
  BorderLayer(const char* snake, const char* klass, std::vector<Border> borders, LayerOptions o)
      : LayerImpl(snake, o.name, o.input_shape), class_name_(klass), borders_(std::move(borders)) {
    for (const Border& b : borders_) {
      if (b.begin < 0 || b.end < 0) {
        Invalid(absl::InvalidArgumentError(absl::StrCat(
            "The `", Key(), "` argument must hold non-negative integers. Received: ", Key(), "=",
            BorderText(borders_))));
        break;
      }
    }
  }
  std::string class_name() const override { return class_name_; }
  // Keras: {"padding": [1, 2]} (1-D), {"padding": [[1, 2], [3, 4]], "data_format": ...} (2-D);
  // the same with "cropping".
  nlohmann::json GetConfig() const override {
    nlohmann::json c = BaseLayerConfig(*this);
    if (borders_.size() == 1) {
      c[Key()] = {borders_[0].begin, borders_[0].end};
    } else {
      nlohmann::json pairs = nlohmann::json::array();
      for (const Border& b : borders_) pairs.push_back({b.begin, b.end});
      c[Key()] = pairs;
      c["data_format"] = "channels_last";
    }
    return c;
  }

 private:
  static const char* Key() { return kCrop ? "cropping" : "padding"; }
  int rank() const { return static_cast<int>(borders_.size()); }

  absl::Status Build(const TensorType& in) override {
    if (in.shape.rank() != rank() + 2) {
      return RankError(in, rank() + 2, internal::SpatialLayout(rank()));
    }
    if (!kCrop) return absl::OkStatus();
    for (int a = 0; a < rank(); ++a) {
      const int64_t size = in.shape.dim(a + 1);
      const Border& b = borders_[a];
      // In 128 bits: crop amounts up to 2^63 - 1 must not overflow the check itself.
      const __int128 remain = static_cast<__int128>(size) - b.begin - b.end;
      if (size >= 0 && remain < 1) {
        const std::string left = remain >= std::numeric_limits<int64_t>::min()
                                     ? absl::StrCat(static_cast<int64_t>(remain))
                                     : std::string("less than -2^63");
        return absl::InvalidArgumentError(
            absl::StrCat("`cropping` must be smaller than the input along ", AxisName(rank(), a),
                         ": ", size, " - ", b.begin, " - ", b.end, " = ", left,
                         " would remain. Received: input_shape=", in.shape.ToString(),
                         ", cropping=", BorderText(borders_), ". Fix: crop at most ", size - 1,
                         " in total along ", AxisName(rank(), a), "."));
      }
    }
    return absl::OkStatus();
  }
  absl::StatusOr<Value> Forward(Graph& g, Value x, const std::vector<Value>&,
                                const CallContext&) override {
    if (absl::Status s = Build(g.type(x)); !s.ok()) return s;
    std::vector<int64_t> begin, end;
    for (const Border& b : borders_) {
      begin.push_back(b.begin);
      end.push_back(b.end);
    }
    if constexpr (kCrop) {
      return ops::Crop(g, x, {std::move(begin), std::move(end)}, "Crop");
    } else {
      return ops::Pad(g, x, {std::move(begin), std::move(end)}, "Pad");
    }
  }

  std::string class_name_;
  std::vector<Border> borders_;
};

// Keras's interpolation names (keras.layers.UpSampling2D); graft implements "nearest".
constexpr const char* kKerasInterpolations[] = {"bicubic", "bilinear", "lanczos3", "lanczos5",
                                                "nearest"};

class UpSamplingLayer : public LayerImpl {
 public:
  UpSamplingLayer(const char* snake, const char* klass, std::vector<int64_t> size,
                  std::string interpolation, LayerOptions o)
      : LayerImpl(snake, o.name, o.input_shape),
        class_name_(klass),
        size_(std::move(size)),
        interpolation_(absl::AsciiStrToLower(interpolation)) {
    for (int64_t s : size_) {
      if (s <= 0) {
        Invalid(absl::InvalidArgumentError(absl::StrCat(
            "Argument `size` should hold positive integers. Received: size=",
            size_.size() == 1 ? absl::StrCat(size_[0]) : internal::SpatialText(size_))));
        break;
      }
    }
    if (interpolation_ != "nearest") {
      bool known = false;
      for (const char* k : kKerasInterpolations) known = known || interpolation_ == k;
      Invalid(known ? absl::UnimplementedError(
                          absl::StrCat("interpolation=\"", interpolation_,
                                       "\" is not implemented in graft; UpSampling2D supports "
                                       "interpolation=\"nearest\" only"))
                    : absl::InvalidArgumentError(absl::StrCat(
                          "unknown interpolation \"", interpolation, "\"; Keras accepts ",
                          absl::StrJoin(kKerasInterpolations, ", "),
                          " (graft implements \"nearest\")")));
    }
  }
  std::string class_name() const override { return class_name_; }
  // Keras: {"size": 2} (1-D); {"size": [2, 2], "data_format": ..., "interpolation": ...} (2-D).
  nlohmann::json GetConfig() const override {
    nlohmann::json c = BaseLayerConfig(*this);
    if (size_.size() == 1) {
      c["size"] = size_[0];
    } else {
      c["size"] = size_;
      c["data_format"] = "channels_last";
      c["interpolation"] = interpolation_;
    }
    return c;
  }

 private:
  int rank() const { return static_cast<int>(size_.size()); }
  absl::Status Build(const TensorType& in) override {
    if (in.shape.rank() != rank() + 2) {
      return RankError(in, rank() + 2, internal::SpatialLayout(rank()));
    }
    return absl::OkStatus();
  }
  absl::StatusOr<Value> Forward(Graph& g, Value x, const std::vector<Value>&,
                                const CallContext&) override {
    if (absl::Status s = Build(g.type(x)); !s.ok()) return s;
    return ops::UpSample(g, x, {size_}, "UpSample");
  }

  std::string class_name_;
  std::vector<int64_t> size_;
  std::string interpolation_;
};

}  // namespace

namespace layers {
Layer ZeroPadding1D(Border padding, LayerOptions o) {
  return std::make_shared<BorderLayer<false>>("zero_padding1d", "ZeroPadding1D",
                                              std::vector<Border>{padding}, std::move(o));
}
Layer ZeroPadding2D(Border2 padding, LayerOptions o) {
  return std::make_shared<BorderLayer<false>>("zero_padding2d", "ZeroPadding2D",
                                              std::vector<Border>{padding.height, padding.width},
                                              std::move(o));
}
Layer Cropping1D(Border cropping, LayerOptions o) {
  return std::make_shared<BorderLayer<true>>("cropping1d", "Cropping1D",
                                             std::vector<Border>{cropping}, std::move(o));
}
Layer Cropping2D(Border2 cropping, LayerOptions o) {
  return std::make_shared<BorderLayer<true>>("cropping2d", "Cropping2D",
                                             std::vector<Border>{cropping.height, cropping.width},
                                             std::move(o));
}
Layer UpSampling1D(int64_t size, LayerOptions o) {
  return std::make_shared<UpSamplingLayer>("up_sampling1d", "UpSampling1D",
                                           std::vector<int64_t>{size}, "nearest", std::move(o));
}
Layer UpSampling2D(Size2 size, UpSampling2DOptions o) {
  return std::make_shared<UpSamplingLayer>(
      "up_sampling2d", "UpSampling2D", std::vector<int64_t>{size.h, size.w}, o.interpolation,
      LayerOptions{.input_shape = std::move(o.input_shape), .name = std::move(o.name)});
}
}  // namespace layers

}  // namespace graft::keras
