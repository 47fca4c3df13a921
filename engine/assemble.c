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
#include <zstd.h>

#include "assemble_wf.h"
#include "base/buf.h"
#include "diffkeys.h"
#include "changeorder.h"
#include "chunk.h"
#include "html.h"
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
	s->ticket = jstr(sp, "ticket");
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
static int copy_file(struct zfile *out, const char *path, struct tally_err *err)
{
	char chunk[65536];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	int rc = 0;

	if (fd < 0)
		return err_set(err, ERR_IO, "cannot read '%s': %s", path, strerror(errno));
	while (rc == 0 && (n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			rc = err_set(err, ERR_IO, "cannot read '%s': %s", path, strerror(errno));
		else
			rc = zfile_write(out, chunk, (size_t)n, err);
	}
	close(fd);
	return rc;
}

static size_t nchunks_of(json_t *check)
{
	return (size_t)json_integer_value(json_object_get(json_object_get(check, "chunks"), "n"));
}

static bool has_recon(const struct assemble_in *in, size_t check)
{
	return in->recon_dir[check] >= 0;
}

struct span {
	double from, to;
};

static int span_cmp(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	return x->from < y->from ? -1 : x->from > y->from;
}

/*
 * The wall time of a check: how long at least one of its parts was being
 * worked on (the union of their spans). Parallel chunks count once, and
 * the pause between an interrupted run and its --resume, or between
 * shards run one after the other, does not count.
 */
static double wall_seconds(struct span *s, size_t n)
{
	double total = 0, from = 0, to = 0;

	qsort(s, n, sizeof(*s), span_cmp);
	for (size_t i = 0; i < n; i++) {
		if (i == 0 || s[i].from > to) {
			total += to - from;
			from = s[i].from;
			to = s[i].to;
		} else if (s[i].to > to) {
			to = s[i].to;
		}
	}
	return n ? total + to - from : 0;
}

/* Counts mode: chunk j's counts differ; adds it, with its key bounds, to res->chunks_differing. */
static int add_differing(struct check_result *res, json_t *jc, size_t j, const struct part_result *pr,
                         struct tally_err *err)
{
	struct chunkplan cp;
	json_t *b;

	if (chunkplan_from_json(&cp, json_object_get(jc, "chunks"), err) < 0)
		return -1;
	b = chunk_bounds_json(&cp, j);
	chunkplan_release(&cp);
	if (!b)
		return err_set(err, ERR_IO, "check '%s': the bounds of chunk %zu are unreadable", res->check->name, j + 1);
	if (!res->chunks_differing)
		res->chunks_differing = json_array();
	json_array_append_new(res->chunks_differing,
	                      json_pack("{s:I, s:o, s:o, s:I, s:I}", "chunk", (json_int_t)(j + 1),
	                                "after", json_incref(json_object_get(b, "after")),
	                                "through", json_incref(json_object_get(b, "through")),
	                                "source_rows", (json_int_t)pr->rows[0],
	                                "target_rows", (json_int_t)pr->rows[1]));
	json_decref(b);
	return 0;
}

/*
 * The check's recheck part (--recheck, an unsharded run's only): 1 with
 * pr filled when there is one, 0, -1.
 */
static int recheck_part(const struct assemble_in *in, size_t ci, struct part_result *pr, struct tally_err *err)
{
	if (in->shard || in->ndirs != 1)
		return 0;
	return work_read_part(in->dirs[0], ci, WORK_RECHECK, pr, err);
}

/* Sums a check's parts into its result. */
static int sum_parts(const struct assemble_in *in, size_t ci, json_t *jc, struct check_result *res,
                     struct tally_err *err)
{
	size_t n = nchunks_of(jc), nspans = 0;
	struct span *spans = xcalloc(n + 1, sizeof(*spans));
	int rc = 0;

	for (size_t j = 0; j <= n && rc == 0; j++) {
		struct part_result pr;
		size_t id = j < n ? j : WORK_RECONCILE;
		size_t d;
		int got;

		if (id == WORK_RECONCILE && !has_recon(in, ci))
			break;
		if (id != WORK_RECONCILE && in->chunk_dir[ci][j] == (size_t)-1)
			continue;       /* another shard's */
		d = id == WORK_RECONCILE ? (size_t)in->recon_dir[ci] : in->chunk_dir[ci][j];
		got = work_read_part(in->dirs[d], ci, id, &pr, err);
		if (got == 0)
			got = err_set(err, ERR_IO, "check '%s': chunk %zu has no result", res->check->name, j + 1);
		if (got < 0) {
			rc = -1;
			break;
		}
		res->side[0].rows += pr.rows[0];
		res->side[1].rows += pr.rows[1];
		for (int s = 0; s < 2; s++) {
			res->side[s].io.queries += pr.io[s].queries;
			res->side[s].io.bytes += pr.io[s].bytes;
		}
		res->missing += pr.missing;
		res->extra += pr.extra;
		res->changed += pr.changed;
		res->skipped_newer += pr.skipped;
		res->outside += pr.outside;
		res->worker_seconds += pr.seconds;
		res->chunks_equal += pr.push == 1;
		res->chunks_split += pr.push == 2 || pr.push == 3;
		res->chunks_partly += pr.push == 3;
		res->chunks_streamed += pr.push == 0 && id != WORK_RECONCILE;
		res->costs.digest_s += pr.costs.digest_s;
		res->costs.digest_rows += pr.costs.digest_rows;
		res->costs.stream_s += pr.costs.stream_s;
		res->costs.stream_rows += pr.costs.stream_rows;
		res->costs.parts += pr.costs.parts;
		res->costs.parts_differing += pr.costs.parts_differing;
		res->streamed[0] += pr.streamed[0];
		res->streamed[1] += pr.streamed[1];
		spans[nspans].from = pr.started;
		spans[nspans++].to = pr.ended;
		if (id != WORK_RECONCILE) {
			res->chunks_total++;
			if (!chunkhash_equal(&pr.hash[0], &pr.hash[1]))
				res->chunks_mismatched++;
			if (res->counts && pr.rows[0] != pr.rows[1])
				rc = add_differing(res, jc, j, &pr, err);
		}
	}
	res->seconds = wall_seconds(spans, nspans);
	free(spans);
	if (rc == 0) {
		struct part_result pr;
		int got = recheck_part(in, ci, &pr, err);

		if (got < 0)
			return -1;
		if (got == 1) {
			/* Read again: what still differs, the same way, and what was being written. */
			res->missing = pr.missing;
			res->extra = pr.extra;
			res->changed = pr.changed;
			res->in_flight = pr.in_flight;
		}
	}
	return rc;
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
	res->findings = json_incref(json_object_get(jc, "findings"));
	res->left_out = json_incref(json_object_get(jc, "left_out"));
	if (json_is_object(json_object_get(jc, "ignore_newer_than")))
		res->newer = json_incref(json_object_get(jc, "ignore_newer_than"));
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

/* What assembling holds per check, besides the report's results. */
struct asm_state {
	struct spec spec;
	struct run_report rep;
	struct repair_info **info;
	struct repair_result *rres;
	char ***parts;
	size_t *nparts;
	bool *errored;            /* [check]: an error of its own, no verdict */
	bool *rechecked;          /* [check]: its recheck part replaces the others' lines and records */
	size_t nchecks;
	struct wfa wf;            /* the run's workflows */
};

/* Every check's result from its parts, and what its repair needs. */
static int load_results(const struct assemble_in *in, struct asm_state *st, struct tally_err *err)
{
	json_t *checks = json_object_get(in->run, "checks");

	for (size_t i = 0; i < st->nchecks; i++) {
		json_t *jc = json_array_get(checks, i);
		struct check_result *res = &st->rep.checks[i];
		json_t *ri = json_object_get(jc, "repair_info");
		size_t n = nchunks_of(jc);
		int got;

		res->check = &st->spec.checks[i];
		describe_from_run(res, jc);
		res->counts = json_string_value(json_object_get(jc, "mode")) &&
		              strcmp(json_string_value(json_object_get(jc, "mode")), "counts") == 0;
		res->mode = json_string_value(json_object_get(jc, "ran"));
		res->mode_reason = json_string_value(json_object_get(jc, "mode_reason"));
		res->auto_asked = json_string_value(json_object_get(jc, "mode")) &&
		                  strcmp(json_string_value(json_object_get(jc, "mode")), "auto") == 0;
		res->push = res->mode && strcmp(res->mode, "pushdown") == 0;
		/* Auto's choice is known from the parts below; a check without a verdict says stream. */
		res->auto_mode = res->mode && strcmp(res->mode, "auto") == 0;
		if (res->auto_mode)
			res->mode = "stream";
		res->push_hash = json_string_value(json_object_get(jc, "push_hash"));
		got = check_error(in, i, &res->err, err);
		if (got < 0)
			return -1;
		if (got == 1) {
			/* No verdict: no counts, no lines, no repair from its parts. */
			st->errored[i] = true;
			res->status = RESULT_ERROR;
			st->rres[i].none = "the check has no verdict";
			res->repair = &st->rres[i];
			continue;
		}
		if (sum_parts(in, i, jc, res, err) < 0)
			return -1;
		if (res->auto_mode) {
			uint64_t digested = res->chunks_equal + res->chunks_split;

			res->mode = auto_outcome(res->chunks_streamed, digested, res->chunks_partly);
			res->push = strcmp(res->mode, "stream") != 0;
			res->mode_note = auto_reason(&res->costs, res->chunks_streamed, digested, res->chunks_partly);
			res->mode_reason = res->mode_note;
		}
		{
			struct part_result pr;

			got = recheck_part(in, i, &pr, err);
			if (got < 0)
				return -1;
			st->rechecked[i] = got == 1;
		}
		res->status = res->missing + res->extra + res->changed || report_has_findings(res)
		            ? RESULT_INCONSISTENT : RESULT_CONSISTENT;
		if (res->counts) {
			res->status = res->chunks_mismatched || res->side[0].rows != res->side[1].rows || report_has_findings(res)
			              ? RESULT_INCONSISTENT : RESULT_CONSISTENT;
			if (!res->chunks_differing)
				res->chunks_differing = json_array();
		}
		res->chunks_total = in->shard ? res->chunks_total : n;
		if (json_is_object(ri) && !in->shard) {
			st->info[i] = xcalloc(1, sizeof(**st->info));
			if (repair_info_from_json(st->info[i], ri, err) < 0) {
				free(st->info[i]);
				st->info[i] = NULL;
				return -1;
			}
			st->parts[i] = xcalloc(n + 1, sizeof(char *));
			if (st->rechecked[i])
				st->parts[i][st->nparts[i]++] = work_part_path(in->dirs[0], i, WORK_RECHECK, "rep");
			for (size_t j = 0; j < n && !st->rechecked[i]; j++)
				st->parts[i][st->nparts[i]++] = part_path(in, i, j, "rep");
			if (has_recon(in, i) && !st->rechecked[i])
				st->parts[i][st->nparts[i]++] = part_path(in, i, WORK_RECONCILE, "rep");
		} else {
			const char *why = json_string_value(json_object_get(jc, "no_repair"));

			st->rres[i].none = why ? why : "repair: none";
			res->repair = &st->rres[i];
		}
	}
	return 0;
}

/* The differences, in check and chunk order, into a pending diff.ndjson.zst. */
static int write_diff(const struct assemble_in *in, const struct asm_state *st, struct tally_err *err)
{
	json_t *checks = json_object_get(in->run, "checks");
	struct tally_err later;
	struct zfile z;
	int rc = outdir_create(in->out, "diff.ndjson.zst", &z, 0, ZFILE_PLAIN, err);
	bool copied = false;

	for (size_t i = 0; i < st->nchecks && rc == 0; i++) {
		size_t n = nchunks_of(json_array_get(checks, i));

		if (st->errored[i])
			continue;
		copied = true;
		if (st->rechecked[i]) {
			char *p = work_part_path(in->dirs[0], i, WORK_RECHECK, "diff");

			rc = copy_file(&z, p, err);
			free(p);
			continue;
		}
		for (size_t j = 0; j <= n && rc == 0; j++) {
			char *p;

			if (j == n && !has_recon(in, i))
				break;
			p = part_path(in, i, j < n ? j : WORK_RECONCILE, "diff");
			rc = copy_file(&z, p, err);
			free(p);
		}
	}
	if (rc == 0 && !copied) {
		/* Every check in error: an empty file is no zstd stream, an empty frame is. */
		char frame[32];
		size_t len = ZSTD_compress(frame, sizeof(frame), "", 0, 1);

		rc = ZSTD_isError(len) ? err_set(err, ERR_INTERNAL, "cannot make an empty zstd frame")
		                       : zfile_write(&z, frame, len, err);
	}
	if (zfile_close(&z, rc == 0 ? err : &later) < 0)
		rc = -1;
	return rc;
}

static bool any_verdict(const struct asm_state *st)
{
	for (size_t i = 0; i < st->nchecks; i++)
		if (!st->errored[i])
			return true;
	return false;
}

struct delta_ctx {
	struct asm_state *st;
	json_t *prev_checks;
};

static void delta_one(void *ctx, const char *check, uint64_t added, uint64_t removed)
{
	struct delta_ctx *d = ctx;
	const char *was = json_string_value(json_object_get(json_object_get(d->prev_checks, check), "status"));

	/* Only a check that had a verdict then and has one now is compared. */
	if (!was || (strcmp(was, "consistent") != 0 && strcmp(was, "inconsistent") != 0))
		return;
	for (size_t i = 0; i < d->st->nchecks; i++) {
		struct check_result *c = &d->st->rep.checks[i];

		if (d->st->errored[i] || !c->delta || strcmp(c->check->name, check) != 0)
			continue;
		c->new_diffs = added;
		c->resolved = removed;
	}
}

/*
 * New and resolved differences since the previous run, per check: its
 * diff file's keys against the one just written (still pending).
 */
static int count_delta(const struct assemble_in *in, struct asm_state *st, struct tally_err *err)
{
	struct keyset before, now;
	struct delta_ctx d = { st, in->prev_checks };
	char *path = outdir_scratch(in->out, "diff.ndjson.zst");
	int rc;

	keyset_init(&before);
	keyset_init(&now);
	rc = diffkeys_read(&before, in->prev_diff, err);
	if (rc == 0)
		rc = diffkeys_read(&now, path, err);
	if (rc == 0) {
		for (size_t i = 0; i < st->nchecks; i++) {
			const char *name = st->rep.checks[i].check->name;
			const char *was = json_string_value(json_object_get(json_object_get(in->prev_checks, name), "status"));

			/* Checks with no difference in either run appear in neither file. */
			/* --mode counts knows no differing row: nothing to compare by key. */
			st->rep.checks[i].delta = !st->errored[i] && !st->rep.checks[i].counts && was &&
			                          (strcmp(was, "consistent") == 0 || strcmp(was, "inconsistent") == 0);
		}
		diffkeys_compare(&before, &now, delta_one, &d);
		st->rep.previous_run = in->prev_run;
	}
	keyset_release(&before);
	keyset_release(&now);
	free(path);
	return rc;
}

static void asm_release(struct asm_state *st)
{
	for (size_t i = 0; i < st->nchecks; i++) {
		if (st->info[i]) {
			repair_info_release(st->info[i]);
			free(st->info[i]);
		}
		free(st->rres[i].failure);
		for (size_t j = 0; j < st->nparts[i]; j++)
			free(st->parts[i][j]);
		free(st->parts[i]);
	}
	free(st->info);
	free(st->rres);
	free(st->parts);
	free(st->nparts);
	free(st->errored);
	free(st->rechecked);
	wfa_release(&st->wf);
	report_release(&st->rep);
	spec_release(&st->spec);
}

static const char *repair_system(void *ctx, size_t check)
{
	const struct spec_check *c = &((struct asm_state *)ctx)->spec.checks[check];

	return c->repair == REPAIR_SOURCE ? c->source.system : c->target.system;
}

/*
 * The workflows: their keys grouped from the pending diff file, one line
 * per key appended to it (the repair then leaves out keys done out of
 * order, unless their workflow allows them: wfa_withholds_key).
 */
static int workflows(const struct assemble_in *in, struct asm_state *st, struct tally_err *err)
{
	char *path;
	int rc;

	if (json_array_size(json_object_get(in->run, "workflows")) == 0)
		return 0;
	if (wfa_load(&st->wf, in->run, in->dirs[0], st->errored, err) < 0)
		return -1;
	for (size_t i = 0; i < st->nchecks; i++)
		wfa_add_outside(&st->wf, i, st->rep.checks[i].outside);
	path = outdir_scratch(in->out, "diff.ndjson.zst");
	rc = wfa_apply(&st->wf, path, err);
	free(path);
	if (rc < 0)
		return -1;
	st->rep.workflows = wfa_json(&st->wf, repair_system, st);
	return 0;
}

int assemble_outputs(const struct assemble_in *in, int *status, struct tally_err *err)
{
	struct asm_state st;
	size_t n = json_array_size(json_object_get(in->run, "checks")), alloc = n ? n : 1;
	int rc;

	memset(&st, 0, sizeof(st));
	st.nchecks = n;
	st.info = xcalloc(alloc, sizeof(*st.info));
	st.rres = xcalloc(alloc, sizeof(*st.rres));
	st.parts = xcalloc(alloc, sizeof(*st.parts));
	st.nparts = xcalloc(alloc, sizeof(*st.nparts));
	st.errored = xcalloc(alloc, sizeof(*st.errored));
	st.rechecked = xcalloc(alloc, sizeof(*st.rechecked));
	*status = 2;
	if (spec_from_run(&st.spec, in->run, err) < 0) {
		err_print(err, stderr);
		asm_release(&st);
		return -1;
	}
	st.rep.spec = &st.spec;
	snprintf(st.rep.started_at, sizeof(st.rep.started_at), "%s", in->started_at);
	snprintf(st.rep.finished_at, sizeof(st.rep.finished_at), "%s", in->finished_at);
	st.rep.checks = xcalloc(alloc, sizeof(*st.rep.checks));
	st.rep.nchecks = n;
	snprintf(st.rep.spec_hash, sizeof(st.rep.spec_hash), "%s",
	         json_string_value(json_object_get(json_object_get(in->run, "spec"), "hash")) ?
	         json_string_value(json_object_get(json_object_get(in->run, "spec"), "hash")) : "");
	st.rep.shard = in->shard ? json_incref(json_object_get(in->run, "shard")) : NULL;
	st.rep.sessions = in->sessions ? json_incref(in->sessions) : NULL;

	/* Everything is written in the temporary directory first; then published at once, the report last. */
	rc = load_results(in, &st, err);
	/* With no check's verdict, no diff file: nothing may look complete. */
	if (rc == 0 && !in->shard && any_verdict(&st)) {
		rc = write_diff(in, &st, err);
		st.rep.diff_written = rc == 0;
	}
	if (rc == 0 && !in->shard && st.rep.diff_written)
		rc = workflows(in, &st, err);
	if (rc == 0 && !in->shard && in->prev_run) {
		struct tally_err derr;

		/* Without the counts the verdict stands: they stay null. */
		if (count_delta(in, &st, &derr) < 0) {
			for (size_t i = 0; i < n; i++)
				st.rep.checks[i].delta = false;
			st.rep.previous_run = NULL;
			fprintf(stderr, "tally: warning: no new and resolved counts: %s\n", derr.msg);
		}
	}
	if (rc == 0 && !in->shard) {
		struct repair_asm ra = { in->out, &st.spec, n, st.info, st.parts, st.nparts, in->compress,
		                         in->finished_at, st.wf.n ? wfa_withholds_key : NULL, &st.wf };

		rc = repair_assemble(&ra, st.rres, err);
		for (size_t i = 0; i < n; i++)
			if (st.info[i])
				st.rep.checks[i].repair = &st.rres[i];
		if (rc == 0)
			rc = changeorder_write(in->out, &st.rep, st.info, in->compress, in->finished_at,
			                       &st.rep.change_order_written, err);
	}
	st.rep.findings = json_incref(json_object_get(in->run, "findings"));
	st.rep.status = json_array_size(st.rep.findings) ? RESULT_INCONSISTENT : RESULT_CONSISTENT;
	for (size_t i = 0; i < n; i++)
		if (st.rep.checks[i].status == RESULT_INCONSISTENT)
			st.rep.status = RESULT_INCONSISTENT;
	for (size_t i = 0; i < n; i++)
		if (st.errored[i] && st.rep.status != RESULT_ERROR) {
			/* The first check in error is the run's error; the others are in their checks. */
			st.rep.status = RESULT_ERROR;
			st.rep.has_error = true;
			st.rep.err = st.rep.checks[i].err;
			st.rep.error_note = in->redo_note;
		}
	if (rc == 0)
		rc = html_write(in->out, &st.rep, in, err);
	if (rc == 0)
		rc = report_write(in->out, &st.rep, err);
	if (rc == 0)
		rc = outdir_commit(in->out, err);
	if (rc == 0) {
		if (!in->quiet)
			report_print_summary(stdout, &st.rep, in->out);
		for (size_t i = 0; i < n; i++)
			if (st.errored[i])
				err_print(&st.rep.checks[i].err, stderr);
		*status = st.rep.status == RESULT_ERROR ? 2 : st.rep.status == RESULT_INCONSISTENT ? 1 : 0;
	} else {
		/* Writing again can help after trouble with the files, not after a bad run.json. */
		bool io = err->kind == ERR_IO;

		st.rep.error_note = io ? in->resume_note : NULL;
		report_fail(in->out, &st.rep, err, io ? in->resume_hint : NULL, in->quiet);
	}
	asm_release(&st);
	return rc;
}
