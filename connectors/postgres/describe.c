/*
 * connectors/postgres/describe.c
 *   SOURCE, PostgreSQL: catalog -> tabdesc. Describes a table from the
 *   catalog (columns, primary key, foreign keys at both ends, user
 *   triggers) and a query from its prepared statement, and maps each
 *   type, domains resolved, to tally's logical types.
 *
 * The server orders a key in its own way; to let the engine decide
 * without a session whether that is tally's bytewise order
 * (order_is_bytewise, plan.c), describe records the effective collation
 * of every collatable column: the database default is resolved at open
 * time, a query's columns ask pg_collation_for(). Foreign keys and
 * triggers are for the repair script's reviewer.
 */
#include "../connector.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "pg_int.h"

/* ---- types --------------------------------------------------------- */

static const struct {
	const char *name;
	enum ltype type;
	int bits;
} pgc_types[] = {
	{ "int2", LT_INT, 16 },
	{ "int4", LT_INT, 32 },
	{ "int8", LT_INT, 64 },
	{ "numeric", LT_DECIMAL, 0 },
	{ "float4", LT_FLOAT, 32 },
	{ "float8", LT_FLOAT, 64 },
	{ "bool", LT_BOOL, 0 },
	{ "text", LT_TEXT, 0 },
	{ "varchar", LT_TEXT, 0 },
	{ "name", LT_TEXT, 0 },
	{ "bpchar", LT_CHAR, 0 },
	{ "bytea", LT_BYTES, 0 },
	{ "date", LT_DATE, 0 },
	{ "time", LT_TIME, 0 },
	{ "timestamp", LT_TIMESTAMP, 0 },
	{ "timestamptz", LT_TIMESTAMPTZ, 0 },
	{ "uuid", LT_UUID, 0 },
	{ "json", LT_JSON, 0 },
	{ "jsonb", LT_JSON, 0 },
	{ "interval", LT_INTERVAL, 0 },
	{ "inet", LT_INET, 0 },
	{ "cidr", LT_INET, 0 },
	{ "bit", LT_BIT, 0 },
	{ "varbit", LT_BIT, 0 },
};

/*
 * Sets type and its attributes from the base type (domains resolved).
 * Attributes that do not apply stay 0; -1 means "applies, unconstrained".
 */
static void pgc_map_type(struct coldesc *c, const char *typname, bool in_catalog,
                         char typtype, char typcategory, int typmod)
{
	c->type = LT_OTHER;
	c->bits = 0;
	c->precision = c->scale = c->fsp = 0;
	c->length = 0;
	c->fixed = false;
	if (typtype == 'e') {
		c->type = LT_ENUM;
		return;
	}
	if (typcategory == 'A') {
		c->type = LT_ARRAY;
		return;
	}
	if (!in_catalog || typtype != 'b')
		return;
	for (size_t i = 0; i < sizeof(pgc_types) / sizeof(pgc_types[0]); i++) {
		if (strcmp(pgc_types[i].name, typname) != 0)
			continue;
		c->type = pgc_types[i].type;
		c->bits = pgc_types[i].bits;
		break;
	}
	switch (c->type) {
	case LT_DECIMAL:
		if (typmod < 4) {
			c->precision = c->scale = -1;
		} else {
			/* PostgreSQL 15 packs an 11-bit signed scale (scale may be < 0). */
			c->precision = ((typmod - 4) >> 16) & 0xffff;
			c->scale = (((typmod - 4) & 0x7ff) ^ 1024) - 1024;
		}
		break;
	case LT_TEXT:
	case LT_CHAR:
		c->length = typmod >= 4 && strcmp(typname, "name") != 0 ? typmod - 4 : -1;
		c->fixed = c->type == LT_CHAR;
		break;
	case LT_BYTES:
		c->length = -1;
		break;
	case LT_TIME:
	case LT_TIMESTAMP:
	case LT_TIMESTAMPTZ:
		c->fsp = typmod >= 0 && typmod <= 6 ? typmod : 6;
		break;
	case LT_BIT:
		c->bits = typmod >= 0 ? typmod : -1;
		c->fixed = strcmp(typname, "bit") == 0;
		break;
	default:
		break;
	}
}

/*
 * Reads the labels of the enum columns of cols[0..n), in their declared
 * order; base[i] is column i's type oid, enums those of the enums as an
 * array literal.
 */
static int pgc_read_labels(struct pgsess *s, struct coldesc *cols, size_t n, const unsigned *base,
                           const char *enums, const char *doing, struct tally_err *err)
{
	static const char enum_sql[] =
		"SELECT enumtypid, enumlabel FROM pg_catalog.pg_enum"
		" WHERE enumtypid = ANY ($1::pg_catalog.oid[])"
		" ORDER BY enumtypid, enumsortorder";
	const char *params[1] = { enums };
	PGresult *res;

	res = pgc_query(s, enum_sql, 1, params);
	if (!pgc_rows_ok(res)) {
		pgc_stmt_err(s, res, true, doing, err, "cannot read enum labels from %s system '%s'",
		             s->base.side, s->base.system);
		PQclear(res);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		size_t cap = 0;

		if (cols[i].type != LT_ENUM)
			continue;
		for (int r = 0; r < PQntuples(res); r++) {
			long oid;

			if (!pgc_parse_long(PQgetvalue(res, r, 0), &oid) || (unsigned long)oid != base[i])
				continue;
			cols[i].labels = xgrow(cols[i].labels, &cap, cols[i].nlabels + 1,
			                       sizeof(*cols[i].labels));
			cols[i].labels[cols[i].nlabels++] = xstrdup(PQgetvalue(res, r, 1));
		}
	}
	PQclear(res);
	return 0;
}

/*
 * Resolves types for cols[0..n): oids[i] and typmods[i] as the server
 * gave them. Fills native (format_type), type and attributes from the
 * base type of a domain, and enum labels; collatable[i], unless NULL,
 * tells whether the type has a collation.
 */
static int pgc_resolve_types(struct pgsess *s, struct coldesc *cols, size_t n,
                             const unsigned *oids, const int *typmods, bool *collatable,
                             const char *doing, struct tally_err *err)
{
	static const char sql[] =
		"WITH RECURSIVE inp AS ("
		"  SELECT u.ord, u.typid, u.typmod"
		"  FROM ROWS FROM (pg_catalog.unnest($1::pg_catalog.oid[]),"
		"                  pg_catalog.unnest($2::pg_catalog.int4[]))"
		"       WITH ORDINALITY AS u(typid, typmod, ord)"
		"), chain AS ("
		"  SELECT ord, typid, typmod FROM inp"
		"  UNION ALL"
		"  SELECT c.ord, t.typbasetype, t.typtypmod"
		"  FROM chain c JOIN pg_catalog.pg_type t ON t.oid = c.typid"
		"  WHERE t.typtype = 'd'"
		") "
		"SELECT pg_catalog.format_type(i.typid, i.typmod), t.oid, t.typname,"
		"       t.typnamespace = 'pg_catalog'::pg_catalog.regnamespace,"
		"       t.typtype, t.typcategory, c.typmod, t.typcollation <> 0 "
		"FROM inp i"
		" JOIN chain c ON c.ord = i.ord"
		" JOIN pg_catalog.pg_type t ON t.oid = c.typid AND t.typtype <> 'd' "
		"ORDER BY i.ord";
	struct buf oidarr = BUF_INIT, modarr = BUF_INIT, enums = BUF_INIT;
	unsigned *base = xcalloc(n ? n : 1, sizeof(*base));
	const char *params[2];
	PGresult *res;
	int rc = -1;

	buf_addch(&oidarr, '{');
	buf_addch(&modarr, '{');
	for (size_t i = 0; i < n; i++) {
		buf_addf(&oidarr, "%s%u", i ? "," : "", oids[i]);
		buf_addf(&modarr, "%s%d", i ? "," : "", typmods[i]);
	}
	buf_addch(&oidarr, '}');
	buf_addch(&modarr, '}');
	params[0] = oidarr.data;
	params[1] = modarr.data;

	res = pgc_query(s, sql, 2, params);
	if (!pgc_rows_ok(res)) {
		pgc_stmt_err(s, res, true, doing, err, "cannot read column types from %s system '%s'",
		             s->base.side, s->base.system);
		goto out;
	}
	if ((size_t)PQntuples(res) != n) {
		err_set(err, ERR_INTERNAL, "[%s pid %ld] %s system '%s' described %d types for %zu columns",
		        s->base.side, s->base.backend_pid, s->base.side, s->base.system,
		        PQntuples(res), n);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		int r = (int)i, typmod;
		long oid;

		if (!pgc_parse_long(PQgetvalue(res, r, 1), &oid) || oid < 0 ||
		    !pgc_parse_int(PQgetvalue(res, r, 6), &typmod)) {
			err_set(err, ERR_INTERNAL, "[%s pid %ld] unexpected type catalog row from %s system '%s'",
			        s->base.side, s->base.backend_pid, s->base.side, s->base.system);
			goto out;
		}
		base[i] = (unsigned)oid;
		if (collatable)
			collatable[i] = PQgetvalue(res, r, 7)[0] == 't';
		cols[i].native = xstrdup(PQgetvalue(res, r, 0));
		pgc_map_type(&cols[i], PQgetvalue(res, r, 2), PQgetvalue(res, r, 3)[0] == 't',
		             PQgetvalue(res, r, 4)[0], PQgetvalue(res, r, 5)[0], typmod);
		if (cols[i].type == LT_ENUM)
			buf_addf(&enums, "%s%u", enums.len ? "," : "{", base[i]);
	}
	PQclear(res);
	res = NULL;

	if (enums.len) {
		buf_addch(&enums, '}');
		if (pgc_read_labels(s, cols, n, base, enums.data, doing, err) < 0)
			goto out;
	}
	rc = 0;
out:
	PQclear(res);
	free(base);
	buf_release(&oidarr);
	buf_release(&modarr);
	buf_release(&enums);
	return rc;
}

/* ---- describe_table ------------------------------------------------ */

/* Levenshtein distance over ASCII-lowercased bytes; SIZE_MAX when too long. */
static size_t pgc_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t row[256];

	if (lb >= sizeof(row) / sizeof(row[0]) || la >= 256)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			unsigned char ca = (unsigned char)a[i - 1], cb = (unsigned char)b[j - 1];
			size_t up = row[j], best;

			if (ca >= 'A' && ca <= 'Z')
				ca = (unsigned char)(ca + 32);
			if (cb >= 'A' && cb <= 'Z')
				cb = (unsigned char)(cb + 32);
			best = diag + (ca != cb);
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/*
 * The closest table name to what the spec wrote: equal but for case, or
 * within two edits. Written as the user wrote it: qualified if they
 * qualified it or if the table is not on the search_path. NULL if none.
 */
static char *pgc_suggest(struct pgsess *s, const char *spec, bool qualified)
{
	static const char sql[] =
		"SELECT n.nspname, c.relname, pg_catalog.pg_table_is_visible(c.oid)"
		" FROM pg_catalog.pg_class c"
		" JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
		" WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')"
		"   AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'"
		" ORDER BY 3 DESC, 1, 2 LIMIT 20000";
	PGresult *res = pgc_query(s, sql, 0, NULL);
	size_t best = SIZE_MAX, limit = strlen(spec) > 4 ? 2 : 1;
	char *found = NULL;

	if (!pgc_rows_ok(res)) {
		PQclear(res);
		return NULL;
	}
	for (int r = 0; r < PQntuples(res); r++) {
		const char *nsp = PQgetvalue(res, r, 0), *rel = PQgetvalue(res, r, 1);
		bool visible = PQgetvalue(res, r, 2)[0] == 't';
		char *full = xasprintf("%s.%s", nsp, rel);
		size_t d = pgc_distance(qualified ? full : rel, spec);

		if (d <= limit && d < best && strcmp(qualified ? full : rel, spec) != 0) {
			best = d;
			free(found);
			found = xstrdup(qualified || !visible ? full : rel);
		}
		free(full);
	}
	PQclear(res);
	return found;
}

static const char *pgc_relkind_name(char kind)
{
	switch (kind) {
	case 'i': case 'I': return "an index";
	case 'S': return "a sequence";
	case 'c': return "a composite type";
	case 't': return "a TOAST table";
	default: return "not a table";
	}
}

/*
 * Foreign keys, one row per column pair, in constraint order. A foreign
 * key on or to a partitioned table is cloned for each partition
 * (conparentid): a clone counts where its parent constraint sits on
 * another table, so describing a partition shows what binds it and
 * describing the partitioned table shows each key once.
 */
#define PGC_FK_SQL(other, self)                                                            \
	"SELECT co.oid, co.conname, n.nspname, c.relname, co.confdeltype, co.confupdtype,"   \
	"       ca.attname, pa.attname"                                                        \
	" FROM pg_catalog.pg_constraint co"                                                    \
	" JOIN pg_catalog.pg_class c ON c.oid = co." other                                     \
	" JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"                            \
	" CROSS JOIN LATERAL ROWS FROM (pg_catalog.unnest(co.conkey),"                         \
	"                              pg_catalog.unnest(co.confkey))"                         \
	"       WITH ORDINALITY AS k(ckey, pkey, ord)"                                         \
	" JOIN pg_catalog.pg_attribute ca ON ca.attrelid = co.conrelid AND ca.attnum = k.ckey" \
	" JOIN pg_catalog.pg_attribute pa ON pa.attrelid = co.confrelid AND pa.attnum = k.pkey" \
	" WHERE co.contype = 'f' AND co." self " = $1"                                         \
	"   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint p"                          \
	"                   WHERE p.oid = co.conparentid AND p." self " = co." self ")"

static const char parents_sql[] =
	PGC_FK_SQL("confrelid", "conrelid") " ORDER BY co.conname, co.oid, k.ord";
static const char children_sql[] =
	PGC_FK_SQL("conrelid", "confrelid") " ORDER BY n.nspname, c.relname, co.conname, co.oid, k.ord";

static const char *pgc_fk_action(char code)
{
	switch (code) {
	case 'a': return "NO ACTION";
	case 'r': return "RESTRICT";
	case 'c': return "CASCADE";
	case 'n': return "SET NULL";
	case 'd': return "SET DEFAULT";
	default: return NULL;
	}
}

/*
 * Reads the foreign keys of relid (parents: its own; else those that
 * reference it) into t->parents or t->children. Rows of one constraint
 * are adjacent: the query orders by constraint, then column position.
 */
static int pgc_read_fks(struct pgsess *s, const char *sql, const char *relid, bool parents,
                        struct tabdesc *t, const char *doing, struct tally_err *err)
{
	const char *params[1] = { relid };
	struct fkdesc *fks = NULL, *f = NULL;
	size_t n = 0, cap = 0, colcap = 0, refcap = 0;
	const char *last = "";
	PGresult *res;
	int rc = 0;

	res = pgc_query(s, sql, 1, params);
	if (!pgc_rows_ok(res)) {
		pgc_stmt_err(s, res, true, doing, err, "cannot read the foreign keys %s %s from %s system '%s'",
		             parents ? "of" : "referencing", t->display, s->base.side, s->base.system);
		PQclear(res);
		return -1;
	}
	for (int r = 0; r < PQntuples(res); r++) {
		const char *oid = PQgetvalue(res, r, 0);
		const char *on_delete = pgc_fk_action(PQgetvalue(res, r, 4)[0]);
		const char *on_update = pgc_fk_action(PQgetvalue(res, r, 5)[0]);

		if (!on_delete || !on_update) {
			err_set(err, ERR_INTERNAL, "[%s pid %ld] unexpected foreign key action for %s from %s system '%s'",
			        s->base.side, s->base.backend_pid, t->display, s->base.side, s->base.system);
			rc = -1;
			break;
		}
		if (strcmp(oid, last) != 0) {
			struct buf q = BUF_INIT;

			fks = xgrow(fks, &cap, n + 1, sizeof(*fks));
			f = &fks[n++];
			memset(f, 0, sizeof(*f));
			colcap = refcap = 0;
			f->name = xstrdup(PQgetvalue(res, r, 1));
			f->table = xasprintf("%s.%s", PQgetvalue(res, r, 2), PQgetvalue(res, r, 3));
			pgc_quote_ident(&q, PQgetvalue(res, r, 2));
			buf_addch(&q, '.');
			pgc_quote_ident(&q, PQgetvalue(res, r, 3));
			f->sqlname = buf_detach(&q, NULL);
			f->on_delete = xstrdup(on_delete);
			f->on_update = xstrdup(on_update);
			last = oid;
		}
		f->cols = xgrow(f->cols, &colcap, f->ncols + 1, sizeof(*f->cols));
		f->refcols = xgrow(f->refcols, &refcap, f->ncols + 1, sizeof(*f->refcols));
		f->cols[f->ncols] = xstrdup(PQgetvalue(res, r, 6));
		f->refcols[f->ncols] = xstrdup(PQgetvalue(res, r, 7));
		f->ncols++;
	}
	/* Handed over even after a failure: tabdesc_release() frees them. */
	if (parents) {
		t->parents = fks;
		t->nparents = n;
	} else {
		t->children = fks;
		t->nchildren = n;
	}
	PQclear(res);
	return rc;
}

/* pg_trigger.tgtype bits (PostgreSQL's catalog/pg_trigger.h). */
#define PGC_TRIG_BEFORE   (1 << 1)
#define PGC_TRIG_INSERT   (1 << 2)
#define PGC_TRIG_DELETE   (1 << 3)
#define PGC_TRIG_UPDATE   (1 << 4)
#define PGC_TRIG_TRUNCATE (1 << 5)
#define PGC_TRIG_INSTEAD  (1 << 6)

/* User triggers on relid, by name: what a repair of the table sets off. */
static int pgc_read_triggers(struct pgsess *s, const char *relid, struct tabdesc *t,
                             const char *doing, struct tally_err *err)
{
	static const char sql[] =
		"SELECT t.tgname, t.tgtype, t.tgenabled <> 'D'"
		" FROM pg_catalog.pg_trigger t"
		" WHERE t.tgrelid = $1 AND NOT t.tgisinternal"
		" ORDER BY t.tgname";
	static const struct {
		long bit;
		const char *name;
	} events[] = {
		{ PGC_TRIG_INSERT, "INSERT" },
		{ PGC_TRIG_UPDATE, "UPDATE" },
		{ PGC_TRIG_DELETE, "DELETE" },
		{ PGC_TRIG_TRUNCATE, "TRUNCATE" },
	};
	const char *params[1] = { relid };
	PGresult *res;

	res = pgc_query(s, sql, 1, params);
	if (!pgc_rows_ok(res)) {
		pgc_stmt_err(s, res, true, doing, err, "cannot read the triggers of %s from %s system '%s'",
		             t->display, s->base.side, s->base.system);
		PQclear(res);
		return -1;
	}
	t->triggers = xcalloc((size_t)PQntuples(res) + 1, sizeof(*t->triggers));
	for (int r = 0; r < PQntuples(res); r++) {
		struct trigdesc *g = &t->triggers[t->ntriggers];
		struct buf ev = BUF_INIT;
		long type;

		if (!pgc_parse_long(PQgetvalue(res, r, 1), &type)) {
			err_set(err, ERR_INTERNAL, "[%s pid %ld] unexpected trigger catalog row for %s from %s system '%s'",
			        s->base.side, s->base.backend_pid, t->display, s->base.side, s->base.system);
			PQclear(res);
			return -1;
		}
		for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++)
			if (type & events[i].bit)
				buf_addf(&ev, "%s%s", ev.len ? " OR " : "", events[i].name);
		g->name = xstrdup(PQgetvalue(res, r, 0));
		g->timing = xstrdup(type & PGC_TRIG_INSTEAD ? "INSTEAD OF"
		                    : type & PGC_TRIG_BEFORE ? "BEFORE" : "AFTER");
		g->events = ev.len ? buf_detach(&ev, NULL) : xstrdup("");
		g->enabled = PQgetvalue(res, r, 2)[0] == 't';
		t->ntriggers++;
	}
	PQclear(res);
	return 0;
}

/*
 * Looks up table as the spec names it and fills t->display and
 * t->sqlname; *relid (owned) is its oid, as text. A table that does not
 * exist gets the closest name as a hint.
 */
static int pgc_find_table(struct pgsess *s, const char *table, struct tabdesc *t, char **relid,
                          const char *doing, struct tally_err *err)
{
	static const char find_qualified[] =
		"SELECT c.oid, n.nspname, c.relname, c.relkind"
		" FROM pg_catalog.pg_class c"
		" JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
		" WHERE c.oid = pg_catalog.to_regclass(pg_catalog.quote_ident($1)"
		"               OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||)"
		"               pg_catalog.quote_ident($2))";
	static const char find_visible[] =
		"SELECT c.oid, n.nspname, c.relname, c.relkind"
		" FROM pg_catalog.pg_class c"
		" JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
		" WHERE c.oid = pg_catalog.to_regclass(pg_catalog.quote_ident($1))";
	struct buf name = BUF_INIT;
	const char *dot = strchr(table, '.');
	const char *params[2];
	PGresult *res = NULL;
	char relkind;
	int rc = -1;

	/* "schema.name" splits at the first dot; names are used as stored. */
	if (dot) {
		buf_add(&name, table, (size_t)(dot - table));
		params[0] = name.data;
		params[1] = dot + 1;
		res = pgc_query(s, find_qualified, 2, params);
	} else {
		params[0] = table;
		res = pgc_query(s, find_visible, 1, params);
	}
	if (!pgc_rows_ok(res)) {
		pgc_stmt_err(s, res, true, doing, err, "cannot look up table '%s' in %s system '%s'",
		             table, s->base.side, s->base.system);
		goto out;
	}
	if (PQntuples(res) == 0) {
		char *hint = pgc_suggest(s, table, dot != NULL);

		err_set(err, ERR_SCHEMA, "table '%s' does not exist in %s system '%s'",
		        table, s->base.side, s->base.system);
		if (hint)
			err_hint(err, "did you mean '%s'?", hint);
		free(hint);
		goto out;
	}
	relkind = PQgetvalue(res, 0, 3)[0];
	if (!strchr("rpvmf", relkind)) {
		err_set(err, ERR_SCHEMA, "'%s' in %s system '%s' is %s, not a table or view",
		        table, s->base.side, s->base.system, pgc_relkind_name(relkind));
		goto out;
	}
	*relid = xstrdup(PQgetvalue(res, 0, 0));
	t->display = xasprintf("%s.%s", PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2));
	{
		struct buf q = BUF_INIT;

		pgc_quote_ident(&q, PQgetvalue(res, 0, 1));
		buf_addch(&q, '.');
		pgc_quote_ident(&q, PQgetvalue(res, 0, 2));
		t->sqlname = buf_detach(&q, NULL);
	}
	rc = 0;
out:
	PQclear(res);
	buf_release(&name);
	return rc;
}

/*
 * Reads the columns of relid into t->cols and, for the lookups that
 * follow, each one's type oid, typmod and attnum: arrays of t->ncols,
 * owned by the caller, handed over even after a failure.
 */
static int pgc_read_columns(struct pgsess *s, const char *relid, struct tabdesc *t,
                            unsigned **oidsp, int **typmodsp, long **attnumsp,
                            const char *doing, struct tally_err *err)
{
	static const char columns_sql[] =
		"SELECT a.attnum, a.attname, a.atttypid, a.atttypmod, NOT a.attnotnull,"
		"       a.attgenerated <> '',"
		"       CASE WHEN co.collprovider <> 'd' THEN co.collname END,"
		"       a.attidentity = 'a', a.atthasdef OR a.attidentity <> '', a.attcollation <> 0"
		" FROM pg_catalog.pg_attribute a"
		" LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation"
		" WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped"
		" ORDER BY a.attnum";
	const char *params[1] = { relid };
	unsigned *oids;
	int *typmods;
	long *attnums;
	PGresult *res;
	int rc = -1;

	res = pgc_query(s, columns_sql, 1, params);
	if (!pgc_rows_ok(res)) {
		pgc_stmt_err(s, res, true, doing, err, "cannot read the columns of %s from %s system '%s'",
		             t->display, s->base.side, s->base.system);
		goto out;
	}
	t->ncols = (size_t)PQntuples(res);
	t->cols = xcalloc(t->ncols ? t->ncols : 1, sizeof(*t->cols));
	*oidsp = oids = xcalloc(t->ncols ? t->ncols : 1, sizeof(*oids));
	*typmodsp = typmods = xcalloc(t->ncols ? t->ncols : 1, sizeof(*typmods));
	*attnumsp = attnums = xcalloc(t->ncols ? t->ncols : 1, sizeof(*attnums));
	for (size_t i = 0; i < t->ncols; i++) {
		int r = (int)i;
		long oid;

		if (!pgc_parse_long(PQgetvalue(res, r, 0), &attnums[i]) ||
		    !pgc_parse_long(PQgetvalue(res, r, 2), &oid) || oid < 0 ||
		    !pgc_parse_int(PQgetvalue(res, r, 3), &typmods[i])) {
			err_set(err, ERR_INTERNAL, "[%s pid %ld] unexpected catalog row for %s from %s system '%s'",
			        s->base.side, s->base.backend_pid, t->display, s->base.side, s->base.system);
			goto out;
		}
		oids[i] = (unsigned)oid;
		t->cols[i].name = xstrdup(PQgetvalue(res, r, 1));
		t->cols[i].nullable = PQgetvalue(res, r, 4)[0] == 't';
		t->cols[i].generated = PQgetvalue(res, r, 5)[0] == 't';
		/* The database default by its name, so order_is_bytewise needs no session. */
		if (!PQgetisnull(res, r, 6))
			t->cols[i].collation = xstrdup(PQgetvalue(res, r, 6));
		else if (PQgetvalue(res, r, 9)[0] == 't')
			t->cols[i].collation = xstrdup(s->default_coll);
		t->cols[i].identity = PQgetvalue(res, r, 7)[0] == 't';
		t->cols[i].has_default = PQgetvalue(res, r, 8)[0] == 't';
	}
	rc = 0;
out:
	PQclear(res);
	return rc;
}

/* Reads the primary key of relid into t->pk: column i has attnum attnums[i]. */
static int pgc_read_pk(struct pgsess *s, const char *relid, struct tabdesc *t, const long *attnums,
                       const char *doing, struct tally_err *err)
{
	static const char pk_sql[] =
		"SELECT k.attnum"
		" FROM pg_catalog.pg_index i,"
		"      pg_catalog.unnest(i.indkey::pg_catalog.int2[]) WITH ORDINALITY AS k(attnum, ord)"
		" WHERE i.indrelid = $1 AND i.indisprimary AND k.ord <= i.indnkeyatts"
		" ORDER BY k.ord";
	const char *params[1] = { relid };
	PGresult *res;
	int rc = -1;

	res = pgc_query(s, pk_sql, 1, params);
	if (!pgc_rows_ok(res)) {
		pgc_stmt_err(s, res, true, doing, err, "cannot read the primary key of %s from %s system '%s'",
		             t->display, s->base.side, s->base.system);
		goto out;
	}
	t->pk = xcalloc((size_t)PQntuples(res) + 1, sizeof(*t->pk));
	for (int r = 0; r < PQntuples(res); r++) {
		long attnum;
		size_t i = 0;

		if (!pgc_parse_long(PQgetvalue(res, r, 0), &attnum))
			attnum = 0;
		while (i < t->ncols && attnums[i] != attnum)
			i++;
		if (i == t->ncols) {
			err_set(err, ERR_INTERNAL, "[%s pid %ld] primary key of %s in %s system '%s' names no column",
			        s->base.side, s->base.backend_pid, t->display, s->base.side, s->base.system);
			goto out;
		}
		t->pk[t->npk++] = i;
	}
	rc = 0;
out:
	PQclear(res);
	return rc;
}

int pgc_describe_table(struct conn *c, const char *table, struct tabdesc *out,
                       struct tally_err *err)
{
	struct pgsess *s = (struct pgsess *)c;
	struct tabdesc t = { 0 };
	struct buf doing = BUF_INIT;
	unsigned *oids = NULL;
	int *typmods = NULL;
	long *attnums = NULL;
	char *relid = NULL;
	int rc = -1;

	if (s->base.failed)
		return pgc_sticky(s, err);
	buf_addf(&doing, "describing table '%s'", table);
	if (pgc_find_table(s, table, &t, &relid, doing.data, err) < 0 ||
	    pgc_read_columns(s, relid, &t, &oids, &typmods, &attnums, doing.data, err) < 0 ||
	    pgc_resolve_types(s, t.cols, t.ncols, oids, typmods, NULL, doing.data, err) < 0 ||
	    pgc_read_pk(s, relid, &t, attnums, doing.data, err) < 0 ||
	    pgc_read_fks(s, parents_sql, relid, true, &t, doing.data, err) < 0 ||
	    pgc_read_fks(s, children_sql, relid, false, &t, doing.data, err) < 0 ||
	    pgc_read_triggers(s, relid, &t, doing.data, err) < 0)
		goto out;
	*out = t;
	memset(&t, 0, sizeof(t));
	rc = 0;
out:
	tabdesc_release(&t);
	free(relid);
	free(oids);
	free(typmods);
	free(attnums);
	buf_release(&doing);
	return rc;
}

/* ---- describe_query ------------------------------------------------ */

/*
 * pg_collation_for() writes a collation as SQL: quoted when it must be,
 * qualified when it is not on the search_path. Returns the bare name.
 */
static char *pgc_collation_name(const char *sql)
{
	struct buf b = BUF_INIT;
	bool quoted = false;

	for (const char *p = sql; *p; p++) {
		if (*p == '"' && quoted && p[1] == '"') {
			buf_addch(&b, '"');
			p++;
		} else if (*p == '"') {
			quoted = !quoted;
		} else if (*p == '.' && !quoted) {
			buf_reset(&b);
		} else {
			buf_addch(&b, *p);
		}
	}
	return buf_detach(&b, NULL);
}

/*
 * The collation each collatable column of the query carries, which is the
 * one its ORDER BY uses: pg_collation_for() of the columns of the query
 * cut to no row (LIMIT 0: planned, never run), joined to one row so the
 * statement answers. A query the server cannot plan this way (it would
 * fail in the scan too) leaves the collations unknown: NULL, which
 * order_is_bytewise() never calls bytewise.
 */
static int pgc_query_collations(struct pgsess *s, const char *query, struct tabdesc *t,
                                const bool *collatable, const char *doing, struct tally_err *err)
{
	struct buf sql = BUF_INIT;
	PGresult *res;
	size_t n = 0;
	int f = 0;

	buf_addstr(&sql, "SELECT ");
	for (size_t i = 0; i < t->ncols; i++)
		if (collatable[i])
			buf_addf(&sql, "%spg_catalog.pg_collation_for(tally_q.c%zu)", n++ ? ", " : "", i + 1);
	if (n == 0) {
		buf_release(&sql);
		return 0;
	}
	buf_addstr(&sql, " FROM (VALUES (1)) AS tally_one (x) LEFT JOIN (SELECT * FROM (\n");
	buf_addstr(&sql, query);
	buf_addstr(&sql, "\n) AS tally_q0 (");
	for (size_t i = 0; i < t->ncols; i++)
		buf_addf(&sql, "%sc%zu", i ? ", " : "", i + 1);
	buf_addstr(&sql, ") LIMIT 0) AS tally_q ON true");

	if (pgc_savepoint(s, doing, err) < 0) {
		buf_release(&sql);
		return -1;
	}
	res = pgc_exec(s, sql.data);
	buf_release(&sql);
	if (!pgc_rows_ok(res) || PQntuples(res) != 1 || (size_t)PQnfields(res) != n) {
		if (pgc_is_lost(s, pgc_sqlstate(res))) {
			pgc_stmt_err(s, res, true, doing, err, "cannot describe the query on %s system '%s'",
			             s->base.side, s->base.system);
			PQclear(res);
			return -1;
		}
		PQclear(res);
		return pgc_rollback_savepoint(s, doing, err);
	}
	for (size_t i = 0; i < t->ncols; i++) {
		const char *name;

		if (!collatable[i])
			continue;
		if (!PQgetisnull(res, 0, f)) {
			name = PQgetvalue(res, 0, f);
			t->cols[i].collation = strcmp(name, "\"default\"") == 0 ? xstrdup(s->default_coll)
			                                                         : pgc_collation_name(name);
		}
		f++;
	}
	PQclear(res);
	return pgc_release_savepoint(s, doing, err);
}

int pgc_describe_query(struct conn *c, const char *sql, struct tabdesc *out,
                       struct tally_err *err)
{
	static const char doing[] = "describing the query";
	struct pgsess *s = (struct pgsess *)c;
	struct tabdesc t = { 0 };
	PGresult *res;
	unsigned *oids = NULL;
	int *typmods = NULL;
	bool *collatable = NULL;
	char *text;
	int rc = -1;

	if (s->base.failed)
		return pgc_sticky(s, err);
	text = xstrndup(sql, pgc_stripped_len(sql));

	if (pgc_savepoint(s, doing, err) < 0) {
		free(text);
		return -1;
	}
	/* The unnamed statement: prepared and described, never executed. */
	res = PQprepare(s->pg, "", text, 0, NULL);
	if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
		pgc_stmt_err(s, res, false, doing, err, "cannot describe the query on %s system '%s'",
		             s->base.side, s->base.system);
		PQclear(res);
		if (!s->base.failed) {
			struct tally_err e2;

			if (pgc_rollback_savepoint(s, doing, &e2) < 0)
				*err = e2;
		}
		free(text);
		return -1;
	}
	PQclear(res);
	res = PQdescribePrepared(s->pg, "");
	if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
		pgc_stmt_err(s, res, true, doing, err, "cannot describe the query on %s system '%s'",
		             s->base.side, s->base.system);
		goto out;
	}
	t.ncols = (size_t)PQnfields(res);
	t.cols = xcalloc(t.ncols ? t.ncols : 1, sizeof(*t.cols));
	oids = xcalloc(t.ncols ? t.ncols : 1, sizeof(*oids));
	typmods = xcalloc(t.ncols ? t.ncols : 1, sizeof(*typmods));
	for (size_t i = 0; i < t.ncols; i++) {
		t.cols[i].name = xstrdup(PQfname(res, (int)i));
		t.cols[i].nullable = true;
		oids[i] = PQftype(res, (int)i);
		typmods[i] = PQfmod(res, (int)i);
	}
	PQclear(res);
	res = NULL;
	if (pgc_release_savepoint(s, doing, err) < 0)
		goto out;
	if (t.ncols == 0) {
		err_set(err, ERR_SCHEMA, "the query on %s system '%s' returns no columns",
		        s->base.side, s->base.system);
		goto out;
	}
	collatable = xcalloc(t.ncols, sizeof(*collatable));
	if (pgc_resolve_types(s, t.cols, t.ncols, oids, typmods, collatable, doing, err) < 0 ||
	    pgc_query_collations(s, text, &t, collatable, doing, err) < 0)
		goto out;
	t.display = xstrdup("query");
	t.is_query = true;
	*out = t;
	memset(&t, 0, sizeof(t));
	rc = 0;
out:
	PQclear(res);
	tabdesc_release(&t);
	free(oids);
	free(typmods);
	free(collatable);
	free(text);
	return rc;
}
