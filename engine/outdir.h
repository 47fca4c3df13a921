/*
 * engine/outdir.h
 *   report, repair -> OUTDIR: the output directory and its atomic files.
 *   Every file is written under a private temporary directory inside the
 *   output directory; only when all of a run's outputs are written and
 *   synced are they renamed into place, report.json last, so nothing
 *   half-written ever carries a final name, and a diff file or script
 *   under its final name always has the report that names it. When
 *   report.json exists, the run that wrote it is over, and its "status"
 *   tells how it ended.
 *
 * The directory is created mode 0700 and files mode 0600: they hold
 * production data.
 */
#ifndef TALLY_OUTDIR_H
#define TALLY_OUTDIR_H

#include "base/err.h"
#include "base/zfile.h"

struct outdir {
	char *path;         /* owned: the output directory */
	char *tmp;          /* owned: path/.tally-tmp-XXXXXX */
	char **pending;     /* owned: files written in tmp, not yet published, in order */
	size_t npending;
};

/*
 * Creates path (and its parents) if missing and makes the temporary
 * directory. It removes nothing: each run has a directory of its own
 * (runs.h), and a resumed run replaces its own files by rename.
 */
int outdir_open(struct outdir *o, const char *path, struct tally_err *err);

/*
 * Creates tmp/name (mode 0600) and opens it as z (zfile_fdopen: level and
 * flags as there); messages name the file by its final name, path/name.
 * The file is pending until outdir_commit() or outdir_discard().
 */
int outdir_create(struct outdir *o, const char *name, struct zfile *z, int level, unsigned flags,
                  struct tally_err *err);

/* tmp/name, owned by the caller: a scratch file that is never published. */
char *outdir_scratch(const struct outdir *o, const char *name);

/*
 * Publishes every pending file, each already closed by zfile_close() (so
 * written and synced): renames them into place in the order written,
 * report.json last, syncing the directory before and after it. When any
 * step fails, every file this call renamed is removed again, so nothing
 * of the set remains under a final name; returns -1 with the error.
 * Either way nothing is pending afterwards.
 */
int outdir_commit(struct outdir *o, struct tally_err *err);

/* Removes everything in the temporary directory (pending and scratch files). */
void outdir_discard(struct outdir *o);

/* fsync(2) of a directory, so that the names renamed into it last: checked. */
int outdir_sync_dir(const char *path, struct tally_err *err);

/* Returns path/name, owned by the caller. */
char *outdir_file(const struct outdir *o, const char *name);

/* Removes the temporary directory and anything left in it; accepts a zeroed struct. */
void outdir_close(struct outdir *o);

#endif
