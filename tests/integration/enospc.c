/*
 * tests/integration/enospc.c
 *   A full disk on demand, for test_disk.py: an LD_PRELOAD library that
 *   makes writes to files under one directory fail with ENOSPC once they
 *   have written a given number of bytes, wherever tally writes and with
 *   whatever call. Built for the tests only; never installed.
 *
 *   TALLY_TEST_ENOSPC_DIR     the directory (absolute); files elsewhere are untouched
 *   TALLY_TEST_ENOSPC_AFTER   the disk fills when this many bytes have been written
 *                             under it (all files together, counted from the start):
 *                             the write that crosses the mark writes what fits and
 *                             returns that short count, and from then on the files
 *                             under the directory hold at most what they hold at that
 *                             moment, as on a disk that filled up: later writes fail,
 *                             fsync and fdatasync of a file or directory under it fail
 *                             while it is full, and removing a file (unlink) gives its
 *                             bytes back for new writes, as a real disk would
 *   TALLY_TEST_ENOSPC_FILE    optional: only bytes written to files whose base name
 *                             matches this fnmatch pattern count towards the mark
 *                             (default: every file), so that the disk can fill at a
 *                             given byte of one file, whatever came before it
 *   TALLY_TEST_ENOSPC_RENAME  optional: a rename whose target under the directory has
 *                             this base name (fnmatch pattern) fails with ENOSPC
 *   TALLY_TEST_ENOSPC_LOG     optional: a file (outside the directory) that gets one
 *                             line per write under it: "WRITTEN COUNT PATH", WRITTEN
 *                             being the bytes counted towards the mark before it
 *
 * What it covers: write, pwrite, writev, pwritev (the engine's own I/O:
 * zstd streams, report.json, work parts), and stdio streams opened for
 * writing on such files (fopen, fopen64, fdopen): glibc's stdio calls its
 * internal write, which no preload can catch, so those streams are
 * replaced with fopencookie streams whose writes, fflush and fclose go
 * through the write above.
 */
/* Both names of each call are defined here: no redirection of one to the other. */
#undef _FILE_OFFSET_BITS
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static const char *dir;
static size_t dirlen;
static uint64_t after = UINT64_MAX;     /* the disk fills when this much was written */
static uint64_t written;                /* bytes written under the directory, ever */
static uint64_t used;                   /* bytes its files hold now */
static uint64_t room = UINT64_MAX;      /* what they may hold, once the disk filled */
static bool full;                       /* a write failed since the last unlink */
static const char *rename_pattern, *file_pattern;
static int log_fd = -1;

static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static ssize_t (*real_pwritev)(int, const struct iovec *, int, off_t);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_rename)(const char *, const char *);
static int (*real_unlink)(const char *);
static FILE *(*real_fopen)(const char *, const char *);
static FILE *(*real_fopen64)(const char *, const char *);
static FILE *(*real_fdopen)(int, const char *);

/* POSIX's way from dlsym's object pointer to a function pointer. */
#define LOOKUP(var, name) (*(void **)(&(var)) = dlsym(RTLD_NEXT, (name)))

static void init(void)
{
	const char *mark = getenv("TALLY_TEST_ENOSPC_AFTER"), *logp = getenv("TALLY_TEST_ENOSPC_LOG");

	LOOKUP(real_write, "write");
	LOOKUP(real_pwrite, "pwrite");
	LOOKUP(real_writev, "writev");
	LOOKUP(real_pwritev, "pwritev");
	LOOKUP(real_fsync, "fsync");
	LOOKUP(real_fdatasync, "fdatasync");
	LOOKUP(real_rename, "rename");
	LOOKUP(real_unlink, "unlink");
	LOOKUP(real_fopen, "fopen");
	LOOKUP(real_fopen64, "fopen64");
	LOOKUP(real_fdopen, "fdopen");
	dir = getenv("TALLY_TEST_ENOSPC_DIR");
	if (dir && *dir) {
		dirlen = strlen(dir);
		while (dirlen > 1 && dir[dirlen - 1] == '/')
			dirlen--;
	} else {
		dir = NULL;
	}
	if (mark && *mark)
		after = strtoull(mark, NULL, 10);
	rename_pattern = getenv("TALLY_TEST_ENOSPC_RENAME");
	file_pattern = getenv("TALLY_TEST_ENOSPC_FILE");
	if (logp && *logp)
		log_fd = open(logp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
}

static bool path_under(const char *p)
{
	return dir && strncmp(p, dir, dirlen) == 0 && (p[dirlen] == '\0' || p[dirlen] == '/');
}

/* Where fd points, when it is a file under the directory; else false. */
static bool fd_under(int fd, char *path, size_t cap)
{
	char link[64];
	ssize_t n;

	pthread_once(&once, init);
	if (!dir || fd < 0)
		return false;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, cap - 1);
	if (n <= 0)
		return false;
	path[n] = '\0';
	return path_under(path);
}

/* How many of n bytes may be written now; 0 with errno ENOSPC when none. */
static size_t take(size_t n, const char *path)
{
	const char *base = strrchr(path, '/');
	bool counts = !file_pattern || fnmatch(file_pattern, base ? base + 1 : path, 0) == 0;
	size_t ok = n;
	uint64_t before;

	pthread_mutex_lock(&lock);
	before = written;
	if (room == UINT64_MAX && counts && written + n > after) {
		/* The disk fills now: what is held, and what fits of this write, is all it holds. */
		ok = after > written ? (size_t)(after - written) : 0;
		room = used + ok;
	} else if (room != UINT64_MAX) {
		ok = used >= room ? 0 : room - used < n ? (size_t)(room - used) : n;
	}
	if (counts)
		written += ok;
	used += ok;
	if (ok < n)
		full = true;
	pthread_mutex_unlock(&lock);
	if (log_fd >= 0 && ok && counts) {
		char line[PATH_MAX + 64];
		int len = snprintf(line, sizeof(line), "%llu %zu %s\n", (unsigned long long)before, ok, path);

		if (len > 0)
			real_write(log_fd, line, (size_t)len < sizeof(line) ? (size_t)len : sizeof(line) - 1);
	}
	if (ok == 0)
		errno = ENOSPC;
	return ok;
}

ssize_t write(int fd, const void *p, size_t n)
{
	char path[PATH_MAX];
	size_t ok;

	if (!fd_under(fd, path, sizeof(path)) || n == 0)
		return real_write(fd, p, n);
	ok = take(n, path);
	return ok ? real_write(fd, p, ok) : -1;
}

ssize_t pwrite(int fd, const void *p, size_t n, off_t off)
{
	char path[PATH_MAX];
	size_t ok;

	if (!fd_under(fd, path, sizeof(path)) || n == 0)
		return real_pwrite(fd, p, n, off);
	ok = take(n, path);
	return ok ? real_pwrite(fd, p, ok, off) : -1;
}

ssize_t pwrite64(int fd, const void *p, size_t n, off64_t off)
{
	return pwrite(fd, p, n, off);
}

/* The vector's first `ok` bytes, as a vector of its own. */
static int clip(const struct iovec *iov, int cnt, size_t ok, struct iovec *out)
{
	int k = 0;

	for (int i = 0; i < cnt && ok; i++, k++) {
		out[k] = iov[i];
		if (out[k].iov_len > ok)
			out[k].iov_len = ok;
		ok -= out[k].iov_len;
	}
	return k;
}

static size_t iov_total(const struct iovec *iov, int cnt)
{
	size_t n = 0;

	for (int i = 0; i < cnt; i++)
		n += iov[i].iov_len;
	return n;
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	char path[PATH_MAX];
	struct iovec part[IOV_MAX];
	size_t n = iov_total(iov, cnt), ok;

	if (!fd_under(fd, path, sizeof(path)) || n == 0 || cnt > IOV_MAX)
		return real_writev(fd, iov, cnt);
	ok = take(n, path);
	return ok ? real_writev(fd, part, clip(iov, cnt, ok, part)) : -1;
}

ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
	char path[PATH_MAX];
	struct iovec part[IOV_MAX];
	size_t n = iov_total(iov, cnt), ok;

	if (!fd_under(fd, path, sizeof(path)) || n == 0 || cnt > IOV_MAX)
		return real_pwritev(fd, iov, cnt, off);
	ok = take(n, path);
	return ok ? real_pwritev(fd, part, clip(iov, cnt, ok, part), off) : -1;
}

static bool is_full(void)
{
	bool f;

	pthread_mutex_lock(&lock);
	f = full;
	pthread_mutex_unlock(&lock);
	return f;
}

int fsync(int fd)
{
	char path[PATH_MAX];

	if (fd_under(fd, path, sizeof(path)) && is_full()) {
		errno = ENOSPC;
		return -1;
	}
	return real_fsync(fd);
}

int fdatasync(int fd)
{
	char path[PATH_MAX];

	if (fd_under(fd, path, sizeof(path)) && is_full()) {
		errno = ENOSPC;
		return -1;
	}
	return real_fdatasync(fd);
}

int rename(const char *from, const char *to)
{
	const char *base;

	pthread_once(&once, init);
	base = strrchr(to, '/');
	base = base ? base + 1 : to;
	if (rename_pattern && path_under(to) && fnmatch(rename_pattern, base, 0) == 0) {
		errno = ENOSPC;
		return -1;
	}
	return real_rename(from, to);
}

int unlink(const char *path)
{
	struct stat st;
	bool give_back;

	pthread_once(&once, init);
	give_back = path_under(path) && lstat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 1;
	if (real_unlink(path) < 0)
		return -1;
	if (give_back) {
		pthread_mutex_lock(&lock);
		used -= (uint64_t)st.st_size < used ? (uint64_t)st.st_size : used;
		full = false;
		pthread_mutex_unlock(&lock);
	}
	return 0;
}

/* ---- stdio: streams over the write above ------------------------------ */

static ssize_t ck_read(void *c, char *buf, size_t n)
{
	return read((int)(intptr_t)c, buf, n);
}

/* All of n, or 0 with errno set: stdio then marks the stream failed. */
static ssize_t ck_write(void *c, const char *buf, size_t n)
{
	size_t done = 0;

	while (done < n) {
		ssize_t w = write((int)(intptr_t)c, buf + done, n - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = ENOSPC;
			return 0;
		}
		done += (size_t)w;
	}
	return (ssize_t)n;
}

static int ck_seek(void *c, off64_t *pos, int whence)
{
	off_t r = lseek((int)(intptr_t)c, (off_t)*pos, whence);

	if (r < 0)
		return -1;
	*pos = r;
	return 0;
}

static int ck_close(void *c)
{
	return close((int)(intptr_t)c);
}

static bool writes(const char *mode)
{
	return strchr(mode, 'w') || strchr(mode, 'a') || strchr(mode, '+');
}

static FILE *cookie_stream(int fd, const char *mode)
{
	cookie_io_functions_t io = { ck_read, ck_write, ck_seek, ck_close };

	return fopencookie((void *)(intptr_t)fd, mode, io);
}

static FILE *open_stream(bool large, const char *path, const char *mode)
{
	int flags, fd;
	FILE *f;

	pthread_once(&once, init);
	if (!path_under(path) || !writes(mode))
		return large ? real_fopen64(path, mode) : real_fopen(path, mode);
	flags = strchr(mode, '+') ? O_RDWR : O_WRONLY;
	if (mode[0] == 'w')
		flags |= O_CREAT | O_TRUNC;
	else if (mode[0] == 'a')
		flags |= O_CREAT | O_APPEND;
	if (strchr(mode, 'x'))
		flags |= O_EXCL;
	if (strchr(mode, 'e'))
		flags |= O_CLOEXEC;
	fd = open(path, flags, 0666);
	if (fd < 0)
		return NULL;
	f = cookie_stream(fd, mode);
	if (!f)
		close(fd);
	return f;
}

FILE *fopen(const char *path, const char *mode)
{
	return open_stream(false, path, mode);
}

FILE *fopen64(const char *path, const char *mode)
{
	return open_stream(true, path, mode);
}

FILE *fdopen(int fd, const char *mode)
{
	char path[PATH_MAX];

	if (!fd_under(fd, path, sizeof(path)) || !writes(mode))
		return real_fdopen(fd, mode);
	return cookie_stream(fd, mode);
}
