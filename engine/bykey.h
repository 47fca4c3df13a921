/*
 * engine/bykey.h
 *   diff lines -> BYKEY -> stream -> merge: reads again, on both sides,
 *   exactly the rows of a set of keys (the differences a run found), in
 *   batches of BYKEY_BATCH keys per statement, never by scanning the
 *   table, and compares them as a chunk would: canon, rowhash, merge.
 *   Used by --recheck (recheck.c), after the comparison, and by tally
 *   verify (verify.c), after a repair.
 *
 * A batch is one scan whose condition is the check's where AND
 *   k IN (l1, l2, ...)                          one key column
 *   (k1, k2) IN ((l1, m1), (l2, m2), ...)       several (row constructors,
 *                                               which both engines take)
 * with literals from the side's own bound_literal (exact, safe whatever
 * the session's sql_mode). A key holding NULL is asked for by its own
 * term, "(k1 IS NULL AND k2 = m)". The rows of every batch go through a
 * local sort (sorter.h) into tally's bytewise key order; a row whose
 * canonical key is not in the set (a case-insensitive collation matching
 * 'a' for 'A') is dropped, so the merge sees exactly the keys asked for.
 *
 * Memory: the set holds every key and its first line; the rows read go
 * through the sorter's budget.
 */
#ifndef TALLY_BYKEY_H
#define TALLY_BYKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "../connectors/connector.h"
#include "base/buf.h"
#include "base/err.h"
#include "merge.h"
#include "plan.h"

#define BYKEY_BATCH 500

/* What became of a difference when its key was read again. */
enum bykey_outcome {
	BYKEY_RESOLVED,     /* the rows are now equal (or both gone) */
	BYKEY_SAME,         /* still different, exactly the same way (the same line) */
	BYKEY_NEW,          /* different in a new way: another kind, columns or values */
	BYKEY_NEWER,        /* skipped: the row is now newer than the cutoff on a side (bykey_env.skip_newer) */
};

const char *bykey_outcome_name(enum bykey_outcome o);

/*
 * The differences of one check, each with its canonical key. Invariants:
 * line[i], key[i], outcome[i] and fresh[i] describe difference i, in the
 * order added; once sealed, order[] lists the indexes by key (bytewise),
 * and a key occurs once (a second line with the same key is refused).
 */
struct bykey_set {
	size_t n, cap;
	json_t **line;              /* owned: the line as first written */
	struct buf *key;            /* owned: its canonical key */
	size_t *order;              /* owned, after bykey_set_seal */
	enum bykey_outcome *outcome;  /* after bykey_compare */
	json_t **fresh;             /* owned: the line it would get now, NULL when resolved */
	bool sealed;
};

void bykey_set_init(struct bykey_set *s);
void bykey_set_release(struct bykey_set *s);

/*
 * Adds a difference line of check p (consumed, even on failure): its key
 * object, rendered as diffout writes it (source values for missing and
 * changed rows, target values for extra ones), is read back into the
 * canonical key. Fails with ERR_DATA when the line has no key (match:
 * multiset) or a key value that does not read as its column.
 */
int bykey_set_add(struct bykey_set *s, const struct plan *p, json_t *line, struct tally_err *err);

/* Sorts the keys; fails with ERR_DATA on a key added twice. */
int bykey_set_seal(struct bykey_set *s, struct tally_err *err);

/* The index of the difference with canonical key k, or -1 (sealed set). */
long bykey_set_find(const struct bykey_set *s, const uint8_t *k, size_t len);

/*
 * Appends the condition selecting keys[0..n) (canonical keys of nkey
 * columns) to out, for the columns keycols (indexes into t->cols) of a
 * table or query of ops's engine. Pure: no session.
 */
int bykey_cond(struct buf *out, const struct conn_ops *ops, const struct tabdesc *t, const size_t *keycols,
               size_t nkey, const struct buf *const *keys, size_t n, struct tally_err *err);

/*
 * Called for every key still different, in key order, with the rows as
 * read now (for a repair writer) and whether the difference is the same
 * as before; may be NULL.
 */
typedef int (*bykey_diff_fn)(void *ctx, size_t idx, enum bykey_outcome o, enum diff_kind kind,
                             const struct mrow *src, const struct mrow *tgt, const uint8_t *changed,
                             struct tally_err *err);

struct bykey_env {
	const struct plan *plan;
	const char *check;          /* the check's name, as lines carry it */
	struct conn *conn[2];       /* open sessions, source and target */
	const char *system[2];
	const char *tmpdir;         /* where the local sort may write runs (must exist) */
	size_t sort_budget;
	size_t batch;               /* keys per statement; 0: BYKEY_BATCH */
	bykey_diff_fn on_diff;
	void *ctx;
	/*
	 * Apply the plan's ignore_newer_than (plan.newer_col, newer_cutoff): a
	 * key whose row is newer on either side is not compared (BYKEY_NEWER).
	 */
	bool skip_newer;
	uint64_t rows[2];           /* out: rows read per side */
	uint64_t statements[2];     /* out: statements run per side */
};

/*
 * Reads every key of the sealed set s again on both sides and fills
 * s->outcome and s->fresh. The set's lines must be this plan's.
 */
int bykey_compare(struct bykey_env *env, struct bykey_set *s, struct tally_err *err);

#endif
