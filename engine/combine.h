/*
 * engine/combine.h
 *   shard outputs -> COMBINE -> assemble: `tally merge`, which combines
 *   the work directories that `tally check --shard K/N` runs kept into one
 *   run's outputs. Not to be confused with merge.h, the streaming merge of
 *   a chunk's two sides.
 */
#ifndef TALLY_COMBINE_H
#define TALLY_COMBINE_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Checks that dirs (borrowed) are every shard of one run, each chunk done
 * by exactly one of them (and the reconciliation by shard 0), then
 * assembles the outputs into out_dir. Prints the summary (unless quiet)
 * and any error; returns the exit status: 0 consistent, 1 differences,
 * 2 trouble.
 */
int combine_shards(const char *out_dir, char **dirs, size_t ndirs, bool compress, bool quiet);

#endif
