#include "fstyle.h"
! ring: messages in flight at the cut -- tests/protocol/apps/ring.c in
! Fortran. Each rank sends its vector (--size bytes of real(8)) to the right
! with MPI_Isend BEFORE tern_snapshot() and receives from the left AFTER it
! (tag = it mod 7, checked in the status with MPI_Get_count); --prepost posts
! that receive as an MPI_Irecv before the snapshot point as well.
! Protected: it, state, both buffers and the two requests.
program ring
  MPI_MODULE
  use tern
  use ftest
  use, intrinsic :: iso_c_binding, only : c_int64_t
  implicit none
  MPI_INCLUDE
  type(opts) :: o
  integer :: rank, nranks, n, right, left, ierr, tag, cnt, i
  integer, target :: it
  real(8), allocatable, target :: state(:), sbuf(:), rbuf(:)
  HANDLE(MPI_Request), target :: req(2)       ! send, receive
  STATUS :: st

  o%size = 8
  call ftest_start(o, rank, nranks)
  n = max(1, o%size / 8)
  right = mod(rank + 1, nranks)
  left = mod(rank + nranks - 1, nranks)
  allocate(state(n), sbuf(n), rbuf(n))
  it = 0
  rbuf = 0
  req = MPI_REQUEST_NULL
  call tern_protect('it', it, ierr)
  call ftest_check(ierr == TERN_SUCCESS, 'tern_protect')
  call tern_protect('state', state)
  call tern_protect('sbuf', sbuf)
  call tern_protect('rbuf', rbuf)
  call tern_protect('reqs', req)

  if (.not. ftest_recover(it, rank)) then
    do i = 1, n
      state(i) = rank + 1.0d0 + dble(i - 1) / dble(n)
    end do
    if (o%iters > 0) call post()
  end if

  do while (it < o%iters)
    call ftest_step(o, it, rank)           ! the cut: our Isend (and Irecv) pending
    tag = mod(it, 7)
    if (o%prepost) then
      call MPI_Wait(req(2), st, ierr)
    else
      call MPI_Recv(rbuf, n, MPI_DOUBLE_PRECISION, left, tag, MPI_COMM_WORLD, st, ierr)
    end if
    call MPI_Get_count(st, MPI_DOUBLE_PRECISION, cnt, ierr)
    call ftest_check(SOURCE(st) == left .and. TAG(st) == tag .and. cnt == n, 'ring: bad status')
    call MPI_Wait(req(1), MPI_STATUS_IGNORE, ierr)
    do i = 1, n
      state(i) = 0.75d0 * state(i) + 0.25d0 * rbuf(i) + 1d-3 * sin(dble(it + i - 1 + rank))
    end do
    it = it + 1
    if (it < o%iters) call post()
  end do

  call ftest_result(fnv(0_c_int64_t, state), it, rank, nranks)
  call MPI_Finalize(ierr)

contains

  subroutine post()
    sbuf = state
    call MPI_Isend(sbuf, n, MPI_DOUBLE_PRECISION, right, mod(it, 7), MPI_COMM_WORLD, req(1), ierr)
    if (o%prepost) &
      call MPI_Irecv(rbuf, n, MPI_DOUBLE_PRECISION, left, mod(it, 7), MPI_COMM_WORLD, req(2), ierr)
  end subroutine

end program ring
