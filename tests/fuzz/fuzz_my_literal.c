/*
 * tests/fuzz/fuzz_my_literal.c
 *   Fuzz target for MariaDB's literal writers (conn_driver("mariadb")
 *   ->literal and ->bound_literal), input as literal.h says. A literal
 *   must read the same whatever the sql_mode (with or without
 *   NO_BACKSLASH_ESCAPES, ANSI_QUOTES): its quoted strings ('...' with ''
 *   inside) are closed and hold no backslash and no control character,
 *   X'...' holds hex digits and b'...' bits, and outside them there is
 *   nothing but letters, digits, "_.:+-" and spaces (no ';', '#', "--",
 *   '/', '"', '`'); no byte is NUL. Text written into a utf8mb4 text
 *   column and bytes into a blob read back as exactly the value.
 */
#include <string.h>

#include "fuzz.h"
#include "literal.h"

static char *enum_labels[] = { "small", "it's", "back\\slash", "" };
static char *set_labels[] = { "x", "y", "z" };

/* The columns, picked by the input's first byte: 'A' is the first. */
static const struct coldesc cols[] = {
	/* A */ { .name = "i", .native = "int(11)", .type = LT_INT, .bits = 32 },
	/* B */ { .name = "u", .native = "int(10) unsigned", .type = LT_INT, .bits = 32, .is_unsigned = true },
	/* C */ { .name = "t", .native = "tinyint(4)", .type = LT_INT, .bits = 8 },
	/* D */ { .name = "b", .native = "tinyint(1)", .type = LT_INT, .bits = 8, .bool_hint = true },
	/* E */ { .name = "u64", .native = "bigint(20) unsigned", .type = LT_INT, .bits = 64, .is_unsigned = true },
	/* F */ { .name = "amount", .native = "decimal(12,2)", .type = LT_DECIMAL, .precision = 12, .scale = 2 },
	/* G */ { .name = "du", .native = "decimal(5,0) unsigned", .type = LT_DECIMAL, .precision = 5,
	  .is_unsigned = true },
	/* H */ { .name = "y", .native = "year(4)", .type = LT_YEAR },
	/* I */ { .name = "d", .native = "double", .type = LT_FLOAT, .bits = 64 },
	/* J */ { .name = "f", .native = "float", .type = LT_FLOAT, .bits = 32 },
	/* K */ { .name = "note", .native = "varchar(20)", .type = LT_TEXT, .length = 20, .charset = "utf8mb4",
	  .collation = "utf8mb4_general_ci" },
	/* L */ { .name = "body", .native = "text", .type = LT_TEXT, .length = 65535, .charset = "utf8mb4" },
	/* M */ { .name = "l1", .native = "varchar(10)", .type = LT_TEXT, .length = 10, .charset = "latin1" },
	/* N */ { .name = "c5", .native = "char(5)", .type = LT_CHAR, .length = 5, .fixed = true,
	  .charset = "utf8mb4" },
	/* O */ { .name = "e", .native = "enum('small','it''s','back\\\\slash','')", .type = LT_ENUM,
	  .charset = "utf8mb4", .labels = enum_labels, .nlabels = 4 },
	/* P */ { .name = "st", .native = "set('x','y','z')", .type = LT_SET, .charset = "utf8mb4",
	  .labels = set_labels, .nlabels = 3 },
	/* Q */ { .name = "j", .native = "longtext", .type = LT_JSON, .length = 4294967295L, .charset = "utf8mb4" },
	/* R */ { .name = "uu", .native = "uuid", .type = LT_UUID },
	/* S */ { .name = "ip", .native = "inet6", .type = LT_INET },
	/* T */ { .name = "b16", .native = "binary(16)", .type = LT_BYTES, .fixed = true, .length = 16 },
	/* U */ { .name = "bl", .native = "blob", .type = LT_BYTES, .length = 65535 },
	/* V */ { .name = "bt", .native = "bit(10)", .type = LT_BIT, .bits = 10 },
	/* W */ { .name = "g", .native = "point", .type = LT_OTHER },
	/* X */ { .name = "dt", .native = "date", .type = LT_DATE },
	/* Y */ { .name = "tm", .native = "time", .type = LT_TIME },
	/* Z */ { .name = "tm6", .native = "time(6)", .type = LT_TIME, .fsp = 6 },
	/* [ */ { .name = "dtm", .native = "datetime", .type = LT_TIMESTAMP },
	/* \ */ { .name = "dtm3", .native = "datetime(3)", .type = LT_TIMESTAMP, .fsp = 3 },
	/* ] */ { .name = "ts", .native = "timestamp", .type = LT_TIMESTAMPTZ },
	/* ^ */ { .name = "ts6", .native = "timestamp(6)", .type = LT_TIMESTAMPTZ, .fsp = 6 },
};

static bool outside_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       strchr("_.:+- ", c) != NULL;
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static void check(const char *lit, size_t len, const struct coldesc *col, const struct sqlval *v,
                  bool bound)
{
	char *b;
	size_t blen;

	(void)bound;
	for (size_t i = 0; i < len; i++) {
		if (lit[i] == '\'') {
			char intro = i > 0 ? lit[i - 1] : ' ';

			for (i++; i < len && !(lit[i] == '\'' && (i + 1 == len || lit[i + 1] != '\'')); i++) {
				unsigned char c = (unsigned char)lit[i];

				if (c == '\'') {
					i++;
					continue;
				}
				FUZZ_ASSERT(c != '\\' && c >= 0x20);
				if (intro == 'X' || intro == 'x')
					FUZZ_ASSERT(is_hex((char)c));
				if (intro == 'b')
					FUZZ_ASSERT(c == '0' || c == '1');
			}
			FUZZ_ASSERT(i < len);   /* closed */
			continue;
		}
		FUZZ_ASSERT(outside_ok(lit[i]));
		FUZZ_ASSERT(!(lit[i] == '-' && i + 1 < len && lit[i + 1] == '-'));
	}
	if ((v->kind == SV_TEXT || v->kind == SV_RAW) && col->type == LT_TEXT &&
	    strcmp(col->charset, "utf8mb4") == 0) {
		FUZZ_ASSERT(literal_string(lit, len, "'", false, &b, &blen) ||
		            literal_string(lit, len, "_utf8mb4 X'", true, &b, &blen));
		FUZZ_ASSERT(blen == v->len && memcmp(b, v->s, blen) == 0);
		free(b);
	}
	if (v->kind == SV_BYTES && col->type == LT_BYTES && !col->fixed) {
		FUZZ_ASSERT(literal_string(lit, len, "X'", true, &b, &blen));
		FUZZ_ASSERT(blen == v->len && memcmp(b, v->s, blen) == 0);
		free(b);
	}
}

static const struct literal_dialect my = {
	"mariadb", cols, sizeof(cols) / sizeof(cols[0]), check,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return literal_fuzz(&my, data, size);
}
