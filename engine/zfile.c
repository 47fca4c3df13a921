/*
 * engine/zfile.c
 *   ZFILE: ZSTD_compressStream2 into a buffer, write(2) when it fills.
 */
#include "zfile.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <zstd.h>

static int write_all(struct zfile *z, const char *p, size_t n, struct tally_err *err)
{
	while (n) {
		ssize_t w = write(z->fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			z->failed = true;
			return err_set(err, ERR_IO, "cannot write compressed output: %s", strerror(errno));
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int zfile_open(struct zfile *z, int fd, int level, struct tally_err *err)
{
	memset(z, 0, sizeof(*z));
	z->fd = fd;
	buf_init(&z->out);
	z->cctx = ZSTD_createCCtx();
	if (!z->cctx) {
		z->failed = true;
		return err_set(err, ERR_IO, "cannot create a zstd context");
	}
	ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_compressionLevel, level);
	ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_checksumFlag, 1);
	buf_grow(&z->out, ZSTD_CStreamOutSize());
	return 0;
}

static int pump(struct zfile *z, const void *p, size_t n, ZSTD_EndDirective mode,
                struct tally_err *err)
{
	ZSTD_inBuffer in = { p, n, 0 };
	size_t left;

	do {
		ZSTD_outBuffer out = { z->out.data, z->out.cap - 1, 0 };

		left = ZSTD_compressStream2(z->cctx, &out, &in, mode);
		if (ZSTD_isError(left)) {
			z->failed = true;
			return err_set(err, ERR_IO, "zstd compression failed: %s", ZSTD_getErrorName(left));
		}
		if (out.pos && write_all(z, z->out.data, out.pos, err) < 0)
			return -1;
	} while (mode == ZSTD_e_end ? left != 0 : in.pos < in.size);
	return 0;
}

int zfile_write(struct zfile *z, const void *p, size_t n, struct tally_err *err)
{
	if (z->failed)
		return err_set(err, ERR_IO, "compressed output failed earlier");
	z->bytes_in += n;
	return pump(z, p, n, ZSTD_e_continue, err);
}

int zfile_close(struct zfile *z, struct tally_err *err)
{
	int rc = 0;

	if (z->failed)
		rc = err_set(err, ERR_IO, "compressed output failed earlier");
	else
		rc = pump(z, NULL, 0, ZSTD_e_end, err);
	if (z->fd >= 0 && close(z->fd) < 0 && rc == 0)
		rc = err_set(err, ERR_IO, "cannot close compressed output: %s", strerror(errno));
	z->fd = -1;
	ZSTD_freeCCtx(z->cctx);
	z->cctx = NULL;
	buf_release(&z->out);
	return rc;
}

void zfile_abort(struct zfile *z)
{
	if (z->fd >= 0)
		close(z->fd);
	z->fd = -1;
	ZSTD_freeCCtx(z->cctx);
	z->cctx = NULL;
	buf_release(&z->out);
}

int zreader_open(struct zreader *z, const char *path, struct tally_err *err)
{
	memset(z, 0, sizeof(*z));
	buf_init(&z->in);
	z->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (z->fd < 0) {
		z->failed = true;
		return err_set(err, ERR_IO, "cannot open '%s': %s", path, strerror(errno));
	}
	z->dctx = ZSTD_createDCtx();
	if (!z->dctx) {
		z->failed = true;
		return err_set(err, ERR_IO, "cannot create a zstd context");
	}
	buf_grow(&z->in, ZSTD_DStreamInSize());
	return 0;
}

long zreader_read(struct zreader *z, void *p, size_t n, struct tally_err *err)
{
	ZSTD_outBuffer out = { p, n, 0 };

	if (z->failed)
		return err_set(err, ERR_IO, "compressed input failed earlier");
	while (out.pos < out.size) {
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
	}
	return (long)out.pos;
}

void zreader_close(struct zreader *z)
{
	if (z->fd >= 0)
		close(z->fd);
	z->fd = -1;
	ZSTD_freeDCtx(z->dctx);
	z->dctx = NULL;
	buf_release(&z->in);
}
