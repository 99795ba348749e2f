// graft — BackupAndRestore's files (internal to keras/: callbacks.cc; defined in saving.cc, where
// the model file is written and read).
#ifndef GRAFT_KERAS_TRAINING_STATE_H_
#define GRAFT_KERAS_TRAINING_STATE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keras/model.h"

namespace graft::keras::internal {

// The model file (Model::Save's, atomically replaced) plus the number of the epoch just
// completed (0-based), in its metadata.
absl::Status SaveBackup(Model& m, const std::string& path, int completed_epoch);
// Loads such a file into `m` (weights, optimizer slots, iteration count, shuffling stream), makes
// m's next Fit go on from the epoch after the saved one, and returns that saved epoch. The file
// must come from a model of the same architecture and compile configuration.
absl::StatusOr<int> RestoreBackup(Model& m, const std::string& path);

}  // namespace graft::keras::internal

#endif  // GRAFT_KERAS_TRAINING_STATE_H_
