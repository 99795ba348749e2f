// Pooling layers: max and average in 1-D and 2-D, and the global poolings.
#include <array>

#include "absl/strings/str_cat.h"
#include "keras/layer_config.h"
#include "keras/layer_util.h"
#include "keras/layers.h"
#include "ops/padding.h"
#include "ops/pool.h"

namespace graft::keras {
namespace {

using internal::RankError;

template <int kRank>
class PoolingLayer : public LayerImpl {
 public:
  using Dims = std::array<int64_t, kRank>;

  PoolingLayer(const char* snake, const char* klass, ops::PoolKind kind, Dims pool, Dims strides,
               const std::string& padding, std::vector<int64_t> input_shape, std::string name)
      : LayerImpl(snake, std::move(name), std::move(input_shape)),
        class_name_(klass),
        kind_(kind),
        pool_(pool) {
    for (int i = 0; i < kRank; ++i) strides_[i] = strides[i] == 0 ? pool[i] : strides[i];
    absl::StatusOr<ops::Padding> p = ops::ParsePadding(padding, /*allow_causal=*/false);
    if (p.ok()) {
      padding_ = *p;
    } else {
      Invalid(p.status());
    }
    for (int i = 0; i < kRank; ++i) {
      if (pool_[i] <= 0 || strides_[i] <= 0) {
        Invalid(absl::InvalidArgumentError(
            absl::StrCat("pool_size and strides must be positive; received pool_size=", Text(pool_),
                         ", strides=", Text(strides_))));
      }
    }
  }
  std::string class_name() const override { return class_name_; }
  nlohmann::json GetConfig() const override {
    nlohmann::json c = BaseLayerConfig(*this);
    c["pool_size"] = pool_;
    c["strides"] = strides_;
    c["padding"] = ops::PaddingName(padding_);
    c["data_format"] = "channels_last";
    return c;
  }

 private:
  static std::string Text(const Dims& d) { return internal::SpatialText(d); }
  static const char* Layout() { return internal::SpatialLayout(kRank); }
  absl::Status Build(const TensorType& in) override {
    if (in.shape.rank() != kRank + 2) return RankError(in, kRank + 2, Layout());
    return absl::OkStatus();
  }
  absl::StatusOr<Value> Forward(Graph& g, Value x, const std::vector<Value>&,
                                const CallContext&) override {
    const TensorType& in = g.type(x);
    if (in.shape.rank() != kRank + 2) return RankError(in, kRank + 2, Layout());
    for (int i = 0; i < kRank; ++i) {
      const int64_t size = in.shape.dim(1 + i);
      const ops::Geometry geo = ops::ComputeGeometry(size, pool_[i], strides_[i], 1, padding_);
      if (size >= 0 && geo.out <= 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            "Computed output size would be zero or negative: ", geo.out, " = ",
            ops::ValidExpression(size, pool_[i], strides_[i], 1), " (input ", in.shape.ToString(),
            ", pool_size ", Text(pool_), ", strides ", Text(strides_),
            ", padding \"valid\"). Fix: use padding=\"same\" or a pool_size of at most ", size,
            " along that axis."));
      }
    }
    if constexpr (kRank == 1) {
      ops::MaxPool1DAttrs a;
      a.pool = pool_[0];
      a.stride = strides_[0];
      a.padding = padding_;
      return kind_ == ops::PoolKind::kMax ? ops::MaxPool1D(g, x, a, "MaxPool1D")
                                          : ops::AveragePool1D(g, x, a, "AveragePool1D");
    } else {
      ops::Pool2DAttrs a;
      a.pool_h = pool_[0];
      a.pool_w = pool_[1];
      a.stride_h = strides_[0];
      a.stride_w = strides_[1];
      a.padding = padding_;
      return kind_ == ops::PoolKind::kMax ? ops::MaxPool2D(g, x, a, "MaxPool2D")
                                          : ops::AveragePool2D(g, x, a, "AveragePool2D");
    }
  }

  std::string class_name_;
  ops::PoolKind kind_;
  Dims pool_, strides_;
  ops::Padding padding_ = ops::Padding::kValid;
};

class GlobalPoolingLayer : public LayerImpl {
 public:
  GlobalPoolingLayer(const char* snake, const char* klass, ops::PoolKind kind, int rank,
                     GlobalPoolingOptions o)
      : LayerImpl(snake, o.name, o.input_shape),
        class_name_(klass),
        kind_(kind),
        rank_(rank),
        keepdims_(o.keepdims) {}
  std::string class_name() const override { return class_name_; }
  nlohmann::json GetConfig() const override {
    nlohmann::json c = BaseLayerConfig(*this);
    c["keepdims"] = keepdims_;
    c["data_format"] = "channels_last";
    return c;
  }

 private:
  absl::Status Build(const TensorType& in) override {
    if (in.shape.rank() != rank_ + 2) {
      return RankError(
          in, rank_ + 2,
          rank_ == 1 ? "(batch, steps, channels)" : "(batch, height, width, channels)");
    }
    return absl::OkStatus();
  }
  absl::StatusOr<Value> Forward(Graph& g, Value x, const std::vector<Value>&,
                                const CallContext&) override {
    if (absl::Status s = Build(g.type(x)); !s.ok()) return s;
    return ops::GlobalPool(g, x, kind_, keepdims_, "GlobalPool");
  }
  std::string class_name_;
  ops::PoolKind kind_;
  int rank_;
  bool keepdims_;
};

using Pool1 = PoolingLayer<1>;
using Pool2 = PoolingLayer<2>;

}  // namespace

namespace layers {
Layer MaxPooling1D(int64_t pool_size, Pooling1DOptions o) {
  return std::make_shared<Pool1>("max_pooling1d", "MaxPooling1D", ops::PoolKind::kMax,
                                 Pool1::Dims{pool_size}, Pool1::Dims{o.strides}, o.padding,
                                 o.input_shape, o.name);
}
Layer AveragePooling1D(int64_t pool_size, Pooling1DOptions o) {
  return std::make_shared<Pool1>("average_pooling1d", "AveragePooling1D", ops::PoolKind::kAverage,
                                 Pool1::Dims{pool_size}, Pool1::Dims{o.strides}, o.padding,
                                 o.input_shape, o.name);
}
Layer MaxPooling2D(Size2 pool_size, Pooling2DOptions o) {
  return std::make_shared<Pool2>(
      "max_pooling2d", "MaxPooling2D", ops::PoolKind::kMax, Pool2::Dims{pool_size.h, pool_size.w},
      Pool2::Dims{o.strides.h, o.strides.w}, o.padding, o.input_shape, o.name);
}
Layer AveragePooling2D(Size2 pool_size, Pooling2DOptions o) {
  return std::make_shared<Pool2>("average_pooling2d", "AveragePooling2D", ops::PoolKind::kAverage,
                                 Pool2::Dims{pool_size.h, pool_size.w},
                                 Pool2::Dims{o.strides.h, o.strides.w}, o.padding, o.input_shape,
                                 o.name);
}
Layer GlobalAveragePooling1D(GlobalPoolingOptions o) {
  return std::make_shared<GlobalPoolingLayer>("global_average_pooling1d", "GlobalAveragePooling1D",
                                              ops::PoolKind::kAverage, 1, std::move(o));
}
Layer GlobalAveragePooling2D(GlobalPoolingOptions o) {
  return std::make_shared<GlobalPoolingLayer>("global_average_pooling2d", "GlobalAveragePooling2D",
                                              ops::PoolKind::kAverage, 2, std::move(o));
}
Layer GlobalMaxPooling1D(GlobalPoolingOptions o) {
  return std::make_shared<GlobalPoolingLayer>("global_max_pooling1d", "GlobalMaxPooling1D",
                                              ops::PoolKind::kMax, 1, std::move(o));
}
Layer GlobalMaxPooling2D(GlobalPoolingOptions o) {
  return std::make_shared<GlobalPoolingLayer>("global_max_pooling2d", "GlobalMaxPooling2D",
                                              ops::PoolKind::kMax, 2, std::move(o));
}
}  // namespace layers

}  // namespace graft::keras
