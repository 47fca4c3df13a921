/*
 * engine/diffout.c
 *   merge -> DIFFOUT: JSON lines through jansson into a zstd stream. Runs
 *   once per difference, not per row, so building a json_t is affordable.
 */
#include "diffout.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "stream.h"

void diffout_init(struct diffout *d, struct zfile *z, const struct plan *plan, const char *check)
{
	d->z = z;
	d->plan = plan;
	d->check = check;
	d->lines = 0;
}

static json_t *integer_value(const char *v, size_t len)
{
	char tmp[32];
	char *end;
	long long n;

	if (len == 0 || len >= sizeof(tmp))
		return json_stringn(v, len);
	memcpy(tmp, v, len);
	tmp[len] = '\0';
	errno = 0;
	n = strtoll(tmp, &end, 10);
	if (errno || *end)
		return json_stringn(v, len);   /* unsigned beyond 2^63 */
	return json_integer(n);
}

static json_t *text_value(const char *v, size_t len)
{
	json_t *j = json_stringn(v, len);
	struct buf b = BUF_INIT;

	if (j)
		return j;
	/* Not valid UTF-8: keep every byte, visibly. */
	buf_addhex(&b, v, len);
	j = json_pack("{s:s}", "invalid_utf8_hex", b.data);
	buf_release(&b);
	return j;
}

json_t *diffout_value(const struct coldesc *cd, const struct canon_col *cc, const char *v, size_t len)
{
	const enum cclass cls = cc->cls;
	struct buf b = BUF_INIT;
	json_t *j;

	if (!v)
		return json_null();
	if (cc->raw_bits && cls == CC_BOOL && len == 1 && (uint8_t)v[0] <= 1)
		return v[0] ? json_true() : json_false();
	if (cc->raw_bits && cd->type == LT_BIT) {
		/* MariaDB sends BIT(n) as bytes: show the n bits, as PostgreSQL prints them. */
		size_t nbits = cd->bits > 0 ? (size_t)cd->bits : len * 8;

		for (size_t i = len * 8 > nbits ? len * 8 - nbits : 0; i < len * 8; i++)
			buf_addch(&b, (uint8_t)v[i / 8] & (0x80u >> (i % 8)) ? '1' : '0');
		j = json_stringn(b.data, b.len);
		buf_release(&b);
		return j;
	}
	if (cls == CC_BOOL) {
		if (len == 1 && (v[0] == 't' || v[0] == '1'))
			return json_true();
		if (len == 1 && (v[0] == 'f' || v[0] == '0'))
			return json_false();
	}
	if (cd->type == LT_INT || cd->type == LT_YEAR)
		return integer_value(v, len);
	if (cls == CC_BYTES || cd->type == LT_BYTES) {
		buf_addstr(&b, "\\x");
		buf_addhex(&b, v, len);
		j = json_stringn(b.data, b.len);
		buf_release(&b);
		return j;
	}
	return text_value(v, len);
}

static const struct rawrow *raw_of(const struct mrow *r)
{
	return r->raw;
}

static json_t *key_object(const struct plan *p, int side, const struct mrow *row)
{
	const struct rawrow *raw = raw_of(row);
	json_t *o = json_object();

	for (size_t i = 0; i < p->nkey; i++) {
		const struct plan_col *k = &p->key[i];

		json_object_set_new(o, plan_colname(p, k, SIDE_SOURCE),
		                    diffout_value(&p->desc[side].cols[k->col[side]], &k->canon[side],
		                                  raw->val[i], raw->len[i]));
	}
	return o;
}

static json_t *values_object(const struct plan *p, int side, const struct mrow *row,
                             const uint8_t *only)
{
	const struct rawrow *raw = raw_of(row);
	json_t *o = json_object();

	for (size_t j = 0; j < p->ncmp; j++) {
		const struct plan_col *c = &p->cmp[j];
		size_t v = p->nkey + j;

		if (only && !(only[j / 8] & (1u << (j % 8))))
			continue;
		json_object_set_new(o, plan_colname(p, c, side),
		                    diffout_value(&p->desc[side].cols[c->col[side]], &c->canon[side],
		                                  raw->val[v], raw->len[v]));
	}
	return o;
}

/* Writes one line and frees it. */
static int put_line(struct diffout *d, json_t *line, struct tally_err *err)
{
	char *text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
	int rc;

	json_decref(line);
	if (!text)
		return err_set(err, ERR_INTERNAL, "cannot render a difference as JSON");
	rc = zfile_write(d->z, text, strlen(text), err);
	if (rc == 0)
		rc = zfile_write(d->z, "\n", 1, err);
	free(text);
	d->lines++;
	return rc;
}

json_t *diffout_line(const struct plan *p, const char *check, enum diff_kind kind, const struct mrow *src,
                     const struct mrow *tgt, const uint8_t *changed)
{
	json_t *line = json_object(), *cols = json_array();

	json_object_set_new(line, "check", json_string(check));
	json_object_set_new(line, "kind", json_string(diff_kind_name(kind)));
	json_object_set_new(line, "key", src ? key_object(p, SIDE_SOURCE, src)
	                                     : key_object(p, SIDE_TARGET, tgt));
	if (changed)
		for (size_t j = 0; j < p->ncmp; j++)
			if (changed[j / 8] & (1u << (j % 8)))
				json_array_append_new(cols, json_string(plan_colname(p, &p->cmp[j], SIDE_SOURCE)));
	json_object_set_new(line, "columns", cols);
	json_object_set_new(line, "source", src && kind != DIFF_EXTRA
	                    ? values_object(p, SIDE_SOURCE, src, changed) : json_null());
	json_object_set_new(line, "target", tgt && kind != DIFF_MISSING
	                    ? values_object(p, SIDE_TARGET, tgt, changed) : json_null());
	return line;
}

int diffout_put(struct diffout *d, json_t *line, struct tally_err *err)
{
	return put_line(d, line, err);
}

int diffout_row(void *ctx, enum diff_kind kind, const struct mrow *src, const struct mrow *tgt,
                const uint8_t *changed, struct tally_err *err)
{
	struct diffout *d = ctx;

	return put_line(d, diffout_line(d->plan, d->check, kind, src, tgt, changed), err);
}

int diffout_copies(struct diffout *d, enum diff_kind kind, const struct mrow *row, uint64_t source_copies,
                   uint64_t target_copies, uint64_t copies, struct tally_err *err)
{
	const struct plan *p = d->plan;
	const int side = kind == DIFF_MISSING ? SIDE_SOURCE : SIDE_TARGET;
	json_t *line = json_object();

	json_object_set_new(line, "check", json_string(d->check));
	json_object_set_new(line, "kind", json_string(diff_kind_name(kind)));
	json_object_set_new(line, "key", json_null());
	json_object_set_new(line, "columns", json_array());
	json_object_set_new(line, "copies", json_integer((json_int_t)copies));
	json_object_set_new(line, "source_copies", json_integer((json_int_t)source_copies));
	json_object_set_new(line, "target_copies", json_integer((json_int_t)target_copies));
	json_object_set_new(line, "source", side == SIDE_SOURCE ? values_object(p, side, row, NULL) : json_null());
	json_object_set_new(line, "target", side == SIDE_TARGET ? values_object(p, side, row, NULL) : json_null());
	return put_line(d, line, err);
}

void diffout_key_text(struct buf *out, const struct plan *p, int side, const struct mrow *row)
{
	const struct rawrow *raw = raw_of(row);

	for (size_t i = 0; i < p->nkey; i++) {
		const struct plan_col *k = &p->key[i];
		json_t *v = diffout_value(&p->desc[side].cols[k->col[side]], &k->canon[side],
		                          raw->val[i], raw->len[i]);
		char *t = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

		buf_addf(out, "%s%s=%s", i ? ", " : "", plan_colname(p, k, SIDE_SOURCE), t ? t : "?");
		free(t);
		json_decref(v);
	}
}
