/*
 * engine/workflow.c
 *   diff -> WORKFLOW -> report: a key's group from its step states, and
 *   the counts per group. Performs no I/O.
 */
#include "workflow.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"

enum wf_group wf_group_of(const bool *done, size_t nsteps, size_t *after)
{
	size_t prefix = 0;

	while (prefix < nsteps && done[prefix])
		prefix++;
	/* Anything done past the first step not done is out of order. */
	for (size_t i = prefix; i < nsteps; i++)
		if (done[i])
			return WF_OUT_OF_ORDER;
	if (prefix == nsteps)
		return WF_COMPLETE;
	if (prefix == 0)
		return WF_NEVER_STARTED;
	if (after)
		*after = prefix - 1;
	return WF_STOPPED;
}

const char *wf_group_name(enum wf_group g)
{
	switch (g) {
	case WF_COMPLETE: return "complete";
	case WF_NEVER_STARTED: return "never_started";
	case WF_STOPPED: return "stopped_after";
	case WF_OUT_OF_ORDER: return "out_of_order";
	}
	return "?";
}

bool wf_repairs(enum wf_group g, bool repair_out_of_order)
{
	return g == WF_NEVER_STARTED || g == WF_STOPPED || (g == WF_OUT_OF_ORDER && repair_out_of_order);
}

void wf_counts_init(struct wf_counts *c, size_t nsteps)
{
	memset(c, 0, sizeof(*c));
	c->nsteps = nsteps;
	c->stopped_after = xcalloc(nsteps ? nsteps : 1, sizeof(*c->stopped_after));
}

void wf_counts_release(struct wf_counts *c)
{
	free(c->stopped_after);
	memset(c, 0, sizeof(*c));
}

enum wf_group wf_counts_add(struct wf_counts *c, const bool *done, size_t *after)
{
	size_t a = 0;
	enum wf_group g = wf_group_of(done, c->nsteps, &a);

	c->keys++;
	if (g == WF_COMPLETE)
		c->complete++;
	else if (g == WF_NEVER_STARTED)
		c->never_started++;
	else if (g == WF_OUT_OF_ORDER)
		c->out_of_order++;
	else
		c->stopped_after[a]++;
	if (after)
		*after = a;
	return g;
}
