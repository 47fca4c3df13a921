/*
 * engine/repair_rec.c
 *   merge -> REPAIR: the record writer. While a chunk is compared, each
 *   repaired row becomes one record of a part file: its kind, the changed
 *   columns of an UPDATE, its canonical key, and its before-image (a) and
 *   new values (b) as rows of SQL literals in the written side's dialect.
 */
#include "repair_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/zfile.h"
#include "canon.h"
#include "tz.h"
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

int repair_tag(struct repair_writer *w, const char *wfkey, size_t len, struct tally_err *err)
{
	if (w->failed)
		return 0;
	buf_reset(&w->rec);
	buf_addch(&w->rec, (char)REC_WFKEY);
	put_chunk(&w->rec, NULL, 0);
	put_chunk(&w->rec, wfkey, len);
	put_chunk(&w->rec, NULL, 0);
	put_chunk(&w->rec, NULL, 0);
	return zfile_write(&w->z, w->rec.data, w->rec.len, err);
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

