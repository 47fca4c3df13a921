/*
 * tests/fuzz/fuzz_canon.c
 *   Fuzz target for the canonical encoder (engine/canon.h). Input: a
 *   letter that picks how a column is read (a class and a connector type,
 *   as the plan pairs them), a letter of option bits, a digit for scale
 *   or precision (anything else: unset), then the value's text. Checked:
 *   - a value encodes the same twice; a refused one fails with ERR_DATA,
 *     leaves the buffer as it was, and its message does not quote it;
 *   - an encoding is self-delimiting: canon_decode() reads back exactly
 *     its length;
 *   - an encoding is canonical: the decoded value, written as the text a
 *     connector would send for the class, encodes to the same bytes;
 *   - order: for numbers and text, a value "a,b" also encodes a and b on
 *     their own, and their encodings order as the values do (numbers
 *     whose doubles differ, text bytewise).
 */
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "engine/canon.h"
#include "engine/jcanon.h"
#include "engine/tz.h"
#include "fuzz.h"

struct preset {
	enum cclass cls;
	enum ltype type;
	bool pad_trim;
	bool raw_bits;
	int bits;
	int arr_elem;
	const char *tz;
};

/* Picked by the input's first byte: 'A' is the first. */
static const struct preset presets[] = {
	/* A */ { CC_NUMBER, LT_INT, false, false, 0, 0, NULL },
	/* B */ { CC_NUMBER, LT_DECIMAL, false, false, 0, 0, NULL },
	/* C */ { CC_NUMBER, LT_YEAR, false, false, 0, 0, NULL },
	/* D */ { CC_FLOAT64, LT_FLOAT, false, false, 0, 0, NULL },
	/* E */ { CC_FLOAT64, LT_DECIMAL, false, false, 0, 0, NULL },
	/* F */ { CC_FLOAT32, LT_FLOAT, false, false, 0, 0, NULL },
	/* G */ { CC_FLOAT32, LT_INT, false, false, 0, 0, NULL },
	/* H */ { CC_BOOL, LT_BOOL, false, false, 0, 0, NULL },
	/* I */ { CC_BOOL, LT_INT, false, false, 0, 0, NULL },
	/* J */ { CC_BOOL, LT_BIT, false, true, 1, 0, NULL },
	/* K */ { CC_BOOL, LT_BIT, false, false, 0, 0, NULL },
	/* L */ { CC_TEXT, LT_TEXT, false, false, 0, 0, NULL },
	/* M */ { CC_TEXT, LT_CHAR, true, false, 0, 0, NULL },
	/* N */ { CC_TEXT, LT_ENUM, false, false, 0, 0, NULL },
	/* O */ { CC_TEXT, LT_OTHER, false, false, 0, 0, NULL },
	/* P */ { CC_BYTES, LT_BYTES, false, false, 0, 0, NULL },
	/* Q */ { CC_DATE, LT_DATE, false, false, 0, 0, NULL },
	/* R */ { CC_TIME, LT_TIME, false, false, 0, 0, NULL },
	/* S */ { CC_TIMESTAMP, LT_TIMESTAMP, false, false, 0, 0, NULL },
	/* T */ { CC_TIMESTAMPTZ, LT_TIMESTAMPTZ, false, false, 0, 0, NULL },
	/* U */ { CC_TIMESTAMPTZ, LT_TIMESTAMP, false, false, 0, 0, "+05:30" },
	/* V */ { CC_TIMESTAMPTZ, LT_TIMESTAMP, false, false, 0, 0, "-08:00" },
	/* W */ { CC_UUID, LT_UUID, false, false, 0, 0, NULL },
	/* X */ { CC_UUID, LT_TEXT, false, false, 0, 0, NULL },
	/* Y */ { CC_UUID, LT_BYTES, false, false, 0, 0, NULL },
	/* Z */ { CC_JSON, LT_JSON, false, false, 0, 0, NULL },
	/* [ */ { CC_JSON, LT_TEXT, false, false, 0, 0, NULL },
	/* \ */ { CC_JSON, LT_ARRAY, false, false, 0, PGARRAY_TEXT, NULL },
	/* ] */ { CC_JSON, LT_ARRAY, false, false, 0, PGARRAY_NUMBER, NULL },
	/* ^ */ { CC_JSON, LT_ARRAY, false, false, 0, PGARRAY_BOOL, NULL },
	/* _ */ { CC_JSON, LT_ARRAY, false, false, 0, PGARRAY_JSON, NULL },
	/* ` */ { CC_INET, LT_INET, false, false, 0, 0, NULL },
	/* a */ { CC_INET, LT_TEXT, false, false, 0, 0, NULL },
	/* b */ { CC_BITS, LT_BIT, false, false, 0, 0, NULL },
	/* c */ { CC_BITS, LT_BIT, false, true, 12, 0, NULL },
	/* d */ { CC_BITS, LT_BIT, false, true, 64, 0, NULL },
};

#define NPRESETS (sizeof(presets) / sizeof(presets[0]))

enum { OPT_TRIM_RIGHT = 1, OPT_TRIM_BOTH = 2, OPT_FOLD = 4, OPT_ZERO_NULL = 8 };

/* The column the three header bytes h describe. */
static void column_of(const uint8_t *h, struct canon_col *col)
{
	const struct preset *p = &presets[(uint8_t)(h[0] - 'A') % NPRESETS];
	unsigned opt = (uint8_t)(h[1] - 'a') & 0x0f;
	int digit = h[2] >= '0' && h[2] <= '9' ? h[2] - '0' : -1;
	struct tally_err err;

	*col = canon_col_make(p->cls, p->type);
	col->pad_trim = p->pad_trim;
	col->raw_bits = p->raw_bits;
	col->bits = p->bits;
	col->arr_elem = p->arr_elem;
	if (p->tz && tz_get(p->tz, &col->tz, &err) != 0)
		fuzz_fail(__FILE__, __LINE__, err.msg);
	switch (p->cls) {
	case CC_NUMBER:
		col->scale = digit;
		break;
	case CC_TEXT:
		col->trim = opt & OPT_TRIM_BOTH ? CANON_TRIM_BOTH
		          : opt & OPT_TRIM_RIGHT ? CANON_TRIM_RIGHT : CANON_TRIM_NONE;
		col->fold_case = (opt & OPT_FOLD) && canon_case_ready(&err) == 0;
		break;
	case CC_DATE:
		col->zero_null = opt & OPT_ZERO_NULL;
		break;
	case CC_TIME:
	case CC_TIMESTAMP:
	case CC_TIMESTAMPTZ:
		col->zero_null = p->cls != CC_TIME && (opt & OPT_ZERO_NULL);
		col->precision = digit > 6 ? 6 : digit;
		break;
	default:
		break;
	}
}

/*
 * The column a decoded value v of column c reads back through, as a
 * connector of its class would send it: by the value's kind, since a
 * class may keep some values in another (a tinyint(1) read as a boolean
 * keeps 2 a number).
 */
static struct canon_col natural(const struct canon_col *c, const struct sqlval *v)
{
	static const enum ltype type[] = {
		[CC_NUMBER] = LT_DECIMAL, [CC_FLOAT64] = LT_FLOAT, [CC_FLOAT32] = LT_FLOAT,
		[CC_BOOL] = LT_BOOL, [CC_TEXT] = LT_TEXT, [CC_BYTES] = LT_BYTES,
		[CC_DATE] = LT_DATE, [CC_TIME] = LT_TIME, [CC_TIMESTAMP] = LT_TIMESTAMP,
		[CC_TIMESTAMPTZ] = LT_TIMESTAMPTZ, [CC_UUID] = LT_UUID, [CC_JSON] = LT_JSON,
		[CC_INET] = LT_INET, [CC_BITS] = LT_BIT,
	};
	enum cclass cls = c->cls;
	struct canon_col n;

	switch (v->kind) {
	case SV_NUMBER: cls = CC_NUMBER; break;
	case SV_BOOL: cls = CC_BOOL; break;
	case SV_BYTES: cls = CC_BYTES; break;
	case SV_DATE: cls = CC_DATE; break;
	case SV_TIME: cls = CC_TIME; break;
	case SV_TIMESTAMP: cls = CC_TIMESTAMP; break;
	case SV_TIMESTAMPTZ: cls = CC_TIMESTAMPTZ; break;
	case SV_UUID: cls = CC_UUID; break;
	case SV_BITS: cls = CC_BITS; break;
	default: break;   /* floats, and text of class text, json or inet */
	}
	n = canon_col_make(cls, type[cls]);
	if (cls != c->cls)
		return n;
	/* relaxations that are idempotent stay: a rounded value rounds to itself */
	n.scale = c->scale;
	n.precision = c->precision;
	n.trim = c->trim;
	return n;
}

static void add_special(struct buf *t, enum sqlval_special sp)
{
	buf_addstr(t, sp == SVS_PINF ? "infinity" : sp == SVS_NINF ? "-infinity" : "NaN");
}

/* A MariaDB zero date or datetime: y*10000+m*100+d [times a day plus microseconds]. */
static void add_zero(struct buf *t, const struct sqlval *v)
{
	const int64_t day = INT64_C(86400000000);
	int64_t ymd = v->kind == SV_DATE ? v->i : v->i / day;
	int64_t us = v->kind == SV_DATE ? 0 : v->i % day;

	buf_addf(t, "%04" PRId64 "-%02" PRId64 "-%02" PRId64, ymd / 10000, ymd / 100 % 100, ymd % 100);
	if (v->kind != SV_DATE)
		buf_addf(t, " %02" PRId64 ":%02" PRId64 ":%02" PRId64 ".%06" PRId64,
		         us / 3600000000, us / 60000000 % 60, us / 1000000 % 60, us % 1000000);
}

/* The text a connector would send for the decoded value v; false for NULL. */
static bool text_of(const struct sqlval *v, struct buf *t)
{
	switch (v->kind) {
	case SV_NULL:
		return false;
	case SV_NUMBER:
		if (v->special == SVS_NONE)
			buf_add(t, v->s, v->len);
		else
			buf_addstr(t, v->special == SVS_PINF ? "Infinity" : v->special == SVS_NINF ? "-Infinity" : "NaN");
		return true;
	case SV_FLOAT:
		if (isnan(v->d))
			buf_addstr(t, "NaN");
		else if (isinf(v->d))
			buf_addstr(t, v->d > 0 ? "Infinity" : "-Infinity");
		else
			buf_addf(t, "%.17g", v->d);
		return true;
	case SV_BOOL:
		buf_addstr(t, v->b ? "t" : "f");
		return true;
	case SV_UUID:
		for (int i = 0; i < 16; i++) {
			if (i == 4 || i == 6 || i == 8 || i == 10)
				buf_addch(t, '-');
			buf_addhex(t, v->s + i, 1);
		}
		return true;
	case SV_DATE:
	case SV_TIME:
	case SV_TIMESTAMP:
	case SV_TIMESTAMPTZ:
		if (v->special == SVS_ZERO)
			add_zero(t, v);
		else if (v->special != SVS_NONE)
			add_special(t, v->special);
		else
			sqlval_iso(t, v, 6);
		return true;
	default:
		buf_add(t, v->s, v->len);
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

static int enc_cmp(const struct buf *a, const struct buf *b)
{
	size_t n = a->len < b->len ? a->len : b->len;
	int c = memcmp(a->data, b->data, n);

	return c ? c : a->len < b->len ? -1 : a->len > b->len;
}

static int sign(int x)
{
	return (x > 0) - (x < 0);
}

/* Order of the encodings of a and b against the values' own order. */
static void check_order(const struct canon_col *col, const char *a, size_t na,
                        const char *b, size_t nb)
{
	struct buf ea = BUF_INIT, eb = BUF_INIT;
	struct tally_err err;

	if (canon_encode(&ea, col, a, na, &err) == 0 && canon_encode(&eb, col, b, nb, &err) == 0) {
		if (col->cls == CC_NUMBER) {
			char *ca = xstrndup(a, na), *cb = xstrndup(b, nb);
			double da = strtod(ca, NULL), db = strtod(cb, NULL);

			/* rounding to double is monotone: a strict order survives it */
			if (isfinite(da) && isfinite(db) && da != db)
				FUZZ_ASSERT(sign(enc_cmp(&ea, &eb)) == (da < db ? -1 : 1));
			free(ca);
			free(cb);
		} else {
			size_t n = na < nb ? na : nb;
			int c = memcmp(a, b, n);

			c = c ? c : na < nb ? -1 : na > nb;
			FUZZ_ASSERT(sign(enc_cmp(&ea, &eb)) == sign(c));
		}
	}
	buf_release(&ea);
	buf_release(&eb);
}

static void check_canonical(const struct canon_col *col, const struct buf *enc)
{
	struct buf scratch = BUF_INIT, text = BUF_INIT, again = BUF_INIT;
	struct tally_err err;
	struct canon_col nat;
	struct sqlval v;
	size_t used = canon_decode((const uint8_t *)enc->data, enc->len, &v, &scratch);

	FUZZ_ASSERT(used == enc->len);
	nat = natural(col, &v);
	if (!col->fold_case && text_of(&v, &text)) {
		FUZZ_ASSERT(canon_encode(&again, &nat, text.data, text.len, &err) == 0);
		FUZZ_ASSERT(again.len == enc->len && memcmp(again.data, enc->data, enc->len) == 0);
	}
	buf_release(&scratch);
	buf_release(&text);
	buf_release(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf enc = BUF_INIT, enc2 = BUF_INIT;
	struct canon_col col;
	struct tally_err err;
	const char *val, *comma;
	size_t n;

	if (size < 3)
		return 0;
	column_of(data, &col);
	val = (const char *)data + 3;
	n = size - 3;
	err_clear(&err);
	buf_addstr(&enc2, "x");
	if (canon_encode(&enc, &col, val, n, &err) == 0) {
		FUZZ_ASSERT(canon_encode(&enc2, &col, val, n, &err) == 0);
		FUZZ_ASSERT(enc2.len == enc.len + 1 && memcmp(enc2.data + 1, enc.data, enc.len) == 0);
		check_canonical(&col, &enc);
	} else {
		FUZZ_ASSERT(err.kind == ERR_DATA);
		FUZZ_ASSERT(enc.len == 0);
		/* messages never hold a '~', so one holding the value quotes it */
		if (n >= 4 && memchr(val, '~', n) && !memchr(val, '\0', n))
			FUZZ_ASSERT(!contains(err.msg, val, n));
		FUZZ_ASSERT(canon_encode(&enc2, &col, val, n, &err) == -1 && enc2.len == 1);
	}
	comma = memchr(val, ',', n);
	if (comma && ((col.cls == CC_NUMBER && col.scale < 0) ||
	              (col.cls == CC_TEXT && !col.pad_trim && col.trim == CANON_TRIM_NONE &&
	               !col.fold_case)))
		check_order(&col, val, (size_t)(comma - val), comma + 1, (size_t)(val + n - comma - 1));
	buf_release(&enc);
	buf_release(&enc2);
	return 0;
}
