/*
 * engine/sorter.c
 *   SORTER: records in one memory buffer, sorted through an array of
 *   their offsets and key prefixes (a stable merge sort that reads a
 *   record only when two prefixes tie) when the buffer is full and
 *   written as a zstd run; at the end either
 *   the one in-memory batch is read in order, or the runs and the last
 *   batch, which stays in memory, are merged with a binary heap of readers.
 */
#include "sorter.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/zfile.h"

struct run {
	char *path;                 /* NULL for the batch kept in memory */
	struct zreader z;
	struct buf rec;             /* the current record, read from the file */
	const uint8_t *cur;         /* the current record */
	bool done;
};

/*
 * An in-memory record as the sort sees it: the first 16 bytes of its
 * canonical key, big-endian in two words and zero-padded, so that most
 * comparisons are two integer compares without touching the record; the
 * full keys decide only when the prefixes tie.
 */
struct sortent {
	uint64_t p0, p1;
	size_t off;                 /* the record's offset in mem */
};

struct sorter {
	char *dir;
	size_t budget;
	size_t ncmp;
	const char *side;
	struct buf mem;             /* records of the batch in memory */
	struct sortent *recs;       /* one per record of mem, in insertion then key order */
	struct sortent *tmp;        /* the merge sort's scratch, as large as recs */
	size_t nrecs, caprecs, captmp;
	struct run *runs;
	size_t nruns;
	bool finished;
	/* reading */
	size_t next;                /* next in-memory record */
	size_t *heap;               /* run indexes, smallest current key first */
	size_t nheap;
	long advance;               /* run to move past on the next call, or -1 */
	struct rowview view;
	struct msource src;
};

static uint64_t load_be64(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < 8; i++)
		v = v << 8 | (i < n ? p[i] : 0);
	return v;
}

static void sortent_fill(struct sortent *e, const uint8_t *rec, size_t off)
{
	size_t len;
	const uint8_t *k = rowrec_key(rec, &len);

	e->p0 = load_be64(k, len);
	e->p1 = len > 8 ? load_be64(k + 8, len - 8) : 0;
	e->off = off;
}

/*
 * memcmp order of the two records' full keys (merge_keycmp), from their
 * prefixes when those differ. Zero padding makes a short key's prefix
 * equal to a longer key's that continues with zero bytes, never greater,
 * so a prefix difference always agrees with the full comparison.
 */
static int sortent_cmp(const struct sortent *a, const struct sortent *b, const uint8_t *base)
{
	size_t la, lb;
	const uint8_t *ka, *kb;

	if (a->p0 != b->p0)
		return a->p0 < b->p0 ? -1 : 1;
	if (a->p1 != b->p1)
		return a->p1 < b->p1 ? -1 : 1;
	ka = rowrec_key(base + a->off, &la);
	kb = rowrec_key(base + b->off, &lb);
	if (la > 16 && lb > 16)   /* the first 16 bytes are equal */
		return merge_keycmp(ka + 16, la - 16, kb + 16, lb - 16);
	return merge_keycmp(ka, la, kb, lb);
}

/* Short runs are sorted by insertion first; a stable sort throughout. */
#define SORT_SMALL 16

static void insertion_sort(struct sortent *v, size_t n, const uint8_t *base)
{
	for (size_t i = 1; i < n; i++) {
		struct sortent e = v[i];
		size_t j = i;

		while (j > 0 && sortent_cmp(&e, &v[j - 1], base) < 0) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = e;
	}
}

static void swap_ents(struct sortent **a, struct sortent **b)
{
	struct sortent *t = *a;

	*a = *b;
	*b = t;
}

/*
 * Bottom-up merge sort of v[0..n) using tmp (n entries): stable, so rows
 * with equal keys keep the order they were added in, as glibc's qsort
 * (a merge sort) kept them before.
 */
static void merge_sort(struct sortent *v, struct sortent *tmp, size_t n, const uint8_t *base)
{
	struct sortent *from = v, *to = tmp;

	for (size_t i = 0; i < n; i += SORT_SMALL)
		insertion_sort(v + i, n - i < SORT_SMALL ? n - i : SORT_SMALL, base);
	for (size_t width = SORT_SMALL; width < n; width *= 2) {
		for (size_t lo = 0; lo < n; lo += 2 * width) {
			size_t mid = lo + width < n ? lo + width : n;
			size_t hi = mid + width < n ? mid + width : n;
			size_t i = lo, j = mid, k = lo;

			if (mid == hi || sortent_cmp(&from[mid - 1], &from[mid], base) <= 0) {
				memcpy(to + lo, from + lo, (hi - lo) * sizeof(*to));
				continue;   /* already in order */
			}
			while (i < mid && j < hi)
				to[k++] = sortent_cmp(&from[j], &from[i], base) < 0 ? from[j++] : from[i++];
			memcpy(to + k, from + i, (mid - i) * sizeof(*to));
			k += mid - i;
			memcpy(to + k, from + j, (hi - j) * sizeof(*to));
		}
		swap_ents(&from, &to);
	}
	if (from != v)
		memcpy(v, from, n * sizeof(*v));
}

static void sort_batch(struct sorter *s)
{
	if (s->nrecs < 2)
		return;
	s->tmp = xgrow(s->tmp, &s->captmp, s->nrecs, sizeof(*s->tmp));
	merge_sort(s->recs, s->tmp, s->nrecs, (const uint8_t *)s->mem.data);
}

/* Sorts the batch in memory and writes it as a run. */
static int spill(struct sorter *s, struct tally_err *err)
{
	struct zfile z;
	struct run *r;
	char *path = xasprintf("%s/sort-%p-%zu.run", s->dir, (void *)s, s->nruns);
	int rc;

	sort_batch(s);
	rc = zfile_create(&z, path, 1, ZFILE_SCRATCH, err);
	for (size_t i = 0; i < s->nrecs && rc == 0; i++) {
		const uint8_t *rec = (const uint8_t *)s->mem.data + s->recs[i].off;

		rc = zfile_write(&z, rec, rowrec_len(rec), err);
	}
	/* The run is recorded even when it failed, so that sorter_free removes it. */
	if (zfile_close(&z, err) < 0)
		rc = -1;
	s->runs = xrealloc(s->runs, (s->nruns + 1) * sizeof(*s->runs));
	r = &s->runs[s->nruns++];
	memset(r, 0, sizeof(*r));
	r->path = path;
	r->z.fd = -1;
	buf_init(&r->rec);
	buf_reset(&s->mem);
	s->nrecs = 0;
	return rc;
}

struct sorter *sorter_new(const char *dir, size_t budget, size_t ncmp, const char *side)
{
	struct sorter *s = xcalloc(1, sizeof(*s));

	s->dir = xstrdup(dir);
	s->budget = budget;
	s->ncmp = ncmp;
	s->side = side;
	buf_init(&s->mem);
	rowview_init(&s->view);
	s->advance = -1;
	s->src.ctx = s;
	s->src.side = side;
	return s;
}

int sorter_add(struct sorter *s, const struct mrow *m, struct tally_err *err)
{
	if (s->mem.len > 0 && s->mem.len >= s->budget && spill(s, err) < 0)
		return -1;
	size_t off = s->mem.len;

	s->recs = xgrow(s->recs, &s->caprecs, s->nrecs + 1, sizeof(*s->recs));
	rowrec_put(&s->mem, m, s->ncmp, m->raw);
	sortent_fill(&s->recs[s->nrecs++], (const uint8_t *)s->mem.data + off, off);
	return 0;
}

/* Moves a run to its next record (r->cur); marks the run done at its end. */
static int run_next(struct sorter *s, struct run *r, struct tally_err *err)
{
	uint8_t head[4];
	long got;
	uint32_t len;

	if (!r->path) {
		if (s->next == s->nrecs)
			r->done = true;
		else
			r->cur = (const uint8_t *)s->mem.data + s->recs[s->next++].off;
		return 0;
	}
	got = zreader_read(&r->z, head, 4, err);
	if (got < 0)
		return -1;
	if (got == 0) {
		r->done = true;
		return 0;
	}
	if (got != 4)
		return err_set(err, ERR_IO, "%s sort run '%s' is truncated", s->side, r->path);
	len = rowrec_len(head);
	if (len < ROWREC_HEAD)
		return err_set(err, ERR_IO, "%s sort run '%s' is corrupt", s->side, r->path);
	buf_reset(&r->rec);
	buf_grow(&r->rec, len);
	memcpy(r->rec.data, head, 4);
	got = zreader_read(&r->z, r->rec.data + 4, len - 4, err);
	if (got < 0)
		return -1;
	if ((uint32_t)got != len - 4)
		return err_set(err, ERR_IO, "%s sort run '%s' is truncated", s->side, r->path);
	buf_setlen(&r->rec, len);
	r->cur = (const uint8_t *)r->rec.data;
	return 0;
}

static int heap_less(const struct sorter *s, size_t a, size_t b)
{
	size_t la, lb;
	const uint8_t *ka = rowrec_key(s->runs[a].cur, &la);
	const uint8_t *kb = rowrec_key(s->runs[b].cur, &lb);

	return merge_keycmp(ka, la, kb, lb) < 0;
}

static void heap_down(struct sorter *s, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i, t;

		if (l < s->nheap && heap_less(s, s->heap[l], s->heap[m]))
			m = l;
		if (r < s->nheap && heap_less(s, s->heap[r], s->heap[m]))
			m = r;
		if (m == i)
			return;
		t = s->heap[i];
		s->heap[i] = s->heap[m];
		s->heap[m] = t;
		i = m;
	}
}

static int next_row(void *ctx, const struct mrow **row, struct tally_err *err)
{
	struct sorter *s = ctx;
	const uint8_t *rec;

	if (s->nruns == 0) {
		if (s->next == s->nrecs)
			return 0;
		rec = (const uint8_t *)s->mem.data + s->recs[s->next++].off;
	} else {
		if (s->advance >= 0) {
			struct run *r = &s->runs[s->advance];

			if (run_next(s, r, err) < 0)
				return -1;
			if (r->done)
				s->heap[0] = s->heap[--s->nheap];
			heap_down(s, 0);
			s->advance = -1;
		}
		if (s->nheap == 0)
			return 0;
		s->advance = (long)s->heap[0];
		rec = s->runs[s->heap[0]].cur;
	}
	if (rowrec_get(rec, rowrec_len(rec), &s->view) < 0)
		return err_set(err, ERR_INTERNAL, "%s sort record is corrupt", s->side);
	*row = &s->view.m;
	return 1;
}

int sorter_finish(struct sorter *s, struct tally_err *err)
{
	s->finished = true;
	s->src.next = next_row;
	if (s->nruns == 0) {
		sort_batch(s);
		return 0;
	}
	/*
	 * Some rows already went to disk: the batch in memory joins them as one
	 * more run, without a trip through a file, and the heap merges them all.
	 */
	if (s->nrecs) {
		struct run *m;

		sort_batch(s);
		s->runs = xrealloc(s->runs, (s->nruns + 1) * sizeof(*s->runs));
		m = &s->runs[s->nruns++];
		memset(m, 0, sizeof(*m));
		m->z.fd = -1;
		buf_init(&m->rec);
	}
	s->heap = xcalloc(s->nruns, sizeof(size_t));
	for (size_t i = 0; i < s->nruns; i++) {
		struct run *r = &s->runs[i];

		if ((r->path && zreader_open(&r->z, r->path, err) < 0) || run_next(s, r, err) < 0)
			return -1;
		if (!r->done)
			s->heap[s->nheap++] = i;
	}
	for (size_t i = s->nheap / 2 + 1; i-- > 0;)
		heap_down(s, i);
	return 0;
}

struct msource *sorter_source(struct sorter *s)
{
	return &s->src;
}

size_t sorter_runs(const struct sorter *s)
{
	size_t n = 0;

	for (size_t i = 0; i < s->nruns; i++)
		n += s->runs[i].path != NULL;
	return n;
}

/* Closes and removes the runs; the sorter keeps its buffers. */
static void drop_runs(struct sorter *s)
{
	for (size_t i = 0; i < s->nruns; i++) {
		if (s->runs[i].z.fd >= 0 || s->runs[i].z.dctx)
			zreader_close(&s->runs[i].z);
		if (s->runs[i].path)
			unlink(s->runs[i].path);
		free(s->runs[i].path);
		buf_release(&s->runs[i].rec);
	}
	free(s->runs);
	s->runs = NULL;
	s->nruns = 0;
	free(s->heap);
	s->heap = NULL;
	s->nheap = 0;
}

void sorter_reset(struct sorter *s)
{
	drop_runs(s);
	buf_reset(&s->mem);
	s->nrecs = 0;
	s->finished = false;
	s->next = 0;
	s->advance = -1;
}

struct sorter *sorter_renew(struct sorter *s, const char *dir, size_t budget, size_t ncmp, const char *side)
{
	if (s && s->budget == budget && s->ncmp == ncmp && strcmp(s->dir, dir) == 0) {
		sorter_reset(s);
		s->side = side;
		s->src.side = side;
		return s;
	}
	sorter_free(s);
	return sorter_new(dir, budget, ncmp, side);
}

void sorter_free(struct sorter *s)
{
	if (!s)
		return;
	drop_runs(s);
	free(s->recs);
	free(s->tmp);
	free(s->dir);
	buf_release(&s->mem);
	rowview_release(&s->view);
	free(s);
}
