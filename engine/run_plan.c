/*
 * engine/run_plan.c
 *   RUN: planning every check before a row is read (describe, pair,
 *   chunk bounds that both sides agree on), the chunk plan's record in
 *   run.json (written, and read back on --resume), and the table stamps
 *   that tell a table rewritten under the run.
 */
#include "run_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "automode.h"
#include "chunk.h"
#include "chunkpush.h"
#include "newer.h"
#include "tally_config.h"
#include "work.h"

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
	/*
	 * Counts per chunk prove something only when a chunk holds the same
	 * keys on both sides: a plan that needs reconciling (the servers
	 * order the key differently) is counted as one range.
	 */
	if (rc == 0 && r->cps[i].reconcile && r->opts->mode == MODE_COUNTS) {
		chunkplan_release(&r->cps[i]);
		chunkplan_single(&r->cps[i], exact);
	} else if (rc == 0 && r->cps[i].reconcile) {
		rc = bounds_increasing(r, i, (struct conn *[2]){ src, tgt }, exact, err);
	}
	keybounds_release(&kb);
	if (rc < 0)
		err_context(err, "planning chunks of %s", p->desc[SIDE_SOURCE].display);
	return rc;
}

/* How check i runs, for run.json and the report. */
static const char *check_ran(const struct run *r, size_t i)
{
	if (r->opts->mode == MODE_AUTO)
		return r->meter[i] ? "auto" : "stream";     /* auto: the chunks' parts say how (assemble.c) */
	if (r->opts->mode == MODE_PUSHDOWN)
		return r->mode_reason[i] ? "stream" : "pushdown";
	return run_mode_name(r->opts->mode);
}

json_t *run_check_json(struct run *r, size_t i)
{
	const struct plan *p = &r->plans[i];
	const struct check_result *res = &r->res[i];
	const struct spec_check *c = res->check;
	json_t *sides = json_array();

	for (int s = 0; s < 2; s++) {
		const char *table = res->side[s].table ? res->side[s].table : run_check_side(r, i, s)->table;

		json_array_append_new(sides, json_pack("{s:s, s:s?, s:s?, s:s?, s:s?}", "system",
		                                       run_check_side(r, i, s)->system, "table", table,
		                                       "server", res->side[s].server, "position",
		                                       res->side[s].position, "stamp", r->stamp[i][s]));
	}
	return json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:s, s:s, s:b, s:o, s:o, s:O, s:O, s:O, s:O?, s:O?, s:O?, s:o, "
	                 "s:s?}",
	                 "name", c->name, "mode", run_mode_name(r->opts->mode),
	                 "ran", check_ran(r, i),
	                 "mode_reason", r->mode_reason[i],
	                 "push_hash", r->push[i] ? digest_hash_name(r->push_hash[i]) : NULL,
	                 "expect", spec_expect_name(c->expect), "repair", spec_repair_name(c->repair),
	                 "multiset", r->planned[i] ? p->multiset : c->multiset,
	                 "chunks", r->cps[i].n ? chunkplan_json(&r->cps[i]) : json_pack("{s:i}", "n", 0),
	                 "sides", sides, "key", res->key ? res->key : json_null(),
	                 "columns", res->columns ? res->columns : json_null(),
	                 "unmatched", res->unmatched ? res->unmatched : json_null(),
	                 "findings", res->findings, "left_out", res->left_out,
	                 "ignore_newer_than", res->newer,
	                 "repair_info", r->rinfo[i] ? repair_info_json(r->rinfo[i]) : json_null(),
	                 "no_repair", r->no_repair[i]);
}

json_t *run_json(struct run *r, const char *spec_hash)
{
	json_t *systems = json_array(), *checks = json_array();

	for (size_t i = 0; i < r->spec->nsystems; i++)
		json_array_append_new(systems, json_pack("{s:s, s:s, s:s}", "name", r->spec->systems[i].name,
		                                         "driver", r->spec->systems[i].driver,
		                                         "dsn_shown", r->spec->systems[i].dsn_shown));
	for (size_t i = 0; i < r->n; i++)
		json_array_append_new(checks, run_check_json(r, i));
	return json_pack("{s:i, s:s, s:i, s:{s:s, s:s, s:s?, s:s?, s:s}, s:o, s:o, s:s, s:o, s:o}", "format", 1,
	                 "tally_version", TALLY_VERSION, "canon_version", CANON_VERSION,
	                 "spec", "name", r->spec->name, "file", r->spec->file, "reason", r->spec->reason,
	                 "ticket", r->spec->ticket,
	                 "hash", spec_hash, "systems", systems,
	                 "shard", r->opts->shard_count > 1
	                 ? json_pack("{s:i, s:i}", "index", r->opts->shard_index, "count", r->opts->shard_count)
	                 : json_null(),
	                 "started_at", r->report.started_at, "checks", checks,
	                 "findings", report_spec_findings(r->spec));
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
const struct spec_side *run_check_side(const struct run *r, size_t i, int s)
{
	return s == SIDE_SOURCE ? &r->res[i].check->source : &r->res[i].check->target;
}

bool run_check_own_error(const struct run *r, const struct tally_err *e)
{
	if (r->opts->fail_fast || tally_interrupted || __atomic_load_n(&r->stop, __ATOMIC_RELAXED))
		return false;
	switch (e->kind) {
	case ERR_SPEC:
	case ERR_CONNECT:
	case ERR_SCHEMA:
	case ERR_QUERY:
	case ERR_LOST:
	case ERR_DATA:
	case ERR_TIMEOUT:
		return true;
	default:
		return false;   /* the run's own trouble: files, locks, snapshots, an interruption */
	}
}

int run_check_error(struct run *r, size_t i, struct tally_err *e, struct tally_err *err)
{
	/* A spec error's message starts with file:line:column: the check is named after it. */
	if (e->kind != ERR_SPEC)
		err_context(e, "check '%s'", r->res[i].check->name);
	r->errored[i] = true;
	r->res[i].status = RESULT_ERROR;
	r->res[i].err = *e;
	return work_write_error(r->out.path, i, e, err);
}

/* The stamp of check i's side s now against the one the run began with; when is for the message. */
static int stamp_compare(struct run *r, size_t i, int s, const char *when, struct tally_err *err)
{
	const struct spec_side *sd = run_check_side(r, i, s);
	const char *was = r->stamp[i][s];
	struct tally_err e;
	char *now = NULL;
	bool gone;

	if (!was || !sd->table || r->errored[i])
		return 0;
	if (guard_stamp(&r->guard, sd->sys, sd->table, &now, &e) < 0) {
		err_context(&e, "cannot tell whether table '%s' on %s system '%s' was rewritten %s", sd->table,
		            s == SIDE_SOURCE ? "source" : "target", sd->system, when);
		return run_check_error(r, i, &e, err);
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
	return run_check_error(r, i, &e, err);
}

/* Every check's stamps against the run's first; -1 only when the work directory fails. */
int run_stamps_check(struct run *r, const char *when, struct tally_err *err)
{
	for (size_t i = 0; i < r->n; i++)
		for (int s = 0; s < 2; s++)
			if (stamp_compare(r, i, s, when, err) < 0)
				return -1;
	return 0;
}

/*
 * The stamps of every compared table, read before any coordinator session
 * takes its snapshot (planning opens them check by check). A rewrite
 * committed after a snapshot but before its table's first stamp would
 * otherwise go unseen: the snapshot finds the new storage empty, and the
 * stamps at the start and the end agree. The locks close that window for
 * the tables they cover; this closes it for the rest (a lock a role may
 * not take, TALLY_TEST_SKIP_LOCKS). A stamp that cannot be read now is
 * read by stamps_begin as before, which reports the failure; a system
 * whose first read fails is not asked again here.
 */
void run_stamps_early(struct run *r)
{
	const struct spec_system **failed = xcalloc(2 * r->n + 1, sizeof(*failed));
	size_t nfailed = 0;

	for (size_t i = 0; i < r->n; i++)
		for (int s = 0; s < 2; s++) {
			const struct spec_side *sd = run_check_side(r, i, s);
			struct tally_err e;
			bool skip = false;

			for (size_t f = 0; f < nfailed; f++)
				skip = skip || failed[f] == sd->sys;
			if (!sd->table || r->stamp[i][s] || skip)
				continue;
			if (guard_stamp(&r->guard, sd->sys, sd->table, &r->stamp[i][s], &e) < 0) {
				free(r->stamp[i][s]);
				r->stamp[i][s] = NULL;
				failed[nfailed++] = sd->sys;
			}
		}
	free(failed);
}

/*
 * The stamps a check begins with: those read by run_stamps_early, else
 * read now, under the coordinator's locks; or, resuming, those of the
 * interrupted run (old), which the tables must still have.
 */
static int stamps_begin(struct run *r, size_t i, json_t *old, struct tally_err *err)
{
	for (int s = 0; s < 2; s++) {
		const struct spec_side *sd = run_check_side(r, i, s);
		const char *was;

		if (!sd->table)
			continue;
		if (!old) {
			if (r->stamp[i][s])
				continue;
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

/*
 * ignore_newer_than: the cutoff is the run's start (the interrupted run's,
 * resuming) minus the age, so every chunk, a resumed run and the report
 * share one cutoff; run.json keeps it with the check.
 */
static int plan_newer(struct run *r, size_t i, json_t *resumed, struct tally_err *err)
{
	const struct spec_check *c = r->res[i].check;
	const char *t0 = json_string_value(json_object_get(resumed, "started_at"));
	int64_t cutoff = 0;
	char iso[32];

	if (!c->newer.column)
		return 0;
	if (!t0)
		t0 = r->report.started_at;
	if (newer_cutoff(t0, c->newer.age_seconds, &cutoff) < 0)
		return err_set(err, ERR_INTERNAL, "cannot read the run's start time '%s'", t0);
	if (newer_resolve(&r->plans[i], r->spec->file, cutoff, r->opts->mode == MODE_COUNTS, err) < 0)
		return -1;
	newer_cutoff_iso(cutoff, iso);
	json_decref(r->res[i].newer);
	r->res[i].newer = json_pack("{s:s, s:s, s:s}", "column", c->newer.column, "age", c->newer.age, "cutoff", iso);
	return 0;
}

/*
 * --mode auto, check i digestible: streamed when too small for a probe to
 * pay, or when the run is paced (a digest statement reads its whole range
 * at the server's pace); otherwise the meter chooses as the chunks run.
 */
static int auto_decide_check(struct run *r, size_t i)
{
	const struct chunkplan *cp = &r->cps[i];

	if (r->opts->max_rate > 0 || r->opts->max_load > 0) {
		r->push[i] = false;
		r->mode_reason[i] = xstrdup("auto: --max-rate and --max-load pace the rows read; a digest statement "
		                            "cannot be paced");
	} else if (cp->rows >= 0 && cp->rows < AUTO_MIN_ROWS) {
		r->push[i] = false;
		r->mode_reason[i] = xstrdup("auto: fewer than 100000 rows: streaming costs less than a probe of "
		                            "digests in the servers");
	} else {
		r->meter[i] = xcalloc(1, sizeof(**r->meter));
		auto_meter_init(r->meter[i]);
	}
	return 0;
}

/*
 * --mode pushdown: check i runs so, or streams with a reason (no key, a
 * key range that is not the same rows on both sides); a column that
 * cannot be hashed in the servers, or a system that cannot hash, fails
 * the check (the others go on): never a verdict pushdown could get wrong.
 * --mode auto streams such a check instead, saying why.
 */
static int push_decide(struct run *r, size_t i, struct conn *cn[2], struct tally_err *err)
{
	const struct plan *p = &r->plans[i];
	const char *fallback = push_fallback(p, &r->cps[i]);
	struct buf why = BUF_INIT;

	r->push[i] = false;
	if (fallback) {
		r->mode_reason[i] = xstrdup(fallback);
		return 0;
	}
	for (int s = 0; s < 2 && !why.len; s++)
		if (!cn[s]->ops->digest_rows || !cn[s]->ops->split_range)
			buf_addf(&why, "%s system '%s' (driver %s) cannot hash rows in the server", cn[s]->side,
			         cn[s]->system, cn[s]->ops->driver);
	if (!why.len && !push_refusal(p, &why)) {
		r->push[i] = true;
		r->push_hash[i] = push_hash_pick(cn[SIDE_SOURCE]->ops, cn[SIDE_TARGET]->ops);
		return r->opts->mode == MODE_AUTO ? auto_decide_check(r, i) : 0;
	}
	if (r->opts->mode == MODE_AUTO) {
		r->mode_reason[i] = buf_detach(&why, NULL);
		return 0;
	}
	err_set(err, ERR_SCHEMA, "%s", why.data);
	buf_release(&why);
	return err_hint(err, "compare this check with --mode stream");
}

/* Plans check i on the coordinator's sessions; reads no row. */
int run_check_plan(struct run *r, size_t i, json_t *resumed, struct tally_err *err)
{
	struct check_result *res = &r->res[i];
	const struct spec_check *c = res->check;
	struct plan *plan = &r->plans[i];
	struct conn *cn[2];
	bool exact[2];

	if (run_session_get(r, &r->coord, c->source.sys, SIDE_SOURCE, NULL, &cn[0], err) < 0 ||
	    run_session_get(r, &r->coord, c->target.sys, SIDE_TARGET, NULL, &cn[1], err) < 0)
		return -1;
	for (int s = 0; s < 2; s++) {
		struct session *se = run_session_find(&r->coord, s == 0 ? c->source.sys : c->target.sys, s);

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
	if (plan_newer(r, i, resumed, err) < 0)
		return -1;
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
		if (!old) {
			err_set(err, ERR_USAGE, "check '%s' no longer matches the interrupted run", c->name);
			return err_hint(err, "the tables or the spec changed; start again without --resume");
		}
		/* A check that ended in an error of its own is redone from the start, with fresh stamps. */
		if (known == 1) {
			if (work_clear_check(r->out.path, i, err) < 0)
				return -1;
			r->fresh[i] = true;
		}
	}
	if (resumed && !r->fresh[i]) {
		json_t *old = json_array_get(json_object_get(resumed, "checks"), i);

		if (stamps_begin(r, i, old, err) < 0)
			return -1;
		if (!r->errored[i] && (!json_equal(json_object_get(old, "columns"), res->columns) ||
		                       !json_equal(json_object_get(old, "key"), res->key))) {
			err_set(err, ERR_USAGE, "check '%s' no longer matches the interrupted run", c->name);
			return err_hint(err, "the tables or the spec changed; start again without --resume");
		}
		{
			const char *om = json_string_value(json_object_get(old, "mode"));

			if (strcmp(om ? om : "stream", run_mode_name(r->opts->mode)) != 0) {
				err_set(err, ERR_USAGE, "check '%s': the interrupted run was in --mode %s",
				        c->name, om ? om : "stream");
				return err_hint(err, "resume it with the same --mode, or start again without --resume");
			}
		}
		if (chunkplan_from_json(&r->cps[i], json_object_get(old, "chunks"), err) < 0)
			return -1;
	} else if (stamps_begin(r, i, NULL, err) < 0 || plan_chunks(r, i, cn[0], cn[1], exact, err) < 0) {
		return -1;
	}
	if ((r->opts->mode == MODE_PUSHDOWN || r->opts->mode == MODE_AUTO) && push_decide(r, i, cn, err) < 0)
		return -1;
	if (r->opts->mode == MODE_COUNTS) {
		r->no_repair[i] = "--mode counts: no repair (no row was read)";
	} else if (plan->repair_side >= 0) {
		const struct spec_system *ws = plan->repair_side == SIDE_SOURCE ? c->source.sys : c->target.sys;

		r->rinfo[i] = xcalloc(1, sizeof(**r->rinfo));
		repair_info_from_plan(r->rinfo[i], plan, ws->name, cn[plan->repair_side]->ops);
	} else {
		r->no_repair[i] = plan->no_repair ? plan->no_repair : "repair: none";
	}
	r->rows_total += r->cps[i].rows > 0 ? 2 * r->cps[i].rows : 0;
	return 0;
}

