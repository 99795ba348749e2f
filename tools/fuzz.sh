#!/usr/bin/env bash
# Builds a libFuzzer target with clang (ASan + UBSan + libFuzzer) and runs it on its seed corpus.
#
#   tools/fuzz.sh [SECONDS] [TARGET]      defaults: 600 seconds, model_file_fuzzer
#
# Targets (tests/fuzz/BUILD): model_file_fuzzer, npy_fuzzer, idx_fuzzer, csv_fuzzer, ... A CI
# smoke run is 30 seconds per target, one after the other (each exits non-zero on a finding):
#   tools/fuzz.sh 30 model_file_fuzzer && tools/fuzz.sh 30 npy_fuzzer && tools/fuzz.sh 30 idx_fuzzer
#
# The build uses its own Bazel output base (the gcc build and its cache are left alone) and
# creates no bazel-* symlinks. New inputs the fuzzer finds go to a scratch folder
# (/tmp/graft-fuzz/<target>), never into the committed seeds (tests/fuzz/corpus/<target>); a
# crash is written as crash-<sha1> in the current folder and the run exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
target=${2:-model_file_fuzzer}
if ! command -v clang++ >/dev/null 2>&1 || ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
  echo "fuzz.sh: installing clang and libFuzzer (Debian clang, libclang-rt-dev)"
  apt-get install -y -qq --no-install-recommends clang libclang-rt-dev >/dev/null
fi
bazel_fuzz=(bazel --output_base="${GRAFT_FUZZ_OUTPUT_BASE:-$HOME/.cache/graft-fuzz-output}")
flags=(--config=fuzz --repo_env=CC=clang --repo_env=CXX=clang++ --symlink_prefix=/)
"${bazel_fuzz[@]}" build "${flags[@]}" "//tests/fuzz:${target}"
binary="$("${bazel_fuzz[@]}" info "${flags[@]}" bazel-bin)/tests/fuzz/${target}"
scratch="/tmp/graft-fuzz/${target}"
mkdir -p "$scratch"
echo "fuzz.sh: running ${target} for ${seconds} s (seeds: tests/fuzz/corpus/${target})"
ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}" UBSAN_OPTIONS="print_stacktrace=1" \
  "$binary" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=4096 -print_final_stats=1 \
  "$scratch" "tests/fuzz/corpus/${target}"
