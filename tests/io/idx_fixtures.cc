#include "tests/io/idx_fixtures.h"

#include <zlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace graft::io::testing {

std::string TestDir(absl::string_view binary) {
  const char* root = std::getenv("TEST_TMPDIR");
  const std::string dir =
      absl::StrCat(root ? root : "/tmp", "/", binary, "/",
                   ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

std::string BigEndian(uint64_t value, int size) {
  std::string s(size, '\0');
  for (int i = size - 1; i >= 0; --i, value >>= 8) s[i] = static_cast<char>(value & 0xff);
  return s;
}

std::string IdxBytes(uint8_t code, std::initializer_list<uint32_t> dims, absl::string_view data) {
  std::string s = {0, 0, static_cast<char>(code), static_cast<char>(dims.size())};
  for (uint32_t d : dims) s += BigEndian(d, 4);
  return absl::StrCat(s, data);
}

std::string Gzip(absl::string_view raw) {
  z_stream zs = {};
  EXPECT_EQ(deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&zs, raw.size()) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
  zs.avail_in = static_cast<uInt>(raw.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

std::string WriteFile(const std::string& path, absl::string_view bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  EXPECT_TRUE(f.good()) << path;
  return path;
}

}  // namespace graft::io::testing
