/*
 * engine/jcanon.c
 *   canon -> JCANON: parses a JSON document (or a PostgreSQL array's
 *   text) and writes its canonical text (layout in jcanon.h). Performs
 *   no I/O.
 *
 * How it works: the parser does not write to `out` at all. It builds a
 * flat tree in a per-thread scratch context: nodes in document order, each
 * knowing where its subtree ends; string contents (unescaped) and numbers
 * (already canonical) in one byte arena. When an object closes, its members
 * are sorted and deduplicated into a list of key nodes. Once the whole
 * document has been read, one walk of the tree writes the output. So every
 * byte is parsed and written once (linear time plus a sort per object),
 * and a failure anywhere leaves `out` untouched for free.
 *
 * Recursion (parsing and writing) is bounded by JCANON_MAX_DEPTH, with a
 * few small frames per level.
 */
#include "jcanon.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/utf8.h"

enum {
	J_NULL,
	J_FALSE,
	J_TRUE,
	J_NUM, /* a, b: canonical text in the arena */
	J_STR, /* a, b: unescaped UTF-8 in the arena */
	J_ARR, /* children are the nodes from index + 1 up to end, hopping by their end */
	J_OBJ, /* a, b: sorted members in ord[]; each is a key node, its value right after it */
};

struct jnode {
	unsigned char kind;
	size_t a, b;
	size_t end; /* index of the first node after this subtree */
};

/* An object member while its object is open; key points into the arena only while sorting. */
struct jmem {
	const char *key;
	size_t off, len;
	size_t idx; /* key node; grows in input order, so it tells which duplicate came last */
};

struct jctx {
	/* The text being read; base is added to offsets in messages. */
	const char *s;
	size_t n, pos, base;
	const char *what;
	struct tally_err *err;

	struct jnode *node;
	size_t nnode, capnode;
	struct jmem *mem; /* members of the objects still open, innermost last */
	size_t nmem, capmem;
	size_t *ord;
	size_t nord, capord;
	struct buf text;

	/* PostgreSQL arrays only: one element, unescaped, and the shape seen at each level. */
	struct buf el;
	size_t *dim;
	unsigned char *dimkind;
	size_t ndim;
};

/*
 * Reused between calls so that a call allocates nothing once the buffers
 * have grown to the usual document size; trimmed after an unusually large
 * document so one huge value does not pin its memory for the thread's life.
 */
static _Thread_local struct jctx ctx = { .text = BUF_INIT, .el = BUF_INIT };

#define SCRATCH_KEEP ((size_t)256 << 10)

#define STR_(x) #x
#define STR(x) STR_(x)
#define DEPTH_STR STR(JCANON_MAX_DEPTH)

/* The largest |exponent| of a normalized number; the spec allows any, we bound the output. */
#define EXP_MAX INT64_C(1000000000)

static void ctx_start(struct jctx *c, const char *s, size_t n, const char *what, struct tally_err *err)
{
	c->s = s;
	c->n = n;
	c->pos = 0;
	c->base = 0;
	c->what = what;
	c->err = err;
	c->nnode = 0;
	c->nmem = 0;
	c->nord = 0;
	buf_reset(&c->text);
}

static void ctx_trim(struct jctx *c)
{
	if (c->capnode * sizeof(*c->node) > SCRATCH_KEEP) {
		free(c->node);
		c->node = NULL;
		c->capnode = 0;
	}
	if (c->capmem * sizeof(*c->mem) > SCRATCH_KEEP) {
		free(c->mem);
		c->mem = NULL;
		c->capmem = 0;
	}
	if (c->capord * sizeof(*c->ord) > SCRATCH_KEEP) {
		free(c->ord);
		c->ord = NULL;
		c->capord = 0;
	}
	if (c->text.cap > SCRATCH_KEEP)
		buf_release(&c->text);
	if (c->el.cap > SCRATCH_KEEP)
		buf_release(&c->el);
	c->s = NULL;
	c->err = NULL;
	c->dim = NULL;
	c->dimkind = NULL;
}

void jcanon_thread_release(void)
{
	free(ctx.node);
	free(ctx.mem);
	free(ctx.ord);
	buf_release(&ctx.text);
	buf_release(&ctx.el);
	memset(&ctx, 0, sizeof(ctx));
	buf_init(&ctx.text);
	buf_init(&ctx.el);
}

/* The offset is where the trouble is; the message names what was expected, never the text. */
static int fail(struct jctx *c, size_t at, const char *expected)
{
	return err_set(c->err, ERR_DATA, "%s at byte %zu: %s", c->what, c->base + at, expected);
}

static size_t node_new(struct jctx *c, unsigned char kind)
{
	size_t i = c->nnode;

	c->node = xgrow(c->node, &c->capnode, i + 1, sizeof(*c->node));
	c->node[i].kind = kind;
	c->node[i].a = 0;
	c->node[i].b = 0;
	c->node[i].end = i + 1;
	c->nnode = i + 1;
	return i;
}

static inline bool is_digit(unsigned char ch)
{
	return ch >= '0' && ch <= '9';
}

static void skip_ws(struct jctx *c)
{
	while (c->pos < c->n) {
		char ch = c->s[c->pos];
		if (ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r')
			break;
		c->pos++;
	}
}

static bool eq_nocase(const char *s, size_t n, const char *lit)
{
	if (n != strlen(lit))
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		if (ch != lit[i])
			return false;
	}
	return true;
}

/* ---- strings ---------------------------------------------------------- */

/* Reads "\uXXXX" at s[at..]; -1 unless all six bytes are there and well formed. */
static int read_u_escape(const struct jctx *c, size_t at, uint32_t *cp)
{
	uint32_t v = 0;

	if (at + 6 > c->n || c->s[at] != '\\' || c->s[at + 1] != 'u')
		return -1;
	for (size_t i = at + 2; i < at + 6; i++) {
		unsigned char ch = (unsigned char)c->s[i];
		uint32_t d;

		if (ch >= '0' && ch <= '9')
			d = (uint32_t)(ch - '0');
		else if (ch >= 'a' && ch <= 'f')
			d = (uint32_t)(ch - 'a' + 10);
		else if (ch >= 'A' && ch <= 'F')
			d = (uint32_t)(ch - 'A' + 10);
		else
			return -1;
		v = v << 4 | d;
	}
	*cp = v;
	return 0;
}

/* Reads the string at c->pos (a '"') and appends its unescaped bytes to the arena. */
static int parse_string(struct jctx *c, size_t *off, size_t *len)
{
	const unsigned char *s = (const unsigned char *)c->s;
	size_t start = c->pos;

	*off = c->text.len;
	c->pos++;
	for (;;) {
		size_t run = c->pos;
		unsigned char ch;

		/* Plain ASCII is copied in runs: the common case, one buf_add per run. */
		while (c->pos < c->n && s[c->pos] >= 0x20 && s[c->pos] < 0x80 && s[c->pos] != '"' && s[c->pos] != '\\')
			c->pos++;
		if (c->pos > run)
			buf_add(&c->text, s + run, c->pos - run);
		if (c->pos >= c->n)
			return fail(c, start, "unterminated string (expected a closing '\"')");
		ch = s[c->pos];
		if (ch == '"') {
			c->pos++;
			break;
		}
		if (ch < 0x20)
			return fail(c, c->pos, "control character in string (expected an escape)");
		if (ch >= 0x80) {
			uint32_t cp;
			size_t k = utf8_decode(s + c->pos, c->n - c->pos, &cp);

			if (k == 0)
				return fail(c, c->pos, "invalid UTF-8 in string");
			buf_add(&c->text, s + c->pos, k);
			c->pos += k;
			continue;
		}
		/* A backslash. */
		if (c->pos + 1 >= c->n)
			return fail(c, start, "unterminated string (expected a closing '\"')");
		switch (s[c->pos + 1]) {
		case '"': buf_addch(&c->text, '"'); break;
		case '\\': buf_addch(&c->text, '\\'); break;
		case '/': buf_addch(&c->text, '/'); break;
		case 'b': buf_addch(&c->text, '\b'); break;
		case 'f': buf_addch(&c->text, '\f'); break;
		case 'n': buf_addch(&c->text, '\n'); break;
		case 'r': buf_addch(&c->text, '\r'); break;
		case 't': buf_addch(&c->text, '\t'); break;
		case 'u': {
			uint32_t cp, lo;

			if (read_u_escape(c, c->pos, &cp) < 0)
				return fail(c, c->pos, "expected four hex digits after \\u");
			if (cp >= 0xDC00 && cp <= 0xDFFF)
				return fail(c, c->pos, "low surrogate without a high surrogate before it");
			if (cp >= 0xD800 && cp <= 0xDBFF) {
				if (read_u_escape(c, c->pos + 6, &lo) < 0 || lo < 0xDC00 || lo > 0xDFFF)
					return fail(c, c->pos, "high surrogate without a \\u low surrogate after it");
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
				c->pos += 6;
			}
			utf8_encode(&c->text, cp);
			c->pos += 4;
			break;
		}
		default:
			return fail(c, c->pos, "expected an escape: \\\" \\\\ \\/ \\b \\f \\n \\r \\t or \\u");
		}
		c->pos += 2;
	}
	*len = c->text.len - *off;
	return 0;
}

/* Writes a string's canonical text: only '"', '\' and controls escaped. */
static void put_str(struct buf *out, const char *p, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t run = 0;

	buf_addch(out, '"');
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)p[i];
		char esc[6];
		size_t k;

		if (ch >= 0x20 && ch != '"' && ch != '\\')
			continue;
		buf_add(out, p + run, i - run);
		run = i + 1;
		esc[0] = '\\';
		if (ch < 0x20) {
			esc[1] = 'u';
			esc[2] = '0';
			esc[3] = '0';
			esc[4] = hex[ch >> 4];
			esc[5] = hex[ch & 15];
			k = 6;
		} else {
			esc[1] = (char)ch;
			k = 2;
		}
		buf_add(out, esc, k);
	}
	buf_add(out, p + run, len - run);
	buf_addch(out, '"');
}

/* ---- numbers ---------------------------------------------------------- */

/*
 * Reads an RFC 8259 number at c->pos and appends its canonical text to
 * the arena: value = [-]d.ddd * 10^E with E the written exponent plus the
 * position of the first significant digit. The written exponent saturates
 * instead of overflowing: anything that large fails the range check anyway
 * (the digit count, bounded by the input size, cannot bring it back).
 */
static int parse_number(struct jctx *c, size_t *off, size_t *len)
{
	const char *s = c->s;
	size_t start = c->pos, ip, ie, fp, fe, first, dot;
	bool neg = false, eneg = false;
	int64_t e = 0, adj;
	char tail[32];
	int tn;

	if (c->pos < c->n && s[c->pos] == '-') {
		neg = true;
		c->pos++;
	}
	ip = c->pos;
	if (c->pos >= c->n || !is_digit((unsigned char)s[c->pos]))
		return fail(c, c->pos, "expected a digit");
	if (s[c->pos] == '0') {
		c->pos++;
		if (c->pos < c->n && is_digit((unsigned char)s[c->pos]))
			return fail(c, c->pos, "expected '.', 'e' or the end of the number (no leading zeros)");
	} else {
		while (c->pos < c->n && is_digit((unsigned char)s[c->pos]))
			c->pos++;
	}
	ie = c->pos;
	fp = fe = ie;
	if (c->pos < c->n && s[c->pos] == '.') {
		fp = ++c->pos;
		while (c->pos < c->n && is_digit((unsigned char)s[c->pos]))
			c->pos++;
		fe = c->pos;
		if (fe == fp)
			return fail(c, c->pos, "expected a digit after '.'");
	}
	if (c->pos < c->n && (s[c->pos] == 'e' || s[c->pos] == 'E')) {
		size_t es;

		c->pos++;
		if (c->pos < c->n && (s[c->pos] == '+' || s[c->pos] == '-'))
			eneg = s[c->pos++] == '-';
		es = c->pos;
		while (c->pos < c->n && is_digit((unsigned char)s[c->pos])) {
			if (e < INT64_C(100000000000000000))
				e = e * 10 + (s[c->pos] - '0');
			c->pos++;
		}
		if (c->pos == es)
			return fail(c, c->pos, "expected a digit in the exponent");
		if (eneg)
			e = -e;
	}

	*off = c->text.len;
	if (s[ip] != '0') {
		first = ip;
		adj = (int64_t)(ie - ip) - 1;
	} else {
		first = fp;
		while (first < fe && s[first] == '0')
			first++;
		if (first == fe) {
			/* Zero, whatever its sign, fraction or exponent. */
			buf_addch(&c->text, '0');
			*len = 1;
			return 0;
		}
		adj = -(int64_t)(first - fp) - 1;
	}
	e += adj;
	if (e > EXP_MAX || e < -EXP_MAX)
		return fail(c, start, "exponent out of range (at most 1000000000 once normalized)");

	if (neg)
		buf_addch(&c->text, '-');
	buf_addch(&c->text, s[first]);
	dot = c->text.len;
	buf_addch(&c->text, '.');
	if (first + 1 < ie)
		buf_add(&c->text, s + first + 1, ie - first - 1);
	if (first < ie)
		buf_add(&c->text, s + fp, fe - fp);
	else
		buf_add(&c->text, s + first + 1, fe - first - 1);
	/* Trailing zeros carry no value; the '.' goes when no digit follows it. */
	while (c->text.len > dot + 1 && c->text.data[c->text.len - 1] == '0')
		c->text.len--;
	if (c->text.len == dot + 1)
		c->text.len = dot;
	buf_setlen(&c->text, c->text.len);
	tn = snprintf(tail, sizeof(tail), "e%" PRId64, e);
	buf_add(&c->text, tail, (size_t)tn);
	*len = c->text.len - *off;
	return 0;
}

/* ---- JSON ------------------------------------------------------------- */

static int parse_value(struct jctx *c, int depth);

static int jmem_cmp(const void *pa, const void *pb)
{
	const struct jmem *a = pa, *b = pb;
	size_t m = a->len < b->len ? a->len : b->len;
	int r = m ? memcmp(a->key, b->key, m) : 0;

	if (r)
		return r;
	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

static bool jmem_samekey(const struct jmem *a, const struct jmem *b)
{
	return a->len == b->len && (a->len == 0 || memcmp(a->key, b->key, a->len) == 0);
}

/* Sorts the members from mem[from] on, keeps the last of each key, and records them for the object. */
static void object_close(struct jctx *c, size_t obj, size_t from)
{
	size_t cnt = c->nmem - from;
	/* an empty first object has no member array yet: no offset into NULL */
	struct jmem *m = cnt ? c->mem + from : NULL;

	/* The arena no longer moves while this object closes, so pointers into it are safe now. */
	for (size_t i = 0; i < cnt; i++)
		m[i].key = c->text.data + m[i].off;
	if (cnt > 1)
		qsort(m, cnt, sizeof(*m), jmem_cmp);
	c->ord = xgrow(c->ord, &c->capord, c->nord + cnt, sizeof(*c->ord));
	c->node[obj].a = c->nord;
	for (size_t i = 0; i < cnt; i++)
		if (i + 1 == cnt || !jmem_samekey(&m[i], &m[i + 1]))
			c->ord[c->nord++] = m[i].idx;
	c->node[obj].b = c->nord - c->node[obj].a;
	c->nmem = from;
}

static int parse_object(struct jctx *c, int depth)
{
	size_t obj, from = c->nmem;
	bool first = true;

	if (depth >= JCANON_MAX_DEPTH)
		return fail(c, c->pos, "nesting deeper than " DEPTH_STR " levels");
	obj = node_new(c, J_OBJ);
	c->pos++;
	skip_ws(c);
	if (c->pos < c->n && c->s[c->pos] == '}') {
		c->pos++;
	} else {
		for (;;) {
			size_t k, off, len;

			skip_ws(c);
			if (c->pos >= c->n || c->s[c->pos] != '"')
				return fail(c, c->pos,
				            first ? "expected a string key or '}'" : "expected a string key");
			first = false;
			k = node_new(c, J_STR);
			if (parse_string(c, &off, &len) < 0)
				return -1;
			c->node[k].a = off;
			c->node[k].b = len;
			c->mem = xgrow(c->mem, &c->capmem, c->nmem + 1, sizeof(*c->mem));
			c->mem[c->nmem].key = NULL;
			c->mem[c->nmem].off = off;
			c->mem[c->nmem].len = len;
			c->mem[c->nmem].idx = k;
			c->nmem++;
			skip_ws(c);
			if (c->pos >= c->n || c->s[c->pos] != ':')
				return fail(c, c->pos, "expected ':'");
			c->pos++;
			if (parse_value(c, depth + 1) < 0)
				return -1;
			skip_ws(c);
			if (c->pos < c->n && c->s[c->pos] == ',') {
				c->pos++;
				continue;
			}
			if (c->pos < c->n && c->s[c->pos] == '}') {
				c->pos++;
				break;
			}
			return fail(c, c->pos, "expected ',' or '}'");
		}
	}
	object_close(c, obj, from);
	c->node[obj].end = c->nnode;
	return 0;
}

static int parse_array(struct jctx *c, int depth)
{
	size_t arr;

	if (depth >= JCANON_MAX_DEPTH)
		return fail(c, c->pos, "nesting deeper than " DEPTH_STR " levels");
	arr = node_new(c, J_ARR);
	c->pos++;
	skip_ws(c);
	if (c->pos < c->n && c->s[c->pos] == ']') {
		c->pos++;
	} else {
		for (;;) {
			if (parse_value(c, depth + 1) < 0)
				return -1;
			skip_ws(c);
			if (c->pos < c->n && c->s[c->pos] == ',') {
				c->pos++;
				continue;
			}
			if (c->pos < c->n && c->s[c->pos] == ']') {
				c->pos++;
				break;
			}
			return fail(c, c->pos, "expected ',' or ']'");
		}
	}
	c->node[arr].end = c->nnode;
	return 0;
}

static int parse_literal(struct jctx *c, const char *lit, unsigned char kind)
{
	size_t len = strlen(lit);

	if (c->n - c->pos < len || memcmp(c->s + c->pos, lit, len) != 0)
		return fail(c, c->pos, "expected a value");
	c->pos += len;
	node_new(c, kind);
	return 0;
}

/* depth: how many arrays and objects are open around this value. */
static int parse_value(struct jctx *c, int depth)
{
	size_t i, off, len;

	skip_ws(c);
	if (c->pos >= c->n)
		return fail(c, c->pos, "expected a value");
	switch (c->s[c->pos]) {
	case '{':
		return parse_object(c, depth);
	case '[':
		return parse_array(c, depth);
	case '"':
		i = node_new(c, J_STR);
		if (parse_string(c, &off, &len) < 0)
			return -1;
		break;
	case '-':
	case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		i = node_new(c, J_NUM);
		if (parse_number(c, &off, &len) < 0)
			return -1;
		break;
	case 't':
		return parse_literal(c, "true", J_TRUE);
	case 'f':
		return parse_literal(c, "false", J_FALSE);
	case 'n':
		return parse_literal(c, "null", J_NULL);
	default:
		return fail(c, c->pos, "expected a value");
	}
	c->node[i].a = off;
	c->node[i].b = len;
	return 0;
}

/* One value and nothing else but whitespace, from c->pos to c->n. */
static int parse_document(struct jctx *c, int depth)
{
	if (parse_value(c, depth) < 0)
		return -1;
	skip_ws(c);
	if (c->pos != c->n)
		return fail(c, c->pos, "expected the end of the document");
	return 0;
}

static void emit(struct buf *out, const struct jctx *c, size_t i)
{
	const struct jnode *nd = &c->node[i];

	switch (nd->kind) {
	case J_NULL:
		buf_add(out, "null", 4);
		break;
	case J_FALSE:
		buf_add(out, "false", 5);
		break;
	case J_TRUE:
		buf_add(out, "true", 4);
		break;
	case J_NUM:
		buf_add(out, c->text.data + nd->a, nd->b);
		break;
	case J_STR:
		put_str(out, c->text.data + nd->a, nd->b);
		break;
	case J_ARR:
		buf_addch(out, '[');
		for (size_t j = i + 1; j < nd->end; j = c->node[j].end) {
			if (j != i + 1)
				buf_addch(out, ',');
			emit(out, c, j);
		}
		buf_addch(out, ']');
		break;
	case J_OBJ:
		buf_addch(out, '{');
		for (size_t k = 0; k < nd->b; k++) {
			size_t key = c->ord[nd->a + k];

			if (k)
				buf_addch(out, ',');
			put_str(out, c->text.data + c->node[key].a, c->node[key].b);
			buf_addch(out, ':');
			emit(out, c, key + 1);
		}
		buf_addch(out, '}');
		break;
	}
}

int jcanon(struct buf *out, const char *s, size_t n, struct tally_err *err)
{
	struct jctx *c = &ctx;
	int rc;

	ctx_start(c, s, n, "not valid JSON", err);
	rc = parse_document(c, 0);
	if (rc == 0)
		emit(out, c, 0);
	ctx_trim(c);
	return rc;
}

/* ---- PostgreSQL arrays ------------------------------------------------ */

/* array_in's idea of whitespace (scanner_isspace). */
static bool pg_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f';
}

static void pg_skip_ws(struct jctx *c)
{
	while (c->pos < c->n && pg_space(c->s[c->pos]))
		c->pos++;
}

/*
 * Reads one element at c->pos into c->el, unescaped: quoted ("..." with
 * backslash escaping any byte) or unquoted (up to ',' or '}', backslash
 * escapes honoured as array_in does, trailing whitespace trimmed).
 * *isnull: an unquoted, unescaped NULL in any case.
 */
static int pga_element(struct jctx *c, bool *isnull)
{
	size_t start = c->pos, keep = 0;
	bool escaped = false;

	buf_reset(&c->el);
	*isnull = false;
	if (c->s[c->pos] == '"') {
		c->pos++;
		for (;;) {
			size_t run = c->pos;

			while (c->pos < c->n && c->s[c->pos] != '"' && c->s[c->pos] != '\\')
				c->pos++;
			buf_add(&c->el, c->s + run, c->pos - run);
			if (c->pos >= c->n)
				return fail(c, start, "unterminated quoted element (expected a closing '\"')");
			if (c->s[c->pos] == '"') {
				c->pos++;
				return 0;
			}
			if (++c->pos >= c->n)
				return fail(c, start, "unterminated quoted element (expected a closing '\"')");
			buf_addch(&c->el, c->s[c->pos++]);
		}
	}
	for (;;) {
		char ch;

		if (c->pos >= c->n)
			return fail(c, c->pos, "expected ',' or '}'");
		ch = c->s[c->pos];
		if (ch == ',' || ch == '}')
			break;
		if (ch == '{' || ch == '"')
			return fail(c, c->pos, "expected ',' or '}'");
		if (ch == '\\') {
			if (++c->pos >= c->n)
				return fail(c, c->pos, "expected a character after '\\'");
			escaped = true;
			buf_addch(&c->el, c->s[c->pos++]);
			keep = c->el.len;
			continue;
		}
		buf_addch(&c->el, ch);
		c->pos++;
		if (!pg_space(ch))
			keep = c->el.len;
	}
	buf_setlen(&c->el, keep);
	if (keep == 0)
		return fail(c, start, "expected an element");
	*isnull = !escaped && eq_nocase(c->el.data, keep, "null");
	return 0;
}

/*
 * Turns the element in c->el (read at byte `at`) into a node. Numbers and
 * JSON documents are parsed from c->el by pointing the reader at it for a
 * moment; both write only to the arena, never to c->el.
 */
static int pga_convert(struct jctx *c, enum pgarray_elem elem, size_t at, int depth)
{
	const char *s = c->s;
	size_t n = c->n, pos = c->pos, base = c->base, i, off, len;
	const char *what = c->what;
	const char *e = c->el.data;
	size_t en = c->el.len, bad;
	int rc = 0;

	switch (elem) {
	case PGARRAY_TEXT:
		bad = utf8_check(e, en);
		if (bad != en)
			return fail(c, at, "invalid UTF-8 in element");
		i = node_new(c, J_STR);
		c->node[i].a = c->text.len;
		c->node[i].b = en;
		buf_add(&c->text, e, en);
		return 0;
	case PGARRAY_BOOL:
		if (eq_nocase(e, en, "t") || eq_nocase(e, en, "true"))
			node_new(c, J_TRUE);
		else if (eq_nocase(e, en, "f") || eq_nocase(e, en, "false"))
			node_new(c, J_FALSE);
		else
			return fail(c, at, "expected t, f or NULL");
		return 0;
	case PGARRAY_NUMBER:
		if (eq_nocase(e, en, "nan") || eq_nocase(e, en, "infinity") || eq_nocase(e, en, "+infinity") ||
		    eq_nocase(e, en, "-infinity"))
			return fail(c, at, "expected a number (NaN and infinities have no JSON form)");
		c->s = e;
		c->n = en;
		c->pos = 0;
		c->base = base + at;
		i = node_new(c, J_NUM);
		rc = parse_number(c, &off, &len);
		if (rc == 0 && c->pos != c->n)
			rc = fail(c, c->pos, "expected ',' or '}' after the number");
		if (rc == 0) {
			c->node[i].a = off;
			c->node[i].b = len;
		}
		break;
	case PGARRAY_JSON:
		c->s = e;
		c->n = en;
		c->pos = 0;
		c->base = 0;
		c->what = "not valid JSON";
		rc = parse_document(c, depth);
		if (rc < 0)
			err_context(c->err, "array element at byte %zu", base + at);
		break;
	}
	c->s = s;
	c->n = n;
	c->pos = pos;
	c->base = base;
	c->what = what;
	return rc;
}

/*
 * Reads the array at c->pos (a '{'), opened inside `depth` others. Every
 * array at one level must have the same length and hold the same kind of
 * thing (elements or sub-arrays): PostgreSQL arrays are rectangular.
 */
static int pga_parse(struct jctx *c, enum pgarray_elem elem, int depth)
{
	enum { DIM_EMPTY = 1, DIM_ELEMS, DIM_SUBS };
	size_t arr, start = c->pos, count = 0, lvl = (size_t)depth;
	unsigned char kind = DIM_EMPTY;

	if (depth >= JCANON_MAX_DEPTH)
		return fail(c, c->pos, "nesting deeper than " DEPTH_STR " levels");
	/* Levels are entered in order: a new one is the next, its shape unknown until an array there closes. */
	if (lvl == c->ndim)
		c->dimkind[c->ndim++] = 0;
	arr = node_new(c, J_ARR);
	c->pos++;
	pg_skip_ws(c);
	if (c->pos < c->n && c->s[c->pos] == '}') {
		c->pos++;
	} else {
		for (;;) {
			pg_skip_ws(c);
			if (c->pos >= c->n)
				return fail(c, c->pos, "expected an element or '{'");
			if (c->s[c->pos] == '{') {
				if (kind == DIM_ELEMS)
					return fail(c, c->pos, "expected an element (not a sub-array)");
				kind = DIM_SUBS;
				if (pga_parse(c, elem, depth + 1) < 0)
					return -1;
			} else {
				size_t at = c->pos;
				bool isnull;

				if (kind == DIM_SUBS)
					return fail(c, c->pos, "expected '{' (a sub-array)");
				kind = DIM_ELEMS;
				if (pga_element(c, &isnull) < 0)
					return -1;
				if (isnull)
					node_new(c, J_NULL);
				else if (pga_convert(c, elem, c->s[at] == '"' ? at + 1 : at, depth + 1) < 0)
					return -1;
			}
			count++;
			pg_skip_ws(c);
			if (c->pos < c->n && c->s[c->pos] == ',') {
				c->pos++;
				continue;
			}
			if (c->pos < c->n && c->s[c->pos] == '}') {
				c->pos++;
				break;
			}
			return fail(c, c->pos, "expected ',' or '}'");
		}
	}
	if (c->dimkind[lvl] == 0) {
		c->dim[lvl] = count;
		c->dimkind[lvl] = kind;
	} else if (c->dim[lvl] != count || c->dimkind[lvl] != kind) {
		return fail(c, start, "expected sub-arrays of matching dimensions");
	}
	c->node[arr].end = c->nnode;
	return 0;
}

int jcanon_pgarray(struct buf *out, const char *s, size_t n, enum pgarray_elem elem,
                       struct tally_err *err)
{
	struct jctx *c = &ctx;
	size_t dim[JCANON_MAX_DEPTH];
	unsigned char dimkind[JCANON_MAX_DEPTH];
	int rc = -1;

	ctx_start(c, s, n, "not a valid array", err);
	c->dim = dim;
	c->dimkind = dimkind;
	c->ndim = 0;
	pg_skip_ws(c);
	if (c->pos < c->n && c->s[c->pos] == '[')
		fail(c, c->pos,
		     "expected '{': a dimension decoration ([lo:hi]=) sets lower bounds, which have no JSON form");
	else if (c->pos >= c->n || c->s[c->pos] != '{')
		fail(c, c->pos, "expected '{'");
	else if (pga_parse(c, elem, 0) == 0) {
		pg_skip_ws(c);
		if (c->pos != c->n)
			fail(c, c->pos, "expected the end of the array");
		else
			rc = 0;
	}
	if (rc == 0)
		emit(out, c, 0);
	ctx_trim(c);
	return rc;
}
