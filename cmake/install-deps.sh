#!/usr/bin/env bash
# Installs vaecl's build and test dependencies from Debian 12's packages.
# Run as root (or with sudo available). Safe to run again.
set -euo pipefail
packages=(
  build-essential cmake pkg-config
  ocl-icd-opencl-dev opencl-headers  # OpenCL ICD loader and headers
  pocl-opencl-icd                    # an OpenCL device on the CPU (tests, CI)
  libclblast-dev                     # GEMM
  libpng-dev zlib1g-dev              # plots; the gzipped IDX files
  libjansson-dev                     # JSON: the header of safetensors checkpoints
  check                              # unit tests
  oclgrind                           # OpenCL simulator: the kernels checked for races, bounds
  clang libclang-rt-dev              # compile check of cl/*.cl; libFuzzer (tests/fuzz)
  python3-numpy                      # tests/safetensors_read.py, an independent reader
  libopenmpi-dev openmpi-bin         # MPI: data-parallel training under mpirun (optional)
  dataset-fashion-mnist              # the default data: /usr/share/datasets/fashion-mnist
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y "${missing[@]}"
