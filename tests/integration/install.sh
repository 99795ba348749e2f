#!/usr/bin/env bash
# `bazel run //:install` into a temporary prefix, then build tests/integration/install/main.cc
# against the installed copy without Bazel: with plain g++ and pkg-config, and with CMake's
# find_package(graft) when cmake is there. Each program trains a small model and must exit 0.
# Run by .ci/run (after `bazel test //...`, whose build it reuses: only libgraft.so is linked).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
src=$root/tests/integration/install
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$root"

bazel run //:install -- --prefix="$tmp/prefix"
test -f "$tmp/prefix/include/graft/keras/keras.h"
test -f "$tmp/prefix/lib/libgraft.so"

export PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig"
echo "install: pkg-config --cflags graft: $(pkg-config --cflags graft)"
# shellcheck disable=SC2046  # pkg-config's output is meant to split into words
g++ -o "$tmp/main_pkgconfig" "$src/main.cc" $(pkg-config --cflags --libs graft)
"$tmp/main_pkgconfig"
echo "install: g++ with pkg-config: ok"

if command -v cmake >/dev/null 2>&1; then
  cmake -S "$src" -B "$tmp/cmake" -DCMAKE_PREFIX_PATH="$tmp/prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$tmp/cmake" >/dev/null
  "$tmp/cmake/main" | tail -n 1
  echo "install: CMake find_package(graft): ok"
else
  echo "install: cmake not found, CMake check skipped (tools/setup.sh installs it)"
fi
