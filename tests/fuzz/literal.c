/*
 * tests/fuzz/literal.c
 *   The dialect-independent half of the SQL literal fuzz targets: see
 *   literal.h.
 */
#include "literal.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "engine/canon.h"
#include "fuzz.h"

/* The class the plan reads a column of type t in (plan.c's class_of). */
static enum cclass class_of(const struct coldesc *c)
{
	switch (c->type) {
	case LT_INT:
	case LT_DECIMAL:
	case LT_YEAR:
		return c->bool_hint ? CC_BOOL : CC_NUMBER;
	case LT_FLOAT: return c->bits == 32 ? CC_FLOAT32 : CC_FLOAT64;
	case LT_BOOL: return CC_BOOL;
	case LT_BYTES: return CC_BYTES;
	case LT_DATE: return CC_DATE;
	case LT_TIME: return CC_TIME;
	case LT_TIMESTAMP: return CC_TIMESTAMP;
	case LT_TIMESTAMPTZ: return CC_TIMESTAMPTZ;
	case LT_UUID: return CC_UUID;
	case LT_JSON:
	case LT_ARRAY:
		return CC_JSON;
	case LT_INET: return CC_INET;
	case LT_BIT: return CC_BITS;
	default: return CC_TEXT;
	}
}

/* [-]digits[.digits]: the only form of SV_NUMBER the contract allows. */
static bool number_form(const char *s, size_t n)
{
	size_t i = n > 0 && s[0] == '-' ? 1 : 0, digits = 0;

	for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
		digits++;
	if (digits == 0)
		return false;
	if (i == n)
		return true;
	if (s[i] != '.' || i + 1 == n)
		return false;
	for (i++; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/*
 * The value the input asks for, into *v (pointing into payload or
 * scratch); false when the input is outside the writers' contract.
 */
static bool value_of(const struct coldesc *col, uint8_t kind, uint8_t sp,
                     const char *p, size_t n, struct buf *scratch, struct sqlval *v)
{
	char *copy;

	memset(v, 0, sizeof(*v));
	if (kind % 16 >= 13) {
		struct canon_col cc = canon_col_make(class_of(col), col->type);
		struct buf enc = BUF_INIT;
		struct tally_err err;
		bool ok = canon_encode(&enc, &cc, p, n, &err) == 0 &&
		          canon_decode((const uint8_t *)enc.data, enc.len, v, scratch) == enc.len;

		buf_release(&enc);
		return ok;
	}
	v->kind = (enum sqlval_kind)(kind % 16);
	v->special = sp >= '1' && sp <= '4' ? (enum sqlval_special)(sp - '0') : SVS_NONE;
	v->s = p;
	v->len = n;
	switch (v->kind) {
	case SV_NUMBER:
		/* as canon_decode() gives them: NUL-terminated (len 0 may mean "up to the NUL") */
		buf_reset(scratch);
		buf_add(scratch, p, n);
		v->s = scratch->data;
		return v->special != SVS_NONE ? v->special != SVS_ZERO : number_form(p, n);
	case SV_FLOAT:
	case SV_DATE:
	case SV_TIME:
	case SV_TIMESTAMP:
	case SV_TIMESTAMPTZ:
		copy = xstrndup(p, n);
		errno = 0;
		if (v->kind == SV_FLOAT)
			v->d = strtod(copy, NULL);
		else
			v->i = strtoll(copy, NULL, 10);
		free(copy);
		if (v->kind == SV_FLOAT || v->kind == SV_TIME)
			v->special = SVS_NONE;
		return true;
	case SV_BOOL:
		v->b = n > 0 && (p[0] & 1);
		return true;
	default:
		v->special = SVS_NONE;
		return true;
	}
}

static bool contains(const char *hay, const char *needle, size_t n)
{
	size_t h = strlen(hay);

	for (size_t i = 0; n <= h && i <= h - n; i++)
		if (memcmp(hay + i, needle, n) == 0)
			return true;
	return false;
}

/* One call of literal() or bound_literal(), with every check. */
static void write_one(const struct literal_dialect *d, bool bound, const struct coldesc *col,
                      const struct sqlval *v, const char *p, size_t n)
{
	const struct conn_ops *ops = conn_driver(d->driver);
	int (*fn)(struct buf *, const struct coldesc *, const struct sqlval *, struct tally_err *) =
		bound ? ops->bound_literal : ops->literal;
	struct buf out = BUF_INIT, again = BUF_INIT;
	struct tally_err err;
	int rc;

	err_clear(&err);
	buf_addstr(&out, "(");
	buf_addstr(&again, "(");
	rc = fn(&out, col, v, &err);
	FUZZ_ASSERT(rc == 0 || rc == -1);
	FUZZ_ASSERT(out.len >= 1 && out.data[0] == '(');
	if (rc == 0) {
		FUZZ_ASSERT(out.len > 1);
		FUZZ_ASSERT(memchr(out.data, '\0', out.len) == NULL);
		FUZZ_ASSERT(fn(&again, col, v, &err) == 0);
		FUZZ_ASSERT(again.len == out.len && memcmp(again.data, out.data, out.len) == 0);
		d->check(out.data + 1, out.len - 1, col, v, bound);
	} else {
		FUZZ_ASSERT(err.kind == ERR_DATA);
		FUZZ_ASSERT(out.len == 1);
		/* messages never hold a '~', so one holding the value quotes it */
		if (n >= 4 && memchr(p, '~', n) && !memchr(p, '\0', n))
			FUZZ_ASSERT(!contains(err.msg, p, n));
	}
	buf_release(&out);
	buf_release(&again);
}

int literal_fuzz(const struct literal_dialect *d, const uint8_t *data, size_t size)
{
	struct buf scratch = BUF_INIT;
	const struct coldesc *col;
	const char *p;
	struct sqlval v;
	size_t n;

	if (size < 3)
		return 0;
	col = &d->cols[(uint8_t)(data[0] - 'A') % d->ncols];
	p = (const char *)data + 3;
	n = size - 3;
	if (value_of(col, (uint8_t)(data[1] - 'a'), data[2], p, n, &scratch, &v)) {
		write_one(d, false, col, &v, p, n);
		write_one(d, true, col, &v, p, n);
	}
	buf_release(&scratch);
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool literal_string(const char *lit, size_t len, const char *prefix, bool hex, char **out,
                    size_t *outlen)
{
	size_t plen = strlen(prefix), k = 0;
	const char *s = lit + plen;
	size_t n;
	char *b;

	if (len < plen + 1 || memcmp(lit, prefix, plen) != 0 || lit[len - 1] != '\'')
		return false;
	n = len - plen - 1;
	b = xmalloc(n + 1);
	for (size_t i = 0; i < n; i++) {
		if (hex) {
			int hi = hexval(s[i]), lo = i + 1 < n ? hexval(s[i + 1]) : -1;

			if (hi < 0 || lo < 0) {
				free(b);
				return false;
			}
			b[k++] = (char)(hi << 4 | lo);
			i++;
		} else if (s[i] == '\'') {
			if (i + 1 >= n || s[i + 1] != '\'') {
				free(b);
				return false;
			}
			b[k++] = '\'';
			i++;
		} else {
			b[k++] = s[i];
		}
	}
	*out = b;
	*outlen = k;
	return true;
}
