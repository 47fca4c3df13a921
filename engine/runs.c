/*
 * engine/runs.c
 *   RUNS: the lock on OUT, run directories, OUT/latest, history.ndjson
 *   and --keep.
 */
#include "runs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"

static json_t *noted;   /* one run per process: the last report.json written */

void runs_format_name(char *out, size_t n, time_t t, unsigned id)
{
	struct tm tm;
	char stamp[32];

	gmtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	snprintf(out, n, "%s-%04x", stamp, id & 0xffffu);
}

static bool all_in(const char *s, size_t n, const char *set)
{
	for (size_t i = 0; i < n; i++)
		if (!s[i] || !strchr(set, s[i]))
			return false;
	return true;
}

bool runs_is_name(const char *name)
{
	return strlen(name) == RUNS_NAME_LEN && all_in(name, 8, "0123456789") && name[8] == 'T' &&
	       all_in(name + 9, 6, "0123456789") && name[15] == 'Z' && name[16] == '-' &&
	       all_in(name + 17, 4, "0123456789abcdef");
}

long runs_next_id(const char *stamp, char *const *names, size_t n, unsigned want)
{
	long top = -1;

	for (size_t i = 0; i < n; i++)
		if (runs_is_name(names[i]) && strncmp(names[i], stamp, 16) == 0) {
			long id = strtol(names[i] + 17, NULL, 16);

			if (id > top)
				top = id;
		}
	if (top < 0)
		return (long)(want & 0xffffu);
	return top >= 0xffff ? -1 : top + 1;
}

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

/* The holder's "pid N\nstarted T\n", as "pid N, started T"; owned by the caller. */
static char *holder_text(int fd)
{
	char b[256];
	ssize_t n = pread(fd, b, sizeof(b) - 1, 0);
	long pid = 0;
	char started[64] = "";

	if (n <= 0)
		return xstrdup("its pid is not written yet");
	b[n] = '\0';
	if (sscanf(b, "pid %ld started %63s", &pid, started) < 1 || pid <= 0)
		return xstrdup("its pid is not written yet");
	return started[0] ? xasprintf("pid %ld, started %s", pid, started) : xasprintf("pid %ld", pid);
}

int runs_lock(struct runs *r, const char *base, const char *started, struct tally_err *err)
{
	struct stat st;
	struct buf b = BUF_INIT;
	char *path;
	int fd;

	memset(r, 0, sizeof(*r));
	r->lockfd = -1;
	if (mkdir_p(base, err) < 0)
		return -1;
	if (stat(base, &st) < 0 || !S_ISDIR(st.st_mode))
		return err_set(err, ERR_IO, "output path '%s' is not a directory", base);
	r->base = xstrdup(base);
	path = xasprintf("%s/%s", base, RUNS_LOCK);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		err_set(err, ERR_IO, "cannot open '%s': %s", path, strerror(errno));
		free(path);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		char *who = e == EWOULDBLOCK ? holder_text(fd) : NULL;

		if (who) {
			err_set(err, ERR_LOCKED, "'%s' is in use by another tally run (%s)", base, who);
			err_hint(err, "wait until it ends, or give another --out");
		} else {
			err_set(err, ERR_IO, "cannot lock '%s': %s", path, strerror(e));
		}
		free(who);
		close(fd);
		free(path);
		return -1;
	}
	buf_addf(&b, "pid %ld started %s\n", (long)getpid(), started);
	if (ftruncate(fd, 0) < 0 || pwrite(fd, b.data, b.len, 0) != (ssize_t)b.len) {
		err_set(err, ERR_IO, "cannot write '%s': %s", path, strerror(errno));
		buf_release(&b);
		close(fd);
		free(path);
		return -1;
	}
	buf_release(&b);
	free(path);
	r->lockfd = fd;
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The run directories in base, sorted (so in start order); *n set. */
static char **list_runs(const char *base, size_t *n)
{
	DIR *d = opendir(base);
	struct dirent *e;
	char **v = NULL;

	*n = 0;
	if (!d)
		return NULL;
	while ((e = readdir(d)) != NULL) {
		if (!runs_is_name(e->d_name))
			continue;
		v = xrealloc(v, (*n + 1) * sizeof(*v));
		v[(*n)++] = xstrdup(e->d_name);
	}
	closedir(d);
	if (*n)
		qsort(v, *n, sizeof(*v), name_cmp);
	return v;
}

static void free_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Is base/name unfinished (see runs.h)? */
static bool unfinished(const char *base, const char *name)
{
	char *work = xasprintf("%s/%s/.tally-work/run.json", base, name);
	char *rep = xasprintf("%s/%s/report.json", base, name);
	bool open_ = access(work, F_OK) == 0;

	if (open_) {
		json_t *j = json_load_file(rep, 0, NULL);

		/* No report: killed. A report without "resume": it ended. */
		if (j)
			open_ = json_is_string(json_object_get(j, "resume"));
		json_decref(j);
	}
	free(work);
	free(rep);
	return open_;
}

/*
 * Can --resume take base/name up? Its work directory is there: it is
 * unfinished, or a shard's share (assembled again, the same).
 */
static bool resumable(const char *base, const char *name)
{
	char *work = xasprintf("%s/%s/.tally-work/run.json", base, name);
	bool yes = access(work, F_OK) == 0;

	free(work);
	return yes;
}

/* Points base/latest at name: a symlink under a temporary name, renamed over it. */
static int point_latest(const struct runs *r, struct tally_err *err)
{
	char *tmp = xasprintf("%s/.latest-%ld", r->base, (long)getpid());
	char *dst = xasprintf("%s/%s", r->base, RUNS_LATEST);
	int rc = 0;

	unlink(tmp);
	if (symlink(r->name, tmp) < 0 || rename(tmp, dst) < 0) {
		rc = err_set(err, ERR_IO, "cannot point '%s' at '%s': %s", dst, r->name, strerror(errno));
		unlink(tmp);
	}
	free(tmp);
	free(dst);
	return rc;
}

static int new_run(struct runs *r, struct tally_err *err)
{
	size_t n;
	char **names = list_runs(r->base, &n);
	char name[RUNS_NAME_LEN + 8], stamp[20];
	time_t now = time(NULL);
	unsigned want = 0;
	long id;

	if (getrandom(&want, sizeof(want), 0) != (ssize_t)sizeof(want))
		want = (unsigned)getpid() * 2654435761u;
	runs_format_name(name, sizeof(name), now, 0);
	snprintf(stamp, sizeof(stamp), "%.16s", name);
	id = runs_next_id(stamp, names, n, want);
	free_list(names, n);
	if (id < 0)
		return err_set(err, ERR_IO, "too many runs in one second in '%s'", r->base);
	runs_format_name(name, sizeof(name), now, (unsigned)id);
	r->name = xstrdup(name);
	r->dir = xasprintf("%s/%s", r->base, name);
	if (mkdir(r->dir, 0700) < 0)
		return err_set(err, ERR_IO, "cannot create directory '%s': %s", r->dir, strerror(errno));
	return 0;
}

static int resume_run(struct runs *r, struct tally_err *err)
{
	size_t n;
	char **names = list_runs(r->base, &n);

	for (size_t i = n; i-- > 0;)
		if (resumable(r->base, names[i])) {
			r->name = xstrdup(names[i]);
			r->dir = xasprintf("%s/%s", r->base, names[i]);
			r->resumed = true;
			break;
		}
	free_list(names, n);
	if (r->dir)
		return 0;
	err_set(err, ERR_USAGE, "there is no unfinished run in '%s' to resume", r->base);
	return err_hint(err, "--resume continues a run that was interrupted; start again without it");
}

int runs_begin(struct runs *r, bool resume, struct tally_err *err)
{
	if ((resume ? resume_run(r, err) : new_run(r, err)) < 0)
		return -1;
	return point_latest(r, err);
}

void runs_note_report(const json_t *report)
{
	json_decref(noted);
	noted = json_deep_copy(report);
}

int runs_previous(const struct runs *r, const char *spec, char **name, json_t **checks)
{
	char *path = xasprintf("%s/%s", r->base, RUNS_HISTORY);
	FILE *fp = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	json_t *best = NULL;

	*name = NULL;
	*checks = NULL;
	free(path);
	if (!fp)
		return 0;
	while (getline(&line, &cap, fp) > 0) {
		json_t *j = json_loads(line, 0, NULL);
		const char *run = json_string_value(json_object_get(j, "run"));
		const char *sp = json_string_value(json_object_get(j, "spec"));
		char *diff;
		bool ok;

		if (!run || !sp || strcmp(sp, spec) != 0 || !runs_is_name(run) || strcmp(run, r->name) == 0 ||
		    !json_is_string(json_object_get(j, "diff_file"))) {
			json_decref(j);
			continue;
		}
		diff = xasprintf("%s/%s/%s", r->base, run, json_string_value(json_object_get(j, "diff_file")));
		ok = access(diff, R_OK) == 0;
		free(diff);
		if (ok) {
			json_decref(best);
			best = j;
		} else {
			json_decref(j);
		}
	}
	free(line);
	fclose(fp);
	if (!best)
		return 0;
	*name = xstrdup(json_string_value(json_object_get(best, "run")));
	*checks = json_incref(json_object_get(best, "checks"));
	json_decref(best);
	return 1;
}

/* The history line of the run that wrote report, ended with status. */
static json_t *history_line(const struct runs *r, const json_t *rep, const char *spec_hash, int status)
{
	json_t *checks = json_object(), *c;
	size_t i;

	json_array_foreach(json_object_get(rep, "checks"), i, c) {
		json_t *o = json_object();
		static const char *const keys[] = { "status", "missing", "extra", "changed", "in_flight",
		                                    "skipped_newer", "new", "resolved", "seconds" };

		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
			json_t *v = json_object_get(c, keys[k]);

			if (v)
				json_object_set(o, keys[k], v);
		}
		json_object_set_new(checks, json_string_value(json_object_get(c, "name")), o);
	}
	return json_pack("{s:O?, s:s, s:O?, s:s, s:O?, s:i, s:O?, s:O?, s:O?, s:O?, s:o}",
	                 "time", json_object_get(rep, "finished_at"), "run", r->name,
	                 "spec", json_object_get(rep, "spec"), "spec_hash", spec_hash,
	                 "status", json_object_get(rep, "status"), "exit", status,
	                 "started_at", json_object_get(rep, "started_at"),
	                 "diff_file", json_object_get(rep, "diff_file"),
	                 "previous_run", json_object_get(rep, "previous_run"),
	                 "shard", json_object_get(rep, "shard"), "checks", checks);
}

static int append_history(const struct runs *r, json_t *line, struct tally_err *err)
{
	char *path = xasprintf("%s/%s", r->base, RUNS_HISTORY);
	char *text = json_dumps(line, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(15));
	struct buf b = BUF_INIT;
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600), rc = 0;

	buf_addf(&b, "%s\n", text);
	if (fd < 0) {
		rc = err_set(err, ERR_IO, "cannot open '%s': %s", path, strerror(errno));
	} else {
		/* One write: with O_APPEND, the line lands whole at the end. */
		ssize_t w = write(fd, b.data, b.len);

		if (w != (ssize_t)b.len || fsync(fd) < 0)
			rc = err_set(err, ERR_IO, "cannot write '%s': %s", path,
			             w >= 0 && w != (ssize_t)b.len ? "short write" : strerror(errno));
		if (close(fd) < 0 && rc == 0)
			rc = err_set(err, ERR_IO, "cannot write '%s': %s", path, strerror(errno));
	}
	buf_release(&b);
	free(text);
	free(path);
	return rc;
}

/* Removes path and, for a directory, everything under it (no symlink followed). */
static int remove_tree(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	int rc = 0;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
	d = opendir(path);
	if (!d)
		return -1;
	while ((e = readdir(d)) != NULL) {
		char *p;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		p = xasprintf("%s/%s", path, e->d_name);
		if (remove_tree(p) < 0)
			rc = -1;
		free(p);
	}
	closedir(d);
	return rc < 0 || rmdir(path) < 0 ? -1 : 0;
}

/* --keep: the oldest finished runs go until keep are left; never r's own, nor an unfinished one. */
static void prune(const struct runs *r, unsigned keep)
{
	size_t n, left;
	char **names = list_runs(r->base, &n);

	left = n;
	for (size_t i = 0; i < n && left > keep; i++) {
		char *p;

		if (strcmp(names[i], r->name) == 0 || unfinished(r->base, names[i]))
			continue;
		p = xasprintf("%s/%s", r->base, names[i]);
		if (remove_tree(p) < 0)
			fprintf(stderr, "tally: warning: --keep: cannot remove '%s': %s\n", p, strerror(errno));
		else
			left--;
		free(p);
	}
	free_list(names, n);
}

void runs_finish(struct runs *r, const char *spec_hash, int status, unsigned keep)
{
	struct tally_err err;

	if (!r->dir || r->lockfd < 0)
		return;
	if (noted) {
		json_t *line = history_line(r, noted, spec_hash, status);

		if (append_history(r, line, &err) < 0)
			fprintf(stderr, "tally: warning: %s\n", err.msg);
		json_decref(line);
	}
	if (keep)
		prune(r, keep);
}

void runs_close(struct runs *r)
{
	if (!r)
		return;
	if (r->lockfd >= 0)
		close(r->lockfd);       /* releases the flock */
	free(r->base);
	free(r->dir);
	free(r->name);
	json_decref(noted);
	noted = NULL;
	memset(r, 0, sizeof(*r));
	r->lockfd = -1;
}

char *runs_resolve(const char *dir)
{
	char *latest = xasprintf("%s/%s", dir, RUNS_LATEST);
	char target[4096];
	ssize_t n = readlink(latest, target, sizeof(target) - 1);
	char *out;

	free(latest);
	if (n <= 0)
		return xstrdup(dir);
	target[n] = '\0';
	out = target[0] == '/' ? xstrdup(target) : xasprintf("%s/%s", dir, target);
	return out;
}
