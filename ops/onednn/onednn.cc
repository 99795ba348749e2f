#include "ops/onednn/onednn.h"

#include <omp.h>

#include <algorithm>
#include <exception>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "runtime/threads.h"

namespace graft::onednn {

const dnnl::engine& Engine() {
  static const dnnl::engine* engine = new dnnl::engine(dnnl::engine::kind::cpu, 0);
  return *engine;
}

dnnl::stream& Stream() {
  thread_local dnnl::stream stream(Engine());
  return stream;
}

bool CpuHasBf16() {
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::avx512_core_bf16:
    case dnnl::cpu_isa::avx512_core_amx:
      return true;
    default:
      return false;
  }
}

bool CpuHasAvx512Core() {
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::avx512_core:
    case dnnl::cpu_isa::avx512_core_vnni:
    case dnnl::cpu_isa::avx512_core_bf16:
    case dnnl::cpu_isa::avx512_core_amx:
      return true;
    default:
      return false;
  }
}

std::string CpuIsaName() {
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::sse41:
      return "sse41";
    case dnnl::cpu_isa::avx:
      return "avx";
    case dnnl::cpu_isa::avx2:
      return "avx2";
    case dnnl::cpu_isa::avx2_vnni:
      return "avx2_vnni";
    case dnnl::cpu_isa::avx512_core:
      return "avx512_core";
    case dnnl::cpu_isa::avx512_core_vnni:
      return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core_bf16:
      return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_amx:
      return "avx512_core_amx";
    default:
      return "a pre-AVX-512 ISA";
  }
}

bool Optimised(const dnnl::primitive_desc_base& pd) {
  return std::string(pd.impl_info_str()).rfind("ref", 0) != 0;
}

absl::Status Call(absl::FunctionRef<void()> fn) {
  // Primitives fix their work split for the OpenMP team size in force when they are created,
  // and must run with the same size: both happen inside Call, under the plan's thread count.
  ApplyThreads();
  try {
    fn();
  } catch (const dnnl::error& e) {
    return absl::InternalError(
        absl::StrCat("oneDNN: ", e.what(), " (status ", static_cast<int>(e.status), ")"));
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("oneDNN call failed: ", e.what()));
  }
  return absl::OkStatus();
}

void ApplyThreads() {
  const int n = CurrentThreads();
  if (omp_get_max_threads() != n) omp_set_num_threads(n);
}

dnnl::memory::desc Desc(const dims& d, tag t) { return dnnl::memory::desc(d, dt::f32, t); }

dnnl::memory Wrap(const dnnl::memory::desc& md, const Tensor& t) {
  return dnnl::memory(md, Engine(), const_cast<void*>(t.raw_data()));
}

dnnl::primitive_attr PostOpsAttr(const std::vector<PostOp>& post_ops) {
  dnnl::post_ops ops;
  for (const PostOp& p : post_ops) {
    ops.append_eltwise(1.0f, static_cast<dnnl::algorithm>(p.algorithm), p.alpha, p.beta);
  }
  dnnl::primitive_attr attr;
  attr.set_post_ops(ops);
  return attr;
}

void LayoutBridge::Init(const dnnl::memory::desc& user, const dnnl::memory::desc& chosen,
                        Args& args, int arg) {
  needs_reorder_ = user != chosen;
  if (!needs_reorder_) {
    slot_ = args.Add(arg, user);
    return;
  }
  // The buffer is touched now, on huge pages where it is large (Tensor::AllocateArena), not on
  // the first step: oneDNN's own allocation left its pages to the first reorder, and on the VMs
  // here a 4 KiB page fault costs ~10 us. M4's first train step on a new thread count (the
  // governor's first probe) took 5-6x a warm one, its Winograd bridges 11-21 ms each, not 0.3.
  storage_ = Tensor::AllocateArena(chosen.get_size());
  dnnl::memory buffer(chosen, Engine(), storage_.get());
  args.AddOwned(arg, buffer);
  small_ = chosen.get_size() < (size_t{64} << 10);
  to_chosen_ = dnnl::reorder(dnnl::reorder::primitive_desc(Engine(), user, Engine(), chosen));
  from_chosen_ = dnnl::reorder(dnnl::reorder::primitive_desc(Engine(), chosen, Engine(), user));
  to_args_.Add(DNNL_ARG_FROM, user);
  to_args_.AddOwned(DNNL_ARG_TO, buffer);
  from_args_.Add(DNNL_ARG_TO, user);
  from_args_.AddOwned(DNNL_ARG_FROM, buffer);
}

namespace {
// Runs a bridge reorder. A small one (a Conv1D's few thousand weights) runs on one thread:
// forking the OpenMP team costs more than the copy (measured on M1's weights: 3.7 us on 2
// threads). A reorder is a copy, so the thread count never changes its result.
void ExecuteReorder(Args& args, const dnnl::reorder& r, bool small) {
  const int threads = omp_get_max_threads();
  if (small && threads > 1) omp_set_num_threads(1);
  args.Execute(r);
  if (small && threads > 1) omp_set_num_threads(threads);
}
}  // namespace

void LayoutBridge::In(Args& args, const Tensor& user) {
  if (!needs_reorder_) {
    args.Bind(slot_, user);
    return;
  }
  to_args_.Bind(0, user);
  ExecuteReorder(to_args_, to_chosen_, small_);
}

void LayoutBridge::OutBefore(Args& args, const Tensor& user) {
  if (!needs_reorder_) args.Bind(slot_, user);
}

void LayoutBridge::OutAfter(const Tensor& user) {
  if (!needs_reorder_) return;
  from_args_.Bind(0, user);
  ExecuteReorder(from_args_, from_chosen_, small_);
}

int64_t OneDnnForm::packed_elements() const {
  return static_cast<int64_t>(packed_.get_size() / sizeof(float));
}

absl::Status OneDnnForm::Reorder(bool pack, const Tensor& from, const Tensor& to) const {
  return Call([&] {
    std::optional<dnnl::reorder>& r = pack ? pack_ : unpack_;
    const dnnl::memory::desc& from_md = pack ? logical_ : packed_;
    const dnnl::memory::desc& to_md = pack ? packed_ : logical_;
    dnnl::memory src = Wrap(from_md, from), dst = Wrap(to_md, to);
    if (!r.has_value()) r = dnnl::reorder(src, dst);  // created once (a copy: any team size)
    r->execute(Stream(), src, dst);
    Stream().wait();
  });
}

absl::Status OneDnnForm::Pack(const Tensor& logical, Tensor& packed) const {
  return Reorder(true, logical, packed);
}

absl::Status OneDnnForm::Unpack(const Tensor& packed, Tensor& logical) const {
  return Reorder(false, packed, logical);
}

bool OneDnnForm::Equals(const PackedForm& other) const {
  const auto* o = dynamic_cast<const OneDnnForm*>(&other);
  return o != nullptr && o->logical_ == logical_ && o->packed_ == packed_;
}

std::string OneDnnForm::ToString() const { return absl::StrCat("oneDNN ", LayoutName(packed_)); }

std::shared_ptr<const PackedForm> FormFor(const dnnl::memory::desc& logical,
                                          const dnnl::memory::desc& chosen) {
  if (logical == chosen) return nullptr;
  return std::make_shared<OneDnnForm>(logical, chosen);
}

std::string LayoutName(const dnnl::memory::desc& md) {
  const dnnl_memory_desc_t& d = md.data;
  if (d.format_kind != dnnl_blocked) return "strided";
  const dnnl_blocking_desc_t& b = d.format_desc.blocking;
  std::vector<int> order(d.ndims);
  for (int i = 0; i < d.ndims; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](int x, int y) { return b.strides[x] > b.strides[y]; });
  std::vector<bool> blocked(d.ndims, false);
  for (int k = 0; k < b.inner_nblks; ++k) blocked[b.inner_idxs[k]] = true;
  std::string name;
  for (int i : order) name += static_cast<char>((blocked[i] ? 'A' : 'a') + i);
  for (int k = 0; k < b.inner_nblks; ++k) {
    absl::StrAppend(&name, b.inner_blks[k],
                    std::string(1, static_cast<char>('a' + b.inner_idxs[k])));
  }
  return name;
}

dnnl::memory::desc InputLayout(const KernelInitContext& c, int i,
                               const dnnl::memory::desc& logical) {
  if (i >= static_cast<int>(c.input_forms.size()) || c.input_forms[i] == nullptr) return logical;
  return dynamic_cast<const OneDnnForm&>(*c.input_forms[i]).packed_desc();
}

dnnl::memory::desc OutputLayout(const KernelInitContext& c, int o,
                                const dnnl::memory::desc& logical) {
  if (o >= static_cast<int>(c.output_forms.size()) || c.output_forms[o] == nullptr) {
    return logical;
  }
  return dynamic_cast<const OneDnnForm&>(*c.output_forms[o]).packed_desc();
}

void PrimitiveKernel::AddInput(int arg, const dnnl::memory::desc& md, int input) {
  bindings_.push_back({args_.Add(arg, md), true, input});
}

void PrimitiveKernel::AddOutput(int arg, const dnnl::memory::desc& md, int output) {
  bindings_.push_back({args_.Add(arg, md), false, output});
}

absl::Status PrimitiveKernel::Run(KernelRunContext& ctx) {
  return Call([&] {
    for (const Binding& b : bindings_) {
      args_.Bind(b.slot, b.input ? ctx.input(b.index) : ctx.output(b.index));
    }
    args_.Execute(prim_);
  });
}

int Args::Add(int arg, const dnnl::memory::desc& md) {
  memories_.emplace_back(md, Engine(), static_cast<void*>(DNNL_MEMORY_NONE));
  handles_.push_back(nullptr);
  args_.push_back({arg, memories_.back().get()});
  return static_cast<int>(memories_.size()) - 1;
}

void Args::AddOwned(int arg, const dnnl::memory& memory) {
  memories_.push_back(memory);
  handles_.push_back(memory.get_data_handle());
  args_.push_back({arg, memories_.back().get()});
}

void Args::Execute(const dnnl::primitive& p) {
  dnnl::stream& s = Stream();
  dnnl::error::wrap_c_api(
      dnnl_primitive_execute(p.get(), s.get(), static_cast<int>(args_.size()), args_.data()),
      "could not execute a primitive");
  s.wait();
}

}  // namespace graft::onednn
