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
 *     bytes.
 * tally's specs need none of that: YAML allows neither NUL bytes nor text
 * that is not UTF-8, and no key of a spec is a complex key, so these are
 * refused here with a position, before libfyaml sees the text.
 */
#ifndef TALLY_SPECTEXT_H
#define TALLY_SPECTEXT_H

#include <stddef.h>

/*
 * Checks text[0..len): UTF-8, no NUL byte, no explicit key indicator
 * ('?' followed by a blank where a node starts, outside quoted and block
 * scalars and comments). Returns 0, or -1 with the 1-based line and
 * column (in characters) of the offending byte and a lowercase reason in
 * why (at least 64 bytes; it never quotes the text).
 */
int spectext_check(const char *text, size_t len, int *line, int *col, char *why, size_t whylen);

#endif
