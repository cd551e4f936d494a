#!/bin/bash
# install.sh BUILD_DIR: the installed tree serves a Fortran project: what
# coord/ and fortran/ install (libtern, tern.h, the CMake package, libtern_fortran,
# tern.mod, the .pc files) into a temporary prefix, then a program that uses
# the module `tern` is built with mpifort and pkg-config tern-fortran, and as
# a CMake project with find_package(tern) -> tern::tern_fortran; both run.
set -u
build=$1
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../protocol/common.sh"
proto_work finstall
die() { echo "FAIL: $*" >&2; cat "$work"/*.err >&2 2>/dev/null; exit 1; }
prefix=$work/prefix
for part in coord fortran; do   # only these two: the other parts' installs do not matter here
    cmake -DCMAKE_INSTALL_PREFIX="$prefix" -P "$build/$part/cmake_install.cmake" >>"$work/install.out" \
        2>>"$work/install.err" || die "installing $part/"
done
pc=$(find "$prefix" -name tern-fortran.pc | head -1)
[ -n "$pc" ] || die "no tern-fortran.pc installed"
libdir=$(dirname "$(dirname "$pc")")
[ -e "$libdir/libtern_fortran.so" ] || die "no libtern_fortran.so in $libdir"
find "$prefix" -name tern.mod | grep -q . || die "no tern.mod installed"
export LD_LIBRARY_PATH=$libdir PKG_CONFIG_PATH=$libdir/pkgconfig
cat >"$work/app.f90" <<'F90'
program app
  use mpi
  use tern
  implicit none
  integer :: ierr, rank
  integer, target :: it = 0
  call MPI_Init(ierr)
  call MPI_Comm_rank(MPI_COMM_WORLD, rank, ierr)
  call tern_protect('it', it, ierr)
  call tern_snapshot(ierror=ierr)
  if (rank == 0) write(*, '(A,L1,A,I0)') 'app: restarted ', tern_restarted(), ' ierr ', ierr
  call MPI_Finalize(ierr)
end program
F90
mpi() { "$MPIEXEC" --oversubscribe --bind-to none -np 2 "$@"; }
# shellcheck disable=SC2046
mpifort "$work/app.f90" $(pkg-config --cflags --libs tern-fortran) -o "$work/app_pc" 2>"$work/pc.err" \
    || die "mpifort with pkg-config tern-fortran"
mpi "$work/app_pc" >"$work/pc.out" 2>"$work/pc_run.err" || die "the pkg-config program failed"
grep -qx 'app: restarted F ierr 0' "$work/pc.out" || die "pkg-config program: $(cat "$work/pc.out")"
mkdir -p "$work/proj"
cp "$work/app.f90" "$work/proj/"
cat >"$work/proj/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.20)
project(app LANGUAGES C Fortran)
find_package(tern REQUIRED)
find_package(MPI REQUIRED COMPONENTS Fortran)
add_executable(app app.f90)
target_link_libraries(app PRIVATE tern::tern_fortran MPI::MPI_Fortran)
CM
cmake -S "$work/proj" -B "$work/pbuild" -DCMAKE_PREFIX_PATH="$prefix" >"$work/cmake.out" 2>"$work/cmake.err" \
    || die "find_package(tern) in a Fortran project"
cmake --build "$work/pbuild" >"$work/build.out" 2>"$work/build.err" || die "building against tern::tern_fortran"
mpi "$work/pbuild/app" >"$work/cm.out" 2>"$work/cm_run.err" || die "the CMake program failed"
grep -qx 'app: restarted F ierr 0' "$work/cm.out" || die "CMake program: $(cat "$work/cm.out")"
echo "installed in $prefix: pkg-config and find_package(tern) programs ran"
echo PASS
