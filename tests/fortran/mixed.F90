#include "fstyle.h"
! mixed: a Fortran program and a C library (mixed_c.c) on the same
! communicators, checkpointed, killed and restarted (restart_exact.sh).
! ccomm is made by the library (MPI_Comm_dup in C, returned with
! MPI_Comm_c2f), fcomm by the program. Each iteration posts, before the
! snapshot point: a Fortran MPI_Isend on ccomm to the right, the library's C
! MPI_Irecv on ccomm from the left, the library's C MPI_Isend on fcomm to the
! right; after it the program receives that one with a Fortran MPI_Recv on
! fcomm and completes all three requests (two of them C's, converted with
! MPI_Request_c2f) with one Fortran MPI_Waitall.
! Protected: it, state, the four buffers, the three requests.
program mixed
  MPI_MODULE
  use tern
  use ftest
  use, intrinsic :: iso_c_binding, only : c_int, c_int64_t, c_double
  implicit none
  MPI_INCLUDE
  interface
    integer(c_int) function cmix_dup(fcomm) bind(C)
      import :: c_int
      integer(c_int), value :: fcomm
    end function
    subroutine cmix_irecv(buf, n, src, tag, fcomm, freq) bind(C)
      import :: c_int, c_double
      real(c_double), intent(inout) :: buf(*)
      integer(c_int), value :: n, src, tag, fcomm
      integer(c_int), intent(out) :: freq
    end subroutine
    subroutine cmix_isend(buf, n, dest, tag, fcomm, freq) bind(C)
      import :: c_int, c_double
      real(c_double), intent(in) :: buf(*)
      integer(c_int), value :: n, dest, tag, fcomm
      integer(c_int), intent(out) :: freq
    end subroutine
  end interface
  type(opts) :: o
  integer :: rank, nranks, n, right, left, ierr, i
  integer, target :: it
  real(8), allocatable, target :: state(:), sbuf(:), rbuf(:)
  real(8), target :: side_s(1), side_r(1)
  HANDLE(MPI_Comm) :: ccomm, fcomm
  HANDLE(MPI_Request), target :: req(3)
  STATUSES(3) :: sts
  STATUS :: st

  o%size = 64
  call ftest_start(o, rank, nranks)
  n = max(1, o%size / 8)
  right = mod(rank + 1, nranks)
  left = mod(rank + nranks - 1, nranks)
  FVAL(ccomm) = cmix_dup(FVAL(MPI_COMM_WORLD))     ! made in C
  call MPI_Comm_dup(MPI_COMM_WORLD, fcomm, ierr)   ! made in Fortran
  allocate(state(n), sbuf(n), rbuf(n))
  it = 0
  rbuf = 0
  side_s = 0
  side_r = 0
  req = MPI_REQUEST_NULL
  call tern_protect('it', it)
  call tern_protect('state', state)
  call tern_protect('sbuf', sbuf)
  call tern_protect('rbuf', rbuf)
  call tern_protect('side_s', side_s)
  call tern_protect('side_r', side_r)
  call tern_protect('reqs', req)

  if (.not. ftest_recover(it, rank)) then
    state = [(cos(dble(rank * n + i)), i = 1, n)]
    if (o%iters > 0) call post()
  end if

  do while (it < o%iters)
    call ftest_step(o, it, rank)            ! the cut: three requests pending
    call MPI_Recv(side_r, 1, MPI_DOUBLE_PRECISION, left, mod(it, 5), fcomm, st, ierr)
    call ftest_check(SOURCE(st) == left .and. TAG(st) == mod(it, 5), 'mixed: side status')
    call MPI_Waitall(3, req, sts, ierr)
    call ftest_check(SOURCE_AT(sts, 2) == left .and. TAG_AT(sts, 2) == mod(it, 7), 'mixed: C receive status')
    do i = 1, n
      state(i) = 0.5d0 * state(i) + 0.25d0 * rbuf(i) + 0.125d0 * side_r(1) + 1d-3 * cos(dble(it + i + rank))
    end do
    it = it + 1
    if (it < o%iters) call post()
  end do

  call ftest_result(fnv(0_c_int64_t, state), it, rank, nranks)
  call MPI_Comm_free(fcomm, ierr)
  call MPI_Comm_free(ccomm, ierr)
  call MPI_Finalize(ierr)

contains

  subroutine post()
    sbuf = state
    side_s(1) = state(1)
    call MPI_Isend(sbuf, n, MPI_DOUBLE_PRECISION, right, mod(it, 7), ccomm, req(1), ierr)
    call cmix_irecv(rbuf, n, left, mod(it, 7), FVAL(ccomm), FVAL(req(2)))
    call cmix_isend(side_s, 1, right, mod(it, 5), FVAL(fcomm), FVAL(req(3)))
  end subroutine

end program mixed
