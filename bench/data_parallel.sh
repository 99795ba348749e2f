#!/usr/bin/env bash
# Data-parallel measurements on this machine (issue 12, item 5), one run, written to
# bench/results/data_parallel-<utc>/ (JSON) and summarised by tools/scaling_model.py:
#   1. 1 rank x 2 threads against 2 ranks x 1 thread (shared memory), M2-M4, global batch 64
#      and 256: samples/s.
#   2. MPI allreduce latency and bandwidth at M1-M5's gradient sizes and a 4 B .. 16 MiB sweep,
#      over shared memory and TCP on loopback.
#   3. With root and iproute2 (ip netns, tc): two network namespaces joined by a veth pair
#      whose both ends a token-bucket filter (`tc qdisc ... tbf`) limits to $LINK_RATE (default
#      1gbit); rank 0 in one, rank 1 in the other, Open MPI's TCP transport between them. (tc
#      netem, which could add delay, is not in every kernel: this one has no sch_netem.) The
#      allreduce sweep at that rate; then M3 and M4 at batch 64, first over the unlimited veth
#      (the reference step time), then at $OVERLAP_RATE (default 300mbit) with the gradients
#      summed in one bucket after the backward pass (no overlap) and in 1 MiB, 256 KiB and
#      64 KiB buckets started as the backward pass produces them: what a step loses against
#      the reference, beside the time of one allreduce alone, is how much the backward pass
#      does not hide.
# Keep the machine otherwise idle. Usage: bench/data_parallel.sh [--quick]
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0
[[ "${1:-}" == --quick ]] && quick=1
timing=(--repetitions=5 --min_time=2)
((quick)) && timing=(--repetitions=2 --min_time=0.5 --warmup=0.3)
bazel build -c opt //bench:data_parallel //bench:allreduce >/dev/null
dp=bazel-bin/bench/data_parallel
ar=bazel-bin/bench/allreduce
out="bench/results/data_parallel-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
export OMP_WAIT_POLICY=passive  # ranks sharing cores must not spin in OpenMP barriers
mpi=(mpirun -np 2 --allow-run-as-root --oversubscribe)

echo "== 1. 1 rank x 2 threads vs 2 ranks x 1 thread (shared memory)" >&2
"$dp" --threads=2 --label=1x2 "${timing[@]}" | tee "$out/throughput.jsonl"
"${mpi[@]}" --bind-to core --mca btl self,vader "$dp" --threads=1 --label=2x1 "${timing[@]}" |
  tee -a "$out/throughput.jsonl"

echo "== 2. allreduce: shared memory, TCP on loopback" >&2
"${mpi[@]}" --bind-to core --mca btl self,vader "$ar" --transport=shm --max_bytes=$((16 << 20)) \
  --json_out="$out/allreduce-shm.json" >&2
"${mpi[@]}" --bind-to core --mca btl self,tcp --mca btl_tcp_if_include lo "$ar" \
  --transport=tcp-lo --max_bytes=$((16 << 20)) --json_out="$out/allreduce-tcp-lo.json" >&2

if [[ $(id -u) -eq 0 ]] && command -v ip >/dev/null && command -v tc >/dev/null &&
   ip netns add graft_probe 2>/dev/null; then
  ip netns del graft_probe
  rate="${LINK_RATE:-1gbit}"
  echo "== 3. two namespaces, veth limited to $rate" >&2
  cleanup() { ip netns del graft_a 2>/dev/null || true; ip netns del graft_b 2>/dev/null || true; }
  trap cleanup EXIT
  cleanup
  ip netns add graft_a
  ip netns add graft_b
  ip link add graft_va type veth peer name graft_vb
  ip link set graft_va netns graft_a
  ip link set graft_vb netns graft_b
  ip -n graft_a addr add 10.77.0.1/24 dev graft_va
  ip -n graft_b addr add 10.77.0.2/24 dev graft_vb
  for ns in graft_a graft_b; do ip -n "$ns" link set lo up; done
  ip -n graft_a link set graft_va up
  ip -n graft_b link set graft_vb up
  # mpirun starts rank 1's daemon through this "remote shell": a shell in the other namespace.
  agent="$out/netns_agent.sh"
  printf '#!/bin/sh\nshift\nexec ip netns exec graft_b /bin/sh -c "$*"\n' >"$agent"
  chmod +x "$agent"
  ns_mpi=(ip netns exec graft_a mpirun --allow-run-as-root -H 10.77.0.1:1,10.77.0.2:1
          --bind-to none --mca plm_rsh_agent "$agent" --mca btl self,tcp
          --mca btl_tcp_if_include 10.77.0.0/24 --mca oob_tcp_if_include 10.77.0.0/24
          -x OMP_WAIT_POLICY)
  run_dp() {
    local label="$1"
    shift
    "${ns_mpi[@]}" "$PWD/$dp" --threads=1 --batch=64 --label="$label" "${timing[@]}" "$@" |
      tee -a "$out/overlap.jsonl"
  }
  limit() {  # limit RATE | limit none
    for end in "graft_a graft_va" "graft_b graft_vb"; do
      read -r ns dev <<<"$end"
      tc -n "$ns" qdisc del dev "$dev" root 2>/dev/null || true
      [[ $1 == none ]] || tc -n "$ns" qdisc add dev "$dev" root tbf rate "$1" burst 256kb latency 100ms
    done
  }
  limit "$rate"
  "${ns_mpi[@]}" "$PWD/$ar" --transport="veth-$rate" --max_bytes=$((16 << 20)) \
    --json_out="$PWD/$out/allreduce-veth.json" >&2
  # Overlap: a slower link ($OVERLAP_RATE, default 300mbit) makes M4's sum a third of its step,
  # far above this machine's run-to-run noise. Two rounds, each with its reference: the same
  # two ranks over the unlimited veth (where a sum costs ~0.1-0.3 ms).
  orate="${OVERLAP_RATE:-300mbit}"
  limit "$orate"
  "${ns_mpi[@]}" "$PWD/$ar" --transport="veth-$orate" --sweep=false \
    --json_out="$PWD/$out/allreduce-overlap.json" >&2
  for round in 1 2; do
    limit none
    run_dp veth-unlimited --models=M3,M4 --bucket_bytes=1048576
    limit "$orate"
    for bucket in 1073741824 1048576 262144 65536; do
      run_dp "veth-$orate" --models=M3,M4 --bucket_bytes="$bucket"
    done
  done
else
  echo "== 3. skipped: needs root, ip netns and tc" >&2
fi
/usr/bin/python3 tools/scaling_model.py "$out" | tee "$out/summary.md"
