/*
 * engine/bykey.c
 *   BYKEY: difference lines back into canonical keys, the batches'
 *   conditions, and the second comparison of those keys.
 */
#include "bykey.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "canon.h"
#include "diffout.h"
#include "sorter.h"
#include "stream.h"

const char *bykey_outcome_name(enum bykey_outcome o)
{
	switch (o) {
	case BYKEY_RESOLVED: return "resolved";
	case BYKEY_SAME: return "same";
	case BYKEY_NEW: return "new";
	case BYKEY_NEWER: return "newer";
	}
	return "?";
}

void bykey_set_init(struct bykey_set *s)
{
	memset(s, 0, sizeof(*s));
}

void bykey_set_release(struct bykey_set *s)
{
	for (size_t i = 0; i < s->n; i++) {
		json_decref(s->line[i]);
		buf_release(&s->key[i]);
		if (s->fresh)
			json_decref(s->fresh[i]);
	}
	free(s->line);
	free(s->key);
	free(s->order);
	free(s->outcome);
	free(s->fresh);
	memset(s, 0, sizeof(*s));
}

static int unhex(const char *h, size_t n, struct buf *out)
{
	for (size_t i = 0; i + 1 < n; i += 2) {
		unsigned v;
		char two[3] = { h[i], h[i + 1], '\0' };
		char *end;

		v = (unsigned)strtoul(two, &end, 16);
		if (*end)
			return -1;
		buf_addch(out, (char)v);
	}
	return n % 2 ? -1 : 0;
}

/*
 * The raw text a server sent for a key value that diffout rendered as v:
 * the inverse of diffout_value for the types a key can have. *isnull for
 * JSON null.
 */
static int raw_of_json(json_t *v, const struct coldesc *cd, const struct canon_col *cc, struct buf *raw,
                       bool *isnull)
{
	*isnull = false;
	buf_reset(raw);
	if (json_is_null(v)) {
		*isnull = true;
		return 0;
	}
	if (json_is_boolean(v)) {
		if (cc->raw_bits)
			buf_addch(raw, json_is_true(v) ? 1 : 0);
		else
			buf_addch(raw, cd->type == LT_BOOL ? (json_is_true(v) ? 't' : 'f') : (json_is_true(v) ? '1' : '0'));
		return 0;
	}
	if (json_is_integer(v)) {
		buf_addf(raw, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return 0;
	}
	if (json_is_object(v)) {
		const char *h = json_string_value(json_object_get(v, "invalid_utf8_hex"));

		return h ? unhex(h, strlen(h), raw) : -1;
	}
	if (!json_is_string(v))
		return -1;
	if (cc->cls == CC_BYTES || cd->type == LT_BYTES) {
		const char *s = json_string_value(v);
		size_t n = json_string_length(v);

		if (n < 2 || s[0] != '\\' || s[1] != 'x')
			return -1;
		return unhex(s + 2, n - 2, raw);
	}
	if (cc->raw_bits)
		return -1;      /* a MariaDB BIT key: not read back */
	buf_add(raw, json_string_value(v), json_string_length(v));
	return 0;
}

int bykey_set_add(struct bykey_set *s, const struct plan *p, json_t *line, struct tally_err *err)
{
	const char *kind = json_string_value(json_object_get(line, "kind"));
	json_t *key = json_object_get(line, "key");
	int side = SIDE_SOURCE;
	struct buf k = BUF_INIT, raw = BUF_INIT;

	if (p->multiset || !json_is_object(key) || !kind) {
		json_decref(line);
		return err_set(err, ERR_DATA, "a difference without a key cannot be read again by key%s",
		               p->multiset ? " (match: multiset)" : "");
	}
	if (strcmp(kind, "extra") == 0 && p->check->expect != EXPECT_ABSENT)
		side = SIDE_TARGET;
	for (size_t i = 0; i < p->nkey; i++) {
		const struct plan_col *c = &p->key[i];
		const char *name = plan_colname(p, c, SIDE_SOURCE);
		json_t *v = json_object_get(key, name);
		bool isnull;

		if (!v || raw_of_json(v, &p->desc[side].cols[c->col[side]], &c->canon[side], &raw, &isnull) < 0 ||
		    canon_encode(&k, &c->canon[side], isnull ? NULL : raw.data, raw.len, err) < 0) {
			buf_release(&k);
			buf_release(&raw);
			json_decref(line);
			return err_set(err, ERR_DATA, "key column '%s' of a difference does not read as %s", name,
			               p->desc[side].cols[c->col[side]].native);
		}
	}
	buf_release(&raw);
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 64;
		s->line = xrealloc(s->line, s->cap * sizeof(*s->line));
		s->key = xrealloc(s->key, s->cap * sizeof(*s->key));
	}
	s->line[s->n] = line;
	s->key[s->n] = k;
	s->n++;
	s->sealed = false;
	return 0;
}

struct keyref {
	const struct buf *k;
	size_t i;
};

static int keyref_cmp(const void *a, const void *b)
{
	const struct keyref *x = a, *y = b;

	return merge_keycmp((const uint8_t *)x->k->data, x->k->len, (const uint8_t *)y->k->data, y->k->len);
}

int bykey_set_seal(struct bykey_set *s, struct tally_err *err)
{
	struct keyref *r = xcalloc(s->n ? s->n : 1, sizeof(*r));
	int rc = 0;

	for (size_t i = 0; i < s->n; i++) {
		r[i].k = &s->key[i];
		r[i].i = i;
	}
	qsort(r, s->n, sizeof(*r), keyref_cmp);
	free(s->order);
	s->order = xcalloc(s->n ? s->n : 1, sizeof(size_t));
	for (size_t i = 0; i < s->n; i++) {
		s->order[i] = r[i].i;
		if (i && keyref_cmp(&r[i - 1], &r[i]) == 0)
			rc = err_set(err, ERR_DATA, "the same key appears in two differences of check '%s'",
			             json_string_value(json_object_get(s->line[r[i].i], "check")));
	}
	free(r);
	s->sealed = rc == 0;
	return rc;
}

long bykey_set_find(const struct bykey_set *s, const uint8_t *k, size_t len)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct buf *m = &s->key[s->order[mid]];
		int c = merge_keycmp((const uint8_t *)m->data, m->len, k, len);

		if (c == 0)
			return (long)s->order[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* ---- a batch's condition ---------------------------------------------- */

/* Decodes a canonical key into nkey values (text pointing into scratch). */
static int key_values(const struct buf *k, size_t nkey, struct sqlval *v, struct buf *scratch, bool *hasnull,
                      struct tally_err *err)
{
	size_t at = 0;

	*hasnull = false;
	for (size_t i = 0; i < nkey; i++) {
		size_t used = canon_decode((const uint8_t *)k->data + at, k->len - at, &v[i], &scratch[i]);

		if (used == 0)
			return err_set(err, ERR_INTERNAL, "a key's canonical bytes do not decode");
		at += used;
		*hasnull = *hasnull || v[i].kind == SV_NULL;
	}
	return 0;
}

static int add_literal(struct buf *out, const struct conn_ops *ops, const struct coldesc *cd,
                       const struct sqlval *v, struct tally_err *err)
{
	if (ops->bound_literal(out, cd, v, err) < 0)
		return err_context(err, "key column '%s'", cd->name);
	return 0;
}

int bykey_cond(struct buf *out, const struct conn_ops *ops, const struct tabdesc *t, const size_t *keycols,
               size_t nkey, const struct buf *const *keys, size_t n, struct tally_err *err)
{
	struct sqlval *v = xcalloc(nkey ? nkey : 1, sizeof(*v));
	struct buf *scratch = xcalloc(nkey ? nkey : 1, sizeof(*scratch));
	size_t nin = 0, nterms = 0;
	bool hasnull;
	int rc = 0;

	buf_addch(out, '(');
	/* The keys without NULL: one IN list. */
	for (size_t r = 0; r < n && rc == 0; r++) {
		if ((rc = key_values(keys[r], nkey, v, scratch, &hasnull, err)) < 0 || hasnull)
			continue;
		if (nin++ == 0) {
			if (nkey > 1)
				buf_addch(out, '(');
			for (size_t i = 0; i < nkey; i++) {
				if (i)
					buf_addstr(out, ", ");
				ops->quote_ident(out, t->cols[keycols[i]].name);
			}
			buf_addstr(out, nkey > 1 ? ") IN (" : " IN (");
		} else {
			buf_addstr(out, ", ");
		}
		if (nkey > 1)
			buf_addch(out, '(');
		for (size_t i = 0; i < nkey && rc == 0; i++) {
			if (i)
				buf_addstr(out, ", ");
			rc = add_literal(out, ops, &t->cols[keycols[i]], &v[i], err);
		}
		if (nkey > 1)
			buf_addch(out, ')');
	}
	if (nin)
		buf_addch(out, ')');
	nterms = nin ? 1 : 0;
	/* Each key with a NULL: a term of its own. */
	for (size_t r = 0; r < n && rc == 0; r++) {
		if ((rc = key_values(keys[r], nkey, v, scratch, &hasnull, err)) < 0 || !hasnull)
			continue;
		buf_addstr(out, nterms++ ? " OR (" : "(");
		for (size_t i = 0; i < nkey && rc == 0; i++) {
			if (i)
				buf_addstr(out, " AND ");
			ops->quote_ident(out, t->cols[keycols[i]].name);
			if (v[i].kind == SV_NULL) {
				buf_addstr(out, " IS NULL");
			} else {
				buf_addstr(out, " = ");
				rc = add_literal(out, ops, &t->cols[keycols[i]], &v[i], err);
			}
		}
		buf_addch(out, ')');
	}
	if (nterms == 0)
		buf_addstr(out, "1 = 0");
	buf_addch(out, ')');
	for (size_t i = 0; i < nkey; i++)
		buf_release(&scratch[i]);
	free(scratch);
	free(v);
	return rc;
}

/* ---- reading and comparing again -------------------------------------- */

/* Reads side `side` of every key of s into a sorter, batch by batch. */
static int read_side(struct bykey_env *env, const struct bykey_set *s, int side, struct sorter *so,
                     struct tally_err *err)
{
	const struct plan *p = env->plan;
	struct conn *c = env->conn[side];
	size_t batch = env->batch ? env->batch : BYKEY_BATCH;
	size_t *keycols = xcalloc(p->nkey ? p->nkey : 1, sizeof(size_t));
	const struct buf **keys = xcalloc(batch, sizeof(*keys));
	struct buf cond = BUF_INIT;
	int rc = 0;

	for (size_t i = 0; i < p->nkey; i++)
		keycols[i] = p->key[i].col[side];
	for (size_t at = 0; at < s->n && rc == 0; at += batch) {
		size_t n = s->n - at < batch ? s->n - at : batch;
		struct scan_range range;
		struct stream st;
		const struct mrow *m;

		for (size_t j = 0; j < n; j++)
			keys[j] = &s->key[s->order[at + j]];
		buf_reset(&cond);
		if (bykey_cond(&cond, c->ops, &p->desc[side], keycols, p->nkey, keys, n, err) < 0) {
			rc = err_context(err, "%s system '%s', %s", side ? "target" : "source", env->system[side],
			                 p->desc[side].display);
			break;
		}
		memset(&range, 0, sizeof(range));
		range.and_where = cond.data;
		if (stream_open(&st, c, p, side, env->system[side], &range, err) < 0) {
			rc = -1;
			break;
		}
		env->statements[side]++;
		while ((rc = stream_next(&st, &m, err)) == 1) {
			env->rows[side]++;
			if (bykey_set_find(s, m->bytes, m->keylen) < 0)
				continue;       /* matched by the server's collation only */
			if (sorter_add(so, m, err) < 0) {
				rc = -1;
				break;
			}
		}
		stream_close(&st);
	}
	buf_release(&cond);
	free(keys);
	free(keycols);
	if (rc < 0)
		return -1;
	return sorter_finish(so, err);
}

struct cmp_ctx {
	struct bykey_env *env;
	struct bykey_set *s;
};

static int cmp_diff(void *ctx, enum diff_kind kind, const struct mrow *src, const struct mrow *tgt,
                    const uint8_t *changed, struct tally_err *err)
{
	struct cmp_ctx *x = ctx;
	const struct mrow *m = src ? src : tgt;
	long idx = bykey_set_find(x->s, m->bytes, m->keylen);
	json_t *fresh;

	if (idx < 0)
		return err_set(err, ERR_INTERNAL, "a key read again is not one asked for");
	fresh = diffout_line(x->env->plan, x->env->check, kind, src, tgt, changed);
	x->s->fresh[idx] = fresh;
	x->s->outcome[idx] = json_equal(fresh, x->s->line[idx]) ? BYKEY_SAME : BYKEY_NEW;
	if (x->env->on_diff)
		return x->env->on_diff(x->env->ctx, (size_t)idx, x->s->outcome[idx], kind, src, tgt, changed, err);
	return 0;
}

static int cmp_skip(void *ctx, const struct mrow *src, const struct mrow *tgt, struct tally_err *err)
{
	struct cmp_ctx *x = ctx;
	const struct mrow *m = src ? src : tgt;
	long idx = bykey_set_find(x->s, m->bytes, m->keylen);

	if (idx < 0)
		return err_set(err, ERR_INTERNAL, "a key read again is not one asked for");
	x->s->outcome[idx] = BYKEY_NEWER;
	return 0;
}

int bykey_compare(struct bykey_env *env, struct bykey_set *s, struct tally_err *err)
{
	const struct plan *p = env->plan;
	struct sorter *so[2] = { sorter_new(env->tmpdir, env->sort_budget, p->ncmp, "source"),
	                         sorter_new(env->tmpdir, env->sort_budget, p->ncmp, "target") };
	const char **keynames[2] = { NULL, NULL };
	struct merge_sink ms;
	struct merge_stats st;
	struct cmp_ctx x = { env, s };
	struct merge_newer nw = { (size_t)(p->newer_col >= 0 ? p->newer_col : 0), p->newer_cutoff, cmp_skip, &x };
	int rc = -1;

	if (!s->sealed && bykey_set_seal(s, err) < 0)
		goto out;
	free(s->outcome);
	s->outcome = xcalloc(s->n ? s->n : 1, sizeof(*s->outcome));
	if (s->fresh)
		for (size_t i = 0; i < s->n; i++)
			json_decref(s->fresh[i]);
	free(s->fresh);
	s->fresh = xcalloc(s->n ? s->n : 1, sizeof(*s->fresh));
	if (read_side(env, s, SIDE_SOURCE, so[0], err) < 0 || read_side(env, s, SIDE_TARGET, so[1], err) < 0)
		goto out;
	for (int side = 0; side < 2; side++) {
		struct msource *m = sorter_source(so[side]);

		keynames[side] = xcalloc(p->nkey ? p->nkey : 1, sizeof(char *));
		for (size_t i = 0; i < p->nkey; i++)
			keynames[side][i] = plan_colname(p, &p->key[i], side);
		m->keynames = keynames[side];
		m->nkey = p->nkey;
	}
	memset(&ms, 0, sizeof(ms));
	ms.ctx = &x;
	ms.diff = cmp_diff;
	ms.newer = env->skip_newer && p->newer_col >= 0 ? &nw : NULL;
	merge_stats_init(&st);
	rc = merge_run_tol(sorter_source(so[0]), sorter_source(so[1]), p->ncmp, p->tol, p->check->expect, false,
	                   &ms, &st, err);
out:
	sorter_free(so[0]);
	sorter_free(so[1]);
	free(keynames[0]);
	free(keynames[1]);
	return rc;
}
