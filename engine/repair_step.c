/*
 * engine/repair_step.c
 *   REPAIR, assembling: reads the part files' records into steps (one
 *   INSERT, one DELETE and one UPDATE step per set of changed columns, per
 *   check), drops the rows two checks write alike, writes each step's a
 *   and b rows to fragment files of INSERT batches, and orders the steps
 *   of a system by foreign keys.
 */
#include "repair_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/zfile.h"
#include "work.h"
/* ---- assembling: steps and fragments ---------------------------------- */

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

void repair_assembly_free(struct assembly *as)
{
	for (size_t i = 0; i < as->nsys; i++) {
		struct rsys *s = as->sys[i];

		for (size_t j = 0; j < s->nsteps; j++)
			step_free(s->steps[j]);
		for (size_t j = 0; j < s->ntables; j++)
			if (s->dd[j]) {
				for (size_t k = 0; k < s->dd[j]->cap; k++)
					if (s->dd[j]->slot[k].written) {
						buf_release(s->dd[j]->slot[k].written);
						free(s->dd[j]->slot[k].written);
					}
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
	for (size_t i = 0; i < as->nconflicts; i++)
		free(as->conflicts[i]);
	free(as->conflicts);
	buf_release(&as->adjusted);
	buf_release(&as->lit);
	buf_release(&as->rec);
}

struct rsys *repair_sys_get(struct assembly *as, const struct repair_info *ri)
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

size_t repair_table_get(struct rsys *s, const struct tabdesc *t)
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

int repair_frag_close(struct frag *f, struct tally_err *err)
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

bool repair_split_row(const char *row, size_t len, size_t n, size_t *off, size_t *lens)
{
	size_t k = 0, start = 1, depth = 0;
	bool quoted = false;

	if (len < 2 || row[0] != '(' || row[len - 1] != ')')
		return false;
	for (size_t i = 1; i < len - 1; i++) {
		char ch = row[i];

		if (quoted) {
			if (ch == '\'' && i + 1 < len - 1 && row[i + 1] == '\'')
				i++;
			else if (ch == '\'')
				quoted = false;
		} else if (ch == '\'') {
			quoted = true;
		} else if (ch == '(' || ch == '[') {
			depth++;
		} else if ((ch == ')' || ch == ']') && depth > 0) {
			depth--;
		} else if (ch == ',' && depth == 0 && i + 1 < len - 1 && row[i + 1] == ' ') {
			if (k == n)
				return false;
			off[k] = start;
			lens[k++] = i - start;
			start = i + 2;
			i++;
		}
	}
	if (k == n || quoted || depth)
		return false;
	off[k] = start;
	lens[k++] = len - 1 - start;
	return k == n;
}

static size_t group_of(struct assembly *as, size_t i)
{
	while (as->checks[i]->group != i)
		i = as->checks[i]->group = as->checks[as->checks[i]->group]->group;
	return i;
}

/* Checks i and j depend on each other's repairs; a conflict's reason, when given, withholds both. */
static void group_join(struct assembly *as, size_t i, size_t j, const char *conflict)
{
	size_t a = group_of(as, i), b = group_of(as, j);

	if (a != b) {
		as->checks[b]->group = a;
		if (!as->checks[a]->withheld)
			as->checks[a]->withheld = as->checks[b]->withheld;
	}
	if (conflict && !as->checks[a]->withheld) {
		as->conflicts = xrealloc(as->conflicts, (as->nconflicts + 1) * sizeof(char *));
		as->conflicts[as->nconflicts] = xstrdup(conflict);
		as->checks[a]->withheld = as->conflicts[as->nconflicts++];
	}
}

void repair_groups_settle(struct assembly *as)
{
	for (size_t i = 0; i < as->nchecks; i++)
		as->checks[i]->withheld = as->checks[group_of(as, i)]->withheld;
}

/* The literal slot w holds for table column col, or NULL. */
static const char *written_lit(const struct buf *w, size_t col, size_t *len)
{
	for (size_t i = 0; w && i + 8 <= w->len;) {
		uint32_t c = le_get32((const uint8_t *)w->data + i), n = le_get32((const uint8_t *)w->data + i + 4);

		if (c == col) {
			*len = n;
			return w->data + i + 8;
		}
		i += 8 + n;
	}
	return NULL;
}

static void written_add(struct buf *w, size_t col, const char *lit, size_t len)
{
	buf_add_le32(w, (uint32_t)col);
	buf_add_le32(w, (uint32_t)len);
	buf_add(w, lit, len);
}

/*
 * A second UPDATE of a row an earlier check updates, from the same
 * before-image: writing other columns, or the same values into the same
 * ones, it combines (2, with as->adjusted the before-image its guard
 * expects: the earlier checks' values in their columns); a column given
 * two values is a conflict (-1).
 */
static int combine_update(struct assembly *as, struct rcheck *c, struct dd_slot *sl, const struct buf *bits,
                          const struct buf *ra, const struct buf *rb, struct tally_err *err)
{
	const struct repair_info *ri = c->ri;
	size_t nset = 0, nb = ri->nkey, *cols, *off, *len, *ioff, *ilen;
	int rc = 2;

	for (size_t j = 0; j < ri->ncmp; j++)
		if ((size_t)bits->len * 8 > j && (bits->data[j / 8] & (1u << (j % 8))))
			nset++;
	cols = xcalloc(nb + nset + 1, sizeof(size_t));
	off = xcalloc(nb + nset + 1, sizeof(size_t));
	len = xcalloc(nb + nset + 1, sizeof(size_t));
	ioff = xcalloc(ri->nimg + 1, sizeof(size_t));
	ilen = xcalloc(ri->nimg + 1, sizeof(size_t));
	for (size_t j = 0, k = nb; j < ri->ncmp; j++)
		if (bits->data[j / 8] & (1u << (j % 8)))
			cols[k++] = ri->cmp[j];
	if (!repair_split_row(rb->data, rb->len, nb + nset, off, len) ||
	    !repair_split_row(ra->data, ra->len, ri->nimg, ioff, ilen)) {
		rc = err_set(err, ERR_DATA, "checks '%s' and '%s' repair the same row of %s: tally cannot combine "
		             "their updates", as->checks[sl->check]->ri->check, ri->check,
		             c->sys->tables[c->table]->display);
		goto out;
	}
	for (size_t k = nb; k < nb + nset; k++) {
		size_t wl;
		const char *w = written_lit(sl->written, cols[k], &wl);

		if (w && (wl != len[k] || memcmp(w, rb->data + off[k], wl) != 0)) {
			rc = err_set(err, ERR_DATA, "checks '%s' and '%s' write different values into column '%s' of "
			             "the same row of %s", as->checks[sl->check]->ri->check, ri->check,
			             c->sys->tables[c->table]->cols[cols[k]].name, c->sys->tables[c->table]->display);
			goto out;
		}
	}
	buf_reset(&as->adjusted);
	buf_addch(&as->adjusted, '(');
	for (size_t i = 0; i < ri->nimg; i++) {
		size_t wl;
		const char *w = written_lit(sl->written, ri->img[i], &wl);

		if (i)
			buf_addstr(&as->adjusted, ", ");
		if (w)
			buf_add(&as->adjusted, w, wl);
		else
			buf_add(&as->adjusted, ra->data + ioff[i], ilen[i]);
	}
	buf_addch(&as->adjusted, ')');
	for (size_t k = nb; k < nb + nset; k++) {
		size_t wl;

		if (!written_lit(sl->written, cols[k], &wl))
			written_add(sl->written, cols[k], rb->data + off[k], len[k]);
	}
out:
	free(cols);
	free(off);
	free(len);
	free(ioff);
	free(ilen);
	return rc;
}

/* The table columns of a record's new values (rb): an INSERT's, or an UPDATE's key and set columns. */
static size_t *rb_columns(const struct repair_info *ri, uint8_t kind, const struct buf *bits, size_t *n)
{
	size_t *cols = NULL;

	*n = 0;
	if (kind == REC_INSERT) {
		for (size_t i = 0; i < ri->nins; i++)
			cols = idx_push(cols, n, ri->ins[i]);
		return cols;
	}
	for (size_t i = 0; i < ri->nkey; i++)
		cols = idx_push(cols, n, ri->key[i]);
	for (size_t j = 0; j < ri->ncmp; j++)
		if ((size_t)bits->len * 8 > j && (bits->data[j / 8] & (1u << (j % 8))))
			cols = idx_push(cols, n, ri->cmp[j]);
	return cols;
}

/* The first INSERT or UPDATE of a row in a shared table: what it writes, for the checks after it. */
static void remember(struct rcheck *c, struct dd_slot *sl, uint8_t kind, const struct buf *bits,
                     const struct buf *rb)
{
	size_t n, *cols = rb_columns(c->ri, kind, bits, &n);
	size_t *off = xcalloc(n + 1, sizeof(size_t)), *len = xcalloc(n + 1, sizeof(size_t));
	size_t from = kind == REC_UPDATE ? c->ri->nkey : 0;

	sl->written = xcalloc(1, sizeof(struct buf));
	buf_init(sl->written);
	if (repair_split_row(rb->data, rb->len, n, off, len))
		for (size_t k = from; k < n; k++)
			written_add(sl->written, cols[k], rb->data + off[k], len[k]);
	free(cols);
	free(off);
	free(len);
}

/* Does an INSERT write the same columns with the same values as the row's first INSERT? */
static bool same_insert(const struct rcheck *c, const struct dd_slot *sl, const struct buf *rb)
{
	size_t n, *cols = rb_columns(c->ri, REC_INSERT, NULL, &n), held = 0;
	size_t *off = xcalloc(n + 1, sizeof(size_t)), *len = xcalloc(n + 1, sizeof(size_t));
	bool same = sl->written && repair_split_row(rb->data, rb->len, n, off, len);

	for (size_t i = 0; sl->written && i + 8 <= sl->written->len; held++)
		i += 8 + le_get32((const uint8_t *)sl->written->data + i + 4);
	same = same && held == n;
	for (size_t k = 0; k < n && same; k++) {
		size_t wl;
		const char *w = written_lit(sl->written, cols[k], &wl);

		same = w && wl == len[k] && memcmp(w, rb->data + off[k], wl) == 0;
	}
	free(cols);
	free(off);
	free(len);
	return same;
}

/*
 * A table written by several checks: 1 for a row another check repairs the
 * same way (it is written once), 2 for an UPDATE that combines with an
 * earlier check's (as->adjusted holds its before-image), -1 for a row two
 * checks repair in ways that cannot both be done (both checks' repairs are
 * then withheld, with the checks they combined with).
 */
static int dedupe(struct assembly *as, struct rcheck *c, uint8_t kind, const struct buf *bits,
                  const struct buf *key, const struct buf *ra, const struct buf *rb, struct tally_err *err)
{
	struct dedupe *d = c->sys->dd[c->table];
	XXH128_canonical_t kc;
	struct dd_slot *sl;
	uint64_t content, image;
	int rc;

	if (!d)
		return 0;
	XXH128_canonicalFromHash(&kc, XXH3_128bits(key->data, key->len));
	image = XXH3_64bits(ra->data, ra->len);
	content = XXH3_64bits_withSeed(ra->data, ra->len, XXH3_64bits_withSeed(rb->data, rb->len, kind));
	if (d->n * 2 >= d->cap)
		dd_grow(d);
	sl = dd_find(d, kc.digest);
	if (!sl->used) {
		memcpy(sl->key, kc.digest, 16);
		sl->content = content;
		sl->image = image;
		sl->kind = kind;
		sl->check = c->index;
		sl->used = true;
		if (kind == REC_UPDATE || kind == REC_INSERT)
			remember(c, sl, kind, bits, rb);
		d->n++;
		return 0;
	}
	if (sl->content == content) {
		group_join(as, sl->check, c->index, NULL);
		return 1;
	}
	if (kind == REC_UPDATE && sl->kind == REC_UPDATE && sl->image == image)
		rc = combine_update(as, c, sl, bits, ra, rb, err);
	else if (kind == REC_INSERT && sl->kind == REC_INSERT && same_insert(c, sl, rb))
		rc = 1;     /* the same row, its columns listed in another order */
	else
		rc = err_set(err, ERR_DATA, "checks '%s' and '%s' repair the same row of %s differently",
		             as->checks[sl->check]->ri->check, c->ri->check, c->sys->tables[c->table]->display);
	group_join(as, sl->check, c->index, rc < 0 ? err->msg : NULL);
	return rc;
}

/* Reads one part's records into steps and fragments. */
int repair_read_part(struct assembly *as, struct rcheck *c, const char *path, struct tally_err *err)
{
	struct zreader z;
	struct buf bits = BUF_INIT, key = BUF_INIT, ra = BUF_INIT, rb = BUF_INIT, wfk = BUF_INIT;
	size_t nb = (c->ri->ncmp + 7) / 8;
	bool tagged = false;
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
		if (kind == REC_WFKEY) {
			buf_reset(&wfk);
			buf_add(&wfk, key.data, key.len);
			tagged = true;
			continue;
		}
		if (c->sys->failed)
			continue;
		if (tagged && kind != REC_FAILED && as->a->withhold &&
		    as->a->withhold(as->a->withhold_ctx, c->index, wfk.data ? wfk.data : "")) {
			tagged = false;
			continue;   /* a workflow key left out of the repair (done out of order) */
		}
		tagged = false;
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
		if (kind == REC_UPDATE && bits.len != nb) {
			rc = err_set(err, ERR_IO, "repair records of check '%s' are corrupt", c->ri->check);
			break;
		}
		d = dedupe(as, c, kind, &bits, &key, &ra, &rb, &e);
		if (d < 0)
			continue;   /* the conflict withholds this check's repair and the other's */
		if (d == 1) {
			c->res->duplicates++;
			continue;
		}
		if (d == 2) {
			buf_reset(&ra);
			buf_add(&ra, as->adjusted.data, as->adjusted.len);
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
	buf_release(&wfk);
	return rc;
}

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
enum step_kind repair_kind_in(const struct step *st, bool rollback)
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

bool repair_inserts(enum step_kind k)
{
	return k == STEP_INSERT || k == STEP_MS_INSERT;
}

static bool deletes(enum step_kind k)
{
	return k == STEP_DELETE || k == STEP_MS_DELETE;
}

/* Steps of a script in order: INSERTs parents first, UPDATEs, DELETEs children first. */
struct step **repair_script_steps(const struct rsys *s, bool rollback, size_t *nout, bool *cycle)
{
	size_t *order = table_order(s, cycle);
	struct step **out = xcalloc(s->nsteps ? s->nsteps : 1, sizeof(*out));
	const struct rcheck **chk = xcalloc(s->nsteps ? s->nsteps : 1, sizeof(*chk));
	size_t n = 0, nchk = 0;

	for (size_t t = 0; t < s->ntables; t++)
		for (size_t i = 0; i < s->nsteps; i++)
			if (s->steps[i]->rows && repair_inserts(repair_kind_in(s->steps[i], rollback)) &&
			    s->steps[i]->table == order[t])
				out[n++] = s->steps[i];
	/*
	 * Updates check by check (the order they were read in); their
	 * rollbacks check by check in the reverse order, so that a check
	 * combined with an earlier one's update of a row is undone first. A
	 * check's own steps touch different rows: their order stays.
	 */
	for (size_t i = 0; i < s->nsteps; i++) {
		bool seen = false;

		for (size_t j = 0; j < nchk && !seen; j++)
			seen = chk[j] == s->steps[i]->rc;
		if (!seen)
			chk[nchk++] = s->steps[i]->rc;
	}
	for (size_t k = 0; k < nchk; k++) {
		const struct rcheck *c = chk[rollback ? nchk - 1 - k : k];

		for (size_t i = 0; i < s->nsteps; i++)
			if (s->steps[i]->rc == c && s->steps[i]->rows &&
			    repair_kind_in(s->steps[i], rollback) == STEP_UPDATE)
				out[n++] = s->steps[i];
	}
	for (size_t t = s->ntables; t-- > 0;)
		for (size_t i = 0; i < s->nsteps; i++)
			if (s->steps[i]->rows && deletes(repair_kind_in(s->steps[i], rollback)) &&
			    s->steps[i]->table == order[t])
				out[n++] = s->steps[i];
	free(order);
	free(chk);
	*nout = n;
	return out;
}

