/*
 * engine/run_int.h
 *   Private to the run: run.c (the coordinator), run_plan.c (planning,
 *   run.json, stamps) and run_pool.c (workers and progress). Nothing else
 *   includes it.
 *
 *
 * Parallel operation works like this. The coordinator (the main thread)
 * opens one session per (system, side), plans every check (describing
 * both sides, asking the source for chunk boundaries) before reading a
 * row, writes run.json, and exports each PostgreSQL session's snapshot.
 * The chunks to do (this shard's, not already done when resuming) become
 * a task list. N workers, each with sessions of its own opened on the
 * exported snapshots, take tasks one at a time and leave each chunk's
 * part in the work directory; the coordinator meanwhile draws progress.
 * A lost connection makes the worker reconnect and redo the chunk, up to
 * three times, waiting 1, 2 then 4 seconds. A failure that belongs to
 * one check (its table or query, a connection lost for good) gives that
 * check an error of its own (work_write_error): the worker drops its
 * sessions, the check's other chunks are skipped, the other checks go on.
 * Any other failure (or any failure, with --fail-fast) stops every worker
 * after its current chunk and leaves the finished parts for --resume.
 * When all parts are there, checks whose chunks may disagree on
 * membership are reconciled, and the outputs are assembled from the parts
 * (a shard keeps its parts for tally merge instead). A run with checks in
 * error keeps its work directory: --resume redoes those checks only.
 *
 * DDL. The coordinator's sessions lock every compared table when they
 * open (before the snapshot, on PostgreSQL) and keep the locks until the
 * workers are done. Meanwhile the coordinator, once a second, keeps its
 * sessions from an idle timeout and looks through the guard (guard.h) for
 * sessions waiting on a lock of tally's; after --yield-after it lets go
 * (watch_sessions, run_chunks): workers stop and are cancelled, the
 * coordinator's sessions close, and the run either stops (resumable) or,
 * with --on-lock-wait wait, opens again behind the waiter and redoes the
 * unfinished chunks. Table stamps taken when the run began are compared
 * after every wait and at the end: a table rewritten under the run gives
 * its check no verdict ("tables that change under a run" below).
 *
 * PostgreSQL workers see the coordinator's snapshot: the run compares one
 * state of each PostgreSQL system. MariaDB cannot share a snapshot: each
 * worker session takes its own when it opens, so rows changed while the
 * workers start may be seen by some chunks and not others (report.json
 * records each side's position for the record).
 */
#ifndef TALLY_RUN_INT_H
#define TALLY_RUN_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "../connectors/connector.h"
#include "base/buf.h"
#include "canon.h"
#include "chunkrun.h"
#include "outdir.h"
#include "plan.h"
#include "repair.h"
#include "report.h"
#include "run.h"
#include "wfkeys.h"

#define MAX_RETRIES 3
#define MAX_WAITS 5             /* --on-lock-wait wait: times the run lets go and waits */

struct session {
	const struct spec_system *sys;
	int side;
	struct conn *conn;
	char *txsnap;               /* exported snapshot (coordinator sessions) */
	char *position;
};

struct sessions {
	struct session *s;
	size_t n;
};

struct task {
	size_t check;
	size_t chunk;
};

struct run;

struct worker {
	struct run *r;
	pthread_t th;
	struct sessions ss;
	struct sorter *sorters[2];  /* owned: the local sorts of source and target, kept across chunks */
};

/*
 * The run, held by the coordinator. Workers share it: lock guards the
 * task list's next, failed, err and active; rows_done, chunks_done and
 * stop are atomic; the rest is written before the workers start.
 */
struct run {
	const struct spec *spec;
	const struct run_opts *opts;
	struct outdir out;          /* the run's directory (runs.h) */
	char *prev_run;             /* owned: the previous run of the spec (runs_previous), or NULL */
	char *prev_diff;            /* owned: its diff file */
	json_t *prev_checks;        /* owned: its history line's checks */
	struct sessions coord;
	size_t n;
	struct check_result *res;   /* report.checks */
	struct plan *plans;
	bool *planned;
	struct chunkplan *cps;
	struct repair_info **rinfo;
	const char **no_repair;
	bool *push;                 /* --mode pushdown: the check runs so */
	struct auto_meter **meter;  /* --mode auto: a check that may digest, its meter; else NULL */
	enum digest_hash *push_hash;    /* with push: the hash both sides digest with */
	char **mode_reason;         /* owned: why it runs in another mode than asked, or NULL */
	json_t *runjson;
	struct task *tasks;
	size_t ntasks, next;
	pthread_mutex_t lock;
	pthread_cond_t idle;        /* signalled when a worker ends */
	bool failed;
	struct tally_err err;
	uint64_t rows_done;
	uint64_t chunks_done;
	int active;
	double rows_total;
	struct ratelimit rate;
	struct run_report report;
	double t0;
	/* DDL: see "tables that change under a run" in run_plan.c. */
	struct guard guard;
	bool skip_locks;            /* TALLY_TEST_SKIP_LOCKS, for tests of the stamps only */
	char *(*stamp)[2];          /* [check][side]: the table's stamp when the run began; NULL: none */
	bool *errored;              /* [check]: no verdict; its error is in the work directory */
	bool *fresh;                /* [check]: its run.json entry is (re)written: planned again on
	                               --resume, or in error while being planned */
	int stop;                   /* set (atomically): workers stop at the next row */
	bool yielded;               /* the run let go of its locks for r->yield */
	struct guard_yield yield;
	/* Coordinator sessions that could not be opened: later checks get the same error at once. */
	struct connfail { const struct spec_system *sys; int side; struct tally_err err; } *connfail;
	size_t nconnfail;
	/* Workflows (run_workflow.c): [workflow] key sets, [check] a step's filter (keys NULL: not a step). */
	struct wfkeys *wfk;
	struct wf_filter *wff;
};

/* engine/run.c */
struct session *run_session_find(struct sessions *ss, const struct spec_system *sys, int side);
int run_session_get(struct run *r, struct sessions *ss, const struct spec_system *sys, int side,
                    const char *txsnap, struct conn **out, struct tally_err *err);
void run_session_drop(struct run *r, struct session *s);
void run_sessions_close(struct run *r, struct sessions *ss);

/* engine/run_plan.c */
json_t *run_json(struct run *r, const char *spec_hash);
/* Check i's entry of run.json (a check in error while being planned has no key, columns or chunks). */
json_t *run_check_json(struct run *r, size_t i);
/* Is e an error of one check, which the other checks go on after (unless --fail-fast)? */
bool run_check_own_error(const struct run *r, const struct tally_err *e);
/*
 * Check i has no verdict, for e (given the check's name as context): kept in
 * the work directory; -1 with err set when the directory cannot keep it.
 * The coordinator's, or a worker's holding r->lock.
 */
int run_check_error(struct run *r, size_t i, struct tally_err *e, struct tally_err *err);
const struct spec_side *run_check_side(const struct run *r, size_t i, int s);
int run_stamps_check(struct run *r, const char *when, struct tally_err *err);
/* Reads every compared table's stamp before any snapshot is taken; failures are left to planning. */
void run_stamps_early(struct run *r);
int run_check_plan(struct run *r, size_t i, json_t *resumed, struct tally_err *err);

/* engine/run_workflow.c */
/* run.json's "workflows": those whose steps all run. */
json_t *run_workflows_json(const struct run *r);
/*
 * Reads the keys of every workflow whose steps all run (or, resumed,
 * takes them from workflows.json), keeps them in the work directory and
 * sets each step's filter. After planning, before the workers start.
 */
int run_workflows_prepare(struct run *r, const char *out, bool resumed, struct tally_err *err);
void run_workflows_release(struct run *r);

/* engine/run_recheck.c: --recheck, before assembling (this file's header says how). */
int run_recheck(struct run *r, struct tally_err *err);

/* engine/run_pool.c */
void run_env_for(struct run *r, size_t check, struct conn *cn[2], struct chunk_env *env);
int run_workers(struct run *r);
/* Sets err to "cannot start worker N: REASON" for pthread_create()'s code; returns -1. */
int run_worker_start_error(struct tally_err *err, unsigned worker, int code);

#endif
