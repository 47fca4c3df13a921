/*
 * engine/base/zfile.h
 *   report, repair, snapshot, work -> ZFILE: the output stream every file
 *   tally writes goes through, zstd-compressed or plain, over a file
 *   descriptor. Sticky error (after Redis' rio): the first failed write,
 *   fsync or close is kept, every later call returns -1 at once with the
 *   same message, and zfile_close() reports it, so a caller that checks
 *   only the close still learns of the failure. Messages name the file and
 *   the system's reason: "cannot write '/out/diff.ndjson.zst': No space
 *   left on device".
 *
 * A file is durable when zfile_close() returns 0: its bytes were written,
 * fsync(2) succeeded (delayed allocation reports a full disk only there)
 * and close(2) succeeded. ZFILE_SCRATCH skips the fsync for files that
 * the run itself reads back and removes (sort runs).
 */
#ifndef TALLY_ZFILE_H
#define TALLY_ZFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

#define ZFILE_PLAIN   0x1u      /* no compression: the bytes as given */
#define ZFILE_SCRATCH 0x2u      /* no fsync at close: a file the run reads back and removes */

struct zfile {
	int fd;                 /* owned: closed by zfile_close/zfile_abort; -1 when closed */
	char *name;             /* owned: the file as error messages name it */
	void *cctx;             /* ZSTD_CCtx, opaque here; NULL when plain */
	unsigned flags;
	struct buf stage;       /* small writes gathered into zstd-sized blocks */
	struct buf out;
	bool failed;
	struct tally_err fail;  /* the first failure, repeated by every later call */
	uint64_t bytes_in;
};

/*
 * Takes ownership of fd (closed even when this fails); name is what
 * messages call the file (the final name of a file written under a
 * temporary one). level as zstd's (3 is its default), ignored when plain.
 */
int zfile_fdopen(struct zfile *z, int fd, const char *name, int level, unsigned flags, struct tally_err *err);
/* Creates (or truncates) path, mode 0600, and opens it as above. */
int zfile_create(struct zfile *z, const char *path, int level, unsigned flags, struct tally_err *err);
int zfile_write(struct zfile *z, const void *p, size_t n, struct tally_err *err);
/*
 * Ends the frame, writes what is staged, fsyncs (unless ZFILE_SCRATCH)
 * and closes; returns the first failure of the file's whole life. Frees
 * what z holds either way.
 */
int zfile_close(struct zfile *z, struct tally_err *err);
/*
 * Closes without finishing; the file is left incomplete for the caller
 * to remove. Accepts a zfile that was zeroed with fd -1, or already closed.
 */
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

/*
 * Reading a zstd file line by line (ndjson: diff files, work parts).
 * Lines are split at '\n', which is not part of the line; a last line
 * without one is still a line, an empty file has none. Errors name the
 * file: "cannot read '/out/diff.ndjson.zst': corrupt compressed input: ...".
 */
struct zlines {
	struct zreader z;
	char *path;             /* owned: named by error messages */
	char *block;            /* owned: decompressed bytes not yet split */
	size_t pos, len;
	struct buf line;        /* a line spanning blocks, gathered */
	uint64_t lineno;        /* the line last returned, from 1 */
	bool done;
};

/* Opens path; on failure z needs no close. */
int zlines_open(struct zlines *z, const char *path, struct tally_err *err);
/*
 * The next line in *line and *len (borrowed: valid until the next call
 * or zlines_close); returns 1, 0 at the end of the file, -1 on error.
 */
int zlines_next(struct zlines *z, const char **line, size_t *len, struct tally_err *err);
void zlines_close(struct zlines *z);

#endif
