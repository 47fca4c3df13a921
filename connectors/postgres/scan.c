/*
 * connectors/postgres/scan.c
 *   SOURCE, PostgreSQL -> canon: streams a table, a range of its key or a
 *   query with COPY ... TO STDOUT in the server's key order, parsing the
 *   COPY text format in place in libpq's row buffer.
 *
 * Each scan reads a range (lo, hi] of the key with a row comparison,
 * which PostgreSQL turns into an index condition: ORDER BY is the plain
 * key, never COLLATE or NULLS FIRST, so the primary key index serves both
 * the range and the order. The COPY runs in the session's savepoint
 * (session.c), rolled back when the scan ends.
 *
 * Hot path: scan_next() yields one COPY row per call. The row buffer comes
 * from PQgetCopyData() (one malloc per row inside libpq, freed on the next
 * call); fields are split with memchr() on tabs and unescaped in place only
 * when the row holds a backslash at all; bytea hex is decoded in place.
 * The val/len arrays live in the session and are sized in scan_open().
 */
#include "../connector.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "pg_int.h"

/* Value of each hex digit plus one; 0 marks a byte that is not a digit. */
static const unsigned char pgc_hex[256] = {
	['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5,
	['5'] = 6, ['6'] = 7, ['7'] = 8, ['8'] = 9, ['9'] = 10,
	['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
	['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
};

/* ---- scans --------------------------------------------------------- */

/* The key columns, as ORDER BY and a row comparison list them. */
void pgc_add_keys(struct buf *b, const struct tabdesc *d, const size_t *key, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_addstr(b, ", ");
		if (pgc_has_order(&d->cols[key[i]])) {
			pgc_quote_ident(b, d->cols[key[i]].name);
		} else {
			buf_addch(b, '(');
			pgc_quote_ident(b, d->cols[key[i]].name);
			buf_addstr(b, "::pg_catalog.text)");
		}
	}
}

/*
 * Appends the comparison of the first n key columns with vals, as a row:
 * ("k1", "k2") > (l1, l2), or "k1" > l1 for one column. PostgreSQL turns
 * either into an index condition on an index that starts with the key.
 */
int pgc_add_bound(struct buf *b, const struct tabdesc *d, const size_t *key, size_t n,
                  const char *op, const struct sqlval *vals, struct tally_err *err)
{
	if (n > 1)
		buf_addch(b, '(');
	pgc_add_keys(b, d, key, n);
	buf_addf(b, "%s %s %s", n > 1 ? ")" : "", op, n > 1 ? "(" : "");
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_addstr(b, ", ");
		if (pgc_bound_literal(b, &d->cols[key[i]], &vals[i], err) < 0)
			return -1;
	}
	if (n > 1)
		buf_addch(b, ')');
	return 0;
}

/*
 * " FROM" and what a scan reads: the table, or the query as a subquery
 * (the newlines end a trailing "-- comment" in the user's SQL).
 */
void pgc_add_from(struct buf *sql, const struct tabdesc *d, const char *query)
{
	if (d->is_query) {
		buf_addstr(sql, " FROM (\n");
		buf_add(sql, query, pgc_stripped_len(query));
		buf_addstr(sql, "\n) AS tally_q");
	} else {
		buf_addstr(sql, " FROM ");
		buf_addstr(sql, d->sqlname);
	}
}

/*
 * The scan's statement: COPY (SELECT cols FROM what WHERE where AND the
 * bounds (lo over the first nlo key columns, hi over the first nhi)
 * ORDER BY key LIMIT limit) TO STDOUT.
 */
static int pgc_scan_sql(struct pgsess *s, const struct scan_req *req, size_t nlo, size_t nhi,
                        struct buf *sql, struct tally_err *err)
{
	const struct tabdesc *d = req->desc;
	int conds = 0;

	buf_addstr(sql, "COPY (SELECT ");
	for (size_t i = 0; i < req->ncols; i++) {
		if (i)
			buf_addstr(sql, ", ");
		pgc_quote_ident(sql, d->cols[req->cols[i]].name);
	}
	pgc_add_from(sql, d, req->query);
	if (req->where && *req->where) {
		buf_addstr(sql, " WHERE (");
		buf_addstr(sql, req->where);
		buf_addstr(sql, "\n)");
		conds++;
	}
	for (int hi = 0; hi < 2; hi++) {
		size_t n = hi ? nhi : nlo;

		if (n == 0)
			continue;
		buf_addstr(sql, conds++ ? " AND " : " WHERE ");
		if (pgc_add_bound(sql, d, req->key, n, hi ? "<=" : ">", hi ? req->hi : req->lo, err) < 0) {
			err_context(err, "[%s pid %ld] cannot read %s from %s system '%s'", s->base.side,
			            s->base.backend_pid, d->is_query ? "the query" : d->display,
			            s->base.side, s->base.system);
			return -1;
		}
	}
	if (req->nkey && !req->unordered) {
		buf_addstr(sql, " ORDER BY ");
		pgc_add_keys(sql, d, req->key, req->nkey);
	}
	if (req->limit)
		buf_addf(sql, " LIMIT %" PRIu64, req->limit);
	buf_addstr(sql, ") TO STDOUT");
	return 0;
}

int pgc_scan_open(struct conn *c, const struct scan_req *req, struct tally_err *err)
{
	struct pgsess *s = (struct pgsess *)c;
	const struct tabdesc *d = req->desc;
	struct buf sql = BUF_INIT, doing = BUF_INIT;
	PGresult *res;
	size_t nlo = req->nlo, nhi = req->nhi;

	if (s->base.failed)
		return pgc_sticky(s, err);
	if (s->scanning)
		return err_set(err, ERR_INTERNAL, "a scan is already open on %s system '%s'",
		               s->base.side, s->base.system);
	if (d->is_query ? !req->query : !d->sqlname)
		return err_set(err, ERR_INTERNAL, "scan of %s on %s system '%s' names no %s",
		               d->display, s->base.side, s->base.system, d->is_query ? "query" : "table");
	for (size_t i = 0; i < req->ncols + req->nkey; i++) {
		size_t k = i < req->ncols ? req->cols[i] : req->key[i - req->ncols];

		if (k >= d->ncols)
			return err_set(err, ERR_INTERNAL, "scan of %s on %s system '%s' names column %zu of %zu",
			               d->display, s->base.side, s->base.system, k, d->ncols);
	}
	/* lo over the first nlo key columns, hi over the first nhi. */
	if (!req->lo)
		nlo = 0;
	if (!req->hi)
		nhi = 0;
	if (nlo > req->nkey || nhi > req->nkey)
		return err_set(err, ERR_INTERNAL, "scan of %s on %s system '%s' bounds %zu of %zu key columns",
		               d->display, s->base.side, s->base.system, nlo > nhi ? nlo : nhi, req->nkey);

	if (pgc_scan_sql(s, req, nlo, nhi, &sql, err) < 0)
		goto fail;

	free(s->what);
	s->what = xstrdup(d->is_query ? "the query" : d->display);
	buf_addf(&doing, "reading %s", s->what);

	/*
	 * A range or a page of a table is read from the key's index. Left to
	 * itself the planner often prefers to sort a sequential scan of the
	 * whole table instead (it estimates row comparisons coarsely, and an
	 * uncorrelated heap makes index reads look dear), which every chunk
	 * would then repeat. Without an index on the key the sort still
	 * happens. SET LOCAL ends with the savepoint, which the scan rolls
	 * back even when it succeeds, so nothing else runs without sorts.
	 */
	if (pgc_savepoint_then(s, !d->is_query && (nlo || nhi || req->limit)
	                              ? "SET LOCAL enable_sort = off" : NULL,
	                       doing.data, err) < 0)
		goto fail;
	res = pgc_exec(s, sql.data);
	if (!res || PQresultStatus(res) != PGRES_COPY_OUT) {
		pgc_stmt_err(s, res, false, doing.data, err, "cannot read %s from %s system '%s'",
		             s->what, s->base.side, s->base.system);
		PQclear(res);
		pgc_drain(s);
		if (!s->base.failed) {
			struct tally_err e2;

			if (pgc_rollback_savepoint(s, doing.data, &e2) < 0)
				*err = e2;
		}
		goto fail;
	}
	PQclear(res);

	if (req->ncols > s->cap) {
		s->val = xrealloc(s->val, req->ncols * sizeof(*s->val));
		s->len = xrealloc(s->len, req->ncols * sizeof(*s->len));
		s->hexcol = xrealloc(s->hexcol, req->ncols * sizeof(*s->hexcol));
		s->cap = req->ncols;
	}
	for (size_t i = 0; i < req->ncols; i++)
		s->hexcol[i] = d->cols[req->cols[i]].type == LT_BYTES;
	s->ncols = req->ncols;
	s->row.ncols = req->ncols;
	s->row.val = s->val;
	s->row.len = s->len;
	s->scanning = true;
	s->copying = true;
	buf_release(&sql);
	buf_release(&doing);
	return 0;
fail:
	buf_release(&sql);
	buf_release(&doing);
	return -1;
}

/*
 * Undoes COPY text escaping of f[0..n) in place: \b \f \n \r \t \v \\,
 * \ and 1-3 octal digits, \x and 1-2 hex digits; any other escaped byte
 * is itself. Returns the new length.
 */
static size_t pgc_unescape(char *f, size_t n)
{
	char *w = f, *r = f, *end = f + n;

	while (r < end) {
		char *bs = memchr(r, '\\', (size_t)(end - r));
		unsigned v;

		if (!bs) {
			memmove(w, r, (size_t)(end - r));
			w += end - r;
			break;
		}
		if (w != r)
			memmove(w, r, (size_t)(bs - r));
		w += bs - r;
		r = bs + 1;
		if (r == end) {
			*w++ = '\\';
			break;
		}
		switch (*r) {
		case 'b': *w++ = '\b'; r++; break;
		case 'f': *w++ = '\f'; r++; break;
		case 'n': *w++ = '\n'; r++; break;
		case 'r': *w++ = '\r'; r++; break;
		case 't': *w++ = '\t'; r++; break;
		case 'v': *w++ = '\v'; r++; break;
		case 'x':
			r++;
			if (r < end && pgc_hex[(unsigned char)*r]) {
				v = pgc_hex[(unsigned char)*r++] - 1u;
				if (r < end && pgc_hex[(unsigned char)*r])
					v = v * 16 + pgc_hex[(unsigned char)*r++] - 1u;
				*w++ = (char)v;
			} else {
				*w++ = 'x';
			}
			break;
		case '0': case '1': case '2': case '3':
		case '4': case '5': case '6': case '7':
			v = (unsigned)(*r++ - '0');
			for (int k = 0; k < 2 && r < end && *r >= '0' && *r <= '7'; k++)
				v = v * 8 + (unsigned)(*r++ - '0');
			*w++ = (char)(v & 0xff);
			break;
		default:
			*w++ = *r++;
			break;
		}
	}
	return (size_t)(w - f);
}

/* Decodes bytea hex (after its "\x") from src into dst; -1 if malformed. */
long pgc_unhex(char *dst, const char *src, size_t n)
{
	if (n % 2)
		return -1;
	for (size_t k = 0; k < n / 2; k++) {
		unsigned hi = pgc_hex[(unsigned char)src[2 * k]];
		unsigned lo = pgc_hex[(unsigned char)src[2 * k + 1]];

		if (!hi || !lo)
			return -1;
		dst[k] = (char)(((hi - 1) << 4) | (lo - 1));
	}
	return (long)(n / 2);
}

static int pgc_data_err(struct pgsess *s, struct tally_err *err, const char *fmt, ...)
	TALLY_PRINTF(3, 4);

static int pgc_data_err(struct pgsess *s, struct tally_err *err, const char *fmt, ...)
{
	va_list ap;

	err_set(err, ERR_DATA, "[%s pid %ld] malformed row from %s system '%s' while reading %s",
	        s->base.side, s->base.backend_pid, s->base.side, s->base.system, s->what);
	va_start(ap, fmt);
	vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
	va_end(ap);
	return pgc_set_failed(s, err);
}

/*
 * Splits one COPY text row (p[0..n), ending in '\n', NUL at p[n]) into
 * s->val/s->len in place. A raw tab always separates fields (tabs in data
 * arrive escaped), so fields are found with memchr and only unescaped
 * when the row holds a backslash. Every value is NUL-terminated.
 */
static int pgc_split_row(struct pgsess *s, char *p, size_t n, struct tally_err *err)
{
	char *end = p + n;
	bool escaped;
	size_t i = 0;

	if (n && end[-1] == '\n')
		*--end = '\0';
	if (s->ncols == 0) {
		if (end != p)
			return pgc_data_err(s, err, "expected 0 fields, got 1 or more");
		return 0;
	}
	escaped = memchr(p, '\\', (size_t)(end - p)) != NULL;
	for (;;) {
		char *tab = memchr(p, '\t', (size_t)(end - p));
		char *fe = tab ? tab : end;
		size_t flen = (size_t)(fe - p);

		if (i == s->ncols)
			return pgc_data_err(s, err, "expected %zu fields, got more", s->ncols);
		if (escaped && flen == 2 && p[0] == '\\' && p[1] == 'N') {
			s->val[i] = NULL;
			s->len[i] = 0;
		} else {
			if (s->hexcol[i]) {
				/* bytea_output 'hex' arrives as \\x then hex digits. */
				long bytes = -1;

				if (flen >= 3 && p[0] == '\\' && p[1] == '\\' && p[2] == 'x')
					bytes = pgc_unhex(p, p + 3, flen - 3);
				if (bytes < 0)
					return pgc_data_err(s, err, "column %zu: invalid bytea hex value", i + 1);
				flen = (size_t)bytes;
			} else if (escaped && memchr(p, '\\', flen)) {
				flen = pgc_unescape(p, flen);
			}
			p[flen] = '\0';
			s->val[i] = p;
			s->len[i] = flen;
		}
		i++;
		if (!tab)
			break;
		p = tab + 1;
	}
	if (i != s->ncols)
		return pgc_data_err(s, err, "expected %zu fields, got %zu", s->ncols, i);
	return 0;
}

int pgc_scan_next(struct conn *c, struct rawrow **row, struct tally_err *err)
{
	struct pgsess *s = (struct pgsess *)c;
	char doing[ERR_MSG_MAX];
	PGresult *res;
	int n;

	if (s->base.failed)
		return pgc_sticky(s, err);
	if (!s->scanning)
		return err_set(err, ERR_INTERNAL, "no scan is open on %s system '%s'",
		               s->base.side, s->base.system);
	if (!s->copying)
		return 0;
	if (s->copybuf) {
		PQfreemem(s->copybuf);
		s->copybuf = NULL;
	}
	n = PQgetCopyData(s->pg, &s->copybuf, 0);
	if (n > 0) {
		s->base.io.bytes += (uint64_t)n;
		if (pgc_split_row(s, s->copybuf, (size_t)n, err) < 0)
			return -1;
		*row = &s->row;
		return 1;
	}

	/* -1: the COPY ended, well or not; -2: libpq failed to read. */
	snprintf(doing, sizeof(doing), "reading %s", s->what);
	res = PQgetResult(s->pg);
	if (n == -1 && res && PQresultStatus(res) == PGRES_COMMAND_OK) {
		PQclear(res);
		pgc_drain(s);
		s->copying = false;
		/* Rolled back, not released: read-only, and it ends the scan's SET LOCAL. */
		if (pgc_rollback_savepoint(s, doing, err) < 0)
			return -1;
		return 0;
	}
	pgc_stmt_err(s, res, true, doing, err, "cannot read %s from %s system '%s'",
	             s->what, s->base.side, s->base.system);
	PQclear(res);
	if (PQstatus(s->pg) == CONNECTION_OK)
		pgc_drain(s);
	s->copying = false;
	return -1;
}

void pgc_scan_close(struct conn *c)
{
	struct pgsess *s = (struct pgsess *)c;

	if (!s || !s->scanning)
		return;
	if (s->copybuf) {
		PQfreemem(s->copybuf);
		s->copybuf = NULL;
	}
	if (s->copying && PQstatus(s->pg) == CONNECTION_OK) {
		/* Stop the server, then read what it sent before it stopped. */
		PGcancel *cancel = PQgetCancel(s->pg);
		char errbuf[256];
		char *b;

		if (cancel) {
			PQcancel(cancel, errbuf, (int)sizeof(errbuf));
			PQfreeCancel(cancel);
		}
		while (PQgetCopyData(s->pg, &b, 0) > 0)
			PQfreemem(b);
		pgc_drain(s);
	}
	s->copying = false;
	s->scanning = false;
	/* The COPY ran in a savepoint: roll back to it and keep the snapshot. */
	if (s->in_savepoint && !s->base.failed) {
		struct tally_err e;
		char doing[ERR_MSG_MAX];

		snprintf(doing, sizeof(doing), "ending the scan of %s", s->what);
		pgc_rollback_savepoint(s, doing, &e);
	}
}

/*
 * conn_ops.count_rows: SELECT count(*) FROM what WHERE where AND the
 * bounds, the same range a scan reads, counted in the server. In a
 * savepoint, like a scan, so that a failed count leaves the snapshot
 * usable.
 */
int pgc_count_rows(struct conn *c, const struct scan_req *req, uint64_t *out, struct tally_err *err)
{
	struct pgsess *s = (struct pgsess *)c;
	const struct tabdesc *d = req->desc;
	struct buf sql = BUF_INIT, doing = BUF_INIT;
	PGresult *res = NULL;
	size_t nlo = req->lo ? req->nlo : 0, nhi = req->hi ? req->nhi : 0;
	int conds = 0, rc = -1;
	char *end;

	*out = 0;
	if (s->base.failed)
		return pgc_sticky(s, err);
	if (s->scanning)
		return err_set(err, ERR_INTERNAL, "a scan is open on %s system '%s'", s->base.side, s->base.system);
	if ((d->is_query ? !req->query : !d->sqlname) || nlo > req->nkey || nhi > req->nkey)
		return err_set(err, ERR_INTERNAL, "invalid count request for %s on %s system '%s'",
		               d->display, s->base.side, s->base.system);
	buf_addstr(&sql, "SELECT count(*)");
	pgc_add_from(&sql, d, req->query);
	if (req->where && *req->where) {
		buf_addstr(&sql, " WHERE (");
		buf_addstr(&sql, req->where);
		buf_addstr(&sql, "\n)");
		conds++;
	}
	for (int hi = 0; hi < 2; hi++) {
		size_t n = hi ? nhi : nlo;

		if (n == 0)
			continue;
		buf_addstr(&sql, conds++ ? " AND " : " WHERE ");
		if (pgc_add_bound(&sql, d, req->key, n, hi ? "<=" : ">", hi ? req->hi : req->lo, err) < 0) {
			err_context(err, "[%s pid %ld] cannot count %s on %s system '%s'", s->base.side,
			            s->base.backend_pid, d->is_query ? "the query" : d->display,
			            s->base.side, s->base.system);
			goto out;
		}
	}
	buf_addf(&doing, "counting the rows of %s", d->is_query ? "the query" : d->display);
	if (pgc_savepoint(s, doing.data, err) < 0)
		goto out;
	res = pgc_exec(s, sql.data);
	if (!pgc_rows_ok(res) || PQntuples(res) != 1 || PQnfields(res) != 1) {
		struct tally_err e2;

		pgc_stmt_err(s, res, false, doing.data, err, "cannot count %s on %s system '%s'",
		             d->is_query ? "the query" : d->display, s->base.side, s->base.system);
		if (!s->base.failed && pgc_rollback_savepoint(s, doing.data, &e2) < 0)
			*err = e2;
		goto out;
	}
	*out = strtoull(PQgetvalue(res, 0, 0), &end, 10);
	if (*end) {
		err_set(err, ERR_DATA, "%s system '%s' returned a count that is not a number", s->base.side,
		        s->base.system);
		goto out;
	}
	rc = pgc_rollback_savepoint(s, doing.data, err);
out:
	PQclear(res);
	buf_release(&sql);
	buf_release(&doing);
	return rc;
}
