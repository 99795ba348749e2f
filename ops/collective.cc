// ops/collective.cc — graft.AllreduceStart / graft.AllreduceWait and the buckets they share.
#include "ops/collective.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "ops/common.h"

namespace graft::ops {
namespace {

// The buckets of one graph's gradients, shared by its Start and Wait nodes (every plan compiled
// from the graph; train steps never run at once, so one set of buffers serves them all).
class Buckets {
 public:
  struct Bucket {
    std::vector<float> data;
    int members = 0;
    int arrived = 0;   // Starts run this step
    int copied = 0;    // Waits run this step
    int64_t handle = -1;
    bool started = false;
    bool done = false;
  };
  Buckets(Communicator* comm, std::vector<int64_t> sizes, std::vector<int> members) : comm_(comm) {
    buckets_.resize(sizes.size());
    for (size_t b = 0; b < sizes.size(); ++b) {
      buckets_[b].data.resize(sizes[b]);
      buckets_[b].members = members[b];
    }
  }
  float* slot(int bucket, int64_t offset) { return buckets_[bucket].data.data() + offset; }

  // A Start put its gradient in `bucket`: starts every complete bucket next in order.
  absl::Status Arrived(int bucket) {
    ++buckets_[bucket].arrived;
    if (absl::Status s = StartReady(); !s.ok()) return s;
    comm_->Progress();
    return absl::OkStatus();
  }
  // A Wait needs `bucket`'s sum: waits for it (once per step).
  absl::Status Sum(int bucket) {
    Bucket& b = buckets_[bucket];
    if (!b.started) {
      if (absl::Status s = StartReady(); !s.ok()) return s;
      if (!b.started) {
        return absl::InternalError(absl::StrCat("gradient bucket ", bucket, " has ", b.arrived,
                                                " of its ", b.members, " gradients at its Wait"));
      }
    }
    if (!b.done) {
      if (absl::Status s = comm_->Wait(b.handle); !s.ok()) return s;
      b.done = true;
    }
    return absl::OkStatus();
  }
  // A Wait copied its sum out: after the bucket's last one, the bucket is ready for a new step.
  void Copied(int bucket) {
    Bucket& b = buckets_[bucket];
    if (++b.copied < b.members) return;
    b.arrived = b.copied = 0;
    b.handle = -1;
    b.started = b.done = false;
  }

 private:
  absl::Status StartReady() {
    if (next_ == static_cast<int>(buckets_.size())) {
      bool all_clear = true;
      for (const Bucket& b : buckets_) all_clear = all_clear && !b.started;
      if (all_clear) next_ = 0;  // a new step
    }
    while (next_ < static_cast<int>(buckets_.size()) &&
           buckets_[next_].arrived == buckets_[next_].members) {
      Bucket& b = buckets_[next_];
      absl::StatusOr<int64_t> h = comm_->StartAllreduceSum(absl::MakeSpan(b.data));
      if (!h.ok()) return h.status();
      b.handle = *h;
      b.started = true;
      ++next_;
    }
    return absl::OkStatus();
  }

  Communicator* comm_;
  std::vector<Bucket> buckets_;
  int next_ = 0;  // the next bucket to start
};

struct AllreduceAttrs {
  std::shared_ptr<Buckets> buckets;
  int bucket = 0;
  int64_t offset = 0;    // elements into the bucket
  int64_t elements = 0;  // this gradient's
};

std::string Describe(const AllreduceAttrs& a) {
  return absl::StrCat("bucket=", a.bucket, ", offset=", a.offset, ", elements=", a.elements);
}

absl::StatusOr<std::vector<TensorType>> InferStart(const ShapeContext& c,
                                                   const AllreduceAttrs& a) {
  if (c.inputs[0].dtype != DType::kF32 || c.inputs[0].shape.num_elements() != a.elements) {
    return ShapeError(c, absl::StrCat("expects a float32 gradient of ", a.elements,
                                      " elements, got ", c.inputs[0].ToString()));
  }
  if (!IsFloating(c.inputs[1].dtype) || c.inputs[1].shape.rank() != 0) {
    return ShapeError(c, absl::StrCat("scale must be a float scalar, got ",
                                      c.inputs[1].ToString()));
  }
  return std::vector<TensorType>{c.inputs[0], TensorType{DType::kF32, Shape{}}};
}

absl::StatusOr<std::vector<TensorType>> InferWait(const ShapeContext& c,
                                                  const AllreduceAttrs& a) {
  if (c.inputs[0].dtype != DType::kF32 || c.inputs[0].shape.num_elements() != a.elements) {
    return ShapeError(c, absl::StrCat("expects a float32 gradient of ", a.elements,
                                      " elements, got ", c.inputs[0].ToString()));
  }
  return std::vector<TensorType>{c.inputs[0], TensorType{DType::kF32, Shape{}}};
}

// What both kernels share: the traits (a flat array in any layout, on the plan's thread) and
// the element count check against the bound buffer.
class CollectiveKernel : public Kernel {
 public:
  absl::Status Init(const KernelInitContext& c) override {
    attrs_ = c.attrs<AllreduceAttrs>();
    return absl::OkStatus();
  }
  // All MPI calls of a step come from the thread driving the plan (where oneDNN steps run).
  bool UsesOneDnn() const override { return true; }

 protected:
  absl::Status CheckSize(const Tensor& t) const {
    if (t.num_elements() != attrs_.elements) {
      return absl::InternalError(absl::StrCat("the gradient's buffer holds ", t.num_elements(),
                                              " elements, its bucket slot ", attrs_.elements));
    }
    return absl::OkStatus();
  }
  AllreduceAttrs attrs_;
};

template <typename T>
class StartKernel : public CollectiveKernel {
 public:
  KernelTraits Traits() const override {
    return {.elementwise_over_layout = true, .run_early = true, .layout_passthrough = true};
  }
  absl::Status Run(KernelRunContext& ctx) override {
    const Tensor& g = ctx.input(0);
    if (absl::Status s = CheckSize(g); !s.ok()) return s;
    const float scale = static_cast<float>(ctx.input(1).AsDouble(0));
    const float* src = g.data<float>();
    float* dst = attrs_.buckets->slot(attrs_.bucket, attrs_.offset);
    for (int64_t i = 0; i < attrs_.elements; ++i) dst[i] = src[i] * scale;
    ctx.output(1).data<float>()[0] = 0;
    return attrs_.buckets->Arrived(attrs_.bucket);
  }
};

template <typename T>
class WaitKernel : public CollectiveKernel {
 public:
  KernelTraits Traits() const override {
    return {.elementwise_over_layout = true, .layout_passthrough = true};
  }
  absl::Status Run(KernelRunContext& ctx) override {
    Tensor& g = ctx.output(0);  // the gradient's own bytes (an alias of input 0)
    if (absl::Status s = CheckSize(g); !s.ok()) return s;
    if (absl::Status s = attrs_.buckets->Sum(attrs_.bucket); !s.ok()) return s;
    const float* src = attrs_.buckets->slot(attrs_.bucket, attrs_.offset);
    std::memcpy(g.data<float>(), src, attrs_.elements * sizeof(float));
    ctx.output(1).data<float>()[0] = 0;
    attrs_.buckets->Copied(attrs_.bucket);
    return absl::OkStatus();
  }
};

GRAFT_REGISTER_OP(OpDef<AllreduceAttrs>("graft.AllreduceStart")
                      .Doc("copies scale * g into its gradient bucket and starts the bucket's "
                           "sum over the ranks when it is complete; g passes through")
                      .Inputs({"g", "scale"})
                      .Outputs({"g", "token"})
                      .Alias(0, 0)
                      .Shape(InferStart)
                      .PrintAttrs(Describe)
                      .Kernel<StartKernel<float>>(DType::kF32)
                      .Reference<StartKernel>());

GRAFT_REGISTER_OP(OpDef<AllreduceAttrs>("graft.AllreduceWait")
                      .Doc("waits for the gradient's bucket sum over the ranks and writes it "
                           "over g; `after` are the tokens of its bucket's Starts")
                      .Inputs({"g", "after..."})
                      .Outputs({"g", "token"})
                      .Alias(0, 0)
                      .Shape(InferWait)
                      .PrintAttrs(Describe)
                      .Kernel<WaitKernel<float>>(DType::kF32)
                      .Reference<WaitKernel>());

}  // namespace

absl::StatusOr<std::vector<Value>> AllreduceGradients(Graph& g, const std::vector<Value>& grads,
                                                      Value scale, Communicator* comm,
                                                      int64_t bucket_bytes) {
  if (comm == nullptr) return absl::InvalidArgumentError("AllreduceGradients: no communicator");
  const int n = static_cast<int>(grads.size());
  // Buckets in reverse order: the backward pass produces the last layer's gradients first.
  std::vector<int> bucket_of(n);
  std::vector<int64_t> offset_of(n), sizes;
  std::vector<int> members;
  const int64_t cap = std::max<int64_t>(bucket_bytes / 4, 1);
  for (int i = n - 1; i >= 0; --i) {
    const TensorType t = g.type(grads[i]);
    if (t.dtype != DType::kF32) {
      return absl::InvalidArgumentError(absl::StrCat(
          "AllreduceGradients: data-parallel training sums float32 gradients; gradient ", i,
          " is ", t.ToString()));
    }
    const int64_t e = t.shape.num_elements();
    if (sizes.empty() || (sizes.back() > 0 && sizes.back() + e > cap)) {
      sizes.push_back(0);
      members.push_back(0);
    }
    bucket_of[i] = static_cast<int>(sizes.size()) - 1;
    offset_of[i] = sizes.back();
    sizes.back() += e;
    ++members.back();
  }
  auto buckets = std::make_shared<Buckets>(comm, sizes, members);
  std::vector<Value> started(n), tokens(n), out(n);
  for (int i = n - 1; i >= 0; --i) {
    AllreduceAttrs a{buckets, bucket_of[i], offset_of[i], g.type(grads[i]).shape.num_elements()};
    absl::StatusOr<std::vector<Value>> s =
        g.AddNode("graft.AllreduceStart", {grads[i], scale}, a,
                  absl::StrCat(g.node(grads[i].node).name, "/allreduce_start"));
    if (!s.ok()) return s.status();
    started[i] = (*s)[0];
    tokens[i] = (*s)[1];
  }
  for (int i = n - 1; i >= 0; --i) {
    std::vector<Value> inputs = {started[i]};
    // After every Start of its bucket and of the buckets before it, which start first (so a
    // Wait never waits for a bucket that cannot start yet, whatever order an executor picks).
    for (int j = 0; j < n; ++j) {
      if (bucket_of[j] <= bucket_of[i]) inputs.push_back(tokens[j]);
    }
    AllreduceAttrs a{buckets, bucket_of[i], offset_of[i], g.type(grads[i]).shape.num_elements()};
    absl::StatusOr<std::vector<Value>> w =
        g.AddNode("graft.AllreduceWait", std::move(inputs), a,
                  absl::StrCat(g.node(grads[i].node).name, "/allreduce_wait"));
    if (!w.ok()) return w.status();
    out[i] = (*w)[0];
  }
  return out;
}

}  // namespace graft::ops
