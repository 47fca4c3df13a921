/*
 * engine/rowhash.h
 *   canon -> ROWHASH -> merge: folds a row's canonical bytes into an
 *   XXH3-128 digest, and rows into an order-independent chunk digest.
 *   Performs no I/O.
 *
 * Digests are stored big-endian (XXH128_canonical_t), never in the
 * machine's byte order, so files written here read the same anywhere.
 *
 * The chunk digest is the sum modulo 2^128 of the row digests, with the
 * row count beside it: independent of row order (a server may hash a chunk
 * in any order) and, unlike XOR, it does not cancel a row that appears
 * twice.
 */
#ifndef TALLY_ROWHASH_H
#define TALLY_ROWHASH_H

#include <stddef.h>
#include <stdint.h>

struct rowhash {
	uint8_t b[16];      /* XXH3-128, big-endian */
};

struct chunkhash {
	uint64_t rows;
	uint8_t sum[16];    /* sum of row digests mod 2^128, big-endian */
};

/* Digest of len bytes at p (a row's canonical key and values). */
void rowhash_of(const void *p, size_t len, struct rowhash *out);

/*
 * The digest of a row whose compared columns with skip[i] >= 0 are left
 * out (they compare within a tolerance, so their bytes may differ in
 * equal rows): the key (keylen bytes at p), then each other column
 * (off[i]..off[i+1] after the key), hashed as one stream.
 */
void rowhash_skipping(const uint8_t *p, size_t keylen, const uint32_t *off, size_t ncmp, const double *skip,
                      struct rowhash *out);

void chunkhash_init(struct chunkhash *c);
/* Adds one row. */
void chunkhash_add(struct chunkhash *c, const struct rowhash *h);
/* Adds another chunk's sum and count (to combine chunks or shards). */
void chunkhash_merge(struct chunkhash *c, const struct chunkhash *other);
int chunkhash_equal(const struct chunkhash *a, const struct chunkhash *b);

#endif
