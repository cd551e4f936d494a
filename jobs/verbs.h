/* The tern command's verbs.
 *
 * Each part of tern contributes its verbs through a verbs.def file in its own
 * folder (storage/verbs.def, dumper/verbs.def, jobs/verbs.def), one line per
 * verb:  TERN_VERB(name, function, "one-line summary")
 * The command (jobs/, the top of the stack) lists them; the parts below
 * implement them against common/cli.h and never include this header.
 */
#ifndef TERN_JOBS_VERBS_H
#define TERN_JOBS_VERBS_H

#include "cli.h"

#define TERN_VERB(name, fn, summary) int fn(int argc, char **argv);
#include "verbs_all.def"
#undef TERN_VERB

#endif
