// graft — Keras 3 style model summary text (../shared/reference/keras-semantics.md §1.11).
#ifndef GRAFT_KERAS_SUMMARY_H_
#define GRAFT_KERAS_SUMMARY_H_

#include <cstdint>
#include <string>
#include <vector>

namespace graft::keras {

struct SummaryRow {
  std::string layer;         // "conv1d (Conv1D)"
  std::string output_shape;  // "(None, 96, 32)"
  int64_t params = 0;
  // Functional models: the tensors this layer was called on ("conv2d[0][0]"); one line each.
  std::vector<std::string> connected_to;
};

struct SummaryTotals {
  int64_t trainable = 0;
  int64_t non_trainable = 0;
  int bytes_per_param = 4;
};

// The table, line_length characters wide (Keras 3's default 88), columns 45% / 35% / 20%.
std::string FormatSummary(const std::string& model_name, const std::vector<SummaryRow>& rows,
                          const SummaryTotals& totals, int line_length = 88);

// The functional model's table (Keras 3's for a non-sequential model): a fourth column,
// "Connected to", line_length 108 by default, columns 30% / 30% / 10% / 30%.
std::string FormatFunctionalSummary(const std::string& model_name,
                                    const std::vector<SummaryRow>& rows,
                                    const SummaryTotals& totals, int line_length = 108);

// "2,049"
std::string WithThousands(int64_t n);
// Keras readable_memory_size: "8.00 KB", "0.00 B" (1024-based).
std::string ReadableSize(double bytes);

}  // namespace graft::keras

#endif  // GRAFT_KERAS_SUMMARY_H_
