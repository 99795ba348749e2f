#!/usr/bin/env bash
# //tools:plot_history end to end: a CSVLogger file in, a PNG out; a bad file gives a message.
set -euo pipefail
tool="$1"
dir="${TEST_TMPDIR:-$(mktemp -d)}"
printf 'epoch,accuracy,loss,val_accuracy,val_loss\n0,0.6,0.7,0.65,0.66\n1,0.7,0.5,0.7,0.55\n2,0.8,0.4,0.72,0.5\n' \
  > "$dir/log.csv"
"$tool" "$dir/log.csv" "$dir/curves.png" --title="Three epochs"
signature=$(head -c 8 "$dir/curves.png" | od -An -tx1 | tr -d ' \n')
[ "$signature" = "89504e470d0a1a0a" ] || { echo "not a PNG: $signature"; exit 1; }

printf 'epoch,loss\n0,abc\n' > "$dir/bad.csv"
if "$tool" "$dir/bad.csv" "$dir/bad.png" 2> "$dir/err.txt"; then
  echo "a bad CSV was accepted"; exit 1
fi
grep -q 'bad.csv:2: column "loss" holds "abc"' "$dir/err.txt" || { cat "$dir/err.txt"; exit 1; }
[ ! -e "$dir/bad.png" ] || { echo "a PNG was written for a bad CSV"; exit 1; }
echo PASS
