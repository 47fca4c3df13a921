/*
 * connectors/snapfile/snapfile.h
 *   SOURCE: a snapshot file standing in for one side of a check
 *   (`driver: snapshot, path: FILE`), so a system can be compared after it
 *   is gone: before and after a cut-over, yesterday against today. `tally
 *   snapshot` writes the file (engine/snapfile.c); this driver reads it and
 *   yields the rows exactly as the live driver did, so they compare the
 *   same way.
 *
 * The file is one zstd stream of:
 *   "TALLYSNAP1\n"                     magic, 11 bytes
 *   u32 n, n bytes                     header, JSON: {"format": 1,
 *                                      "canon_version", "tally_version",
 *                                      "taken_at", "spec", "check", "side",
 *                                      "system", "driver", "server",
 *                                      "position", "table": {tabdesc},
 *                                      "key": [column indexes]}
 *   records, in bytewise order of the key:
 *     u32 n (> 0)                      bytes of the record that follow
 *     u8[16]                           row hash: XXH3-128 of the row's
 *                                      canonical bytes (key, then every
 *                                      column), each value read as its own
 *                                      type
 *     u32 k, k bytes                   the canonical key
 *     per column of the table:         u32 len (0xFFFFFFFF for NULL), then
 *                                      len bytes: the value as the live
 *                                      driver yielded it
 *   u32 0                              end of the records
 *   u32 n, n bytes                     trailer, JSON: {"rows": N, "chunks":
 *                                      [{"rows", "last_key", "sum"}, ...]},
 *                                      the digest of every run of chunk_rows
 *                                      rows (as rowhash.h sums them)
 * Integers are little-endian.
 */
#ifndef TALLY_SNAPFILE_H
#define TALLY_SNAPFILE_H

#include "../connector.h"

#define SNAPFILE_MAGIC "TALLYSNAP1\n"
#define SNAPFILE_MAGIC_LEN 11
#define SNAPFILE_FORMAT 1

extern const struct conn_ops snapfile_ops;

#endif
