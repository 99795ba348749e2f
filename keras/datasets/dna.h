// graft — the StatLog DNA splice-junction dataset (a real 1D sequence classification task).
#ifndef GRAFT_KERAS_DATASETS_DNA_H_
#define GRAFT_KERAS_DATASETS_DNA_H_

#include <string>

#include "absl/status/statusor.h"
#include "keras/datasets/sensor_faults.h"  // Split

namespace graft::keras::datasets {

// Sequence length and indicator channels of one DNA sample.
inline constexpr int64_t kDnaSteps = 60;
inline constexpr int64_t kDnaChannels = 3;
inline constexpr int64_t kDnaClasses = 3;

// Loads the StatLog DNA splice-junction data from <dir>/{x_train,y_train,x_test,y_test}.npy, as
// written by tools/dna_to_npy.sh (from R's mlbench package, Debian r-cran-mlbench):
//   x float32 (N, 60, 3): 60 nucleotides, each as 3 indicators (A = 100, C = 010, G = 001,
//                         T = 000), channels-last;
//   y int64 (N,) in {0, 1, 2}: the classes ei (exon/intron boundary), ie (intron/exon), n
//                         (neither); sparse labels for sparse_categorical_crossentropy.
// The standard split is 2000 train / 1186 test rows (the first 2000 rows of mlbench's DNA).
// Errors: NotFound when the directory or a file is missing (the message says how to create
// them); InvalidArgument when a file is not a readable .npy file or has the wrong dtype, shape,
// or label values.
absl::StatusOr<Split> LoadDna(const std::string& dir = "data/dna");

}  // namespace graft::keras::datasets

#endif  // GRAFT_KERAS_DATASETS_DNA_H_
