/*
 * engine/repair.c
 *   merge -> REPAIR: stages repaired rows in fragment files during the
 *   merge, then assembles each system's repair and rollback scripts.
 *
 * How it works. A check's differences become steps: one INSERT step, one
 * DELETE step, and one UPDATE step per set of changed columns (an UPDATE
 * sets only the columns that differ, and a statement sets the same columns
 * for all its rows). A step owns up to two fragments, each a temporary
 * file of complete "INSERT INTO stage VALUES ..." statements in batches:
 *   a  the before-image of each row (every non-generated column), as read
 *      from the written side: the guard of an UPDATE or DELETE, and what
 *      the rollback writes back;
 *   b  the key and the new values: what an INSERT or UPDATE writes, and
 *      the guard of its rollback.
 * The repair and the rollback scripts copy the same fragments; only the
 * blocks around them differ. Values are converted through the canonical
 * encoding into a struct sqlval, which the written system's dialect writes
 * as an exact literal.
 */
#include "repair.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "buf.h"
#include "canon.h"
#include "stream.h"
#include "tally_config.h"
#include "zfile.h"

#define BATCH_ROWS 1000
#define HEADER_END "-- end of tally header"

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
	uint8_t *colset;            /* UPDATE: bitmap over the plan's compared columns */
	struct frag a;
	struct frag b;
	uint64_t rows;
	size_t table;               /* index into rsys.tables */
	size_t seq;
};

/* Digests of the rows a table written by several checks gets, by key. */
struct dedupe {
	struct dd_slot { uint8_t key[16]; uint64_t content; size_t check; bool used; } *slot;
	size_t cap, n;
};

struct rsys;

struct repair;

struct rcheck {
	struct repair *r;
	const struct plan *plan;
	struct rsys *sys;
	size_t index;               /* in repair.checks */
	struct repair_result res;
	size_t table;               /* index into sys->tables */
	size_t *key, nkey;          /* key columns of the written table */
	size_t *img, nimg;          /* every non-generated column */
	size_t *ins, nins;          /* columns an INSERT writes */
	size_t *ins_pos;            /* each one's place in the other side's streamed row */
	struct canon_col *ins_canon; /* each one's class as the other side reads it */
	struct step *ins_step, *del_step;
	struct step **upd;
	size_t nupd;
};

struct rsys {
	const struct spec_system *sys;
	const struct conn_ops *ops;
	struct step **steps;
	size_t nsteps;
	const struct tabdesc **tables;
	size_t *writers;            /* per table: how many checks write it */
	struct dedupe **dd;         /* per table: NULL unless writers > 1 */
	size_t ntables;
	uint64_t ins, upd, del;
	char *failed;               /* owned: why this system gets no script */
	char file[300], rollback[300], xxh128[33], rb_xxh128[33];
};

struct repair {
	const struct spec *spec;
	const struct outdir *out;
	bool compress;
	struct rsys **sys;
	size_t nsys;
	struct rcheck **checks;
	size_t nchecks;
	struct rcheck *cur;
	size_t nfrag;
	struct buf ra, rb, lit, scratch, enc;
};

/* ---- small helpers ---------------------------------------------------- */

static void hex128(char out[33], XXH128_hash_t h)
{
	XXH128_canonical_t c;

	XXH128_canonicalFromHash(&c, h);
	for (int i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", c.digest[i]);
}

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

/* Header text: control characters become spaces, so a line stays a comment. */
static void add_comment_text(struct buf *b, const char *s)
{
	for (; *s; s++)
		buf_addch(b, (unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s);
}

static const char *step_verb(enum step_kind k)
{
	return k == STEP_INSERT ? "insert" : k == STEP_UPDATE ? "update" : "delete";
}

/* ---- dedupe ----------------------------------------------------------- */

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

/* ---- set up ----------------------------------------------------------- */

struct repair *repair_new(const struct spec *spec, const struct outdir *out, bool compress)
{
	struct repair *r = xcalloc(1, sizeof(*r));

	r->spec = spec;
	r->out = out;
	r->compress = compress;
	buf_init(&r->ra);
	buf_init(&r->rb);
	buf_init(&r->lit);
	buf_init(&r->scratch);
	buf_init(&r->enc);
	return r;
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

void repair_free(struct repair *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nsys; i++) {
		struct rsys *s = r->sys[i];

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
	for (size_t i = 0; i < r->nchecks; i++) {
		struct rcheck *c = r->checks[i];

		free(c->key);
		free(c->img);
		free(c->ins);
		free(c->ins_pos);
		free(c->ins_canon);
		free(c->upd);
		free(c);
	}
	free(r->sys);
	free(r->checks);
	buf_release(&r->ra);
	buf_release(&r->rb);
	buf_release(&r->lit);
	buf_release(&r->scratch);
	buf_release(&r->enc);
	free(r);
}

static struct rsys *sys_get(struct repair *r, const struct spec_system *sys, const struct conn_ops *ops)
{
	struct rsys *s;

	for (size_t i = 0; i < r->nsys; i++)
		if (r->sys[i]->sys == sys)
			return r->sys[i];
	s = xcalloc(1, sizeof(*s));
	s->sys = sys;
	s->ops = ops;
	r->sys = xrealloc(r->sys, (r->nsys + 1) * sizeof(*r->sys));
	r->sys[r->nsys++] = s;
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

void repair_note_plan(struct repair *r, const struct plan *p, const struct spec_system *sys,
                      const struct conn_ops *ops)
{
	struct rcheck *c = xcalloc(1, sizeof(*c));
	const struct tabdesc *t;
	int w = p->repair_side;

	c->r = r;
	c->plan = p;
	c->index = r->nchecks;
	r->checks = xrealloc(r->checks, (r->nchecks + 1) * sizeof(*r->checks));
	r->checks[r->nchecks++] = c;
	if (w < 0) {
		c->res.none = p->no_repair ? p->no_repair : "repair: none";
		return;
	}
	c->sys = sys_get(r, sys, ops);
	c->res.system = sys->name;
	t = &p->desc[w];
	c->table = table_get(c->sys, t);

	for (size_t i = 0; i < p->nkey; i++)
		c->key = idx_push(c->key, &c->nkey, p->key[i].col[w]);
	for (size_t col = 0; col < t->ncols; col++)
		if (!t->cols[col].generated)
			c->img = idx_push(c->img, &c->nimg, col);
	/* INSERT: key, compared and carried columns, as the other side has them. */
	for (size_t i = 0; i < p->nkey + p->ncmp + p->ncarry; i++) {
		const struct plan_col *pc = i < p->nkey ? &p->key[i]
		                          : i < p->nkey + p->ncmp ? &p->cmp[i - p->nkey]
		                          : &p->carry[i - p->nkey - p->ncmp];
		size_t col = pc->col[w];

		if (t->cols[col].generated || idx_has(c->ins, c->nins, col))
			continue;
		c->ins = idx_push(c->ins, &c->nins, col);
		c->ins_pos = xrealloc(c->ins_pos, c->nins * sizeof(size_t));
		c->ins_canon = xrealloc(c->ins_canon, c->nins * sizeof(struct canon_col));
		c->ins_pos[c->nins - 1] = i;
		c->ins_canon[c->nins - 1] = canon_col_make(pc->canon[1 - w].cls, pc->canon[1 - w].type);
	}
}

static struct rcheck *rcheck_of(const struct repair *r, const struct plan *p)
{
	for (size_t i = 0; i < r->nchecks; i++)
		if (r->checks[i]->plan == p)
			return r->checks[i];
	return NULL;
}

const struct repair_result *repair_result_of(const struct repair *r, const struct plan *p)
{
	const struct rcheck *c = rcheck_of(r, p);

	return c ? &c->res : NULL;
}

int repair_begin(struct repair *r, const struct plan *p, void **ctx, struct tally_err *err)
{
	struct rcheck *c = rcheck_of(r, p);

	*ctx = NULL;
	if (!c)
		return err_set(err, ERR_INTERNAL, "repair: check was not registered");
	r->cur = c;
	if (!c->sys)
		return 0;
	if (c->sys->writers[c->table] > 1 && !c->sys->dd[c->table])
		c->sys->dd[c->table] = xcalloc(1, sizeof(struct dedupe));
	*ctx = c;
	return 0;
}

/* ---- fragments -------------------------------------------------------- */

static struct step *step_new(struct repair *r, struct rcheck *c, enum step_kind kind)
{
	struct rsys *s = c->sys;
	struct step *st = xcalloc(1, sizeof(*st));
	size_t n = ++r->nfrag;

	st->kind = kind;
	st->rc = c;
	st->table = c->table;
	st->seq = s->nsteps;
	snprintf(st->a.stage, sizeof(st->a.stage), "tally_%zu_a", n);
	snprintf(st->b.stage, sizeof(st->b.stage), "tally_%zu_b", n);
	s->steps = xrealloc(s->steps, (s->nsteps + 1) * sizeof(*s->steps));
	s->steps[s->nsteps++] = st;
	return st;
}

static int frag_row(struct repair *r, struct rsys *s, struct frag *f, const struct buf *row,
                    struct tally_err *err)
{
	struct buf *b = &r->lit;

	if (!f->fp) {
		f->path = xasprintf("%s/%s.sql", r->out->tmp, f->stage);
		f->fp = fopen(f->path, "w");
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
	if (fwrite(b->data, 1, b->len, f->fp) != b->len || fwrite(row->data, 1, row->len, f->fp) != row->len)
		return err_set(err, ERR_IO, "cannot write '%s': %s", f->path, strerror(errno));
	f->rows++;
	return 0;
}

static int frag_close(struct frag *f, struct tally_err *err)
{
	int rc = 0;

	if (!f->fp)
		return 0;
	if (f->rows && fputs(";\n", f->fp) == EOF)
		rc = err_set(err, ERR_IO, "cannot write '%s': %s", f->path, strerror(errno));
	if (fclose(f->fp) != 0 && rc == 0)
		rc = err_set(err, ERR_IO, "cannot write '%s': %s", f->path, strerror(errno));
	f->fp = NULL;
	return rc;
}

/* ---- literals --------------------------------------------------------- */

static const struct rawrow *raw_of(const struct mrow *m)
{
	return ((const struct stream *)m->ctx)->raw;
}

/* Appends one value to out as a literal of column col of the written table. */
static int put_literal(struct repair *r, struct rcheck *c, struct buf *out, size_t col,
                       const struct canon_col *cc, bool raw_text, const char *v, size_t len,
                       struct tally_err *err)
{
	const struct tabdesc *t = &c->plan->desc[c->plan->repair_side];
	struct sqlval sv;

	memset(&sv, 0, sizeof(sv));
	if (!v) {
		sv.kind = SV_NULL;
	} else if (raw_text) {
		sv.kind = SV_RAW;
		sv.s = v;
		sv.len = len;
	} else {
		buf_reset(&r->enc);
		if (canon_encode(&r->enc, cc, v, len, err) < 0 ||
		    canon_decode((const uint8_t *)r->enc.data, r->enc.len, &sv, &r->scratch) == 0)
			return err_set(err, ERR_DATA, "column '%s' of %s: a value cannot be converted",
			               t->cols[col].name, t->display);
	}
	buf_reset(&r->lit);
	if (c->sys->ops->literal(&r->lit, &t->cols[col], &sv, err) < 0)
		return -1;
	buf_add(out, r->lit.data, r->lit.len);
	return 0;
}

/* The before-image of a row of the written side: every non-generated column. */
static int image_row(struct repair *r, struct rcheck *c, const struct mrow *m, struct tally_err *err)
{
	const struct plan *p = c->plan;
	const struct rawrow *raw = raw_of(m);

	buf_reset(&r->ra);
	buf_addch(&r->ra, '(');
	for (size_t i = 0; i < c->nimg; i++) {
		size_t col = c->img[i];
		long pos = p->pos[p->repair_side][col];

		if (i)
			buf_addstr(&r->ra, ", ");
		if (put_literal(r, c, &r->ra, col, &p->own[col], p->own_raw[col], raw->val[pos], raw->len[pos],
		                err) < 0)
			return -1;
	}
	buf_addch(&r->ra, ')');
	return 0;
}

/* The values an INSERT writes, from the other side's row. */
static int insert_row(struct repair *r, struct rcheck *c, const struct mrow *m, struct tally_err *err)
{
	const struct rawrow *raw = raw_of(m);

	buf_reset(&r->rb);
	buf_addch(&r->rb, '(');
	for (size_t i = 0; i < c->nins; i++) {
		size_t pos = c->ins_pos[i];

		if (i)
			buf_addstr(&r->rb, ", ");
		if (put_literal(r, c, &r->rb, c->ins[i], &c->ins_canon[i], false, raw->val[pos], raw->len[pos],
		                err) < 0)
			return -1;
	}
	buf_addch(&r->rb, ')');
	return 0;
}

/* The key (from the written side) and the changed columns (from the other). */
static int update_row(struct repair *r, struct rcheck *c, const struct step *st, const struct mrow *wm,
                      const struct mrow *om, struct tally_err *err)
{
	const struct plan *p = c->plan;
	const int w = p->repair_side;
	const struct rawrow *wraw = raw_of(wm), *oraw = raw_of(om);

	buf_reset(&r->rb);
	buf_addch(&r->rb, '(');
	for (size_t i = 0; i < p->nkey; i++) {
		size_t col = p->key[i].col[w];

		if (i)
			buf_addstr(&r->rb, ", ");
		if (put_literal(r, c, &r->rb, col, &p->own[col], p->own_raw[col], wraw->val[i], wraw->len[i],
		                err) < 0)
			return -1;
	}
	for (size_t j = 0; j < p->ncmp; j++) {
		const struct plan_col *pc = &p->cmp[j];
		struct canon_col cc;

		if (!(st->colset[j / 8] & (1u << (j % 8))))
			continue;
		/* The exact value, not a normalized one: no scale, precision or trim. */
		cc = canon_col_make(pc->canon[1 - w].cls, pc->canon[1 - w].type);
		buf_addstr(&r->rb, ", ");
		if (put_literal(r, c, &r->rb, pc->col[w], &cc, false, oraw->val[p->nkey + j],
		                oraw->len[p->nkey + j], err) < 0)
			return -1;
	}
	buf_addch(&r->rb, ')');
	return 0;
}

/* ---- the sink --------------------------------------------------------- */

static struct step *update_step(struct repair *r, struct rcheck *c, const uint8_t *changed)
{
	const struct plan *p = c->plan;
	const int w = p->repair_side;
	const struct tabdesc *t = &p->desc[w];
	size_t nb = (p->ncmp + 7) / 8;
	uint8_t *bits = xcalloc(nb + 1, 1);
	struct step *st;

	/* Generated columns cannot be set: their base columns carry the change. */
	for (size_t j = 0; j < p->ncmp; j++)
		if ((changed[j / 8] & (1u << (j % 8))) && !t->cols[p->cmp[j].col[w]].generated)
			bits[j / 8] |= (uint8_t)(1u << (j % 8));
	for (size_t i = 0; i < c->nupd; i++)
		if (memcmp(c->upd[i]->colset, bits, nb) == 0) {
			free(bits);
			return c->upd[i];
		}
	st = step_new(r, c, STEP_UPDATE);
	st->colset = bits;
	for (size_t i = 0; i < p->nkey; i++)
		st->b.cols = idx_push(st->b.cols, &st->b.ncols, p->key[i].col[w]);
	for (size_t j = 0; j < p->ncmp; j++)
		if (bits[j / 8] & (1u << (j % 8))) {
			st->set = idx_push(st->set, &st->nset, p->cmp[j].col[w]);
			st->b.cols = idx_push(st->b.cols, &st->b.ncols, p->cmp[j].col[w]);
		}
	for (size_t i = 0; i < c->nimg; i++)
		st->a.cols = idx_push(st->a.cols, &st->a.ncols, c->img[i]);
	c->upd = xrealloc(c->upd, (c->nupd + 1) * sizeof(*c->upd));
	c->upd[c->nupd++] = st;
	return st;
}

static struct step *insert_step(struct repair *r, struct rcheck *c)
{
	if (!c->ins_step) {
		struct step *st = step_new(r, c, STEP_INSERT);

		for (size_t i = 0; i < c->nins; i++) {
			st->set = idx_push(st->set, &st->nset, c->ins[i]);
			st->b.cols = idx_push(st->b.cols, &st->b.ncols, c->ins[i]);
		}
		c->ins_step = st;
	}
	return c->ins_step;
}

static struct step *delete_step(struct repair *r, struct rcheck *c)
{
	if (!c->del_step) {
		struct step *st = step_new(r, c, STEP_DELETE);

		for (size_t i = 0; i < c->nimg; i++)
			st->a.cols = idx_push(st->a.cols, &st->a.ncols, c->img[i]);
		c->del_step = st;
	}
	return c->del_step;
}

/*
 * A table written by several checks: returns 1 for a row another check
 * repairs the same way (it is written once), -1 for one it repairs
 * differently, 0 otherwise.
 */
static int dedupe(struct repair *r, struct rcheck *c, const struct mrow *m, enum step_kind kind,
                  struct tally_err *err)
{
	struct dedupe *d = c->sys->dd[c->table];
	XXH128_canonical_t kc;
	struct dd_slot *sl;
	uint64_t content;

	if (!d)
		return 0;
	XXH128_canonicalFromHash(&kc, XXH3_128bits(m->bytes, m->keylen));
	content = XXH3_64bits_withSeed(r->ra.data, r->ra.len,
	                               XXH3_64bits_withSeed(r->rb.data, r->rb.len, (uint64_t)kind));
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
	               r->checks[sl->check]->plan->check->name, c->plan->check->name,
	               c->sys->tables[c->table]->display);
}

/* Records why a system gets no script; the comparison itself goes on. */
static void fail_system(struct rcheck *c, const struct tally_err *e)
{
	if (!c->sys->failed)
		c->sys->failed = xasprintf("check '%s': %s", c->plan->check->name, e->msg);
}

int repair_row(void *ctx, enum diff_kind kind, const struct mrow *src, const struct mrow *tgt,
               const uint8_t *changed, struct tally_err *err)
{
	struct rcheck *c = ctx;
	struct repair *r = c->r;
	const int w = c->plan->repair_side;
	const struct mrow *wm = w == SIDE_SOURCE ? src : tgt, *om = w == SIDE_SOURCE ? tgt : src;
	struct tally_err e;
	struct step *st = NULL;
	enum step_kind k;
	int rc;

	if (c->sys->failed)
		return 0;
	if (kind == DIFF_CHANGED)
		k = STEP_UPDATE;
	else if (c->plan->check->expect == EXPECT_ABSENT)
		k = STEP_DELETE;
	else if ((kind == DIFF_MISSING) == (w == SIDE_TARGET))
		k = STEP_INSERT;
	else
		k = STEP_DELETE;

	buf_reset(&r->ra);
	buf_reset(&r->rb);
	switch (k) {
	case STEP_INSERT:
		rc = insert_row(r, c, om, &e);
		st = insert_step(r, c);
		break;
	case STEP_DELETE:
		rc = image_row(r, c, wm, &e);
		st = delete_step(r, c);
		break;
	case STEP_UPDATE:
		st = update_step(r, c, changed);
		if (st->nset == 0) {
			/* Only generated columns differ: nothing a statement can set. */
			return 0;
		}
		rc = image_row(r, c, wm, &e);
		if (rc == 0)
			rc = update_row(r, c, st, wm, om, &e);
		break;
	}
	if (rc == 0)
		rc = dedupe(r, c, k == STEP_INSERT ? om : wm, k, &e);
	if (rc < 0) {
		fail_system(c, &e);
		return 0;
	}
	if (rc == 1) {
		c->res.duplicates++;
		return 0;
	}
	if (k != STEP_INSERT && frag_row(r, c->sys, &st->a, &r->ra, err) < 0)
		return -1;
	if (k != STEP_DELETE && frag_row(r, c->sys, &st->b, &r->rb, err) < 0)
		return -1;
	st->rows++;
	if (k == STEP_INSERT) {
		c->res.inserts++;
		c->sys->ins++;
	} else if (k == STEP_UPDATE) {
		c->res.updates++;
		c->sys->upd++;
	} else {
		c->res.deletes++;
		c->sys->del++;
	}
	return 0;
}

int repair_end(struct repair *r, struct tally_err *err)
{
	struct rcheck *c = r->cur;

	r->cur = NULL;
	if (!c || !c->sys)
		return 0;
	for (size_t i = 0; i < c->sys->nsteps; i++) {
		struct step *st = c->sys->steps[i];

		if (st->rc != c)
			continue;
		if (frag_close(&st->a, err) < 0 || frag_close(&st->b, err) < 0)
			return -1;
	}
	return 0;
}

/* ---- assembling scripts ----------------------------------------------- */

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
	return st->kind == STEP_INSERT ? STEP_DELETE : st->kind == STEP_DELETE ? STEP_INSERT : STEP_UPDATE;
}

/* Steps of a script in order: INSERTs parents first, UPDATEs, DELETEs children first. */
static struct step **script_steps(const struct rsys *s, bool rollback, size_t *nout, bool *cycle)
{
	size_t *order = table_order(s, cycle);
	struct step **out = xcalloc(s->nsteps ? s->nsteps : 1, sizeof(*out));
	size_t n = 0;

	for (size_t t = 0; t < s->ntables; t++)
		for (size_t i = 0; i < s->nsteps; i++)
			if (s->steps[i]->rows && kind_in(s->steps[i], rollback) == STEP_INSERT &&
			    s->steps[i]->table == order[t])
				out[n++] = s->steps[i];
	for (size_t i = 0; i < s->nsteps; i++)
		if (s->steps[i]->rows && kind_in(s->steps[i], rollback) == STEP_UPDATE)
			out[n++] = s->steps[i];
	for (size_t t = s->ntables; t-- > 0;)
		for (size_t i = 0; i < s->nsteps; i++)
			if (s->steps[i]->rows && kind_in(s->steps[i], rollback) == STEP_DELETE &&
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
	bool failed;
};

static void emit(struct body *b, const struct buf *text)
{
	if (b->failed || !text->len)
		return;
	if (fwrite(text->data, 1, text->len, b->fp) != text->len)
		b->failed = true;
	XXH3_128bits_update(b->xxh, text->data, text->len);
}

static int emit_file(struct body *b, const char *path, struct tally_err *err)
{
	char chunk[65536];
	FILE *in = fopen(path, "r");
	size_t n;

	if (!in)
		return err_set(err, ERR_IO, "cannot read '%s': %s", path, strerror(errno));
	while ((n = fread(chunk, 1, sizeof(chunk), in)) > 0) {
		if (fwrite(chunk, 1, n, b->fp) != n)
			b->failed = true;
		XXH3_128bits_update(b->xxh, chunk, n);
	}
	fclose(in);
	return 0;
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
	const struct rcheck *c = st->rc;
	const struct tabdesc *t = s->tables[st->table];
	enum step_kind k = kind_in(st, rollback);
	struct script_step ss;
	size_t *set = NULL, nset = 0;
	int rc = 0;

	memset(&ss, 0, sizeof(ss));
	ss.kind = k;
	ss.check = c->plan->check->name;
	ss.t = t;
	ss.key = c->key;
	ss.nkey = c->nkey;
	ss.rows = st->rows;
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

			if (!idx_has(c->key, c->nkey, col) && !t->cols[col].identity)
				set = idx_push(set, &nset, col);
		}
		ss.set = set;
		ss.nset = nset;
	}

	buf_reset(tmp);
	buf_addf(tmp, "\n-- check %s: %s %llu row%s %s %s", c->plan->check->name, step_verb(k),
	         (unsigned long long)st->rows, st->rows == 1 ? "" : "s",
	         k == STEP_INSERT ? "into" : k == STEP_UPDATE ? "of" : "from", t->display);
	if (k == STEP_UPDATE) {
		buf_addstr(tmp, ", setting ");
		add_cols(tmp, t, ss.set, ss.nset);
	}
	buf_addch(tmp, '\n');
	/* Stages: a holds before-images, b key and new values. */
	if (st->kind != STEP_INSERT)
		ops->stage(tmp, st->a.stage, t, st->a.cols, st->a.ncols);
	if (st->kind != STEP_DELETE)
		ops->stage(tmp, st->b.stage, t, st->b.cols, st->b.ncols);
	emit(b, tmp);
	if (st->kind != STEP_INSERT)
		rc = emit_file(b, st->a.path, err);
	if (rc == 0 && st->kind != STEP_DELETE)
		rc = emit_file(b, st->b.path, err);
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

static void header(struct buf *h, const struct repair *r, const struct rsys *s, bool rollback,
                   const char *file, const char *generated_at, const char *hash, bool cycle)
{
	const struct spec *sp = r->spec;
	uint64_t ins = rollback ? s->del : s->ins, del = rollback ? s->ins : s->del;

	buf_addf(h, "-- tally %s script for system '%s' (%s)\n", rollback ? "rollback" : "repair",
	         s->sys->name, s->ops->dialect);
	buf_addstr(h, "--\n-- spec:       ");
	add_comment_text(h, sp->name);
	buf_addstr(h, " (");
	add_comment_text(h, sp->file);
	buf_addstr(h, ")\n-- reason:     ");
	add_comment_text(h, sp->reason ? sp->reason : "(none given)");
	buf_addf(h, "\n-- generated:  %s by tally %s\n-- system:     ", generated_at, TALLY_VERSION);
	add_comment_text(h, s->sys->dsn_shown);
	buf_addf(h, "\n-- rows:       %llu inserted, %llu updated, %llu deleted\n",
	         (unsigned long long)ins, (unsigned long long)s->upd, (unsigned long long)del);
	for (size_t i = 0; i < r->nchecks; i++) {
		const struct rcheck *c = r->checks[i];

		if (c->sys != s)
			continue;
		buf_addf(h, "--   check %s on %s: %llu inserted, %llu updated, %llu deleted",
		         c->plan->check->name, s->tables[c->table]->display,
		         (unsigned long long)(rollback ? c->res.deletes : c->res.inserts),
		         (unsigned long long)c->res.updates,
		         (unsigned long long)(rollback ? c->res.inserts : c->res.deletes));
		if (c->res.duplicates)
			buf_addf(h, " (%llu more repaired identically by another check)",
			         (unsigned long long)c->res.duplicates);
		buf_addch(h, '\n');
	}
	buf_addstr(h, "-- fires on the tables written:\n");
	for (size_t i = 0; i < s->ntables; i++) {
		const struct tabdesc *t = s->tables[i];
		size_t shown = 0;

		for (size_t j = 0; j < t->ntriggers; j++, shown++)
			buf_addf(h, "--   %s: trigger %s %s %s%s\n", t->display, t->triggers[j].name,
			         t->triggers[j].timing, t->triggers[j].events,
			         t->triggers[j].enabled ? "" : " (disabled)");
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
	for (size_t i = 0; i < r->nchecks && !rollback; i++) {
		const struct rcheck *c = r->checks[i];
		const struct tabdesc *t;
		bool any = false;

		if (c->sys != s || !c->res.inserts)
			continue;
		t = s->tables[c->table];
		for (size_t col = 0; col < t->ncols; col++)
			if (!t->cols[col].generated && !idx_has(c->ins, c->nins, col)) {
				buf_addf(h, "%s%s", any ? ", " : "--   check ", any ? "" : c->plan->check->name);
				if (!any)
					buf_addstr(h, ": inserted rows take the default of ");
				buf_addstr(h, t->cols[col].name);
				any = true;
			}
		if (any)
			buf_addch(h, '\n');
	}
	buf_addstr(h, "-- apply:      ");
	{
		struct buf cmd = BUF_INIT;

		s->ops->script->apply_command(&cmd, file, s->sys->dsn);
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
	buf_addf(h, "--             (check: %s%s | sed '1,/^%s$/d' | xxhsum -H2)\n",
	         r->compress ? "zstdcat " : "cat ", file, HEADER_END);
	buf_addstr(h, HEADER_END "\n");
}

static int write_script(struct repair *r, struct rsys *s, bool rollback, const char *generated_at,
                        struct tally_err *err)
{
	char name[300], hash[33];
	struct body b = { NULL, NULL, NULL, false };
	struct buf tmp = BUF_INIT, h = BUF_INIT;
	struct step **steps;
	size_t n;
	bool cycle;
	int fd, rc = 0;

	snprintf(name, sizeof(name), "%s.%s.sql%s", rollback ? "rollback" : "repair", s->sys->name,
	         r->compress ? ".zst" : "");
	b.path = xasprintf("%s/%s.body", r->out->tmp, name);
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
	if (rc == 0 && (b.failed || fflush(b.fp) != 0))
		rc = err_set(err, ERR_IO, "cannot write '%s': %s", b.path, strerror(errno));
	hex128(hash, XXH3_128bits_digest(b.xxh));
	XXH3_freeState(b.xxh);

	/* The file: header, then the body copied (compressed when asked). */
	if (rc == 0)
		rc = outdir_create(r->out, name, &fd, err);
	if (rc == 0) {
		struct zfile z;
		char chunk[65536];
		size_t got;
		bool zok = !r->compress || zfile_open(&z, fd, 3, err) == 0;

		header(&h, r, s, rollback, name, generated_at, hash, cycle);
		if (!zok) {
			rc = -1;
		} else if (r->compress) {
			rc = zfile_write(&z, h.data, h.len, err);
			rewind(b.fp);
			while (rc == 0 && (got = fread(chunk, 1, sizeof(chunk), b.fp)) > 0)
				rc = zfile_write(&z, chunk, got, err);
			if (rc == 0)
				rc = zfile_close(&z, err);
			else
				zfile_abort(&z);
		} else {
			FILE *out = fdopen(fd, "w");

			if (!out) {
				close(fd);
				rc = err_set(err, ERR_IO, "cannot write '%s': %s", name, strerror(errno));
			} else {
				rewind(b.fp);
				if (fwrite(h.data, 1, h.len, out) != h.len)
					rc = -1;
				while (rc == 0 && (got = fread(chunk, 1, sizeof(chunk), b.fp)) > 0)
					if (fwrite(chunk, 1, got, out) != got)
						rc = -1;
				if (fclose(out) != 0 || rc < 0)
					rc = err_set(err, ERR_IO, "cannot write '%s': %s", name, strerror(errno));
			}
		}
	}
	fclose(b.fp);
	unlink(b.path);
	free(b.path);
	buf_release(&tmp);
	buf_release(&h);
	if (rc == 0)
		rc = outdir_publish(r->out, name, err);
	if (rc == 0) {
		snprintf(rollback ? s->rollback : s->file, 300, "%s", name);
		memcpy(rollback ? s->rb_xxh128 : s->xxh128, hash, 33);
	}
	return rc;
}

int repair_finish(struct repair *r, const char *generated_at, struct tally_err *err)
{
	for (size_t i = 0; i < r->nsys; i++) {
		struct rsys *s = r->sys[i];

		if (s->failed || s->ins + s->upd + s->del == 0)
			continue;
		if (write_script(r, s, false, generated_at, err) < 0 ||
		    write_script(r, s, true, generated_at, err) < 0)
			return -1;
	}
	for (size_t i = 0; i < r->nchecks; i++) {
		struct rcheck *c = r->checks[i];
		struct rsys *s = c->sys;

		if (!s)
			continue;
		if (s->failed) {
			c->res.none = s->failed;
			c->res.failed = true;
			continue;
		}
		if (c->res.inserts + c->res.updates + c->res.deletes == 0 && !c->res.duplicates) {
			c->res.none = "nothing to repair";
			continue;
		}
		memcpy(c->res.file, s->file, sizeof(c->res.file));
		memcpy(c->res.rollback, s->rollback, sizeof(c->res.rollback));
		memcpy(c->res.xxh128, s->xxh128, sizeof(c->res.xxh128));
		memcpy(c->res.rollback_xxh128, s->rb_xxh128, sizeof(c->res.rollback_xxh128));
	}
	return 0;
}
