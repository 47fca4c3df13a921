/*
 * engine/base/utf8.c
 *   Base layer: validating, counting and encoding UTF-8. Performs no I/O.
 */
#include "utf8.h"

size_t utf8_check(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	uint32_t cp;

	while (i < n) {
		size_t k = utf8_decode(p + i, n - i, &cp);

		if (k == 0)
			return i;
		i += k;
	}
	return n;
}

long utf8_count(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	long chars = 0;
	uint32_t cp;

	while (i < n) {
		size_t k = utf8_decode(p + i, n - i, &cp);

		if (k == 0)
			return -1;
		i += k;
		chars++;
	}
	return chars;
}

void utf8_encode(struct buf *b, uint32_t cp)
{
	char u[4];
	size_t k;

	if (cp < 0x80) {
		u[0] = (char)cp;
		k = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xC0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3F));
		k = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xE0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[2] = (char)(0x80 | (cp & 0x3F));
		k = 3;
	} else {
		u[0] = (char)(0xF0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[3] = (char)(0x80 | (cp & 0x3F));
		k = 4;
	}
	buf_add(b, u, k);
}
