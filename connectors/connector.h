/*
 * connectors/connector.h
 *   SOURCE -> canon: the interface every driver implements. A connector
 *   opens a read-only session on one system, describes a table or a query,
 *   and streams rows in bytewise key order as text values. The engine never
 *   sees a driver type (PGconn, MYSQL); it sees this table of functions,
 *   after Redis' struct _rio. Adding a driver means adding one file and one
 *   line in connector.c.
 *
 * Sessions are read-only: a connector never issues a statement that
 * writes, and it opens its snapshot inside a read-only transaction so the
 * server refuses writes as well.
 *
 * Text format of values (what scan_next yields, per logical type), so that
 * engine/canon.c can stay engine-independent:
 *   LT_INT        [-]digits
 *   LT_DECIMAL    [-]digits[.digits], or NaN / Infinity / -Infinity
 *   LT_FLOAT      anything strtod() reads, including NaN / Infinity / -Infinity
 *   LT_BOOL       t / f / 1 / 0
 *   LT_TEXT, LT_CHAR, LT_ENUM, LT_SET, LT_JSON, LT_INET, LT_INTERVAL, LT_OTHER
 *                 the server's UTF-8 text, byte for byte (char(n) as the
 *                 server sends it: PostgreSQL pads, MariaDB strips)
 *   LT_BYTES      the raw bytes (PostgreSQL's \x hex is decoded)
 *   LT_BIT        MariaDB: the raw bytes, big-endian; PostgreSQL: the 0/1 digits
 *   LT_DATE       YYYY-MM-DD[ BC] | infinity | -infinity | 0000-00-00
 *   LT_TIME       [-]H+:MM:SS[.f{1,6}]
 *   LT_TIMESTAMP  YYYY-MM-DD HH:MM:SS[.f{1,6}][ BC] | infinity | -infinity
 *   LT_TIMESTAMPTZ as LT_TIMESTAMP, optionally followed by an offset
 *                 +HH[:MM[:SS]] (PostgreSQL in TimeZone UTC sends +00);
 *                 without an offset the value is UTC (MariaDB, time_zone
 *                 '+00:00')
 *   LT_UUID       8-4-4-4-12 hex digits
 *   LT_YEAR       digits
 * To produce these, PostgreSQL sessions run with DateStyle 'ISO, YMD',
 * TimeZone 'UTC', IntervalStyle 'iso_8601', bytea_output 'hex',
 * extra_float_digits 3, client_encoding 'UTF8'; MariaDB sessions with
 * character set utf8mb4 and time_zone '+00:00'.
 */
#ifndef TALLY_CONNECTOR_H
#define TALLY_CONNECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../engine/buf.h"
#include "../engine/err.h"

/* The logical type of a column, as the connector maps the engine's type. */
enum ltype {
	LT_INT,          /* bits 8/16/24/32/64, is_unsigned */
	LT_DECIMAL,      /* precision, scale; -1 when unconstrained */
	LT_FLOAT,        /* bits 32 (real, float4, FLOAT) or 64 */
	LT_BOOL,         /* PostgreSQL boolean (MariaDB BOOLEAN is LT_INT + bool_hint) */
	LT_TEXT,         /* varchar, text, name, clob; length -1 when unbounded */
	LT_CHAR,         /* blank-padded char(n) */
	LT_BYTES,        /* bytea, blob, varbinary; binary(n) has fixed set */
	LT_DATE,
	LT_TIME,         /* fsp */
	LT_TIMESTAMP,    /* naive: PostgreSQL timestamp, MariaDB DATETIME; fsp */
	LT_TIMESTAMPTZ,  /* an instant: PostgreSQL timestamptz, MariaDB TIMESTAMP; fsp */
	LT_UUID,
	LT_JSON,         /* json, jsonb, MariaDB JSON */
	LT_ENUM,
	LT_SET,
	LT_BIT,          /* bits */
	LT_YEAR,
	LT_INTERVAL,
	LT_INET,
	LT_ARRAY,
	LT_OTHER,        /* anything else; compared only if the user maps it */
};

/* Returns a lowercase name for messages: "int", "decimal", "timestamptz"... */
const char *ltype_name(enum ltype t);

/*
 * One column as the server describes it. Every string is owned by the
 * struct and freed by tabdesc_release().
 */
struct coldesc {
	char *name;          /* exact name, as stored in the catalog */
	char *native;        /* the server's own spelling: "numeric(12,2)", "tinyint(1) unsigned" */
	enum ltype type;
	int bits;            /* LT_INT, LT_FLOAT, LT_BIT; 0 when not applicable */
	bool is_unsigned;    /* LT_INT, LT_DECIMAL, LT_FLOAT (MariaDB) */
	bool bool_hint;      /* MariaDB tinyint(1): BOOLEAN's storage */
	bool fixed;          /* char(n), binary(n): storage is padded to length */
	bool nullable;
	bool generated;      /* computed by the server; never written by a repair */
	int precision;       /* LT_DECIMAL digits, -1 unconstrained */
	int scale;           /* LT_DECIMAL, -1 unconstrained */
	int fsp;             /* LT_TIME, LT_TIMESTAMP, LT_TIMESTAMPTZ: 0..6 */
	long length;         /* LT_TEXT, LT_CHAR, LT_BYTES: declared length, -1 unbounded */
	char *charset;       /* MariaDB character set, NULL on PostgreSQL */
	char *collation;     /* NULL when the engine's default applies */
	char **labels;       /* LT_ENUM, LT_SET: allowed values in declared order */
	size_t nlabels;
};

/*
 * A described table or query. cols are in the server's column order;
 * pk lists indexes into cols in primary key order, npk == 0 when the table
 * has no primary key (and always for a query).
 */
struct tabdesc {
	char *display;       /* "public.orders", "legacy.orders" or "query" */
	char *sqlname;       /* quoted, qualified, ready for SQL; NULL for a query */
	bool is_query;
	size_t ncols;
	struct coldesc *cols;
	size_t npk;
	size_t *pk;
};

void tabdesc_release(struct tabdesc *t);
/* Index of the column named exactly `name`, or -1. */
long tabdesc_find(const struct tabdesc *t, const char *name);

/* What a session needs to open. All strings are borrowed for the call. */
struct conn_cfg {
	const char *system;     /* spec system name, for messages */
	const char *side;       /* "source" or "target", for messages */
	const char *dsn;        /* SECRET: never printed, logged or stored */
	const char *dsn_shown;  /* the dsn with any password replaced by "***" */
	int connect_timeout;    /* seconds, 0 = driver default */
};

/* One streamed row. val[i] == NULL is SQL NULL. */
struct rawrow {
	size_t ncols;
	const char *const *val;
	const size_t *len;
};

/*
 * What to stream: the columns cols (indexes into desc->cols), in that
 * order, of desc's table (or query), filtered by where, ordered by the key
 * columns in bytewise order of their text (PostgreSQL COLLATE "C", MariaDB
 * utf8mb4_nopad_bin), NULLs first. A row's val[i] is column cols[i].
 */
struct scan_req {
	const struct tabdesc *desc;
	const char *table;      /* the spec's table, or NULL with query */
	const char *query;      /* the spec's query, or NULL with table */
	const char *where;      /* raw SQL condition or NULL */
	size_t ncols;
	const size_t *cols;
	size_t nkey;
	const size_t *key;      /* indexes into desc->cols */
};

struct conn;

struct conn_ops {
	const char *driver;     /* "postgres", "mariadb" */
	const char *dialect;    /* "postgresql", "mariadb": the SQL a repair is written in */

	/* Opens a read-only session and its consistent snapshot. */
	int (*open)(struct conn **out, const struct conn_cfg *cfg, struct tally_err *err);
	/* Ends the transaction and the session; accepts NULL. */
	void (*close)(struct conn *c);

	/*
	 * Describes a table named as the spec names it ("orders", "public.orders",
	 * "db.orders"); names are matched exactly, as stored in the catalog.
	 */
	int (*describe_table)(struct conn *c, const char *table, struct tabdesc *out,
	                      struct tally_err *err);
	/* Describes the columns a read-only SELECT returns, without running it. */
	int (*describe_query)(struct conn *c, const char *sql, struct tabdesc *out,
	                      struct tally_err *err);

	/* Starts streaming; at most one scan is open per session. */
	int (*scan_open)(struct conn *c, const struct scan_req *req, struct tally_err *err);
	/*
	 * Yields the next row: 1 with *row set (borrowed until the next call to
	 * scan_next or scan_close), 0 at the end, -1 on error (ERR_LOST when the
	 * session broke). After an error every call returns -1 at once.
	 */
	int (*scan_next)(struct conn *c, struct rawrow **row, struct tally_err *err);
	/* Ends a scan, finished or not, leaving the session usable if it is. */
	void (*scan_close)(struct conn *c);

	/* Appends name quoted as an identifier of this dialect. */
	void (*quote_ident)(struct buf *out, const char *name);
};

/*
 * The part of a session every driver shares. Drivers embed it as their
 * first member. Fields are read-only for the engine.
 */
struct conn {
	const struct conn_ops *ops;
	char *system;           /* owned copy of cfg->system */
	char *side;             /* owned copy of cfg->side */
	char *server_version;   /* owned, "PostgreSQL 15.18", "MariaDB 10.11.6" */
	long backend_pid;       /* server process / thread id, for messages */
	bool failed;            /* sticky: after an error every call fails at once */
};

/* The driver registered under `name`, or NULL. */
const struct conn_ops *conn_driver(const char *name);
/* A space-separated list of registered driver names, for messages. */
const char *conn_driver_names(void);

/* Helpers for drivers: fill and release the common part. */
void conn_base_init(struct conn *c, const struct conn_ops *ops, const struct conn_cfg *cfg);
void conn_base_release(struct conn *c);

/* Frees a struct coldesc's strings (used by tabdesc_release). */
void coldesc_release(struct coldesc *c);

#endif
