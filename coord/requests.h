/* requests.h: request files of `tern checkpoint` / `tern migrate` (rank 0;
 * docs/runtime.md, "Job directory").
 *
 * Owner: requests.c writes the request lists, file_flags and the scan clock.
 * A request moves through three lists, in step with the agreement of
 * snapshot.c: seen (read from its file, not yet in an agreement) -> riding
 * (its bits are in the agreement in flight) -> served (that agreement decided
 * a checkpoint, whose outcome is its answer). snapshot.c moves them with the
 * functions below; nothing else touches the lists.
 */
#ifndef TERN_COORD_REQUESTS_H
#define TERN_COORD_REQUESTS_H

#pragma GCC visibility push(hidden)

/* The trigger bits every source reports and the agreement ORs. */
#define TRIG_CKPT 1u   /* take a checkpoint */
#define TRIG_STOP 2u   /* ... and stop the job after it */

/* TRIG_* bits of the requests seen and not yet riding an agreement. */
extern unsigned file_flags;

/* Look for new request files (at most every 50 ms). */
void scan_requests(void);
/* Look now, whenever the last look was (MPI_Finalize answers them all). */
void rescan_requests(void);
/* The requests seen so far ride on the agreement that starts now. */
void requests_board(void);
/* The agreement they rode on is complete: they are being served. */
void requests_decided(void);
/* Answer every request being served with text (one line), ... */
void requests_answer_served(const char *text);
/* ... then forget them. */
void requests_forget_served(void);
/* Seen and not yet riding an agreement. */
int requests_waiting(void);
/* Answer every request still held, in any list (at MPI_Finalize). */
void requests_answer_all(const char *text);

#pragma GCC visibility pop
#endif
