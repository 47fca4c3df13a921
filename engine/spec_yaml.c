/*
 * engine/spec_yaml.c
 *   SPEC: reading YAML with libfyaml. The text check (UTF-8, no NUL), the
 *   document and its diagnostics, duplicate keys, node positions, typed
 *   scalars, mappings with a fixed set of keys, and the message of every
 *   spec error ("file:line:col: path: ..."). Reads no file: the text is
 *   given.
 */
#include "spec_int.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/utf8.h"
#include "spectext.h"

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
struct spec_pos spec_node_pos(struct fy_node *n)
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
struct spec_pos spec_pos_or(struct fy_node *n, struct spec_pos fallback)
{
	struct spec_pos pos = spec_node_pos(n);

	return pos.line > 0 ? pos : fallback;
}

int spec_pos_cmp(struct spec_pos a, struct spec_pos b)
{
	if (a.line != b.line)
		return a.line < b.line ? -1 : 1;
	if (a.col != b.col)
		return a.col < b.col ? -1 : 1;
	return 0;
}

struct spec_pos spec_key_pos(const struct field *f)
{
	return spec_node_pos(f->key);
}

struct spec_pos spec_val_pos(const struct field *f)
{
	return spec_pos_or(f->val, spec_node_pos(f->key));
}

/*
 * Sets err to "file:line:col: path: message" and returns -1. Whatever
 * user text the message or the path quotes (an alias name, a column, a
 * map value), a uri's password in it is masked.
 */

int spec_fail(struct loader *ld, struct spec_pos pos, const char *path,
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
	msg = dsn_redact_inner_uris(buf_detach(&b, NULL));
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

void spec_path_key(char *dst, size_t n, const char *parent, const char *key)
{
	if (parent && *parent)
		path_done(dst, n, snprintf(dst, n, "%s.%s", parent, key));
	else
		path_done(dst, n, snprintf(dst, n, "%s", key));
}

void spec_path_index(char *dst, size_t n, const char *parent, size_t i)
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
char *spec_shown(const char *s, size_t len)
{
	char *raw = xstrndup(s, len);
	char *out = dsn_redact(raw);

	free(raw);
	return out;
}

/* ---- node kinds and scalars ---- */

bool spec_is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Items of a mapping or sequence (libfyaml answers -1 on error). */
size_t spec_item_count(struct fy_node *n)
{
	int c = fy_node_get_type(n) == FYNT_MAPPING ? fy_node_mapping_item_count(n)
	                                            : fy_node_sequence_item_count(n);

	return c > 0 ? (size_t)c : 0;
}

const char *spec_scalar_text(struct fy_node *n, size_t *len)
{
	const char *s = n ? fy_node_get_scalar(n, len) : NULL;

	if (!s) {
		*len = 0;
		return "";
	}
	return s;
}

bool spec_text_is(const char *s, size_t len, const char *word)
{
	return strlen(word) == len && memcmp(s, word, len) == 0;
}

/* A YAML null: no node, an empty value, or a plain ~ / null. */
bool spec_is_null(struct fy_node *n)
{
	const char *s;
	size_t len;

	if (!n || fy_node_is_null(n))
		return true;
	if (fy_node_get_type(n) != FYNT_SCALAR || fy_node_get_style(n) != FYNS_PLAIN)
		return false;
	s = spec_scalar_text(n, &len);
	return len == 0 || spec_text_is(s, len, "~") || spec_text_is(s, len, "null") ||
	       spec_text_is(s, len, "Null") || spec_text_is(s, len, "NULL");
}

const char *spec_kind(struct fy_node *n)
{
	if (spec_is_null(n))
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

bool spec_is_scalar(struct fy_node *n)
{
	return !spec_is_null(n) && fy_node_get_type(n) == FYNT_SCALAR;
}

/* Replaces an alias by the node it names. */
int spec_deref(struct loader *ld, struct fy_node **n, struct spec_pos at,
               const char *path)
{
	struct fy_node *target;
	const char *name;
	size_t len;

	if (!*n || !fy_node_is_alias(*n))
		return 0;
	target = fy_node_resolve_alias(*n);
	if (!target) {
		name = spec_scalar_text(*n, &len);
		return spec_fail(ld, spec_pos_or(*n, at), path, "unknown alias '%.*s'",
		            (int)len, name);
	}
	*n = target;
	return 0;
}

int spec_want_kind(struct loader *ld, struct fy_node *n, struct spec_pos pos,
                   const char *path, enum fy_node_type type, const char *what)
{
	if (spec_is_null(n) || fy_node_get_type(n) != type)
		return spec_fail(ld, pos, path, "expected %s, got %s", what, spec_kind(n));
	return 0;
}

size_t spec_want_items(struct loader *ld, const struct field *f, const char *item)
{
	struct spec_pos pos = spec_val_pos(f);
	size_t n;

	if (spec_want_kind(ld, f->val, pos, f->name, FYNT_SEQUENCE, "a sequence"))
		return 0;
	n = spec_item_count(f->val);
	if (n == 0)
		spec_fail(ld, pos, f->name, "expected at least one %s", item);
	return n;
}

/* Borrowed text of a string scalar. */
int spec_node_text(struct loader *ld, struct fy_node *n, struct spec_pos pos,
                   const char *path, bool nonempty, const char **s, size_t *len)
{
	if (spec_want_kind(ld, n, pos, path, FYNT_SCALAR, "a string"))
		return -1;
	*s = spec_scalar_text(n, len);
	if (memchr(*s, '\0', *len))
		return spec_fail(ld, pos, path, "unexpected NUL character in string");
	if (nonempty && *len == 0)
		return spec_fail(ld, pos, path, "expected a non-empty string");
	return 0;
}

int spec_node_str(struct loader *ld, struct fy_node *n, struct spec_pos pos,
                  const char *path, bool nonempty, char **out)
{
	const char *s;
	size_t len;

	if (spec_node_text(ld, n, pos, path, nonempty, &s, &len))
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
int spec_node_name(struct loader *ld, struct fy_node *n, struct spec_pos pos,
                   const char *path, char **out)
{
	const char *s;
	size_t len;

	if (spec_node_text(ld, n, pos, path, false, &s, &len))
		return -1;
	if (!valid_name(s, len)) {
		char *q = spec_shown(s, len);

		spec_fail(ld, pos, path,
		     "invalid name '%s' (expected [a-z0-9_-]+, at most %d characters)",
		     q, NAME_MAX_LEN);
		free(q);
		return -1;
	}
	*out = xstrndup(s, len);
	return 0;
}

/* [-]digits, checked with strtoll. */
enum int_parse spec_parse_int(const char *s, size_t len, long long *out)
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

int spec_field_long(struct loader *ld, const struct field *f, const char *parent,
                    long min, long max, long *out)
{
	char path[PATH_LEN];
	struct spec_pos pos = spec_val_pos(f);
	enum int_parse r;
	const char *s;
	long long v = 0;
	size_t len;
	char *q;

	spec_path_key(path, sizeof(path), parent, f->name);
	if (spec_want_kind(ld, f->val, pos, path, FYNT_SCALAR, "an integer"))
		return -1;
	s = spec_scalar_text(f->val, &len);
	r = spec_parse_int(s, len, &v);
	if (r == INT_OK && v >= min && v <= max) {
		*out = (long)v;
		return 0;
	}
	q = spec_shown(s, len);
	if (r == INT_SYNTAX)
		spec_fail(ld, pos, path, "expected an integer, got '%s'", q);
	else
		spec_fail(ld, pos, path, "value '%s' is out of range (expected %ld to %ld)",
		     q, min, max);
	free(q);
	return -1;
}

int spec_field_int(struct loader *ld, const struct field *f, const char *parent,
                   int min, int max, int *out)
{
	long v;

	if (spec_field_long(ld, f, parent, min, max, &v))
		return -1;
	*out = (int)v;
	return 0;
}

/* A finite number >= 0, checked with strtod. */
int spec_field_number(struct loader *ld, const struct field *f, const char *parent,
                      double *out)
{
	char path[PATH_LEN];
	struct spec_pos pos = spec_val_pos(f);
	const char *s;
	char *copy, *end;
	size_t len;
	double v;
	bool whole;

	spec_path_key(path, sizeof(path), parent, f->name);
	if (spec_want_kind(ld, f->val, pos, path, FYNT_SCALAR, "a number"))
		return -1;
	s = spec_scalar_text(f->val, &len);
	copy = xstrndup(s, len);
	errno = 0;
	v = strtod(copy, &end);
	/* strtod skips leading blanks; a number here has none */
	whole = len > 0 && end == copy + len && !spec_is_blank(s[0]);
	free(copy);
	if (whole && isfinite(v) && v >= 0) {
		*out = v;
		return 0;
	}
	copy = spec_shown(s, len);
	if (!whole)
		spec_fail(ld, pos, path, "expected a number, got '%s'", copy);
	else
		spec_fail(ld, pos, path, "value '%s' is out of range (expected a finite number >= 0)",
		     copy);
	free(copy);
	return -1;
}

int spec_field_str(struct loader *ld, const struct field *f, const char *parent,
                   bool nonempty, char **out)
{
	char path[PATH_LEN];

	spec_path_key(path, sizeof(path), parent, f->name);
	return spec_node_str(ld, f->val, spec_val_pos(f), path, nonempty, out);
}

/* One of names (NULL-terminated); *out is its index. */
int spec_field_enum(struct loader *ld, const struct field *f, const char *parent,
                    const char *const *names, int *out)
{
	char path[PATH_LEN];
	struct spec_pos pos = spec_val_pos(f);
	struct buf list = BUF_INIT;
	const char *s;
	size_t len;
	char *q;

	spec_path_key(path, sizeof(path), parent, f->name);
	if (spec_node_text(ld, f->val, pos, path, false, &s, &len))
		return -1;
	for (int i = 0; names[i]; i++) {
		if (spec_text_is(s, len, names[i])) {
			*out = i;
			return 0;
		}
	}
	add_list(&list, names);
	q = spec_shown(s, len);
	spec_fail(ld, pos, path, "invalid value '%s' (expected one of: %s)", q, list.data);
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

	s = spec_scalar_text(key, &len);
	for (size_t i = 0; i < nf; i++)
		buf_addf(&list, "%s%s", i ? ", " : "", f[i].name);
	q = spec_shown(s, len);
	spec_fail(ld, spec_node_pos(key), path, "unknown key '%s' (expected one of: %s)", q, list.data);
	free(q);
	buf_release(&list);
	return -1;
}

/*
 * Fills f[i].key and f[i].val from map, which must be a mapping (checked
 * by the caller); any other key is an error.
 */
int spec_get_fields(struct loader *ld, struct fy_node *map, const char *path,
                    struct field *f, size_t nf)
{
	struct spec_pos map_pos = spec_node_pos(map);
	struct fy_node_pair *pair;
	void *iter = NULL;

	while ((pair = fy_node_mapping_iterate(map, &iter)) != NULL) {
		struct fy_node *key = fy_node_pair_key(pair);
		struct fy_node *val = fy_node_pair_value(pair);
		struct spec_pos kpos = spec_pos_or(key, spec_pos_or(val, map_pos));
		char vpath[PATH_LEN];
		const char *s;
		size_t len, i;

		if (spec_deref(ld, &key, kpos, path) ||
		    spec_node_text(ld, key, kpos, path, false, &s, &len))
			return -1;
		for (i = 0; i < nf; i++)
			if (spec_text_is(s, len, f[i].name))
				break;
		if (i == nf)
			return unknown_key(ld, key, path, f, nf);
		if (f[i].key)
			return spec_fail(ld, kpos, path, "duplicate key '%s'", f[i].name);
		spec_path_key(vpath, sizeof(vpath), path, f[i].name);
		if (spec_deref(ld, &val, kpos, vpath))
			return -1;
		f[i].key = key;
		f[i].val = val;
	}
	return 0;
}

int spec_require(struct loader *ld, const struct field *f, struct fy_node *map,
                 const char *path)
{
	if (f->key)
		return 0;
	return spec_fail(ld, spec_node_pos(map), path, "missing required key '%s'", f->name);
}

/* The mapping at f, with its fields. */
int spec_field_map(struct loader *ld, const struct field *f, const char *path,
                   struct field *sub, size_t nsub)
{
	if (spec_want_kind(ld, f->val, spec_val_pos(f), path, FYNT_MAPPING, "a mapping"))
		return -1;
	return spec_get_fields(ld, f->val, path, sub, nsub);
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
		return spec_fail(ld, (struct spec_pos){ e->line, e->column }, "",
		            "invalid yaml: %s", e->msg ? e->msg : "parse error");
	}
	return spec_fail(ld, (struct spec_pos){ 1, 1 }, "", "invalid yaml");
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
			s = spec_scalar_text(key, &len);
			if (!nameset_add(&seen, s, len, i, NULL)) {
				char *q = spec_shown(s, len);

				rc = spec_fail(ld, spec_node_pos(key), "", "invalid yaml: duplicate key '%s'", q);
				free(q);
				break;
			}
		}
		rc = unique_keys(ld, fy_node_pair_value(pair));
	}
	nameset_release(&seen);
	return rc;
}

/* The text checks of spectext.h, as a spec error. */
static int check_text(struct loader *ld, const char *text, size_t len)
{
	struct spec_pos pos;
	char why[128];

	if (spectext_check(text, len, &pos.line, &pos.col, why, sizeof(why)) == 0)
		return 0;
	return spec_fail(ld, pos, "", "invalid yaml: %s", why);
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
		return spec_fail(ld, (struct spec_pos){ 1, 1 }, "", "spec is empty");
	}
	extra = fy_parse_load_document(fyp);
	if (!extra)
		return fy_diag_got_error(diag) ? yaml_error(ld, diag) : 0;
	st = fy_document_get_document_state(extra);
	pos = spec_pos_or(fy_document_root(extra),
	             mark_pos(st ? fy_document_state_start_mark(st) : NULL));
	fy_parse_document_destroy(fyp, extra);
	return spec_fail(ld, pos, "", "more than one yaml document");
}

int spec_load_text(struct loader *ld, const char *text, size_t len)
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

		if (spec_is_null(root))
			spec_fail(ld, spec_pos_or(root, (struct spec_pos){ 1, 1 }), "", "spec is empty");
		else if (unique_keys(ld, root) == 0)
			rc = spec_parse_top(ld, root);
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

