/*
 * engine/run.h
 *   RUN: drives `tally check` (plan, chunks on workers, reconcile, then
 *   assemble or, for a shard, keep the parts); `tally merge` is combine.h.
 */
#ifndef TALLY_RUN_H
#define TALLY_RUN_H

#include <stdbool.h>
#include <stddef.h>

#include "guard.h"
#include "spec.h"

/*
 * How a check compares (--mode). stream reads every row of both sides and
 * compares them; counts only counts rows per chunk in each server;
 * pushdown compares digests computed in the servers and streams only the
 * ranges that differ (engine/chunkpush.h); auto, the default, streams a
 * check that cannot be digested alike in both servers or is small, and
 * otherwise chooses window by window by what each way costs
 * (engine/automode.h); the report says which ran and why.
 */
enum run_mode { MODE_STREAM = 0, MODE_COUNTS, MODE_PUSHDOWN, MODE_AUTO };

const char *run_mode_name(enum run_mode m);

struct run_opts {
	enum run_mode mode;             /* --mode; MODE_AUTO by default */
	const char *out_dir;            /* OUT, where each run makes its directory (runs.h); NULL: tally-out/<spec name> */
	unsigned keep;                  /* --keep: runs left in OUT after this one; 0: all */
	char **only;                    /* --check names, borrowed */
	size_t nonly;
	bool quiet;                     /* errors only */
	bool progress;                  /* progress lines even when stderr is not a terminal */
	bool compress_repair;           /* write repair scripts as .sql.zst */
	const char *ticket;             /* --ticket ID for the change order, borrowed; NULL: none */
	bool resume;                    /* continue the newest unfinished run in out_dir */
	bool fail_fast;                 /* stop at the first check in error (else the others go on) */
	int connect_timeout;            /* seconds */
	unsigned jobs;                  /* workers, >= 1 */
	unsigned shard_index;           /* with shard_count > 1: this run's share */
	unsigned shard_count;
	double max_rate;                /* rows per second read, both sides together; 0: no limit */
	long max_load;                  /* pause while a server is busier; 0: never */
	double page_seconds;            /* target time of one page query */
	long chunk_rows;                /* default chunk size when the spec gives none */
	size_t sort_budget;             /* bytes per local sort */
	double statement_timeout;       /* seconds per statement, 0: none (never beyond the role's) */
	bool statement_timeout_forced;  /* given on the command line: wins over the role's limit */
	double lock_timeout;            /* seconds to wait for a lock, at start and in every session */
	double yield_after;             /* let go when a session waited this long on tally; 0: never */
	enum lockwait on_lock_wait;     /* then stop (resumable), or wait for it and go on */
	double recheck;                 /* seconds to wait before reading the differences again; < 0: never */
};

/* Fills the defaults. */
void run_opts_init(struct run_opts *o);

/* Runs the spec and returns the exit status: 0 consistent, 1 differences, 2 trouble. */
int run_spec(const struct spec *spec, const char *spec_text, size_t spec_len, const struct run_opts *opts);

#endif
