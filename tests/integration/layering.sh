#!/usr/bin/env bash
# Checks that Bazel visibility enforces graft's layering (root BUILD): in a scratch copy of the
# tree, probe targets that depend down the stack (graph/ on runtime/, ops/ on autodiff/, optim/
# on keras/, ...) must each fail analysis as "not visible", while the allowed dependencies
# (autodiff/ on the core ops, keras/ on io/, ...) must pass. Analysis only (--nobuild): about a
# minute, in an output base of its own under $GRAFT_INTEGRATION_CACHE. Run by .ci/run.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cache=${GRAFT_INTEGRATION_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/graft-integration}
output_base=$cache/output_base/layering
mkdir -p "$output_base"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The tree as git sees it (tracked and new files, nothing ignored).
(cd "$root" && git ls-files -z --cached --others --exclude-standard |
  tar --null -T - -cf -) | tar -xf - -C "$tmp/"
cd "$tmp"

# "package:name dependency" (labels in full: Bazel names them so in its messages): dependencies
# a lower layer must not have ...
forbidden=(
  "graph:probe_runtime //runtime:kernel"
  "graph:probe_ops //ops:core"
  "graph:probe_keras //keras:keras"
  "io:probe_runtime //runtime:kernel"
  "io:probe_ops //ops:common"
  "runtime:probe_ops //ops:common"
  "runtime:probe_autodiff //autodiff:gradients"
  "ops:probe_plan //runtime:runtime"
  "ops:probe_autodiff //autodiff:gradients"
  "ops:probe_optim //optim:optim"
  "autodiff:probe_ops //ops:conv"
  "autodiff:probe_optim //optim:optim"
  "optim:probe_keras //keras:keras"
  "optim:probe_io //io:npy"
)
# ... and ones it may have.
allowed=(
  "ops:probe_kernel //runtime:kernel"
  "autodiff:probe_core //ops:core"
  "autodiff:probe_plan //runtime:runtime"
  "optim:probe_autodiff //autodiff:gradients"
  "optim:probe_parallel //runtime:parallel"
  "keras:probe_io //io:npy"
  "keras:probe_ops //ops:ops"
)
add_probes() {
  local probe target dep pkg name
  probes=()
  for probe in "$@"; do
    read -r target dep <<<"$probe"
    pkg=${target%%:*} name=${target##*:}
    printf '\ncc_library(name = "%s", deps = ["%s"], tags = ["manual"])\n' "$name" "$dep" >>"$pkg/BUILD"
    probes+=("//$target")
  done
}
bazel_ob() { bazel --output_base="$output_base" "$@"; }

failures=0
add_probes "${forbidden[@]}"
bazel_ob build --nobuild --keep_going "${probes[@]}" >"$tmp/forbidden.log" 2>&1 || true
for probe in "${forbidden[@]}"; do
  read -r target dep <<<"$probe"
  if grep -q "target '$dep' is not visible from target '//$target'" "$tmp/forbidden.log"; then
    echo "layering: //$target -> $dep refused (not visible): ok"
  else
    echo "layering: //$target -> $dep was NOT refused"
    failures=$((failures + 1))
  fi
done
add_probes "${allowed[@]}"
if bazel_ob build --nobuild "${probes[@]}" >"$tmp/allowed.log" 2>&1; then
  echo "layering: the ${#allowed[@]} allowed dependencies pass analysis: ok"
else
  echo "layering: an allowed dependency failed:"
  grep ERROR "$tmp/allowed.log" || cat "$tmp/allowed.log"
  failures=$((failures + 1))
fi
bazel_ob shutdown >/dev/null 2>&1 || true
if ((failures)); then
  echo "layering: $failures unexpected results; Bazel's output for the refused ones:"
  cat "$tmp/forbidden.log"
  exit 1
fi
