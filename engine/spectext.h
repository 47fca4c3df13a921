/*
 * engine/spectext.h
 *   SPEC helper: what the text of a spec file must be before libfyaml
 *   reads it. Performs no I/O.
 *
 * libfyaml 0.7 (Debian 12's) loops forever or crashes on some malformed
 * input, which the spec fuzzer (tests/fuzz/fuzz_spec.c) found:
 *   - a stray byte that is not UTF-8 after an unknown directive ("%A\xf2")
 *     makes the parser loop forever;
 *   - an explicit key ("? key:") followed by a tab where libfyaml expects
 *     indentation makes it fail, then crash while it frees the parser
 *     (use after free in its cleanup, libfyaml issue #57), also with NUL
 *     bytes;
 *   - two quotes in a row inside a single-quoted scalar ('a''''b') are
 *     read wrong (a''' instead of a''b: a where clause changed without a
 *     word), and leak memory.
 * tally's specs need none of that: YAML allows neither NUL bytes nor text
 * that is not UTF-8, no key of a spec is a complex key, and such a string
 * can be written in double quotes, so these are refused here with a
 * position, before libfyaml sees the text.
 */
#ifndef TALLY_SPECTEXT_H
#define TALLY_SPECTEXT_H

#include <stddef.h>

/*
 * Checks text[0..len): UTF-8, no NUL byte, no explicit key indicator
 * ('?' followed by a blank where a node starts, outside quoted and block
 * scalars and comments), no run of four quotes or more that a
 * single-quoted scalar goes on after. Returns 0, or -1 with the 1-based
 * line and column (in characters) of the offending byte and a lowercase
 * reason in why (128 bytes hold any; it never quotes the text).
 */
int spectext_check(const char *text, size_t len, int *line, int *col, char *why, size_t whylen);

#endif
