/*
 * engine/rowrec.c
 *   ROWREC: row records, written and read back. Performs no I/O.
 */
#include "rowrec.h"

#include <stdlib.h>
#include <string.h>

void rowrec_put(struct buf *out, const struct mrow *m, size_t ncmp, const struct rawrow *raw)
{
	size_t n = ROWREC_HEAD + m->len + 4 * (ncmp + 1), start = out->len;
	uint8_t *p;

	for (size_t i = 0; i < raw->ncols; i++)
		n += 4 + (raw->val[i] ? raw->len[i] : 0);
	buf_grow(out, n);
	p = (uint8_t *)out->data + start;
	le_put32(p, (uint32_t)n);
	le_put32(p + 4, (uint32_t)m->keylen);
	le_put32(p + 8, (uint32_t)m->len);
	le_put32(p + 12, (uint32_t)ncmp);
	le_put32(p + 16, (uint32_t)raw->ncols);
	memcpy(p + 20, m->hash.b, 16);
	p += ROWREC_HEAD;
	memcpy(p, m->bytes, m->len);
	p += m->len;
	for (size_t i = 0; i <= ncmp; i++, p += 4)
		le_put32(p, m->off[i]);
	for (size_t i = 0; i < raw->ncols; i++) {
		if (!raw->val[i]) {
			le_put32(p, UINT32_MAX);
			p += 4;
			continue;
		}
		le_put32(p, (uint32_t)raw->len[i]);
		memcpy(p + 4, raw->val[i], raw->len[i]);
		p += 4 + raw->len[i];
	}
	buf_setlen(out, start + n);
}

void rowview_init(struct rowview *v)
{
	memset(v, 0, sizeof(*v));
}

void rowview_release(struct rowview *v)
{
	free(v->off);
	free(v->val);
	free(v->len);
	rowview_init(v);
}

int rowrec_get(const uint8_t *p, size_t n, struct rowview *v)
{
	uint32_t len, keylen, canonlen, ncmp, nraw;
	const uint8_t *q, *end;

	if (n < ROWREC_HEAD)
		return -1;
	len = rowrec_len(p);
	keylen = rowrec_len(p + 4);
	canonlen = rowrec_len(p + 8);
	ncmp = rowrec_len(p + 12);
	nraw = rowrec_len(p + 16);
	if (len > n || len < ROWREC_HEAD || keylen > canonlen ||
	    (uint64_t)canonlen + 4 * ((uint64_t)ncmp + 1) > len - ROWREC_HEAD)
		return -1;
	end = p + len;
	v->off = xgrow(v->off, &v->offcap, ncmp + 1, sizeof(uint32_t));
	if (nraw > v->valcap || !v->val) {
		/* val and len share valcap: grow both, once per new width, not per record */
		size_t cap = v->valcap;

		v->val = xgrow(v->val, &cap, nraw ? nraw : 1, sizeof(char *));
		v->len = xrealloc(v->len, cap * sizeof(size_t));
		v->valcap = cap;
	}
	v->m.bytes = p + ROWREC_HEAD;
	v->m.keylen = keylen;
	v->m.len = canonlen;
	memcpy(v->m.hash.b, p + 20, 16);
	q = p + ROWREC_HEAD + canonlen;
	for (uint32_t i = 0; i <= ncmp; i++, q += 4)
		v->off[i] = rowrec_len(q);
	v->m.off = v->off;
	for (uint32_t i = 0; i < nraw; i++) {
		uint32_t l;

		if (q + 4 > end)
			return -1;
		l = rowrec_len(q);
		q += 4;
		if (l == UINT32_MAX) {
			v->val[i] = NULL;
			v->len[i] = 0;
			continue;
		}
		if (l > (size_t)(end - q))
			return -1;
		v->val[i] = (const char *)q;
		v->len[i] = l;
		q += l;
	}
	if (q != end)
		return -1;
	v->raw.ncols = nraw;
	v->raw.val = v->val;
	v->raw.len = v->len;
	v->m.raw = &v->raw;
	return 0;
}
