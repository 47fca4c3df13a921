/*
 * engine/work.h
 *   run -> WORK -> assemble: the work directory of a run,
 *   <out>/.tally-work/ (<out> being the run's own directory, runs.h), where every finished chunk leaves its "part"
 *   before the final outputs are assembled from the parts:
 *
 *     run.json            what the run is: spec, shard, and per check its
 *                         chunk plan and what assembling needs (the
 *                         report's description, the repaired table)
 *     c<i>/<id>.diff      the chunk's difference lines (zstd)
 *     c<i>/<id>.rep       the chunk's repair records (zstd)
 *     c<i>/<id>.left      rows found on one side only, to reconcile (zstd)
 *     c<i>/<id>.done      the chunk's result (JSON): counts, hashes, and
 *                         when it started and ended; written last, by
 *                         rename, so a part without it is unfinished
 *     c<i>/error.json     the check has no verdict (an error of its own:
 *                         a missing table, a failing query, a table
 *                         rewritten during the run): its parts are not
 *                         used, and --resume redoes the check
 *
 * <id> is the chunk number, or "r" for the reconciliation of a check whose
 * chunks may disagree on membership, or "k" for its recheck (--recheck,
 * recheck.h): when that part is there, its lines and records replace
 * those of every other part of the check, and its counts theirs. A killed run leaves finished parts
 * and their .done files: --resume redoes only the rest. A shard run keeps
 * its work directory for tally merge. A finished unsharded run removes it.
 */
#ifndef TALLY_WORK_H
#define TALLY_WORK_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "../connectors/connector.h"
#include "automode.h"
#include "base/err.h"
#include "rowhash.h"

#define WORK_DIRNAME ".tally-work"
#define WORK_RECONCILE ((size_t)-1)
#define WORK_RECHECK ((size_t)-2)

/* The result of one part, as its .done file holds it. */
struct part_result {
	uint64_t rows[2];
	struct chunkhash hash[2];
	uint64_t missing, extra, changed;
	uint64_t in_flight;         /* the recheck part: differences that were rows being written */
	uint64_t skipped;           /* keys skipped as newer than the cutoff (ignore_newer_than) */
	uint64_t outside;           /* a workflow step's differences of keys outside the workflow's set */
	double seconds;             /* the worker's time on the part */
	double started, ended;      /* wall clock, seconds since the epoch: when work on it began and ended */
	uint32_t attempts;
	struct conn_io io[2];       /* what each side's session sent and received for the part */
	/*
	 * --mode pushdown and auto: push is 0 (streamed), 1 (digests equal: no
	 * row read), 2 (split and narrowed) or 3 (auto: digested in part, the
	 * rest streamed by choice); streamed, the rows each side sent; costs,
	 * what the chunk measured.
	 */
	int push;
	uint64_t streamed[2];
	struct push_costs costs;
};

/* Creates <out>/.tally-work and its check directories (n checks). */
int work_create(const char *out, size_t nchecks, struct tally_err *err);
/* Removes the work directory and everything in it; accepts a missing one. */
void work_remove(const char *out);
bool work_exists(const char *out);

/* Removes every part and the error of one check (a check redone by --resume). */
int work_clear_check(const char *out, size_t check, struct tally_err *err);

/* Path of a part's file: kind is "diff", "rep", "left" or "done". Owned by the caller. */
char *work_part_path(const char *out, size_t check, size_t part, const char *kind);
/* Same, as written before it is complete (renamed by work_commit_part). */
char *work_part_tmp(const char *out, size_t check, size_t part, const char *kind);

/*
 * Writes the part's .done file (atomically, synced): the part is
 * finished. Every file of the work directory is written through struct
 * zfile, each write, fsync and close checked; one that fails is removed
 * and never renamed, so no part looks finished that is not.
 */
int work_commit_part(const char *out, size_t check, size_t part, const struct part_result *r,
                     struct tally_err *err);
/* Reads a part's .done file; returns 1, 0 when the part is not done, -1 on error. */
int work_read_part(const char *out, size_t check, size_t part, struct part_result *r,
                   struct tally_err *err);

/*
 * A check that ends in trouble of its own while the others go on: its
 * error (message, detail, hint) is kept in its directory, and the outputs
 * assembled later (by the run, a resumed run, or tally merge) report the
 * check as an error, with no difference or repair from its parts.
 * work_read_error returns 1 with out filled, 0 when the check has none.
 */
int work_write_error(const char *out, size_t check, const struct tally_err *e, struct tally_err *err);
int work_read_error(const char *dir, size_t check, struct tally_err *out, struct tally_err *err);

/*
 * workflows.json: each workflow's key set (wfkeys.h), read once per run
 * and reused by --resume and by assembling. work_read_workflows returns
 * NULL with err's kind ERR_NONE when there is none, NULL with err set
 * when it is unreadable.
 */
int work_write_workflows(const char *out, json_t *keys, struct tally_err *err);
json_t *work_read_workflows(const char *dir, struct tally_err *err);

/* run.json, written atomically; read back for --resume and tally merge. */
int work_write_run(const char *out, json_t *run, struct tally_err *err);
json_t *work_read_run(const char *dir, struct tally_err *err);

#endif
