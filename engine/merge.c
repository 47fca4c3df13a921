/*
 * engine/merge.c
 *   rowhash -> MERGE -> report, repair: the streaming merge-join of two
 *   key-ordered streams. Performs no I/O.
 */
#include "merge.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "canon.h"
#include "newer.h"
#include "rowrec.h"

const char *diff_kind_name(enum diff_kind k)
{
	switch (k) {
	case DIFF_MISSING: return "missing";
	case DIFF_EXTRA: return "extra";
	case DIFF_CHANGED: return "changed";
	}
	return "?";
}

void merge_stats_init(struct merge_stats *st)
{
	memset(st, 0, sizeof(*st));
	chunkhash_init(&st->side[0]);
	chunkhash_init(&st->side[1]);
}

int merge_keycmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	int c = n ? memcmp(a, b, n) : 0;

	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}

long merge_key_null_column(const uint8_t *key, size_t keylen, size_t nkey)
{
	struct buf scratch = BUF_INIT;
	size_t at = 0;
	long found = -1;

	for (size_t i = 0; i < nkey && at < keylen; i++) {
		struct sqlval v;
		size_t n = canon_decode(key + at, keylen - at, &v, &scratch);

		if (n == 0)
			break;
		if (v.kind == SV_NULL) {
			found = (long)i;
			break;
		}
		at += n;
	}
	buf_release(&scratch);
	return found;
}

/* One side of the merge: its source, current row, and previous key. */
struct cursor {
	struct msource *src;
	const struct mrow *row;     /* NULL at the end */
	struct buf prev;
	uint64_t n;                 /* rows read */
	struct chunkhash *hash;
	bool dups;                  /* equal keys may follow each other (multisets) */
};

/*
 * A repeated key. A unique index lets any number of rows hold NULL in a
 * key column, and NULL matches only NULL: say so, naming the column.
 */
static int duplicate_key(const struct cursor *c, const struct mrow *r, struct tally_err *err)
{
	const struct msource *s = c->src;
	long col = merge_key_null_column(r->bytes, r->keylen, s->nkey ? s->nkey : SIZE_MAX);
	unsigned long long row = (unsigned long long)(c->n + 1);

	if (col < 0) {
		err_set(err, ERR_DATA, "%s returned a duplicate key at row %llu", s->side, row);
		err_detail(err, "each key must identify one row; rows with equal keys cannot be matched");
		return err_hint(err, "choose key columns that are unique on the %s side", s->side);
	}
	if (s->keynames)
		err_set(err, ERR_DATA, "%s returned a duplicate key at row %llu: key column '%s' is NULL in more "
		        "than one row", s->side, row, s->keynames[col]);
	else
		err_set(err, ERR_DATA, "%s returned a duplicate key at row %llu: key column %ld is NULL in more "
		        "than one row", s->side, row, col + 1);
	err_detail(err, "a unique index allows many rows with NULL in a key column, and tally matches NULL "
	           "only to NULL: rows with equal keys cannot be matched");
	return err_hint(err, "choose key columns that are NOT NULL on the %s side, or leave these rows out "
	                "with a where", s->side);
}

static int cursor_next(struct cursor *c, struct tally_err *err)
{
	const struct mrow *r;
	int rc = c->src->next(c->src->ctx, &r, err);

	if (rc < 0)
		return -1;
	if (rc == 0) {
		c->row = NULL;
		return 0;
	}
	if (c->n > 0) {
		int cmp = merge_keycmp(r->bytes, r->keylen, (const uint8_t *)c->prev.data, c->prev.len);

		if (cmp == 0 && !c->dups)
			return duplicate_key(c, r, err);
		if (cmp < 0) {
			err_set(err, ERR_DATA, "%s returned rows out of key order at row %llu",
			        c->src->side, (unsigned long long)(c->n + 1));
			return err_detail(err, "tally merges in bytewise key order and the server's order differed");
		}
	}
	buf_reset(&c->prev);
	buf_add(&c->prev, r->bytes, r->keylen);
	c->n++;
	chunkhash_add(c->hash, &r->hash);
	c->row = r;
	return 1;
}

/* Equal within tol? Both floats, or the same bytes (two NULLs). */
static bool within(const uint8_t *a, size_t la, const uint8_t *b, size_t lb, double tol)
{
	double x, y;

	if (!canon_float_of(a, la, &x) || !canon_float_of(b, lb, &y))
		return false;
	if (isnan(x) || isnan(y))
		return isnan(x) && isnan(y);
	if (isinf(x) || isinf(y))
		return x == y;
	return fabs(x - y) <= tol;
}

/* Sets the bits of the differing columns; returns how many differ. */
static size_t changed_columns(const struct mrow *a, const struct mrow *b, size_t ncmp, const double *tol,
                              uint8_t *bits)
{
	const uint8_t *va = a->bytes + a->keylen, *vb = b->bytes + b->keylen;
	size_t n = 0;

	memset(bits, 0, (ncmp + 7) / 8);
	for (size_t i = 0; i < ncmp; i++) {
		size_t la = a->off[i + 1] - a->off[i], lb = b->off[i + 1] - b->off[i];

		if (la == lb && memcmp(va + a->off[i], vb + b->off[i], la) == 0)
			continue;
		if (tol && tol[i] >= 0 && within(va + a->off[i], la, vb + b->off[i], lb, tol[i]))
			continue;
		bits[i / 8] |= (uint8_t)(1u << (i % 8));
		n++;
	}
	return n;
}

/* Is row (may be NULL) newer than nw's cutoff? */
static bool row_newer(const struct merge_newer *nw, const struct mrow *r)
{
	const uint8_t *v;

	if (!r)
		return false;
	v = r->bytes + r->keylen + r->off[nw->col];
	return newer_value(v, r->off[nw->col + 1] - r->off[nw->col], nw->cutoff);
}

/* Is the key of a (source) and b (target), either NULL when absent, skipped as newer? */
static bool skip_newer(const struct merge_sink *sink, bool all, const struct mrow *a, const struct mrow *b)
{
	if (!sink->newer || (all && !(a && b)))
		return false;
	return row_newer(sink->newer, a) || row_newer(sink->newer, b);
}

static int merge(struct msource *src, struct msource *tgt, size_t ncmp, const double *tol,
                 enum spec_expect expect, bool all, const struct merge_sink *sink, struct merge_stats *st,
                 struct tally_err *err)
{
	struct cursor a = { src, NULL, BUF_INIT, 0, &st->side[0], false };
	struct cursor b = { tgt, NULL, BUF_INIT, 0, &st->side[1], false };
	uint8_t *bits = xcalloc((ncmp + 7) / 8 + 1, 1);
	int rc = -1;

	if (cursor_next(&a, err) < 0 || cursor_next(&b, err) < 0)
		goto out;
	while (a.row || b.row) {
		int c;

		if (a.row && b.row)
			c = merge_keycmp(a.row->bytes, a.row->keylen, b.row->bytes, b.row->keylen);
		else
			c = a.row ? -1 : 1;

		if (skip_newer(sink, all, c <= 0 ? a.row : NULL, c >= 0 ? b.row : NULL)) {
			st->skipped++;
			if (sink->newer->on_skip &&
			    sink->newer->on_skip(sink->newer->ctx, c <= 0 ? a.row : NULL, c >= 0 ? b.row : NULL, err) < 0)
				goto out;
			if ((c <= 0 && cursor_next(&a, err) < 0) || (c >= 0 && cursor_next(&b, err) < 0))
				goto out;
		} else if (c < 0) {
			if (all || expect != EXPECT_ABSENT) {
				st->missing++;
				if (sink->diff(sink->ctx, DIFF_MISSING, a.row, NULL, NULL, err) < 0)
					goto out;
			}
			if (cursor_next(&a, err) < 0)
				goto out;
		} else if (c > 0) {
			if (all || expect == EXPECT_EQUAL) {
				st->extra++;
				if (sink->diff(sink->ctx, DIFF_EXTRA, NULL, b.row, NULL, err) < 0)
					goto out;
			}
			if (cursor_next(&b, err) < 0)
				goto out;
		} else {
			if (expect == EXPECT_ABSENT) {
				st->extra++;
				if (sink->diff(sink->ctx, DIFF_EXTRA, a.row, b.row, NULL, err) < 0)
					goto out;
			} else if ((a.row->len == b.row->len &&
			            memcmp(a.row->bytes, b.row->bytes, a.row->len) == 0) ||
			           changed_columns(a.row, b.row, ncmp, tol, bits) == 0) {
				st->matched++;
			} else {
				st->changed++;
				if (sink->diff(sink->ctx, DIFF_CHANGED, a.row, b.row, bits, err) < 0)
					goto out;
			}
			if (cursor_next(&a, err) < 0 || cursor_next(&b, err) < 0)
				goto out;
		}
	}
	rc = 0;
out:
	buf_release(&a.prev);
	buf_release(&b.prev);
	free(bits);
	return rc;
}

int merge_run(struct msource *src, struct msource *tgt, size_t ncmp, enum spec_expect expect,
              const struct merge_sink *sink, struct merge_stats *st, struct tally_err *err)
{
	return merge(src, tgt, ncmp, NULL, expect, false, sink, st, err);
}

int merge_run_all(struct msource *src, struct msource *tgt, size_t ncmp, enum spec_expect expect,
                  const struct merge_sink *sink, struct merge_stats *st, struct tally_err *err)
{
	return merge(src, tgt, ncmp, NULL, expect, true, sink, st, err);
}

/*
 * Copies the rows of one side that equal key (the current row first) into
 * rec, counts them, and leaves the cursor on the next distinct row.
 */
static int count_copies(struct cursor *c, const uint8_t *key, size_t keylen, size_t ncmp, struct buf *rec,
                        uint64_t *copies, struct tally_err *err)
{
	*copies = 0;
	if (c->row && merge_keycmp(c->row->bytes, c->row->keylen, key, keylen) == 0) {
		buf_reset(rec);
		rowrec_put(rec, c->row, ncmp, c->row->raw);
	}
	while (c->row && merge_keycmp(c->row->bytes, c->row->keylen, key, keylen) == 0) {
		(*copies)++;
		if (cursor_next(c, err) < 0)
			return -1;
	}
	return 0;
}

int merge_multiset(struct msource *src, struct msource *tgt, size_t ncmp, enum spec_expect expect,
                   const struct merge_sink *sink, struct merge_stats *st, struct tally_err *err)
{
	struct cursor a = { src, NULL, BUF_INIT, 0, &st->side[0], true };
	struct cursor b = { tgt, NULL, BUF_INIT, 0, &st->side[1], true };
	struct buf key = BUF_INIT, rec[2] = { BUF_INIT, BUF_INIT };
	struct rowview view[2];
	int rc = -1;

	rowview_init(&view[0]);
	rowview_init(&view[1]);
	if (cursor_next(&a, err) < 0 || cursor_next(&b, err) < 0)
		goto out;
	while (a.row || b.row) {
		const struct mrow *first = !b.row ? a.row : !a.row ? b.row
		                         : merge_keycmp(a.row->bytes, a.row->keylen, b.row->bytes, b.row->keylen) <= 0
		                         ? a.row : b.row;
		uint64_t ca, cb, kind_n = 0;
		enum diff_kind kind = DIFF_MISSING;
		int side = 0;

		buf_reset(&key);
		buf_add(&key, first->bytes, first->keylen);
		if (count_copies(&a, (const uint8_t *)key.data, key.len, ncmp, &rec[0], &ca, err) < 0 ||
		    count_copies(&b, (const uint8_t *)key.data, key.len, ncmp, &rec[1], &cb, err) < 0)
			goto out;
		st->matched += ca < cb ? ca : cb;
		if (expect == EXPECT_ABSENT) {
			if (ca && cb) {
				kind = DIFF_EXTRA;
				kind_n = cb;
				side = 1;
			}
		} else if (ca > cb) {
			kind_n = ca - cb;
		} else if (cb > ca && expect == EXPECT_EQUAL) {
			kind = DIFF_EXTRA;
			kind_n = cb - ca;
			side = 1;
		}
		if (!kind_n)
			continue;
		if (kind == DIFF_MISSING)
			st->missing += kind_n;
		else
			st->extra += kind_n;
		if (rowrec_get((const uint8_t *)rec[side].data, rec[side].len, &view[side]) < 0) {
			err_set(err, ERR_INTERNAL, "a row record is corrupt");
			goto out;
		}
		if (sink->copies(sink->ctx, kind, &view[side].m, ca, cb, err) < 0)
			goto out;
	}
	rc = 0;
out:
	buf_release(&a.prev);
	buf_release(&b.prev);
	buf_release(&key);
	buf_release(&rec[0]);
	buf_release(&rec[1]);
	rowview_release(&view[0]);
	rowview_release(&view[1]);
	return rc;
}

int merge_run_tol(struct msource *src, struct msource *tgt, size_t ncmp, const double *tol,
                  enum spec_expect expect, bool all, const struct merge_sink *sink,
                  struct merge_stats *st, struct tally_err *err)
{
	return merge(src, tgt, ncmp, tol, expect, all, sink, st, err);
}
