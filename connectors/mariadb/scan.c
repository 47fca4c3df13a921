/*
 * connectors/mariadb/scan.c
 *   SOURCE -> canon: streams rows of a table or a query as the server
 *   sends them in the text protocol, one row in memory at a time
 *   (mysql_use_result), ordered by the key in the server's own order (the
 *   index order), whole or a range of the key at a time; and says which
 *   key columns that order is bytewise for. The pieces of the SELECT
 *   (range, where, order) are shared with plan.c.
 *
 * The range bounds are written by mdb_bound_literal (literal.c) and
 * compared in the column's own collation, so that a range follows the
 * index order and reads as an index range.
 */
#include "my_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The tuple comparison (k1, ..., kn) > (a1, ..., an), or <= for upper, in
 * the expanded form (k1 > a1) OR (k1 = a1 AND k2 > a2) OR ...: MariaDB
 * turns it into a range of the index on (k1, ..., kn), whereas it reads a
 * row constructor (k1, k2) > (a1, a2) by a full index scan. The literals
 * lit[i] are compared in the column's own collation, so the range follows
 * the index order.
 */
void mdb_add_tuple_cmp(struct buf *sql, const struct tabdesc *d, const size_t *key, size_t n,
                       char *const *lit, bool upper)
{
	buf_addch(sql, '(');
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_addstr(sql, " OR ");
		buf_addch(sql, '(');
		for (size_t j = 0; j < i; j++) {
			mdb_quote_ident(sql, d->cols[key[j]].name);
			buf_addf(sql, " = %s AND ", lit[j]);
		}
		mdb_quote_ident(sql, d->cols[key[i]].name);
		buf_addf(sql, " %s %s)", !upper ? ">" : i + 1 < n ? "<" : "<=", lit[i]);
	}
	buf_addch(sql, ')');
}

/*
 * " WHERE (\nwhere\n) AND cond AND ..." for the user's where (NULL or "")
 * and the conditions given; the newlines keep a trailing -- comment of the
 * user's where inside its parentheses.
 */
void mdb_add_where(struct buf *sql, const char *where, const char *const *cond, size_t ncond)
{
	bool first = true;

	if (where && *where) {
		buf_addstr(sql, " WHERE (\n");
		buf_addstr(sql, where);
		buf_addstr(sql, "\n)");
		first = false;
	}
	for (size_t i = 0; i < ncond; i++) {
		if (!cond[i])
			continue;
		buf_addstr(sql, first ? " WHERE " : " AND ");
		buf_addstr(sql, cond[i]);
		first = false;
	}
}

void mdb_add_order_by(struct buf *sql, const struct tabdesc *d, const size_t *key, size_t n,
                      bool desc)
{
	for (size_t i = 0; i < n; i++) {
		buf_addstr(sql, i ? ", " : " ORDER BY ");
		mdb_quote_ident(sql, d->cols[key[i]].name);
		if (desc)
			buf_addstr(sql, " DESC");
	}
}

void mdb_free_strings(char **s, size_t n)
{
	for (size_t i = 0; s && i < n; i++)
		free(s[i]);
	free(s);
}

/*
 * The range condition of req on its first n key columns ("(...) > lo" or
 * "<= hi") in *cond (owned, NULL without that bound). A bound that cannot
 * be written fails with the literal's error.
 */
int mdb_range_cond(const struct scan_req *req, const struct sqlval *b, size_t n, bool upper,
                   char **cond, struct tally_err *err)
{
	const struct tabdesc *d = req->desc;
	char **lit;
	struct buf sql = BUF_INIT, one = BUF_INIT;
	int rc = 0;

	*cond = NULL;
	if (!b || n == 0)
		return 0;
	lit = xcalloc(n, sizeof(*lit));
	for (size_t i = 0; i < n && rc == 0; i++) {
		buf_reset(&one);
		rc = mdb_bound_literal(&one, &d->cols[req->key[i]], &b[i], err);
		lit[i] = xstrdup(one.data);
	}
	if (rc == 0) {
		mdb_add_tuple_cmp(&sql, d, req->key, n, lit, upper);
		*cond = buf_detach(&sql, NULL);
	}
	mdb_free_strings(lit, n);
	buf_release(&one);
	buf_release(&sql);
	return rc;
}

/*
 * SELECT cols FROM t WHERE (where) AND lo AND hi ORDER BY key LIMIT n:
 * the key in the server's own order, so a primary key is read in index
 * order without a sort, and a range on it is an index range (EXPLAIN
 * type=range on PRIMARY).
 */
int mdb_scan_open(struct conn *base, const struct scan_req *req, struct tally_err *err)
{
	struct mdb_conn *c = mdb(base);
	const struct tabdesc *d = req->desc;
	struct buf sql = BUF_INIT;
	char *cond[2] = { NULL, NULL };
	size_t nlo = req->nlo, nhi = req->nhi;
	unsigned int nf;

	if (mdb_usable(c, err) < 0)
		return -1;
	if (c->res)
		return err_set(err, ERR_INTERNAL, "a scan is already open on %s system '%s'",
		               c->base.side, c->base.system);
	buf_reset(&c->what);
	if (d->is_query)
		buf_addstr(&c->what, "the query");
	else
		buf_addstr(&c->what, d->display);
	bool bad = req->ncols == 0 || (!d->is_query && !d->sqlname) || (d->is_query && !req->query) ||
	           nlo > req->nkey || nhi > req->nkey || (req->lo && nlo == 0) ||
	           (req->hi && nhi == 0);

	for (size_t i = 0; i < req->ncols; i++)
		bad |= req->cols[i] >= d->ncols;
	for (size_t i = 0; i < req->nkey; i++)
		bad |= req->key[i] >= d->ncols;
	if (bad)
		return err_set(err, ERR_INTERNAL, "invalid scan request for %s on %s system '%s'",
		               c->what.data, c->base.side, c->base.system);
	if (mdb_range_cond(req, req->lo, nlo, false, &cond[0], err) < 0 ||
	    mdb_range_cond(req, req->hi, nhi, true, &cond[1], err) < 0) {
		free(cond[0]);
		return err_context(err, "[%s pid %ld] cannot read a range of %s on %s system '%s'",
		                   c->base.side, c->base.backend_pid, c->what.data, c->base.side,
		                   c->base.system);
	}

	buf_addstr(&sql, "SELECT ");
	for (size_t i = 0; i < req->ncols; i++) {
		const struct coldesc *cd = &d->cols[req->cols[i]];

		if (i)
			buf_addstr(&sql, ", ");
		/*
		 * MariaDB prints a FLOAT with 6 significant digits, which is not
		 * the value: as DOUBLE it prints every digit of the float's exact
		 * value, which reads back as the same float.
		 */
		if (cd->type == LT_FLOAT && cd->bits == 32)
			buf_addstr(&sql, "CAST(");
		mdb_quote_ident(&sql, cd->name);
		if (cd->type == LT_FLOAT && cd->bits == 32)
			buf_addstr(&sql, " AS DOUBLE)");
	}
	buf_addstr(&sql, " FROM ");
	mdb_add_from(&sql, d, req->query);
	mdb_add_where(&sql, req->where, (const char *const *)cond, 2);
	if (!req->unordered)
		mdb_add_order_by(&sql, d, req->key, req->nkey, false);
	if (req->limit)
		buf_addf(&sql, " LIMIT %" PRIu64, req->limit);
	free(cond[0]);
	free(cond[1]);

	if (mdb_real_query(c, sql.data, sql.len) != 0) {
		buf_release(&sql);
		return mdb_fail(c, ERR_QUERY, "reading", c->what.data, err);
	}
	buf_release(&sql);
	c->res = mysql_use_result(c->my);
	c->res_done = false;
	if (!c->res)
		return mdb_fail(c, ERR_QUERY, "reading", c->what.data, err);
	nf = mysql_num_fields(c->res);
	if (nf != req->ncols) {
		mdb_scan_close(base);
		return err_set(err, ERR_DATA, "[%s pid %ld] %s system '%s' returned %u columns for "
		               "%s, expected %zu", c->base.side, c->base.backend_pid, c->base.side,
		               c->base.system, nf, c->what.data, req->ncols);
	}
	if (req->ncols > c->cap) {
		size_t cap = c->cap;

		c->val = xgrow(c->val, &cap, req->ncols, sizeof(*c->val));
		cap = c->cap;
		c->len = xgrow(c->len, &cap, req->ncols, sizeof(*c->len));
		c->cap = cap;
	}
	c->row.ncols = req->ncols;
	c->row.val = c->val;
	c->row.len = c->len;
	return 0;
}

int mdb_scan_next(struct conn *base, struct rawrow **row, struct tally_err *err)
{
	struct mdb_conn *c = mdb(base);
	MYSQL_ROW r;
	unsigned long *l;

	*row = NULL;
	if (mdb_usable(c, err) < 0)
		return -1;
	if (!c->res)
		return err_set(err, ERR_INTERNAL, "no scan is open on %s system '%s'",
		               c->base.side, c->base.system);
	r = mysql_fetch_row(c->res);
	if (!r) {
		c->res_done = true;
		if (mysql_errno(c->my) == 0)
			return 0;
		mdb_fail(c, ERR_QUERY, "reading", c->what.data, err);
		mdb_set_failed(c, err->kind);
		return -1;
	}
	l = mysql_fetch_lengths(c->res);
	for (size_t i = 0; i < c->row.ncols; i++) {
		c->val[i] = r[i];
		c->len[i] = l[i];
		c->base.io.bytes += l[i];
	}
	*row = &c->row;
	return 1;
}

void mdb_scan_close(struct conn *base)
{
	struct mdb_conn *c = mdb(base);

	if (!c || !c->res)
		return;
	/* On an unfinished scan this reads and discards the rest of the result. */
	mysql_free_result(c->res);
	c->res = NULL;
	c->row.ncols = 0;
}

/*
 * conn_ops.order_is_bytewise. Numbers, dates and times order by value;
 * binary strings byte by byte (BINARY(n) pads with 0x00, which scan_next
 * returns, so the order is still that of the bytes returned). Text only
 * under a NO PAD binary collation of a character set whose code point
 * order is its UTF-8 byte order: utf8mb4_bin is PAD SPACE ('a\t' < 'a').
 * CHAR(n) never: the index keeps the value padded with spaces, so 'a\t'
 * (stored 'a\t   ') sorts before 'a' even under utf8mb4_nopad_bin, while
 * the server returns both stripped. UUID sorts by swapped segments, INET
 * by address bytes, ENUM and SET by index, BIT and FLOAT are left to the
 * engine. A DATE or DATETIME key with zero parts ('2024-00-00') sorts
 * among its year in the server but before every date in tally's order;
 * the engine's order check catches such a key.
 */
bool mdb_order_is_bytewise(const struct coldesc *col)
{
	static const char nopad_bin[] = "_nopad_bin";
	const char *cs = col->charset ? col->charset : "", *co = col->collation ? col->collation : "";
	size_t n = strlen(co), k = sizeof(nopad_bin) - 1;

	switch (col->type) {
	case LT_INT:
	case LT_DECIMAL:
	case LT_BOOL:
	case LT_DATE:
	case LT_TIME:
	case LT_TIMESTAMP:
	case LT_TIMESTAMPTZ:
	case LT_YEAR:
	case LT_BYTES:
		return true;
	case LT_TEXT:
		return (strcmp(cs, "utf8mb4") == 0 || strcmp(cs, "utf8mb3") == 0 ||
		        strcmp(cs, "utf8") == 0 || strcmp(cs, "ascii") == 0) &&
		       n > k && strcmp(co + n - k, nopad_bin) == 0;
	default:
		return false;
	}
}

/*
 * conn_ops.count_rows: SELECT count(*) FROM what WHERE (where) AND lo AND
 * hi, the range a scan reads, counted in the server.
 */
int mdb_count_rows(struct conn *base, const struct scan_req *req, uint64_t *out, struct tally_err *err)
{
	struct mdb_conn *c = mdb(base);
	const struct tabdesc *d = req->desc;
	struct buf sql = BUF_INIT;
	char *cond[2] = { NULL, NULL };
	size_t nlo = req->lo ? req->nlo : 0, nhi = req->hi ? req->nhi : 0;
	MYSQL_RES *r = NULL;
	MYSQL_ROW row;
	unsigned long *l;
	const char *what = d->is_query ? "the query" : d->display;
	char *end;
	int rc = -1;

	*out = 0;
	if (mdb_usable(c, err) < 0)
		return -1;
	if (c->res)
		return err_set(err, ERR_INTERNAL, "a scan is open on %s system '%s'", c->base.side, c->base.system);
	if ((d->is_query ? !req->query : !d->sqlname) || nlo > req->nkey || nhi > req->nkey)
		return err_set(err, ERR_INTERNAL, "invalid count request for %s on %s system '%s'",
		               what, c->base.side, c->base.system);
	if (mdb_range_cond(req, req->lo, nlo, false, &cond[0], err) < 0 ||
	    mdb_range_cond(req, req->hi, nhi, true, &cond[1], err) < 0) {
		free(cond[0]);
		return err_context(err, "[%s pid %ld] cannot count a range of %s on %s system '%s'",
		                   c->base.side, c->base.backend_pid, what, c->base.side, c->base.system);
	}
	buf_addstr(&sql, "SELECT COUNT(*) FROM ");
	mdb_add_from(&sql, d, req->query);
	mdb_add_where(&sql, req->where, (const char *const *)cond, 2);
	free(cond[0]);
	free(cond[1]);
	if (mdb_catalog(c, &sql, &r, "counting the rows of", what, err) < 0)
		goto out;
	row = mysql_fetch_row(r);
	l = row ? mysql_fetch_lengths(r) : NULL;
	if (!row || mysql_num_fields(r) != 1 || !row[0]) {
		err_set(err, ERR_DATA, "%s system '%s' returned no count for %s", c->base.side, c->base.system, what);
		goto out;
	}
	c->base.io.bytes += l[0];
	*out = strtoull(row[0], &end, 10);
	if (*end) {
		err_set(err, ERR_DATA, "%s system '%s' returned a count that is not a number", c->base.side,
		        c->base.system);
		goto out;
	}
	rc = 0;
out:
	if (r)
		mysql_free_result(r);
	buf_release(&sql);
	return rc;
}
