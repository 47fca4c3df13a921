/*
 * engine/assemble_wf.h
 *   diff, work -> ASSEMBLE_WF -> report, diff, repair: a run's workflows
 *   when its outputs are assembled. From run.json's "workflows" (which
 *   checks are whose steps, how their keys map) and the key sets kept in
 *   .tally-work/workflows.json, it reads the step checks' difference
 *   lines from the pending diff file, marks each key's step not done
 *   where the step has a difference for it, groups the keys
 *   (engine/workflow.h), appends one "kind": "workflow" line per key to
 *   the diff file, and builds the report's "workflows" entries.
 *
 * A workflow whose step has an error of its own has no verdict and no
 * entry. Keys of steps done out of order are not repaired unless the
 * workflow says repair_out_of_order: true: each step's repair records
 * carry their workflow key (repair_tag), and assembling the repair leaves
 * out those of such keys (wfa_withholds_key); the report lists them.
 */
#ifndef TALLY_ASSEMBLE_WF_H
#define TALLY_ASSEMBLE_WF_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "base/err.h"
#include "wfkeys.h"
#include "workflow.h"

struct wfa_one {
	json_t *def;                /* run.json's entry, borrowed */
	const char *name;           /* borrowed from def */
	size_t nsteps;
	size_t *check;              /* [step]: the step's check index in the run */
	struct wfkeys keys;
	bool *done;                 /* [key * nsteps + step] */
	uint64_t *outside;          /* [step] */
	uint64_t *not_done;         /* [step] */
	struct wf_counts counts;
	bool skipped;               /* a step has no verdict */
};

struct wfa {
	struct wfa_one *w;
	size_t n;
};

/*
 * Loads the workflows of run (none: n 0) and their keys from dir's work
 * directory. errored[check]: the check has no verdict.
 */
int wfa_load(struct wfa *a, json_t *run, const char *dir, const bool *errored, struct tally_err *err);
void wfa_release(struct wfa *a);

/* Adds a step check's differences of keys outside the set. */
void wfa_add_outside(struct wfa *a, size_t check, uint64_t outside);

/* Reads the pending diff file at path, groups the keys and appends the workflow lines to it. */
int wfa_apply(struct wfa *a, const char *path, struct tally_err *err);

/* repair_asm.withhold, ctx the struct wfa: is wfkey of check's workflow done out of order, and withheld? */
bool wfa_withholds_key(void *ctx, size_t check, const char *wfkey);

/*
 * report.json's "workflows"; system_of(check) names the system a step's
 * repair writes (its target, or its source under repair: source).
 */
json_t *wfa_json(const struct wfa *a, const char *(*system_of)(void *ctx, size_t check), void *ctx);

#endif
