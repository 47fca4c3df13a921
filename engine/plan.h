/*
 * engine/plan.h
 *   spec, connector -> PLAN -> scan: for one check, describes both sides,
 *   resolves the key and the compared columns, and pairs each source
 *   column with its target column into one canonical class, or refuses the
 *   pair before a single row is read. Talks to servers only through
 *   conn_ops.describe_*.
 *
 * Invariants of a built struct plan:
 *   - nkey >= 1, or nkey == 0 and multiset; key[i] and cmp[i] pair one column of each side with a
 *     canon_col per side that share cls and options;
 *   - each side streams read[s][0..nread[s]) (indexes into desc[s].cols):
 *     first the nkey key columns, then the ncmp compared columns, then the
 *     ncarry carried columns, in plan order, so a streamed row's value i is
 *     key i, value nkey + j is compared column j; the side a repair writes
 *     then streams every other column of its table too, so that its rows
 *     carry their whole before-image;
 *   - pos[s][c] is where column c of side s sits in a streamed row, or -1.
 */
#ifndef TALLY_PLAN_H
#define TALLY_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../connectors/connector.h"
#include "canon.h"
#include "base/err.h"
#include "spec.h"

enum { SIDE_SOURCE = 0, SIDE_TARGET = 1 };

struct plan_col {
	size_t col[2];              /* index into desc[side].cols */
	struct canon_col canon[2];
	char *norm;                 /* owned: normalization in force ("scale 2"), NULL when exact */
	double tolerance;           /* floats equal within it (>= 0), or -1: exactly */
	struct canon_map *map;      /* owned: the map canon[0] reads through, or NULL */
};

/*
 * A column pair of a schema check's table that tally refuses to compare
 * (a finding, not an error: the rest of the table is compared). Strings
 * owned; detail and hint may be "".
 */
struct plan_refused {
	char *source, *target;          /* column names */
	char *source_type, *target_type;
	char *message, *detail, *hint;  /* the refusal, as plan_pair() words it */
};

struct plan {
	const struct spec_check *check;   /* borrowed */
	bool multiset;                    /* match: multiset: nkey == 0, a row's key is all its values */
	struct tabdesc desc[2];
	const char *driver[2];            /* borrowed: "postgres", "mariadb", "snapshot" */
	const char *engine[2];            /* borrowed: whose text the values are: "postgres",
	                                     "mariadb" (a snapshot's: the engine it was taken from) */
	size_t nkey;
	struct plan_col *key;
	size_t ncmp;
	struct plan_col *cmp;
	size_t nread[2];
	size_t *read[2];
	/*
	 * With columns: given, how many columns of the default list (non-key,
	 * on both sides, not ignored) it leaves out; -1 without columns:.
	 */
	long left_out;
	/* Non-key columns present on one side only, not compared (owned names). */
	char **only[2];
	size_t nonly[2];
	/* Checks of a schema check only: column pairs left out as refused. */
	struct plan_refused *refused;
	size_t nrefused;

	/*
	 * Repair: the side its script writes (SIDE_SOURCE, SIDE_TARGET) or -1,
	 * and why there is none when the spec asked for one (static string).
	 */
	int repair_side;
	const char *no_repair;
	/* Column pairs not compared but copied by an INSERT (same name, comparable). */
	size_t ncarry;
	struct plan_col *carry;
	long *pos[2];
	/*
	 * Each column of the written side read as its own type (no options),
	 * for writing its before-image; own_raw[c]: no class, passed as SV_RAW.
	 */
	struct canon_col *own;
	bool *own_raw;
	/*
	 * Per compared column, its tolerance (>= 0) or -1; NULL when no
	 * column has one. Such columns stay out of row hashes.
	 */
	double *tol;
	/*
	 * ignore_newer_than (engine/newer.h): the compared column whose value
	 * decides, or -1 (plan_build's value; newer_resolve sets it), and the
	 * run's cutoff, in microseconds since 2000-01-01 UTC.
	 */
	long newer_col;
	int64_t newer_cutoff;
};

/*
 * Describes both sides of check through src and tgt and builds the plan.
 * Errors name the spec position (FILE:LINE:COL) when the spec is at fault,
 * else the system, table and column.
 */
int plan_build(struct plan *p, const struct spec *spec, const struct spec_check *check,
               struct conn *src, struct conn *tgt, struct tally_err *err);

void plan_release(struct plan *p);

/*
 * Pairs a source and a target column: fills out[0], out[1] (cls shared)
 * or fails with ERR_SCHEMA naming both types. as_key asks for a class whose
 * order both servers share. The engine names (sdriver, tdriver) only decide,
 * by being equal, when two identical native types of one engine may be
 * compared as text; what a driver's values look like is in the coldesc
 * (raw_bits, bits_varying). Pure: exported for tests.
 */
int plan_pair(const struct coldesc *s, const struct coldesc *t,
              const char *sdriver, const char *tdriver, bool as_key,
              struct canon_col out[2], struct tally_err *err);

/*
 * A column read as its own type, with no options
 * (before-images, snapshots): its class, or *raw set when its text is taken
 * as it is (no class, or one whose canonical form is not the exact text:
 * JSON, addresses, bit strings).
 */
struct canon_col plan_own_class(const struct coldesc *cd, bool *raw);

/*
 * Does key column k on side sort, on its server, in the order of its
 * canonical bytes' class? False when it is read as another class (a uuid
 * parsed from text): such a side is sorted locally.
 */
bool plan_key_native(const struct plan_col *k, int side);

/*
 * The scan request for one side of the check: its table or query, where
 * and key (key: p->nkey slots owned by the caller, filled here with the
 * side's key columns). Columns, bounds and limit are left empty.
 */
void plan_scan_req(const struct plan *p, int side, size_t *key, struct scan_req *req);

/* Names of column i of the plan's compared (or key) columns on a side. */
static inline const char *plan_colname(const struct plan *p, const struct plan_col *c, int side)
{
	return p->desc[side].cols[c->col[side]].name;
}

#endif
