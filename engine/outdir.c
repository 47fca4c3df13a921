/*
 * engine/outdir.c
 *   OUTDIR: temporary files, then rename(2) into place.
 */
#include "outdir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"

static int mkdir_p(const char *path, struct tally_err *err)
{
	char *p = xstrdup(path);

	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0700) < 0 && errno != EEXIST) {
			err_set(err, ERR_IO, "cannot create directory '%s': %s", p, strerror(errno));
			free(p);
			return -1;
		}
		*s = '/';
	}
	if (mkdir(p, 0700) < 0 && errno != EEXIST) {
		err_set(err, ERR_IO, "cannot create directory '%s': %s", p, strerror(errno));
		free(p);
		return -1;
	}
	free(p);
	return 0;
}

int outdir_open(struct outdir *o, const char *path, struct tally_err *err)
{
	struct stat st;

	memset(o, 0, sizeof(*o));
	if (mkdir_p(path, err) < 0)
		return -1;
	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
		return err_set(err, ERR_IO, "output path '%s' is not a directory", path);
	o->path = xstrdup(path);
	o->tmp = xasprintf("%s/.tally-tmp-XXXXXX", path);
	if (!mkdtemp(o->tmp)) {
		err_set(err, ERR_IO, "cannot create a temporary directory in '%s': %s", path, strerror(errno));
		free(o->tmp);
		free(o->path);
		o->tmp = o->path = NULL;
		return -1;
	}
	return 0;
}

int outdir_create(struct outdir *o, const char *name, struct zfile *z, int level, unsigned flags,
                  struct tally_err *err)
{
	char *f = xasprintf("%s/%s", o->tmp, name);
	char *shown = xasprintf("%s/%s", o->path, name);
	int fd = open(f, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), rc;

	if (fd < 0) {
		memset(z, 0, sizeof(*z));
		z->fd = -1;
		rc = err_set(err, ERR_IO, "cannot create '%s': %s", shown, strerror(errno));
	} else {
		rc = zfile_fdopen(z, fd, shown, level, flags, err);
	}
	/* Pending even when it failed: outdir_discard removes what is there. */
	o->pending = xrealloc(o->pending, (o->npending + 1) * sizeof(*o->pending));
	o->pending[o->npending++] = xstrdup(name);
	free(f);
	free(shown);
	return rc;
}

char *outdir_scratch(const struct outdir *o, const char *name)
{
	return xasprintf("%s/%s", o->tmp, name);
}

char *outdir_file(const struct outdir *o, const char *name)
{
	return xasprintf("%s/%s", o->path, name);
}

int outdir_sync_dir(const char *path, struct tally_err *err)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;

	if (fd < 0 || fsync(fd) < 0)
		rc = err_set(err, ERR_IO, "cannot sync directory '%s': %s", path, strerror(errno));
	if (fd >= 0 && close(fd) < 0 && rc == 0)
		rc = err_set(err, ERR_IO, "cannot sync directory '%s': %s", path, strerror(errno));
	return rc;
}

static int publish(const struct outdir *o, const char *name, struct tally_err *err)
{
	char *from = xasprintf("%s/%s", o->tmp, name);
	char *to = xasprintf("%s/%s", o->path, name);
	int rc = 0;

	if (rename(from, to) < 0)
		rc = err_set(err, ERR_IO, "cannot rename '%s' to '%s': %s", from, to, strerror(errno));
	free(from);
	free(to);
	return rc;
}

static void clear_pending(struct outdir *o)
{
	for (size_t i = 0; i < o->npending; i++)
		free(o->pending[i]);
	free(o->pending);
	o->pending = NULL;
	o->npending = 0;
}

int outdir_commit(struct outdir *o, struct tally_err *err)
{
	const char **done = xcalloc(o->npending + 1, sizeof(*done));
	const char *report = NULL;
	size_t ndone = 0;
	int rc = 0;

	for (size_t i = 0; i < o->npending && rc == 0; i++) {
		if (strcmp(o->pending[i], "report.json") == 0) {
			report = o->pending[i];
			continue;
		}
		rc = publish(o, o->pending[i], err);
		if (rc == 0)
			done[ndone++] = o->pending[i];
	}
	/* The commit record goes last, after everything it names is in place. */
	if (rc == 0 && report && ndone)
		rc = outdir_sync_dir(o->path, err);
	if (rc == 0 && report) {
		rc = publish(o, report, err);
		if (rc == 0)
			done[ndone++] = report;
	}
	if (rc == 0)
		rc = outdir_sync_dir(o->path, err);
	if (rc < 0) {
		/* The report first: without it, nothing left looks complete. */
		for (size_t i = ndone; i-- > 0;) {
			char *f = outdir_file(o, done[i]);

			unlink(f);
			free(f);
		}
	}
	free(done);
	clear_pending(o);
	return rc;
}

void outdir_discard(struct outdir *o)
{
	DIR *d;
	struct dirent *e;

	if (!o || !o->tmp)
		return;
	d = opendir(o->tmp);
	if (d) {
		while ((e = readdir(d)) != NULL) {
			char *f;

			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			f = xasprintf("%s/%s", o->tmp, e->d_name);
			unlink(f);
			free(f);
		}
		closedir(d);
	}
	clear_pending(o);
}

void outdir_close(struct outdir *o)
{
	if (!o)
		return;
	outdir_discard(o);
	if (o->tmp)
		rmdir(o->tmp);
	clear_pending(o);
	free(o->tmp);
	free(o->path);
	o->tmp = o->path = NULL;
}
