/*
 * tests/unit/test_assemble.c
 *   The output side of a run, without servers: chunk parts written into a
 *   work directory built here (chunkrun, stream, merge, diffout and the
 *   repair record writer over fixture rows), then assembled (repair
 *   steps, scripts, report.json, diff.ndjson.zst), each output compared
 *   byte for byte with tests/unit/golden/, times and the version masked.
 *   Two tables joined by a foreign key pin the order of the steps. The
 *   connectors are the real ones for what needs no session (literals
 *   and the dialect of the scripts); describing and scanning read the
 *   fixtures.
 *
 *   test_assemble GOLDEN_DIR        compare
 *   TALLY_GOLDEN_UPDATE=1 ...       (re)write the golden files instead
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "../../connectors/connector.h"
#include "../../engine/assemble.h"
#include "../../engine/base/buf.h"
#include "../../engine/base/zfile.h"
#include "../../engine/chunk.h"
#include "../../engine/chunkrun.h"
#include "../../engine/outdir.h"
#include "../../engine/plan.h"
#include "../../engine/repair.h"
#include "../../engine/report.h"
#include "../../engine/spec.h"
#include "../../engine/work.h"
#include "tally_config.h"

static const char *golden_dir;

/* ---- fixtures: two tables, described and scanned without a server ------- */

struct fixture_row {
	const char *v[4];       /* id, status, amount, note; NULL is SQL NULL */
};

/* The legacy system's orders, and the new system's, in key order. */
static const struct fixture_row old_rows[] = {
	{ { "1", "open", "10.50", NULL } },
	{ { "2", "paid", "20.00", "x" } },
	{ { "3", "open", "5.00", "it's" } },
	{ { "5", "void", "0.00", "caf\xc3\xa9 \"quoted\"\\" } },
};
static const struct fixture_row new_rows[] = {
	{ { "1", "open", "10.50", NULL } },
	{ { "2", "PAID", "20.00", "x" } },
	{ { "4", "open", "1.00", NULL } },
	{ { "5", "void", "0.10", "caf\xc3\xa9 \"quoted\"\\" } },
};

/* For two checks that repair other columns of one row: order 2 differs in status and note. */
static const struct fixture_row new_rows_two_columns[] = {
	{ { "1", "open", "10.50", NULL } },
	{ { "2", "PAID", "20.00", "y" } },
	{ { "4", "open", "1.00", NULL } },
	{ { "5", "void", "0.10", "caf\xc3\xa9 \"quoted\"\\" } },
};

/* Customers, the parent of orders by a foreign key, in both systems. */
static const struct fixture_row old_customers[] = {
	{ { "1", "ann" } }, { { "2", "bob" } }, { { "3", "cy" } },
};
static const struct fixture_row new_customers[] = {
	{ { "1", "ann" } }, { { "4", "dan" } },
};

struct fake {
	struct conn c;                  /* first: the engine holds a struct conn * */
	const struct fixture_row *orders, *customers;
	size_t norders, ncustomers;
	const struct fixture_row *rows; /* the table being scanned */
	size_t nrows, next;
	const size_t *cols;
	size_t ncols;
	const char *val[4];
	size_t len[4];
	struct rawrow raw;
};

static void coldesc_set(struct coldesc *c, const char *name, const char *native, enum ltype t)
{
	memset(c, 0, sizeof(*c));
	c->name = strdup(name);
	c->native = strdup(native);
	c->type = t;
	c->precision = -1;
	c->scale = -1;
	c->length = -1;
	c->nullable = true;
}

static struct fkdesc fk_to_customers(bool my)
{
	struct fkdesc f;

	memset(&f, 0, sizeof(f));
	f.name = strdup("orders_customer_fk");
	f.table = strdup(my ? "shop.customers" : "public.customers");
	f.sqlname = strdup(my ? "`shop`.`customers`" : "\"public\".\"customers\"");
	f.ncols = 1;
	f.cols = calloc(1, sizeof(char *));
	f.cols[0] = strdup("id");
	f.refcols = calloc(1, sizeof(char *));
	f.refcols[0] = strdup("id");
	f.on_delete = strdup("NO ACTION");
	f.on_update = strdup("NO ACTION");
	return f;
}

static void describe_customers(bool my, const char *table, struct tabdesc *out)
{
	memset(out, 0, sizeof(*out));
	out->display = strdup(table);
	out->sqlname = strdup(my ? "`shop`.`customers`" : "\"public\".\"customers\"");
	out->ncols = 2;
	out->cols = calloc(2, sizeof(*out->cols));
	coldesc_set(&out->cols[0], "id", my ? "int(11)" : "integer", LT_INT);
	out->cols[0].bits = 32;
	out->cols[0].nullable = false;
	coldesc_set(&out->cols[1], "name", "text", LT_TEXT);
	if (my) {
		out->cols[1].length = 65535;
		out->cols[1].charset = strdup("utf8mb4");
		out->cols[1].collation = strdup("utf8mb4_bin");
	}
	out->npk = 1;
	out->pk = calloc(1, sizeof(size_t));
	/* orders' foreign key, seen from the parent */
	out->nchildren = 1;
	out->children = calloc(1, sizeof(*out->children));
	out->children[0] = fk_to_customers(my);
	free(out->children[0].table);
	out->children[0].table = strdup(my ? "shop.orders" : "public.orders");
	free(out->children[0].sqlname);
	out->children[0].sqlname = strdup(my ? "`shop`.`orders`" : "\"public\".\"orders\"");
}

static int fake_describe(struct conn *c, const char *table, struct tabdesc *out, struct tally_err *err)
{
	bool my = strcmp(c->ops->driver, "mariadb") == 0;

	(void)err;
	if (strstr(table, "customers")) {
		describe_customers(my, table, out);
		return 0;
	}
	memset(out, 0, sizeof(*out));
	out->display = strdup(table);
	out->sqlname = strdup(my ? "`shop`.`orders`" : "\"public\".\"orders\"");
	out->ncols = 4;
	out->cols = calloc(4, sizeof(*out->cols));
	coldesc_set(&out->cols[0], "id", my ? "int(11)" : "integer", LT_INT);
	out->cols[0].bits = 32;
	out->cols[0].nullable = false;
	coldesc_set(&out->cols[1], "status", my ? "varchar(20)" : "text", LT_TEXT);
	out->cols[1].nullable = false;
	coldesc_set(&out->cols[2], "amount", my ? "decimal(12,2)" : "numeric(12,2)", LT_DECIMAL);
	out->cols[2].precision = 12;
	out->cols[2].scale = 2;
	coldesc_set(&out->cols[3], "note", my ? "text" : "text", LT_TEXT);
	if (my) {
		out->cols[1].length = 20;
		out->cols[1].charset = strdup("utf8mb4");
		out->cols[1].collation = strdup("utf8mb4_bin");
		out->cols[3].length = 65535;
		out->cols[3].charset = strdup("utf8mb4");
		out->cols[3].collation = strdup("utf8mb4_bin");
	}
	out->npk = 1;
	out->pk = calloc(1, sizeof(size_t));
	out->nparents = 1;
	out->parents = calloc(1, sizeof(*out->parents));
	out->parents[0] = fk_to_customers(my);
	return 0;
}

static long key_of(const char *s)
{
	return strtol(s, NULL, 10);
}

static int fake_scan_open(struct conn *c, const struct scan_req *req, struct tally_err *err)
{
	struct fake *f = (struct fake *)c;

	(void)err;
	if (strstr(req->desc->display, "customers")) {
		f->rows = f->customers;
		f->nrows = f->ncustomers;
	} else {
		f->rows = f->orders;
		f->nrows = f->norders;
	}
	f->next = 0;
	f->c.io.queries++;      /* counted as a driver counts: one statement per scan */
	f->cols = req->cols;
	f->ncols = req->ncols;
	/* A page after the first starts past its lower bound. */
	if (req->nlo)
		while (f->next < f->nrows && key_of(f->rows[f->next].v[0]) <= key_of(req->lo[0].s))
			f->next++;
	return 0;
}

static int fake_scan_next(struct conn *c, struct rawrow **row, struct tally_err *err)
{
	struct fake *f = (struct fake *)c;
	const struct fixture_row *r;

	(void)err;
	if (f->next == f->nrows)
		return 0;
	r = &f->rows[f->next++];
	for (size_t i = 0; i < f->ncols; i++) {
		f->val[i] = r->v[f->cols[i]];
		f->len[i] = f->val[i] ? strlen(f->val[i]) : 0;
		f->c.io.bytes += f->len[i];
	}
	f->raw.ncols = f->ncols;
	f->raw.val = f->val;
	f->raw.len = f->len;
	*row = &f->raw;
	return 1;
}

static void fake_scan_close(struct conn *c)
{
	(void)c;
}

/* A connector: the real driver's table (literals, scripts) with the fixtures' describe and scan. */
static void fake_ops(struct conn_ops *ops, const char *driver)
{
	const struct conn_ops *real = conn_driver(driver);

	assert_non_null(real);
	*ops = *real;
	ops->describe_table = fake_describe;
	ops->describe_query = NULL;
	ops->scan_open = fake_scan_open;
	ops->scan_next = fake_scan_next;
	ops->scan_close = fake_scan_close;
	ops->load = NULL;
}

static void fake_init(struct fake *f, const struct conn_ops *ops, const char *system, const char *side,
                      const struct fixture_row *orders, size_t norders,
                      const struct fixture_row *customers, size_t ncustomers)
{
	struct conn_cfg cfg;

	memset(f, 0, sizeof(*f));
	memset(&cfg, 0, sizeof(cfg));
	cfg.system = system;
	cfg.side = side;
	conn_base_init(&f->c, ops, &cfg);
	f->c.server_version = strdup(strcmp(ops->driver, "mariadb") == 0 ? "MariaDB 10.11.6" : "PostgreSQL 15.8");
	f->orders = orders;
	f->norders = norders;
	f->customers = customers;
	f->ncustomers = ncustomers;
}

/* ---- golden files ------------------------------------------------------ */

static char *slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	struct buf b = BUF_INIT;
	char chunk[4096];
	size_t n;

	if (!fp)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		buf_add(&b, chunk, n);
	fclose(fp);
	return buf_detach(&b, len);
}

static char *unzstd(const char *path, size_t *len)
{
	struct zreader z;
	struct tally_err err;
	struct buf b = BUF_INIT;
	char chunk[4096];
	long n;

	assert_int_equal(zreader_open(&z, path, &err), 0);
	while ((n = zreader_read(&z, chunk, sizeof(chunk), &err)) > 0)
		buf_add(&b, chunk, (size_t)n);
	assert_int_equal(n, 0);
	zreader_close(&z);
	return buf_detach(&b, len);
}

/* Times (2026-01-02T03:04:05Z) become <time>, the version <version>. */
static char *mask(const char *s, size_t n)
{
	struct buf b = BUF_INIT;
	size_t vlen = strlen(TALLY_VERSION);

	for (size_t i = 0; i < n;) {
		bool stamp = i + 20 <= n && s[i + 4] == '-' && s[i + 7] == '-' && s[i + 10] == 'T' &&
		             s[i + 13] == ':' && s[i + 16] == ':' && s[i + 19] == 'Z';

		for (size_t k = 0; stamp && k < 19; k++)
			if (k != 4 && k != 7 && k != 10 && k != 13 && k != 16)
				stamp = s[i + k] >= '0' && s[i + k] <= '9';
		if (stamp) {
			buf_addstr(&b, "<time>");
			i += 20;
		} else if (i + vlen <= n && memcmp(s + i, TALLY_VERSION, vlen) == 0 &&
		           (i == 0 || s[i - 1] == ' ' || s[i - 1] == '"')) {
			buf_addstr(&b, "<version>");
			i += vlen;
		} else {
			buf_addch(&b, s[i++]);
		}
	}
	return buf_detach(&b, NULL);
}

/* report.json with its measured times set to 0 (the rest is exact). */
static char *report_masked(const char *path)
{
	json_error_t je;
	json_t *r = json_load_file(path, 0, &je), *c;
	size_t i;
	char *text, *out;

	assert_non_null(r);
	json_array_foreach(json_object_get(r, "checks"), i, c) {
		json_object_set_new(c, "seconds", json_real(0));
		json_object_set_new(c, "worker_seconds", json_real(0));
	}
	text = json_dumps(r, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(r);
	out = mask(text, strlen(text));
	free(text);
	return out;
}

static void assert_golden(const char *name, const char *got)
{
	char path[4096];
	char *want;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", golden_dir, name);
	if (getenv("TALLY_GOLDEN_UPDATE")) {
		FILE *fp = fopen(path, "wb");

		assert_non_null(fp);
		fputs(got, fp);
		assert_int_equal(fclose(fp), 0);
		return;
	}
	want = slurp(path, &n);
	if (!want)
		fail_msg("golden file '%s' is missing: %s", path, strerror(errno));
	if (strcmp(want, got) != 0)
		fail_msg("%s differs from its golden file; got:\n%s", name, got);
	free(want);
}

static void assert_golden_file(const char *dir, const char *file, const char *golden, bool zst)
{
	char path[4096];
	char *raw, *masked;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	raw = zst ? unzstd(path, &n) : slurp(path, &n);
	if (!raw)
		fail_msg("'%s' was not written", path);
	masked = mask(raw, n);
	assert_golden(golden, masked);
	free(masked);
	free(raw);
}

/*
 * The change order with the digests it states of each script's bytes
 * replaced by <xxh128 of FILE>, after checking them: the bytes, and so
 * their digest, change with the version in the header.
 */
static void assert_golden_change_order(const char *dir)
{
	static const char *const scripts[] = { "repair.new.sql", "rollback.new.sql", "repair.old.sql",
	                                       "rollback.old.sql" };
	char path[4096];
	size_t n;
	char *text;

	snprintf(path, sizeof(path), "%s/change-order.md", dir);
	text = slurp(path, &n);
	if (!text)
		fail_msg("'%s' was not written", path);
	for (size_t i = 0; i < sizeof(scripts) / sizeof(scripts[0]); i++) {
		XXH128_canonical_t c;
		char hex[33], want[128], *raw, *at, *masked;
		struct buf b = BUF_INIT;
		size_t len;

		snprintf(path, sizeof(path), "%s/%s", dir, scripts[i]);
		raw = slurp(path, &len);
		assert_non_null(raw);
		XXH128_canonicalFromHash(&c, XXH3_128bits(raw, len));
		free(raw);
		for (int k = 0; k < 16; k++)
			snprintf(hex + 2 * k, 3, "%02x", c.digest[k]);
		/* As xxhsum -H2 prints it: digest, two spaces, name. */
		snprintf(want, sizeof(want), "%s  %s\n", hex, scripts[i]);
		at = strstr(text, want);
		if (!at)
			fail_msg("change-order.md does not state '%.*s'", (int)strlen(want) - 1, want);
		buf_add(&b, text, (size_t)(at - text));
		buf_addf(&b, "<xxh128 of %s>", scripts[i]);
		buf_addstr(&b, at + 32);
		free(text);
		text = buf_detach(&b, NULL);
		masked = mask(text, strlen(text));
		free(text);
		text = masked;
	}
	assert_golden("change-order.md", text);
	free(text);
}

/* ---- a run without servers --------------------------------------------- */

static const char SPEC[] =
	"version: 1\n"
	"name: golden\n"
	"reason: \"Golden outputs (CO-1)\"\n"
	"systems:\n"
	"  old: { driver: postgres, dsn: \"postgresql://tally:secret@db1/old\" }\n"
	"  new: { driver: mariadb, dsn: \"mariadb://tally:secret@db2/new\" }\n"
	"checks:\n"
	"  - name: orders\n"
	"    source: { system: old, table: public.orders }\n"
	"    target: { system: new, table: shop.orders }\n"
	"    columns: [status, { name: amount, scale: 1 }, note]\n"
	"    repair: target\n"
	"  - name: orders-back\n"
	"    source: { system: new, table: shop.orders }\n"
	"    target: { system: old, table: public.orders }\n"
	"    repair: target\n"
	"  - name: customers\n"
	"    source: { system: old, table: public.customers }\n"
	"    target: { system: new, table: shop.customers }\n"
	"    repair: target\n"
	"  - name: gone\n"
	"    source: { system: old, table: public.orders }\n"
	"    target: { system: new, table: shop.orders }\n"
	"    expect: absent\n"
	"    repair: none\n";

#define NCHECKS 4

struct world {
	char dir[64];
	const char *spec_text;                  /* NULL: SPEC */
	size_t n;                               /* checks, <= NCHECKS; 0: NCHECKS */
	const struct fixture_row *new_orders;   /* NULL: new_rows */
	struct spec spec;
	struct conn_ops ops_pg, ops_my;
	struct fake old_side[2], new_side[2];   /* [side]: each system as source and as target */
	struct plan plans[NCHECKS];
	struct chunkplan cps[NCHECKS];
	struct repair_info *ri[NCHECKS];
	struct check_result res[NCHECKS];
};

static struct fake *side_conn(struct world *w, const char *system, int side)
{
	return strcmp(system, "old") == 0 ? &w->old_side[side] : &w->new_side[side];
}

/* What run.json says of check i, as run_plan.c writes it. */
static json_t *check_run_json(struct world *w, size_t i)
{
	const struct plan *p = &w->plans[i];
	struct check_result *res = &w->res[i];
	json_t *sides = json_array();

	for (int s = 0; s < 2; s++)
		json_array_append_new(sides, json_pack("{s:s, s:s, s:s?, s:n, s:n}", "system", res->side[s].system,
		                                       "table", res->side[s].table, "server", res->side[s].server,
		                                       "position", "stamp"));
	return json_pack("{s:s, s:s, s:s, s:b, s:o, s:o, s:O, s:O, s:O, s:o, s:s?}", "name", p->check->name,
	                 "expect", spec_expect_name(p->check->expect), "repair", spec_repair_name(p->check->repair),
	                 "multiset", p->multiset, "chunks", chunkplan_json(&w->cps[i]), "sides", sides,
	                 "key", res->key, "columns", res->columns, "unmatched", res->unmatched,
	                 "repair_info", w->ri[i] ? repair_info_json(w->ri[i]) : json_null(),
	                 "no_repair", w->ri[i] ? NULL : (p->no_repair ? p->no_repair : "repair: none"));
}

/* Plans every check, compares its one chunk into the work directory, and returns run.json. */
static json_t *world_run(struct world *w)
{
	struct tally_err err;
	json_t *systems = json_array(), *checks = json_array();
	const bool exact[2] = { true, true };

	const char *text = w->spec_text ? w->spec_text : SPEC;

	if (!w->n)
		w->n = NCHECKS;
	assert_non_null(mkdtemp(w->dir));
	assert_int_equal(spec_load_string("golden.yaml", text, strlen(text), &w->spec, &err), 0);
	fake_ops(&w->ops_pg, "postgres");
	fake_ops(&w->ops_my, "mariadb");
	for (int s = 0; s < 2; s++) {
		fake_init(&w->old_side[s], &w->ops_pg, "old", s ? "target" : "source", old_rows, 4, old_customers, 3);
		fake_init(&w->new_side[s], &w->ops_my, "new", s ? "target" : "source",
		          w->new_orders ? w->new_orders : new_rows, 4, new_customers, 2);
	}
	assert_int_equal(work_create(w->dir, w->n, &err), 0);
	for (size_t i = 0; i < w->n; i++) {
		const struct spec_check *c = &w->spec.checks[i];
		struct fake *src = side_conn(w, c->source.system, 0), *tgt = side_conn(w, c->target.system, 1);
		struct chunk_env env;
		struct part_result pr;

		if (plan_build(&w->plans[i], &w->spec, c, &src->c, &tgt->c, &err) < 0)
			fail_msg("check '%s': %s", c->name, err.msg);
		chunkplan_single(&w->cps[i], exact);
		w->res[i].check = c;
		for (int s = 0; s < 2; s++) {
			w->res[i].side[s].system = s ? c->target.system : c->source.system;
			w->res[i].side[s].table = strdup(w->plans[i].desc[s].display);
			w->res[i].side[s].server = strdup(side_conn(w, w->res[i].side[s].system, s)->c.server_version);
		}
		report_describe_plan(&w->res[i], &w->plans[i]);
		if (w->plans[i].repair_side >= 0) {
			const struct spec_system *ws = spec_find_system(&w->spec, w->plans[i].repair_side ? c->target.system
			                                                                                  : c->source.system);

			w->ri[i] = calloc(1, sizeof(*w->ri[i]));
			repair_info_from_plan(w->ri[i], &w->plans[i], ws->name,
			                      side_conn(w, ws->name, w->plans[i].repair_side)->c.ops);
		}
		memset(&env, 0, sizeof(env));
		env.out = w->dir;
		env.check = i;
		env.plan = &w->plans[i];
		env.cp = &w->cps[i];
		env.repair = w->ri[i];
		env.conn[0] = &src->c;
		env.conn[1] = &tgt->c;
		env.system[0] = c->source.system;
		env.system[1] = c->target.system;
		env.sort_budget = 1 << 20;
		env.page_seconds = 1;
		env.first_page = 2;         /* pages of two rows: the fixtures take two pages and a bit */
		if (chunk_run(&env, 0, &pr, &err) < 0)
			fail_msg("check '%s': %s", c->name, err.msg);
		json_array_append_new(checks, check_run_json(w, i));
	}
	for (size_t i = 0; i < w->spec.nsystems; i++)
		json_array_append_new(systems, json_pack("{s:s, s:s, s:s}", "name", w->spec.systems[i].name,
		                                         "driver", w->spec.systems[i].driver,
		                                         "dsn_shown", w->spec.systems[i].dsn_shown));
	return json_pack("{s:i, s:s, s:i, s:{s:s, s:s, s:s?, s:s, s:s}, s:o, s:n, s:s, s:o}", "format", 1,
	                 "tally_version", TALLY_VERSION, "canon_version", CANON_VERSION,
	                 "spec", "name", w->spec.name, "file", w->spec.file, "reason", w->spec.reason,
	                 "ticket", "INC-4711 | *urgent*",
	                 "hash", "0123456789abcdef0123456789abcdef", "systems", systems,
	                 "shard", "started_at", "2026-01-02T03:04:05Z", "checks", checks);
}

static void world_release(struct world *w)
{
	char cmd[128];

	for (size_t i = 0; i < w->n; i++) {
		for (int s = 0; s < 2; s++) {
			free(w->res[i].side[s].table);
			free(w->res[i].side[s].server);
		}
		json_decref(w->res[i].columns);
		json_decref(w->res[i].key);
		json_decref(w->res[i].unmatched);
		json_decref(w->res[i].findings);
		json_decref(w->res[i].left_out);
		if (w->ri[i]) {
			repair_info_release(w->ri[i]);
			free(w->ri[i]);
		}
		chunkplan_release(&w->cps[i]);
		plan_release(&w->plans[i]);
	}
	for (int s = 0; s < 2; s++) {
		conn_base_release(&w->old_side[s].c);
		conn_base_release(&w->new_side[s].c);
	}
	spec_release(&w->spec);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", w->dir);
	assert_int_equal(system(cmd), 0);
}

static void test_parts_then_outputs(void **state)
{
	struct world w;
	struct tally_err err;
	struct outdir out;
	struct assemble_in in;
	size_t zero[1] = { 0 }, *chunk_dir[NCHECKS] = { zero, zero, zero, zero };
	long recon[NCHECKS] = { -1, -1, -1, -1 };
	const char *dirs[1];
	json_t *run;
	int status = -1;
	char outpath[128];
	FILE *saved;

	(void)state;
	memset(&w, 0, sizeof(w));
	snprintf(w.dir, sizeof(w.dir), "/tmp/tally-test-assemble.XXXXXX");
	run = world_run(&w);
	dirs[0] = w.dir;
	memset(&out, 0, sizeof(out));
	snprintf(outpath, sizeof(outpath), "%s/out", w.dir);
	assert_int_equal(outdir_open(&out, outpath, &err), 0);
	memset(&in, 0, sizeof(in));
	in.run = run;
	in.dirs = dirs;
	in.ndirs = 1;
	in.chunk_dir = chunk_dir;
	in.recon_dir = recon;
	in.out = &out;
	in.started_at = "2026-01-02T03:04:05Z";
	in.finished_at = "2026-01-02T03:04:06Z";
	in.quiet = false;
	/* The summary goes to stdout: keep it, and compare it too. */
	fflush(stdout);
	saved = stdout;
	{
		char spath[160];

		snprintf(spath, sizeof(spath), "%s/summary.txt", w.dir);
		stdout = fopen(spath, "w");
		assert_non_null(stdout);
		if (assemble_outputs(&in, &status, &err) < 0)
			fail_msg("assemble: %s", err.msg);
		fclose(stdout);
		stdout = saved;
		{
			size_t n;
			char *s = slurp(spath, &n);
			char *rel = NULL;
			struct buf b = BUF_INIT;

			/* The output directory is a temporary one: name it OUT; times are <s>. */
			for (char *p = s; p && *p; p++) {
				size_t d = strspn(p, "0123456789.");

				if (strncmp(p, outpath, strlen(outpath)) == 0) {
					buf_addstr(&b, "OUT");
					p += strlen(outpath) - 1;
				} else if (d && p[-1] == ' ' && strncmp(p + d, " s)", 3) == 0) {
					buf_addstr(&b, "<s>");
					p += d - 1;
				} else {
					buf_addch(&b, *p);
				}
			}
			rel = buf_detach(&b, NULL);
			assert_golden("summary.txt", rel);
			free(rel);
			free(s);
		}
	}
	assert_int_equal(status, 1);
	{
		char rp[256];
		char *masked;

		snprintf(rp, sizeof(rp), "%s/report.json", outpath);
		masked = report_masked(rp);
		assert_golden("report.json", masked);
		free(masked);
	}
	assert_golden_file(outpath, "diff.ndjson.zst", "diff.ndjson", true);
	assert_golden_file(outpath, "repair.new.sql", "repair.new.sql", false);
	assert_golden_file(outpath, "rollback.new.sql", "rollback.new.sql", false);
	assert_golden_file(outpath, "repair.old.sql", "repair.old.sql", false);
	assert_golden_file(outpath, "rollback.old.sql", "rollback.old.sql", false);
	/* The change order: counts, digests of the files as written, commands, success lines. */
	assert_golden_change_order(outpath);
	outdir_close(&out);
	json_decref(run);
	world_release(&w);
}

/*
 * Two checks repair other columns of the same table (status, note): order
 * 2 differs in both, so both update it; the second check's guard expects
 * the status the first wrote, and its rollback comes first. Order 3 (an
 * INSERT) and order 4 (a DELETE) both checks repair the same way: written
 * once. One script, golden.
 */
static const char SPEC_TWO_COLUMNS[] =
	"version: 1\n"
	"name: golden\n"
	"reason: \"Golden outputs (CO-1)\"\n"
	"systems:\n"
	"  old: { driver: postgres, dsn: \"postgresql://tally:secret@db1/old\" }\n"
	"  new: { driver: mariadb, dsn: \"mariadb://tally:secret@db2/new\" }\n"
	"checks:\n"
	"  - name: statuses\n"
	"    source: { system: old, table: public.orders }\n"
	"    target: { system: new, table: shop.orders }\n"
	"    columns: [status]\n"
	"    repair: target\n"
	"  - name: notes\n"
	"    source: { system: old, table: public.orders }\n"
	"    target: { system: new, table: shop.orders }\n"
	"    columns: [note]\n"
	"    repair: target\n";

static void test_two_checks_one_row(void **state)
{
	struct world w;
	struct tally_err err;
	struct outdir out;
	struct assemble_in in;
	size_t zero[1] = { 0 }, *chunk_dir[2] = { zero, zero };
	long recon[2] = { -1, -1 };
	const char *dirs[1];
	json_t *run, *report, *checks;
	json_error_t je;
	int status = -1;
	char outpath[128], rp[200];

	(void)state;
	memset(&w, 0, sizeof(w));
	snprintf(w.dir, sizeof(w.dir), "/tmp/tally-test-assemble.XXXXXX");
	w.spec_text = SPEC_TWO_COLUMNS;
	w.n = 2;
	w.new_orders = new_rows_two_columns;
	run = world_run(&w);
	dirs[0] = w.dir;
	memset(&out, 0, sizeof(out));
	snprintf(outpath, sizeof(outpath), "%s/out", w.dir);
	assert_int_equal(outdir_open(&out, outpath, &err), 0);
	memset(&in, 0, sizeof(in));
	in.run = run;
	in.dirs = dirs;
	in.ndirs = 1;
	in.chunk_dir = chunk_dir;
	in.recon_dir = recon;
	in.out = &out;
	in.started_at = "2026-01-02T03:04:05Z";
	in.finished_at = "2026-01-02T03:04:06Z";
	in.quiet = true;
	if (assemble_outputs(&in, &status, &err) < 0)
		fail_msg("assemble: %s", err.msg);
	assert_int_equal(status, 1);
	snprintf(rp, sizeof(rp), "%s/report.json", outpath);
	report = json_load_file(rp, 0, &je);
	assert_non_null(report);
	checks = json_object_get(report, "checks");
	for (size_t i = 0; i < 2; i++) {
		json_t *rep = json_object_get(json_array_get(checks, i), "repair");
		json_t *st = json_object_get(rep, "statements");

		if (json_string_value(json_object_get(rep, "none")))
			fail_msg("check %zu: no repair: %s", i, json_string_value(json_object_get(rep, "none")));
		assert_int_equal(json_integer_value(json_object_get(st, "update")), 1);
		/* The first check inserts order 3 and deletes order 4; the second finds them done already. */
		assert_int_equal(json_integer_value(json_object_get(st, "insert")), i == 0 ? 1 : 0);
		assert_int_equal(json_integer_value(json_object_get(st, "delete")), i == 0 ? 1 : 0);
		assert_int_equal(json_integer_value(json_object_get(rep, "duplicates")), i == 0 ? 0 : 2);
	}
	json_decref(report);
	assert_golden_file(outpath, "repair.new.sql", "two-columns.repair.new.sql", false);
	assert_golden_file(outpath, "rollback.new.sql", "two-columns.rollback.new.sql", false);
	outdir_close(&out);
	json_decref(run);
	world_release(&w);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parts_then_outputs),
		cmocka_unit_test(test_two_checks_one_row),
	};

	if (argc != 2) {
		fprintf(stderr, "usage: test_assemble GOLDEN_DIR\n");
		return 2;
	}
	golden_dir = argv[1];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
