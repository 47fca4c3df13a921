/*
 * engine/canon_text.c
 *   CANON: values that arrive as strings: text and bytes (escaped), case
 *   folding, uuids, JSON documents, network addresses and bit strings.
 *   Performs no I/O.
 */
#include "canon_int.h"

#include <locale.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

#include "base/utf8.h"
#include "jcanon.h"

/* ---- text and bytes --------------------------------------------------- */

void canon_put_escaped(struct buf *out, uint8_t tag, const char *s, size_t n)
{
	const char *z = n ? memchr(s, '\0', n) : NULL;
	uint8_t *p;

	if (!z) {
		/* No NUL byte: the common case, one copy. */
		buf_grow(out, n + 3);
		p = (uint8_t *)out->data + out->len;
		*p++ = tag;
		memcpy(p, s, n);
		p += n;
		*p++ = 0x00;
		*p++ = 0x01;
		buf_setlen(out, (size_t)(p - (uint8_t *)out->data));
		return;
	}
	buf_addch(out, (char)tag);
	for (const char *end = s + n; s < end;) {
		z = memchr(s, '\0', (size_t)(end - s));
		size_t run = z ? (size_t)(z - s) : (size_t)(end - s);

		buf_add(out, s, run);
		s += run;
		if (z) {
			buf_add(out, "\0\xff", 2);
			s++;
		}
	}
	buf_add(out, "\0\x01", 2);
}

/* ---- case folding ----------------------------------------------------- */

static locale_t utf8_locale;
static pthread_once_t utf8_once = PTHREAD_ONCE_INIT;

static void open_utf8_locale(void)
{
	utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

int canon_case_ready(struct tally_err *err)
{
	pthread_once(&utf8_once, open_utf8_locale);
	if (utf8_locale == (locale_t)0)
		return err_set(err, ERR_USAGE, "case: insensitive needs the C.UTF-8 locale, which this system lacks");
	return 0;
}

/*
 * Lowercases UTF-8 text character by character (glibc's simple Unicode
 * mapping for C.UTF-8); bytes that are not UTF-8 stay as they are.
 */
static void fold_case(struct buf *out, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;

	pthread_once(&utf8_once, open_utf8_locale);
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t len = utf8_decode(p + i, n - i, &cp);

		if (len == 0) {
			buf_addch(out, (char)p[i]);
			i++;
			continue;
		}
		if (cp >= 'A' && cp <= 'Z')
			cp += 'a' - 'A';
		else if (cp >= 0x80 && utf8_locale != (locale_t)0)
			cp = (uint32_t)towlower_l((wint_t)cp, utf8_locale);
		utf8_encode(out, cp);
		i += len;
	}
}

void canon_put_text(struct buf *out, const struct canon_col *col, const char *s, size_t n)
{
	struct buf *folded = &canon_tls.folded;

	if (col->pad_trim || col->trim != CANON_TRIM_NONE)
		while (n && s[n - 1] == ' ')
			n--;
	if (col->trim == CANON_TRIM_BOTH)
		while (n && s[0] == ' ') {
			s++;
			n--;
		}
	if (col->fold_case) {
		buf_reset(folded);
		fold_case(folded, s, n);
		s = folded->data;
		n = folded->len;
	}
	canon_put_escaped(out, TAG_TEXT, s, n);
}

/* ---- uuid ------------------------------------------------------------- */

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

int canon_put_uuid(struct buf *out, const struct canon_col *col, const char *s, size_t n)
{
	uint8_t u[16];
	size_t k = 0;

	if (col->type == LT_BYTES) {
		/* binary(16): the uuid's bytes in their RFC 4122 order. */
		if (n != 16)
			return -1;
		buf_addch(out, TAG_UUID);
		buf_add(out, s, 16);
		return 0;
	}
	if (n != 36 && n != 32)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int hi, lo;

		if (n == 36 && (i == 8 || i == 13 || i == 18 || i == 23)) {
			if (s[i] != '-')
				return -1;
			continue;
		}
		if (i + 1 >= n)
			return -1;
		hi = hexval(s[i]);
		lo = hexval(s[i + 1]);
		if (hi < 0 || lo < 0 || k >= 16)
			return -1;
		u[k++] = (uint8_t)(hi << 4 | lo);
		i++;
	}
	if (k != 16)
		return -1;
	buf_addch(out, TAG_UUID);
	buf_add(out, u, 16);
	return 0;
}

/* ---- JSON ------------------------------------------------------------- */

/* Returns -2 with err set: jcanon's message names the byte at fault. */
int canon_put_json(struct buf *out, const struct canon_col *col, const char *s, size_t n,
                   struct tally_err *err)
{
	struct buf *scratch = &canon_tls.json;
	int rc;

	buf_reset(scratch);
	if (col->type == LT_ARRAY)
		rc = jcanon_pgarray(scratch, s, n, (enum pgarray_elem)col->arr_elem, err);
	else
		rc = jcanon(scratch, s, n, err);
	if (rc < 0)
		return -2;
	canon_put_escaped(out, TAG_JSON, scratch->data, scratch->len);
	return 0;
}

/* ---- inet ------------------------------------------------------------- */

/* Dotted quad a.b.c.d into 4 bytes; *len is what was read. */
static bool read_ipv4(const char *s, size_t n, uint8_t a[4], size_t *len)
{
	size_t i = 0;

	for (int k = 0; k < 4; k++) {
		unsigned v = 0, digits = 0;

		if (k && (i >= n || s[i++] != '.'))
			return false;
		while (i < n && is_digit(s[i]) && digits < 4) {
			v = v * 10 + (unsigned)(s[i++] - '0');
			digits++;
		}
		if (digits == 0 || digits > 3 || v > 255 || (digits > 1 && s[i - digits] == '0'))
			return false;
		a[k] = (uint8_t)v;
	}
	*len = i;
	return true;
}

/* An IPv6 address with optional :: and an optional dotted IPv4 tail. */
static bool read_ipv6(const char *s, size_t n, uint8_t a[16])
{
	uint16_t g[8];
	int ng = 0, gap = -1;
	size_t i = 0;

	if (n >= 2 && s[0] == ':' && s[1] == ':') {
		gap = 0;
		i = 2;
	} else if (n && s[0] == ':') {
		return false;
	}
	while (i < n) {
		unsigned v = 0, digits = 0;
		size_t start = i;

		if (ng == 8)
			return false;
		while (i < n && hexval(s[i]) >= 0 && digits < 5) {
			v = v << 4 | (unsigned)hexval(s[i++]);
			digits++;
		}
		if (i < n && s[i] == '.') {
			/* The last 32 bits as a dotted quad. */
			uint8_t q[4];
			size_t used;

			if (ng > 6 || !read_ipv4(s + start, n - start, q, &used) || start + used != n)
				return false;
			g[ng++] = (uint16_t)(q[0] << 8 | q[1]);
			g[ng++] = (uint16_t)(q[2] << 8 | q[3]);
			i = n;
			break;
		}
		if (digits == 0 || digits > 4)
			return false;
		g[ng++] = (uint16_t)v;
		if (i == n)
			break;
		if (s[i++] != ':')
			return false;
		if (i < n && s[i] == ':') {
			if (gap >= 0)
				return false;
			gap = ng;
			i++;
		} else if (i == n) {
			return false;       /* a trailing single ':' */
		}
	}
	if (gap < 0 && ng != 8)
		return false;
	if (gap >= 0 && ng > 7)
		return false;
	memset(a, 0, 16);
	for (int k = 0, at = 0; k < ng; k++, at++) {
		if (k == gap)
			at += 8 - ng;
		a[2 * at] = (uint8_t)(g[k] >> 8);
		a[2 * at + 1] = (uint8_t)g[k];
	}
	return true;
}

/*
 * a.b.c.d[/n] or an IPv6 address[/n], as PostgreSQL (inet, cidr), MariaDB
 * (INET4, INET6) and people print them; no prefix means the whole address.
 * An IPv4-mapped IPv6 address stays IPv6: the engines keep them apart.
 */
int canon_put_inet(struct buf *out, const char *s, size_t n)
{
	const char *slash = memchr(s, '/', n);
	size_t alen = slash ? (size_t)(slash - s) : n, used;
	uint8_t a[16];
	int family, prefix;

	if (memchr(s, ':', alen)) {
		if (!read_ipv6(s, alen, a))
			return -1;
		family = 6;
	} else {
		if (!read_ipv4(s, alen, a, &used) || used != alen)
			return -1;
		family = 4;
	}
	prefix = family == 4 ? 32 : 128;
	if (slash) {
		const char *p = slash + 1, *end = s + n;
		int64_t v;

		if (!canon_read_uint(&p, end, 0, &v) || p != end || v > prefix || end - (slash + 1) > 3)
			return -1;
		prefix = (int)v;
	}
	buf_addch(out, TAG_INET);
	buf_addch(out, (char)family);
	buf_add(out, a, family == 4 ? 4 : 16);
	buf_addch(out, (char)prefix);
	return 0;
}

/* ---- bit strings ------------------------------------------------------ */

/*
 * PostgreSQL prints bit and varbit as '0'/'1' characters; MariaDB sends
 * BIT(n) as raw big-endian bytes, whose low n bits are the value.
 */
int canon_put_bits(struct buf *out, const struct canon_col *col, const char *s, size_t n)
{
	size_t nbits, nbytes;
	uint8_t *p;

	if (col->raw_bits) {
		if (col->bits <= 0 || n * 8 < (size_t)col->bits)
			return -1;
		nbits = (size_t)col->bits;
		/* Bits above the width must be zero. */
		for (size_t i = 0; i < n * 8 - nbits; i++)
			if ((uint8_t)s[i / 8] & (0x80u >> (i % 8)))
				return -1;
	} else {
		for (size_t i = 0; i < n; i++)
			if (s[i] != '0' && s[i] != '1')
				return -1;
		nbits = n;
	}
	if (nbits > UINT32_MAX)
		return -1;
	nbytes = (nbits + 7) / 8;
	buf_grow(out, 5 + nbytes);
	buf_put1(out, TAG_BITS);
	for (int k = 3; k >= 0; k--)
		buf_put1(out, (uint8_t)(nbits >> (8 * k)));
	p = (uint8_t *)out->data + out->len;
	memset(p, 0, nbytes);
	for (size_t i = 0; i < nbits; i++) {
		bool one;

		if (col->raw_bits) {
			size_t from = n * 8 - nbits + i;

			one = ((uint8_t)s[from / 8] & (0x80u >> (from % 8))) != 0;
		} else {
			one = s[i] == '1';
		}
		if (one)
			p[i / 8] |= (uint8_t)(0x80u >> (i % 8));
	}
	buf_setlen(out, out->len + nbytes);
	return 0;
}

