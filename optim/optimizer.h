// graft — optimizers: each appends one fused, in-place update node per parameter to a graph.
//
// A train-step plan runs the update nodes as targets after the forward and backward nodes (the
// plan orders every reader of a variable before the node that updates it in place). The
// learning rate and the iteration count are scalar float32 placeholders fed every step, so a
// learning-rate schedule (optim/schedules.h) never recompiles a plan. The update rules are Keras
// 3's (shared reference/keras-semantics.md, section 1.8):
//
//   Adam (t = iteration + 1):  m += (g - m)(1 - beta_1);  v += (g^2 - v)(1 - beta_2)
//                              alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)
//                              p -= alpha * m / (sqrt(v) + epsilon)        ("epsilon hat")
//   AdamW:                     p -= p * weight_decay * lr  (decoupled decay, first), then Adam
//   SGD:                       momentum 0: p -= lr * g
//                              else:       velocity = momentum * velocity - lr * g
//                                          p += velocity                  (plain momentum)
//                                          p += momentum * velocity - lr * g   (nesterov)
//   RMSprop:                   velocity = rho * velocity + (1 - rho) g^2
//                              centered:   average_gradient = rho * average_gradient + (1-rho) g
//                                          increment = lr g / sqrt(velocity - average_gradient^2
//                                                                  + epsilon)
//                              else:       increment = lr g / sqrt(velocity + epsilon)
//                              momentum 0: p -= increment
//                              else:       m = momentum * m + increment;  p -= m
//   Adagrad:                   accumulator += g^2  (starts at initial_accumulator_value)
//                              p -= lr g / sqrt(accumulator + epsilon)
// (RMSprop's and Adagrad's epsilon is inside the sqrt, unlike PyTorch's.)
//
// Usage:
//   auto adam = optim::MakeAdam({.learning_rate = 1e-3});   // or a schedule:
//   auto sgd = optim::MakeSgd({.learning_rate = optim::ExponentialDecay(0.1, 1000, 0.96)});
//   Value lr = g.Placeholder({DType::kF32, {}}, "learning_rate");
//   Value it = g.Placeholder({DType::kF32, {}}, "iteration");
//   absl::StatusOr<std::vector<Operation>> updates = adam->AppendUpdates(g, params, grads, lr, it);
//   // compile a plan with .targets = *updates; for the step with iteration count i (the number
//   // of steps already taken) feed lr = adam->LearningRateAt(i) and it = i.
#ifndef GRAFT_OPTIM_OPTIMIZER_H_
#define GRAFT_OPTIM_OPTIMIZER_H_

#include <any>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/graph.h"
#include "optim/schedules.h"

namespace graft::optim {

// An optimizer: hyperparameters plus the slot variables it created in a graph. A subclass says
// which update node each parameter gets (Update) and checks its hyperparameters (CheckOptions).
class Optimizer {
 public:
  virtual ~Optimizer() = default;

  // The Keras name: "adam", "adamw", "sgd", "rmsprop", "adagrad".
  virtual std::string name() const = 0;

  // The hyperparameters by their Keras names ({"learning_rate", 0.001}, {"beta_1", 0.9}, ...;
  // booleans as 0 or 1), as a saved model records them: learning_rate first when the rate is a
  // number; absent when a schedule drives the optimizer (schedule() and SerializeSchedule give
  // that part). OptimizerFromConfig(name(), GetConfig()) makes an equal optimizer (without
  // slots), after SetLearningRate(schedule()) where there is a schedule.
  std::vector<std::pair<std::string, double>> GetConfig() const;

  // The learning rate to feed to the `learning_rate` placeholder for the update whose
  // iteration count (updates applied before it, 0 first) is `iteration`: the fixed rate, or the
  // schedule's value at that step (Keras: `learning_rate(iterations)`).
  double LearningRateAt(int64_t iteration) const { return learning_rate_.At(iteration); }
  // Whether a schedule drives the learning rate (Keras: learning_rate is a
  // LearningRateSchedule), and the schedule (null when the rate is a number).
  bool has_schedule() const { return learning_rate_.is_schedule(); }
  const LearningRateSchedulePtr& schedule() const { return learning_rate_.schedule(); }
  // The learning rate as given: a number or a schedule.
  const LearningRate& learning_rate() const { return learning_rate_; }

  // Sets a fixed learning rate (Keras: `optimizer.learning_rate = lr`). It must be finite
  // (InvalidArgument otherwise). FAILED_PRECONDITION when a schedule drives the optimizer, as
  // Keras refuses it: the rate is then the schedule's at each step.
  absl::Status SetLearningRate(double lr);
  // Makes `schedule` drive the learning rate from now on (Keras allows assigning a schedule
  // too). InvalidArgument, changing nothing, when it is null or its Check() fails. A compiled
  // plan need not change: the rate is fed every step.
  absl::Status SetLearningRate(LearningRateSchedulePtr schedule);

  // Appends one fused in-place update node per parameter to `graph`, creating its slot
  // variables (non-trainable graph variables: Adam's m and v, SGD's velocity when
  // momentum != 0, ...), and returns the update operations (a plan runs them as targets).
  // `params` must be variables; `grads[i]` must have the type of `params[i]`. `learning_rate`
  // and `iteration` are scalar floating placeholders the trainer feeds every step: iteration is
  // the number of updates applied before this one (Keras `optimizer.iterations`, 0 on the first
  // step). Each call creates new slots; slots() accumulates them. Fails with InvalidArgument
  // naming the parameter when an argument is wrong, or naming the hyperparameter when one is out
  // of range (then before adding anything); on other failures the graph may hold some of the
  // nodes already appended.
  absl::StatusOr<std::vector<Operation>> AppendUpdates(Graph& graph,
                                                       const std::vector<Value>& params,
                                                       const std::vector<Value>& grads,
                                                       Value learning_rate, Value iteration);

  // A second update path for the parameters of the last AppendUpdates call, on the same graph:
  // the same update nodes fed other gradients (`grads`), over the slots that call created (no
  // new slot). A step runs one path or the other, so the optimizer keeps one state per
  // parameter, as Keras's keeps one set of slots per variable. keras::Model's train step in
  // chunks (keras/chunked_train.h) applies its summed gradients this way. FailedPrecondition
  // when the last AppendUpdates was on another graph or did not update one of `params`.
  absl::StatusOr<std::vector<Operation>> AppendUpdatesSharingSlots(Graph& graph,
                                                                   const std::vector<Value>& params,
                                                                   const std::vector<Value>& grads,
                                                                   Value learning_rate,
                                                                   Value iteration);

  // Slot variables created so far (for Summary's optimizer-parameter count and for tests), in
  // creation order: per parameter, Adam's (m, v); SGD's velocity; RMSprop's velocity, then its
  // momentum and average gradient where used; Adagrad's accumulator.
  const std::vector<Value>& slots() const { return slots_; }

 protected:
  explicit Optimizer(LearningRate lr) : learning_rate_(std::move(lr)) {}

  // The hyperparameters other than the learning rate, by their Keras names (GetConfig adds
  // the learning rate).
  virtual std::vector<std::pair<std::string, double>> Hyperparameters() const = 0;

  // One parameter's update node: its op ("graft.AdamUpdate"), inputs and attributes.
  struct UpdateNode {
    std::string op;
    std::vector<Value> inputs;
    std::any attrs;
  };
  // The update node for `param`, creating its slots with AddSlot.
  virtual UpdateNode Update(Graph& graph, Value param, Value grad, Value learning_rate,
                            Value iteration) = 0;
  // The hyperparameters are in range (Keras raises in the constructor); the message is
  // prefixed with "<name> optimizer: ".
  virtual absl::Status CheckOptions() const = 0;

  // A non-trainable variable shaped like `param`, filled with `initial_value`, named
  // "<optimizer>/<param name with '/' replaced by '_'>_<suffix>" (Keras's slot names); recorded
  // in slots_.
  Value AddSlot(Graph& graph, Value param, absl::string_view suffix, double initial_value = 0);

 private:
  // Checks the arguments shared by every AppendUpdates (counts, variables, types, scalars).
  absl::Status CheckUpdateArguments(const Graph& graph, const std::vector<Value>& params,
                                    const std::vector<Value>& grads, Value learning_rate,
                                    Value iteration) const;
  // "<optimizer>/<param name with '/' replaced by '_'>_update": the update node's name.
  std::string UpdateName(const Graph& graph, Value param) const;
  // AppendUpdates, or with `share` AppendUpdatesSharingSlots.
  absl::StatusOr<std::vector<Operation>> Append(Graph& graph, const std::vector<Value>& params,
                                                const std::vector<Value>& grads,
                                                Value learning_rate, Value iteration, bool share);

  LearningRate learning_rate_;
  std::vector<Value> slots_;
  // The slots of the last AppendUpdates call by (parameter node, suffix), and its graph: what
  // AddSlot hands out again while `sharing_` (AppendUpdatesSharingSlots).
  std::map<std::pair<int, std::string>, Value> last_slots_;
  const Graph* last_graph_ = nullptr;
  bool sharing_ = false;
  absl::Status sharing_error_;
};

// Keras defaults (keras.optimizers.Adam).
// Every learning_rate is a number or a schedule (optim/schedules.h).
struct AdamOptions {
  LearningRate learning_rate = 0.001;
  double beta_1 = 0.9;
  double beta_2 = 0.999;
  double epsilon = 1e-7;
};
// Keras defaults (keras.optimizers.AdamW): Adam with decoupled weight decay.
struct AdamWOptions {
  LearningRate learning_rate = 0.001;
  double weight_decay = 0.004;
  double beta_1 = 0.9;
  double beta_2 = 0.999;
  double epsilon = 1e-7;
};
// Keras defaults (keras.optimizers.SGD). momentum must lie in [0, 1].
struct SgdOptions {
  LearningRate learning_rate = 0.01;
  double momentum = 0.0;
  bool nesterov = false;
};
// Keras defaults (keras.optimizers.RMSprop). rho and momentum must lie in [0, 1].
struct RmspropOptions {
  LearningRate learning_rate = 0.001;
  double rho = 0.9;
  double momentum = 0.0;
  double epsilon = 1e-7;
  bool centered = false;
};
// Keras defaults (keras.optimizers.Adagrad).
struct AdagradOptions {
  LearningRate learning_rate = 0.001;
  double initial_accumulator_value = 0.1;
  double epsilon = 1e-7;
};

std::unique_ptr<Optimizer> MakeAdam(const AdamOptions& options = {});
std::unique_ptr<Optimizer> MakeAdamW(const AdamWOptions& options = {});
std::unique_ptr<Optimizer> MakeSgd(const SgdOptions& options = {});
std::unique_ptr<Optimizer> MakeRmsprop(const RmspropOptions& options = {});
std::unique_ptr<Optimizer> MakeAdagrad(const AdagradOptions& options = {});

// The optimizer Keras means by `name` ("adam", "adamw", "sgd", "rmsprop", "adagrad";
// case-insensitive), with Keras's defaults. An unknown name fails with InvalidArgument listing
// the known names.
absl::StatusOr<std::unique_ptr<Optimizer>> OptimizerByName(absl::string_view name);

// The optimizer `name` with the hyperparameters of `config` (Keras names, as GetConfig writes
// them; missing ones take Keras's defaults; a schedule is set afterwards with
// SetLearningRate). An unknown name or key is InvalidArgument naming
// it; values out of range surface as they do for the Make* functions (at AppendUpdates).
absl::StatusOr<std::unique_ptr<Optimizer>> OptimizerFromConfig(
    absl::string_view name, const std::vector<std::pair<std::string, double>>& config);

// ---- the update ops (for graph code that builds update nodes itself) -----------------------

// Every update op: param, grad and the slots have one floating type; lr and iteration are
// floating scalars; hyperparameters out of range are shape errors naming the node.

// "graft.AdamUpdate": inputs (param, grad, m, v, lr, iteration); updates param, m and v in
// place (Mutates {0, 2, 3}); no outputs. beta_1 and beta_2 must lie in [0, 1), epsilon and
// weight_decay must be >= 0. A weight_decay > 0 first applies AdamW's decoupled decay
// p -= p * weight_decay * lr.
struct AdamUpdateAttrs {
  double beta_1 = 0.9;
  double beta_2 = 0.999;
  double epsilon = 1e-7;
  double weight_decay = 0.0;
};

// "graft.SgdUpdate": inputs (param, grad, lr, velocity?); updates param and velocity in place
// (Mutates {0, 3}); no outputs. The velocity is the optional last input: present (same type as
// param) it selects the momentum rule, absent the plain rule p -= lr * g, which requires
// momentum == 0. momentum must lie in [0, 1].
struct SgdUpdateAttrs {
  double momentum = 0.0;
  bool nesterov = false;
};

// "graft.RmspropUpdate": inputs (param, grad, lr, velocity, momentum?, average_gradient?); the
// optional slots are present exactly when used: the momentum slot when momentum > 0, then the
// average gradient when centered (so with centered and no momentum it is input 4). Updates
// param and the slots in place (Mutates {0, 3, 4, 5}); no outputs. rho and momentum must lie in
// [0, 1], epsilon must be >= 0.
struct RmspropUpdateAttrs {
  double rho = 0.9;
  double momentum = 0.0;
  double epsilon = 1e-7;
  bool centered = false;
};

// "graft.AdagradUpdate": inputs (param, grad, accumulator, lr); updates param and the
// accumulator in place (Mutates {0, 2}); no outputs. epsilon must be >= 0.
struct AdagradUpdateAttrs {
  double epsilon = 1e-7;
};

}  // namespace graft::optim

#endif  // GRAFT_OPTIM_OPTIMIZER_H_
