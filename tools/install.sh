#!/usr/bin/env bash
# Installs graft for programs built without Bazel:
#
#   bazel run //:install -- --prefix=DIR
#
# DIR/include/graft/...                  the headers (compile with -IDIR/include/graft)
# DIR/lib/libgraft.so                    one shared library with every graft library and op
# DIR/lib/pkgconfig/graft.pc             pkg-config: g++ x.cc $(pkg-config --cflags --libs graft)
# DIR/lib/cmake/graft/graftConfig.cmake  CMake: find_package(graft CONFIG), target graft::graft
#
# A relative DIR is taken from the folder `bazel run` was called in. Installing again replaces
# the files (headers no longer shipped are not removed).
set -euo pipefail

prefix=""
for arg in "$@"; do
  case "$arg" in
    --prefix=*) prefix="${arg#--prefix=}" ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "install: unknown argument $arg (usage: bazel run //:install -- --prefix=DIR)" >&2; exit 2 ;;
  esac
done
if [ -z "$prefix" ]; then
  echo "install: --prefix=DIR is required (e.g. bazel run //:install -- --prefix=\$HOME/.local)" >&2
  exit 2
fi
case "$prefix" in
  /*) ;;
  *) prefix="${BUILD_WORKING_DIRECTORY:-$PWD}/$prefix" ;;
esac

# The manifest lists runfiles paths relative to the main repository's runfiles folder, which is
# the working directory under `bazel run`.
manifest=""
for candidate in install_files/manifest.txt ../graft/install_files/manifest.txt; do
  if [ -f "$candidate" ]; then manifest="$candidate"; break; fi
done
if [ -z "$manifest" ] && [ -d "$0.runfiles" ]; then
  for candidate in "$0.runfiles"/*/install_files/manifest.txt; do
    [ -f "$candidate" ] && cd "$(dirname "$candidate")/.." && manifest=install_files/manifest.txt
  done
fi
if [ -z "$manifest" ]; then
  echo "install: run me with bazel run //:install -- --prefix=DIR" >&2
  exit 1
fi

count=0
while IFS=$'\t' read -r src dest; do
  [ -n "$src" ] || continue
  mkdir -p "$prefix/$(dirname "$dest")"
  case "$dest" in
    lib/libgraft.so) install -m 0755 "$src" "$prefix/$dest" ;;
    lib/pkgconfig/graft.pc) sed "s|@PREFIX@|$prefix|" "$src" > "$prefix/$dest" ;;
    *) install -m 0644 "$src" "$prefix/$dest" ;;
  esac
  count=$((count + 1))
done < "$manifest"
echo "install: $count files under $prefix (headers in include/graft, lib/libgraft.so, lib/pkgconfig/graft.pc, lib/cmake/graft)"
