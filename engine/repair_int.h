/*
 * engine/repair_int.h
 *   Private to the repair module: repair.c (repair_info), repair_rec.c
 *   (the record writer), repair_step.c (steps, fragments, foreign-key
 *   order) and repair_script.c (the scripts). Nothing else includes it.
 *
 *
 * A record is one repaired row: its kind, for an UPDATE the set of changed
 * columns, its canonical key (for rows two checks repair), and two row
 * texts of SQL literals:
 *   a  the before-image (every non-generated column) as read from the
 *      written side: the guard of an UPDATE or DELETE, and what the
 *      rollback writes back;
 *   b  the key and the new values: what an INSERT or UPDATE writes, and
 *      the guard of its rollback.
 * Assembling groups records into steps (one INSERT step, one DELETE step,
 * one UPDATE step per set of changed columns, per check) and writes each
 * step's a and b rows to fragment files of complete
 * "INSERT INTO stage VALUES ..." batches; the repair and rollback scripts
 * then copy the same fragments, with different blocks around them.
 */
#ifndef TALLY_REPAIR_INT_H
#define TALLY_REPAIR_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "base/buf.h"
#include "repair.h"

#define BATCH_ROWS 1000
#define HEADER_END "-- end of tally header"

enum {
	REC_INSERT = 'I', REC_UPDATE = 'U', REC_DELETE = 'D', REC_FAILED = 'F',
	REC_MS_INSERT = 'i', REC_MS_DELETE = 'd',     /* copies of keyless rows: counts end the row text */
	REC_GENERATED = 'G',        /* a row changed only in generated columns: counted, not written */
	REC_WFKEY = 'W',            /* the workflow key (in the key field) of the record that follows */
};

static inline size_t *idx_push(size_t *a, size_t *n, size_t v)
{
	a = xrealloc(a, (*n + 1) * sizeof(size_t));
	a[(*n)++] = v;
	return a;
}

static inline bool idx_has(const size_t *a, size_t n, size_t v)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] == v)
			return true;
	return false;
}

struct frag {
	char stage[32];
	char *path;                 /* owned, in the output's temporary directory */
	FILE *fp;
	uint64_t rows;
	size_t *cols;               /* the stage's columns, indexes into the table's */
	size_t ncols;
};

struct rcheck;

struct step {
	enum step_kind kind;        /* in the repair script */
	struct rcheck *rc;
	size_t *set;                /* UPDATE: columns set; INSERT: columns inserted */
	size_t nset;
	uint8_t *colset;            /* UPDATE: bitmap over the compared columns */
	struct frag a;
	struct frag b;
	uint64_t rows;
	size_t table;
};

/*
 * Digests of the rows a table written by several checks gets, by key. For
 * a row that checks UPDATE, also the digest of its before-image and the
 * columns written so far with their literals ("written": per column, its
 * index and the literal, each length-prefixed), so that a later check that
 * writes other columns of the row combines with them: its guard expects
 * what the earlier checks wrote, and its rollback runs before theirs.
 */
struct dedupe {
	struct dd_slot {
		uint8_t key[16];
		uint64_t content;
		uint64_t image;         /* XXH3 of the before-image, for an UPDATE */
		uint8_t kind;           /* REC_* of the first record */
		size_t check;
		bool used;
		struct buf *written;    /* UPDATE: owned, NULL otherwise */
	} *slot;
	size_t cap, n;
};

struct rsys;

struct rcheck {
	size_t index;
	size_t group;               /* union-find: checks whose repairs of shared rows depend on each other */
	const char *withheld;       /* the group's conflict, borrowed from the assembly; NULL: none */
	const struct repair_info *ri;
	struct rsys *sys;
	struct repair_result *res;
	size_t table;
	struct step *ins, *del;
	struct step *msins, *msdel;
	struct step **upd;
	size_t nupd;
};

struct rsys {
	const char *name;
	const struct spec_system *spec;
	const struct conn_ops *ops;
	struct step **steps;
	size_t nsteps;
	const struct tabdesc **tables;
	size_t *writers;
	struct dedupe **dd;
	size_t ntables;
	uint64_t ins, upd, del;
	char *failed;
	char file[300], rollback[300], xxh128[33], rb_xxh128[33];
};

struct assembly {
	const struct repair_asm *a;
	struct rsys **sys;
	size_t nsys;
	struct rcheck **checks;
	size_t nchecks;
	size_t nfrag;
	struct buf lit, rec;
	struct buf adjusted;        /* a combined UPDATE's before-image (dedupe) */
	char **conflicts;           /* owned reasons, one per conflict found */
	size_t nconflicts;
};

/* engine/repair_step.c */
void repair_assembly_free(struct assembly *as);
struct rsys *repair_sys_get(struct assembly *as, const struct repair_info *ri);
size_t repair_table_get(struct rsys *s, const struct tabdesc *t);
int repair_frag_close(struct frag *f, struct tally_err *err);
int repair_read_part(struct assembly *as, struct rcheck *c, const char *path, struct tally_err *err);
/* After every part is read: each check's withheld from its group's conflict, if any. */
void repair_groups_settle(struct assembly *as);
/* Splits a row text "(l1, l2, ...)" into its n literals; false when it does not hold n. */
bool repair_split_row(const char *row, size_t len, size_t n, size_t *off, size_t *lens);
enum step_kind repair_kind_in(const struct step *st, bool rollback);
bool repair_inserts(enum step_kind k);
struct step **repair_script_steps(const struct rsys *s, bool rollback, size_t *nout, bool *cycle);

#endif
