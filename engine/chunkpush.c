/*
 * engine/chunkpush.c
 *   CHUNKPUSH: digests in the servers, narrowing, and the streamed rest.
 *   A range's parts are visited in key order, depth first, so the lines
 *   streamed ranges write follow the key as a whole chunk's do.
 *
 * The two sides digest a range at once: the target's statement runs on a
 * short-lived thread while the worker runs the source's. Each session is
 * still used by one thread at a time (the worker joins the thread before
 * touching the target's session again), as connector.h requires.
 */
#include "chunkpush.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "automode.h"
#include "chunkrun_int.h"

/* Is one side's column, read as class cls, one whose canonical row text both servers write? */
static bool type_ok(enum cclass cls, const struct canon_col *c)
{
	switch (cls) {
	case CC_NUMBER:
		return c->type == LT_INT || c->type == LT_DECIMAL;
	case CC_BOOL:
		return c->type == LT_BOOL || c->type == LT_INT;
	case CC_TEXT:
		return c->type == LT_TEXT || c->type == LT_CHAR;
	case CC_UUID:
		return c->type == LT_UUID || c->type == LT_TEXT || c->type == LT_CHAR;
	case CC_BYTES:
		return c->type == LT_BYTES;
	case CC_DATE:
		return c->type == LT_DATE;
	case CC_TIMESTAMP:
		return c->type == LT_TIMESTAMP;
	case CC_TIMESTAMPTZ:
		return c->type == LT_TIMESTAMPTZ;
	default:
		return false;
	}
}

/* Why a column pair cannot be hashed in the servers, or NULL. */
static const char *col_refusal(const struct plan_col *pc)
{
	for (int s = 0; s < 2; s++) {
		const struct canon_col *c = &pc->canon[s];

		if (!type_ok(c->cls, c))
			return "its class has no canonical text both servers write";
		if (c->tz || c->map)
			return "its values are converted (a time zone or a map) before they are compared";
		if (c->scale >= 0 || c->precision >= 0 || c->trim != CANON_TRIM_NONE || c->fold_case)
			return "it is compared loosely (an option that rounds, trims or folds case)";
	}
	return NULL;
}

bool push_refusal(const struct plan *p, struct buf *why)
{
	for (size_t i = 0; i < p->nkey + p->ncmp; i++) {
		const struct plan_col *pc = i < p->nkey ? &p->key[i] : &p->cmp[i - p->nkey];
		const char *r = col_refusal(pc);

		if (!r && i >= p->nkey && p->tol && p->tol[i - p->nkey] >= 0)
			r = "it is compared within a tolerance";

		if (r) {
			buf_addf(why, "column '%s' (%s, class %s) cannot be hashed in the server: %s",
			         plan_colname(p, pc, SIDE_SOURCE), ltype_name(pc->canon[SIDE_SOURCE].type),
			         cclass_name(pc->canon[SIDE_SOURCE].cls), r);
			return true;
		}
	}
	return false;
}

const char *push_fallback(const struct plan *p, const struct chunkplan *cp)
{
	if (p->multiset || p->nkey == 0)
		return "no key (a multiset): ranges cannot be narrowed";
	if (cp->reconcile || !cp->exact[0] || !cp->exact[1])
		return "a key column may be NULL, or the servers order the key differently: a key range is not the same rows on both sides";
	return NULL;
}

enum digest_hash push_hash_pick(const struct conn_ops *a, const struct conn_ops *b)
{
	/* Cheapest first. */
	static const enum digest_hash order[] = { DIGEST_PG_HASHTEXT, DIGEST_MD5 };
	unsigned both;

	if (!a->digest_rows || !b->digest_rows)
		return DIGEST_HASHES;
	both = a->digest_hashes & b->digest_hashes;
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (both & DIGEST_HASH_BIT(order[i]))
			return order[i];
	return DIGEST_HASHES;
}

bool push_stream_now(const uint64_t rows[2], unsigned depth)
{
	return (rows[0] <= PUSH_LEAF_ROWS && rows[1] <= PUSH_LEAF_ROWS) || depth >= PUSH_MAX_DEPTH;
}

uint64_t push_step(uint64_t rows)
{
	uint64_t step = (rows + PUSH_FANOUT - 1) / PUSH_FANOUT;

	return step ? step : 1;
}

/* ---- a chunk ---------------------------------------------------------- */

struct push {
	const struct chunk_env *env;
	size_t id;
	size_t *key[2];             /* each side's key columns, for scan requests */
	struct sink k;
	struct merge_stats st;      /* what the streamed ranges read */
	uint64_t equal[2];          /* rows of parts whose digests matched */
	uint64_t differing;         /* parts whose digests differed */
	struct auto_meter *meter;   /* --mode auto: the check's meter; NULL: digest every part */
	bool claimed;               /* this chunk holds the meter's probe */
	bool chose_stream;          /* auto streamed (part of) the chunk by choice */
	bool digested;              /* at least one window was digested */
	double split_per_part;      /* wall seconds of the chunk's split, per part */
	struct push_costs costs;    /* what this chunk measured */
};

static bool digest_equal(const struct rangedigest *a, const struct rangedigest *b)
{
	return a->rows == b->rows && strcmp(a->sum[0], b->sum[0]) == 0 && strcmp(a->sum[1], b->sum[1]) == 0;
}

static void range_req(const struct push *pu, int s, const struct chunk_range *r, struct scan_req *req)
{
	const struct plan *p = pu->env->plan;

	plan_scan_req(p, s, pu->key[s], req);
	req->ncols = p->nkey + p->ncmp;     /* the key, then the compared columns */
	req->cols = p->read[s];
	req->nlo = r->lo ? r->nlo : 0;
	req->lo = r->nlo ? r->lo : NULL;
	req->nhi = r->hi ? r->nhi : 0;
	req->hi = r->nhi ? r->hi : NULL;
}

struct side_digest {
	struct conn *c;
	struct scan_req req;
	size_t nb;
	const struct sqlval *bounds;
	enum digest_hash hash;
	struct rangedigest *out;
	struct tally_err err;
	int rc;
};

static void *side_digest_run(void *arg)
{
	struct side_digest *sd = arg;

	err_clear(&sd->err);
	sd->rc = sd->c->ops->digest_rows(sd->c, &sd->req, sd->nb, sd->bounds, sd->hash, sd->out, &sd->err);
	return NULL;
}

/* Digests range r in nb + 1 parts on both sides at once: d[s] holds nb + 1 digests. */
static int digest(struct push *pu, const struct chunk_range *r, size_t nb, const struct sqlval *bounds,
                  struct rangedigest *d[2], struct tally_err *err)
{
	struct side_digest sd[2];
	pthread_t th;
	bool threaded;

	/* As a streamed page does: a run letting go of its locks starts no new statement. */
	if (pu->env->stop && __atomic_load_n(pu->env->stop, __ATOMIC_RELAXED))
		return err_set(err, ERR_LOCKED, "stopped: the run lets go of its locks");
	for (int s = 0; s < 2; s++) {
		struct conn *c = pu->env->conn[s];

		if (!c->ops->digest_rows || !c->ops->split_range) {
			err_set(err, ERR_USAGE, "%s system '%s' (driver %s) cannot hash rows in the server", c->side,
			        pu->env->system[s], c->ops->driver);
			return err_hint(err, "use --mode stream for this check");
		}
		/* Planning picked a hash both compute; a digest of another would compare with nothing. */
		if (pu->env->push_hash >= DIGEST_HASHES ||
		    !(c->ops->digest_hashes & DIGEST_HASH_BIT(pu->env->push_hash)))
			return err_set(err, ERR_INTERNAL, "%s system '%s' (driver %s) cannot digest rows with hash %d",
			               c->side, pu->env->system[s], c->ops->driver, (int)pu->env->push_hash);
		sd[s].c = c;
		sd[s].nb = nb;
		sd[s].hash = pu->env->push_hash;
		sd[s].bounds = bounds;
		sd[s].out = d[s];
		range_req(pu, s, r, &sd[s].req);
	}
	threaded = pthread_create(&th, NULL, side_digest_run, &sd[SIDE_TARGET]) == 0;
	side_digest_run(&sd[SIDE_SOURCE]);
	if (threaded)
		pthread_join(th, NULL);
	else
		side_digest_run(&sd[SIDE_TARGET]);
	for (int s = 0; s < 2; s++) {
		if (sd[s].rc < 0) {
			*err = sd[s].err;
			return -1;
		}
	}
	return 0;
}

static int stream(struct push *pu, const struct chunk_range *r, struct tally_err *err)
{
	return chunk_stream_range(pu->env, pu->id, r, &pu->k, &pu->st, err);
}

/* Streams r as a choice (not a narrowed leaf): timed, for auto's model. */
static int stream_measured(struct push *pu, const struct chunk_range *r, struct tally_err *err)
{
	uint64_t before = pu->st.side[0].rows > pu->st.side[1].rows ? pu->st.side[0].rows : pu->st.side[1].rows;
	double t0 = chunk_now();
	uint64_t after, rows;
	int rc = stream(pu, r, err);

	if (rc < 0)
		return rc;
	after = pu->st.side[0].rows > pu->st.side[1].rows ? pu->st.side[0].rows : pu->st.side[1].rows;
	rows = after - before;
	if (rows >= AUTO_MIN_SAMPLE) {
		pu->costs.stream_s += chunk_now() - t0;
		pu->costs.stream_rows += rows;
	}
	if (pu->meter)
		auto_meter_streamed(pu->meter, chunk_now() - t0, rows);
	return 0;
}

static enum auto_pick pick(struct push *pu)
{
	bool claimed = false;
	enum auto_pick p = auto_meter_pick(pu->meter, &claimed);

	pu->claimed |= claimed;
	return p;
}

size_t push_int_bounds(int64_t lo, int64_t hi, double rows, int64_t *out, size_t cap)
{
	uint64_t span, parts, step;

	if (hi <= lo || !(rows >= 1))
		return 0;
	span = (uint64_t)hi - (uint64_t)lo;
	/*
	 * Parts of at most 7/8 of PUSH_PART_ROWS by the estimate, so that one
	 * 14 % short still gives parts a single split narrows to leaves.
	 */
	parts = (uint64_t)ceil(rows / (PUSH_PART_ROWS * 7.0 / 8.0));
	if (parts > span)
		parts = span;
	if (parts - 1 > cap)
		parts = cap + 1;
	step = span / parts;
	for (uint64_t k = 1; k < parts; k++)
		out[k - 1] = (int64_t)((uint64_t)lo + k * step);
	return (size_t)(parts - 1);
}

/* A bound's integer, when it is one that fits an int64. */
static bool int_bound(const struct sqlval *v, int64_t *out)
{
	char text[24], *end;
	long long x;

	if (v->kind != SV_NUMBER || v->special || !v->s || v->len == 0 || v->len >= sizeof(text) ||
	    memchr(v->s, '.', v->len))
		return false;
	memcpy(text, v->s, v->len);
	text[v->len] = '\0';
	errno = 0;
	x = strtoll(text, &end, 10);
	if (errno || *end)
		return false;
	*out = (int64_t)x;
	return true;
}

/*
 * A chunk between two integer keys (one key column, an integer on both
 * sides) is cut at evenly spaced keys, computed here rather than by a pass
 * over the keys in the server: parts of about PUSH_PART_ROWS rows where
 * the keys are dense, uneven where they are not (a differing part is then
 * split by the server as it narrows). true: *out and *n hold the
 * boundaries as canonical keys; false: the server must pick them.
 */
static bool int_split(struct push *pu, const struct chunk_range *r, struct buf **out, size_t *n)
{
	const struct plan *p = pu->env->plan;
	const struct chunkplan *cp = pu->env->cp;
	int64_t lo, hi, *k;
	size_t m;
	struct tally_err e;

	if (p->nkey != 1 || p->key[0].canon[0].type != LT_INT || p->key[0].canon[1].type != LT_INT ||
	    r->nlo != 1 || r->nhi != 1 || !r->lo || !r->hi || cp->n == 0 || !(cp->rows > 0) ||
	    !int_bound(&r->lo[0], &lo) || !int_bound(&r->hi[0], &hi))
		return false;
	k = xcalloc(PUSH_MAX_PARTS, sizeof(*k));
	m = push_int_bounds(lo, hi, cp->rows / (double)cp->n, k, PUSH_MAX_PARTS);
	*out = xcalloc(m ? m : 1, sizeof(**out));
	*n = 0;
	for (size_t i = 0; i < m; i++) {
		char text[24];
		int len = snprintf(text, sizeof(text), "%lld", (long long)k[i]);

		buf_init(&(*out)[i]);
		(*n)++;
		if (canon_encode(&(*out)[i], &p->key[0].canon[SIDE_SOURCE], text, (size_t)len, &e) < 0) {
			for (size_t j = 0; j < *n; j++)
				buf_release(&(*out)[j]);
			free(*out);
			*out = NULL;
			*n = 0;
			free(k);
			return false;
		}
	}
	free(k);
	return true;
}

/* The boundaries that split r into parts of step rows, as side s's server picks them: canonical keys. */
static int split(struct push *pu, int s, const struct chunk_range *r, uint64_t step, struct buf **out, size_t *n,
                 struct tally_err *err)
{
	const struct plan *p = pu->env->plan;
	struct conn *c = pu->env->conn[s];
	struct keybounds kb;
	struct scan_req req;
	int rc;

	*out = NULL;
	*n = 0;
	range_req(pu, s, r, &req);
	memset(&kb, 0, sizeof(kb));
	rc = c->ops->split_range(c, &req, step, &kb, err);
	*out = xcalloc(kb.n ? kb.n : 1, sizeof(**out));
	for (size_t i = 0; i < kb.n && rc == 0; i++) {
		buf_init(&(*out)[i]);
		(*n)++;
		for (size_t k = 0; k < p->nkey && rc == 0; k++) {
			size_t v = i * kb.ncols + k;

			rc = canon_encode(&(*out)[i], &p->key[k].canon[s], kb.val[v], kb.len[v], err);
		}
	}
	keybounds_release(&kb);
	return rc;
}

static int narrow(struct push *pu, const struct chunk_range *r, const uint64_t rows[2], unsigned depth,
                  struct tally_err *err);
static void measured_digest(struct push *pu, double seconds, struct rangedigest *d[2], size_t nparts, size_t ndiff);
static int visit_windows(struct push *pu, const struct chunk_range *r, const struct buf *b, size_t n,
                         struct tally_err *err);

/* A first-level digest pass of nparts parts d, ndiff of them differing: for the report and auto's model. */
static void measured_digest(struct push *pu, double seconds, struct rangedigest *d[2], size_t nparts, size_t ndiff)
{
	uint64_t rows[2] = { 0, 0 };

	for (size_t j = 0; j < nparts; j++) {
		rows[0] += d[0][j].rows;
		rows[1] += d[1][j].rows;
	}
	pu->digested = true;
	pu->costs.digest_s += seconds;
	pu->costs.digest_rows += rows[0] > rows[1] ? rows[0] : rows[1];
	pu->costs.parts += nparts;
	pu->costs.parts_differing += ndiff;
	if (pu->meter) {
		auto_meter_digested(pu->meter, seconds, rows[0] > rows[1] ? rows[0] : rows[1], nparts, ndiff);
		pu->claimed = false;
	}
}

/*
 * Range r split at the n boundaries b (canonical keys), its parts digested
 * in one pass per side: equal parts are done, differing ones narrowed in
 * key order. When most of four or more parts differ, reading the whole
 * range at once costs fewer statements than narrowing each part.
 */
static int visit_parts(struct push *pu, const struct chunk_range *r, const struct buf *b, size_t n,
                       unsigned depth, struct tally_err *err)
{
	size_t nkey = pu->env->plan->nkey;
	struct sqlval *v = xcalloc(n ? n * nkey : 1, sizeof(*v));
	struct buf *scr = xcalloc(n ? n * nkey : 1, sizeof(*scr));
	struct rangedigest *d[2] = { xcalloc(n + 1, sizeof(**d)), xcalloc(n + 1, sizeof(**d)) };
	size_t ndiff = 0;
	bool whole = false;
	double t0;
	int rc = 0;

	for (size_t i = 0; i < n * nkey; i++)
		buf_init(&scr[i]);
	for (size_t j = 0; j < n && rc == 0; j++)
		rc = chunk_key_vals((const uint8_t *)b[j].data, b[j].len, nkey, v + j * nkey, scr + j * nkey, err);
	t0 = chunk_now();
	if (rc == 0)
		rc = digest(pu, r, n, v, d, err);
	for (size_t j = 0; j <= n && rc == 0; j++)
		ndiff += !digest_equal(&d[0][j], &d[1][j]);
	if (rc == 0 && depth == 0)
		measured_digest(pu, chunk_now() - t0 + pu->split_per_part * (double)(n + 1), d, n + 1, ndiff);
	/* Most of four or more parts: of two or three, narrowing each still reads less. */
	if (rc == 0 && n >= 3 && ndiff * 2 > n + 1) {
		pu->differing += ndiff;
		whole = true;
		rc = depth == 0 ? stream_measured(pu, r, err) : stream(pu, r, err);
	}
	for (size_t j = 0; !whole && j <= n && rc == 0; j++) {
		struct chunk_range part = *r;

		if (digest_equal(&d[0][j], &d[1][j])) {
			pu->equal[0] += d[0][j].rows;
			pu->equal[1] += d[1][j].rows;
			/* Compared in the servers: the progress line counts them as read. */
			if (pu->env->progress_rows)
				__atomic_add_fetch(pu->env->progress_rows, d[0][j].rows + d[1][j].rows, __ATOMIC_RELAXED);
			continue;
		}
		pu->differing++;
		if (j > 0) {
			part.nlo = nkey;
			part.lo = v + (j - 1) * nkey;
		}
		if (j < n) {
			part.nhi = nkey;
			part.hi = v + j * nkey;
		}
		rc = narrow(pu, &part, (uint64_t[2]){ d[0][j].rows, d[1][j].rows }, depth + 1, err);
	}
	for (size_t i = 0; i < n * nkey; i++)
		buf_release(&scr[i]);
	free(scr);
	free(v);
	free(d[0]);
	free(d[1]);
	return rc;
}

/*
 * --mode auto: chunk r's parts (split at the n boundaries b) visited a
 * window of AUTO_WINDOW_PARTS parts at a time, the meter asked before
 * each window after the first whether to go on digesting or to stream
 * the rest of the chunk. Part j is (b[j - 1], b[j]].
 */
static int visit_windows(struct push *pu, const struct chunk_range *r, const struct buf *b, size_t n,
                         struct tally_err *err)
{
	size_t nkey = pu->env->plan->nkey;
	struct sqlval *lo = xcalloc(nkey, sizeof(*lo)), *hi = xcalloc(nkey, sizeof(*hi));
	struct buf *scr = xcalloc(2 * nkey, sizeof(*scr));
	int rc = 0;

	for (size_t i = 0; i < 2 * nkey; i++)
		buf_init(&scr[i]);
	for (size_t w = 0; w <= n && rc == 0; w += AUTO_WINDOW_PARTS) {
		size_t end = w + AUTO_WINDOW_PARTS;         /* parts w .. end - 1 */
		struct chunk_range wr = *r;

		if (w > 0) {
			rc = chunk_key_vals((const uint8_t *)b[w - 1].data, b[w - 1].len, nkey, lo, scr, err);
			wr.nlo = nkey;
			wr.lo = lo;
		}
		if (rc == 0 && w > 0 && pick(pu) == AUTO_STREAM) {
			pu->chose_stream = true;
			rc = stream_measured(pu, &wr, err);
			break;
		}
		if (rc == 0 && end <= n) {
			rc = chunk_key_vals((const uint8_t *)b[end - 1].data, b[end - 1].len, nkey, hi, scr + nkey, err);
			wr.nhi = nkey;
			wr.hi = hi;
		}
		if (rc == 0)
			rc = visit_parts(pu, &wr, b + w, (end <= n ? end - 1 : n) - w, 0, err);
	}
	for (size_t i = 0; i < 2 * nkey; i++)
		buf_release(&scr[i]);
	free(scr);
	free(lo);
	free(hi);
	return rc;
}

/*
 * A range whose digests differ (rows, as they counted), or a chunk not
 * yet digested (depth 0): streamed when small, else split at keys the
 * side with more rows picks and its parts visited.
 */
static int narrow(struct push *pu, const struct chunk_range *r, const uint64_t rows[2], unsigned depth,
                  struct tally_err *err)
{
	int s = rows[0] >= rows[1] ? SIDE_SOURCE : SIDE_TARGET;
	struct buf *b = NULL;
	size_t n = 0;
	int rc;

	double t0 = chunk_now();

	if (depth > 0 && push_stream_now(rows, depth))
		return stream(pu, r, err);
	if (depth == 0 && pu->meter && pick(pu) == AUTO_STREAM) {
		pu->chose_stream = true;
		return stream_measured(pu, r, err);
	}
	if (depth == 0 && int_split(pu, r, &b, &n))
		rc = 0;
	else
		rc = split(pu, s, r, depth == 0 ? PUSH_PART_ROWS : push_step(rows[s]), &b, &n, err);
	if (depth == 0)
		pu->split_per_part = (chunk_now() - t0) / (double)(n + 1);
	if (rc == 0 && n == 0 && depth > 0)
		rc = stream(pu, r, err);     /* no key to split at: read it */
	else if (rc == 0 && depth == 0 && pu->meter)
		rc = visit_windows(pu, r, b, n, err);
	else if (rc == 0)
		rc = visit_parts(pu, r, b, n, depth, err);
	for (size_t i = 0; i < n; i++)
		buf_release(&b[i]);
	free(b);
	return rc;
}

int chunk_push(const struct chunk_env *env, size_t id, struct part_result *res, struct tally_err *err)
{
	const struct plan *p = env->plan;
	struct conn_io io0[2] = { env->conn[0]->io, env->conn[1]->io };
	size_t nb = env->cp->nbound ? env->cp->nbound : 1;
	struct sqlval *lo = xcalloc(nb, sizeof(*lo)), *hi = xcalloc(nb, sizeof(*hi));
	struct buf *scr = xcalloc(2 * nb, sizeof(*scr));
	struct chunk_range r;
	struct push pu;
	double t0 = chunk_now();
	bool has_lo, has_hi, opened = false;
	int rc = -1;

	memset(res, 0, sizeof(*res));
	memset(&pu, 0, sizeof(pu));
	res->started = chunk_wall();
	pu.env = env;
	pu.id = id;
	pu.meter = env->meter;
	pu.key[0] = xcalloc(p->nkey ? p->nkey : 1, sizeof(size_t));
	pu.key[1] = xcalloc(p->nkey ? p->nkey : 1, sizeof(size_t));
	merge_stats_init(&pu.st);
	for (size_t i = 0; i < 2 * nb; i++)
		buf_init(&scr[i]);
	if (chunk_bound(env->cp, id, false, lo, scr, &has_lo, err) < 0 ||
	    chunk_bound(env->cp, id, true, hi, scr + nb, &has_hi, err) < 0)
		goto out;
	memset(&r, 0, sizeof(r));
	r.nlo = has_lo ? env->cp->nbound : 0;
	r.lo = has_lo ? lo : NULL;
	r.nhi = has_hi ? env->cp->nbound : 0;
	r.hi = has_hi ? hi : NULL;
	if (sink_open(&pu.k, env, id, false, err) < 0)
		goto out;
	opened = true;
	if (narrow(&pu, &r, (uint64_t[2]){ 0, 0 }, 0, err) < 0)
		goto out;
	/* Auto: 0 streamed whole by choice, 3 digested in part and the rest streamed. */
	res->push = !pu.digested ? 0 : pu.chose_stream ? 3 : pu.differing ? 2 : 1;
	res->costs = pu.costs;
	if (sink_close(&pu.k, env, id, err) < 0)
		goto out;
	for (int s = 0; s < 2; s++) {
		res->streamed[s] = pu.st.side[s].rows;
		res->hash[s] = pu.st.side[s];
		res->hash[s].rows += pu.equal[s];
		res->rows[s] = res->hash[s].rows;
	}
	res->missing = pu.k.missing;
	res->extra = pu.k.extra;
	res->changed = pu.k.changed;
	res->skipped = pu.st.skipped;
	res->outside = pu.k.outside;
	res->seconds = chunk_now() - t0;
	res->ended = chunk_wall();
	chunk_io_since(env, io0, res->io);
	rc = work_commit_part(env->out, env->check, id, res, err);
out:
	if (rc < 0) {
		if (pu.claimed)
			auto_meter_unclaim(pu.meter);
		if (opened)
			sink_abort(&pu.k, env, id);
		err_context(err, "chunk %zu", id + 1);
	}
	for (size_t i = 0; i < 2 * nb; i++)
		buf_release(&scr[i]);
	free(scr);
	free(lo);
	free(hi);
	free(pu.key[0]);
	free(pu.key[1]);
	return rc;
}
