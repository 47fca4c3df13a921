/*
 * engine/diffkeys.h
 *   diff.ndjson.zst -> DIFFKEYS -> assemble: which differences are new
 *   since the previous run and which are resolved since, by key. Each line
 *   of a diff file is reduced to a 64-bit digest (XXH3) of its check name
 *   and its key as canonical JSON (sorted, compact); a multiset line, whose
 *   key is null, stands for its row: the digest takes its kind and values.
 *   A file is read streaming; memory is one slot per distinct difference.
 */
#ifndef TALLY_DIFFKEYS_H
#define TALLY_DIFFKEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

struct keyset {
	uint64_t *h;        /* owned: open addressing, 0 marks an empty slot */
	uint32_t *check;    /* owned: [slot] index into names */
	size_t cap, n;
	char **names;       /* owned: the check names seen, in order */
	size_t nnames;
};

void keyset_init(struct keyset *s);
void keyset_release(struct keyset *s);

/* Adds digest h of check; returns true when it was new to the set. */
bool keyset_add(struct keyset *s, const char *check, uint64_t h);
bool keyset_has(const struct keyset *s, uint64_t h);

/*
 * The digest of one diff line (len bytes, no newline); *check gets the
 * check name, owned by the caller. Returns 0, 1 for a line that is no
 * difference (kind "in_flight", a row being written: --recheck) with
 * nothing set, or a workflow's line ("kind": "workflow", which
 * names no check), or -1 when the line is not a diff line.
 */
int diffkeys_digest(const char *line, size_t len, uint64_t *h, char **check);

/* Adds every difference line of the zstd diff file at path (err names path and line number). */
int diffkeys_read(struct keyset *s, const char *path, struct tally_err *err);

/*
 * Counts per check name: in now but not in before (added), in before
 * but not in now (removed). fn is called once per check of either set
 * with its counts.
 */
void diffkeys_compare(const struct keyset *before, const struct keyset *now,
                      void (*fn)(void *ctx, const char *check, uint64_t added, uint64_t removed), void *ctx);

#endif
