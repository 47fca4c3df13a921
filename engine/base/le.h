/*
 * engine/base/le.h
 *   Base layer: fixed-width integers in little-endian byte order, the
 *   order of every length and count in tally's own files (work parts,
 *   row records, snapshot files), whatever the machine's. Big-endian
 *   values (canonical encodings, TZif) are not written here.
 */
#ifndef TALLY_LE_H
#define TALLY_LE_H

#include <stdint.h>

static inline void le_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline uint32_t le_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void le_put64(uint8_t *p, uint64_t v)
{
	le_put32(p, (uint32_t)v);
	le_put32(p + 4, (uint32_t)(v >> 32));
}

static inline uint64_t le_get64(const uint8_t *p)
{
	return (uint64_t)le_get32(p) | (uint64_t)le_get32(p + 4) << 32;
}

#endif
