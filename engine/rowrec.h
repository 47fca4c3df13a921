/*
 * engine/rowrec.h
 *   stream -> ROWREC -> sorter, reconciliation, snapshots: a row as bytes,
 *   so it can leave memory (a sort run, a spill file) and come back as the
 *   same struct mrow with its raw values. Performs no I/O.
 *
 * Layout, integers little-endian:
 *   u32 len         the record's size in bytes, this field included
 *   u32 keylen      canonical key bytes
 *   u32 canonlen    canonical key and values
 *   u32 ncmp        compared columns (offsets follow the canonical bytes)
 *   u32 nraw        raw values
 *   u8  hash[16]    the row's XXH3-128, as struct rowhash
 *   u8  canon[canonlen]
 *   u32 off[ncmp + 1]
 *   nraw times: u32 len (0xFFFFFFFF for NULL), then len bytes
 */
#ifndef TALLY_ROWREC_H
#define TALLY_ROWREC_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/le.h"
#include "merge.h"

#define ROWREC_HEAD 36

/* Appends m (with ncmp compared columns) and its raw values as one record. */
void rowrec_put(struct buf *out, const struct mrow *m, size_t ncmp, const struct rawrow *raw);

/* A record read back: the row and its values point into the record. */
struct rowview {
	struct mrow m;
	struct rawrow raw;
	uint32_t *off;          /* owned by the view, grown as needed */
	size_t offcap;
	const char **val;
	size_t *len;
	size_t valcap;
};

void rowview_init(struct rowview *v);
void rowview_release(struct rowview *v);

/* Length of the record at p (0 when fewer than 4 bytes). */
static inline uint32_t rowrec_len(const uint8_t *p)
{
	return le_get32(p);
}

/*
 * Reads the record at p (n bytes available) into v; v->m and v->raw stay
 * valid while the record's bytes do. Returns 0, or -1 for a malformed or
 * truncated record.
 */
int rowrec_get(const uint8_t *p, size_t n, struct rowview *v);

/* The canonical key of the record at p, for sorting without parsing it all. */
static inline const uint8_t *rowrec_key(const uint8_t *p, size_t *keylen)
{
	*keylen = (size_t)rowrec_len(p + 4);
	return p + ROWREC_HEAD;
}

#endif
