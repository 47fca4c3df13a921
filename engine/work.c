/*
 * engine/work.c
 *   WORK: paths, atomic small files, run.json, part results, and the JSON
 *   form of table descriptions.
 */
#include "work.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/zfile.h"

static char *work_dir(const char *out)
{
	return xasprintf("%s/%s", out, WORK_DIRNAME);
}

bool work_exists(const char *out)
{
	char *d = work_dir(out);
	struct stat st;
	bool yes = stat(d, &st) == 0 && S_ISDIR(st.st_mode);

	free(d);
	return yes;
}

int work_create(const char *out, size_t nchecks, struct tally_err *err)
{
	char *d = work_dir(out);
	int rc = 0;

	if (mkdir(d, 0700) < 0 && errno != EEXIST)
		rc = err_set(err, ERR_IO, "cannot create '%s': %s", d, strerror(errno));
	for (size_t i = 0; i < nchecks && rc == 0; i++) {
		char *c = xasprintf("%s/c%zu", d, i);

		if (mkdir(c, 0700) < 0 && errno != EEXIST)
			rc = err_set(err, ERR_IO, "cannot create '%s': %s", c, strerror(errno));
		free(c);
	}
	free(d);
	return rc;
}

static void remove_tree(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;

	if (!d) {
		unlink(path);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		char *p;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		p = xasprintf("%s/%s", path, e->d_name);
		remove_tree(p);
		free(p);
	}
	closedir(d);
	rmdir(path);
}

void work_remove(const char *out)
{
	char *d = work_dir(out);

	remove_tree(d);
	free(d);
}

int work_clear_check(const char *out, size_t check, struct tally_err *err)
{
	char *c = xasprintf("%s/%s/c%zu", out, WORK_DIRNAME, check);
	int rc = 0;

	remove_tree(c);
	if (mkdir(c, 0700) < 0)
		rc = err_set(err, ERR_IO, "cannot create '%s': %s", c, strerror(errno));
	free(c);
	return rc;
}

static char *part_name(size_t part)
{
	return part == WORK_RECONCILE ? xstrdup("r") : part == WORK_RECHECK ? xstrdup("k") : xasprintf("%zu", part);
}

char *work_part_path(const char *out, size_t check, size_t part, const char *kind)
{
	char *name = part_name(part);
	char *p = xasprintf("%s/%s/c%zu/%s.%s", out, WORK_DIRNAME, check, name, kind);

	free(name);
	return p;
}

char *work_part_tmp(const char *out, size_t check, size_t part, const char *kind)
{
	char *name = part_name(part);
	char *p = xasprintf("%s/%s/c%zu/%s.%s.tmp", out, WORK_DIRNAME, check, name, kind);

	free(name);
	return p;
}

/* Writes text to path through path.tmp (synced) and rename(2). */
static int write_atomic(const char *path, const char *text, struct tally_err *err)
{
	char *tmp = xasprintf("%s.tmp", path);
	struct zfile z;
	int rc = zfile_create(&z, tmp, 0, ZFILE_PLAIN, err);

	if (rc == 0)
		rc = zfile_write(&z, text, strlen(text), err);
	if (zfile_close(&z, err) < 0)
		rc = -1;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = err_set(err, ERR_IO, "cannot rename '%s': %s", tmp, strerror(errno));
	if (rc < 0)
		unlink(tmp);
	free(tmp);
	return rc;
}

static json_t *hash_json(const struct chunkhash *h)
{
	struct buf hex = BUF_INIT;
	json_t *j;

	buf_addhex(&hex, h->sum, sizeof(h->sum));
	j = json_pack("{s:I, s:s}", "rows", (json_int_t)h->rows, "sum", hex.data);
	buf_release(&hex);
	return j;
}

static int hash_from_json(struct chunkhash *h, json_t *j)
{
	const char *s = json_string_value(json_object_get(j, "sum"));

	chunkhash_init(h);
	if (!s || strlen(s) != 32)
		return -1;
	h->rows = (uint64_t)json_integer_value(json_object_get(j, "rows"));
	for (int i = 0; i < 16; i++) {
		char pair[3] = { s[2 * i], s[2 * i + 1], 0 };
		char *end;
		unsigned long v = strtoul(pair, &end, 16);

		if (*end)
			return -1;
		h->sum[i] = (uint8_t)v;
	}
	return 0;
}

int work_commit_part(const char *out, size_t check, size_t part, const struct part_result *r,
                     struct tally_err *err)
{
	char *path = work_part_path(out, check, part, "done");
	json_t *j = json_pack("{s:[I, I], s:[o, o], s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:f, s:I, s:[I, I], s:[I, I]}",
	                      "rows", (json_int_t)r->rows[0], (json_int_t)r->rows[1],
	                      "hash", hash_json(&r->hash[0]), hash_json(&r->hash[1]),
	                      "missing", (json_int_t)r->missing, "extra", (json_int_t)r->extra,
	                      "changed", (json_int_t)r->changed, "in_flight", (json_int_t)r->in_flight,
	                      "skipped_newer", (json_int_t)r->skipped, "seconds", r->seconds, "started", r->started, "ended", r->ended,
	                      "attempts", (json_int_t)r->attempts,
	                      "queries", (json_int_t)r->io[0].queries, (json_int_t)r->io[1].queries,
	                      "bytes", (json_int_t)r->io[0].bytes, (json_int_t)r->io[1].bytes);
	char *text;
	int rc;

	if (r->push || r->costs.digest_rows || r->costs.stream_rows)
		json_object_set_new(j, "push", json_pack("{s:i, s:[I, I], s:[f, I, f, I, I, I]}", "kind", r->push,
		                                         "streamed", (json_int_t)r->streamed[0],
		                                         (json_int_t)r->streamed[1], "costs", r->costs.digest_s,
		                                         (json_int_t)r->costs.digest_rows, r->costs.stream_s,
		                                         (json_int_t)r->costs.stream_rows, (json_int_t)r->costs.parts,
		                                         (json_int_t)r->costs.parts_differing));
	if (r->outside)
		json_object_set_new(j, "outside", json_integer((json_int_t)r->outside));
	text = json_dumps(j, JSON_COMPACT);
	rc = text ? write_atomic(path, text, err) : err_set(err, ERR_INTERNAL, "cannot render '%s'", path);
	free(text);
	json_decref(j);
	free(path);
	return rc;
}

/* A part's measured costs; a part written before they were kept reads as none. */
static void costs_from_json(struct push_costs *c, const json_t *a)
{
	c->digest_s = json_number_value(json_array_get(a, 0));
	c->digest_rows = (uint64_t)json_integer_value(json_array_get(a, 1));
	c->stream_s = json_number_value(json_array_get(a, 2));
	c->stream_rows = (uint64_t)json_integer_value(json_array_get(a, 3));
	c->parts = (uint64_t)json_integer_value(json_array_get(a, 4));
	c->parts_differing = (uint64_t)json_integer_value(json_array_get(a, 5));
}

int work_read_part(const char *out, size_t check, size_t part, struct part_result *r,
                   struct tally_err *err)
{
	char *path = work_part_path(out, check, part, "done");
	json_error_t je;
	json_t *j, *rows, *hash;
	int rc = 1;

	memset(r, 0, sizeof(*r));
	if (access(path, F_OK) < 0) {
		free(path);
		return 0;
	}
	j = json_load_file(path, 0, &je);
	rows = json_object_get(j, "rows");
	hash = json_object_get(j, "hash");
	if (!j || json_array_size(rows) != 2 || json_array_size(hash) != 2 ||
	    hash_from_json(&r->hash[0], json_array_get(hash, 0)) < 0 ||
	    hash_from_json(&r->hash[1], json_array_get(hash, 1)) < 0) {
		rc = err_set(err, ERR_IO, "part result '%s' is unreadable", path);
	} else {
		r->rows[0] = (uint64_t)json_integer_value(json_array_get(rows, 0));
		r->rows[1] = (uint64_t)json_integer_value(json_array_get(rows, 1));
		r->missing = (uint64_t)json_integer_value(json_object_get(j, "missing"));
		r->extra = (uint64_t)json_integer_value(json_object_get(j, "extra"));
		r->changed = (uint64_t)json_integer_value(json_object_get(j, "changed"));
		r->in_flight = (uint64_t)json_integer_value(json_object_get(j, "in_flight"));
		r->skipped = (uint64_t)json_integer_value(json_object_get(j, "skipped_newer"));
		r->outside = (uint64_t)json_integer_value(json_object_get(j, "outside"));
		r->seconds = json_number_value(json_object_get(j, "seconds"));
		r->started = json_number_value(json_object_get(j, "started"));
		r->ended = json_number_value(json_object_get(j, "ended"));
		r->attempts = (uint32_t)json_integer_value(json_object_get(j, "attempts"));
		if (json_is_object(json_object_get(j, "push"))) {
			json_t *pj = json_object_get(j, "push");

			r->push = (int)json_integer_value(json_object_get(pj, "kind"));
			r->streamed[0] = (uint64_t)json_integer_value(json_array_get(json_object_get(pj, "streamed"), 0));
			r->streamed[1] = (uint64_t)json_integer_value(json_array_get(json_object_get(pj, "streamed"), 1));
			costs_from_json(&r->costs, json_object_get(pj, "costs"));
		}
		/* Parts written before queries and bytes were counted read as 0. */
		for (size_t s = 0; s < 2; s++) {
			r->io[s].queries = (uint64_t)json_integer_value(json_array_get(json_object_get(j, "queries"), s));
			r->io[s].bytes = (uint64_t)json_integer_value(json_array_get(json_object_get(j, "bytes"), s));
		}
	}
	json_decref(j);
	free(path);
	return rc;
}

/* Writes j as the work directory's file name, atomically. */
static int write_json(const char *out, const char *name, json_t *j, size_t flags, struct tally_err *err)
{
	char *path = xasprintf("%s/%s/%s", out, WORK_DIRNAME, name);
	char *text = json_dumps(j, flags);
	int rc = text ? write_atomic(path, text, err) : err_set(err, ERR_INTERNAL, "cannot render %s", name);

	free(text);
	free(path);
	return rc;
}

int work_write_run(const char *out, json_t *run, struct tally_err *err)
{
	return write_json(out, "run.json", run, JSON_INDENT(1) | JSON_PRESERVE_ORDER, err);
}

json_t *work_read_run(const char *dir, struct tally_err *err)
{
	char *path = xasprintf("%s/%s/run.json", dir, WORK_DIRNAME);
	json_error_t je;
	json_t *j = json_load_file(path, 0, &je);

	if (!j)
		err_set(err, ERR_IO, "'%s' holds no unfinished or shard run (%s)", dir,
		        access(path, F_OK) < 0 ? "no run.json" : je.text);
	free(path);
	return j;
}

int work_write_workflows(const char *out, json_t *keys, struct tally_err *err)
{
	return write_json(out, "workflows.json", keys, JSON_COMPACT, err);
}

json_t *work_read_workflows(const char *dir, struct tally_err *err)
{
	char *path = xasprintf("%s/%s/workflows.json", dir, WORK_DIRNAME);
	json_error_t je;
	json_t *j = NULL;

	if (access(path, F_OK) == 0 && !(j = json_load_file(path, 0, &je)))
		err_set(err, ERR_IO, "'%s' is unreadable: %s", path, je.text);
	else if (!j)
		err_clear(err);
	free(path);
	return j;
}

int work_write_error(const char *out, size_t check, const struct tally_err *e, struct tally_err *err)
{
	char *path = xasprintf("%s/%s/c%zu/error.json", out, WORK_DIRNAME, check);
	json_t *j = json_pack("{s:s, s:s, s:s}", "message", e->msg, "detail", e->detail, "hint", e->hint);
	char *text = json_dumps(j, JSON_COMPACT);
	int rc = text ? write_atomic(path, text, err) : err_set(err, ERR_INTERNAL, "cannot render error.json");

	free(text);
	json_decref(j);
	free(path);
	return rc;
}

int work_read_error(const char *dir, size_t check, struct tally_err *out, struct tally_err *err)
{
	char *path = xasprintf("%s/%s/c%zu/error.json", dir, WORK_DIRNAME, check);
	json_error_t je;
	json_t *j;
	const char *m;
	int rc = 1;

	if (access(path, F_OK) < 0) {
		free(path);
		return 0;
	}
	j = json_load_file(path, 0, &je);
	m = json_string_value(json_object_get(j, "message"));
	if (!m) {
		rc = err_set(err, ERR_IO, "check error '%s' is unreadable", path);
	} else {
		const char *d = json_string_value(json_object_get(j, "detail"));
		const char *h = json_string_value(json_object_get(j, "hint"));

		err_set(out, ERR_DATA, "%s", m);
		err_detail(out, "%s", d ? d : "");
		err_hint(out, "%s", h ? h : "");
	}
	json_decref(j);
	free(path);
	return rc;
}
