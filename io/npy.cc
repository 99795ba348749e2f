// The .npy format: magic "\x93NUMPY", version (major, minor), header length (2 bytes in 1.0,
// 4 in 2.0/3.0), an ASCII Python dict {'descr': '<f4', 'fortran_order': False, 'shape': (..)}
// padded so the data starts at a multiple of 64 bytes, then the raw data.
#include "io/npy.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "io/atomic_file.h"

namespace graft::io {
namespace {

absl::Status Bad(const std::string& path, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": not a readable .npy file: ", what));
}

// The value text after "'key':" in the header dict, up to the next top-level comma or brace.
std::string Field(const std::string& header, const std::string& key) {
  size_t p = header.find("'" + key + "'");
  if (p == std::string::npos) return "";
  p = header.find(':', p);
  if (p == std::string::npos) return "";
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

}  // namespace

absl::StatusOr<Tensor> LoadNpy(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
  char magic[8];
  if (!f.read(magic, 8)) return Bad(path, "shorter than the 8-byte preamble");
  if (std::memcmp(magic, "\x93NUMPY", 6) != 0) return Bad(path, "missing the \\x93NUMPY magic");
  const int major = static_cast<unsigned char>(magic[6]);
  uint32_t header_len = 0;
  if (major == 1) {
    unsigned char b[2];
    if (!f.read(reinterpret_cast<char*>(b), 2)) return Bad(path, "truncated header length");
    header_len = b[0] | (b[1] << 8);
  } else if (major == 2 || major == 3) {
    unsigned char b[4];
    if (!f.read(reinterpret_cast<char*>(b), 4)) return Bad(path, "truncated header length");
    header_len = b[0] | (b[1] << 8) | (b[2] << 16) | (static_cast<uint32_t>(b[3]) << 24);
  } else {
    return Bad(path, absl::StrCat("unsupported format version ", major));
  }
  std::string header(header_len, '\0');
  if (!f.read(header.data(), header_len)) return Bad(path, "truncated header");

  std::string descr = Field(header, "descr");
  DType dtype;
  if (descr == "'<f4'") {
    dtype = DType::kF32;
  } else if (descr == "'<f8'") {
    dtype = DType::kF64;
  } else if (descr == "'<i4'") {
    dtype = DType::kI32;
  } else if (descr == "'<i8'") {
    dtype = DType::kI64;
  } else {
    return Bad(path, absl::StrCat("dtype ", descr,
                                  " is not supported (float32, float64, int32, int64 are)"));
  }
  if (Field(header, "fortran_order") != "False") {
    return Bad(path, "Fortran-order arrays are not supported; save with np.ascontiguousarray");
  }
  std::string shape_text = Field(header, "shape");
  if (shape_text.size() < 2 || shape_text.front() != '(' || shape_text.back() != ')') {
    return Bad(path, absl::StrCat("cannot parse shape ", shape_text));
  }
  std::vector<int64_t> dims;
  for (absl::string_view part :
       absl::StrSplit(shape_text.substr(1, shape_text.size() - 2), ',', absl::SkipWhitespace())) {
    int64_t d;
    if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(part), &d) || d < 0) {
      return Bad(path, absl::StrCat("cannot parse shape ", shape_text));
    }
    dims.push_back(d);
  }
  Tensor t(dtype, Shape(dims));
  const size_t want = t.nbytes();
  if (want > 0 && !f.read(static_cast<char*>(t.raw_data()), static_cast<std::streamsize>(want))) {
    return Bad(path, absl::StrCat("truncated data: shape ", t.shape().ToString(), " needs ", want,
                                  " bytes, the file has ", f.gcount()));
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
