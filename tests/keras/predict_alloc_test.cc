// A plain model.Predict(x) on one sample allocates nothing of graft's own after its first call
// (serving loops call it millions of times). Counted with a malloc hook: this binary's malloc,
// calloc, realloc, aligned_alloc, memalign and posix_memalign count every call while
// `counting` is set (the dynamic linker binds graft's, oneDNN's and libstdc++'s operator new
// to these). What oneDNN allocates inside dnnl_primitive_execute (it builds a hash map of the
// arguments on every execution, ~5 allocations per primitive) is counted apart and printed:
// graft cannot avoid it short of patching oneDNN.
#include <dlfcn.h>
#include <execinfo.h>
#include <malloc.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>

#include "gtest/gtest.h"
#include "keras/keras.h"

extern "C" {
void* __libc_malloc(size_t);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
void* __libc_memalign(size_t, size_t);
void __libc_free(void*);
}

namespace {
std::atomic<bool> counting{false};
std::atomic<long> allocations{0};
std::atomic<long> onednn_allocations{0};
thread_local bool in_hook = false;

// Whether the calling stack passes through oneDNN's library.
bool FromOneDnn() {
  void* frames[48];
  const int n = backtrace(frames, 48);
  for (int i = 0; i < n; ++i) {
    Dl_info info;
    if (dladdr(frames[i], &info) != 0 && info.dli_fname != nullptr &&
        std::strstr(info.dli_fname, "libdnnl") != nullptr) {
      return true;
    }
  }
  return false;
}

void Count() {
  if (!counting.load(std::memory_order_relaxed) || in_hook) return;
  in_hook = true;
  (FromOneDnn() ? onednn_allocations : allocations).fetch_add(1);
  in_hook = false;
}
}  // namespace

extern "C" {
void* malloc(size_t n) {
  Count();
  return __libc_malloc(n);
}
void* calloc(size_t n, size_t m) {
  Count();
  return __libc_calloc(n, m);
}
void* realloc(void* p, size_t n) {
  Count();
  return __libc_realloc(p, n);
}
void* aligned_alloc(size_t a, size_t n) {
  Count();
  return __libc_memalign(a, n);
}
void* memalign(size_t a, size_t n) {
  Count();
  return __libc_memalign(a, n);
}
int posix_memalign(void** p, size_t a, size_t n) {
  Count();
  *p = __libc_memalign(a, n);
  return *p == nullptr ? ENOMEM : 0;
}
void free(void* p) { __libc_free(p); }
}

namespace graft::keras {
namespace {

namespace L = layers;

long AllocationsOfPredict(Model& model, const Tensor& x) {
  FromOneDnn();  // backtrace's first call loads the unwinder
  allocations = 0;
  onednn_allocations = 0;
  counting = true;
  {
    absl::StatusOr<Tensor> p = model.Predict(x);
    counting = false;
    EXPECT_TRUE(p.ok()) << p.status();
  }
  return allocations.load();
}

void ExpectNoAllocationsAfterTheFirstCall(Model& model, const Tensor& x) {
  ASSERT_TRUE(model.Predict(x).ok());  // the first call builds the plan
  ASSERT_TRUE(model.Predict(x).ok());
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(AllocationsOfPredict(model, x), 0) << "call " << i + 3;
    std::printf("call %d: %ld allocations inside oneDNN's primitive execution\n", i + 3,
                onednn_allocations.load());
  }
  // A result the caller still holds is never written over: the next call allocates anew.
  absl::StatusOr<Tensor> kept = model.Predict(x);
  ASSERT_TRUE(kept.ok());
  const float before = kept->data<float>()[0];
  Tensor other = x.Clone();
  other.data<float>()[0] = 5;
  ASSERT_TRUE(model.Predict(other).ok());
  EXPECT_EQ(kept->data<float>()[0], before);
}

TEST(PredictAllocations, HookCountsAllocations) {  // the hook itself works
  FromOneDnn();  // backtrace's first call loads the unwinder
  allocations = 0;
  counting = true;
  void* volatile p = std::malloc(100);
  int* volatile q = new int(3);
  counting = false;
  std::free(p);
  delete q;
  EXPECT_EQ(allocations.load(), 2);
}

TEST(PredictAllocations, SeedConv1DOneSample) {
  SetNumThreads(1);
  Sequential model({
      L::Conv1D(32, 5, {.activation = "relu", .input_shape = {100, 3}}),
      L::MaxPooling1D(2),
      L::Flatten(),
      L::Dense(1, {.activation = "sigmoid"}),
  });
  ASSERT_TRUE(model.Compile({.optimizer = "adam", .loss = "binary_crossentropy"}).ok());
  Tensor x(DType::kF32, Shape({1, 100, 3}));
  ExpectNoAllocationsAfterTheFirstCall(model, x);
}

TEST(PredictAllocations, MnistConvnetOneSample) {
  SetNumThreads(1);
  Sequential model({
      L::Conv2D(32, {3, 3}, {.activation = "relu", .input_shape = {28, 28, 1}}),
      L::MaxPooling2D({2, 2}),
      L::Conv2D(64, {3, 3}, {.activation = "relu"}),
      L::MaxPooling2D({2, 2}),
      L::Flatten(),
      L::Dropout(0.5),
      L::Dense(10, {.activation = "softmax"}),
  });
  Tensor x(DType::kF32, Shape({1, 28, 28, 1}));
  ExpectNoAllocationsAfterTheFirstCall(model, x);  // Predict before Compile too
}

}  // namespace
}  // namespace graft::keras
