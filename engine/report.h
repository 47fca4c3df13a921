/*
 * engine/report.h
 *   merge -> REPORT: the results of a run, report.json and the summary on
 *   stdout. report.json (schema in the README) is the run's commit record:
 *   it is written last, and its "status" says how the run ended.
 */
#ifndef TALLY_REPORT_H
#define TALLY_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "automode.h"
#include "base/err.h"
#include "merge.h"
#include "outdir.h"
#include "plan.h"
#include "repair.h"
#include "spec.h"

enum result_status { RESULT_PENDING = 0, RESULT_CONSISTENT, RESULT_INCONSISTENT, RESULT_ERROR };

const char *result_status_name(enum result_status s);

struct side_result {
	const char *system;     /* borrowed from the spec */
	char *table;            /* owned: "public.orders" or "query" */
	char *server;           /* owned: "PostgreSQL 15.18", may be NULL */
	char *position;         /* owned: where its snapshot stands ("lsn 0/1A2B"), may be NULL */
	uint64_t rows;
	struct conn_io io;      /* statements sent and bytes received for the check's chunks */
};

struct check_result {
	const struct spec_check *check;     /* borrowed */
	enum result_status status;
	struct side_result side[2];
	uint64_t missing, extra, changed;
	uint64_t in_flight;     /* differing rows still being written (live rechecks); 0 without them */
	uint64_t outside;       /* a workflow step: differences of keys outside the workflow's (not counted above) */
	uint64_t chunks_total, chunks_mismatched;
	double seconds;         /* wall time while any of its chunks (or its reconciliation) ran */
	double worker_seconds;  /* the workers' time on its chunks, summed */
	bool delta;             /* new and resolved below are known: the previous run had a verdict for it */
	uint64_t new_diffs;     /* differences whose key the previous run (previous_run) did not report */
	uint64_t resolved;      /* differences of the previous run whose key this run does not report */
	json_t *columns;        /* owned: the compared columns and their normalization */
	json_t *key;            /* owned: the key columns */
	json_t *unmatched;      /* owned: {"source": [...], "target": [...]} */
	/*
	 * owned: a schema check's table: columns on one side only and refused
	 * column pairs, each a finding that makes the check inconsistent;
	 * an empty array for a hand-written check. NULL when not planned.
	 */
	json_t *findings;
	json_t *left_out;       /* owned: how many default columns columns: leaves out, or JSON null */
	/* owned: ignore_newer_than in force, {"column", "age", "cutoff"}; NULL without it */
	json_t *newer;
	uint64_t skipped_newer; /* keys skipped as newer than the cutoff (with newer) */
	const struct repair_result *repair;   /* borrowed; NULL when the check was not planned */
	bool counts;            /* --mode counts: rows counted per chunk, none read; no missing/extra/changed */
	const char *mode;       /* how the check ran: "stream", "counts", "pushdown" (borrowed); NULL: stream */
	const char *mode_reason;    /* borrowed: why it ran in another mode than asked, or NULL */
	bool push;              /* it ran in pushdown mode: the counts below are known */
	const char *push_hash;  /* pushdown: the digests' hash, "md5" or "hashtextextended" (borrowed);
	                           NULL: md5, from a run.json before there was a choice */
	uint64_t chunks_equal;  /* pushdown: chunks whose digests matched (no row read) */
	uint64_t chunks_split;  /* pushdown: chunks narrowed and partly streamed */
	uint64_t streamed[2];   /* pushdown: rows each side sent */
	bool auto_asked;        /* the run was --mode auto (a stream reason is then not worth a summary line) */
	bool auto_mode;         /* --mode auto chose as the chunks ran: mode and mode_reason from them */
	uint64_t chunks_streamed;       /* auto: chunks streamed whole by choice */
	uint64_t chunks_partly;         /* auto: chunks digested in part, the rest streamed by choice */
	struct push_costs costs;        /* pushdown and auto: what the chunks measured */
	char *mode_note;        /* owned: auto's mode_reason */
	json_t *chunks_differing;   /* owned, counts mode: [{"chunk", "after", "through", "source_rows",
	                               "target_rows"}] for each chunk whose counts differ */
	struct tally_err err;   /* when status is RESULT_ERROR */
};

struct run_report {
	const struct spec *spec;
	char started_at[32];
	char finished_at[32];
	char spec_hash[33];         /* XXH3-128 of the spec's bytes, hex (tally verify compares it); "" unknown */
	enum result_status status;
	struct check_result *checks;
	size_t nchecks;
	bool has_error;
	struct tally_err err;       /* the run's first error */
	bool failed;                /* the run as a whole failed (report_fail): no verdict, no file
	                               but report.json; checks with errors of their own do not set it */
	bool diff_written;          /* diff.ndjson.zst is written (and named unless status is error) */
	bool change_order_written;  /* change-order.md is written (engine/changeorder.h) */
	json_t *shard;              /* owned: {"index", "count"} for a shard's share, else NULL */
	const char *error_note;     /* after an error: how to resume ("resume" in the report), or NULL */
	json_t *findings;           /* owned: schema checks' tables on one side only, or NULL */
	const char *previous_run;   /* borrowed: the run new and resolved compare with (runs.h), or NULL */
	json_t *sessions;           /* owned: per system, tally's sessions as the server saw them
	                               (engine/guard.h), or NULL */
	json_t *workflows;          /* owned: the workflows' results (engine/assemble_wf.h), or NULL: none */
};

/* Fills r->columns, r->key, r->unmatched, r->findings and r->left_out from a built plan. */
void report_describe_plan(struct check_result *r, const struct plan *p);

/* The spec's table findings as report.json lists them: [{"check", "kind", "system", "table"}]. */
json_t *report_spec_findings(const struct spec *s);

/* Does the check's result hold a finding (which makes it inconsistent)? */
bool report_has_findings(const struct check_result *c);

/* Frees what the results own. */
void report_release(struct run_report *r);

/* Current UTC time as 2026-11-21T20:59:03Z. */
void report_now(char out[32]);

/*
 * Writes report.json, synced, into o's temporary directory; outdir_commit()
 * publishes it, after the files it names. In the report of a run that
 * failed (status error), "diff_file" and every check's "repair" are null.
 */
int report_write(struct outdir *o, const struct run_report *r, struct tally_err *err);

/*
 * The short human summary: one line per check, then where the files are.
 * Call it only once report.json is published: it names the files. After
 * an error it gives no verdict: only the checks that failed, and the report.
 */
void report_print_summary(FILE *fp, const struct run_report *r, const struct outdir *o);

/*
 * Ends a run that failed with err: drops its pending outputs, writes and
 * publishes a report.json saying "error" (r->error_note, set by the
 * caller, as its "resume"), prints the summary once the report is
 * published (unless quiet), then err, the hint if any, and, when the
 * report could not be written either, why, on stderr. stdout then names
 * no file: nothing is published. Returns 2, the exit status.
 */
int report_fail(struct outdir *o, struct run_report *r, const struct tally_err *err, const char *hint,
                bool quiet);

#endif
