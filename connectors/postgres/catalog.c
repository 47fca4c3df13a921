/*
 * connectors/postgres/catalog.c
 *   catalog -> schema expansion and tally init: the tables of a schema,
 *   whether each has a primary key, else a unique index on NOT NULL
 *   columns. Reads pg_catalog only.
 *
 * A partition (relispartition) and an inheritance child (in pg_inherits)
 * are not tables of their own: their parent's scan already reads their
 * rows. Partitioned parents (relkind 'p') are listed.
 */
#include "pg_int.h"

#include <stdlib.h>
#include <string.h>

static const char tables_sql[] =
	"SELECT c.relname, c.relkind IN ('v', 'm'),"
	"       EXISTS (SELECT 1 FROM pg_catalog.pg_index i WHERE i.indrelid = c.oid AND i.indisprimary)"
	" FROM pg_catalog.pg_class c"
	" JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
	" WHERE n.nspname = $1"
	"   AND (c.relkind IN ('r', 'p') OR ($2 AND c.relkind IN ('v', 'm')))"
	"   AND NOT c.relispartition"
	"   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_inherits h WHERE h.inhrelid = c.oid)"
	" ORDER BY c.relname COLLATE \"C\"";

/* Unique, valid, non-partial, plain-column indexes whose columns are all NOT NULL. */
static const char ukeys_sql[] =
	"SELECT c.relname, x.indexrelid::pg_catalog.regclass::text, a.attname"
	" FROM pg_catalog.pg_class c"
	" JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
	" JOIN pg_catalog.pg_index x ON x.indrelid = c.oid AND x.indisunique AND NOT x.indisprimary"
	"      AND x.indisvalid AND x.indpred IS NULL AND x.indexprs IS NULL"
	" CROSS JOIN LATERAL pg_catalog.unnest(x.indkey::pg_catalog.int2[]) WITH ORDINALITY AS k(attnum, ord)"
	" JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum"
	" WHERE n.nspname = $1 AND k.ord <= x.indnkeyatts"
	"   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute b WHERE b.attrelid = c.oid"
	"                   AND b.attnum = ANY (x.indkey::pg_catalog.int2[]) AND NOT b.attnotnull)"
	" ORDER BY c.relname COLLATE \"C\", x.indexrelid::pg_catalog.regclass::text COLLATE \"C\", k.ord";

static struct tabentry *find_entry(struct tablist *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->t[i].name, name) == 0)
			return &l->t[i];
	return NULL;
}

/* The first qualifying unique index of each table without a primary key. */
static int pgc_read_ukeys(struct pgsess *s, const char *schema, struct tablist *l, struct tally_err *err)
{
	const char *params[1] = { schema };
	PGresult *res = pgc_query(s, ukeys_sql, 1, params);
	const char *taken_table = NULL;
	char *taken_index = NULL;

	if (!pgc_rows_ok(res)) {
		pgc_stmt_err(s, res, true, "listing tables", err, "cannot read the unique indexes of schema '%s' "
		             "from %s system '%s'", schema, s->base.side, s->base.system);
		PQclear(res);
		return -1;
	}
	for (int r = 0; r < PQntuples(res); r++) {
		struct tabentry *e = find_entry(l, PQgetvalue(res, r, 0));
		const char *index = PQgetvalue(res, r, 1);

		if (!e || e->has_pk)
			continue;
		if (e->nukey && !(taken_table && strcmp(taken_table, e->name) == 0 && strcmp(taken_index, index) == 0))
			continue;   /* a later index of a table that has one */
		if (!e->nukey) {
			taken_table = e->name;
			free(taken_index);
			taken_index = xstrdup(index);
		}
		e->ukey = xrealloc(e->ukey, (e->nukey + 1) * sizeof(*e->ukey));
		e->ukey[e->nukey++] = xstrdup(PQgetvalue(res, r, 2));
	}
	free(taken_index);
	PQclear(res);
	return 0;
}

static int pgc_schema_exists(struct pgsess *s, const char *schema, struct tally_err *err)
{
	static const char sql[] = "SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1";
	const char *params[1] = { schema };
	PGresult *res = pgc_query(s, sql, 1, params);
	int rc = 0;

	if (!pgc_rows_ok(res))
		rc = pgc_stmt_err(s, res, true, "listing tables", err, "cannot look up schema '%s' in %s system '%s'",
		                  schema, s->base.side, s->base.system);
	else if (PQntuples(res) == 0)
		rc = err_set(err, ERR_SCHEMA, "schema '%s' does not exist in %s system '%s'", schema,
		             s->base.side, s->base.system);
	PQclear(res);
	return rc;
}

int pgc_list_tables(struct conn *c, const char *schema, bool include_views, struct tablist *out,
                    struct tally_err *err)
{
	struct pgsess *s = (struct pgsess *)c;
	const char *params[2] = { schema, include_views ? "t" : "f" };
	struct tablist l = { 0 };
	PGresult *res;

	memset(out, 0, sizeof(*out));
	if (s->base.failed)
		return pgc_sticky(s, err);
	if (pgc_schema_exists(s, schema, err) < 0)
		return -1;
	res = pgc_query(s, tables_sql, 2, params);
	if (!pgc_rows_ok(res)) {
		pgc_stmt_err(s, res, true, "listing tables", err, "cannot list the tables of schema '%s' in %s "
		             "system '%s'", schema, s->base.side, s->base.system);
		PQclear(res);
		return -1;
	}
	l.n = (size_t)PQntuples(res);
	l.t = xcalloc(l.n + 1, sizeof(*l.t));
	for (size_t r = 0; r < l.n; r++) {
		l.t[r].name = xstrdup(PQgetvalue(res, (int)r, 0));
		l.t[r].is_view = PQgetvalue(res, (int)r, 1)[0] == 't';
		l.t[r].has_pk = PQgetvalue(res, (int)r, 2)[0] == 't';
	}
	PQclear(res);
	if (pgc_read_ukeys(s, schema, &l, err) < 0) {
		tablist_release(&l);
		return -1;
	}
	*out = l;
	return 0;
}
