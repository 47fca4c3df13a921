/*
 * engine/wfkeys.c
 *   WFKEYS: a workflow's sorted key set, its encoding and its JSON form.
 *   Performs no I/O.
 */
#include "wfkeys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void wfkeys_init(struct wfkeys *s)
{
	memset(s, 0, sizeof(*s));
}

void wfkeys_release(struct wfkeys *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->k[i]);
	free(s->k);
	memset(s, 0, sizeof(*s));
}

void wfkeys_encode(struct buf *out, const char *const *val, const size_t *len, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		buf_addf(out, "%zu:", val[i] ? len[i] : 0);
		if (val[i])
			buf_add(out, val[i], len[i]);
	}
}

void wfkeys_add(struct wfkeys *s, const char *key, size_t len)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->k = xrealloc(s->k, s->cap * sizeof(*s->k));
	}
	s->k[s->n++] = xstrndup(key, len);
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void wfkeys_finish(struct wfkeys *s)
{
	size_t w = 0;

	if (s->n == 0)
		return;     /* k may be NULL, which qsort may not be given */
	qsort(s->k, s->n, sizeof(*s->k), key_cmp);
	for (size_t i = 0; i < s->n; i++) {
		if (w && strcmp(s->k[w - 1], s->k[i]) == 0) {
			free(s->k[i]);
			continue;
		}
		s->k[w++] = s->k[i];
	}
	s->n = w;
}

long wfkeys_find(const struct wfkeys *s, const char *key)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(s->k[mid], key);

		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static bool is_integer(const char *v, size_t len)
{
	size_t i = len > 1 && v[0] == '-' ? 1 : 0;

	if (len == 0 || len - i > 18 || (v[i] == '0' && len - i > 1))
		return false;
	for (; i < len; i++)
		if (v[i] < '0' || v[i] > '9')
			return false;
	return true;
}

json_t *wfkeys_key_json(const char *key, char *const *names, size_t n)
{
	json_t *o = json_object();
	const char *p = key;

	for (size_t i = 0; i < n && *p; i++) {
		char *end;
		size_t len = (size_t)strtoull(p, &end, 10);
		json_t *v;

		if (*end != ':')
			break;
		p = end + 1;
		if (strlen(p) < len)
			break;
		if (is_integer(p, len)) {
			char digits[24];

			/* The next column's bytes follow: parse this value's digits only. */
			snprintf(digits, sizeof(digits), "%.*s", (int)len, p);
			v = json_integer(strtoll(digits, NULL, 10));
		} else {
			v = json_stringn(p, len);
		}
		json_object_set_new(o, names[i], v ? v : json_null());
		p += len;
	}
	return o;
}

json_t *wfkeys_json(const struct wfkeys *s)
{
	json_t *a = json_array();

	for (size_t i = 0; i < s->n; i++) {
		json_t *v = json_string(s->k[i]);

		if (!v) {
			json_decref(a);
			return NULL;
		}
		json_array_append_new(a, v);
	}
	return a;
}

int wfkeys_from_json(struct wfkeys *s, json_t *a, struct tally_err *err)
{
	size_t i;
	json_t *v;

	wfkeys_init(s);
	if (!json_is_array(a))
		return err_set(err, ERR_IO, "workflows.json is malformed");
	json_array_foreach(a, i, v) {
		if (!json_is_string(v)) {
			wfkeys_release(s);
			return err_set(err, ERR_IO, "workflows.json is malformed");
		}
		wfkeys_add(s, json_string_value(v), json_string_length(v));
	}
	wfkeys_finish(s);
	return 0;
}

bool wf_filter_keeps(const struct wf_filter *f, const char *const *val, const size_t *len, struct buf *scratch)
{
	buf_reset(scratch);
	for (size_t k = 0; k < f->n; k++) {
		const char *v = val[f->col[k]];

		buf_addf(scratch, "%zu:", v ? len[f->col[k]] : 0);
		if (v)
			buf_add(scratch, v, len[f->col[k]]);
	}
	return wfkeys_find(f->keys, scratch->data ? scratch->data : "") >= 0;
}
