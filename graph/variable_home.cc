#include "graph/variable_home.h"

#include "absl/strings/str_cat.h"

namespace graft {

absl::Status VariableHome::SetForm(std::shared_ptr<const PackedForm> form) {
  if (form_ != nullptr) {
    if (form_ == form || form_->Equals(*form)) return absl::OkStatus();
    return absl::FailedPreconditionError(absl::StrCat("variable already packed as ",
                                                      form_->ToString(), ", not ",
                                                      form->ToString()));
  }
  form_ = std::move(form);
  packed_ = Tensor(logical_.dtype(), Shape{form_->packed_elements()});
  packed_valid_ = false;
  return absl::OkStatus();
}

absl::Status VariableHome::PrepareLogical(bool will_write) {
  if (!logical_valid_) {
    if (absl::Status s = form_->Unpack(packed_, logical_); !s.ok()) return s;
    logical_valid_ = true;
  }
  if (will_write) packed_valid_ = false;
  return absl::OkStatus();
}

absl::Status VariableHome::PreparePacked(bool will_write) {
  if (!packed_valid_) {
    if (absl::Status s = form_->Pack(logical_, packed_); !s.ok()) return s;
    packed_valid_ = true;
  }
  if (will_write) logical_valid_ = false;
  return absl::OkStatus();
}

}  // namespace graft
