/*
 * engine/changeorder.h
 *   repair -> CHANGEORDER -> outdir: change-order.md, the page a developer
 *   pastes into a ticket and an operator follows: why, what changes (rows
 *   per system, table and check: counts only), each script with its
 *   xxh128, the command that applies it and the line that says it worked,
 *   how to verify (tally verify RUN_DIR) and how to roll back.
 *
 * It holds no row data: no key, no column value. Those stay in the
 * scripts and diff.ndjson.zst, which only the run's owner can read.
 *
 * Two stages, so the text can be tested without files or servers:
 * changeorder_build() gathers a struct change_order from a run's results,
 * changeorder_render() turns it into Markdown. changeorder_write() does
 * both and writes the file pending in the output directory, published with
 * the scripts by outdir_commit().
 */
#ifndef TALLY_CHANGEORDER_H
#define TALLY_CHANGEORDER_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "outdir.h"
#include "repair.h"
#include <jansson.h>

#include "report.h"

/* One check's share of a script. Strings borrowed. */
struct co_check {
	const char *check;
	const char *table;          /* the written table, as shown ("public.orders") */
	uint64_t inserts, updates, deletes;
	uint64_t duplicates;        /* rows another check of the script repairs the same way */
};

/*
 * One system's repair script and its rollback. Strings borrowed but for
 * the commands and lines, which are owned (freed by changeorder_release).
 */
struct co_script {
	const char *system;
	const char *dialect;        /* conn_ops.dialect: "postgresql", "mariadb" */
	const struct script_ops *script;  /* the dialect's script text (apply_who, failure_looks_like) */
	const char *file;           /* "repair.app.sql" or "repair.app.sql.zst" */
	const char *rollback;
	const char *body_xxh128;    /* what the header states: the body after "-- end of tally header" */
	const char *rollback_body_xxh128;
	char file_xxh128[33];       /* of the file's bytes, as xxhsum -H2 prints it */
	char rollback_file_xxh128[33];
	char *apply, *rollback_apply;           /* owned: the client commands */
	char *success, *rollback_success;       /* owned: the line each prints at its end */
	uint64_t inserts, updates, deletes;     /* the repair's rows (the rollback's are the inverse) */
	struct co_check *checks;    /* owned array */
	size_t nchecks;
};

/* A check whose repair could not be written. Strings borrowed. */
struct co_missing {
	const char *check;
	const char *system;
	const char *why;
};

struct change_order {
	const char *spec_name;
	const char *spec_file;
	const char *reason;         /* may be NULL */
	const char *ticket;         /* may be NULL */
	const char *generated_at;
	const char *version;        /* tally's */
	bool compressed;            /* scripts are .sql.zst */
	struct co_script *scripts;  /* owned array, in the order to apply them */
	size_t nscripts;
	struct co_missing *missing; /* owned array */
	size_t nmissing;
	json_t *workflows;          /* borrowed: report.json's "workflows", or NULL */
};

/*
 * From the results of a run whose scripts are pending in o (the file
 * digests are of those bytes): info[i] is check i's repair_info or NULL.
 * Scripts come in the order of the first check that writes each.
 */
int changeorder_build(struct change_order *co, const struct outdir *o, const struct run_report *r,
                      struct repair_info *const *info, bool compressed, const char *generated_at,
                      struct tally_err *err);

/* Appends the Markdown to out. Pure: no I/O. */
void changeorder_render(struct buf *out, const struct change_order *co);

/* Frees what co owns; accepts a zeroed struct. */
void changeorder_release(struct change_order *co);

/*
 * Builds, renders and writes change-order.md pending in o when the run
 * wrote at least one repair script; sets *written. Returns 0 or -1.
 */
int changeorder_write(struct outdir *o, const struct run_report *r, struct repair_info *const *info,
                      bool compressed, const char *generated_at, bool *written, struct tally_err *err);

#endif
