/*
 * tests/unit/test_schema.c
 *   Unit tests for engine/schema.c's table matching (a pure function of
 *   two sorted name lists and the schema check's globs and overrides) and
 *   for engine/spec_schema.c: a schema check loads with its parts, and each
 *   mistake is refused with its exact message and position; tally init's
 *   pure parts: the driver from a DSN, the password as ${VAR}, the default
 *   schema.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/connector.h"
#include "engine/init.h"
#include "engine/schema.h"
#include "engine/spec.h"

#define HEAD \
	"version: 1\n" \
	"name: n\n" \
	"systems:\n" \
	"  pg: { driver: postgres, dsn: \"dbname=x\" }\n" \
	"  maria: { driver: mariadb, dsn: \"mariadb://u@h/db\" }\n" \
	"checks:\n" \
	"  - name: shop\n" \
	"    source: { system: maria, schema: shop }\n" \
	"    target: { system: pg, schema: public }\n"

static void load_ok(const char *yaml, struct spec *s)
{
	struct tally_err err;

	err_clear(&err);
	if (spec_load_string("t.yaml", yaml, strlen(yaml), s, &err) != 0)
		fail_msg("unexpected error: %s", err.msg);
}

static void assert_spec_error(const char *yaml, const char *msg)
{
	struct tally_err err;
	struct spec s;

	err_clear(&err);
	assert_int_equal(spec_load_string("t.yaml", yaml, strlen(yaml), &s, &err), -1);
	assert_int_equal(err.kind, ERR_SPEC);
	assert_string_equal(err.msg, msg);
}

/* The pairs as "src=tgt[@override]" and the one-side tables, space-separated. */
static void describe(const struct schema_match *m, const char *const *src, const char *const *tgt, char *out,
                     size_t n)
{
	size_t len = 0;

	out[0] = 0;
	for (size_t i = 0; i < m->npairs; i++)
		len += (size_t)snprintf(out + len, n - len, "%s=%s%s%s ", src[m->pairs[i].src], tgt[m->pairs[i].tgt],
		                        m->pairs[i].over >= 0 ? "@" : "", m->pairs[i].over >= 0 ? "o" : "");
	len += (size_t)snprintf(out + len, n - len, "|");
	for (size_t i = 0; i < m->nsrc_only; i++)
		len += (size_t)snprintf(out + len, n - len, " -%s", src[m->src_only[i]]);
	for (size_t i = 0; i < m->ntgt_only; i++)
		len += (size_t)snprintf(out + len, n - len, " +%s", tgt[m->tgt_only[i]]);
}

static void match(const char *yaml_extra, const char *const *src, size_t nsrc, const char *const *tgt,
                  size_t ntgt, const char *want)
{
	struct spec s;
	struct schema_match m;
	struct tally_err err;
	char yaml[2048], got[1024];

	snprintf(yaml, sizeof(yaml), "%s%s", HEAD, yaml_extra);
	load_ok(yaml, &s);
	assert_non_null(s.checks[0].schema);
	err_clear(&err);
	if (schema_match_tables(s.checks[0].schema, s.file, "shop", src, nsrc, tgt, ntgt, &m, &err) < 0)
		fail_msg("unexpected error: %s", err.msg);
	describe(&m, src, tgt, got, sizeof(got));
	assert_string_equal(got, want);
	schema_match_release(&m);
	spec_release(&s);
}

static void test_exact_then_case(void **state)
{
	static const char *const src[] = { "Orders", "Users", "items", "orders" };
	static const char *const tgt[] = { "items", "orders", "users" };

	(void)state;
	/* orders takes orders exactly; Orders then finds no partner; Users pairs with users. */
	match("", src, 4, tgt, 3, "Users=users items=items orders=orders | -Orders");
}

static void test_one_side_only(void **state)
{
	static const char *const src[] = { "a", "b", "c" };
	static const char *const tgt[] = { "b", "d" };

	(void)state;
	match("", src, 3, tgt, 2, "b=b | -a -c +d");
}

static void test_include_exclude(void **state)
{
	static const char *const src[] = { "orders", "orders_old", "tmp_x", "users" };
	static const char *const tgt[] = { "orders", "tmp_y", "users", "zz" };

	(void)state;
	match("    exclude: [\"tmp_*\", \"*_old\"]\n", src, 4, tgt, 4, "orders=orders users=users | +zz");
	match("    include: [\"o*\"]\n", src, 4, tgt, 4, "orders=orders | -orders_old");
	match("    include: [\"o*\", \"u*\"]\n    exclude: [\"*_old\"]\n", src, 4, tgt, 4,
	      "orders=orders users=users |");
}

static void test_overrides_and_rename(void **state)
{
	static const char *const src[] = { "customers", "orders", "tmp_keep" };
	static const char *const tgt[] = { "customer_accounts", "customers", "orders", "tmp_keep" };

	(void)state;
	/* The rename wins over the equal name, which is then a target table of its own; an
	 * override names a table the globs leave out, and so brings it back. */
	match("    exclude: [\"tmp_*\"]\n    tables:\n      customers: { target: customer_accounts }\n"
	      "      tmp_keep: { where: \"id > 0\" }\n      orders: { key: [id] }\n",
	      src, 3, tgt, 4, "customers=customer_accounts@o orders=orders@o tmp_keep=tmp_keep@o | +customers");
	/* A table an override names stays a finding when the target lacks it, whatever the globs say. */
	match("    exclude: [\"tmp_*\"]\n    tables:\n      tmp_keep: { where: \"id > 0\" }\n",
	      src, 3, tgt + 1, 2, "customers=customers orders=orders | -tmp_keep");
}

static void test_override_of_missing_table(void **state)
{
	static const char *const src[] = { "orders" };
	static const char *const tgt[] = { "orders", "x" };
	struct spec s;
	struct schema_match m;
	struct tally_err err;

	(void)state;
	load_ok(HEAD "    tables:\n      ordrs: { where: \"a = 1\" }\n", &s);
	assert_int_equal(schema_match_tables(s.checks[0].schema, s.file, "shop", src, 1, tgt, 2, &m, &err), -1);
	assert_int_equal(err.kind, ERR_SPEC);
	assert_string_equal(err.msg, "t.yaml:11:7: check 'shop': tables: no table 'ordrs' in the source schema");
	spec_release(&s);
	load_ok(HEAD "    tables:\n      orders: { target: y }\n", &s);
	assert_int_equal(schema_match_tables(s.checks[0].schema, s.file, "shop", src, 1, tgt, 2, &m, &err), -1);
	assert_string_equal(err.msg, "t.yaml:11:25: check 'shop': tables: orders: target: no table 'y' in the "
	                    "target schema");
	spec_release(&s);
}

static void test_loads_parts(void **state)
{
	struct spec s;
	const struct spec_schema *sc;
	const struct spec_check *o;

	(void)state;
	load_ok(HEAD "    include: [\"*\"]\n    exclude: [\"tmp_*\", \"*_old\"]\n    include_views: true\n"
	        "    expect: subset\n    ignore: [updated_at]\n"
	        "    tables:\n      orders: { where: \"deleted = 0\", ignore: [note], match: multiset }\n"
	        "      customers: { target: customer_accounts, key: [id] }\n", &s);
	assert_int_equal(s.nchecks, 1);
	sc = s.checks[0].schema;
	assert_non_null(sc);
	assert_string_equal(s.checks[0].source.schema, "shop");
	assert_string_equal(s.checks[0].target.schema, "public");
	assert_null(s.checks[0].source.table);
	assert_int_equal(sc->ninclude, 1);
	assert_int_equal(sc->nexclude, 2);
	assert_string_equal(sc->exclude[1], "*_old");
	assert_true(sc->include_views);
	assert_int_equal(s.checks[0].expect, EXPECT_SUBSET);
	assert_true(s.checks[0].ignore_lenient);
	assert_int_equal(sc->ntables, 2);
	o = &sc->tables[0];
	assert_string_equal(o->name, "orders");
	assert_string_equal(o->source.where, "deleted = 0");
	assert_int_equal(o->given, SPEC_GIVEN_WHERE | SPEC_GIVEN_IGNORE | SPEC_GIVEN_MATCH);
	assert_true(o->multiset);
	assert_string_equal(o->ignore[0], "note");
	o = &sc->tables[1];
	assert_string_equal(o->target.table, "customer_accounts");
	assert_int_equal(o->given, SPEC_GIVEN_TARGET | SPEC_GIVEN_KEY);
	assert_int_equal(o->nkey, 1);
	assert_int_equal(o->pos.line, 17);
	assert_int_equal(o->pos.col, 7);
	spec_release(&s);
}

/*
 * options: in a tables: override reaches the table's check (a dropped option
 * would compare the column strictly while the spec says otherwise); with
 * columns: the loader has already merged it into the listed entries.
 */
static void test_override_options(void **state)
{
	struct spec s;
	struct spec_check c;
	struct tabentry se = { .name = (char *)"orders", .has_pk = true }, te = se;
	const struct spec_check *o;

	(void)state;
	load_ok(HEAD "    tables:\n      orders: { options: { total: { scale: 2 }, note: { trim: both } } }\n"
	        "      items: { columns: [id, price], options: { price: { tolerance: 0.5 } } }\n", &s);
	o = &s.checks[0].schema->tables[0];
	assert_int_equal(o->noptions, 2);
	schema_table_check(&c, &s.checks[0], &se, &te, o);
	assert_string_equal(c.name, "shop.orders");
	assert_false(c.columns_given);
	assert_int_equal(c.noptions, 2);
	assert_string_equal(c.options[0].source, "total");
	assert_int_equal(c.options[0].scale, 2);
	assert_int_equal(c.options[0].pos.line, 11);
	assert_string_equal(c.options[1].source, "note");
	assert_int_equal(c.options[1].trim, TRIM_BOTH);
	spec_check_release(&c);
	o = &s.checks[0].schema->tables[1];
	assert_int_equal(o->noptions, 0);
	se.name = te.name = (char *)"items";
	schema_table_check(&c, &s.checks[0], &se, &te, o);
	assert_int_equal(c.noptions, 0);
	assert_int_equal(c.ncolumns, 2);
	assert_true(c.columns[1].has_tolerance);
	assert_true(c.columns[1].tolerance == 0.5);
	assert_false(c.columns[0].has_tolerance);
	spec_check_release(&c);
	/* no override: no options */
	schema_table_check(&c, &s.checks[0], &se, &te, NULL);
	assert_int_equal(c.noptions, 0);
	assert_null(c.options);
	spec_check_release(&c);
	spec_release(&s);
}

/* ignore_newer_than: the schema check's for every table, a tables: entry's for its own. */
static void test_override_newer(void **state)
{
	struct spec s;
	struct spec_check c;
	struct tabentry se = { .name = (char *)"orders", .has_pk = true }, te = se;

	(void)state;
	load_ok(HEAD "    ignore_newer_than: { column: updated_at, age: 1h }\n"
	        "    tables:\n      orders: { ignore_newer_than: { column: changed, age: 90s } }\n", &s);
	schema_table_check(&c, &s.checks[0], &se, &te, &s.checks[0].schema->tables[0]);
	assert_string_equal(c.newer.column, "changed");
	assert_string_equal(c.newer.age, "90s");
	assert_int_equal(c.newer.age_seconds, 90);
	assert_int_equal(c.newer.pos.line, 12);
	spec_check_release(&c);
	se.name = te.name = (char *)"items";
	schema_table_check(&c, &s.checks[0], &se, &te, NULL);
	assert_string_equal(c.newer.column, "updated_at");
	assert_int_equal(c.newer.age_seconds, 3600);
	assert_int_equal(c.newer.pos.line, 10);
	spec_check_release(&c);
	spec_release(&s);
	load_ok(HEAD, &s);
	schema_table_check(&c, &s.checks[0], &se, &te, NULL);
	assert_null(c.newer.column);
	spec_check_release(&c);
	spec_release(&s);
}

static void test_errors(void **state)
{
	(void)state;
	assert_spec_error(HEAD "    key: [id]\n",
	                  "t.yaml:10:5: checks[0]: 'key' names columns of one table: in a schema check, give it "
	                  "per table under tables: NAME: { key: ... }");
	assert_spec_error(HEAD "    columns: [a]\n",
	                  "t.yaml:10:5: checks[0]: 'columns' names columns of one table: in a schema check, give it "
	                  "per table under tables: NAME: { columns: ... }");
	assert_spec_error(HEAD "    options: { total: { scale: 2 } }\n",
	                  "t.yaml:10:5: checks[0]: 'options' names columns of one table: in a schema check, give it "
	                  "per table under tables: NAME: { options: ... }");
	assert_spec_error(HEAD "    tables:\n      orders: { options: { total: { scal: 2 } } }\n",
	                  "t.yaml:11:37: checks[0].tables.orders.options.total: unknown key 'scal' (expected one of: "
	                  "scale, precision, timezone, trim, case, tolerance, map, as, zero_date)");
	assert_spec_error(HEAD "    tables:\n      orders: { wher: x }\n",
	                  "t.yaml:11:17: checks[0].tables.orders: unknown key 'wher' (expected one of: target, "
	                  "where, key, columns, options, ignore, expect, repair, chunk_rows, match, ignore_newer_than)");
	assert_spec_error(HEAD "    tables:\n      orders: { expect: some }\n",
	                  "t.yaml:11:25: checks[0].tables.orders.expect: invalid value 'some' (expected one of: "
	                  "equal, subset, absent)");
	assert_spec_error(HEAD "    tables:\n      orders: [a]\n",
	                  "t.yaml:11:15: checks[0].tables.orders: expected a mapping of check keys, got a sequence");
	assert_spec_error(HEAD "    include_views: maybe\n",
	                  "t.yaml:10:20: checks[0].include_views: invalid value 'maybe' (expected one of: false, true)");
	assert_spec_error(HEAD "    exclude: tmp_*\n",
	                  "t.yaml:10:14: checks[0].exclude: expected a sequence of globs, got a string");
	assert_spec_error("version: 1\nname: n\nsystems:\n  pg: { driver: postgres, dsn: \"dbname=x\" }\n"
	                  "checks:\n  - name: c\n    source: { system: pg, schema: a }\n"
	                  "    target: { system: pg, table: b }\n",
	                  "t.yaml:8:13: checks[0].target: a schema check names a schema on both sides "
	                  "(the source names one)");
	assert_spec_error("version: 1\nname: n\nsystems:\n  pg: { driver: postgres, dsn: \"dbname=x\" }\n"
	                  "checks:\n  - name: c\n    source: { system: pg, schema: a, where: \"x = 1\" }\n"
	                  "    target: { system: pg, schema: b }\n",
	                  "t.yaml:7:38: checks[0].source: 'where' is only allowed together with 'table' (a schema "
	                  "check filters a table under tables: NAME: { where: ... })");
	assert_spec_error("version: 1\nname: n\nsystems:\n  pg: { driver: postgres, dsn: \"dbname=x\" }\n"
	                  "checks:\n  - name: c\n    source: { system: pg, table: a }\n"
	                  "    target: { system: pg, table: b }\n    exclude: [x]\n",
	                  "t.yaml:9:5: checks[0]: 'exclude' is only allowed in a schema check (source and target "
	                  "name a schema)");
}

static void dsn_ref(const char *dsn, const char *want, bool want_pw)
{
	bool pw = !want_pw;
	char *got = init_dsn_ref(dsn, "PW", &pw);

	assert_string_equal(got, want);
	assert_int_equal(pw, want_pw);
	free(got);
}

static void test_init_dsn(void **state)
{
	char *s;

	(void)state;
	assert_string_equal(init_driver("postgresql://h/db"), "postgres");
	/* as the spec loader: libpq takes its schemes in lower case only */
	assert_null(init_driver("POSTGRES://h/db"));
	assert_string_equal(init_driver("mysql://u@h/db"), "mariadb");
	assert_string_equal(init_driver("mariadb://u@h/db"), "mariadb");
	assert_null(init_driver("host=h dbname=x"));
	dsn_ref("mariadb://u:s3cr@t@h:3306/db", "mariadb://u:${PW}@h:3306/db", true);
	dsn_ref("postgresql://u@h/db?sslmode=disable&password=x$y&application_name=a",
	        "postgresql://u@h/db?sslmode=disable&password=${PW}&application_name=a", true);
	dsn_ref("postgresql://u:p@h/db?password=q", "postgresql://u:${PW}@h/db?password=${PW}", true);
	dsn_ref("postgresql://u@h/d$b?x_password=1", "postgresql://u@h/d$$b?x_password=1", false);
	dsn_ref("mariadb://u@h/db", "mariadb://u@h/db", false);
	s = init_default_schema("mariadb://u:p@h:1/shop?socket=/x", "mariadb");
	assert_string_equal(s, "shop");
	free(s);
	assert_null(init_default_schema("mariadb://u:p@h:1", "mariadb"));
	s = init_default_schema("postgresql://h/billing", "postgres");
	assert_string_equal(s, "public");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_then_case),
		cmocka_unit_test(test_one_side_only),
		cmocka_unit_test(test_include_exclude),
		cmocka_unit_test(test_overrides_and_rename),
		cmocka_unit_test(test_override_of_missing_table),
		cmocka_unit_test(test_loads_parts),
		cmocka_unit_test(test_override_options),
		cmocka_unit_test(test_override_newer),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_init_dsn),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
