#include <cstdio>
#include <cstdlib>
#include <string>

#include "bench/models.h"
#include "keras/keras.h"
// Per-step profile of one bench model's train step, then its plan report:
//   bazel run -c opt //bench:profile_step -- M2 [threads] [batch] [policy] [train|infer]
// (policy: "float32", the default, or "mixed_bfloat16"; infer: Predict's plan instead).
int main(int argc, char** argv) {
  graft::SetNumThreads(argc > 2 ? atoi(argv[2]) : 1);
  if (argc > 4) {
    absl::Status s = graft::keras::mixed_precision::SetGlobalPolicy(argv[4]);
    if (!s.ok()) {
      printf("%s\n", std::string(s.message()).c_str());
      return 1;
    }
  }
  auto spec = graft::bench::FindModel(argv[1]);
  auto model = graft::bench::BuildModel(spec->name, 1);
  auto data = graft::bench::MakeData(*spec, 256, 1);
  const int batch = argc > 3 ? atoi(argv[3]) : 32;
  const bool infer = argc > 5 && std::string(argv[5]) == "infer";
  auto r = infer ? model->ProfilePredict(data.x, batch, 50)
                 : model->ProfileTrainStep(data.x, data.y, batch, 20);
  printf("%s\n", r.ok() ? r->c_str() : std::string(r.status().message()).c_str());
  if (infer) return 0;
  // The train-step plan: steps, fused ops, arena, and the variables kept packed.
  auto report = model->PlanReport(batch);
  printf("%s\n", report.ok() ? report->c_str() : std::string(report.status().message()).c_str());
}
