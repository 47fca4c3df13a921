/*
 * connectors/mariadb/script.c
 *   engine/repair -> SCRIPT: the MariaDB dialect of repair scripts. Writes
 *   the statements that stage rows in temporary tables, the guarded
 *   blocks that apply them, and the client command that runs a script;
 *   the values themselves are written by mariadb_ops.literal (literal.c).
 *   Performs no I/O and needs no session.
 *
 * A script runs in the mariadb client, in one transaction:
 *
 *   SET NAMES utf8mb4; SET time_zone = '+00:00'; SET SESSION sql_mode = ... STRICT_ALL_TABLES;
 *   START TRANSACTION;
 *   CREATE TEMPORARY TABLE `stage` AS SELECT ... LIMIT 0;   (no implicit commit)
 *   INSERT INTO `stage` VALUES (...), ...;
 *   one BEGIN NOT ATOMIC ... END block per step, between DELIMITER lines
 *   DROP TEMPORARY TABLE `stage`;
 *   COMMIT;
 *
 * A block that finds a row no longer as tally read it, or a key that
 * already exists, or a row count other than expected, raises SQLSTATE
 * 45000 with a message naming the check and the key. The client stops at
 * the first error and disconnects, and the server rolls the transaction
 * back: nothing is changed. (A client run with --force would go on and
 * commit; apply_command turns it off.)
 *
 * Everything written is plain ASCII or UTF-8 without control characters
 * outside string constants written by mdb_add_text, so the client's own
 * parsing (quotes, comments, DELIMITER, backslash commands) cannot be led
 * astray by a name or a value.
 */
#include "my_int.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* SIGNAL refuses a MESSAGE_TEXT longer than this (in strict mode) instead of cutting it. */
#define MDB_MESSAGE_MAX 128

static void add_text(struct buf *out, const char *s)
{
	mdb_add_text(out, s, strlen(s));
}

/* alias.`column` */
static void add_col(struct buf *out, char alias, const struct coldesc *cd)
{
	buf_addch(out, alias);
	buf_addch(out, '.');
	mdb_quote_ident(out, cd->name);
}

/* Types whose <=> follows a collation (case, trailing spaces): compared as bytes. */
static bool string_like(enum ltype t)
{
	return t == LT_TEXT || t == LT_CHAR || t == LT_ENUM || t == LT_SET || t == LT_JSON;
}

/* Types whose value is bytes: shown as X'hex' in messages. */
static bool bytes_like(enum ltype t)
{
	return t == LT_BYTES || t == LT_BIT || t == LT_OTHER;
}

/*
 * K(a,b): a.`k1` = b.`k1` AND ...; the key as the table's unique index
 * sees it. A nullable key column matches NULL to NULL, as the merge did,
 * with <=>, which the index serves as well as =.
 */
static void add_key_join(struct buf *out, const struct script_step *st, char a, char b)
{
	for (size_t i = 0; i < st->nkey; i++) {
		const struct coldesc *cd = &st->t->cols[st->key[i]];

		if (i)
			buf_addstr(out, " AND ");
		add_col(out, a, cd);
		buf_addstr(out, cd->nullable ? " <=> " : " = ");
		add_col(out, b, cd);
	}
}

/* The exact comparison of one column of t and o. */
static void add_same(struct buf *out, const struct coldesc *cd)
{
	if (string_like(cd->type)) {
		buf_addstr(out, "BINARY ");
		add_col(out, 't', cd);
		buf_addstr(out, " <=> BINARY ");
		add_col(out, 'o', cd);
	} else {
		add_col(out, 't', cd);
		buf_addstr(out, " <=> ");
		add_col(out, 'o', cd);
	}
}

static bool in_list(const size_t *list, size_t n, size_t col)
{
	for (size_t i = 0; i < n; i++)
		if (list[i] == col)
			return true;
	return false;
}

/*
 * G: every guard column holds exactly what tally read. String-like key
 * columns are compared too: the join finds 'abc' for 'ABC' under a _ci
 * collation, and a key that changed case is a changed row.
 */
static void add_guard(struct buf *out, const struct script_step *st)
{
	for (size_t i = 0; i < st->nkey; i++) {
		const struct coldesc *cd = &st->t->cols[st->key[i]];

		if (string_like(cd->type) && !in_list(st->guard, st->nguard, st->key[i])) {
			buf_addstr(out, " AND ");
			add_same(out, cd);
		}
	}
	for (size_t i = 0; i < st->nguard; i++) {
		buf_addstr(out, " AND ");
		add_same(out, &st->t->cols[st->guard[i]]);
	}
}

/*
 * KEYTEXT(x): CONCAT('k1=', QUOTE(x.`k1`), ', k2=', ...), never NULL.
 * Text goes through utf8mb4 so a latin1 key and a non-latin1 constant do
 * not make an illegal mix of collations; bytes are shown in hex.
 */
static void add_keytext(struct buf *out, const struct script_step *st, char x)
{
	struct buf label = BUF_INIT;

	buf_addstr(out, "CONCAT(");
	for (size_t i = 0; i < st->nkey; i++) {
		const struct coldesc *cd = &st->t->cols[st->key[i]];

		buf_reset(&label);
		if (i)
			buf_addstr(&label, ", ");
		buf_addstr(&label, cd->name);
		buf_addch(&label, '=');
		if (i)
			buf_addstr(out, ", ");
		mdb_add_text(out, label.data, label.len);
		buf_addstr(out, ", ");
		if (bytes_like(cd->type)) {
			buf_addstr(out, "IFNULL(CONCAT('X''', HEX(");
			add_col(out, x, cd);
			buf_addstr(out, "), ''''), 'NULL')");
		} else {
			buf_addstr(out, "CONVERT(QUOTE(");
			add_col(out, x, cd);
			buf_addstr(out, ") USING utf8mb4)");
		}
	}
	buf_addch(out, ')');
	buf_release(&label);
}

/* At most MDB_MESSAGE_MAX characters of UTF-8 text s. */
static size_t message_cut(const char *s, size_t n)
{
	size_t chars = 0, i;

	for (i = 0; i < n; i++) {
		if (((unsigned char)s[i] & 0xc0) == 0x80)
			continue;
		if (chars++ == MDB_MESSAGE_MAX)
			break;
	}
	return i;
}

/* IF bad IS NOT NULL THEN SET bad = LEFT(CONCAT(pre, bad, post), 128); SIGNAL ...; END IF; */
static void add_raise_bad(struct buf *out, const char *check, const char *display,
                          const char *what)
{
	struct buf s = BUF_INIT;

	buf_addstr(out, "  IF bad IS NOT NULL THEN\n    SET bad = LEFT(CONCAT(");
	buf_addf(&s, "tally: check %s: row ", check);
	add_text(out, s.data);
	buf_addstr(out, ", bad, ");
	buf_reset(&s);
	buf_addf(&s, " of %s %s; nothing was changed", display, what);
	add_text(out, s.data);
	buf_addf(out, "), %d);\n", MDB_MESSAGE_MAX);
	buf_addstr(out, "    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = bad;\n  END IF;\n");
	buf_release(&s);
}

static void mdb_script_begin(struct buf *out)
{
	/*
	 * Strict, whatever the server's mode: a value the literal writer let
	 * through but the column cannot hold (a character set tally does not
	 * know) fails the script instead of being clipped or replaced by '?'.
	 */
	buf_addstr(out, "SET NAMES utf8mb4;\nSET time_zone = '+00:00';\n"
	           "SET SESSION sql_mode = CONCAT_WS(',', NULLIF(@@SESSION.sql_mode, ''), 'STRICT_ALL_TABLES');\n"
	           "START TRANSACTION;\n");
}

/*
 * The client reading a script stops at the first error (--skip-force), so
 * the SELECT runs only after a COMMIT that worked; in batch mode it prints
 * the column name, then the line.
 */
static void mdb_script_end(struct buf *out, const char *success)
{
	buf_addf(out, "COMMIT;\nSELECT '%s' AS tally;\n", success);
}

static void mdb_script_stage(struct buf *out, const char *stage, const struct tabdesc *t,
                             const size_t *cols, size_t ncols, bool counts)
{
	buf_addstr(out, "CREATE TEMPORARY TABLE ");
	mdb_quote_ident(out, stage);
	buf_addstr(out, " AS SELECT ");
	for (size_t i = 0; i < ncols; i++) {
		if (i)
			buf_addstr(out, ", ");
		mdb_quote_ident(out, t->cols[cols[i]].name);
	}
	if (counts)
		buf_addstr(out, ", CAST(0 AS SIGNED) AS tally_have, CAST(0 AS SIGNED) AS tally_n");
	buf_addf(out, " FROM %s LIMIT 0;\n", t->sqlname);
}

/*
 * Copies of rows without a key. Every row of the table is locked first,
 * so no copy appears or goes between the count and the change; then a
 * cursor walks the staged rows, with a variable of each column's own type
 * (and character set, so that values compare byte for byte), and inserts
 * or deletes (DELETE ... LIMIT) the copies one row at a time.
 */
static void mdb_copies_block(struct buf *out, const struct script_step *st)
{
	const bool insert = st->kind == STEP_MS_INSERT;
	struct buf msg = BUF_INIT;

	buf_addstr(out, "  DECLARE total BIGINT DEFAULT 0;\n");
	buf_addf(out, "  SELECT COUNT(*) INTO n FROM %s FOR UPDATE;\n  SELECT ", st->t->sqlname);
	add_keytext(out, st, 'o');
	buf_addstr(out, " INTO bad FROM ");
	mdb_quote_ident(out, st->old_stage);
	buf_addf(out, " o\n   WHERE (SELECT COUNT(*) FROM %s t WHERE TRUE", st->t->sqlname);
	for (size_t i = 0; i < st->nguard; i++) {
		buf_addstr(out, " AND ");
		add_same(out, &st->t->cols[st->guard[i]]);
	}
	buf_addf(out, ") <> o.tally_have%s LIMIT 1;\n",
	         st->have_sign < 0 ? " - o.tally_n" : st->have_sign > 0 ? " + o.tally_n" : "");
	add_raise_bad(out, st->check, st->t->display, "does not have the copies tally counted");
	buf_addstr(out, "  BEGIN\n    DECLARE done INT DEFAULT 0;\n    DECLARE k BIGINT DEFAULT 0;\n"
	           "    DECLARE vn BIGINT;\n");
	for (size_t i = 0; i < st->nset; i++) {
		const struct coldesc *cd = &st->t->cols[st->set[i]];

		buf_addf(out, "    DECLARE v%zu %s", i, cd->native);
		if (cd->charset && string_like(cd->type))
			buf_addf(out, " CHARACTER SET %s", cd->charset);
		buf_addstr(out, ";\n");
	}
	/* Columns are always qualified: in a block, a bare `n` would be the variable n. */
	buf_addstr(out, "    DECLARE cur CURSOR FOR SELECT ");
	for (size_t i = 0; i < st->nset; i++) {
		add_col(out, 's', &st->t->cols[st->set[i]]);
		buf_addstr(out, ", ");
	}
	buf_addstr(out, "s.tally_n FROM ");
	mdb_quote_ident(out, st->old_stage);
	buf_addstr(out, " s;\n    DECLARE CONTINUE HANDLER FOR NOT FOUND SET done = 1;\n    OPEN cur;\n"
	           "    copies: LOOP\n      FETCH cur INTO ");
	for (size_t i = 0; i < st->nset; i++)
		buf_addf(out, "v%zu, ", i);
	buf_addstr(out, "vn;\n      IF done THEN\n        LEAVE copies;\n      END IF;\n");
	if (insert) {
		buf_addf(out, "      SET k = 0;\n      WHILE k < vn DO\n        INSERT INTO %s (", st->t->sqlname);
		for (size_t i = 0; i < st->nset; i++) {
			if (i)
				buf_addstr(out, ", ");
			mdb_quote_ident(out, st->t->cols[st->set[i]].name);
		}
		buf_addstr(out, ") VALUES (");
		for (size_t i = 0; i < st->nset; i++)
			buf_addf(out, "%sv%zu", i ? ", " : "", i);
		buf_addstr(out, ");\n        SET total = total + ROW_COUNT();\n        SET k = k + 1;\n"
		           "      END WHILE;\n");
	} else {
		buf_addf(out, "      DELETE FROM %s WHERE TRUE", st->t->sqlname);
		for (size_t i = 0; i < st->nset; i++) {
			const struct coldesc *cd = &st->t->cols[st->set[i]];

			buf_addstr(out, " AND ");
			if (string_like(cd->type))
				buf_addstr(out, "BINARY ");
			buf_addf(out, "%s.", st->t->sqlname);
			mdb_quote_ident(out, cd->name);
			buf_addf(out, string_like(cd->type) ? " <=> BINARY v%zu" : " <=> v%zu", i);
		}
		buf_addstr(out, " LIMIT vn;\n      SET total = total + ROW_COUNT();\n");
	}
	buf_addstr(out, "    END LOOP;\n    CLOSE cur;\n  END;\n");
	buf_addf(out, "  IF total <> %llu THEN\n    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = ",
	         (unsigned long long)st->rows);
	buf_addf(&msg, "tally: check %s: %s a different number of rows than %llu; nothing was changed", st->check,
	         insert ? "inserted" : "deleted", (unsigned long long)st->rows);
	mdb_add_text(out, msg.data, message_cut(msg.data, msg.len));
	buf_addstr(out, ";\n  END IF;\nEND //\nDELIMITER ;\n");
	buf_release(&msg);
}

static void mdb_script_stage_rows(struct buf *out, const char *stage)
{
	buf_addstr(out, "INSERT INTO ");
	mdb_quote_ident(out, stage);
	buf_addstr(out, " VALUES\n");
}

static void mdb_script_unstage(struct buf *out, const char *stage)
{
	buf_addstr(out, "DROP TEMPORARY TABLE ");
	mdb_quote_ident(out, stage);
	buf_addstr(out, ";\n");
}

/* UPDATE, DELETE: lock the rows, then check they still hold what tally read. */
static void add_lock_and_guard(struct buf *out, const struct script_step *st)
{
	buf_addf(out, "  SELECT COUNT(*) INTO n FROM %s t JOIN ", st->t->sqlname);
	mdb_quote_ident(out, st->old_stage);
	buf_addstr(out, " o ON ");
	add_key_join(out, st, 't', 'o');
	buf_addstr(out, " FOR UPDATE;\n  SELECT ");
	add_keytext(out, st, 'o');
	buf_addstr(out, " INTO bad FROM ");
	mdb_quote_ident(out, st->old_stage);
	buf_addf(out, " o\n   WHERE NOT EXISTS (SELECT 1 FROM %s t WHERE ", st->t->sqlname);
	add_key_join(out, st, 't', 'o');
	add_guard(out, st);
	buf_addstr(out, ") LIMIT 1;\n");
	add_raise_bad(out, st->check, st->t->display, "changed since tally read it");
}

/* INSERT: no key of the new rows may exist. */
static void add_absent_check(struct buf *out, const struct script_step *st)
{
	buf_addstr(out, "  SELECT ");
	add_keytext(out, st, 's');
	buf_addstr(out, " INTO bad FROM ");
	mdb_quote_ident(out, st->new_stage);
	buf_addf(out, " s\n   WHERE EXISTS (SELECT 1 FROM %s t WHERE ", st->t->sqlname);
	add_key_join(out, st, 't', 's');
	buf_addstr(out, ") LIMIT 1;\n");
	add_raise_bad(out, st->check, st->t->display, "already exists");
}

static void mdb_script_apply(struct buf *out, const struct script_step *st)
{
	static const char *const verb[] = { "inserted", "updated", "deleted" };
	struct buf msg = BUF_INIT;

	buf_addstr(out, "DELIMITER //\nBEGIN NOT ATOMIC\n"
	           "  DECLARE bad TEXT CHARACTER SET utf8mb4 DEFAULT NULL;\n"
	           "  DECLARE n BIGINT DEFAULT 0;\n");
	if (st->kind == STEP_MS_INSERT || st->kind == STEP_MS_DELETE) {
		mdb_copies_block(out, st);
		return;
	}
	switch (st->kind) {
	case STEP_INSERT:
		add_absent_check(out, st);
		buf_addf(out, "  INSERT INTO %s (", st->t->sqlname);
		for (size_t i = 0; i < st->nset; i++) {
			if (i)
				buf_addstr(out, ", ");
			mdb_quote_ident(out, st->t->cols[st->set[i]].name);
		}
		buf_addstr(out, ") SELECT ");
		for (size_t i = 0; i < st->nset; i++) {
			if (i)
				buf_addstr(out, ", ");
			add_col(out, 's', &st->t->cols[st->set[i]]);
		}
		buf_addstr(out, " FROM ");
		mdb_quote_ident(out, st->new_stage);
		buf_addstr(out, " s;\n");
		break;
	case STEP_UPDATE:
		add_lock_and_guard(out, st);
		buf_addf(out, "  UPDATE %s t JOIN ", st->t->sqlname);
		mdb_quote_ident(out, st->new_stage);
		buf_addstr(out, " s ON ");
		add_key_join(out, st, 't', 's');
		buf_addstr(out, " SET ");
		for (size_t i = 0; i < st->nset; i++) {
			const struct coldesc *cd = &st->t->cols[st->set[i]];

			if (i)
				buf_addstr(out, ", ");
			add_col(out, 't', cd);
			buf_addstr(out, " = ");
			add_col(out, 's', cd);
		}
		buf_addstr(out, ";\n");
		break;
	case STEP_DELETE:
		add_lock_and_guard(out, st);
		buf_addf(out, "  DELETE t FROM %s t JOIN ", st->t->sqlname);
		mdb_quote_ident(out, st->old_stage);
		buf_addstr(out, " o ON ");
		add_key_join(out, st, 't', 'o');
		buf_addstr(out, ";\n");
		break;
	case STEP_MS_INSERT:
	case STEP_MS_DELETE:
		break;      /* mdb_copies_block */
	}
	/* ROW_COUNT() of an UPDATE counts changed rows: tally updates only rows that differ */
	buf_addf(out, "  IF ROW_COUNT() <> %llu THEN\n"
	         "    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = ", (unsigned long long)st->rows);
	buf_addf(&msg, "tally: check %s: %s a different number of rows than %llu; nothing was "
	         "changed", st->check, verb[st->kind], (unsigned long long)st->rows);
	mdb_add_text(out, msg.data, message_cut(msg.data, msg.len));
	buf_addstr(out, ";\n  END IF;\nEND //\nDELIMITER ;\n");
	buf_release(&msg);
}

/* ---- the client command ------------------------------------------------------ */

/* A word for sh: as is when it is safe, else in single quotes ('\'' for a quote). */
static void add_shell_word(struct buf *out, const char *s)
{
	bool plain = *s != '\0';

	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("_./:-", *p))
			plain = false;
	if (plain) {
		buf_addstr(out, s);
		return;
	}
	buf_addch(out, '\'');
	for (const char *p = s; *p; p++) {
		if (*p == '\'')
			buf_addstr(out, "'\\''");
		else
			buf_addch(out, *p);
	}
	buf_addch(out, '\'');
}

/*
 * script_ops.apply_command: the client command an operator runs. The dsn gives the server and the database
 * only: its user is tally's read-only one, so the account is the
 * placeholder OPERATOR, and -p makes the client ask for the password (a
 * password in the dsn is never written). --skip-force overrides a `force`
 * in an option file: a client that goes on after an error would commit the
 * steps before and after the failed one.
 */
void mdb_apply_command(struct buf *out, const char *file, const char *dsn)
{
	struct conn_cfg cfg = { .system = "?", .side = "?", .dsn = dsn, .dsn_shown = "?" };
	struct tally_err err;
	struct mdb_dsn d;
	char port[16];

	buf_addstr(out, "mariadb --default-character-set=utf8mb4 --skip-force ");
	if (mdb_dsn_parse(&d, &cfg, &err) < 0) {
		buf_addstr(out, "-h HOST -P PORT -u OPERATOR -p -D DATABASE < ");
	} else {
		if (d.socket) {
			buf_addstr(out, "-S ");
			add_shell_word(out, d.socket);
		} else {
			snprintf(port, sizeof(port), "%u", d.port);
			buf_addstr(out, "-h ");
			add_shell_word(out, d.host);
			buf_addstr(out, " -P ");
			buf_addstr(out, port);
		}
		buf_addstr(out, " -u OPERATOR -p -D ");
		add_shell_word(out, d.db);
		buf_addstr(out, " < ");
	}
	mdb_dsn_release(&d);
	add_shell_word(out, file);
}


const struct script_ops mariadb_script = {
	.begin = mdb_script_begin,
	.end = mdb_script_end,
	.stage = mdb_script_stage,
	.stage_rows = mdb_script_stage_rows,
	.apply = mdb_script_apply,
	.unstage = mdb_script_unstage,
	.apply_command = mdb_apply_command,
};
