/*
 * engine/html.c
 *   HTML: report.html, rendered into one buffer and written through the
 *   output directory. html_data.c reads what it shows.
 */
#include "html.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "html_int.h"
#include "tally_config.h"

static const char *const KINDS[3] = { "missing", "extra", "changed" };

static const char CSS[] =
	"body{font:14px/1.45 system-ui,'DejaVu Sans',sans-serif;margin:0;color:#1d2329;background:#f6f7f9}"
	"header,section,footer{max-width:1240px;margin:0 auto;padding:8px 24px}"
	"header{background:#fff;border-bottom:1px solid #d8dde3;max-width:none}"
	"header>div{max-width:1240px;margin:0 auto}"
	"h1{font-size:22px;margin:10px 0}"
	"h2{font-size:18px;margin:22px 0 8px;border-bottom:1px solid #d8dde3;padding-bottom:4px}"
	"h3{font-size:15px;margin:16px 0 6px}"
	"table{border-collapse:collapse;background:#fff;margin:6px 0}"
	"th,td{border:1px solid #d8dde3;padding:3px 8px;text-align:left;vertical-align:top}"
	"th{background:#eef1f4;font-weight:600}"
	"td.n{text-align:right;font-variant-numeric:tabular-nums}"
	"dl{display:grid;grid-template-columns:max-content auto;gap:2px 14px;margin:8px 0}"
	"dt{color:#5b6670}dd{margin:0}"
	".status{display:inline-block;padding:1px 9px;border-radius:10px;font-weight:600;font-size:12px}"
	".s-consistent{background:#d6f2de;color:#10612a}"
	".s-inconsistent{background:#fde3c0;color:#7a3e00}"
	".s-error{background:#f9d0d0;color:#8a1010}"
	"mark{background:#ffd49c;color:inherit;padding:0 2px}"
	".null{color:#8a939c;font-style:italic}"
	".ws{color:#c2410c;font-weight:700}"
	".strip{display:flex;flex-wrap:wrap;gap:2px;margin:6px 0;max-width:1000px}"
	".strip span{width:10px;height:18px;background:#a9dfb9}"
	".strip span.bad{background:#e4692e}"
	".strip span.away{background:#d8dde3}"
	".bar{display:inline-block;height:10px;background:#e4692e;vertical-align:middle}"
	"pre{background:#fff;border:1px solid #d8dde3;padding:8px;overflow-x:auto;"
	"font:12px/1.4 ui-monospace,'DejaVu Sans Mono',monospace}"
	"code,.mono{font-family:ui-monospace,'DejaVu Sans Mono',monospace;font-size:12.5px}"
	".err{background:#fdecec;border:1px solid #f0b4b4;padding:8px 12px;margin:8px 0}"
	".note{color:#5b6670}"
	".scroll{overflow-x:auto}"
	"td .mono{overflow-wrap:break-word}"
	"footer{color:#5b6670;font-size:12px;padding-bottom:24px}";

/* ---- escaping ----------------------------------------------------------- */

void html_escape(struct buf *out, const char *s, long n)
{
	size_t len = n < 0 ? strlen(s) : (size_t)n;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		switch (c) {
		case '&': buf_addstr(out, "&amp;"); break;
		case '<': buf_addstr(out, "&lt;"); break;
		case '>': buf_addstr(out, "&gt;"); break;
		case '"': buf_addstr(out, "&quot;"); break;
		case '\'': buf_addstr(out, "&#39;"); break;
		default:
			if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
				buf_addf(out, "\\x%02x", c);
			else
				buf_addch(out, (char)c);
		}
	}
}

static void esc(struct buf *b, const char *s)
{
	html_escape(b, s ? s : "", -1);
}

/* A relative link to one of the run's files: its name, percent-encoded beyond [A-Za-z0-9._-]. */
static void link_to(struct buf *b, const char *file)
{
	buf_addstr(b, "<a href=\"");
	for (const unsigned char *p = (const unsigned char *)file; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    *p == '.' || *p == '_' || *p == '-')
			buf_addch(b, (char)*p);
		else
			buf_addf(b, "%%%02X", *p);
	}
	buf_addstr(b, "\">");
	esc(b, file);
	buf_addstr(b, "</a>");
}

/* A JSON value as a reader sees it; strings cut at max bytes (at a character's start). */
static void value_text(struct buf *b, json_t *v, size_t max, bool quote)
{
	char *text;

	if (!v || json_is_null(v)) {
		buf_addstr(b, "<span class=\"null\">NULL</span>");
	} else if (json_is_string(v)) {
		const char *s = json_string_value(v);
		size_t n = json_string_length(v), cut = n;

		if (cut > max)
			for (cut = max; cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80; cut--)
				;
		size_t lead = 0, trail = 0;

		/* Spaces at either end are data too: shown, or a lost trailing space would not be seen. */
		while (lead < cut && s[lead] == ' ')
			lead++;
		while (cut == n && trail < cut - lead && s[cut - 1 - trail] == ' ')
			trail++;
		buf_addstr(b, quote ? "&#39;" : "");
		for (size_t i = 0; i < lead; i++)
			buf_addstr(b, "<span class=\"ws\" title=\"a space\">&#183;</span>");
		html_escape(b, s + lead, (long)(cut - lead - trail));
		for (size_t i = 0; i < trail; i++)
			buf_addstr(b, "<span class=\"ws\" title=\"a space\">&#183;</span>");
		buf_addstr(b, cut < n ? "&#8230;" : "");
		buf_addstr(b, quote ? "&#39;" : "");
	} else {
		text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
		esc(b, text);
		free(text);
	}
}

static void status_badge(struct buf *b, const char *status, const char *field)
{
	buf_addf(b, "<span class=\"status s-%s\"", status);
	if (field)
		buf_addf(b, " data-field=\"%s\"", field);
	buf_addf(b, ">%s</span>", status);
}

/* A count cell: the number, or a dash for a check without a verdict. */
static void count_cell(struct buf *b, const char *field, const struct check_result *c, uint64_t n)
{
	if (c->status == RESULT_ERROR || c->counts)     /* --mode counts knows no differing rows */
		buf_addf(b, "<td class=\"n\" data-field=\"%s\">&#8212;</td>", field);
	else
		buf_addf(b, "<td class=\"n\" data-field=\"%s\">%llu</td>", field, (unsigned long long)n);
}

static bool listed(const struct check_result *c)
{
	return c->status != RESULT_PENDING;
}

/* ---- the run ------------------------------------------------------------ */

static void error_block(struct buf *b, const struct tally_err *e, const char *field)
{
	buf_addf(b, "<div class=\"err\" data-field=\"%s\"><strong>error:</strong> ", field);
	esc(b, e->msg);
	if (e->detail[0]) {
		buf_addstr(b, "<br>detail: ");
		esc(b, e->detail);
	}
	if (e->hint[0]) {
		buf_addstr(b, "<br>hint: ");
		esc(b, e->hint);
	}
	buf_addstr(b, "</div>\n");
}

static void run_section(struct buf *b, const struct run_report *r)
{
	buf_addstr(b, "<header><div><h1>tally report: ");
	esc(b, r->spec->name);
	buf_addstr(b, " ");
	status_badge(b, result_status_name(r->status), "run-status");
	buf_addstr(b, "</h1>\n<dl>");
	buf_addstr(b, "<dt>spec</dt><dd class=\"mono\">");
	esc(b, r->spec->file);
	buf_addstr(b, "</dd>");
	if (r->spec->reason) {
		buf_addstr(b, "<dt>reason</dt><dd>");
		esc(b, r->spec->reason);
		buf_addstr(b, "</dd>");
	}
	buf_addstr(b, "<dt>started</dt><dd data-field=\"started-at\">");
	esc(b, r->started_at);
	buf_addstr(b, "</dd><dt>finished</dt><dd data-field=\"finished-at\">");
	esc(b, r->finished_at);
	buf_addf(b, "</dd><dt>tally</dt><dd>%s</dd>", TALLY_VERSION);
	if (r->shard)
		buf_addf(b, "<dt>shard</dt><dd>%lld of %lld</dd>",
		         (long long)json_integer_value(json_object_get(r->shard, "index")),
		         (long long)json_integer_value(json_object_get(r->shard, "count")));
	buf_addstr(b, "<dt>files</dt><dd>");
	link_to(b, "report.json");
	if (r->diff_written && !r->failed) {
		buf_addstr(b, ", ");
		link_to(b, "diff.ndjson.zst");
		buf_addstr(b, " <span class=\"note\">(read it with zstdcat)</span>");
	}
	buf_addstr(b, "</dd></dl>\n");
	if (r->has_error) {
		error_block(b, &r->err, "run-error");
		if (r->failed)
			buf_addstr(b, "<p>The run ended in trouble (exit status 2): it gives no verdict, and wrote no "
			              "difference file and no script.</p>\n");
		if (r->error_note) {
			buf_addstr(b, "<p>");
			esc(b, r->error_note);
			buf_addstr(b, "</p>\n");
		}
	}
	buf_addstr(b, "</div></header>\n");
}

/* The stdout summary's words: "missing 1, extra 4, changed 2", "undeleted 4". */
static void verdict_words(struct buf *b, const struct check_result *c)
{
	if (c->status == RESULT_ERROR)
		buf_addstr(b, "no verdict");
	else if (c->status == RESULT_CONSISTENT)
		buf_addstr(b, "none");
	else if (c->counts)
		buf_addf(b, "row counts differ in %llu of %llu chunks (--mode counts)",
		         (unsigned long long)c->chunks_mismatched, (unsigned long long)c->chunks_total);
	else if (c->check->expect == EXPECT_ABSENT)
		buf_addf(b, "undeleted %llu", (unsigned long long)c->extra);
	else if (c->check->multiset)
		buf_addf(b, "copies missing %llu, extra %llu", (unsigned long long)c->missing,
		         (unsigned long long)c->extra);
	else
		buf_addf(b, "missing %llu, extra %llu, changed %llu", (unsigned long long)c->missing,
		         (unsigned long long)c->extra, (unsigned long long)c->changed);
}

static void side_cell(struct buf *b, const struct side_result *s)
{
	buf_addstr(b, "<td><span class=\"mono\">");
	esc(b, s->table);
	buf_addstr(b, "</span><br><span class=\"note\">");
	esc(b, s->system);
	buf_addstr(b, "</span></td>");
}

static void summary_section(struct buf *b, const struct run_report *r)
{
	buf_addstr(b, "<section id=\"summary\"><h2>Summary</h2>\n<div class=\"scroll\"><table><tr><th>check</th><th>status</th>"
	              "<th>expect</th><th>source</th><th>rows</th><th>target</th><th>rows</th><th>missing</th>"
	              "<th>extra</th><th>changed</th><th>differences</th><th>chunks differing</th>"
	              "<th>seconds</th></tr>\n");
	for (size_t i = 0; i < r->nchecks; i++) {
		const struct check_result *c = &r->checks[i];

		if (!listed(c))
			continue;
		buf_addstr(b, "<tr data-check=\"");
		esc(b, c->check->name);
		buf_addf(b, "\"><td><a href=\"#check-%zu\">", i + 1);
		esc(b, c->check->name);
		buf_addstr(b, "</a></td><td>");
		status_badge(b, result_status_name(c->status), "status");
		buf_addf(b, "</td><td>%s</td>", spec_expect_name(c->check->expect));
		side_cell(b, &c->side[0]);
		count_cell(b, "source-rows", c, c->side[0].rows);
		side_cell(b, &c->side[1]);
		count_cell(b, "target-rows", c, c->side[1].rows);
		count_cell(b, "missing", c, c->missing);
		count_cell(b, "extra", c, c->extra);
		count_cell(b, "changed", c, c->changed);
		buf_addstr(b, "<td>");
		verdict_words(b, c);
		buf_addf(b, "</td><td class=\"n\"><span data-field=\"chunks-mismatched\">%llu</span> of "
		         "<span data-field=\"chunks-total\">%llu</span></td>",
		         (unsigned long long)c->chunks_mismatched, (unsigned long long)c->chunks_total);
		buf_addf(b, "<td class=\"n\" data-field=\"seconds\">%.3f</td></tr>\n", c->seconds);
	}
	buf_addstr(b, "</table></div>\n<p class=\"note\">missing: in the source only; extra: in the target only "
	              "(for expect: absent, the undeleted records); changed: in both, with different values. "
	              "Multisets count copies.</p></section>\n");
}

/* ---- a check ------------------------------------------------------------ */

static void columns_details(struct buf *b, const struct check_result *c)
{
	size_t i;
	json_t *col;

	buf_addstr(b, "<details><summary>key and compared columns</summary><p>key: <span class=\"mono\">");
	json_array_foreach(c->key, i, col) {
		buf_addstr(b, i ? ", " : "");
		esc(b, json_string_value(col));
	}
	buf_addstr(b, "</span></p><table><tr><th>source</th><th>type</th><th>target</th><th>type</th>"
	              "<th>compared as</th><th>normalization</th></tr>\n");
	json_array_foreach(c->columns, i, col) {
		static const char *const f[6] = { "source", "source_type", "target", "target_type",
		                                  "compared_as", "normalization" };

		buf_addstr(b, "<tr>");
		for (int k = 0; k < 6; k++) {
			buf_addstr(b, k < 4 ? "<td class=\"mono\">" : "<td>");
			value_text(b, json_object_get(col, f[k]), 200, false);
			buf_addstr(b, "</td>");
		}
		buf_addstr(b, "</tr>\n");
	}
	buf_addstr(b, "</table></details>\n");
}

static void kinds_table(struct buf *b, const struct check_result *c)
{
	const uint64_t n[3] = { c->missing, c->extra, c->changed };
	uint64_t most = 1;

	for (int k = 0; k < 3; k++)
		most = n[k] > most ? n[k] : most;
	buf_addstr(b, "<h3>Differences by kind</h3><table><tr><th>kind</th><th>rows</th><th></th></tr>\n");
	for (int k = 0; k < 3; k++) {
		const char *label = k == HTML_EXTRA && c->check->expect == EXPECT_ABSENT ? "extra (undeleted)"
		                                                                      : KINDS[k];

		buf_addf(b, "<tr><td>%s</td><td class=\"n\">%llu</td><td><span class=\"bar\" "
		         "style=\"width:%dpx\"></span></td></tr>\n", label, (unsigned long long)n[k],
		         n[k] ? 1 + (int)(300.0 * (double)n[k] / (double)most) : 0);
	}
	buf_addstr(b, "</table>\n");
}

/* One strip cell per chunk (per group of chunks beyond 600), coloured by whether it differs. */
static void chunk_strip(struct buf *b, const struct html_check *hc)
{
	size_t group = hc->nplan > 600 ? (hc->nplan + 599) / 600 : 1;

	buf_addstr(b, "<div class=\"strip\">");
	for (size_t i = 0; i < hc->nplan; i += group) {
		size_t end = i + group < hc->nplan ? i + group : hc->nplan, bad = 0, away = 0;

		for (size_t j = i; j < end; j++) {
			bad += hc->chunks[j].differs;
			away += !hc->chunks[j].have;
		}
		buf_addf(b, "<span class=\"%s\" title=\"", bad ? "bad" : away == end - i ? "away" : "ok");
		if (end - i == 1)
			buf_addf(b, "chunk %zu: ", i + 1);
		else
			buf_addf(b, "chunks %zu-%zu: ", i + 1, end);
		if (bad)
			buf_addf(b, "%zu with differences", bad);
		else
			buf_addstr(b, away == end - i ? "another shard's" : "equal");
		buf_addstr(b, "\"></span>");
	}
	buf_addstr(b, "</div>\n");
}

static void chunk_row(struct buf *b, const struct html_chunk *c)
{
	if (c->id == WORK_RECONCILE)
		buf_addstr(b, "<tr data-chunk=\"r\"><td>reconciliation</td><td class=\"note\">rows that the "
		              "chunks found on one side only, matched across chunks</td>");
	else {
		buf_addf(b, "<tr data-chunk=\"%zu\"><td class=\"n\">%zu</td><td class=\"mono\">", c->id + 1, c->id + 1);
		esc(b, c->range);
		buf_addstr(b, "</td>");
	}
	buf_addf(b, "<td class=\"n\">%llu</td><td class=\"n\">%llu</td>", (unsigned long long)c->pr.rows[0],
	         (unsigned long long)c->pr.rows[1]);
	buf_addf(b, "<td class=\"n\" data-field=\"chunk-missing\">%llu</td>"
	         "<td class=\"n\" data-field=\"chunk-extra\">%llu</td>"
	         "<td class=\"n\" data-field=\"chunk-changed\">%llu</td><td>%s</td></tr>\n",
	         (unsigned long long)c->pr.missing, (unsigned long long)c->pr.extra,
	         (unsigned long long)c->pr.changed,
	         c->id == WORK_RECONCILE ? "" : chunkhash_equal(&c->pr.hash[0], &c->pr.hash[1]) ? "equal" : "differ");
}

static void keyspace(struct buf *b, const struct html_check *hc)
{
	size_t shown = 0, differing = 0;

	for (size_t i = 0; i < hc->nchunks; i++)
		differing += hc->chunks[i].differs;
	buf_addf(b, "<h3>Where in the key space</h3><p>%zu chunk%s, %zu with differences.</p>\n", hc->nplan,
	         hc->nplan == 1 ? "" : "s", differing);
	chunk_strip(b, hc);
	if (!differing)
		return;
	buf_addstr(b, "<table class=\"chunks\"><tr><th>chunk</th><th>keys</th><th>source rows</th>"
	              "<th>target rows</th><th>missing</th><th>extra</th><th>changed</th><th>hashes</th></tr>\n");
	for (size_t i = 0; i < hc->nchunks && shown < HTML_CHUNK_ROWS; i++)
		if (hc->chunks[i].differs) {
			chunk_row(b, &hc->chunks[i]);
			shown++;
		}
	buf_addstr(b, "</table>\n");
	if (differing > shown)
		buf_addf(b, "<p class=\"note\">and %zu more chunks with differences.</p>\n", differing - shown);
}

/* A difference line's key: "id=11", or its copies for a multiset. */
static void key_cell(struct buf *b, json_t *line, size_t rowspan)
{
	json_t *key = json_object_get(line, "key"), *v;
	const char *name;
	bool first = true;

	if (rowspan > 1)
		buf_addf(b, "<td class=\"mono\" rowspan=\"%zu\">", rowspan);
	else
		buf_addstr(b, "<td class=\"mono\">");
	if (!json_is_object(key)) {
		buf_addf(b, "%lld copies (source %lld, target %lld)",
		         (long long)json_integer_value(json_object_get(line, "copies")),
		         (long long)json_integer_value(json_object_get(line, "source_copies")),
		         (long long)json_integer_value(json_object_get(line, "target_copies")));
	}
	json_object_foreach(key, name, v) {
		buf_addstr(b, first ? "" : ", ");
		esc(b, name);
		buf_addstr(b, "=");
		value_text(b, v, 60, json_is_string(v));
		first = false;
	}
	buf_addstr(b, "</td>");
}

/* The target's name of a source column (renamed columns), from the compared columns. */
static const char *target_name(const struct html_check *hc, const char *source)
{
	size_t i;
	json_t *col;

	json_array_foreach(hc->columns, i, col)
	{
		const char *s = json_string_value(json_object_get(col, "source"));
		const char *t = json_string_value(json_object_get(col, "target"));

		if (s && t && strcmp(s, source) == 0)
			return t;
	}
	return source;
}

static void sample_changed(struct buf *b, const struct html_check *hc, const struct check_result *c)
{
	size_t i, j;
	json_t *line, *col;

	buf_addstr(b, "<table class=\"sample\"><tr><th>key</th><th>column</th><th>source (");
	esc(b, c->side[0].system);
	buf_addstr(b, ")</th><th>target (");
	esc(b, c->side[1].system);
	buf_addstr(b, ")</th></tr>\n");
	json_array_foreach(hc->sample[HTML_CHANGED], i, line) {
		json_t *cols = json_object_get(line, "columns");
		size_t n = json_array_size(cols);

		json_array_foreach(cols, j, col) {
			const char *s = json_string_value(col) ? json_string_value(col) : "";
			const char *t = target_name(hc, s);

			buf_addstr(b, j == 0 ? "<tr data-sample=\"changed\">" : "<tr>");
			if (j == 0)
				key_cell(b, line, n);
			buf_addstr(b, "<td class=\"mono\">");
			esc(b, s);
			if (strcmp(s, t) != 0) {
				buf_addstr(b, " / ");
				esc(b, t);
			}
			buf_addstr(b, "</td><td><mark>");
			value_text(b, json_object_get(json_object_get(line, "source"), s), 200, false);
			buf_addstr(b, "</mark></td><td><mark>");
			value_text(b, json_object_get(json_object_get(line, "target"), t), 200, false);
			buf_addstr(b, "</mark></td></tr>\n");
		}
	}
	buf_addstr(b, "</table>\n");
}

/* Rows on one side only: the key, then every compared column of the side that has the row. */
static void sample_one_side(struct buf *b, json_t *lines, const char *kind, const char *side)
{
	json_t *first = json_object_get(json_array_get(lines, 0), side), *line, *v;
	const char *name;
	size_t i;

	buf_addstr(b, "<table class=\"sample\"><tr><th>key</th>");
	json_object_foreach(first, name, v) {
		buf_addstr(b, "<th class=\"mono\">");
		esc(b, name);
		buf_addstr(b, "</th>");
	}
	buf_addstr(b, "</tr>\n");
	json_array_foreach(lines, i, line) {
		json_t *row = json_object_get(line, side);

		buf_addf(b, "<tr data-sample=\"%s\">", kind);
		key_cell(b, line, 1);
		json_object_foreach(first, name, v) {
			buf_addstr(b, "<td>");
			value_text(b, json_object_get(row, name), 200, false);
			buf_addstr(b, "</td>");
		}
		buf_addstr(b, "</tr>\n");
	}
	buf_addstr(b, "</table>\n");
}

static void samples(struct buf *b, const struct html_check *hc, const struct check_result *c)
{
	const uint64_t n[3] = { c->missing, c->extra, c->changed };
	static const char *const title[3] = {
		"in the source only (missing from the target)",
		"in the target only (extra)",
		"in both, with different values (changed)",
	};

	for (int k = 0; k < 3; k++) {
		size_t got = json_array_size(hc->sample[k]);

		if (!got)
			continue;
		buf_addf(b, "<h3>Rows %s: %s%zu of %llu</h3>\n",
		         k == HTML_EXTRA && c->check->expect == EXPECT_ABSENT
		         ? "in the target that should have been deleted (undeleted)" : title[k],
		         got < n[k] ? "the first " : "", got, (unsigned long long)n[k]);
		if (k == HTML_CHANGED)
			sample_changed(b, hc, c);
		else
			sample_one_side(b, hc->sample[k], KINDS[k], k == HTML_MISSING ? "source" : "target");
	}
}

static void check_section(struct buf *b, const struct run_report *r, size_t i, const struct html_check *hc)
{
	const struct check_result *c = &r->checks[i];

	buf_addf(b, "<section class=\"check\" id=\"check-%zu\"><h2>", i + 1);
	esc(b, c->check->name);
	buf_addstr(b, " ");
	status_badge(b, result_status_name(c->status), NULL);
	buf_addstr(b, "</h2>\n<p><span class=\"mono\">");
	esc(b, c->side[0].table);
	buf_addstr(b, "</span> on ");
	esc(b, c->side[0].system);
	if (c->side[0].server) {
		buf_addstr(b, " (");
		esc(b, c->side[0].server);
		buf_addstr(b, ")");
	}
	buf_addstr(b, " against <span class=\"mono\">");
	esc(b, c->side[1].table);
	buf_addstr(b, "</span> on ");
	esc(b, c->side[1].system);
	if (c->side[1].server) {
		buf_addstr(b, " (");
		esc(b, c->side[1].server);
		buf_addstr(b, ")");
	}
	buf_addf(b, "; expect %s.</p>\n", spec_expect_name(c->check->expect));
	if (c->status == RESULT_ERROR) {
		error_block(b, &c->err, "check-error");
		buf_addstr(b, "</section>\n");
		return;
	}
	if (c->newer) {
		buf_addf(b, "<p>Rows newer than the cutoff, on either side, were skipped: <span data-field=\"skipped-newer\">"
		         "%llu</span> as newer than <span class=\"mono\" data-field=\"newer-cutoff\">",
		         (unsigned long long)c->skipped_newer);
		esc(b, json_string_value(json_object_get(c->newer, "cutoff")));
		buf_addstr(b, "</span> (ignore_newer_than <span class=\"mono\">");
		esc(b, json_string_value(json_object_get(c->newer, "column")));
		buf_addstr(b, "</span> ");
		esc(b, json_string_value(json_object_get(c->newer, "age")));
		buf_addstr(b, ").</p>\n");
	}
	if (c->key && c->columns)
		columns_details(b, c);
	kinds_table(b, c);
	if (hc && hc->nplan)
		keyspace(b, hc);
	if (hc)
		samples(b, hc, c);
	buf_addstr(b, "</section>\n");
}

/* ---- findings and scripts ------------------------------------------------ */

/* One finding row: check, what, side, name. */
static void finding_row(struct buf *b, const char *kind, const char *check, const char *what, const char *side,
                        const char *name)
{
	buf_addf(b, "<tr data-finding=\"%s\"><td>", kind);
	esc(b, check);
	buf_addstr(b, "</td><td>");
	esc(b, what);
	buf_addf(b, "</td><td>%s</td><td class=\"mono\">", side);
	esc(b, name ? name : "");
	buf_addstr(b, "</td></tr>\n");
}

/* A schema check's findings: tables on one side only, and its tables' refused column pairs. */
static size_t schema_finding_rows(struct buf *b, const struct run_report *r)
{
	size_t n = 0, j;
	json_t *f;

	json_array_foreach(r->findings, j, f) {
		bool src = strcmp(json_string_value(json_object_get(f, "kind")), "missing_table") == 0;

		finding_row(b, json_string_value(json_object_get(f, "kind")), json_string_value(json_object_get(f, "check")),
		            src ? "table on the source side only" : "table on the target side only",
		            src ? "source" : "target", json_string_value(json_object_get(f, "table")));
		n++;
	}
	for (size_t i = 0; i < r->nchecks; i++) {
		json_array_foreach(r->checks[i].findings, j, f) {
			struct buf what = BUF_INIT;
			const char *hint = json_string_value(json_object_get(f, "hint"));

			if (strcmp(json_string_value(json_object_get(f, "kind")), "refused_column") != 0)
				continue;
			buf_addf(&what, "column pair not compared: %s%s%s", json_string_value(json_object_get(f, "message")),
			         hint ? "; " : "", hint ? hint : "");
			finding_row(b, "refused_column", r->checks[i].check->name, what.data, "both",
			            json_string_value(json_object_get(f, "source")));
			buf_release(&what);
			n++;
		}
	}
	return n;
}

/*
 * Schema findings, one row each: what was found, on which side, and its
 * name: columns on one side only (every check), then a schema check's
 * tables on one side only and refused column pairs.
 */
static size_t finding_rows(struct buf *b, const struct run_report *r)
{
	size_t n = 0;

	for (size_t i = 0; i < r->nchecks; i++) {
		const struct check_result *c = &r->checks[i];

		for (int s = 0; s < 2 && listed(c); s++) {
			json_t *names = json_object_get(c->unmatched, s == 0 ? "source" : "target"), *v;
			size_t j;

			json_array_foreach(names, j, v) {
				buf_addstr(b, "<tr data-finding=\"unmatched_column\"><td>");
				esc(b, c->check->name);
				buf_addf(b, "</td><td>column on the %s side only (not compared)</td><td>%s</td>"
				         "<td class=\"mono\">", s == 0 ? "source" : "target", s == 0 ? "source" : "target");
				esc(b, json_string_value(v));
				buf_addstr(b, "</td></tr>\n");
				n++;
			}
		}
	}
	return n + schema_finding_rows(b, r);
}

static void findings_section(struct buf *b, const struct run_report *r)
{
	struct buf rows = BUF_INIT;
	size_t n = finding_rows(&rows, r);

	buf_addstr(b, "<section id=\"schema\"><h2>Schema findings</h2>\n");
	if (n == 0)
		buf_addstr(b, "<p>None: every column of the compared tables is compared or left out by the spec.</p>\n");
	else
		buf_addf(b, "<table><tr><th>check</th><th>finding</th><th>side</th><th>name</th></tr>\n%s</table>\n",
		         rows.data);
	buf_addstr(b, "</section>\n");
	buf_release(&rows);
}

static bool script_seen(const struct run_report *r, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (r->checks[j].repair && strcmp(r->checks[j].repair->file, r->checks[i].repair->file) == 0)
			return true;
	return false;
}

static int repairs_section(struct buf *b, const struct run_report *r, const struct assemble_in *in,
                           struct tally_err *err)
{
	size_t shown = 0;

	buf_addstr(b, "<section id=\"repairs\"><h2>Repair scripts</h2>\n");
	for (size_t i = 0; i < r->nchecks && in && !r->failed; i++) {
		const struct repair_result *rr = r->checks[i].repair;
		struct buf head = BUF_INIT;

		if (!rr || !rr->file[0] || script_seen(r, i))
			continue;
		if (html_script_header(in->out, rr->file, &head, err) < 0) {
			buf_release(&head);
			return err_context(err, "report.html");
		}
		buf_addstr(b, "<h3>");
		link_to(b, rr->file);
		buf_addstr(b, " <span class=\"note\">undo:</span> ");
		link_to(b, rr->rollback);
		buf_addstr(b, "</h3>\n<pre data-field=\"script-header\">");
		html_escape(b, head.data, (long)head.len);
		buf_addstr(b, "</pre>\n");
		buf_release(&head);
		shown++;
	}
	for (size_t i = 0; i < r->nchecks && !r->failed; i++) {
		const struct repair_result *rr = r->checks[i].repair;

		if (!rr || rr->file[0] || !rr->failed)
			continue;
		buf_addstr(b, "<p>check ");
		esc(b, r->checks[i].check->name);
		buf_addstr(b, ": no script for system ");
		esc(b, rr->system);
		buf_addstr(b, ": ");
		esc(b, rr->failure ? rr->failure : rr->none);
		buf_addstr(b, "</p>\n");
	}
	if (shown == 0)
		buf_addstr(b, "<p>No repair script was written.</p>\n");
	else if (r->change_order_written)
		buf_addstr(b, "<p>How to apply them, verify and roll back, for the ticket: "
		              "<a data-field=\"change-order\" href=\"change-order.md\">change-order.md</a></p>\n");
	buf_addstr(b, "</section>\n");
	return 0;
}

/* Per workflow: its keys per stopping point, and each step's keys to finish. */
static void workflows_section(struct buf *b, const struct run_report *r)
{
	size_t i, s;
	json_t *w, *st;

	if (json_array_size(r->workflows) == 0 || r->failed)
		return;
	buf_addstr(b, "<section id=\"workflows\"><h2>Workflows</h2>\n");
	json_array_foreach(r->workflows, i, w) {
		json_t *g = json_object_get(w, "groups");
		const char *withheld = json_string_value(json_object_get(w, "repair_withheld"));

		buf_addstr(b, "<h3>");
		esc(b, json_string_value(json_object_get(w, "name")));
		buf_addf(b, "</h3>\n<p>%lld keys</p>\n<table data-field=\"workflow-groups\"><tr><th>stopping point</th>"
		         "<th>keys</th></tr>\n<tr><td>complete</td><td class=\"n\">%lld</td></tr>\n"
		         "<tr><td>never started</td><td class=\"n\">%lld</td></tr>\n",
		         (long long)json_integer_value(json_object_get(w, "keys")),
		         (long long)json_integer_value(json_object_get(g, "complete")),
		         (long long)json_integer_value(json_object_get(g, "never_started")));
		json_array_foreach(json_object_get(w, "steps"), s, st) {
			const char *name = json_string_value(json_object_get(st, "name"));

			if (s + 1 == json_array_size(json_object_get(w, "steps")))
				break;
			buf_addstr(b, "<tr><td>stopped after ");
			esc(b, name);
			buf_addf(b, "</td><td class=\"n\">%lld</td></tr>\n",
			         (long long)json_integer_value(json_object_get(json_object_get(g, "stopped_after"), name)));
		}
		buf_addf(b, "<tr><td>out of order</td><td class=\"n\">%lld</td></tr>\n</table>\n"
		         "<table data-field=\"workflow-steps\"><tr><th>step</th><th>system</th><th>keys to finish</th>"
		         "<th>outside the keys</th></tr>\n", (long long)json_integer_value(json_object_get(g, "out_of_order")));
		json_array_foreach(json_object_get(w, "steps"), s, st) {
			buf_addstr(b, "<tr><td>");
			esc(b, json_string_value(json_object_get(st, "name")));
			buf_addstr(b, "</td><td>");
			esc(b, json_is_string(json_object_get(st, "system")) ? json_string_value(json_object_get(st, "system")) : "");
			buf_addf(b, "</td><td class=\"n\">%lld</td><td class=\"n\">%lld</td></tr>\n",
			         (long long)json_integer_value(json_object_get(st, "not_done")),
			         (long long)json_integer_value(json_object_get(st, "outside_keys")));
		}
		buf_addstr(b, "</table>\n");
		if (withheld) {
			buf_addstr(b, "<p>");
			esc(b, withheld);
			buf_addstr(b, "</p>\n");
		}
	}
	buf_addstr(b, "</section>\n");
}

/* ---- the page ------------------------------------------------------------ */

static int render(struct buf *b, const struct run_report *r, const struct assemble_in *in, struct tally_err *err)
{
	int rc = 0;

	buf_addstr(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	              "<meta name=\"viewport\" content=\"width=device-width\"><title>tally report: ");
	esc(b, r->spec->name);
	buf_addf(b, "</title><style>%s</style></head>\n<body>\n", CSS);
	run_section(b, r);
	summary_section(b, r);
	workflows_section(b, r);
	for (size_t i = 0; i < r->nchecks && rc == 0; i++) {
		struct html_check hc;
		bool loaded = in && !r->failed;

		if (!listed(&r->checks[i]))
			continue;
		if (loaded && html_check_load(in, i, &r->checks[i], &hc, err) < 0)
			rc = -1;
		else
			check_section(b, r, i, loaded ? &hc : NULL);
		if (loaded)
			html_check_release(&hc);
	}
	if (rc == 0) {
		findings_section(b, r);
		rc = repairs_section(b, r, in, err);
	}
	buf_addf(b, "<footer>Written by tally %s. This page is self-contained: it loads nothing and runs no "
	         "script; report.json holds the same numbers.</footer>\n</body></html>\n", TALLY_VERSION);
	return rc;
}

int html_write(struct outdir *o, const struct run_report *r, const struct assemble_in *in, struct tally_err *err)
{
	struct buf page = BUF_INIT;
	struct tally_err later;
	struct zfile z;
	int rc = render(&page, r, in, err);

	if (rc == 0) {
		rc = outdir_create(o, "report.html", &z, 0, ZFILE_PLAIN, err);
		if (rc == 0)
			rc = zfile_write(&z, page.data, page.len, err);
		if (zfile_close(&z, rc == 0 ? err : &later) < 0)
			rc = -1;
	}
	buf_release(&page);
	return rc;
}
