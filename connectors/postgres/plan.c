/*
 * connectors/postgres/plan.c
 *   SOURCE, PostgreSQL -> chunk: which key orders the server gives, where
 *   a big table's chunks begin (plan_bounds) and how the server ranks
 *   chunk bounds in its own order (rank_bounds).
 *
 * Chunked, parallel scans work like this. One session plans: plan_bounds()
 * estimates the table's rows from the catalog and, for a table large
 * enough to split, reads a page sample (TABLESAMPLE SYSTEM, REPEATABLE so
 * the same data gives the same chunks) of its key in the server's order
 * and keeps every so many keys as chunk boundaries. It exports its
 * snapshot (export_txsnap, session.c); worker sessions open with
 * cfg->txsnap, import it with SET TRANSACTION SNAPSHOT before their first
 * query, and so see exactly the planner's data. Each worker then scans
 * ranges (lo, hi] of the key (scan.c). Where the server's order is not
 * tally's bytewise order (order_is_bytewise) the engine sorts locally.
 */
#include "../connector.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "pg_int.h"

/* ---- order --------------------------------------------------------- */

/*
 * False for the few types PostgreSQL has no default btree ordering for
 * (json, xml, geometric types, arrays of them): an ORDER BY on them fails,
 * so they are ordered by their text instead and never split into ranges.
 */
bool pgc_has_order(const struct coldesc *col)
{
	static const char *const unordered[] = {
		"json", "xml", "point", "line", "lseg", "box", "path", "polygon", "circle",
	};
	const char *native = col->native ? col->native : "";
	size_t n = strlen(native);

	while (n >= 2 && native[n - 2] == '[' && native[n - 1] == ']')
		n -= 2;
	for (size_t i = 0; i < sizeof(unordered) / sizeof(unordered[0]); i++)
		if (strlen(unordered[i]) == n && memcmp(unordered[i], native, n) == 0)
			return false;
	return true;
}

/*
 * The server's order of col is tally's bytewise order of its canonical
 * values: numbers and times by value, uuid and bytea by their bytes
 * (memcmp, then length), text only under the "C" or "POSIX" collation,
 * which compares with memcmp. glibc's C.UTF-8 orders by code point, which
 * is UTF-8 byte order too, but collation names promise little across
 * platforms and versions, so only those two count. A NULL collation
 * (a query column whose collation could not be learned) is not bytewise.
 * char(n) compares without its trailing blanks, which differs from its
 * padded bytes only where a character below the blank meets the other
 * value's padding. Floats are never keys; enums follow their declared
 * order; the rest compares in ways of its own.
 */
bool pgc_order_is_bytewise(const struct coldesc *col)
{
	switch (col->type) {
	case LT_INT:
	case LT_DECIMAL:
	case LT_BOOL:
	case LT_DATE:
	case LT_TIME:
	case LT_TIMESTAMP:
	case LT_TIMESTAMPTZ:
	case LT_UUID:
	case LT_BYTES:
		return true;
	case LT_TEXT:
	case LT_CHAR:
		return col->collation &&
		       (strcmp(col->collation, "C") == 0 || strcmp(col->collation, "POSIX") == 0);
	default:
		return false;
	}
}

/* ---- chunks -------------------------------------------------------- */

#define PGC_SAMPLES_PER_CHUNK 20                   /* sampled pages (and rows) per chunk */
#define PGC_COUNT_BYTES (10.0 * 1024 * 1024)       /* count tables this small exactly */

/*
 * The table's rows, pages and whether it can be sampled, summed over the
 * leaf partitions of a partitioned table. reltuples is -1 (PostgreSQL 14+)
 * or 0 before the first VACUUM or ANALYZE.
 */
static const char pgc_stats_sql[] =
	"WITH r AS ("
	"  SELECT c.oid, c.relkind FROM pg_catalog.pg_class c"
	"  WHERE c.oid OPERATOR(pg_catalog.=) $1::pg_catalog.regclass"
	"), leaf AS ("
	"  SELECT r.oid FROM r WHERE r.relkind <> 'p'"
	"  UNION ALL"
	"  SELECT t.relid FROM r, pg_catalog.pg_partition_tree(r.oid) t"
	"  WHERE r.relkind = 'p' AND t.isleaf"
	") "
	"SELECT r.relkind,"
	"       pg_catalog.count(l.oid) FILTER (WHERE l.relkind NOT IN ('r', 'm')),"
	"       pg_catalog.bool_and(l.reltuples > 0),"
	"       pg_catalog.sum(l.reltuples::pg_catalog.float8),"
	"       pg_catalog.sum(pg_catalog.pg_relation_size(l.oid)),"
	"       pg_catalog.current_setting('block_size')"
	" FROM r LEFT JOIN (leaf JOIN pg_catalog.pg_class l ON l.oid = leaf.oid) ON true"
	" GROUP BY r.relkind";

/*
 * The top plan node's "Plan Rows" in the output of EXPLAIN (FORMAT JSON),
 * [{"Plan": {"Plan Rows": N, ...}}]; 0 when the text is not that.
 */
static double pgc_plan_rows(const char *json)
{
	json_t *root = json_loads(json, 0, NULL);
	json_t *n = json_object_get(json_object_get(json_array_get(root, 0), "Plan"), "Plan Rows");
	double rows = json_is_number(n) ? json_number_value(n) : 0;

	json_decref(root);
	return rows;
}

/*
 * Rows of a table without statistics: counted when it is small, else the
 * planner's estimate, which is the table's pages times the rows a page
 * holds at the average width of the columns' types.
 */
static int pgc_estimate_rows(struct pgsess *s, const struct tabdesc *d, double bytes, double *rows,
                             const char *doing, struct tally_err *err)
{
	struct buf sql = BUF_INIT;
	PGresult *res;
	const char *p;
	int rc = -1;

	if (bytes <= PGC_COUNT_BYTES)
		buf_addf(&sql, "SELECT pg_catalog.count(*) FROM %s", d->sqlname);
	else
		buf_addf(&sql, "EXPLAIN (FORMAT JSON) SELECT 1 FROM %s", d->sqlname);
	res = pgc_exec(s, sql.data);
	if (!pgc_rows_ok(res) || PQntuples(res) != 1) {
		pgc_stmt_err(s, res, false, doing, err, "cannot count the rows of %s on %s system '%s'",
		             d->display, s->base.side, s->base.system);
		goto out;
	}
	p = PQgetvalue(res, 0, 0);
	*rows = bytes > PGC_COUNT_BYTES ? pgc_plan_rows(p) : strtod(p, NULL);
	rc = 0;
out:
	PQclear(res);
	buf_release(&sql);
	return rc;
}

/* Row r's key values as scan_next yields them: bytea decoded from hex. */
static void pgc_add_boundary(struct keybounds *b, const PGresult *res, int r,
                             const struct tabdesc *d, const size_t *key)
{
	for (size_t k = 0; k < b->ncols; k++) {
		size_t at = b->n * b->ncols + k;
		const char *v = PQgetvalue(res, r, (int)k);
		size_t len = (size_t)PQgetlength(res, r, (int)k);
		long n;

		b->val[at] = xstrndup(v, len);
		b->len[at] = len;
		if (d->cols[key[k]].type == LT_BYTES && len >= 2 && v[0] == '\\' && v[1] == 'x' &&
		    (n = pgc_unhex(b->val[at], v + 2, len - 2)) >= 0) {
			b->val[at][n] = '\0';
			b->len[at] = (size_t)n;
		}
	}
	b->n++;
}

static bool pgc_same_row(const PGresult *res, int a, int b)
{
	for (int k = 0; k < PQnfields(res); k++)
		if (PQgetlength(res, a, k) != PQgetlength(res, b, k) ||
		    memcmp(PQgetvalue(res, a, k), PQgetvalue(res, b, k), (size_t)PQgetlength(res, a, k)))
			return false;
	return true;
}

/*
 * Reads the page sample of the key (of the rows a condition keeps) and
 * keeps every (sampled / chunks)-th key as a boundary in out. rows is the
 * table's estimate, bytes and block its size and page size; a condition
 * makes the sample correct out->rows.
 */
static int pgc_sample_bounds(struct pgsess *s, const struct scan_req *req, uint64_t chunk_rows,
                             double rows, double bytes, double block, struct keybounds *out,
                             const char *doing, struct tally_err *err)
{
	const struct tabdesc *d = req->desc;
	struct buf sql = BUF_INIT;
	double pages, chunks, pct;
	size_t nsampled, cap;
	PGresult *res;

	chunks = ceil(rows / (double)chunk_rows);
	pages = block > 0 ? floor(bytes / block) : 0;
	if (pages < 1 || pages > rows)
		pages = rows;
	pct = 100.0 * PGC_SAMPLES_PER_CHUNK * chunks / (pages >= 1 ? pages : 1);
	if (pct > 100)
		pct = 100;
	buf_addstr(&sql, "SELECT ");
	pgc_add_keys(&sql, d, req->key, req->nkey);
	buf_addf(&sql, " FROM %s TABLESAMPLE SYSTEM (%.9g) REPEATABLE (0)", d->sqlname, pct);
	if (req->where && *req->where) {
		buf_addstr(&sql, " WHERE (");
		buf_addstr(&sql, req->where);
		buf_addstr(&sql, "\n)");
	}
	buf_addstr(&sql, " ORDER BY ");
	pgc_add_keys(&sql, d, req->key, req->nkey);
	res = pgc_exec(s, sql.data);
	if (!pgc_rows_ok(res) || (size_t)PQnfields(res) != req->nkey) {
		pgc_stmt_err(s, res, false, doing, err, "cannot sample %s on %s system '%s'",
		             d->display, s->base.side, s->base.system);
		PQclear(res);
		buf_release(&sql);
		return -1;
	}
	nsampled = (size_t)PQntuples(res);
	if (req->where && *req->where) {
		/* The sample also tells how much of the table the condition keeps. */
		rows = pct < 100 ? (double)nsampled * 100.0 / pct : (double)nsampled;
		out->rows = rows;
		chunks = ceil(rows / (double)chunk_rows);
		if (rows < 2.0 * (double)chunk_rows)
			nsampled = 0;
	}
	if (nsampled > 0 && chunks > 1) {
		cap = chunks - 1 < (double)nsampled ? (size_t)chunks - 1 : nsampled;
		out->val = xcalloc(cap * req->nkey, sizeof(*out->val));
		out->len = xcalloc(cap * req->nkey, sizeof(*out->len));
		for (size_t i = 1, last = SIZE_MAX; i < (size_t)chunks && out->n < cap; i++) {
			size_t at = (size_t)((double)i * (double)nsampled / chunks);

			if (at >= nsampled)
				break;
			if (last != SIZE_MAX && pgc_same_row(res, (int)last, (int)at))
				continue;
			pgc_add_boundary(out, res, (int)at, d, req->key);
			last = at;
		}
	}
	PQclear(res);
	buf_release(&sql);
	return 0;
}

/*
 * Samples pages, not rows (TABLESAMPLE SYSTEM reads only the pages it
 * picks), and rows of one page are often neighbours in key order: so the
 * sample is sized in pages, PGC_SAMPLES_PER_CHUNK per chunk, and at least
 * as many rows, which keeps chunk sizes within a few tens of percent of
 * each other. The sample comes back in the server's key order; every
 * (sampled / chunks)-th key becomes a boundary.
 */
int pgc_plan_bounds(struct conn *c, const struct scan_req *req, uint64_t chunk_rows,
                    uint64_t max_bytes, struct keybounds *out, struct tally_err *err)
{
	struct pgsess *s = (struct pgsess *)c;
	const struct tabdesc *d = req->desc;
	struct buf doing = BUF_INIT;
	const char *params[1];
	PGresult *res = NULL;
	double rows = 0, tuples, bytes, block;
	char relkind;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (pgc_check_idle(s, "plan chunks", err) < 0)
		return -1;
	out->ncols = req->nkey;
	if (d->is_query || !d->sqlname || req->nkey == 0 || chunk_rows == 0)
		return 0;
	for (size_t i = 0; i < req->nkey; i++) {
		if (req->key[i] >= d->ncols)
			return err_set(err, ERR_INTERNAL, "chunks of %s on %s system '%s' name column %zu of %zu",
			               d->display, s->base.side, s->base.system, req->key[i], d->ncols);
		if (d->cols[req->key[i]].nullable || !pgc_has_order(&d->cols[req->key[i]]))
			return 0;
	}
	buf_addf(&doing, "planning chunks of %s", d->display);
	if (pgc_savepoint(s, doing.data, err) < 0)
		goto out;

	params[0] = d->sqlname;
	res = pgc_query(s, pgc_stats_sql, 1, params);
	if (!pgc_rows_ok(res) || PQntuples(res) != 1) {
		pgc_stmt_err(s, res, false, doing.data, err, "cannot read the size of %s on %s system '%s'",
		             d->display, s->base.side, s->base.system);
		goto undo;
	}
	relkind = PQgetvalue(res, 0, 0)[0];
	if (!strchr("rmp", relkind) || strcmp(PQgetvalue(res, 0, 1), "0") != 0) {
		/* A view or a foreign table: nothing to sample. */
		rc = pgc_release_savepoint(s, doing.data, err);
		goto out;
	}
	tuples = strtod(PQgetvalue(res, 0, 3), NULL);
	bytes = strtod(PQgetvalue(res, 0, 4), NULL);
	block = strtod(PQgetvalue(res, 0, 5), NULL);
	if (PQgetvalue(res, 0, 2)[0] == 't')
		rows = tuples;
	else if (pgc_estimate_rows(s, d, bytes, &rows, doing.data, err) < 0)
		goto undo;
	PQclear(res);
	res = NULL;
	out->rows = rows;
	chunk_rows = chunk_rows_for_bytes(chunk_rows, max_bytes, bytes, tuples > 0 ? tuples : rows);
	if (rows < 2.0 * (double)chunk_rows) {
		rc = pgc_release_savepoint(s, doing.data, err);
		goto out;
	}

	if (pgc_sample_bounds(s, req, chunk_rows, rows, bytes, block, out, doing.data, err) < 0)
		goto undo;
	rc = pgc_release_savepoint(s, doing.data, err);
	if (rc < 0)
		keybounds_release(out);
	goto out;
undo:
	pgc_undo(s, doing.data, err);
	memset(out, 0, sizeof(*out));
out:
	PQclear(res);
	buf_release(&doing);
	return rc;
}

/*
 * conn_ops.rank_bounds. The bounds, each literal cast to its column's
 * base type (no typmod: a bound longer than varchar(n) is still itself),
 * are unioned below the key columns of an empty scan of the table: the
 * union takes the columns' collations, as the range condition
 * "k" > 'bound' does, and DENSE_RANK orders them so.
 */
int pgc_rank_bounds(struct conn *c, const struct scan_req *req, size_t nb, const struct sqlval *vals,
                    size_t n, uint32_t *rank, struct tally_err *err)
{
	struct pgsess *s = (struct pgsess *)c;
	const struct tabdesc *d = req->desc;
	struct buf sql = BUF_INIT, doing = BUF_INIT;
	PGresult *res = NULL;
	int rc = -1;

	if (pgc_check_idle(s, "rank chunk bounds", err) < 0)
		return -1;
	if (nb == 0 || nb > req->nkey || (d->is_query ? !req->query : !d->sqlname))
		return err_set(err, ERR_INTERNAL, "ranking bounds of %zu key columns of %s", nb, d->display);
	buf_addf(&doing, "ranking chunk bounds of %s", d->display);
	buf_addstr(&sql, "SELECT tally_i, pg_catalog.dense_rank() OVER (ORDER BY ");
	for (size_t k = 0; k < nb; k++)
		buf_addf(&sql, "%stally_k%zu", k ? ", " : "", k);
	buf_addstr(&sql, ") FROM (SELECT ");
	pgc_add_keys(&sql, d, req->key, nb);
	buf_addstr(&sql, ", NULL::pg_catalog.int8");
	pgc_add_from(&sql, d, req->query);
	buf_addstr(&sql, " WHERE false UNION ALL VALUES ");
	for (size_t i = 0; i < n; i++) {
		buf_addstr(&sql, i ? ", (" : "(");
		for (size_t k = 0; k < nb; k++) {
			const struct coldesc *cd = &d->cols[req->key[k]];
			size_t mark;

			if (k)
				buf_addstr(&sql, ", ");
			mark = sql.len;
			if (pgc_bound_literal(&sql, cd, &vals[i * nb + k], err) < 0)
				goto out;
			/* Typed already, or not a quoted literal (a number). */
			if (pgc_bound_cast(cd) || sql.len == mark || sql.data[sql.len - 1] != '\'')
				continue;
			if (cd->type == LT_TEXT || cd->type == LT_CHAR || cd->type == LT_BYTES)
				buf_addstr(&sql, cd->type == LT_TEXT ? "::pg_catalog.text"
				                 : cd->type == LT_CHAR ? "::pg_catalog.bpchar" : "::pg_catalog.bytea");
			else if (cd->native && pgc_has_order(cd))
				buf_addf(&sql, "::%s", cd->native);
		}
		buf_addf(&sql, ", %zu)", i + 1);
	}
	buf_addstr(&sql, ") AS tally_b(");
	for (size_t k = 0; k < nb; k++)
		buf_addf(&sql, "tally_k%zu, ", k);
	buf_addstr(&sql, "tally_i) WHERE tally_i IS NOT NULL");

	if (pgc_savepoint(s, doing.data, err) < 0)
		goto out;
	res = pgc_exec(s, sql.data);
	if (!pgc_rows_ok(res) || PQnfields(res) != 2 || (size_t)PQntuples(res) != n) {
		pgc_stmt_err(s, res, false, doing.data, err, "cannot rank chunk bounds of %s on %s system '%s'",
		             d->display, s->base.side, s->base.system);
		pgc_undo(s, doing.data, err);
		goto out;
	}
	for (int r = 0; r < PQntuples(res); r++) {
		long i, k;

		if (!pgc_parse_long(PQgetvalue(res, r, 0), &i) || !pgc_parse_long(PQgetvalue(res, r, 1), &k) ||
		    i < 1 || (size_t)i > n || k < 1) {
			err_set(err, ERR_INTERNAL, "unexpected rank of a chunk bound from %s system '%s'",
			        s->base.side, s->base.system);
			pgc_undo(s, doing.data, err);
			goto out;
		}
		rank[i - 1] = (uint32_t)k;
	}
	rc = pgc_release_savepoint(s, doing.data, err);
out:
	PQclear(res);
	buf_release(&sql);
	buf_release(&doing);
	return rc;
}
