/*
 * engine/canon.c
 *   connector -> CANON -> rowhash, merge: parses a value's text by its
 *   logical type and appends its canonical encoding (layout in canon.h).
 *   Performs no I/O. This is the hot path: no allocation per value beyond
 *   growing the caller's buffer, no strlen, one pass over the text. The
 *   dispatch and value maps are here; each class's parser is in
 *   canon_num.c, canon_text.c or canon_time.c, decoding in canon_decode.c.
 */
#include "canon_int.h"

#include <stdlib.h>
#include <string.h>

#include "jcanon.h"

const char *cclass_name(enum cclass c)
{
	switch (c) {
	case CC_NUMBER: return "number";
	case CC_FLOAT64: return "float64";
	case CC_FLOAT32: return "float32";
	case CC_BOOL: return "boolean";
	case CC_TEXT: return "text";
	case CC_BYTES: return "binary";
	case CC_DATE: return "date";
	case CC_TIME: return "time";
	case CC_TIMESTAMP: return "timestamp";
	case CC_TIMESTAMPTZ: return "timestamptz";
	case CC_UUID: return "uuid";
	case CC_JSON: return "json";
	case CC_INET: return "inet";
	case CC_BITS: return "bits";
	}
	return "?";
}

struct canon_col canon_col_make(enum cclass cls, enum ltype type)
{
	struct canon_col c;

	memset(&c, 0, sizeof(c));
	c.cls = cls;
	c.type = type;
	c.scale = -1;
	c.precision = -1;
	c.trim = CANON_TRIM_NONE;
	return c;
}

struct canon_col canon_col_exact(const struct canon_col *c)
{
	struct canon_col e = canon_col_make(c->cls, c->type);

	e.raw_bits = c->raw_bits;
	e.pad_trim = c->pad_trim;     /* char(n) padding is not data */
	e.bits = c->bits;
	e.arr_elem = c->arr_elem;
	e.tz = c->tz;
	e.zero_null = c->zero_null;
	e.map = c->map;
	return e;
}

_Thread_local struct canon_scratch canon_tls = { BUF_INIT, BUF_INIT, BUF_INIT, BUF_INIT };

void canon_thread_release(void)
{
	buf_release(&canon_tls.number);
	buf_release(&canon_tls.folded);
	buf_release(&canon_tls.json);
	buf_release(&canon_tls.own);
	jcanon_thread_release();
}

/* ---- maps ------------------------------------------------------------- */

static int bufcmp(const struct buf *a, const struct buf *b)
{
	size_t n = a->len < b->len ? a->len : b->len;
	int c = n ? memcmp(a->data, b->data, n) : 0;

	return c ? c : (a->len > b->len) - (a->len < b->len);
}

bool canon_map_sort(struct canon_map *m, size_t *dup)
{
	/* Insertion sort: maps are short, and it keeps from and to together. */
	for (size_t i = 1; i < m->n; i++)
		for (size_t j = i; j > 0 && bufcmp(&m->fromv[j - 1], &m->fromv[j]) > 0; j--) {
			struct buf f = m->fromv[j], t = m->tov[j];

			m->fromv[j] = m->fromv[j - 1];
			m->tov[j] = m->tov[j - 1];
			m->fromv[j - 1] = f;
			m->tov[j - 1] = t;
		}
	for (size_t i = 1; i < m->n; i++)
		if (bufcmp(&m->fromv[i - 1], &m->fromv[i]) == 0) {
			*dup = i;
			return false;
		}
	return true;
}

void canon_map_free(struct canon_map *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++) {
		buf_release(&m->fromv[i]);
		buf_release(&m->tov[i]);
	}
	free(m->fromv);
	free(m->tov);
	free(m);
}

/* Returns -2 with err set when the value does not read as the map's own type. */
static int put_mapped(struct buf *out, const struct canon_col *col, const char *s, size_t n,
                      struct tally_err *err)
{
	struct buf *own = &canon_tls.own;
	const struct canon_map *m = col->map;
	size_t lo = 0, hi = m->n;

	buf_reset(own);
	if (canon_encode(own, &m->from, s, n, err) < 0)
		return -2;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = bufcmp(&m->fromv[mid], own);

		if (c == 0) {
			buf_add(out, m->tov[mid].data, m->tov[mid].len);
			return 0;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	canon_put_escaped(out, TAG_UNMAPPED, own->data, own->len);
	return 0;
}

/* ---- dispatch --------------------------------------------------------- */

static const char *expected_form(enum cclass c)
{
	switch (c) {
	case CC_NUMBER: return "not a valid number";
	case CC_FLOAT64:
	case CC_FLOAT32: return "not a valid floating-point number";
	case CC_BOOL: return "not a valid boolean";
	case CC_DATE: return "not a valid date (expected YYYY-MM-DD)";
	case CC_TIME: return "not a valid time (expected HH:MM:SS[.ffffff])";
	case CC_TIMESTAMP: return "not a valid timestamp (expected YYYY-MM-DD HH:MM:SS[.ffffff])";
	case CC_TIMESTAMPTZ:
		return "not a valid timestamp with time zone (expected YYYY-MM-DD HH:MM:SS[.ffffff][+HH[:MM]])";
	case CC_UUID: return "not a valid uuid";
	case CC_INET: return "not a valid IP address (expected a.b.c.d[/n] or an IPv6 address[/n])";
	case CC_BITS: return "not a valid bit string";
	case CC_JSON: return "not valid JSON";
	case CC_TEXT:
	case CC_BYTES: break;
	}
	return "not a valid value";
}

int canon_encode(struct buf *out, const struct canon_col *col,
                 const char *val, size_t len, struct tally_err *err)
{
	size_t mark = out->len;
	int rc = 0;

	if (!val) {
		buf_addch(out, TAG_NULL);
		return 0;
	}
	if (col->map) {
		rc = put_mapped(out, col, val, len, err);
		if (rc < 0)
			buf_setlen(out, mark);
		return rc < 0 ? -1 : 0;
	}
	switch (col->cls) {
	case CC_NUMBER:
		rc = canon_put_number(out, col, val, len);
		break;
	case CC_FLOAT64:
	case CC_FLOAT32:
		rc = canon_put_float(out, col, val, len);
		break;
	case CC_BOOL:
		rc = canon_put_bool(out, col, val, len);
		break;
	case CC_TEXT:
		canon_put_text(out, col, val, len);
		break;
	case CC_BYTES:
		canon_put_escaped(out, TAG_BYTES, val, len);
		break;
	case CC_DATE:
		rc = canon_put_date(out, val, len, col->zero_null);
		break;
	case CC_TIME:
		rc = canon_put_time(out, col, val, len);
		break;
	case CC_TIMESTAMP:
	case CC_TIMESTAMPTZ:
		rc = canon_put_timestamp(out, col, val, len);
		break;
	case CC_UUID:
		rc = canon_put_uuid(out, col, val, len);
		break;
	case CC_JSON:
		rc = canon_put_json(out, col, val, len, err);
		break;
	case CC_INET:
		rc = canon_put_inet(out, val, len);
		break;
	case CC_BITS:
		rc = canon_put_bits(out, col, val, len);
		break;
	}
	if (rc == -2) {
		/* The parser said what is wrong, better than a generic form. */
		buf_setlen(out, mark);
		return -1;
	}
	if (rc < 0) {
		buf_setlen(out, mark);
		return err_set(err, ERR_DATA, "%s", expected_form(col->cls));
	}
	return 0;
}

