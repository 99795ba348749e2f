// Per-op cost of graft beside the raw oneDNN primitive on the same shapes.
//
//   bazel run -c opt //bench:ops_bench
//   bazel run -c opt //bench:ops_bench -- --benchmark_filter=M4 --benchmark_repetitions=5
//   bazel run -c opt //bench:ops_bench -- --benchmark_repetitions=3
//       --benchmark_enable_random_interleaving=true --benchmark_min_time=0.3   (the README run)
//
// For each op of the four reference models (below) at its shapes, and for 1 and 2 threads:
//   graft  a graft::Plan over a graph holding the op (placeholders feed the activations,
//          variables hold the weights), run with Plan::Run and no fetches: what a training step
//          pays for this node (feed binding, the executor, the kernel). The plan keeps the
//          weights packed in the forward primitive's layout (graph/variable_home.h), so the
//          forward reads them as they are; backward-data reorders them into its own layout and
//          backward-weights writes dw in Keras's layout (in a training plan: the weights'). The forward max pool's workspace is read by a Flatten (an alias in the
//          plan's arena, no copy), as the backward op reads it in training.
//   raw    the same oneDNN primitive(s) built directly, as a careful user would: nwc / nhwc
//          activations, conv weights `format_tag::any` reordered ONCE outside the timed loop,
//          the forward primitive descriptor as the hint of the backward ones; the loop executes
//          the primitive and waits on the stream, nothing else. Dense is graft's algorithm, a
//          matmul on the plain row-major buffers (weights included: with `any`, oneDNN 2.6
//          packs them and is slower at some of these shapes; that variant is timed as a part).
//          Max pooling is oneDNN's pooling primitive (graft runs its own loops there).
// The raw side reads graft's input tensors and writes graft's output tensors, so both touch
// the same memory. Both run in one benchmark body, alternately (the order swaps every
// iteration), each timed on its own; the reported time is graft's (manual time) and the
// counters are per-iteration medians. Four more timings in the same loop explain the gap:
//   kernel   graft's kernel Run alone (the plan's step, feeds already bound): graft - kernel is
//            Plan::Run's own cost, kernel - raw the kernel's (memory objects, argument map,
//            weight reorders, waits).
//   fresh    the raw primitive with its arguments wrapped anew every run (new dnnl::memory
//            objects over the same buffers, a new map), as graft's kernels did before they
//            built them once (onednn::Args).
//   reorder  conv only: a weight reorder between Keras's layout and the primitive's, as a bare
//            primitive (what a kernel that kept Keras's layout would pay per step).
//   any      dense forward / backward-data: the raw matmul with the weights in the layout
//            oneDNN picks for `any` (reordered once) instead of graft's plain (in, out).
//   matmul   dense backward-weights: the raw dw matmul alone (the rest of raw is the db
//            reduction primitive; graft sums db with TBB loops).
// After the benchmarks, a table: per op, shape and thread count the medians over repetitions of
// graft and raw, the overhead (graft - raw) / raw in percent (median, min..max), and the
// breakdown. oneDNN's OpenMP team slows down badly when another CPU-bound process shares the
// cores, so each run first waits (up to --quiet_wait_s, default 120) for the other processes to
// use under 5% of the CPU, records the share they took while it ran, and the table keeps only
// repetitions where that share stayed under 10%. Pooling inputs are ReLU'd (about half zeros,
// as in the models; --relu_pool_inputs=0 pools uniform [-1, 1) data).
//
// The models (Keras layers; activations are separate graft ops and not timed here):
//   M1  Conv1D(32, 5) on (100, 3) -> MaxPooling1D(2) -> Dense(1) on 1536       batch 32, 256
//   M2  Conv2D(32, 3x3) on (32, 32, 3) -> MaxPooling2D(2) -> Dense(10) on 7200  batch 32, 256
//   M3  Conv2D(32, 3) on (28, 28, 1) -> MaxPool(2) -> Conv2D(64, 3) on (13, 13, 32)
//       -> MaxPool(2) -> Dense(10) on 1600                                        batch 32, 256
//   M4  VGG-style on (32, 32, 3): Conv2D(64, 3, same) x2 -> MaxPool -> Conv2D(128, 3, same) x2
//       -> MaxPool -> Dense(10) on 8192                                           batch 64
#include <omp.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "benchmark/benchmark.h"
#include "graph/graph.h"
#include "graph/tensor.h"
#include "oneapi/dnnl/dnnl.hpp"
#include "bench/timing.h"
#include "ops/conv.h"
#include "ops/onednn/onednn.h"
#include "ops/padding.h"
#include "ops/pool.h"
#include "ops/reshape.h"
#include "runtime/plan.h"
#include "runtime/threads.h"

namespace graft::bench {
namespace {

using Dims = std::vector<int64_t>;
using dnnl::memory;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;
using Args = std::unordered_map<int, memory>;

// ---- the cases ------------------------------------------------------------------------------

enum class Kind { kConv, kPool, kDense };
enum class Pass { kForward, kBackwardData, kBackwardWeights };

// One layer of one model at one batch size.
struct Layer {
  std::string model;  // "M3.conv2"
  Kind kind;
  int64_t batch;
  Dims in;           // spatial dims of x (conv, pool); empty for dense
  int64_t cin = 0;   // input channels (conv, pool) or in-features (dense)
  int64_t cout = 0;  // filters (conv) or units (dense)
  Dims k;            // kernel (conv) or window (pool) per spatial dim
  ops::Padding padding = ops::Padding::kValid;
  int rank() const { return static_cast<int>(in.size()); }
};

std::vector<Layer> Layers() {
  using ops::Padding;
  std::vector<Layer> out;
  for (int64_t b : {32, 256}) {
    out.push_back({"M1.conv", Kind::kConv, b, {100}, 3, 32, {5}});
    out.push_back({"M1.pool", Kind::kPool, b, {96}, 32, 0, {2}});
    out.push_back({"M1.dense", Kind::kDense, b, {}, 1536, 1, {}});
    out.push_back({"M2.conv", Kind::kConv, b, {32, 32}, 3, 32, {3, 3}});
    out.push_back({"M2.pool", Kind::kPool, b, {30, 30}, 32, 0, {2, 2}});
    out.push_back({"M2.dense", Kind::kDense, b, {}, 7200, 10, {}});
    out.push_back({"M3.conv1", Kind::kConv, b, {28, 28}, 1, 32, {3, 3}});
    out.push_back({"M3.pool1", Kind::kPool, b, {26, 26}, 32, 0, {2, 2}});
    out.push_back({"M3.conv2", Kind::kConv, b, {13, 13}, 32, 64, {3, 3}});
    out.push_back({"M3.pool2", Kind::kPool, b, {11, 11}, 64, 0, {2, 2}});
    out.push_back({"M3.dense", Kind::kDense, b, {}, 1600, 10, {}});
  }
  const int64_t b = 64;
  out.push_back({"M4.conv1", Kind::kConv, b, {32, 32}, 3, 64, {3, 3}, Padding::kSame});
  out.push_back({"M4.conv2", Kind::kConv, b, {32, 32}, 64, 64, {3, 3}, Padding::kSame});
  out.push_back({"M4.pool1", Kind::kPool, b, {32, 32}, 64, 0, {2, 2}});
  out.push_back({"M4.conv3", Kind::kConv, b, {16, 16}, 64, 128, {3, 3}, Padding::kSame});
  out.push_back({"M4.conv4", Kind::kConv, b, {16, 16}, 128, 128, {3, 3}, Padding::kSame});
  out.push_back({"M4.pool2", Kind::kPool, b, {16, 16}, 128, 0, {2, 2}});
  out.push_back({"M4.dense", Kind::kDense, b, {}, 8192, 10, {}});
  return out;
}

// The output spatial dims and pads of a conv or pool layer (pools stride by their window).
struct Geo {
  Dims out, pad_l, pad_r, stride;
};
Geo GeometryOf(const Layer& l) {
  Geo g;
  for (int d = 0; d < l.rank(); ++d) {
    const int64_t s = l.kind == Kind::kPool ? l.k[d] : 1;
    const ops::Geometry geo = ops::ComputeGeometry(l.in[d], l.k[d], s, 1, l.padding);
    g.out.push_back(geo.out);
    g.pad_l.push_back(geo.pad_l);
    g.pad_r.push_back(geo.pad_r);
    g.stride.push_back(s);
  }
  return g;
}

const char* OpName(const Layer& l, Pass p) {
  switch (l.kind) {
    case Kind::kConv:
      if (l.rank() == 1) {
        return p == Pass::kForward        ? "conv1d_fwd"
               : p == Pass::kBackwardData ? "conv1d_bwd_data"
                                          : "conv1d_bwd_weights";
      }
      return p == Pass::kForward        ? "conv2d_fwd"
             : p == Pass::kBackwardData ? "conv2d_bwd_data"
                                        : "conv2d_bwd_weights";
    case Kind::kPool:
      if (l.rank() == 1) return p == Pass::kForward ? "maxpool1d_fwd" : "maxpool1d_bwd";
      return p == Pass::kForward ? "maxpool2d_fwd" : "maxpool2d_bwd";
    case Kind::kDense:
      return p == Pass::kForward        ? "dense_fwd"
             : p == Pass::kBackwardData ? "dense_bwd_data"
                                        : "dense_bwd_weights";
  }
  return "";
}

std::vector<Pass> PassesOf(Kind k) {
  if (k == Kind::kPool) return {Pass::kForward, Pass::kBackwardData};
  return {Pass::kForward, Pass::kBackwardData, Pass::kBackwardWeights};
}

// "x(32,32,32,64) k3x3 f=64 same" (f: filters), "x(32,96,32) p2", "x(32,1536) u=1" (u: units).
std::string ShapeText(const Layer& l) {
  Dims x = {l.batch};
  x.insert(x.end(), l.in.begin(), l.in.end());
  x.push_back(l.cin);
  std::string s = absl::StrCat("x(", absl::StrJoin(x, ","), ")");
  switch (l.kind) {
    case Kind::kConv:
      return absl::StrCat(s, " k", absl::StrJoin(l.k, "x"), " f=", l.cout,
                          l.padding == ops::Padding::kSame ? " same" : "");
    case Kind::kPool:
      return absl::StrCat(s, " p", absl::StrJoin(l.k, "x"));
    case Kind::kDense:
      return absl::StrCat(s, " u=", l.cout);
  }
  return s;
}

// ---- data -----------------------------------------------------------------------------------

void Fill(float* p, int64_t n, uint64_t seed) {
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  for (int64_t i = 0; i < n; ++i) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    p[i] = static_cast<float>((s >> 40) * (1.0 / (1ull << 24))) * 2.0f - 1.0f;
  }
}

Tensor RandomTensor(Dims dims, uint64_t seed) {
  Tensor t(DType::kF32, Shape(std::move(dims)));
  Fill(t.data<float>(), t.num_elements(), seed);
  return t;
}

// (batch, spatial..., channels)
Dims Activation(int64_t batch, const Dims& spatial, int64_t channels) {
  Dims d = {batch};
  d.insert(d.end(), spatial.begin(), spatial.end());
  d.push_back(channels);
  return d;
}

// ---- the graft side -------------------------------------------------------------------------

// A plan over a graph with one op node, and the feeds a step binds.
struct GraftOp {
  Graph graph;
  std::unique_ptr<Plan> plan;
  std::vector<Tensor> feeds;
  int step = 0;          // the op's step in the plan
  KernelRunContext ctx;  // its context, for timing its kernel alone

  absl::Status Run() { return plan->Run(feeds, nullptr); }
  absl::Status RunKernel() {
    ScopedThreads threads(plan->num_threads());  // as Plan::Run does
    return plan->steps()[step].kernel->Run(ctx);
  }
};

// Placeholders for `feeds` (batch left unknown, as a Keras model's graph has it).
std::vector<Value> Placeholders(Graph& g, const std::vector<Tensor>& feeds) {
  std::vector<Value> out;
  for (size_t i = 0; i < feeds.size(); ++i) {
    Dims d = feeds[i].shape().dims();
    d[0] = -1;
    out.push_back(g.Placeholder({feeds[i].dtype(), Shape(d)}, absl::StrCat("feed", i)));
  }
  return out;
}

// Compiles the plan that runs `target` (the op's node, or a no-copy reader of its hidden output)
// and finds the op's step.
absl::Status Compile(GraftOp& op, const std::vector<Value>& placeholders, int op_node, int target) {
  std::vector<TensorType> types;
  for (const Tensor& t : op.feeds) types.push_back(t.type());
  absl::StatusOr<std::unique_ptr<Plan>> plan =
      Plan::Compile(op.graph, {.feeds = placeholders, .targets = {Operation{target}}}, types);
  if (!plan.ok()) return plan.status();
  op.plan = *std::move(plan);
  const std::vector<PlanStep>& steps = op.plan->steps();
  op.step = -1;
  for (size_t i = 0; i < steps.size(); ++i) {
    if (steps[i].node->id == op_node) op.step = static_cast<int>(i);
  }
  if (op.step < 0 || steps.size() > (op_node == target ? 1 : 2)) {
    return absl::InternalError(absl::StrCat("unexpected plan:\n", op.plan->Report()));
  }
  // Bind the feeds once so the step's input pointers see them, then keep a copy of its context.
  if (absl::Status s = op.Run(); !s.ok()) return s;
  op.ctx = steps[op.step].ctx;
  return absl::OkStatus();
}

std::any ConvAttrs(const Layer& l) {
  if (l.rank() == 1) return ops::Conv1DAttrs{.padding = l.padding};
  return ops::Conv2DAttrs{.padding = l.padding};
}
ops::Pool1DAttrs Pool1D(const Layer& l) { return {l.k[0], l.k[0], l.padding}; }
ops::Pool2DAttrs Pool2D(const Layer& l) { return {l.k[0], l.k[1], l.k[0], l.k[1], l.padding}; }
std::any PoolAttrs(const Layer& l) {
  if (l.rank() == 1) return Pool1D(l);
  return Pool2D(l);
}

// The graft op for (layer, pass), fed with `feeds` (the same tensors the raw side reads).
absl::StatusOr<std::unique_ptr<GraftOp>> BuildGraft(const Layer& l, Pass pass, const Tensor& x,
                                                    const Tensor& w, const Tensor& b,
                                                    const Tensor& dy, const Tensor& ws) {
  auto op = std::make_unique<GraftOp>();
  Graph& g = op->graph;
  const std::string dim = l.rank() == 1 ? "1D" : "2D";
  absl::StatusOr<std::vector<Value>> node;
  std::vector<Value> ph;
  switch (l.kind) {
    case Kind::kConv: {
      const std::string base = "graft.Conv" + dim;
      if (pass == Pass::kForward) {
        op->feeds = {x};
        ph = Placeholders(g, op->feeds);
        node = g.AddNode(base, {ph[0], g.Variable(w, "w"), g.Variable(b, "b")}, ConvAttrs(l));
      } else if (pass == Pass::kBackwardData) {
        op->feeds = {dy};
        ph = Placeholders(g, op->feeds);
        std::any attrs;
        if (l.rank() == 1) {
          attrs =
              ops::Conv1DBackwardDataAttrs{std::any_cast<ops::Conv1DAttrs>(ConvAttrs(l)), l.in[0]};
        } else {
          attrs = ops::Conv2DBackwardDataAttrs{std::any_cast<ops::Conv2DAttrs>(ConvAttrs(l)),
                                               l.in[0], l.in[1]};
        }
        node = g.AddNode(base + "BackwardData", {ph[0], g.Variable(w, "w")}, attrs);
      } else {
        op->feeds = {x, dy};
        ph = Placeholders(g, op->feeds);
        std::any attrs;
        if (l.rank() == 1) {
          attrs = ops::Conv1DBackwardWeightsAttrs{std::any_cast<ops::Conv1DAttrs>(ConvAttrs(l)),
                                                  l.k[0]};
        } else {
          attrs = ops::Conv2DBackwardWeightsAttrs{std::any_cast<ops::Conv2DAttrs>(ConvAttrs(l)),
                                                  l.k[0], l.k[1]};
        }
        node = g.AddNode(base + "BackwardWeights", {ph[0], ph[1]}, attrs);
      }
      break;
    }
    case Kind::kPool: {
      const std::string base = "graft.MaxPool" + dim;
      if (pass == Pass::kForward) {
        op->feeds = {x};
        ph = Placeholders(g, op->feeds);
        node = g.AddNode(base, {ph[0]}, PoolAttrs(l));
        if (!node.ok()) return node.status();
        // In training the backward op reads the workspace; a plan where nothing does may skip
        // it. A Flatten (an alias of its input in the plan's arena: no copy) reads it here.
        absl::StatusOr<Value> reader = ops::Flatten(g, Value{(*node)[0].node, 1});
        if (!reader.ok()) return reader.status();
        if (absl::Status s = Compile(*op, ph, (*node)[0].node, reader->node); !s.ok()) return s;
        return op;
      } else {
        op->feeds = {dy, ws, x};
        ph = Placeholders(g, op->feeds);
        node = g.AddNode(base + "Backward", {ph[0], ph[1], ph[2]}, PoolAttrs(l));
      }
      break;
    }
    case Kind::kDense: {
      if (pass == Pass::kForward) {
        op->feeds = {x};
        ph = Placeholders(g, op->feeds);
        node = g.AddNode("graft.Dense", {ph[0], g.Variable(w, "w"), g.Variable(b, "b")});
      } else if (pass == Pass::kBackwardData) {
        op->feeds = {dy};
        ph = Placeholders(g, op->feeds);
        node = g.AddNode("graft.DenseBackwardData", {ph[0], g.Variable(w, "w")});
      } else {
        op->feeds = {x, dy};
        ph = Placeholders(g, op->feeds);
        node = g.AddNode("graft.DenseBackwardWeights", {ph[0], ph[1]});
      }
      break;
    }
  }
  if (!node.ok()) return node.status();
  const int id = (*node)[0].node;
  if (absl::Status s = Compile(*op, ph, id, id); !s.ok()) return s;
  return op;
}

// graft's max-pool workspace for x: one forward step, fetching the hidden output.
absl::StatusOr<Tensor> GraftPoolWorkspace(const Layer& l, const Tensor& x) {
  Graph g;
  std::vector<Value> ph = Placeholders(g, {x});
  absl::StatusOr<std::vector<Value>> node =
      g.AddNode(l.rank() == 1 ? "graft.MaxPool1D" : "graft.MaxPool2D", {ph[0]}, PoolAttrs(l));
  if (!node.ok()) return node.status();
  absl::StatusOr<std::unique_ptr<Plan>> plan =
      Plan::Compile(g, {.feeds = ph, .fetches = {Value{(*node)[0].node, 1}}}, {x.type()});
  if (!plan.ok()) return plan.status();
  std::vector<Tensor> out;
  if (absl::Status s = (*plan)->Run({x}, &out); !s.ok()) return s;
  return out[0];
}

// ---- the raw oneDNN side --------------------------------------------------------------------

const dnnl::engine& Engine() {
  static const dnnl::engine* e = new dnnl::engine(dnnl::engine::kind::cpu, 0);
  return *e;
}
dnnl::stream& Stream() {
  static dnnl::stream* s = new dnnl::stream(Engine());
  return *s;
}

// One or more primitives with their arguments bound once; Run executes them and waits.
struct RawOp {
  std::vector<std::pair<dnnl::primitive, Args>> steps;
  std::string impl;  // the implementations oneDNN chose, for the label

  void Run() {
    for (auto& [p, args] : steps) p.execute(Stream(), args);
    Stream().wait();
  }

  // Runs with every argument wrapped anew, as graft's kernels do each step: a new dnnl::memory
  // over the same buffer per argument, in a new map.
  void RunFreshArgs() {
    if (plain_.empty()) {
      for (auto& [p, args] : steps) {
        plain_.emplace_back();
        for (const auto& [k, m] : args) {
          plain_.back().push_back({k, m.get_desc(), m.get_data_handle()});
        }
      }
    }
    for (size_t i = 0; i < steps.size(); ++i) {
      Args fresh;
      for (const PlainArg& a : plain_[i]) fresh.emplace(a.arg, memory(a.md, Engine(), a.data));
      steps[i].first.execute(Stream(), fresh);
    }
    Stream().wait();
  }

 private:
  struct PlainArg {
    int arg;
    memory::desc md;
    void* data;
  };
  std::vector<std::vector<PlainArg>> plain_;  // per step: its arguments, unwrapped
};

// The raw side reads graft's input tensors and variables (conv weights: reordered once from
// them) and writes graft's output tensors (the step's outputs), so both touch the same memory:
// timed alternately, a buffer of its own would be colder for one side than the other (by up to
// 50% on the large memory-bound convolutions).
using Outs = std::vector<Tensor*>;
// A memory over a graft tensor's storage.
memory Over(const memory::desc& md, const Tensor& t) {
  return memory(md, Engine(), const_cast<void*>(t.raw_data()));
}
// `user` reordered once into `md` (a no-op copy when the layouts agree).
memory ReorderedOnce(memory user, const memory::desc& md) {
  memory out(md, Engine());
  dnnl::reorder(user, out).execute(Stream(), user, out);
  Stream().wait();
  return out;
}

// oneDNN's logical (N, C, S...) over channels-last memory.
memory::desc ActivationMd(int64_t n, int64_t c, const Dims& spatial) {
  memory::dims d = {n, c};
  d.insert(d.end(), spatial.begin(), spatial.end());
  return memory::desc(d, dt::f32, spatial.size() == 1 ? tag::nwc : tag::nhwc);
}
memory::dims ConvWeightDims(const Layer& l) {
  memory::dims d = {l.cout, l.cin};
  d.insert(d.end(), l.k.begin(), l.k.end());
  return d;
}
// Keras's kernel (k..., Cin, Cout) row-major, seen as oneDNN's (Cout, Cin, k...): what graft's
// kernels hand the reorder every step.
memory::desc KerasWeightsMd(const Layer& l) {
  memory::dims strides = {1, l.cout};
  memory::dims taps(l.k.size());
  int64_t step = l.cin * l.cout;
  for (int d = l.rank() - 1; d >= 0; --d) {
    taps[d] = step;
    step *= l.k[d];
  }
  strides.insert(strides.end(), taps.begin(), taps.end());
  return memory::desc(ConvWeightDims(l), dt::f32, strides);
}

// What a raw op needs besides itself: an optional extra timed part (see the file comment).
struct Raw {
  RawOp op;
  std::unique_ptr<RawOp> part;
  const char* part_name = nullptr;
};

Raw BuildRawConv(const Layer& l, Pass pass, const Tensor& x, const Tensor& w, const Tensor& b,
                 const Tensor& dy, const Outs& out) {
  const Geo geo = GeometryOf(l);
  const memory::desc src = ActivationMd(l.batch, l.cin, l.in);
  const memory::desc dst = ActivationMd(l.batch, l.cout, geo.out);
  const memory::desc bias({l.cout}, dt::f32, tag::a);
  const memory::desc any_w(ConvWeightDims(l), dt::f32, tag::any);
  const memory::dims dil(l.rank(), 0);
  const auto algo = dnnl::algorithm::convolution_direct;
  const dnnl::convolution_forward::primitive_desc fwd(
      {dnnl::prop_kind::forward_training, algo, src, any_w, bias, dst, geo.stride, dil, geo.pad_l,
       geo.pad_r},
      Engine());
  Raw r;
  r.part = std::make_unique<RawOp>();
  r.part_name = "reorder";
  // graft's kernel (Keras's layout), reordered once into the layout the primitive chose.
  const memory keras_w = Over(KerasWeightsMd(l), w);
  // The part: graft's per-step reorder between the Keras layout and the chosen one.
  auto reorder_part = [&](memory from, memory to) {
    if (from.get_desc() == to.get_desc()) {  // graft's bridge skips equal layouts
      r.part.reset();
      return;
    }
    r.part->steps.push_back({dnnl::reorder(from, to), {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}}});
  };
  if (pass == Pass::kForward) {
    const memory chosen = ReorderedOnce(keras_w, fwd.weights_desc());
    r.op.steps.push_back({dnnl::convolution_forward(fwd),
                          {{DNNL_ARG_SRC, Over(src, x)},
                           {DNNL_ARG_WEIGHTS, chosen},
                           {DNNL_ARG_BIAS, Over(bias, b)},
                           {DNNL_ARG_DST, Over(dst, *out[0])}}});
    r.op.impl = fwd.impl_info_str();
    reorder_part(keras_w, memory(fwd.weights_desc(), Engine()));
  } else if (pass == Pass::kBackwardData) {
    const dnnl::convolution_backward_data::primitive_desc pd(
        {algo, src, any_w, dst, geo.stride, dil, geo.pad_l, geo.pad_r}, Engine(), fwd);
    const memory chosen = ReorderedOnce(keras_w, pd.weights_desc());
    r.op.steps.push_back({dnnl::convolution_backward_data(pd),
                          {{DNNL_ARG_DIFF_DST, Over(dst, dy)},
                           {DNNL_ARG_WEIGHTS, chosen},
                           {DNNL_ARG_DIFF_SRC, Over(src, *out[0])}}});
    r.op.impl = pd.impl_info_str();
    reorder_part(keras_w, memory(pd.weights_desc(), Engine()));
  } else {
    const dnnl::convolution_backward_weights::primitive_desc pd(
        {algo, src, any_w, bias, dst, geo.stride, dil, geo.pad_l, geo.pad_r}, Engine(), fwd);
    r.op.steps.push_back({dnnl::convolution_backward_weights(pd),
                          {{DNNL_ARG_SRC, Over(src, x)},
                           {DNNL_ARG_DIFF_DST, Over(dst, dy)},
                           {DNNL_ARG_DIFF_WEIGHTS, memory(pd.diff_weights_desc(), Engine())},
                           {DNNL_ARG_DIFF_BIAS, Over(bias, *out[1])}}});
    r.op.impl = pd.impl_info_str();
    reorder_part(memory(pd.diff_weights_desc(), Engine()), Over(KerasWeightsMd(l), *out[0]));
  }
  if (r.part) r.part->impl = "reorder";
  return r;
}

// Max pooling as a user would write it: 1-D pools as 1-D primitives (nwc), 2-D as nhwc.
Raw BuildRawPool(const Layer& l, Pass pass, const Tensor& x, const Tensor& dy, const Outs& out) {
  const Geo geo = GeometryOf(l);
  const memory::desc src = ActivationMd(l.batch, l.cin, l.in);
  const memory::desc dst = ActivationMd(l.batch, l.cin, geo.out);
  const memory::dims kernel(l.k.begin(), l.k.end());
  const auto alg = dnnl::algorithm::pooling_max;
  const dnnl::pooling_forward::primitive_desc fwd(
      {dnnl::prop_kind::forward_training, alg, src, dst, geo.stride, kernel, geo.pad_l, geo.pad_r},
      Engine());
  // The forward writes graft's outputs when it is the op timed, else buffers of its own.
  const bool timed = pass == Pass::kForward;
  const memory ws =
      timed ? Over(fwd.workspace_desc(), *out[1]) : memory(fwd.workspace_desc(), Engine());
  RawOp forward;
  forward.steps.push_back({dnnl::pooling_forward(fwd),
                           {{DNNL_ARG_SRC, Over(src, x)},
                            {DNNL_ARG_DST, timed ? Over(dst, *out[0]) : memory(dst, Engine())},
                            {DNNL_ARG_WORKSPACE, ws}}});
  forward.impl = fwd.impl_info_str();
  if (pass == Pass::kForward) return {std::move(forward)};
  forward.Run();  // the workspace the backward reads
  const dnnl::pooling_backward::primitive_desc pd(
      {alg, src, dst, geo.stride, kernel, geo.pad_l, geo.pad_r}, Engine(), fwd);
  Raw r;
  r.op.steps.push_back({dnnl::pooling_backward(pd),
                        {{DNNL_ARG_DIFF_DST, Over(dst, dy)},
                         {DNNL_ARG_DIFF_SRC, Over(src, *out[0])},
                         {DNNL_ARG_WORKSPACE, ws}}});
  r.op.impl = pd.impl_info_str();
  return r;
}

// One matmul dst = src @ weights [+ bias (1, n)] over `in`, the weights graft's tensor `w`
// seen in layout `user`: used as they are (plain), like graft does, or reordered once into the
// layout oneDNN picks for `any`.
RawOp Matmul(const memory::desc& src, const Tensor& in, const memory::dims& wdims, tag user,
             const Tensor& w, bool plain, const Tensor* bias, const memory::desc& dst,
             Tensor& out) {
  const memory::desc bias_md({1, dst.dims()[1]}, dt::f32, tag::ab);
  const memory::desc user_md(wdims, dt::f32, user);
  const memory::desc wmd = plain ? user_md : memory::desc(wdims, dt::f32, tag::any);
  const dnnl::matmul::primitive_desc pd =
      bias ? dnnl::matmul::primitive_desc({src, wmd, bias_md, dst}, Engine())
           : dnnl::matmul::primitive_desc({src, wmd, dst}, Engine());
  RawOp op;
  Args args = {{DNNL_ARG_SRC, Over(src, in)},
               {DNNL_ARG_WEIGHTS,
                plain ? Over(user_md, w) : ReorderedOnce(Over(user_md, w), pd.weights_desc())},
               {DNNL_ARG_DST, Over(dst, out)}};
  if (bias) args[DNNL_ARG_BIAS] = Over(bias_md, *bias);
  op.steps.push_back({dnnl::matmul(pd), std::move(args)});
  op.impl = pd.impl_info_str();
  return op;
}

// Dense as graft computes it: matmul on row-major buffers, the weights in Keras's (in, out)
// layout (or its transposed view), as graft passes them. The part is the same matmul with the
// weights in the layout oneDNN picks for `any`, reordered once.
Raw BuildRawDense(const Layer& l, Pass pass, const Tensor& x, const Tensor& w, const Tensor& b,
                  const Tensor& dy, const Outs& out) {
  const int64_t m = l.batch, k = l.cin, n = l.cout;
  Raw r;
  if (pass == Pass::kForward) {
    const memory::desc src({m, k}, dt::f32, tag::ab), dst({m, n}, dt::f32, tag::ab);
    r.op = Matmul(src, x, {k, n}, tag::ab, w, true, &b, dst, *out[0]);
    r.part = std::make_unique<RawOp>(Matmul(src, x, {k, n}, tag::ab, w, false, &b, dst, *out[0]));
    r.part_name = "any";
  } else if (pass == Pass::kBackwardData) {
    // dx (m, k) = dy (m, n) @ w^T (n, k); the user's w is (k, n) row-major = w^T with tag ba.
    const memory::desc src({m, n}, dt::f32, tag::ab), dst({m, k}, dt::f32, tag::ab);
    r.op = Matmul(src, dy, {n, k}, tag::ba, w, true, nullptr, dst, *out[0]);
    r.part =
        std::make_unique<RawOp>(Matmul(src, dy, {n, k}, tag::ba, w, false, nullptr, dst, *out[0]));
    r.part_name = "any";
  } else {
    // dw (k, n) = x^T (k, m) @ dy (m, n), x^T a strided view; db (1, n) = column sums of dy.
    const memory::desc xt({k, m}, dt::f32, tag::ba), g({m, n}, dt::f32, tag::ab);
    const memory::desc dw({k, n}, dt::f32, tag::ab), db({1, n}, dt::f32, tag::ab);
    const dnnl::matmul::primitive_desc mm({xt, g, dw}, Engine());
    const dnnl::reduction::primitive_desc red({dnnl::algorithm::reduction_sum, g, db, 0.f, 0.f},
                                              Engine());
    const memory dy_mem = Over(g, dy);
    std::pair<dnnl::primitive, Args> matmul = {dnnl::matmul(mm),
                                               {{DNNL_ARG_SRC, Over(xt, x)},
                                                {DNNL_ARG_WEIGHTS, dy_mem},
                                                {DNNL_ARG_DST, Over(dw, *out[0])}}};
    r.op.steps.push_back(matmul);
    r.op.steps.push_back(
        {dnnl::reduction(red), {{DNNL_ARG_SRC, dy_mem}, {DNNL_ARG_DST, Over(db, *out[1])}}});
    r.op.impl = absl::StrCat(mm.impl_info_str(), "+", red.impl_info_str());
    r.part = std::make_unique<RawOp>();
    r.part->steps.push_back(std::move(matmul));
    r.part->impl = mm.impl_info_str();
    r.part_name = "matmul";
  }
  return r;
}

// ---- other processes ------------------------------------------------------------------------
// The VM's cores are shared with other work (compilers); oneDNN's OpenMP team loses badly when
// a core is taken. Each run waits until the machine is quiet, and measures how much CPU other
// processes used while it ran; the table drops repetitions where that was more than 10%.

// CPU seconds spent so far by every process (from /proc/stat: user, nice, system, irq, softirq,
// steal) and by this one.
struct CpuClock {
  double all = 0, self = 0;
  std::chrono::steady_clock::time_point wall = std::chrono::steady_clock::now();
};
CpuClock ReadCpu() {
  CpuClock c;
  static const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  if (FILE* f = std::fopen("/proc/stat", "r")) {
    unsigned long long v[8] = {};
    if (std::fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                    &v[4], &v[5], &v[6], &v[7]) == 8) {
      c.all = static_cast<double>(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / tick;
    }
    std::fclose(f);
  }
  rusage u;
  getrusage(RUSAGE_SELF, &u);
  c.self = u.ru_utime.tv_sec + u.ru_stime.tv_sec + 1e-6 * (u.ru_utime.tv_usec + u.ru_stime.tv_usec);
  return c;
}
// The share of the machine's CPU (0..1) that other processes used between a and b.
double ForeignShare(const CpuClock& a, const CpuClock& b) {
  static const double cpus = static_cast<double>(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
  const double wall = std::chrono::duration<double>(b.wall - a.wall).count();
  if (wall <= 0) return 0;
  return std::max(0.0, ((b.all - a.all) - (b.self - a.self)) / (wall * cpus));
}

double quiet_wait_s = 120;  // --quiet_wait_s: the longest wait for a quiet machine per run

// When the machine was last seen quiet: the end of a quiet wait or of a run that others left
// alone.
std::chrono::steady_clock::time_point last_quiet;

// Waits (up to quiet_wait_s) until other processes used under 5% of the CPU for 200 ms, unless
// the machine was seen quiet within the last second. Returns the seconds waited.
double WaitForQuiet() {
  const auto start = std::chrono::steady_clock::now();
  if (start - last_quiet < std::chrono::seconds(1)) return 0;
  while (true) {
    const CpuClock a = ReadCpu();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const auto now = std::chrono::steady_clock::now();
    const double waited = std::chrono::duration<double>(now - start).count();
    if (ForeignShare(a, ReadCpu()) < 0.05) {
      last_quiet = now;
      return waited;
    }
    if (waited >= quiet_wait_s) return waited;
  }
}

// ---- the timed pair -------------------------------------------------------------------------

struct Sample {
  double graft = 0, raw = 0, kernel = 0, part = -1, foreign_pct = 0, fresh = 0;
};

// Results of the reported runs, for the table: benchmark name -> one Sample per repetition.
struct Meta {
  std::string layer, op, shape, part_name;
  int threads = 1;
};
std::map<std::string, Meta>& Metas() {
  static auto* m = new std::map<std::string, Meta>;
  return *m;
}

template <typename Fn>
double Seconds(Fn&& fn) {
  const auto t0 = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// --relu_pool_inputs=0: pool uniform [-1, 1) inputs instead of ReLU'd ones (graft's max-pool
// loops branch on the data; oneDNN's do not).
bool relu_pool_inputs = true;

void RunPair(benchmark::State& state, const Layer& l, Pass pass, int threads) {
  graft::SetNumThreads(threads);
  omp_set_num_threads(threads);
  // Inputs shared by both sides (the raw side reads the same tensors).
  const Geo geo = GeometryOf(l);
  Tensor x, w, b, dy, ws;
  if (l.kind == Kind::kDense) {
    x = RandomTensor({l.batch, l.cin}, 1);
    w = RandomTensor({l.cin, l.cout}, 2);
    b = RandomTensor({l.cout}, 3);
    dy = RandomTensor({l.batch, l.cout}, 4);
  } else {
    x = RandomTensor(Activation(l.batch, l.in, l.cin), 1);
    if (l.kind == Kind::kPool && relu_pool_inputs) {
      // Every pooling layer of the models reads a ReLU's output: about half zeros.
      float* p = x.data<float>();
      for (int64_t i = 0; i < x.num_elements(); ++i) p[i] = std::max(p[i], 0.0f);
    }
    const int64_t c = l.kind == Kind::kConv ? l.cout : l.cin;
    dy = RandomTensor(Activation(l.batch, geo.out, c), 4);
    if (l.kind == Kind::kConv) {
      Dims wd = l.k;
      wd.push_back(l.cin);
      wd.push_back(l.cout);
      w = RandomTensor(wd, 2);
      b = RandomTensor({l.cout}, 3);
    }
  }
  if (l.kind == Kind::kPool && pass != Pass::kForward) {
    absl::StatusOr<Tensor> t = GraftPoolWorkspace(l, x);
    if (!t.ok()) {
      state.SkipWithError(std::string(t.status().message()).c_str());
      return;
    }
    ws = *t;
  }
  absl::StatusOr<std::unique_ptr<GraftOp>> graft = BuildGraft(l, pass, x, w, b, dy, ws);
  if (!graft.ok()) {
    state.SkipWithError(std::string(graft.status().message()).c_str());
    return;
  }
  omp_set_num_threads(threads);
  Raw raw;
  try {
    const Outs& out = (*graft)->ctx.outputs;
    raw = l.kind == Kind::kConv   ? BuildRawConv(l, pass, x, w, b, dy, out)
          : l.kind == Kind::kPool ? BuildRawPool(l, pass, x, dy, out)
                                  : BuildRawDense(l, pass, x, w, b, dy, out);
  } catch (const dnnl::error& e) {
    state.SkipWithError(absl::StrCat("oneDNN: ", e.what()).c_str());
    return;
  }
  GraftOp& g = **graft;
  auto run_graft = [&] {
    absl::Status s = g.Run();
    if (!s.ok()) state.SkipWithError(std::string(s.message()).c_str());
  };
  auto run_kernel = [&] {
    absl::Status s = g.RunKernel();
    if (!s.ok()) state.SkipWithError(std::string(s.message()).c_str());
  };
  for (int i = 0; i < 3; ++i) {  // warm-up: first-touch pages, scratchpads
    run_graft();
    run_kernel();
    raw.op.Run();
    raw.op.RunFreshArgs();
    if (raw.part) raw.part->Run();
  }
  std::vector<double> tg, tr, tk, tp, tf;
  int64_t i = 0;
  const double waited = WaitForQuiet();
  const CpuClock cpu0 = ReadCpu();
  auto run_raw = [&] { raw.op.Run(); };
  auto run_fresh = [&] { raw.op.RunFreshArgs(); };
  for (auto _ : state) {
    // The part first (it may touch buffers of its own), then an untimed raw run, so that every
    // timed run follows a run of the same op on the same buffers. graft and raw, then kernel and
    // fresh, each pair in alternating order.
    if (raw.part) {
      tp.push_back(Seconds([&] { raw.part->Run(); }));
      run_raw();
    }
    double sg, sr, sk, sf;
    if (i++ % 2 == 0) {
      sg = Seconds(run_graft);
      sr = Seconds(run_raw);
      sk = Seconds(run_kernel);
      sf = Seconds(run_fresh);
    } else {
      sr = Seconds(run_raw);
      sg = Seconds(run_graft);
      sf = Seconds(run_fresh);
      sk = Seconds(run_kernel);
    }
    tg.push_back(sg);
    tr.push_back(sr);
    tk.push_back(sk);
    tf.push_back(sf);
    state.SetIterationTime(sg);
  }
  const double foreign = ForeignShare(cpu0, ReadCpu());
  if (foreign < 0.05) last_quiet = std::chrono::steady_clock::now();
  const double g_us = Median(tg) * 1e6, r_us = Median(tr) * 1e6;
  state.counters["foreign_cpu_pct"] = foreign * 100.0;
  state.counters["quiet_wait_s"] = waited;
  state.counters["graft_us"] = g_us;
  state.counters["raw_us"] = r_us;
  state.counters["kernel_us"] = Median(tk) * 1e6;
  state.counters["fresh_args_us"] = Median(tf) * 1e6;
  if (raw.part) state.counters[std::string(raw.part_name) + "_us"] = Median(tp) * 1e6;
  state.counters["overhead_pct"] = (g_us - r_us) / r_us * 100.0;
  state.SetLabel(raw.op.impl);
}

// ---- the table ------------------------------------------------------------------------------

class TableReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      if (run.run_type != Run::RT_Iteration || run.error_occurred) continue;
      auto it = Metas().find(run.run_name.function_name);
      if (it == Metas().end()) continue;
      auto get = [&](const std::string& k) {
        auto c = run.counters.find(k);
        return c == run.counters.end() ? -1.0 : static_cast<double>(c->second);
      };
      Sample s{get("graft_us"),        get("raw_us"),       get("kernel_us"), -1,
               get("foreign_cpu_pct"), get("fresh_args_us")};
      if (!it->second.part_name.empty()) s.part = get(it->second.part_name + "_us");
      samples_[run.run_name.function_name].push_back(s);
    }
    ConsoleReporter::ReportRuns(runs);
  }

  // One row per benchmark, in registration order; medians over repetitions.
  void PrintTable(const std::vector<std::string>& order) const {
    std::printf(
        "\nPer-op time, graft vs raw oneDNN (us, median over %s; overhead %% = (graft - raw) / "
        "raw: median [min, max] over repetitions)\n",
        "the repetitions where other processes used <= 10% of the CPU");
    std::printf(
        "plan = graft - kernel (Plan::Run's own cost); kernel+ = kernel - raw (the kernel's "
        "extra work); args+ = the raw primitive with its arguments wrapped anew every run (as "
        "graft's kernels do) - raw; part: reorder = graft's per-step conv weight reorder "
        "alone, any = raw dense matmul with weights in oneDNN's chosen layout, matmul = raw dw "
        "matmul alone (dense bwd weights)\n\n");
    std::printf(
        "| layer | op | shape | thr | graft us | raw us | overhead %% | plan us | "
        "kernel+ us | args+ us | part us | clean reps |\n");
    std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (const std::string& name : order) {
      auto it = samples_.find(name);
      if (it == samples_.end()) continue;
      const Meta& m = Metas().at(name);
      // Repetitions that shared the machine with other work are dropped, unless all did.
      std::vector<Sample> clean;
      for (const Sample& s : it->second) {
        if (s.foreign_pct <= 10.0) clean.push_back(s);
      }
      const bool contended = clean.empty();
      if (contended) clean = it->second;
      std::vector<double> g, r, k, p, o, f;
      for (const Sample& s : clean) {
        f.push_back(s.fresh);
        g.push_back(s.graft);
        r.push_back(s.raw);
        k.push_back(s.kernel);
        if (s.part >= 0) p.push_back(s.part);
        o.push_back((s.graft - s.raw) / s.raw * 100.0);
      }
      const double gm = Median(g), rm = Median(r), km = Median(k);
      std::string part = p.empty() ? "-" : absl::StrFormat("%s %.1f", m.part_name, Median(p));
      std::printf(
          "| %s | %s | %s | %d | %.1f | %.1f | %+.1f [%+.1f, %+.1f] | %.1f | %.1f | %.1f | %s | "
          "%zu/%zu%s |\n",
          m.layer.c_str(), m.op.c_str(), m.shape.c_str(), m.threads, gm, rm, Median(o),
          *std::min_element(o.begin(), o.end()), *std::max_element(o.begin(), o.end()), gm - km,
          km - rm, Median(f) - rm, part.c_str(), contended ? 0 : clean.size(), it->second.size(),
          contended ? " contended" : "");
    }
    std::fflush(stdout);
  }

 private:
  std::map<std::string, std::vector<Sample>> samples_;
};

// ---- the pieces of a oneDNN kernel's Run, one at a time ---------------------------------------
// What graft's kernels do around the primitive every step (ops/onednn/onednn.h): these price
// each piece so the kernel+ column of the table can be read as a sum.

// onednn::Wrap: one dnnl::memory over a tensor (created and destroyed).
void BM_Piece_WrapMemory(benchmark::State& state) {
  const Tensor t = RandomTensor({32, 96, 32}, 1);
  const memory::desc md = ActivationMd(32, 32, {96});
  for (auto _ : state) benchmark::DoNotOptimize(onednn::Wrap(md, t));
}
// The argument map a kernel builds from four memories (their handles copied in, then freed).
void BM_Piece_ArgsMap4(benchmark::State& state) {
  const memory::desc md = ActivationMd(32, 32, {96});
  const memory a(md, Engine()), b(md, Engine()), c(md, Engine()), d(md, Engine());
  for (auto _ : state) {
    Args args = {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}};
    args[DNNL_ARG_BIAS] = d;
    benchmark::DoNotOptimize(args);
  }
}
// onednn::Stream().wait() with nothing queued.
void BM_Piece_StreamWait(benchmark::State& state) {
  for (auto _ : state) onednn::Stream().wait();
}
// onednn::Call around an empty body (std::function and try/catch).
void BM_Piece_Call(benchmark::State& state) {
  int n = 0;
  for (auto _ : state) benchmark::DoNotOptimize(onednn::Call([&] { ++n; }));
}
// onednn::ApplyThreads when the count is already right.
void BM_Piece_ApplyThreads(benchmark::State& state) {
  for (auto _ : state) onednn::ApplyThreads();
}

std::vector<std::string> RegisterAll() {
  benchmark::RegisterBenchmark("piece/wrap_memory", BM_Piece_WrapMemory);
  benchmark::RegisterBenchmark("piece/args_map4", BM_Piece_ArgsMap4);
  benchmark::RegisterBenchmark("piece/stream_wait", BM_Piece_StreamWait);
  benchmark::RegisterBenchmark("piece/call_wrapper", BM_Piece_Call);
  benchmark::RegisterBenchmark("piece/apply_threads", BM_Piece_ApplyThreads);
  std::vector<std::string> order;
  for (const Layer& l : Layers()) {
    for (Pass pass : PassesOf(l.kind)) {
      for (int threads : {1, 2}) {
        const std::string name =
            absl::StrCat(l.model, "/", OpName(l, pass), "/b", l.batch, "/t", threads);
        Meta meta{l.model, OpName(l, pass), ShapeText(l), "", threads};
        if (l.kind == Kind::kConv) meta.part_name = "reorder";
        if (l.kind == Kind::kDense) {
          meta.part_name = pass == Pass::kBackwardWeights ? "matmul" : "any";
        }
        Metas()[name] = meta;
        order.push_back(name);
        benchmark::RegisterBenchmark(
            name.c_str(), [l, pass, threads](benchmark::State& s) { RunPair(s, l, pass, threads); })
            ->UseManualTime()
            ->Unit(benchmark::kMicrosecond);
      }
    }
  }
  return order;
}

}  // namespace
}  // namespace graft::bench

int main(int argc, char** argv) {
  // Our own flag, removed before Google Benchmark parses the rest.
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    constexpr absl::string_view kWait = "--quiet_wait_s=";
    constexpr absl::string_view kRelu = "--relu_pool_inputs=";
    if (absl::StartsWith(argv[i], kWait)) {
      graft::bench::quiet_wait_s = std::atof(argv[i] + kWait.size());
    } else if (absl::StartsWith(argv[i], kRelu)) {
      graft::bench::relu_pool_inputs = std::atoi(argv[i] + kRelu.size()) != 0;
    } else {
      argv[kept++] = argv[i];
    }
  }
  argc = kept;
  const std::vector<std::string> order = graft::bench::RegisterAll();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  graft::bench::TableReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.PrintTable(order);
  benchmark::Shutdown();
  return 0;
}
