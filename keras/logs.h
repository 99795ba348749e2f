// graft — Keras's `logs` dict: named values in insertion order ("loss", the metrics, then
// "val_*", and whatever callbacks add such as "learning_rate"). The progress bar prints them in
// this order; callbacks read and add entries.
#ifndef GRAFT_KERAS_LOGS_H_
#define GRAFT_KERAS_LOGS_H_

#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace graft::keras {

class Logs {
 public:
  using Entry = std::pair<std::string, double>;
  Logs() = default;
  Logs(std::initializer_list<Entry> entries) : entries_(entries) {}

  // The value of `name`, or null when there is none.
  const double* Get(absl::string_view name) const {
    for (const Entry& e : entries_) {
      if (e.first == name) return &e.second;
    }
    return nullptr;
  }
  bool Has(absl::string_view name) const { return Get(name) != nullptr; }
  // Sets `name` (appended when new, as a Python dict does).
  void Set(absl::string_view name, double value) {
    for (Entry& e : entries_) {
      if (e.first == name) {
        e.second = value;
        return;
      }
    }
    entries_.emplace_back(std::string(name), value);
  }
  std::vector<std::string> Names() const {
    std::vector<std::string> names;
    for (const Entry& e : entries_) names.push_back(e.first);
    return names;
  }

  std::vector<Entry>::const_iterator begin() const { return entries_.begin(); }
  std::vector<Entry>::const_iterator end() const { return entries_.end(); }
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }

 private:
  std::vector<Entry> entries_;
};

}  // namespace graft::keras

#endif  // GRAFT_KERAS_LOGS_H_
