#include "fstyle.h"
! wrap_overhead_f.F90: the cost of tern's Fortran bindings (bench/wrap_overhead.c
! for Fortran). 2 ranks, plain MPI, compiled once per binding style
! (TERN_FSTYLE 77: mpif.h, 8: use mpi_f08; tests/fortran/fstyle.h). Run it
! natively and under LD_PRELOAD=libtern.so (bench/wrap_overhead_f.sh).
! Kernels, each timed --reps times:
!   lat8     8-byte ping-pong with MPI_Send/MPI_Recv: half round trip, us
!   allred8  MPI_Allreduce of one real(8), us per call
! Every repetition is timed through the MPI_* names (which libtern's
! Fortran bindings interpose) and through PMPI_* (Open MPI's Fortran
! profiling names, which they do not), back to back: under the preload the
! ratio is the bindings' whole cost, tern's C wrapper included, in one
! process. Output (rank 0): "KERNEL name median min" via MPI_*, "PKERNEL
! name median min" via PMPI_* (us).
! usage: wrap_overhead_f [--reps R] [--scale S]
program wrap_overhead_f
  MPI_MODULE
  implicit none
  MPI_INCLUDE
  integer :: rank, nranks, ierr, reps, r, nlat, nall
  real(8) :: scale
  real(8), allocatable :: t(:), p(:)
  character(len=32) :: a, v
  integer :: i

  call MPI_Init(ierr)
  call MPI_Comm_rank(MPI_COMM_WORLD, rank, ierr)
  call MPI_Comm_size(MPI_COMM_WORLD, nranks, ierr)
  reps = 7
  scale = 1
  do i = 1, command_argument_count() - 1, 2
    call get_command_argument(i, a)
    call get_command_argument(i + 1, v)
    if (a == '--reps') read(v, *) reps
    if (a == '--scale') read(v, *) scale
  end do
  if (nranks /= 2 .or. reps < 1) then
    if (rank == 0) write(0, '(A)') 'usage: mpirun -np 2 wrap_overhead_f [--reps R] [--scale S]'
    call MPI_Abort(MPI_COMM_WORLD, 2, ierr)
  end if
  allocate(t(reps), p(reps))
  nlat = max(1, int(20000 * scale))
  nall = max(1, int(20000 * scale))

  t(1) = pingpong(.true., nlat / 10 + 1)            ! warm up
  p(1) = pingpong(.false., nlat / 10 + 1)
  do r = 1, reps                                    ! order flipped every rep
    if (mod(r, 2) == 0) p(r) = pingpong(.false., nlat)
    t(r) = pingpong(.true., nlat)
    if (mod(r, 2) == 1) p(r) = pingpong(.false., nlat)
  end do
  call report('lat8')

  t(1) = allred(.true., nall / 10 + 1)
  p(1) = allred(.false., nall / 10 + 1)
  do r = 1, reps
    if (mod(r, 2) == 0) p(r) = allred(.false., nall)
    t(r) = allred(.true., nall)
    if (mod(r, 2) == 1) p(r) = allred(.false., nall)
  end do
  call report('allred8')
  call MPI_Finalize(ierr)

contains

  ! us per half round trip, through MPI_* (interposed) or PMPI_*
  real(8) function pingpong(mpi, n)
    logical, intent(in) :: mpi
    integer, intent(in) :: n
    real(8) :: buf, t0
    integer :: k, peer
    peer = 1 - rank
    buf = 1
    call PMPI_Barrier(MPI_COMM_WORLD, ierr)
    t0 = MPI_Wtime()
    do k = 1, n
      if (rank == 0) then
        if (mpi) then
          call MPI_Send(buf, 1, MPI_DOUBLE_PRECISION, peer, 1, MPI_COMM_WORLD, ierr)
          call MPI_Recv(buf, 1, MPI_DOUBLE_PRECISION, peer, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE, ierr)
        else
          call PMPI_Send(buf, 1, MPI_DOUBLE_PRECISION, peer, 1, MPI_COMM_WORLD, ierr)
          call PMPI_Recv(buf, 1, MPI_DOUBLE_PRECISION, peer, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE, ierr)
        end if
      else
        if (mpi) then
          call MPI_Recv(buf, 1, MPI_DOUBLE_PRECISION, peer, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE, ierr)
          call MPI_Send(buf, 1, MPI_DOUBLE_PRECISION, peer, 1, MPI_COMM_WORLD, ierr)
        else
          call PMPI_Recv(buf, 1, MPI_DOUBLE_PRECISION, peer, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE, ierr)
          call PMPI_Send(buf, 1, MPI_DOUBLE_PRECISION, peer, 1, MPI_COMM_WORLD, ierr)
        end if
      end if
    end do
    pingpong = (MPI_Wtime() - t0) * 1d6 / (2.0d0 * n)
    call PMPI_Bcast(pingpong, 1, MPI_DOUBLE_PRECISION, 0, MPI_COMM_WORLD, ierr)   ! rank 0's clock
  end function

  real(8) function allred(mpi, n)
    logical, intent(in) :: mpi
    integer, intent(in) :: n
    real(8) :: x, y, t0
    integer :: k
    x = 1
    y = 0
    call PMPI_Barrier(MPI_COMM_WORLD, ierr)
    t0 = MPI_Wtime()
    do k = 1, n
      if (mpi) then
        call MPI_Allreduce(x, y, 1, MPI_DOUBLE_PRECISION, MPI_SUM, MPI_COMM_WORLD, ierr)
      else
        call PMPI_Allreduce(x, y, 1, MPI_DOUBLE_PRECISION, MPI_SUM, MPI_COMM_WORLD, ierr)
      end if
      x = y * 0.5d0
    end do
    allred = (MPI_Wtime() - t0) * 1d6 / n
    call PMPI_Bcast(allred, 1, MPI_DOUBLE_PRECISION, 0, MPI_COMM_WORLD, ierr)
  end function

  real(8) function median(x)
    real(8), intent(in) :: x(:)
    real(8) :: s(size(x)), m
    integer :: j, k, n
    n = size(x)
    s = x
    do j = 2, n                  ! insertion sort: a handful of values
      m = s(j)
      k = j - 1
      do while (k >= 1)
        if (s(k) <= m) exit
        s(k + 1) = s(k)
        k = k - 1
      end do
      s(k + 1) = m
    end do
    median = merge(s(n / 2 + 1), 0.5d0 * (s(n / 2) + s(n / 2 + 1)), mod(n, 2) == 1)
  end function

  subroutine report(name)
    character(len=*), intent(in) :: name
    if (rank /= 0) return
    write(*, '(A,A,2(1X,F0.4))') 'KERNEL ', name, median(t), minval(t)
    write(*, '(A,A,2(1X,F0.4))') 'PKERNEL ', name, median(p), minval(p)
    flush(6)
  end subroutine

end program wrap_overhead_f
