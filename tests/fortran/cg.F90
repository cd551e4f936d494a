#include "fstyle.h"
! cg: conjugate gradient for implicit heat steps -- tests/protocol/apps/cg.c
! in Fortran. M = I + 10 L (L the 1-D Laplacian), --size rows per rank. The
! exchange of p's end values (MPI_Irecv + MPI_Isend, MPI_PROC_NULL at the
! ends) is posted BEFORE tern_snapshot() and waited (MPI_STATUSES_IGNORE)
! AFTER it; the dot products are MPI_Allreduce with MPI_IN_PLACE; every 25
! iterations a new time step starts from x, its end values exchanged with
! MPI_Sendrecv (MPI_STATUS_IGNORE).
! Protected: it, rr, x, r, p, the ghost cells and the 4 requests.
program cg
  MPI_MODULE
  use tern
  use ftest
  use, intrinsic :: iso_c_binding, only : c_int64_t
  implicit none
  MPI_INCLUDE
  integer, parameter :: STEP = 25
  real(8), parameter :: CM = 10.0d0
  type(opts) :: o
  integer :: rank, nranks, n, left, right, ierr, i
  integer, target :: it
  real(8), target :: rr, ghost_send(2), ghost_recv(2)
  real(8), allocatable, target :: x(:), r(:), p(:), q(:)
  real(8) :: pl, pr, pq, alpha, rrn, beta, xl, xr
  HANDLE(MPI_Request), target :: req(4)

  o%iters = 20000
  o%size = 256
  call ftest_start(o, rank, nranks)
  n = max(1, o%size)
  left = merge(rank - 1, MPI_PROC_NULL, rank > 0)
  right = merge(rank + 1, MPI_PROC_NULL, rank < nranks - 1)
  allocate(x(n), r(n), p(n), q(n))
  it = 0
  rr = 0
  ghost_send = 0
  ghost_recv = 0
  req = MPI_REQUEST_NULL
  call tern_protect('it', it)
  call tern_protect('rr', rr)
  call tern_protect('x', x)
  call tern_protect('r', r)
  call tern_protect('p', p)
  call tern_protect('ghost_send', ghost_send)
  call tern_protect('ghost_recv', ghost_recv)
  call tern_protect('reqs', req)

  if (.not. ftest_recover(it, rank)) then
    do i = 1, n
      x(i) = 0
      r(i) = 1.0d0 + dble(mod(rank * n + i - 1, 5))
      p(i) = r(i)
    end do
    rr = dot(r, r)
    if (o%iters > 0) call post()
  end if

  do while (it < o%iters)
    call ftest_step(o, it, rank)             ! the cut: the ghost exchange pending
    call MPI_Waitall(4, req, MPI_STATUSES_IGNORE, ierr)
    pl = merge(0.0d0, ghost_recv(1), left == MPI_PROC_NULL)
    pr = merge(0.0d0, ghost_recv(2), right == MPI_PROC_NULL)
    call apply_m(p, pl, pr, q)
    pq = dot(p, q)
    alpha = merge(rr / pq, 0.0d0, abs(pq) > 0)
    x = x + alpha * p
    r = r - alpha * q
    rrn = dot(r, r)
    beta = merge(rrn / rr, 0.0d0, abs(rr) > 0)
    rr = rrn
    p = r + beta * p
    it = it + 1
    if (mod(it, STEP) == 0) then            ! the next implicit time step, warm start
      xl = 0
      xr = 0
      call MPI_Sendrecv(x(1), 1, MPI_DOUBLE_PRECISION, left, 2, xr, 1, MPI_DOUBLE_PRECISION, right, 2, &
                        MPI_COMM_WORLD, MPI_STATUS_IGNORE, ierr)
      call MPI_Sendrecv(x(n), 1, MPI_DOUBLE_PRECISION, right, 3, xl, 1, MPI_DOUBLE_PRECISION, left, 3, &
                        MPI_COMM_WORLD, MPI_STATUS_IGNORE, ierr)
      call apply_m(x, xl, xr, q)
      do i = 1, n
        r(i) = x(i) + 0.01d0 * (1.0d0 + dble(mod(rank * n + i - 1, 5))) - q(i)
      end do
      p = r
      rr = dot(r, r)
    end if
    if (it < o%iters) call post()
  end do

  call ftest_result(fnv(fnv(0_c_int64_t, x), rr), it, rank, nranks)
  call MPI_Finalize(ierr)

contains

  ! each rank sums its part in index order: bit-reproducible for a rank count
  real(8) function dot(a, b)
    real(8), intent(in) :: a(:), b(:)
    integer :: k
    dot = 0
    do k = 1, size(a)
      dot = dot + a(k) * b(k)
    end do
    call MPI_Allreduce(MPI_IN_PLACE, dot, 1, MPI_DOUBLE_PRECISION, MPI_SUM, MPI_COMM_WORLD, ierr)
  end function

  ! q = M v on the local rows; vl, vr: the neighbours' end values
  subroutine apply_m(v, vl, vr, qq)
    real(8), intent(in) :: v(:), vl, vr
    real(8), intent(out) :: qq(:)
    integer :: k
    real(8) :: a, b
    do k = 1, n
      a = merge(v(max(k - 1, 1)), vl, k > 1)
      b = merge(v(min(k + 1, n)), vr, k < n)
      qq(k) = v(k) + CM * (2.0d0 * v(k) - a - b)
    end do
  end subroutine

  subroutine post()
    ghost_send(1) = p(1)
    ghost_send(2) = p(n)
    call MPI_Irecv(ghost_recv(1), 1, MPI_DOUBLE_PRECISION, left, 1, MPI_COMM_WORLD, req(1), ierr)
    call MPI_Irecv(ghost_recv(2), 1, MPI_DOUBLE_PRECISION, right, 0, MPI_COMM_WORLD, req(2), ierr)
    call MPI_Isend(ghost_send(1), 1, MPI_DOUBLE_PRECISION, left, 0, MPI_COMM_WORLD, req(3), ierr)
    call MPI_Isend(ghost_send(2), 1, MPI_DOUBLE_PRECISION, right, 1, MPI_COMM_WORLD, req(4), ierr)
  end subroutine

end program cg
