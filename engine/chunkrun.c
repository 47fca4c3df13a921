/*
 * engine/chunkrun.c
 *   CHUNKRUN: paged side readers, local sorting, the chunk's sink, and
 *   reconciliation.
 */
#include "chunkrun.h"
#include "chunkrun_int.h"
#include "chunkpush.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "diffout.h"
#include "rowrec.h"
#include "sorter.h"
#include "stream.h"
#include "base/zfile.h"

double chunk_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double chunk_wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_seconds(double s)
{
	struct timespec ts;

	if (s <= 0)
		return;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR && !tally_interrupted)
		;
}

void ratelimit_init(struct ratelimit *r, double rate)
{
	pthread_mutex_init(&r->lock, NULL);
	r->rate = rate;
	r->tokens = rate;
	r->last = chunk_now();
}

void ratelimit_take(struct ratelimit *r, double n)
{
	double wait = 0;

	if (!r || r->rate <= 0)
		return;
	pthread_mutex_lock(&r->lock);
	{
		double now = chunk_now();

		r->tokens += (now - r->last) * r->rate;
		if (r->tokens > r->rate)
			r->tokens = r->rate;    /* at most one second of burst */
		r->last = now;
		r->tokens -= n;
		if (r->tokens < 0)
			wait = -r->tokens / r->rate;
	}
	pthread_mutex_unlock(&r->lock);
	sleep_seconds(wait);
}

void ratelimit_release(struct ratelimit *r)
{
	pthread_mutex_destroy(&r->lock);
}

/* ---- a side, page by page --------------------------------------------- */

struct paged {
	const struct chunk_env *env;
	int side;
	size_t chunk;
	struct stream st;
	bool open, done, paginate;
	bool unordered;             /* one statement, rows in any order: the side is sorted here */
	uint64_t page, in_page, rows, unreported;
	double t0;
	size_t nkey;
	struct sqlval *lo, *hi;
	struct buf *lo_scratch, *hi_scratch;
	size_t nlo, nhi;
	struct buf lastkey;
	struct msource src;
	const struct chunk_range *range;    /* NULL: the chunk's own bounds */
};

/* Pages need an index in key order: only a table whose key is its primary key. */
static bool can_paginate(const struct plan *p, int side)
{
	const struct tabdesc *t = &p->desc[side];

	if (t->is_query || t->npk != p->nkey || p->nkey == 0)
		return false;
	for (size_t i = 0; i < p->nkey; i++)
		if (t->pk[i] != p->key[i].col[side])
			return false;
	return true;
}

static int wait_for_load(struct paged *pg, struct tally_err *err)
{
	const struct chunk_env *env = pg->env;
	struct conn *c = env->conn[pg->side];
	long load;

	if (env->max_load <= 0 || !c->ops->load)
		return 0;
	for (;;) {
		if (c->ops->load(c, &load, err) < 0)
			return err_context(err, "%s system '%s': reading its load", c->side, env->system[pg->side]);
		if (load <= env->max_load || tally_interrupted)
			return 0;
		if (env->on_pause)
			env->on_pause(env->pause_arg, env->system[pg->side], load);
		sleep_seconds(1.0);
	}
}

static int open_page(struct paged *pg, struct tally_err *err)
{
	const struct chunk_env *env = pg->env;
	struct scan_range range;
	bool has;

	if (wait_for_load(pg, err) < 0)
		return -1;
	memset(&range, 0, sizeof(range));
	range.lo = pg->lo;
	range.hi = pg->hi;
	if (pg->rows == 0 && pg->range) {
		range.lo = pg->range->lo;
		pg->nlo = pg->range->nlo;
	} else if (pg->rows == 0) {
		if (chunk_bound(env->cp, pg->chunk, false, pg->lo, pg->lo_scratch, &has, err) < 0)
			return -1;
		pg->nlo = has ? env->cp->nbound : 0;
	} else {
		/* Continue after the last key read. */
		if (chunk_key_vals((const uint8_t *)pg->lastkey.data, pg->lastkey.len, pg->nkey, pg->lo,
		                   pg->lo_scratch, err) < 0)
			return -1;
		pg->nlo = pg->nkey;
	}
	if (pg->range) {
		range.hi = pg->range->hi;
		pg->nhi = pg->range->nhi;
	} else {
		if (chunk_bound(env->cp, pg->chunk, true, pg->hi, pg->hi_scratch, &has, err) < 0)
			return -1;
		pg->nhi = has ? env->cp->nbound : 0;
	}
	range.nlo = pg->nlo;
	range.nhi = pg->nhi;
	range.limit = pg->paginate ? pg->page : 0;
	range.unordered = pg->unordered;
	if (stream_open(&pg->st, env->conn[pg->side], env->plan, pg->side, env->system[pg->side], &range,
	                err) < 0)
		return -1;
	pg->open = true;
	pg->in_page = 0;
	pg->t0 = chunk_now();
	return 0;
}

static void report_progress(struct paged *pg)
{
	if (pg->env->progress_rows && pg->unreported)
		__atomic_add_fetch(pg->env->progress_rows, pg->unreported, __ATOMIC_RELAXED);
	ratelimit_take(pg->env->rate, (double)pg->unreported);
	pg->unreported = 0;
}

static int paged_next(void *ctx, const struct mrow **row, struct tally_err *err)
{
	struct paged *pg = ctx;

	for (;;) {
		int rc;

		if (pg->done)
			return 0;
		if (pg->env->stop && __atomic_load_n(pg->env->stop, __ATOMIC_RELAXED))
			return err_set(err, ERR_LOCKED, "stopped: the run lets go of its locks");
		if (!pg->open && open_page(pg, err) < 0)
			return -1;
		rc = stream_next(&pg->st, row, err);
		if (rc < 0)
			return -1;
		if (rc == 1) {
			pg->in_page++;
			pg->rows++;
			if (++pg->unreported == 1024)
				report_progress(pg);
			return 1;
		}
		/* The page ended: was it full? Then there may be more. */
		if (pg->paginate && pg->in_page == pg->page && pg->in_page > 0) {
			buf_reset(&pg->lastkey);
			buf_add(&pg->lastkey, pg->st.row.bytes, pg->st.row.keylen);
			pg->page = chunk_next_page(pg->page, chunk_now() - pg->t0, pg->env->page_seconds);
		} else {
			pg->done = true;
		}
		stream_close(&pg->st);
		pg->open = false;
		report_progress(pg);
	}
}

static void paged_init(struct paged *pg, const struct chunk_env *env, int side, size_t chunk,
                       const struct chunk_range *r)
{
	memset(pg, 0, sizeof(*pg));
	pg->env = env;
	pg->range = r;
	pg->side = side;
	pg->chunk = chunk;
	pg->nkey = env->plan->nkey;
	/*
	 * A side sorted here needs no order from its server: asking for one
	 * under a collation that is not bytewise costs a sort in the server
	 * (PostgreSQL) for nothing. Its chunks are sized to the sort budget,
	 * so one statement per chunk stays short; under --max-rate, where a
	 * statement lasts as long as tally takes to read it, pages (which
	 * need the order) keep each one short as before.
	 */
	pg->unordered = !env->cp->exact[side] && env->cp->n > 1 && !env->rate;
	pg->paginate = !pg->unordered && can_paginate(env->plan, side);
	pg->page = env->first_page ? env->first_page : 100000;
	pg->lo = xcalloc(pg->nkey, sizeof(struct sqlval));
	pg->hi = xcalloc(pg->nkey, sizeof(struct sqlval));
	pg->lo_scratch = xcalloc(pg->nkey, sizeof(struct buf));
	pg->hi_scratch = xcalloc(pg->nkey, sizeof(struct buf));
	for (size_t i = 0; i < pg->nkey; i++) {
		buf_init(&pg->lo_scratch[i]);
		buf_init(&pg->hi_scratch[i]);
	}
	buf_init(&pg->lastkey);
	pg->src.ctx = pg;
	pg->src.side = side == SIDE_SOURCE ? "source" : "target";
	pg->src.next = paged_next;
}

static void paged_release(struct paged *pg)
{
	if (pg->open)
		stream_close(&pg->st);
	for (size_t i = 0; i < pg->nkey; i++) {
		buf_release(&pg->lo_scratch[i]);
		buf_release(&pg->hi_scratch[i]);
	}
	free(pg->lo);
	free(pg->hi);
	free(pg->lo_scratch);
	free(pg->hi_scratch);
	buf_release(&pg->lastkey);
}

/* ---- the chunk's sink ------------------------------------------------- */

static int leave(struct sink *k, int side, const struct mrow *m, struct tally_err *err)
{
	buf_reset(&k->rec);
	buf_addch(&k->rec, (char)side);
	rowrec_put(&k->rec, m, k->ncmp, m->raw);
	return zfile_write(&k->left, k->rec.data, k->rec.len, err);
}

static int sink_diff(void *ctx, enum diff_kind kind, const struct mrow *src, const struct mrow *tgt,
                     const uint8_t *changed, struct tally_err *err)
{
	struct sink *k = ctx;
	const struct mrow *kr = src ? src : tgt;
	bool tag = k->wf && kr->raw;

	/* A workflow's step reads only its keys: the others are counted, not compared. */
	if (tag && !wf_filter_keeps(k->wf, kr->raw->val, kr->raw->len, &k->wkey)) {
		k->outside++;
		return 0;
	}
	/*
	 * Chunks that may disagree on membership hand on every row that is not
	 * simply equal: a one-sided row may have its match in another chunk,
	 * and passing the pairs too puts all the check's verdicts in one key
	 * order, whatever the chunks.
	 */
	if (k->has_left) {
		if (src && leave(k, 0, src, err) < 0)
			return -1;
		if (tgt && leave(k, 1, tgt, err) < 0)
			return -1;
		return 0;
	}
	if (kind == DIFF_MISSING)
		k->missing++;
	else if (kind == DIFF_EXTRA)
		k->extra++;
	else
		k->changed++;
	if (diffout_row(&k->diff, kind, src, tgt, changed, err) < 0)
		return -1;
	/* Which workflow key the record repairs: assembling leaves out keys done out of order. */
	if (k->rep && tag && repair_tag(k->rep, k->wkey.data ? k->wkey.data : "", k->wkey.len, err) < 0)
		return -1;
	if (k->rep && repair_row(k->rep, kind, src, tgt, changed, err) < 0)
		return -1;
	return 0;
}

static int sink_copies(void *ctx, enum diff_kind kind, const struct mrow *row, uint64_t sc, uint64_t tc,
                       struct tally_err *err)
{
	struct sink *k = ctx;
	uint64_t n = kind == DIFF_MISSING ? sc - tc : k->absent ? tc : tc - sc;

	if (kind == DIFF_MISSING)
		k->missing += n;
	else
		k->extra += n;
	if (diffout_copies(&k->diff, kind, row, sc, tc, n, err) < 0)
		return -1;
	if (k->rep && repair_copies(k->rep, kind, row, sc, tc, n, err) < 0)
		return -1;
	return 0;
}

/* Opens the part's files under their temporary names. */
int sink_open(struct sink *k, const struct chunk_env *env, size_t part, bool left, struct tally_err *err)
{
	char *path;
	int rc;

	memset(k, 0, sizeof(*k));
	buf_init(&k->rec);
	buf_init(&k->wkey);
	k->wf = env->wf;
	k->dz.fd = k->left.fd = -1;
	k->ncmp = env->plan->ncmp;
	k->absent = env->plan->check->expect == EXPECT_ABSENT;
	path = work_part_tmp(env->out, env->check, part, "diff");
	rc = zfile_create(&k->dz, path, 3, 0, err);
	free(path);
	if (rc < 0)
		return -1;
	diffout_init(&k->diff, &k->dz, env->plan, env->plan->check->name);
	if (env->repair) {
		path = work_part_tmp(env->out, env->check, part, "rep");
		k->rep = repair_writer_new(env->repair, path, err);
		free(path);
		if (!k->rep)
			return -1;
	}
	if (left) {
		path = work_part_tmp(env->out, env->check, part, "left");
		rc = zfile_create(&k->left, path, 1, 0, err);
		free(path);
		if (rc < 0)
			return -1;
		k->has_left = true;
	}
	return 0;
}

/*
 * Finishes the part's files (each written, synced and closed, every
 * result checked) and gives them their final names; the part counts as
 * done only once its .done file follows (work_commit_part).
 */
int sink_close(struct sink *k, const struct chunk_env *env, size_t part, struct tally_err *err)
{
	static const char *const kinds[] = { "diff", "rep", "left" };
	struct tally_err later;
	int rc = zfile_close(&k->dz, err);

	if (k->rep && repair_writer_close(k->rep, rc == 0 ? err : &later) < 0)
		rc = -1;
	k->rep = NULL;
	if (k->has_left && zfile_close(&k->left, rc == 0 ? err : &later) < 0)
		rc = -1;
	for (size_t i = 0; i < 3 && rc == 0; i++) {
		char *from = work_part_tmp(env->out, env->check, part, kinds[i]);
		char *to = work_part_path(env->out, env->check, part, kinds[i]);

		if (access(from, F_OK) == 0 && rename(from, to) < 0)
			rc = err_set(err, ERR_IO, "cannot rename '%s': %s", from, strerror(errno));
		free(from);
		free(to);
	}
	buf_release(&k->rec);
	buf_release(&k->wkey);
	return rc;
}

/* Drops an unfinished part's files, under their temporary names or not. */
void sink_abort(struct sink *k, const struct chunk_env *env, size_t part)
{
	static const char *const kinds[] = { "diff", "rep", "left" };

	zfile_abort(&k->dz);
	repair_writer_free(k->rep);
	k->rep = NULL;
	zfile_abort(&k->left);
	for (size_t i = 0; i < 3; i++) {
		char *p = work_part_tmp(env->out, env->check, part, kinds[i]);

		unlink(p);
		free(p);
		p = work_part_path(env->out, env->check, part, kinds[i]);
		unlink(p);
		free(p);
	}
	buf_release(&k->rec);
	buf_release(&k->wkey);
}

/* ---- one chunk -------------------------------------------------------- */

/* A side's sorter for this chunk: the worker's, renewed, or a new one that the chunk frees. */
static struct sorter *chunk_sorter(const struct chunk_env *env, int side, const char *name)
{
	char *dir = xasprintf("%s/%s", env->out, WORK_DIRNAME);
	struct sorter *s;

	if (env->sorters)
		s = env->sorters[side] = sorter_renew(env->sorters[side], dir, env->sort_budget, env->plan->ncmp,
		                                      name);
	else
		s = sorter_new(dir, env->sort_budget, env->plan->ncmp, name);
	free(dir);
	return s;
}

/*
 * Each side's rows in bytewise order: straight from its pages, or through
 * a local sort. Two sorted sides are read in turns, a row from each, so
 * that both servers produce their rows at once instead of one after the
 * other; a side that needs no sort is read by the merge afterwards.
 */
static int side_sources(const struct chunk_env *env, struct paged pg[2], struct sorter *sorted[2],
                        struct msource *out[2], struct tally_err *err)
{
	bool more[2];

	for (int s = 0; s < 2; s++) {
		sorted[s] = env->cp->exact[s] ? NULL : chunk_sorter(env, s, pg[s].src.side);
		more[s] = sorted[s] != NULL;
		out[s] = &pg[s].src;
	}
	while (more[0] || more[1]) {
		for (int s = 0; s < 2; s++) {
			const struct mrow *m;
			int rc;

			if (!more[s])
				continue;
			rc = paged_next(&pg[s], &m, err);
			if (rc < 0 || (rc == 1 && sorter_add(sorted[s], m, err) < 0))
				return -1;
			more[s] = rc == 1;
		}
	}
	for (int s = 0; s < 2; s++) {
		if (!sorted[s])
			continue;
		if (sorter_finish(sorted[s], err) < 0)
			return -1;
		out[s] = sorter_source(sorted[s]);
	}
	return 0;
}

void chunk_io_since(const struct chunk_env *env, const struct conn_io before[2], struct conn_io out[2])
{
	for (int s = 0; s < 2; s++) {
		out[s].queries = env->conn[s]->io.queries - before[s].queries;
		out[s].bytes = env->conn[s]->io.bytes - before[s].bytes;
	}
}

/*
 * --mode counts: each side counts the chunk's range in its server (one
 * statement, no row transferred). The part has empty difference and
 * repair files; its hashes hold only the counts, so a chunk "mismatches"
 * exactly when the counts differ.
 */
static int chunk_count(const struct chunk_env *env, size_t id, struct part_result *res, struct tally_err *err)
{
	const struct plan *p = env->plan;
	struct conn_io io0[2] = { env->conn[0]->io, env->conn[1]->io };
	size_t nb = env->cp->nbound ? env->cp->nbound : 1;
	struct sqlval *lo = xcalloc(nb, sizeof(*lo)), *hi = xcalloc(nb, sizeof(*hi));
	struct buf *scr = xcalloc(2 * nb, sizeof(*scr));
	size_t *key = xcalloc(p->nkey ? p->nkey : 1, sizeof(*key));
	double t0 = chunk_now();
	struct sink k;
	bool has_lo, has_hi;
	int rc = -1;

	memset(res, 0, sizeof(*res));
	res->started = chunk_wall();
	for (size_t i = 0; i < 2 * nb; i++)
		buf_init(&scr[i]);
	if (chunk_bound(env->cp, id, false, lo, scr, &has_lo, err) < 0 ||
	    chunk_bound(env->cp, id, true, hi, scr + nb, &has_hi, err) < 0)
		goto out;
	for (int s = 0; s < 2; s++) {
		struct conn *c = env->conn[s];
		struct scan_req req;

		if (!c->ops->count_rows) {
			err_set(err, ERR_USAGE, "%s system '%s' (driver %s) cannot count rows in the server",
			        c->side, env->system[s], c->ops->driver);
			err_hint(err, "use --mode stream for this check");
			goto out;
		}
		plan_scan_req(p, s, key, &req);
		req.nlo = has_lo ? env->cp->nbound : 0;
		req.lo = has_lo ? lo : NULL;
		req.nhi = has_hi ? env->cp->nbound : 0;
		req.hi = has_hi ? hi : NULL;
		if (c->ops->count_rows(c, &req, &res->rows[s], err) < 0)
			goto out;
		chunkhash_init(&res->hash[s]);
		res->hash[s].rows = res->rows[s];
	}
	if (sink_open(&k, env, id, false, err) < 0)
		goto out;
	if (sink_close(&k, env, id, err) < 0) {
		sink_abort(&k, env, id);
		goto out;
	}
	res->seconds = chunk_now() - t0;
	res->ended = chunk_wall();
	chunk_io_since(env, io0, res->io);
	rc = work_commit_part(env->out, env->check, id, res, err);
out:
	if (rc < 0)
		err_context(err, "chunk %zu", id + 1);
	for (size_t i = 0; i < 2 * nb; i++)
		buf_release(&scr[i]);
	free(scr);
	free(lo);
	free(hi);
	free(key);
	return rc;
}

int chunk_stream_range(const struct chunk_env *env, size_t id, const struct chunk_range *r, struct sink *k,
                       struct merge_stats *total, struct tally_err *err)
{
	const struct plan *p = env->plan;
	struct paged pg[2];
	struct sorter *sorted[2] = { NULL, NULL };
	struct msource *src[2];
	const char **keynames[2] = { NULL, NULL };
	struct merge_sink ms;
	struct merge_stats st;
	struct merge_newer nw = { (size_t)(p->newer_col >= 0 ? p->newer_col : 0), p->newer_cutoff, NULL, NULL };
	int rc = -1;

	paged_init(&pg[0], env, SIDE_SOURCE, id, r);
	paged_init(&pg[1], env, SIDE_TARGET, id, r);
	if (side_sources(env, pg, sorted, src, err) < 0)
		goto out;
	for (int s = 0; s < 2 && !p->multiset; s++) {
		keynames[s] = xcalloc(p->nkey ? p->nkey : 1, sizeof(char *));
		for (size_t i = 0; i < p->nkey; i++)
			keynames[s][i] = plan_colname(p, &p->key[i], s);
		src[s]->keynames = keynames[s];
		src[s]->nkey = p->nkey;
	}
	ms.ctx = k;
	ms.diff = sink_diff;
	ms.copies = sink_copies;
	ms.newer = p->newer_col >= 0 ? &nw : NULL;
	merge_stats_init(&st);
	if (p->multiset)
		rc = merge_multiset(src[0], src[1], p->ncmp, p->check->expect, &ms, &st, err);
	else if (env->cp->reconcile)
		rc = merge_run_tol(src[0], src[1], p->ncmp, p->tol, p->check->expect, true, &ms, &st, err);
	else
		rc = merge_run_tol(src[0], src[1], p->ncmp, p->tol, p->check->expect, false, &ms, &st, err);
	if (rc == 0) {
		total->missing += st.missing;
		total->extra += st.extra;
		total->changed += st.changed;
		total->matched += st.matched;
		total->skipped += st.skipped;
		chunkhash_merge(&total->side[0], &st.side[0]);
		chunkhash_merge(&total->side[1], &st.side[1]);
	}
out:
	if (!env->sorters) {
		sorter_free(sorted[0]);
		sorter_free(sorted[1]);
	}
	paged_release(&pg[0]);
	paged_release(&pg[1]);
	free(keynames[0]);
	free(keynames[1]);
	return rc;
}

int chunk_run(const struct chunk_env *env, size_t id, struct part_result *res, struct tally_err *err)
{
	struct merge_stats st;
	struct sink k;
	double t0 = chunk_now();
	int rc = -1;

	struct conn_io io0[2] = { env->conn[0]->io, env->conn[1]->io };

	if (env->counts)
		return chunk_count(env, id, res, err);
	if (env->push)
		return chunk_push(env, id, res, err);
	memset(res, 0, sizeof(*res));
	res->started = chunk_wall();
	merge_stats_init(&st);
	if (sink_open(&k, env, id, env->cp->reconcile, err) < 0)
		goto out;
	rc = chunk_stream_range(env, id, NULL, &k, &st, err);
	if (rc == 0)
		rc = sink_close(&k, env, id, err);
	if (rc == 0) {
		res->rows[0] = st.side[0].rows;
		res->rows[1] = st.side[1].rows;
		res->hash[0] = st.side[0];
		res->hash[1] = st.side[1];
		res->missing = k.missing;
		res->extra = k.extra;
		res->changed = k.changed;
		res->skipped = st.skipped;
		res->outside = k.outside;
		res->seconds = chunk_now() - t0;
		res->ended = chunk_wall();
		chunk_io_since(env, io0, res->io);
		rc = work_commit_part(env->out, env->check, id, res, err);
	}
out:
	if (rc < 0) {
		sink_abort(&k, env, id);
		err_context(err, "chunk %zu", id + 1);
	}
	return rc;
}

/* ---- reconciliation --------------------------------------------------- */

static int feed_leftovers(const struct chunk_env *env, struct sorter *s[2], struct tally_err *err)
{
	struct rowview v;
	struct buf rec = BUF_INIT;
	int rc = 0;

	rowview_init(&v);
	for (size_t id = 0; id < env->cp->n && rc == 0; id++) {
		char *path = work_part_path(env->out, env->check, id, "left");
		struct zreader z;

		if (zreader_open(&z, path, err) < 0) {
			free(path);
			rc = -1;
			break;
		}
		for (;;) {
			uint8_t head[5];
			long got = zreader_read(&z, head, 5, err);
			uint32_t len;

			if (got == 0)
				break;
			if (got != 5 || head[0] > 1) {
				rc = got < 0 ? -1 : err_set(err, ERR_IO, "leftovers '%s' are corrupt", path);
				break;
			}
			len = rowrec_len(head + 1);
			buf_reset(&rec);
			buf_grow(&rec, len);
			memcpy(rec.data, head + 1, 4);
			if (len < 4 || zreader_read(&z, rec.data + 4, len - 4, err) != (long)(len - 4) ||
			    rowrec_get((const uint8_t *)rec.data, len, &v) < 0) {
				rc = err_set(err, ERR_IO, "leftovers '%s' are corrupt", path);
				break;
			}
			if (sorter_add(s[head[0]], &v.m, err) < 0) {
				rc = -1;
				break;
			}
		}
		zreader_close(&z);
		free(path);
	}
	rowview_release(&v);
	buf_release(&rec);
	return rc;
}

int chunk_reconcile(const struct chunk_env *env, struct part_result *res, struct tally_err *err)
{
	const struct plan *p = env->plan;
	char *dir = xasprintf("%s/%s", env->out, WORK_DIRNAME);
	struct sorter *s[2] = { sorter_new(dir, env->sort_budget, p->ncmp, "source"),
	                        sorter_new(dir, env->sort_budget, p->ncmp, "target") };
	struct merge_sink ms;
	struct merge_stats st;
	struct merge_newer nw = { (size_t)(p->newer_col >= 0 ? p->newer_col : 0), p->newer_cutoff, NULL, NULL };
	struct sink k;
	double t0 = chunk_now();
	int rc = -1;

	free(dir);
	memset(res, 0, sizeof(*res));
	res->started = chunk_wall();
	if (sink_open(&k, env, WORK_RECONCILE, false, err) < 0)
		goto out;
	if (feed_leftovers(env, s, err) < 0 || sorter_finish(s[0], err) < 0 || sorter_finish(s[1], err) < 0)
		goto out;
	ms.ctx = &k;
	ms.diff = sink_diff;
	ms.copies = sink_copies;
	ms.newer = p->newer_col >= 0 ? &nw : NULL;
	merge_stats_init(&st);
	rc = merge_run_tol(sorter_source(s[0]), sorter_source(s[1]), p->ncmp, p->tol, p->check->expect, false,
	                   &ms, &st, err);
	if (rc == 0)
		rc = sink_close(&k, env, WORK_RECONCILE, err);
	if (rc == 0) {
		res->missing = k.missing;
		res->extra = k.extra;
		res->changed = k.changed;
		res->skipped = st.skipped;
		res->outside = k.outside;
		res->seconds = chunk_now() - t0;
		res->ended = chunk_wall();
		chunkhash_init(&res->hash[0]);
		chunkhash_init(&res->hash[1]);
		rc = work_commit_part(env->out, env->check, WORK_RECONCILE, res, err);
	}
out:
	if (rc < 0) {
		sink_abort(&k, env, WORK_RECONCILE);
		err_context(err, "reconciling chunk boundaries");
	}
	sorter_free(s[0]);
	sorter_free(s[1]);
	return rc;
}
