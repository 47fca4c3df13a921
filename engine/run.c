/*
 * engine/run.c
 *   RUN: connector -> plan -> stream -> merge -> diffout/report, for every
 *   check of a spec, one after the other.
 *
 * Sessions are opened once per (system, side) and shared by the checks of
 * a run, so the checks reading one system see one snapshot of it.
 */
#include "run.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../connectors/connector.h"
#include "buf.h"
#include "diffout.h"
#include "merge.h"
#include "outdir.h"
#include "plan.h"
#include "repair.h"
#include "report.h"
#include "stream.h"
#include "zfile.h"

struct session {
	const struct spec_system *sys;
	int side;
	struct conn *conn;
};

struct run {
	const struct spec *spec;
	const struct run_opts *opts;
	struct session *sessions;
	size_t nsessions;
	struct outdir out;
	struct zfile diff;
	bool diff_open;
	struct run_report report;
	/* Per selected check, built before any row is read. */
	struct plan *plans;
	bool *planned;
	struct conn **src, **tgt;
	struct repair *repair;
};

/* Every difference goes to the diff file and, when the check repairs, to the repair. */
struct tee {
	struct diffout *diff;
	void *repair;
};

static int tee_diff(void *ctx, enum diff_kind kind, const struct mrow *src, const struct mrow *tgt,
                    const uint8_t *changed, struct tally_err *err)
{
	struct tee *t = ctx;

	if (diffout_row(t->diff, kind, src, tgt, changed, err) < 0)
		return -1;
	if (t->repair && repair_row(t->repair, kind, src, tgt, changed, err) < 0)
		return -1;
	return 0;
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int session_get(struct run *r, const struct spec_system *sys, int side, struct conn **out,
                       struct tally_err *err)
{
	const struct conn_ops *ops;
	struct conn_cfg cfg;
	struct session *s;

	for (size_t i = 0; i < r->nsessions; i++)
		if (r->sessions[i].sys == sys && r->sessions[i].side == side) {
			*out = r->sessions[i].conn;
			return 0;
		}
	ops = conn_driver(sys->driver);
	if (!ops)
		return err_set(err, ERR_SPEC, "system '%s': unknown driver '%s'", sys->name, sys->driver);
	memset(&cfg, 0, sizeof(cfg));
	cfg.system = sys->name;
	cfg.side = side == SIDE_SOURCE ? "source" : "target";
	cfg.dsn = sys->dsn;
	cfg.dsn_shown = sys->dsn_shown;
	cfg.connect_timeout = r->opts->connect_timeout;
	r->sessions = xrealloc(r->sessions, (r->nsessions + 1) * sizeof(*r->sessions));
	s = &r->sessions[r->nsessions];
	s->sys = sys;
	s->side = side;
	s->conn = NULL;
	if (ops->open(&s->conn, &cfg, err) < 0)
		return -1;
	r->nsessions++;
	*out = s->conn;
	return 0;
}

static void sessions_close(struct run *r)
{
	for (size_t i = 0; i < r->nsessions; i++)
		r->sessions[i].conn->ops->close(r->sessions[i].conn);
	free(r->sessions);
	r->sessions = NULL;
	r->nsessions = 0;
}

static void warn_unmatched(const struct plan *p, const char *check)
{
	for (int s = 0; s < 2; s++)
		for (size_t i = 0; i < p->nonly[s]; i++)
			warn_msg("check '%s': column '%s' exists only in %s %s and is not compared", check,
			         p->only[s][i], s == SIDE_SOURCE ? "source" : "target", p->desc[s].display);
}

/* Describes both sides of check i and builds its plan; reads no row. */
static int check_plan(struct run *r, size_t i, struct tally_err *err)
{
	struct check_result *res = &r->report.checks[i];
	const struct spec_check *c = res->check;
	struct plan *plan = &r->plans[i];

	if (session_get(r, c->source.sys, SIDE_SOURCE, &r->src[i], err) < 0 ||
	    session_get(r, c->target.sys, SIDE_TARGET, &r->tgt[i], err) < 0)
		return -1;
	for (int s = 0; s < 2; s++) {
		struct conn *cn = s == SIDE_SOURCE ? r->src[i] : r->tgt[i];

		res->side[s].system = s == SIDE_SOURCE ? c->source.system : c->target.system;
		res->side[s].server = cn->server_version ? xstrdup(cn->server_version) : NULL;
	}
	if (plan_build(plan, r->spec, c, r->src[i], r->tgt[i], err) < 0)
		return -1;
	r->planned[i] = true;
	for (int s = 0; s < 2; s++)
		res->side[s].table = xstrdup(plan->desc[s].display);
	report_describe_plan(res, plan);
	if (!r->opts->quiet)
		warn_unmatched(plan, c->name);
	return 0;
}

/* Streams both sides of check i through the merge into the diff file and the repair. */
static int check_scan(struct run *r, size_t i, struct tally_err *err)
{
	struct check_result *res = &r->report.checks[i];
	const struct spec_check *c = res->check;
	const struct plan *plan = &r->plans[i];
	struct stream ss, ts;
	struct diffout d;
	struct tee tee;
	struct merge_sink sink;
	struct merge_stats st;
	double t0 = now_seconds();
	int rc;

	if (repair_begin(r->repair, plan, &tee.repair, err) < 0)
		return -1;
	if (stream_open(&ss, r->src[i], plan, SIDE_SOURCE, c->source.system, err) < 0)
		return -1;
	if (stream_open(&ts, r->tgt[i], plan, SIDE_TARGET, c->target.system, err) < 0) {
		stream_close(&ss);
		return -1;
	}
	diffout_init(&d, &r->diff, plan, c->name);
	tee.diff = &d;
	sink.ctx = &tee;
	sink.diff = tee_diff;
	merge_stats_init(&st);
	rc = merge_run(&ss.src, &ts.src, plan->ncmp, c->expect, &sink, &st, err);
	stream_close(&ts);
	stream_close(&ss);
	if (rc == 0)
		rc = repair_end(r->repair, err);

	res->side[0].rows = st.side[0].rows;
	res->side[1].rows = st.side[1].rows;
	res->missing = st.missing;
	res->extra = st.extra;
	res->changed = st.changed;
	res->chunks_total = 1;
	res->chunks_mismatched = st.missing + st.extra + st.changed ? 1 : 0;
	res->seconds = now_seconds() - t0;
	if (rc < 0)
		return -1;
	res->status = st.missing + st.extra + st.changed ? RESULT_INCONSISTENT : RESULT_CONSISTENT;
	return 0;
}

static void check_failed(struct run *r, size_t i, struct tally_err *err)
{
	struct check_result *res = &r->report.checks[i];

	/* A spec error leads with FILE:LINE:COL, which already says where. */
	if (err->kind != ERR_SPEC)
		err_context(err, "check '%s'", res->check->name);
	res->status = RESULT_ERROR;
	res->err = *err;
	r->report.has_error = true;
}

static bool selected(const struct run_opts *o, const char *name)
{
	if (o->nonly == 0)
		return true;
	for (size_t i = 0; i < o->nonly; i++)
		if (strcmp(o->only[i], name) == 0)
			return true;
	return false;
}

int run_spec(const struct spec *spec, const struct run_opts *opts)
{
	struct run r;
	struct tally_err err;
	char *default_out = NULL;
	const char *out;
	size_t n;
	int fd, status;

	memset(&r, 0, sizeof(r));
	err_clear(&err);
	r.spec = spec;
	r.opts = opts;
	r.report.spec = spec;
	report_now(r.report.started_at);
	r.report.checks = xcalloc(spec->nchecks, sizeof(struct check_result));
	for (size_t i = 0; i < spec->nchecks; i++)
		if (selected(opts, spec->checks[i].name))
			r.report.checks[r.report.nchecks++].check = &spec->checks[i];

	out = opts->out_dir;
	if (!out)
		out = default_out = xasprintf("tally-out/%s", spec->name);
	if (outdir_open(&r.out, out, &err) < 0) {
		err_print(&err, stderr);
		report_release(&r.report);
		free(default_out);
		return 2;
	}
	if (outdir_create(&r.out, "diff.ndjson.zst", &fd, &err) == 0 && zfile_open(&r.diff, fd, 3, &err) == 0)
		r.diff_open = true;
	else
		r.report.has_error = true;

	n = r.report.nchecks;
	r.plans = xcalloc(n ? n : 1, sizeof(*r.plans));
	r.planned = xcalloc(n ? n : 1, sizeof(*r.planned));
	r.src = xcalloc(n ? n : 1, sizeof(*r.src));
	r.tgt = xcalloc(n ? n : 1, sizeof(*r.tgt));
	r.repair = repair_new(spec, &r.out, opts->compress_repair);

	/* Plan every check before reading a row: a bad check fails the run early. */
	for (size_t i = 0; i < n && !r.report.has_error; i++)
		if (check_plan(&r, i, &err) < 0)
			check_failed(&r, i, &err);
	for (size_t i = 0; i < n && !r.report.has_error; i++)
		repair_note_plan(r.repair, &r.plans[i],
		                 r.plans[i].repair_side == SIDE_SOURCE ? r.report.checks[i].check->source.sys
		                                                       : r.report.checks[i].check->target.sys,
		                 r.plans[i].repair_side == SIDE_SOURCE ? r.src[i]->ops : r.tgt[i]->ops);
	for (size_t i = 0; i < n && !r.report.has_error; i++)
		if (check_scan(&r, i, &err) < 0)
			check_failed(&r, i, &err);
	sessions_close(&r);

	report_now(r.report.finished_at);
	if (!r.report.has_error && repair_finish(r.repair, r.report.finished_at, &err) < 0)
		r.report.has_error = true;
	for (size_t i = 0; i < n; i++)
		if (r.planned[i])
			r.report.checks[i].repair = repair_result_of(r.repair, &r.plans[i]);

	if (r.diff_open) {
		if (!r.report.has_error) {
			if (zfile_close(&r.diff, &err) < 0 || outdir_publish(&r.out, "diff.ndjson.zst", &err) < 0)
				r.report.has_error = true;
			else
				r.report.diff_written = true;
		} else {
			zfile_abort(&r.diff);
		}
	}

	r.report.status = RESULT_CONSISTENT;
	for (size_t i = 0; i < r.report.nchecks; i++)
		if (r.report.checks[i].status == RESULT_INCONSISTENT)
			r.report.status = RESULT_INCONSISTENT;
	if (r.report.has_error) {
		r.report.status = RESULT_ERROR;
		r.report.err = err;
	}
	if (report_write(&r.out, &r.report, &err) < 0) {
		r.report.has_error = true;
		r.report.status = RESULT_ERROR;
	}

	if (!opts->quiet || r.report.status == RESULT_ERROR) {
		if (!opts->quiet)
			report_print_summary(stdout, &r.report, &r.out);
	}
	if (r.report.has_error)
		err_print(&err, stderr);
	status = r.report.status == RESULT_ERROR ? 2 : r.report.status == RESULT_INCONSISTENT ? 1 : 0;
	repair_free(r.repair);
	for (size_t i = 0; i < n; i++)
		if (r.planned[i])
			plan_release(&r.plans[i]);
	free(r.plans);
	free(r.planned);
	free(r.src);
	free(r.tgt);
	outdir_close(&r.out);
	report_release(&r.report);
	free(default_out);
	return status;
}
