/*
 * engine/outdir.c
 *   OUTDIR: temporary files, then rename(2) into place.
 */
#include "outdir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"

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

static bool is_output_name(const char *name)
{
	static const char *const patterns[] = {
		"report.json", "diff.ndjson.zst", "repair.*.sql", "rollback.*.sql",
		"repair.*.sql.zst", "rollback.*.sql.zst",
	};

	for (size_t i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++)
		if (fnmatch(patterns[i], name, 0) == 0)
			return true;
	return false;
}

static int remove_stale(const char *path, struct tally_err *err)
{
	char *report = xasprintf("%s/report.json", path);
	DIR *d;
	struct dirent *e;
	int rc = 0;

	/* The report goes first: without it, no leftover looks complete. */
	if (unlink(report) < 0 && errno != ENOENT)
		rc = err_set(err, ERR_IO, "cannot remove '%s': %s", report, strerror(errno));
	free(report);
	if (rc < 0)
		return -1;
	d = opendir(path);
	if (!d)
		return err_set(err, ERR_IO, "cannot read directory '%s': %s", path, strerror(errno));
	while ((e = readdir(d)) != NULL) {
		char *f;

		if (!is_output_name(e->d_name))
			continue;
		f = xasprintf("%s/%s", path, e->d_name);
		if (unlink(f) < 0 && errno != ENOENT)
			rc = err_set(err, ERR_IO, "cannot remove '%s': %s", f, strerror(errno));
		free(f);
		if (rc < 0)
			break;
	}
	closedir(d);
	return rc;
}

int outdir_open(struct outdir *o, const char *path, struct tally_err *err)
{
	struct stat st;

	o->path = NULL;
	o->tmp = NULL;
	if (mkdir_p(path, err) < 0)
		return -1;
	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
		return err_set(err, ERR_IO, "output path '%s' is not a directory", path);
	if (remove_stale(path, err) < 0)
		return -1;
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

int outdir_create(const struct outdir *o, const char *name, int *fd, struct tally_err *err)
{
	char *f = xasprintf("%s/%s", o->tmp, name);

	*fd = open(f, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (*fd < 0)
		err_set(err, ERR_IO, "cannot create '%s': %s", f, strerror(errno));
	free(f);
	return *fd < 0 ? -1 : 0;
}

char *outdir_file(const struct outdir *o, const char *name)
{
	return xasprintf("%s/%s", o->path, name);
}

int outdir_publish(const struct outdir *o, const char *name, struct tally_err *err)
{
	char *from = xasprintf("%s/%s", o->tmp, name);
	char *to = xasprintf("%s/%s", o->path, name);
	int rc = 0;
	int fd = open(from, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fsync(fd) < 0)
		rc = err_set(err, ERR_IO, "cannot sync '%s': %s", from, strerror(errno));
	if (fd >= 0)
		close(fd);
	if (rc == 0 && rename(from, to) < 0)
		rc = err_set(err, ERR_IO, "cannot rename '%s' to '%s': %s", from, to, strerror(errno));
	if (rc == 0) {
		fd = open(o->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0) {
			fsync(fd);
			close(fd);
		}
	}
	free(from);
	free(to);
	return rc;
}

void outdir_close(struct outdir *o)
{
	DIR *d;
	struct dirent *e;

	if (!o || !o->tmp)
		goto out;
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
	rmdir(o->tmp);
out:
	if (o) {
		free(o->tmp);
		free(o->path);
		o->tmp = o->path = NULL;
	}
}
