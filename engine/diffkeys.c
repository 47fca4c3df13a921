/*
 * engine/diffkeys.c
 *   DIFFKEYS: digests of difference keys, a set of them, and the
 *   new/resolved counts of two runs.
 */
#include "diffkeys.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "base/buf.h"
#include "base/zfile.h"

void keyset_init(struct keyset *s)
{
	memset(s, 0, sizeof(*s));
}

void keyset_release(struct keyset *s)
{
	for (size_t i = 0; i < s->nnames; i++)
		free(s->names[i]);
	free(s->names);
	free(s->h);
	free(s->check);
	memset(s, 0, sizeof(*s));
}

static size_t slot_of(const struct keyset *s, uint64_t h)
{
	size_t i = (size_t)(h ^ (h >> 29)) & (s->cap - 1);

	while (s->h[i] && s->h[i] != h)
		i = (i + 1) & (s->cap - 1);
	return i;
}

static void grow(struct keyset *s)
{
	struct keyset old = *s;

	s->cap = old.cap ? old.cap * 2 : 64;
	s->h = xcalloc(s->cap, sizeof(*s->h));
	s->check = xcalloc(s->cap, sizeof(*s->check));
	for (size_t i = 0; i < old.cap; i++)
		if (old.h[i]) {
			size_t j = slot_of(s, old.h[i]);

			s->h[j] = old.h[i];
			s->check[j] = old.check[i];
		}
	free(old.h);
	free(old.check);
}

static uint32_t name_index(struct keyset *s, const char *check)
{
	/* Few checks per run: a scan, the last one first. */
	for (size_t i = s->nnames; i-- > 0;)
		if (strcmp(s->names[i], check) == 0)
			return (uint32_t)i;
	s->names = xrealloc(s->names, (s->nnames + 1) * sizeof(*s->names));
	s->names[s->nnames] = xstrdup(check);
	return (uint32_t)s->nnames++;
}

bool keyset_add(struct keyset *s, const char *check, uint64_t h)
{
	size_t i;

	h = h ? h : 1;      /* 0 marks an empty slot */
	if ((s->n + 1) * 2 > s->cap)
		grow(s);
	i = slot_of(s, h);
	if (s->h[i])
		return false;
	s->h[i] = h;
	s->check[i] = name_index(s, check);
	s->n++;
	return true;
}

bool keyset_has(const struct keyset *s, uint64_t h)
{
	h = h ? h : 1;
	return s->cap && s->h[slot_of(s, h)] == h;
}

int diffkeys_digest(const char *line, size_t len, uint64_t *h, char **check)
{
	json_t *j = json_loadb(line, len, 0, NULL), *key, *part;
	const char *name, *kind;
	char *text;
	struct buf b = BUF_INIT;

	name = json_string_value(json_object_get(j, "check"));
	key = json_object_get(j, "key");
	kind = json_string_value(json_object_get(j, "kind"));
	if (!name && kind && strcmp(kind, "workflow") == 0) {
		json_decref(j);
		return 1;       /* where a workflow's key stopped: its steps' own lines count */
	}
	if (!name || !key) {
		json_decref(j);
		return -1;
	}
	if (kind && strcmp(kind, "in_flight") == 0) {
		json_decref(j);
		return 1;       /* a row being written (--recheck): no difference */
	}
	buf_add(&b, name, strlen(name) + 1);
	if (json_is_null(key)) {
		/* A multiset row: its kind and values are what tells it. */
		part = json_pack("[O?, O?, O?]", json_object_get(j, "kind"), json_object_get(j, "source"),
		                 json_object_get(j, "target"));
	} else {
		part = json_incref(key);
	}
	text = json_dumps(part, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	buf_add(&b, text, strlen(text));
	*h = XXH3_64bits(b.data, b.len);
	*check = xstrdup(name);
	free(text);
	json_decref(part);
	buf_release(&b);
	json_decref(j);
	return 0;
}

static int add_line(struct keyset *s, const char *line, size_t len, const char *path, uint64_t lineno,
                    struct tally_err *err)
{
	uint64_t h;
	char *check;
	int rc;

	if (len == 0)
		return 0;
	rc = diffkeys_digest(line, len, &h, &check);
	if (rc < 0)
		return err_set(err, ERR_IO, "%s: line %llu is not a difference line", path, (unsigned long long)lineno);
	if (rc == 1)
		return 0;
	keyset_add(s, check, h);
	free(check);
	return 0;
}

int diffkeys_read(struct keyset *s, const char *path, struct tally_err *err)
{
	struct zlines z;
	const char *line;
	size_t len;
	int rc;

	if (zlines_open(&z, path, err) < 0)
		return -1;
	while ((rc = zlines_next(&z, &line, &len, err)) == 1)
		if (add_line(s, line, len, path, z.lineno, err) < 0) {
			rc = -1;
			break;
		}
	zlines_close(&z);
	return rc;
}

void diffkeys_compare(const struct keyset *before, const struct keyset *now,
                      void (*fn)(void *ctx, const char *check, uint64_t added, uint64_t removed), void *ctx)
{
	size_t nn = now->nnames + before->nnames;
	uint64_t *added = xcalloc(nn ? nn : 1, sizeof(*added)), *removed = xcalloc(nn ? nn : 1, sizeof(*removed));
	const char **names = xcalloc(nn ? nn : 1, sizeof(*names));
	size_t n = 0;

	/* The names of both sets, each once: now's first, then before's others. */
	for (size_t i = 0; i < now->nnames; i++)
		names[n++] = now->names[i];
	for (size_t i = 0; i < before->nnames; i++) {
		size_t k = 0;

		while (k < n && strcmp(names[k], before->names[i]) != 0)
			k++;
		if (k == n)
			names[n++] = before->names[i];
	}
	for (size_t i = 0; i < now->cap; i++)
		if (now->h[i] && !keyset_has(before, now->h[i]))
			added[now->check[i]]++;
	for (size_t i = 0; i < before->cap; i++)
		if (before->h[i] && !keyset_has(now, before->h[i])) {
			const char *c = before->names[before->check[i]];
			size_t k = 0;

			while (strcmp(names[k], c) != 0)
				k++;
			removed[k]++;
		}
	for (size_t k = 0; k < n; k++)
		fn(ctx, names[k], added[k], removed[k]);
	free(added);
	free(removed);
	free(names);
}
