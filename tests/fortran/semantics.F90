#include "fstyle.h"
! semantics: what a Fortran program sees of point-to-point MPI, printed by
! rank 0 (3 ranks, no tern calls). Only what MPI guarantees is printed, so
! the transcript is the same with and without LD_PRELOAD=libtern.so
! (tests/protocol/apps/compare_wrapped.sh): status fields and MPI_Get_count,
! an empty message, MPI_PROC_NULL, MPI_ANY_SOURCE / MPI_ANY_TAG, Probe and
! Iprobe, Mprobe/Mrecv and Improbe/Imrecv (message handles), a cancelled
! receive, status arrays of Waitall, and the 1-based indices of Waitany,
! Waitsome and Testany with MPI_UNDEFINED at the end.
program semantics
  MPI_MODULE
  implicit none
  MPI_INCLUDE
  integer :: rank, nranks, ierr
  integer, parameter :: N = 64

  call MPI_Init(ierr)
  call MPI_Comm_rank(MPI_COMM_WORLD, rank, ierr)
  call MPI_Comm_size(MPI_COMM_WORLD, nranks, ierr)
  if (nranks /= 3) then
    if (rank == 0) write(0, '(A)') 'semantics: needs 3 ranks'
    call MPI_Abort(MPI_COMM_WORLD, 2, ierr)
  end if
  if (rank == 0) then
    call receiver()
  else
    call sender()
  end if
  call MPI_Barrier(MPI_COMM_WORLD, ierr)
  if (rank == 0) write(*, '(A)') 'semantics end'
  call MPI_Finalize(ierr)

contains

  subroutine say(what, st, dtype)
    character(len=*), intent(in) :: what
    STATUS, intent(in) :: st
    HANDLE(MPI_Datatype), intent(in) :: dtype
    integer :: cnt
    call MPI_Get_count(st, dtype, cnt, ierr)
    write(*, '(A,A,I0,A,I0,A,I0)') what, ': source ', SOURCE(st), ' tag ', TAG(st), ' count ', cnt
  end subroutine

  subroutine sender()
    real(8) :: d(N), k(7)
    integer :: i
    HANDLE(MPI_Request) :: r(3)
    do i = 1, N
      d(i) = i
    end do
    k = rank
    if (rank == 1) then
      call MPI_Send(d, 5, MPI_DOUBLE_PRECISION, 0, 3, MPI_COMM_WORLD, ierr)      ! short
      call MPI_Send(d, 0, MPI_DOUBLE_PRECISION, 0, 4, MPI_COMM_WORLD, ierr)      ! empty
    end if
    call MPI_Send(k, 1, MPI_DOUBLE_PRECISION, 0, 10, MPI_COMM_WORLD, ierr)          ! any source
    if (rank == 2) call MPI_Send(k, 7, MPI_DOUBLE_PRECISION, 0, 20, MPI_COMM_WORLD, ierr)   ! probe
    if (rank == 1) call MPI_Send(d, 9, MPI_DOUBLE_PRECISION, 0, 30, MPI_COMM_WORLD, ierr)
    if (rank == 2) call MPI_Send(d, 11, MPI_DOUBLE_PRECISION, 0, 31, MPI_COMM_WORLD, ierr)
    if (rank == 1) then   ! the completion calls: three messages, in any order
      do i = 1, 3
        call MPI_Isend(d(i), 1, MPI_DOUBLE_PRECISION, 0, 40 + i, MPI_COMM_WORLD, r(i), ierr)
      end do
      call MPI_Waitall(3, r, MPI_STATUSES_IGNORE, ierr)
      do i = 1, 3
        call MPI_Send(d(i), 2, MPI_DOUBLE_PRECISION, 0, 50 + i, MPI_COMM_WORLD, ierr)
      end do
      do i = 1, 3
        call MPI_Send(d(i), i, MPI_DOUBLE_PRECISION, 0, 60 + i, MPI_COMM_WORLD, ierr)
      end do
    end if
  end subroutine

  subroutine receiver()
    real(8) :: r(N), k(7)
    integer :: src(2), i
    STATUS :: st
    logical :: flag
    HANDLE(MPI_Message) :: msg
    HANDLE(MPI_Request) :: req

    call MPI_Recv(r, N, MPI_DOUBLE_PRECISION, 1, MPI_ANY_TAG, MPI_COMM_WORLD, st, ierr)
    call say('short', st, MPI_DOUBLE_PRECISION)
    call MPI_Recv(r, N, MPI_DOUBLE_PRECISION, MPI_ANY_SOURCE, 4, MPI_COMM_WORLD, st, ierr)
    call say('empty', st, MPI_DOUBLE_PRECISION)
    call MPI_Recv(r, N, MPI_DOUBLE_PRECISION, MPI_PROC_NULL, 9, MPI_COMM_WORLD, st, ierr)
    write(*, '(A,L1,A,L1)') 'proc_null: source is MPI_PROC_NULL ', SOURCE(st) == MPI_PROC_NULL, &
      ', tag is MPI_ANY_TAG ', TAG(st) == MPI_ANY_TAG

    do i = 1, 2   ! which source comes first is MPI's choice: print them sorted
      call MPI_Recv(k, 1, MPI_DOUBLE_PRECISION, MPI_ANY_SOURCE, 10, MPI_COMM_WORLD, st, ierr)
      if (SOURCE(st) /= nint(k(1))) write(*, '(A)') 'FAIL any_source: status and payload disagree'
      src(i) = SOURCE(st)
    end do
    write(*, '(A,I0,A,I0)') 'any_source: from ', minval(src), ' and ', maxval(src)

    call MPI_Probe(MPI_ANY_SOURCE, 20, MPI_COMM_WORLD, st, ierr)
    call say('probe', st, MPI_DOUBLE_PRECISION)
    call MPI_Iprobe(2, 20, MPI_COMM_WORLD, flag, st, ierr)
    write(*, '(A,L1)') 'iprobe after probe: ', flag
    call MPI_Recv(k, 7, MPI_DOUBLE_PRECISION, 2, 20, MPI_COMM_WORLD, st, ierr)
    call say('received after probe', st, MPI_DOUBLE_PRECISION)
    call MPI_Iprobe(MPI_ANY_SOURCE, 20, MPI_COMM_WORLD, flag, MPI_STATUS_IGNORE, ierr)
    write(*, '(A,L1)') 'iprobe after receive: ', flag

    call MPI_Mprobe(1, 30, MPI_COMM_WORLD, msg, st, ierr)
    call say('mprobe', st, MPI_DOUBLE_PRECISION)
    call MPI_Mrecv(r, 9, MPI_DOUBLE_PRECISION, msg, st, ierr)
    write(*, '(A,L1,A,F4.1)') 'mrecv: message null ', msg == MPI_MESSAGE_NULL, ' last ', r(9)
    flag = .false.
    do while (.not. flag)
      call MPI_Improbe(2, 31, MPI_COMM_WORLD, flag, msg, st, ierr)
    end do
    call say('improbe', st, MPI_DOUBLE_PRECISION)
    call MPI_Imrecv(r, 11, MPI_DOUBLE_PRECISION, msg, req, ierr)
    call MPI_Wait(req, st, ierr)
    call say('imrecv', st, MPI_DOUBLE_PRECISION)

    call MPI_Irecv(r, 1, MPI_DOUBLE_PRECISION, 1, 99, MPI_COMM_WORLD, req, ierr)   ! never sent
    call MPI_Cancel(req, ierr)
    call MPI_Wait(req, st, ierr)
    call MPI_Test_cancelled(st, flag, ierr)
    write(*, '(A,L1,A,L1)') 'cancelled: ', flag, ', request null ', req == MPI_REQUEST_NULL
    call completions(r)
  end subroutine

  subroutine completions(r)
    real(8), intent(inout) :: r(N)
    HANDLE(MPI_Request) :: reqs(3)
    STATUSES(3) :: sts
    STATUS :: st
    integer :: i, idx, outcount, ids(3), seen, tags
    logical :: flag

    do i = 1, 3
      call MPI_Irecv(r(i), 1, MPI_DOUBLE_PRECISION, 1, 40 + i, MPI_COMM_WORLD, reqs(i), ierr)
    end do
    call MPI_Waitall(3, reqs, sts, ierr)
    write(*, '(A,3(1X,I0),A,3(1X,I0),A,L1)') 'waitall: tags', (TAG_AT(sts, i), i = 1, 3), &
      ' sources', (SOURCE_AT(sts, i), i = 1, 3), ' all null ', all(reqs == MPI_REQUEST_NULL)

    do i = 1, 3
      call MPI_Irecv(r(i), 2, MPI_DOUBLE_PRECISION, 1, 50 + i, MPI_COMM_WORLD, reqs(i), ierr)
    end do
    seen = 0
    tags = 0
    do
      call MPI_Waitany(3, reqs, idx, st, ierr)
      if (idx == MPI_UNDEFINED) exit
      seen = seen + 2 ** (idx - 1)
      if (TAG(st) == 50 + idx) tags = tags + 1
    end do
    write(*, '(A,L1,A,I0)') 'waitany: indices 1..3 once each ', seen == 7, ', tags that match ', tags

    do i = 1, 3
      call MPI_Irecv(r(i), i, MPI_DOUBLE_PRECISION, 1, 60 + i, MPI_COMM_WORLD, reqs(i), ierr)
    end do
    seen = 0
    tags = 0
    do
      call MPI_Waitsome(3, reqs, outcount, ids, sts, ierr)
      if (outcount == MPI_UNDEFINED) exit
      do i = 1, outcount
        seen = seen + 2 ** (ids(i) - 1)
        if (TAG_AT(sts, i) == 60 + ids(i)) tags = tags + 1
      end do
    end do
    write(*, '(A,L1,A,I0)') 'waitsome: indices 1..3 once each ', seen == 7, ', tags that match ', tags
    call MPI_Testany(3, reqs, idx, flag, MPI_STATUS_IGNORE, ierr)
    write(*, '(A,L1,A,L1)') 'testany on null requests: flag ', flag, ', index undefined ', idx == MPI_UNDEFINED
  end subroutine

end program semantics
