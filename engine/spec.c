/*
 * engine/spec.c
 *   SPEC -> plan: parses a spec file with libfyaml and validates it into
 *   the structs of spec.h. Reads the spec file and the environment (for
 *   ${VAR} in a dsn); opens no connection.
 *
 * How it works: libfyaml builds a document tree (it reports syntax errors
 * and duplicate keys, which we collect from its diag object instead of
 * letting it print them). We then walk the tree once, top down, with the
 * schema in the code: every mapping goes through get_fields(), which
 * rejects unknown keys, and every scalar through a typed getter that names
 * the path and the position of the offending node. The spec is built in a
 * local struct and handed to the caller only when everything is valid.
 *
 * Positions: libfyaml's public API gives the marks of scalar tokens, but
 * not of mappings and sequences; for those we start a document iterator on
 * the node and take the mark of its first event. Empty values have no
 * token at all, and fall back to the position of their key.
 */
#include "spec.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libfyaml.h>

#include "base/buf.h"
#include "base/nameset.h"
#include "base/utf8.h"

#define PATH_LEN 256
#define NAME_MAX_LEN 64
#define CHUNK_ROWS_MAX 100000000L

/*
 * The name sets make every duplicate check and reference a lookup, so a
 * spec loads in time linear in its size (a schema check can expand into
 * thousands of tables).
 */
struct loader {
	const char *file;       /* name used in messages */
	struct spec *s;         /* the spec being built */
	struct tally_err *err;
	struct nameset systems; /* system name -> index in s->systems */
	struct nameset checks;  /* check name -> index in s->checks */
	struct nameset cols[2]; /* the current check's source, target column -> index */
};

/* One key of a mapping with a fixed set of keys; key NULL when absent. */
struct field {
	const char *name;
	struct fy_node *key;
	struct fy_node *val;    /* aliases already resolved */
};

/* ---- positions and messages ---- */

static struct spec_pos mark_pos(const struct fy_mark *m)
{
	struct spec_pos pos = { 0, 0 };

	if (m) {
		pos.line = m->line + 1;
		pos.col = m->column + 1;
	}
	return pos;
}

/* The node's start, or line 0 when libfyaml does not know it. */
static struct spec_pos node_pos(struct fy_node *n)
{
	struct spec_pos pos = { 0, 0 };
	struct fy_document_iterator *it;
	struct fy_event *ev;
	struct fy_token *t;

	if (!n)
		return pos;
	if (fy_node_get_type(n) == FYNT_SCALAR) {
		t = fy_node_get_scalar_token(n);
		if (!t)
			return pos;
		pos = mark_pos(fy_token_start_mark(t));
		/* the mark of 'x', "x" and *x is past the quote or star */
		switch (fy_node_get_style(n)) {
		case FYNS_SINGLE_QUOTED:
		case FYNS_DOUBLE_QUOTED:
		case FYNS_ALIAS:
			if (pos.col > 1)
				pos.col--;
			break;
		default:
			break;
		}
		return pos;
	}
	it = fy_document_iterator_create();
	if (!it)
		return pos;
	fy_document_iterator_node_start(it, n);
	ev = fy_document_iterator_body_next(it);
	if (ev) {
		pos = mark_pos(fy_event_start_mark(ev));
		fy_document_iterator_event_free(it, ev);
	}
	fy_document_iterator_destroy(it);
	return pos;
}

/* The node's position, or fallback when it has none (an empty value). */
static struct spec_pos pos_or(struct fy_node *n, struct spec_pos fallback)
{
	struct spec_pos pos = node_pos(n);

	return pos.line > 0 ? pos : fallback;
}

static int pos_cmp(struct spec_pos a, struct spec_pos b)
{
	if (a.line != b.line)
		return a.line < b.line ? -1 : 1;
	if (a.col != b.col)
		return a.col < b.col ? -1 : 1;
	return 0;
}

static struct spec_pos key_pos(const struct field *f)
{
	return node_pos(f->key);
}

static struct spec_pos val_pos(const struct field *f)
{
	return pos_or(f->val, node_pos(f->key));
}

static char *redact_inner_uris(char *s);

/*
 * Sets err to "file:line:col: path: message" and returns -1. Whatever
 * user text the message or the path quotes (an alias name, a column, a
 * map value), a uri's password in it is masked.
 */
static int fail(struct loader *ld, struct spec_pos pos, const char *path,
                const char *fmt, ...) TALLY_PRINTF(4, 5);

static int fail(struct loader *ld, struct spec_pos pos, const char *path,
                const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;
	char *msg;

	if (pos.line < 1)
		pos.line = 1;
	if (pos.col < 1)
		pos.col = 1;
	buf_addf(&b, "%s:%d:%d: ", ld->file, pos.line, pos.col);
	if (path && *path)
		buf_addf(&b, "%s: ", path);
	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	msg = redact_inner_uris(buf_detach(&b, NULL));
	err_set(ld->err, ERR_SPEC, "%s", msg);
	free(msg);
	return -1;
}

/* A path too long for its buffer ends in "..." rather than silently. */
static void path_done(char *dst, size_t n, int written)
{
	if (written >= 0 && (size_t)written < n)
		return;
	if (n >= 4)
		memcpy(dst + n - 4, "...", 4);
}

static void path_key(char *dst, size_t n, const char *parent, const char *key)
{
	if (parent && *parent)
		path_done(dst, n, snprintf(dst, n, "%s.%s", parent, key));
	else
		path_done(dst, n, snprintf(dst, n, "%s", key));
}

static void path_index(char *dst, size_t n, const char *parent, size_t i)
{
	path_done(dst, n, snprintf(dst, n, "%s[%zu]", parent, i));
}

/* "a, b, c" from a NULL-terminated list. */
static void add_list(struct buf *b, const char *const *names)
{
	for (size_t i = 0; names[i]; i++)
		buf_addf(b, "%s%s", i ? ", " : "", names[i]);
}

/*
 * User text quoted in a message, with anything that looks like a password
 * masked: a dsn pasted into the wrong key must not leak. Free the result.
 */
static char *shown(const char *s, size_t len)
{
	char *raw = xstrndup(s, len);
	char *out = spec_redact_dsn(raw);

	free(raw);
	return out;
}

/* ---- node kinds and scalars ---- */

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Items of a mapping or sequence (libfyaml answers -1 on error). */
static size_t item_count(struct fy_node *n)
{
	int c = fy_node_get_type(n) == FYNT_MAPPING ? fy_node_mapping_item_count(n)
	                                            : fy_node_sequence_item_count(n);

	return c > 0 ? (size_t)c : 0;
}

static const char *scalar_text(struct fy_node *n, size_t *len)
{
	const char *s = n ? fy_node_get_scalar(n, len) : NULL;

	if (!s) {
		*len = 0;
		return "";
	}
	return s;
}

static bool text_is(const char *s, size_t len, const char *word)
{
	return strlen(word) == len && memcmp(s, word, len) == 0;
}

/* A YAML null: no node, an empty value, or a plain ~ / null. */
static bool is_null(struct fy_node *n)
{
	const char *s;
	size_t len;

	if (!n || fy_node_is_null(n))
		return true;
	if (fy_node_get_type(n) != FYNT_SCALAR || fy_node_get_style(n) != FYNS_PLAIN)
		return false;
	s = scalar_text(n, &len);
	return len == 0 || text_is(s, len, "~") || text_is(s, len, "null") ||
	       text_is(s, len, "Null") || text_is(s, len, "NULL");
}

static const char *kind(struct fy_node *n)
{
	if (is_null(n))
		return "null";
	switch (fy_node_get_type(n)) {
	case FYNT_MAPPING:
		return "a mapping";
	case FYNT_SEQUENCE:
		return "a sequence";
	default:
		return "a string";
	}
}

static bool is_scalar(struct fy_node *n)
{
	return !is_null(n) && fy_node_get_type(n) == FYNT_SCALAR;
}

/* Replaces an alias by the node it names. */
static int deref(struct loader *ld, struct fy_node **n, struct spec_pos at,
                 const char *path)
{
	struct fy_node *target;
	const char *name;
	size_t len;

	if (!*n || !fy_node_is_alias(*n))
		return 0;
	target = fy_node_resolve_alias(*n);
	if (!target) {
		name = scalar_text(*n, &len);
		return fail(ld, pos_or(*n, at), path, "unknown alias '%.*s'",
		            (int)len, name);
	}
	*n = target;
	return 0;
}

static int want_kind(struct loader *ld, struct fy_node *n, struct spec_pos pos,
                     const char *path, enum fy_node_type type, const char *what)
{
	if (is_null(n) || fy_node_get_type(n) != type)
		return fail(ld, pos, path, "expected %s, got %s", what, kind(n));
	return 0;
}

/* Borrowed text of a string scalar. */
static int node_text(struct loader *ld, struct fy_node *n, struct spec_pos pos,
                     const char *path, bool nonempty, const char **s, size_t *len)
{
	if (want_kind(ld, n, pos, path, FYNT_SCALAR, "a string"))
		return -1;
	*s = scalar_text(n, len);
	if (memchr(*s, '\0', *len))
		return fail(ld, pos, path, "unexpected NUL character in string");
	if (nonempty && *len == 0)
		return fail(ld, pos, path, "expected a non-empty string");
	return 0;
}

static int node_str(struct loader *ld, struct fy_node *n, struct spec_pos pos,
                    const char *path, bool nonempty, char **out)
{
	const char *s;
	size_t len;

	if (node_text(ld, n, pos, path, nonempty, &s, &len))
		return -1;
	*out = xstrndup(s, len);
	return 0;
}

static bool valid_name(const char *s, size_t len)
{
	if (len == 0 || len > NAME_MAX_LEN)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* A name used in file names: [a-z0-9_-]{1,64}. */
static int node_name(struct loader *ld, struct fy_node *n, struct spec_pos pos,
                     const char *path, char **out)
{
	const char *s;
	size_t len;

	if (node_text(ld, n, pos, path, false, &s, &len))
		return -1;
	if (!valid_name(s, len)) {
		char *q = shown(s, len);

		fail(ld, pos, path,
		     "invalid name '%s' (expected [a-z0-9_-]+, at most %d characters)",
		     q, NAME_MAX_LEN);
		free(q);
		return -1;
	}
	*out = xstrndup(s, len);
	return 0;
}

enum int_parse { INT_OK, INT_SYNTAX, INT_RANGE };

/* [-]digits, checked with strtoll. */
static enum int_parse parse_int(const char *s, size_t len, long long *out)
{
	size_t i = (len > 0 && s[0] == '-') ? 1 : 0;
	char *copy, *end;
	long long v;

	if (i == len)
		return INT_SYNTAX;
	for (; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return INT_SYNTAX;
	copy = xstrndup(s, len);
	errno = 0;
	v = strtoll(copy, &end, 10);
	if (*end != '\0') {
		free(copy);
		return INT_SYNTAX;
	}
	free(copy);
	if (errno == ERANGE)
		return INT_RANGE;
	*out = v;
	return INT_OK;
}

static int field_long(struct loader *ld, const struct field *f, const char *parent,
                      long min, long max, long *out)
{
	char path[PATH_LEN];
	struct spec_pos pos = val_pos(f);
	enum int_parse r;
	const char *s;
	long long v = 0;
	size_t len;
	char *q;

	path_key(path, sizeof(path), parent, f->name);
	if (want_kind(ld, f->val, pos, path, FYNT_SCALAR, "an integer"))
		return -1;
	s = scalar_text(f->val, &len);
	r = parse_int(s, len, &v);
	if (r == INT_OK && v >= min && v <= max) {
		*out = (long)v;
		return 0;
	}
	q = shown(s, len);
	if (r == INT_SYNTAX)
		fail(ld, pos, path, "expected an integer, got '%s'", q);
	else
		fail(ld, pos, path, "value '%s' is out of range (expected %ld to %ld)",
		     q, min, max);
	free(q);
	return -1;
}

static int field_int(struct loader *ld, const struct field *f, const char *parent,
                     int min, int max, int *out)
{
	long v;

	if (field_long(ld, f, parent, min, max, &v))
		return -1;
	*out = (int)v;
	return 0;
}

/* A finite number >= 0, checked with strtod. */
static int field_number(struct loader *ld, const struct field *f, const char *parent,
                        double *out)
{
	char path[PATH_LEN];
	struct spec_pos pos = val_pos(f);
	const char *s;
	char *copy, *end;
	size_t len;
	double v;
	bool whole;

	path_key(path, sizeof(path), parent, f->name);
	if (want_kind(ld, f->val, pos, path, FYNT_SCALAR, "a number"))
		return -1;
	s = scalar_text(f->val, &len);
	copy = xstrndup(s, len);
	errno = 0;
	v = strtod(copy, &end);
	/* strtod skips leading blanks; a number here has none */
	whole = len > 0 && end == copy + len && !is_blank(s[0]);
	free(copy);
	if (whole && isfinite(v) && v >= 0) {
		*out = v;
		return 0;
	}
	copy = shown(s, len);
	if (!whole)
		fail(ld, pos, path, "expected a number, got '%s'", copy);
	else
		fail(ld, pos, path, "value '%s' is out of range (expected a finite number >= 0)",
		     copy);
	free(copy);
	return -1;
}

static int field_str(struct loader *ld, const struct field *f, const char *parent,
                     bool nonempty, char **out)
{
	char path[PATH_LEN];

	path_key(path, sizeof(path), parent, f->name);
	return node_str(ld, f->val, val_pos(f), path, nonempty, out);
}

/* One of names (NULL-terminated); *out is its index. */
static int field_enum(struct loader *ld, const struct field *f, const char *parent,
                      const char *const *names, int *out)
{
	char path[PATH_LEN];
	struct spec_pos pos = val_pos(f);
	struct buf list = BUF_INIT;
	const char *s;
	size_t len;
	char *q;

	path_key(path, sizeof(path), parent, f->name);
	if (node_text(ld, f->val, pos, path, false, &s, &len))
		return -1;
	for (int i = 0; names[i]; i++) {
		if (text_is(s, len, names[i])) {
			*out = i;
			return 0;
		}
	}
	add_list(&list, names);
	q = shown(s, len);
	fail(ld, pos, path, "invalid value '%s' (expected one of: %s)", q, list.data);
	free(q);
	buf_release(&list);
	return -1;
}

/* ---- mappings with a fixed set of keys ---- */

static int unknown_key(struct loader *ld, struct fy_node *key, const char *path,
                       const struct field *f, size_t nf)
{
	struct buf list = BUF_INIT;
	const char *s;
	size_t len;
	char *q;

	s = scalar_text(key, &len);
	for (size_t i = 0; i < nf; i++)
		buf_addf(&list, "%s%s", i ? ", " : "", f[i].name);
	q = shown(s, len);
	fail(ld, node_pos(key), path, "unknown key '%s' (expected one of: %s)", q, list.data);
	free(q);
	buf_release(&list);
	return -1;
}

/*
 * Fills f[i].key and f[i].val from map, which must be a mapping (checked
 * by the caller); any other key is an error.
 */
static int get_fields(struct loader *ld, struct fy_node *map, const char *path,
                      struct field *f, size_t nf)
{
	struct spec_pos map_pos = node_pos(map);
	struct fy_node_pair *pair;
	void *iter = NULL;

	while ((pair = fy_node_mapping_iterate(map, &iter)) != NULL) {
		struct fy_node *key = fy_node_pair_key(pair);
		struct fy_node *val = fy_node_pair_value(pair);
		struct spec_pos kpos = pos_or(key, pos_or(val, map_pos));
		char vpath[PATH_LEN];
		const char *s;
		size_t len, i;

		if (deref(ld, &key, kpos, path) ||
		    node_text(ld, key, kpos, path, false, &s, &len))
			return -1;
		for (i = 0; i < nf; i++)
			if (text_is(s, len, f[i].name))
				break;
		if (i == nf)
			return unknown_key(ld, key, path, f, nf);
		if (f[i].key)
			return fail(ld, kpos, path, "duplicate key '%s'", f[i].name);
		path_key(vpath, sizeof(vpath), path, f[i].name);
		if (deref(ld, &val, kpos, vpath))
			return -1;
		f[i].key = key;
		f[i].val = val;
	}
	return 0;
}

static int require(struct loader *ld, const struct field *f, struct fy_node *map,
                   const char *path)
{
	if (f->key)
		return 0;
	return fail(ld, node_pos(map), path, "missing required key '%s'", f->name);
}

/* The mapping at f, with its fields. */
static int field_map(struct loader *ld, const struct field *f, const char *path,
                     struct field *sub, size_t nsub)
{
	if (want_kind(ld, f->val, val_pos(f), path, FYNT_MAPPING, "a mapping"))
		return -1;
	return get_fields(ld, f->val, path, sub, nsub);
}

/* ---- dsn ---- */

static size_t uri_scheme_len(const char *dsn)
{
	size_t i = 0;

	if (!((dsn[0] >= 'a' && dsn[0] <= 'z') || (dsn[0] >= 'A' && dsn[0] <= 'Z')))
		return 0;
	while ((dsn[i] >= 'a' && dsn[i] <= 'z') || (dsn[i] >= 'A' && dsn[i] <= 'Z') ||
	       (dsn[i] >= '0' && dsn[i] <= '9') || dsn[i] == '+' || dsn[i] == '-' ||
	       dsn[i] == '.')
		i++;
	return strncmp(dsn + i, "://", 3) == 0 ? i : 0;
}

static bool scheme_is(const char *dsn, size_t len, const char *a, const char *b)
{
	return text_is(dsn, len, a) || text_is(dsn, len, b);
}

/*
 * Only the scheme of the dsn is ever quoted: it is made of [A-Za-z0-9+.-]
 * and cannot hold a password.
 */
static int check_dsn_scheme(struct loader *ld, struct spec_pos pos, const char *path,
                            const char *driver, const char *dsn)
{
	size_t n = uri_scheme_len(dsn);
	bool postgres = strcmp(driver, "postgres") == 0;
	const char *expected = postgres
		? "postgresql://, postgres:// or key=value pairs"
		: "mariadb:// or mysql://";

	if (postgres && n > 0 && scheme_is(dsn, n, "postgresql", "postgres"))
		return 0;
	if (postgres && !strstr(dsn, "://"))
		return 0;
	if (!postgres && n > 0 && scheme_is(dsn, n, "mariadb", "mysql"))
		return 0;
	if (n > 0)
		return fail(ld, pos, path, "scheme '%.*s' does not fit driver '%s' (expected %s)",
		            (int)n, dsn, driver, expected);
	if (postgres)
		return fail(ld, pos, path, "malformed uri for driver '%s' (expected %s)",
		            driver, expected);
	return fail(ld, pos, path, "driver '%s' needs a uri (expected %s)", driver, expected);
}

static int parse_dsn(struct loader *ld, const struct field *f, const char *parent,
                     struct spec_system *sys)
{
	char path[PATH_LEN];
	struct spec_pos pos = val_pos(f);
	const char *raw;
	size_t len;
	char *copy, *dsn;
	int rc;

	path_key(path, sizeof(path), parent, f->name);
	if (node_text(ld, f->val, pos, path, true, &raw, &len))
		return -1;
	copy = xstrndup(raw, len);
	rc = spec_expand_env(copy, &dsn, ld->err);
	free(copy);
	if (rc)
		return err_context(ld->err, "%s:%d:%d: %s", ld->file, pos.line, pos.col, path);
	if (!*dsn) {
		free(dsn);
		return fail(ld, pos, path, "dsn is empty after expanding environment variables");
	}
	if (check_dsn_scheme(ld, pos, path, sys->driver, dsn)) {
		free(dsn);
		return -1;
	}
	sys->dsn = dsn;
	sys->dsn_shown = spec_redact_dsn(dsn);
	return 0;
}

/* ---- systems ---- */

static const char *const drivers[] = { "postgres", "mariadb", "snapshot", NULL };

/* A snapshot file's path: ${VAR} expanded; it stands where a dsn would. */
static int parse_snapshot_path(struct loader *ld, const struct field *f, const char *parent,
                               struct spec_system *sys)
{
	char path[PATH_LEN];
	struct spec_pos pos = val_pos(f);
	const char *raw;
	size_t len;
	char *copy, *file;
	int rc;

	path_key(path, sizeof(path), parent, f->name);
	if (node_text(ld, f->val, pos, path, true, &raw, &len))
		return -1;
	copy = xstrndup(raw, len);
	rc = spec_expand_env(copy, &file, ld->err);
	free(copy);
	if (rc)
		return err_context(ld->err, "%s:%d:%d: %s", ld->file, pos.line, pos.col, path);
	sys->dsn = file;
	sys->dsn_shown = xstrdup(file);
	return 0;
}

static int parse_system(struct loader *ld, struct fy_node *map, struct spec_pos pos,
                        const char *path, struct spec_system *sys)
{
	enum { F_DRIVER, F_DSN, F_PATH, F_N };
	struct field f[F_N] = {
		[F_DRIVER] = { .name = "driver" },
		[F_DSN] = { .name = "dsn" },
		[F_PATH] = { .name = "path" },
	};
	int driver;

	if (want_kind(ld, map, pos, path, FYNT_MAPPING, "a mapping") ||
	    get_fields(ld, map, path, f, F_N) ||
	    require(ld, &f[F_DRIVER], map, path) ||
	    field_enum(ld, &f[F_DRIVER], path, drivers, &driver))
		return -1;
	sys->driver = xstrdup(drivers[driver]);
	/* A snapshot file stands in for a server: it has a path, not a dsn. */
	if (strcmp(sys->driver, "snapshot") == 0) {
		if (f[F_DSN].key)
			return fail(ld, key_pos(&f[F_DSN]), path, "a snapshot system takes 'path', not 'dsn'");
		if (require(ld, &f[F_PATH], map, path))
			return -1;
		return parse_snapshot_path(ld, &f[F_PATH], path, sys);
	}
	if (f[F_PATH].key)
		return fail(ld, key_pos(&f[F_PATH]), path, "only a snapshot system takes 'path'");
	if (require(ld, &f[F_DSN], map, path))
		return -1;
	return parse_dsn(ld, &f[F_DSN], path, sys);
}

static int parse_systems(struct loader *ld, const struct field *f)
{
	struct spec *s = ld->s;
	void *iter = NULL;
	size_t n;

	if (want_kind(ld, f->val, val_pos(f), f->name, FYNT_MAPPING, "a mapping"))
		return -1;
	n = item_count(f->val);
	if (n == 0)
		return fail(ld, val_pos(f), f->name, "expected at least one system");
	s->systems = xcalloc(n, sizeof(*s->systems));
	s->nsystems = n;
	for (size_t i = 0; i < n; i++) {
		struct fy_node_pair *pair = fy_node_mapping_iterate(f->val, &iter);
		struct fy_node *key = fy_node_pair_key(pair);
		struct fy_node *val = fy_node_pair_value(pair);
		struct spec_pos kpos = pos_or(key, val_pos(f));
		struct spec_system *sys = &s->systems[i];
		char path[PATH_LEN];

		if (deref(ld, &key, kpos, f->name) || deref(ld, &val, kpos, f->name) ||
		    node_name(ld, key, kpos, f->name, &sys->name))
			return -1;
		sys->pos = kpos;
		if (!nameset_add(&ld->systems, sys->name, strlen(sys->name), i, NULL))
			return fail(ld, kpos, f->name, "duplicate system name '%s'",
			            sys->name);
		path_key(path, sizeof(path), f->name, sys->name);
		if (parse_system(ld, val, pos_or(val, kpos), path, sys))
			return -1;
	}
	return 0;
}

/* ---- checks ---- */

static int unknown_system(struct loader *ld, struct spec_pos pos, const char *path,
                          const char *name)
{
	struct buf list = BUF_INIT;
	char *q = shown(name, strlen(name));

	for (size_t i = 0; i < ld->s->nsystems; i++)
		buf_addf(&list, "%s%s", i ? ", " : "", ld->s->systems[i].name);
	fail(ld, pos, path, "unknown system '%s' (defined: %s)", q, list.data);
	free(q);
	buf_release(&list);
	return -1;
}

static int parse_side(struct loader *ld, const struct field *sf, const char *parent,
                      struct spec_side *side)
{
	enum { F_SYSTEM, F_TABLE, F_WHERE, F_QUERY, F_N };
	struct field f[F_N] = {
		[F_SYSTEM] = { .name = "system" },
		[F_TABLE] = { .name = "table" },
		[F_WHERE] = { .name = "where" },
		[F_QUERY] = { .name = "query" },
	};
	char path[PATH_LEN], sys_path[PATH_LEN];
	size_t i;

	path_key(path, sizeof(path), parent, sf->name);
	if (field_map(ld, sf, path, f, F_N) || require(ld, &f[F_SYSTEM], sf->val, path))
		return -1;
	side->pos = val_pos(sf);
	if (field_str(ld, &f[F_SYSTEM], path, true, &side->system))
		return -1;
	side->sys = NULL;
	if (nameset_find(&ld->systems, side->system, strlen(side->system), &i))
		side->sys = &ld->s->systems[i];
	path_key(sys_path, sizeof(sys_path), path, "system");
	if (!side->sys)
		return unknown_system(ld, val_pos(&f[F_SYSTEM]), sys_path, side->system);
	if (f[F_TABLE].key && f[F_QUERY].key) {
		struct spec_pos a = key_pos(&f[F_TABLE]), b = key_pos(&f[F_QUERY]);

		return fail(ld, pos_cmp(a, b) > 0 ? a : b, path,
		            "give either 'table' or 'query', not both");
	}
	if (!f[F_TABLE].key && !f[F_QUERY].key)
		return fail(ld, side->pos, path, "missing key 'table' or 'query'");
	if (f[F_WHERE].key && !f[F_TABLE].key)
		return fail(ld, key_pos(&f[F_WHERE]), path,
		            "'where' is only allowed together with 'table'");
	if (f[F_TABLE].key && field_str(ld, &f[F_TABLE], path, true, &side->table))
		return -1;
	if (f[F_WHERE].key && field_str(ld, &f[F_WHERE], path, true, &side->where))
		return -1;
	if (f[F_QUERY].key && field_str(ld, &f[F_QUERY], path, true, &side->query))
		return -1;
	if (f[F_WHERE].key)
		side->where_pos = val_pos(&f[F_WHERE]);
	if (f[F_QUERY].key)
		side->query_pos = val_pos(&f[F_QUERY]);
	return 0;
}

/*
 * A sequence of non-empty, distinct column names into *items, and their
 * positions into *pos when pos is not NULL.
 */
static int parse_names(struct loader *ld, const struct field *f, const char *path,
                       char ***items, size_t *nitems, struct spec_pos **pos)
{
	struct spec_pos seq_pos = val_pos(f);
	struct nameset seen = NAMESET_INIT;
	void *iter = NULL;
	int rc = 0;
	size_t n;

	if (want_kind(ld, f->val, seq_pos, path, FYNT_SEQUENCE, "a sequence"))
		return -1;
	n = item_count(f->val);
	*items = xcalloc(n, sizeof(**items));
	*nitems = n;
	if (pos)
		*pos = xcalloc(n, sizeof(**pos));
	for (size_t i = 0; i < n; i++) {
		struct fy_node *item = fy_node_sequence_iterate(f->val, &iter);
		struct spec_pos ipos = pos_or(item, seq_pos);
		char ipath[PATH_LEN];

		path_index(ipath, sizeof(ipath), path, i);
		if (deref(ld, &item, ipos, ipath) ||
		    node_str(ld, item, ipos, ipath, true, &(*items)[i])) {
			rc = -1;
			break;
		}
		if (pos)
			(*pos)[i] = ipos;
		if (!nameset_add(&seen, (*items)[i], strlen((*items)[i]), i, NULL)) {
			rc = fail(ld, ipos, ipath, "duplicate column '%s'", (*items)[i]);
			break;
		}
	}
	nameset_release(&seen);
	return rc;
}

static int parse_key(struct loader *ld, const struct field *f, const char *parent,
                     struct spec_check *chk)
{
	char path[PATH_LEN];

	path_key(path, sizeof(path), parent, f->name);
	chk->key_pos = val_pos(f);
	if (is_scalar(f->val)) {
		chk->key = xcalloc(1, sizeof(*chk->key));
		chk->nkey = 1;
		return node_str(ld, f->val, chk->key_pos, path, true, &chk->key[0]);
	}
	if (is_null(f->val) || fy_node_get_type(f->val) != FYNT_SEQUENCE)
		return fail(ld, chk->key_pos, path, "expected a string or a sequence, got %s",
		            kind(f->val));
	if (item_count(f->val) == 0)
		return fail(ld, chk->key_pos, path, "expected at least one column");
	return parse_names(ld, f, path, &chk->key, &chk->nkey, NULL);
}

static const char *const trims[] = { "right", "both", NULL };
static const char *const cases[] = { "insensitive", "sensitive", NULL };
static const char *const as_names[] = { "text", "json", "uuid", NULL };

static int parse_map(struct loader *ld, const struct field *f, const char *parent,
                     struct spec_column *col)
{
	char path[PATH_LEN];
	struct spec_pos map_pos = val_pos(f);
	struct nameset seen = NAMESET_INIT;
	void *iter = NULL;
	int rc = 0;
	size_t n;

	path_key(path, sizeof(path), parent, f->name);
	if (want_kind(ld, f->val, map_pos, path, FYNT_MAPPING, "a mapping"))
		return -1;
	n = item_count(f->val);
	col->map = xcalloc(n, sizeof(*col->map));
	col->nmap = n;
	for (size_t i = 0; i < n; i++) {
		struct fy_node_pair *pair = fy_node_mapping_iterate(f->val, &iter);
		struct fy_node *key = fy_node_pair_key(pair);
		struct fy_node *val = fy_node_pair_value(pair);
		struct spec_map_entry *e = &col->map[i];
		struct spec_pos kpos = pos_or(key, map_pos);
		char vpath[PATH_LEN];

		if (deref(ld, &key, kpos, path) || deref(ld, &val, kpos, path) ||
		    node_str(ld, key, kpos, path, false, &e->from)) {
			rc = -1;
			break;
		}
		if (!nameset_add(&seen, e->from, strlen(e->from), i, NULL)) {
			rc = fail(ld, kpos, path, "duplicate entry '%s'", e->from);
			break;
		}
		e->pos = kpos;
		path_key(vpath, sizeof(vpath), path, e->from);
		if (node_str(ld, val, pos_or(val, kpos), vpath, false, &e->to)) {
			rc = -1;
			break;
		}
	}
	nameset_release(&seen);
	return rc;
}

/*
 * The option fields in spec_opt order, after the names: field
 * C_FIRST_OPTION + k is option k.
 */
enum {
	C_NAME, C_SOURCE, C_TARGET,
	C_SCALE, C_PRECISION, C_TIMEZONE, C_TRIM, C_CASE, C_TOLERANCE, C_MAP, C_AS, C_ZERO_DATE,
	C_N
};
#define C_FIRST_OPTION C_SCALE

/* timezone: ZONE, or { source: ZONE, target: ZONE } for two naive sides. */
static int parse_timezone(struct loader *ld, const struct field *f, const char *parent,
                          struct spec_column *col)
{
	struct field tf[2] = { { .name = "source" }, { .name = "target" } };
	char path[PATH_LEN];

	if (is_scalar(f->val))
		return field_str(ld, f, parent, true, &col->timezone);
	path_key(path, sizeof(path), parent, f->name);
	if (want_kind(ld, f->val, val_pos(f), path, FYNT_MAPPING, "a zone name or a mapping of source and target"))
		return -1;
	if (get_fields(ld, f->val, path, tf, 2))
		return -1;
	if (!tf[0].key && !tf[1].key)
		return fail(ld, val_pos(f), path, "expected 'source', 'target' or both");
	for (int s = 0; s < 2; s++)
		if (tf[s].key && field_str(ld, &tf[s], path, true, &col->tz_side[s]))
			return -1;
	return 0;
}

/* zero_date: null (YAML's null, or the string "null"), or keep. */
static int parse_zero_date(struct loader *ld, const struct field *f, const char *parent,
                           struct spec_column *col)
{
	static const char *const names[] = { "null", "keep", NULL };
	int v;

	if (is_null(f->val)) {
		col->zero_null = true;
		return 0;
	}
	if (field_enum(ld, f, parent, names, &v))
		return -1;
	col->zero_null = v == 0;
	return 0;
}

/* name, or source and target, but not both forms. */
static int column_names(struct loader *ld, struct field *f, struct spec_pos pos,
                        const char *path, struct spec_column *col)
{
	struct fy_node *st = f[C_SOURCE].key ? f[C_SOURCE].key : f[C_TARGET].key;

	if (f[C_NAME].key && st) {
		struct spec_pos a = key_pos(&f[C_NAME]), b = node_pos(st);

		return fail(ld, pos_cmp(a, b) > 0 ? a : b, path,
		            "give either 'name' or 'source' and 'target', not both");
	}
	if (f[C_NAME].key) {
		if (field_str(ld, &f[C_NAME], path, true, &col->source))
			return -1;
		col->target = xstrdup(col->source);
		return 0;
	}
	if (!st)
		return fail(ld, pos, path, "missing key 'name' (or 'source' and 'target')");
	if (!f[C_TARGET].key)
		return fail(ld, pos, path, "missing key 'target' (needed with 'source')");
	if (!f[C_SOURCE].key)
		return fail(ld, pos, path, "missing key 'source' (needed with 'target')");
	if (field_str(ld, &f[C_SOURCE], path, true, &col->source) ||
	    field_str(ld, &f[C_TARGET], path, true, &col->target))
		return -1;
	return 0;
}

static int column_options(struct loader *ld, struct field *f, const char *path,
                          struct spec_column *col)
{
	int v;

	for (int i = C_FIRST_OPTION; i < C_N; i++) {
		if (!f[i].key)
			continue;
		col->optpos[i - C_FIRST_OPTION] = key_pos(&f[i]);
		if (pos_cmp(key_pos(&f[i]), col->opt_pos) < 0)
			col->opt_pos = key_pos(&f[i]);
	}
	if (f[C_SCALE].key && field_int(ld, &f[C_SCALE], path, 0, 38, &col->scale))
		return -1;
	if (f[C_PRECISION].key && field_int(ld, &f[C_PRECISION], path, 0, 6, &col->precision))
		return -1;
	if (f[C_TIMEZONE].key && parse_timezone(ld, &f[C_TIMEZONE], path, col))
		return -1;
	if (f[C_ZERO_DATE].key && parse_zero_date(ld, &f[C_ZERO_DATE], path, col))
		return -1;
	if (f[C_TRIM].key) {
		if (field_enum(ld, &f[C_TRIM], path, trims, &v))
			return -1;
		col->trim = v == 0 ? TRIM_RIGHT : TRIM_BOTH;
	}
	if (f[C_CASE].key) {
		if (field_enum(ld, &f[C_CASE], path, cases, &v))
			return -1;
		col->case_insensitive = v == 0;
	}
	if (f[C_TOLERANCE].key) {
		if (field_number(ld, &f[C_TOLERANCE], path, &col->tolerance))
			return -1;
		col->has_tolerance = true;
	}
	if (f[C_MAP].key && parse_map(ld, &f[C_MAP], path, col))
		return -1;
	if (f[C_AS].key) {
		if (field_enum(ld, &f[C_AS], path, as_names, &v))
			return -1;
		col->as = (enum spec_as)(v + 1);
	}
	return 0;
}

static int parse_column(struct loader *ld, struct fy_node *n, struct spec_pos pos,
                        const char *path, struct spec_column *col)
{
	struct field f[C_N] = {
		[C_NAME] = { .name = "name" },
		[C_SOURCE] = { .name = "source" },
		[C_TARGET] = { .name = "target" },
		[C_SCALE] = { .name = "scale" },
		[C_PRECISION] = { .name = "precision" },
		[C_TIMEZONE] = { .name = "timezone" },
		[C_TRIM] = { .name = "trim" },
		[C_CASE] = { .name = "case" },
		[C_TOLERANCE] = { .name = "tolerance" },
		[C_MAP] = { .name = "map" },
		[C_AS] = { .name = "as" },
		[C_ZERO_DATE] = { .name = "zero_date" },
	};

	col->pos = pos;
	col->opt_pos = pos;
	if (is_scalar(n)) {
		if (node_str(ld, n, pos, path, true, &col->source))
			return -1;
		col->target = xstrdup(col->source);
		return 0;
	}
	if (is_null(n) || fy_node_get_type(n) != FYNT_MAPPING)
		return fail(ld, pos, path, "expected a string or a mapping, got %s", kind(n));
	/* opt_pos starts past any key, so the first option found wins */
	col->opt_pos.line = INT_MAX;
	if (get_fields(ld, n, path, f, C_N) || column_names(ld, f, pos, path, col) ||
	    column_options(ld, f, path, col))
		return -1;
	if (col->opt_pos.line == INT_MAX)
		col->opt_pos = pos;
	return 0;
}

/*
 * A column may appear once per side. Of two clashes, the earlier listed
 * column is named, the source side first.
 */
static int column_unique(struct loader *ld, const struct spec_check *chk, size_t i,
                         const char *path)
{
	const struct spec_column *c = &chk->columns[i];
	size_t js = SIZE_MAX, jt = SIZE_MAX;
	bool src_new = nameset_add(&ld->cols[0], c->source, strlen(c->source), i, &js);
	bool tgt_new = nameset_add(&ld->cols[1], c->target, strlen(c->target), i, &jt);

	if (src_new && tgt_new)
		return 0;
	if (js <= jt)
		return fail(ld, c->pos, path,
		            "source column '%s' is already listed in columns[%zu]",
		            c->source, js);
	return fail(ld, c->pos, path,
	            "target column '%s' is already listed in columns[%zu]",
	            c->target, jt);
}

static int parse_columns(struct loader *ld, const struct field *f, const char *parent,
                         struct spec_check *chk)
{
	char path[PATH_LEN];
	struct spec_pos seq_pos = val_pos(f);
	void *iter = NULL;
	size_t n;

	path_key(path, sizeof(path), parent, f->name);
	if (want_kind(ld, f->val, seq_pos, path, FYNT_SEQUENCE, "a sequence"))
		return -1;
	n = item_count(f->val);
	chk->columns = xcalloc(n, sizeof(*chk->columns));
	chk->ncolumns = n;
	chk->columns_given = true;
	for (size_t i = 0; i < n; i++) {
		chk->columns[i].scale = -1;
		chk->columns[i].precision = -1;
	}
	for (size_t i = 0; i < n; i++) {
		struct fy_node *item = fy_node_sequence_iterate(f->val, &iter);
		struct spec_pos ipos = pos_or(item, seq_pos);
		char ipath[PATH_LEN];

		path_index(ipath, sizeof(ipath), path, i);
		if (deref(ld, &item, ipos, ipath) ||
		    parse_column(ld, item, ipos, ipath, &chk->columns[i]) ||
		    column_unique(ld, chk, i, ipath))
			return -1;
	}
	return 0;
}

static int parse_ignore(struct loader *ld, const struct field *f, const char *parent,
                        struct spec_check *chk)
{
	char path[PATH_LEN], ipath[PATH_LEN];

	path_key(path, sizeof(path), parent, f->name);
	if (parse_names(ld, f, path, &chk->ignore, &chk->nignore, &chk->ignore_pos))
		return -1;
	for (size_t i = 0; i < chk->nignore; i++) {
		size_t js = SIZE_MAX, jt = SIZE_MAX;

		nameset_find(&ld->cols[0], chk->ignore[i], strlen(chk->ignore[i]), &js);
		nameset_find(&ld->cols[1], chk->ignore[i], strlen(chk->ignore[i]), &jt);
		if (js != SIZE_MAX || jt != SIZE_MAX) {
			path_index(ipath, sizeof(ipath), path, i);
			return fail(ld, chk->ignore_pos[i], ipath,
			            "column '%s' is also listed in columns[%zu]",
			            chk->ignore[i], js < jt ? js : jt);
		}
	}
	return 0;
}

static const char *const expects[] = { "equal", "subset", "absent", NULL };
static const char *const repairs[] = { "target", "source", "none", NULL };
static const char *const matches[] = { "key", "multiset", NULL };

enum {
	K_NAME, K_SOURCE, K_TARGET, K_KEY, K_COLUMNS, K_IGNORE, K_EXPECT, K_REPAIR,
	K_CHUNK_ROWS, K_MATCH, K_N
};

static int check_name(struct loader *ld, const struct field *f, const char *path,
                      size_t i)
{
	char npath[PATH_LEN];
	struct spec_check *chk = &ld->s->checks[i];
	size_t j;

	path_key(npath, sizeof(npath), path, f->name);
	if (node_name(ld, f->val, val_pos(f), npath, &chk->name))
		return -1;
	if (!nameset_add(&ld->checks, chk->name, strlen(chk->name), i, &j))
		return fail(ld, val_pos(f), npath,
		            "duplicate check name '%s' (already used by checks[%zu])",
		            chk->name, j);
	return 0;
}

static int parse_check(struct loader *ld, struct fy_node *n, struct spec_pos pos,
                       size_t i)
{
	struct field f[K_N] = {
		[K_NAME] = { .name = "name" },
		[K_SOURCE] = { .name = "source" },
		[K_TARGET] = { .name = "target" },
		[K_KEY] = { .name = "key" },
		[K_COLUMNS] = { .name = "columns" },
		[K_IGNORE] = { .name = "ignore" },
		[K_EXPECT] = { .name = "expect" },
		[K_REPAIR] = { .name = "repair" },
		[K_CHUNK_ROWS] = { .name = "chunk_rows" },
		[K_MATCH] = { .name = "match" },
	};
	struct spec_check *chk = &ld->s->checks[i];
	char path[PATH_LEN];
	int v;

	path_index(path, sizeof(path), "checks", i);
	chk->pos = pos;
	nameset_release(&ld->cols[0]);
	nameset_release(&ld->cols[1]);
	if (want_kind(ld, n, pos, path, FYNT_MAPPING, "a mapping") ||
	    get_fields(ld, n, path, f, K_N) ||
	    require(ld, &f[K_NAME], n, path) || require(ld, &f[K_SOURCE], n, path) ||
	    require(ld, &f[K_TARGET], n, path) ||
	    check_name(ld, &f[K_NAME], path, i) ||
	    parse_side(ld, &f[K_SOURCE], path, &chk->source) ||
	    parse_side(ld, &f[K_TARGET], path, &chk->target))
		return -1;
	if (f[K_KEY].key && parse_key(ld, &f[K_KEY], path, chk))
		return -1;
	if (f[K_COLUMNS].key && parse_columns(ld, &f[K_COLUMNS], path, chk))
		return -1;
	if (f[K_IGNORE].key && parse_ignore(ld, &f[K_IGNORE], path, chk))
		return -1;
	if (f[K_EXPECT].key) {
		if (field_enum(ld, &f[K_EXPECT], path, expects, &v))
			return -1;
		chk->expect = (enum spec_expect)v;
	}
	if (f[K_REPAIR].key) {
		if (field_enum(ld, &f[K_REPAIR], path, repairs, &v))
			return -1;
		chk->repair = (enum spec_repair)v;
	}
	if (f[K_CHUNK_ROWS].key &&
	    field_long(ld, &f[K_CHUNK_ROWS], path, 1, CHUNK_ROWS_MAX, &chk->chunk_rows))
		return -1;
	if (f[K_MATCH].key) {
		if (field_enum(ld, &f[K_MATCH], path, matches, &v))
			return -1;
		chk->multiset = v == 1;
		chk->match_pos = val_pos(&f[K_MATCH]);
		if (chk->multiset && f[K_KEY].key) {
			char mpath[PATH_LEN];

			path_key(mpath, sizeof(mpath), path, "match");
			return fail(ld, chk->match_pos, mpath, "match: multiset compares whole rows, without a key: "
			            "remove key, or match by it");
		}
	}
	return 0;
}

static int parse_checks(struct loader *ld, const struct field *f)
{
	struct spec_pos seq_pos = val_pos(f);
	void *iter = NULL;
	size_t n;

	if (want_kind(ld, f->val, seq_pos, f->name, FYNT_SEQUENCE, "a sequence"))
		return -1;
	n = item_count(f->val);
	if (n == 0)
		return fail(ld, seq_pos, f->name, "expected at least one check");
	ld->s->checks = xcalloc(n, sizeof(*ld->s->checks));
	ld->s->nchecks = n;
	for (size_t i = 0; i < n; i++) {
		struct fy_node *item = fy_node_sequence_iterate(f->val, &iter);
		struct spec_pos ipos = pos_or(item, seq_pos);
		char ipath[PATH_LEN];

		path_index(ipath, sizeof(ipath), f->name, i);
		if (deref(ld, &item, ipos, ipath) || parse_check(ld, item, ipos, i))
			return -1;
	}
	return 0;
}

/* ---- top level ---- */

static int parse_version(struct loader *ld, const struct field *f)
{
	struct spec_pos pos = val_pos(f);
	enum int_parse r;
	long long v = 0;
	const char *s;
	size_t len;
	char *q;

	if (want_kind(ld, f->val, pos, f->name, FYNT_SCALAR, "an integer"))
		return -1;
	s = scalar_text(f->val, &len);
	r = parse_int(s, len, &v);
	if (r == INT_OK && v == 1) {
		ld->s->version = 1;
		return 0;
	}
	q = shown(s, len);
	if (r == INT_SYNTAX)
		fail(ld, pos, f->name, "expected an integer, got '%s'", q);
	else
		fail(ld, pos, f->name, "unsupported version '%s' (expected 1)", q);
	free(q);
	return -1;
}

static int parse_top(struct loader *ld, struct fy_node *root)
{
	enum { T_VERSION, T_NAME, T_REASON, T_SYSTEMS, T_CHECKS, T_N };
	struct field f[T_N] = {
		[T_VERSION] = { .name = "version" },
		[T_NAME] = { .name = "name" },
		[T_REASON] = { .name = "reason" },
		[T_SYSTEMS] = { .name = "systems" },
		[T_CHECKS] = { .name = "checks" },
	};
	struct spec *s = ld->s;

	if (is_null(root) || fy_node_get_type(root) != FYNT_MAPPING)
		return fail(ld, pos_or(root, (struct spec_pos){ 1, 1 }), "",
		            "expected a mapping at the top level, got %s", kind(root));
	if (get_fields(ld, root, "", f, T_N) ||
	    require(ld, &f[T_VERSION], root, "") || parse_version(ld, &f[T_VERSION]) ||
	    require(ld, &f[T_NAME], root, "") ||
	    node_name(ld, f[T_NAME].val, val_pos(&f[T_NAME]), "name", &s->name))
		return -1;
	if (f[T_REASON].key && field_str(ld, &f[T_REASON], "", false, &s->reason))
		return -1;
	if (require(ld, &f[T_SYSTEMS], root, "") || parse_systems(ld, &f[T_SYSTEMS]) ||
	    require(ld, &f[T_CHECKS], root, "") || parse_checks(ld, &f[T_CHECKS]))
		return -1;
	return 0;
}

/* ---- libfyaml ---- */

/* libfyaml's own output (not the collected errors) goes nowhere. */
static void diag_sink(struct fy_diag *diag, void *user, const char *text, size_t len)
{
	(void)diag;
	(void)user;
	(void)text;
	(void)len;
}

/* The first error libfyaml collected, as ours; its marks are already 1-based. */
static int yaml_error(struct loader *ld, struct fy_diag *diag)
{
	struct fy_diag_error *e;
	void *iter = NULL;

	while ((e = fy_diag_errors_iterate(diag, &iter)) != NULL) {
		if (e->type < FYET_ERROR)
			continue;
		return fail(ld, (struct spec_pos){ e->line, e->column }, "",
		            "invalid yaml: %s", e->msg ? e->msg : "parse error");
	}
	return fail(ld, (struct spec_pos){ 1, 1 }, "", "invalid yaml");
}

/*
 * libfyaml's own duplicate-key check compares each key of a mapping with
 * every earlier one, which is quadratic in the mapping's size (40,000
 * systems took over a minute), so the parser runs with it off
 * (FYPCF_ALLOW_DUPLICATE_KEYS) and this pass does it instead, before the
 * tree is read: keys written as text compare by their text, whatever the
 * quoting, as libfyaml compares them. A key written as an alias is left
 * to the reader of its mapping, which compares resolved keys; a key that
 * is not a string is refused there too. Aliased values are not followed:
 * their anchors are checked where they are defined.
 */
static int unique_keys(struct loader *ld, struct fy_node *n)
{
	struct nameset seen = NAMESET_INIT;
	void *iter = NULL;
	int rc = 0;

	if (!n || fy_node_is_alias(n))
		return 0;
	if (fy_node_get_type(n) == FYNT_SEQUENCE) {
		struct fy_node *item;

		while (rc == 0 && (item = fy_node_sequence_iterate(n, &iter)) != NULL)
			rc = unique_keys(ld, item);
		return rc;
	}
	if (fy_node_get_type(n) != FYNT_MAPPING)
		return 0;
	for (size_t i = 0; rc == 0; i++) {
		struct fy_node_pair *pair = fy_node_mapping_iterate(n, &iter);
		struct fy_node *key;
		const char *s;
		size_t len;

		if (!pair)
			break;
		key = fy_node_pair_key(pair);
		if (key && !fy_node_is_alias(key) && fy_node_get_type(key) == FYNT_SCALAR) {
			s = scalar_text(key, &len);
			if (!nameset_add(&seen, s, len, i, NULL)) {
				char *q = shown(s, len);

				rc = fail(ld, node_pos(key), "", "invalid yaml: duplicate key '%s'", q);
				free(q);
				break;
			}
		}
		rc = unique_keys(ld, fy_node_pair_value(pair));
	}
	nameset_release(&seen);
	return rc;
}

/*
 * A spec is UTF-8 text without NUL bytes (YAML allows neither). Checked
 * before libfyaml sees it: libfyaml 0.7 accepts stray bytes in scalars,
 * loops forever on one after an unknown directive ("%A\xf2"), and can
 * crash on NUL bytes (in fy_parser_destroy, after complex keys).
 */
static int check_text(struct loader *ld, const char *text, size_t len)
{
	const unsigned char *p = (const unsigned char *)text;
	struct spec_pos pos = { 1, 1 };

	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t k = utf8_decode(p + i, len - i, &cp);

		if (k == 0)
			return fail(ld, pos, "", "invalid yaml: byte 0x%02x is not UTF-8", p[i]);
		if (p[i] == 0)
			return fail(ld, pos, "", "invalid yaml: a NUL byte");
		if (p[i] == '\n') {
			pos.line++;
			pos.col = 1;
		} else {
			pos.col++;
		}
		i += k;
	}
	return 0;
}

/* Loads exactly one document into *doc. */
static int load_document(struct loader *ld, struct fy_parser *fyp, struct fy_diag *diag,
                         struct fy_document **doc)
{
	struct fy_document *extra;
	struct fy_document_state *st;
	struct spec_pos pos;

	*doc = fy_parse_load_document(fyp);
	if (!*doc) {
		if (fy_diag_got_error(diag))
			return yaml_error(ld, diag);
		return fail(ld, (struct spec_pos){ 1, 1 }, "", "spec is empty");
	}
	extra = fy_parse_load_document(fyp);
	if (!extra)
		return fy_diag_got_error(diag) ? yaml_error(ld, diag) : 0;
	st = fy_document_get_document_state(extra);
	pos = pos_or(fy_document_root(extra),
	             mark_pos(st ? fy_document_state_start_mark(st) : NULL));
	fy_parse_document_destroy(fyp, extra);
	return fail(ld, pos, "", "more than one yaml document");
}

static int load(struct loader *ld, const char *text, size_t len)
{
	struct fy_diag_cfg dcfg;
	struct fy_parse_cfg pcfg;
	struct fy_diag *diag;
	struct fy_parser *fyp = NULL;
	struct fy_document *doc = NULL;
	int rc = -1;

	if (check_text(ld, text, len))
		return -1;
	fy_diag_cfg_default(&dcfg);
	dcfg.fp = NULL;
	dcfg.output_fn = diag_sink;
	dcfg.colorize = false;
	diag = fy_diag_create(&dcfg);
	if (!diag)
		return err_set(ld->err, ERR_INTERNAL, "cannot create a yaml diagnostic object");
	fy_diag_set_collect_errors(diag, true);
	memset(&pcfg, 0, sizeof(pcfg));
	pcfg.flags = FYPCF_QUIET | FYPCF_ALLOW_DUPLICATE_KEYS;  /* see unique_keys() */
	pcfg.diag = diag;
	fyp = fy_parser_create(&pcfg);
	if (!fyp) {
		err_set(ld->err, ERR_INTERNAL, "cannot create a yaml parser");
	} else if (fy_parser_set_string(fyp, text, len) != 0) {
		err_set(ld->err, ERR_INTERNAL, "cannot set the yaml parser input");
	} else if (load_document(ld, fyp, diag, &doc) == 0) {
		struct fy_node *root = fy_document_root(doc);

		if (is_null(root))
			fail(ld, pos_or(root, (struct spec_pos){ 1, 1 }), "", "spec is empty");
		else if (unique_keys(ld, root) == 0)
			rc = parse_top(ld, root);
	}
	if (doc)
		fy_parse_document_destroy(fyp, doc);
	if (fyp)
		fy_parser_destroy(fyp);
	fy_diag_destroy(diag);
	nameset_release(&ld->systems);
	nameset_release(&ld->checks);
	nameset_release(&ld->cols[0]);
	nameset_release(&ld->cols[1]);
	return rc;
}

/* ---- public interface ---- */

int spec_load_string(const char *name, const char *text, size_t len,
                     struct spec *out, struct tally_err *err)
{
	struct spec s;
	struct loader ld = { name, &s, err, NAMESET_INIT, NAMESET_INIT,
	                     { NAMESET_INIT, NAMESET_INIT } };

	memset(out, 0, sizeof(*out));
	memset(&s, 0, sizeof(s));
	if (!name)
		name = "<string>";
	ld.file = name;
	if (!text) {
		text = "";
		len = 0;
	}
	s.file = xstrdup(name);
	if (load(&ld, text, len)) {
		spec_release(&s);
		return -1;
	}
	*out = s;
	return 0;
}

int spec_load(const char *path, struct spec *out, struct tally_err *err)
{
	struct buf b = BUF_INIT;
	FILE *fp;
	int rc;

	memset(out, 0, sizeof(*out));
	fp = fopen(path, "rb");
	if (!fp)
		return err_set(err, ERR_SPEC, "cannot read spec file '%s': %s",
		               path, strerror(errno));
	for (;;) {
		size_t n;

		buf_grow(&b, 8192);
		n = fread(b.data + b.len, 1, b.cap - b.len - 1, fp);
		buf_setlen(&b, b.len + n);
		if (n == 0)
			break;
	}
	if (ferror(fp)) {
		int e = errno;

		fclose(fp);
		buf_release(&b);
		return err_set(err, ERR_SPEC, "cannot read spec file '%s': %s",
		               path, strerror(e));
	}
	fclose(fp);
	rc = spec_load_string(path, b.data, b.len, out, err);
	buf_release(&b);
	return rc;
}

static void check_release(struct spec_check *c)
{
	struct spec_side *sides[] = { &c->source, &c->target };

	free(c->name);
	for (size_t i = 0; i < 2; i++) {
		free(sides[i]->system);
		free(sides[i]->table);
		free(sides[i]->where);
		free(sides[i]->query);
	}
	for (size_t i = 0; i < c->nkey; i++)
		free(c->key[i]);
	free(c->key);
	for (size_t i = 0; i < c->ncolumns; i++) {
		struct spec_column *col = &c->columns[i];

		free(col->source);
		free(col->target);
		free(col->timezone);
		free(col->tz_side[0]);
		free(col->tz_side[1]);
		for (size_t j = 0; j < col->nmap; j++) {
			free(col->map[j].from);
			free(col->map[j].to);
		}
		free(col->map);
	}
	free(c->columns);
	for (size_t i = 0; i < c->nignore; i++)
		free(c->ignore[i]);
	free(c->ignore);
	free(c->ignore_pos);
}

void spec_release(struct spec *s)
{
	if (!s)
		return;
	free(s->file);
	free(s->name);
	free(s->reason);
	for (size_t i = 0; i < s->nsystems; i++) {
		free(s->systems[i].name);
		free(s->systems[i].driver);
		free(s->systems[i].dsn);
		free(s->systems[i].dsn_shown);
	}
	free(s->systems);
	for (size_t i = 0; i < s->nchecks; i++)
		check_release(&s->checks[i]);
	free(s->checks);
	memset(s, 0, sizeof(*s));
}

struct spec_system *spec_find_system(const struct spec *s, const char *name)
{
	if (!s || !name)
		return NULL;
	for (size_t i = 0; i < s->nsystems; i++)
		if (s->systems[i].name && strcmp(s->systems[i].name, name) == 0)
			return &s->systems[i];
	return NULL;
}

struct spec_check *spec_find_check(const struct spec *s, const char *name)
{
	if (!s || !name)
		return NULL;
	for (size_t i = 0; i < s->nchecks; i++)
		if (s->checks[i].name && strcmp(s->checks[i].name, name) == 0)
			return &s->checks[i];
	return NULL;
}

static bool env_name_char(char c, bool first)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' ||
	       (!first && c >= '0' && c <= '9');
}

/* Appends the value of the variable name[0..len). */
static int expand_var(struct buf *b, const char *name, size_t len, struct tally_err *err)
{
	const char *val;
	char *var;

	for (size_t i = 0; i < len; i++)
		if (!env_name_char(name[i], i == 0))
			len = 0;
	if (len == 0)
		return err_set(err, ERR_SPEC, "invalid environment variable name after '${'");
	var = xstrndup(name, len);
	val = getenv(var);
	if (!val)
		err_set(err, ERR_SPEC, "environment variable '%s' is not set", var);
	else
		buf_addstr(b, val);
	free(var);
	return val ? 0 : -1;
}

/* Messages never quote the input: it may be a dsn with a password. */
int spec_expand_env(const char *in, char **out, struct tally_err *err)
{
	struct buf b = BUF_INIT;
	const char *p = in;

	*out = NULL;
	while (*p) {
		const char *end;

		if (p[0] == '$' && p[1] == '$') {
			buf_addch(&b, '$');
			p += 2;
		} else if (p[0] == '$' && p[1] == '{') {
			end = strchr(p + 2, '}');
			if (!end) {
				buf_release(&b);
				return err_set(err, ERR_SPEC, "unterminated '${'");
			}
			if (expand_var(&b, p + 2, (size_t)(end - p - 2), err)) {
				buf_release(&b);
				return -1;
			}
			p = end + 1;
		} else {
			buf_addch(&b, *p++);
		}
	}
	*out = buf_detach(&b, NULL);
	return 0;
}

/* ---- redaction ---- */

static bool is_password_key(const char *key, size_t len)
{
	static const char word[] = "password";
	size_t n = sizeof(word) - 1;

	return len >= n && strncasecmp(key + len - n, word, n) == 0;
}

/* Masks the value of every password-like query parameter of a URI. */
static void redact_query(struct buf *b, const char *s)
{
	const char *q = strchr(s, '?');

	if (!q) {
		buf_addstr(b, s);
		return;
	}
	buf_add(b, s, (size_t)(q - s));
	while (*q) {
		const char *key = q + 1;
		size_t klen = strcspn(key, "=&");
		size_t vlen;

		buf_addch(b, *q);
		buf_add(b, key, klen);
		q = key + klen;
		if (*q != '=')
			continue;
		vlen = strcspn(q + 1, "&");
		buf_addch(b, '=');
		if (is_password_key(key, klen))
			buf_addstr(b, "***");
		else
			buf_add(b, q + 1, vlen);
		q += 1 + vlen;
	}
}

/*
 * The user info runs from the first ':' to the last '@', so a password
 * holding an unescaped '@' or '/' is still masked whole; the price is
 * masking too much in odd URIs, never too little.
 */
static char *redact_uri(const char *dsn, size_t scheme_len)
{
	struct buf q = BUF_INIT, b = BUF_INIT;
	const char *rest;
	char *colon, *at;

	redact_query(&q, dsn);
	rest = q.data + scheme_len + 3;
	colon = strchr(rest, ':');
	at = strrchr(rest, '@');
	if (colon && at && colon < at) {
		buf_add(&b, q.data, (size_t)(colon - q.data) + 1);
		buf_addstr(&b, "***");
		buf_addstr(&b, at);
	} else {
		buf_addstr(&b, q.data);
	}
	buf_release(&q);
	return buf_detach(&b, NULL);
}

/* Skips a libpq value, quoted or not, with its backslash escapes. */
static const char *kv_skip_value(const char *p)
{
	if (*p == '\'') {
		for (p++; *p && *p != '\''; p++)
			if (*p == '\\' && p[1])
				p++;
		return *p ? p + 1 : p;
	}
	for (; *p && !is_blank(*p); p++)
		if (*p == '\\' && p[1])
			p++;
	return p;
}

/*
 * A bare word such as "user:pw@host/db": as in a uri, ':' to the last '@'
 * (the first ':' after a "://", when the word holds a whole uri).
 */
static void add_word_masked(struct buf *b, const char *w, size_t len)
{
	const char *from = w, *colon, *at = NULL;

	for (size_t i = 0; i + 3 <= len; i++) {
		if (memcmp(w + i, "://", 3) == 0) {
			from = w + i + 3;
			break;
		}
	}
	colon = memchr(from, ':', len - (size_t)(from - w));

	for (size_t i = len; i > 0; i--) {
		if (w[i - 1] == '@') {
			at = w + i - 1;
			break;
		}
	}
	if (!colon || !at || colon > at) {
		buf_add(b, w, len);
		return;
	}
	buf_add(b, w, (size_t)(colon - w) + 1);
	buf_addstr(b, "***");
	buf_add(b, at, len - (size_t)(at - w));
}

/* libpq "key=value key = 'quoted value'" strings. */
static char *redact_kv(const char *dsn)
{
	struct buf b = BUF_INIT;
	const char *p = dsn;

	while (*p) {
		const char *key, *eq, *val;
		size_t klen;

		if (is_blank(*p)) {
			buf_addch(&b, *p++);
			continue;
		}
		key = p;
		while (*p && *p != '=' && !is_blank(*p))
			p++;
		klen = (size_t)(p - key);
		eq = p;
		while (is_blank(*eq))
			eq++;
		if (*eq != '=') {
			/* not key=value, maybe a uri without its scheme */
			add_word_masked(&b, key, klen);
			continue;
		}
		val = eq + 1;
		while (is_blank(*val))
			val++;
		p = kv_skip_value(val);
		if (is_password_key(key, klen)) {
			buf_add(&b, key, klen);
			buf_addstr(&b, "=***");
		} else {
			buf_add(&b, key, (size_t)(p - key));
		}
	}
	return buf_detach(&b, NULL);
}

/*
 * Masks the user info of every "scheme://user:password@" in s, wherever
 * it starts: a dsn pasted into a key, a value or an option ("dsn
 * \"postgresql://u:pw@h\"", a missing colon) is text around a uri.
 * Within one word (up to a blank or a quote) the password runs from the
 * first ':' to the last '@', as in redact_uri(). Takes s, returns a new string.
 */
static char *redact_inner_uris(char *s)
{
	struct buf b = BUF_INIT;
	const char *p = s, *sep;

	while ((sep = strstr(p, "://")) != NULL) {
		const char *rest = sep + 3;
		size_t n = strcspn(rest, " \t\n\r\f\v\"'");
		const char *colon = memchr(rest, ':', n), *at = NULL;

		for (size_t i = n; i > 0; i--) {
			if (rest[i - 1] == '@') {
				at = rest + i - 1;
				break;
			}
		}
		if (colon && at && colon < at) {
			buf_add(&b, p, (size_t)(colon - p) + 1);
			buf_addstr(&b, "***");
			p = at;
		} else {
			buf_add(&b, p, (size_t)(rest - p));
			p = rest;
		}
	}
	buf_addstr(&b, p);
	free(s);
	return buf_detach(&b, NULL);
}

char *spec_redact_dsn(const char *dsn)
{
	size_t n;

	if (!dsn)
		return xstrdup("");
	n = uri_scheme_len(dsn);
	return redact_inner_uris(n > 0 ? redact_uri(dsn, n) : redact_kv(dsn));
}

const char *spec_expect_name(enum spec_expect e)
{
	switch (e) {
	case EXPECT_EQUAL:
		return "equal";
	case EXPECT_SUBSET:
		return "subset";
	case EXPECT_ABSENT:
		return "absent";
	}
	return "unknown";
}

const char *spec_repair_name(enum spec_repair r)
{
	switch (r) {
	case REPAIR_TARGET:
		return "target";
	case REPAIR_SOURCE:
		return "source";
	case REPAIR_NONE:
		return "none";
	}
	return "unknown";
}
