/*
 * connectors/connector.h
 *   SOURCE -> canon: the interface every driver implements. A connector
 *   opens a read-only session on one system, describes a table or a query,
 *   and streams rows in bytewise key order as text values. The engine never
 *   sees a driver type (PGconn, MYSQL); it sees this table of functions,
 *   after Redis' struct _rio. Adding a driver means adding one folder
 *   (connectors/NAME/), one line in connector.c and its files in
 *   meson.build: the spec loader takes driver names, dsn checks and
 *   redaction from this table, and the engine never compares a driver's
 *   name.
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

#include "../engine/base/buf.h"
#include "../engine/base/err.h"

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
	bool raw_bits;       /* LT_BIT read as the bits' raw bytes (MariaDB), not as '0'/'1' text */
	bool bits_varying;   /* LT_BIT of any width up to bits (PostgreSQL bit varying) */
	bool nullable;
	bool generated;      /* computed by the server; never written by a repair */
	bool identity;       /* PostgreSQL GENERATED ALWAYS AS IDENTITY: an INSERT of
	                        explicit values needs OVERRIDING SYSTEM VALUE */
	bool has_default;    /* a DEFAULT, serial/identity or AUTO_INCREMENT supplies
	                        a value when an INSERT leaves the column out */
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
 * A foreign key, seen from either end. For tabdesc.parents the described
 * table is the child (cols are its columns); for tabdesc.children it is
 * the parent (refcols are its columns). Strings are owned.
 */
struct fkdesc {
	char *name;          /* constraint name */
	char *table;         /* the other table, display form: "public.orders" */
	char *sqlname;       /* the other table, quoted and qualified */
	char **cols;         /* the child's columns */
	char **refcols;      /* the parent's columns, same count */
	size_t ncols;
	char *on_delete;     /* "NO ACTION", "RESTRICT", "CASCADE", "SET NULL", "SET DEFAULT" */
	char *on_update;
};

/* A trigger on the described table. Strings are owned. */
struct trigdesc {
	char *name;
	char *timing;        /* "BEFORE", "AFTER", "INSTEAD OF" */
	char *events;        /* "INSERT", "UPDATE", "DELETE", "TRUNCATE", joined with " OR " */
	bool enabled;        /* false when disabled (PostgreSQL) */
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
	/*
	 * Filled by describe_table only (empty for a query): what a repair of
	 * this table sets off, for the reviewer, and the order statements
	 * across tables must follow.
	 */
	struct fkdesc *parents;     /* this table's foreign keys */
	size_t nparents;
	struct fkdesc *children;    /* other tables' foreign keys to this one */
	size_t nchildren;
	struct trigdesc *triggers;  /* user triggers on this table, by name */
	size_t ntriggers;
	bool triggers_unknown;      /* the session may not see them (MariaDB without TRIGGER) */
};

void tabdesc_release(struct tabdesc *t);

/*
 * A table description as JSON and back, for run.json and snapshot files;
 * every field is kept. json_t is jansson's; the caller owns the result.
 */
struct json_t;
struct json_t *tabdesc_json(const struct tabdesc *t);
int tabdesc_from_json(struct tabdesc *t, struct json_t *j, struct tally_err *err);
/* Index of the column named exactly `name`, or -1. */
long tabdesc_find(const struct tabdesc *t, const char *name);

/*
 * One table of a schema, as list_tables finds it (tally init and schema
 * checks). Strings are owned and freed by tablist_release().
 */
struct tabentry {
	char *name;          /* unqualified, exactly as stored in the catalog */
	bool is_view;        /* a view (only listed when asked for) */
	bool has_pk;
	/*
	 * Without a primary key: the columns of a unique index whose columns
	 * are all NOT NULL (the first by index name; no partial or expression
	 * index), in index order; nukey 0 when there is none.
	 */
	char **ukey;
	size_t nukey;
};

struct tablist {
	struct tabentry *t;  /* sorted by name, bytewise */
	size_t n;
};

void tablist_release(struct tablist *l);

/* What a session needs to open. All strings are borrowed for the call. */
struct conn_cfg {
	/*
	 * The txsnap: a transaction snapshot that another session of the same
	 * system exported (export_txsnap) for this one to import, so that both
	 * see the same data; NULL for a snapshot of the session's own. Not to
	 * be confused with a snapshot file (tally snapshot) or the connector
	 * that reads one.
	 */
	const char *txsnap;
	const char *system;     /* spec system name, for messages */
	const char *side;       /* "source" or "target", for messages */
	const char *dsn;        /* SECRET: never printed, logged or stored */
	const char *dsn_shown;  /* the dsn with any password replaced by "***" */
	int connect_timeout;    /* seconds, 0 = driver default */
	/*
	 * A monitor: a session without a transaction (every statement its own,
	 * so it holds no snapshot and no lock), for watch, cancel and
	 * table_stamp. It reads no rows; txsnap and lock are ignored.
	 */
	bool monitor;
	/*
	 * Tables (named as the spec names them) to hold against DDL for the
	 * whole session, taken before the snapshot where the engine allows it:
	 * PostgreSQL LOCK TABLE ... IN ACCESS SHARE MODE right after BEGIN, so
	 * the snapshot sees every rewrite committed before it and none can
	 * commit after it; MariaDB a metadata lock, by an empty read of each
	 * table right after the snapshot starts (a rebuild between the two
	 * makes InnoDB refuse the read, ER_TABLE_DEF_CHANGED). A table that
	 * does not exist or cannot be locked that way (a foreign table) is
	 * skipped: describe says what it is. When a lock is not granted within
	 * the lock timeout, open fails with ERR_LOCKED naming the sessions that
	 * hold or wait for a conflicting lock.
	 */
	const char *const *lock;
	size_t nlock;
	/*
	 * Limits in seconds, 0 for none from tally. statement_timeout bounds
	 * each statement: the session keeps the role's own limit when that is
	 * shorter, unless statement_timeout_forced. lock_timeout bounds every
	 * lock wait, never beyond the role's own. An idle timeout the role has
	 * (PostgreSQL idle_in_transaction_session_timeout, MariaDB
	 * idle_readonly_transaction_timeout) is raised to the statement limit
	 * when shorter: a session waits, idle, while its partner side's page
	 * is read.
	 */
	double statement_timeout;
	bool statement_timeout_forced;
	double lock_timeout;
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
 * columns in the server's own order (the index order: no COLLATE, no
 * NULLS FIRST, so a primary key is read through its index without a
 * sort). Where that order is not tally's bytewise order
 * (order_is_bytewise), the engine sorts locally. A row's val[i] is column
 * cols[i].
 *
 * A range selects rows whose first nlo key columns, compared as a tuple in
 * the server's own order, are greater than lo, and whose first nhi key
 * columns are at most hi (lo and hi arrays of nlo and nhi values; NULL, 0
 * for no bound). A page continues after a whole key (nlo = nkey) within a
 * chunk whose boundary may name fewer columns. limit, when not 0, keeps
 * the first rows of that order: a page. Ranges are only asked for key
 * columns that are NOT NULL.
 *
 * unordered (with limit 0) lets the rows come in any order: the engine
 * sorts them itself, and an ORDER BY in a collation that is not bytewise
 * would only add a sort in the server (PostgreSQL turns a range of an ICU
 * or libc key into a bitmap scan and a sort, with a collation-aware
 * comparison per step). A driver may ignore it.
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
	size_t nlo;
	const struct sqlval *lo;
	size_t nhi;
	const struct sqlval *hi;
	uint64_t limit;
	bool unordered;
};

/*
 * Chunk boundaries: b[0] < b[1] < ... in the server's own order of the
 * first ncols key columns, so that the ranges (none, b0], (b0, b1], ...,
 * (bk, none) hold about chunk_rows rows each. Values in the connector's
 * text format, as scan_next yields them.
 */
struct keybounds {
	size_t n;               /* boundaries */
	size_t ncols;           /* key columns per boundary */
	char **val;             /* n * ncols values, owned */
	size_t *len;
	double rows;            /* the server's estimate of the rows in the whole range */
};

void keybounds_release(struct keybounds *b);

/*
 * A range's digest, computed in the server (conn_ops.digest_rows). Each
 * row becomes a canonical text, the same bytes on PostgreSQL and MariaDB
 * for equal values: each column in order, joined by '|', a NULL as "N",
 * a text or uuid value as its byte length in decimal, ':' and its text,
 * any other value as its text, which never holds '|' and is never "N"
 * alone (so the row text parses back into its values, and no two rows of
 * different values share it; conn_digest_prefixed says which types carry
 * the length, by type, so both sides of a column pair agree):
 *   LT_INT, LT_DECIMAL  decimal digits, [-]d[.d] without trailing zeros
 *                       in the fraction nor a trailing '.', never "-0"
 *   LT_BOOL             1 / 0 (MariaDB tinyint(1) as its number)
 *   LT_TEXT, LT_CHAR    the UTF-8 bytes (MariaDB: converted to utf8mb4;
 *                       char(n) without its trailing spaces)
 *   LT_BYTES            lowercase hex digits, two per byte
 *   LT_UUID             8-4-4-4-12 lowercase hex digits
 *   LT_DATE             YYYY-MM-DD (PostgreSQL: its ISO text)
 *   LT_TIMESTAMP[TZ]    YYYY-MM-DD HH:MM:SS.ffffff, an instant in UTC
 * The row's MD5, as 32 hex digits, gives two numbers: its first 15 and
 * its next 15 hex digits (60 bits each). A digest is the count of rows
 * and each number's sum over them (exact: numeric or decimal in the
 * server), which no pair of differing rows cancels the way XOR does.
 */
struct rangedigest {
	uint64_t rows;
	char sum[2][48];        /* decimal digits without leading zeros; "0" for no row */
};

/* Does a value of type t carry its length in the row text (struct rangedigest)? */
static inline bool conn_digest_prefixed(enum ltype t)
{
	return t == LT_TEXT || t == LT_CHAR || t == LT_UUID;
}

/*
 * The hash a digest applies to each row text (the same text for every
 * hash, so a NULL and an empty string still differ). Digests are only
 * comparable when both sides used the same hash: the engine picks, per
 * check, the first of the order below that both drivers name in
 * conn_ops.digest_hashes (engine/chunkpush.h push_hash_pick), so a pair
 * of engines that share nothing cheaper stays on MD5.
 *   DIGEST_PG_HASHTEXT  PostgreSQL only (11+): hashtextextended(text, 0)
 *                       and hashtextextended(text, 1), two signed 64-bit
 *                       numbers, each summed as numeric and made
 *                       non-negative by adding count * 2^63. 20-45 %
 *                       cheaper than md5 in PostgreSQL; comparable only
 *                       with another PostgreSQL server.
 *   DIGEST_MD5          every driver: the two 60-bit slices above.
 */
enum digest_hash {
	DIGEST_MD5 = 0,
	DIGEST_PG_HASHTEXT,
	DIGEST_HASHES           /* how many there are */
};

#define DIGEST_HASH_BIT(h) (1u << (h))

/* "md5", "hashtextextended": the hash's name in reports; NULL when out of range. */
const char *digest_hash_name(enum digest_hash h);

/*
 * chunk_rows, or fewer so that a chunk stays within max_bytes at the
 * table's average row size (table_bytes / rows, as the server's statistics
 * give them; ignored when unknown), and never below CHUNK_ROWS_MIN.
 */
#define CHUNK_ROWS_MIN 1000
uint64_t chunk_rows_for_bytes(uint64_t chunk_rows, uint64_t max_bytes, double table_bytes, double rows);

/*
 * A typed value for a connector to write as a SQL literal of its dialect
 * (repair scripts, key bounds). The engine fills it from a value read from
 * either engine; the literal must read back as exactly this value.
 */
enum sqlval_kind {
	SV_NULL,
	SV_NUMBER,       /* s: [-]digits[.digits], no exponent; special NaN, +-infinity */
	SV_FLOAT,        /* d, which may be NaN or infinite */
	SV_BOOL,         /* b */
	SV_TEXT,         /* s, len: UTF-8, no NUL */
	SV_BYTES,        /* s, len: any bytes */
	SV_DATE,         /* i: days since 2000-01-01; special +-infinity or zero */
	SV_TIME,         /* i: microseconds, may be negative or beyond 24 hours (MariaDB) */
	SV_TIMESTAMP,    /* i: microseconds since 2000-01-01 00:00, no time zone; special */
	SV_TIMESTAMPTZ,  /* i: microseconds since 2000-01-01 00:00 UTC; special */
	SV_UUID,         /* s: 16 bytes */
	SV_BITS,         /* s, len: a bit string as len '0'/'1' characters */
	SV_RAW,          /* s, len: this engine's own text for a column of this engine and
	                    type (types tally has no class for: json, interval, arrays...) */
};

enum sqlval_special {
	SVS_NONE = 0,
	SVS_PINF,        /* infinity */
	SVS_NINF,        /* -infinity */
	SVS_NAN,         /* numeric NaN */
	SVS_ZERO,        /* MariaDB zero date; i holds y*10000+m*100+d (timestamps: that
	                    times 86400000000 plus the microseconds of the day) */
};

struct sqlval {
	enum sqlval_kind kind;
	enum sqlval_special special;
	const char *s;   /* borrowed */
	size_t len;
	int64_t i;
	double d;
	bool b;
};

/*
 * Appends the ISO text of a date, time or timestamp value (not special):
 * "2024-01-02", "0044-03-15 BC", "-838:59:59.5", "2024-01-02 03:04:05.123456".
 * The fraction has exactly fsp digits (0..6). Years before 1 are written
 * with " BC" (PostgreSQL's form); a caller that cannot store them refuses first.
 */
void sqlval_iso(struct buf *out, const struct sqlval *v, int fsp);

/*
 * A naive timestamp (SV_TIMESTAMP) as the date it stands for, for a date
 * column compared with a timestamp (a date is that day at 00:00:00): fills
 * *date and returns true when v is at midnight (or infinite, or a zero date
 * at midnight); false when it has a time of day, which a date would lose.
 */
bool sqlval_midnight_date(const struct sqlval *v, struct sqlval *date);

/* The civil year of a date or timestamp value (astronomical: 1 BC is 0). */
int64_t sqlval_year(const struct sqlval *v);

/*
 * Repair scripts: the dialect's part. The engine decides what to write
 * (which rows, which columns, in what order); these functions know how.
 * A script stages rows in temporary tables that copy the target table's
 * column types, then applies each step in one guarded block that locks
 * the rows, checks they still hold what tally read, writes, and checks
 * the row count; any failure raises an error that names the check and the
 * key, and the whole transaction rolls back.
 */
/*
 * STEP_MS_INSERT and STEP_MS_DELETE write copies of rows that have no key
 * (match: multiset): their stage holds each distinct row once, with two
 * more columns, tally_have (the copies tally saw) and tally_n (the copies
 * to insert or delete). The block checks that the table holds
 * tally_have + have_sign * tally_n copies of every staged row, then
 * inserts or deletes tally_n of them (PostgreSQL by ctid, MariaDB with
 * DELETE ... LIMIT), and checks the total.
 */
enum step_kind { STEP_INSERT, STEP_UPDATE, STEP_DELETE, STEP_MS_INSERT, STEP_MS_DELETE };

struct script_step {
	enum step_kind kind;
	const char *check;              /* check name, for messages */
	const struct tabdesc *t;        /* the table written */
	const size_t *key;              /* key columns, indexes into t->cols */
	size_t nkey;
	/* UPDATE, DELETE: the stage holding each row as it must be now. */
	const char *old_stage;
	const size_t *guard;            /* columns compared with old_stage */
	size_t nguard;
	/* INSERT, UPDATE: the stage holding key and values to write. */
	const char *new_stage;
	const size_t *set;              /* INSERT: columns inserted; UPDATE: columns set */
	size_t nset;
	uint64_t rows;                  /* rows the step must touch */
	int have_sign;                  /* MS steps: -1, 0 or +1, see above */
};

struct script_ops {
	/* First statements of a script body: session settings and BEGIN. */
	void (*begin)(struct buf *out);
	/*
	 * Last statements: COMMIT, then what prints the line success (plain
	 * ASCII, no quotes or backslashes: the engine makes it so) on the
	 * client's output, reached only when every statement before it,
	 * COMMIT included, succeeded.
	 */
	void (*end)(struct buf *out, const char *success);
	/*
	 * Creates an empty stage with the types of columns cols of t, and with
	 * counts, two more integer columns tally_have and tally_n.
	 */
	void (*stage)(struct buf *out, const char *stage, const struct tabdesc *t,
	              const size_t *cols, size_t ncols, bool counts);
	/* "INSERT INTO stage VALUES": rows "(lit, lit),\n" follow, then ";\n". */
	void (*stage_rows)(struct buf *out, const char *stage);
	/* The guarded block that applies one step from its stages. */
	void (*apply)(struct buf *out, const struct script_step *step);
	/* Drops a stage. */
	void (*unstage)(struct buf *out, const char *stage);
	/* The command that applies a script file, for the header, given the
	 * file name and the system's dsn with its password removed. */
	void (*apply_command)(struct buf *out, const char *file, const char *dsn_shown);
	/*
	 * For the change order (engine/changeorder.c), Markdown: who runs
	 * apply_command and how its client finds the password (" (`ROLE`:
	 * ...)", appended to "Apply it"), and what a failure looks like in
	 * the client's output (the rest of "Failure is ..."). NULL: generic.
	 */
	const char *apply_who;
	const char *failure_looks_like;
};

/*
 * What a monitor session sees of tally on its server (watch). A waiter is
 * a session of someone else's that waits for a lock one of tally's
 * sessions holds. Strings are the server's names, truncated; never a
 * statement's text.
 */
#define CONN_WAITERS_MAX 4

struct conn_waiter {
	long pid;               /* backend pid (PostgreSQL) or thread id (MariaDB) */
	char user[64];
	char application[64];   /* "" when the server has none to tell */
	char state[64];         /* "active", "Waiting for table metadata lock" */
	char what[256];         /* "AccessExclusiveLock on public.big", "a metadata lock on legacy.big" */
	double seconds;         /* how long it has waited; -1 when the server does not say */
};

struct conn_watch {
	size_t nwaiters;
	struct conn_waiter waiters[CONN_WAITERS_MAX];
	double snapshot_age;    /* seconds since the oldest of tally's transactions began; -1 unknown */
	long long xmin_age;     /* PostgreSQL: transactions since the oldest xmin tally's sessions hold; -1 unknown */
};

struct conn;

/* The SQL a where or a query of a system is read as (engine/sqlguard.h). */
enum conn_sql {
	CONN_SQL_NONE,          /* the system runs no SQL (a snapshot file) */
	CONN_SQL_POSTGRES,
	CONN_SQL_MARIADB,
};

struct conn_ops {
	const char *driver;     /* "postgres", "mariadb" */
	const char *alias;      /* another name a spec may give the driver ("mysql"), or NULL */
	const char *dialect;    /* "postgresql", "mariadb": the SQL a repair is written in */
	enum conn_sql sql;      /* how --safe-sql reads a where or a query */
	const char *session_word; /* what the server calls a session's id in messages: "pid", "thread" */
	bool takes_path;        /* the system names a file ('path:'), not a server ('dsn:') */
	const char *default_schema; /* what `tally init` compares when the dsn names no schema
	                               ("public"); NULL: the dsn's database is the schema */

	/*
	 * Checks the shape of a dsn (a path, when takes_path) after ${VAR}
	 * expansion, without connecting: 0, or -1 with err saying what is
	 * expected. The message quotes at most the dsn's scheme, never a
	 * password; the spec loader adds the file position. Needs no session.
	 */
	int (*check_dsn)(const char *dsn, struct tally_err *err);
	/* The dsn with any password masked, safe to print (malloc'd). */
	char *(*redact_dsn)(const char *dsn);

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
	/*
	 * The base tables of schema (PostgreSQL: a schema; MariaDB: a
	 * database), and its views too when include_views. PostgreSQL
	 * partitions and inheritance children are left out: their parent's
	 * scan reads their rows. A schema that does not exist fails with
	 * ERR_SCHEMA. NULL when the driver has no catalog (a snapshot).
	 */
	int (*list_tables)(struct conn *c, const char *schema, bool include_views, struct tablist *out,
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

	/*
	 * Appends v as a literal for column col of this engine, exact and safe
	 * whatever the session's sql_mode (MariaDB: with or without
	 * NO_BACKSLASH_ESCAPES or ANSI_QUOTES). A value the column cannot hold
	 * exactly (a zero date in PostgreSQL, infinity in MariaDB, a year its
	 * type cannot store) fails with ERR_DATA saying why, without the value.
	 * Needs no session.
	 */
	int (*literal)(struct buf *out, const struct coldesc *col, const struct sqlval *v,
	               struct tally_err *err);
	/*
	 * The same, for a value only compared with the column (a range bound),
	 * never stored: no check of length, scale or range, only exactness.
	 */
	int (*bound_literal)(struct buf *out, const struct coldesc *col, const struct sqlval *v,
	                     struct tally_err *err);

	const struct script_ops *script;

	/*
	 * True when ordering by col in the server's own order gives tally's
	 * bytewise order of its canonical values: numbers, times, and text only
	 * under a bytewise collation. Needs no session.
	 */
	bool (*order_is_bytewise)(const struct coldesc *col);

	/*
	 * Chunk boundaries for req (its table, where and key; cols, bounds and
	 * limit unused) of about chunk_rows rows each, without reading the
	 * whole table to find them. When max_bytes > 0, chunks hold fewer rows
	 * if the server's statistics (table size / rows) say that chunk_rows
	 * rows take more than max_bytes: see chunk_rows_for_bytes(). out->n
	 * == 0 when the range is small or cannot be split (a query, a key the
	 * server cannot range over).
	 */
	int (*plan_bounds)(struct conn *c, const struct scan_req *req, uint64_t chunk_rows,
	                   uint64_t max_bytes, struct keybounds *out, struct tally_err *err);

	/*
	 * Counts, in the server, the rows a scan of req would yield (its
	 * table or query, where, and range lo/hi; cols and limit unused),
	 * without transferring them: SELECT count(*) ... WHERE <range>. NULL
	 * when the connector cannot count (a snapshot file).
	 */
	int (*count_rows)(struct conn *c, const struct scan_req *req, uint64_t *out, struct tally_err *err);

	/*
	 * Pushdown (engine/chunkpush.h): digests, in the server, the rows a
	 * scan of req would yield (its table or query, where, range lo/hi,
	 * and the columns cols; limit unused) without transferring them; see
	 * struct rangedigest for what both engines compute byte for byte.
	 * Only columns of the types LT_INT, LT_DECIMAL, LT_BOOL, LT_TEXT,
	 * LT_CHAR, LT_BYTES, LT_UUID, LT_DATE, LT_TIMESTAMP and
	 * LT_TIMESTAMPTZ; another fails
	 * with ERR_INTERNAL (the engine refuses such a check first). NULL
	 * when the connector cannot (a snapshot file).
	 *
	 * With nb > 0 bounds (nb * req->nkey values, whole keys in increasing
	 * order), the range is digested in nb + 1 parts in the same single
	 * pass (GROUP BY the part, found by a binary search written as nested
	 * comparisons): out[i] holds the rows whose key is at most bound i and
	 * above bound i - 1; out must hold nb + 1 digests. hash is the one
	 * applied to each row text (enum digest_hash).
	 */
	int (*digest_rows)(struct conn *c, const struct scan_req *req, size_t nb, const struct sqlval *bounds,
	                   enum digest_hash hash, struct rangedigest *out, struct tally_err *err);
	/*
	 * The hashes digest_rows computes, as DIGEST_HASH_BIT(h) bits; every
	 * driver with digest_rows has DIGEST_MD5. A hash not named here fails
	 * digest_rows with ERR_INTERNAL.
	 */
	unsigned digest_hashes;
	/*
	 * The keys (all req->nkey columns) of every step-th row of req's range
	 * (table or query, where, lo/hi), in the server's own key order, as
	 * scan_next yields them: boundaries that split the range into parts
	 * of step rows. One statement; only the boundaries are transferred.
	 * NULL when the connector cannot.
	 */
	int (*split_range)(struct conn *c, const struct scan_req *req, uint64_t step, struct keybounds *out,
	                   struct tally_err *err);

	/*
	 * The server's own order of n range bounds over the first nb key
	 * columns of req (its desc, table or query, and key): vals holds
	 * n * nb values as bound_literal takes them, and rank[i] is bound i's
	 * dense rank in the order a scan's range condition compares them
	 * (equal bounds, equal ranks). For a key whose order is not bytewise;
	 * the bounds of a chunk plan must increase in every side's order
	 * (engine/chunk.h). NULL when the connector has no such keys.
	 */
	int (*rank_bounds)(struct conn *c, const struct scan_req *req, size_t nb, const struct sqlval *vals,
	                   size_t n, uint32_t *rank, struct tally_err *err);

	/*
	 * Exports the session's snapshot as a txsnap, so sessions opened with
	 * cfg->txsnap = *id (owned by the caller) see the same data
	 * (PostgreSQL). NULL when the engine cannot share one (MariaDB: each
	 * session has its own).
	 */
	int (*export_txsnap)(struct conn *c, char **id, struct tally_err *err);

	/* Where the session's snapshot stands in the server's history, for the
	 * record: "lsn 0/1A2B3C4D" (PostgreSQL), "gtid 0-1-42" (MariaDB). */
	int (*position)(struct conn *c, char **out, struct tally_err *err);

	/* How busy the server is now: active backends (PostgreSQL),
	 * Threads_running (MariaDB), tally's own sessions not counted. */
	int (*load)(struct conn *c, long *out, struct tally_err *err);

	/*
	 * A token of the table's storage that changes when the table is
	 * rewritten or emptied, read from the server's current catalog: the
	 * call is for a monitor session (cfg->monitor), which sees what is
	 * committed now, not a snapshot. PostgreSQL: the relfilenode of the
	 * table (of each leaf partition), which ALTER TABLE ... TYPE, TRUNCATE,
	 * VACUUM FULL, CLUSTER and SET TABLESPACE replace. MariaDB: InnoDB's
	 * table id, which a rebuild replaces (an ALTER TABLE that copies or
	 * rebuilds, OPTIMIZE, TRUNCATE). *out is owned by the caller: "missing"
	 * when no table has that name now, NULL when the table has no such
	 * token (a view; not InnoDB). NULL op when the driver cannot tell.
	 */
	int (*table_stamp)(struct conn *c, const char *table, char **out, struct tally_err *err);

	/*
	 * One look at the server from a monitor session: the sessions that
	 * wait for a lock one of pids (tally's own sessions on this system)
	 * holds, and the age of the oldest of pids' transactions. tables are
	 * the compared tables, as the spec names them, for a server that does
	 * not say who blocks whom (MariaDB: a thread "Waiting for table
	 * metadata lock" counts when its statement names one of them, or
	 * METADATA_LOCK_INFO shows it holding a lock on one). NULL op when the
	 * driver cannot tell.
	 */
	int (*watch)(struct conn *c, const long *pids, size_t npids, const char *const *tables,
	             size_t ntables, struct conn_watch *out, struct tally_err *err);

	/*
	 * Stops the statement that session pid (one of tally's on the same
	 * server and user) runs, if any, through the monitor session c. The
	 * interrupted call in that session fails; a session between
	 * statements is not affected. NULL op when the driver has no server.
	 */
	int (*cancel)(struct conn *c, long pid, struct tally_err *err);

	/* Runs a trivial statement, so that an idle session is not ended by an idle timeout; may be NULL. */
	int (*keepalive)(struct conn *c, struct tally_err *err);
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
	/*
	 * The engine whose text the values are, which decides how they read:
	 * ops->driver for a server; for a snapshot, the driver it was taken
	 * with. Owned.
	 */
	char *engine;
	double statement_timeout;       /* seconds in force in the session; 0: none */
	double role_statement_timeout;  /* what the role had before tally set its own; 0: none */
	/*
	 * What the session cost on the wire, counted by the driver for the
	 * report (per check and side, as differences across a chunk's work):
	 * queries, statements sent (one per round trip: a scan's page, a
	 * count, a savepoint or setting); bytes, the bytes of result values
	 * received (PostgreSQL: each COPY row message, or the values of a
	 * result; MariaDB: the row lengths). Only the session's own thread
	 * touches them.
	 */
	struct conn_io {
		uint64_t queries;
		uint64_t bytes;
	} io;
};

/*
 * The limit a session runs under, in seconds, 0 for none: ours, unless the
 * role's own (role, 0 for none) is shorter and ours is not forced.
 */
double conn_limit(double ours, bool forced, double role);

/*
 * Does the statement text sql name the table (its name after the last
 * dot, as the spec names it) as a whole identifier, in any case? For a
 * server that does not say which table a session waits for; a guess
 * that may err towards yes. The text is only matched, never shown.
 */
bool conn_sql_mentions(const char *sql, const char *table);

/* The driver registered under `name`, or NULL. */
const struct conn_ops *conn_driver(const char *name);
/*
 * The one wording of a literal a driver refuses to write (conn_ops.literal
 * and bound_literal), the driver supplying only the reason: "cannot write
 * a value|a range bound for column 'NAME' (NATIVE TYPE): REASON". Never
 * quotes the value. Sets ERR_DATA; returns -1.
 */
int conn_lit_refused(struct tally_err *err, const struct coldesc *col, bool bound, const char *reason);

/* Does driver name a file rather than a server (ops->takes_path: a snapshot)? False when unknown. */
bool conn_takes_path(const char *driver);

/* What driver's server calls a session's id in messages ("pid", "thread"); "pid" when unknown. */
const char *conn_session_word(const char *driver);

/* The registered driver names, in registration order, NULL-terminated. */
const char *const *conn_driver_names(void);

/*
 * check_dsn for a driver that takes a uri whose scheme is one of schemes
 * (NULL-terminated), or also libpq's key=value pairs when kv_pairs: fails
 * with "scheme 'x' does not fit driver 'd' (expected a://, b:// or
 * key=value pairs)", "malformed uri for driver 'd' (...)" (kv_pairs, text
 * with "://" but no scheme) or "driver 'd' needs a uri (...)". ERR_SPEC.
 */
int conn_check_uri(const char *driver, const char *const *schemes, bool kv_pairs, const char *dsn,
                   struct tally_err *err);

/* Helpers for drivers: fill and release the common part. */
void conn_base_init(struct conn *c, const struct conn_ops *ops, const struct conn_cfg *cfg);
void conn_base_release(struct conn *c);

/* Frees a struct coldesc's strings (used by tabdesc_release). */
void coldesc_release(struct coldesc *c);

#endif
