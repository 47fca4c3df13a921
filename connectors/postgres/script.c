/*
 * connectors/postgres/script.c
 *   merge -> repair -> SCRIPT: the PostgreSQL dialect of repair scripts
 *   (struct script_ops). Writes text only; tally never runs it. A
 *   reviewer approves the script and an operator runs it with psql.
 *
 * How a script is safe to run:
 *   - psql stops at the first error (\set ON_ERROR_STOP on) and the body
 *     runs in one transaction, so an error anywhere changes nothing;
 *   - the session settings that literals depend on are pinned with SET
 *     LOCAL (standard_conforming_strings: backslashes are plain bytes;
 *     DateStyle, TimeZone, IntervalStyle: dates and intervals read as
 *     written);
 *   - rows are staged in temporary tables created as "SELECT cols FROM
 *     table LIMIT 0", so every value is read by the target column's own
 *     type and typmod; stages are named pg_temp."..." so no table of the
 *     search_path can stand in for them;
 *   - each step is one DO block that locks the rows it changes, checks
 *     they still hold what tally read (or, for an insert, that the keys
 *     are still free), writes, and checks the row count. Failures raise
 *     P0001 with the check's name and the first offending key.
 * Identifiers are always quoted; constant strings are SQL literals with
 * their quotes doubled; a DO block's dollar-quote tag is one that its
 * body does not contain.
 */
#include "../connector.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <libpq-fe.h>

extern const struct conn_ops postgres_ops;
extern const struct script_ops postgres_script;

/* The placeholder for the role that applies a script: tally's is read-only. */
#define PGC_REPAIR_USER "\"${REPAIR_USER:?set it to a role allowed to write}\""

static void pgc_ident(struct buf *out, const char *name)
{
	postgres_ops.quote_ident(out, name);
}

static void pgc_stage_name(struct buf *out, const char *stage)
{
	buf_addstr(out, "pg_temp.");
	pgc_ident(out, stage);
}

/* A string literal: quotes doubled (standard_conforming_strings is on). */
static void pgc_string(struct buf *out, const char *s)
{
	buf_addch(out, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			buf_addch(out, '\'');
		buf_addch(out, *s);
	}
	buf_addch(out, '\'');
}

static void pgc_qual(struct buf *out, const char *alias, const char *name)
{
	buf_addf(out, "%s.", alias);
	pgc_ident(out, name);
}

/*
 * a.k1 = b.k1 AND a.k2 = b.k2: typed equality, so the key's index serves.
 * A nullable key column matches NULL to NULL, as the merge did:
 * (a.k = b.k OR (a.k IS NULL AND b.k IS NULL)). Unlike IS NOT DISTINCT
 * FROM, which no index serves (a nested loop over the whole table per
 * staged row), the planner turns this into a BitmapOr of two index scans.
 */
static void pgc_key_cond(struct buf *out, const struct script_step *st, const char *a,
                         const char *b)
{
	for (size_t i = 0; i < st->nkey; i++) {
		const struct coldesc *c = &st->t->cols[st->key[i]];

		if (i)
			buf_addstr(out, " AND ");
		if (c->nullable)
			buf_addch(out, '(');
		pgc_qual(out, a, c->name);
		buf_addstr(out, " = ");
		pgc_qual(out, b, c->name);
		if (c->nullable) {
			buf_addstr(out, " OR (");
			pgc_qual(out, a, c->name);
			buf_addstr(out, " IS NULL AND ");
			pgc_qual(out, b, c->name);
			buf_addstr(out, " IS NULL))");
		}
	}
}

/*
 * " AND t.c IS NOT DISTINCT FROM o.c" for each guard column. Text compares
 * by its bytes (COLLATE "C": a nondeterministic collation would call other
 * bytes equal); types without a reliable equality compare by their text,
 * which the script's pinned settings make exact.
 */
static void pgc_guard_cond(struct buf *out, const struct script_step *st)
{
	for (size_t i = 0; i < st->nguard; i++) {
		const struct coldesc *c = &st->t->cols[st->guard[i]];
		const char *suffix = "";

		switch (c->type) {
		case LT_TEXT:
		case LT_CHAR:
			suffix = " COLLATE \"C\"";
			break;
		case LT_JSON:
		case LT_ARRAY:
		case LT_OTHER:
		case LT_INET:
		case LT_INTERVAL:
			suffix = "::text";
			break;
		default:
			break;
		}
		buf_addstr(out, " AND t.");
		pgc_ident(out, c->name);
		buf_addf(out, "%s IS NOT DISTINCT FROM o.", suffix);
		pgc_ident(out, c->name);
		buf_addstr(out, suffix);
	}
}

/* format('k1=%L, k2=%L', x.k1, x.k2): the key for a message. */
static void pgc_keytext(struct buf *out, const struct script_step *st, const char *x)
{
	buf_addstr(out, "format('");
	for (size_t i = 0; i < st->nkey; i++) {
		if (i)
			buf_addstr(out, ", ");
		for (const char *p = st->t->cols[st->key[i]].name; *p; p++) {
			if (*p == '\'' || *p == '%')
				buf_addch(out, *p);
			buf_addch(out, *p);
		}
		buf_addstr(out, "=%L");
	}
	buf_addch(out, '\'');
	for (size_t i = 0; i < st->nkey; i++) {
		buf_addf(out, ", %s.", x);
		pgc_ident(out, st->t->cols[st->key[i]].name);
	}
	buf_addch(out, ')');
}

/* RAISE with a message format whose %s are the check, [what,] display, rest. */
static void pgc_raise(struct buf *out, const struct script_step *st, const char *fmt,
                      const char *what, const char *rest)
{
	buf_addstr(out, "    RAISE EXCEPTION USING MESSAGE = format(");
	pgc_string(out, fmt);
	buf_addstr(out, ", ");
	pgc_string(out, st->check);
	buf_addstr(out, ", ");
	if (what) {
		pgc_string(out, what);
		buf_addstr(out, ", n, ");
	}
	pgc_string(out, st->t->display);
	buf_addf(out, ", %s), ERRCODE = 'P0001';\n", rest);
}

static void pgc_column_list(struct buf *out, const struct script_step *st, const char *alias)
{
	for (size_t i = 0; i < st->nset; i++) {
		if (i)
			buf_addstr(out, ", ");
		if (alias)
			buf_addf(out, "%s.", alias);
		pgc_ident(out, st->t->cols[st->set[i]].name);
	}
}

/*
 * Copies of rows without a key. The table is locked against other writers
 * (readers go on): no row can gain or lose copies between the count and
 * the change. Copies are told apart by ctid.
 */
static void pgc_copies_body(struct buf *b, const struct script_step *st)
{
	const char *table = st->t->sqlname;
	const bool insert = st->kind == STEP_MS_INSERT;
	char rows[32];

	snprintf(rows, sizeof(rows), "%" PRIu64, st->rows);
	buf_addstr(b, "DECLARE\n  n bigint;\n  total bigint := 0;\n  bad text;\nBEGIN\n");
	buf_addf(b, "  LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE;\n  SELECT ", table);
	pgc_keytext(b, st, "o");
	buf_addstr(b, " INTO bad FROM ");
	pgc_stage_name(b, st->old_stage);
	buf_addf(b, " o\n   WHERE (SELECT pg_catalog.count(*) FROM %s t WHERE true", table);
	pgc_guard_cond(b, st);
	buf_addf(b, ") <> o.tally_have %s LIMIT 1;\n  IF bad IS NOT NULL THEN\n",
	         st->have_sign < 0 ? "- o.tally_n" : st->have_sign > 0 ? "+ o.tally_n" : "");
	pgc_raise(b, st, "tally: check %s: %s does not hold the copies tally counted of the row %s; "
	          "nothing was changed", NULL, "bad");
	buf_addstr(b, "  END IF;\n");
	if (insert) {
		bool identity = false;

		for (size_t i = 0; i < st->nset; i++)
			identity = identity || st->t->cols[st->set[i]].identity;
		buf_addf(b, "  INSERT INTO %s (", table);
		pgc_column_list(b, st, NULL);
		buf_addstr(b, identity ? ") OVERRIDING SYSTEM VALUE SELECT " : ") SELECT ");
		pgc_column_list(b, st, "o");
		buf_addstr(b, " FROM ");
		pgc_stage_name(b, st->old_stage);
		buf_addstr(b, " o CROSS JOIN LATERAL pg_catalog.generate_series(1, o.tally_n);\n"
		           "  GET DIAGNOSTICS total = ROW_COUNT;\n");
	} else {
		/* The loop's record is named o only in its own block: above, o is the stage. */
		buf_addstr(b, "  DECLARE\n    o record;\n  BEGIN\n  FOR o IN SELECT * FROM ");
		pgc_stage_name(b, st->old_stage);
		buf_addf(b, " LOOP\n    DELETE FROM %s WHERE ctid = ANY (ARRAY(SELECT t.ctid FROM %s t WHERE true",
		         table, table);
		pgc_guard_cond(b, st);
		buf_addstr(b, " LIMIT o.tally_n));\n    GET DIAGNOSTICS n = ROW_COUNT;\n    total := total + n;\n"
		           "  END LOOP;\n  END;\n");
	}
	buf_addf(b, "  n := total;\n  IF n <> %s THEN\n", rows);
	pgc_raise(b, st, "tally: check %s: %s %s rows of %s, expected %s; nothing was changed",
	          insert ? "inserted" : "deleted", rows);
	buf_addstr(b, "  END IF;\nEND\n");
}

/* The body of a step's DO block, from DECLARE to END. */
static void pgc_step_body(struct buf *b, const struct script_step *st)
{
	const char *table = st->t->sqlname;
	char rows[32];

	if (st->kind == STEP_MS_INSERT || st->kind == STEP_MS_DELETE) {
		pgc_copies_body(b, st);
		return;
	}
	snprintf(rows, sizeof(rows), "%" PRIu64, st->rows);
	buf_addstr(b, "DECLARE\n  n bigint;\n  bad text;\nBEGIN\n");
	if (st->kind == STEP_INSERT) {
		buf_addstr(b, "  SELECT ");
		pgc_keytext(b, st, "s");
		buf_addstr(b, " INTO bad FROM ");
		pgc_stage_name(b, st->new_stage);
		buf_addf(b, " s WHERE EXISTS (SELECT 1 FROM %s t WHERE ", table);
		pgc_key_cond(b, st, "t", "s");
		buf_addstr(b, ") LIMIT 1;\n  IF bad IS NOT NULL THEN\n");
		pgc_raise(b, st, "tally: check %s: a row of %s with key %s already exists; "
		          "nothing was changed", NULL, "bad");
		buf_addstr(b, "  END IF;\n");
	} else {
		buf_addf(b, "  PERFORM 1 FROM %s t JOIN ", table);
		pgc_stage_name(b, st->old_stage);
		buf_addstr(b, " o ON ");
		pgc_key_cond(b, st, "t", "o");
		buf_addstr(b, " FOR UPDATE OF t;\n  SELECT ");
		pgc_keytext(b, st, "o");
		buf_addstr(b, " INTO bad FROM ");
		pgc_stage_name(b, st->old_stage);
		buf_addf(b, " o\n   WHERE NOT EXISTS (SELECT 1 FROM %s t WHERE ", table);
		pgc_key_cond(b, st, "t", "o");
		pgc_guard_cond(b, st);
		buf_addstr(b, ") LIMIT 1;\n  IF bad IS NOT NULL THEN\n");
		pgc_raise(b, st, "tally: check %s: the row of %s with key %s no longer holds the "
		          "values tally read; nothing was changed", NULL, "bad");
		buf_addstr(b, "  END IF;\n");
	}

	switch (st->kind) {
	case STEP_INSERT: {
		bool identity = false;

		for (size_t i = 0; i < st->nset; i++)
			identity = identity || st->t->cols[st->set[i]].identity;
		buf_addf(b, "  INSERT INTO %s (", table);
		pgc_column_list(b, st, NULL);
		buf_addstr(b, identity ? ") OVERRIDING SYSTEM VALUE SELECT " : ") SELECT ");
		pgc_column_list(b, st, "s");
		buf_addstr(b, " FROM ");
		pgc_stage_name(b, st->new_stage);
		buf_addstr(b, " s;\n");
		break;
	}
	case STEP_UPDATE:
		buf_addf(b, "  UPDATE %s t SET ", table);
		for (size_t i = 0; i < st->nset; i++) {
			const char *name = st->t->cols[st->set[i]].name;

			if (i)
				buf_addstr(b, ", ");
			pgc_ident(b, name);
			buf_addstr(b, " = s.");
			pgc_ident(b, name);
		}
		/* Nothing to set still has to be valid SQL: keys keep their values. */
		if (st->nset == 0 && st->nkey > 0) {
			pgc_ident(b, st->t->cols[st->key[0]].name);
			buf_addstr(b, " = t.");
			pgc_ident(b, st->t->cols[st->key[0]].name);
		}
		buf_addstr(b, " FROM ");
		pgc_stage_name(b, st->new_stage);
		buf_addstr(b, " s WHERE ");
		pgc_key_cond(b, st, "t", "s");
		buf_addstr(b, ";\n");
		break;
	case STEP_DELETE:
		buf_addf(b, "  DELETE FROM %s t USING ", table);
		pgc_stage_name(b, st->old_stage);
		buf_addstr(b, " o WHERE ");
		pgc_key_cond(b, st, "t", "o");
		buf_addstr(b, ";\n");
		break;
	case STEP_MS_INSERT:
	case STEP_MS_DELETE:
		break;      /* pgc_copies_body */
	}

	buf_addf(b, "  GET DIAGNOSTICS n = ROW_COUNT;\n  IF n <> %s THEN\n", rows);
	pgc_raise(b, st, "tally: check %s: %s %s rows of %s, expected %s; nothing was changed",
	          st->kind == STEP_INSERT ? "inserted" : st->kind == STEP_UPDATE ? "updated" : "deleted",
	          rows);
	buf_addstr(b, "  END IF;\nEND\n");
}

static void pgc_script_begin(struct buf *out)
{
	buf_addstr(out,
	           "\\set ON_ERROR_STOP on\n"
	           "SET client_encoding = 'UTF8';\n"
	           "BEGIN;\n"
	           "SET LOCAL standard_conforming_strings = on;\n"
	           "SET LOCAL DateStyle = 'ISO, YMD';\n"
	           "SET LOCAL TimeZone = 'UTC';\n"
	           "SET LOCAL IntervalStyle = 'iso_8601';\n");
}

/* psql stops at the first error (ON_ERROR_STOP, set first): \echo runs only after a COMMIT that worked. */
static void pgc_script_end(struct buf *out, const char *success)
{
	buf_addf(out, "COMMIT;\n\\echo '%s'\n", success);
}

static void pgc_script_stage(struct buf *out, const char *stage, const struct tabdesc *t,
                             const size_t *cols, size_t ncols, bool counts)
{
	buf_addstr(out, "CREATE TEMP TABLE ");
	pgc_stage_name(out, stage);
	buf_addstr(out, " ON COMMIT DROP AS SELECT ");
	for (size_t i = 0; i < ncols; i++) {
		if (i)
			buf_addstr(out, ", ");
		pgc_ident(out, t->cols[cols[i]].name);
	}
	if (counts)
		buf_addstr(out, ", 0::bigint AS tally_have, 0::bigint AS tally_n");
	buf_addf(out, " FROM %s LIMIT 0;\n", t->sqlname);
}

static void pgc_script_stage_rows(struct buf *out, const char *stage)
{
	buf_addstr(out, "INSERT INTO ");
	pgc_stage_name(out, stage);
	buf_addstr(out, " VALUES\n");
}

static void pgc_script_unstage(struct buf *out, const char *stage)
{
	buf_addstr(out, "DROP TABLE ");
	pgc_stage_name(out, stage);
	buf_addstr(out, ";\n");
}

static void pgc_script_apply(struct buf *out, const struct script_step *st)
{
	struct buf body = BUF_INIT;
	char tag[32] = "$tally$";

	pgc_step_body(&body, st);
	for (unsigned i = 1; strstr(body.data, tag); i++)
		snprintf(tag, sizeof(tag), "$tally%u$", i);
	buf_addf(out, "DO %s\n", tag);
	buf_add(out, body.data, body.len);
	buf_addf(out, "%s;\n", tag);
	buf_release(&body);
}

/* ---- apply_command ------------------------------------------------- */

/* A word for the shell: bare when it is plainly safe, else single-quoted. */
static void pgc_shell_word(struct buf *out, const char *s)
{
	bool plain = *s != '\0';

	for (const char *p = s; *p && plain; p++)
		plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		        (*p >= '0' && *p <= '9') || strchr("_./:-", *p) != NULL;
	if (plain) {
		buf_addstr(out, s);
		return;
	}
	buf_addch(out, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			buf_addstr(out, "'\\''");
		else
			buf_addch(out, *s);
	}
	buf_addch(out, '\'');
}

/* keyword=value for a conninfo string; value quoted when it must be. */
static void pgc_conninfo_item(struct buf *out, const char *keyword, const char *value)
{
	bool plain = *value != '\0' && !strpbrk(value, " \t\n\r\f\v'\\");

	if (out->len)
		buf_addch(out, ' ');
	buf_addf(out, "%s=", keyword);
	if (plain) {
		buf_addstr(out, value);
		return;
	}
	buf_addch(out, '\'');
	for (; *value; value++) {
		if (*value == '\'' || *value == '\\')
			buf_addch(out, '\\');
		buf_addch(out, *value);
	}
	buf_addch(out, '\'');
}

static bool pgc_dsn_is_conninfo(const char *dsn)
{
	return strncmp(dsn, "postgresql://", 13) == 0 || strncmp(dsn, "postgres://", 11) == 0 ||
	       strchr(dsn, '=') != NULL;
}

/*
 * An sslmode, gssencmode or channel_binding no stronger than libpq's
 * default: left out, so the operator's own PGSSLMODE and the like apply.
 */
static bool pgc_is_weak(const char *keyword, const char *value)
{
	if (strcmp(keyword, "sslmode") != 0 && strcmp(keyword, "gssencmode") != 0 &&
	    strcmp(keyword, "channel_binding") != 0)
		return false;
	return strcmp(value, "require") != 0 && strcmp(value, "verify-ca") != 0 &&
	       strcmp(value, "verify-full") != 0;
}

/*
 * psql -X -v ON_ERROR_STOP=1 [-h HOST] [-p PORT] [-d DBNAME] -U USER -f FILE
 *
 * Only host, port and dbname come from the dsn: never its user (tally's
 * role is read-only; USER is a shell parameter the operator sets) and
 * never a password. When the dsn names a service or demands SSL/GSS
 * settings, -d carries them as a conninfo string with the dbname, so the
 * operator connects as securely as tally did. -X keeps a ~/.psqlrc out.
 */
static void pgc_script_apply_command(struct buf *out, const char *file, const char *dsn)
{
	static const char *const carried[] = {
		"service", "sslmode", "sslrootcert", "sslcrl", "sslcrldir", "sslcert", "sslkey",
		"sslsni", "ssl_min_protocol_version", "ssl_max_protocol_version", "requirepeer",
		"gssencmode", "krbsrvname", "channel_binding", "target_session_attrs",
	};
	const char *host = NULL, *hostaddr = NULL, *port = NULL, *dbname = NULL;
	PQconninfoOption *opts = NULL;
	struct buf extra = BUF_INIT;

	if (dsn && *dsn && pgc_dsn_is_conninfo(dsn)) {
		char *perr = NULL;

		opts = PQconninfoParse(dsn, &perr);
		PQfreemem(perr);
	} else if (dsn && *dsn) {
		dbname = dsn;     /* a bare name: open() takes it as the database */
	}
	for (PQconninfoOption *o = opts; o && o->keyword; o++) {
		if (!o->val || !*o->val)
			continue;
		if (strcmp(o->keyword, "host") == 0)
			host = o->val;
		else if (strcmp(o->keyword, "hostaddr") == 0)
			hostaddr = o->val;
		else if (strcmp(o->keyword, "port") == 0)
			port = o->val;
		else if (strcmp(o->keyword, "dbname") == 0)
			dbname = o->val;
	}
	for (size_t i = 0; i < sizeof(carried) / sizeof(carried[0]); i++)
		for (PQconninfoOption *o = opts; o && o->keyword; o++)
			if (o->val && *o->val && strcmp(o->keyword, carried[i]) == 0 &&
			    !pgc_is_weak(o->keyword, o->val))
				pgc_conninfo_item(&extra, o->keyword, o->val);

	buf_addstr(out, "psql -X -v ON_ERROR_STOP=1");
	if (host || hostaddr) {
		buf_addstr(out, " -h ");
		pgc_shell_word(out, host ? host : hostaddr);
	}
	if (port) {
		buf_addstr(out, " -p ");
		pgc_shell_word(out, port);
	}
	/* A dbname that psql would read as a conninfo goes in one. */
	if (extra.len || (dbname && pgc_dsn_is_conninfo(dbname))) {
		struct buf ci = BUF_INIT;

		if (dbname)
			pgc_conninfo_item(&ci, "dbname", dbname);
		if (ci.len && extra.len)
			buf_addch(&ci, ' ');
		buf_add(&ci, extra.data, extra.len);
		buf_addstr(out, " -d ");
		pgc_shell_word(out, ci.data);
		buf_release(&ci);
	} else if (dbname) {
		buf_addstr(out, " -d ");
		pgc_shell_word(out, dbname);
	}
	buf_addstr(out, " -U " PGC_REPAIR_USER " -f ");
	pgc_shell_word(out, file);
	buf_release(&extra);
	PQconninfoFree(opts);
}

const struct script_ops postgres_script = {
	.begin = pgc_script_begin,
	.end = pgc_script_end,
	.stage = pgc_script_stage,
	.stage_rows = pgc_script_stage_rows,
	.apply = pgc_script_apply,
	.unstage = pgc_script_unstage,
	.apply_command = pgc_script_apply_command,
};
