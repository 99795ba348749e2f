// Helpers for tests that write files (IDX files in particular): a fresh directory per test, the
// bytes of an IDX file, gzip compression.
#ifndef GRAFT_TESTS_IO_IDX_FIXTURES_H_
#define GRAFT_TESTS_IO_IDX_FIXTURES_H_

#include <cstdint>
#include <initializer_list>
#include <string>

#include "absl/strings/string_view.h"

namespace graft::io::testing {

// A fresh, empty directory <$TEST_TMPDIR or /tmp>/<binary>/<current test's name>.
std::string TestDir(absl::string_view binary);

// `value`'s low `size` bytes, big-endian.
std::string BigEndian(uint64_t value, int size);

// An IDX file: 00 00 <code> <rank>, the dims big-endian, then `data` as given.
std::string IdxBytes(uint8_t code, std::initializer_list<uint32_t> dims, absl::string_view data);

// One gzip member holding `raw` (zlib deflate with the gzip wrapper).
std::string Gzip(absl::string_view raw);

// Writes `bytes` to `path` (a test failure when that fails) and returns `path`.
std::string WriteFile(const std::string& path, absl::string_view bytes);

}  // namespace graft::io::testing

#endif  // GRAFT_TESTS_IO_IDX_FIXTURES_H_
