// graft — Keras-style training progress (tf.keras 2 Progbar text; see
// ../shared/reference/keras-semantics.md §1.10).
//
// verbose 1 (a terminal): a bar redrawn in place with '\r' (no backspace flood), final line
//   4/4 [==============================] - 0s 3ms/step - loss: 0.6931 - accuracy: 0.5000
// verbose 2 (the default when stdout is not a terminal): one line per epoch
//   4/4 - 0s - loss: 0.6931 - accuracy: 0.5000 - 120ms/epoch - 30ms/step
#ifndef GRAFT_KERAS_PROGRESS_H_
#define GRAFT_KERAS_PROGRESS_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "keras/logs.h"

namespace graft::keras {

namespace progress {
// "%.4f" when |v| > 1e-3, else "%.4e" (Keras).
std::string FormatValue(double v);
// " - loss: 0.6931 - accuracy: 0.5000"
std::string FormatLogs(const Logs& logs);
// Keras _format_time: " 3ms/step", " 12us/step", " 2s/epoch".
std::string FormatTimePerUnit(double seconds, const std::string& unit);
// "ETA: 5s", "ETA: 1:05", "ETA: 1:01:05" without the leading " - ".
std::string FormatEta(double seconds);
// "1/4 [======>.......................]" (width 30, count padded to the target's digits).
std::string FormatBar(int64_t current, int64_t target, int width = 30);
}  // namespace progress

// Prints one epoch's progress. Timing comes from the caller so tests can fix it.
class ProgressBar {
 public:
  // verbose: 0 silent, 1 bar, 2 one line per epoch. steps < 0: not known in advance (a
  // Dataset of unknown length; Finish is then given the count).
  ProgressBar(std::ostream& out, int verbose, int64_t steps);
  // After step `current` (1-based) finished at `now` seconds since the epoch began.
  void Update(int64_t current, const Logs& logs, double now);
  // The epoch's final line with all logs (val_* included), at `now` seconds, after
  // `steps_done` steps (when given; else the count passed to the constructor).
  void Finish(const Logs& logs, double now, int64_t steps_done = -1);

 private:
  double TimePerStep(int64_t current, double now);

  std::ostream& out_;
  int verbose_;
  int64_t steps_;
  double last_draw_ = -1;
  double time_after_first_step_ = -1;
  size_t prev_width_ = 0;
};

}  // namespace graft::keras

#endif  // GRAFT_KERAS_PROGRESS_H_
