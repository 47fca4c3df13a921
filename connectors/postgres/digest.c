/*
 * connectors/postgres/digest.c
 *   SOURCE -> pushdown: a range's digest computed in PostgreSQL (count and
 *   two sums of MD5 slices, or of two hashtextextended values, of each
 *   row's canonical text, connector.h struct rangedigest and enum
 *   digest_hash), and the boundaries that split a range into
 *   parts, for engine/chunkpush.c. Both run in a savepoint, like a count,
 *   so that a failure leaves the snapshot usable.
 */
#include <stdlib.h>
#include <string.h>

#include "pg_int.h"

/*
 * Appends the column's value as canonical text (NULL stays NULL), each
 * column evaluated once: version is the server's (trim_scale from 13).
 */
static int pgc_canon_text(struct buf *sql, const struct coldesc *cd, int version, struct tally_err *err)
{
	struct buf col = BUF_INIT;
	int rc = 0;

	pgc_quote_ident(&col, cd->name);
	switch (cd->type) {
	case LT_INT:
	case LT_UUID:
	case LT_TEXT:
	case LT_CHAR:
	case LT_DATE:
		/* bpchar to text drops the padding; DateStyle ISO writes YYYY-MM-DD. */
		buf_addf(sql, "%s::pg_catalog.text", col.data);
		break;
	case LT_DECIMAL:
		/* numeric has no -0; its text keeps the scale's zeros: drop them. */
		if (version >= 130000)
			buf_addf(sql, "pg_catalog.trim_scale(%s)::pg_catalog.text", col.data);
		else
			buf_addf(sql, "CASE WHEN strpos(%s::pg_catalog.text, '.') > 0 THEN rtrim(rtrim(%s::pg_catalog.text, "
			         "'0'), '.') ELSE %s::pg_catalog.text END", col.data, col.data, col.data);
		break;
	case LT_BOOL:
		buf_addf(sql, "%s::pg_catalog.int4::pg_catalog.text", col.data);
		break;
	case LT_BYTES:
		buf_addf(sql, "encode(%s, 'hex')", col.data);
		break;
	case LT_TIMESTAMP:
	case LT_TIMESTAMPTZ:
		/*
		 * The session's TimeZone is UTC: an instant is written in UTC. The
		 * common years first, in one to_char; BC and infinities apart.
		 */
		buf_addf(sql, "CASE WHEN %s >= '0001-01-01' AND %s < 'infinity' THEN to_char(%s, "
		         "'YYYY-MM-DD HH24:MI:SS.US') WHEN isfinite(%s) THEN to_char(%s, 'YYYY-MM-DD HH24:MI:SS.US') || "
		         "CASE WHEN to_char(%s, 'BC') = 'BC' THEN ' BC' ELSE '' END ELSE %s::pg_catalog.text END",
		         col.data, col.data, col.data, col.data, col.data, col.data, col.data);
		break;
	default:
		rc = err_set(err, ERR_INTERNAL, "column '%s' (%s) cannot be hashed in the server", cd->name,
		             ltype_name(cd->type));
		break;
	}
	buf_release(&col);
	return rc;
}

/* The row text of connector.h struct rangedigest: fields joined by '|'. */
static int pgc_row_text(struct buf *sql, const struct scan_req *req, int version, struct tally_err *err)
{
	const struct tabdesc *d = req->desc;

	for (size_t i = 0; i < req->ncols; i++) {
		const struct coldesc *cd = &d->cols[req->cols[i]];

		if (i)
			buf_addstr(sql, " || '|' || ");
		buf_addstr(sql, "COALESCE(");
		if (conn_digest_prefixed(cd->type)) {
			/* length ':' text: any byte may follow. */
			buf_addstr(sql, "octet_length(");
			if (pgc_canon_text(sql, cd, version, err) < 0)
				return -1;
			buf_addstr(sql, ")::pg_catalog.text || ':' || ");
		}
		if (pgc_canon_text(sql, cd, version, err) < 0)
			return -1;
		buf_addstr(sql, ", 'N')");
	}
	if (req->ncols == 0)
		buf_addstr(sql, "''");
	return 0;
}

/* " FROM what WHERE (where) AND lo AND hi": the scan's range. */
static int pgc_add_range(struct buf *sql, const struct scan_req *req, struct tally_err *err)
{
	const struct tabdesc *d = req->desc;
	size_t nlo = req->lo ? req->nlo : 0, nhi = req->hi ? req->nhi : 0;
	int conds = 0;

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
		if (pgc_add_bound(sql, d, req->key, n, hi ? "<=" : ">", hi ? req->hi : req->lo, err) < 0)
			return -1;
	}
	return 0;
}

/* Runs sql in the savepoint; *res holds the rows (nfields columns) on success. */
static int pgc_run_range(struct pgsess *s, const char *sql, const char *doing, int nfields, PGresult **res,
                         struct tally_err *err)
{
	*res = NULL;
	if (pgc_savepoint(s, doing, err) < 0)
		return -1;
	*res = pgc_exec(s, sql);
	if (!pgc_rows_ok(*res) || PQnfields(*res) != nfields) {
		struct tally_err e2;

		pgc_stmt_err(s, *res, false, doing, err, "cannot read %s on %s system '%s'", doing, s->base.side,
		             s->base.system);
		if (!s->base.failed && pgc_rollback_savepoint(s, doing, &e2) < 0)
			*err = e2;
		PQclear(*res);
		*res = NULL;
		return -1;
	}
	return pgc_rollback_savepoint(s, doing, err);
}

static int pgc_check_req(struct pgsess *s, const struct scan_req *req, struct tally_err *err)
{
	const struct tabdesc *d = req->desc;

	if (s->base.failed)
		return pgc_sticky(s, err);
	if (s->scanning)
		return err_set(err, ERR_INTERNAL, "a scan is open on %s system '%s'", s->base.side, s->base.system);
	if ((d->is_query ? !req->query : !d->sqlname) || (req->lo && req->nlo > req->nkey) ||
	    (req->hi && req->nhi > req->nkey))
		return err_set(err, ERR_INTERNAL, "invalid range request for %s on %s system '%s'",
		               d->display, s->base.side, s->base.system);
	return 0;
}

/* A sum's text, "0" for NULL (no row); false when it is not plain digits. */
static bool pgc_sum(char *dst, size_t cap, const PGresult *res, int row, int col)
{
	const char *v = PQgetisnull(res, row, col) ? "0" : PQgetvalue(res, row, col);
	size_t n = strlen(v);

	if (n == 0 || n >= cap || strspn(v, "0123456789") != n)
		return false;
	memcpy(dst, v, n + 1);
	return true;
}

/*
 * The part of a row among bounds i..j (a binary search of nested CASEs):
 * the first bound the key is at most, j when it is above them all.
 */
static int pgc_add_part(struct buf *sql, const struct scan_req *req, const struct sqlval *b, size_t i, size_t j,
                        struct tally_err *err)
{
	size_t m = i + (j - i) / 2;

	if (i == j) {
		buf_addf(sql, "%zu", i);
		return 0;
	}
	buf_addstr(sql, "CASE WHEN ");
	if (pgc_add_bound(sql, req->desc, req->key, req->nkey, "<=", b + m * req->nkey, err) < 0)
		return -1;
	buf_addstr(sql, " THEN ");
	if (pgc_add_part(sql, req, b, i, m, err) < 0)
		return -1;
	buf_addstr(sql, " ELSE ");
	if (pgc_add_part(sql, req, b, m + 1, j, err) < 0)
		return -1;
	buf_addstr(sql, " END");
	return 0;
}

/* Reads the digests of the parts from res (part, count, sum, sum); false on a malformed row. */
static bool pgc_read_parts(const PGresult *res, size_t nb, struct rangedigest *out)
{
	for (int r = 0; r < PQntuples(res); r++) {
		char *end;
		unsigned long long part = strtoull(PQgetvalue(res, r, 0), &end, 10);
		struct rangedigest *d;

		if (*end || part > nb)
			return false;
		d = &out[part];
		d->rows = strtoull(PQgetvalue(res, r, 1), &end, 10);
		if (*end || !pgc_sum(d->sum[0], sizeof(d->sum[0]), res, r, 2) ||
		    !pgc_sum(d->sum[1], sizeof(d->sum[1]), res, r, 3))
			return false;
	}
	return true;
}

/*
 * The digest's sums over h, the inner query's column: DIGEST_MD5's h is the
 * md5 of the row text, a slice is 15 hex digits read as bit(60) then
 * bigint, never negative. DIGEST_PG_HASHTEXT's h is the row text itself,
 * whose two hashes are signed bigints: count * 2^63 added to each sum
 * makes it the sum of unsigned values, non-negative digits as struct
 * rangedigest wants. The sums of bigints are numeric, exact.
 */
static const char *const pgc_digest_sums[DIGEST_HASHES] = {
	[DIGEST_MD5] = "sum(('x' || substr(h, 1, 15))::pg_catalog.bit(60)::pg_catalog.int8), "
	               "sum(('x' || substr(h, 16, 15))::pg_catalog.bit(60)::pg_catalog.int8)",
	[DIGEST_PG_HASHTEXT] = "sum(pg_catalog.hashtextextended(h, 0)) + count(*) * "
	                       "9223372036854775808::pg_catalog.numeric, "
	                       "sum(pg_catalog.hashtextextended(h, 1)) + count(*) * "
	                       "9223372036854775808::pg_catalog.numeric",
};

/*
 * SELECT part, count(*), sum, sum FROM (SELECT part, md5(row text) AS h
 * (or the row text as h) FROM what WHERE range OFFSET 0) AS tally_d GROUP
 * BY part.
 */
int pgc_digest_rows(struct conn *c, const struct scan_req *req, size_t nb, const struct sqlval *bounds,
                    enum digest_hash hash, struct rangedigest *out, struct tally_err *err)
{
	struct pgsess *s = (struct pgsess *)c;
	const struct tabdesc *d = req->desc;
	struct buf sql = BUF_INIT, doing = BUF_INIT;
	PGresult *res = NULL;
	int rc = -1;

	for (size_t i = 0; i <= nb; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		out[i].sum[0][0] = out[i].sum[1][0] = '0';
	}
	if (pgc_check_req(s, req, err) < 0)
		return -1;
	if (hash != DIGEST_MD5 && hash != DIGEST_PG_HASHTEXT)
		return err_set(err, ERR_INTERNAL, "%s system '%s' cannot digest rows with hash %d", s->base.side,
		               s->base.system, (int)hash);
	buf_addf(&sql, "SELECT tally_p, count(*), %s FROM (SELECT ", pgc_digest_sums[hash]);
	if (pgc_add_part(&sql, req, bounds, 0, nb, err) < 0)
		goto out;
	buf_addstr(&sql, hash == DIGEST_MD5 ? " AS tally_p, md5(" : " AS tally_p, (");
	if (pgc_row_text(&sql, req, PQserverVersion(s->pg), err) < 0)
		goto out;
	buf_addstr(&sql, ") AS h");
	if (pgc_add_range(&sql, req, err) < 0)
		goto out;
	/* OFFSET 0 keeps the subquery from being flattened, which would compute h once per sum. */
	buf_addstr(&sql, " OFFSET 0) AS tally_d GROUP BY tally_p");
	buf_addf(&doing, "the digest of a range of %s", d->is_query ? "the query" : d->display);
	if (pgc_run_range(s, sql.data, doing.data, 4, &res, err) < 0)
		goto out;
	if (!pgc_read_parts(res, nb, out)) {
		err_set(err, ERR_DATA, "%s system '%s' returned a digest that is not numbers", s->base.side,
		        s->base.system);
		goto out;
	}
	rc = 0;
out:
	PQclear(res);
	buf_release(&sql);
	buf_release(&doing);
	return rc;
}

/*
 * SELECT keys FROM (SELECT keys, row_number() OVER (ORDER BY keys) FROM
 * what WHERE range) WHERE rn % step = 0: the server walks the range's
 * keys once (an index-only scan when it can) and sends the boundaries.
 */
int pgc_split_range(struct conn *c, const struct scan_req *req, uint64_t step, struct keybounds *out,
                    struct tally_err *err)
{
	struct pgsess *s = (struct pgsess *)c;
	const struct tabdesc *d = req->desc;
	struct buf sql = BUF_INIT, doing = BUF_INIT;
	PGresult *res = NULL;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	out->ncols = req->nkey;
	if (pgc_check_req(s, req, err) < 0)
		return -1;
	if (req->nkey == 0 || step == 0)
		return err_set(err, ERR_INTERNAL, "a range to split needs a key and a step");
	buf_addstr(&sql, "SELECT ");
	pgc_add_keys(&sql, d, req->key, req->nkey);
	buf_addstr(&sql, " FROM (SELECT ");
	pgc_add_keys(&sql, d, req->key, req->nkey);
	buf_addstr(&sql, ", row_number() OVER (ORDER BY ");
	pgc_add_keys(&sql, d, req->key, req->nkey);
	buf_addstr(&sql, ") AS tally_rn");
	if (pgc_add_range(&sql, req, err) < 0)
		goto out;
	buf_addf(&sql, ") AS tally_s WHERE tally_rn %% %llu = 0 ORDER BY tally_rn", (unsigned long long)step);
	buf_addf(&doing, "the keys that split a range of %s", d->is_query ? "the query" : d->display);
	if (pgc_run_range(s, sql.data, doing.data, (int)req->nkey, &res, err) < 0)
		goto out;
	{
		size_t n = (size_t)PQntuples(res);

		out->val = xcalloc(n ? n * req->nkey : 1, sizeof(*out->val));
		out->len = xcalloc(n ? n * req->nkey : 1, sizeof(*out->len));
		for (size_t r = 0; r < n; r++) {
			for (size_t k = 0; k < req->nkey; k++) {
				size_t at = r * req->nkey + k;

				out->len[at] = (size_t)PQgetlength(res, (int)r, (int)k);
				out->val[at] = xstrndup(PQgetvalue(res, (int)r, (int)k), out->len[at]);
			}
			out->n++;
		}
	}
	rc = 0;
out:
	PQclear(res);
	buf_release(&sql);
	buf_release(&doing);
	return rc;
}
