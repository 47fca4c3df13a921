/*
 * engine/base/utf8.h
 *   Base layer: well-formed UTF-8 (Unicode's table 3-7): overlong forms,
 *   encoded surrogates (U+D800..U+DFFF), code points past U+10FFFF and
 *   truncated sequences are not UTF-8. canon folds case with it, jcanon
 *   and the spec loader validate text with it. What a caller does with a
 *   byte that is not UTF-8 (refuse it, keep it as it is) is the caller's.
 *   Performs no I/O.
 */
#ifndef TALLY_UTF8_H
#define TALLY_UTF8_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/*
 * Decodes the sequence at s (n > 0 bytes available): returns its length
 * (1-4) and sets *cp, or returns 0 (and leaves *cp alone) when the bytes
 * at s do not start a well-formed sequence within n. Inline: JSON strings
 * and case folding call it for every character that is not ASCII.
 */
static inline size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	unsigned char c0 = s[0], lo = 0x80, hi = 0xBF;
	uint32_t v;
	size_t k;

	if (c0 < 0x80) {
		*cp = c0;
		return 1;
	}
	if (c0 < 0xC2)
		return 0;
	if (c0 < 0xE0) {
		k = 2;
		v = c0 & 0x1Fu;
	} else if (c0 < 0xF0) {
		k = 3;
		v = c0 & 0x0Fu;
		if (c0 == 0xE0)
			lo = 0xA0;
		else if (c0 == 0xED)
			hi = 0x9F;
	} else if (c0 < 0xF5) {
		k = 4;
		v = c0 & 0x07u;
		if (c0 == 0xF0)
			lo = 0x90;
		else if (c0 == 0xF4)
			hi = 0x8F;
	} else {
		return 0;
	}
	if (n < k || s[1] < lo || s[1] > hi)
		return 0;
	v = v << 6 | (s[1] & 0x3Fu);
	for (size_t i = 2; i < k; i++) {
		if (s[i] < 0x80 || s[i] > 0xBF)
			return 0;
		v = v << 6 | (s[i] & 0x3Fu);
	}
	*cp = v;
	return k;
}

/* Offset of the first byte of s[0..n) that is not well-formed UTF-8, or n. */
size_t utf8_check(const char *s, size_t n);

/* Characters in s[0..n), or -1 when it is not well-formed UTF-8. */
long utf8_count(const char *s, size_t n);

/* Appends code point cp (at most U+10FFFF, not a surrogate) as UTF-8. */
void utf8_encode(struct buf *b, uint32_t cp);

#endif
