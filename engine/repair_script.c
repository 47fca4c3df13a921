/*
 * engine/repair_script.c
 *   REPAIR -> files: the repair and rollback scripts of each system, built
 *   from the assembled steps: the header, each step's blocks around the
 *   same fragments, the body hash, and repair_assemble(), which runs the
 *   whole assembly.
 */
#include "repair_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/zfile.h"
#include "tally_config.h"
#include "work.h"
/* ---- assembling: scripts ---------------------------------------------- */

static void hex128(char out[33], XXH128_hash_t h)
{
	XXH128_canonical_t c;

	XXH128_canonicalFromHash(&c, h);
	for (int i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", c.digest[i]);
}

/* Header text: control characters become spaces, so a line stays a comment. */
static void add_comment_text(struct buf *b, const char *s)
{
	for (; *s; s++)
		buf_addch(b, (unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s);
}

static const char *step_verb(enum step_kind k)
{
	return k == STEP_INSERT || k == STEP_MS_INSERT ? "insert" : k == STEP_UPDATE ? "update" : "delete";
}

/* Tables in foreign-key order, parents first; a cycle keeps its members in first-use order. */
struct body {
	FILE *fp;
	char *path;
	XXH3_state_t *xxh;
	int errnum;                 /* the first write's failure, 0 while none failed */
};

static void written(struct body *b, size_t want, size_t got)
{
	if (got != want && !b->errnum)
		b->errnum = errno ? errno : EIO;
}

static void emit(struct body *b, const struct buf *text)
{
	if (b->errnum || !text->len)
		return;
	written(b, text->len, fwrite(text->data, 1, text->len, b->fp));
	XXH3_128bits_update(b->xxh, text->data, text->len);
}

static int emit_file(struct body *b, FILE *in, const char *path, struct tally_err *err)
{
	char chunk[65536];
	size_t n;

	if (fseek(in, 0, SEEK_SET) != 0)
		return err_set(err, ERR_IO, "cannot read '%s': %s", path, strerror(errno));
	while ((n = fread(chunk, 1, sizeof(chunk), in)) > 0) {
		if (!b->errnum)
			written(b, n, fwrite(chunk, 1, n, b->fp));
		XXH3_128bits_update(b->xxh, chunk, n);
	}
	return ferror(in) ? err_set(err, ERR_IO, "cannot read '%s'", path) : 0;
}

static void add_cols(struct buf *b, const struct tabdesc *t, const size_t *cols, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf_addf(b, "%s%s", i ? ", " : "", t->cols[cols[i]].name);
}

/*
 * One step of a script: its comment, stages, rows, guarded block. In the
 * rollback the same fragments serve the inverse step.
 */
static int emit_step(struct body *b, const struct rsys *s, const struct step *st, bool rollback,
                     struct buf *tmp, struct tally_err *err)
{
	const struct script_ops *ops = s->ops->script;
	const struct repair_info *ri = st->rc->ri;
	const struct tabdesc *t = s->tables[st->table];
	enum step_kind k = repair_kind_in(st, rollback);
	struct script_step ss;
	size_t *set = NULL, nset = 0;
	int rc = 0;

	memset(&ss, 0, sizeof(ss));
	ss.kind = k;
	ss.check = ri->check;
	ss.t = t;
	ss.key = ri->key;
	ss.nkey = ri->nkey;
	ss.rows = st->rows;
	if (st->kind == STEP_MS_INSERT || st->kind == STEP_MS_DELETE) {
		/* One stage both ways; a row is named by all its values. */
		ss.key = ss.guard = ss.set = st->a.cols;
		ss.nkey = ss.nguard = ss.nset = st->a.ncols;
		ss.old_stage = st->a.stage;
		ss.have_sign = !rollback ? 0 : st->kind == STEP_MS_DELETE ? -1 : 1;
		buf_reset(tmp);
		buf_addf(tmp, "\n-- check %s: %s %llu cop%s of rows without a key %s %s\n", ri->check, step_verb(k),
		         (unsigned long long)st->rows, st->rows == 1 ? "y" : "ies", repair_inserts(k) ? "into" : "from",
		         t->display);
		ops->stage(tmp, st->a.stage, t, st->a.cols, st->a.ncols, true);
		emit(b, tmp);
		rc = emit_file(b, st->a.fp, st->a.path, err);
		buf_reset(tmp);
		ops->apply(tmp, &ss);
		ops->unstage(tmp, st->a.stage);
		emit(b, tmp);
		return rc;
	}
	if (!rollback) {
		ss.old_stage = st->kind == STEP_INSERT ? NULL : st->a.stage;
		ss.guard = st->a.cols;
		ss.nguard = st->a.ncols;
		ss.new_stage = st->kind == STEP_DELETE ? NULL : st->b.stage;
		ss.set = st->set;
		ss.nset = st->nset;
	} else if (st->kind == STEP_INSERT) {
		/* Delete what was inserted, if it still holds what was inserted. */
		ss.old_stage = st->b.stage;
		ss.guard = st->b.cols;
		ss.nguard = st->b.ncols;
	} else if (st->kind == STEP_DELETE) {
		/* Insert the before-images back. */
		ss.new_stage = st->a.stage;
		ss.set = st->a.cols;
		ss.nset = st->a.ncols;
	} else {
		/* Set every column back, where the row holds what the repair wrote. */
		ss.old_stage = st->b.stage;
		ss.guard = st->b.cols;
		ss.nguard = st->b.ncols;
		ss.new_stage = st->a.stage;
		for (size_t i = 0; i < st->a.ncols; i++) {
			size_t col = st->a.cols[i];

			if (!idx_has(ri->key, ri->nkey, col) && !t->cols[col].identity)
				set = idx_push(set, &nset, col);
		}
		ss.set = set;
		ss.nset = nset;
	}

	buf_reset(tmp);
	buf_addf(tmp, "\n-- check %s: %s %llu row%s %s %s", ri->check, step_verb(k), (unsigned long long)st->rows,
	         st->rows == 1 ? "" : "s", k == STEP_INSERT ? "into" : k == STEP_UPDATE ? "of" : "from",
	         t->display);
	if (k == STEP_UPDATE) {
		buf_addstr(tmp, ", setting ");
		add_cols(tmp, t, ss.set, ss.nset);
	}
	buf_addch(tmp, '\n');
	/* Stages: a holds before-images, b key and new values. */
	if (st->kind != STEP_INSERT)
		ops->stage(tmp, st->a.stage, t, st->a.cols, st->a.ncols, false);
	if (st->kind != STEP_DELETE)
		ops->stage(tmp, st->b.stage, t, st->b.cols, st->b.ncols, false);
	emit(b, tmp);
	if (st->kind != STEP_INSERT)
		rc = emit_file(b, st->a.fp, st->a.path, err);
	if (rc == 0 && st->kind != STEP_DELETE)
		rc = emit_file(b, st->b.fp, st->b.path, err);
	buf_reset(tmp);
	ops->apply(tmp, &ss);
	if (st->kind != STEP_INSERT)
		ops->unstage(tmp, st->a.stage);
	if (st->kind != STEP_DELETE)
		ops->unstage(tmp, st->b.stage);
	emit(b, tmp);
	free(set);
	return rc;
}

static void header(struct buf *h, const struct assembly *as, const struct rsys *s, bool rollback,
                   const char *file, const char *hash, bool cycle)
{
	const struct spec *sp = as->a->spec;
	uint64_t ins = rollback ? s->del : s->ins, del = rollback ? s->ins : s->del;

	buf_addf(h, "-- tally %s script for system '%s' (%s)\n", rollback ? "rollback" : "repair", s->name,
	         s->ops->dialect);
	buf_addstr(h, "--\n-- spec:       ");
	add_comment_text(h, sp->name);
	buf_addstr(h, " (");
	add_comment_text(h, sp->file);
	buf_addstr(h, ")\n-- reason:     ");
	add_comment_text(h, sp->reason ? sp->reason : "(none given)");
	if (sp->ticket) {
		buf_addstr(h, "\n-- ticket:     ");
		add_comment_text(h, sp->ticket);
	}
	buf_addf(h, "\n-- generated:  %s by tally %s\n-- system:     ", as->a->generated_at, TALLY_VERSION);
	add_comment_text(h, s->spec ? s->spec->dsn_shown : "?");
	buf_addf(h, "\n-- rows:       %llu inserted, %llu updated, %llu deleted\n", (unsigned long long)ins,
	         (unsigned long long)s->upd, (unsigned long long)del);
	for (size_t i = 0; i < as->nchecks; i++) {
		const struct rcheck *c = as->checks[i];

		if (c->sys != s)
			continue;
		buf_addf(h, "--   check %s on %s: %llu inserted, %llu updated, %llu deleted", c->ri->check,
		         s->tables[c->table]->display,
		         (unsigned long long)(rollback ? c->res->deletes : c->res->inserts),
		         (unsigned long long)c->res->updates,
		         (unsigned long long)(rollback ? c->res->inserts : c->res->deletes));
		if (c->res->duplicates)
			buf_addf(h, " (%llu more repaired identically by another check)",
			         (unsigned long long)c->res->duplicates);
		if (c->res->generated)
			buf_addf(h, "; %llu changed only in generated columns, which a repair cannot set",
			         (unsigned long long)c->res->generated);
		buf_addch(h, '\n');
	}
	buf_addstr(h, "-- fires on the tables written:\n");
	for (size_t i = 0; i < s->ntables; i++) {
		const struct tabdesc *t = s->tables[i];
		size_t shown = 0;

		for (size_t j = 0; j < t->ntriggers; j++, shown++)
			buf_addf(h, "--   %s: trigger %s %s %s%s\n", t->display, t->triggers[j].name, t->triggers[j].timing,
			         t->triggers[j].events, t->triggers[j].enabled ? "" : " (disabled)");
		for (size_t j = 0; j < t->nchildren; j++, shown++)
			buf_addf(h, "--   %s: foreign key %s from %s, ON DELETE %s, ON UPDATE %s\n", t->display,
			         t->children[j].name, t->children[j].table, t->children[j].on_delete,
			         t->children[j].on_update);
		if (t->triggers_unknown)
			buf_addf(h, "--   %s: triggers unknown: tally's user cannot see them (no TRIGGER "
			         "privilege); look with SHOW TRIGGERS before applying\n", t->display);
		else if (!shown)
			buf_addf(h, "--   %s: no triggers, no foreign keys from other tables\n", t->display);
	}
	if (cycle)
		buf_addstr(h, "-- note:       foreign keys among these tables form a cycle; statements follow\n"
		              "--             the checks' order there, and a constraint may stop the script\n");
	for (size_t i = 0; i < as->nchecks && !rollback; i++) {
		const struct rcheck *c = as->checks[i];
		const struct tabdesc *t;
		bool any = false;

		if (c->sys != s || !c->res->inserts)
			continue;
		t = s->tables[c->table];
		for (size_t col = 0; col < t->ncols; col++)
			if (!t->cols[col].generated && !idx_has(c->ri->ins, c->ri->nins, col)) {
				if (!any)
					buf_addf(h, "--   check %s: inserted rows take the default of ", c->ri->check);
				buf_addf(h, "%s%s", any ? ", " : "", t->cols[col].name);
				any = true;
			}
		if (any)
			buf_addch(h, '\n');
	}
	buf_addstr(h, "-- apply:      ");
	{
		struct buf cmd = BUF_INIT;

		s->ops->script->apply_command(&cmd, file, s->spec ? s->spec->dsn_shown : "");
		add_comment_text(h, cmd.data);
		buf_release(&cmd);
	}
	buf_addstr(h, "\n-- safety:     one transaction. Every UPDATE and DELETE first checks that each row\n"
	              "--             still holds, in every column, the values tally read; every INSERT that\n"
	              "--             its key is still absent. On any mismatch the script stops with an error\n"
	              "--             naming the check and the key, and nothing is changed.\n");
	if (!rollback)
		buf_addf(h, "-- undo:       rollback.%s restores every row this script changes\n",
		         file + strlen("repair."));
	else
		buf_addstr(h, "-- restores:   the rows the repair script changed, as tally read them; columns\n"
		              "--             the repair did not write are restored but not checked, because\n"
		              "--             triggers or ON UPDATE clauses may have changed them\n");
	buf_addf(h, "-- body:       xxh128 %s\n", hash);
	buf_addf(h, "--             (check: %s%s | sed '1,/^%s$/d' | xxhsum -H2)\n", as->a->compress ? "zstdcat " : "cat ",
	         file, HEADER_END);
	buf_addstr(h, HEADER_END "\n");
}

/* Header, then the body copied from the scratch file, into the pending script. */
static int copy_script(struct assembly *as, const char *name, const struct buf *h, struct body *b,
                       struct tally_err *err)
{
	const struct repair_asm *a = as->a;
	struct tally_err later;
	struct zfile z;
	char chunk[65536];
	size_t got;
	int rc = outdir_create(a->out, name, &z, 3, a->compress ? 0 : ZFILE_PLAIN, err);

	if (rc == 0)
		rc = zfile_write(&z, h->data, h->len, err);
	if (rc == 0 && fseek(b->fp, 0, SEEK_SET) != 0)
		rc = err_set(err, ERR_IO, "cannot read '%s': %s", b->path, strerror(errno));
	while (rc == 0 && (got = fread(chunk, 1, sizeof(chunk), b->fp)) > 0)
		rc = zfile_write(&z, chunk, got, err);
	if (rc == 0 && ferror(b->fp))
		rc = err_set(err, ERR_IO, "cannot read '%s'", b->path);
	if (zfile_close(&z, rc == 0 ? err : &later) < 0)
		rc = -1;
	return rc;
}

void repair_success_line(struct buf *out, bool rollback, const char *file, uint64_t inserted, uint64_t updated,
                         uint64_t deleted)
{
	uint64_t rows = inserted + updated + deleted;

	/* Plain ASCII without quotes or backslashes: the dialects print it in a quoted string. */
	buf_addstr(out, rollback ? "tally: rollback " : "tally: repair ");
	for (const char *p = file; *p; p++)
		buf_addch(out, *p < 0x20 || *p > 0x7e || *p == '\'' || *p == '\\' || *p == '"' ? '_' : *p);
	buf_addf(out, " applied: %llu row%s (%llu inserted, %llu updated, %llu deleted)", (unsigned long long)rows,
	         rows == 1 ? "" : "s", (unsigned long long)inserted, (unsigned long long)updated,
	         (unsigned long long)deleted);
}

static int write_script(struct assembly *as, struct rsys *s, bool rollback, struct tally_err *err)
{
	const struct repair_asm *a = as->a;
	char name[300], hash[33];
	struct body b = { NULL, NULL, NULL, 0 };
	struct buf tmp = BUF_INIT, h = BUF_INIT;
	struct step **steps;
	size_t n;
	bool cycle;
	int rc = 0;

	snprintf(name, sizeof(name), "%s.%s.sql%s", rollback ? "rollback" : "repair", s->name,
	         a->compress ? ".zst" : "");
	b.path = xasprintf("%s/%s.body", a->out->tmp, name);
	b.fp = fopen(b.path, "w+");
	if (!b.fp) {
		rc = err_set(err, ERR_IO, "cannot create '%s': %s", b.path, strerror(errno));
		free(b.path);
		return rc;
	}
	b.xxh = XXH3_createState();
	XXH3_128bits_reset(b.xxh);
	steps = repair_script_steps(s, rollback, &n, &cycle);
	s->ops->script->begin(&tmp);
	emit(&b, &tmp);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = emit_step(&b, s, steps[i], rollback, &tmp, err);
	buf_reset(&tmp);
	buf_addch(&tmp, '\n');
	{
		struct buf ok = BUF_INIT;
		char plain[300];

		/* The name the client runs: a .sql.zst script is decompressed first. */
		snprintf(plain, sizeof(plain), "%.*s", (int)(strlen(name) - (a->compress ? 4 : 0)), name);
		repair_success_line(&ok, rollback, plain, rollback ? s->del : s->ins, s->upd, rollback ? s->ins : s->del);
		s->ops->script->end(&tmp, ok.data);
		buf_release(&ok);
	}
	emit(&b, &tmp);
	free(steps);
	if (rc == 0 && !b.errnum && fflush(b.fp) != 0)
		b.errnum = errno;
	if (rc == 0 && b.errnum)
		rc = err_set(err, ERR_IO, "cannot write '%s': %s", b.path, strerror(b.errnum));
	hex128(hash, XXH3_128bits_digest(b.xxh));
	XXH3_freeState(b.xxh);

	/* The file: header, then the body copied (compressed when asked). */
	if (rc == 0) {
		header(&h, as, s, rollback, name, hash, cycle);
		rc = copy_script(as, name, &h, &b, err);
	}
	/* A scratch file, read back already: its close cannot lose what the script holds. */
	fclose(b.fp);
	unlink(b.path);
	free(b.path);
	buf_release(&tmp);
	buf_release(&h);
	if (rc == 0) {
		snprintf(rollback ? s->rollback : s->file, 300, "%s", name);
		memcpy(rollback ? s->rb_xxh128 : s->xxh128, hash, 33);
	}
	return rc;
}

int repair_assemble(const struct repair_asm *a, struct repair_result *res, struct tally_err *err)
{
	struct assembly as;
	int rc = 0;

	memset(&as, 0, sizeof(as));
	as.a = a;
	buf_init(&as.lit);
	buf_init(&as.rec);
	for (size_t i = 0; i < a->nchecks; i++) {
		struct rcheck *c;

		if (!a->info[i])
			continue;
		c = xcalloc(1, sizeof(*c));
		c->index = as.nchecks;
		c->ri = a->info[i];
		c->res = &res[i];
		c->res->system = a->info[i]->system;
		c->sys = repair_sys_get(&as, c->ri);
		c->table = repair_table_get(c->sys, &c->ri->t);
		as.checks = xrealloc(as.checks, (as.nchecks + 1) * sizeof(*as.checks));
		as.checks[as.nchecks++] = c;
	}
	for (size_t i = 0; i < as.nsys; i++)
		for (size_t t = 0; t < as.sys[i]->ntables; t++)
			if (as.sys[i]->writers[t] > 1)
				as.sys[i]->dd[t] = xcalloc(1, sizeof(struct dedupe));

	/* Records, check by check, part by part: the order of a single run. */
	for (size_t i = 0, ci = 0; i < a->nchecks && rc == 0; i++) {
		struct rcheck *c;
		struct step **steps;

		if (!a->info[i])
			continue;
		c = as.checks[ci++];
		for (size_t p = 0; p < a->nparts[i] && rc == 0; p++)
			rc = repair_read_part(&as, c, a->parts[i][p], err);
		steps = c->sys->steps;
		for (size_t s = 0; s < c->sys->nsteps && rc == 0; s++)
			if (steps[s]->rc == c && (repair_frag_close(&steps[s]->a, err) < 0 || repair_frag_close(&steps[s]->b, err) < 0))
				rc = -1;
		if (rc < 0)
			err_context(err, "check '%s': repair script for system '%s'", c->ri->check, c->ri->system);
	}
	for (size_t i = 0; i < as.nsys && rc == 0; i++) {
		struct rsys *s = as.sys[i];

		if (s->failed || s->ins + s->upd + s->del == 0)
			continue;
		if (write_script(&as, s, false, err) < 0 || write_script(&as, s, true, err) < 0)
			rc = -1;
	}
	for (size_t i = 0; i < as.nchecks && rc == 0; i++) {
		struct rcheck *c = as.checks[i];
		struct rsys *s = c->sys;

		if (s->failed) {
			c->res->failed = true;
			c->res->failure = xstrdup(s->failed);
			c->res->none = c->res->failure;
			continue;
		}
		if (c->res->inserts + c->res->updates + c->res->deletes == 0 && !c->res->duplicates) {
			c->res->none = c->res->generated ? "the rows differ only in generated columns, which a "
			                                   "repair cannot set" : "nothing to repair";
			continue;
		}
		memcpy(c->res->file, s->file, sizeof(c->res->file));
		memcpy(c->res->rollback, s->rollback, sizeof(c->res->rollback));
		memcpy(c->res->xxh128, s->xxh128, sizeof(c->res->xxh128));
		memcpy(c->res->rollback_xxh128, s->rb_xxh128, sizeof(c->res->rollback_xxh128));
	}
	repair_assembly_free(&as);
	return rc;
}
