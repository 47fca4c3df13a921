/*
 * engine/stream.c
 *   connector -> STREAM -> merge: per row, canonicalize the key columns,
 *   then the compared columns, into one buffer, and hash it. The hot path:
 *   no allocation per row once the buffer has grown to the widest row.
 */
#include "stream.h"

#include <stdlib.h>
#include <string.h>

#include "canon.h"
#include "rowhash.h"

int stream_open(struct stream *s, struct conn *c, const struct plan *p, int side,
                const char *system, const struct scan_range *range, struct tally_err *err)
{
	struct scan_req req;
	size_t *key = xcalloc(p->nkey ? p->nkey : 1, sizeof(size_t));
	char *where = NULL;
	int rc;

	memset(s, 0, sizeof(*s));
	s->conn = c;
	s->plan = p;
	s->side = side;
	s->system = system;
	buf_init(&s->bytes);
	s->off = xcalloc(p->ncmp + 1, sizeof(uint32_t));
	s->row.off = s->off;
	s->src.ctx = s;
	s->src.side = side == SIDE_SOURCE ? "source" : "target";
	s->src.next = stream_next;

	plan_scan_req(p, side, key, &req);
	req.ncols = p->nread[side];
	req.cols = p->read[side];
	if (range) {
		req.nlo = range->nlo;
		req.lo = range->nlo ? range->lo : NULL;
		req.nhi = range->nhi;
		req.hi = range->nhi ? range->hi : NULL;
		req.limit = range->limit;
		req.unordered = range->unordered && range->limit == 0;
		if (range->and_where && req.where && *req.where)
			req.where = where = xasprintf("(%s\n) AND %s", req.where, range->and_where);
		else if (range->and_where)
			req.where = range->and_where;
	}
	rc = c->ops->scan_open(c, &req, err);
	free(key);
	free(where);
	if (rc < 0) {
		stream_close(s);
		return -1;
	}
	s->open = true;
	return 0;
}

static int value_error(struct stream *s, size_t col, struct tally_err *err)
{
	const struct coldesc *cd = &s->plan->desc[s->side].cols[col];

	return err_context(err, "%s system '%s', %s, column '%s' (%s), row %llu",
	                   s->src.side, s->system, s->plan->desc[s->side].display, cd->name,
	                   cd->native, (unsigned long long)s->rows);
}

int stream_next(void *ctx, const struct mrow **row, struct tally_err *err)
{
	struct stream *s = ctx;
	const struct plan *p = s->plan;
	const int side = s->side;
	struct rawrow *raw;
	size_t keylen;
	int rc;

	if (tally_interrupted)
		return err_set(err, ERR_INTERRUPTED, "interrupted");
	rc = s->conn->ops->scan_next(s->conn, &raw, err);
	if (rc <= 0)
		return rc;
	s->rows++;
	s->raw = raw;
	s->row.raw = raw;
	buf_reset(&s->bytes);
	for (size_t i = 0; i < p->nkey; i++) {
		if (canon_encode(&s->bytes, &p->key[i].canon[side], raw->val[i], raw->len[i], err) < 0)
			return value_error(s, p->key[i].col[side], err);
	}
	keylen = s->bytes.len;
	for (size_t j = 0; j < p->ncmp; j++) {
		size_t v = p->nkey + j;

		s->off[j] = (uint32_t)(s->bytes.len - keylen);
		if (canon_encode(&s->bytes, &p->cmp[j].canon[side], raw->val[v], raw->len[v], err) < 0)
			return value_error(s, p->cmp[j].col[side], err);
	}
	s->off[p->ncmp] = (uint32_t)(s->bytes.len - keylen);
	if (p->multiset) {
		/* The whole row is the key: copies of a row sort together. */
		keylen = s->bytes.len;
		memset(s->off, 0, (p->ncmp + 1) * sizeof(*s->off));
	}
	s->row.bytes = (const uint8_t *)s->bytes.data;
	s->row.keylen = keylen;
	s->row.len = s->bytes.len;
	if (p->tol)
		rowhash_skipping((const uint8_t *)s->bytes.data, keylen, s->off, p->ncmp, p->tol, &s->row.hash);
	else
		rowhash_of(s->bytes.data, s->bytes.len, &s->row.hash);
	*row = &s->row;
	return 1;
}

void stream_close(struct stream *s)
{
	if (s->open && s->conn)
		s->conn->ops->scan_close(s->conn);
	s->open = false;
	buf_release(&s->bytes);
	free(s->off);
	s->off = NULL;
}
