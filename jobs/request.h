/* request.h: asking a running job for a checkpoint: a request file in its
 * directory, answered by libtern at the job's next snapshot point
 * (docs/runtime.md). */
#ifndef TERN_JOBS_REQUEST_H
#define TERN_JOBS_REQUEST_H

#include <stdint.h>

#include "jobdir.h"

typedef struct jobs_request_result {
    int status;                 /* 0 committed, 1 failed, 2 no request, 3 timeout, 4 job gone */
    uint64_t epoch;
    char path[4096];
    char reason[1024];          /* after "DIR: " in messages, but: */
    int reason_names_path;      /* reason is the whole message ("DIR/FILE: ...") */
} jobs_request_result;

/* what: "checkpoint" or "checkpoint-and-stop". Waits up to timeout seconds
 * (less when the job, started on this host, exits) and returns res->status.
 * The answer is read as every file of d is (jobdir_read): a link or a file
 * of someone else's is refused, status 2. */
int jobs_request(const jobdir *d, const jobfile *jf, const char *what,
                 double timeout, jobs_request_result *res);

#endif
