/*
 * connectors/mariadb/driver.c
 *   SOURCE -> canon: the MariaDB driver (libmariadb) as the engine sees
 *   it, one conn_ops table; connector.c lists it under "mariadb". What
 *   each entry does is in the file that implements it (see my_int.h).
 */
#include "my_int.h"

const struct conn_ops mariadb_ops = {
	.driver = "mariadb",
	/* libmariadb speaks to MySQL servers too (only MariaDB servers are tested) */
	.alias = "mysql",
	.dialect = "mariadb",
	.sql = CONN_SQL_MARIADB,
	.session_word = "thread",
	.check_dsn = mdb_check_dsn,
	.redact_dsn = mdb_redact_dsn,
	.open = mdb_open,
	.close = mdb_close,
	.describe_table = mdb_describe_table,
	.describe_query = mdb_describe_query,
	.list_tables = mdb_list_tables,
	.scan_open = mdb_scan_open,
	.scan_next = mdb_scan_next,
	.scan_close = mdb_scan_close,
	.count_rows = mdb_count_rows,
	.digest_rows = mdb_digest_rows,
	.digest_hashes = DIGEST_HASH_BIT(DIGEST_MD5),
	.split_range = mdb_split_range,
	.quote_ident = mdb_quote_ident,
	.literal = mdb_literal,
	.bound_literal = mdb_bound_literal,
	.script = &mariadb_script,
	.order_is_bytewise = mdb_order_is_bytewise,
	.plan_bounds = mdb_plan_bounds,
	.rank_bounds = mdb_rank_bounds,
	.export_txsnap = NULL,        /* each session has its own snapshot */
	.position = mdb_position,
	.load = mdb_load,
	.table_stamp = mdb_table_stamp,
	.watch = mdb_watch,
	.cancel = mdb_cancel,
	.keepalive = mdb_keepalive,
};
