/*
 * connectors/mariadb/describe.c
 *   SOURCE -> canon: what a MariaDB table or query holds, as a tabdesc.
 *   A table is described from information_schema (COLUMNS, the primary
 *   key in STATISTICS, json_valid checks in CHECK_CONSTRAINTS, foreign
 *   keys both ways, triggers), a query from its result metadata; both
 *   give the same ltypes. Runs catalog queries on the session's snapshot.
 *
 * Names from the spec reach the catalog queries as hex literals
 * (mdb_add_name_match), compared exactly; a missing table gets a
 * suggestion of the closest name that exists.
 */
#include "my_int.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MDB_BINARY_CHARSET 63

static int clamp_int(long v)
{
	return v < 0 ? 0 : v > INT_MAX ? INT_MAX : (int)v;
}

/*
 * Labels of enum('a','it''s') or set(...): the body between the parentheses,
 * each label single-quoted with '' and backslash escapes, as information_schema
 * prints them.
 */
static void parse_labels(struct coldesc *cd, const char *column_type)
{
	const char *p = strchr(column_type, '(');
	struct buf lab = BUF_INIT;
	size_t cap = 0;

	if (!p)
		return;
	p++;
	while (*p == '\'') {
		buf_reset(&lab);
		for (p++; *p; p++) {
			if (*p == '\'' && p[1] == '\'') {
				buf_addch(&lab, '\'');
				p++;
			} else if (*p == '\'') {
				break;
			} else if (*p == '\\' && p[1]) {
				p++;
				switch (*p) {
				case '0': buf_addch(&lab, '\0'); break;
				case 'n': buf_addch(&lab, '\n'); break;
				case 'r': buf_addch(&lab, '\r'); break;
				case 't': buf_addch(&lab, '\t'); break;
				case 'b': buf_addch(&lab, '\b'); break;
				case 'Z': buf_addch(&lab, '\032'); break;
				default: buf_addch(&lab, *p); break;
				}
			} else {
				buf_addch(&lab, *p);
			}
		}
		if (*p != '\'')
			break;
		cd->labels = xgrow(cd->labels, &cap, cd->nlabels + 1, sizeof(*cd->labels));
		cd->labels[cd->nlabels++] = xstrndup(lab.data, lab.len);
		p++;
		if (*p != ',')
			break;
		p++;
	}
	buf_release(&lab);
}

struct mdb_typemap {
	const char *name;
	enum ltype type;
	int bits;
	bool sized;     /* CHARACTER_MAXIMUM_LENGTH is its length */
	bool fixed;
};

static const struct mdb_typemap mdb_types[] = {
	{ "tinyint", LT_INT, 8, false, false },
	{ "smallint", LT_INT, 16, false, false },
	{ "mediumint", LT_INT, 24, false, false },
	{ "int", LT_INT, 32, false, false },
	{ "integer", LT_INT, 32, false, false },
	{ "bigint", LT_INT, 64, false, false },
	{ "decimal", LT_DECIMAL, 0, false, false },
	{ "numeric", LT_DECIMAL, 0, false, false },
	{ "float", LT_FLOAT, 32, false, false },
	{ "double", LT_FLOAT, 64, false, false },
	{ "double precision", LT_FLOAT, 64, false, false },
	{ "real", LT_FLOAT, 64, false, false },
	{ "char", LT_CHAR, 0, true, true },
	{ "varchar", LT_TEXT, 0, true, false },
	{ "tinytext", LT_TEXT, 0, true, false },
	{ "text", LT_TEXT, 0, true, false },
	{ "mediumtext", LT_TEXT, 0, true, false },
	{ "longtext", LT_TEXT, 0, true, false },
	{ "binary", LT_BYTES, 0, true, true },
	{ "varbinary", LT_BYTES, 0, true, false },
	{ "tinyblob", LT_BYTES, 0, true, false },
	{ "blob", LT_BYTES, 0, true, false },
	{ "mediumblob", LT_BYTES, 0, true, false },
	{ "longblob", LT_BYTES, 0, true, false },
	{ "date", LT_DATE, 0, false, false },
	{ "time", LT_TIME, 0, false, false },
	{ "datetime", LT_TIMESTAMP, 0, false, false },
	{ "timestamp", LT_TIMESTAMPTZ, 0, false, false },
	{ "year", LT_YEAR, 0, false, false },
	{ "enum", LT_ENUM, 0, false, false },
	{ "set", LT_SET, 0, false, false },
	{ "bit", LT_BIT, 0, false, false },
	{ "uuid", LT_UUID, 0, false, false },
	{ "inet4", LT_INET, 0, false, false },
	{ "inet6", LT_INET, 0, false, false },
	{ "json", LT_JSON, 0, false, false },
};

/* EXTRA says the server computes the column ("VIRTUAL GENERATED", "PERSISTENT"...). */
static bool extra_generated(const char *extra)
{
	return extra && (strstr(extra, "VIRTUAL") || strstr(extra, "STORED GENERATED") ||
	                 strstr(extra, "PERSISTENT"));
}

/* Column of information_schema.COLUMNS, in the order the query selects them. */
enum {
	IC_NAME, IC_DATA_TYPE, IC_COLUMN_TYPE, IC_NULLABLE, IC_PRECISION, IC_SCALE,
	IC_DT_PRECISION, IC_MAXLEN, IC_CHARSET, IC_COLLATION, IC_EXTRA, IC_DEFAULT, IC_COUNT
};

static void coldesc_from_catalog(struct coldesc *cd, MYSQL_ROW r)
{
	const char *dt = r[IC_DATA_TYPE] ? r[IC_DATA_TYPE] : "";
	const char *ct = r[IC_COLUMN_TYPE] ? r[IC_COLUMN_TYPE] : dt;
	const struct mdb_typemap *m = NULL;

	memset(cd, 0, sizeof(*cd));
	cd->name = xstrdup(r[IC_NAME] ? r[IC_NAME] : "");
	cd->native = xstrdup(ct);
	cd->type = LT_OTHER;
	for (size_t i = 0; i < sizeof(mdb_types) / sizeof(mdb_types[0]); i++)
		if (strcmp(dt, mdb_types[i].name) == 0)
			m = &mdb_types[i];
	if (m) {
		cd->type = m->type;
		cd->bits = m->bits;
		cd->fixed = m->fixed;
		if (m->sized)
			cd->length = mdb_num_or(r[IC_MAXLEN], -1);
	}
	cd->nullable = r[IC_NULLABLE] && strcmp(r[IC_NULLABLE], "YES") == 0;
	cd->generated = extra_generated(r[IC_EXTRA]);
	/*
	 * COLUMN_DEFAULT is the text "NULL" for a nullable column without a
	 * DEFAULT and SQL NULL for none at all; a TIMESTAMP's implicit
	 * CURRENT_TIMESTAMP shows there too. MariaDB has no identity columns.
	 */
	cd->has_default = r[IC_DEFAULT] != NULL || cd->nullable ||
	                  (r[IC_EXTRA] && strstr(r[IC_EXTRA], "auto_increment"));
	switch (cd->type) {
	case LT_INT:
		cd->bool_hint = strcmp(ct, "tinyint(1)") == 0 || strcmp(ct, "tinyint(1) unsigned") == 0;
		/* fall through */
	case LT_DECIMAL:
	case LT_FLOAT:
		cd->is_unsigned = strstr(ct, " unsigned") != NULL;
		if (cd->type == LT_DECIMAL) {
			cd->precision = clamp_int(mdb_num_or(r[IC_PRECISION], -1));
			cd->scale = clamp_int(mdb_num_or(r[IC_SCALE], -1));
		}
		break;
	case LT_TIME:
	case LT_TIMESTAMP:
	case LT_TIMESTAMPTZ:
		cd->fsp = clamp_int(mdb_num_or(r[IC_DT_PRECISION], 0));
		break;
	case LT_BIT:
		cd->bits = clamp_int(mdb_num_or(r[IC_PRECISION], 1));
		cd->raw_bits = true;    /* scan.c yields a BIT's bytes as they are */
		break;
	case LT_ENUM:
	case LT_SET:
		parse_labels(cd, ct);
		break;
	default:
		break;
	}
	if (r[IC_CHARSET])
		cd->charset = xstrdup(r[IC_CHARSET]);
	if (r[IC_COLLATION])
		cd->collation = xstrdup(r[IC_COLLATION]);
}

/* Levenshtein distance of two short strings, ASCII case folded; SIZE_MAX when too long. */
static size_t name_distance(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b), prev[257], cur[257];

	if (na > 256 || nb > 256)
		return SIZE_MAX;
	for (size_t j = 0; j <= nb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= na; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= nb; j++) {
			size_t sub = prev[j - 1] +
			             (tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]));
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;

			cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
		memcpy(prev, cur, (nb + 1) * sizeof(size_t));
	}
	return prev[nb];
}

/*
 * The table is missing: suggest the closest existing name (same letters in
 * another case, or at most two edits) from databases named like db.
 */
static int missing_table(struct mdb_conn *c, const char *db, const char *display,
                         struct tally_err *err)
{
	struct buf sql = BUF_INIT, best = BUF_INIT;
	size_t best_dist = 3;
	MYSQL_RES *r;
	MYSQL_ROW row;

	buf_addstr(&sql, "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES "
	           "WHERE LOWER(TABLE_SCHEMA) = LOWER(");
	mdb_add_hexstr(&sql, db);
	buf_addstr(&sql, ") ORDER BY BINARY TABLE_SCHEMA, BINARY TABLE_NAME");
	if (mdb_catalog(c, &sql, &r, "describing", display, err) < 0) {
		buf_release(&sql);
		return -1;
	}
	while ((row = mysql_fetch_row(r))) {
		char *cand;
		size_t dist;

		if (!row[0] || !row[1])
			continue;
		cand = xasprintf("%s.%s", row[0], row[1]);
		dist = name_distance(cand, display);
		if (dist < best_dist && strcmp(cand, display) != 0) {
			best_dist = dist;
			buf_reset(&best);
			buf_addstr(&best, cand);
		}
		free(cand);
	}
	mysql_free_result(r);
	buf_release(&sql);

	err_set(err, ERR_SCHEMA, "table '%s' does not exist in %s system '%s'",
	        display, c->base.side, c->base.system);
	if (best.len)
		err_hint(err, "did you mean '%s'?", best.data);
	buf_release(&best);
	return -1;
}

/* Marks the longtext columns that a json_valid(`col`) check constrains as LT_JSON. */
static int mark_json(struct mdb_conn *c, const char *db, const char *name, struct tabdesc *t,
                     struct tally_err *err)
{
	struct buf sql = BUF_INIT, want = BUF_INIT;
	MYSQL_RES *r;
	MYSQL_ROW row;
	bool any = false;

	for (size_t i = 0; i < t->ncols; i++)
		if (strcmp(t->cols[i].native, "longtext") == 0)
			any = true;
	if (!any)
		return 0;
	buf_addstr(&sql, "SELECT CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS WHERE ");
	mdb_add_name_match(&sql, "CONSTRAINT_SCHEMA", db);
	buf_addstr(&sql, " AND ");
	mdb_add_name_match(&sql, "TABLE_NAME", name);
	if (mdb_catalog(c, &sql, &r, "describing", t->display, err) < 0) {
		buf_release(&sql);
		return -1;
	}
	while ((row = mysql_fetch_row(r))) {
		for (size_t i = 0; row[0] && i < t->ncols; i++) {
			struct coldesc *cd = &t->cols[i];

			if (cd->type != LT_TEXT || strcmp(cd->native, "longtext") != 0)
				continue;
			/* the server prints the clause in the session's quoting: `` or ANSI "" */
			for (const char *q = "`\""; *q; q++) {
				buf_reset(&want);
				buf_addf(&want, "json_valid(%c", *q);
				for (const char *p = cd->name; *p; p++) {
					if (*p == *q)
						buf_addch(&want, *q);
					buf_addch(&want, *p);
				}
				buf_addf(&want, "%c)", *q);
				if (strcmp(row[0], want.data) == 0)
					cd->type = LT_JSON;
			}
		}
	}
	mysql_free_result(r);
	buf_release(&sql);
	buf_release(&want);
	return 0;
}

static int read_pk(struct mdb_conn *c, const char *db, const char *name, struct tabdesc *t,
                   struct tally_err *err)
{
	struct buf sql = BUF_INIT;
	MYSQL_RES *r;
	MYSQL_ROW row;
	size_t cap = 0;

	buf_addstr(&sql, "SELECT COLUMN_NAME FROM information_schema.STATISTICS WHERE ");
	mdb_add_name_match(&sql, "TABLE_SCHEMA", db);
	buf_addstr(&sql, " AND ");
	mdb_add_name_match(&sql, "TABLE_NAME", name);
	buf_addstr(&sql, " AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX");
	if (mdb_catalog(c, &sql, &r, "describing", t->display, err) < 0) {
		buf_release(&sql);
		return -1;
	}
	while ((row = mysql_fetch_row(r))) {
		long i = row[0] ? tabdesc_find(t, row[0]) : -1;

		if (i < 0)
			continue;
		t->pk = xgrow(t->pk, &cap, t->npk + 1, sizeof(*t->pk));
		t->pk[t->npk++] = (size_t)i;
	}
	mysql_free_result(r);
	buf_release(&sql);
	return 0;
}

/* Column of the foreign key query, in the order it selects them. */
enum {
	FK_NAME, FK_SCHEMA, FK_TABLE, FK_COLUMN, FK_REF_SCHEMA, FK_REF_TABLE, FK_REF_COLUMN,
	FK_DELETE_RULE, FK_UPDATE_RULE, FK_COUNT
};

/* Starts the fkdesc of constraint row[FK_NAME]; `other` names the table at the other end. */
static void fk_start(struct fkdesc *f, MYSQL_ROW row, const char *other_db, const char *other)
{
	struct buf q = BUF_INIT;

	memset(f, 0, sizeof(*f));
	f->name = xstrdup(row[FK_NAME]);
	f->table = xasprintf("%s.%s", other_db, other);
	mdb_quote_ident(&q, other_db);
	buf_addch(&q, '.');
	mdb_quote_ident(&q, other);
	f->sqlname = buf_detach(&q, NULL);
	if (row[FK_DELETE_RULE] && row[FK_UPDATE_RULE]) {
		f->on_delete = xstrdup(row[FK_DELETE_RULE]);
		f->on_update = xstrdup(row[FK_UPDATE_RULE]);
	}
}

/* The referential action at p ("CASCADE", "SET NULL"...), or NULL. */
static const char *fk_action(const char *p)
{
	static const char *const actions[] = {
		"RESTRICT", "CASCADE", "SET NULL", "NO ACTION", "SET DEFAULT",
	};

	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (strncmp(p, actions[i], strlen(actions[i])) == 0)
			return actions[i];
	return NULL;
}

/*
 * Reads the ON DELETE and ON UPDATE actions of foreign key f, declared on
 * child_db.child, from SHOW CREATE TABLE: information_schema's
 * REFERENTIAL_CONSTRAINTS shows nothing to a user whose grant on the table
 * is a database-level or table-level SELECT, which SHOW CREATE TABLE
 * needs. The constraint's line is found by its quoted name (backticks, or
 * double quotes when the server's sql_mode has ANSI_QUOTES); words inside
 * quoted names are skipped. A missing clause is RESTRICT, as
 * information_schema reports it.
 */
static int fk_rules_from_ddl(struct mdb_conn *c, const char *child_db, const char *child,
                             struct fkdesc *f, const char *what, struct tally_err *err)
{
	struct buf sql = BUF_INIT, want = BUF_INIT;
	const char *del = "RESTRICT", *upd = "RESTRICT", *line = NULL;
	MYSQL_RES *r;
	MYSQL_ROW row;

	buf_addstr(&sql, "SHOW CREATE TABLE ");
	mdb_quote_ident(&sql, child_db);
	buf_addch(&sql, '.');
	mdb_quote_ident(&sql, child);
	if (mdb_catalog(c, &sql, &r, "describing", what, err) < 0) {
		buf_release(&sql);
		return -1;
	}
	row = mysql_fetch_row(r);
	for (const char *q = "`\""; row && mysql_num_fields(r) >= 2 && row[1] && !line && *q; q++) {
		buf_reset(&want);
		buf_addf(&want, "\n  CONSTRAINT %c", *q);
		for (const char *p = f->name; *p; p++) {
			if (*p == *q)
				buf_addch(&want, *q);
			buf_addch(&want, *p);
		}
		buf_addf(&want, "%c FOREIGN KEY ", *q);
		line = strstr(row[1], want.data);
		if (line) {
			char quote = *q;

			for (const char *p = line + want.len; *p && *p != '\n'; p++) {
				if (*p == quote) {       /* skip a quoted name, doubled quotes included */
					for (p++; *p && *p != '\n' && !(*p == quote && p[1] != quote); p++)
						if (*p == quote)
							p++;
					if (*p != quote)
						break;
					continue;
				}
				if (strncmp(p, " ON DELETE ", 11) == 0 && fk_action(p + 11))
					del = fk_action(p + 11);
				else if (strncmp(p, " ON UPDATE ", 11) == 0 && fk_action(p + 11))
					upd = fk_action(p + 11);
			}
		}
	}
	mysql_free_result(r);
	buf_release(&sql);
	buf_release(&want);
	f->on_delete = xstrdup(del);
	f->on_update = xstrdup(upd);
	return 0;
}

/*
 * The table's foreign keys (children false: t->parents, the table is the
 * child) or those that reference it (children true: t->children, a
 * self-reference included): one fkdesc per constraint, its columns in
 * ORDINAL_POSITION order. The rows of one key share (schema, table, name).
 * KEY_COLUMN_USAGE lists them to any user who can read the child table.
 */
static int read_fks(struct mdb_conn *c, const char *db, const char *name, struct tabdesc *t,
                    bool children, struct tally_err *err)
{
	struct buf sql = BUF_INIT, group = BUF_INIT, key = BUF_INIT;
	struct fkdesc **list = children ? &t->children : &t->parents;
	size_t *n = children ? &t->nchildren : &t->nparents;
	size_t cap = 0;
	MYSQL_RES *r;
	MYSQL_ROW row;
	int rc = 0;

	buf_addstr(&sql, "SELECT k.CONSTRAINT_NAME, k.TABLE_SCHEMA, k.TABLE_NAME, k.COLUMN_NAME, "
	           "k.REFERENCED_TABLE_SCHEMA, k.REFERENCED_TABLE_NAME, k.REFERENCED_COLUMN_NAME, "
	           "r.DELETE_RULE, r.UPDATE_RULE "
	           "FROM information_schema.KEY_COLUMN_USAGE k "
	           "LEFT JOIN information_schema.REFERENTIAL_CONSTRAINTS r "
	           "ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA "
	           "AND BINARY r.CONSTRAINT_SCHEMA = BINARY k.CONSTRAINT_SCHEMA "
	           "AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME "
	           "AND BINARY r.CONSTRAINT_NAME = BINARY k.CONSTRAINT_NAME "
	           "AND r.TABLE_NAME = k.TABLE_NAME AND BINARY r.TABLE_NAME = BINARY k.TABLE_NAME ");
	if (!children) {
		/* constants let the server read this one table's constraints only */
		buf_addstr(&sql, "AND ");
		mdb_add_name_match(&sql, "r.CONSTRAINT_SCHEMA", db);
		buf_addstr(&sql, " AND ");
		mdb_add_name_match(&sql, "r.TABLE_NAME", name);
	}
	/* children: every table is read, as no catalog index leads from a parent to them */
	buf_addstr(&sql, " WHERE k.REFERENCED_TABLE_NAME IS NOT NULL AND ");
	if (children) {
		mdb_add_name_match(&sql, "k.REFERENCED_TABLE_SCHEMA", db);
		buf_addstr(&sql, " AND ");
		mdb_add_name_match(&sql, "k.REFERENCED_TABLE_NAME", name);
	} else {
		mdb_add_name_match(&sql, "k.TABLE_SCHEMA", db);
		buf_addstr(&sql, " AND ");
		mdb_add_name_match(&sql, "k.TABLE_NAME", name);
	}
	buf_addstr(&sql, " ORDER BY BINARY k.TABLE_SCHEMA, BINARY k.TABLE_NAME, "
	           "BINARY k.CONSTRAINT_NAME, k.ORDINAL_POSITION");
	if (mdb_catalog(c, &sql, &r, "describing", t->display, err) < 0) {
		buf_release(&sql);
		return -1;
	}
	while (rc == 0 && (row = mysql_fetch_row(r))) {
		struct fkdesc *f;
		bool complete = true;

		for (int i = 0; i < FK_DELETE_RULE; i++)
			complete &= row[i] != NULL;
		if (!complete)
			continue;
		buf_reset(&key);
		buf_add(&key, row[FK_SCHEMA], strlen(row[FK_SCHEMA]) + 1);
		buf_add(&key, row[FK_TABLE], strlen(row[FK_TABLE]) + 1);
		buf_add(&key, row[FK_NAME], strlen(row[FK_NAME]) + 1);
		if (*n == 0 || key.len != group.len || memcmp(key.data, group.data, key.len) != 0) {
			*list = xgrow(*list, &cap, *n + 1, sizeof(**list));
			f = &(*list)[(*n)++];
			if (children)
				fk_start(f, row, row[FK_SCHEMA], row[FK_TABLE]);
			else
				fk_start(f, row, row[FK_REF_SCHEMA], row[FK_REF_TABLE]);
			/* the stored result stays valid while another statement runs */
			if (!f->on_delete)
				rc = fk_rules_from_ddl(c, row[FK_SCHEMA], row[FK_TABLE], f, t->display, err);
			buf_reset(&group);
			buf_add(&group, key.data, key.len);
		}
		f = &(*list)[*n - 1];
		/* a key has a handful of columns */
		f->cols = xrealloc(f->cols, (f->ncols + 1) * sizeof(*f->cols));
		f->refcols = xrealloc(f->refcols, (f->ncols + 1) * sizeof(*f->refcols));
		f->cols[f->ncols] = xstrdup(row[FK_COLUMN]);
		f->refcols[f->ncols] = xstrdup(row[FK_REF_COLUMN]);
		f->ncols++;
	}
	mysql_free_result(r);
	buf_release(&sql);
	buf_release(&group);
	buf_release(&key);
	return rc;
}

/*
 * The table's triggers, by name; MariaDB has one event per trigger and no
 * disabled state. information_schema shows a trigger only to a user with
 * the TRIGGER privilege on its table: for tally's SELECT-only user the list
 * is empty.
 */
static int read_triggers(struct mdb_conn *c, const char *db, const char *name,
                         struct tabdesc *t, struct tally_err *err)
{
	struct buf sql = BUF_INIT;
	size_t cap = 0;
	MYSQL_RES *r;
	MYSQL_ROW row;

	buf_addstr(&sql, "SELECT TRIGGER_NAME, ACTION_TIMING, EVENT_MANIPULATION "
	           "FROM information_schema.TRIGGERS WHERE ");
	mdb_add_name_match(&sql, "EVENT_OBJECT_SCHEMA", db);
	buf_addstr(&sql, " AND ");
	mdb_add_name_match(&sql, "EVENT_OBJECT_TABLE", name);
	buf_addstr(&sql, " ORDER BY BINARY TRIGGER_NAME");
	if (mdb_catalog(c, &sql, &r, "describing", t->display, err) < 0) {
		buf_release(&sql);
		return -1;
	}
	while ((row = mysql_fetch_row(r))) {
		struct trigdesc *g;

		if (!row[0] || !row[1] || !row[2])
			continue;
		t->triggers = xgrow(t->triggers, &cap, t->ntriggers + 1, sizeof(*t->triggers));
		g = &t->triggers[t->ntriggers++];
		g->name = xstrdup(row[0]);
		g->timing = xstrdup(row[1]);
		g->events = xstrdup(row[2]);
		g->enabled = true;
	}
	mysql_free_result(r);
	/*
	 * None seen: say whether that means none. information_schema lists, for
	 * the current user, the privileges that would show them.
	 */
	if (t->ntriggers == 0) {
		buf_reset(&sql);
		buf_addstr(&sql, "SELECT (SELECT COUNT(*) FROM information_schema.USER_PRIVILEGES g "
		           "WHERE g.PRIVILEGE_TYPE = 'TRIGGER' AND g.GRANTEE = tally_me.me) + "
		           "(SELECT COUNT(*) FROM information_schema.SCHEMA_PRIVILEGES g "
		           "WHERE g.PRIVILEGE_TYPE = 'TRIGGER' AND g.GRANTEE = tally_me.me AND ");
		mdb_add_name_match(&sql, "g.TABLE_SCHEMA", db);
		buf_addstr(&sql, ") + (SELECT COUNT(*) FROM information_schema.TABLE_PRIVILEGES g "
		           "WHERE g.PRIVILEGE_TYPE = 'TRIGGER' AND g.GRANTEE = tally_me.me AND ");
		mdb_add_name_match(&sql, "g.TABLE_SCHEMA", db);
		buf_addstr(&sql, " AND ");
		mdb_add_name_match(&sql, "g.TABLE_NAME", name);
		buf_addstr(&sql, ") FROM (SELECT CONCAT('''', SUBSTRING_INDEX(CURRENT_USER(), '@', 1), "
		           "'''@''', SUBSTRING_INDEX(CURRENT_USER(), '@', -1), '''') AS me) tally_me");
		if (mdb_catalog(c, &sql, &r, "describing", t->display, err) < 0) {
			buf_release(&sql);
			return -1;
		}
		row = mysql_fetch_row(r);
		t->triggers_unknown = !row || !row[0] || strcmp(row[0], "0") == 0;
		mysql_free_result(r);
	}
	buf_release(&sql);
	return 0;
}

int mdb_describe_table(struct conn *base, const char *table, struct tabdesc *out,
                       struct tally_err *err)
{
	struct mdb_conn *c = mdb(base);
	struct tabdesc t = { 0 };
	struct buf sql = BUF_INIT;
	const char *dot = strchr(table, '.');
	char *db, *name;
	MYSQL_RES *r;
	MYSQL_ROW row;
	size_t cap = 0;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (mdb_usable(c, err) < 0)
		return -1;
	db = dot ? xstrndup(table, (size_t)(dot - table)) : xstrdup(c->db);
	name = xstrdup(dot ? dot + 1 : table);
	t.display = xasprintf("%s.%s", db, name);
	{
		struct buf q = BUF_INIT;

		mdb_quote_ident(&q, db);
		buf_addch(&q, '.');
		mdb_quote_ident(&q, name);
		t.sqlname = buf_detach(&q, NULL);
	}

	buf_addstr(&sql, "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, "
	           "NUMERIC_PRECISION, NUMERIC_SCALE, DATETIME_PRECISION, "
	           "CHARACTER_MAXIMUM_LENGTH, CHARACTER_SET_NAME, COLLATION_NAME, EXTRA, "
	           "COLUMN_DEFAULT FROM information_schema.COLUMNS WHERE ");
	mdb_add_name_match(&sql, "TABLE_SCHEMA", db);
	buf_addstr(&sql, " AND ");
	mdb_add_name_match(&sql, "TABLE_NAME", name);
	buf_addstr(&sql, " ORDER BY ORDINAL_POSITION");
	if (mdb_catalog(c, &sql, &r, "describing", t.display, err) < 0)
		goto out;
	if (mysql_num_fields(r) != IC_COUNT) {
		mysql_free_result(r);
		err_set(err, ERR_INTERNAL, "unexpected information_schema.COLUMNS layout on %s "
		        "system '%s'", c->base.side, c->base.system);
		goto out;
	}
	while ((row = mysql_fetch_row(r))) {
		t.cols = xgrow(t.cols, &cap, t.ncols + 1, sizeof(*t.cols));
		coldesc_from_catalog(&t.cols[t.ncols++], row);
	}
	mysql_free_result(r);
	if (t.ncols == 0) {
		missing_table(c, db, t.display, err);
		goto out;
	}
	if (mark_json(c, db, name, &t, err) < 0 || read_pk(c, db, name, &t, err) < 0 ||
	    read_fks(c, db, name, &t, false, err) < 0 || read_fks(c, db, name, &t, true, err) < 0 ||
	    read_triggers(c, db, name, &t, err) < 0)
		goto out;
	*out = t;
	memset(&t, 0, sizeof(t));
	rc = 0;
out:
	tabdesc_release(&t);
	buf_release(&sql);
	free(db);
	free(name);
	return rc;
}

static const char *field_type_name(enum enum_field_types t)
{
	switch (t) {
	case MYSQL_TYPE_TINY: return "tinyint";
	case MYSQL_TYPE_SHORT: return "smallint";
	case MYSQL_TYPE_INT24: return "mediumint";
	case MYSQL_TYPE_LONG: return "int";
	case MYSQL_TYPE_LONGLONG: return "bigint";
	case MYSQL_TYPE_DECIMAL:
	case MYSQL_TYPE_NEWDECIMAL: return "decimal";
	case MYSQL_TYPE_FLOAT: return "float";
	case MYSQL_TYPE_DOUBLE: return "double";
	case MYSQL_TYPE_DATE:
	case MYSQL_TYPE_NEWDATE: return "date";
	case MYSQL_TYPE_TIME: return "time";
	case MYSQL_TYPE_DATETIME: return "datetime";
	case MYSQL_TYPE_TIMESTAMP: return "timestamp";
	case MYSQL_TYPE_YEAR: return "year";
	case MYSQL_TYPE_BIT: return "bit";
	case MYSQL_TYPE_JSON: return "json";
	case MYSQL_TYPE_GEOMETRY: return "geometry";
	case MYSQL_TYPE_VARCHAR:
	case MYSQL_TYPE_VAR_STRING: return "varchar";
	case MYSQL_TYPE_STRING: return "char";
	case MYSQL_TYPE_TINY_BLOB:
	case MYSQL_TYPE_MEDIUM_BLOB:
	case MYSQL_TYPE_LONG_BLOB:
	case MYSQL_TYPE_BLOB: return "text";
	case MYSQL_TYPE_ENUM: return "enum";
	case MYSQL_TYPE_SET: return "set";
	case MYSQL_TYPE_NULL: return "null";
	default: return "unknown";
	}
}

/* Copies a length-counted attribute, or NULL when absent. */
static bool field_attr(const MYSQL_FIELD *f, enum mariadb_field_attr_t a, char *out, size_t n)
{
	MARIADB_CONST_STRING s = { NULL, 0 };

	out[0] = '\0';
	if (mariadb_field_attr(&s, f, a) != 0 || !s.str || s.length == 0 || s.length >= n)
		return false;
	memcpy(out, s.str, s.length);
	out[s.length] = '\0';
	return true;
}

/*
 * The string types of a result, told apart by the type's name (uuid,
 * inet4, inet6), flags (enum, set), format (json) and character set
 * (binary); native holds the type's name and gets its length.
 */
static void coldesc_from_string_field(struct coldesc *cd, const MYSQL_FIELD *f, const char *tname,
                                      const char *fmt, bool binary, long chars,
                                      struct buf *native)
{
	if (strcmp(tname, "uuid") == 0) {
		cd->type = LT_UUID;
	} else if (strcmp(tname, "inet4") == 0 || strcmp(tname, "inet6") == 0) {
		cd->type = LT_INET;
	} else if ((f->flags & ENUM_FLAG) || f->type == MYSQL_TYPE_ENUM) {
		cd->type = LT_ENUM;
		buf_reset(native);
		buf_addstr(native, "enum");
	} else if ((f->flags & SET_FLAG) || f->type == MYSQL_TYPE_SET) {
		cd->type = LT_SET;
		buf_reset(native);
		buf_addstr(native, "set");
	} else if (strcmp(fmt, "json") == 0) {
		cd->type = LT_JSON;
		buf_reset(native);
		buf_addstr(native, "json");
	} else if (binary) {
		cd->type = LT_BYTES;
		cd->fixed = f->type == MYSQL_TYPE_STRING;
		cd->length = (long)f->length;
		buf_reset(native);
		buf_addf(native, "%s(%lu)", f->type == MYSQL_TYPE_STRING ? "binary"
		         : f->type == MYSQL_TYPE_VAR_STRING || f->type == MYSQL_TYPE_VARCHAR
		         ? "varbinary" : "blob", f->length);
	} else {
		cd->type = f->type == MYSQL_TYPE_STRING ? LT_CHAR : LT_TEXT;
		cd->fixed = f->type == MYSQL_TYPE_STRING;
		cd->length = chars;
		buf_addf(native, "(%ld)", chars);
	}
}

/* Maps result metadata to a coldesc, the same ltypes describe_table gives. */
static void coldesc_from_field(struct coldesc *cd, const MYSQL_FIELD *f)
{
	const MARIADB_CHARSET_INFO *cs = f->charsetnr == MDB_BINARY_CHARSET ? NULL
	                                 : mariadb_get_charset_by_nr(f->charsetnr);
	bool binary = f->charsetnr == MDB_BINARY_CHARSET;
	bool uns = (f->flags & UNSIGNED_FLAG) != 0;
	unsigned int maxlen = cs && cs->char_maxlen ? cs->char_maxlen : 1;
	char tname[64], fmt[64];
	struct buf native = BUF_INIT;
	long chars = (long)(f->length / maxlen);

	memset(cd, 0, sizeof(*cd));
	cd->name = xstrdup(f->name ? f->name : "");
	cd->nullable = (f->flags & NOT_NULL_FLAG) == 0;
	cd->type = LT_OTHER;
	if (!field_attr(f, MARIADB_FIELD_ATTR_DATA_TYPE_NAME, tname, sizeof(tname)))
		snprintf(tname, sizeof(tname), "%s", field_type_name(f->type));
	field_attr(f, MARIADB_FIELD_ATTR_FORMAT_NAME, fmt, sizeof(fmt));
	buf_addstr(&native, tname);

	switch (f->type) {
	case MYSQL_TYPE_TINY:
	case MYSQL_TYPE_SHORT:
	case MYSQL_TYPE_INT24:
	case MYSQL_TYPE_LONG:
	case MYSQL_TYPE_LONGLONG:
		cd->type = LT_INT;
		cd->bits = f->type == MYSQL_TYPE_TINY ? 8 : f->type == MYSQL_TYPE_SHORT ? 16
		           : f->type == MYSQL_TYPE_INT24 ? 24 : f->type == MYSQL_TYPE_LONG ? 32 : 64;
		cd->is_unsigned = uns;
		cd->bool_hint = f->type == MYSQL_TYPE_TINY && f->length == 1;
		buf_addf(&native, "(%lu)", f->length);
		break;
	case MYSQL_TYPE_DECIMAL:
	case MYSQL_TYPE_NEWDECIMAL: {
		/* length counts the digits, a point when scaled and a sign when signed */
		long p = (long)f->length - (f->decimals > 0) - (uns ? 0 : 1);

		cd->type = LT_DECIMAL;
		cd->is_unsigned = uns;
		cd->precision = clamp_int(p);
		cd->scale = (int)f->decimals;
		buf_addf(&native, "(%d,%d)", cd->precision, cd->scale);
		break;
	}
	case MYSQL_TYPE_FLOAT:
	case MYSQL_TYPE_DOUBLE:
		cd->type = LT_FLOAT;
		cd->bits = f->type == MYSQL_TYPE_FLOAT ? 32 : 64;
		cd->is_unsigned = uns;
		break;
	case MYSQL_TYPE_DATE:
	case MYSQL_TYPE_NEWDATE:
		cd->type = LT_DATE;
		break;
	case MYSQL_TYPE_TIME:
	case MYSQL_TYPE_DATETIME:
	case MYSQL_TYPE_TIMESTAMP:
		cd->type = f->type == MYSQL_TYPE_TIME ? LT_TIME
		           : f->type == MYSQL_TYPE_DATETIME ? LT_TIMESTAMP : LT_TIMESTAMPTZ;
		cd->fsp = f->decimals <= 6 ? (int)f->decimals : 0;
		if (cd->fsp)
			buf_addf(&native, "(%d)", cd->fsp);
		break;
	case MYSQL_TYPE_YEAR:
		cd->type = LT_YEAR;
		break;
	case MYSQL_TYPE_BIT:
		cd->type = LT_BIT;
		cd->bits = (int)f->length;
		cd->raw_bits = true;
		buf_addf(&native, "(%lu)", f->length);
		break;
	case MYSQL_TYPE_JSON:
		cd->type = LT_JSON;
		break;
	case MYSQL_TYPE_ENUM:
	case MYSQL_TYPE_SET:
	case MYSQL_TYPE_STRING:
	case MYSQL_TYPE_VAR_STRING:
	case MYSQL_TYPE_VARCHAR:
	case MYSQL_TYPE_TINY_BLOB:
	case MYSQL_TYPE_MEDIUM_BLOB:
	case MYSQL_TYPE_LONG_BLOB:
	case MYSQL_TYPE_BLOB:
		coldesc_from_string_field(cd, f, tname, fmt, binary, chars, &native);
		break;
	default:
		break;
	}
	/* as in information_schema: only the string types have a character set */
	if (!binary && cs && (cd->type == LT_TEXT || cd->type == LT_CHAR || cd->type == LT_JSON ||
	                      cd->type == LT_ENUM || cd->type == LT_SET)) {
		cd->charset = xstrdup(cs->csname);
		cd->collation = xstrdup(cs->name);
	}
	if (uns && (cd->type == LT_INT || cd->type == LT_DECIMAL || cd->type == LT_FLOAT))
		buf_addstr(&native, " unsigned");
	if ((f->flags & ZEROFILL_FLAG) && cd->type == LT_INT)
		buf_addstr(&native, " zerofill");
	cd->native = buf_detach(&native, NULL);
}

int mdb_describe_query(struct conn *base, const char *sql_in, struct tabdesc *out,
                       struct tally_err *err)
{
	struct mdb_conn *c = mdb(base);
	struct buf sql = BUF_INIT;
	struct tabdesc t = { 0 };
	MYSQL_RES *r;
	MYSQL_FIELD *f;

	memset(out, 0, sizeof(*out));
	if (mdb_usable(c, err) < 0)
		return -1;
	buf_addstr(&sql, "SELECT * FROM ");
	mdb_add_subquery(&sql, sql_in);
	buf_addstr(&sql, " LIMIT 0");
	if (mdb_catalog(c, &sql, &r, "describing", "the query", err) < 0) {
		buf_release(&sql);
		return -1;
	}
	buf_release(&sql);
	t.display = xstrdup("query");
	t.is_query = true;
	t.ncols = mysql_num_fields(r);
	t.cols = xcalloc(t.ncols, sizeof(*t.cols));
	f = mysql_fetch_fields(r);
	for (size_t i = 0; i < t.ncols; i++)
		coldesc_from_field(&t.cols[i], &f[i]);
	mysql_free_result(r);
	*out = t;
	return 0;
}
