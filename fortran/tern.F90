! tern.F90: the Fortran module `tern`, tern.h's API for Fortran codes.
!
!   use tern
!   call tern_protect("u", u)            ! any type, kind and rank; TARGET
!   if (tern_restarted()) call tern_recover()
!   do ...
!     call tern_snapshot()               ! collective over MPI_COMM_WORLD
!
! Every subroutine has an optional last argument ierror, as MPI's have:
! TERN_SUCCESS (0), or TERN_ERROR (-1) after tern printed one line naming
! the rank and the cause on stderr. Without ierror an error is only that
! line (the C API returns -1 and carries on; docs/api.md, "Fortran").
!
! Protected variables must have the TARGET attribute (or be module / SAVE
! variables): tern writes them at tern_recover() through the address it
! registered, which the compiler must not assume unchanged.
module tern
  use, intrinsic :: iso_c_binding, only : c_int, c_int64_t, c_char, c_null_char
  implicit none
  private
  public :: tern_protect, tern_unprotect, tern_snapshot, tern_request_checkpoint
  public :: tern_restarted, tern_recover, tern_array_layout, tern_epoch

  integer, parameter, public :: TERN_SUCCESS = 0, TERN_ERROR = -1

  interface
    ! tern_f.c: the array's descriptor gives its address, size and type
    integer(c_int) function c_protect(name, array) bind(C, name="tern_f_protect")
      import :: c_int, c_char
      character(kind=c_char), dimension(*), intent(in) :: name
      type(*), dimension(..), intent(in) :: array
    end function
    ! tern.h
    integer(c_int) function c_unprotect(name) bind(C, name="tern_unprotect")
      import :: c_int, c_char
      character(kind=c_char), dimension(*), intent(in) :: name
    end function
    integer(c_int) function c_snapshot() bind(C, name="tern_snapshot")
      import :: c_int
    end function
    integer(c_int) function c_request_checkpoint() bind(C, name="tern_request_checkpoint")
      import :: c_int
    end function
    integer(c_int) function c_restarted() bind(C, name="tern_restarted")
      import :: c_int
    end function
    integer(c_int) function c_recover() bind(C, name="tern_recover")
      import :: c_int
    end function
    integer(c_int) function c_array_layout(name, global_count, saved_nranks) &
        bind(C, name="tern_array_layout")
      import :: c_int, c_int64_t, c_char
      character(kind=c_char), dimension(*), intent(in) :: name
      integer(c_int64_t), intent(out) :: global_count
      integer(c_int), intent(out) :: saved_nranks
    end function
    integer(c_int64_t) function c_epoch() bind(C, name="tern_epoch")
      import :: c_int64_t
    end function
  end interface

contains

  ! a name as C sees it: Fortran's trailing blanks are not part of it
  pure function cname(name) result(s)
    character(len=*), intent(in) :: name
    character(kind=c_char, len=len_trim(name) + 1) :: s
    s = trim(name) // c_null_char
  end function

  subroutine set_ierror(rc, ierror)
    integer(c_int), intent(in) :: rc
    integer, optional, intent(out) :: ierror
    if (present(ierror)) ierror = merge(TERN_SUCCESS, TERN_ERROR, rc >= 0)
  end subroutine

  ! Register array (contiguous, of any intrinsic or derived type, any rank,
  ! a scalar too) under name. On every rank the same names with the same
  ! element type make one global dataset, restartable on another rank count.
  subroutine tern_protect(name, array, ierror)
    character(len=*), intent(in) :: name
    type(*), dimension(..), intent(in), target :: array
    integer, optional, intent(out) :: ierror
    call set_ierror(c_protect(cname(name), array), ierror)
  end subroutine

  subroutine tern_unprotect(name, ierror)
    character(len=*), intent(in) :: name
    integer, optional, intent(out) :: ierror
    call set_ierror(c_unprotect(cname(name)), ierror)
  end subroutine

  ! A point where the job can resume; collective over MPI_COMM_WORLD.
  ! committed: a checkpoint was committed here. ierror: TERN_ERROR when one
  ! was attempted and failed (the job can go on; the previous one is valid).
  subroutine tern_snapshot(committed, ierror)
    logical, optional, intent(out) :: committed
    integer, optional, intent(out) :: ierror
    integer(c_int) :: rc
    rc = c_snapshot()
    if (present(committed)) committed = rc == 1
    call set_ierror(rc, ierror)
  end subroutine

  subroutine tern_request_checkpoint(ierror)
    integer, optional, intent(out) :: ierror
    call set_ierror(c_request_checkpoint(), ierror)
  end subroutine

  ! This run started from a checkpoint (valid after MPI_Init).
  logical function tern_restarted()
    tern_restarted = c_restarted() /= 0
  end function

  ! Collective: the saved contents into every protected variable, the
  ! in-flight messages and pending requests back.
  subroutine tern_recover(ierror)
    integer, optional, intent(out) :: ierror
    call set_ierror(c_recover(), ierror)
  end subroutine

  ! After a restart: total elements of a saved global array and the rank
  ! count it was written with (to size arrays on a different rank count).
  subroutine tern_array_layout(name, global_count, saved_nranks, ierror)
    character(len=*), intent(in) :: name
    integer(c_int64_t), intent(out) :: global_count
    integer, intent(out) :: saved_nranks
    integer, optional, intent(out) :: ierror
    integer(c_int64_t) :: g
    integer(c_int) :: n, rc
    g = 0
    n = 0
    rc = c_array_layout(cname(name), g, n)
    global_count = g
    saved_nranks = n
    call set_ierror(rc, ierror)
  end subroutine

  ! The epoch of the checkpoint this run restarted from (0 if none).
  integer(c_int64_t) function tern_epoch()
    tern_epoch = c_epoch()
  end function

end module tern
