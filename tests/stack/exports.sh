#!/bin/bash
# tests/stack/exports.sh LIB TERN_H MPI_H: the dynamic symbols LIB defines are
# exactly the tern.h API plus MPI functions that mpi.h declares. Prints PASS,
# or "FAIL: " and each symbol that should not be there or is missing.
set -euo pipefail
lib=$1 tern_h=$2 mpi_h=$3
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

nm -D --defined-only "$lib" | awk '$2 ~ /^[TtWwDdBbRrVvi]$/ {print $3}' | sed 's/@.*//' | sort -u >"$tmp/defined"
# the API: every function tern.h declares (a line starting with a type)
grep -oE '^[a-z][a-z0-9_ ]*[ *](tern_[a-z0-9_]+)\(' "$tern_h" | grep -oE 'tern_[a-z0-9_]+' | sort -u >"$tmp/api"
# MPI functions mpi.h declares (its prototypes read "OMPI_DECLSPEC int MPI_X(")
grep -oE '\bMPI_[A-Z][a-z0-9_]*[ ]*\(' "$mpi_h" | grep -oE 'MPI_[A-Za-z0-9_]+' | sort -u >"$tmp/mpi"
sort -u "$tmp/api" "$tmp/mpi" >"$tmp/allowed"

extra=$(comm -23 "$tmp/defined" "$tmp/allowed")
missing=$(comm -23 "$tmp/api" "$tmp/defined")
nmpi=$(grep -c '^MPI_' "$tmp/defined" || true)
if [[ -n $extra || -n $missing ]]; then
  [[ -n $extra ]] && echo "FAIL: $lib exports symbols outside tern.h and MPI:" $extra
  [[ -n $missing ]] && echo "FAIL: $lib does not export tern.h functions:" $missing
  exit 1
fi
if ((nmpi < 50)); then
  echo "FAIL: $lib exports only $nmpi MPI functions (the wrappers are missing)"
  exit 1
fi
echo "PASS: $lib exports $(wc -l <"$tmp/api") tern.h functions and $nmpi MPI functions, nothing else"
