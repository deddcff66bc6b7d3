#!/usr/bin/env bash
# Runs one test program on Oclgrind, the OpenCL simulator, and fails when the test
# fails or Oclgrind reported anything. Oclgrind does not change exit codes: its
# kernel diagnostics (out-of-bounds accesses, data races, uninitialised values,
# barrier divergence) go to OCLGRIND_LOG, its API checks (--check-api) to stderr.
# No diagnostic is allowed. The Oclgrind settings come from the environment the
# ctest entry sets (OCL_ICD_VENDORS pointing at a folder with only Oclgrind's ICD,
# OCLGRIND_CHECK_API, OCLGRIND_DATA_RACES, ...).
# usage: oclgrind-run.sh LOG_PREFIX PROGRAM [ARGS...]
set -uo pipefail
prefix=$1
shift
log="$prefix.oclgrind.log"
out="$prefix.out"
rm -f "$log" "$out"
export OCLGRIND_LOG="$log"
"$@" >"$out" 2>&1
rc=$?
cat "$out"
if [ "$rc" -ne 0 ]; then
  echo "oclgrind-run: $* exited with $rc under Oclgrind (output above)"
  exit 1
fi
if [ -s "$log" ]; then
  echo "oclgrind-run: Oclgrind reported kernel errors ($log):"
  head -n 60 "$log"
  exit 1
fi
if grep -q -E "Oclgrind - OpenCL runtime error detected|^[[:space:]]*Function: cl" "$out"; then
  echo "oclgrind-run: Oclgrind reported OpenCL API errors (above)"
  exit 1
fi
echo "oclgrind-run: no Oclgrind diagnostics"
