/*
 * tests/fuzz/fuzz_pg_literal.c
 *   Fuzz target for PostgreSQL's literal writers (conn_driver("postgres")
 *   ->literal and ->bound_literal), input as literal.h says. A literal
 *   written for a script that runs with standard_conforming_strings on
 *   must stay a literal: its quotes ('...' with '' inside) are closed,
 *   outside them there is nothing but letters, digits, "_.:+-" and
 *   spaces (no ';', no comment, no '$' that could start a dollar quote),
 *   and no byte is NUL. Text written into a text column and bytes into a
 *   bytea column read back as exactly the value.
 */
#include <string.h>

#include "fuzz.h"
#include "literal.h"

static char *mood[] = { "sad", "ok", "it's" };

/*
 * The columns, picked by the input's first byte: 'A' is the first. All
 * nullable, as test_pg_literal.c's columns are.
 */
static const struct coldesc cols[] = {
	/* A */ { .name = "i2", .native = "smallint", .type = LT_INT, .nullable = true,
		.precision = 0, .scale = 0, .length = -1, .fsp = 6, .bits = 16 },
	/* B */ { .name = "i4", .native = "integer", .type = LT_INT, .nullable = true,
		.precision = 0, .scale = 0, .length = -1, .fsp = 6, .bits = 32 },
	/* C */ { .name = "i8", .native = "bigint", .type = LT_INT, .nullable = true,
		.precision = 0, .scale = 0, .length = -1, .fsp = 6, .bits = 64 },
	/* D */ { .name = "n", .native = "numeric", .type = LT_DECIMAL, .nullable = true,
		.precision = -1, .scale = -1, .length = -1, .fsp = 6 },
	/* E */ { .name = "n12", .native = "numeric(12,2)", .type = LT_DECIMAL, .nullable = true,
		.precision = 12, .scale = 2, .length = -1, .fsp = 6 },
	/* F */ { .name = "r", .native = "real", .type = LT_FLOAT, .nullable = true,
		.precision = -1, .scale = -1, .length = -1, .fsp = 6, .bits = 32 },
	/* G */ { .name = "d", .native = "double precision", .type = LT_FLOAT, .nullable = true,
		.precision = -1, .scale = -1, .length = -1, .fsp = 6, .bits = 64 },
	/* H */ { .name = "b", .native = "boolean", .type = LT_BOOL, .nullable = true,
		.precision = -1, .scale = -1, .length = -1, .fsp = 6 },
	/* I */ { .name = "t", .native = "text", .type = LT_TEXT, .nullable = true,
		.precision = -1, .scale = -1, .length = -1, .fsp = 6 },
	/* J */ { .name = "v3", .native = "character varying(3)", .type = LT_TEXT, .nullable = true,
		.precision = -1, .scale = -1, .length = 3, .fsp = 6 },
	/* K */ { .name = "c4", .native = "character(4)", .type = LT_CHAR, .nullable = true,
		.precision = -1, .scale = -1, .length = 4, .fsp = 6, .fixed = true },
	/* L */ { .name = "by", .native = "bytea", .type = LT_BYTES, .nullable = true,
		.precision = -1, .scale = -1, .length = -1, .fsp = 6 },
	/* M */ { .name = "dt", .native = "date", .type = LT_DATE, .nullable = true,
		.precision = -1, .scale = -1, .length = -1, .fsp = 6 },
	/* N */ { .name = "tm", .native = "time without time zone", .type = LT_TIME, .nullable = true,
		.precision = -1, .scale = -1, .length = -1, .fsp = 6 },
	/* O */ { .name = "tm0", .native = "time(0) without time zone", .type = LT_TIME, .nullable = true,
		.precision = -1, .scale = -1, .length = -1, .fsp = 0 },
	/* P */ { .name = "ts", .native = "timestamp without time zone", .type = LT_TIMESTAMP, .nullable = true,
		.precision = -1, .scale = -1, .length = -1, .fsp = 6 },
	/* Q */ { .name = "ts3", .native = "timestamp(3) without time zone", .type = LT_TIMESTAMP, .nullable = true,
		.precision = -1, .scale = -1, .length = -1, .fsp = 3 },
	/* R */ { .name = "tz", .native = "timestamp with time zone", .type = LT_TIMESTAMPTZ, .nullable = true,
		.precision = -1, .scale = -1, .length = -1, .fsp = 6 },
	/* S */ { .name = "u", .native = "uuid", .type = LT_UUID, .nullable = true,
		.precision = -1, .scale = -1, .length = -1, .fsp = 6 },
	/* T */ { .name = "j", .native = "jsonb", .type = LT_JSON, .nullable = true,
		.precision = -1, .scale = -1, .length = -1, .fsp = 6 },
	/* U */ { .name = "e", .native = "mood", .type = LT_ENUM, .nullable = true,
		.precision = -1, .scale = -1, .length = -1, .fsp = 6, .labels = mood, .nlabels = 3 },
	/* V */ { .name = "bt", .native = "bit(8)", .type = LT_BIT, .nullable = true,
		.precision = -1, .scale = -1, .length = -1, .fsp = 6, .bits = 8, .fixed = true },
	/* W */ { .name = "vb", .native = "bit varying", .type = LT_BIT, .nullable = true,
		.precision = -1, .scale = -1, .length = -1, .fsp = 6 },
	/* X */ { .name = "iv", .native = "interval", .type = LT_INTERVAL, .nullable = true,
		.precision = -1, .scale = -1, .length = -1, .fsp = 6 },
	/* Y */ { .name = "ip", .native = "inet", .type = LT_INET, .nullable = true,
		.precision = -1, .scale = -1, .length = -1, .fsp = 6 },
	/* Z */ { .name = "a", .native = "integer[]", .type = LT_ARRAY, .nullable = true,
		.precision = -1, .scale = -1, .length = -1, .fsp = 6 },
	/* [ */ { .name = "o", .native = "point", .type = LT_OTHER, .nullable = true,
		.precision = -1, .scale = -1, .length = -1, .fsp = 6 },
};

static bool outside_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       strchr("_.:+- ", c) != NULL;
}

static void check(const char *lit, size_t len, const struct coldesc *col, const struct sqlval *v,
                  bool bound)
{
	char *b;
	size_t blen;

	(void)bound;
	for (size_t i = 0; i < len; i++) {
		if (lit[i] == '\'') {
			for (i++; i < len && !(lit[i] == '\'' && (i + 1 == len || lit[i + 1] != '\'')); i++)
				if (lit[i] == '\'')
					i++;
			FUZZ_ASSERT(i < len);   /* closed */
			continue;
		}
		FUZZ_ASSERT(outside_ok(lit[i]));
		FUZZ_ASSERT(!(lit[i] == '-' && i + 1 < len && lit[i + 1] == '-'));
	}
	if ((v->kind == SV_TEXT || v->kind == SV_RAW) && col->type == LT_TEXT) {
		FUZZ_ASSERT(literal_string(lit, len, "'", false, &b, &blen));
		FUZZ_ASSERT(blen == v->len && memcmp(b, v->s, blen) == 0);
		free(b);
	}
	if ((v->kind == SV_BYTES || v->kind == SV_TEXT) && col->type == LT_BYTES) {
		FUZZ_ASSERT(literal_string(lit, len, "'\\x", true, &b, &blen));
		FUZZ_ASSERT(blen == v->len && memcmp(b, v->s, blen) == 0);
		free(b);
	}
}

static const struct literal_dialect pg = {
	"postgres", cols, sizeof(cols) / sizeof(cols[0]), check,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return literal_fuzz(&pg, data, size);
}
