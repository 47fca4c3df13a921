/*
 * engine/sqlguard.c
 *   spec -> SQLGUARD -> main: the lexers and the lists of --safe-sql.
 *   Performs no I/O.
 *
 * The text is cut into tokens (names, quoted names, strings, numbers,
 * "::" and single characters; whitespace and comments only mark the next
 * token as having a gap before it), then every "(" is looked at with the
 * tokens before it: a name, or names joined by ".", makes a call unless
 * the context says it is a keyword, a type or a column list.
 */
#include "sqlguard.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"

/* ---- what may be called ------------------------------------------------ */

/*
 * PostgreSQL built-ins that read their arguments and nothing else (or the
 * clock, or a random source): comparison, math, text, bytes, date and
 * time, function-style casts, aggregates and window functions, JSON,
 * arrays, network addresses, ranges. Deliberately absent: anything that
 * opens a session or runs SQL text (dblink*, query_to_xml, ts_stat),
 * reads files or large objects (pg_read_file*, pg_ls_dir, lo_*), changes
 * settings or state (set_config, nextval, setval, setseed, txid_current,
 * pg_advisory*, pg_notify), signals or waits (pg_terminate_backend,
 * pg_cancel_backend, pg_sleep*), and every function of an extension.
 */
static const char *const pg_allowed[] = {
	/* comparison */
	"coalesce", "greatest", "least", "nullif", "num_nonnulls", "num_nulls",
	/* math */
	"abs", "acos", "acosd", "acosh", "asin", "asind", "asinh", "atan", "atan2", "atan2d", "atand", "atanh",
	"cbrt", "ceil", "ceiling", "cos", "cosd", "cosh", "cot", "cotd", "degrees", "div", "exp", "factorial",
	"floor", "gcd", "lcm", "ln", "log", "log10", "min_scale", "mod", "pi", "power", "radians", "random",
	"round", "scale", "sign", "sin", "sind", "sinh", "sqrt", "tan", "tand", "tanh", "trim_scale", "trunc",
	"width_bucket",
	/* text and bytes */
	"ascii", "bit_count", "bit_length", "btrim", "char_length", "character_length", "chr", "concat",
	"concat_ws", "convert_from", "convert_to", "decode", "encode", "format", "get_bit", "get_byte",
	"initcap", "left", "length", "like", "lower", "lpad", "ltrim", "md5", "normalize", "octet_length",
	"overlay", "position", "quote_ident", "quote_literal", "quote_nullable", "regexp_count",
	"regexp_instr", "regexp_like", "regexp_match", "regexp_matches", "regexp_replace",
	"regexp_split_to_array", "regexp_split_to_table", "regexp_substr", "repeat", "replace", "reverse",
	"right", "rpad", "rtrim", "set_bit", "set_byte", "sha224", "sha256", "sha384", "sha512", "split_part",
	"starts_with", "string_to_array", "string_to_table", "strpos", "substr", "substring", "to_ascii",
	"to_hex", "translate", "trim", "unistr", "upper",
	/* date and time */
	"age", "clock_timestamp", "date_bin", "date_part", "date_trunc", "extract", "isfinite",
	"justify_days", "justify_hours", "justify_interval", "make_date", "make_interval", "make_time",
	"make_timestamp", "make_timestamptz", "now", "overlaps", "statement_timestamp", "timeofday",
	"timezone", "to_char", "to_date", "to_number", "to_timestamp", "transaction_timestamp",
	/* function-style casts and type modifiers */
	"bool", "bpchar", "bytea", "cidr", "date", "float4", "float8", "inet", "int2", "int4", "int8", "json",
	"jsonb", "macaddr", "money", "text", "timestamptz", "timetz", "uuid", "varbit",
	/* aggregates and window functions */
	"array_agg", "avg", "bit_and", "bit_or", "bit_xor", "bool_and", "bool_or", "corr", "count",
	"covar_pop", "covar_samp", "cume_dist", "dense_rank", "every", "first_value", "json_agg",
	"json_object_agg", "jsonb_agg", "jsonb_object_agg", "lag", "last_value", "lead", "max", "min", "mode",
	"nth_value", "ntile", "percent_rank", "percentile_cont", "percentile_disc", "rank", "regr_avgx",
	"regr_avgy", "regr_count", "regr_intercept", "regr_r2", "regr_slope", "regr_sxx", "regr_sxy",
	"regr_syy", "row_number", "stddev", "stddev_pop", "stddev_samp", "string_agg", "sum", "var_pop",
	"var_samp", "variance",
	/* JSON */
	"array_to_json", "json_array_elements", "json_array_elements_text", "json_array_length",
	"json_build_array", "json_build_object", "json_each", "json_each_text", "json_extract_path",
	"json_extract_path_text", "json_object", "json_object_keys", "json_populate_record",
	"json_populate_recordset", "json_strip_nulls", "json_to_record", "json_to_recordset", "json_typeof",
	"jsonb_array_elements", "jsonb_array_elements_text", "jsonb_array_length", "jsonb_build_array",
	"jsonb_build_object", "jsonb_each", "jsonb_each_text", "jsonb_extract_path",
	"jsonb_extract_path_text", "jsonb_insert", "jsonb_object", "jsonb_object_keys", "jsonb_path_exists",
	"jsonb_path_match", "jsonb_path_query", "jsonb_path_query_array", "jsonb_path_query_first",
	"jsonb_populate_record", "jsonb_populate_recordset", "jsonb_pretty", "jsonb_set", "jsonb_set_lax",
	"jsonb_strip_nulls", "jsonb_to_record", "jsonb_to_recordset", "jsonb_typeof", "row_to_json",
	"to_json", "to_jsonb",
	/* arrays */
	"array_append", "array_cat", "array_dims", "array_fill", "array_length", "array_lower", "array_ndims",
	"array_position", "array_positions", "array_prepend", "array_remove", "array_replace",
	"array_to_string", "array_upper", "cardinality", "generate_series", "generate_subscripts",
	"trim_array", "unnest",
	/* network addresses, ranges, uuids, types */
	"abbrev", "broadcast", "family", "host", "hostmask", "inet_merge", "inet_same_family", "masklen",
	"netmask", "network", "set_masklen", "isempty", "lower_inc", "lower_inf", "range_merge", "upper_inc",
	"upper_inf", "gen_random_uuid", "pg_typeof",
	/* TABLESAMPLE methods */
	"bernoulli", "system",
	NULL
};

/*
 * MariaDB native functions of the same kinds. Deliberately absent:
 * LOAD_FILE, SLEEP, BENCHMARK, GET_LOCK and the other lock functions,
 * MASTER_POS_WAIT, MASTER_GTID_WAIT, NEXTVAL, SETVAL, LAST_INSERT_ID
 * (which sets a value when given one), and every UDF and stored function
 * (sys_exec, sys_eval...).
 */
static const char *const my_allowed[] = {
	/* comparison */
	"coalesce", "greatest", "ifnull", "isnull", "least", "nullif", "nvl", "nvl2", "strcmp",
	/* math */
	"abs", "acos", "asin", "atan", "atan2", "bin", "ceil", "ceiling", "conv", "cos", "cot", "crc32",
	"crc32c", "degrees", "exp", "floor", "format", "hex", "ln", "log", "log10", "log2", "oct", "pi", "pow",
	"power", "radians", "rand", "round", "sign", "sin", "sqrt", "tan", "truncate", "unhex",
	/* text and bytes */
	"ascii", "bit_count", "bit_length", "char_length", "character_length", "charset", "chr", "collation",
	"concat", "concat_ws", "elt", "field", "find_in_set", "from_base64", "instr", "lcase", "length",
	"locate", "lower", "lpad", "ltrim", "md5", "mid", "natural_sort_key", "octet_length", "ord",
	"position", "quote", "regexp_instr", "regexp_replace", "regexp_substr", "reverse", "rpad", "rtrim",
	"sha", "sha1", "sha2", "soundex", "space", "substr", "substring", "substring_index", "to_base64",
	"trim", "ucase", "upper", "weight_string",
	/* date and time */
	"add_months", "adddate", "addtime", "convert_tz", "curdate", "curtime", "date", "date_add",
	"date_format", "date_sub", "datediff", "day", "dayname", "dayofmonth", "dayofweek", "dayofyear",
	"extract", "from_days", "from_unixtime", "get_format", "hour", "last_day", "makedate", "maketime",
	"microsecond", "minute", "month", "monthname", "now", "period_add", "period_diff", "quarter",
	"sec_to_time", "second", "str_to_date", "subdate", "subtime", "sysdate", "time", "time_format",
	"time_to_sec", "timediff", "timestamp", "timestampadd", "timestampdiff", "to_days", "to_seconds",
	"unix_timestamp", "week", "weekday", "weekofyear", "year", "yearweek",
	/* casts: CAST(... AS type) and CONVERT(..., type) */
	"cast", "datetime", "decimal", "double", "float", "nchar", "signed", "unsigned",
	/* aggregates and window functions */
	"avg", "bit_and", "bit_or", "bit_xor", "count", "cume_dist", "dense_rank", "first_value",
	"group_concat", "json_arrayagg", "json_objectagg", "lag", "last_value", "lead", "max", "median",
	"min", "nth_value", "ntile", "percent_rank", "percentile_cont", "percentile_disc", "rank",
	"row_number", "std", "stddev", "stddev_pop", "stddev_samp", "sum", "var_pop", "var_samp", "variance",
	/* JSON */
	"json_array", "json_array_append", "json_array_insert", "json_compact", "json_contains",
	"json_contains_path", "json_depth", "json_detailed", "json_equals", "json_exists", "json_extract",
	"json_insert", "json_keys", "json_length", "json_loose", "json_merge", "json_merge_patch",
	"json_merge_preserve", "json_normalize", "json_object", "json_overlaps", "json_pretty", "json_query",
	"json_quote", "json_remove", "json_replace", "json_search", "json_set", "json_table", "json_type",
	"json_unquote", "json_valid", "json_value",
	/* addresses, uuids */
	"inet6_aton", "inet6_ntoa", "inet_aton", "inet_ntoa", "is_ipv4", "is_ipv4_compat", "is_ipv4_mapped",
	"is_ipv6", "uuid",
	NULL
};

/*
 * Words that, followed by "(", are grammar and never a function that a
 * user could define: PostgreSQL's reserved keywords and the keywords that
 * cannot name a function (EXISTS, VALUES, ROW, CAST's types...); MariaDB's
 * reserved words (a function of such a name can only be called quoted,
 * and quoted names are refused).
 */
static const char *const pg_keywords[] = {
	"all", "analyse", "analyze", "and", "any", "array", "as", "asc", "asymmetric", "between", "bigint",
	"bit", "boolean", "both", "case", "cast", "char", "character", "check", "coalesce", "collate",
	"column", "constraint", "create", "current_catalog", "current_date", "current_role", "current_time",
	"current_timestamp", "current_user", "dec", "decimal", "default", "deferrable", "desc", "distinct",
	"do", "else", "end", "except", "exists", "extract", "false", "fetch", "float", "for", "foreign",
	"from", "grant", "greatest", "group", "grouping", "having", "in", "initially", "inout", "int",
	"integer", "intersect", "interval", "into", "lateral", "leading", "least", "limit", "localtime",
	"localtimestamp", "national", "nchar", "none", "normalize", "not", "null", "nullif", "numeric",
	"offset", "on", "only", "or", "order", "out", "overlay", "placing", "position", "precision",
	"primary", "real", "references", "returning", "row", "select", "session_user", "setof", "smallint",
	"some", "substring", "symmetric", "table", "then", "time", "timestamp", "to", "trailing", "treat",
	"trim", "true", "union", "unique", "user", "using", "values", "varchar", "variadic", "when", "where",
	"window", "with", "xmlattributes", "xmlconcat", "xmlelement", "xmlexists", "xmlforest",
	"xmlnamespaces", "xmlparse", "xmlpi", "xmlroot", "xmlserialize", "xmltable",
	NULL
};

static const char *const my_keywords[] = {
	"all", "and", "as", "asc", "between", "binary", "both", "by", "case", "char", "collate", "convert",
	"cross", "current_date", "current_time", "current_timestamp", "current_user", "database", "desc",
	"distinct", "div", "else", "except", "exists", "for", "from", "group", "having", "if", "in", "inner",
	"insert", "intersect", "interval", "is", "join", "leading", "left", "like", "limit", "localtime",
	"localtimestamp", "match", "mod", "natural", "not", "on", "or", "order", "outer", "partition",
	"recursive", "regexp", "repeat", "replace", "right", "rlike", "schema", "select", "then", "trailing",
	"union", "using", "utc_date", "utc_time", "utc_timestamp", "values", "when", "where", "window",
	"with", "xor",
	NULL
};

/* Words before JOIN: "a LEFT JOIN (" is a join, not a call of join(). */
static const char *const join_words[] = { "cross", "full", "inner", "left", "natural", "outer", "right", NULL };

/* Keywords that are values: "ON true JOIN (" is a join. */
static const char *const value_words[] = {
	"current_catalog", "current_date", "current_role", "current_time", "current_timestamp", "current_user",
	"false", "localtime", "localtimestamp", "null", "session_user", "true", "user", NULL
};

/* Words before BY: "ORDER BY (a)" is not a call of by(). */
static const char *const by_words[] = { "group", "order", "partition", NULL };

static bool in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (strcmp(*list, s) == 0)
			return true;
	return false;
}

/* ---- tokens ------------------------------------------------------------ */

enum tkind { T_WORD, T_QUOTED, T_STRING, T_NUMBER, T_PUNCT, T_CAST };

struct tok {
	enum tkind kind;
	size_t pos, len;        /* the token's text in the SQL */
	bool gap;               /* whitespace or a comment before it */
};

struct lexer {
	const char *s;
	size_t n, i;
	enum sqlguard_dialect d;
	bool bs_single, bs_double;      /* MariaDB: backslash escapes in '...' and "..." */
	int exec;                       /* MariaDB: inside an executable comment */
	bool open;                      /* a string, quoted name or comment did not end */
	struct tok *t;
	size_t nt, cap;
};

static bool is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static bool ident_start(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

static bool ident_cont(unsigned char c)
{
	return ident_start(c) || (c >= '0' && c <= '9') || c == '$';
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static void push(struct lexer *lx, enum tkind kind, size_t pos, bool gap)
{
	if (lx->nt == lx->cap) {
		lx->cap = lx->cap ? lx->cap * 2 : 32;
		lx->t = xrealloc(lx->t, lx->cap * sizeof(*lx->t));
	}
	lx->t[lx->nt].kind = kind;
	lx->t[lx->nt].pos = pos;
	lx->t[lx->nt].len = lx->i - pos;
	lx->t[lx->nt].gap = gap;
	lx->nt++;
}

/* Past a quoted run that opened at lx->i with q: doubled q, and \x when bs. */
static void skip_quoted(struct lexer *lx, char q, bool bs)
{
	for (lx->i++; lx->i < lx->n; lx->i++) {
		char c = lx->s[lx->i];

		if (bs && c == '\\') {
			lx->i++;
		} else if (c == q) {
			if (lx->i + 1 < lx->n && lx->s[lx->i + 1] == q) {
				lx->i++;
				continue;
			}
			lx->i++;
			return;
		}
	}
	lx->i = lx->n;
	lx->open = true;
}

/* At "/" "*": past the comment; PostgreSQL nests them. */
static void skip_block_comment(struct lexer *lx)
{
	int depth = 0;

	while (lx->i < lx->n) {
		if (lx->s[lx->i] == '/' && lx->i + 1 < lx->n && lx->s[lx->i + 1] == '*' &&
		    (depth == 0 || lx->d == SQLGUARD_POSTGRES)) {
			depth++;
			lx->i += 2;
		} else if (lx->s[lx->i] == '*' && lx->i + 1 < lx->n && lx->s[lx->i + 1] == '/') {
			lx->i += 2;
			if (--depth == 0)
				return;
		} else {
			lx->i++;
		}
	}
	lx->open = true;
}

/*
 * Past whitespace and comments; true when there were any. A MariaDB
 * executable comment's markers are skipped and its content is code.
 */
static bool skip_gap(struct lexer *lx)
{
	size_t start = lx->i;
	const bool my = lx->d == SQLGUARD_MARIADB;

	while (lx->i < lx->n) {
		const char *p = lx->s + lx->i;
		size_t left = lx->n - lx->i;

		if (is_space((unsigned char)*p)) {
			lx->i++;
		} else if ((left >= 2 && p[0] == '-' && p[1] == '-' &&
		            (!my || left == 2 || (unsigned char)p[2] <= ' ')) || (my && p[0] == '#')) {
			while (lx->i < lx->n && lx->s[lx->i] != '\n')
				lx->i++;
		} else if (my && left >= 3 && p[0] == '/' && p[1] == '*' &&
		           (p[2] == '!' || (left >= 4 && p[2] == 'M' && p[3] == '!'))) {
			lx->i += p[2] == '!' ? 3 : 4;
			while (lx->i < lx->n && is_digit((unsigned char)lx->s[lx->i]))
				lx->i++;
			lx->exec++;
		} else if (my && lx->exec > 0 && left >= 2 && p[0] == '*' && p[1] == '/') {
			lx->i += 2;
			lx->exec--;
		} else if (left >= 2 && p[0] == '/' && p[1] == '*') {
			skip_block_comment(lx);
		} else {
			break;
		}
	}
	return lx->i > start;
}

/* PostgreSQL at "$": a dollar-quoted string, or false (a parameter, an operator). */
static bool dollar_string(struct lexer *lx)
{
	size_t j = lx->i + 1;
	char *tag;
	const char *end;

	if (j < lx->n && ident_start((unsigned char)lx->s[j]))
		for (j++; j < lx->n && ident_cont((unsigned char)lx->s[j]) && lx->s[j] != '$'; j++)
			;
	if (j >= lx->n || lx->s[j] != '$')
		return false;
	tag = xstrndup(lx->s + lx->i, j + 1 - lx->i);
	end = strstr(lx->s + j + 1, tag);
	lx->i = end ? (size_t)(end - lx->s) + strlen(tag) : lx->n;
	lx->open = lx->open || !end;
	free(tag);
	return true;
}

/* A number: digits, a fraction, an exponent. */
static void skip_number(struct lexer *lx)
{
	while (lx->i < lx->n && (is_digit((unsigned char)lx->s[lx->i]) || lx->s[lx->i] == '.'))
		lx->i++;
	if (lx->i + 1 < lx->n && (lx->s[lx->i] == 'e' || lx->s[lx->i] == 'E') &&
	    (is_digit((unsigned char)lx->s[lx->i + 1]) ||
	     ((lx->s[lx->i + 1] == '+' || lx->s[lx->i + 1] == '-') && lx->i + 2 < lx->n &&
	      is_digit((unsigned char)lx->s[lx->i + 2])))) {
		lx->i += 2;
		while (lx->i < lx->n && is_digit((unsigned char)lx->s[lx->i]))
			lx->i++;
	}
}

/* One token at lx->i (after the gap); false at the end. */
static bool next_token(struct lexer *lx)
{
	bool gap = skip_gap(lx);
	size_t pos = lx->i;
	char c;

	if (lx->i >= lx->n)
		return false;
	c = lx->s[lx->i];
	if (c == '\'') {
		skip_quoted(lx, '\'', lx->d == SQLGUARD_MARIADB && lx->bs_single);
		push(lx, T_STRING, pos, gap);
	} else if (c == '"') {
		/* PostgreSQL: a name. MariaDB: a string, or a name under ANSI_QUOTES. */
		skip_quoted(lx, '"', lx->d == SQLGUARD_MARIADB && lx->bs_double);
		push(lx, T_QUOTED, pos, gap);
	} else if (c == '`' && lx->d == SQLGUARD_MARIADB) {
		skip_quoted(lx, '`', false);
		push(lx, T_QUOTED, pos, gap);
	} else if (c == '$' && lx->d == SQLGUARD_POSTGRES && dollar_string(lx)) {
		push(lx, T_STRING, pos, gap);
	} else if (is_digit((unsigned char)c) || (c == '.' && lx->i + 1 < lx->n &&
	                                          is_digit((unsigned char)lx->s[lx->i + 1]))) {
		skip_number(lx);
		/* MariaDB: 1abc is a name. */
		if (lx->d == SQLGUARD_MARIADB && lx->i < lx->n && ident_cont((unsigned char)lx->s[lx->i])) {
			while (lx->i < lx->n && ident_cont((unsigned char)lx->s[lx->i]))
				lx->i++;
			push(lx, T_WORD, pos, gap);
		} else {
			push(lx, T_NUMBER, pos, gap);
		}
	} else if (ident_start((unsigned char)c) || (c == '$' && lx->d == SQLGUARD_MARIADB)) {
		while (lx->i < lx->n && ident_cont((unsigned char)lx->s[lx->i]))
			lx->i++;
		/* PostgreSQL E'...': backslash escapes; B'', X'', N'' are plain strings. */
		if (lx->d == SQLGUARD_POSTGRES && lx->i - pos == 1 && lx->i < lx->n && lx->s[lx->i] == '\'' &&
		    strchr("eEbBxXnN", c)) {
			skip_quoted(lx, '\'', c == 'e' || c == 'E');
			push(lx, T_STRING, pos, gap);
		} else {
			push(lx, T_WORD, pos, gap);
		}
	} else if (c == ':' && lx->i + 1 < lx->n && lx->s[lx->i + 1] == ':') {
		lx->i += 2;
		push(lx, T_CAST, pos, gap);
	} else {
		lx->i++;
		push(lx, T_PUNCT, pos, gap);
	}
	return true;
}

/* ---- calls ------------------------------------------------------------- */

static bool is_punct(const struct lexer *lx, const struct tok *t, char c)
{
	return t->kind == T_PUNCT && lx->s[t->pos] == c;
}

static bool is_name(const struct tok *t)
{
	return t->kind == T_WORD || t->kind == T_QUOTED;
}

/* A name as the server reads it: a word lowercased, a quoted name without its quotes. */
static void add_name(struct buf *b, const struct lexer *lx, const struct tok *t)
{
	const char *p = lx->s + t->pos;

	if (t->kind == T_WORD) {
		for (size_t i = 0; i < t->len; i++)
			buf_addch(b, p[i] >= 'A' && p[i] <= 'Z' ? (char)(p[i] - 'A' + 'a') : p[i]);
		return;
	}
	for (size_t i = 1; i < t->len; i++) {
		if (p[i] == p[0]) {
			if (i + 1 == t->len || p[i + 1] != p[0])
				break;
			i++;
		}
		buf_addch(b, p[i]);
	}
}

/* Is the unquoted word t exactly w (in any case)? */
static bool word_is(const struct lexer *lx, const struct tok *t, const char *w)
{
	size_t n = strlen(w);

	if (t->kind != T_WORD || t->len != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = lx->s[t->pos + i];

		if ((c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c) != w[i])
			return false;
	}
	return true;
}

static bool word_in(const struct lexer *lx, const struct tok *t, const char *const *list)
{
	for (; *list; list++)
		if (word_is(lx, t, *list))
			return true;
	return false;
}

/*
 * Is the name tokens t[start..last] (every other one, "." between)
 * followed by "(" not a call? prev is the token before, or NULL.
 */
static bool not_a_call(const struct lexer *lx, size_t start, size_t last)
{
	const struct tok *t = lx->t, *prev = start ? &t[start - 1] : NULL;
	const char *const *keywords = lx->d == SQLGUARD_POSTGRES ? pg_keywords : my_keywords;
	const bool single = start == last;

	if (single && word_in(lx, &t[last], keywords))
		return true;
	if (!prev)
		return false;
	/* a type (numeric(10,2)), a column list (AS t(a, b), WITH t(a) AS) */
	if (prev->kind == T_CAST || word_is(lx, prev, "as") || word_is(lx, prev, "with") ||
	    word_is(lx, prev, "recursive"))
		return true;
	if (!single)
		return false;
	/*
	 * After ")": an alias's column list (FROM f() g(n), (SELECT ...) s(a)),
	 * OVER, FILTER, REPEATABLE; two operands in a row are never a call.
	 */
	if (is_punct(lx, prev, ')'))
		return true;
	if ((word_is(lx, &t[last], "sets") && word_is(lx, prev, "grouping")) ||
	    (word_is(lx, &t[last], "by") && word_in(lx, prev, by_words)))
		return true;
	/* PostgreSQL: JOIN after a table, a subquery, a condition or a join word */
	if (word_is(lx, &t[last], "join"))
		return is_punct(lx, prev, ')') || prev->kind == T_QUOTED || prev->kind == T_NUMBER ||
		       prev->kind == T_STRING || word_in(lx, prev, join_words) || word_in(lx, prev, value_words) ||
		       (prev->kind == T_WORD && !word_in(lx, prev, keywords));
	return false;
}

/* Calls already reported under another reading: where the name starts and where its "(" is. */
struct seen {
	size_t (*at)[2];
	size_t n;
};

static bool seen_add(struct seen *seen, size_t name, size_t paren)
{
	for (size_t i = 0; i < seen->n; i++)
		if (seen->at[i][0] == name && seen->at[i][1] == paren)
			return false;
	seen->at = xrealloc(seen->at, (seen->n + 1) * sizeof(*seen->at));
	seen->at[seen->n][0] = name;
	seen->at[seen->n][1] = paren;
	seen->n++;
	return true;
}

/* Reports the calls of the tokens of one reading; those at a position in seen only once. */
static int report_calls(const struct lexer *lx, struct seen *seen,
                        int (*fn)(void *ctx, const struct sqlguard_call *c, struct tally_err *err), void *ctx,
                        struct tally_err *err)
{
	struct buf name = BUF_INIT, schema = BUF_INIT;
	int rc = 0;

	for (size_t k = 1; k < lx->nt && rc == 0; k++) {
		struct sqlguard_call c;
		size_t start = k - 1, cut;

		if (!is_punct(lx, &lx->t[k], '(') || !is_name(&lx->t[start]))
			continue;
		while (start >= 2 && is_punct(lx, &lx->t[start - 1], '.') && is_name(&lx->t[start - 2]))
			start -= 2;
		if (not_a_call(lx, start, k - 1) || !seen_add(seen, lx->t[start].pos, lx->t[k].pos))
			continue;
		buf_reset(&name);
		buf_reset(&schema);
		for (size_t i = start; i < k - 1; i += 2) {
			if (schema.len)
				buf_addch(&schema, '.');
			add_name(&schema, lx, &lx->t[i]);
		}
		buf_add(&name, schema.data, schema.len);
		if (schema.len)
			buf_addch(&name, '.');
		cut = name.len;
		add_name(&name, lx, &lx->t[k - 1]);
		memset(&c, 0, sizeof(c));
		c.name = name.data;
		c.func = name.data + cut;
		c.schema = schema.len ? schema.data : NULL;
		c.quoted = lx->t[k - 1].kind == T_QUOTED;
		c.gap = lx->t[k].gap;
		c.pos = lx->t[start].pos;
		rc = fn(ctx, &c, err);
	}
	buf_release(&name);
	buf_release(&schema);
	return rc;
}

/* Every reading of sql; *open when a literal or comment does not end under any of them. */
static int scan(enum sqlguard_dialect d, const char *sql,
                int (*fn)(void *ctx, const struct sqlguard_call *c, struct tally_err *err), void *ctx,
                bool *open, struct tally_err *err)
{
	/* MariaDB's readings: backslash escapes in '...' and "...", in '...' only, in neither. */
	static const bool readings[3][2] = { { true, true }, { true, false }, { false, false } };
	const size_t nreadings = d == SQLGUARD_MARIADB ? 3 : 1;
	struct seen seen = { NULL, 0 };
	int rc = 0;

	*open = true;
	for (size_t r = 0; r < nreadings && rc == 0; r++) {
		struct lexer lx;

		memset(&lx, 0, sizeof(lx));
		lx.s = sql;
		lx.n = strlen(sql);
		lx.d = d;
		lx.bs_single = readings[r][0];
		lx.bs_double = readings[r][1];
		while (next_token(&lx))
			;
		rc = report_calls(&lx, &seen, fn, ctx, err);
		*open = *open && lx.open;
		free(lx.t);
	}
	free(seen.at);
	return rc;
}

int sqlguard_scan(enum sqlguard_dialect d, const char *sql,
                  int (*fn)(void *ctx, const struct sqlguard_call *c, struct tally_err *err), void *ctx,
                  struct tally_err *err)
{
	bool open;

	if (scan(d, sql, fn, ctx, &open, err) < 0)
		return -1;
	if (open)
		return err_set(err, ERR_SPEC, "a string, quoted name or comment does not end");
	return 0;
}

bool sqlguard_allowed(enum sqlguard_dialect d, const struct sqlguard_call *c)
{
	if (d == SQLGUARD_POSTGRES)
		return (!c->schema || strcmp(c->schema, "pg_catalog") == 0) && in_list(pg_allowed, c->func);
	return !c->schema && !c->quoted && !c->gap && in_list(my_allowed, c->func);
}

struct check_ctx {
	enum sqlguard_dialect d;
	const char *what;
	const char *sql;
};

static int check_call(void *ctx, const struct sqlguard_call *c, struct tally_err *err)
{
	const struct check_ctx *k = ctx;
	size_t chars = 1;

	if (sqlguard_allowed(k->d, c))
		return 0;
	/* Characters, not bytes: UTF-8 continuation bytes do not count. */
	for (size_t i = 0; i < c->pos; i++)
		chars += ((unsigned char)k->sql[i] & 0xc0) != 0x80;
	if (k->d == SQLGUARD_MARIADB && c->gap && !c->schema && !c->quoted && in_list(my_allowed, c->func)) {
		err_set(err, ERR_SPEC, "%s calls %s with a space before '(', which MariaDB may read as a stored "
		        "function of that name", k->what, c->name);
		err_detail(err, "the call begins at character %zu of the %s", chars, k->what);
		return err_hint(err, "write %s( without the space", c->func);
	}
	err_set(err, ERR_SPEC, "%s calls %s, which is not on --safe-sql's list of read-only functions", k->what,
	        c->name);
	err_detail(err, "the call begins at character %zu of the %s", chars, k->what);
	return err_hint(err, "--safe-sql allows the server's built-in functions that only compute a value "
	                "(comparison, math, text, date and time, aggregate, JSON)");
}

int sqlguard_check(enum sqlguard_dialect d, const char *what, const char *sql, struct tally_err *err)
{
	struct check_ctx k = { d, what, sql };
	bool open;

	if (scan(d, sql, check_call, &k, &open, err) < 0)
		return -1;
	if (open) {
		err_set(err, ERR_SPEC, "%s has a string, quoted name or comment that does not end", what);
		return err_hint(err, "--safe-sql checks only SQL that it can read to the end");
	}
	return 0;
}
