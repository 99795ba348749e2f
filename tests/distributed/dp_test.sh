#!/usr/bin/env bash
# Data-parallel training on this machine: `mpirun -np 2` (shared memory / TCP on loopback only)
# against itself and against one process. Usage: dp_test.sh <dp_check binary> <mode>
#   equal    2 ranks end with bitwise-equal weights and predictions; a second 2-rank run gives
#            the same bits; one process (no mpirun) ends within float32 reduction-order
#            tolerance of 2 ranks (the measured difference is printed).
#   mismatch rank 1 passes another batch_size: every rank fails at Fit's start naming it.
#   kill     rank 1 dies by SIGKILL at step 5: the job must end, non-zero, within 30 s.
#   stall    rank 1 stops (SIGSTOP) at step 5: GRAFT_DIST_TIMEOUT_S=5 must end the job with
#            the timeout's message within 30 s.
set -uo pipefail
bin="$1"
mode="$2"
dir="${TEST_TMPDIR:-$(mktemp -d)}"
mpi=(mpirun -np 2 --allow-run-as-root --oversubscribe --bind-to none
     --mca btl self,vader,tcp --mca btl_tcp_if_include lo)
# One thread per rank and no OpenMP spin-waiting: two ranks share two cores.
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive
fail() { echo "FAIL: $*"; exit 1; }

case "$mode" in
  equal)
    # With BatchNormalization (its moving statistics averaged over the ranks at epoch ends).
    "${mpi[@]}" "$bin" --mode=train --out="$dir/a" || fail "mpirun -np 2 (run 1) failed"
    "${mpi[@]}" "$bin" --mode=train --out="$dir/b" || fail "mpirun -np 2 (run 2) failed"
    "$bin" --compare="$dir/a.rank0,$dir/a.rank1" || fail "ranks 0 and 1 differ"
    "$bin" --compare="$dir/a.rank0,$dir/b.rank0" || fail "two 2-rank runs differ"
    # 1 process against 2 ranks, same global batches and seed, without BatchNormalization (whose
    # batch statistics are each rank's share's, by design): only the order of float32 sums
    # differs (measured: ~3e-7 after 102 Adam steps, weights |w| < 1).
    "${mpi[@]}" "$bin" --mode=train --batch_norm=false --out="$dir/c" || fail "mpirun -np 2 failed"
    "$bin" --mode=train --batch_norm=false --out="$dir/one" || fail "the 1-process run failed"
    "$bin" --compare="$dir/c.rank0,$dir/c.rank1" || fail "ranks 0 and 1 differ"
    "$bin" --compare="$dir/one.rank0,$dir/c.rank0" --tolerance=1e-5 ||
      fail "1 rank and 2 ranks differ beyond float32 reduction-order tolerance"
    ;;
  mismatch)
    out=$("${mpi[@]}" "$bin" --mode=mismatch 2>&1)
    rc=$?
    echo "$out"
    [[ $rc -eq 0 ]] || fail "mismatch: a rank did not report the mismatch as expected"
    [[ $(grep -c "Fit failed as expected" <<<"$out") -eq 2 ]] || fail "not both ranks reported"
    ;;
  kill|stall)
    start=$(date +%s%N)
    out=$(GRAFT_DIST_TIMEOUT_S=5 timeout 120 "${mpi[@]}" "$bin" --mode="$mode" 2>&1)
    rc=$?
    end=$(date +%s%N)
    echo "$out" | tail -n 25
    ms=$(( (end - start) / 1000000 ))
    seconds="$((ms / 1000)).$(printf %03d $((ms % 1000)))"
    echo "$mode: the job ended with exit code $rc after $seconds s"
    [[ $rc -ne 0 ]] || fail "$mode: the job reported success"
    [[ $rc -ne 124 ]] || fail "$mode: the job hung until the test's 120 s timeout"
    (( ms < 30000 )) || fail "$mode: took $seconds s (bound: 30 s)"
    if [[ $mode == stall ]]; then
      grep -q "waited" <<<"$out" || fail "stall: no timeout message from the waiting rank"
    fi
    ;;
  *) fail "unknown mode $mode" ;;
esac
echo "PASS: $mode"
