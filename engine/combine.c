/*
 * engine/combine.c
 *   shard outputs -> COMBINE -> assemble: `tally merge`. Reads each
 *   shard's run.json and finds, for every chunk, the one shard whose work
 *   directory holds its part; assemble then reads the parts where they are.
 */
#include "combine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "assemble.h"
#include "base/buf.h"
#include "base/err.h"
#include "outdir.h"
#include "report.h"
#include "runs.h"
#include "work.h"

/* Is check i in error in one of the shards? 1, 0, or -1 with err set. */
static int shard_error(char **dirs, size_t ndirs, size_t i, struct tally_err *err)
{
	for (size_t d = 0; d < ndirs; d++) {
		struct tally_err e;
		int rc = work_read_error(dirs[d], i, &e, err);

		if (rc != 0)
			return rc;
	}
	return 0;
}

/* What combining the shards of one run needs, and owns. */
struct combine {
	char **dirs;                /* borrowed: the shard directories */
	size_t ndirs;
	json_t **runs;              /* each shard's run.json */
	json_t *first;              /* runs[0] */
	size_t count;               /* shards in the run */
	bool *seen;                 /* [shard index] */
	char started[32];           /* the earliest start */
	size_t nchecks;
	size_t **chunk_dir;         /* [check][chunk]: the shard that did it */
	long *recon;                /* [check]: the shard that reconciled it, or -1 */
};

static const char *jstr_or(json_t *o, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : dflt;
}

/* Reads every shard's run.json: shards of one run, each once, none missing. */
static int read_shards(struct combine *cb, struct tally_err *err)
{
	char **dirs = cb->dirs;

	for (size_t d = 0; d < cb->ndirs; d++) {
		json_t *shard;
		size_t k;

		cb->runs[d] = work_read_run(dirs[d], err);
		if (!cb->runs[d])
			return -1;
		shard = json_object_get(cb->runs[d], "shard");
		if (!json_is_object(shard))
			return err_set(err, ERR_USAGE, "'%s' is not a shard run (it was not started with --shard)",
			               dirs[d]);
		k = (size_t)json_integer_value(json_object_get(shard, "index"));
		if (d == 0) {
			cb->first = cb->runs[0];
			cb->count = (size_t)json_integer_value(json_object_get(shard, "count"));
			cb->seen = xcalloc(cb->count ? cb->count : 1, sizeof(bool));
		} else if (!json_equal(json_object_get(cb->runs[d], "spec"), json_object_get(cb->first, "spec")) ||
		           (size_t)json_integer_value(json_object_get(shard, "count")) != cb->count) {
			return err_set(err, ERR_USAGE, "'%s' and '%s' are shards of different runs", dirs[0], dirs[d]);
		}
		if (k >= cb->count || cb->seen[k])
			return err_set(err, ERR_USAGE, "shard %zu of %zu appears twice ('%s')", k, cb->count, dirs[d]);
		cb->seen[k] = true;
		if (!cb->started[0] || strcmp(jstr_or(cb->runs[d], "started_at", ""), cb->started) < 0)
			snprintf(cb->started, sizeof(cb->started), "%s", jstr_or(cb->runs[d], "started_at", ""));
	}
	for (size_t k = 0; k < cb->count; k++)
		if (!cb->seen[k])
			return err_set(err, ERR_USAGE, "shard %zu of %zu is missing", k, cb->count);
	return 0;
}

/* The shard that did each chunk of check i (n chunks): exactly one. */
static int locate_chunks(struct combine *cb, size_t i, json_t *jc, size_t n, struct tally_err *err)
{
	for (size_t j = 0; j < n; j++) {
		long where = -1;

		for (size_t d = 0; d < cb->ndirs; d++) {
			struct part_result pr;
			int rc = work_read_part(cb->dirs[d], i, j, &pr, err);

			if (rc < 0)
				return -1;
			if (rc == 1 && where >= 0)
				return err_set(err, ERR_USAGE, "check '%s': chunk %zu is in two shards",
				               json_string_value(json_object_get(jc, "name")), j + 1);
			if (rc == 1)
				where = (long)d;
		}
		if (where < 0) {
			err_set(err, ERR_USAGE, "check '%s': chunk %zu is in no shard: a shard run did not finish",
			        json_string_value(json_object_get(jc, "name")), j + 1);
			return err_hint(err, "finish it with tally check ... --shard K/N --resume, then merge again");
		}
		cb->chunk_dir[i][j] = (size_t)where;
	}
	return 0;
}

/* Check i: the same chunks planned by every shard, and where each chunk and the reconciliation are. */
static int locate_check(struct combine *cb, size_t i, struct tally_err *err)
{
	json_t *jc = json_array_get(json_object_get(cb->first, "checks"), i);
	json_t *chunks = json_object_get(jc, "chunks");
	const char *fp = json_string_value(json_object_get(chunks, "fingerprint"));
	size_t n = (size_t)json_integer_value(json_object_get(chunks, "n"));

	cb->chunk_dir[i] = xcalloc(n ? n : 1, sizeof(size_t));
	cb->recon[i] = -1;
	/*
	 * A check in error in some shard has no verdict: its chunks are not
	 * needed (nor planned, when it failed while being planned).
	 */
	switch (shard_error(cb->dirs, cb->ndirs, i, err)) {
	case -1:
		return -1;
	case 1:
		return 0;
	default:
		break;
	}
	for (size_t d = 1; d < cb->ndirs; d++) {
		json_t *oc = json_array_get(json_object_get(cb->runs[d], "checks"), i);
		const char *ofp = json_string_value(json_object_get(json_object_get(oc, "chunks"), "fingerprint"));

		if (!fp || !ofp || strcmp(fp, ofp) != 0) {
			err_set(err, ERR_USAGE, "check '%s': the shards planned different chunks",
			        json_string_value(json_object_get(jc, "name")));
			return err_hint(err, "the source changed between the shards' starts; run the shards again");
		}
	}
	if (locate_chunks(cb, i, jc, n, err) < 0)
		return -1;
	if (json_is_true(json_object_get(chunks, "reconcile"))) {
		for (size_t d = 0; d < cb->ndirs; d++) {
			struct part_result pr;

			if (work_read_part(cb->dirs[d], i, WORK_RECONCILE, &pr, err) == 1)
				cb->recon[i] = (long)d;
		}
		if (cb->recon[i] < 0)
			return err_set(err, ERR_USAGE, "check '%s' was not reconciled: shard 0 did not finish",
			               json_string_value(json_object_get(jc, "name")));
	}
	return 0;
}

/*
 * ignore_newer_than: each shard fixed its cutoff at its own start; the
 * merged report names the earliest (as its start is the earliest).
 */
static void earliest_cutoffs(struct combine *cb)
{
	json_t *checks = json_object_get(cb->first, "checks");

	for (size_t i = 0; i < json_array_size(checks); i++) {
		json_t *best = json_object_get(json_array_get(checks, i), "ignore_newer_than");

		for (size_t d = 1; d < cb->ndirs && json_is_object(best); d++) {
			json_t *o = json_object_get(json_array_get(json_object_get(cb->runs[d], "checks"), i),
			                            "ignore_newer_than");

			if (json_is_object(o) && strcmp(jstr_or(o, "cutoff", ""), jstr_or(best, "cutoff", "")) < 0)
				best = o;
		}
		if (json_is_object(best))
			json_object_set(json_array_get(checks, i), "ignore_newer_than", best);
	}
}

static void combine_release(struct combine *cb)
{
	for (size_t i = 0; i < cb->nchecks; i++)
		free(cb->chunk_dir ? cb->chunk_dir[i] : NULL);
	free(cb->chunk_dir);
	free(cb->recon);
	free(cb->seen);
	for (size_t d = 0; d < cb->ndirs; d++)
		json_decref(cb->runs[d]);
	free(cb->runs);
}

int combine_shards(const char *out_dir, char **dirs, size_t ndirs, bool compress, bool quiet)
{
	struct tally_err err;
	struct combine cb;
	struct outdir out;
	struct assemble_in in;
	struct runs runs;
	char finished[32], started[32], *prev_run = NULL, *prev_diff = NULL;
	char **real = xcalloc(ndirs ? ndirs : 1, sizeof(*real));
	json_t *prev_checks = NULL;
	int status = 2;

	memset(&cb, 0, sizeof(cb));
	memset(&out, 0, sizeof(out));
	memset(&runs, 0, sizeof(runs));
	runs.lockfd = -1;
	/* Each shard's OUT stands for its latest run. */
	for (size_t d = 0; d < ndirs; d++)
		real[d] = runs_resolve(dirs[d]);
	cb.dirs = real;
	cb.ndirs = ndirs;
	cb.runs = xcalloc(ndirs, sizeof(*cb.runs));
	if (read_shards(&cb, &err) < 0)
		goto fail;
	cb.nchecks = json_array_size(json_object_get(cb.first, "checks"));
	cb.chunk_dir = xcalloc(cb.nchecks ? cb.nchecks : 1, sizeof(*cb.chunk_dir));
	cb.recon = xcalloc(cb.nchecks ? cb.nchecks : 1, sizeof(*cb.recon));
	for (size_t i = 0; i < cb.nchecks; i++)
		if (locate_check(&cb, i, &err) < 0)
			goto fail;
	earliest_cutoffs(&cb);
	report_now(started);
	if (runs_lock(&runs, out_dir, started, &err) < 0 || runs_begin(&runs, false, &err) < 0 ||
	    outdir_open(&out, runs.dir, &err) < 0)
		goto fail;
	if (runs_previous(&runs, jstr_or(json_object_get(cb.first, "spec"), "name", ""), &prev_run, &prev_checks) == 1)
		prev_diff = xasprintf("%s/%s/diff.ndjson.zst", runs.base, prev_run);
	memset(&in, 0, sizeof(in));
	in.run = cb.first;
	in.dirs = (const char *const *)real;
	in.ndirs = ndirs;
	in.chunk_dir = cb.chunk_dir;
	in.recon_dir = cb.recon;
	in.out = &out;
	in.compress = compress;
	in.started_at = cb.started;
	report_now(finished);
	in.finished_at = finished;
	in.quiet = quiet;
	in.prev_run = prev_run;
	in.prev_diff = prev_diff;
	in.prev_checks = prev_checks;
	if (assemble_outputs(&in, &status, &err) < 0)
		status = 2;     /* the errors are printed */
	runs_finish(&runs, jstr_or(json_object_get(cb.first, "spec"), "hash", ""), status, 0);
	goto done;
fail:
	err_print(&err, stderr);
	status = 2;
done:
	outdir_close(&out);
	runs_close(&runs);
	combine_release(&cb);
	for (size_t d = 0; d < ndirs; d++)
		free(real[d]);
	free(real);
	free(prev_run);
	free(prev_diff);
	json_decref(prev_checks);
	return status;
}
