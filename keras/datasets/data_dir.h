// graft — where a dataset directory given on the command line is.
#ifndef GRAFT_KERAS_DATASETS_DATA_DIR_H_
#define GRAFT_KERAS_DATASETS_DATA_DIR_H_

#include <string>

namespace graft::keras::datasets {

// `dir` without trailing slashes ("" is "."). A relative directory that does not exist here is
// looked up in the checkout `bazel run` was started from (BUILD_WORKSPACE_DIRECTORY): `bazel
// run //examples:seed_conv2d` runs in its runfiles tree, while data/ lives in the checkout.
std::string ResolveDataDir(const std::string& dir);

}  // namespace graft::keras::datasets

#endif  // GRAFT_KERAS_DATASETS_DATA_DIR_H_
