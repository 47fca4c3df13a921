/*
 * tests/fuzz/fuzz_spec.c
 *   Fuzz target for the spec loader (engine/spec.h): any bytes as a spec
 *   file. A spec that loads holds every invariant of spec.h (valid unique
 *   names, resolved systems, table xor query, positions set, redacted
 *   dsns); one that does not fails with ERR_SPEC, a message that starts
 *   "fuzz.yaml:LINE:COL: " within the input and shows no password of a
 *   URI, and leaves the spec zeroed. Loading twice gives the same result.
 */
#include <stdbool.h>
#include <string.h>

#include "engine/spec.h"
#include "fuzz.h"

static bool valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '_' || s[i] == '-'))
			return false;
	return true;
}

/*
 * In every "scheme://user:password@" of s, the password is "***". A
 * redacted dsn and a message must not show one. A uri ends at a blank or
 * a quote, as for the redaction.
 */
static bool no_uri_password(const char *s)
{
	for (const char *p = strstr(s, "://"); p; p = strstr(p + 1, "://")) {
		const char *user = p + 3;
		size_t span = strcspn(user, "/@?# \t\n\r\f\v'\"");
		const char *colon = memchr(user, ':', span);

		if (user[span] != '@' || !colon)
			continue;
		if ((size_t)(user + span - colon - 1) != 3 || memcmp(colon + 1, "***", 3) != 0)
			return false;
	}
	return true;
}

static bool pos_in(struct spec_pos p, int lines)
{
	return p.line >= 1 && p.line <= lines && p.col >= 1;
}

static void check_side(const struct spec *s, const struct spec_side *sd, int lines)
{
	FUZZ_ASSERT(sd->system && sd->sys);
	FUZZ_ASSERT(sd->sys >= s->systems && sd->sys < s->systems + s->nsystems);
	FUZZ_ASSERT(strcmp(sd->sys->name, sd->system) == 0);
	FUZZ_ASSERT((sd->table != NULL) != (sd->query != NULL));
	FUZZ_ASSERT(!sd->where || sd->table);
	FUZZ_ASSERT(pos_in(sd->pos, lines));
}

static void check_spec(const struct spec *s, int lines)
{
	FUZZ_ASSERT(s->version == 1 && s->file && s->name && valid_name(s->name));
	FUZZ_ASSERT(s->nsystems > 0 && s->nchecks > 0);
	for (size_t i = 0; i < s->nsystems; i++) {
		const struct spec_system *sys = &s->systems[i];

		FUZZ_ASSERT(sys->name && valid_name(sys->name));
		FUZZ_ASSERT(spec_find_system(s, sys->name) == sys);
		FUZZ_ASSERT(sys->driver && sys->dsn && sys->dsn_shown);
		FUZZ_ASSERT(no_uri_password(sys->dsn_shown));
		FUZZ_ASSERT(pos_in(sys->pos, lines));
	}
	for (size_t i = 0; i < s->nchecks; i++) {
		const struct spec_check *c = &s->checks[i];

		FUZZ_ASSERT(c->name && valid_name(c->name));
		FUZZ_ASSERT(spec_find_check(s, c->name) == c);
		FUZZ_ASSERT(pos_in(c->pos, lines));
		check_side(s, &c->source, lines);
		check_side(s, &c->target, lines);
		FUZZ_ASSERT(!c->multiset || c->nkey == 0);
		for (size_t k = 0; k < c->nkey; k++)
			FUZZ_ASSERT(c->key[k] && c->key[k][0]);
		FUZZ_ASSERT(c->ncolumns == 0 || c->columns_given);
		for (size_t k = 0; k < c->ncolumns; k++) {
			const struct spec_column *col = &c->columns[k];

			FUZZ_ASSERT(col->source && col->source[0] && col->target && col->target[0]);
			FUZZ_ASSERT(pos_in(col->pos, lines));
			FUZZ_ASSERT(col->scale >= -1 && col->precision >= -1 && col->precision <= 6);
			FUZZ_ASSERT(!col->has_tolerance || col->tolerance >= 0);
			FUZZ_ASSERT(col->nmap == 0 || col->map);
			for (size_t m = 0; m < col->nmap; m++)
				FUZZ_ASSERT(col->map[m].from && col->map[m].to);
			/* each side's column once */
			for (size_t j = 0; j < k; j++)
				FUZZ_ASSERT(strcmp(c->columns[j].source, col->source) != 0 &&
				            strcmp(c->columns[j].target, col->target) != 0);
		}
		for (size_t k = 0; k < c->nignore; k++)
			FUZZ_ASSERT(c->ignore[k] && pos_in(c->ignore_pos[k], lines));
	}
}

/* "fuzz.yaml:LINE:COL: " with LINE within the input (or one past its end). */
static void check_message(const char *msg, int lines)
{
	static const char prefix[] = "fuzz.yaml:";
	long line, col;
	char *end;

	FUZZ_ASSERT(strncmp(msg, prefix, sizeof(prefix) - 1) == 0);
	line = strtol(msg + sizeof(prefix) - 1, &end, 10);
	FUZZ_ASSERT(*end == ':');
	col = strtol(end + 1, &end, 10);
	FUZZ_ASSERT(end[0] == ':' && end[1] == ' ');
	FUZZ_ASSERT(line >= 1 && line <= lines + 1 && col >= 1);
	FUZZ_ASSERT(no_uri_password(msg));
}

static bool all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct tally_err err, again;
	struct spec s, s2;
	int lines = 1, rc, rc2;

	/* an upper bound of the lines libfyaml counts, YAML 1.1's breaks included */
	for (size_t i = 0; i < size; i++)
		if (text[i] == '\n' || text[i] == '\r' ||
		    (i + 1 < size && memcmp(text + i, "\xc2\x85", 2) == 0) ||
		    (i + 2 < size && (memcmp(text + i, "\xe2\x80\xa8", 3) == 0 ||
		                      memcmp(text + i, "\xe2\x80\xa9", 3) == 0)))
			lines++;
	err_clear(&err);
	err_clear(&again);
	rc = spec_load_string("fuzz.yaml", text, size, &s, &err);
	if (rc == 0) {
		check_spec(&s, lines);
		spec_release(&s);
	} else {
		FUZZ_ASSERT(rc == -1);
		FUZZ_ASSERT(err.kind == ERR_SPEC);
		FUZZ_ASSERT(all_zero(&s, sizeof(s)));
		check_message(err.msg, lines);
	}
	rc2 = spec_load_string("fuzz.yaml", text, size, &s2, &again);
	FUZZ_ASSERT(rc2 == rc);
	if (rc2 == 0)
		spec_release(&s2);
	else
		FUZZ_ASSERT(strcmp(err.msg, again.msg) == 0);
	return 0;
}
