// graft — loading saved models (Sequential::Save writes them; docs/model-format.md specifies the
// file).
//
//   absl::Status s = model.Save("run/model.graft");
//   absl::StatusOr<graft::keras::Model> m = graft::keras::LoadModel("run/model.graft");
//   m->Fit(x, y, {.epochs = 1});   // continues exactly where the saved model stopped
#ifndef GRAFT_KERAS_SAVING_H_
#define GRAFT_KERAS_SAVING_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "keras/model.h"

namespace graft::keras {

// The model file format version this graft writes, and the newest it reads.
inline constexpr int kModelFormatVersion = 1;

// Reads a file written by Model::Save (a Sequential or a functional model): the layers with
// their weights and connections, compiled as the
// saved model was (when it was compiled), with the optimizer's slots, iteration count and Fit's
// shuffling stream restored, so that Predict, Evaluate and Fit go on where it stopped (Keras:
// keras.models.load_model). A bad file is an error naming the file and the byte offset or JSON
// path of the problem; nothing is allocated from a size that was not checked against the file.
absl::StatusOr<Model> LoadModel(const std::string& path);
// The same from a file's bytes; `source` names them in messages.
absl::StatusOr<Model> LoadModelFromBytes(absl::string_view bytes, absl::string_view source);

}  // namespace graft::keras

#endif  // GRAFT_KERAS_SAVING_H_
