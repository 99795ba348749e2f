// The IDX format (LeCun's MNIST files): magic bytes 00 00 <type code> <rank>, then <rank>
// big-endian uint32 dimension sizes, then the elements in C order, each big-endian. The whole
// file is read into memory (gunzipped with zlib when it starts with 1f 8b) and then decoded.
#include "io/idx.h"

#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "io/file.h"

namespace graft::io {
namespace {

// IDX element type codes.
enum : uint8_t { kU8 = 0x08, kI8 = 0x09, kI16 = 0x0B, kI32 = 0x0C, kF32 = 0x0D, kF64 = 0x0E };

struct ElementType {
  uint8_t code;
  const char* name;
  int size;
};

constexpr ElementType kTypes[] = {{kU8, "uint8", 1},  {kI8, "int8", 1},     {kI16, "int16", 2},
                                  {kI32, "int32", 4}, {kF32, "float32", 4}, {kF64, "float64", 8}};

std::string Hex(uint8_t b) { return absl::StrCat(absl::Hex(b, absl::kZeroPad2)); }

absl::Status Bad(absl::string_view path, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": not a readable IDX file: ", what));
}

bool IsGzip(absl::string_view bytes) {
  return bytes.size() >= 2 && static_cast<uint8_t>(bytes[0]) == 0x1f &&
         static_cast<uint8_t>(bytes[1]) == 0x8b;
}

// Decompresses one or more concatenated gzip members. After each chunk, `enough(out)` says
// whether to stop early (the IDX header is complete and either invalid, or the output already
// holds more than the header's size): a small gzip file can expand a thousandfold, so the output
// is bounded by what the header claims, not by the compression ratio.
template <typename Enough>
absl::StatusOr<std::string> Gunzip(absl::string_view path, absl::string_view in, Enough enough) {
  z_stream zs = {};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
    return Bad(path, "gzip decompression failed: zlib could not start (out of memory?)");
  }
  absl::Cleanup end = [&zs] { inflateEnd(&zs); };
  std::string out;
  std::vector<char> buf(1 << 16);
  size_t fed = 0;  // input bytes handed to zlib so far
  while (true) {
    if (zs.avail_in == 0 && fed < in.size()) {
      const size_t n = std::min<size_t>(in.size() - fed, 1u << 30);
      zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data() + fed));
      zs.avail_in = static_cast<uInt>(n);
      fed += n;
    }
    zs.next_out = reinterpret_cast<Bytef*>(buf.data());
    zs.avail_out = static_cast<uInt>(buf.size());
    const int ret = inflate(&zs, Z_NO_FLUSH);
    out.append(buf.data(), buf.size() - zs.avail_out);
    if (enough(out)) return out;
    if (ret == Z_STREAM_END) {
      const absl::string_view rest = in.substr(fed - zs.avail_in);
      if (rest.empty()) return out;
      if (!IsGzip(rest)) {
        return Bad(path, absl::StrCat("gzip decompression failed: ", rest.size(),
                                      " bytes after the end of the gzip stream"));
      }
      inflateReset(&zs);
    } else if (ret == Z_BUF_ERROR && zs.avail_in == 0 && fed == in.size()) {
      return Bad(
          path, absl::StrCat("gzip decompression failed: the gzip stream is truncated (", in.size(),
                             " compressed bytes end after ", out.size(), " decompressed ones)"));
    } else if (ret != Z_OK && ret != Z_BUF_ERROR) {
      return Bad(path, absl::StrCat("gzip decompression failed: the data is corrupt (zlib: ",
                                    zs.msg != nullptr ? zs.msg : zError(ret), ")"));
    }
  }
}

template <typename U>
U BigEndian(const uint8_t* p) {
  U v = 0;
  for (size_t i = 0; i < sizeof(U); ++i) v = static_cast<U>((v << 8) | p[i]);
  return v;
}

template <typename Out, typename Read>
void Fill(Out* out, int64_t n, Read read) {
  for (int64_t i = 0; i < n; ++i) out[i] = static_cast<Out>(read(i));
}

// Decodes n big-endian elements of IDX type `code` at p into out.
template <typename Out>
void Decode(uint8_t code, const uint8_t* p, int64_t n, Out* out) {
  switch (code) {
    case kU8:
      return Fill(out, n, [p](int64_t i) { return p[i]; });
    case kI8:
      return Fill(out, n, [p](int64_t i) { return static_cast<int8_t>(p[i]); });
    case kI16:
      return Fill(out, n,
                  [p](int64_t i) { return static_cast<int16_t>(BigEndian<uint16_t>(p + 2 * i)); });
    case kI32:
      return Fill(out, n,
                  [p](int64_t i) { return static_cast<int32_t>(BigEndian<uint32_t>(p + 4 * i)); });
    case kF32:
      return Fill(out, n,
                  [p](int64_t i) { return std::bit_cast<float>(BigEndian<uint32_t>(p + 4 * i)); });
    case kF64:
      return Fill(out, n,
                  [p](int64_t i) { return std::bit_cast<double>(BigEndian<uint64_t>(p + 8 * i)); });
  }
}

// The graft dtype for IDX type `code` at `rank` (the table in idx.h).
DType OutputType(uint8_t code, int rank) {
  if (code == kF32) return DType::kF32;
  if (code == kF64) return DType::kF64;
  if (rank <= 1) return DType::kI64;
  return code == kI32 ? DType::kI32 : DType::kF32;
}

// What an IDX header says: checked against itself (type, rank, an element count that fits
// int64 in the output dtype), not yet against the data.
struct Header {
  const ElementType* type;
  Shape shape;
  DType dtype;     // the output dtype (OutputType)
  size_t size;     // bytes of magic and dimensions
  uint64_t needed;  // bytes of data the shape implies
};

// Parses the header at the start of `bytes`; `what` names the bytes in messages.
absl::StatusOr<Header> ParseHeader(absl::string_view path, absl::string_view bytes,
                                   const char* what) {
  const auto* b = reinterpret_cast<const uint8_t*>(bytes.data());
  if (bytes.size() < 4) {
    return Bad(path, absl::StrCat("truncated: ", what, " holds ", bytes.size(),
                                  " bytes, less than the 4-byte magic"));
  }
  if (b[0] != 0 || b[1] != 0) {
    return Bad(path,
               absl::StrCat("bad magic ", Hex(b[0]), " ", Hex(b[1]), " ", Hex(b[2]), " ", Hex(b[3]),
                            " (an IDX file starts with 00 00 <type code> <rank>)"));
  }
  const ElementType* type = nullptr;
  for (const ElementType& t : kTypes) {
    if (t.code == b[2]) type = &t;
  }
  if (type == nullptr) {
    std::vector<std::string> known;
    for (const ElementType& t : kTypes)
      known.push_back(absl::StrCat("0x", Hex(t.code), " ", t.name));
    return Bad(path, absl::StrCat("unsupported type code 0x", Hex(b[2]),
                                  " (supported: ", absl::StrJoin(known, ", "), ")"));
  }
  const int rank = b[3];
  const size_t header = 4 + 4 * static_cast<size_t>(rank);
  if (bytes.size() < header) {
    return Bad(path, absl::StrCat("truncated header: rank ", rank, " needs ", header,
                                  " header bytes, ", what, " holds ", bytes.size()));
  }
  std::vector<int64_t> dims(rank);
  for (int i = 0; i < rank; ++i) dims[i] = BigEndian<uint32_t>(b + 4 + 4 * i);
  Header h{type, Shape(std::move(dims)), OutputType(type->code, rank), header, 0};
  // Counted with Shape's overflow checks in the output dtype (at least as wide as the file's
  // type, so the file's byte count fits too); an error names the claim and the real size.
  const absl::StatusOr<int64_t> out_bytes = h.shape.CheckedNumBytes(h.dtype);
  if (!out_bytes.ok()) {
    return Bad(path, absl::StrCat("the header gives ", type->name, " shape ", h.shape.ToString(),
                                  ", too large to load: ", out_bytes.status().message(), "; ", what,
                                  " holds ", bytes.size(), " bytes"));
  }
  h.needed = static_cast<uint64_t>(h.shape.num_elements()) * static_cast<uint64_t>(type->size);
  return h;
}

// `stopped_early`: the gzip decompression was stopped after more bytes than the header gives.
absl::StatusOr<Tensor> Parse(absl::string_view path, absl::string_view bytes, bool gzipped,
                             bool stopped_early = false) {
  const char* what = gzipped ? "the decompressed data" : "the file";
  absl::StatusOr<Header> h = ParseHeader(path, bytes, what);
  if (!h.ok()) return h.status();
  const ElementType* type = h->type;
  const uint64_t available = bytes.size() - h->size;
  const uint64_t needed = h->needed;
  if (needed > available) {
    return Bad(path, absl::StrCat("truncated data: the header gives ", type->name, " shape ",
                                  h->shape.ToString(), ", ", needed, " bytes of data, but ", what,
                                  " holds ", available));
  }
  if (needed < available) {
    return Bad(path, absl::StrCat(stopped_early ? "at least " : "", available - needed,
                                  " bytes after the data (the header gives ", type->name,
                                  " shape ", h->shape.ToString(), ", ", needed, " bytes)",
                                  stopped_early ? "; decompression stopped there" : ""));
  }
  // Every size is checked against the data: now allocate.
  absl::StatusOr<Tensor> t = Tensor::Create(h->dtype, h->shape);
  if (!t.ok()) return absl::Status(t.status().code(), absl::StrCat(path, ": ", t.status().message()));
  const uint8_t* data = reinterpret_cast<const uint8_t*>(bytes.data()) + h->size;
  const int64_t n = t->num_elements();
  switch (h->dtype) {
    case DType::kF32:
      Decode(type->code, data, n, t->data<float>());
      break;
    case DType::kF64:
      Decode(type->code, data, n, t->data<double>());
      break;
    case DType::kI32:
      Decode(type->code, data, n, t->data<int32_t>());
      break;
    case DType::kI64:
      Decode(type->code, data, n, t->data<int64_t>());
      break;
  }
  return t;
}

}  // namespace

absl::StatusOr<Tensor> ParseIdx(absl::string_view bytes, absl::string_view source) {
  if (!IsGzip(bytes)) return Parse(source, bytes, /*gzipped=*/false);
  bool stopped_early = false;
  absl::StatusOr<std::string> raw = Gunzip(source, bytes, [&](absl::string_view out) {
    // Stop once the header is complete and invalid (Parse reports it), or once the output
    // holds more than the header and the data it gives.
    if (out.size() < 4 || out.size() < 4 + 4 * static_cast<size_t>(static_cast<uint8_t>(out[3]))) {
      return false;
    }
    absl::StatusOr<Header> h = ParseHeader(source, out, "");
    if (!h.ok()) return true;
    stopped_early = out.size() - h->size > h->needed;
    return stopped_early;
  });
  if (!raw.ok()) return raw.status();
  return Parse(source, *raw, /*gzipped=*/true, stopped_early);
}

absl::StatusOr<Tensor> LoadIdx(const std::string& path) {
  absl::StatusOr<std::string> bytes = ReadWholeFile(path);
  if (!bytes.ok()) return bytes.status();
  return ParseIdx(*bytes, path);
}

}  // namespace graft::io
