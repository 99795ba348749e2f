#include "graph/variable_home.h"

#include "absl/strings/str_cat.h"

namespace graft {

absl::Status VariableHome::SetForm(std::shared_ptr<const PackedForm> form) {
  std::lock_guard<std::mutex> lock(mu_);
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

absl::Status VariableHome::Prepare(bool packed, bool will_write) {
  std::lock_guard<std::mutex> lock(mu_);
  bool& current = packed ? packed_valid_ : logical_valid_;
  bool& other = packed ? logical_valid_ : packed_valid_;
  if (!current) {
    absl::Status s = packed ? form_->Pack(logical_, packed_) : form_->Unpack(packed_, logical_);
    if (!s.ok()) return s;
    current = true;
  }
  if (will_write) other = false;
  return absl::OkStatus();
}

}  // namespace graft
