/*
 * engine/rowhash.c
 *   canon -> ROWHASH -> merge: XXH3-128 per row, 128-bit sums per chunk.
 *   Performs no I/O. xxHash is inlined: rows are short, and the call
 *   overhead of the shared library shows at millions of rows.
 */
#include "rowhash.h"

#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

void rowhash_of(const void *p, size_t len, struct rowhash *out)
{
	XXH128_hash_t h = XXH3_128bits(p, len);
	XXH128_canonical_t c;

	XXH128_canonicalFromHash(&c, h);
	memcpy(out->b, c.digest, sizeof(out->b));
}

void rowhash_skipping(const uint8_t *p, size_t keylen, const uint32_t *off, size_t ncmp, const double *skip,
                      struct rowhash *out)
{
	XXH3_state_t st;
	XXH128_canonical_t c;

	XXH3_128bits_reset(&st);
	XXH3_128bits_update(&st, p, keylen);
	for (size_t i = 0; i < ncmp; i++)
		if (skip[i] < 0)
			XXH3_128bits_update(&st, p + keylen + off[i], off[i + 1] - off[i]);
	XXH128_canonicalFromHash(&c, XXH3_128bits_digest(&st));
	memcpy(out->b, c.digest, sizeof(out->b));
}

void chunkhash_init(struct chunkhash *c)
{
	memset(c, 0, sizeof(*c));
}

static void add128(uint8_t acc[16], const uint8_t v[16])
{
	unsigned carry = 0;

	for (int i = 15; i >= 0; i--) {
		unsigned s = (unsigned)acc[i] + v[i] + carry;
		acc[i] = (uint8_t)s;
		carry = s >> 8;
	}
}

void chunkhash_add(struct chunkhash *c, const struct rowhash *h)
{
	c->rows++;
	add128(c->sum, h->b);
}

void chunkhash_merge(struct chunkhash *c, const struct chunkhash *other)
{
	c->rows += other->rows;
	add128(c->sum, other->sum);
}

int chunkhash_equal(const struct chunkhash *a, const struct chunkhash *b)
{
	return a->rows == b->rows && memcmp(a->sum, b->sum, sizeof(a->sum)) == 0;
}
