#!/usr/bin/env bash
# Runs an example program; it exits non-zero when its result is wrong.
set -euo pipefail
"$@"
