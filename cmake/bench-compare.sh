#!/usr/bin/env bash
# Side-by-side timing of two configurations of `vaecl bench`, alternated A B A B ...
# in one run so that the machine's background load hits both alike.
#
#   cmake/bench-compare.sh [BIN] [ROUNDS]
#   A: env ${BASELINE}   (default: CLBlast's own GEMM parameters, per-channel im2col)
#   B: env ${CANDIDATE}  (default: what vaecl picks for the device)
#   BIN_A=OTHER_BIN runs A with another build (old vs new: BIN_A=old/vaecl BASELINE=)
# Prints each run's ms/step, the medians and the ratio A/B (> 1: B is faster).
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

median() { sort -n | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }

a_times=() b_times=()
for r in $(seq "$rounds"); do
  a=$(run "$bin_a" "$baseline"); b=$(run "$bin" "$candidate")
  echo "round $r: A ${a} ms/step   B ${b} ms/step"
  a_times+=("$a") b_times+=("$b")
done
a_med=$(printf '%s\n' "${a_times[@]}" | median)
b_med=$(printf '%s\n' "${b_times[@]}" | median)
echo "A = [${baseline:-vaecl defaults}]: median ${a_med} ms/step"
echo "B = [${candidate:-vaecl defaults}]: median ${b_med} ms/step"
awk -v a="$a_med" -v b="$b_med" 'BEGIN {printf "ratio A/B: %.2f\n", a / b}'
