/*
 * connectors/postgres/driver.c
 *   SOURCE: the PostgreSQL driver (libpq) as the engine sees it, its
 *   conn_ops table. A session is read-only REPEATABLE READ; tables and
 *   queries are described from the catalog; rows stream with COPY ...
 *   TO STDOUT in the server's own key order.
 *
 * The driver's files, by job (pg_int.h declares what they share):
 *   session.c   open and close, errors, the savepoint, the exported
 *               snapshot (txsnap), position, load
 *   describe.c  catalog -> tabdesc: types, tables, queries, foreign keys,
 *               triggers
 *   scan.c      COPY ... TO STDOUT of a table, a key range or a query
 *   plan.c      the server's key order, chunk bounds, ranks of bounds
 *   literal.c   a value as a literal of its column, or as a range bound
 *   script.c    the PostgreSQL dialect of repair scripts
 *   guard.c     limits, table locks, table stamps, the monitor's watch
 */
#include "../connector.h"

#include "pg_int.h"

#include "../../engine/base/dsn.h"

/* A uri (postgresql://, postgres://) or libpq's key=value pairs. */
static int pgc_check_dsn(const char *dsn, struct tally_err *err)
{
	static const char *const schemes[] = { "postgresql", "postgres", NULL };

	return conn_check_uri("postgres", schemes, true, dsn, err);
}

const struct conn_ops postgres_ops = {
	.driver = "postgres",
	.default_schema = "public",
	.dialect = "postgresql",
	.sql = CONN_SQL_POSTGRES,
	.session_word = "pid",
	.check_dsn = pgc_check_dsn,
	.redact_dsn = dsn_redact,
	.open = pgc_open,
	.close = pgc_close,
	.describe_table = pgc_describe_table,
	.describe_query = pgc_describe_query,
	.list_tables = pgc_list_tables,
	.scan_open = pgc_scan_open,
	.scan_next = pgc_scan_next,
	.scan_close = pgc_scan_close,
	.count_rows = pgc_count_rows,
	.digest_rows = pgc_digest_rows,
	.digest_hashes = DIGEST_HASH_BIT(DIGEST_MD5) | DIGEST_HASH_BIT(DIGEST_PG_HASHTEXT),
	.split_range = pgc_split_range,
	.quote_ident = pgc_quote_ident,
	.literal = pgc_literal,
	.bound_literal = pgc_bound_literal,
	.script = &postgres_script,
	.order_is_bytewise = pgc_order_is_bytewise,
	.plan_bounds = pgc_plan_bounds,
	.rank_bounds = pgc_rank_bounds,
	.export_txsnap = pgc_export_txsnap,
	.position = pgc_position,
	.load = pgc_load,
	.table_stamp = pgc_table_stamp,
	.watch = pgc_watch,
	.cancel = pgc_cancel,
	.keepalive = pgc_keepalive,
};
