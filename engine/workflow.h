/*
 * engine/workflow.h
 *   diff -> WORKFLOW -> report: where each key of a multi-step job
 *   stopped. A key's step is done when the step has no difference for
 *   the key; the vector of done steps puts the key in one group:
 *     complete        every step done
 *     never started   no step done
 *     stopped after S the done steps are exactly the first ones, through S
 *     out of order    a step done after one that is not (an anomaly)
 *   Performs no I/O: the caller gives the done vectors.
 */
#ifndef TALLY_WORKFLOW_H
#define TALLY_WORKFLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum wf_group { WF_COMPLETE, WF_NEVER_STARTED, WF_STOPPED, WF_OUT_OF_ORDER };

/*
 * The group of done[0..nsteps), nsteps >= 1; for WF_STOPPED, *after is
 * the index of the last step done (0 .. nsteps-2).
 */
enum wf_group wf_group_of(const bool *done, size_t nsteps, size_t *after);

/* "complete", "never_started", "stopped_after", "out_of_order". */
const char *wf_group_name(enum wf_group g);

/* Should the repair finish this key? Out-of-order keys only when allowed. */
bool wf_repairs(enum wf_group g, bool repair_out_of_order);

/*
 * Counts per group of a workflow. stopped_after[i]: keys stopped after
 * step i (owned, nsteps entries; the last is always 0).
 */
struct wf_counts {
	size_t nsteps;
	uint64_t keys, complete, never_started, out_of_order;
	uint64_t *stopped_after;
};

void wf_counts_init(struct wf_counts *c, size_t nsteps);
void wf_counts_release(struct wf_counts *c);
/* Adds a key with done[0..nsteps); returns its group (and *after as wf_group_of). */
enum wf_group wf_counts_add(struct wf_counts *c, const bool *done, size_t *after);

#endif
