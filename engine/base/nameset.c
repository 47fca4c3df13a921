/*
 * engine/base/nameset.c
 *   spec -> plan helper: open addressing with linear probing over XXH3
 *   hashes of the names; the table doubles when it would be half full.
 *   Performs no I/O.
 */
#include "nameset.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "buf.h"

#define NAMESET_MIN_CAP 16

/* The slot holding name, or the empty slot where it belongs. */
static size_t slot_of(const struct nameset_slot *slots, size_t cap, const char *name,
                      size_t len)
{
	size_t mask = cap - 1;
	size_t i = (size_t)XXH3_64bits(name, len) & mask;

	while (slots[i].name &&
	       (slots[i].len != len || memcmp(slots[i].name, name, len) != 0))
		i = (i + 1) & mask;
	return i;
}

static void grow(struct nameset *set)
{
	size_t cap = set->cap ? set->cap * 2 : NAMESET_MIN_CAP;
	struct nameset_slot *slots = xcalloc(cap, sizeof(*slots));

	for (size_t i = 0; i < set->cap; i++)
		if (set->slots[i].name)
			slots[slot_of(slots, cap, set->slots[i].name, set->slots[i].len)] =
				set->slots[i];
	free(set->slots);
	set->slots = slots;
	set->cap = cap;
}

void nameset_init(struct nameset *set)
{
	set->slots = NULL;
	set->cap = 0;
	set->count = 0;
}

void nameset_release(struct nameset *set)
{
	free(set->slots);
	nameset_init(set);
}

bool nameset_add(struct nameset *set, const char *name, size_t len, size_t index,
                 size_t *first)
{
	size_t i;

	if (nameset_find(set, name, len, first))
		return false;
	if ((set->count + 1) * 2 > set->cap)
		grow(set);
	i = slot_of(set->slots, set->cap, name, len);
	set->slots[i].name = name;
	set->slots[i].len = len;
	set->slots[i].index = index;
	set->count++;
	return true;
}

bool nameset_find(const struct nameset *set, const char *name, size_t len, size_t *index)
{
	size_t i;

	if (!set->cap)
		return false;
	i = slot_of(set->slots, set->cap, name, len);
	if (!set->slots[i].name)
		return false;
	if (index)
		*index = set->slots[i].index;
	return true;
}
