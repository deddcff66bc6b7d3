#!/usr/bin/env bash
# Side-by-side timing of two configurations of `vaecl bench`, alternated A B A B ...
# in one run so that the machine's background load hits both alike.
#
#   cmake/bench-compare.sh [BIN] [ROUNDS]
#   A: env ${BASELINE}   (default: CLBlast's own GEMM parameters, per-channel im2col)
#   B: env ${CANDIDATE}  (default: what vaecl picks for the device)
#   BIN_A=OTHER_BIN runs A with another build (old vs new: BIN_A=old/vaecl BASELINE=)
#   OTHER="COMMAND" runs A as any other command instead of vaecl, for instance the
#     PyTorch reference (../shared/README.md); its output must have a line with
#     "median N ms" (torch_vae.py's STEPS line) or "train step: N". Give it the same
#     batch as BENCH_ARGS.
# Prints each run's ms/step, the medians, the ratio A/B (> 1: B is faster) and the
# machine's load before and after (uptime): on a shared machine only ratios of
# alternated runs mean much.
set -euo pipefail
bin=${1:-build/vaecl}
rounds=${2:-3}
bin_a=${BIN_A:-$bin}
baseline=${BASELINE-"VAECL_GEMM_TUNING=off VAECL_WORK_LAYOUT=channels"}
candidate=${CANDIDATE:-""}
bench_args=${BENCH_ARGS:-"--batch 128 --steps 10 --warmup 2"}

run() { # $1: binary, $2: env assignments; prints ms/step
  # shellcheck disable=SC2086 # the assignments and arguments are meant to split
  env $2 "$1" bench $bench_args | awk '/^train step:/ {print $3}'
}

run_other() { # prints the median ms/step the other command reports
  bash -c "$OTHER" 2>&1 | awk '/^train step:/ {print $3; exit}
    /median [0-9.]+ ms/ {for (i = 1; i < NF; i++) if ($i == "median") {print $(i + 1); exit}}'
}

median() { sort -n | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }

echo "load before: $(uptime)"
a_times=() b_times=()
for r in $(seq "$rounds"); do
  if [ -n "${OTHER:-}" ]; then a=$(run_other); else a=$(run "$bin_a" "$baseline"); fi
  b=$(run "$bin" "$candidate")
  if [ -z "$a" ] || [ -z "$b" ]; then
    echo "round $r: a run printed no time (A '${a}', B '${b}'); run it alone to see why" >&2
    exit 1
  fi
  echo "round $r: A ${a} ms/step   B ${b} ms/step"
  a_times+=("$a") b_times+=("$b")
done
a_med=$(printf '%s\n' "${a_times[@]}" | median)
b_med=$(printf '%s\n' "${b_times[@]}" | median)
echo "load after: $(uptime)"
if [ -n "${OTHER:-}" ]; then
  echo "A = [${OTHER}]: median ${a_med} ms/step"
else
  echo "A = [${baseline:-vaecl defaults}]: median ${a_med} ms/step"
fi
echo "B = [${candidate:-vaecl defaults}]: median ${b_med} ms/step"
awk -v a="$a_med" -v b="$b_med" 'BEGIN {printf "ratio A/B: %.2f\n", a / b}'
