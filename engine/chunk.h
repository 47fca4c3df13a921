/*
 * engine/chunk.h
 *   plan -> CHUNK -> run: the chunk plan of a check. The source's
 *   connector proposes boundary keys (sampling or index stepping, never a
 *   full scan, connector.h plan_bounds); here they become canonical key
 *   prefixes, which are what the plan stores (run.json), fingerprints
 *   (shards must agree on it), hands out to shards, and decodes back into
 *   typed bound values that each side's connector writes as literals of
 *   its own dialect. Pure: no I/O.
 *
 * Chunk i holds the keys k with b[i-1] < k <= b[i] in each server's own
 * order (no lower bound for the first, no upper for the last). When both
 * servers' order of the key is tally's bytewise order ("exact"), a chunk
 * holds the same keys on both sides and its verdicts are final. Otherwise
 * a key near a boundary may fall into neighbouring chunks on the two
 * sides: such a plan has reconcile set, and rows a chunk finds on one side
 * only are matched across chunks at the end.
 */
#ifndef TALLY_CHUNK_H
#define TALLY_CHUNK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "../connectors/connector.h"
#include "base/buf.h"
#include "base/err.h"
#include "plan.h"

struct chunkplan {
	size_t n;               /* chunks: boundaries + 1 */
	size_t nbound;          /* key columns per boundary */
	uint8_t **b;            /* n - 1 canonical boundaries, owned */
	size_t *blen;
	double rows;            /* the source's estimate of its rows */
	bool exact[2];          /* that side reads in bytewise order (no local sort) */
	bool reconcile;         /* chunks may disagree on membership: match leftovers at the end */
	char fingerprint[33];   /* XXH3-128 of the boundaries, hex */
};

/* One chunk for the whole table. */
void chunkplan_single(struct chunkplan *cp, const bool exact[2]);

/*
 * Builds the plan from the source connector's boundaries (raw values),
 * encoding each with the key's source-side canonical class.
 */
int chunkplan_from_bounds(struct chunkplan *cp, const struct plan *p, const struct keybounds *kb,
                          const bool exact[2], struct tally_err *err);

/*
 * Chunk i is (b[i-1], b[i]] in each server's own order, which splits a
 * side's rows into disjoint chunks only if the boundaries increase in
 * that order too. They come in the source server's order; a side that
 * orders the key otherwise (another collation, MariaDB's UUID) may see
 * some of them out of order. Keeps the longest run of boundaries that
 * increases on both sides (greedily beyond CHUNK_CHAIN_MAX of them):
 * rank[s] is side s's dense rank of each boundary, NULL for a side that
 * orders by the canonical bytes. Returns how many were dropped.
 */
#define CHUNK_CHAIN_MAX 4096
size_t chunkplan_make_increasing(struct chunkplan *cp, const uint32_t *const rank[2]);

void chunkplan_release(struct chunkplan *cp);

/*
 * The lower (hi false) or upper bound of chunk i as cp->nbound values in
 * out; returns 0 with *has false when the chunk has no such bound. Text
 * values point into scratch, which must hold cp->nbound buffers.
 */
int chunk_bound(const struct chunkplan *cp, size_t i, bool hi, struct sqlval *out, struct buf *scratch,
                bool *has, struct tally_err *err);

/*
 * Decodes nkey canonical key values at p (a row's key) into out, for
 * continuing a page after it. Text values point into scratch[nkey].
 */
int chunk_key_vals(const uint8_t *p, size_t n, size_t nkey, struct sqlval *out, struct buf *scratch,
                   struct tally_err *err);

/* Shard k of n (0-based) takes chunk ids i with i % n == k. */
static inline bool chunk_in_shard(size_t id, unsigned k, unsigned n)
{
	return n <= 1 || id % n == k;
}

/*
 * The next page size, so that a page query takes about target seconds:
 * scaled by target / seconds, at most doubled or halved per step, kept
 * within [1000, 10000000] rows.
 */
uint64_t chunk_next_page(uint64_t page, double seconds, double target);

/*
 * The bounds of chunk i for a report: {"after": [v...] or null, "through":
 * [v...] or null}, the chunk holding keys k with after < k <= through
 * over the first nbound key columns. A value is a JSON number for an
 * integer, else a string (text as is, bytes as \\x hex, times in ISO form,
 * a uuid in 8-4-4-4-12 form). NULL when a bound cannot be decoded.
 */
json_t *chunk_bounds_json(const struct chunkplan *cp, size_t i);

/* run.json form: {"n", "nbound", "rows", "exact": [..], "reconcile", "fingerprint", "bounds": ["hex", ...]} */
json_t *chunkplan_json(const struct chunkplan *cp);
int chunkplan_from_json(struct chunkplan *cp, json_t *j, struct tally_err *err);

#endif
