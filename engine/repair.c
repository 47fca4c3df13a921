/*
 * engine/repair.c
 *   merge -> REPAIR -> scripts: records per part while comparing, then
 *   steps, fragments and scripts when assembling.
 *
 * A record is one repaired row: its kind, for an UPDATE the set of changed
 * columns, its canonical key (for rows two checks repair), and two row
 * texts of SQL literals:
 *   a  the before-image (every non-generated column) as read from the
 *      written side: the guard of an UPDATE or DELETE, and what the
 *      rollback writes back;
 *   b  the key and the new values: what an INSERT or UPDATE writes, and
 *      the guard of its rollback.
 * Assembling groups records into steps (one INSERT step, one DELETE step,
 * one UPDATE step per set of changed columns, per check) and writes each
 * step's a and b rows to fragment files of complete
 * "INSERT INTO stage VALUES ..." batches; the repair and rollback scripts
 * then copy the same fragments, with different blocks around them.
 */
#include "repair.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "base/buf.h"
#include "canon.h"
#include "tally_config.h"
#include "tz.h"
#include "work.h"
#include "base/zfile.h"

#define BATCH_ROWS 1000
#define HEADER_END "-- end of tally header"

enum {
	REC_INSERT = 'I', REC_UPDATE = 'U', REC_DELETE = 'D', REC_FAILED = 'F',
	REC_MS_INSERT = 'i', REC_MS_DELETE = 'd',     /* copies of keyless rows: counts end the row text */
	REC_GENERATED = 'G',        /* a row changed only in generated columns: counted, not written */
};

static size_t *idx_push(size_t *a, size_t *n, size_t v)
{
	a = xrealloc(a, (*n + 1) * sizeof(size_t));
	a[(*n)++] = v;
	return a;
}

static bool idx_has(const size_t *a, size_t n, size_t v)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] == v)
			return true;
	return false;
}

/* ---- repair_info ------------------------------------------------------ */

static json_t *idx_json(const size_t *a, size_t n)
{
	json_t *j = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(j, json_integer((json_int_t)a[i]));
	return j;
}

static size_t *idx_of(json_t *j, size_t *n, size_t limit, bool *bad)
{
	size_t *a, i;
	json_t *x;

	*n = json_array_size(j);
	a = xcalloc(*n ? *n : 1, sizeof(size_t));
	json_array_foreach(j, i, x) {
		json_int_t v = json_integer_value(x);

		if (!json_is_integer(x) || v < 0 || (size_t)v >= limit)
			*bad = true;
		else
			a[i] = (size_t)v;
	}
	return a;
}

void repair_info_from_plan(struct repair_info *ri, const struct plan *p, const char *system,
                           const struct conn_ops *ops)
{
	const int w = p->repair_side;
	const struct tabdesc *t = &p->desc[w];
	json_t *tj = tabdesc_json(t);
	struct tally_err ignored;

	memset(ri, 0, sizeof(*ri));
	ri->check = xstrdup(p->check->name);
	ri->system = xstrdup(system);
	ri->driver = xstrdup(ops->driver);
	ri->ops = ops;
	ri->plan = p;
	/* An owned copy through the same form run.json keeps. */
	tabdesc_from_json(&ri->t, tj, &ignored);
	json_decref(tj);
	for (size_t i = 0; i < p->nkey; i++)
		ri->key = idx_push(ri->key, &ri->nkey, p->key[i].col[w]);
	for (size_t c = 0; c < t->ncols; c++)
		if (!t->cols[c].generated)
			ri->img = idx_push(ri->img, &ri->nimg, c);
	for (size_t j = 0; j < p->ncmp; j++)
		ri->cmp = idx_push(ri->cmp, &ri->ncmp, p->cmp[j].col[w]);
	/* INSERT: key, compared and carried columns, as the other side has them. */
	for (size_t i = 0; i < p->nkey + p->ncmp + p->ncarry; i++) {
		const struct plan_col *pc = i < p->nkey ? &p->key[i]
		                          : i < p->nkey + p->ncmp ? &p->cmp[i - p->nkey]
		                          : &p->carry[i - p->nkey - p->ncmp];
		size_t col = pc->col[w];

		if (t->cols[col].generated || idx_has(ri->ins, ri->nins, col))
			continue;
		ri->ins = idx_push(ri->ins, &ri->nins, col);
		ri->ins_pos = xrealloc(ri->ins_pos, ri->nins * sizeof(size_t));
		ri->ins_canon = xrealloc(ri->ins_canon, ri->nins * sizeof(struct canon_col));
		ri->ins_tz = xrealloc(ri->ins_tz, ri->nins * sizeof(*ri->ins_tz));
		ri->ins_pos[ri->nins - 1] = i;
		ri->ins_canon[ri->nins - 1] = canon_col_exact(&pc->canon[1 - w]);
		ri->ins_tz[ri->nins - 1] = pc->canon[w].tz;
	}
}

json_t *repair_info_json(const struct repair_info *ri)
{
	return json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o}", "check", ri->check, "system", ri->system,
	                 "driver", ri->driver, "table", tabdesc_json(&ri->t), "key", idx_json(ri->key, ri->nkey),
	                 "img", idx_json(ri->img, ri->nimg), "ins", idx_json(ri->ins, ri->nins),
	                 "cmp", idx_json(ri->cmp, ri->ncmp));
}

int repair_info_from_json(struct repair_info *ri, json_t *j, struct tally_err *err)
{
	const char *check = json_string_value(json_object_get(j, "check"));
	const char *system = json_string_value(json_object_get(j, "system"));
	const char *driver = json_string_value(json_object_get(j, "driver"));
	bool bad = false;

	memset(ri, 0, sizeof(*ri));
	if (!check || !system || !driver)
		return err_set(err, ERR_IO, "repair description is malformed");
	ri->ops = conn_driver(driver);
	if (!ri->ops)
		return err_set(err, ERR_IO, "repair description names an unknown driver '%s'", driver);
	if (tabdesc_from_json(&ri->t, json_object_get(j, "table"), err) < 0)
		return -1;
	ri->check = xstrdup(check);
	ri->system = xstrdup(system);
	ri->driver = xstrdup(driver);
	ri->key = idx_of(json_object_get(j, "key"), &ri->nkey, ri->t.ncols, &bad);
	ri->img = idx_of(json_object_get(j, "img"), &ri->nimg, ri->t.ncols, &bad);
	ri->ins = idx_of(json_object_get(j, "ins"), &ri->nins, ri->t.ncols, &bad);
	ri->cmp = idx_of(json_object_get(j, "cmp"), &ri->ncmp, ri->t.ncols, &bad);
	if (bad) {
		repair_info_release(ri);
		return err_set(err, ERR_IO, "repair description of check '%s' is malformed", check);
	}
	return 0;
}

void repair_info_release(struct repair_info *ri)
{
	if (!ri)
		return;
	free(ri->check);
	free(ri->system);
	free(ri->driver);
	tabdesc_release(&ri->t);
	free(ri->key);
	free(ri->img);
	free(ri->ins);
	free(ri->cmp);
	free(ri->ins_pos);
	free(ri->ins_canon);
	free(ri->ins_tz);
	memset(ri, 0, sizeof(*ri));
}

/* ---- the writer ------------------------------------------------------- */

struct repair_writer {
	const struct repair_info *ri;
	struct zfile z;
	bool failed;                /* a row could not be written; the record says why */
	struct buf ra, rb, lit, scratch, enc, rec;
	uint8_t *bits;
};

struct repair_writer *repair_writer_new(const struct repair_info *ri, const char *path,
                                        struct tally_err *err)
{
	struct repair_writer *w = xcalloc(1, sizeof(*w));

	w->ri = ri;
	buf_init(&w->ra);
	buf_init(&w->rb);
	buf_init(&w->lit);
	buf_init(&w->scratch);
	buf_init(&w->enc);
	buf_init(&w->rec);
	w->bits = xcalloc(ri->ncmp / 8 + 1, 1);
	if (zfile_create(&w->z, path, 1, 0, err) < 0) {
		repair_writer_free(w);
		return NULL;
	}
	return w;
}

/*
 * Appends one value to out as a literal of column col of the written
 * table: read as cc says, and, when the written column holds local time
 * in zone wtz (timezone:), turned from the instant into that local time.
 */
static int put_literal(struct repair_writer *w, struct buf *out, size_t col, const struct canon_col *cc,
                       const struct tz *wtz, bool raw_text, const char *v, size_t len, struct tally_err *err)
{
	const struct tabdesc *t = &w->ri->t;
	struct sqlval sv;

	memset(&sv, 0, sizeof(sv));
	if (!v) {
		sv.kind = SV_NULL;
	} else if (raw_text) {
		sv.kind = SV_RAW;
		sv.s = v;
		sv.len = len;
	} else if (cc->cls == CC_JSON && cc->type == LT_JSON) {
		/* A document as its side wrote it: its meaning was compared, its text is what is stored. */
		sv.kind = SV_TEXT;
		sv.s = v;
		sv.len = len;
	} else {
		buf_reset(&w->enc);
		if (canon_encode(&w->enc, cc, v, len, err) < 0 ||
		    canon_decode((const uint8_t *)w->enc.data, w->enc.len, &sv, &w->scratch) == 0)
			return err_set(err, ERR_DATA, "column '%s' of %s: a value cannot be converted",
			               t->cols[col].name, t->display);
		if (wtz && sv.kind == SV_TIMESTAMPTZ && sv.special == SVS_NONE) {
			sv.kind = SV_TIMESTAMP;
			sv.i += (int64_t)tz_offset_at(wtz, sv.i) * 1000000;
		}
	}
	/* The statement would fail when applied: say why now, and write no script. */
	if (sv.kind == SV_NULL && !t->cols[col].nullable)
		return err_set(err, ERR_DATA, "column '%s' of %s is NOT NULL and the value to write is NULL",
		               t->cols[col].name, t->display);
	buf_reset(&w->lit);
	if (w->ri->ops->literal(&w->lit, &t->cols[col], &sv, err) < 0)
		return -1;
	buf_add(out, w->lit.data, w->lit.len);
	return 0;
}

/* The before-image of a row of the written side. */
static int image_row(struct repair_writer *w, const struct mrow *m, struct tally_err *err)
{
	const struct plan *p = w->ri->plan;
	const struct rawrow *raw = m->raw;

	buf_reset(&w->ra);
	buf_addch(&w->ra, '(');
	for (size_t i = 0; i < w->ri->nimg; i++) {
		size_t col = w->ri->img[i];
		long pos = p->pos[p->repair_side][col];

		if (i)
			buf_addstr(&w->ra, ", ");
		if (put_literal(w, &w->ra, col, &p->own[col], NULL, p->own_raw[col], raw->val[pos], raw->len[pos],
		                err) < 0)
			return -1;
	}
	buf_addch(&w->ra, ')');
	return 0;
}

/* The values an INSERT writes, from the other side's row. */
static int insert_row(struct repair_writer *w, const struct mrow *m, struct tally_err *err)
{
	const struct repair_info *ri = w->ri;
	const struct rawrow *raw = m->raw;

	buf_reset(&w->rb);
	buf_addch(&w->rb, '(');
	for (size_t i = 0; i < ri->nins; i++) {
		size_t pos = ri->ins_pos[i];

		if (i)
			buf_addstr(&w->rb, ", ");
		if (put_literal(w, &w->rb, ri->ins[i], &ri->ins_canon[i], ri->ins_tz[i], false, raw->val[pos], raw->len[pos],
		                err) < 0)
			return -1;
	}
	buf_addch(&w->rb, ')');
	return 0;
}

/* The key (from the written side) and the changed columns (from the other). */
static int update_row(struct repair_writer *w, const struct mrow *wm, const struct mrow *om,
                      struct tally_err *err)
{
	const struct plan *p = w->ri->plan;
	const int ws = p->repair_side;
	const struct rawrow *wraw = wm->raw, *oraw = om->raw;

	buf_reset(&w->rb);
	buf_addch(&w->rb, '(');
	for (size_t i = 0; i < p->nkey; i++) {
		size_t col = p->key[i].col[ws];

		if (i)
			buf_addstr(&w->rb, ", ");
		if (put_literal(w, &w->rb, col, &p->own[col], NULL, p->own_raw[col], wraw->val[i], wraw->len[i],
		                err) < 0)
			return -1;
	}
	for (size_t j = 0; j < p->ncmp; j++) {
		const struct plan_col *pc = &p->cmp[j];
		struct canon_col cc;

		if (!(w->bits[j / 8] & (1u << (j % 8))))
			continue;
		/* The exact value, not a normalized one: no scale, precision or trim. */
		cc = canon_col_exact(&pc->canon[1 - ws]);
		buf_addstr(&w->rb, ", ");
		if (put_literal(w, &w->rb, pc->col[ws], &cc, pc->canon[ws].tz, false, oraw->val[p->nkey + j], oraw->len[p->nkey + j],
		                err) < 0)
			return -1;
	}
	buf_addch(&w->rb, ')');
	return 0;
}

static void put_chunk(struct buf *b, const void *p, size_t n)
{
	buf_add_le32(b, (uint32_t)n);
	buf_add(b, p, n);
}

static int emit_record(struct repair_writer *w, uint8_t kind, const uint8_t *bits, size_t nbits,
                       const struct mrow *keyrow, struct tally_err *err)
{
	buf_reset(&w->rec);
	buf_addch(&w->rec, (char)kind);
	put_chunk(&w->rec, bits, bits ? nbits : 0);
	put_chunk(&w->rec, keyrow->bytes, keyrow->keylen);
	put_chunk(&w->rec, w->ra.data, w->ra.len);
	put_chunk(&w->rec, w->rb.data, w->rb.len);
	return zfile_write(&w->z, w->rec.data, w->rec.len, err);
}

int repair_row(void *ctx, enum diff_kind kind, const struct mrow *src, const struct mrow *tgt,
               const uint8_t *changed, struct tally_err *err)
{
	struct repair_writer *w = ctx;
	const struct repair_info *ri = w->ri;
	const struct plan *p = ri->plan;
	const int ws = p->repair_side;
	const struct mrow *wm = ws == SIDE_SOURCE ? src : tgt, *om = ws == SIDE_SOURCE ? tgt : src;
	size_t nbits = (p->ncmp + 7) / 8;
	struct tally_err e;
	uint8_t k;
	int rc;

	if (w->failed)
		return 0;
	if (kind == DIFF_CHANGED)
		k = REC_UPDATE;
	else if (p->check->expect == EXPECT_ABSENT)
		k = REC_DELETE;
	else if ((kind == DIFF_MISSING) == (ws == SIDE_TARGET))
		k = REC_INSERT;
	else
		k = REC_DELETE;

	buf_reset(&w->ra);
	buf_reset(&w->rb);
	if (k == REC_INSERT) {
		rc = insert_row(w, om, &e);
	} else if (k == REC_DELETE) {
		rc = image_row(w, wm, &e);
	} else {
		bool any = false;

		/* Generated columns cannot be set: their base columns carry the change. */
		memset(w->bits, 0, nbits);
		for (size_t j = 0; j < p->ncmp; j++)
			if ((changed[j / 8] & (1u << (j % 8))) && !ri->t.cols[ri->cmp[j]].generated) {
				w->bits[j / 8] |= (uint8_t)(1u << (j % 8));
				any = true;
			}
		if (!any)
			return emit_record(w, REC_GENERATED, NULL, 0, wm, err);
		rc = image_row(w, wm, &e);
		if (rc == 0)
			rc = update_row(w, wm, om, &e);
	}
	if (rc < 0) {
		/* The comparison goes on; the system just gets no script. */
		w->failed = true;
		buf_reset(&w->ra);
		buf_reset(&w->rb);
		buf_addf(&w->ra, "check '%s': %s", ri->check, e.msg);
		return emit_record(w, REC_FAILED, NULL, 0, k == REC_INSERT ? om : wm, err);
	}
	return emit_record(w, k, k == REC_UPDATE ? w->bits : NULL, nbits, k == REC_INSERT ? om : wm, err);
}

int repair_copies(struct repair_writer *w, enum diff_kind kind, const struct mrow *row, uint64_t source_copies,
                  uint64_t target_copies, uint64_t n, struct tally_err *err)
{
	const struct repair_info *ri = w->ri;
	const struct plan *p = ri->plan;
	const int ws = p->repair_side;
	/* The side with the surplus (row's side) loses copies; the other gains them. */
	const bool row_written = (kind == DIFF_MISSING) == (ws == SIDE_SOURCE);
	const uint8_t k = row_written ? REC_MS_DELETE : REC_MS_INSERT;
	uint64_t have = ws == SIDE_SOURCE ? source_copies : target_copies;
	struct tally_err e;
	int rc;

	if (w->failed)
		return 0;
	buf_reset(&w->ra);
	buf_reset(&w->rb);
	rc = row_written ? image_row(w, row, &e) : insert_row(w, row, &e);
	if (rc < 0) {
		w->failed = true;
		buf_reset(&w->ra);
		buf_reset(&w->rb);
		buf_addf(&w->ra, "check '%s': %s", ri->check, e.msg);
		return emit_record(w, REC_FAILED, NULL, 0, row, err);
	}
	/* "(v1, v2)" becomes "(v1, v2, have, n)": the stage's count columns. */
	if (!row_written) {
		buf_reset(&w->ra);
		buf_add(&w->ra, w->rb.data, w->rb.len);
		buf_reset(&w->rb);
	}
	buf_setlen(&w->ra, w->ra.len - 1);
	buf_addf(&w->ra, ", %llu, %llu)", (unsigned long long)have, (unsigned long long)n);
	return emit_record(w, k, NULL, 0, row, err);
}

int repair_writer_close(struct repair_writer *w, struct tally_err *err)
{
	int rc = zfile_close(&w->z, err);

	repair_writer_free(w);
	return rc;
}

void repair_writer_free(struct repair_writer *w)
{
	if (!w)
		return;
	zfile_abort(&w->z);
	buf_release(&w->ra);
	buf_release(&w->rb);
	buf_release(&w->lit);
	buf_release(&w->scratch);
	buf_release(&w->enc);
	buf_release(&w->rec);
	free(w->bits);
	free(w);
}

/* ---- assembling: steps and fragments ---------------------------------- */

struct frag {
	char stage[32];
	char *path;                 /* owned, in the output's temporary directory */
	FILE *fp;
	uint64_t rows;
	size_t *cols;               /* the stage's columns, indexes into the table's */
	size_t ncols;
};

struct rcheck;

struct step {
	enum step_kind kind;        /* in the repair script */
	struct rcheck *rc;
	size_t *set;                /* UPDATE: columns set; INSERT: columns inserted */
	size_t nset;
	uint8_t *colset;            /* UPDATE: bitmap over the compared columns */
	struct frag a;
	struct frag b;
	uint64_t rows;
	size_t table;
};

/* Digests of the rows a table written by several checks gets, by key. */
struct dedupe {
	struct dd_slot { uint8_t key[16]; uint64_t content; size_t check; bool used; } *slot;
	size_t cap, n;
};

struct rsys;

struct rcheck {
	size_t index;
	const struct repair_info *ri;
	struct rsys *sys;
	struct repair_result *res;
	size_t table;
	struct step *ins, *del;
	struct step *msins, *msdel;
	struct step **upd;
	size_t nupd;
};

struct rsys {
	const char *name;
	const struct spec_system *spec;
	const struct conn_ops *ops;
	struct step **steps;
	size_t nsteps;
	const struct tabdesc **tables;
	size_t *writers;
	struct dedupe **dd;
	size_t ntables;
	uint64_t ins, upd, del;
	char *failed;
	char file[300], rollback[300], xxh128[33], rb_xxh128[33];
};

struct assembly {
	const struct repair_asm *a;
	struct rsys **sys;
	size_t nsys;
	struct rcheck **checks;
	size_t nchecks;
	size_t nfrag;
	struct buf lit, rec;
};

static struct dd_slot *dd_find(struct dedupe *d, const uint8_t key[16])
{
	size_t mask = d->cap - 1, i;

	memcpy(&i, key, sizeof(i));
	for (i &= mask; d->slot[i].used; i = (i + 1) & mask)
		if (memcmp(d->slot[i].key, key, 16) == 0)
			return &d->slot[i];
	return &d->slot[i];
}

static void dd_grow(struct dedupe *d)
{
	struct dd_slot *old = d->slot;
	size_t oldcap = d->cap;

	d->cap = d->cap ? d->cap * 2 : 1024;
	d->slot = xcalloc(d->cap, sizeof(*d->slot));
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].used)
			*dd_find(d, old[i].key) = old[i];
	free(old);
}

static void frag_release(struct frag *f)
{
	if (f->fp)
		fclose(f->fp);
	if (f->path)
		unlink(f->path);
	free(f->path);
	free(f->cols);
	memset(f, 0, sizeof(*f));
}

static void step_free(struct step *s)
{
	if (!s)
		return;
	frag_release(&s->a);
	frag_release(&s->b);
	free(s->set);
	free(s->colset);
	free(s);
}

static void assembly_free(struct assembly *as)
{
	for (size_t i = 0; i < as->nsys; i++) {
		struct rsys *s = as->sys[i];

		for (size_t j = 0; j < s->nsteps; j++)
			step_free(s->steps[j]);
		for (size_t j = 0; j < s->ntables; j++)
			if (s->dd[j]) {
				free(s->dd[j]->slot);
				free(s->dd[j]);
			}
		free(s->steps);
		free(s->tables);
		free(s->writers);
		free(s->dd);
		free(s->failed);
		free(s);
	}
	for (size_t i = 0; i < as->nchecks; i++) {
		free(as->checks[i]->upd);
		free(as->checks[i]);
	}
	free(as->sys);
	free(as->checks);
	buf_release(&as->lit);
	buf_release(&as->rec);
}

static struct rsys *sys_get(struct assembly *as, const struct repair_info *ri)
{
	struct rsys *s;

	for (size_t i = 0; i < as->nsys; i++)
		if (strcmp(as->sys[i]->name, ri->system) == 0)
			return as->sys[i];
	s = xcalloc(1, sizeof(*s));
	s->name = ri->system;
	s->spec = spec_find_system(as->a->spec, ri->system);
	s->ops = ri->ops;
	as->sys = xrealloc(as->sys, (as->nsys + 1) * sizeof(*as->sys));
	as->sys[as->nsys++] = s;
	return s;
}

static size_t table_get(struct rsys *s, const struct tabdesc *t)
{
	for (size_t i = 0; i < s->ntables; i++)
		if (strcmp(s->tables[i]->sqlname, t->sqlname) == 0) {
			s->writers[i]++;
			return i;
		}
	s->tables = xrealloc(s->tables, (s->ntables + 1) * sizeof(*s->tables));
	s->writers = xrealloc(s->writers, (s->ntables + 1) * sizeof(*s->writers));
	s->dd = xrealloc(s->dd, (s->ntables + 1) * sizeof(*s->dd));
	s->tables[s->ntables] = t;
	s->writers[s->ntables] = 1;
	s->dd[s->ntables] = NULL;
	return s->ntables++;
}

static struct step *step_new(struct assembly *as, struct rcheck *c, enum step_kind kind)
{
	struct rsys *s = c->sys;
	struct step *st = xcalloc(1, sizeof(*st));
	size_t n = ++as->nfrag;

	st->kind = kind;
	st->rc = c;
	st->table = c->table;
	snprintf(st->a.stage, sizeof(st->a.stage), "tally_%zu_a", n);
	snprintf(st->b.stage, sizeof(st->b.stage), "tally_%zu_b", n);
	s->steps = xrealloc(s->steps, (s->nsteps + 1) * sizeof(*s->steps));
	s->steps[s->nsteps++] = st;
	return st;
}

static struct step *insert_step(struct assembly *as, struct rcheck *c)
{
	if (!c->ins) {
		struct step *st = step_new(as, c, STEP_INSERT);

		for (size_t i = 0; i < c->ri->nins; i++) {
			st->set = idx_push(st->set, &st->nset, c->ri->ins[i]);
			st->b.cols = idx_push(st->b.cols, &st->b.ncols, c->ri->ins[i]);
		}
		c->ins = st;
	}
	return c->ins;
}

static struct step *delete_step(struct assembly *as, struct rcheck *c)
{
	if (!c->del) {
		struct step *st = step_new(as, c, STEP_DELETE);

		for (size_t i = 0; i < c->ri->nimg; i++)
			st->a.cols = idx_push(st->a.cols, &st->a.ncols, c->ri->img[i]);
		c->del = st;
	}
	return c->del;
}

/* Copies of keyless rows: one stage a, the row's columns and the counts. */
static struct step *copies_step(struct assembly *as, struct rcheck *c, bool insert)
{
	struct step **slot = insert ? &c->msins : &c->msdel;

	if (!*slot) {
		struct step *st = step_new(as, c, insert ? STEP_MS_INSERT : STEP_MS_DELETE);
		const size_t *cols = insert ? c->ri->ins : c->ri->img;
		size_t n = insert ? c->ri->nins : c->ri->nimg;

		for (size_t i = 0; i < n; i++) {
			st->a.cols = idx_push(st->a.cols, &st->a.ncols, cols[i]);
			st->set = idx_push(st->set, &st->nset, cols[i]);
		}
		*slot = st;
	}
	return *slot;
}

/* The last number of a staged row "(..., have, n)": how many copies it moves. */
static uint64_t copies_of(const struct buf *row)
{
	size_t i = row->len;

	while (i > 0 && row->data[i - 1] != ' ')
		i--;
	return strtoull(row->data + i, NULL, 10);
}

static struct step *update_step(struct assembly *as, struct rcheck *c, const uint8_t *bits, size_t nb)
{
	const struct repair_info *ri = c->ri;
	struct step *st;

	for (size_t i = 0; i < c->nupd; i++)
		if (memcmp(c->upd[i]->colset, bits, nb) == 0)
			return c->upd[i];
	st = step_new(as, c, STEP_UPDATE);
	st->colset = xcalloc(nb + 1, 1);
	memcpy(st->colset, bits, nb);
	for (size_t i = 0; i < ri->nkey; i++)
		st->b.cols = idx_push(st->b.cols, &st->b.ncols, ri->key[i]);
	for (size_t j = 0; j < ri->ncmp; j++)
		if (bits[j / 8] & (1u << (j % 8))) {
			st->set = idx_push(st->set, &st->nset, ri->cmp[j]);
			st->b.cols = idx_push(st->b.cols, &st->b.ncols, ri->cmp[j]);
		}
	for (size_t i = 0; i < ri->nimg; i++)
		st->a.cols = idx_push(st->a.cols, &st->a.ncols, ri->img[i]);
	c->upd = xrealloc(c->upd, (c->nupd + 1) * sizeof(*c->upd));
	c->upd[c->nupd++] = st;
	return st;
}

static int frag_row(struct assembly *as, struct rsys *s, struct frag *f, const char *row, size_t len,
                    struct tally_err *err)
{
	struct buf *b = &as->lit;

	if (!f->fp) {
		f->path = xasprintf("%s/%s.sql", as->a->out->tmp, f->stage);
		f->fp = fopen(f->path, "w+");
		if (!f->fp)
			return err_set(err, ERR_IO, "cannot create '%s': %s", f->path, strerror(errno));
	}
	buf_reset(b);
	if (f->rows % BATCH_ROWS == 0) {
		if (f->rows)
			buf_addstr(b, ";\n");
		s->ops->script->stage_rows(b, f->stage);
	} else {
		buf_addstr(b, ",\n");
	}
	if (fwrite(b->data, 1, b->len, f->fp) != b->len || fwrite(row, 1, len, f->fp) != len)
		return err_set(err, ERR_IO, "cannot write '%s': %s", f->path, strerror(errno));
	f->rows++;
	return 0;
}

static int frag_close(struct frag *f, struct tally_err *err)
{
	if (!f->fp)
		return 0;
	if ((f->rows && fputs(";\n", f->fp) == EOF) || fflush(f->fp) != 0)
		return err_set(err, ERR_IO, "cannot write '%s': %s", f->path, strerror(errno));
	return 0;
}

/* Reads one length-prefixed field of a record; returns bytes read, 0 at end, -1 on error. */
static int read_field(struct zreader *z, struct buf *b, struct tally_err *err)
{
	uint8_t n[4];
	long got = zreader_read(z, n, 4, err);
	uint32_t len;

	if (got <= 0)
		return (int)got;
	if (got != 4)
		return err_set(err, ERR_IO, "repair records are truncated");
	len = le_get32(n);
	buf_reset(b);
	buf_grow(b, len);
	if (len && zreader_read(z, b->data, len, err) != (long)len)
		return err_set(err, ERR_IO, "repair records are truncated");
	buf_setlen(b, len);
	return 1;
}

/*
 * A table written by several checks: 1 for a row another check repairs the
 * same way (it is written once), -1 for one it repairs differently.
 */
static int dedupe(struct assembly *as, struct rcheck *c, uint8_t kind, const struct buf *key,
                  const struct buf *ra, const struct buf *rb, struct tally_err *err)
{
	struct dedupe *d = c->sys->dd[c->table];
	XXH128_canonical_t kc;
	struct dd_slot *sl;
	uint64_t content;

	if (!d)
		return 0;
	XXH128_canonicalFromHash(&kc, XXH3_128bits(key->data, key->len));
	content = XXH3_64bits_withSeed(ra->data, ra->len, XXH3_64bits_withSeed(rb->data, rb->len, kind));
	if (d->n * 2 >= d->cap)
		dd_grow(d);
	sl = dd_find(d, kc.digest);
	if (!sl->used) {
		memcpy(sl->key, kc.digest, 16);
		sl->content = content;
		sl->check = c->index;
		sl->used = true;
		d->n++;
		return 0;
	}
	if (sl->content == content)
		return 1;
	return err_set(err, ERR_DATA, "checks '%s' and '%s' repair the same row of %s differently",
	               as->checks[sl->check]->ri->check, c->ri->check, c->sys->tables[c->table]->display);
}

/* Reads one part's records into steps and fragments. */
static int read_part(struct assembly *as, struct rcheck *c, const char *path, struct tally_err *err)
{
	struct zreader z;
	struct buf bits = BUF_INIT, key = BUF_INIT, ra = BUF_INIT, rb = BUF_INIT;
	size_t nb = (c->ri->ncmp + 7) / 8;
	int rc;

	if (zreader_open(&z, path, err) < 0)
		return -1;
	for (;;) {
		uint8_t kind;
		long got = zreader_read(&z, &kind, 1, err);
		struct step *st;
		struct tally_err e;
		int d;

		if (got <= 0) {
			rc = (int)got;
			break;
		}
		if (read_field(&z, &bits, err) != 1 || read_field(&z, &key, err) != 1 ||
		    read_field(&z, &ra, err) != 1 || read_field(&z, &rb, err) != 1) {
			rc = err_set(err, ERR_IO, "repair records of check '%s' are truncated", c->ri->check);
			break;
		}
		if (c->sys->failed)
			continue;
		if (kind == REC_FAILED) {
			c->sys->failed = xstrndup(ra.data, ra.len);
			continue;
		}
		if (kind == REC_GENERATED) {
			c->res->generated++;
			continue;
		}
		if (kind == REC_MS_INSERT || kind == REC_MS_DELETE) {
			uint64_t n = copies_of(&ra);

			st = copies_step(as, c, kind == REC_MS_INSERT);
			if (frag_row(as, c->sys, &st->a, ra.data, ra.len, err) < 0) {
				rc = -1;
				break;
			}
			st->rows += n;
			if (kind == REC_MS_INSERT) {
				c->res->inserts += n;
				c->sys->ins += n;
			} else {
				c->res->deletes += n;
				c->sys->del += n;
			}
			continue;
		}
		if (kind != REC_INSERT && kind != REC_UPDATE && kind != REC_DELETE) {
			rc = err_set(err, ERR_IO, "repair records of check '%s' are corrupt", c->ri->check);
			break;
		}
		d = dedupe(as, c, kind, &key, &ra, &rb, &e);
		if (d < 0) {
			c->sys->failed = xstrdup(e.msg);
			continue;
		}
		if (d == 1) {
			c->res->duplicates++;
			continue;
		}
		if (kind == REC_UPDATE && bits.len != nb) {
			rc = err_set(err, ERR_IO, "repair records of check '%s' are corrupt", c->ri->check);
			break;
		}
		st = kind == REC_INSERT ? insert_step(as, c) : kind == REC_DELETE ? delete_step(as, c)
		   : update_step(as, c, (const uint8_t *)bits.data, nb);
		if ((kind != REC_INSERT && frag_row(as, c->sys, &st->a, ra.data, ra.len, err) < 0) ||
		    (kind != REC_DELETE && frag_row(as, c->sys, &st->b, rb.data, rb.len, err) < 0)) {
			rc = -1;
			break;
		}
		st->rows++;
		if (kind == REC_INSERT) {
			c->res->inserts++;
			c->sys->ins++;
		} else if (kind == REC_UPDATE) {
			c->res->updates++;
			c->sys->upd++;
		} else {
			c->res->deletes++;
			c->sys->del++;
		}
	}
	zreader_close(&z);
	buf_release(&bits);
	buf_release(&key);
	buf_release(&ra);
	buf_release(&rb);
	return rc;
}

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
static size_t *table_order(const struct rsys *s, bool *cycle)
{
	size_t n = s->ntables, done = 0;
	size_t *order = xcalloc(n ? n : 1, sizeof(size_t));
	bool *placed = xcalloc(n ? n : 1, sizeof(bool));

	*cycle = false;
	while (done < n) {
		bool progress = false;

		for (size_t i = 0; i < n; i++) {
			bool ready = true;

			if (placed[i])
				continue;
			/* ready when no unplaced table is a parent of table i */
			for (size_t f = 0; f < s->tables[i]->nparents && ready; f++)
				for (size_t j = 0; j < n; j++)
					if (j != i && !placed[j] &&
					    strcmp(s->tables[i]->parents[f].sqlname, s->tables[j]->sqlname) == 0)
						ready = false;
			if (ready) {
				order[done++] = i;
				placed[i] = true;
				progress = true;
			}
		}
		if (!progress) {
			*cycle = true;
			for (size_t i = 0; i < n; i++)
				if (!placed[i]) {
					order[done++] = i;
					placed[i] = true;
				}
		}
	}
	free(placed);
	return order;
}

/* The kind a step has in the given script. */
static enum step_kind kind_in(const struct step *st, bool rollback)
{
	if (!rollback)
		return st->kind;
	switch (st->kind) {
	case STEP_INSERT: return STEP_DELETE;
	case STEP_DELETE: return STEP_INSERT;
	case STEP_MS_INSERT: return STEP_MS_DELETE;
	case STEP_MS_DELETE: return STEP_MS_INSERT;
	case STEP_UPDATE: break;
	}
	return STEP_UPDATE;
}

static bool inserts(enum step_kind k)
{
	return k == STEP_INSERT || k == STEP_MS_INSERT;
}

static bool deletes(enum step_kind k)
{
	return k == STEP_DELETE || k == STEP_MS_DELETE;
}

/* Steps of a script in order: INSERTs parents first, UPDATEs, DELETEs children first. */
static struct step **script_steps(const struct rsys *s, bool rollback, size_t *nout, bool *cycle)
{
	size_t *order = table_order(s, cycle);
	struct step **out = xcalloc(s->nsteps ? s->nsteps : 1, sizeof(*out));
	size_t n = 0;

	for (size_t t = 0; t < s->ntables; t++)
		for (size_t i = 0; i < s->nsteps; i++)
			if (s->steps[i]->rows && inserts(kind_in(s->steps[i], rollback)) &&
			    s->steps[i]->table == order[t])
				out[n++] = s->steps[i];
	for (size_t i = 0; i < s->nsteps; i++)
		if (s->steps[i]->rows && kind_in(s->steps[i], rollback) == STEP_UPDATE)
			out[n++] = s->steps[i];
	for (size_t t = s->ntables; t-- > 0;)
		for (size_t i = 0; i < s->nsteps; i++)
			if (s->steps[i]->rows && deletes(kind_in(s->steps[i], rollback)) &&
			    s->steps[i]->table == order[t])
				out[n++] = s->steps[i];
	free(order);
	*nout = n;
	return out;
}

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
	enum step_kind k = kind_in(st, rollback);
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
		         (unsigned long long)st->rows, st->rows == 1 ? "y" : "ies", inserts(k) ? "into" : "from",
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
	steps = script_steps(s, rollback, &n, &cycle);
	s->ops->script->begin(&tmp);
	emit(&b, &tmp);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = emit_step(&b, s, steps[i], rollback, &tmp, err);
	buf_reset(&tmp);
	buf_addch(&tmp, '\n');
	s->ops->script->end(&tmp);
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
		c->sys = sys_get(&as, c->ri);
		c->table = table_get(c->sys, &c->ri->t);
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
			rc = read_part(&as, c, a->parts[i][p], err);
		steps = c->sys->steps;
		for (size_t s = 0; s < c->sys->nsteps && rc == 0; s++)
			if (steps[s]->rc == c && (frag_close(&steps[s]->a, err) < 0 || frag_close(&steps[s]->b, err) < 0))
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
	assembly_free(&as);
	return rc;
}
