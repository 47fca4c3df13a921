/*
 * tests/fuzz/fuzz.h
 *   What the fuzz targets share. Each tests/fuzz/fuzz_<target>.c defines
 *   LLVMFuzzerTestOneInput(), which libFuzzer calls with generated inputs
 *   (meson -Dfuzz=true, clang) and replay.c with the files of the
 *   target's corpus and regression directories (every build, every
 *   compiler). A target checks properties of what it calls, not only that
 *   it returns: FUZZ_ASSERT() reports a broken property on stderr and
 *   aborts, so libFuzzer saves the input as a crash and a replay fails.
 */
#ifndef TALLY_FUZZ_H
#define TALLY_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static inline _Noreturn void fuzz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: property does not hold: %s\n", file, line, what);
	abort();
}

#define FUZZ_ASSERT(cond) ((cond) ? (void)0 : fuzz_fail(__FILE__, __LINE__, #cond))

#endif
