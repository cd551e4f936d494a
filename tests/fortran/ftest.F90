#include "fstyle.h"
! ftest.F90: what the Fortran workloads of tests/fortran share, the Fortran
! twin of tests/protocol/apps/app_common.h (compiled once per binding style):
!   app [--iters N] [--size S] [--sleep-us U] [--ckpt-at K] [--prepost]
!   --ckpt-at K  rank 0 calls tern_request_checkpoint() before the snapshot
!                point of iteration K, in the first run only
!   --prepost    (ring) the receive posted across the snapshot point too;
!                (halo2d) persistent requests
! Output (rank 0): RESUMED it=K epoch=E after tern_recover(); SNAPSHOT it=K
! rc=R when a checkpoint was committed (1) or failed (-1); RESULT <16 hex
! digits>, an FNV-1a hash of every rank's final state in rank order; ITERS n.
! tests/protocol/restart_exact.sh runs them.
module ftest
  MPI_MODULE
  use tern
  use, intrinsic :: iso_c_binding, only : c_int, c_int64_t
  implicit none
  MPI_INCLUDE
  private
  public :: opts, fnv, ftest_start, ftest_step, ftest_recover, ftest_result, ftest_check, hex16
  public :: ftest_arg, ftest_exit

  type, public :: opts
    integer :: iters = 100000, size = 8, sleep_us = 0, ckpt_at = 0
    logical :: prepost = .false.
  end type

  interface
    ! ftest_c.c: h = 0 starts a new hash
    integer(c_int64_t) function fnv(h, a) bind(C, name="ftest_fnv")
      import :: c_int64_t
      integer(c_int64_t), value :: h
      type(*), dimension(..), intent(in) :: a
    end function
    integer(c_int) function c_usleep(us) bind(C, name="usleep")
      import :: c_int
      integer(c_int), value :: us
    end function
    ! a rank that dies: no MPI_Finalize, no Fortran cleanup
    subroutine ftest_exit(status) bind(C, name="_exit")
      import :: c_int
      integer(c_int), value :: status
    end subroutine
  end interface

contains

  subroutine ftest_check(ok, what)
    logical, intent(in) :: ok
    character(len=*), intent(in) :: what
    integer :: rank, ierr
    if (ok) return
    call MPI_Comm_rank(MPI_COMM_WORLD, rank, ierr)
    write(0, '(A,I0,A,A)') 'rank ', rank, ': ', what
    call MPI_Abort(MPI_COMM_WORLD, 3, ierr)
  end subroutine

  integer function number(i)
    integer, intent(in) :: i
    character(len=32) :: v
    integer :: ios
    call get_command_argument(i, v)
    read(v, *, iostat=ios) number
    call ftest_check(ios == 0 .and. number >= 0, 'a non-negative integer expected, got ' // trim(v))
  end function

  ! the i-th positional argument as an integer, default when absent
  integer function ftest_arg(i, default)
    integer, intent(in) :: i, default
    character(len=32) :: v
    integer :: ios
    ftest_arg = default
    if (command_argument_count() < i) return
    call get_command_argument(i, v)
    read(v, *, iostat=ios) ftest_arg
    if (ios /= 0) ftest_arg = default
  end function

  ! MPI_Init, this rank, the job size and the command line over o's defaults
  subroutine ftest_start(o, rank, nranks)
    type(opts), intent(inout) :: o
    integer, intent(out) :: rank, nranks
    integer :: ierr, i
    character(len=32) :: a
    call MPI_Init(ierr)
    call MPI_Comm_rank(MPI_COMM_WORLD, rank, ierr)
    call MPI_Comm_size(MPI_COMM_WORLD, nranks, ierr)
    i = 1
    do while (i <= command_argument_count())
      call get_command_argument(i, a)
      select case (a)
      case ('--iters')
        o%iters = number(i + 1)
      case ('--size')
        o%size = number(i + 1)
      case ('--sleep-us')
        o%sleep_us = number(i + 1)
      case ('--ckpt-at')
        o%ckpt_at = number(i + 1)
      case ('--prepost')
        o%prepost = .true.
        i = i - 1
      case default
        call ftest_check(.false., 'unknown argument ' // trim(a))
      end select
      i = i + 2
    end do
  end subroutine

  ! the top of an iteration: the checkpoint request of --ckpt-at (first run
  ! only), the snapshot point (SNAPSHOT line when something happened), then
  ! --sleep-us so that a test can trigger a checkpoint in the middle of a run
  subroutine ftest_step(o, it, rank)
    type(opts), intent(in) :: o
    integer, intent(in) :: it, rank
    logical :: committed
    integer :: ierr
    if (tern_epoch() == 0 .and. o%ckpt_at > 0 .and. it == o%ckpt_at .and. rank == 0) then
      call tern_request_checkpoint(ierr)
      call ftest_check(ierr == TERN_SUCCESS, 'tern_request_checkpoint')
    end if
    call tern_snapshot(committed, ierr)
    if (rank == 0 .and. (committed .or. ierr /= TERN_SUCCESS)) then
      write(*, '(A,I0,A,I0)') 'SNAPSHOT it=', it, ' rc=', merge(1, -1, committed)
      flush(6)
    end if
    if (o%sleep_us > 0) then
      if (c_usleep(int(o%sleep_us, c_int)) /= 0) continue
    end if
  end subroutine

  ! after a restart: the protected state back; says where the run resumes
  logical function ftest_recover(it, rank)
    integer, intent(in) :: it, rank
    integer :: ierr
    ftest_recover = tern_restarted()
    if (.not. ftest_recover) return
    call tern_recover(ierr)
    call ftest_check(ierr == TERN_SUCCESS, 'tern_recover')
    if (rank == 0) then
      write(*, '(A,I0,A,I0)') 'RESUMED it=', it, ' epoch=', tern_epoch()
      flush(6)
    end if
  end function

  function hex16(h) result(s)
    integer(c_int64_t), intent(in) :: h
    character(len=16) :: s
    character(len=16), parameter :: digits = '0123456789abcdef'
    integer :: i, d
    do i = 1, 16
      d = int(ibits(h, 64 - 4 * i, 4))
      s(i:i) = digits(d + 1:d + 1)
    end do
  end function

  ! every rank's hash to rank 0, combined in rank order
  subroutine ftest_result(h, iters, rank, nranks)
    integer(c_int64_t), intent(in) :: h
    integer, intent(in) :: iters, rank, nranks
    integer(c_int64_t), allocatable :: all(:)
    integer :: ierr
    allocate(all(nranks))
    call MPI_Gather(h, 1, MPI_INTEGER8, all, 1, MPI_INTEGER8, 0, MPI_COMM_WORLD, ierr)
    if (rank == 0) then
      write(*, '(A,A)') 'RESULT ', hex16(fnv(0_c_int64_t, all))
      write(*, '(A,I0)') 'ITERS ', iters
      flush(6)
    end if
  end subroutine

end module ftest
