/*
 * connectors/mariadb/digest.c
 *   SOURCE -> pushdown: a range's digest computed in MariaDB (count and two
 *   sums of MD5 slices of each row's canonical text, connector.h struct
 *   rangedigest, byte for byte what PostgreSQL computes), and the
 *   boundaries that split a range into parts, for engine/chunkpush.c.
 */
#include <stdlib.h>
#include <string.h>

#include "my_int.h"

/*
 * Appends the column's value as canonical text (NULL stays NULL), each
 * column evaluated once. Every constant is a plain quoted string without
 * backslash or double quote, which no sql_mode reads otherwise.
 */
static int mdb_canon_text(struct buf *sql, const struct coldesc *cd, struct tally_err *err)
{
	struct buf col = BUF_INIT;
	int rc = 0;

	mdb_quote_ident(&col, cd->name);
	switch (cd->type) {
	case LT_INT:
	case LT_UUID:
	case LT_DATE:
	case LT_BOOL:
		buf_addf(sql, "CAST(%s AS CHAR)", col.data);
		break;
	case LT_TEXT:
	case LT_CHAR:
		/* The bytes as UTF-8, whatever the column's character set. */
		buf_addf(sql, "CONVERT(%s USING utf8mb4)", col.data);
		break;
	case LT_BYTES:
		buf_addf(sql, "LOWER(HEX(%s))", col.data);
		break;
	case LT_DECIMAL:
		/*
		 * DECIMAL's text keeps the scale's zeros: drop them, and a -0. With
		 * a declared scale above 0 the text always has a point.
		 */
		if (cd->scale > 0)
			buf_addf(sql, "IF(%s = 0, '0', TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM CAST(%s AS CHAR))))",
			         col.data, col.data);
		else if (cd->scale == 0)
			buf_addf(sql, "IF(%s = 0, '0', CAST(%s AS CHAR))", col.data, col.data);
		else
			buf_addf(sql, "IF(%s = 0, '0', IF(LOCATE('.', CAST(%s AS CHAR)) > 0, TRIM(TRAILING '.' FROM "
			         "TRIM(TRAILING '0' FROM CAST(%s AS CHAR))), CAST(%s AS CHAR)))", col.data, col.data,
			         col.data, col.data);
		break;
	case LT_TIMESTAMP:
	case LT_TIMESTAMPTZ:
		/* The session's time_zone is +00:00: a TIMESTAMP is written in UTC. */
		buf_addf(sql, "DATE_FORMAT(%s, '%%Y-%%m-%%d %%H:%%i:%%s.%%f')", col.data);
		break;
	default:
		rc = err_set(err, ERR_INTERNAL, "column '%s' (%s) cannot be hashed in the server", cd->name,
		             ltype_name(cd->type));
		break;
	}
	buf_release(&col);
	return rc;
}

/* " FROM what WHERE (where) AND lo AND hi": the scan's range. */
static int mdb_add_range(struct buf *sql, const struct scan_req *req, struct tally_err *err)
{
	char *cond[2] = { NULL, NULL };
	size_t nlo = req->lo ? req->nlo : 0, nhi = req->hi ? req->nhi : 0;

	if (mdb_range_cond(req, req->lo, nlo, false, &cond[0], err) < 0 ||
	    mdb_range_cond(req, req->hi, nhi, true, &cond[1], err) < 0) {
		free(cond[0]);
		return -1;
	}
	buf_addstr(sql, " FROM ");
	mdb_add_from(sql, req->desc, req->query);
	mdb_add_where(sql, req->where, (const char *const *)cond, 2);
	free(cond[0]);
	free(cond[1]);
	return 0;
}

static int mdb_check_req(struct mdb_conn *c, const struct scan_req *req, struct tally_err *err)
{
	const struct tabdesc *d = req->desc;

	if (mdb_usable(c, err) < 0)
		return -1;
	if (c->res)
		return err_set(err, ERR_INTERNAL, "a scan is open on %s system '%s'", c->base.side, c->base.system);
	if ((d->is_query ? !req->query : !d->sqlname) || (req->lo && req->nlo > req->nkey) ||
	    (req->hi && req->nhi > req->nkey))
		return err_set(err, ERR_INTERNAL, "invalid range request for %s on %s system '%s'",
		               d->display, c->base.side, c->base.system);
	return 0;
}

/* A sum's text, "0" for NULL (no row); false when it is not plain digits. */
static bool mdb_sum(char *dst, size_t cap, const char *v)
{
	size_t n;

	if (!v)
		v = "0";
	n = strlen(v);
	if (n == 0 || n >= cap || strspn(v, "0123456789") != n)
		return false;
	memcpy(dst, v, n + 1);
	return true;
}

/*
 * The part of a row among bounds i..j (a binary search of nested IFs):
 * the first bound the key is at most, j when it is above them all.
 */
static int mdb_add_part(struct buf *sql, const struct scan_req *req, const struct sqlval *b, size_t i, size_t j,
                        struct tally_err *err)
{
	size_t m = i + (j - i) / 2;
	char *cond = NULL;

	if (i == j) {
		buf_addf(sql, "%zu", i);
		return 0;
	}
	if (mdb_range_cond(req, b + m * req->nkey, req->nkey, true, &cond, err) < 0)
		return -1;
	buf_addf(sql, "IF(%s, ", cond);
	free(cond);
	if (mdb_add_part(sql, req, b, i, m, err) < 0)
		return -1;
	buf_addstr(sql, ", ");
	if (mdb_add_part(sql, req, b, m + 1, j, err) < 0)
		return -1;
	buf_addch(sql, ')');
	return 0;
}

/* Reads the digests of the parts from r (part, count, sum, sum); false on a malformed row. */
static bool mdb_read_parts(struct mdb_conn *c, MYSQL_RES *r, size_t nb, struct rangedigest *out)
{
	MYSQL_ROW row;

	if (mysql_num_fields(r) != 4)
		return false;
	while ((row = mysql_fetch_row(r)) != NULL) {
		unsigned long *l = mysql_fetch_lengths(r);
		unsigned long long part;
		struct rangedigest *d;
		char *end;

		if (!row[0] || !row[1])
			return false;
		c->base.io.bytes += l[0] + l[1] + l[2] + l[3];
		part = strtoull(row[0], &end, 10);
		if (*end || part > nb)
			return false;
		d = &out[part];
		d->rows = strtoull(row[1], &end, 10);
		if (*end || !mdb_sum(d->sum[0], sizeof(d->sum[0]), row[2]) ||
		    !mdb_sum(d->sum[1], sizeof(d->sum[1]), row[3]))
			return false;
	}
	return true;
}

/*
 * SELECT part, COUNT(*), SUM(slice 1), SUM(slice 2) FROM (SELECT part,
 * MD5(row text) AS h FROM what WHERE range LIMIT max) AS tally_d GROUP BY
 * part. A
 * slice is 15 hex digits read by CONV as an unsigned integer (CONV(...)+0
 * would be a DOUBLE and lose bits); the sums of BIGINT UNSIGNED are exact
 * DECIMALs.
 */
int mdb_digest_rows(struct conn *base, const struct scan_req *req, size_t nb, const struct sqlval *bounds,
                    enum digest_hash hash, struct rangedigest *out, struct tally_err *err)
{
	struct mdb_conn *c = mdb(base);
	const struct tabdesc *d = req->desc;
	const char *what = d->is_query ? "the query" : d->display;
	struct buf sql = BUF_INIT;
	MYSQL_RES *r = NULL;
	int rc = -1;

	for (size_t i = 0; i <= nb; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		out[i].sum[0][0] = out[i].sum[1][0] = '0';
	}
	if (mdb_check_req(c, req, err) < 0)
		return -1;
	if (hash != DIGEST_MD5)
		return err_set(err, ERR_INTERNAL, "%s system '%s' cannot digest rows with %s", base->side,
		               base->system, digest_hash_name(hash) ? digest_hash_name(hash) : "an unknown hash");
	buf_addstr(&sql, "SELECT tally_p, COUNT(*), SUM(CAST(CONV(SUBSTR(h, 1, 15), 16, 10) AS UNSIGNED)), "
	                 "SUM(CAST(CONV(SUBSTR(h, 16, 15), 16, 10) AS UNSIGNED)) FROM (SELECT ");
	if (mdb_add_part(&sql, req, bounds, 0, nb, err) < 0)
		goto out;
	buf_addstr(&sql, " AS tally_p, MD5(CONCAT_WS('|', ");
	for (size_t i = 0; i < req->ncols; i++) {
		const struct coldesc *cd = &d->cols[req->cols[i]];

		if (i)
			buf_addstr(&sql, ", ");
		buf_addstr(&sql, "COALESCE(");
		if (conn_digest_prefixed(cd->type)) {
			/* length ':' text: any byte may follow. */
			buf_addstr(&sql, "CONCAT(OCTET_LENGTH(");
			if (mdb_canon_text(&sql, cd, err) < 0)
				goto out;
			buf_addstr(&sql, "), ':', ");
		}
		if (mdb_canon_text(&sql, cd, err) < 0)
			goto out;
		buf_addstr(&sql, conn_digest_prefixed(cd->type) ? "), 'N')" : ", 'N')");
	}
	if (req->ncols == 0)
		buf_addstr(&sql, "''");
	buf_addstr(&sql, ")) AS h");
	if (mdb_add_range(&sql, req, err) < 0)
		goto out;
	/* A LIMIT keeps the derived table from being merged, which would compute h once per sum. */
	buf_addstr(&sql, " LIMIT 18446744073709551615) AS tally_d GROUP BY tally_p");
	if (mdb_catalog(c, &sql, &r, "computing the digest of", what, err) < 0)
		goto out;
	if (!mdb_read_parts(c, r, nb, out)) {
		err_set(err, ERR_DATA, "%s system '%s' returned a digest that is not numbers", c->base.side,
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

/*
 * SELECT keys FROM (SELECT keys, ROW_NUMBER() OVER (ORDER BY keys) FROM
 * what WHERE range) WHERE rn MOD step = 0: the server walks the range's
 * keys once and sends the boundaries, in its own key order.
 */
int mdb_split_range(struct conn *base, const struct scan_req *req, uint64_t step, struct keybounds *out,
                    struct tally_err *err)
{
	struct mdb_conn *c = mdb(base);
	const struct tabdesc *d = req->desc;
	const char *what = d->is_query ? "the query" : d->display;
	struct buf sql = BUF_INIT;
	MYSQL_RES *r = NULL;
	MYSQL_ROW row;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	out->ncols = req->nkey;
	if (mdb_check_req(c, req, err) < 0)
		return -1;
	if (req->nkey == 0 || step == 0)
		return err_set(err, ERR_INTERNAL, "a range to split needs a key and a step");
	buf_addstr(&sql, "SELECT ");
	for (size_t i = 0; i < req->nkey; i++) {
		if (i)
			buf_addstr(&sql, ", ");
		mdb_quote_ident(&sql, d->cols[req->key[i]].name);
	}
	buf_addstr(&sql, " FROM (SELECT ");
	for (size_t i = 0; i < req->nkey; i++) {
		mdb_quote_ident(&sql, d->cols[req->key[i]].name);
		buf_addstr(&sql, ", ");
	}
	buf_addstr(&sql, "ROW_NUMBER() OVER (");
	mdb_add_order_by(&sql, d, req->key, req->nkey, false);
	buf_addstr(&sql, ") AS tally_rn");
	if (mdb_add_range(&sql, req, err) < 0)
		goto out;
	buf_addf(&sql, ") AS tally_s WHERE tally_rn MOD %llu = 0 ORDER BY tally_rn", (unsigned long long)step);
	if (mdb_catalog(c, &sql, &r, "splitting a range of", what, err) < 0)
		goto out;
	if (mysql_num_fields(r) != req->nkey) {
		err_set(err, ERR_DATA, "%s system '%s' returned no keys for %s", c->base.side, c->base.system, what);
		goto out;
	}
	{
		size_t n = (size_t)mysql_num_rows(r);

		out->val = xcalloc(n ? n * req->nkey : 1, sizeof(*out->val));
		out->len = xcalloc(n ? n * req->nkey : 1, sizeof(*out->len));
		while ((row = mysql_fetch_row(r)) != NULL && out->n < n) {
			unsigned long *l = mysql_fetch_lengths(r);

			for (size_t k = 0; k < req->nkey; k++) {
				size_t at = out->n * req->nkey + k;

				if (!row[k]) {
					err_set(err, ERR_DATA, "%s system '%s' returned a NULL key for %s", c->base.side,
					        c->base.system, what);
					goto out;
				}
				out->len[at] = l[k];
				out->val[at] = xstrndup(row[k], l[k]);
				c->base.io.bytes += l[k];
			}
			out->n++;
		}
	}
	rc = 0;
out:
	if (r)
		mysql_free_result(r);
	buf_release(&sql);
	return rc;
}
