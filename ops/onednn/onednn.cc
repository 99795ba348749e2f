#include "ops/onednn/onednn.h"

#include <omp.h>

#include <exception>

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

absl::Status Call(const std::function<void()>& fn) {
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

void LayoutBridge::Init(const dnnl::memory::desc& user, const dnnl::memory::desc& chosen) {
  user_ = user;
  chosen_ = chosen;
  needs_reorder_ = user != chosen;
  if (needs_reorder_) {
    buffer_ = dnnl::memory(chosen_, Engine());
    to_chosen_ = dnnl::reorder(dnnl::reorder::primitive_desc(Engine(), user_, Engine(), chosen_));
    from_chosen_ = dnnl::reorder(dnnl::reorder::primitive_desc(Engine(), chosen_, Engine(), user_));
  }
}

dnnl::memory LayoutBridge::ToChosen(const Tensor& user) {
  dnnl::memory u = Wrap(user_, user);
  if (!needs_reorder_) return u;
  to_chosen_.execute(Stream(), u, buffer_);
  return buffer_;
}

dnnl::memory LayoutBridge::ChosenFor(const Tensor& user) {
  return needs_reorder_ ? buffer_ : Wrap(user_, user);
}

void LayoutBridge::FromChosen(Tensor& user) {
  if (!needs_reorder_) return;
  dnnl::memory u = Wrap(user_, user);
  from_chosen_.execute(Stream(), buffer_, u);
  Stream().wait();
}

void Execute(const dnnl::primitive& p, const std::unordered_map<int, dnnl::memory>& args) {
  p.execute(Stream(), args);
  Stream().wait();
}

}  // namespace graft::onednn
