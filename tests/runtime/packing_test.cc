// Packed variables: convolution weights and their optimizer state kept in oneDNN's layout
// across plan runs (graph/variable_home.h, Plan::ChoosePackedForms).
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "autodiff/gradients.h"
#include "graph/op_registry.h"
#include "gtest/gtest.h"
#include "ops/activation.h"
#include "ops/conv.h"
#include "ops/reshape.h"
#include "optim/optimizer.h"
#include "runtime/kernel.h"
#include "runtime/plan.h"
#include "runtime/threads.h"
#include "tests/testing.h"

namespace graft {
namespace {

using ::graft::testing::AllClose;
using ::graft::testing::Random;

// A packed form that is the logical bytes themselves, and notes the thread count in force when
// it packs.
int pack_threads = 0;
class RecordingForm : public PackedForm {
 public:
  explicit RecordingForm(int64_t n) : n_(n) {}
  int64_t packed_elements() const override { return n_; }
  absl::Status Pack(const Tensor& logical, Tensor& packed) const override {
    pack_threads = CurrentThreads();
    packed.CopyFrom(logical);
    return absl::OkStatus();
  }
  absl::Status Unpack(const Tensor& packed, Tensor& logical) const override {
    logical.CopyFrom(packed);
    return absl::OkStatus();
  }
  bool Equals(const PackedForm& other) const override {
    return dynamic_cast<const RecordingForm*>(&other) != nullptr;
  }
  std::string ToString() const override { return "recording"; }

 private:
  int64_t n_;
};

// test.ReadPacked: y = x, reading x in the RecordingForm.
class ReadPackedKernel : public Kernel {
 public:
  KernelTraits Traits() const override {
    return {.packed_inputs = {{0,
                               [](const Node&, const std::vector<TensorType>& types)
                                   -> absl::StatusOr<std::shared_ptr<const PackedForm>> {
                                 return std::make_shared<RecordingForm>(
                                     types[0].shape.num_elements());
                               }}}};
  }
  absl::Status Run(KernelRunContext& ctx) override {
    std::memcpy(ctx.output(0).raw_data(), ctx.input(0).raw_data(), ctx.output(0).nbytes());
    return absl::OkStatus();
  }
};
template <typename T>
using ReadPackedRef = ReadPackedKernel;

GRAFT_REGISTER_OP(OpDef<NoAttrs>("test.ReadPacked")
                      .Doc("y = x, x read in a packed form")
                      .Inputs({"x"})
                      .Outputs({"y"})
                      .Shape([](const ShapeContext& c,
                                const NoAttrs&) -> absl::StatusOr<std::vector<TensorType>> {
                        return std::vector<TensorType>{c.inputs[0]};
                      })
                      .Kernel<ReadPackedKernel>(DType::kF32)
                      .Reference<ReadPackedRef>());

// A plan compiled for 1 thread within a budget of 2 (the governor's choice under contention)
// packs its variables on 1 thread too: on the budget, the pack's oneDNN reorder ran on a
// 2-thread team and waited for the busy core.
TEST(Packing, APlanPacksItsVariablesOnItsOwnThreadCount) {
  SetNumThreads(2);
  Graph g;
  Value v = g.Variable(Random({64}, 3), "v");
  Value y = *g.Add("test.ReadPacked", {v});
  auto plan = Plan::Compile(g, {.fetches = {y}}, {}, {.num_threads = 1});
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_EQ((*plan)->PackedVariables(), std::vector<std::string>{"v"}) << (*plan)->Report();
  pack_threads = 0;
  std::vector<Tensor> out;
  ASSERT_TRUE((*plan)->Run({}, &out).ok());
  EXPECT_EQ(pack_threads, 1);
  EXPECT_TRUE(AllClose(out[0], g.VariableValue(v), 0, 0));
  SetNumThreads(0);
}

// x (4, 6, 6, 16) -> Conv2D(32, 3x3, same) + relu -> sum of squares, trained by Adam. With 16
// input and 32 output channels oneDNN's AVX-512 convolutions block the weights by 16 (no
// padding), so the plan keeps them packed.
struct TrainGraph {
  Graph g;
  Value x, w, b, loss, lr, it;
  std::vector<Value> grads;
  std::vector<Operation> updates;
  std::unique_ptr<optim::Optimizer> adam = optim::MakeAdam({.learning_rate = 0.01});

  TrainGraph() {
    x = g.Placeholder({DType::kF32, {4, 6, 6, 16}}, "x");
    w = g.Variable(Random({3, 3, 16, 32}, 1, -0.2, 0.2), "w");
    b = g.Variable(Random({32}, 2), "b");
    Value y = *ops::Activation(
        g, *ops::Conv2D(g, x, w, b, {.padding = ops::Padding::kSame}, "conv"), "relu");
    Value flat = *ops::Flatten(g, y);
    loss = *g.Add("graft.ReduceSum", {*g.Add("graft.Mul", {flat, flat})});
    grads = *autodiff::Gradients(g, loss, {w, b});
    lr = g.Placeholder({DType::kF32, {}}, "lr");
    it = g.Placeholder({DType::kF32, {}}, "it");
    updates = *adam->AppendUpdates(g, {w, b}, grads, lr, it);
  }
  std::unique_ptr<Plan> TrainPlan(bool pack) {
    auto p = Plan::Compile(g, {.feeds = {x, lr, it}, .fetches = {loss}, .targets = updates},
                           {{DType::kF32, {4, 6, 6, 16}}, {DType::kF32, {}}, {DType::kF32, {}}},
                           {.pack_variables = pack});
    EXPECT_TRUE(p.ok()) << p.status();
    return p.ok() ? *std::move(p) : nullptr;
  }
  absl::Status Step(Plan& p, int step) {
    return p.Run({Random({4, 6, 6, 16}, 100 + step), Tensor::Scalar<float>(0.01f),
                  Tensor::Scalar<float>(static_cast<float>(step))},
                 nullptr);
  }
};

TEST(Packing, ConvWeightsAndAdamSlotsStayPackedAcrossSteps) {
  TrainGraph t;
  std::unique_ptr<Plan> p = t.TrainPlan(true);
  ASSERT_NE(p, nullptr);
  // The kernel and its two Adam slots; the bias stays plain (oneDNN reads it as it is).
  const std::vector<std::string> packed = p->PackedVariables();
  ASSERT_EQ(packed.size(), 3u) << p->Report();
  EXPECT_EQ(packed[0], "w");
  EXPECT_NE(p->Report().find("packed: w as oneDNN "), std::string::npos) << p->Report();
  const VariableHome& home = *t.g.node(t.w).attrs_as<VariableAttrs>().home;
  ASSERT_TRUE(t.Step(*p, 0).ok());
  // Trained in place in the packed copy: the logical tensor is stale until something reads it.
  EXPECT_TRUE(home.packed_current());
  EXPECT_FALSE(home.logical_current());
  ASSERT_TRUE(t.Step(*p, 1).ok());
  EXPECT_FALSE(home.logical_current());
  t.g.VariableValue(t.w);
  EXPECT_TRUE(home.logical_current());
  EXPECT_TRUE(home.packed_current());
}

// Packing moves bytes, never changes arithmetic: same weights and slots, bitwise.
TEST(Packing, TrainsBitwiseLikeTheUnpackedPlan) {
  TrainGraph packed, plain;
  std::unique_ptr<Plan> p = packed.TrainPlan(true), q = plain.TrainPlan(false);
  ASSERT_TRUE(p && q);
  EXPECT_TRUE(q->PackedVariables().empty());
  for (int step = 0; step < 4; ++step) {
    ASSERT_TRUE(packed.Step(*p, step).ok());
    ASSERT_TRUE(plain.Step(*q, step).ok());
  }
  EXPECT_TRUE(AllClose(packed.g.VariableValue(packed.w), plain.g.VariableValue(plain.w), 0, 0));
  EXPECT_TRUE(AllClose(packed.g.VariableValue(packed.b), plain.g.VariableValue(plain.b), 0, 0));
  for (size_t s = 0; s < packed.adam->slots().size(); ++s) {
    EXPECT_TRUE(AllClose(packed.g.VariableValue(packed.adam->slots()[s]),
                         plain.g.VariableValue(plain.adam->slots()[s]), 0, 0))
        << "slot " << s;
  }
}

// A plan that reads the logical tensor (reference kernels) after packed steps sees the trained
// value; a write from outside (SetWeights) is what the next packed step starts from.
TEST(Packing, SwitchingPlansAndOutsideWritesKeepOneValue) {
  TrainGraph packed, plain;
  std::unique_ptr<Plan> p = packed.TrainPlan(true), q = plain.TrainPlan(false);
  ASSERT_TRUE(p && q);
  ASSERT_TRUE(packed.Step(*p, 0).ok());
  ASSERT_TRUE(plain.Step(*q, 0).ok());
  auto ref = Plan::Compile(packed.g, {.feeds = {packed.x}, .fetches = {packed.loss}},
                           {{DType::kF32, {4, 6, 6, 16}}}, {.kernels = KernelKind::kReference});
  auto ref_plain =
      Plan::Compile(plain.g, {.feeds = {plain.x}, .fetches = {plain.loss}},
                    {{DType::kF32, {4, 6, 6, 16}}}, {.kernels = KernelKind::kReference});
  ASSERT_TRUE(ref.ok() && ref_plain.ok());
  std::vector<Tensor> a, b;
  ASSERT_TRUE((*ref)->Run({Random({4, 6, 6, 16}, 7)}, &a).ok());
  ASSERT_TRUE((*ref_plain)->Run({Random({4, 6, 6, 16}, 7)}, &b).ok());
  EXPECT_TRUE(AllClose(a[0], b[0], 0, 0));
  // Overwrite w from outside in both graphs (after syncing and releasing the packed copies, as
  // a model does before a write), then train on.
  const Tensor w_new = Random({3, 3, 16, 32}, 9, -0.1, 0.1);
  ASSERT_TRUE(packed.g.SyncVariables(/*release_packed=*/true).ok());
  Tensor wp = packed.g.VariableValue(packed.w), wq = plain.g.VariableValue(plain.w);
  wp.CopyFrom(w_new);
  wq.CopyFrom(w_new);
  for (int step = 1; step < 3; ++step) {
    ASSERT_TRUE(packed.Step(*p, step).ok());
    ASSERT_TRUE(plain.Step(*q, step).ok());
  }
  EXPECT_TRUE(AllClose(packed.g.VariableValue(packed.w), plain.g.VariableValue(plain.w), 0, 0));
}

// A fetched gradient, or a variable some other op reads, keeps the logical layout.
TEST(Packing, NotWhenTheGradientIsFetched) {
  TrainGraph t;
  auto p = Plan::Compile(
      t.g, {.feeds = {t.x, t.lr, t.it}, .fetches = {t.grads[0]}, .targets = t.updates},
      {{DType::kF32, {4, 6, 6, 16}}, {DType::kF32, {}}, {DType::kF32, {}}});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_TRUE((*p)->PackedVariables().empty()) << (*p)->Report();
}

}  // namespace
}  // namespace graft
