#!/usr/bin/env bash
# Runs every libFuzzer harness of a VAECL_FUZZ build for a bounded time, starting from
# its seed corpus in tests/fuzz/corpus/<name>/, and fails if any of them finds a crash,
# a leak, undefined behaviour, a timeout or an out-of-memory input.
#
#   cmake/run-fuzzers.sh BUILD_DIR [SECONDS]     (default 60 s each; JOBS=2 at a time)
#
# New inputs go to a scratch corpus, not into the repository; a failing input is kept
# as BUILD_DIR/fuzz-out/<name>-crash-... (add it to the seed corpus once fixed, so that
# ctest replays it). Each harness's log is BUILD_DIR/fuzz-out/<name>.log.
set -euo pipefail
build=${1:?usage: run-fuzzers.sh BUILD_DIR [SECONDS]}
seconds=${2:-60}
jobs=${JOBS:-2}
src=$(cd "$(dirname "$0")/.." && pwd)
out="$build/fuzz-out"
rm -rf "$out"
mkdir -p "$out"

fuzzers=()
for f in "$build"/tests/fuzz/fuzz_*; do
  [ -x "$f" ] && [ -f "$f" ] && fuzzers+=("$f")
done
if [ ${#fuzzers[@]} -eq 0 ]; then
  echo "run-fuzzers: no harnesses in $build/tests/fuzz; configure with CC=clang" \
       "-DVAECL_FUZZ=ON and build the 'fuzzers' target" >&2
  exit 2
fi

# One harness: -timeout makes a hang a failure, -rss_limit_mb an unbounded allocation.
run_one() {
  local bin=$1 name
  name=$(basename "$bin")
  mkdir -p "$out/$name-corpus"
  if "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$out/$name-" "$out/$name-corpus" "$src/tests/fuzz/corpus/$name" \
       >"$out/$name.log" 2>&1; then
    echo "run-fuzzers: $name: ok, $(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' \
      "$out/$name.log" | grep -o '[0-9]*$') executions in $seconds s"
  else
    echo "run-fuzzers: $name: FAILED; the end of $out/$name.log:" >&2
    tail -n 40 "$out/$name.log" >&2
    return 1
  fi
}
export -f run_one
export out seconds src
# shellcheck disable=SC2016 # $1 is expanded by the inner bash, for each harness
if ! printf '%s\n' "${fuzzers[@]}" | xargs -P "$jobs" -I{} bash -c 'run_one "$1"' _ {}; then
  echo "run-fuzzers: a harness found a problem (see above)" >&2
  exit 1
fi
