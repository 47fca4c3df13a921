/*
 * engine/base/nameset.h
 *   spec -> plan helper: a set of names, each tied to the index where it
 *   was first seen, found in constant expected time. The spec loader uses
 *   it to refuse duplicate names and resolve references without scanning
 *   every earlier item, so a spec of n checks or columns loads in O(n).
 *   Performs no I/O.
 *
 * Invariants: cap is 0 (nothing allocated yet) or a power of two at least
 * twice count, so a probe always ends at an empty slot. A name is borrowed:
 * it must stay valid and unchanged as long as the set holds it.
 */
#ifndef TALLY_NAMESET_H
#define TALLY_NAMESET_H

#include <stdbool.h>
#include <stddef.h>

struct nameset_slot {
	const char *name;       /* borrowed, len bytes; NULL marks an empty slot */
	size_t len;
	size_t index;
};

struct nameset {
	struct nameset_slot *slots; /* owned, cap entries */
	size_t cap;
	size_t count;
};

#define NAMESET_INIT { NULL, 0, 0 }

void nameset_init(struct nameset *set);
/* Frees the slots (not the names) and leaves the set empty and usable. */
void nameset_release(struct nameset *set);

/*
 * Adds the len bytes at name (any bytes, NUL included) with index.
 * Returns true when it was added; false when the name is already there,
 * with that earlier index in *first (which may be NULL) and the set
 * unchanged.
 */
bool nameset_add(struct nameset *set, const char *name, size_t len, size_t index,
                 size_t *first);

/* True when name is in the set, with its index in *index (may be NULL). */
bool nameset_find(const struct nameset *set, const char *name, size_t len, size_t *index);

#endif
