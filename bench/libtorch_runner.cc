// The benchmark models M1..M5 (bench/models.h) in PyTorch's C++ frontend, measured with the
// protocol of bench/timing.h; prints one JSON line. `bench/compare` runs it once per
// configuration:
//
//   --config=tuned --channels_last   (M2, M4, M5; the driver also sets OPENBLAS_NUM_THREADS=1,
//                                     GLIBC_TUNABLES and LD_LIBRARY_PATH to OpenBLAS)
//   --config=default                 NCHW (the driver gives it a clean environment)
//
// and, by hand, --autocast_bf16 (with --config=tuned --channels_last): the train step's forward
// and loss and the inference forward under CPU autocast to bfloat16 (torch.autocast("cpu",
// torch.bfloat16) in C++), parameters, backward and Adam in fp32; recorded as config
// "tuned+autocast_bf16".
//
// Needs Debian's libtorch-dev, so the target is tagged "manual":
//   bazel build -c opt //bench:libtorch_runner
//
// The models match graft's: Keras initialisation (glorot uniform kernels, zero biases), Adam
// with Keras defaults (lr 1e-3, betas 0.9/0.999, epsilon 1e-7), the losses on logits (softmax
// or sigmoid fused into the loss, as graft does) and probabilities out of inference. A train
// step is zero_grad (gradients set to none) + forward + loss + backward + Adam step; an
// inference step is a forward in InferenceMode plus the softmax / sigmoid.
//
// M5 (ResNet-8) is a module of its own (residual blocks do not fit nn::Sequential). Its
// BatchNorm2d takes Keras's epsilon 1e-3 and momentum 0.99 (PyTorch's 0.01); its stride-2 3x3
// convolutions pad 1 on every side, the PyTorch idiom: the same shapes and work as Keras's
// "same" (which pads one pixel on the right and bottom only), so the timing is comparable;
// tools/resnet_reference.py, which compares accuracy, pads exactly as Keras does.
#include <ATen/autocast_mode.h>
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

ABSL_FLAG(std::string, model, "M1", "M1, M2, M3, M4 or M5");
ABSL_FLAG(std::string, mode, "train", "train, infer, or serve (bench/serve: --clients threads)");
ABSL_FLAG(int, clients, 1, "--mode=serve: client threads sharing the module");
ABSL_FLAG(double, serve_seconds, 5.0, "--mode=serve: measured seconds");
ABSL_FLAG(int64_t, batch, 32, "batch size");
ABSL_FLAG(int, threads, 1, "at::set_num_threads (inter-op threads: 1)");
ABSL_FLAG(int, repetitions, 5, "timed windows");
ABSL_FLAG(double, min_seconds, 2.0, "minimum window length, seconds");
ABSL_FLAG(double, warmup_seconds, 1.0, "warm-up, seconds");
ABSL_FLAG(uint64_t, seed, 1, "torch::manual_seed");
ABSL_FLAG(std::string, data_dir, "", "where bench/compare wrote <model>_x.npy, <model>_y.npy");
ABSL_FLAG(std::string, config, "default", "tuned or default: recorded in the report");
ABSL_FLAG(bool, channels_last, false,
          "channels-last memory format for an image model (bench/compare sets it for M2, M4, M5 "
          "when tuned)");
ABSL_FLAG(bool, autocast_bf16, false,
          "train forward + loss and inference forward under CPU autocast to bfloat16 (fp32 "
          "parameters); appends \"+autocast_bf16\" to the recorded config");

namespace graft::bench {
namespace {

namespace nn = torch::nn;

// Keras's Flatten on an image: (N, C, H, W) seen as NHWC is flattened in (H, W, C) order; on a
// channels-last tensor that is a view, not a copy.
struct FlattenHwcImpl : nn::Module {
  torch::Tensor forward(const torch::Tensor& x) { return x.permute({0, 2, 3, 1}).flatten(1); }
};
TORCH_MODULE(FlattenHwc);

// Keras's BatchNormalization(momentum=0.99, epsilon=1e-3).
nn::BatchNorm2d KerasBatchNorm(int64_t c) {
  return nn::BatchNorm2d(nn::BatchNorm2dOptions(c).eps(1e-3).momentum(0.01));
}

// M5's residual block: conv3x3(stride) BN ReLU conv3x3 BN, + shortcut (identity or a strided
// 1x1 convolution), ReLU.
struct ResidualBlockImpl : nn::Module {
  ResidualBlockImpl(int64_t in, int64_t out, int64_t stride)
      : conv1(register_module("conv1",
                              nn::Conv2d(nn::Conv2dOptions(in, out, 3).stride(stride).padding(1)))),
        bn1(register_module("bn1", KerasBatchNorm(out))),
        conv2(register_module("conv2", nn::Conv2d(nn::Conv2dOptions(out, out, 3).padding(1)))),
        bn2(register_module("bn2", KerasBatchNorm(out))) {
    if (stride != 1 || in != out) {
      shortcut =
          register_module("shortcut", nn::Conv2d(nn::Conv2dOptions(in, out, 1).stride(stride)));
    }
  }
  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor y = torch::relu(bn1(conv1(x)));
    y = bn2(conv2(y));
    return torch::relu(y + (shortcut ? shortcut(x) : x));
  }
  nn::Conv2d conv1;
  nn::BatchNorm2d bn1;
  nn::Conv2d conv2;
  nn::BatchNorm2d bn2;
  nn::Conv2d shortcut{nullptr};
};
TORCH_MODULE(ResidualBlock);

// M5: stem conv3x3(16) BN ReLU, blocks of 16 / 32 / 64 filters (strides 1 / 2 / 2), global
// average pooling, Linear(64, 10); logits out.
struct ResNet8Impl : nn::Module {
  ResNet8Impl()
      : stem(register_module("stem", nn::Conv2d(nn::Conv2dOptions(1, 16, 3).padding(1)))),
        bn(register_module("bn", KerasBatchNorm(16))),
        block1(register_module("block1", ResidualBlock(16, 16, 1))),
        block2(register_module("block2", ResidualBlock(16, 32, 2))),
        block3(register_module("block3", ResidualBlock(32, 64, 2))),
        dense(register_module("dense", nn::Linear(64, 10))) {}
  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor h = torch::relu(bn(stem(x)));
    h = block3(block2(block1(h)));
    return dense(h.mean({2, 3}));  // GlobalAveragePooling2D
  }
  nn::Conv2d stem;
  nn::BatchNorm2d bn;
  ResidualBlock block1, block2, block3;
  nn::Linear dense;
};
TORCH_MODULE(ResNet8);

// Keras initialisation: glorot uniform (PyTorch's xavier_uniform_ computes the same fans for
// (out, in, k...) weights), zero biases. BatchNorm's weight (gamma) stays 1, its bias 0.
void KerasInit(nn::Module& net) {
  torch::NoGradGuard no_grad;
  for (auto& p : net.named_parameters()) {
    const bool batch_norm = p.key().find("bn") != std::string::npos;
    if (p.key().find("weight") != std::string::npos && !batch_norm) {
      nn::init::xavier_uniform_(p.value());
    } else if (!batch_norm) {
      nn::init::zeros_(p.value());
    }
  }
}

// CPU autocast to bfloat16 for its scope when `enabled`, as Python's
// torch.autocast("cpu", torch.bfloat16) enters and exits: ops on autocast's lower-precision
// list (convolutions, linear layers) run in bf16 on bf16 casts of the fp32 parameters, cached
// for the scope; the cache is cleared and the previous (thread-local) state restored at exit.
class CpuAutocastBf16 {
 public:
  explicit CpuAutocastBf16(bool enabled) : enabled_(enabled) {
    if (!enabled_) return;
    prev_enabled_ = at::autocast::is_cpu_enabled();
    prev_dtype_ = at::autocast::get_autocast_cpu_dtype();
    at::autocast::set_cpu_enabled(true);
    at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
    at::autocast::increment_nesting();
  }
  ~CpuAutocastBf16() {
    if (!enabled_) return;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    at::autocast::set_cpu_enabled(prev_enabled_);
    at::autocast::set_autocast_cpu_dtype(prev_dtype_);
  }
  CpuAutocastBf16(const CpuAutocastBf16&) = delete;
  CpuAutocastBf16& operator=(const CpuAutocastBf16&) = delete;

 private:
  const bool enabled_;
  bool prev_enabled_ = false;
  at::ScalarType prev_dtype_ = at::kBFloat16;
};

void ToChannelsLast(nn::Module& net) {
  for (torch::Tensor& p : net.parameters()) {
    if (p.dim() == 4) p.set_data(p.contiguous(torch::MemoryFormat::ChannelsLast));
  }
}

ResNet8 MakeResNet(bool channels_last) {
  ResNet8 net;
  KerasInit(*net);
  if (channels_last) ToChannelsLast(*net);
  return net;
}

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
  KerasInit(*net);
  if (channels_last) ToChannelsLast(*net);
  return net;
}

absl::Status Run() {
  const std::string model = absl::GetFlag(FLAGS_model);
  const std::string mode = absl::GetFlag(FLAGS_mode);
  const std::string config = absl::GetFlag(FLAGS_config);
  const int64_t b = absl::GetFlag(FLAGS_batch);
  const int threads = absl::GetFlag(FLAGS_threads);
  if (model != "M1" && model != "M2" && model != "M3" && model != "M4" && model != "M5") {
    return absl::InvalidArgumentError(absl::StrCat("unknown --model=", model));
  }
  if (mode != "train" && mode != "infer" && mode != "serve") {
    return absl::InvalidArgumentError("--mode must be train, infer or serve");
  }
  if (config != "tuned" && config != "default") {
    return absl::InvalidArgumentError("--config must be tuned or default");
  }
  at::set_num_interop_threads(1);
  at::set_num_threads(threads);
  torch::manual_seed(absl::GetFlag(FLAGS_seed));
  const bool channels_last = absl::GetFlag(FLAGS_channels_last) && model != "M1";
  const bool binary = model == "M1";
  const bool autocast = absl::GetFlag(FLAGS_autocast_bf16);
  if (autocast && mode == "serve") {
    return absl::InvalidArgumentError("--autocast_bf16 is for --mode=train or infer");
  }

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

  // M1..M4 are nn::Sequential, M5 a module of its own: both run through `forward`.
  std::shared_ptr<nn::Module> module;
  std::function<torch::Tensor(const torch::Tensor&)> forward;
  if (model == "M5") {
    ResNet8 resnet = MakeResNet(channels_last);
    module = resnet.ptr();
    forward = [resnet](const torch::Tensor& in) mutable { return resnet->forward(in); };
  } else {
    nn::Sequential seq = MakeNet(model, channels_last);
    module = seq.ptr();
    forward = [seq](const torch::Tensor& in) mutable { return seq->forward(in); };
  }
  nn::Module* net = module.get();
  torch::optim::Adam adam(net->parameters(),
                          torch::optim::AdamOptions(1e-3).betas({0.9, 0.999}).eps(1e-7));
  if (mode == "serve") {
    // One module shared by the client threads, each request a forward in InferenceMode on
    // rows of the data (batch 1..32), as bench/serve drives graft.
    net->eval();
    const int clients = absl::GetFlag(FLAGS_clients);
    const int64_t rows = x.size(0);
    absl::StatusOr<ServeResult> r = MeasureServing(
        [&](int client, int64_t batch) -> absl::Status {
          c10::InferenceMode guard;
          const int64_t start = (client * 97) % std::max<int64_t>(rows - batch, 1);
          torch::Tensor out = forward(x.narrow(0, start, batch));
          out = binary ? torch::sigmoid(out) : torch::softmax(out, 1);
          return absl::OkStatus();
        },
        {.clients = clients,
         .warmup_seconds = absl::GetFlag(FLAGS_warmup_seconds),
         .seconds = absl::GetFlag(FLAGS_serve_seconds)});
    if (!r.ok()) return r.status();
    std::cout << ServeResultJson("libtorch", clients, threads, *r) << std::endl;
    return absl::OkStatus();
  }
  int64_t i = 0;
  std::function<absl::Status()> step;
  if (mode == "train") {
    net->train();
    step = [&]() -> absl::Status {
      const torch::Tensor xb = x.narrow(0, i * b, b), yb = y.narrow(0, i * b, b);
      i = (i + 1) % num_batches;
      for (torch::Tensor& p : net->parameters()) p.mutable_grad().reset();  // set_to_none
      torch::Tensor loss;
      {
        CpuAutocastBf16 autocast_guard(autocast);
        // Logits in fp32 for the loss (a no-op without autocast).
        torch::Tensor out = forward(xb).to(torch::kFloat);
        loss = binary ? torch::binary_cross_entropy_with_logits(out, yb)
                      : torch::nn::functional::cross_entropy(out, yb);
      }
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
      torch::Tensor out;
      {
        CpuAutocastBf16 autocast_guard(autocast);
        out = forward(xb).to(torch::kFloat);  // fp32 probabilities, as without autocast
      }
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
                .config = autocast ? absl::StrCat(config, "+autocast_bf16") : config,
                .model = model,
                .mode = mode,
                .batch = b,
                .threads = threads,
                .throughput = *t,
                .extra = {{"num_batches", absl::StrCat(num_batches)},
                          {"channels_last", channels_last ? "true" : "false"},
                          {"autocast_bf16", autocast ? "true" : "false"},
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
