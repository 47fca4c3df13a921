/*
 * engine/chunk.c
 *   CHUNK: canonical boundaries, their fingerprint, their decoding into
 *   bound values, page sizing. Pure.
 */
#include "chunk.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "canon.h"
#include "merge.h"

static void fingerprint(struct chunkplan *cp)
{
	XXH3_state_t *st = XXH3_createState();
	XXH128_canonical_t c;
	uint64_t nb = cp->nbound;

	XXH3_128bits_reset(st);
	XXH3_128bits_update(st, &nb, sizeof(nb));
	for (size_t i = 0; i + 1 < cp->n; i++) {
		uint64_t len = cp->blen[i];

		XXH3_128bits_update(st, &len, sizeof(len));
		XXH3_128bits_update(st, cp->b[i], cp->blen[i]);
	}
	XXH128_canonicalFromHash(&c, XXH3_128bits_digest(st));
	XXH3_freeState(st);
	for (int i = 0; i < 16; i++)
		snprintf(cp->fingerprint + 2 * i, 3, "%02x", c.digest[i]);
}

void chunkplan_single(struct chunkplan *cp, const bool exact[2])
{
	memset(cp, 0, sizeof(*cp));
	cp->n = 1;
	cp->exact[0] = exact[0];
	cp->exact[1] = exact[1];
	fingerprint(cp);
}

int chunkplan_from_bounds(struct chunkplan *cp, const struct plan *p, const struct keybounds *kb,
                          const bool exact[2], struct tally_err *err)
{
	struct buf b = BUF_INIT;

	chunkplan_single(cp, exact);
	if (kb->n == 0)
		return 0;
	if (kb->ncols == 0 || kb->ncols > p->nkey) {
		buf_release(&b);
		return err_set(err, ERR_INTERNAL, "chunk boundaries with %zu key columns for a key of %zu",
		               kb->ncols, p->nkey);
	}
	cp->nbound = kb->ncols;
	cp->rows = kb->rows;
	cp->b = xcalloc(kb->n, sizeof(*cp->b));
	cp->blen = xcalloc(kb->n, sizeof(*cp->blen));
	for (size_t i = 0; i < kb->n; i++) {
		buf_reset(&b);
		for (size_t k = 0; k < kb->ncols; k++) {
			size_t v = i * kb->ncols + k;

			if (canon_encode(&b, &p->key[k].canon[SIDE_SOURCE], kb->val[v], kb->len[v], err) < 0) {
				err_context(err, "chunk boundary %zu, key column '%s'", i + 1,
				            plan_colname(p, &p->key[k], SIDE_SOURCE));
				buf_release(&b);
				chunkplan_release(cp);
				return -1;
			}
		}
		/* A repeated boundary would make an empty chunk: skip it. */
		if (cp->n > 1 && cp->blen[cp->n - 2] == b.len && memcmp(cp->b[cp->n - 2], b.data, b.len) == 0)
			continue;
		cp->b[cp->n - 1] = (uint8_t *)xstrndup(b.data, b.len);
		cp->blen[cp->n - 1] = b.len;
		cp->n++;
	}
	buf_release(&b);
	cp->reconcile = cp->n > 1 && !(exact[0] && exact[1]);
	fingerprint(cp);
	return 0;
}

static bool bound_before(const struct chunkplan *cp, const uint32_t *const rank[2], size_t i, size_t j)
{
	for (int s = 0; s < 2; s++) {
		/* No rank: the side orders by the canonical bytes, as the merge does. */
		if (rank[s] ? rank[s][i] >= rank[s][j]
		            : merge_keycmp(cp->b[i], cp->blen[i], cp->b[j], cp->blen[j]) >= 0)
			return false;
	}
	return true;
}

size_t chunkplan_make_increasing(struct chunkplan *cp, const uint32_t *const rank[2])
{
	size_t n = cp->n > 0 ? cp->n - 1 : 0, kept = 0;
	size_t *len, *prev;
	bool *keep;

	if (n == 0)
		return 0;
	len = xcalloc(n, sizeof(*len));
	prev = xcalloc(n, sizeof(*prev));
	keep = xcalloc(n, sizeof(*keep));
	if (n <= CHUNK_CHAIN_MAX) {
		/* The longest chain, O(n^2): n bounds is n + 1 chunks of a big table. */
		size_t best = 0;

		for (size_t j = 0; j < n; j++) {
			len[j] = 1;
			prev[j] = SIZE_MAX;
			for (size_t i = 0; i < j; i++)
				if (len[i] + 1 > len[j] && bound_before(cp, rank, i, j)) {
					len[j] = len[i] + 1;
					prev[j] = i;
				}
			if (len[j] > len[best])
				best = j;
		}
		for (size_t j = best; j != SIZE_MAX; j = prev[j])
			keep[j] = true;
	} else {
		/* Greedy: each bound that follows the last one kept. */
		size_t last = SIZE_MAX;

		for (size_t j = 0; j < n; j++)
			if (last == SIZE_MAX || bound_before(cp, rank, last, j)) {
				keep[j] = true;
				last = j;
			}
	}
	for (size_t j = 0; j < n; j++) {
		if (keep[j]) {
			cp->b[kept] = cp->b[j];
			cp->blen[kept] = cp->blen[j];
			kept++;
		} else {
			free(cp->b[j]);
		}
	}
	cp->n = kept + 1;
	if (kept == 0) {
		cp->nbound = 0;
		cp->reconcile = false;
	}
	fingerprint(cp);
	free(len);
	free(prev);
	free(keep);
	return n - kept;
}

void chunkplan_release(struct chunkplan *cp)
{
	if (!cp)
		return;
	for (size_t i = 0; i + 1 < cp->n; i++)
		free(cp->b ? cp->b[i] : NULL);
	free(cp->b);
	free(cp->blen);
	memset(cp, 0, sizeof(*cp));
}

int chunk_key_vals(const uint8_t *p, size_t n, size_t nkey, struct sqlval *out, struct buf *scratch,
                   struct tally_err *err)
{
	size_t at = 0;

	for (size_t k = 0; k < nkey; k++) {
		size_t used = canon_decode(p + at, n - at, &out[k], &scratch[k]);

		if (used == 0)
			return err_set(err, ERR_INTERNAL, "a key's canonical bytes do not decode");
		at += used;
	}
	return 0;
}

int chunk_bound(const struct chunkplan *cp, size_t i, bool hi, struct sqlval *out, struct buf *scratch,
                bool *has, struct tally_err *err)
{
	size_t b = hi ? i : i - 1;

	*has = hi ? i + 1 < cp->n : i > 0;
	if (!*has)
		return 0;
	return chunk_key_vals(cp->b[b], cp->blen[b], cp->nbound, out, scratch, err);
}

uint64_t chunk_next_page(uint64_t page, double seconds, double target)
{
	double f = seconds > 0 ? target / seconds : 2.0;
	double next;

	if (f > 2.0)
		f = 2.0;
	if (f < 0.5)
		f = 0.5;
	next = (double)page * f;
	if (next < 1000)
		next = 1000;
	if (next > 10000000)
		next = 10000000;
	return (uint64_t)next;
}

json_t *chunkplan_json(const struct chunkplan *cp)
{
	json_t *bounds = json_array();
	struct buf hex = BUF_INIT;

	for (size_t i = 0; i + 1 < cp->n; i++) {
		buf_reset(&hex);
		buf_addhex(&hex, cp->b[i], cp->blen[i]);
		json_array_append_new(bounds, json_string(hex.data));
	}
	buf_release(&hex);
	return json_pack("{s:I, s:I, s:f, s:[b, b], s:b, s:s, s:o}", "n", (json_int_t)cp->n,
	                 "nbound", (json_int_t)cp->nbound, "rows", cp->rows, "exact", cp->exact[0],
	                 cp->exact[1], "reconcile", cp->reconcile, "fingerprint", cp->fingerprint,
	                 "bounds", bounds);
}

static int unhex(const char *s, uint8_t **out, size_t *len)
{
	size_t n = strlen(s);
	uint8_t *p;

	if (n % 2)
		return -1;
	p = xmalloc(n / 2 + 1);
	for (size_t i = 0; i < n / 2; i++) {
		char pair[3] = { s[2 * i], s[2 * i + 1], 0 };
		char *end;
		unsigned long v = strtoul(pair, &end, 16);

		if (*end) {
			free(p);
			return -1;
		}
		p[i] = (uint8_t)v;
	}
	*out = p;
	*len = n / 2;
	return 0;
}

int chunkplan_from_json(struct chunkplan *cp, json_t *j, struct tally_err *err)
{
	json_t *bounds = json_object_get(j, "bounds"), *exact = json_object_get(j, "exact"), *v;
	const char *fp = json_string_value(json_object_get(j, "fingerprint"));
	size_t i;

	memset(cp, 0, sizeof(*cp));
	if (!json_is_array(bounds) || !json_is_array(exact) || json_array_size(exact) != 2 || !fp)
		return err_set(err, ERR_IO, "chunk plan is malformed");
	cp->nbound = (size_t)json_integer_value(json_object_get(j, "nbound"));
	cp->rows = json_number_value(json_object_get(j, "rows"));
	cp->exact[0] = json_is_true(json_array_get(exact, 0));
	cp->exact[1] = json_is_true(json_array_get(exact, 1));
	cp->reconcile = json_is_true(json_object_get(j, "reconcile"));
	cp->n = json_array_size(bounds) + 1;
	cp->b = xcalloc(cp->n, sizeof(*cp->b));
	cp->blen = xcalloc(cp->n, sizeof(*cp->blen));
	json_array_foreach(bounds, i, v) {
		if (!json_is_string(v) || unhex(json_string_value(v), &cp->b[i], &cp->blen[i]) < 0) {
			chunkplan_release(cp);
			return err_set(err, ERR_IO, "chunk plan boundary %zu is malformed", i + 1);
		}
	}
	fingerprint(cp);
	if (strcmp(fp, cp->fingerprint) != 0) {
		chunkplan_release(cp);
		return err_set(err, ERR_IO, "chunk plan does not match its fingerprint");
	}
	return 0;
}

static json_t *sqlval_json(const struct sqlval *v)
{
	struct buf b = BUF_INIT;
	json_t *j;
	char *end;
	long long n;

	switch (v->kind) {
	case SV_NULL:
		return json_null();
	case SV_NUMBER:
		errno = 0;
		n = strtoll(v->s, &end, 10);
		if (v->special == SVS_NONE && end != v->s && (size_t)(end - v->s) == v->len && errno == 0)
			return json_integer((json_int_t)n);
		return json_stringn(v->s, v->len);
	case SV_TEXT:
		return json_stringn(v->s, v->len);
	case SV_BYTES:
		buf_addstr(&b, "\\x");
		buf_addhex(&b, (const uint8_t *)v->s, v->len);
		break;
	case SV_DATE:
	case SV_TIME:
	case SV_TIMESTAMP:
	case SV_TIMESTAMPTZ:
		if (v->special != SVS_NONE)
			return json_string(v->special == SVS_PINF ? "infinity" : v->special == SVS_NINF ? "-infinity" : "zero");
		sqlval_iso(&b, v, 6);
		break;
	case SV_UUID:
		for (size_t k = 0; k < 16 && k < v->len; k++) {
			if (k == 4 || k == 6 || k == 8 || k == 10)
				buf_addch(&b, '-');
			buf_addhex(&b, (const uint8_t *)v->s + k, 1);
		}
		break;
	case SV_BOOL:
		return json_boolean(v->b);
	case SV_FLOAT:
		return json_real(v->d);
	default:
		return json_stringn(v->s ? v->s : "", v->s ? v->len : 0);
	}
	j = json_stringn(b.data ? b.data : "", b.len);
	buf_release(&b);
	return j;
}

json_t *chunk_bounds_json(const struct chunkplan *cp, size_t i)
{
	size_t nb = cp->nbound ? cp->nbound : 1;
	struct sqlval *v = xcalloc(nb, sizeof(*v));
	struct buf *scr = xcalloc(nb, sizeof(*scr));
	json_t *o = json_object();
	struct tally_err err;

	for (size_t k = 0; k < nb; k++)
		buf_init(&scr[k]);
	for (int hi = 0; hi < 2 && o; hi++) {
		bool has;
		json_t *a;

		if (chunk_bound(cp, i, hi, v, scr, &has, &err) < 0) {
			json_decref(o);
			o = NULL;
			break;
		}
		a = has ? json_array() : json_null();
		for (size_t k = 0; has && k < cp->nbound; k++)
			json_array_append_new(a, sqlval_json(&v[k]));
		json_object_set_new(o, hi ? "through" : "after", a);
	}
	for (size_t k = 0; k < nb; k++)
		buf_release(&scr[k]);
	free(scr);
	free(v);
	return o;
}
