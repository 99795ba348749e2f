// graft — the advisor: a linter for models, in the spirit of the Keras article graft began from
// (Conv1D for sequences, Conv2D for images). It warns about models and data that compile and
// train but learn badly or not at all; it never fails a call. No other framework has it.
//
//   model.Compile({.optimizer = "adam", .loss = "categorical_crossentropy"});
//   // stderr: UserWarning (graft advisor, rule sigmoid-with-categorical): dense (Dense,
//   //         layer 3): the output has activation 'sigmoid' but the loss is ...
//   absl::StatusOr<std::vector<LintWarning>> w = model.Lint(x_train, y_train);  // as a list
//
// When: the structural rules (shapes and the loss) run at the end of a successful Compile; the
// data rules on the first batch (the first batch_size rows of x and y) of each Fit. Each warning
// is printed to std::cerr at most once per model (a warning is one rule on one layer, input or
// output). Model::Lint returns the warnings instead of printing them, every time.
//
// Turning it off: CompileOptions::advise = false for one model, or the environment variable
// GRAFT_ADVISOR=0 (also "off", "false") for the whole process; neither changes what Lint returns.
//
// The rules (their ids are stable; docs/decisions.md "The advisor" has the thresholds):
//   sequence-as-image        Conv2D / MaxPooling2D / AveragePooling2D whose input has height or
//                            width 1 (and the other > 1): the data is a sequence; use Conv1D /
//                            pooling 1D on (steps, channels).
//   channels-first-sequence  Conv1D fed (directly, or through shape-preserving layers) by a model
//                            input with more channels than steps: probably (channels, steps)
//                            data; transpose it to (steps, channels).
//   sigmoid-with-categorical a sigmoid output of several units with categorical_crossentropy or
//                            sparse_categorical_crossentropy: use softmax, or binary_crossentropy
//                            for multi-label targets.
//   single-unit-categorical  an output of one unit with sparse_categorical_crossentropy or
//                            categorical_crossentropy (the loss is always 0): binary_crossentropy
//                            with sigmoid, or K units with softmax.
//   softmax-single-unit      softmax over an axis of one unit (always 1.0), where the previous
//                            rule does not already say so.
//   activation-with-logits   from_logits = true on an output that already applies sigmoid or
//                            softmax (Keras warns about this too).
//   targets-out-of-range     binary_crossentropy / categorical_crossentropy targets outside
//                            [0, 1] (Fit refuses them as an error; Lint(x, y) reports them first).
//   input-scale              an input far from [0, 1] / unit variance: |mean| or std above 10
//                            (raw 0..255 pixels, values in the thousands), over the sample or in
//                            one feature (last axis), or every value within +-0.01.
#ifndef GRAFT_KERAS_LINT_H_
#define GRAFT_KERAS_LINT_H_

#include <string>

namespace graft::keras {

// One piece of advice.
struct LintWarning {
  // The layer it is about ("conv2d"), or for a data rule the model input ("input_layer") or the
  // output layer whose targets were checked.
  std::string layer;
  // The rule's stable id ("sequence-as-image", ...; see above).
  std::string rule;
  // What is wrong, why it matters, and "Fix: ...", naming the layer with its class and index
  // ("conv2d (Conv2D, layer 0): ...").
  std::string message;
};

// The line printed for a warning: "UserWarning (graft advisor, rule R): MESSAGE".
std::string FormatLintWarning(const LintWarning& warning);

// False when the environment variable GRAFT_ADVISOR is "0", "off" or "false" (any case).
bool AdvisorEnabledByEnvironment();

}  // namespace graft::keras

#endif  // GRAFT_KERAS_LINT_H_
