/*
 * engine/plan_int.h
 *   PLAN: what plan.c (building, options) and plan_pair.c (type pairing)
 *   share; not for other modules, which include plan.h.
 */
#ifndef TALLY_PLAN_INT_H
#define TALLY_PLAN_INT_H

#include "plan.h"

/*
 * The class a type compares as on its own, or -1 when it has none across
 * engines (interval, arrays, types tally does not know).
 */
int plan_class_of(const struct coldesc *c);

/* How one side reads as cls: the engine's ways of sending a type (coldesc.raw_bits...). */
struct canon_col plan_side_col(enum cclass cls, const struct coldesc *c);

#endif
