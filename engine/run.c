/*
 * engine/run.c
 *   RUN: connector -> plan -> chunk -> chunkrun (workers) -> assemble: the
 *   coordinator of `tally check`: its sessions, resuming, the chunks left,
 *   letting go for DDL and opening again, reconciling, assembling.
 *   How the pieces work together is told in engine/run_int.h; planning
 *   and stamps are in run_plan.c, the workers and progress in run_pool.c.
 */
#include "run_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "assemble.h"
#include "automode.h"
#include "chunk.h"
#include "runs.h"
#include "tally_config.h"
#include "work.h"

const char *run_mode_name(enum run_mode m)
{
	switch (m) {
	case MODE_COUNTS: return "counts";
	case MODE_PUSHDOWN: return "pushdown";
	case MODE_AUTO: return "auto";
	default: return "stream";
	}
}

void run_opts_init(struct run_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->mode = MODE_AUTO;
	o->connect_timeout = 10;
	o->jobs = 1;
	o->page_seconds = 1.0;
	o->chunk_rows = 100000;
	o->sort_budget = 8u << 20;
	o->statement_timeout = 600;
	o->lock_timeout = 60;
	o->yield_after = 5;
	o->on_lock_wait = LOCKWAIT_YIELD;
	o->recheck = -1;
}
/* ---- sessions --------------------------------------------------------- */

struct session *run_session_find(struct sessions *ss, const struct spec_system *sys, int side)
{
	for (size_t i = 0; i < ss->n; i++)
		if (ss->s[i].sys == sys && ss->s[i].side == side)
			return &ss->s[i];
	return NULL;
}

/* What every session of the run opens with: its limits. */
static void run_conn_cfg(const struct run *r, struct conn_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->connect_timeout = r->opts->connect_timeout;
	cfg->statement_timeout = r->opts->statement_timeout;
	cfg->statement_timeout_forced = r->opts->statement_timeout_forced;
	cfg->lock_timeout = r->opts->lock_timeout;
}

/* The tables a coordinator session of (sys, side) holds locks on: every table it compares. */
static const char **lock_list(const struct run *r, const struct spec_system *sys, int side, size_t *n)
{
	const char **t = xcalloc(r->n ? r->n : 1, sizeof(*t));

	*n = 0;
	for (size_t i = 0; i < r->n && !r->skip_locks; i++) {
		const struct spec_check *c = r->res[i].check;
		const struct spec_side *sd = side == SIDE_SOURCE ? &c->source : &c->target;
		bool dup = false;

		if (sd->sys != sys || !sd->table)
			continue;
		for (size_t j = 0; j < *n; j++)
			dup = dup || strcmp(t[j], sd->table) == 0;
		if (!dup)
			t[(*n)++] = sd->table;
	}
	return t;
}

int run_session_get(struct run *r, struct sessions *ss, const struct spec_system *sys, int side,
                    const char *txsnap, struct conn **out, struct tally_err *err)
{
	struct session *s = run_session_find(ss, sys, side);
	const struct conn_ops *ops;
	const char **lock = NULL;
	struct conn_cfg cfg;
	struct conn *c = NULL;
	bool coord = ss == &r->coord;
	int rc;

	if (s && s->conn) {
		*out = s->conn;
		return 0;
	}
	for (size_t i = 0; coord && i < r->nconnfail; i++)
		if (r->connfail[i].sys == sys && r->connfail[i].side == side) {
			*err = r->connfail[i].err;
			return -1;
		}
	ops = conn_driver(sys->driver);
	if (!ops)
		return err_set(err, ERR_SPEC, "system '%s': unknown driver '%s'", sys->name, sys->driver);
	run_conn_cfg(r, &cfg);
	cfg.txsnap = txsnap;
	cfg.system = sys->name;
	cfg.side = side == SIDE_SOURCE ? "source" : "target";
	cfg.dsn = sys->dsn;
	cfg.dsn_shown = sys->dsn_shown;
	if (coord) {
		lock = lock_list(r, sys, side, &cfg.nlock);
		cfg.lock = lock;
	}
	rc = ops->open(&c, &cfg, err);
	free(lock);
	if (rc < 0 && coord && err->kind == ERR_CONNECT) {
		r->connfail = xrealloc(r->connfail, (r->nconnfail + 1) * sizeof(*r->connfail));
		r->connfail[r->nconnfail].sys = sys;
		r->connfail[r->nconnfail].side = side;
		r->connfail[r->nconnfail++].err = *err;
	}
	if (rc < 0)
		return -1;
	/* A coordinator's session is never cancelled: it holds the snapshot the workers share. */
	guard_pid_add(&r->guard, sys, c->backend_pid, !coord);
	if (!s) {
		ss->s = xrealloc(ss->s, (ss->n + 1) * sizeof(*ss->s));
		s = &ss->s[ss->n++];
		memset(s, 0, sizeof(*s));
		s->sys = sys;
		s->side = side;
	}
	s->conn = c;
	*out = c;
	return 0;
}

void run_session_drop(struct run *r, struct session *s)
{
	if (s->conn) {
		guard_pid_remove(&r->guard, s->sys, s->conn->backend_pid);
		s->conn->ops->close(s->conn);
	}
	s->conn = NULL;
}

void run_sessions_close(struct run *r, struct sessions *ss)
{
	for (size_t i = 0; i < ss->n; i++) {
		run_session_drop(r, &ss->s[i]);
		free(ss->s[i].txsnap);
		free(ss->s[i].position);
	}
	free(ss->s);
	ss->s = NULL;
	ss->n = 0;
}

/* ---- the run ---------------------------------------------------------- */

static const char *jstr_or(json_t *o, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : dflt;
}

static bool selected(const struct run_opts *o, const char *name)
{
	if (o->nonly == 0)
		return true;
	for (size_t i = 0; i < o->nonly; i++)
		if (strcmp(o->only[i], name) == 0)
			return true;
	return false;
}

static void spec_hash(char out[33], const char *text, size_t len)
{
	XXH128_canonical_t c;

	XXH128_canonicalFromHash(&c, XXH3_128bits(text, len));
	for (int i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", c.digest[i]);
}

static bool owned(const struct run *r, size_t check, size_t chunk)
{
	const struct run_opts *o = r->opts;

	if (o->shard_count <= 1)
		return true;
	/* A check whose chunks must be reconciled is not split: shard 0 takes it. */
	if (r->cps[check].reconcile)
		return o->shard_index == 0;
	return chunk_in_shard(chunk, o->shard_index, o->shard_count);
}

/* Would running again with --resume get further? Only after passing trouble. */
static bool worth_resuming(const struct tally_err *err)
{
	return err->kind == ERR_LOST || err->kind == ERR_CONNECT || err->kind == ERR_SNAPSHOT ||
	       err->kind == ERR_INTERRUPTED || err->kind == ERR_IO || err->kind == ERR_LOCKED ||
	       err->kind == ERR_TIMEOUT;
}

#define RESUME_NOTE "finished chunks are kept: run again with --resume to do the rest"

/* "finished chunks are kept in DIR/.tally-work; ...", owned by the caller. */
static char *resume_hint(const struct run *r)
{
	return xasprintf("finished chunks are kept in %s/%s; run again with --resume to do the rest", r->out.path,
	                 WORK_DIRNAME);
}

/* Ends a run that stopped in trouble (report_fail); returns 2. */
static int fail_report(struct run *r, const struct tally_err *err, bool can_resume)
{
	bool resumable = can_resume && worth_resuming(err);
	char *hint = resumable ? resume_hint(r) : NULL;

	report_now(r->report.finished_at);
	r->report.error_note = resumable ? RESUME_NOTE : NULL;
	json_decref(r->report.sessions);
	r->report.sessions = guard_json(&r->guard);
	report_fail(&r->out, &r->report, err, hint, r->opts->quiet);
	free(hint);
	return 2;
}

/*
 * Does --resume have something to redo after this run: a check in error
 * next to checks that finished (their results are kept), or one whose
 * trouble may pass (a lost server, a lock, a timeout)?
 */
static bool worth_redoing(const struct run *r)
{
	bool errored = false, verdict = false, passing = false;

	for (size_t i = 0; i < r->n; i++) {
		errored = errored || r->errored[i];
		verdict = verdict || !r->errored[i];
		passing = passing || (r->errored[i] && worth_resuming(&r->res[i].err));
	}
	return r->opts->shard_count <= 1 && errored && (verdict || passing);
}

#define REDO_NOTE "the other checks' results are kept: run again with --resume to redo only the checks in error"

static int assemble_run(struct run *r, int *status, struct tally_err *err)
{
	const char *dirs[1] = { r->out.path };
	struct assemble_in in;
	size_t **chunk_dir = xcalloc(r->n ? r->n : 1, sizeof(*chunk_dir));
	long *recon = xcalloc(r->n ? r->n : 1, sizeof(*recon));
	char *hint;
	int rc;

	for (size_t i = 0; i < r->n; i++) {
		chunk_dir[i] = xcalloc(r->cps[i].n, sizeof(size_t));
		for (size_t j = 0; j < r->cps[i].n; j++)
			chunk_dir[i][j] = owned(r, i, j) ? 0 : (size_t)-1;
		recon[i] = r->cps[i].reconcile && owned(r, i, 0) ? 0 : -1;
	}
	memset(&in, 0, sizeof(in));
	in.run = r->runjson;
	in.dirs = dirs;
	in.ndirs = 1;
	in.sessions = guard_json(&r->guard);
	in.prev_run = r->prev_run;
	in.prev_diff = r->prev_diff;
	in.prev_checks = r->prev_checks;
	in.chunk_dir = chunk_dir;
	in.recon_dir = recon;
	in.out = &r->out;
	in.compress = r->opts->compress_repair;
	in.started_at = r->report.started_at;
	report_now(r->report.finished_at);
	in.finished_at = r->report.finished_at;
	in.quiet = r->opts->quiet;
	in.shard = r->opts->shard_count > 1;
	/* Every part is done: --resume only assembles them again, once there is room. */
	in.resume_note = RESUME_NOTE;
	in.resume_hint = hint = resume_hint(r);
	in.redo_note = worth_redoing(r) ? REDO_NOTE : NULL;
	rc = assemble_outputs(&in, status, err);
	free(hint);
	json_decref(in.sessions);
	for (size_t i = 0; i < r->n; i++)
		free(chunk_dir[i]);
	free(chunk_dir);
	free(recon);
	return rc;
}

/* The guard: every system the checks read, with their compared tables. */
static void run_init_guard(struct run *r)
{
	struct conn_cfg cfg;
	const char *skip = getenv("TALLY_TEST_SKIP_LOCKS");

	run_conn_cfg(r, &cfg);
	guard_init(&r->guard, &cfg, r->opts->yield_after);
	/* Tests only: lets a table be rewritten under a run, to test the stamps. */
	r->skip_locks = skip && strcmp(skip, "1") == 0;
	for (size_t i = 0; i < r->n; i++)
		for (int s = 0; s < 2; s++)
			guard_add_table(&r->guard, run_check_side(r, i, s)->sys, run_check_side(r, i, s)->table);
}

/* Workers of PostgreSQL systems share the coordinator's snapshots. */
static int export_txsnaps(struct run *r, struct tally_err *err)
{
	for (size_t i = 0; i < r->coord.n; i++) {
		struct session *s = &r->coord.s[i];

		free(s->txsnap);
		s->txsnap = NULL;
		if (s->conn && s->conn->ops->export_txsnap &&
		    s->conn->ops->export_txsnap(s->conn, &s->txsnap, err) < 0)
			return -1;
	}
	return 0;
}

/* The chunks left to do: this shard's, not done yet, of checks that have no error. */
static int collect_tasks(struct run *r, struct tally_err *err)
{
	free(r->tasks);
	r->tasks = NULL;
	r->ntasks = r->next = 0;
	for (size_t i = 0; i < r->n; i++)
		for (size_t j = 0; j < r->cps[i].n && !r->errored[i]; j++) {
			struct part_result pr;
			int d;

			if (!owned(r, i, j))
				continue;
			d = work_read_part(r->out.path, i, j, &pr, err);
			if (d < 0)
				return -1;
			if (d == 1)
				continue;       /* done before an interruption */
			r->tasks = xrealloc(r->tasks, (r->ntasks + 1) * sizeof(*r->tasks));
			r->tasks[r->ntasks].check = i;
			r->tasks[r->ntasks++].chunk = j;
		}
	return 0;
}

/*
 * After letting go (--on-lock-wait wait): the coordinator's sessions open
 * again, their locks queued behind the session the run let go for, so
 * they are granted once it is done (within --lock-timeout); a new
 * snapshot is exported, and the stamps tell which tables it rewrote.
 */
static int coord_reopen(struct run *r, struct tally_err *err)
{
	for (size_t i = 0; i < r->n; i++) {
		struct conn *c;

		if (r->errored[i])
			continue;
		for (int s = 0; s < 2; s++)
			if (run_session_get(r, &r->coord, run_check_side(r, i, s)->sys, s, NULL, &c, err) < 0)
				return err_context(err, "opening again after waiting for %s %ld",
				                   conn_session_word(r->yield.sys->driver),
				                   r->yield.waiter.pid);
	}
	if (export_txsnaps(r, err) < 0)
		return -1;
	return run_stamps_check(r, "while tally waited for it", err);
}

/*
 * Compares the chunks left, on workers. When the run lets go of its locks
 * for a waiting session, the coordinator's sessions close at once; with
 * --on-lock-wait wait, the run then waits for that session, opens again,
 * and redoes the chunks that did not finish (at most MAX_WAITS times).
 */
static int run_chunks(struct run *r, struct tally_err *err)
{
	for (unsigned waits = 0;; waits++) {
		if (collect_tasks(r, err) < 0)
			return -1;
		if (r->ntasks == 0 || run_workers(r) == 0)
			return 0;
		*err = r->err;
		if (!r->yielded)
			return -1;
		run_sessions_close(r, &r->coord);
		if (r->opts->on_lock_wait != LOCKWAIT_WAIT || waits == MAX_WAITS)
			return -1;
		if (!r->opts->quiet)
			fprintf(stderr, "tally: %s; waiting for it to finish\n", err->msg);
		if (coord_reopen(r, err) < 0)
			return -1;
		pthread_mutex_lock(&r->lock);
		r->failed = false;
		err_clear(&r->err);
		pthread_mutex_unlock(&r->lock);
		r->yielded = false;
		__atomic_store_n(&r->stop, 0, __ATOMIC_RELAXED);
	}
}

static void run_release(struct run *r)
{
	run_sessions_close(r, &r->coord);
	run_workflows_release(r);
	guard_release(&r->guard);
	for (size_t i = 0; i < r->n; i++) {
		free(r->stamp[i][0]);
		free(r->stamp[i][1]);
		if (r->planned[i])
			plan_release(&r->plans[i]);
		chunkplan_release(&r->cps[i]);
		if (r->rinfo[i]) {
			repair_info_release(r->rinfo[i]);
			free(r->rinfo[i]);
		}
	}
	free(r->plans);
	free(r->planned);
	free(r->cps);
	free(r->rinfo);
	free(r->no_repair);
	free(r->push);
	for (size_t i = 0; r->meter && i < r->n; i++) {
		if (r->meter[i])
			auto_meter_release(r->meter[i]);
		free(r->meter[i]);
	}
	free(r->meter);
	free(r->push_hash);
	for (size_t i = 0; r->mode_reason && i < r->n; i++)
		free(r->mode_reason[i]);
	free(r->mode_reason);
	free(r->stamp);
	free(r->errored);
	free(r->fresh);
	free(r->connfail);
	free(r->tasks);
	json_decref(r->runjson);
	free(r->prev_run);
	free(r->prev_diff);
	json_decref(r->prev_checks);
	report_release(&r->report);
	outdir_close(&r->out);
	ratelimit_release(&r->rate);
	pthread_cond_destroy(&r->idle);
	pthread_mutex_destroy(&r->lock);
}

static void run_init_sync(struct run *r)
{
	pthread_condattr_t ca;

	pthread_mutex_init(&r->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->idle, &ca);
	pthread_condattr_destroy(&ca);
}

/* The run's state for spec and opts: the checks selected, their slots, the guard. */
static void run_init(struct run *r, const struct spec *spec, const struct run_opts *opts)
{
	memset(r, 0, sizeof(*r));
	run_init_sync(r);
	ratelimit_init(&r->rate, opts->max_rate);
	r->spec = spec;
	r->opts = opts;
	r->report.spec = spec;
	report_now(r->report.started_at);
	r->report.checks = xcalloc(spec->nchecks ? spec->nchecks : 1, sizeof(struct check_result));
	for (size_t i = 0; i < spec->nchecks; i++)
		if (selected(opts, spec->checks[i].name))
			r->report.checks[r->report.nchecks++].check = &spec->checks[i];
	r->n = r->report.nchecks;
	r->res = r->report.checks;
	r->plans = xcalloc(r->n ? r->n : 1, sizeof(*r->plans));
	r->planned = xcalloc(r->n ? r->n : 1, sizeof(*r->planned));
	r->cps = xcalloc(r->n ? r->n : 1, sizeof(*r->cps));
	r->rinfo = xcalloc(r->n ? r->n : 1, sizeof(*r->rinfo));
	r->no_repair = xcalloc(r->n ? r->n : 1, sizeof(*r->no_repair));
	r->push = xcalloc(r->n ? r->n : 1, sizeof(*r->push));
	r->meter = xcalloc(r->n ? r->n : 1, sizeof(*r->meter));
	r->push_hash = xcalloc(r->n ? r->n : 1, sizeof(*r->push_hash));
	r->mode_reason = xcalloc(r->n ? r->n : 1, sizeof(*r->mode_reason));
	r->stamp = xcalloc(r->n ? r->n : 1, sizeof(*r->stamp));
	r->errored = xcalloc(r->n ? r->n : 1, sizeof(*r->errored));
	r->fresh = xcalloc(r->n ? r->n : 1, sizeof(*r->fresh));
	run_init_guard(r);
	if (opts->shard_count > 1)
		r->report.shard = json_pack("{s:i, s:i}", "index", opts->shard_index, "count", opts->shard_count);
}

/* --resume: the interrupted run in out, of the same spec and shard; NULL with err set. */
static json_t *resume_read(struct run *r, const char *out, const char *hash, struct tally_err *err)
{
	json_t *resumed = work_read_run(out, err);

	if (!resumed) {
		err_hint(err, "--resume continues a run that was interrupted; there is none in '%s'", out);
		return NULL;
	}
	if (strcmp(jstr_or(json_object_get(resumed, "spec"), "hash", ""), hash) != 0) {
		err_set(err, ERR_USAGE, "the spec changed since the interrupted run in '%s'", out);
		err_hint(err, "start again without --resume");
	} else if (!json_equal(json_object_get(resumed, "shard"),
	                       r->opts->shard_count > 1 ? r->report.shard : json_null())) {
		err_set(err, ERR_USAGE, "the interrupted run in '%s' was another shard", out);
	} else {
		return resumed;
	}
	json_decref(resumed);
	return NULL;
}

/* After a planning error of check i's own: sessions it broke are opened again by the next check. */
static void plan_failed(struct run *r, size_t i, const struct tally_err *e)
{
	chunkplan_release(&r->cps[i]);
	memset(&r->cps[i], 0, sizeof(r->cps[i]));
	r->fresh[i] = true;
	if (e->kind != ERR_LOST)
		return;
	for (int s = 0; s < 2; s++) {
		struct session *se = run_session_find(&r->coord, run_check_side(r, i, s)->sys, s);

		if (se)
			run_session_drop(r, se);
	}
}

/*
 * Plans every check before reading a row, then writes run.json, or takes
 * the resumed one (with the entries of the checks planned again). A check
 * that cannot be planned is an error of its own and the others go on
 * (with --fail-fast, it stops the run).
 */
static int run_prepare(struct run *r, const char *out, const char *hash, json_t *resumed,
                       struct tally_err *err)
{
	if (!resumed)
		run_stamps_early(r);
	for (size_t i = 0; i < r->n; i++) {
		struct tally_err e;

		err_clear(&e);
		if (run_check_plan(r, i, resumed, &e) == 0)
			continue;
		if (run_check_own_error(r, &e)) {
			plan_failed(r, i, &e);
			if (run_check_error(r, i, &e, err) < 0)
				return -1;
			continue;
		}
		*err = e;
		if (err->kind != ERR_SPEC)
			err_context(err, "check '%s'", r->res[i].check->name);
		r->res[i].status = RESULT_ERROR;
		r->res[i].err = *err;
		return -1;
	}
	if (resumed) {
		json_t *checks = json_object_get(resumed, "checks");

		r->runjson = json_incref(resumed);
		/* A --ticket given now names the change order the resumed run writes. */
		if (r->spec->ticket && json_is_object(json_object_get(resumed, "spec")))
			json_object_set_new(json_object_get(resumed, "spec"), "ticket", json_string(r->spec->ticket));
		snprintf(r->report.started_at, sizeof(r->report.started_at), "%s",
		         jstr_or(resumed, "started_at", r->report.started_at));
		for (size_t i = 0; i < r->n; i++)
			if (r->fresh[i])
				json_array_set_new(checks, i, run_check_json(r, i));
		return work_write_run(out, r->runjson, err);
	}
	r->runjson = run_json(r, hash);
	if (r->spec->nworkflows)
		json_object_set_new(r->runjson, "workflows", run_workflows_json(r));
	return work_write_run(out, r->runjson, err);
}

/* Reconciles the checks whose chunks may disagree on membership (this shard's, not done yet). */
static int run_reconcile(struct run *r, const char *out, struct tally_err *err)
{
	for (size_t i = 0; i < r->n; i++) {
		struct part_result pr;
		struct chunk_env env;

		if (!r->cps[i].reconcile || !owned(r, i, 0) || r->errored[i])
			continue;
		if (work_read_part(out, i, WORK_RECONCILE, &pr, err) == 1)
			continue;
		run_env_for(r, i, NULL, &env);
		if (chunk_reconcile(&env, &pr, err) < 0)
			return err_context(err, "check '%s'", r->res[i].check->name);
	}
	return 0;
}

/* The previous run of the spec in OUT, for new and resolved counts. */
static void run_previous(struct run *r, const struct runs *runs)
{
	if (runs_previous(runs, r->spec->name, &r->prev_run, &r->prev_checks) == 1)
		r->prev_diff = xasprintf("%s/%s/diff.ndjson.zst", runs->base, r->prev_run);
}

/* Compares, in the run directory the lock and runs_begin gave; returns the exit status. */
static int run_in(struct run *r, const char *out, const char *hash)
{
	struct tally_err err;
	json_t *resumed = NULL;
	int status = 2;

	err_clear(&err);
	if (outdir_open(&r->out, out, &err) < 0) {
		err_print(&err, stderr);
		return 2;
	}
	if (r->opts->resume) {
		/* A refusal leaves the run as it was: still unfinished, still resumable. */
		resumed = resume_read(r, out, hash, &err);
		if (!resumed) {
			err_print(&err, stderr);
			return 2;
		}
	}
	if (work_create(out, r->n, &err) < 0 || run_prepare(r, out, hash, resumed, &err) < 0 ||
	    run_workflows_prepare(r, out, resumed != NULL, &err) < 0 || export_txsnaps(r, &err) < 0) {
		status = fail_report(r, &err, false);
		goto done;
	}
	if (run_chunks(r, &err) < 0) {
		status = fail_report(r, &err, true);
		goto done;
	}
	/* The last look, and the stamps, while the locks are still held. */
	guard_look(&r->guard, chunk_now(), true, &r->yield);
	if (run_stamps_check(r, "during the run", &err) < 0) {
		status = fail_report(r, &err, false);
		goto done;
	}
	run_sessions_close(r, &r->coord);
	if (run_reconcile(r, out, &err) < 0) {
		status = fail_report(r, &err, true);
		goto done;
	}
	if (r->opts->recheck >= 0 && r->opts->shard_count <= 1 && run_recheck(r, &err) < 0) {
		status = fail_report(r, &err, true);
		goto done;
	}
	if (assemble_run(r, &status, &err) < 0) {
		status = 2;     /* the errors are printed, and the parts kept for --resume */
		goto done;
	}
	/*
	 * A shard keeps its parts for tally merge; a whole run is complete,
	 * unless a check ended in an error of its own: --resume redoes it.
	 */
	if (r->opts->shard_count <= 1 && !worth_redoing(r))
		work_remove(out);
	else if (r->opts->shard_count <= 1 && !r->opts->quiet)
		fprintf(stderr, "tally: hint: the other checks' results are kept in %s/%s; run again with "
		        "--resume to redo only the checks in error\n", out, WORK_DIRNAME);
done:
	json_decref(resumed);
	return status;
}

int run_spec(const struct spec *spec, const char *spec_text, size_t spec_len, const struct run_opts *opts)
{
	struct run r;
	struct runs runs;
	struct tally_err err;
	char *default_out = NULL, hash[33];
	const char *out;
	int status = 2;

	err_clear(&err);
	run_init(&r, spec, opts);
	spec_hash(hash, spec_text, spec_len);
	out = opts->out_dir;
	if (!out)
		out = default_out = xasprintf("tally-out/%s", spec->name);
	if (runs_lock(&runs, out, r.report.started_at, &err) < 0 || runs_begin(&runs, opts->resume, &err) < 0) {
		err_print(&err, stderr);
	} else {
		run_previous(&r, &runs);
		status = run_in(&r, runs.dir, hash);
		runs_finish(&runs, hash, status, opts->keep);
	}
	runs_close(&runs);
	run_release(&r);
	free(default_out);
	return status;
}
