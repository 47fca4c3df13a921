/*
 * engine/snapfile.h
 *   connector -> SNAPFILE -> file: `tally snapshot` reads one side of a
 *   check, every column, and writes it in bytewise key order to a snapshot
 *   file (format in connectors/snapfile/snapfile.h), with each row's hash
 *   and a digest per run of chunk_rows rows. A spec system
 *   `{ driver: snapshot, path: FILE }` then stands in for that side.
 *   ("Snapshot" alone is the database's: an exported transaction
 *   snapshot is a txsnap in code.)
 */
#ifndef TALLY_SNAPFILE_TAKE_H
#define TALLY_SNAPFILE_TAKE_H

#include "run.h"
#include "spec.h"

/*
 * Takes side (SIDE_SOURCE or SIDE_TARGET) of check into file, written
 * atomically. Returns the exit status: 0, or 2 after printing the error.
 */
int snapfile_take(const struct spec *spec, const struct spec_check *check, int side, const char *file,
                  const struct run_opts *opts);

#endif
