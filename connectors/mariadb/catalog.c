/*
 * connectors/mariadb/catalog.c
 *   catalog -> schema expansion and tally init: the tables of a database,
 *   whether each has a primary key, else a unique index on NOT NULL
 *   columns. Reads information_schema only (TABLES, STATISTICS, COLUMNS).
 */
#include "my_int.h"

#include <stdlib.h>
#include <string.h>

static struct tabentry *find_entry(struct tablist *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->t[i].name, name) == 0)
			return &l->t[i];
	return NULL;
}

static int read_tables(struct mdb_conn *c, const char *db, bool include_views, struct tablist *l,
                       struct tally_err *err)
{
	struct buf sql = BUF_INIT;
	MYSQL_RES *r;
	MYSQL_ROW row;
	size_t cap = 0;

	buf_addstr(&sql, "SELECT t.TABLE_NAME, t.TABLE_TYPE = 'VIEW', EXISTS (SELECT 1 FROM "
	           "information_schema.STATISTICS s WHERE s.TABLE_SCHEMA = t.TABLE_SCHEMA AND "
	           "s.TABLE_NAME = t.TABLE_NAME AND s.INDEX_NAME = 'PRIMARY') "
	           "FROM information_schema.TABLES t WHERE ");
	mdb_add_name_match(&sql, "t.TABLE_SCHEMA", db);
	buf_addstr(&sql, include_views ? " AND t.TABLE_TYPE IN ('BASE TABLE', 'VIEW')"
	                               : " AND t.TABLE_TYPE = 'BASE TABLE'");
	buf_addstr(&sql, " ORDER BY BINARY t.TABLE_NAME");
	if (mdb_catalog(c, &sql, &r, "listing tables of", db, err) < 0) {
		buf_release(&sql);
		return -1;
	}
	while ((row = mysql_fetch_row(r))) {
		struct tabentry *e;

		if (!row[0])
			continue;
		l->t = xgrow(l->t, &cap, l->n + 1, sizeof(*l->t));
		e = &l->t[l->n++];
		memset(e, 0, sizeof(*e));
		e->name = xstrdup(row[0]);
		e->is_view = row[1] && strcmp(row[1], "1") == 0;
		e->has_pk = row[2] && strcmp(row[2], "1") == 0;
	}
	mysql_free_result(r);
	buf_release(&sql);
	return 0;
}

/* The first unique index (by name) on NOT NULL columns of each table without a primary key. */
static int read_ukeys(struct mdb_conn *c, const char *db, struct tablist *l, struct tally_err *err)
{
	struct buf sql = BUF_INIT;
	MYSQL_RES *r;
	MYSQL_ROW row;
	char *taken_index = NULL;
	const char *taken_table = NULL;

	buf_addstr(&sql, "SELECT s.TABLE_NAME, s.INDEX_NAME, s.COLUMN_NAME FROM information_schema.STATISTICS s "
	           "WHERE s.NON_UNIQUE = 0 AND s.INDEX_NAME <> 'PRIMARY' AND s.SUB_PART IS NULL AND ");
	mdb_add_name_match(&sql, "s.TABLE_SCHEMA", db);
	buf_addstr(&sql, " AND NOT EXISTS (SELECT 1 FROM information_schema.STATISTICS s2 "
	           "JOIN information_schema.COLUMNS k ON k.TABLE_SCHEMA = s2.TABLE_SCHEMA AND "
	           "k.TABLE_NAME = s2.TABLE_NAME AND k.COLUMN_NAME = s2.COLUMN_NAME "
	           "WHERE s2.TABLE_SCHEMA = s.TABLE_SCHEMA AND s2.TABLE_NAME = s.TABLE_NAME AND "
	           "s2.INDEX_NAME = s.INDEX_NAME AND (k.IS_NULLABLE = 'YES' OR s2.SUB_PART IS NOT NULL))"
	           " ORDER BY BINARY s.TABLE_NAME, BINARY s.INDEX_NAME, s.SEQ_IN_INDEX");
	if (mdb_catalog(c, &sql, &r, "listing unique indexes of", db, err) < 0) {
		buf_release(&sql);
		return -1;
	}
	while ((row = mysql_fetch_row(r))) {
		struct tabentry *e = row[0] && row[1] && row[2] ? find_entry(l, row[0]) : NULL;

		if (!e || e->has_pk)
			continue;
		if (e->nukey && !(taken_table == e->name && strcmp(taken_index, row[1]) == 0))
			continue;
		if (!e->nukey) {
			taken_table = e->name;
			free(taken_index);
			taken_index = xstrdup(row[1]);
		}
		e->ukey = xrealloc(e->ukey, (e->nukey + 1) * sizeof(*e->ukey));
		e->ukey[e->nukey++] = xstrdup(row[2]);
	}
	free(taken_index);
	mysql_free_result(r);
	buf_release(&sql);
	return 0;
}

static int db_exists(struct mdb_conn *c, const char *db, struct tally_err *err)
{
	struct buf sql = BUF_INIT;
	MYSQL_RES *r;
	bool found;

	buf_addstr(&sql, "SELECT 1 FROM information_schema.SCHEMATA WHERE ");
	mdb_add_name_match(&sql, "SCHEMA_NAME", db);
	if (mdb_catalog(c, &sql, &r, "listing tables of", db, err) < 0) {
		buf_release(&sql);
		return -1;
	}
	found = mysql_fetch_row(r) != NULL;
	mysql_free_result(r);
	buf_release(&sql);
	if (!found)
		return err_set(err, ERR_SCHEMA, "database '%s' does not exist in %s system '%s'", db,
		               c->base.side, c->base.system);
	return 0;
}

int mdb_list_tables(struct conn *base, const char *schema, bool include_views, struct tablist *out,
                    struct tally_err *err)
{
	struct mdb_conn *c = mdb(base);
	struct tablist l = { 0 };

	memset(out, 0, sizeof(*out));
	if (mdb_usable(c, err) < 0 || db_exists(c, schema, err) < 0)
		return -1;
	if (read_tables(c, schema, include_views, &l, err) < 0 || read_ukeys(c, schema, &l, err) < 0) {
		tablist_release(&l);
		return -1;
	}
	*out = l;
	return 0;
}
