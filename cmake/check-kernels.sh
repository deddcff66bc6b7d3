#!/usr/bin/env bash
# Compiles vaecl's kernels with clang for a generic SPIR target as OpenCL C 1.2 and
# 3.0, warnings as errors, in the order the backend joins them (later files use
# earlier ones' functions), so a construct one of those standards lacks fails here
# rather than on some vendor's driver.
# usage: check-kernels.sh CLANG SOURCE_DIR cl/a.cl cl/b.cl ...
set -euo pipefail
clang=$1
src=$2
shift 2
for std in CL1.2 CL3.0; do
  for f in "$@"; do printf '#include "%s"\n' "$f"; done |
    "$clang" -x cl -cl-std="$std" -target spir64 -Werror -Wall -Wextra -fsyntax-only \
      -I "$src" -
  echo "check-kernels: $# kernel files compile as $std for spir64"
done
