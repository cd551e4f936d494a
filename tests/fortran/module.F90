! module: the module tern with every usual type, kind and rank (use mpi).
! Protects an integer(4) matrix, an integer(8) vector, a real(4) 3-D array,
! a real(8) scalar, complex(4) and complex(8) arrays, logicals, a derived
! type and characters; updates each every iteration from the iteration
! number; rank 0 asks for a checkpoint at CKPT and every rank exits at DIE in
! a run that did not restart. The RESULT hash over all of them must be the
! uninterrupted run's after the restart (tests/protocol/reshape.sh drives it,
! here on the same rank count). Before that, errors come back as
! TERN_ERROR in ierror: a bad name, a strided section, an unknown name.
! usage: module G ITERS CKPT DIE   (G is ignored; reshape.sh's interface)
program module_test
  use mpi
  use tern
  use ftest, only : fnv, hex16, ftest_check, ftest_arg, ftest_exit
  use, intrinsic :: iso_c_binding, only : c_int, c_int64_t
  implicit none
  type :: pair                 ! no padding: its bytes are hashed
    integer(8) :: id
    real(8) :: x
  end type
  integer :: rank, ierr, iters, ckpt, die, k
  integer, target :: it = 0
  integer(4), target :: i4(3, 2) = 0
  integer(8), target :: i8(5) = 0
  real(4), target :: r4(2, 2, 2) = 0
  real(8), target :: r8 = 0
  complex(4), target :: c4(3) = 0
  complex(8), target :: c8(2, 2) = 0
  logical, target :: l(4) = .false.
  type(pair), target :: d(3) = pair(0_8, 0d0)
  character(len=5), target :: ch(2) = ''
  integer(c_int64_t) :: h
  logical :: restarted

  call MPI_Init(ierr)
  call MPI_Comm_rank(MPI_COMM_WORLD, rank, ierr)
  iters = ftest_arg(2, 200)
  ckpt = ftest_arg(3, 50)
  die = ftest_arg(4, 100)
  call tern_protect('bad name!', r8, ierr)
  call ftest_check(ierr == TERN_ERROR, 'a bad name was accepted')
  call tern_protect('section', i8(1:5:2), ierr)
  call ftest_check(ierr == TERN_ERROR, 'a strided section was accepted')
  call tern_unprotect('nothing', ierr)
  call ftest_check(ierr == TERN_ERROR, 'tern_unprotect of an unknown name succeeded')
  call tern_protect('it', it, ierr)
  call ftest_check(ierr == TERN_SUCCESS, 'tern_protect it')
  call tern_protect('i4', i4)
  call tern_protect('i8', i8)
  call tern_protect('r4', r4)
  call tern_protect('r8', r8)
  call tern_protect('c4', c4)
  call tern_protect('c8', c8)
  call tern_protect('l', l)
  call tern_protect('d', d)
  call tern_protect('ch', ch)
  restarted = tern_restarted()
  if (restarted) then
    call tern_recover(ierr)
    call ftest_check(ierr == TERN_SUCCESS, 'tern_recover')
    if (rank == 0) write(*, '(A,I0,A,I0)') 'RESUMED it=', it, ' epoch=', tern_epoch()
  end if
  do while (it < iters)
    if (.not. restarted .and. it == die) call ftest_exit(42_c_int)
    if (.not. restarted .and. it == ckpt .and. rank == 0) call tern_request_checkpoint()
    call tern_snapshot()
    ! kept below a modulus: i4 * 3 and i8 * 7 overflowed (signed overflow is
    ! undefined; UBSan stopped it) after some 20 iterations
    i4 = mod(i4 * 3 + it + rank, 1000003)
    i8 = mod(i8 * 7 + int(it, 8) ** 2, 1000000000039_8)
    r4 = r4 * 0.5 + sin(real(it))
    r8 = r8 * 0.25d0 + cos(dble(it + rank))
    c4 = c4 * (0.5, 0.25) + cmplx(it, rank, kind=4)
    c8 = c8 * (0.25d0, 0.5d0) + cmplx(rank, it, kind=8)
    l = [(mod(it + k, 3) == 0, k = 1, 4)]
    d = [(pair(d(k)%id + k * it, d(k)%x * 0.5d0 + k), k = 1, 3)]
    write(ch(1), '(I5)') mod(it * 31, 99999)
    ch(2) = ch(1)(5:5) // ch(2)(1:4)
    it = it + 1
  end do
  h = fnv(fnv(fnv(fnv(fnv(fnv(fnv(fnv(fnv(0_c_int64_t, i4), i8), r4), r8), c4), c8), l), d), ch)
  call report(h)
  call MPI_Finalize(ierr)

contains


  subroutine report(mine)
    integer(c_int64_t), intent(in) :: mine
    integer(c_int64_t) :: all(64)
    integer :: n
    call MPI_Comm_size(MPI_COMM_WORLD, n, ierr)
    call MPI_Gather(mine, 1, MPI_INTEGER8, all, 1, MPI_INTEGER8, 0, MPI_COMM_WORLD, ierr)
    if (rank == 0) write(*, '(A,A)') 'RESULT ', hex16(fnv(0_c_int64_t, all(1:n)))
  end subroutine

end program module_test
