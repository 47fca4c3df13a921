/*
 * engine/spec.c
 *   SPEC -> plan: the spec loader's public interface (spec.h): loading a
 *   file or a string, freeing, lookups, ${VAR} expansion and the
 *   redaction of dsns. Reads the spec file; spec_yaml.c reads the YAML,
 *   spec_check.c validates it.
 */
#include "spec_int.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
	if (spec_load_text(&ld, text, len)) {
		spec_release(&s);
		return -1;
	}
	*out = s;
	return 0;
}

int spec_read(const char *path, struct buf *text, struct tally_err *err)
{
	FILE *fp = fopen(path, "rb");

	if (!fp)
		return err_set(err, ERR_SPEC, "cannot read spec file '%s': %s",
		               path, strerror(errno));
	for (;;) {
		size_t n;

		buf_grow(text, 8192);
		n = fread(text->data + text->len, 1, text->cap - text->len - 1, fp);
		buf_setlen(text, text->len + n);
		if (n == 0)
			break;
	}
	if (ferror(fp)) {
		int e = errno;

		fclose(fp);
		return err_set(err, ERR_SPEC, "cannot read spec file '%s': %s",
		               path, strerror(e));
	}
	fclose(fp);
	return 0;
}

int spec_load(const char *path, struct spec *out, struct tally_err *err)
{
	struct buf b = BUF_INIT;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = spec_read(path, &b, err);
	if (rc == 0)
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
	free(s->ticket);
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
	for (; *p && !spec_is_blank(*p); p++)
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

		if (spec_is_blank(*p)) {
			buf_addch(&b, *p++);
			continue;
		}
		key = p;
		while (*p && *p != '=' && !spec_is_blank(*p))
			p++;
		klen = (size_t)(p - key);
		eq = p;
		while (spec_is_blank(*eq))
			eq++;
		if (*eq != '=') {
			/* not key=value, maybe a uri without its scheme */
			add_word_masked(&b, key, klen);
			continue;
		}
		val = eq + 1;
		while (spec_is_blank(*val))
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
char *spec_redact_inner_uris(char *s)
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
	n = spec_uri_scheme_len(dsn);
	return spec_redact_inner_uris(n > 0 ? redact_uri(dsn, n) : redact_kv(dsn));
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
