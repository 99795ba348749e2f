#include "io/safetensors.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <set>

#include "absl/strings/str_cat.h"
#include "io/atomic_file.h"
#include "io/file.h"
#include "nlohmann/json.hpp"

namespace graft::io {
namespace {

static_assert(std::endian::native == std::endian::little,
              "safetensors stores little-endian bytes; graft writes its memory as it is");

using Json = nlohmann::json;

// safetensors dtype names; the ones graft has a DType for are read.
const char* SafetensorsDType(DType t) {
  switch (t) {
    case DType::kF32:
      return "F32";
    case DType::kF64:
      return "F64";
    case DType::kI32:
      return "I32";
    case DType::kI64:
      return "I64";
  }
  return "?";
}

absl::Status Bad(absl::string_view source, absl::string_view where, absl::string_view what) {
  return absl::DataLossError(absl::StrCat(source, ": ", where, ": ", what));
}

// `header["name"]` for messages.
std::string PathOf(absl::string_view name, absl::string_view field = "") {
  std::string p = absl::StrCat("header[", Json(std::string(name)).dump(), "]");
  if (!field.empty()) absl::StrAppend(&p, ".", field);
  return p;
}

constexpr int kMaxRank = 16;
constexpr uint64_t kMaxDim = uint64_t{1} << 62;

struct Entry {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  uint64_t begin, end;
};

absl::StatusOr<Entry> ParseEntry(absl::string_view source, const std::string& name,
                                 const Json& value, uint64_t data_size) {
  if (!value.is_object()) {
    return Bad(source, PathOf(name),
               absl::StrCat("expected an object with dtype, shape and "
                            "data_offsets, found ",
                            value.type_name()));
  }
  Entry e{name, DType::kF32, {}, 0, 0};
  auto dtype = value.find("dtype");
  if (dtype == value.end() || !dtype->is_string()) {
    return Bad(source, PathOf(name, "dtype"), "missing, or not a string such as \"F32\"");
  }
  const std::string& d = dtype->get_ref<const std::string&>();
  static const std::set<std::string> kKnown = {"BOOL", "U8",  "I8",  "I16",     "U16",    "F16",
                                               "BF16", "U32", "U64", "F8_E4M3", "F8_E5M2"};
  if (d == "F32") {
    e.dtype = DType::kF32;
  } else if (d == "F64") {
    e.dtype = DType::kF64;
  } else if (d == "I32") {
    e.dtype = DType::kI32;
  } else if (d == "I64") {
    e.dtype = DType::kI64;
  } else {
    return Bad(
        source, PathOf(name, "dtype"),
        absl::StrCat(kKnown.count(d) ? "unsupported" : "unknown", " dtype \"", d.substr(0, 32),
                     "\"; graft reads F32, F64, I32 and I64 (convert the tensor first)"));
  }
  auto shape = value.find("shape");
  if (shape == value.end() || !shape->is_array()) {
    return Bad(source, PathOf(name, "shape"), "missing, or not an array of sizes");
  }
  if (shape->size() > kMaxRank) {
    return Bad(source, PathOf(name, "shape"),
               absl::StrCat("rank ", shape->size(), " is above graft's limit of ", kMaxRank));
  }
  for (size_t i = 0; i < shape->size(); ++i) {
    const Json& dim = (*shape)[i];
    if (!dim.is_number_unsigned() || dim.get<uint64_t>() > kMaxDim) {
      return Bad(source, PathOf(name, absl::StrCat("shape[", i, "]")),
                 absl::StrCat("expected a size in [0, 2^62], found ", dim.dump().substr(0, 40)));
    }
    e.shape.push_back(static_cast<int64_t>(dim.get<uint64_t>()));
  }
  // Shape's checked count (NumPy's rule: the non-zero dimensions' product, times the element
  // size, fits int64), the same check Tensor's constructor makes.
  const absl::StatusOr<int64_t> checked_bytes = Shape(e.shape).CheckedNumBytes(e.dtype);
  if (!checked_bytes.ok()) {
    return Bad(source, PathOf(name, "shape"), checked_bytes.status().message());
  }
  auto offsets = value.find("data_offsets");
  if (offsets == value.end() || !offsets->is_array() || offsets->size() != 2 ||
      !(*offsets)[0].is_number_unsigned() || !(*offsets)[1].is_number_unsigned()) {
    return Bad(source, PathOf(name, "data_offsets"),
               "missing, or not a pair [begin, end] of non-negative byte offsets");
  }
  e.begin = (*offsets)[0].get<uint64_t>();
  e.end = (*offsets)[1].get<uint64_t>();
  if (e.begin > e.end || e.end > data_size) {
    return Bad(source, PathOf(name, "data_offsets"),
               absl::StrCat("[", e.begin, ", ", e.end, "] is out of range: the data section holds ",
                            data_size, " bytes"));
  }
  const uint64_t bytes = static_cast<uint64_t>(*checked_bytes);
  if (bytes != e.end - e.begin) {
    return Bad(source, PathOf(name, "data_offsets"),
               absl::StrCat("[", e.begin, ", ", e.end, "] spans ", e.end - e.begin, " bytes, but ",
                            d, " of shape ", shape->dump().substr(0, 120), " needs ", bytes,
                            bytes > data_size
                                ? absl::StrCat(" (more than the data section's ", data_size, ")")
                                : ""));
  }
  return e;
}

}  // namespace

const Tensor* Safetensors::Find(absl::string_view name) const {
  for (const NamedTensor& t : tensors) {
    if (t.name == name) return &t.value;
  }
  return nullptr;
}

absl::StatusOr<Safetensors> ParseSafetensors(absl::string_view bytes, absl::string_view source) {
  if (bytes.size() < 8) {
    return Bad(source, "byte 0",
               absl::StrCat("the file holds ", bytes.size(),
                            " bytes, fewer than the 8-byte header length: not a safetensors file "
                            "(or truncated)"));
  }
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  if (n > kMaxSafetensorsHeader || n > bytes.size() - 8) {
    return Bad(
        source, "byte 0",
        absl::StrCat("the header length says ", n, " bytes, but ",
                     n > kMaxSafetensorsHeader ? absl::StrCat("graft reads headers of at most ",
                                                              kMaxSafetensorsHeader, " bytes")
                                               : absl::StrCat("only ", bytes.size() - 8, " follow"),
                     ": not a safetensors file, or truncated"));
  }
  const absl::string_view text = bytes.substr(8, n);
  Json header;
  try {
    header = Json::parse(text.begin(), text.end());
  } catch (const Json::parse_error& e) {
    return Bad(source, absl::StrCat("byte ", 8 + (e.byte > 0 ? e.byte - 1 : 0)),
               absl::StrCat("the header is not valid JSON (", e.what(), ")"));
  }
  if (!header.is_object()) {
    return Bad(source, "header",
               absl::StrCat("expected a JSON object, found ", header.type_name()));
  }
  const uint64_t data_size = bytes.size() - 8 - n;
  Safetensors out;
  std::vector<Entry> entries;
  for (const auto& [name, value] : header.items()) {
    if (name == "__metadata__") {
      if (!value.is_object()) {
        return Bad(source, PathOf(name), "expected an object of string values");
      }
      for (const auto& [k, v] : value.items()) {
        if (!v.is_string()) {
          return Bad(source, PathOf(name, k),
                     absl::StrCat("metadata values must be strings, found ", v.type_name()));
        }
        out.metadata[k] = v.get<std::string>();
      }
      continue;
    }
    absl::StatusOr<Entry> e = ParseEntry(source, name, value, data_size);
    if (!e.ok()) return e.status();
    entries.push_back(*std::move(e));
  }
  // The tensors tile the data section: sorted by offset, each starts where the last ended.
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t at = 0;
  for (const Entry& e : entries) {
    if (e.begin != at) {
      return Bad(source, PathOf(e.name, "data_offsets"),
                 absl::StrCat("starts at ", e.begin, " but the previous tensor ends at ", at,
                              e.begin < at ? " (tensors overlap)" : " (a hole in the data)"));
    }
    at = e.end;
  }
  if (at != data_size) {
    return Bad(source, absl::StrCat("byte ", 8 + n + at),
               absl::StrCat("the tensors end at data byte ", at, " but the data section holds ",
                            data_size, " bytes (trailing bytes, or a truncated header)"));
  }
  // Every size is checked against the file: now allocate.
  const char* data = bytes.data() + 8 + n;
  for (const Entry& e : entries) {
    Tensor t(e.dtype, Shape(e.shape));
    if (e.end > e.begin) std::memcpy(t.raw_data(), data + e.begin, e.end - e.begin);
    out.tensors.push_back({e.name, std::move(t)});
  }
  return out;
}

absl::StatusOr<Safetensors> LoadSafetensors(const std::string& path) {
  absl::StatusOr<std::string> bytes = ReadWholeFile(path);
  if (!bytes.ok()) return bytes.status();
  return ParseSafetensors(*bytes, path);
}

absl::Status SaveSafetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                             const std::map<std::string, std::string>& metadata) {
  Json header = Json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t at = 0;
  std::vector<absl::string_view> pieces(2);
  for (const NamedTensor& t : tensors) {
    if (t.name.empty() || t.name == "__metadata__" || header.contains(t.name)) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": tensor names must be unique, non-empty and not \"__metadata__\"; got \"", t.name,
          "\" twice or reserved"));
    }
    Json shape = Json::array();
    for (int64_t d : t.value.shape().dims()) shape.push_back(d);
    Json entry = Json::object();
    entry["dtype"] = SafetensorsDType(t.value.dtype());
    entry["shape"] = std::move(shape);
    entry["data_offsets"] = Json::array({at, at + t.value.nbytes()});
    header[t.name] = std::move(entry);
    at += t.value.nbytes();
    pieces.push_back(
        absl::string_view(static_cast<const char*>(t.value.raw_data()), t.value.nbytes()));
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const Json::exception& e) {  // a name or a metadata value that is not UTF-8
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": tensor names and metadata must be valid UTF-8 (the header is JSON): ", e.what()));
  }
  text.append((8 - text.size() % 8) % 8, ' ');
  const uint64_t n = text.size();
  char length[8];
  std::memcpy(length, &n, 8);
  pieces[0] = absl::string_view(length, 8);
  pieces[1] = text;
  return WriteFileAtomically(path, pieces);
}

}  // namespace graft::io
