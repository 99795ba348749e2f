// The .npy format: magic "\x93NUMPY", version (major, minor), header length (2 bytes in 1.0,
// 4 in 2.0/3.0), an ASCII Python dict {'descr': '<f4', 'fortran_order': False, 'shape': (..)}
// padded so the data starts at a multiple of 64 bytes, then the raw data.
//
// Reading is two steps over the same code for files and memory: the preamble gives the header's
// length (checked against the real size), the header gives dtype and shape (their byte count
// overflow-checked and compared with the real size); only then is the tensor allocated and
// filled, straight from the file (no second copy of a large array).
#include "io/npy.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "io/atomic_file.h"
#include "io/file.h"

namespace graft::io {
namespace {

// NumPy 2's limit on the number of dimensions (NPY_MAXDIMS).
constexpr size_t kMaxRank = 64;

absl::Status Bad(absl::string_view source, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(source, ": not a readable .npy file: ", what));
}

// The value text after "'key':" in the header dict, up to the next top-level comma or brace.
std::string Field(absl::string_view header, absl::string_view key) {
  size_t p = header.find(absl::StrCat("'", key, "'"));
  if (p == absl::string_view::npos) return "";
  p = header.find(':', p);
  if (p == absl::string_view::npos) return "";
  ++p;
  int depth = 0;
  size_t e = p;
  for (; e < header.size(); ++e) {
    char ch = header[e];
    if (ch == '(') ++depth;
    if (ch == ')') --depth;
    if (depth == 0 && (ch == ',' || ch == '}')) break;
  }
  if (e < header.size() && header[e] == ')') ++e;
  return std::string(absl::StripAsciiWhitespace(header.substr(p, e - p)));
}

// At most `n` characters of header text for a message.
std::string Quote(absl::string_view text, size_t n = 80) {
  return text.size() <= n ? std::string(text) : absl::StrCat(text.substr(0, n), "...");
}

// The size of the preamble (magic, version, header length) and header together, from the first
// bytes of the file (`first`: up to 12 of them) and the file's real size.
absl::StatusOr<uint64_t> HeaderEnd(absl::string_view source, absl::string_view first,
                                   uint64_t file_size) {
  if (file_size < 8) {
    return Bad(source, absl::StrCat("the file holds ", file_size,
                                    " bytes, shorter than the 8-byte preamble (\\x93NUMPY and "
                                    "the format version)"));
  }
  if (std::memcmp(first.data(), "\x93NUMPY", 6) != 0) {
    return Bad(source, "missing the \\x93NUMPY magic");
  }
  const int major = static_cast<unsigned char>(first[6]);
  const auto* b = reinterpret_cast<const unsigned char*>(first.data());
  uint64_t len_bytes = 0;
  uint64_t header_len = 0;
  if (major == 1) {
    len_bytes = 2;
  } else if (major == 2 || major == 3) {
    len_bytes = 4;
  } else {
    return Bad(source, absl::StrCat("unsupported format version ", major, " (1, 2 and 3 are read)"));
  }
  if (file_size < 8 + len_bytes) {
    return Bad(source, absl::StrCat("truncated header length: format ", major, " needs ",
                                    8 + len_bytes, " bytes before the header, the file holds ",
                                    file_size));
  }
  for (uint64_t i = 0; i < len_bytes; ++i) header_len |= uint64_t{b[8 + i]} << (8 * i);
  const uint64_t end = 8 + len_bytes + header_len;  // < 2^33: no overflow
  if (end > file_size) {
    return Bad(source, absl::StrCat("truncated header: the preamble gives a ", header_len,
                                    "-byte header, but the file holds ", file_size - 8 - len_bytes,
                                    " bytes after the preamble (", file_size, " in all)"));
  }
  return end;
}

struct NpyHeader {
  DType dtype;
  Shape shape;
  uint64_t nbytes;  // of the data, checked to fit int64 and the file
};

// Parses the header dict (`header`: the bytes from the end of the preamble to `data_start`) and
// checks the data it describes against the file's real size.
absl::StatusOr<NpyHeader> ParseHeader(absl::string_view source, absl::string_view header,
                                      uint64_t data_start, uint64_t file_size) {
  NpyHeader h{DType::kF32, Shape(), 0};
  const std::string descr = Field(header, "descr");
  if (descr == "'<f4'") {
    h.dtype = DType::kF32;
  } else if (descr == "'<f8'") {
    h.dtype = DType::kF64;
  } else if (descr == "'<i4'") {
    h.dtype = DType::kI32;
  } else if (descr == "'<i8'") {
    h.dtype = DType::kI64;
  } else {
    return Bad(source, absl::StrCat("dtype ", Quote(descr),
                                    " is not supported (float32, float64, int32, int64 are)"));
  }
  if (Field(header, "fortran_order") != "False") {
    return Bad(source, "Fortran-order arrays are not supported; save with np.ascontiguousarray");
  }
  const std::string shape_text = Field(header, "shape");
  if (shape_text.size() < 2 || shape_text.front() != '(' || shape_text.back() != ')') {
    return Bad(source, absl::StrCat("cannot parse shape ", Quote(shape_text)));
  }
  // A Python tuple of non-negative ints: "()", "(5,)", "(2, 3)" ("(5)" is accepted too).
  std::vector<int64_t> dims;
  const std::vector<absl::string_view> parts =
      absl::StrSplit(absl::string_view(shape_text).substr(1, shape_text.size() - 2), ',');
  for (size_t i = 0; i < parts.size(); ++i) {
    const absl::string_view part = absl::StripAsciiWhitespace(parts[i]);
    if (part.empty() && parts.size() == 1) break;                    // "()"
    if (part.empty() && i + 1 == parts.size() && i > 0) break;       // "(5,)"
    int64_t d;
    if (!absl::SimpleAtoi(part, &d) || d < 0) {
      return Bad(source, absl::StrCat("cannot parse shape ", Quote(shape_text),
                                      " (expected a tuple of sizes >= 0 such as (2, 3))"));
    }
    dims.push_back(d);
  }
  if (dims.size() > kMaxRank) {
    return Bad(source, absl::StrCat("shape has ", dims.size(), " dimensions, more than ", kMaxRank));
  }
  h.shape = Shape(std::move(dims));
  const absl::StatusOr<int64_t> nbytes = h.shape.CheckedNumBytes(h.dtype);
  if (!nbytes.ok()) {
    return Bad(source, absl::StrCat("the header's shape is too large to load: ",
                                    nbytes.status().message(), "; the file holds ", file_size,
                                    " bytes"));
  }
  h.nbytes = static_cast<uint64_t>(*nbytes);
  const uint64_t available = file_size - data_start;
  if (h.nbytes > available) {
    return Bad(source, absl::StrCat("truncated data: the header gives ", DTypeName(h.dtype),
                                    " shape ", h.shape.ToString(), ", ", h.nbytes,
                                    " bytes of data, but the file holds ", available,
                                    " bytes after its ", data_start, "-byte header (", file_size,
                                    " in all)"));
  }
  return h;
}

}  // namespace

absl::StatusOr<Tensor> ParseNpy(absl::string_view bytes, absl::string_view source) {
  absl::StatusOr<uint64_t> end = HeaderEnd(source, bytes.substr(0, 12), bytes.size());
  if (!end.ok()) return end.status();
  const uint64_t preamble = bytes[6] == 1 ? 10 : 12;
  absl::StatusOr<NpyHeader> h =
      ParseHeader(source, bytes.substr(preamble, *end - preamble), *end, bytes.size());
  if (!h.ok()) return h.status();
  absl::StatusOr<Tensor> t = Tensor::Create(h->dtype, h->shape);
  if (!t.ok()) return absl::Status(t.status().code(), absl::StrCat(source, ": ", t.status().message()));
  if (h->nbytes > 0) std::memcpy(t->raw_data(), bytes.data() + *end, h->nbytes);
  return t;
}

absl::StatusOr<Tensor> LoadNpy(const std::string& path) {
  absl::StatusOr<ReadOnlyFile> file = ReadOnlyFile::Open(path);
  if (!file.ok()) return file.status();
  const uint64_t size = file->size();
  char first[12] = {};
  absl::Status s = file->ReadAt(0, static_cast<size_t>(std::min<uint64_t>(size, 12)), first);
  if (!s.ok()) return s;
  absl::StatusOr<uint64_t> end = HeaderEnd(path, absl::string_view(first, 12), size);
  if (!end.ok()) return end.status();
  const uint64_t preamble = first[6] == 1 ? 10 : 12;
  std::string header(static_cast<size_t>(*end - preamble), '\0');  // <= the file's size
  s = file->ReadAt(preamble, header.size(), header.data());
  if (!s.ok()) return s;
  absl::StatusOr<NpyHeader> h = ParseHeader(path, header, *end, size);
  if (!h.ok()) return h.status();
  absl::StatusOr<Tensor> t = Tensor::Create(h->dtype, h->shape);
  if (!t.ok()) return absl::Status(t.status().code(), absl::StrCat(path, ": ", t.status().message()));
  if (h->nbytes > 0) {
    s = file->ReadAt(*end, static_cast<size_t>(h->nbytes), t->raw_data());
    if (!s.ok()) return s;
  }
  return t;
}

absl::Status SaveNpy(const std::string& path, const Tensor& tensor) {
  const char* descr = nullptr;
  switch (tensor.dtype()) {
    case DType::kF32:
      descr = "<f4";
      break;
    case DType::kF64:
      descr = "<f8";
      break;
    case DType::kI32:
      descr = "<i4";
      break;
    case DType::kI64:
      descr = "<i8";
      break;
  }
  std::vector<std::string> dims;
  for (int64_t d : tensor.shape().dims()) dims.push_back(absl::StrCat(d));
  std::string shape = dims.size() == 1 ? absl::StrCat("(", dims[0], ",)")
                                       : absl::StrCat("(", absl::StrJoin(dims, ", "), ")");
  std::string header =
      absl::StrCat("{'descr': '", descr, "', 'fortran_order': False, 'shape': ", shape, ", }");
  // Pad with spaces and a final newline so that 10 + header is a multiple of 64.
  const size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');

  const char pre[10] = {'\x93',
                        'N',
                        'U',
                        'M',
                        'P',
                        'Y',
                        1,
                        0,
                        static_cast<char>(header.size() & 0xff),
                        static_cast<char>(header.size() >> 8)};
  return WriteFileAtomically(
      path, {absl::string_view(pre, 10), header,
             absl::string_view(static_cast<const char*>(tensor.raw_data()), tensor.nbytes())});
}

}  // namespace graft::io
