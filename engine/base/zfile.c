/*
 * engine/base/zfile.c
 *   ZFILE: ZSTD_compressStream2 into a buffer (or the bytes as they are),
 *   write(2) when it fills; fsync(2) and close(2) at the end, all checked.
 */
#include "zfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zstd.h>

/* Keeps the first failure; every later call repeats it. */
static int fail(struct zfile *z, struct tally_err *err)
{
	if (!z->failed) {
		z->failed = true;
		z->fail = *err;
	}
	return -1;
}

static int failed_before(struct zfile *z, struct tally_err *err)
{
	*err = z->fail;
	return -1;
}

static int write_all(struct zfile *z, const char *p, size_t n, struct tally_err *err)
{
	while (n) {
		ssize_t w = write(z->fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			err_set(err, ERR_IO, "cannot write '%s': %s", z->name, w < 0 ? strerror(errno) : "nothing written");
			return fail(z, err);
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int zfile_fdopen(struct zfile *z, int fd, const char *name, int level, unsigned flags, struct tally_err *err)
{
	memset(z, 0, sizeof(*z));
	z->fd = fd;
	z->name = xstrdup(name);
	z->flags = flags;
	buf_init(&z->stage);
	buf_init(&z->out);
	if (!(flags & ZFILE_PLAIN)) {
		z->cctx = ZSTD_createCCtx();
		if (!z->cctx) {
			err_set(err, ERR_IO, "cannot write '%s': cannot create a zstd context", name);
			fail(z, err);
			zfile_abort(z);
			return -1;
		}
		ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_compressionLevel, level);
		ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_checksumFlag, 1);
		buf_grow(&z->out, ZSTD_CStreamOutSize());
	}
	buf_grow(&z->stage, ZSTD_CStreamInSize());
	return 0;
}

int zfile_create(struct zfile *z, const char *path, int level, unsigned flags, struct tally_err *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0) {
		memset(z, 0, sizeof(*z));
		z->fd = -1;
		err_set(err, ERR_IO, "cannot create '%s': %s", path, strerror(errno));
		return fail(z, err);
	}
	return zfile_fdopen(z, fd, path, level, flags, err);
}

/* Hands n bytes on: compressed through zstd, or as they are. */
static int pump(struct zfile *z, const void *p, size_t n, ZSTD_EndDirective mode,
                struct tally_err *err)
{
	ZSTD_inBuffer in = { p, n, 0 };
	size_t left;

	if (!z->cctx)
		return write_all(z, p, n, err);
	do {
		ZSTD_outBuffer out = { z->out.data, z->out.cap - 1, 0 };

		left = ZSTD_compressStream2(z->cctx, &out, &in, mode);
		if (ZSTD_isError(left)) {
			err_set(err, ERR_IO, "cannot write '%s': zstd compression failed: %s", z->name,
			        ZSTD_getErrorName(left));
			return fail(z, err);
		}
		if (out.pos && write_all(z, z->out.data, out.pos, err) < 0)
			return -1;
	} while (mode == ZSTD_e_end ? left != 0 : in.pos < in.size);
	return 0;
}

/*
 * Records are often a few hundred bytes, and each call into zstd's
 * streaming API costs more than compressing that much: writes are staged
 * and handed over a block (128 KiB) at a time.
 */
int zfile_write(struct zfile *z, const void *p, size_t n, struct tally_err *err)
{
	if (z->failed)
		return failed_before(z, err);
	z->bytes_in += n;
	if (z->stage.len + n < z->stage.cap) {
		memcpy(z->stage.data + z->stage.len, p, n);
		z->stage.len += n;
		return 0;
	}
	if (z->stage.len && pump(z, z->stage.data, z->stage.len, ZSTD_e_continue, err) < 0)
		return -1;
	z->stage.len = 0;
	if (n >= z->stage.cap - 1)
		return pump(z, p, n, ZSTD_e_continue, err);
	memcpy(z->stage.data, p, n);
	z->stage.len = n;
	return 0;
}

int zfile_close(struct zfile *z, struct tally_err *err)
{
	if (!z->failed && z->fd >= 0) {
		if (pump(z, z->stage.data, z->stage.len, ZSTD_e_end, err) == 0 && !(z->flags & ZFILE_SCRATCH) &&
		    fsync(z->fd) < 0) {
			err_set(err, ERR_IO, "cannot write '%s': %s", z->name, strerror(errno));
			fail(z, err);
		}
	}
	if (z->fd >= 0 && close(z->fd) < 0 && !z->failed) {
		err_set(err, ERR_IO, "cannot write '%s': %s", z->name, strerror(errno));
		fail(z, err);
	}
	z->fd = -1;
	if (z->failed)
		failed_before(z, err);
	zfile_abort(z);
	return z->failed ? -1 : 0;
}

void zfile_abort(struct zfile *z)
{
	if (z->fd >= 0)
		close(z->fd);
	z->fd = -1;
	ZSTD_freeCCtx(z->cctx);
	z->cctx = NULL;
	free(z->name);
	z->name = NULL;
	buf_release(&z->stage);
	buf_release(&z->out);
}

int zreader_open(struct zreader *z, const char *path, struct tally_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		memset(z, 0, sizeof(*z));
		z->fd = -1;
		buf_init(&z->in);
		buf_init(&z->out);
		z->failed = true;
		return err_set(err, ERR_IO, "cannot open '%s': %s", path, strerror(errno));
	}
	return zreader_fdopen(z, fd, err);
}

int zreader_fdopen(struct zreader *z, int fd, struct tally_err *err)
{
	memset(z, 0, sizeof(*z));
	buf_init(&z->in);
	buf_init(&z->out);
	z->fd = fd;
	z->dctx = ZSTD_createDCtx();
	if (!z->dctx) {
		z->failed = true;
		return err_set(err, ERR_IO, "cannot create a zstd context");
	}
	buf_grow(&z->in, ZSTD_DStreamInSize());
	buf_grow(&z->out, ZSTD_DStreamOutSize());
	return 0;
}

/* Decompresses the next block into z->out; leaves it empty at the end. */
static int refill(struct zreader *z, struct tally_err *err)
{
	ZSTD_outBuffer out = { z->out.data, z->out.cap - 1, 0 };

	z->out.len = z->outpos = 0;
	while (out.pos == 0) {
		ZSTD_inBuffer in;
		size_t rc;

		if (z->inpos == z->in.len) {
			ssize_t got;

			if (z->eof)
				break;
			do
				got = read(z->fd, z->in.data, z->in.cap - 1);
			while (got < 0 && errno == EINTR);
			if (got < 0) {
				z->failed = true;
				return err_set(err, ERR_IO, "cannot read compressed input: %s", strerror(errno));
			}
			if (got == 0) {
				z->eof = true;
				if (z->frame_left != 0) {
					z->failed = true;
					return err_set(err, ERR_IO, "compressed input is truncated");
				}
				break;
			}
			z->in.len = (size_t)got;
			z->inpos = 0;
		}
		in.src = z->in.data;
		in.size = z->in.len;
		in.pos = z->inpos;
		rc = ZSTD_decompressStream(z->dctx, &out, &in);
		z->inpos = in.pos;
		if (ZSTD_isError(rc)) {
			z->failed = true;
			return err_set(err, ERR_IO, "corrupt compressed input: %s", ZSTD_getErrorName(rc));
		}
		z->frame_left = rc;
	}
	z->out.len = out.pos;
	return 0;
}

long zreader_read(struct zreader *z, void *p, size_t n, struct tally_err *err)
{
	size_t done = 0;

	if (z->failed)
		return err_set(err, ERR_IO, "compressed input failed earlier");
	while (done < n) {
		size_t take;

		if (z->outpos == z->out.len) {
			if (refill(z, err) < 0)
				return -1;
			if (z->out.len == 0)
				break;
		}
		take = z->out.len - z->outpos;
		if (take > n - done)
			take = n - done;
		memcpy((char *)p + done, z->out.data + z->outpos, take);
		z->outpos += take;
		done += take;
	}
	return (long)done;
}

void zreader_close(struct zreader *z)
{
	if (z->fd >= 0)
		close(z->fd);
	z->fd = -1;
	ZSTD_freeDCtx(z->dctx);
	z->dctx = NULL;
	buf_release(&z->in);
	buf_release(&z->out);
}

#define ZLINES_BLOCK 65536

int zlines_open(struct zlines *z, const char *path, struct tally_err *err)
{
	memset(z, 0, sizeof(*z));
	if (zreader_open(&z->z, path, err) < 0) {
		zreader_close(&z->z);
		return -1;
	}
	z->path = xstrdup(path);
	z->block = xmalloc(ZLINES_BLOCK);
	buf_init(&z->line);
	return 0;
}

/*
 * A line inside the block is handed out where it lies; only one that
 * spans blocks is gathered into z->line.
 */
int zlines_next(struct zlines *z, const char **line, size_t *len, struct tally_err *err)
{
	z->line.len = 0;
	for (;;) {
		long got;

		if (z->pos < z->len) {
			const char *p = z->block + z->pos;
			const char *nl = memchr(p, '\n', z->len - z->pos);

			if (nl) {
				size_t n = (size_t)(nl - p);

				z->pos += n + 1;
				z->lineno++;
				if (z->line.len == 0) {
					*line = p;
					*len = n;
				} else {
					buf_add(&z->line, p, n);
					*line = z->line.data;
					*len = z->line.len;
				}
				return 1;
			}
			buf_add(&z->line, p, z->len - z->pos);
			z->pos = z->len;
		}
		if (z->done)
			return 0;
		got = zreader_read(&z->z, z->block, ZLINES_BLOCK, err);
		if (got < 0) {
			err_context(err, "cannot read '%s'", z->path);
			return -1;
		}
		z->pos = 0;
		z->len = (size_t)got;
		if (got == 0) {
			z->done = true;
			if (z->line.len == 0)
				return 0;
			z->lineno++;
			*line = z->line.data;
			*len = z->line.len;
			return 1;
		}
	}
}

void zlines_close(struct zlines *z)
{
	zreader_close(&z->z);
	free(z->path);
	z->path = NULL;
	free(z->block);
	z->block = NULL;
	buf_release(&z->line);
}
