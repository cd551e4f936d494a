#!/bin/bash
# Installs what tern needs to build and test on Debian 12 (run as root).
# Idempotent: does nothing when every package is already installed.
set -euo pipefail
pkgs=(build-essential cmake pkg-config zlib1g-dev gfortran python3
      libopenmpi-dev openmpi-bin libhdf5-openmpi-dev hdf5-tools
      python3-h5py            # tests/protocol/typed.sh reads checkpoints with h5py
      libhwloc-dev hwloc spin iproute2 util-linux procps
      slurm-wlm munge
      hpcc netpipe-openmpi    # real programs the transparent-mode tests run unmodified
      clang libclang-rt-14-dev)   # libFuzzer for tests/fuzz
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
