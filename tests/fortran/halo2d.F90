#include "fstyle.h"
! halo2d: Jacobi sweeps of a 2-D Poisson problem on an MPI_Cart_create grid
! -- tests/protocol/apps/halo2d.c in Fortran. Each rank owns u(0:m+1,0:m+1)
! (m = --size, default 24, with a one-cell halo). The halo exchange of the
! next sweep (4 MPI_Irecv + 4 MPI_Isend, tag = the sender's direction,
! MPI_PROC_NULL at the borders) is posted BEFORE tern_snapshot() and
! completed by MPI_Waitall with a status array AFTER it. Every 10 sweeps an
! MPI_Allreduce on the Cartesian communicator gives the update norm.
! --prepost: persistent requests (MPI_Recv_init / MPI_Send_init, made once in
! the first run, never again after a restart) started with MPI_Startall.
! Protected: it, norm, u (2-D), the halo buffers (2-D), the 8 requests.
program halo2d
  MPI_MODULE
  use tern
  use ftest
  use, intrinsic :: iso_c_binding, only : c_int64_t
  implicit none
  MPI_INCLUDE
  integer, parameter :: NO = 1, SO = 2, WE = 3, EA = 4
  integer, parameter :: opp(4) = [SO, NO, EA, WE]
  type(opts) :: o
  integer :: rank, nranks, m, ierr, i, j, d, gi, gj, crank
  integer :: dims(2), coords(2), nb(4)
  logical :: periods(2), restarted
  integer, target :: it
  real(8), target :: norm
  real(8), allocatable, target :: u(:, :), un(:, :), sb(:, :), rb(:, :)
  real(8) :: h2, amp, f, dd, local
  HANDLE(MPI_Comm) :: cart
  HANDLE(MPI_Request), target :: req(8)
  STATUSES(8) :: st

  o%iters = 20000
  o%size = 24
  call ftest_start(o, rank, nranks)
  m = max(2, o%size)
  dims = 0
  periods = .false.
  call MPI_Dims_create(nranks, 2, dims, ierr)
  call MPI_Cart_create(MPI_COMM_WORLD, 2, dims, periods, .false., cart, ierr)
  call MPI_Comm_rank(cart, crank, ierr)
  call MPI_Cart_coords(cart, crank, 2, coords, ierr)
  call MPI_Cart_shift(cart, 0, 1, nb(NO), nb(SO), ierr)
  call MPI_Cart_shift(cart, 1, 1, nb(WE), nb(EA), ierr)

  allocate(u(0:m + 1, 0:m + 1), un(0:m + 1, 0:m + 1), sb(m, 4), rb(m, 4))
  u = 0
  un = 0
  sb = 0
  rb = 0
  it = 0
  norm = 0
  req = MPI_REQUEST_NULL
  call tern_protect('it', it)
  call tern_protect('norm', norm)
  call tern_protect('u', u)
  call tern_protect('halo_send', sb)
  call tern_protect('halo_recv', rb)
  call tern_protect('reqs', req)

  restarted = tern_restarted()
  if (o%prepost .and. .not. restarted) then   ! made once: tern recreates them after a restart
    do d = 1, 4
      call MPI_Recv_init(rb(1, d), m, MPI_DOUBLE_PRECISION, nb(d), opp(d), cart, req(d), ierr)
      call MPI_Send_init(sb(1, d), m, MPI_DOUBLE_PRECISION, nb(d), d, cart, req(4 + d), ierr)
    end do
  end if
  if (ftest_recover(it, rank)) then
    continue
  else if (o%iters > 0) then
    call post()
  end if

  h2 = 1.0d0 / (dble(dims(1) * m + 1) ** 2)
  do while (it < o%iters)
    call ftest_step(o, it, rank)             ! the cut: 8 requests pending
    call MPI_Waitall(8, req, st, ierr)
    do d = 1, 4
      call ftest_check(SOURCE_AT(st, d) == nb(d), 'halo2d: status source')
    end do
    if (nb(NO) /= MPI_PROC_NULL) u(0, 1:m) = rb(:, NO)
    if (nb(SO) /= MPI_PROC_NULL) u(m + 1, 1:m) = rb(:, SO)
    if (nb(WE) /= MPI_PROC_NULL) u(1:m, 0) = rb(:, WE)
    if (nb(EA) /= MPI_PROC_NULL) u(1:m, m + 1) = rb(:, EA)
    amp = 1.0d0 + 0.5d0 * sin(0.01d0 * dble(it))   ! a time-dependent source
    local = 0
    do j = 1, m
      gj = coords(2) * m + j
      do i = 1, m
        gi = coords(1) * m + i
        f = amp * (1.0d0 + 0.5d0 * dble(mod(gi * 7 + gj * 13, 11)))
        un(i, j) = 0.25d0 * (u(i - 1, j) + u(i + 1, j) + u(i, j - 1) + u(i, j + 1) + h2 * f)
        dd = un(i, j) - u(i, j)
        local = local + dd * dd
      end do
    end do
    u(1:m, 1:m) = un(1:m, 1:m)
    it = it + 1
    if (mod(it, 10) == 0) call MPI_Allreduce(local, norm, 1, MPI_DOUBLE_PRECISION, MPI_SUM, cart, ierr)
    if (it < o%iters) call post()
  end do

  if (o%prepost) then
    do i = 1, 8
      if (req(i) /= MPI_REQUEST_NULL) call MPI_Request_free(req(i), ierr)
    end do
  end if
  call ftest_result(fnv(fnv(0_c_int64_t, u), norm), it, rank, nranks)
  call MPI_Comm_free(cart, ierr)
  call MPI_Finalize(ierr)

contains

  ! pack u's edges and post the exchange
  subroutine post()
    sb(:, NO) = u(1, 1:m)
    sb(:, SO) = u(m, 1:m)
    sb(:, WE) = u(1:m, 1)
    sb(:, EA) = u(1:m, m)
    if (o%prepost) then
      call MPI_Startall(8, req, ierr)
      return
    end if
    do d = 1, 4
      call MPI_Irecv(rb(1, d), m, MPI_DOUBLE_PRECISION, nb(d), opp(d), cart, req(d), ierr)
    end do
    do d = 1, 4
      call MPI_Isend(sb(1, d), m, MPI_DOUBLE_PRECISION, nb(d), d, cart, req(4 + d), ierr)
    end do
  end subroutine

end program halo2d
