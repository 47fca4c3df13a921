/*
 * engine/merge.h
 *   rowhash -> MERGE -> report, repair: walks two key-ordered row streams
 *   side by side and classifies every key as missing, extra or changed.
 *   Performs no I/O; rows come from a struct msource, verdicts go to a
 *   struct merge_sink. Memory is two rows and two previous keys, whatever
 *   the table size.
 *
 * The merge also checks what it depends on: each stream's keys must
 * strictly increase in memcmp order of their canonical encoding. A stream
 * that repeats a key or goes backwards stops the merge with ERR_DATA,
 * because a verdict built on a wrong order would be false.
 */
#ifndef TALLY_MERGE_H
#define TALLY_MERGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../connectors/connector.h"
#include "base/err.h"
#include "rowhash.h"
#include "spec.h"

/*
 * A row as the merge sees it: the canonical key, then the canonical
 * compared values, in one byte run. off[i]..off[i+1] is compared column i,
 * relative to bytes + keylen; off has ncmp + 1 entries.
 */
struct mrow {
	const uint8_t *bytes;
	size_t keylen;
	size_t len;             /* keylen + length of the values */
	const uint32_t *off;
	struct rowhash hash;    /* of all len bytes */
	const struct rawrow *raw;   /* the values as the server sent them, for sinks; may be NULL */
};

struct msource {
	void *ctx;
	const char *side;       /* "source" or "target", for messages */
	/* 1 with *row set (borrowed until the next call), 0 at end, -1 error. */
	int (*next)(void *ctx, const struct mrow **row, struct tally_err *err);
	/* Optional (NULL): the key columns' names, nkey of them, for messages. Borrowed. */
	const char *const *keynames;
	size_t nkey;
};

enum diff_kind { DIFF_MISSING, DIFF_EXTRA, DIFF_CHANGED };

const char *diff_kind_name(enum diff_kind k);

/*
 * ignore_newer_than (engine/newer.h): a key whose row is newer than cutoff
 * on either side, by compared column col, is skipped: neither compared nor
 * passed to the sink, only counted (merge_stats.skipped).
 */
struct merge_newer {
	size_t col;
	int64_t cutoff;
	/* Optional (NULL): told of each key skipped (src or tgt may be NULL); -1 stops the merge. */
	int (*on_skip)(void *ctx, const struct mrow *src, const struct mrow *tgt, struct tally_err *err);
	void *ctx;
};

struct merge_sink {
	void *ctx;
	/*
	 * One difference. MISSING has src only, EXTRA tgt only, CHANGED both
	 * and a bitmap of the compared columns that differ (bit i of byte i/8).
	 * Rows are borrowed for the call. Returns 0, or -1 to stop the merge.
	 */
	int (*diff)(void *ctx, enum diff_kind kind, const struct mrow *src,
	            const struct mrow *tgt, const uint8_t *changed, struct tally_err *err);
	/*
	 * merge_multiset only: a row whose copies differ in number. MISSING:
	 * the source has more (row is the source's); EXTRA: the target has
	 * more, or, under ABSENT, has any (row is the target's). The surplus is
	 * source_copies - target_copies, or the other way round (under ABSENT,
	 * target_copies).
	 */
	int (*copies)(void *ctx, enum diff_kind kind, const struct mrow *row, uint64_t source_copies,
	              uint64_t target_copies, struct tally_err *err);
	/*
	 * Keys to skip as newer, or NULL (keyed merges only). With `all`
	 * (merge_run_all, merge_run_tol's all), a key on one side only is
	 * handed on whatever its age: the reconciliation decides it.
	 */
	const struct merge_newer *newer;
};

struct merge_stats {
	uint64_t missing;
	uint64_t extra;
	uint64_t changed;
	uint64_t matched;           /* keys on both sides with equal values */
	uint64_t skipped;           /* keys skipped as newer (merge_sink.newer) */
	struct chunkhash side[2];   /* [0] source, [1] target */
};

void merge_stats_init(struct merge_stats *st);

/*
 * Merges src and tgt under expect:
 *   EQUAL   key only in src: missing; only in tgt: extra; both, values
 *           differ: changed;
 *   SUBSET  as EQUAL, but a key only in tgt is not a difference;
 *   ABSENT  a key in both is extra (a record that should be gone); values
 *           are not compared; keys on one side only are as desired.
 * ncmp is the number of compared columns (the length of mrow.off - 1).
 * Adds to *st, which the caller initializes.
 */
int merge_run(struct msource *src, struct msource *tgt, size_t ncmp,
              enum spec_expect expect, const struct merge_sink *sink,
              struct merge_stats *st, struct tally_err *err);

/*
 * Compared columns with a tolerance: tol[i] >= 0 makes column i (a float)
 * equal when the two values differ by at most tol[i] (NaN equals NaN,
 * NULL only NULL); tol == NULL or tol[i] < 0 compares bytes. The row
 * hashes of such rows must leave those columns out (stream.c does).
 */
int merge_run_tol(struct msource *src, struct msource *tgt, size_t ncmp, const double *tol,
                  enum spec_expect expect, bool all, const struct merge_sink *sink,
                  struct merge_stats *st, struct tally_err *err);

/*
 * As merge_run, but every key found on one side only is passed to the sink
 * (MISSING with src, EXTRA with tgt alone), whatever expect says: a chunk
 * whose keys may belong to a neighbouring chunk on the other side hands
 * them on for reconciliation. Keys on both sides follow expect.
 */
int merge_run_all(struct msource *src, struct msource *tgt, size_t ncmp,
                  enum spec_expect expect, const struct merge_sink *sink,
                  struct merge_stats *st, struct tally_err *err);

/*
 * Rows without a key (match: multiset): each stream sorted by whole rows
 * (mrow.keylen covers the row), duplicates allowed. Counts the copies of
 * each distinct row on both sides and reports the difference through
 * sink->copies; st counts copies (missing, extra, matched).
 */
int merge_multiset(struct msource *src, struct msource *tgt, size_t ncmp, enum spec_expect expect,
                   const struct merge_sink *sink, struct merge_stats *st, struct tally_err *err);

/*
 * The index of the first of nkey key columns whose value in the canonical
 * key is NULL, or -1 when none is (or the key does not decode).
 */
long merge_key_null_column(const uint8_t *key, size_t keylen, size_t nkey);

/* memcmp order of two canonical keys. */
int merge_keycmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);

#endif
