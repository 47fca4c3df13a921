/*
 * engine/base/dsn.c
 *   Base layer: dsn schemes and password masking shared by the drivers'
 *   check_dsn and redact_dsn and by the spec loader's messages. Pure.
 */
#include "dsn.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

size_t dsn_scheme_len(const char *dsn)
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

bool dsn_scheme_is(const char *dsn, size_t len, const char *name)
{
	return strlen(name) == len && memcmp(dsn, name, len) == 0;
}


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
char *dsn_redact_inner_uris(char *s)
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

char *dsn_redact(const char *dsn)
{
	size_t n;

	if (!dsn)
		return xstrdup("");
	n = dsn_scheme_len(dsn);
	return dsn_redact_inner_uris(n > 0 ? redact_uri(dsn, n) : redact_kv(dsn));
}
