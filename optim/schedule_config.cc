// optim/schedule_config.cc — schedules from their Keras configs: the class registry (the six
// built-in classes plus any a program registers), the config reader, and Keras's serialised form
// {"class_name", "config"}. Nothing here throws: every JSON value is checked before it is read.
#include <map>
#include <mutex>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "optim/schedules.h"

namespace graft::optim {
namespace {

using Json = nlohmann::json;

// Reads a config object key by key, recording the first error; Finish() also refuses keys that
// were never read (a misspelt argument must not be ignored).
class ConfigReader {
 public:
  ConfigReader(std::string who, const Json& config) : who_(std::move(who)), config_(config) {
    if (!config.is_object()) {
      Fail("config", absl::StrCat("expected an object, found ", config.type_name()));
    }
  }

  // A required number.
  double Number(const char* key) { return Read(key, "a number", &Json::is_number, 0.0, true); }
  double Number(const char* key, double fallback) {
    return Read(key, "a number", &Json::is_number, fallback, false);
  }
  bool Bool(const char* key, bool fallback) {
    return Read(key, "true or false", &Json::is_boolean, fallback, false);
  }
  // A number, or null / missing for none.
  std::optional<double> OptionalNumber(const char* key) {
    const Json* v = Find(key);
    if (v == nullptr || v->is_null()) return std::nullopt;
    if (!v->is_number()) return Wrong(key, "a number or null", *v), std::nullopt;
    return v->get<double>();
  }
  // "name": a string, or null / missing for the class's default name.
  std::string Name(std::string fallback) {
    const Json* v = Find("name");
    if (v == nullptr || v->is_null()) return fallback;
    if (!v->is_string()) return Wrong("name", "a string or null", *v), fallback;
    return v->get<std::string>();
  }
  std::vector<double> Numbers(const char* key) {
    std::vector<double> out;
    const Json* v = List(key, "a list of numbers");
    if (v == nullptr) return out;
    for (size_t i = 0; i < v->size() && ok(); ++i) {
      const Json& e = (*v)[i];
      if (!e.is_number()) return Wrong(absl::StrCat(key, "[", i, "]"), "a number", e), out;
      out.push_back(e.get<double>());
    }
    return out;
  }
  // Whole numbers (100 or 100.0) within +-2^53.
  std::vector<int64_t> Integers(const char* key) {
    std::vector<int64_t> out;
    const Json* v = List(key, "a list of integers (step counts)");
    if (v == nullptr) return out;
    for (size_t i = 0; i < v->size() && ok(); ++i) {
      const Json& e = (*v)[i];
      const double d = e.is_number() ? e.get<double>() : 0.5;
      if (d != std::floor(d) || std::fabs(d) > 0x1p53) {
        return Wrong(absl::StrCat(key, "[", i, "]"), "an integer within +-2^53", e), out;
      }
      out.push_back(e.is_number_integer() ? e.get<int64_t>() : static_cast<int64_t>(d));
    }
    return out;
  }

  bool ok() const { return status_.ok(); }
  absl::Status Finish(const std::vector<std::string>& known) {
    if (!ok() || !config_.is_object()) return status_;
    for (const auto& item : config_.items()) {
      if (!read_.count(item.key())) {
        Fail(item.key(),
             absl::StrCat("unknown argument; ", who_, " has: ", absl::StrJoin(known, ", ")));
        break;
      }
    }
    return status_;
  }

 private:
  const Json* Find(const char* key) {
    read_.insert(key);
    if (!ok() || !config_.is_object()) return nullptr;
    auto it = config_.find(key);
    return it == config_.end() ? nullptr : &*it;
  }
  template <typename T>
  T Read(const char* key, const char* kind, bool (Json::*is)() const, T fallback, bool required) {
    const Json* v = Find(key);
    if (v == nullptr) {
      if (required && ok() && config_.is_object()) {
        Fail(key, absl::StrCat("missing (", kind, " is required)"));
      }
      return fallback;
    }
    if (!((*v).*is)()) return Wrong(key, kind, *v), fallback;
    return v->get<T>();
  }
  const Json* List(const char* key, const char* kind) {
    const Json* v = Find(key);
    if (v == nullptr) {
      if (ok() && config_.is_object()) Fail(key, absl::StrCat("missing (", kind, " is required)"));
      return nullptr;
    }
    if (!v->is_array()) return Wrong(key, kind, *v), nullptr;
    return v;
  }
  void Wrong(const std::string& key, const char* kind, const Json& found) {
    Fail(key, absl::StrCat("expected ", kind, ", found ", found.type_name()));
  }
  void Fail(const std::string& key, const std::string& what) {
    if (!ok()) return;
    status_ = absl::InvalidArgumentError(
        absl::StrCat(who_, ": config", key == "config" ? "" : "." + key, ": ", what));
  }

  std::string who_;
  const Json& config_;
  std::set<std::string> read_;
  absl::Status status_;
};

// The built-in classes' readers: each reads its keys in Keras's get_config() order.
template <typename Build>
ScheduleFactory Reader(std::string class_name, std::vector<std::string> keys, Build build) {
  return [class_name, keys, build](const Json& config) -> absl::StatusOr<LearningRateSchedulePtr> {
    ConfigReader r(class_name, config);
    LearningRateSchedulePtr s = build(r);
    if (absl::Status st = r.Finish(keys); !st.ok()) return st;
    return s;
  };
}

std::map<std::string, ScheduleFactory> BuiltIns() {
  std::map<std::string, ScheduleFactory> m;
  m["ExponentialDecay"] =
      Reader("ExponentialDecay",
             {"initial_learning_rate", "decay_steps", "decay_rate", "staircase", "name"},
             [](ConfigReader& r) {
               const double lr0 = r.Number("initial_learning_rate"),
                            steps = r.Number("decay_steps"), rate = r.Number("decay_rate");
               return ExponentialDecay(lr0, steps, rate,
                                       {r.Bool("staircase", false), r.Name("ExponentialDecay")});
             });
  m["PiecewiseConstantDecay"] =
      Reader("PiecewiseConstantDecay", {"boundaries", "values", "name"}, [](ConfigReader& r) {
        std::vector<int64_t> boundaries = r.Integers("boundaries");
        std::vector<double> values = r.Numbers("values");
        return PiecewiseConstantDecay(std::move(boundaries), std::move(values),
                                      {r.Name("PiecewiseConstant")});
      });
  m["InverseTimeDecay"] =
      Reader("InverseTimeDecay",
             {"initial_learning_rate", "decay_steps", "decay_rate", "staircase", "name"},
             [](ConfigReader& r) {
               const double lr0 = r.Number("initial_learning_rate"),
                            steps = r.Number("decay_steps"), rate = r.Number("decay_rate");
               return InverseTimeDecay(lr0, steps, rate,
                                       {r.Bool("staircase", false), r.Name("InverseTimeDecay")});
             });
  m["PolynomialDecay"] = Reader(
      "PolynomialDecay",
      {"initial_learning_rate", "decay_steps", "end_learning_rate", "power", "cycle", "name"},
      [](ConfigReader& r) {
        const double lr0 = r.Number("initial_learning_rate"), steps = r.Number("decay_steps");
        PolynomialDecayOptions o;
        o.end_learning_rate = r.Number("end_learning_rate", o.end_learning_rate);
        o.power = r.Number("power", o.power);
        o.cycle = r.Bool("cycle", o.cycle);
        o.name = r.Name(o.name);
        return PolynomialDecay(lr0, steps, o);
      });
  m["CosineDecay"] = Reader(
      "CosineDecay",
      {"initial_learning_rate", "decay_steps", "alpha", "name", "warmup_target", "warmup_steps"},
      [](ConfigReader& r) {
        const double lr0 = r.Number("initial_learning_rate"), steps = r.Number("decay_steps");
        CosineDecayOptions o;
        o.alpha = r.Number("alpha", o.alpha);
        o.name = r.Name(o.name);
        o.warmup_target = r.OptionalNumber("warmup_target");
        o.warmup_steps = r.Number("warmup_steps", o.warmup_steps);
        return CosineDecay(lr0, steps, o);
      });
  m["CosineDecayRestarts"] = Reader(
      "CosineDecayRestarts",
      {"initial_learning_rate", "first_decay_steps", "t_mul", "m_mul", "alpha", "name"},
      [](ConfigReader& r) {
        const double lr0 = r.Number("initial_learning_rate"), steps = r.Number("first_decay_steps");
        CosineDecayRestartsOptions o;
        o.t_mul = r.Number("t_mul", o.t_mul);
        o.m_mul = r.Number("m_mul", o.m_mul);
        o.alpha = r.Number("alpha", o.alpha);
        o.name = r.Name(o.name);
        return CosineDecayRestarts(lr0, steps, o);
      });
  return m;
}

struct Registry {
  std::mutex mu;
  std::map<std::string, ScheduleFactory> classes = BuiltIns();
};

Registry& GetRegistry() {
  static Registry* registry = new Registry;  // never destroyed: usable from static destructors
  return *registry;
}

}  // namespace

void RegisterScheduleClass(const std::string& class_name, ScheduleFactory factory) {
  Registry& r = GetRegistry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.classes[class_name] = std::move(factory);
}

absl::StatusOr<LearningRateSchedulePtr> ScheduleFromConfig(const std::string& class_name,
                                                           const nlohmann::json& config) {
  ScheduleFactory factory;
  std::vector<std::string> known;
  {
    Registry& r = GetRegistry();
    std::lock_guard<std::mutex> lock(r.mu);
    auto it = r.classes.find(class_name);
    if (it != r.classes.end()) {
      factory = it->second;
    } else {
      for (const auto& entry : r.classes) known.push_back(entry.first);
    }
  }
  if (!factory) {
    return absl::NotFoundError(
        absl::StrCat("unknown learning-rate schedule class \"", class_name,
                     "\"; graft knows: ", absl::StrJoin(known, ", "),
                     ". Fix: a schedule of your own must be registered with "
                     "graft::optim::RegisterScheduleClass in the loading program"));
  }
  absl::StatusOr<LearningRateSchedulePtr> s;
  try {  // a program's own factory might throw; nothing may escape the library
    s = factory(config);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(class_name, ": reading its config threw: ", e.what()));
  }
  if (!s.ok()) return s.status();
  if (*s == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(class_name, ": its registered factory returned no schedule"));
  }
  if (absl::Status st = (*s)->Check(); !st.ok()) return st;
  return s;
}

nlohmann::json SerializeSchedule(const LearningRateSchedule& schedule) {
  return {{"class_name", schedule.class_name()}, {"config", schedule.GetConfig()}};
}

absl::StatusOr<LearningRateSchedulePtr> DeserializeSchedule(const nlohmann::json& serialized) {
  const char* expected =
      "expected a schedule, {\"class_name\": \"ExponentialDecay\", \"config\": {...}}";
  if (!serialized.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(expected, ", found ", serialized.type_name()));
  }
  for (const auto& item : serialized.items()) {
    const std::string& key = item.key();
    if (key != "class_name" && key != "config" && key != "module" && key != "registered_name") {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown key \"", key,
                       "\" in a schedule; it has class_name and config (and Keras's "
                       "module and registered_name)"));
    }
  }
  auto name = serialized.find("class_name");
  if (name == serialized.end() || !name->is_string()) {
    return absl::InvalidArgumentError(
        absl::StrCat("class_name: missing or not a string; ", expected));
  }
  auto config = serialized.find("config");
  if (config == serialized.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat(name->get<std::string>(), ": config: missing (expected an object)"));
  }
  return ScheduleFromConfig(name->get<std::string>(), *config);
}

}  // namespace graft::optim
