/*
 * engine/outdir.h
 *   report, repair -> OUTDIR: the output directory and its atomic files.
 *   Every file is written under a private temporary directory inside the
 *   output directory and renamed into place only when complete, so nothing
 *   half-written ever carries a final name. report.json is published last:
 *   when it exists, the run that wrote it is over, and its "status" tells
 *   how it ended.
 *
 * The directory is created mode 0700 and files mode 0600: they hold
 * production data.
 */
#ifndef TALLY_OUTDIR_H
#define TALLY_OUTDIR_H

#include "err.h"

struct outdir {
	char *path;     /* owned: the output directory */
	char *tmp;      /* owned: path/.tally-tmp-XXXXXX */
};

/*
 * Creates path (and its parents) if missing, removes the outputs of an
 * earlier run (report.json first, then diff.ndjson.zst, repair.*.sql and
 * rollback.*.sql and their .zst forms) and makes the temporary directory.
 */
int outdir_open(struct outdir *o, const char *path, struct tally_err *err);

/* Creates tmp/name (mode 0600, truncated) and returns its descriptor in *fd. */
int outdir_create(const struct outdir *o, const char *name, int *fd, struct tally_err *err);

/* Renames tmp/name to path/name after an fsync of the directory entry's data. */
int outdir_publish(const struct outdir *o, const char *name, struct tally_err *err);

/* Returns path/name, owned by the caller. */
char *outdir_file(const struct outdir *o, const char *name);

/* Removes the temporary directory and anything left in it; accepts a zeroed struct. */
void outdir_close(struct outdir *o);

#endif
