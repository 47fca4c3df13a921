/*
 * engine/verify.h
 *   run dir -> VERIFY -> bykey -> verify-<time>/: `tally verify RUN_DIR`,
 *   after a repair: reads again, on the same systems and with the same
 *   spec, exactly the keys the run found different (from its diff file),
 *   and tells per check how many are now resolved, still different the
 *   same way, or different in a new way.
 *
 * RUN_DIR is any directory holding a finished run's report.json and
 * diff.ndjson.zst (an --out directory, or one run's directory in it).
 * The spec is the file report.json names (spec_file, as the run was given
 * it, so relative to where it ran) unless --spec says otherwise; when its
 * XXH3-128 is not report.json's spec_hash, verify refuses (exit 2): the
 * keys and columns may mean something else now.
 *
 * Outputs go into RUN_DIR/verify-<UTC time>/ (a suffix -2, -3... when
 * that exists already), through struct outdir: written under a temporary
 * name, then renamed, report.json last; the run's own files are only
 * read. report.json follows docs/verify.schema.json; diff.ndjson.zst holds
 * each difference still there, as it is now, with "verify": "same" or
 * "new".
 */
#ifndef TALLY_VERIFY_H
#define TALLY_VERIFY_H

#include <stdbool.h>
#include <stddef.h>

struct verify_opts {
	const char *spec_path;      /* --spec, or NULL: report.json's spec_file */
	bool quiet;
	int connect_timeout;        /* seconds */
	double statement_timeout;   /* seconds, 0: none */
	size_t sort_budget;
};

void verify_opts_init(struct verify_opts *o);

/*
 * Verifies the run in run_dir; returns the exit status: 0 every
 * difference resolved, 1 some remain, 2 trouble (printed on stderr).
 */
int verify_run(const char *run_dir, const struct verify_opts *o);

#endif
