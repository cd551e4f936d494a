#!/bin/bash
# tests/stack/exports.sh LIB TERN_H MPI_H [TM_H]: the dynamic symbols LIB
# defines are exactly the tern.h API (and the proxy's contract TM_H, tern_tm.h), MPI functions that mpi.h declares, and Fortran
# bindings of mpi.h's calls (fortran/): for a call MPI_Xyz its mpif.h names
# mpi_xyz_ mpi_xyz mpi_xyz__ MPI_XYZ, all four or none, and its mpi_f08 name
# mpi_xyz_f08_ (and Open MPI's Fortran-only _cptr twins of the same four).
# Prints PASS, or "FAIL: " and each symbol that should not be there or is
# missing.
set -euo pipefail
export LC_ALL=C   # one collation for sort, comm and join
lib=$1 tern_h=$2 mpi_h=$3 tm_h=${4:-}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

nm -D --defined-only "$lib" | awk '$2 ~ /^[TtWwDdBbRrVvi]$/ {print $3}' | sed 's/@.*//' | sort -u >"$tmp/defined"
# the API: every function tern.h declares (a line starting with a type)
grep -ohE '^[a-z][a-z0-9_ ]*[ *](tern_[a-z0-9_]+)\(' "$tern_h" $tm_h | grep -oE 'tern_[a-z0-9_]+' | sort -u >"$tmp/api"
# MPI functions mpi.h declares (its prototypes read "OMPI_DECLSPEC int MPI_X(")
grep -oE '\bMPI_[A-Z][a-z0-9_]*[ ]*\(' "$mpi_h" | grep -oE 'MPI_[A-Za-z0-9_]+' | sort -u >"$tmp/mpi"
# their Fortran names: BASE NAME for each of the four mpif.h manglings, and
# the f08 one (not a mpif.h mangling)
awk '{ b = tolower($1); print b, b "_"; print b, b; print b, b "__"; print b, toupper(b)
       c = b "_cptr"; print c, c "_"; print c, c; print c, c "__"; print c, toupper(c)
       print "f08", b "_f08_" }' "$tmp/mpi" | sort -k2 >"$tmp/fnames"
awk '{print $2}' "$tmp/fnames" | sort -u >"$tmp/fortran"
sort -u "$tmp/api" "$tmp/mpi" "$tmp/fortran" >"$tmp/allowed"

extra=$(comm -23 "$tmp/defined" "$tmp/allowed")
missing=$(comm -23 "$tmp/api" "$tmp/defined")
# a Fortran binding is exported under all four mpif.h names or none
join -1 2 -2 1 "$tmp/fnames" "$tmp/defined" | awk '$2 != "f08" {n[$2]++} END {for (b in n) if (n[b] != 4) print b}' \
    | sort >"$tmp/partial"
partial=$(cat "$tmp/partial")
nmpi=$(grep -c '^MPI_[A-Z][a-z0-9_]*[a-z0-9]' "$tmp/defined" || true)
nfort=$(grep -v '_f08_$' "$tmp/defined" | grep -c '^mpi_[a-z0-9_]*[a-z0-9]_$' || true)
if [[ -n $extra || -n $missing || -n $partial ]]; then
  [[ -n $extra ]] && echo "FAIL: $lib exports symbols outside tern.h, MPI and its Fortran bindings:" $extra
  [[ -n $missing ]] && echo "FAIL: $lib does not export tern.h functions:" $missing
  [[ -n $partial ]] && echo "FAIL: $lib exports some but not all four mpif.h names of:" $partial
  exit 1
fi
if ((nmpi < 50)); then
  echo "FAIL: $lib exports only $nmpi MPI functions (the wrappers are missing)"
  exit 1
fi
if ((nfort < 50)); then
  echo "FAIL: $lib exports only $nfort Fortran bindings (fortran/ is missing)"
  exit 1
fi
echo "PASS: $lib exports $(wc -l <"$tmp/api") tern.h functions, $nmpi MPI functions and $nfort Fortran bindings, nothing else"
