/*
 * engine/assemble.c
 *   ASSEMBLE: parts -> diff.ndjson.zst, scripts, report.json.
 */
#include "assemble.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "repair.h"
#include "work.h"

static char *jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? xstrdup(s) : NULL;
}

int spec_from_run(struct spec *s, json_t *run, struct tally_err *err)
{
	json_t *sp = json_object_get(run, "spec"), *systems = json_object_get(run, "systems");
	json_t *checks = json_object_get(run, "checks"), *x;
	size_t i;

	memset(s, 0, sizeof(*s));
	if (!json_is_object(sp) || !json_is_array(systems) || !json_is_array(checks))
		return err_set(err, ERR_IO, "run.json is malformed");
	s->version = 1;
	s->name = jstr(sp, "name");
	s->file = jstr(sp, "file");
	s->reason = jstr(sp, "reason");
	s->nsystems = json_array_size(systems);
	s->systems = xcalloc(s->nsystems ? s->nsystems : 1, sizeof(*s->systems));
	json_array_foreach(systems, i, x) {
		s->systems[i].name = jstr(x, "name");
		s->systems[i].driver = jstr(x, "driver");
		s->systems[i].dsn_shown = jstr(x, "dsn_shown");
		s->systems[i].dsn = jstr(x, "dsn_shown");
	}
	s->nchecks = json_array_size(checks);
	s->checks = xcalloc(s->nchecks ? s->nchecks : 1, sizeof(*s->checks));
	json_array_foreach(checks, i, x) {
		struct spec_check *c = &s->checks[i];
		const char *e = json_string_value(json_object_get(x, "expect"));
		const char *r = json_string_value(json_object_get(x, "repair"));

		c->name = jstr(x, "name");
		c->expect = !e ? EXPECT_EQUAL : strcmp(e, "subset") == 0 ? EXPECT_SUBSET
		          : strcmp(e, "absent") == 0 ? EXPECT_ABSENT : EXPECT_EQUAL;
		c->repair = !r ? REPAIR_TARGET : strcmp(r, "source") == 0 ? REPAIR_SOURCE
		          : strcmp(r, "none") == 0 ? REPAIR_NONE : REPAIR_TARGET;
		c->multiset = json_is_true(json_object_get(x, "multiset"));
		c->source.system = jstr(json_array_get(json_object_get(x, "sides"), 0), "system");
		c->target.system = jstr(json_array_get(json_object_get(x, "sides"), 1), "system");
	}
	for (i = 0; i < s->nsystems; i++)
		if (!s->systems[i].name || !s->systems[i].driver || !s->systems[i].dsn_shown)
			return err_set(err, ERR_IO, "run.json is malformed");
	for (i = 0; i < s->nchecks; i++)
		if (!s->checks[i].name)
			return err_set(err, ERR_IO, "run.json is malformed");
	if (!s->name || !s->file)
		return err_set(err, ERR_IO, "run.json is malformed");
	return 0;
}

static char *part_path(const struct assemble_in *in, size_t check, size_t chunk, const char *kind)
{
	size_t d = chunk == WORK_RECONCILE ? (size_t)in->recon_dir[check] : in->chunk_dir[check][chunk];

	return work_part_path(in->dirs[d], check, chunk, kind);
}

/* Appends a part's compressed lines: zstd frames may simply follow each other. */
static int copy_file(int out, const char *path, struct tally_err *err)
{
	char chunk[65536];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return err_set(err, ERR_IO, "cannot read '%s': %s", path, strerror(errno));
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		if (write(out, chunk, (size_t)n) != n) {
			close(fd);
			return err_set(err, ERR_IO, "cannot write diff.ndjson.zst: %s", strerror(errno));
		}
	close(fd);
	return n < 0 ? err_set(err, ERR_IO, "cannot read '%s': %s", path, strerror(errno)) : 0;
}

static size_t nchunks_of(json_t *check)
{
	return (size_t)json_integer_value(json_object_get(json_object_get(check, "chunks"), "n"));
}

static bool has_recon(const struct assemble_in *in, size_t check)
{
	return in->recon_dir[check] >= 0;
}

/* Sums a check's parts into its result. */
static int sum_parts(const struct assemble_in *in, size_t ci, json_t *jc, struct check_result *res,
                     struct tally_err *err)
{
	size_t n = nchunks_of(jc);

	for (size_t j = 0; j <= n; j++) {
		struct part_result pr;
		size_t id = j < n ? j : WORK_RECONCILE;
		size_t d;
		int rc;

		if (id == WORK_RECONCILE && !has_recon(in, ci))
			break;
		if (id != WORK_RECONCILE && in->chunk_dir[ci][j] == (size_t)-1)
			continue;       /* another shard's */
		d = id == WORK_RECONCILE ? (size_t)in->recon_dir[ci] : in->chunk_dir[ci][j];
		rc = work_read_part(in->dirs[d], ci, id, &pr, err);
		if (rc < 0)
			return -1;
		if (rc == 0)
			return err_set(err, ERR_IO, "check '%s': chunk %zu has no result", res->check->name, j + 1);
		res->side[0].rows += pr.rows[0];
		res->side[1].rows += pr.rows[1];
		res->missing += pr.missing;
		res->extra += pr.extra;
		res->changed += pr.changed;
		res->seconds += pr.seconds;
		if (id != WORK_RECONCILE) {
			res->chunks_total++;
			if (!chunkhash_equal(&pr.hash[0], &pr.hash[1]))
				res->chunks_mismatched++;
		}
	}
	return 0;
}

static void describe_from_run(struct check_result *res, json_t *jc)
{
	json_t *sides = json_object_get(jc, "sides");

	for (int s = 0; s < 2; s++) {
		json_t *side = json_array_get(sides, (size_t)s);

		res->side[s].system = json_string_value(json_object_get(side, "system"));
		res->side[s].table = jstr(side, "table");
		res->side[s].server = jstr(side, "server");
		res->side[s].position = jstr(side, "position");
	}
	res->key = json_incref(json_object_get(jc, "key"));
	res->columns = json_incref(json_object_get(jc, "columns"));
	res->unmatched = json_incref(json_object_get(jc, "unmatched"));
}

/* The check's own error, from whichever directory holds one: 1 with e filled, 0, -1. */
static int check_error(const struct assemble_in *in, size_t ci, struct tally_err *e, struct tally_err *err)
{
	for (size_t d = 0; d < in->ndirs; d++) {
		int rc = work_read_error(in->dirs[d], ci, e, err);

		if (rc != 0)
			return rc;
	}
	return 0;
}

int assemble_outputs(const struct assemble_in *in, int *status, struct tally_err *err)
{
	json_t *checks = json_object_get(in->run, "checks");
	size_t nchecks = json_array_size(checks);
	struct spec spec;
	struct run_report rep;
	struct repair_info **info = xcalloc(nchecks ? nchecks : 1, sizeof(*info));
	struct repair_result *rres = xcalloc(nchecks ? nchecks : 1, sizeof(*rres));
	char ***parts = xcalloc(nchecks ? nchecks : 1, sizeof(*parts));
	size_t *nparts = xcalloc(nchecks ? nchecks : 1, sizeof(*nparts));
	bool *errored = xcalloc(nchecks ? nchecks : 1, sizeof(*errored));
	int rc = 0, fd = -1;

	memset(&rep, 0, sizeof(rep));
	*status = 2;
	if (spec_from_run(&spec, in->run, err) < 0) {
		spec_release(&spec);
		free(info);
		free(rres);
		free(parts);
		free(nparts);
		free(errored);
		return -1;
	}
	rep.spec = &spec;
	rep.sessions = in->sessions ? json_incref(in->sessions) : NULL;
	snprintf(rep.started_at, sizeof(rep.started_at), "%s", in->started_at);
	snprintf(rep.finished_at, sizeof(rep.finished_at), "%s", in->finished_at);
	rep.checks = xcalloc(nchecks ? nchecks : 1, sizeof(*rep.checks));
	rep.nchecks = nchecks;
	rep.shard = in->shard ? json_incref(json_object_get(in->run, "shard")) : NULL;

	for (size_t i = 0; i < nchecks && rc == 0; i++) {
		json_t *jc = json_array_get(checks, i);
		struct check_result *res = &rep.checks[i];
		json_t *ri = json_object_get(jc, "repair_info");
		size_t n = nchunks_of(jc);

		res->check = &spec.checks[i];
		describe_from_run(res, jc);
		rc = check_error(in, i, &res->err, err);
		if (rc < 0)
			break;
		if (rc == 1) {
			/* No verdict: no counts, no lines, no repair from its parts. */
			errored[i] = true;
			res->status = RESULT_ERROR;
			rres[i].none = "the check has no verdict";
			res->repair = &rres[i];
			rc = 0;
			continue;
		}
		rc = sum_parts(in, i, jc, res, err);
		if (rc < 0)
			break;
		res->status = res->missing + res->extra + res->changed ? RESULT_INCONSISTENT : RESULT_CONSISTENT;
		res->chunks_total = in->shard ? res->chunks_total : n;
		if (json_is_object(ri) && !in->shard) {
			info[i] = xcalloc(1, sizeof(**info));
			rc = repair_info_from_json(info[i], ri, err);
			if (rc < 0) {
				free(info[i]);
				info[i] = NULL;
				break;
			}
			parts[i] = xcalloc(n + 1, sizeof(char *));
			for (size_t j = 0; j < n; j++)
				parts[i][nparts[i]++] = part_path(in, i, j, "rep");
			if (has_recon(in, i))
				parts[i][nparts[i]++] = part_path(in, i, WORK_RECONCILE, "rep");
		} else {
			const char *why = json_string_value(json_object_get(jc, "no_repair"));

			rres[i].none = why ? why : "repair: none";
			res->repair = &rres[i];
		}
	}

	/* The differences, in check and chunk order. */
	if (rc == 0 && !in->shard) {
		rc = outdir_create(in->out, "diff.ndjson.zst", &fd, err);
		for (size_t i = 0; i < nchecks && rc == 0; i++) {
			size_t n = errored[i] ? 0 : nchunks_of(json_array_get(checks, i));

			for (size_t j = 0; j <= n && rc == 0 && !errored[i]; j++) {
				char *p;

				if (j == n && !has_recon(in, i))
					break;
				p = part_path(in, i, j < n ? j : WORK_RECONCILE, "diff");
				rc = copy_file(fd, p, err);
				free(p);
			}
		}
		if (fd >= 0 && close(fd) < 0 && rc == 0)
			rc = err_set(err, ERR_IO, "cannot write diff.ndjson.zst: %s", strerror(errno));
		if (rc == 0)
			rc = outdir_publish(in->out, "diff.ndjson.zst", err);
		rep.diff_written = rc == 0;
	}
	if (rc == 0 && !in->shard) {
		struct repair_asm ra = { in->out, &spec, nchecks, info, parts, nparts, in->compress, in->finished_at };

		rc = repair_assemble(&ra, rres, err);
		for (size_t i = 0; i < nchecks; i++)
			if (info[i])
				rep.checks[i].repair = &rres[i];
	}

	rep.status = RESULT_CONSISTENT;
	for (size_t i = 0; i < nchecks; i++)
		if (rep.checks[i].status == RESULT_INCONSISTENT && rep.status != RESULT_ERROR)
			rep.status = RESULT_INCONSISTENT;
	for (size_t i = 0; i < nchecks && rc == 0; i++)
		if (errored[i] && rep.status != RESULT_ERROR) {
			/* The first check in error is the run's error; the others are in their checks. */
			rep.status = RESULT_ERROR;
			rep.has_error = true;
			rep.err = rep.checks[i].err;
		}
	if (rc < 0) {
		rep.has_error = true;
		rep.err = *err;
		rep.status = RESULT_ERROR;
		rep.diff_written = false;
	}
	if (report_write(in->out, &rep, err) < 0)
		rc = -1;
	else if (!in->quiet)
		report_print_summary(stdout, &rep, in->out);
	for (size_t i = 0; i < nchecks && rc == 0; i++)
		if (errored[i])
			err_print(&rep.checks[i].err, stderr);
	*status = rc < 0 || rep.status == RESULT_ERROR ? 2 : rep.status == RESULT_INCONSISTENT ? 1 : 0;

	for (size_t i = 0; i < nchecks; i++) {
		if (info[i]) {
			repair_info_release(info[i]);
			free(info[i]);
		}
		free(rres[i].failure);
		for (size_t j = 0; j < nparts[i]; j++)
			free(parts[i][j]);
		free(parts[i]);
	}
	free(info);
	free(rres);
	free(parts);
	free(nparts);
	free(errored);
	report_release(&rep);
	spec_release(&spec);
	return rc;
}
