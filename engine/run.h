/*
 * engine/run.h
 *   RUN: drives one `tally check`: opens the sessions, and for each check
 *   builds the plan, streams both sides through the merge into the diff
 *   file, then writes report.json and prints the summary. Owns the run's
 *   lifetime objects (sessions, output directory, results).
 */
#ifndef TALLY_RUN_H
#define TALLY_RUN_H

#include <stdbool.h>
#include <stddef.h>

#include "spec.h"

struct run_opts {
	const char *out_dir;            /* NULL: tally-out/<spec name> */
	char **only;                    /* --check names, borrowed */
	size_t nonly;
	bool quiet;                     /* errors only */
	bool compress_repair;           /* write repair scripts as .sql.zst */
	int connect_timeout;            /* seconds */
};

/* Runs the spec and returns the exit status: 0 consistent, 1 differences, 2 trouble. */
int run_spec(const struct spec *spec, const struct run_opts *opts);

#endif
