/*
 * engine/base/buf.h
 *   Base layer: a growable byte buffer (after git's strbuf) and the
 *   checked allocation helpers every module uses. Depends on nothing.
 *
 * Invariants of struct buf:
 *   - len < cap whenever cap > 0, and data[len] == '\0', so data can be
 *     used as a C string when the content holds no NUL;
 *   - a buffer after buf_init() (or BUF_INIT) owns no memory; data points
 *     at a shared empty string, so it is always safe to read;
 *   - buf_reset() keeps the memory, buf_release() frees it.
 *
 * Memory exhaustion is not a recoverable error in tally: the x*alloc
 * helpers print a message and exit with status 2.
 */
#ifndef TALLY_BUF_H
#define TALLY_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "err.h"
#include "le.h"

extern char buf_empty[1];

struct buf {
	char *data;
	size_t len;
	size_t cap;
};

#define BUF_INIT { buf_empty, 0, 0 }

void buf_init(struct buf *b);
void buf_release(struct buf *b);

void buf_grow_slow(struct buf *b, size_t extra);

/*
 * Makes room for at least `extra` more bytes (plus the terminating NUL).
 * Inline for the common case that there is room already: it is called for
 * every value on the hot path. cap > len whenever cap > 0, so no wrap.
 */
static inline void buf_grow(struct buf *b, size_t extra)
{
	if (extra >= b->cap - b->len)
		buf_grow_slow(b, extra);
}

static inline void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->cap)
		b->data[0] = '\0';
}

/*
 * Sets the length, which must be < cap, or 0 while the buffer owns no
 * memory; keeps the NUL terminator. An empty buffer's data is the shared
 * buf_empty, which is never written (threads share it): rewinding an
 * empty buffer to 0 leaves it alone.
 */
static inline void buf_setlen(struct buf *b, size_t len)
{
	b->len = len;
	if (b->cap)
		b->data[len] = '\0';
}

static inline void buf_add(struct buf *b, const void *data, size_t len)
{
	buf_grow(b, len);
	if (len)
		memcpy(b->data + b->len, data, len);
	buf_setlen(b, b->len + len);
}

void buf_addstr(struct buf *b, const char *s);

static inline void buf_addch(struct buf *b, char c)
{
	if (b->len + 2 > b->cap)
		buf_grow(b, 1);
	b->data[b->len++] = c;
	b->data[b->len] = '\0';
}

/*
 * Hot-path appends: the caller has made room with buf_grow() first, so
 * these neither check nor keep the NUL terminator; finish with buf_setlen().
 */
static inline void buf_put1(struct buf *b, uint8_t c)
{
	b->data[b->len++] = (char)c;
}

static inline void buf_put64(struct buf *b, uint64_t v)
{
	uint8_t *p = (uint8_t *)b->data + b->len;

	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)(v & 0xff);
		v >>= 8;
	}
	b->len += 8;
}

/* Appends v as 4 little-endian bytes (the lengths in tally's own files). */
static inline void buf_add_le32(struct buf *b, uint32_t v)
{
	uint8_t x[4];

	le_put32(x, v);
	buf_add(b, x, 4);
}

void buf_addf(struct buf *b, const char *fmt, ...) TALLY_PRINTF(2, 3);
void buf_vaddf(struct buf *b, const char *fmt, va_list ap) TALLY_PRINTF(2, 0);

/* Appends len bytes as lowercase hex digits. */
void buf_addhex(struct buf *b, const void *data, size_t len);

/* Returns the content, now owned by the caller, and leaves b empty. */
char *buf_detach(struct buf *b, size_t *len);

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
/* Grows an array to hold at least `need` elements of `size` bytes. */
void *xgrow(void *p, size_t *cap, size_t need, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) TALLY_PRINTF(1, 2);

#endif
