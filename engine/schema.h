/*
 * engine/schema.h
 *   spec, catalogs -> SCHEMA -> spec: expands each schema check (sides
 *   that name a schema) into one ordinary check per table both sides hold,
 *   named "<check>.<table>", and records the tables found on one side only
 *   as findings of the spec. Runs before planning, so everything after it
 *   sees hand-written checks only. Reads both catalogs through
 *   conn_ops.list_tables, nothing else.
 */
#ifndef TALLY_SCHEMA_H
#define TALLY_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"
#include "spec.h"

/*
 * The pairing of two schemas' tables. pairs are in source name order;
 * indexes point into the name arrays given to schema_match_tables and
 * into the schema's overrides (-1: none).
 */
struct schema_pair {
	size_t src, tgt;
	long over;
};

struct schema_match {
	struct schema_pair *pairs;
	size_t npairs;
	size_t *src_only;   /* source tables no target table matches (after include/exclude) */
	size_t nsrc_only;
	size_t *tgt_only;
	size_t ntgt_only;
};

void schema_match_release(struct schema_match *m);

/*
 * Pairs tables: first the overrides of sc (tables: NAME, with target:
 * for a renamed table), then equal names, then names equal but for case
 * (ASCII); each table pairs once. include and exclude (fnmatch globs on
 * the source name, and on the target's for target tables) leave tables
 * out, unless an override names them. Names must be sorted bytewise.
 * Pure. An override naming a table that is not there fails with
 * ERR_SPEC, "FILE:LINE:COL: check 'NAME': ...", file naming the spec.
 */
int schema_match_tables(const struct spec_schema *sc, const char *file, const char *check,
                        const char *const *src, size_t nsrc, const char *const *tgt, size_t ntgt,
                        struct schema_match *out, struct tally_err *err);

struct tabentry;

/*
 * Fills c (zeroed first; release with spec_check_release) with the check
 * of one pair of tables of schema check parent, as the expansion makes
 * it: named "<parent>.<source table>", keyed as the catalogs say, with
 * override o (NULL for none) applied. For tally init as well.
 */
void schema_table_check(struct spec_check *c, const struct spec_check *parent, const struct tabentry *se,
                        const struct tabentry *te, const struct spec_check *o);

/*
 * Expands every schema check of spec in place, reading both catalogs
 * (a session per side and check, closed before returning). Checks keep
 * their order; a schema check's tables take its place. Tables on one
 * side only become spec->findings. connect_timeout in seconds, 0: the
 * driver's default. A system that is a snapshot file is refused.
 */
int schema_expand(struct spec *spec, int connect_timeout, struct tally_err *err);

/*
 * --check names after expansion: a schema check's name stands for all of
 * its tables. Returns a new array (the strings borrowed from only and the
 * spec) in *out; *nout its length.
 */
void schema_select(const struct spec *spec, char *const *only, size_t nonly, char ***out, size_t *nout);

#endif
