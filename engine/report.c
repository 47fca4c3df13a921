/*
 * engine/report.c
 *   merge -> REPORT: report.json through jansson, and the stdout summary.
 */
#include "report.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "canon.h"
#include "html.h"
#include "metrics.h"
#include "runs.h"
#include "tally_config.h"

const char *result_status_name(enum result_status s)
{
	switch (s) {
	case RESULT_CONSISTENT: return "consistent";
	case RESULT_INCONSISTENT: return "inconsistent";
	case RESULT_ERROR: return "error";
	case RESULT_PENDING: break;
	}
	return "not run";
}

void report_now(char out[32])
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/*
 * A schema check's table: a column on one side only is "missing_column"
 * (source only) or "extra_column" (target only); a pair tally refuses is
 * "refused_column", with the refusal and the option that would make it
 * comparable (the hint). Hand-written checks keep these as warnings.
 */
static json_t *plan_findings(const struct plan *p)
{
	json_t *a = json_array();

	if (!p->check->parent)
		return a;
	for (int s = 0; s < 2; s++)
		for (size_t i = 0; i < p->nonly[s]; i++)
			json_array_append_new(a, json_pack("{s:s, s:s, s:s}", "kind", s == 0 ? "missing_column" : "extra_column",
			                                   "side", s == 0 ? "source" : "target", "column", p->only[s][i]));
	for (size_t i = 0; i < p->nrefused; i++) {
		const struct plan_refused *r = &p->refused[i];

		json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s?, s:s?}", "kind", "refused_column",
		                                   "source", r->source, "target", r->target, "source_type", r->source_type,
		                                   "target_type", r->target_type, "message", r->message,
		                                   "detail", r->detail[0] ? r->detail : NULL,
		                                   "hint", r->hint[0] ? r->hint : NULL));
	}
	return a;
}

void report_describe_plan(struct check_result *r, const struct plan *p)
{
	json_t *cols = json_array(), *key = json_array(), *un = json_object();

	for (size_t i = 0; i < p->nkey; i++)
		json_array_append_new(key, json_string(plan_colname(p, &p->key[i], SIDE_SOURCE)));
	for (size_t i = 0; i < p->ncmp; i++) {
		const struct plan_col *c = &p->cmp[i];

		json_array_append_new(cols, json_pack("{s:s, s:s, s:s, s:s, s:s, s:o}",
			"source", plan_colname(p, c, SIDE_SOURCE),
			"target", plan_colname(p, c, SIDE_TARGET),
			"source_type", p->desc[0].cols[c->col[0]].native,
			"target_type", p->desc[1].cols[c->col[1]].native,
			"compared_as", cclass_name(c->canon[0].cls),
			"normalization", c->norm ? json_string(c->norm) : json_null()));
	}
	for (int s = 0; s < 2; s++) {
		json_t *a = json_array();

		for (size_t i = 0; i < p->nonly[s]; i++)
			json_array_append_new(a, json_string(p->only[s][i]));
		json_object_set_new(un, s == 0 ? "source" : "target", a);
	}
	json_decref(r->columns);
	json_decref(r->key);
	json_decref(r->unmatched);
	json_decref(r->findings);
	json_decref(r->left_out);
	r->columns = cols;
	r->key = key;
	r->unmatched = un;
	r->findings = plan_findings(p);
	r->left_out = p->left_out >= 0 ? json_integer(p->left_out) : json_null();
}

json_t *report_spec_findings(const struct spec *s)
{
	json_t *a = json_array();

	for (size_t i = 0; i < s->nfindings; i++)
		json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s}", "check", s->findings[i].check,
		                                   "kind", s->findings[i].kind, "system", s->findings[i].system,
		                                   "table", s->findings[i].table));
	return a;
}

bool report_has_findings(const struct check_result *c)
{
	return json_array_size(c->findings) > 0;
}

void report_release(struct run_report *r)
{
	for (size_t i = 0; i < r->nchecks; i++) {
		struct check_result *c = &r->checks[i];

		for (int s = 0; s < 2; s++) {
			free(c->side[s].table);
			free(c->side[s].server);
			free(c->side[s].position);
		}
		json_decref(c->columns);
		json_decref(c->key);
		json_decref(c->unmatched);
		json_decref(c->findings);
		json_decref(c->chunks_differing);
		json_decref(c->left_out);
		json_decref(c->newer);
		free(c->mode_note);
	}
	free(r->checks);
	json_decref(r->findings);
	r->findings = NULL;
	r->checks = NULL;
	r->nchecks = 0;
	json_decref(r->shard);
	r->shard = NULL;
	json_decref(r->sessions);
	r->sessions = NULL;
	json_decref(r->workflows);
	r->workflows = NULL;
}

static json_t *error_json(const struct tally_err *e)
{
	return json_pack("{s:s, s:o, s:o}", "message", e->msg,
	                 "detail", e->detail[0] ? json_string(e->detail) : json_null(),
	                 "hint", e->hint[0] ? json_string(e->hint) : json_null());
}

/* A check in error, or not run, has no counts: null, never a 0 it did not see. */
static json_t *count_json(const struct check_result *c, uint64_t n)
{
	return c->status == RESULT_ERROR || c->status == RESULT_PENDING ? json_null()
	                                                                : json_integer((json_int_t)n);
}

static json_t *side_json(const struct check_result *c, const struct side_result *s)
{
	return json_pack("{s:s?, s:s?, s:s?, s:s?, s:o, s:o, s:o}", "system", s->system, "table", s->table,
	                 "server", s->server, "position", s->position, "rows", count_json(c, s->rows),
	                 "queries", count_json(c, s->io.queries), "bytes", count_json(c, s->io.bytes));
}

static json_t *repair_json(const struct repair_result *r)
{
	if (!r)
		return json_null();
	if (!r->file[0])
		return json_pack("{s:s?, s:s, s:b, s:I}", "system", r->system, "none", r->none ? r->none : "no repair",
		                 "failed", r->failed, "generated_only", (json_int_t)r->generated);
	return json_pack("{s:s, s:s, s:s, s:{s:I, s:I, s:I}, s:I, s:I, s:s, s:s}",
	                 "system", r->system, "file", r->file, "rollback", r->rollback,
	                 "statements", "insert", (json_int_t)r->inserts, "update", (json_int_t)r->updates,
	                 "delete", (json_int_t)r->deletes, "duplicates", (json_int_t)r->duplicates,
	                 "generated_only", (json_int_t)r->generated,
	                 "xxh128", r->xxh128, "rollback_xxh128", r->rollback_xxh128);
}

static double round_ms(double s)
{
	return (double)(long long)(s * 1000 + 0.5) / 1000;
}

/* A check's entry; in the report of a run that failed, it names no script. */
static json_t *check_json(const struct check_result *c, bool run_failed)
{
	json_t *o = json_object();

	json_object_set_new(o, "name", json_string(c->check->name));
	json_object_set_new(o, "status", json_string(result_status_name(c->status)));
	json_object_set_new(o, "expect", json_string(spec_expect_name(c->check->expect)));
	json_object_set_new(o, "mode", json_string(c->counts ? "counts" : c->mode ? c->mode : "stream"));
	json_object_set_new(o, "mode_reason", c->mode_reason ? json_string(c->mode_reason) : json_null());
	json_object_set_new(o, "pushdown", c->push && c->status != RESULT_ERROR && c->status != RESULT_PENDING
	                                   ? json_pack("{s:I, s:I, s:I, s:{s:I, s:I}, s:s}", "chunks_equal",
	                                               (json_int_t)c->chunks_equal, "chunks_split",
	                                               (json_int_t)c->chunks_split, "chunks_streamed",
	                                               (json_int_t)c->chunks_streamed, "rows_streamed", "source",
	                                               (json_int_t)c->streamed[0], "target",
	                                               (json_int_t)c->streamed[1], "hash",
	                                               c->push_hash ? c->push_hash : "md5")
	                                   : json_null());
	json_object_set_new(o, "match", json_string(c->check->multiset ? "multiset" : "key"));
	json_object_set_new(o, "source", side_json(c, &c->side[0]));
	json_object_set_new(o, "target", side_json(c, &c->side[1]));
	json_object_set_new(o, "key", c->key ? json_incref(c->key) : json_null());
	json_object_set_new(o, "columns", c->columns ? json_incref(c->columns) : json_null());
	json_object_set_new(o, "unmatched_columns", c->unmatched ? json_incref(c->unmatched) : json_null());
	json_object_set_new(o, "findings", json_is_array(c->findings) ? json_incref(c->findings) : json_array());
	json_object_set_new(o, "columns_left_out", c->left_out ? json_incref(c->left_out) : json_null());
	/* Counts mode reads no row: which rows differ is not known. */
	json_object_set_new(o, "missing", c->counts ? json_null() : count_json(c, c->missing));
	json_object_set_new(o, "extra", c->counts ? json_null() : count_json(c, c->extra));
	json_object_set_new(o, "changed", c->counts ? json_null() : count_json(c, c->changed));
	json_object_set_new(o, "in_flight", c->counts ? json_null() : count_json(c, c->in_flight));
	json_object_set_new(o, "ignore_newer_than", c->newer ? json_incref(c->newer) : json_null());
	json_object_set_new(o, "skipped_newer", c->newer && !c->counts ? count_json(c, c->skipped_newer) : json_null());
	json_object_set_new(o, "chunks", json_pack("{s:I, s:I}", "total", (json_int_t)c->chunks_total,
	                                           "mismatched", (json_int_t)c->chunks_mismatched));
	json_object_set_new(o, "new", c->delta ? json_integer((json_int_t)c->new_diffs) : json_null());
	json_object_set_new(o, "resolved", c->delta ? json_integer((json_int_t)c->resolved) : json_null());
	if (c->counts)
		json_object_set_new(o, "chunks_differing", c->chunks_differing && c->status != RESULT_ERROR &&
		                                           c->status != RESULT_PENDING
		                                           ? json_incref(c->chunks_differing) : json_null());
	json_object_set_new(o, "seconds", json_real(round_ms(c->seconds)));
	json_object_set_new(o, "worker_seconds", json_real(round_ms(c->worker_seconds)));
	json_object_set_new(o, "repair", run_failed ? json_null() : repair_json(c->repair));
	json_object_set_new(o, "error", c->status == RESULT_ERROR ? error_json(&c->err) : json_null());
	return o;
}

int report_write(struct outdir *o, const struct run_report *r, struct tally_err *err)
{
	json_t *root = json_object(), *checks = json_array();
	struct zfile z;
	struct tally_err later;
	char *text;
	int rc;

	metrics_note_report(r);     /* --metrics: the last report written is how the run ended */
	json_object_set_new(root, "tally_version", json_string(TALLY_VERSION));
	json_object_set_new(root, "canon_version", json_integer(CANON_VERSION));
	json_object_set_new(root, "spec", json_string(r->spec->name));
	json_object_set_new(root, "spec_file", json_string(r->spec->file));
	json_object_set_new(root, "spec_hash", r->spec_hash[0] ? json_string(r->spec_hash) : json_null());
	json_object_set_new(root, "reason", r->spec->reason ? json_string(r->spec->reason) : json_null());
	json_object_set_new(root, "started_at", json_string(r->started_at));
	json_object_set_new(root, "finished_at", json_string(r->finished_at));
	json_object_set_new(root, "status", json_string(result_status_name(r->status)));
	if (r->shard)
		json_object_set(root, "shard", r->shard);
	for (size_t i = 0; i < r->nchecks; i++)
		json_array_append_new(checks, check_json(&r->checks[i], r->failed));
	json_object_set_new(root, "checks", checks);
	json_object_set_new(root, "findings", r->findings ? json_incref(r->findings) : json_array());
	json_object_set_new(root, "diff_file", r->diff_written && !r->failed ? json_string("diff.ndjson.zst") : json_null());
	json_object_set_new(root, "previous_run", r->previous_run ? json_string(r->previous_run) : json_null());
	json_object_set_new(root, "sessions", r->sessions ? json_incref(r->sessions) : json_null());
	if (r->workflows && !r->failed)
		json_object_set_new(root, "workflows", json_incref(r->workflows));
	json_object_set_new(root, "error", r->has_error ? error_json(&r->err) : json_null());
	json_object_set_new(root, "resume", r->has_error && r->error_note ? json_string(r->error_note) : json_null());

	text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	runs_note_report(root);     /* the history line: the last report written is how the run ended */
	json_decref(root);
	if (!text)
		return err_set(err, ERR_INTERNAL, "cannot render report.json");
	rc = outdir_create(o, "report.json", &z, 0, ZFILE_PLAIN, err);
	if (rc == 0)
		rc = zfile_write(&z, text, strlen(text), err);
	if (rc == 0)
		rc = zfile_write(&z, "\n", 1, err);
	if (zfile_close(&z, rc == 0 ? err : &later) < 0)
		rc = -1;
	free(text);
	return rc;
}

/* Schema findings, one line each: the tables, then each table's columns. */
static void print_findings(FILE *fp, const struct run_report *r)
{
	json_t *f;
	size_t j;

	json_array_foreach(r->findings, j, f) {
		const char *kind = json_string_value(json_object_get(f, "kind"));

		fprintf(fp, "finding:  %s: table %s only in %s system '%s'\n",
		        json_string_value(json_object_get(f, "check")), json_string_value(json_object_get(f, "table")),
		        kind && strcmp(kind, "missing_table") == 0 ? "source" : "target",
		        json_string_value(json_object_get(f, "system")));
	}
	for (size_t i = 0; i < r->nchecks; i++) {
		const struct check_result *c = &r->checks[i];

		if (c->status == RESULT_PENDING || c->status == RESULT_ERROR)
			continue;
		json_array_foreach(c->findings, j, f) {
			const char *kind = json_string_value(json_object_get(f, "kind"));

			if (kind && strcmp(kind, "refused_column") == 0) {
				const char *hint = json_string_value(json_object_get(f, "hint"));

				fprintf(fp, "finding:  %s: column %s not compared: %s%s%s\n", c->check->name,
				        json_string_value(json_object_get(f, "source")),
				        json_string_value(json_object_get(f, "message")), hint ? "; hint: " : "",
				        hint ? hint : "");
			} else {
				fprintf(fp, "finding:  %s: column %s only on the %s side\n", c->check->name,
				        json_string_value(json_object_get(f, "column")),
				        json_string_value(json_object_get(f, "side")));
			}
		}
	}
}

/* msg without a leading "check 'NAME': ", which the summary's line says already. */
static const char *unnamed(const char *msg, const char *name)
{
	size_t n = strlen(name);

	if (strncmp(msg, "check '", 7) == 0 && strncmp(msg + 7, name, n) == 0 && strncmp(msg + 7 + n, "': ", 3) == 0)
		return msg + 7 + n + 3;
	return msg;
}

/* "1,234": counts in summary lines read at a glance. */
static void group_count(struct buf *b, json_int_t n)
{
	char digits[32];
	int len = snprintf(digits, sizeof(digits), "%lld", (long long)n);

	for (int i = 0; i < len; i++) {
		if (i && (len - i) % 3 == 0)
			buf_addch(b, ',');
		buf_addch(b, digits[i]);
	}
}

/* "workflow order-cancel: 4,870 complete, 12 stopped after order-cancelled, 3 never started, 1 out of order" */
static void print_workflows(FILE *fp, const struct run_report *r)
{
	size_t i;
	json_t *w;

	json_array_foreach(r->workflows, i, w) {
		json_t *g = json_object_get(w, "groups"), *steps = json_object_get(w, "steps"), *st;
		struct buf b = BUF_INIT;
		size_t s;

		buf_addf(&b, "workflow %s: ", json_string_value(json_object_get(w, "name")));
		group_count(&b, json_integer_value(json_object_get(g, "complete")));
		buf_addstr(&b, " complete");
		json_array_foreach(steps, s, st) {
			json_int_t n = json_integer_value(json_object_get(json_object_get(g, "stopped_after"),
			                                                  json_string_value(json_object_get(st, "name"))));

			if (n == 0)
				continue;
			buf_addstr(&b, ", ");
			group_count(&b, n);
			buf_addf(&b, " stopped after %s", json_string_value(json_object_get(st, "name")));
		}
		buf_addstr(&b, ", ");
		group_count(&b, json_integer_value(json_object_get(g, "never_started")));
		buf_addstr(&b, " never started, ");
		group_count(&b, json_integer_value(json_object_get(g, "out_of_order")));
		buf_addstr(&b, " out of order");
		fprintf(fp, "%s\n", b.data);
		if (json_is_string(json_object_get(w, "repair_withheld")))
			fprintf(fp, "workflow %s: %s\n", json_string_value(json_object_get(w, "name")),
			        json_string_value(json_object_get(w, "repair_withheld")));
		buf_release(&b);
	}
}

void report_print_summary(FILE *fp, const struct run_report *r, const struct outdir *o)
{
	int w = 5;

	for (size_t i = 0; i < r->nchecks; i++)
		if ((int)strlen(r->checks[i].check->name) > w)
			w = (int)strlen(r->checks[i].check->name);
	for (size_t i = 0; i < r->nchecks; i++) {
		const struct check_result *c = &r->checks[i];
		char counts[160] = "";

		/* A run that failed gives no verdict, not even for the checks it compared. */
		if (c->status == RESULT_PENDING || (r->failed && c->status != RESULT_ERROR))
			continue;
		if (c->status == RESULT_INCONSISTENT && c->counts) {
			snprintf(counts, sizeof(counts), "  row counts differ in %llu of %llu chunks",
			         (unsigned long long)c->chunks_mismatched, (unsigned long long)c->chunks_total);
		} else if (c->status == RESULT_INCONSISTENT) {
			if (c->check->expect == EXPECT_ABSENT)
				snprintf(counts, sizeof(counts), "  undeleted %llu", (unsigned long long)c->extra);
			else if (c->check->multiset)
				snprintf(counts, sizeof(counts), "  copies missing %llu, extra %llu",
				         (unsigned long long)c->missing, (unsigned long long)c->extra);
			else
				snprintf(counts, sizeof(counts), "  missing %llu, extra %llu, changed %llu",
				         (unsigned long long)c->missing, (unsigned long long)c->extra,
				         (unsigned long long)c->changed);
		}
		if (c->in_flight && c->status != RESULT_ERROR) {
			size_t n = strlen(counts);

			snprintf(counts + n, sizeof(counts) - n, "%s%llu in flight", n ? ", " : "  ",
			         (unsigned long long)c->in_flight);
		}
		/* Inconsistent by its findings alone (a schema check's table): say so rather than three zeros. */
		if (c->status == RESULT_INCONSISTENT && !c->counts && report_has_findings(c) && !c->missing &&
		    !c->extra && !c->changed)
			snprintf(counts, sizeof(counts), "  findings %zu", json_array_size(c->findings));
		if (c->status == RESULT_ERROR)   /* with its message; detail and hint go to stderr */
			fprintf(fp, "%-*s  error: %s\n", w, c->check->name, unnamed(c->err.msg, c->check->name));
		else
			fprintf(fp, "%-*s  %-12s%s  (source %llu rows, target %llu rows, %.2f s)\n", w,
			        c->check->name, result_status_name(c->status), counts,
			        (unsigned long long)c->side[0].rows, (unsigned long long)c->side[1].rows,
			        c->seconds);
		if (c->status != RESULT_ERROR && c->newer)
			fprintf(fp, "%-*s  (%llu row%s skipped as newer than %s: ignore_newer_than %s %s)\n", w, "",
			        (unsigned long long)c->skipped_newer, c->skipped_newer == 1 ? "" : "s",
			        json_string_value(json_object_get(c->newer, "cutoff")),
			        json_string_value(json_object_get(c->newer, "column")),
			        json_string_value(json_object_get(c->newer, "age")));
		if (c->auto_mode && c->status != RESULT_ERROR)
			fprintf(fp, "%-*s  (%s: %s)\n", w, "", c->mode, c->mode_reason);
		else if (c->push && c->status != RESULT_ERROR)
			fprintf(fp, "%-*s  (pushdown: %llu chunks equal in the servers, %llu split; rows streamed: "
			        "source %llu, target %llu)\n", w, "", (unsigned long long)c->chunks_equal,
			        (unsigned long long)c->chunks_split, (unsigned long long)c->streamed[0],
			        (unsigned long long)c->streamed[1]);
		else if (c->mode_reason && !c->auto_asked && c->status != RESULT_ERROR)
			fprintf(fp, "%-*s  (stream mode: %s)\n", w, "", c->mode_reason);
		/* Never silent: a columns: list that narrows the comparison says by how much. */
		if (c->status != RESULT_ERROR && json_integer_value(c->left_out) > 0)
			fprintf(fp, "%-*s  (columns: leaves out %lld column%s present on both sides; "
			        "options: sets options without narrowing)\n", w, "",
			        (long long)json_integer_value(c->left_out), json_integer_value(c->left_out) == 1 ? "" : "s");
	}
	if (!r->failed) {
		print_findings(fp, r);
		print_workflows(fp, r);
	}
	if (o && o->path) {
		bool differs = false, counts = false;

		/* A counts check differs by its counts only: it has no line in the diff file. */
		for (size_t i = 0; i < r->nchecks; i++) {
			differs = differs || (r->checks[i].status == RESULT_INCONSISTENT && !r->checks[i].counts);
			counts = counts || r->checks[i].counts;
		}
		if (counts)
			fprintf(fp, "mode:     counts: rows counted per chunk in each server, none read; "
			        "no diff rows, no repair scripts (the differing chunks are in report.json)\n");
		fprintf(fp, "report:   %s/report.json\n", o->path);
		if (r->diff_written && differs)
			fprintf(fp, "diffs:    %s/diff.ndjson.zst (read with zstdcat)\n", o->path);
		for (size_t i = 0; i < r->nchecks; i++) {
			const struct repair_result *rr = r->checks[i].repair;
			bool seen = false;

			if (!rr || !r->diff_written)
				continue;
			if (rr->withheld) {
				fprintf(fp, "repair:   withheld for check '%s': %s\n", r->checks[i].check->name,
				        rr->none);
				continue;
			}
			/* Checks that repair one system share its script, or its reason for none. */
			for (size_t j = 0; j < i && !seen; j++) {
				const struct repair_result *pr = r->checks[j].repair;

				seen = pr && (rr->file[0] ? strcmp(pr->file, rr->file) == 0
				                          : !pr->file[0] && pr->failed && !pr->withheld &&
				                            strcmp(pr->system, rr->system) == 0);
			}
			if (seen)
				continue;
			if (!rr->file[0]) {
				if (rr->failed)
					fprintf(fp, "repair:   none for system '%s': %s\n", rr->system, rr->none);
				continue;
			}
			fprintf(fp, "repair:   %s/%s\nrollback: %s/%s\n", o->path, rr->file, o->path, rr->rollback);
		}
		if (r->change_order_written && r->diff_written)
			fprintf(fp, "change:   %s/change-order.md (why, what, how to apply, verify, roll back)\n", o->path);
		for (size_t i = 0; i < r->nchecks && r->previous_run; i++) {
			const struct check_result *c = &r->checks[i];

			if (c->delta)
				fprintf(fp, "since:    %s: check '%s': %llu new, %llu resolved\n", r->previous_run,
				        c->check->name, (unsigned long long)c->new_diffs, (unsigned long long)c->resolved);
		}
		for (size_t i = 0; i < r->nchecks; i++) {
			const struct repair_result *rr = r->checks[i].repair;

			if (rr && rr->generated && r->diff_written)
				fprintf(fp, "note:     check '%s': %llu changed row%s differ%s only in generated "
				        "columns, which a repair cannot set\n", r->checks[i].check->name,
				        (unsigned long long)rr->generated, rr->generated == 1 ? "" : "s",
				        rr->generated == 1 ? "s" : "");
		}
	}
	fflush(fp);
}

int report_fail(struct outdir *o, struct run_report *r, const struct tally_err *err, const char *hint,
                bool quiet)
{
	struct tally_err rerr;
	bool published;

	/* Nothing of the failed set is published; dropping it also frees the space it took. */
	outdir_discard(o);
	r->status = RESULT_ERROR;
	r->failed = true;
	r->has_error = true;
	r->err = *err;
	r->diff_written = false;
	/* report.html says so too, when it fits: the error report matters more. */
	if (html_write(o, r, NULL, &rerr) < 0)
		outdir_discard(o);
	published = report_write(o, r, &rerr) == 0 && outdir_commit(o, &rerr) == 0;
	if (!published)
		outdir_discard(o);
	else if (!quiet)
		report_print_summary(stdout, r, o);
	err_print(err, stderr);
	if (hint && !quiet)
		fprintf(stderr, "hint: %s\n", hint);
	if (!published)
		err_print(&rerr, stderr);
	return 2;
}
