// The benchmark models M1..M4 (bench/models.h) in PyTorch's C++ frontend, measured with the
// protocol of bench/timing.h; prints one JSON line. `bench/compare` runs it once per
// configuration:
//
//   --config=tuned --channels_last   (M2 and M4; the driver also sets OPENBLAS_NUM_THREADS=1,
//                                     GLIBC_TUNABLES and LD_LIBRARY_PATH to OpenBLAS)
//   --config=default                 NCHW (the driver gives it a clean environment)
//
// Needs Debian's libtorch-dev, so the target is tagged "manual":
//   bazel build -c opt //bench:libtorch_runner
//
// The models match graft's: Keras initialisation (glorot uniform kernels, zero biases), Adam
// with Keras defaults (lr 1e-3, betas 0.9/0.999, epsilon 1e-7), the losses on logits (softmax
// or sigmoid fused into the loss, as graft does) and probabilities out of inference. A train
// step is zero_grad (gradients set to none) + forward + loss + backward + Adam step; an
// inference step is a forward in InferenceMode plus the softmax / sigmoid.
#include <torch/torch.h>
#include <torch/version.h>

#include <cstdint>
#include <functional>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "bench/timing.h"
#include "io/npy.h"

ABSL_FLAG(std::string, model, "M1", "M1, M2, M3 or M4");
ABSL_FLAG(std::string, mode, "train", "train or infer");
ABSL_FLAG(int64_t, batch, 32, "batch size");
ABSL_FLAG(int, threads, 1, "at::set_num_threads (inter-op threads: 1)");
ABSL_FLAG(int, repetitions, 5, "timed windows");
ABSL_FLAG(double, min_seconds, 2.0, "minimum window length, seconds");
ABSL_FLAG(double, warmup_seconds, 1.0, "warm-up, seconds");
ABSL_FLAG(uint64_t, seed, 1, "torch::manual_seed");
ABSL_FLAG(std::string, data_dir, "", "where bench/compare wrote <model>_x.npy, <model>_y.npy");
ABSL_FLAG(std::string, config, "default", "tuned or default: recorded in the report");
ABSL_FLAG(bool, channels_last, false,
          "channels-last memory format for an image model (bench/compare sets it for M2 and M4 "
          "when tuned)");

namespace graft::bench {
namespace {

namespace nn = torch::nn;

// Keras's Flatten on an image: (N, C, H, W) seen as NHWC is flattened in (H, W, C) order; on a
// channels-last tensor that is a view, not a copy.
struct FlattenHwcImpl : nn::Module {
  torch::Tensor forward(const torch::Tensor& x) { return x.permute({0, 2, 3, 1}).flatten(1); }
};
TORCH_MODULE(FlattenHwc);

nn::Sequential MakeNet(const std::string& model, bool channels_last) {
  nn::Sequential net;
  auto conv2d = [](int64_t in, int64_t out, bool same) {
    return nn::Conv2d(nn::Conv2dOptions(in, out, 3).padding(same ? 1 : 0));
  };
  auto flatten = [&](nn::Sequential& s) {
    if (channels_last) {
      s->push_back(FlattenHwc());
    } else {
      s->push_back(nn::Flatten());
    }
  };
  if (model == "M1") {
    net->push_back(nn::Conv1d(nn::Conv1dOptions(3, 32, 5)));
    net->push_back(nn::ReLU());
    net->push_back(nn::MaxPool1d(2));
    net->push_back(nn::Flatten());
    net->push_back(nn::Linear(48 * 32, 1));
  } else if (model == "M2") {
    net->push_back(conv2d(3, 32, false));
    net->push_back(nn::ReLU());
    net->push_back(nn::MaxPool2d(2));
    flatten(net);
    net->push_back(nn::Linear(15 * 15 * 32, 10));
  } else if (model == "M3") {
    net->push_back(conv2d(1, 32, false));
    net->push_back(nn::ReLU());
    net->push_back(nn::MaxPool2d(2));
    net->push_back(conv2d(32, 64, false));
    net->push_back(nn::ReLU());
    net->push_back(nn::MaxPool2d(2));
    flatten(net);
    net->push_back(nn::Dropout(0.5));
    net->push_back(nn::Linear(5 * 5 * 64, 10));
  } else {  // M4
    net->push_back(conv2d(3, 64, true));
    net->push_back(nn::ReLU());
    net->push_back(conv2d(64, 64, true));
    net->push_back(nn::ReLU());
    net->push_back(nn::MaxPool2d(2));
    net->push_back(conv2d(64, 128, true));
    net->push_back(nn::ReLU());
    net->push_back(conv2d(128, 128, true));
    net->push_back(nn::ReLU());
    net->push_back(nn::MaxPool2d(2));
    flatten(net);
    net->push_back(nn::Linear(8 * 8 * 128, 10));
  }
  // Keras initialisation: glorot uniform (PyTorch's xavier_uniform_ computes the same fans for
  // (out, in, k...) weights), zero biases.
  torch::NoGradGuard no_grad;
  for (auto& p : net->named_parameters()) {
    if (p.key().find("weight") != std::string::npos) {
      nn::init::xavier_uniform_(p.value());
    } else {
      nn::init::zeros_(p.value());
    }
  }
  if (channels_last) {
    for (torch::Tensor& p : net->parameters()) {
      if (p.dim() == 4) p.set_data(p.contiguous(torch::MemoryFormat::ChannelsLast));
    }
  }
  return net;
}

absl::Status Run() {
  const std::string model = absl::GetFlag(FLAGS_model);
  const std::string mode = absl::GetFlag(FLAGS_mode);
  const std::string config = absl::GetFlag(FLAGS_config);
  const int64_t b = absl::GetFlag(FLAGS_batch);
  const int threads = absl::GetFlag(FLAGS_threads);
  if (model != "M1" && model != "M2" && model != "M3" && model != "M4") {
    return absl::InvalidArgumentError(absl::StrCat("unknown --model=", model));
  }
  if (mode != "train" && mode != "infer") {
    return absl::InvalidArgumentError("--mode must be train or infer");
  }
  if (config != "tuned" && config != "default") {
    return absl::InvalidArgumentError("--config must be tuned or default");
  }
  at::set_num_interop_threads(1);
  at::set_num_threads(threads);
  torch::manual_seed(absl::GetFlag(FLAGS_seed));
  const bool channels_last = absl::GetFlag(FLAGS_channels_last) && model != "M1";
  const bool binary = model == "M1";

  // The data, in torch's layout: (N, C, L) for M1, (N, C, H, W) for images; channels-last
  // keeps the file's NHWC bytes as they are.
  const std::string dir = absl::GetFlag(FLAGS_data_dir);
  absl::StatusOr<Tensor> gx = io::LoadNpy(absl::StrCat(dir, "/", model, "_x.npy"));
  if (!gx.ok()) return gx.status();
  absl::StatusOr<Tensor> gy = io::LoadNpy(absl::StrCat(dir, "/", model, "_y.npy"));
  if (!gy.ok()) return gy.status();
  const std::vector<int64_t>& dims = gx->shape().dims();
  torch::Tensor x = torch::from_blob(gx->raw_data(), dims, torch::kFloat32);
  if (dims.size() == 3) {
    x = x.permute({0, 2, 1}).contiguous();
  } else {
    x = x.permute({0, 3, 1, 2})
            .contiguous(channels_last ? torch::MemoryFormat::ChannelsLast
                                      : torch::MemoryFormat::Contiguous);
  }
  if (x.data_ptr() != gx->raw_data()) *gx = Tensor();  // copied: drop the file's array
  torch::Tensor y =
      torch::from_blob(gy->raw_data(), gy->shape().dims(), binary ? torch::kFloat32 : torch::kInt64)
          .clone();
  const int64_t num_batches = x.size(0) / b;
  if (num_batches == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch ", b, " is larger than the data (", x.size(0), " samples)"));
  }

  nn::Sequential net = MakeNet(model, channels_last);
  torch::optim::Adam adam(net->parameters(),
                          torch::optim::AdamOptions(1e-3).betas({0.9, 0.999}).eps(1e-7));
  int64_t i = 0;
  std::function<absl::Status()> step;
  if (mode == "train") {
    net->train();
    step = [&]() -> absl::Status {
      const torch::Tensor xb = x.narrow(0, i * b, b), yb = y.narrow(0, i * b, b);
      i = (i + 1) % num_batches;
      for (torch::Tensor& p : net->parameters()) p.mutable_grad().reset();  // set_to_none
      torch::Tensor out = net->forward(xb);
      torch::Tensor loss = binary ? torch::binary_cross_entropy_with_logits(out, yb)
                                  : torch::nn::functional::cross_entropy(out, yb);
      loss.backward();
      adam.step();
      return absl::OkStatus();
    };
  } else {
    net->eval();
    step = [&]() -> absl::Status {
      c10::InferenceMode guard;
      const torch::Tensor xb = x.narrow(0, i * b, b);
      i = (i + 1) % num_batches;
      torch::Tensor out = net->forward(xb);
      out = binary ? torch::sigmoid(out) : torch::softmax(out, 1);
      return absl::OkStatus();
    };
  }
  const TimingOptions timing = {.warmup_seconds = absl::GetFlag(FLAGS_warmup_seconds),
                                .min_seconds = absl::GetFlag(FLAGS_min_seconds),
                                .repetitions = absl::GetFlag(FLAGS_repetitions)};
  absl::StatusOr<Throughput> t = MeasureThroughput(step, b, timing);
  if (!t.ok()) return t.status();
  ChildReport r{.framework = "libtorch",
                .config = config,
                .model = model,
                .mode = mode,
                .batch = b,
                .threads = threads,
                .throughput = *t,
                .extra = {{"num_batches", absl::StrCat(num_batches)},
                          {"channels_last", channels_last ? "true" : "false"},
                          {"torch_version", JsonString(TORCH_VERSION)},
                          {"torch_threads", absl::StrCat(at::get_num_threads())},
                          {"blas", JsonString(LoadedBlasLibraries())}}};
  std::cout << ChildReportJson(r) << std::endl;
  return absl::OkStatus();
}

}  // namespace
}  // namespace graft::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  absl::Status s;
  try {
    s = graft::bench::Run();
  } catch (const std::exception& e) {
    s = absl::InternalError(e.what());
  }
  if (!s.ok()) {
    std::cerr << "libtorch_runner: " << s << "\n";
    return 1;
  }
  return 0;
}
