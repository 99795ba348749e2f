// graft — where a variable's value lives between plan runs.
//
// A variable's logical value is its Keras-layout tensor (VariableAttrs::value). A plan whose
// fast kernels prefer another physical layout for it (oneDNN's blocked convolution weights)
// keeps a packed copy in a PackedForm instead, and every plan that can use that form reads and
// updates the copy in place, step after step: the value is reordered when it changes home (the
// first run of a plan that packs it, a read from outside the plans), never per step.
#ifndef GRAFT_GRAPH_VARIABLE_HOME_H_
#define GRAFT_GRAPH_VARIABLE_HOME_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "graph/tensor.h"

namespace graft {

// A physical layout of a variable's value other than its logical one. Implemented by kernel
// libraries (ops/onednn); the graph and the plans only move values in and out of it.
class PackedForm {
 public:
  virtual ~PackedForm() = default;
  // Elements (of the variable's dtype) the packed copy holds, padding included. Padding is zero
  // after Pack, and stays zero under elementwise updates whose gradient pads with zeros.
  virtual int64_t packed_elements() const = 0;
  virtual absl::Status Pack(const Tensor& logical, Tensor& packed) const = 0;
  virtual absl::Status Unpack(const Tensor& packed, Tensor& logical) const = 0;
  // Two forms are interchangeable when they describe the same bytes.
  virtual bool Equals(const PackedForm& other) const = 0;
  virtual std::string ToString() const = 0;
};

// One variable's value: the logical tensor, and the packed copy once a plan packs it. Which of
// the two is current is tracked here; Prepare* bring the one a plan binds up to date. SetForm
// and Prepare* are safe to call from several threads (plans of one model predicting at once);
// plans that write the variable run one at a time (keras::Model's lock).
class VariableHome {
 public:
  explicit VariableHome(Tensor logical) : logical_(std::move(logical)) {}

  const Tensor& logical() const { return logical_; }
  const std::shared_ptr<const PackedForm>& form() const { return form_; }
  // The packed copy (empty until SetForm).
  Tensor& packed() { return packed_; }
  // Chooses the packed form (once: later calls must pass an equal form) and allocates the copy.
  absl::Status SetForm(std::shared_ptr<const PackedForm> form);

  // Before a plan run that binds the logical tensor (or the packed copy); `will_write`: the plan
  // updates it in place, so the other copy becomes stale.
  absl::Status PrepareLogical(bool will_write) { return Prepare(false, will_write); }
  absl::Status PreparePacked(bool will_write) { return Prepare(true, will_write); }
  // Brings the logical tensor up to date (a read from outside the plans).
  absl::Status SyncLogical() { return PrepareLogical(false); }
  // The logical tensor was overwritten from outside the plans (SetWeights).
  void LogicalWritten() {
    std::lock_guard<std::mutex> lock(mu_);
    logical_valid_ = true;
    packed_valid_ = false;
  }
  bool packed_current() const { return packed_valid_; }
  bool logical_current() const { return logical_valid_; }

 private:
  absl::Status Prepare(bool packed, bool will_write);

  std::mutex mu_;
  Tensor logical_;
  Tensor packed_;
  std::shared_ptr<const PackedForm> form_;
  bool logical_valid_ = true;
  bool packed_valid_ = false;
};

}  // namespace graft

#endif  // GRAFT_GRAPH_VARIABLE_HOME_H_
