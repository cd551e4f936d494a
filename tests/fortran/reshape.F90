! reshape: restart on a different rank count from Fortran-protected global
! arrays -- tests/protocol/reshape.c in Fortran (use mpi), with a 2-D array.
! G columns (argv 1, default 6000) are block-distributed over the ranks: a
! vector v(ncols) and a matrix w(NROWS, ncols), Fortran's column-major order
! making each rank's columns one contiguous slice of the global array, in
! rank order. Every iteration updates each element from its global index
! only; tern_snapshot() is called with nothing in flight. Rank 0 asks for a
! checkpoint at iteration CKPT (argv 3) and every rank exits at DIE (argv 4)
! in a run that did not restart. After a restart on any rank count the
! global size comes from tern_array_layout(); the answer (a hash of v and w
! gathered on rank 0) does not depend on the rank count.
! usage: reshape G ITERS CKPT DIE      (tests/protocol/reshape.sh drives it)
program reshape
  use mpi
  use tern
  use ftest, only : fnv, hex16, ftest_arg, ftest_exit
  use, intrinsic :: iso_c_binding, only : c_int, c_int64_t
  implicit none
  integer, parameter :: NROWS = 5
  integer :: rank, nranks, ierr, g, iters, ckpt, die, off, cnt, i, k, saved, r
  integer(c_int64_t) :: total
  integer, target :: it
  real(8), allocatable, target :: v(:), w(:, :)
  real(8), allocatable :: vall(:), wall(:, :)
  integer, allocatable :: cnts(:), displs(:)
  logical :: restarted

  call MPI_Init(ierr)
  call MPI_Comm_rank(MPI_COMM_WORLD, rank, ierr)
  call MPI_Comm_size(MPI_COMM_WORLD, nranks, ierr)
  g = ftest_arg(1, 6000)
  iters = ftest_arg(2, 200)
  ckpt = ftest_arg(3, 50)
  die = ftest_arg(4, 100)
  restarted = tern_restarted()
  if (restarted) then
    call tern_array_layout('w', total, saved, ierr)
    if (ierr /= TERN_SUCCESS) call MPI_Abort(MPI_COMM_WORLD, 2, ierr)
    g = int(total / NROWS)
    call tern_array_layout('v', total, saved, ierr)
    if (ierr /= TERN_SUCCESS .or. total /= g) call MPI_Abort(MPI_COMM_WORLD, 2, ierr)
    if (rank == 0) write(*, '(A,I0,A,I0,A,I0)') 'LAYOUT G=', g, ' saved_nranks=', saved, ' now=', nranks
  end if
  call block(rank, off, cnt)
  allocate(v(cnt), w(NROWS, cnt))
  it = 0
  call tern_protect('it', it)              ! the same on every rank
  call tern_protect('v', v)
  call tern_protect('w', w)
  if (restarted) then
    call tern_recover(ierr)
    if (ierr /= TERN_SUCCESS) call MPI_Abort(MPI_COMM_WORLD, 3, ierr)
    if (rank == 0) write(*, '(A,I0,A,I0)') 'RESUMED it=', it, ' epoch=', tern_epoch()
  else
    do i = 1, cnt
      v(i) = mod(off + i - 1, 97)
      do k = 1, NROWS
        w(k, i) = mod((off + i - 1) * NROWS + k, 89)
      end do
    end do
  end if
  do while (it < iters)
    if (.not. restarted .and. it == die) call ftest_exit(42_c_int)
    if (.not. restarted .and. it == ckpt .and. rank == 0) call tern_request_checkpoint()
    call tern_snapshot()
    do i = 1, cnt
      v(i) = 0.5d0 * v(i) + sin(dble(off + i - 1) * 0.001d0 + dble(it))
      do k = 1, NROWS
        w(k, i) = 0.25d0 * w(k, i) + cos(dble(k) + dble(off + i - 1) * 0.01d0 + dble(it))
      end do
    end do
    it = it + 1
  end do

  allocate(cnts(nranks), displs(nranks), vall(g), wall(NROWS, g))
  do r = 0, nranks - 1
    call block(r, displs(r + 1), cnts(r + 1))
  end do
  call MPI_Gatherv(v, cnt, MPI_DOUBLE_PRECISION, vall, cnts, displs, MPI_DOUBLE_PRECISION, 0, &
                   MPI_COMM_WORLD, ierr)
  call MPI_Gatherv(w, NROWS * cnt, MPI_DOUBLE_PRECISION, wall, NROWS * cnts, NROWS * displs, &
                   MPI_DOUBLE_PRECISION, 0, MPI_COMM_WORLD, ierr)
  if (rank == 0) write(*, '(A,A)') 'RESULT ', hex16(fnv(fnv(0_c_int64_t, vall), wall))
  call MPI_Finalize(ierr)

contains


  ! block distribution: rank r owns columns off+1 .. off+cnt
  subroutine block(r, o, c)
    integer, intent(in) :: r
    integer, intent(out) :: o, c
    integer :: q, m
    q = g / nranks
    m = mod(g, nranks)
    c = q + merge(1, 0, r < m)
    o = r * q + min(r, m)
  end subroutine

end program reshape
