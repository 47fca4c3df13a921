/*
 * tests/fuzz/fuzz_jcanon.c
 *   Fuzz target for the JSON canonicalizer (engine/jcanon.h). The
 *   first byte picks the reader: 't', 'n', 'b' or 'a' a PostgreSQL array
 *   of text, numbers, booleans or JSON documents; anything else JSON. The
 *   rest is the input. What is accepted is canonical: canonicalizing the
 *   output again gives it back byte for byte, and it holds no whitespace
 *   outside strings. What is refused fails with ERR_DATA, a message that
 *   gives the byte offset, and the output buffer as it was.
 */
#include <stdbool.h>
#include <string.h>

#include "engine/jcanon.h"
#include "fuzz.h"

#define PREFIX "prefix:"
#define PREFIX_LEN (sizeof(PREFIX) - 1)

static int mode_of(uint8_t c)
{
	switch (c) {
	case 't': return PGARRAY_TEXT;
	case 'n': return PGARRAY_NUMBER;
	case 'b': return PGARRAY_BOOL;
	case 'a': return PGARRAY_JSON;
	default: return -1;
	}
}

/* No byte of whitespace outside a string. */
static bool compact(const char *s, size_t n)
{
	bool in_str = false;

	for (size_t i = 0; i < n; i++) {
		if (in_str) {
			if (s[i] == '\\')
				i++;
			else if (s[i] == '"')
				in_str = false;
		} else if (s[i] == '"') {
			in_str = true;
		} else if (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
			return false;
		}
	}
	return !in_str;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf out = BUF_INIT, again = BUF_INIT;
	struct tally_err err;
	const char *in;
	size_t n;
	int mode, rc;

	if (size == 0)
		return 0;
	mode = mode_of(data[0]);
	in = (const char *)data + 1;
	n = size - 1;
	err_clear(&err);
	buf_addstr(&out, PREFIX);
	if (mode < 0)
		rc = jcanon(&out, in, n, &err);
	else
		rc = jcanon_pgarray(&out, in, n, (enum pgarray_elem)mode, &err);
	FUZZ_ASSERT(out.len >= PREFIX_LEN && memcmp(out.data, PREFIX, PREFIX_LEN) == 0);
	if (rc == 0) {
		const char *c = out.data + PREFIX_LEN;
		size_t clen = out.len - PREFIX_LEN;

		FUZZ_ASSERT(clen > 0);
		FUZZ_ASSERT(compact(c, clen));
		FUZZ_ASSERT(jcanon(&again, c, clen, &err) == 0);
		FUZZ_ASSERT(again.len == clen && memcmp(again.data, c, clen) == 0);
	} else {
		FUZZ_ASSERT(rc == -1);
		FUZZ_ASSERT(err.kind == ERR_DATA);
		FUZZ_ASSERT(strstr(err.msg, "byte") != NULL);
		FUZZ_ASSERT(out.len == PREFIX_LEN && out.data[PREFIX_LEN] == '\0');
	}
	buf_release(&out);
	buf_release(&again);
	return 0;
}
