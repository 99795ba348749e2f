#!/usr/bin/env bash
# Builds and tests examples/external_workspace, a workspace of its own that depends on graft as
# a user's project would (local_repository + graft_deps(), graft_op_library, a custom layer),
# with `bazel test //...` run there.
#
# Run by .ci/run, not by `bazel test`: a test action would need all of graft's sources declared
# as its inputs to see them (and to be re-run when they change), and a Bazel nested in a test
# action competes with the outer one for the 2 cores inside its timeout. Here the nested Bazel
# has an output base of its own, kept between runs (incremental: seconds when nothing changed)
# and a disk cache shared by every checkout on the machine (action keys do not depend on where
# the checkout is), both under $GRAFT_INTEGRATION_CACHE (default ~/.cache/graft-integration).
# The first run compiles graft's libraries once more (they are external/graft/... there, so the
# outer build's outputs do not apply): about 8-12 minutes on 2 cores.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
ws=$root/examples/external_workspace
cache=${GRAFT_INTEGRATION_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/graft-integration}
# One output base per checkout: an output base serves one workspace folder.
output_base=$cache/output_base/$(printf '%s' "$ws" | md5sum | cut -c1-16)
# Bazel 4 never trims a disk cache: start it afresh when it passes 2 GB.
if [ -d "$cache/disk" ] && [ "$(du -sm "$cache/disk" | cut -f1)" -gt 2048 ]; then
  rm -rf "$cache/disk"
fi
mkdir -p "$cache/disk" "$output_base"

cd "$ws"
status=0
# --symlink_prefix=/: no bazel-* links in graft's tree. The server stops when done (it holds
# memory that the outer build may want).
bazel --output_base="$output_base" test --disk_cache="$cache/disk" --symlink_prefix=/ \
  --test_output=errors //... || status=$?
bazel --output_base="$output_base" shutdown || true
exit "$status"
