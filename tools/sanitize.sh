#!/usr/bin/env bash
# Runs graft's tests under sanitizers, in a Bazel output base of their own (the plain build and
# its cache are left alone):
#
#   tools/sanitize.sh asan     ASan + UBSan (--config=asan --config=ubsan): every test except the
#                              ones tagged "no_sanitizers" (see docs/decisions.md, "Sanitizers")
#   tools/sanitize.sh tsan     TSan: the executor and concurrency tests (threads pinned to 1 per
#                              plan: Debian's libgomp and oneDNN are not instrumented)
#
# Exits non-zero when a test fails or a sanitizer reports; prints Bazel's summary.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:?usage: tools/sanitize.sh asan|tsan}
output_base=${GRAFT_SANITIZE_OUTPUT_BASE:-$HOME/.cache/graft-sanitize-output}/$mode
bazel_s=(bazel --output_base="$output_base")
common=(--symlink_prefix=/ --test_output=errors)
case "$mode" in
  asan)
    # halt_on_error: the first report fails the test. LSan stays on (leaks fail too).
    # allocator_may_return_null: an impossible allocation returns null (graft reports it as
    # RESOURCE_EXHAUSTED, and tests check that) instead of ASan aborting the process.
    "${bazel_s[@]}" test "${common[@]}" --config=asan --config=ubsan \
      --copt=-fno-sanitize-recover=undefined --linkopt=-fno-sanitize-recover=undefined \
      --test_tag_filters=-no_sanitizers \
      --test_env=ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:allocator_may_return_null=1 \
      --test_env=LSAN_OPTIONS=suppressions=$PWD/tools/lsan.supp \
      --test_env=UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      --test_timeout=300,900,1800,3600 \
      //tests/... //examples/...
    ;;
  tsan)
    "${bazel_s[@]}" test "${common[@]}" --config=tsan \
      --test_env=TSAN_OPTIONS="halt_on_error=1 suppressions=$PWD/tools/tsan.supp" \
      --test_env=GRAFT_NUM_THREADS=1 --test_env=OMP_NUM_THREADS=1 \
      //tests/runtime:executor_test //tests/keras:concurrency_test
    ;;
  *)
    echo "tools/sanitize.sh: unknown mode $mode (asan or tsan)" >&2
    exit 2
    ;;
esac
