/*
 * engine/html_int.h
 *   HTML's own: what html.c renders, as html_data.c reads it from the
 *   assembler's inputs (run.json, the parts, the scripts). Not for other
 *   modules.
 */
#ifndef TALLY_HTML_INT_H
#define TALLY_HTML_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "assemble.h"
#include "base/buf.h"
#include "base/err.h"
#include "work.h"

enum { HTML_MISSING, HTML_EXTRA, HTML_CHANGED };

struct html_chunk {
	size_t id;                  /* 0-based chunk number, or WORK_RECONCILE */
	bool have;                  /* its part is in this run (not another shard's) */
	struct part_result pr;      /* when have */
	bool differs;               /* rows on one side only or changed, or hashes that differ */
	char *range;                /* owned: its key range as text; NULL for the reconciliation */
};

struct html_check {
	struct html_chunk *chunks;  /* owned: the plan's chunks in order, then the reconciliation */
	size_t nchunks;
	size_t nplan;               /* chunks in the plan */
	json_t *sample[3];          /* owned: arrays of the first HTML_SAMPLE diff lines per kind */
	json_t *columns;            /* borrowed from run.json: the compared columns */
};

/*
 * Reads check ci's chunks and its sample (expected: its counts, to stop
 * reading once each kind's sample is full). A check in error gets neither.
 */
int html_check_load(const struct assemble_in *in, size_t ci, const struct check_result *res,
                    struct html_check *hc, struct tally_err *err);
void html_check_release(struct html_check *hc);

/* The header of a script written to o (pending), up to "-- end of tally header", into out. */
int html_script_header(const struct outdir *o, const char *file, struct buf *out, struct tally_err *err);

#endif
