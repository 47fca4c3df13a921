/*
 * engine/html_data.c
 *   HTML's reading side: per check its chunks (the parts' results, and
 *   each chunk's key range decoded from the plan in run.json), a bounded
 *   sample of its difference lines (read back from the parts' .diff
 *   files, stopping once every kind has its share), and the scripts'
 *   headers. Reads only; the run's data is never changed.
 */
#include "html_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "canon.h"
#include "chunk.h"
#include "html.h"
#include "base/zfile.h"

/* ---- key ranges --------------------------------------------------------- */

static void add_hex(struct buf *b, const char *s, size_t n, size_t max)
{
	buf_addstr(b, "\\x");
	buf_addhex(b, s, n < max ? n : max);
	if (n > max)
		buf_addstr(b, "...");
}

/* A bound value as a reader would write it: 17, 'eu', 2024-01-02 03:04:05. */
static void value_text(struct buf *b, const struct sqlval *v)
{
	static const char *const special[] = { "", "infinity", "-infinity", "NaN", "zero" };
	const uint8_t *u = (const uint8_t *)v->s;

	if (v->special != SVS_NONE && v->kind != SV_FLOAT) {
		buf_addstr(b, special[v->special]);
		return;
	}
	switch (v->kind) {
	case SV_NULL:
		buf_addstr(b, "NULL");
		break;
	case SV_FLOAT:
		buf_addf(b, "%.17g", v->d);
		break;
	case SV_BOOL:
		buf_addstr(b, v->b ? "true" : "false");
		break;
	case SV_TEXT: {
		size_t n = v->len;

		/* At most 40 bytes, cut at a character's start. */
		if (n > 40)
			for (n = 40; n > 0 && ((uint8_t)v->s[n] & 0xC0) == 0x80; n--)
				;
		buf_addch(b, '\'');
		for (size_t i = 0; i < n; i++) {
			if (v->s[i] == '\'')
				buf_addch(b, '\'');
			buf_addch(b, v->s[i]);
		}
		buf_addstr(b, n < v->len ? "...'" : "'");
		break;
	}
	case SV_BYTES:
		add_hex(b, v->s, v->len, 16);
		break;
	case SV_DATE:
	case SV_TIME:
	case SV_TIMESTAMP:
	case SV_TIMESTAMPTZ:
		sqlval_iso(b, v, v->kind == SV_DATE || v->i % 1000000 == 0 ? 0 : 6);
		if (v->kind == SV_TIMESTAMPTZ)
			buf_addstr(b, "+00");
		break;
	case SV_UUID:
		for (int i = 0; i < 16; i++)
			buf_addf(b, "%s%02x", i == 4 || i == 6 || i == 8 || i == 10 ? "-" : "", u[i]);
		break;
	case SV_BITS:
		buf_addf(b, "B'%.*s'", (int)v->len, v->s);
		break;
	case SV_NUMBER:
	case SV_RAW:
		buf_add(b, v->s, v->len);
		break;
	}
}

/* One bound: "id 17", "(region, id) ('eu', 17)". */
static int bound_text(struct buf *b, const struct chunkplan *cp, size_t i, bool hi, json_t *keys, bool *has,
                      struct tally_err *err)
{
	struct sqlval *v = xcalloc(cp->nbound ? cp->nbound : 1, sizeof(*v));
	struct buf *scratch = xcalloc(cp->nbound ? cp->nbound : 1, sizeof(*scratch));
	int rc = chunk_bound(cp, i, hi, v, scratch, has, err);

	if (rc == 0 && *has) {
		buf_addstr(b, cp->nbound > 1 ? "(" : "");
		for (size_t k = 0; k < cp->nbound; k++) {
			const char *name = json_string_value(json_array_get(keys, k));

			buf_addf(b, "%s%s", k ? ", " : "", name ? name : "?");
		}
		buf_addstr(b, cp->nbound > 1 ? ") (" : " ");
		for (size_t k = 0; k < cp->nbound; k++) {
			buf_addstr(b, k ? ", " : "");
			value_text(b, &v[k]);
		}
		buf_addstr(b, cp->nbound > 1 ? ")" : "");
	}
	for (size_t k = 0; k < cp->nbound; k++)
		buf_release(&scratch[k]);
	free(scratch);
	free(v);
	return rc;
}

/* "after id 100, up to id 200", "up to id 100", "after id 900", "every key". */
static int range_text(const struct chunkplan *cp, size_t i, json_t *keys, char **out, struct tally_err *err)
{
	struct buf lo = BUF_INIT, hi = BUF_INIT, b = BUF_INIT;
	bool has_lo, has_hi;
	int rc = bound_text(&lo, cp, i, false, keys, &has_lo, err);

	if (rc == 0)
		rc = bound_text(&hi, cp, i, true, keys, &has_hi, err);
	if (rc == 0) {
		if (has_lo)
			buf_addf(&b, "after %s", lo.data);
		if (has_hi)
			buf_addf(&b, "%sup to %s", has_lo ? ", " : "", hi.data);
		if (!has_lo && !has_hi)
			buf_addstr(&b, "every key");
		*out = buf_detach(&b, NULL);
	}
	buf_release(&lo);
	buf_release(&hi);
	buf_release(&b);
	return rc;
}

/* ---- chunks ------------------------------------------------------------ */

static int load_chunks(const struct assemble_in *in, size_t ci, json_t *jc, struct html_check *hc,
                       struct tally_err *err)
{
	struct chunkplan cp;
	bool recon = in->recon_dir[ci] >= 0;

	if (chunkplan_from_json(&cp, json_object_get(jc, "chunks"), err) < 0)
		return -1;
	hc->nplan = cp.n;
	hc->chunks = xcalloc(cp.n + 1, sizeof(*hc->chunks));
	for (size_t j = 0; j <= cp.n; j++) {
		struct html_chunk *c = &hc->chunks[hc->nchunks];
		size_t d;
		int got;

		if (j == cp.n && !recon)
			break;
		c->id = j < cp.n ? j : WORK_RECONCILE;
		d = j < cp.n ? in->chunk_dir[ci][j] : (size_t)in->recon_dir[ci];
		hc->nchunks++;
		if (j < cp.n && range_text(&cp, j, json_object_get(jc, "key"), &c->range, err) < 0)
			goto fail;
		if (d == (size_t)-1)
			continue;       /* another shard's */
		got = work_read_part(in->dirs[d], ci, c->id, &c->pr, err);
		if (got < 0)
			goto fail;
		c->have = got == 1;
		c->differs = c->have && (c->pr.missing + c->pr.extra + c->pr.changed > 0 ||
		                         (j < cp.n && !chunkhash_equal(&c->pr.hash[0], &c->pr.hash[1])));
	}
	chunkplan_release(&cp);
	return 0;
fail:
	chunkplan_release(&cp);
	return -1;
}

/* ---- the sample ------------------------------------------------------- */

struct sampler {
	struct html_check *hc;
	uint64_t want[3];           /* lines still wanted per kind */
};

static bool sample_full(const struct sampler *s)
{
	return s->want[0] == 0 && s->want[1] == 0 && s->want[2] == 0;
}

/* One difference line: kept when its kind still wants lines. Returns 1 when every kind is full. */
static int sample_line(struct sampler *s, const char *line, size_t n)
{
	static const char *const kinds[3] = { "missing", "extra", "changed" };
	json_t *j = json_loadb(line, n, 0, NULL);
	const char *kind = json_string_value(json_object_get(j, "kind"));

	for (int k = 0; kind && k < 3; k++)
		if (strcmp(kind, kinds[k]) == 0 && s->want[k] > 0) {
			json_array_append(s->hc->sample[k], j);
			s->want[k]--;
		}
	json_decref(j);
	return sample_full(s);
}

/* Feeds each line of the zstd file at path to the sampler, until it is full. */
static int sample_file(struct sampler *s, const char *path, struct tally_err *err)
{
	struct zreader z;
	struct buf pend = BUF_INIT;
	char chunk[65536];
	long n;
	int full = 0;

	if (zreader_open(&z, path, err) < 0)
		return -1;
	while (!full && (n = zreader_read(&z, chunk, sizeof(chunk), err)) > 0) {
		size_t start = 0;
		char *nl;

		buf_add(&pend, chunk, (size_t)n);
		while (!full && (nl = memchr(pend.data + start, '\n', pend.len - start)) != NULL) {
			full = sample_line(s, pend.data + start, (size_t)(nl - pend.data) - start);
			start = (size_t)(nl - pend.data) + 1;
		}
		memmove(pend.data, pend.data + start, pend.len - start);
		buf_setlen(&pend, pend.len - start);
	}
	zreader_close(&z);
	buf_release(&pend);
	return full || n == 0 ? 0 : -1;
}

static int load_sample(const struct assemble_in *in, size_t ci, const struct check_result *res,
                       struct html_check *hc, struct tally_err *err)
{
	const uint64_t count[3] = { res->missing, res->extra, res->changed };
	struct sampler s = { hc, { 0, 0, 0 } };

	for (int k = 0; k < 3; k++)
		s.want[k] = count[k] < HTML_SAMPLE ? count[k] : HTML_SAMPLE;
	for (size_t i = 0; i < hc->nchunks && !sample_full(&s); i++) {
		const struct html_chunk *c = &hc->chunks[i];
		size_t d = c->id == WORK_RECONCILE ? (size_t)in->recon_dir[ci] : in->chunk_dir[ci][c->id];
		char *path;
		int rc;

		if (!c->have || c->pr.missing + c->pr.extra + c->pr.changed == 0)
			continue;
		path = work_part_path(in->dirs[d], ci, c->id, "diff");
		rc = sample_file(&s, path, err);
		free(path);
		if (rc < 0)
			return -1;
	}
	return 0;
}

int html_check_load(const struct assemble_in *in, size_t ci, const struct check_result *res,
                    struct html_check *hc, struct tally_err *err)
{
	json_t *jc = json_array_get(json_object_get(in->run, "checks"), ci);

	memset(hc, 0, sizeof(*hc));
	for (int k = 0; k < 3; k++)
		hc->sample[k] = json_array();
	hc->columns = json_object_get(jc, "columns");
	if (res->status == RESULT_ERROR)
		return 0;
	if (load_chunks(in, ci, jc, hc, err) < 0 || load_sample(in, ci, res, hc, err) < 0)
		return err_context(err, "report.html: check '%s'", res->check->name);
	return 0;
}

void html_check_release(struct html_check *hc)
{
	for (size_t i = 0; i < hc->nchunks; i++)
		free(hc->chunks[i].range);
	free(hc->chunks);
	for (int k = 0; k < 3; k++)
		json_decref(hc->sample[k]);
	memset(hc, 0, sizeof(*hc));
}

/* ---- script headers --------------------------------------------------- */

#define HEADER_MAX (64 * 1024)

/* Reads the start of a plain or zstd file into out (at most max bytes). */
static int read_start(const char *path, bool zst, struct buf *out, size_t max, struct tally_err *err)
{
	char chunk[8192];
	long n = 0;

	if (zst) {
		struct zreader z;

		if (zreader_open(&z, path, err) < 0)
			return -1;
		while (out->len < max && (n = zreader_read(&z, chunk, sizeof(chunk), err)) > 0)
			buf_add(out, chunk, (size_t)n);
		zreader_close(&z);
	} else {
		FILE *f = fopen(path, "rb");
		size_t got;

		if (!f)
			return err_set(err, ERR_IO, "cannot open '%s': %s", path, strerror(errno));
		while (out->len < max && (got = fread(chunk, 1, sizeof(chunk), f)) > 0)
			buf_add(out, chunk, got);
		if (ferror(f))
			n = err_set(err, ERR_IO, "cannot read '%s'", path);
		fclose(f);
	}
	return n < 0 ? -1 : 0;
}

int html_script_header(const struct outdir *o, const char *file, struct buf *out, struct tally_err *err)
{
	static const char end[] = "\n-- end of tally header\n";
	size_t n = strlen(file);
	bool zst = n > 4 && strcmp(file + n - 4, ".zst") == 0;
	char *path = outdir_scratch(o, file);
	struct buf text = BUF_INIT;
	const char *stop;
	int rc = read_start(path, zst, &text, HEADER_MAX, err);

	if (rc == 0) {
		stop = strstr(text.data, end);
		buf_add(out, text.data, stop ? (size_t)(stop - text.data) + sizeof(end) - 1 : text.len);
	}
	buf_release(&text);
	free(path);
	return rc;
}
