#!/bin/bash
# tests/stack/exports_shim.sh SHIM SHIM_CXX MPI_H: the shim (libmpi.so.40 of
# transparent mode) defines exactly, as dynamic symbols: MPI_x and PMPI_x of
# every call mpi.h declares, the predefined objects mpi.h declares (ompi_*,
# MPI_F_STATUS(ES)_IGNORE) and Open MPI's predefined callbacks
# (OMPI_C_MPI_*_FN) -- all of them, nothing else; its libmpi_cxx.so.40 only
# names in namespace MPI (_Z...3MPI...) and ompi_* functions. Prints PASS, or
# "FAIL: " and what is extra or missing.
set -euo pipefail
export LC_ALL=C
shim=$1 cxx=$2 mpi_h=$3
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
defined() { nm -D --defined-only "$1" | awk '$2 ~ /^[TtWwDdBbRrVvi]$/ {print $3}' | sed 's/@.*//' | sort -u; }
defined "$shim" >"$tmp/defined"
sed 's:/\*.*\*/::' "$mpi_h" | grep -v '^#' >"$tmp/h"   # macros (MPI_Aint_add) are no symbols
{
    grep -oE '\bP?MPI_[A-Z][a-z0-9_]*[ ]*\(' "$tmp/h" | grep -oE 'P?MPI_[A-Za-z0-9_]+'
    grep -oE 'OMPI_DECLSPEC[ ]+extern[^;]*\b(ompi_[a-z0-9_]+|MPI_F_STATUS(ES)?_IGNORE)[ ]*;' "$tmp/h" | grep -oE '(ompi_[a-z0-9_]+|MPI_F_STATUS(ES)?_IGNORE)[ ]*;' | tr -d ' ;'
    grep -oE '\bOMPI_C_MPI_[A-Z_]+_FN\b' "$tmp/h"
} | sort -u >"$tmp/api"
# MPI_T_* and the removed MPI-1 calls are declared too, and served (refused or forwarded)
extra=$(comm -23 "$tmp/defined" "$tmp/api")
missing=$(comm -13 "$tmp/defined" "$tmp/api")
bad=0
[ -z "$extra" ] || { echo "FAIL: $shim exports what mpi.h does not declare:" $extra; bad=1; }
[ -z "$missing" ] || { echo "FAIL: $shim lacks what mpi.h declares:" $missing; bad=1; }
cxx_extra=$(defined "$cxx" | grep -vE '^(_Z.*3MPI|ompi_)' || true)
[ -z "$cxx_extra" ] || { echo "FAIL: $cxx exports more than the C++ header's names:" $cxx_extra; bad=1; }
[ $bad = 0 ] || exit 1
echo "PASS: $shim exports $(grep -c '^MPI_' "$tmp/defined") MPI_ and $(grep -c '^PMPI_' "$tmp/defined") PMPI_ calls, $(grep -c '^ompi_\|^MPI_F_' "$tmp/defined") objects, $(grep -c '^OMPI_C' "$tmp/defined") callbacks: mpi.h's, nothing else"
