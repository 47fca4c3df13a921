/*
 * connectors/mariadb/plan.c
 *   plan -> chunk: cuts a MariaDB table into ranges of its primary key
 *   (conn_ops.plan_bounds) by bisection or stepping, and ranks bounds in
 *   the server's order (conn_ops.rank_bounds). Runs small queries (the
 *   catalog, the ends of the key, EXPLAIN estimates, one row per step) on
 *   the planning session; never reads the table's rows out.
 *
 * Planning works like this. plan_bounds cuts a table into ranges of its
 * primary key of about chunk_rows rows each, so that sessions can read
 * them in parallel, each with a bounded scan:
 *
 *   - The table's size is information_schema.TABLES.TABLE_ROWS (InnoDB's
 *     estimate). A table under two chunks, a query, or a key the server
 *     cannot range over in its index order (not the primary key, a
 *     nullable column, an ENUM or SET, which compare by label text but
 *     sort by index, a FLOAT, whose text is not exact) gets no
 *     boundaries: one chunk.
 *
 *   - Bisection, when the first key column is an integer, YEAR, DATE,
 *     DATETIME or TIMESTAMP: the smallest and largest values come from
 *     the two ends of the primary key (ORDER BY k1 [DESC] LIMIT 1); the
 *     range is halved at its numeric midpoint (whole days or seconds for
 *     temporal types) while the optimizer estimates more than 1.5 chunks
 *     in it (EXPLAIN SELECT 1 FROM t WHERE k1 > a AND k1 <= b: InnoDB
 *     dives into the index, it reads no rows; the estimates are scaled
 *     so that they add up to TABLE_ROWS, see span_scale). Halving all
 *     ranges a level at a time spends the capped number of EXPLAINs (4 per
 *     expected chunk, plus 64) evenly; a skewed key is split deeper where
 *     its rows are. Neighbouring small ranges are then merged up to 1.5
 *     chunks, and a last range under half a chunk joins the one before.
 *     Boundaries are values of k1 alone.
 *     When one value of k1 alone holds more than two chunks (a composite
 *     key with a heavy leading value), it cannot be split this way and
 *     planning falls back to stepping.
 *
 *   - Stepping, for any other key: SELECT key FROM t WHERE key > last
 *     ORDER BY key LIMIT 1 OFFSET chunk_rows - 1, repeated until no row
 *     comes back. Each query walks chunk_rows entries of the primary key
 *     in the server and sends one row: planning walks the primary key (the
 *     clustered table, for InnoDB) once, without sending it. The last
 *     boundary is dropped when fewer than half a chunk follows it.
 *
 * Either way the boundaries are strictly increasing in the server's order
 * (the comparisons are the server's, in the key's collation) and are
 * values in the text format of scan_next.
 */
#include "my_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Planning state: the request, its table, the boundaries found. */
struct plan {
	struct mdb_conn *c;
	const struct scan_req *req;
	const char *what;           /* "legacy.orders", for messages */
	uint64_t chunk;
	struct keybounds *out;
	size_t cap;
};

/* Appends one boundary of out->ncols values (copied). */
static void plan_push(struct plan *p, char *const *val, const size_t *len)
{
	struct keybounds *b = p->out;
	size_t cap = p->cap, at = b->n * b->ncols;

	b->val = xgrow(b->val, &cap, at + b->ncols, sizeof(*b->val));
	cap = p->cap;
	b->len = xgrow(b->len, &cap, at + b->ncols, sizeof(*b->len));
	p->cap = cap;
	for (size_t i = 0; i < b->ncols; i++) {
		b->val[at + i] = xmalloc(len[i] + 1);
		memcpy(b->val[at + i], val[i], len[i]);
		b->val[at + i][len[i]] = '\0';
		b->len[at + i] = len[i];
	}
	b->n++;
}

static void plan_pop(struct plan *p)
{
	struct keybounds *b = p->out;

	b->n--;
	for (size_t i = 0; i < b->ncols; i++)
		free(b->val[b->n * b->ncols + i]);
}

/* Runs a planning query and keeps its (small) result. */
static int plan_query(struct plan *p, const struct buf *sql, MYSQL_RES **res,
                      struct tally_err *err)
{
	return mdb_catalog(p->c, sql, res, "planning chunks of", p->what, err);
}

/* TABLE_ROWS and DATA_LENGTH of the table, 0 when unknown. */
static int plan_table_rows(struct plan *p, double *rows, double *bytes, struct tally_err *err)
{
	struct buf sql = BUF_INIT;
	char *db, *name;
	MYSQL_RES *r;
	MYSQL_ROW row;

	mdb_split_table(p->c, p->req->table, &db, &name);
	buf_addstr(&sql, "SELECT TABLE_ROWS, DATA_LENGTH FROM information_schema.TABLES WHERE ");
	mdb_add_name_match(&sql, "TABLE_SCHEMA", db);
	buf_addstr(&sql, " AND ");
	mdb_add_name_match(&sql, "TABLE_NAME", name);
	free(db);
	free(name);
	if (plan_query(p, &sql, &r, err) < 0) {
		buf_release(&sql);
		return -1;
	}
	buf_release(&sql);
	row = mysql_fetch_row(r);
	*rows = row && row[0] ? (double)mdb_num_or(row[0], 0) : 0;
	*bytes = row && row[1] ? (double)mdb_num_or(row[1], 0) : 0;
	mysql_free_result(r);
	return 0;
}

/* ---- bisection ---- */

/*
 * The first key column's values as unsigned numbers in the same order:
 * integers biased by 2^63 (unsigned ones as they are), years, days since
 * 2000-01-01 or seconds since 2000-01-01 00:00:00 (floored).
 */
enum axis_kind { AX_INT, AX_UINT, AX_YEAR, AX_DATE, AX_SECONDS };

struct axis {
	enum axis_kind kind;
	int fsp;                    /* AX_SECONDS: fractional digits the column's text has */
	uint64_t min;               /* the smallest value: offsets count from it */
};

#define AX_BIAS (UINT64_C(1) << 63)

static uint64_t bias(int64_t v)
{
	return v < 0 ? (uint64_t)(v - INT64_MIN) : (uint64_t)v + AX_BIAS;
}

static int64_t unbias(uint64_t u)
{
	return u >= AX_BIAS ? (int64_t)(u - AX_BIAS) : INT64_MIN + (int64_t)u;
}

/* Parses digits s[0..n) exactly; false otherwise. */
static bool parse_digits(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return true;
}

/* YYYY-MM-DD[ HH:MM:SS[.f]] into days and seconds of the day; false for zero dates. */
static bool parse_datetime(const char *s, size_t n, bool with_clock, int64_t *days, int64_t *secs)
{
	uint64_t y, mo, d, h = 0, mi = 0, se = 0;
	static const unsigned dim[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (n < 10 || s[4] != '-' || s[7] != '-' || !parse_digits(s, 4, &y) ||
	    !parse_digits(s + 5, 2, &mo) || !parse_digits(s + 8, 2, &d))
		return false;
	if (with_clock) {
		if (n < 19 || s[10] != ' ' || s[13] != ':' || s[16] != ':' ||
		    !parse_digits(s + 11, 2, &h) || !parse_digits(s + 14, 2, &mi) ||
		    !parse_digits(s + 17, 2, &se) || (n > 19 && s[19] != '.'))
			return false;
	} else if (n != 10) {
		return false;
	}
	if (mo < 1 || mo > 12 || d < 1 || d > dim[mo - 1] || h > 23 || mi > 59 || se > 59)
		return false;
	*days = mdb_days_from_civil((int64_t)y, (unsigned)mo, (unsigned)d);
	*secs = (int64_t)(h * 3600 + mi * 60 + se);
	return true;
}

/* A value's text into its axis number; false when it has none (a zero date). */
static bool axis_parse(const struct axis *ax, const char *s, size_t n, uint64_t *out)
{
	int64_t days, secs;
	uint64_t u;

	switch (ax->kind) {
	case AX_INT:
		if (n > 0 && s[0] == '-') {
			if (!parse_digits(s + 1, n - 1, &u) || u > AX_BIAS)
				return false;
			*out = AX_BIAS - u;
			return true;
		}
		if (!parse_digits(s, n, &u) || u >= AX_BIAS)
			return false;
		*out = u + AX_BIAS;
		return true;
	case AX_UINT:
		return parse_digits(s, n, out);
	case AX_YEAR:
		return parse_digits(s, n, out) && *out >= 1901 && *out <= 2155;
	case AX_DATE:
		if (!parse_datetime(s, n, false, &days, &secs))
			return false;
		*out = bias(days);
		return true;
	case AX_SECONDS:
		if (!parse_datetime(s, n, true, &days, &secs))
			return false;
		*out = bias(days * 86400 + secs);
		return true;
	}
	return false;
}

/* The text of the value at offset off from the minimum, as scan_next would send it. */
static void axis_text(struct buf *out, const struct axis *ax, uint64_t off)
{
	uint64_t u = ax->min + off;
	int64_t v = unbias(u), days, secs;

	switch (ax->kind) {
	case AX_INT:
		buf_addf(out, "%" PRId64, v);
		break;
	case AX_UINT:
		buf_addf(out, "%" PRIu64, u);
		break;
	case AX_YEAR:
		buf_addf(out, "%04" PRIu64, u);
		break;
	case AX_DATE:
		mdb_add_civil_date(out, v);
		break;
	case AX_SECONDS:
		days = v / 86400;
		secs = v % 86400;
		if (secs < 0) {
			secs += 86400;
			days--;
		}
		mdb_add_civil_date(out, days);
		buf_addch(out, ' ');
		mdb_add_clock_of_day(out, secs * 1000000, ax->fsp);
		break;
	}
}

/* The values (a, b] of the first key column, as offsets; [0, b] when a_none. */
struct span {
	bool a_none;
	uint64_t a, b;
	double est;
};

/*
 * The factor that brings the spans' estimates to the table's row count.
 * InnoDB counts the rows of a range exactly when it spans a few pages and
 * otherwise extrapolates and doubles the result, on purpose: a skewed key
 * gets estimates up to twice too high where its rows are. Scaling the sum
 * of disjoint spans covering the table to TABLE_ROWS corrects most of it;
 * the factor is kept within 1/4..4.
 */
static double span_scale(const struct span *list, size_t n, double rows)
{
	double sum = 0, f;

	for (size_t i = 0; i < n; i++)
		sum += list[i].est;
	if (sum <= 0 || rows <= 0)
		return 1;
	f = rows / sum;
	return f < 0.25 ? 0.25 : f > 4 ? 4 : f;
}

static bool span_splits(const struct span *s)
{
	return s->a_none ? s->b >= 1 : s->b - s->a >= 2;
}

/* The rows the optimizer expects in a span (EXPLAIN's rows; NULL is none). */
static int plan_explain(struct plan *p, const struct axis *ax, struct span *s,
                        struct tally_err *err)
{
	const struct coldesc *k1 = &p->req->desc->cols[p->req->key[0]];
	struct buf sql = BUF_INIT, txt = BUF_INIT, cond = BUF_INIT;
	const char *conds[1];
	MYSQL_RES *r;
	MYSQL_ROW row;
	MYSQL_FIELD *f;
	long col = -1;

	if (!s->a_none) {
		axis_text(&txt, ax, s->a);
		mdb_quote_ident(&cond, k1->name);
		buf_addstr(&cond, " > ");
		mdb_key_literal(&cond, k1, txt.data, txt.len);
		buf_addstr(&cond, " AND ");
		buf_reset(&txt);
	}
	axis_text(&txt, ax, s->b);
	mdb_quote_ident(&cond, k1->name);
	buf_addstr(&cond, " <= ");
	mdb_key_literal(&cond, k1, txt.data, txt.len);
	conds[0] = cond.data;

	buf_addstr(&sql, "EXPLAIN SELECT 1 FROM ");
	buf_addstr(&sql, p->req->desc->sqlname);
	mdb_add_where(&sql, p->req->where, conds, 1);
	buf_release(&txt);
	buf_release(&cond);
	if (plan_query(p, &sql, &r, err) < 0) {
		buf_release(&sql);
		return -1;
	}
	buf_release(&sql);
	f = mysql_fetch_fields(r);
	for (unsigned int i = 0; i < mysql_num_fields(r); i++)
		if (f[i].name && strcmp(f[i].name, "rows") == 0)
			col = (long)i;
	row = mysql_fetch_row(r);
	s->est = col >= 0 && row && row[col] ? (double)mdb_num_or(row[col], 0) : 0;
	mysql_free_result(r);
	return 0;
}

/*
 * The first or last value of the first key column (at or above
 * `from`, a literal, when not NULL), into *val (owned, NULL when there is none).
 */
static int plan_end(struct plan *p, bool last, const char *from, char **val, size_t *len,
                    struct tally_err *err)
{
	const struct coldesc *k1 = &p->req->desc->cols[p->req->key[0]];
	struct buf sql = BUF_INIT, cond = BUF_INIT;
	const char *conds[1] = { NULL };
	MYSQL_RES *r;
	MYSQL_ROW row;

	*val = NULL;
	if (from) {
		mdb_quote_ident(&cond, k1->name);
		buf_addf(&cond, " >= %s", from);
		conds[0] = cond.data;
	}
	buf_addstr(&sql, "SELECT ");
	mdb_quote_ident(&sql, k1->name);
	buf_addstr(&sql, " FROM ");
	buf_addstr(&sql, p->req->desc->sqlname);
	mdb_add_where(&sql, p->req->where, conds, 1);
	mdb_add_order_by(&sql, p->req->desc, p->req->key, 1, last);
	buf_addstr(&sql, " LIMIT 1");
	buf_release(&cond);
	if (plan_query(p, &sql, &r, err) < 0) {
		buf_release(&sql);
		return -1;
	}
	buf_release(&sql);
	row = mysql_fetch_row(r);
	if (row && row[0]) {
		*len = mysql_fetch_lengths(r)[0];
		*val = xstrndup(row[0], *len);
	}
	mysql_free_result(r);
	return 0;
}

/* The axis of the first key column k1, and a value its zero value sorts below (or NULL). */
static void axis_init(struct axis *ax, const struct coldesc *k1, const char **from)
{
	*ax = (struct axis){ .fsp = k1->fsp };
	*from = NULL;
	switch (k1->type) {
	case LT_INT:
		ax->kind = k1->is_unsigned ? AX_UINT : AX_INT;
		break;
	case LT_YEAR:
		ax->kind = AX_YEAR;
		*from = "1901";
		break;
	case LT_DATE:
		ax->kind = AX_DATE;
		*from = "'0000-01-01'";
		break;
	case LT_TIMESTAMP:
		ax->kind = AX_SECONDS;
		*from = "'0000-01-01 00:00:00'";
		break;
	default:    /* LT_TIMESTAMPTZ: TIMESTAMP's zero value sorts first */
		ax->kind = AX_SECONDS;
		*from = "'1970-01-01 00:00:01'";
		break;
	}
}

/*
 * The two ends of the first key column: ax->min becomes the smallest
 * value, *top the largest one's offset from it. *none when the table has
 * no rows; *fallback when an end has no axis number (a zero date that
 * does not sort first, an unexpected text).
 */
static int bisect_ends(struct plan *p, struct axis *ax, const char *from, uint64_t *top,
                       bool *none, bool *fallback, struct tally_err *err)
{
	char *lo = NULL, *hi = NULL;
	size_t lolen = 0, hilen = 0;
	uint64_t umin, umax;
	int rc = -1;

	*none = false;
	if (plan_end(p, false, NULL, &lo, &lolen, err) < 0)
		goto out;
	if (!lo) {
		*none = true;
		rc = 0;
		goto out;
	}
	if (!axis_parse(ax, lo, lolen, &umin)) {
		/* the zero value sorts first: start after it */
		free(lo);
		lo = NULL;
		if (from && plan_end(p, false, from, &lo, &lolen, err) < 0)
			goto out;
		if (!lo || !axis_parse(ax, lo, lolen, &umin)) {
			*fallback = true;
			rc = 0;
			goto out;
		}
	}
	if (plan_end(p, true, NULL, &hi, &hilen, err) < 0)
		goto out;
	if (!hi || !axis_parse(ax, hi, hilen, &umax) || umax < umin) {
		*fallback = true;
		rc = 0;
		goto out;
	}
	ax->min = umin;
	*top = umax - umin;
	rc = 0;
out:
	free(lo);
	free(hi);
	return rc;
}

/*
 * Estimates *list's one span, then halves every span estimated at more
 * than 1.5 chunks, a level at a time, until none is or the EXPLAINs run
 * out (4 per expected chunk, plus 64). *list, *n and *cap follow the
 * spans; the caller frees *list, also after a failure.
 */
static int bisect_split(struct plan *p, const struct axis *ax, double rows, struct span **list,
                        size_t *n, size_t *cap, struct tally_err *err)
{
	struct span *next = NULL;
	size_t nn = 0, ncap = 0, calls = 0;
	size_t maxcalls = (size_t)(4.0 * rows / (double)p->chunk) + 64;
	double split = 1.5 * (double)p->chunk, scale;
	int rc = -1;

	if (plan_explain(p, ax, &(*list)[0], err) < 0)
		goto out;
	calls++;
	for (bool more = true; more && calls + 2 <= maxcalls;) {
		scale = span_scale(*list, *n, rows);
		more = false;
		nn = 0;
		for (size_t i = 0; i < *n; i++) {
			struct span s = (*list)[i], l, r;

			if (s.est * scale <= split || !span_splits(&s) || calls + 2 > maxcalls) {
				next = xgrow(next, &ncap, nn + 1, sizeof(*next));
				next[nn++] = s;
				continue;
			}
			l = s;
			l.b = s.a_none ? s.b / 2 : s.a + (s.b - s.a) / 2;
			r = (struct span){ .a_none = false, .a = l.b, .b = s.b };
			if (plan_explain(p, ax, &l, err) < 0 || plan_explain(p, ax, &r, err) < 0)
				goto out;
			calls += 2;
			next = xgrow(next, &ncap, nn + 2, sizeof(*next));
			next[nn++] = l;
			next[nn++] = r;
			more = true;
		}
		{
			struct span *t = *list;
			size_t tc = *cap;

			*list = next;
			*cap = ncap;
			*n = nn;
			next = t;
			ncap = tc;
		}
	}
	rc = 0;
out:
	free(next);
	return rc;
}

/*
 * Boundaries from the spans: neighbours merged up to 1.5 chunks (their
 * estimates times scale); a last chunk under half a chunk joins the one
 * before.
 */
static void bisect_merge(struct plan *p, const struct axis *ax, const struct span *list,
                         size_t n, double scale)
{
	double split = 1.5 * (double)p->chunk, acc = 0;

	for (size_t i = 0; i < n; i++) {
		double est = list[i].est * scale;

		if (acc > 0 && acc + est > split) {
			struct buf txt = BUF_INIT;
			char *v;
			size_t vlen;

			axis_text(&txt, ax, list[i - 1].b);
			v = buf_detach(&txt, &vlen);
			plan_push(p, &v, &vlen);
			free(v);
			acc = 0;
		}
		acc += est;
	}
	if (p->out->n > 0 && acc < (double)p->chunk / 2)
		plan_pop(p);
}

/*
 * Bisection (see above). *fallback is set when the key cannot be split
 * this way: a zero date at an end, or a heavy value of a composite key.
 */
static int plan_bisect(struct plan *p, double rows, bool *fallback, struct tally_err *err)
{
	const struct coldesc *k1 = &p->req->desc->cols[p->req->key[0]];
	struct axis ax;
	struct span *list = NULL;
	size_t n = 0, cap = 0;
	const char *from;
	uint64_t top = 0;
	bool none;
	double scale;
	int rc = -1;

	*fallback = false;
	axis_init(&ax, k1, &from);
	if (bisect_ends(p, &ax, from, &top, &none, fallback, err) < 0)
		return -1;
	if (none || *fallback)
		return 0;
	list = xgrow(list, &cap, 1, sizeof(*list));
	list[n++] = (struct span){ .a_none = true, .b = top };
	if (bisect_split(p, &ax, rows, &list, &n, &cap, err) < 0)
		goto out;
	scale = span_scale(list, n, rows);
	for (size_t i = 0; i < n; i++)
		if (!span_splits(&list[i]) && list[i].est * scale > 2.0 * (double)p->chunk &&
		    p->req->nkey > 1) {
			*fallback = true;
			rc = 0;
			goto out;
		}
	bisect_merge(p, &ax, list, n, scale);
	rc = 0;
out:
	free(list);
	return rc;
}

/* ---- stepping ---- */

/* SELECT key FROM t WHERE (where) AND key > last ...: the tail of a stepping query. */
static bool add_step_from(struct buf *sql, struct plan *p, char *const *last, const size_t *len)
{
	const struct scan_req *req = p->req;
	const struct tabdesc *d = req->desc;
	char **lit = NULL;
	struct buf one = BUF_INIT, cond = BUF_INIT;
	const char *conds[1] = { NULL };
	bool ok = true;

	if (last) {
		lit = xcalloc(req->nkey, sizeof(*lit));
		for (size_t i = 0; i < req->nkey; i++) {
			buf_reset(&one);
			ok &= mdb_key_literal(&one, &d->cols[req->key[i]], last[i], len[i]);
			lit[i] = xstrdup(one.data);
		}
		mdb_add_tuple_cmp(&cond, d, req->key, req->nkey, lit, false);
		conds[0] = cond.data;
	}
	buf_addstr(sql, " FROM ");
	buf_addstr(sql, d->sqlname);
	mdb_add_where(sql, req->where, conds, 1);
	mdb_free_strings(lit, req->nkey);
	buf_release(&one);
	buf_release(&cond);
	return ok;
}

static int plan_step(struct plan *p, struct tally_err *err)
{
	const struct scan_req *req = p->req;
	const struct tabdesc *d = req->desc;
	struct keybounds *b = p->out;
	struct buf sql = BUF_INIT;
	size_t *lens = xcalloc(req->nkey, sizeof(*lens));
	MYSQL_RES *r;
	MYSQL_ROW row;
	int rc = -1;

	b->ncols = req->nkey;
	for (;;) {
		char **last = b->n ? b->val + (b->n - 1) * b->ncols : NULL;
		size_t *len = b->n ? b->len + (b->n - 1) * b->ncols : NULL;
		unsigned long *l;

		buf_reset(&sql);
		buf_addstr(&sql, "SELECT ");
		for (size_t i = 0; i < req->nkey; i++) {
			if (i)
				buf_addstr(&sql, ", ");
			mdb_quote_ident(&sql, d->cols[req->key[i]].name);
		}
		if (!add_step_from(&sql, p, last, len))
			goto bad_value;
		mdb_add_order_by(&sql, d, req->key, req->nkey, false);
		buf_addf(&sql, " LIMIT 1 OFFSET %" PRIu64, p->chunk - 1);
		if (plan_query(p, &sql, &r, err) < 0)
			goto out;
		row = mysql_fetch_row(r);
		if (!row) {
			mysql_free_result(r);
			break;
		}
		l = mysql_fetch_lengths(r);
		{
			bool same = last != NULL;

			for (size_t i = 0; i < req->nkey; i++) {
				if (!row[i]) {
					mysql_free_result(r);
					goto bad_value;
				}
				lens[i] = l[i];
				if (same)
					same = lens[i] == len[i] && memcmp(row[i], last[i], lens[i]) == 0;
			}
			if (same) {         /* the server said key > last: cannot happen */
				mysql_free_result(r);
				goto bad_value;
			}
			plan_push(p, row, lens);
		}
		mysql_free_result(r);
	}
	/* fewer than half a chunk after the last boundary: it joins the chunk before */
	if (b->n > 0 && p->chunk / 2 > 0) {
		buf_reset(&sql);
		buf_addstr(&sql, "SELECT COUNT(*) FROM (SELECT 1");
		if (!add_step_from(&sql, p, b->val + (b->n - 1) * b->ncols,
		                   b->len + (b->n - 1) * b->ncols))
			goto bad_value;
		buf_addf(&sql, " LIMIT %" PRIu64 ") AS tally_rest", p->chunk / 2);
		if (plan_query(p, &sql, &r, err) < 0)
			goto out;
		row = mysql_fetch_row(r);
		if (row && row[0] && (uint64_t)mdb_num_or(row[0], 0) < p->chunk / 2)
			plan_pop(p);
		mysql_free_result(r);
	}
	rc = 0;
	goto out;
bad_value:
	err_set(err, ERR_DATA, "[%s pid %ld] unexpected key value from %s system '%s' while "
	        "planning chunks of %s", p->c->base.side, p->c->base.backend_pid, p->c->base.side,
	        p->c->base.system, p->what);
out:
	free(lens);
	buf_release(&sql);
	return rc;
}

static bool steppable(enum ltype t)
{
	switch (t) {
	case LT_INT:
	case LT_DECIMAL:
	case LT_YEAR:
	case LT_DATE:
	case LT_TIME:
	case LT_TIMESTAMP:
	case LT_TIMESTAMPTZ:
	case LT_TEXT:
	case LT_CHAR:
	case LT_BYTES:
	case LT_BIT:
	case LT_UUID:
	case LT_INET:
		return true;
	default:
		return false;
	}
}

int mdb_plan_bounds(struct conn *base, const struct scan_req *req, uint64_t chunk_rows,
                    uint64_t max_bytes, struct keybounds *out, struct tally_err *err)
{
	struct mdb_conn *c = mdb(base);
	const struct tabdesc *d = req->desc;
	struct plan p = { .c = c, .req = req, .what = d->display, .chunk = chunk_rows, .out = out };
	bool bisect, fallback = false, bad;
	double rows = 0, bytes = 0;
	enum ltype t1;

	memset(out, 0, sizeof(*out));
	if (mdb_usable(c, err) < 0)
		return -1;
	if (c->res)
		return err_set(err, ERR_INTERNAL, "a scan is open on %s system '%s' while planning "
		               "chunks", c->base.side, c->base.system);
	bad = chunk_rows == 0 || req->nkey == 0 || (!d->is_query && (!d->sqlname || !req->table));
	for (size_t i = 0; i < req->nkey; i++)
		bad |= req->key[i] >= d->ncols;
	if (bad)
		return err_set(err, ERR_INTERNAL, "invalid planning request for %s on %s system '%s'",
		               d->display, c->base.side, c->base.system);
	if (d->is_query)
		return 0;
	if (plan_table_rows(&p, &rows, &bytes, err) < 0)
		return -1;
	out->rows = rows;
	chunk_rows = p.chunk = chunk_rows_for_bytes(chunk_rows, max_bytes, bytes, rows);
	if (rows < 2.0 * (double)chunk_rows || req->nkey != d->npk)
		return 0;
	for (size_t i = 0; i < req->nkey; i++) {
		const struct coldesc *k = &d->cols[req->key[i]];

		if (req->key[i] != d->pk[i] || k->nullable || !steppable(k->type))
			return 0;
	}
	t1 = d->cols[req->key[0]].type;
	bisect = t1 == LT_INT || t1 == LT_YEAR || t1 == LT_DATE || t1 == LT_TIMESTAMP ||
	         t1 == LT_TIMESTAMPTZ;
	if (bisect) {
		out->ncols = 1;
		if (plan_bisect(&p, rows, &fallback, err) < 0) {
			keybounds_release(out);
			return -1;
		}
		if (!fallback)
			return 0;
		keybounds_release(out);
		out->rows = rows;
		p.cap = 0;
	}
	if (plan_step(&p, err) < 0) {
		keybounds_release(out);
		return -1;
	}
	return 0;
}

/*
 * conn_ops.rank_bounds. The bounds are unioned below the key columns of
 * an empty scan of the table, so that they take the columns' types and
 * collations as the range condition compares them (a UUID by its swapped
 * segments, text by the column's collation, converted to its character
 * set first: a union does not mix them), and DENSE_RANK orders them.
 */
int mdb_rank_bounds(struct conn *base, const struct scan_req *req, size_t nb,
                    const struct sqlval *vals, size_t n, uint32_t *rank, struct tally_err *err)
{
	struct mdb_conn *c = mdb(base);
	const struct tabdesc *d = req->desc;
	struct buf sql = BUF_INIT;
	MYSQL_RES *res = NULL;
	MYSQL_ROW row;
	int rc = -1;

	if (mdb_usable(c, err) < 0)
		return -1;
	if (c->res)
		return err_set(err, ERR_INTERNAL, "a scan is open on %s system '%s'", c->base.side, c->base.system);
	if (nb == 0 || nb > req->nkey || (d->is_query ? !req->query : !d->sqlname))
		return err_set(err, ERR_INTERNAL, "ranking bounds of %zu key columns of %s", nb, d->display);
	buf_addstr(&sql, "SELECT tally_i, DENSE_RANK() OVER (ORDER BY ");
	for (size_t k = 0; k < nb; k++)
		buf_addf(&sql, "%stally_k%zu", k ? ", " : "", k);
	buf_addstr(&sql, ") FROM (SELECT ");
	for (size_t k = 0; k < nb; k++) {
		mdb_quote_ident(&sql, d->cols[req->key[k]].name);
		buf_addf(&sql, " AS tally_k%zu, ", k);
	}
	buf_addstr(&sql, "NULL AS tally_i FROM ");
	mdb_add_from(&sql, d, req->query);
	buf_addstr(&sql, " WHERE 0 UNION ALL VALUES ");
	for (size_t i = 0; i < n; i++) {
		buf_addstr(&sql, i ? ", (" : "(");
		for (size_t k = 0; k < nb; k++) {
			const struct coldesc *cd = &d->cols[req->key[k]];
			bool conv = (cd->type == LT_TEXT || cd->type == LT_CHAR) && cd->charset &&
			            strspn(cd->charset, "abcdefghijklmnopqrstuvwxyz0123456789_") == strlen(cd->charset);

			if (k)
				buf_addstr(&sql, ", ");
			if (conv)
				buf_addstr(&sql, "CONVERT(");
			if (mdb_bound_literal(&sql, cd, &vals[i * nb + k], err) < 0)
				goto out;
			if (conv)
				buf_addf(&sql, " USING %s)", cd->charset);
		}
		buf_addf(&sql, ", %zu)", i + 1);
	}
	buf_addstr(&sql, ") AS tally_b WHERE tally_i IS NOT NULL");
	if (mdb_catalog(c, &sql, &res, "ranking chunk bounds of", d->display, err) < 0)
		goto out;
	if (mysql_num_fields(res) != 2 || mysql_num_rows(res) != n)
		goto bad;
	while ((row = mysql_fetch_row(res)) != NULL) {
		char *end;
		unsigned long long i, k;

		if (!row[0] || !row[1])
			goto bad;
		i = strtoull(row[0], &end, 10);
		if (*end || i < 1 || i > n)
			goto bad;
		k = strtoull(row[1], &end, 10);
		if (*end || k < 1 || k > UINT32_MAX)
			goto bad;
		rank[i - 1] = (uint32_t)k;
	}
	rc = 0;
	goto out;
bad:
	err_set(err, ERR_INTERNAL, "unexpected rank of a chunk bound from %s system '%s'", c->base.side,
	        c->base.system);
out:
	if (res)
		mysql_free_result(res);
	buf_release(&sql);
	return rc;
}
