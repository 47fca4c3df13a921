/*
 * tests/unit/test_html.c
 *   Unit tests for engine/html.c without a server: the escaping of every
 *   character that means something in HTML (and of control characters),
 *   and report.html for a run that failed, written through the output
 *   directory, with hostile names and messages: each appears escaped,
 *   nothing the page holds could run or load anything, and the numbers
 *   carry their data-field attributes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/html.h"

#define HOSTILE "<script>alert(1)</script>&\"'"

static void test_escape(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	html_escape(&b, "a<b>&\"c\"'d'\x01\x7f\n\tz", -1);
	assert_string_equal(b.data, "a&lt;b&gt;&amp;&quot;c&quot;&#39;d&#39;\\x01\\x7f\n\tz");
	buf_reset(&b);
	html_escape(&b, "<<<", 2);
	assert_string_equal(b.data, "&lt;&lt;");
	buf_release(&b);
}

/* Case-insensitive strstr. */
static const char *find_ci(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	for (; *hay; hay++)
		if (strncasecmp(hay, needle, n) == 0)
			return hay;
	return NULL;
}

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct buf b = BUF_INIT;
	char chunk[4096];
	size_t n;

	assert_non_null(f);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&b, chunk, n);
	fclose(f);
	return buf_detach(&b, NULL);
}

static void test_failed_run_page(void **state)
{
	char dir[] = "/tmp/tally-html-XXXXXX";
	struct spec sp;
	struct spec_check chk;
	struct check_result cr;
	struct run_report r;
	struct outdir o;
	struct tally_err err;
	char *path, *page;

	(void)state;
	assert_non_null(mkdtemp(dir));
	memset(&sp, 0, sizeof(sp));
	memset(&chk, 0, sizeof(chk));
	memset(&cr, 0, sizeof(cr));
	memset(&r, 0, sizeof(r));
	sp.name = "nightly";
	sp.file = "specs/" HOSTILE ".yaml";
	sp.reason = "reason " HOSTILE;
	chk.name = "orders" HOSTILE;
	cr.check = &chk;
	cr.status = RESULT_ERROR;
	cr.side[0].system = "legacy";
	cr.side[0].table = xstrdup("db." HOSTILE);
	cr.side[1].system = "billing";
	cr.side[1].table = xstrdup("public.t");
	cr.unmatched = json_pack("{s:[s], s:[]}", "source", "col " HOSTILE, "target");
	err_set(&cr.err, ERR_SCHEMA, "table %s does not exist", HOSTILE);
	err_detail(&cr.err, "<img src=x onerror=alert(2)>");
	r.spec = &sp;
	r.checks = &cr;
	r.nchecks = 1;
	r.status = RESULT_ERROR;
	r.failed = true;
	r.has_error = true;
	r.err = cr.err;
	snprintf(r.started_at, sizeof(r.started_at), "2026-11-21T02:00:00Z");
	snprintf(r.finished_at, sizeof(r.finished_at), "2026-11-21T02:00:05Z");

	assert_int_equal(outdir_open(&o, dir, &err), 0);
	assert_int_equal(html_write(&o, &r, NULL, &err), 0);
	assert_int_equal(outdir_commit(&o, &err), 0);
	path = xasprintf("%s/report.html", dir);
	page = read_all(path);

	/* Every hostile string escaped, and nothing that runs or loads. */
	assert_null(find_ci(page, "<script"));
	assert_null(find_ci(page, "<img"));
	assert_null(find_ci(page, "src=\""));
	assert_null(find_ci(page, "http:"));
	assert_null(find_ci(page, "https:"));
	assert_null(find_ci(page, "@import"));
	assert_null(find_ci(page, "url("));
	assert_non_null(strstr(page, "orders&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;&#39;"));
	assert_non_null(strstr(page, "db.&lt;script&gt;"));
	assert_non_null(strstr(page, "col &lt;script&gt;"));
	assert_non_null(strstr(page, "&lt;img src=x onerror=alert(2)&gt;"));
	assert_non_null(strstr(page, "<span class=\"status s-error\" data-field=\"run-status\">error</span>"));
	assert_non_null(strstr(page, "<td class=\"n\" data-field=\"missing\">&#8212;</td>"));
	assert_non_null(strstr(page, "data-finding=\"unmatched_column\""));
	/* Attribute values are escaped too. */
	assert_non_null(strstr(page, "<tr data-check=\"orders&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;&#39;\">"));
	assert_non_null(strstr(page, "</html>\n"));

	free(page);
	unlink(path);
	free(path);
	outdir_close(&o);
	rmdir(dir);
	free(cr.side[0].table);
	free(cr.side[1].table);
	json_decref(cr.unmatched);
}

/* ignore_newer_than: the check's section says how many keys it skipped, and from when, escaped. */
static void test_skipped_newer(void **state)
{
	char dir[] = "/tmp/tally-html-XXXXXX";
	struct spec sp;
	struct spec_check chk;
	struct check_result cr;
	struct run_report r;
	struct outdir o;
	struct tally_err err;
	char *path, *page;

	(void)state;
	assert_non_null(mkdtemp(dir));
	memset(&sp, 0, sizeof(sp));
	memset(&chk, 0, sizeof(chk));
	memset(&cr, 0, sizeof(cr));
	memset(&r, 0, sizeof(r));
	sp.name = "nightly";
	sp.file = "nightly.yaml";
	chk.name = "orders";
	cr.check = &chk;
	cr.status = RESULT_CONSISTENT;
	cr.side[0].system = "legacy";
	cr.side[0].table = xstrdup("db.orders");
	cr.side[1].system = "billing";
	cr.side[1].table = xstrdup("public.orders");
	cr.newer = json_pack("{s:s, s:s, s:s}", "column", "upd" HOSTILE, "age", "10m", "cutoff", "2026-11-21T01:50:00Z");
	cr.skipped_newer = 7;
	r.spec = &sp;
	r.checks = &cr;
	r.nchecks = 1;
	r.status = RESULT_CONSISTENT;
	snprintf(r.started_at, sizeof(r.started_at), "2026-11-21T02:00:00Z");
	snprintf(r.finished_at, sizeof(r.finished_at), "2026-11-21T02:00:05Z");

	assert_int_equal(outdir_open(&o, dir, &err), 0);
	assert_int_equal(html_write(&o, &r, NULL, &err), 0);
	assert_int_equal(outdir_commit(&o, &err), 0);
	path = xasprintf("%s/report.html", dir);
	page = read_all(path);
	assert_null(find_ci(page, "<script"));
	assert_non_null(strstr(page, "<span data-field=\"skipped-newer\">7</span> as newer than "
	                             "<span class=\"mono\" data-field=\"newer-cutoff\">2026-11-21T01:50:00Z</span> "
	                             "(ignore_newer_than <span class=\"mono\">upd&lt;script&gt;"));
	free(page);
	unlink(path);
	free(path);
	outdir_close(&o);
	rmdir(dir);
	free(cr.side[0].table);
	free(cr.side[1].table);
	json_decref(cr.newer);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_failed_run_page),
		cmocka_unit_test(test_skipped_newer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
