/*
 * engine/zfile.h
 *   report, repair, snapshot -> ZFILE: a zstd-compressed output stream
 *   over a file descriptor. Sticky error: after the first failure every
 *   call returns -1 at once (after Redis' rio).
 */
#ifndef TALLY_ZFILE_H
#define TALLY_ZFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

struct zfile {
	int fd;                 /* owned: closed by zfile_close/zfile_abort */
	void *cctx;             /* ZSTD_CCtx, opaque here */
	struct buf stage;       /* small writes gathered into zstd-sized blocks */
	struct buf out;
	bool failed;
	uint64_t bytes_in;
};

/* Takes ownership of fd; level as zstd's (3 is its default). */
int zfile_open(struct zfile *z, int fd, int level, struct tally_err *err);
int zfile_write(struct zfile *z, const void *p, size_t n, struct tally_err *err);
/* Ends the frame, flushes and closes the descriptor. */
int zfile_close(struct zfile *z, struct tally_err *err);
/* Closes without finishing; the file is left incomplete for the caller to remove. */
void zfile_abort(struct zfile *z);

/*
 * Reading a zstd file (any number of frames) as a byte stream. Sticky
 * error like the writer.
 */
struct zreader {
	int fd;                 /* owned */
	void *dctx;             /* ZSTD_DCtx */
	struct buf in;          /* compressed bytes read, not yet decompressed */
	size_t inpos;
	struct buf out;         /* decompressed bytes not yet handed out */
	size_t outpos;
	size_t frame_left;      /* ZSTD_decompressStream's last hint: 0 at a frame's end */
	bool eof, failed;
};

int zreader_open(struct zreader *z, const char *path, struct tally_err *err);
/* The same over an open descriptor, which it takes. */
int zreader_fdopen(struct zreader *z, int fd, struct tally_err *err);
/*
 * Decompresses up to n bytes into p; returns the count (0 at the end of
 * the file), or -1 on error.
 */
long zreader_read(struct zreader *z, void *p, size_t n, struct tally_err *err);
void zreader_close(struct zreader *z);

#endif
