/*
 * engine/run.c
 *   RUN: connector -> plan -> chunk -> chunkrun (workers) -> assemble.
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
 * three times, waiting 1, 2 then 4 seconds; any other failure stops every
 * worker after its current chunk and leaves the finished parts for
 * --resume. When all parts are there, checks whose chunks may disagree on
 * membership are reconciled, and the outputs are assembled from the parts
 * (a shard keeps its parts for tally merge instead).
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
#include "run.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "../connectors/connector.h"
#include "assemble.h"
#include "base/buf.h"
#include "canon.h"
#include "chunk.h"
#include "chunkrun.h"
#include "outdir.h"
#include "plan.h"
#include "repair.h"
#include "report.h"
#include "tally_config.h"
#include "work.h"

#define MAX_RETRIES 3
#define MAX_WAITS 5             /* --on-lock-wait wait: times the run lets go and waits */

void run_opts_init(struct run_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->connect_timeout = 10;
	o->jobs = 1;
	o->page_seconds = 1.0;
	o->chunk_rows = 100000;
	o->sort_budget = 8u << 20;
	o->statement_timeout = 600;
	o->lock_timeout = 60;
	o->yield_after = 5;
	o->on_lock_wait = LOCKWAIT_YIELD;
}

struct session {
	const struct spec_system *sys;
	int side;
	struct conn *conn;
	char *snapshot;             /* exported (coordinator sessions) */
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
};

struct run {
	const struct spec *spec;
	const struct run_opts *opts;
	struct outdir out;
	struct sessions coord;
	size_t n;
	struct check_result *res;   /* report.checks */
	struct plan *plans;
	bool *planned;
	struct chunkplan *cps;
	struct repair_info **rinfo;
	const char **no_repair;
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
	/* DDL: see "Tables that change under a run" below. */
	struct guard guard;
	bool skip_locks;            /* TALLY_TEST_SKIP_LOCKS, for tests of the stamps only */
	char *(*stamp)[2];          /* [check][side]: the table's stamp when the run began; NULL: none */
	bool *errored;              /* [check]: no verdict; its error is in the work directory */
	int stop;                   /* set (atomically): workers stop at the next row */
	bool yielded;               /* the run let go of its locks for r->yield */
	struct guard_yield yield;
};

/* ---- sessions --------------------------------------------------------- */

static struct session *session_find(struct sessions *ss, const struct spec_system *sys, int side)
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

static int session_get(struct run *r, struct sessions *ss, const struct spec_system *sys, int side,
                       const char *snapshot, struct conn **out, struct tally_err *err)
{
	struct session *s = session_find(ss, sys, side);
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
	ops = conn_driver(sys->driver);
	if (!ops)
		return err_set(err, ERR_SPEC, "system '%s': unknown driver '%s'", sys->name, sys->driver);
	run_conn_cfg(r, &cfg);
	cfg.snapshot = snapshot;
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

static void session_drop(struct run *r, struct session *s)
{
	if (s->conn) {
		guard_pid_remove(&r->guard, s->sys, s->conn->backend_pid);
		s->conn->ops->close(s->conn);
	}
	s->conn = NULL;
}

static void sessions_close(struct run *r, struct sessions *ss)
{
	for (size_t i = 0; i < ss->n; i++) {
		session_drop(r, &ss->s[i]);
		free(ss->s[i].snapshot);
		free(ss->s[i].position);
	}
	free(ss->s);
	ss->s = NULL;
	ss->n = 0;
}

/* ---- planning --------------------------------------------------------- */

static void warn_unmatched(const struct plan *p, const char *check)
{
	for (int s = 0; s < 2; s++)
		for (size_t i = 0; i < p->nonly[s]; i++)
			warn_msg("check '%s': column '%s' exists only in %s %s and is not compared", check,
			         p->only[s][i], s == SIDE_SOURCE ? "source" : "target", p->desc[s].display);
}

/* Does the side's server read the key in tally's bytewise order? */
static bool side_exact(const struct plan *p, int side, const struct conn *c)
{
	if (!c->ops->order_is_bytewise || p->multiset)
		return false;
	for (size_t i = 0; i < p->nkey; i++) {
		const struct coldesc *cd = &p->desc[side].cols[p->key[i].col[side]];

		if (cd->nullable || !c->ops->order_is_bytewise(cd) || !plan_key_native(&p->key[i], side))
			return false;
	}
	return true;
}

static bool key_not_null(const struct plan *p, int side)
{
	for (size_t i = 0; i < p->nkey; i++)
		if (p->desc[side].cols[p->key[i].col[side]].nullable)
			return false;
	return true;
}

/*
 * Drops the boundaries that a side whose order is not bytewise sees out
 * of order (chunk.h): each such side's server ranks them. A side that
 * cannot rank them gets the table as one chunk.
 */
static int bounds_increasing(struct run *r, size_t i, struct conn *cn[2], const bool exact[2],
                             struct tally_err *err)
{
	const struct plan *p = &r->plans[i];
	struct chunkplan *cp = &r->cps[i];
	size_t n = cp->n - 1, nb = cp->nbound, dropped;
	struct sqlval *vals = xcalloc(n * nb, sizeof(*vals));
	struct buf *scratch = xcalloc(n * nb, sizeof(*scratch));
	uint32_t *rank[2] = { NULL, NULL };
	size_t *key = xcalloc(p->nkey, sizeof(*key));
	int rc = 0;

	for (size_t j = 0; j < n * nb; j++)
		buf_init(&scratch[j]);
	for (size_t j = 0; j < n && rc == 0; j++)
		rc = chunk_key_vals(cp->b[j], cp->blen[j], nb, &vals[j * nb], &scratch[j * nb], err);
	for (int s = 0; s < 2 && rc == 0; s++) {
		struct scan_req req;

		if (exact[s])
			continue;
		if (!cn[s]->ops->rank_bounds) {
			chunkplan_release(cp);
			chunkplan_single(cp, exact);
			goto out;
		}
		plan_scan_req(p, s, key, &req);
		rank[s] = xcalloc(n, sizeof(*rank[s]));
		rc = cn[s]->ops->rank_bounds(cn[s], &req, nb, vals, n, rank[s], err);
	}
	if (rc == 0) {
		dropped = chunkplan_make_increasing(cp, (const uint32_t *const *)rank);
		if (dropped && r->opts->progress && !r->opts->quiet)
			fprintf(stderr, "tally: check '%s': %zu of %zu chunk boundaries dropped: the two servers "
			        "order the key differently\n", p->check->name, dropped, n);
	}
out:
	for (size_t j = 0; j < n * nb; j++)
		buf_release(&scratch[j]);
	free(scratch);
	free(vals);
	free(key);
	free(rank[0]);
	free(rank[1]);
	return rc;
}

static int plan_chunks(struct run *r, size_t i, struct conn *src, struct conn *tgt, const bool exact[2],
                       struct tally_err *err)
{
	const struct plan *p = &r->plans[i];
	const struct spec_check *c = p->check;
	struct keybounds kb;
	struct scan_req req;
	size_t *key;
	long rows = c->chunk_rows ? c->chunk_rows : r->opts->chunk_rows;
	uint64_t max_bytes = 0;
	int rc;

	/*
	 * Ranges leave out NULL keys: only NOT NULL keys are chunked, and only
	 * between servers that can both range over their key.
	 */
	if (p->multiset || !src->ops->plan_bounds || !src->ops->bound_literal || !tgt->ops->bound_literal ||
	    p->desc[SIDE_SOURCE].is_query || !key_not_null(p, SIDE_SOURCE) || !key_not_null(p, SIDE_TARGET)) {
		chunkplan_single(&r->cps[i], exact);
		return 0;
	}
	key = xcalloc(p->nkey, sizeof(size_t));
	plan_scan_req(p, SIDE_SOURCE, key, &req);
	memset(&kb, 0, sizeof(kb));
	/*
	 * A side read in the server's order is sorted in memory chunk by
	 * chunk: size chunks to fit the sort budget, so that they do not spill.
	 * A sorted record takes about three times the row's size on disk (the
	 * raw values, their canonical form, offsets): a quarter of the budget
	 * leaves room for rows wider than the table's average.
	 */
	if (!exact[0] || !exact[1])
		max_bytes = r->opts->sort_budget / 4;
	rc = src->ops->plan_bounds(src, &req, (uint64_t)rows, max_bytes, &kb, err);
	free(key);
	if (rc == 0)
		rc = chunkplan_from_bounds(&r->cps[i], p, &kb, exact, err);
	if (rc == 0 && r->cps[i].reconcile)
		rc = bounds_increasing(r, i, (struct conn *[2]){ src, tgt }, exact, err);
	keybounds_release(&kb);
	if (rc < 0)
		err_context(err, "planning chunks of %s", p->desc[SIDE_SOURCE].display);
	return rc;
}

static json_t *check_json_for_run(struct run *r, size_t i)
{
	const struct plan *p = &r->plans[i];
	const struct check_result *res = &r->res[i];
	json_t *sides = json_array();

	for (int s = 0; s < 2; s++)
		json_array_append_new(sides, json_pack("{s:s, s:s, s:s?, s:s?, s:s?}", "system", res->side[s].system,
		                                       "table", res->side[s].table, "server", res->side[s].server,
		                                       "position", res->side[s].position, "stamp", r->stamp[i][s]));
	return json_pack("{s:s, s:s, s:s, s:b, s:o, s:o, s:O, s:O, s:O, s:o, s:s?}", "name", p->check->name,
	                 "expect", spec_expect_name(p->check->expect), "repair", spec_repair_name(p->check->repair),
	                 "multiset", p->multiset,
	                 "chunks", chunkplan_json(&r->cps[i]), "sides", sides, "key", res->key,
	                 "columns", res->columns, "unmatched", res->unmatched,
	                 "repair_info", r->rinfo[i] ? repair_info_json(r->rinfo[i]) : json_null(),
	                 "no_repair", r->no_repair[i]);
}

static json_t *run_json(struct run *r, const char *spec_hash)
{
	json_t *systems = json_array(), *checks = json_array();

	for (size_t i = 0; i < r->spec->nsystems; i++)
		json_array_append_new(systems, json_pack("{s:s, s:s, s:s}", "name", r->spec->systems[i].name,
		                                         "driver", r->spec->systems[i].driver,
		                                         "dsn_shown", r->spec->systems[i].dsn_shown));
	for (size_t i = 0; i < r->n; i++)
		json_array_append_new(checks, check_json_for_run(r, i));
	return json_pack("{s:i, s:s, s:i, s:{s:s, s:s, s:s?, s:s}, s:o, s:o, s:s, s:o}", "format", 1,
	                 "tally_version", TALLY_VERSION, "canon_version", CANON_VERSION,
	                 "spec", "name", r->spec->name, "file", r->spec->file, "reason", r->spec->reason,
	                 "hash", spec_hash, "systems", systems,
	                 "shard", r->opts->shard_count > 1
	                 ? json_pack("{s:i, s:i}", "index", r->opts->shard_index, "count", r->opts->shard_count)
	                 : json_null(),
	                 "started_at", r->report.started_at, "checks", checks);
}

/* ---- tables that change under a run ----------------------------------- */

/*
 * A table rewritten while a snapshot reads it (TRUNCATE, an ALTER TABLE
 * that rewrites, VACUUM FULL, CLUSTER; on MariaDB a rebuild) may look
 * empty to that snapshot, or its chunks may come from two versions of the
 * table. The coordinator's locks keep that from happening while the run
 * holds them; the stamps, read when the run begins (or, resuming, taken
 * from run.json) and again after every time the run let go of its locks
 * and at its end, tell when it happened anyway. A check whose table
 * changed gets no verdict: it becomes an error of its own (kept in the
 * work directory, so assembling, resuming and merging see it), and the
 * other checks go on.
 */
static const struct spec_side *check_side(const struct run *r, size_t i, int s)
{
	return s == SIDE_SOURCE ? &r->res[i].check->source : &r->res[i].check->target;
}

/* Check i has no verdict, for e; -1 with err set when the work directory cannot keep that. */
static int mark_check_error(struct run *r, size_t i, struct tally_err *e, struct tally_err *err)
{
	err_context(e, "check '%s'", r->res[i].check->name);
	r->errored[i] = true;
	r->res[i].status = RESULT_ERROR;
	r->res[i].err = *e;
	return work_write_error(r->out.path, i, e, err);
}

/* The stamp of check i's side s now against the one the run began with; when is for the message. */
static int stamp_compare(struct run *r, size_t i, int s, const char *when, struct tally_err *err)
{
	const struct spec_side *sd = check_side(r, i, s);
	const char *was = r->stamp[i][s];
	struct tally_err e;
	char *now = NULL;
	bool gone;

	if (!was || !sd->table || r->errored[i])
		return 0;
	if (guard_stamp(&r->guard, sd->sys, sd->table, &now, &e) < 0) {
		err_context(&e, "cannot tell whether table '%s' on %s system '%s' was rewritten %s", sd->table,
		            s == SIDE_SOURCE ? "source" : "target", sd->system, when);
		return mark_check_error(r, i, &e, err);
	}
	if (now && strcmp(now, was) == 0) {
		free(now);
		return 0;
	}
	gone = now && strcmp(now, "missing") == 0;
	err_set(&e, ERR_DATA, "table '%s' on %s system '%s' %s %s: tally cannot tell which version of it "
	        "each chunk read, so this check has no verdict", r->res[i].side[s].table ? r->res[i].side[s].table
	        : sd->table, s == SIDE_SOURCE ? "source" : "target", sd->system,
	        gone ? "was renamed or dropped" : "was rewritten (a TRUNCATE, or an ALTER TABLE, VACUUM FULL, "
	        "CLUSTER or OPTIMIZE that rebuilds it)", when);
	err_detail(&e, "its storage when the run began: %s; now: %s", was, now ? now : "unknown");
	err_hint(&e, "run the check again from the start once the table is no longer being changed");
	free(now);
	return mark_check_error(r, i, &e, err);
}

/* Every check's stamps against the run's first; -1 only when the work directory fails. */
static int stamps_check(struct run *r, const char *when, struct tally_err *err)
{
	for (size_t i = 0; i < r->n; i++)
		for (int s = 0; s < 2; s++)
			if (stamp_compare(r, i, s, when, err) < 0)
				return -1;
	return 0;
}

/*
 * The stamps a check begins with: read now, under the coordinator's
 * locks, or, resuming, those of the interrupted run (old), which the
 * tables must still have.
 */
static int stamps_begin(struct run *r, size_t i, json_t *old, struct tally_err *err)
{
	for (int s = 0; s < 2; s++) {
		const struct spec_side *sd = check_side(r, i, s);
		const char *was;

		if (!sd->table)
			continue;
		if (!old) {
			if (guard_stamp(&r->guard, sd->sys, sd->table, &r->stamp[i][s], err) < 0)
				return err_context(err, "reading the storage of table '%s'", sd->table);
			continue;
		}
		was = json_string_value(json_object_get(json_array_get(json_object_get(old, "sides"), (size_t)s),
		                                        "stamp"));
		r->stamp[i][s] = was ? xstrdup(was) : NULL;
		if (stamp_compare(r, i, s, "since the interrupted run began", err) < 0)
			return -1;
	}
	return 0;
}

/* Plans check i on the coordinator's sessions; reads no row. */
static int check_plan(struct run *r, size_t i, json_t *resumed, struct tally_err *err)
{
	struct check_result *res = &r->res[i];
	const struct spec_check *c = res->check;
	struct plan *plan = &r->plans[i];
	struct conn *cn[2];
	bool exact[2];

	if (session_get(r, &r->coord, c->source.sys, SIDE_SOURCE, NULL, &cn[0], err) < 0 ||
	    session_get(r, &r->coord, c->target.sys, SIDE_TARGET, NULL, &cn[1], err) < 0)
		return -1;
	for (int s = 0; s < 2; s++) {
		struct session *se = session_find(&r->coord, s == 0 ? c->source.sys : c->target.sys, s);

		res->side[s].system = s == SIDE_SOURCE ? c->source.system : c->target.system;
		res->side[s].server = cn[s]->server_version ? xstrdup(cn[s]->server_version) : NULL;
		if (!se->position && cn[s]->ops->position && cn[s]->ops->position(cn[s], &se->position, err) < 0)
			return -1;
		res->side[s].position = se->position ? xstrdup(se->position) : NULL;
	}
	if (plan_build(plan, r->spec, c, cn[0], cn[1], err) < 0)
		return -1;
	r->planned[i] = true;
	for (int s = 0; s < 2; s++)
		res->side[s].table = xstrdup(plan->desc[s].display);
	report_describe_plan(res, plan);
	if (!r->opts->quiet)
		warn_unmatched(plan, c->name);
	exact[0] = side_exact(plan, SIDE_SOURCE, cn[0]);
	exact[1] = side_exact(plan, SIDE_TARGET, cn[1]);
	if (resumed) {
		json_t *old = json_array_get(json_object_get(resumed, "checks"), i);
		struct tally_err e;
		int known = old ? work_read_error(r->out.path, i, &e, err) : 0;

		if (known < 0)
			return -1;
		if (known == 1) {
			r->errored[i] = true;
			res->status = RESULT_ERROR;
			res->err = e;
		}
		if (old && stamps_begin(r, i, old, err) < 0)
			return -1;
		if (!old || (!r->errored[i] && (!json_equal(json_object_get(old, "columns"), res->columns) ||
		                                !json_equal(json_object_get(old, "key"), res->key)))) {
			err_set(err, ERR_USAGE, "check '%s' no longer matches the interrupted run", c->name);
			return err_hint(err, "the tables or the spec changed; start again without --resume");
		}
		if (chunkplan_from_json(&r->cps[i], json_object_get(old, "chunks"), err) < 0)
			return -1;
	} else if (stamps_begin(r, i, NULL, err) < 0 || plan_chunks(r, i, cn[0], cn[1], exact, err) < 0) {
		return -1;
	}
	if (plan->repair_side >= 0) {
		const struct spec_system *ws = plan->repair_side == SIDE_SOURCE ? c->source.sys : c->target.sys;

		r->rinfo[i] = xcalloc(1, sizeof(**r->rinfo));
		repair_info_from_plan(r->rinfo[i], plan, ws->name, cn[plan->repair_side]->ops);
	} else {
		r->no_repair[i] = plan->no_repair ? plan->no_repair : "repair: none";
	}
	r->rows_total += r->cps[i].rows > 0 ? 2 * r->cps[i].rows : 0;
	return 0;
}

/* ---- workers ---------------------------------------------------------- */

static void fail_run(struct run *r, const struct tally_err *err)
{
	pthread_mutex_lock(&r->lock);
	if (!r->failed) {
		r->failed = true;
		r->err = *err;
	}
	pthread_mutex_unlock(&r->lock);
}

static void on_pause(void *arg, const char *system, long load)
{
	struct run *r = arg;

	if (!r->opts->quiet)
		fprintf(stderr, "\rtally: system '%s' is busy (%ld active), waiting%20s\n", system, load, "");
}

static void env_for(struct run *r, size_t check, struct conn *cn[2], struct chunk_env *env)
{
	const struct spec_check *c = r->res[check].check;

	memset(env, 0, sizeof(*env));
	env->out = r->out.path;
	env->check = check;
	env->plan = &r->plans[check];
	env->cp = &r->cps[check];
	env->repair = r->rinfo[check];
	if (cn) {
		env->conn[0] = cn[0];
		env->conn[1] = cn[1];
	}
	env->system[0] = c->source.system;
	env->system[1] = c->target.system;
	env->sort_budget = r->opts->sort_budget;
	env->page_seconds = r->opts->page_seconds;
	env->first_page = (uint64_t)(c->chunk_rows ? c->chunk_rows : r->opts->chunk_rows);
	/*
	 * Under --max-rate a page's statement lasts as long as tally takes to
	 * read it: start with what the rate allows in a page's time, so that a
	 * gentle rate does not make the first page outlast --statement-timeout.
	 */
	if (r->opts->max_rate > 0 && (double)env->first_page > r->opts->max_rate * r->opts->page_seconds)
		env->first_page = r->opts->max_rate * r->opts->page_seconds < 100
		                  ? 100 : (uint64_t)(r->opts->max_rate * r->opts->page_seconds);
	env->rate = r->opts->max_rate > 0 ? &r->rate : NULL;
	env->max_load = r->opts->max_load;
	env->progress_rows = &r->rows_done;
	env->on_pause = on_pause;
	env->pause_arg = r;
	env->stop = &r->stop;
}

static int run_task(struct worker *w, const struct task *t, struct tally_err *err)
{
	struct run *r = w->r;
	const struct spec_check *c = r->res[t->check].check;

	for (unsigned attempt = 0;; attempt++) {
		const struct spec_system *sys[2] = { c->source.sys, c->target.sys };
		struct conn *cn[2];
		struct chunk_env env;
		struct part_result pr;
		int rc = 0;

		for (int s = 0; s < 2 && rc == 0; s++) {
			struct session *co = session_find(&r->coord, sys[s], s);

			rc = session_get(r, &w->ss, sys[s], s, co ? co->snapshot : NULL, &cn[s], err);
		}
		if (rc == 0) {
			env_for(r, t->check, cn, &env);
			rc = chunk_run(&env, t->chunk, &pr, err);
		}
		if (rc == 0)
			return 0;
		if ((err->kind != ERR_LOST && err->kind != ERR_CONNECT) || attempt == MAX_RETRIES ||
		    tally_interrupted || r->failed)
			return err_context(err, "check '%s'", c->name);
		if (!r->opts->quiet)
			fprintf(stderr, "\rtally: check '%s': %s; retrying in %u s (%u of %u)\n", c->name, err->msg,
			        1u << attempt, attempt + 1, MAX_RETRIES);
		for (int s = 0; s < 2; s++) {
			struct session *ws = session_find(&w->ss, sys[s], s);

			if (ws)
				session_drop(r, ws);
		}
		sleep(1u << attempt);
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct run *r = w->r;
	struct tally_err err;

	for (;;) {
		struct task t;

		pthread_mutex_lock(&r->lock);
		if (r->failed || r->next == r->ntasks) {
			pthread_mutex_unlock(&r->lock);
			break;
		}
		t = r->tasks[r->next++];
		pthread_mutex_unlock(&r->lock);
		err_clear(&err);
		if (run_task(w, &t, &err) < 0) {
			fail_run(r, &err);
			break;
		}
		__atomic_add_fetch(&r->chunks_done, 1, __ATOMIC_RELAXED);
	}
	sessions_close(r, &w->ss);
	canon_thread_release();
	pthread_mutex_lock(&r->lock);
	r->active--;
	pthread_cond_signal(&r->idle);
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

static void human(char *out, size_t n, double v)
{
	if (v >= 1e9)
		snprintf(out, n, "%.1fG", v / 1e9);
	else if (v >= 1e6)
		snprintf(out, n, "%.1fM", v / 1e6);
	else if (v >= 1e3)
		snprintf(out, n, "%.1fk", v / 1e3);
	else
		snprintf(out, n, "%.0f", v);
}

static void draw_progress(struct run *r, bool tty, bool last)
{
	uint64_t rows = __atomic_load_n(&r->rows_done, __ATOMIC_RELAXED);
	uint64_t done = __atomic_load_n(&r->chunks_done, __ATOMIC_RELAXED);
	double el = chunk_now() - r->t0, rate = el > 0 ? (double)rows / el : 0, left = -1;
	char rs[16], rt[16], eta[32] = "?", ages[96];

	if (r->rows_total > 0 && rate > 0 && (double)rows < r->rows_total)
		left = (r->rows_total - (double)rows) / rate;
	else if (done > 0 && done < r->ntasks)
		left = el / (double)done * (double)(r->ntasks - done);
	if (left >= 0)
		snprintf(eta, sizeof(eta), "%d:%02d:%02d", (int)(left / 3600), (int)(left / 60) % 60, (int)left % 60);
	human(rs, sizeof(rs), (double)rows);
	human(rt, sizeof(rt), rate);
	guard_progress(&r->guard, ages, sizeof(ages));
	fprintf(stderr, "%stally: %llu/%zu chunks, %s rows, %s rows/s, ETA %s%s%s", tty ? "\r" : "",
	        (unsigned long long)done, r->ntasks, rs, rt, last ? "0:00:00" : eta, ages,
	        tty && !last ? "   " : "\n");
	fflush(stderr);
}

/*
 * Once a second while the workers run: keeps the coordinator's sessions
 * from an idle timeout (they hold the snapshot and the locks), looks for
 * sessions waiting on tally's locks, and after --yield-after lets go: the
 * workers stop at their next row, their statements are cancelled (again
 * at every look, until they have all ended), and the run stops with the
 * waiter named; run_chunks then closes the coordinator's sessions.
 */
static void watch_sessions(struct run *r)
{
	struct guard_yield y;
	struct tally_err e;
	double now = chunk_now();
	bool failed;

	if (now - r->guard.last < 1.0)
		return;
	for (size_t i = 0; i < r->coord.n; i++) {
		struct conn *c = r->coord.s[i].conn;

		if (c && c->ops->keepalive)
			(void)c->ops->keepalive(c, &e);
	}
	pthread_mutex_lock(&r->lock);
	failed = r->failed;
	pthread_mutex_unlock(&r->lock);
	if (guard_look(&r->guard, now, true, &y) == 1 && !r->yielded && !failed) {
		guard_yield_err(&y, r->opts->yield_after, r->opts->on_lock_wait, &e);
		r->yield = y;
		r->yielded = true;
		__atomic_store_n(&r->stop, 1, __ATOMIC_RELAXED);
		fail_run(r, &e);
	}
	if (r->yielded)
		guard_cancel(&r->guard);
}

static int run_workers(struct run *r)
{
	unsigned jobs = r->opts->jobs ? r->opts->jobs : 1;
	struct worker *w;
	bool tty = isatty(2), show = !r->opts->quiet && (tty || r->opts->progress);
	double last = chunk_now();

	if (jobs > r->ntasks)
		jobs = r->ntasks ? (unsigned)r->ntasks : 1;
	w = xcalloc(jobs, sizeof(*w));
	r->active = (int)jobs;
	r->t0 = chunk_now();
	for (unsigned i = 0; i < jobs; i++) {
		w[i].r = r;
		if (pthread_create(&w[i].th, NULL, worker_main, &w[i]) != 0) {
			struct tally_err e;

			err_set(&e, ERR_INTERNAL, "cannot start worker %u: %s", i + 1, strerror(errno));
			fail_run(r, &e);
			pthread_mutex_lock(&r->lock);
			r->active -= (int)(jobs - i);
			pthread_mutex_unlock(&r->lock);
			jobs = i;
			break;
		}
	}
	/* Wake every 200 ms to redraw progress, at once when the last worker ends. */
	pthread_mutex_lock(&r->lock);
	while (r->active > 0) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += 200000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&r->idle, &r->lock, &ts);
		if (r->active == 0)
			break;
		pthread_mutex_unlock(&r->lock);
		watch_sessions(r);
		if (show && (tty || chunk_now() - last >= 5.0)) {
			draw_progress(r, tty, false);
			last = chunk_now();
		}
		pthread_mutex_lock(&r->lock);
	}
	pthread_mutex_unlock(&r->lock);
	for (unsigned i = 0; i < jobs; i++)
		pthread_join(w[i].th, NULL);
	if (show && !r->failed)
		draw_progress(r, tty, true);
	else if (show && tty)
		fputc('\n', stderr);
	free(w);
	return r->failed ? -1 : 0;
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
			guard_add_table(&r->guard, check_side(r, i, s)->sys, check_side(r, i, s)->table);
}

/* Workers of PostgreSQL systems share the coordinator's snapshots. */
static int export_snapshots(struct run *r, struct tally_err *err)
{
	for (size_t i = 0; i < r->coord.n; i++) {
		struct session *s = &r->coord.s[i];

		free(s->snapshot);
		s->snapshot = NULL;
		if (s->conn && s->conn->ops->export_snapshot &&
		    s->conn->ops->export_snapshot(s->conn, &s->snapshot, err) < 0)
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
			if (session_get(r, &r->coord, check_side(r, i, s)->sys, s, NULL, &c, err) < 0)
				return err_context(err, "opening again after waiting for %s %ld",
				                   strcmp(r->yield.sys->driver, "mariadb") == 0 ? "thread" : "pid",
				                   r->yield.waiter.pid);
	}
	if (export_snapshots(r, err) < 0)
		return -1;
	return stamps_check(r, "while tally waited for it", err);
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
		sessions_close(r, &r->coord);
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
	sessions_close(r, &r->coord);
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
	free(r->stamp);
	free(r->errored);
	free(r->tasks);
	json_decref(r->runjson);
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

int run_spec(const struct spec *spec, const char *spec_text, size_t spec_len, const struct run_opts *opts)
{
	struct run r;
	struct tally_err err;
	char *default_out = NULL, hash[33];
	const char *out;
	json_t *resumed = NULL;
	int status = 2;

	memset(&r, 0, sizeof(r));
	err_clear(&err);
	run_init_sync(&r);
	ratelimit_init(&r.rate, opts->max_rate);
	r.spec = spec;
	r.opts = opts;
	r.report.spec = spec;
	report_now(r.report.started_at);
	r.report.checks = xcalloc(spec->nchecks ? spec->nchecks : 1, sizeof(struct check_result));
	for (size_t i = 0; i < spec->nchecks; i++)
		if (selected(opts, spec->checks[i].name))
			r.report.checks[r.report.nchecks++].check = &spec->checks[i];
	r.n = r.report.nchecks;
	r.res = r.report.checks;
	r.plans = xcalloc(r.n ? r.n : 1, sizeof(*r.plans));
	r.planned = xcalloc(r.n ? r.n : 1, sizeof(*r.planned));
	r.cps = xcalloc(r.n ? r.n : 1, sizeof(*r.cps));
	r.rinfo = xcalloc(r.n ? r.n : 1, sizeof(*r.rinfo));
	r.no_repair = xcalloc(r.n ? r.n : 1, sizeof(*r.no_repair));
	r.stamp = xcalloc(r.n ? r.n : 1, sizeof(*r.stamp));
	r.errored = xcalloc(r.n ? r.n : 1, sizeof(*r.errored));
	run_init_guard(&r);
	if (opts->shard_count > 1)
		r.report.shard = json_pack("{s:i, s:i}", "index", opts->shard_index, "count", opts->shard_count);
	spec_hash(hash, spec_text, spec_len);

	out = opts->out_dir;
	if (!out)
		out = default_out = xasprintf("tally-out/%s", spec->name);
	if (outdir_open(&r.out, out, &err) < 0) {
		err_print(&err, stderr);
		run_release(&r);
		free(default_out);
		return 2;
	}
	if (opts->resume) {
		resumed = work_read_run(out, &err);
		if (!resumed) {
			err_hint(&err, "--resume continues a run that was interrupted; there is none in '%s'", out);
			status = fail_report(&r, &err, false);
			goto done;
		}
		if (strcmp(jstr_or(json_object_get(resumed, "spec"), "hash", ""), hash) != 0) {
			err_set(&err, ERR_USAGE, "the spec changed since the interrupted run in '%s'", out);
			err_hint(&err, "start again without --resume");
			status = fail_report(&r, &err, false);
			goto done;
		}
		if (!json_equal(json_object_get(resumed, "shard"),
		                opts->shard_count > 1 ? r.report.shard : json_null())) {
			err_set(&err, ERR_USAGE, "the interrupted run in '%s' was another shard", out);
			status = fail_report(&r, &err, false);
			goto done;
		}
	} else {
		work_remove(out);
	}
	if (work_create(out, r.n, &err) < 0) {
		status = fail_report(&r, &err, false);
		goto done;
	}

	/* Plan every check before reading a row: a bad check fails the run early. */
	for (size_t i = 0; i < r.n; i++)
		if (check_plan(&r, i, resumed, &err) < 0) {
			if (err.kind != ERR_SPEC)
				err_context(&err, "check '%s'", r.res[i].check->name);
			r.res[i].status = RESULT_ERROR;
			r.res[i].err = err;
			status = fail_report(&r, &err, false);
			goto done;
		}
	if (resumed) {
		r.runjson = json_incref(resumed);
		snprintf(r.report.started_at, sizeof(r.report.started_at), "%s",
		         jstr_or(resumed, "started_at", r.report.started_at));
	} else {
		r.runjson = run_json(&r, hash);
		if (work_write_run(out, r.runjson, &err) < 0) {
			status = fail_report(&r, &err, false);
			goto done;
		}
	}

	if (export_snapshots(&r, &err) < 0) {
		status = fail_report(&r, &err, false);
		goto done;
	}
	if (run_chunks(&r, &err) < 0) {
		if (r.ntasks)
			r.res[r.tasks[0].check].status = RESULT_PENDING;
		status = fail_report(&r, &err, true);
		goto done;
	}
	/* The last look, and the stamps, while the locks are still held. */
	guard_look(&r.guard, chunk_now(), true, &r.yield);
	if (stamps_check(&r, "during the run", &err) < 0) {
		status = fail_report(&r, &err, false);
		goto done;
	}
	sessions_close(&r, &r.coord);
	for (size_t i = 0; i < r.n; i++) {
		struct part_result pr;
		struct chunk_env env;

		if (!r.cps[i].reconcile || !owned(&r, i, 0) || r.errored[i])
			continue;
		if (work_read_part(out, i, WORK_RECONCILE, &pr, &err) == 1)
			continue;
		env_for(&r, i, NULL, &env);
		if (chunk_reconcile(&env, &pr, &err) < 0) {
			err_context(&err, "check '%s'", r.res[i].check->name);
			status = fail_report(&r, &err, true);
			goto done;
		}
	}

	if (assemble_run(&r, &status, &err) < 0) {
		status = 2;     /* the errors are printed, and the parts kept for --resume */
		goto done;
	}
	/* A shard keeps its parts for tally merge; a whole run is complete. */
	if (opts->shard_count <= 1)
		work_remove(out);
done:
	json_decref(resumed);
	run_release(&r);
	free(default_out);
	return status;
}

/* ---- tally merge ------------------------------------------------------ */

/* Is check i in error in one of the shards? 1, 0, or -1 with err set. */
static int shard_error(char **dirs, size_t ndirs, size_t i, struct tally_err *err)
{
	for (size_t d = 0; d < ndirs; d++) {
		struct tally_err e;
		int rc = work_read_error(dirs[d], i, &e, err);

		if (rc != 0)
			return rc;
	}
	return 0;
}

int run_merge(const char *out_dir, char **dirs, size_t ndirs, bool compress, bool quiet)
{
	struct tally_err err;
	json_t **runs = xcalloc(ndirs, sizeof(*runs));
	json_t *first = NULL, *checks;
	struct outdir out;
	struct assemble_in in;
	size_t nchecks = 0, count = 0, **chunk_dir = NULL;
	long *recon = NULL;
	bool *seen = NULL;
	char started[32] = "", finished[32];
	int status = 2;

	memset(&out, 0, sizeof(out));
	for (size_t d = 0; d < ndirs; d++) {
		json_t *shard;
		size_t k;

		runs[d] = work_read_run(dirs[d], &err);
		if (!runs[d])
			goto fail;
		shard = json_object_get(runs[d], "shard");
		if (!json_is_object(shard)) {
			err_set(&err, ERR_USAGE, "'%s' is not a shard run (it was not started with --shard)", dirs[d]);
			goto fail;
		}
		k = (size_t)json_integer_value(json_object_get(shard, "index"));
		if (d == 0) {
			first = runs[0];
			count = (size_t)json_integer_value(json_object_get(shard, "count"));
			seen = xcalloc(count ? count : 1, sizeof(bool));
		} else if (!json_equal(json_object_get(runs[d], "spec"), json_object_get(first, "spec")) ||
		           (size_t)json_integer_value(json_object_get(shard, "count")) != count) {
			err_set(&err, ERR_USAGE, "'%s' and '%s' are shards of different runs", dirs[0], dirs[d]);
			goto fail;
		}
		if (k >= count || seen[k]) {
			err_set(&err, ERR_USAGE, "shard %zu of %zu appears twice ('%s')", k, count, dirs[d]);
			goto fail;
		}
		seen[k] = true;
		if (!started[0] || strcmp(jstr_or(runs[d], "started_at", ""), started) < 0)
			snprintf(started, sizeof(started), "%s", jstr_or(runs[d], "started_at", ""));
	}
	for (size_t k = 0; k < count; k++)
		if (!seen[k]) {
			err_set(&err, ERR_USAGE, "shard %zu of %zu is missing", k, count);
			goto fail;
		}
	checks = json_object_get(first, "checks");
	nchecks = json_array_size(checks);
	chunk_dir = xcalloc(nchecks ? nchecks : 1, sizeof(*chunk_dir));
	recon = xcalloc(nchecks ? nchecks : 1, sizeof(*recon));
	for (size_t i = 0; i < nchecks; i++) {
		json_t *jc = json_array_get(checks, i);
		const char *fp = json_string_value(json_object_get(json_object_get(jc, "chunks"), "fingerprint"));
		size_t n = (size_t)json_integer_value(json_object_get(json_object_get(jc, "chunks"), "n"));

		for (size_t d = 1; d < ndirs; d++) {
			json_t *oc = json_array_get(json_object_get(runs[d], "checks"), i);
			const char *ofp = json_string_value(json_object_get(json_object_get(oc, "chunks"), "fingerprint"));

			if (!fp || !ofp || strcmp(fp, ofp) != 0) {
				err_set(&err, ERR_USAGE, "check '%s': the shards planned different chunks",
				        json_string_value(json_object_get(jc, "name")));
				err_hint(&err, "the source changed between the shards' starts; run the shards again");
				goto fail;
			}
		}
		chunk_dir[i] = xcalloc(n ? n : 1, sizeof(size_t));
		recon[i] = -1;
		/* A check in error in some shard has no verdict: its chunks are not needed. */
		switch (shard_error(dirs, ndirs, i, &err)) {
		case -1:
			goto fail;
		case 1:
			continue;
		default:
			break;
		}
		for (size_t j = 0; j < n; j++) {
			long where = -1;

			for (size_t d = 0; d < ndirs; d++) {
				struct part_result pr;
				int rc = work_read_part(dirs[d], i, j, &pr, &err);

				if (rc < 0)
					goto fail;
				if (rc == 1 && where >= 0) {
					err_set(&err, ERR_USAGE, "check '%s': chunk %zu is in two shards",
					        json_string_value(json_object_get(jc, "name")), j + 1);
					goto fail;
				}
				if (rc == 1)
					where = (long)d;
			}
			if (where < 0) {
				err_set(&err, ERR_USAGE, "check '%s': chunk %zu is in no shard: a shard run did not finish",
				        json_string_value(json_object_get(jc, "name")), j + 1);
				err_hint(&err, "finish it with tally check ... --shard K/N --resume, then merge again");
				goto fail;
			}
			chunk_dir[i][j] = (size_t)where;
		}
		recon[i] = -1;
		if (json_is_true(json_object_get(json_object_get(jc, "chunks"), "reconcile"))) {
			for (size_t d = 0; d < ndirs; d++) {
				struct part_result pr;

				if (work_read_part(dirs[d], i, WORK_RECONCILE, &pr, &err) == 1)
					recon[i] = (long)d;
			}
			if (recon[i] < 0) {
				err_set(&err, ERR_USAGE, "check '%s' was not reconciled: shard 0 did not finish",
				        json_string_value(json_object_get(jc, "name")));
				goto fail;
			}
		}
	}
	if (outdir_open(&out, out_dir, &err) < 0)
		goto fail;
	memset(&in, 0, sizeof(in));
	in.run = first;
	in.dirs = (const char *const *)dirs;
	in.ndirs = ndirs;
	in.chunk_dir = chunk_dir;
	in.recon_dir = recon;
	in.out = &out;
	in.compress = compress;
	in.started_at = started;
	report_now(finished);
	in.finished_at = finished;
	in.quiet = quiet;
	if (assemble_outputs(&in, &status, &err) < 0)
		status = 2;     /* the errors are printed */
	goto done;
fail:
	err_print(&err, stderr);
	status = 2;
done:
	outdir_close(&out);
	for (size_t i = 0; i < nchecks; i++)
		free(chunk_dir ? chunk_dir[i] : NULL);
	free(chunk_dir);
	free(recon);
	free(seen);
	for (size_t d = 0; d < ndirs; d++)
		json_decref(runs[d]);
	free(runs);
	return status;
}
