/*
 * engine/html.h
 *   assemble -> HTML -> outdir: report.html, the run for a reviewer to
 *   look at. One self-contained page: inline CSS, no script, no font, no
 *   image, nothing fetched; it reads the same with JavaScript off. It
 *   links only to the run's own files, by relative name (the scripts, the
 *   diff file).
 *
 * What it shows: the run (spec, times, status, the run's error), a
 * summary per check (the numbers of report.json), and per check the
 * differences by kind, where in the key space they sit (one cell per
 * chunk, and the chunks with differences with their key ranges, rows per
 * side and whether the chunk hashes matched), a sample of the differing
 * rows side by side (the first HTML_SAMPLE of each kind, differing
 * columns highlighted), the schema findings, and each repair script's
 * header with a link to the script.
 *
 * Every value from a server or a spec (table, column and check names,
 * row values, messages) is escaped: & < > " ' become entities, control
 * characters are shown as \xNN. The numbers carry data-field attributes
 * (a summary row data-check="NAME"; cells data-field="missing", ...), so
 * that a test can read them from the DOM and compare them with
 * report.json.
 *
 * The page is written like the other outputs: pending in the output's
 * temporary directory, published by outdir_commit() before report.json.
 */
#ifndef TALLY_HTML_H
#define TALLY_HTML_H

#include "assemble.h"
#include "base/err.h"
#include "outdir.h"
#include "report.h"

#define HTML_SAMPLE 20          /* differing rows shown per check and kind */
#define HTML_CHUNK_ROWS 50      /* chunks with differences listed per check */

/*
 * Writes report.html for r into o's temporary directory. in is what the
 * assembler read (run.json, the parts, and the scripts already written
 * to o), or NULL for a run that failed: then the page shows the run, its
 * error and its checks, without chunks, samples or scripts.
 */
int html_write(struct outdir *o, const struct run_report *r, const struct assemble_in *in, struct tally_err *err);

/* Appends s with & < > " ' as entities and control characters as \xNN (n bytes, or up to NUL when n is -1). */
void html_escape(struct buf *out, const char *s, long n);

#endif
