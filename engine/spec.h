/*
 * engine/spec.h
 *   SPEC -> plan: loads and validates a spec file (YAML, via libfyaml) into
 *   plain structs. Knows nothing of servers: checks that need a catalog
 *   (does the column exist, does the option fit its type) happen in the
 *   plan, which reports them at the positions recorded here.
 *
 * Strictness: unknown keys, wrong types, bad names, dangling system
 * references and duplicate names are errors whose message starts with
 * "FILE:LINE:COLUMN: " (1-based) and names the offending key or value.
 *
 * Secrets: spec_system.dsn holds the dsn after ${VAR} expansion and may
 * contain a password. It is given only to connectors. Everything printed
 * uses dsn_shown, where the password is replaced by "***".
 */
#ifndef TALLY_SPEC_H
#define TALLY_SPEC_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"

/* A place in the spec file, 1-based; line 0 means "not in the file". */
struct spec_pos {
	int line;
	int col;
};

struct spec_system {
	char *name;
	char *driver;       /* "postgres" | "mariadb" */
	char *dsn;          /* SECRET: expanded, may hold a password */
	char *dsn_shown;    /* redacted: safe to print */
	/*
	 * timezone: ZONE (validated), the zone the system's naive values
	 * (timestamp, DATETIME, date) are local time in, wherever one meets an
	 * instant; NULL unset. A column's timezone: option wins.
	 */
	char *timezone;
	struct spec_pos tz_pos;     /* of the timezone value; line 0 when unset */
	struct spec_pos pos;
};

/*
 * One side of a check: exactly one of table, query and schema is set
 * (schema on both sides of a schema check, until it is expanded).
 */
struct spec_side {
	char *system;               /* name as written */
	struct spec_system *sys;    /* borrowed: resolved by the loader */
	char *table;
	char *schema;               /* a schema check's schema (MariaDB: database) */
	char *where;                /* only with table */
	char *query;
	struct spec_pos pos;
	struct spec_pos where_pos;  /* of the where value; line 0 when there is none */
	struct spec_pos query_pos;  /* of the query value; line 0 when there is none */
};

enum spec_trim { TRIM_NONE = 0, TRIM_RIGHT, TRIM_BOTH };
enum spec_as { AS_NONE = 0, AS_TEXT, AS_JSON, AS_UUID };

struct spec_map_entry {
	char *from;     /* the value as the source holds it, in text */
	char *to;       /* the value the target holds instead */
	struct spec_pos pos;    /* of the entry's key */
};

/* The normalization options of a column, to index spec_column.optpos. */
enum spec_opt {
	SPEC_OPT_SCALE, SPEC_OPT_PRECISION, SPEC_OPT_TIMEZONE, SPEC_OPT_TRIM, SPEC_OPT_CASE,
	SPEC_OPT_TOLERANCE, SPEC_OPT_MAP, SPEC_OPT_AS, SPEC_OPT_ZERO_DATE,
	SPEC_OPT_N
};

/*
 * One entry of `columns:`. Written either as a plain name ("status"), as
 * { source: a, target: b } for a renamed column, or as { name: x, ...options }.
 * Options left out hold their "unset" value: scale and precision -1,
 * has_tolerance false, trim TRIM_NONE, nmap 0.
 */
struct spec_column {
	char *source;           /* column name on the source side */
	char *target;           /* column name on the target side */
	int scale;              /* round decimals to N places, -1 unset */
	int precision;          /* truncate fractional seconds to N digits, -1 unset */
	char *timezone;         /* timezone: ZONE: the zone of the naive side, NULL unset */
	char *tz_side[2];       /* timezone: {source: ZONE, target: ZONE}: per side, NULL unset */
	bool zero_null;         /* zero_date: null: MariaDB zero dates read as NULL */
	enum spec_trim trim;
	bool case_insensitive;
	bool has_tolerance;
	double tolerance;       /* absolute, >= 0 */
	enum spec_as as;
	struct spec_map_entry *map;
	size_t nmap;
	struct spec_pos pos;    /* of the entry */
	struct spec_pos opt_pos; /* of the first normalization option, for plan errors */
	struct spec_pos optpos[SPEC_OPT_N];  /* of each option's key; line 0 when it is absent */
};

enum spec_expect { EXPECT_EQUAL = 0, EXPECT_SUBSET, EXPECT_ABSENT };

/* Which keys a check (or a tables: override) gives, for spec_check.given. */
enum {
	SPEC_GIVEN_KEY = 1 << 0, SPEC_GIVEN_COLUMNS = 1 << 1, SPEC_GIVEN_IGNORE = 1 << 2,
	SPEC_GIVEN_EXPECT = 1 << 3, SPEC_GIVEN_REPAIR = 1 << 4, SPEC_GIVEN_CHUNK_ROWS = 1 << 5,
	SPEC_GIVEN_MATCH = 1 << 6, SPEC_GIVEN_WHERE = 1 << 7, SPEC_GIVEN_TARGET = 1 << 8,
	SPEC_GIVEN_NEWER = 1 << 9,
};

/*
 * ignore_newer_than: { column: NAME, age: DURATION }: rows whose column is
 * newer than the run's start minus age are skipped on both sides
 * (engine/newer.h). column NULL when the check has none.
 */
struct spec_newer {
	char *column;               /* a compared column, by source or target name */
	char *age;                  /* as written: "10m" */
	long long age_seconds;      /* > 0 */
	struct spec_pos pos;        /* of the ignore_newer_than key */
	struct spec_pos column_pos; /* of the column value */
};

struct spec_check;

/*
 * A schema check, before engine/schema.c expands it into one check per
 * table. Globs are fnmatch(3) patterns on unqualified table names.
 */
struct spec_schema {
	char **include;             /* NULL: every table */
	size_t ninclude;
	char **exclude;
	size_t nexclude;
	bool include_views;
	/*
	 * tables: per-table overrides, in spec order. Each is a check
	 * holding only what the override gives (see its `given`): key,
	 * columns, options (in options, or merged into columns when given),
	 * ignore, expect, repair, chunk_rows, match, ignore_newer_than, `where` (in
	 * source.where, for both sides) and `target` (in target.table, the
	 * target's name for a renamed table). name is the source table.
	 */
	struct spec_check *tables;
	size_t ntables;
	struct spec_pos pos;        /* of the schema check's source side */
};
enum spec_repair { REPAIR_TARGET = 0, REPAIR_SOURCE, REPAIR_NONE };

struct spec_check {
	char *name;                 /* [a-z0-9_-]+, unique within the spec */
	struct spec_side source;
	struct spec_side target;
	char **key;                 /* column names; nkey == 0: the target's primary key */
	size_t nkey;
	struct spec_pos key_pos;
	struct spec_column *columns;
	size_t ncolumns;
	bool columns_given;         /* false: every non-key column present on both sides */
	/*
	 * options: { COLUMN: { OPTION: VALUE } }: options for columns of the
	 * default list, which they do not narrow (source == target == COLUMN,
	 * matched on either side; pos: of the key). With columns: given, the
	 * loader has merged them into the listed entries and noptions is 0.
	 */
	struct spec_column *options;
	size_t noptions;
	char **ignore;
	size_t nignore;
	struct spec_pos *ignore_pos;
	enum spec_expect expect;
	enum spec_repair repair;
	long chunk_rows;            /* 0: the default */
	/*
	 * match: multiset: rows have no key; each is identified by all its
	 * compared values, duplicates count (copies), and nothing is chunked.
	 */
	bool multiset;
	struct spec_pos match_pos;
	struct spec_newer newer;    /* ignore_newer_than; newer.column NULL when absent */
	struct spec_pos pos;
	unsigned given;             /* SPEC_GIVEN_* bits of the keys written in the spec */
	/* A schema check before expansion; NULL for any other check. Owned. */
	struct spec_schema *schema;
	/*
	 * A check expanded from a schema check: that check's name (owned);
	 * NULL for a hand-written one. Such a check turns a column on one
	 * side only and a column pair it cannot compare into findings, and
	 * ignores `ignore` names its table does not have when they come from
	 * the schema check (ignore_lenient).
	 */
	char *parent;
	bool ignore_lenient;
};

/*
 * What a schema check found that is not a table both sides hold:
 * "missing_table" (source only) or "extra_table" (target only). Strings
 * owned.
 */
struct spec_finding {
	char *check;                /* the schema check */
	char *kind;
	char *table;                /* display form: "shop.orders" */
	char *system;
};

/*
 * A step of a workflow: an ordinary check (spec.checks, named
 * "WORKFLOW.STEP") whose key is tied to the workflow's key.
 */
struct spec_wf_step {
	char *check;                /* the check's name, "WORKFLOW.STEP", owned */
	char **key_map;             /* [workflow nkey]: the step's key column for each workflow key column, owned */
};

/*
 * workflows: a multi-step job (engine/workflow.h). Its keys come from a
 * query (or a table) of one system; each step's differences are read
 * for those keys only, and a key's step is done when the step has no
 * difference for it.
 */
struct spec_workflow {
	char *name;                 /* [a-z0-9_-]+, unique among workflows and checks */
	char *reason;               /* may be NULL */
	struct spec_side keys;      /* table or query: the workflow's keys */
	char **key;                 /* the key columns, as the keys side names them */
	size_t nkey;
	struct spec_wf_step *steps; /* in the order the job runs them, >= 1 */
	size_t nsteps;
	bool repair_out_of_order;   /* repair keys whose steps are done out of order too */
	struct spec_pos pos;
};

struct spec {
	char *file;                 /* path as given, used in messages */
	int version;                /* 1 */
	char *name;                 /* [a-z0-9_-]+ */
	char *reason;               /* may be NULL */
	char *ticket;               /* tally check --ticket ID, owned; may be NULL (not from the YAML) */
	struct spec_system *systems;
	size_t nsystems;
	struct spec_check *checks;
	size_t nchecks;
	/* workflows:, their steps among checks (after the checks of checks:). */
	struct spec_workflow *workflows;
	size_t nworkflows;
	/* Findings of schema checks' expansion (engine/schema.c); none after loading. */
	struct spec_finding *findings;
	size_t nfindings;
};

/*
 * Loads and validates path into *out. On failure fills err (kind ERR_SPEC,
 * message "path:line:col: …") and leaves *out empty; *out needs
 * spec_release() only after success.
 */
int spec_load(const char *path, struct spec *out, struct tally_err *err);

/*
 * Reads the whole file at path into text (appended), for spec_load_string()
 * and for the run's hash of the very bytes it loaded: a spec read from a
 * pipe (/dev/stdin) can be read only once. Fails with ERR_SPEC naming the
 * file and the system's reason.
 */
int spec_read(const char *path, struct buf *text, struct tally_err *err);

/* Same as spec_load, from a string already in memory; name is used in messages. */
int spec_load_string(const char *name, const char *text, size_t len,
                     struct spec *out, struct tally_err *err);

void spec_release(struct spec *s);

/* Frees what a finding owns (not the struct). */
void spec_finding_release(struct spec_finding *f);

/* Frees what a workflow owns (not the struct). */
void spec_workflow_release(struct spec_workflow *w);

/* Frees what a check owns (not the struct); for schema expansion. */
void spec_check_release(struct spec_check *c);

/* A deep copy of a column entry (every string and the map owned anew). */
void spec_column_copy(struct spec_column *dst, const struct spec_column *src);

/*
 * Applies an options map (options[0..n), as parsed from `options:`) to a
 * column list: each entry's options go into the column of cols named by
 * it on either side. Fails with ERR_SPEC at the entry's position (file:
 * the spec's name) when it names no column of the list, or when an option
 * is set both there and in the column's entry. On success the entries are
 * moved into cols (and left empty).
 */
int spec_apply_options(const char *file, struct spec_column *options, size_t n, struct spec_column *cols,
                       size_t ncols, struct tally_err *err);

/* A deep copy of an ignore_newer_than (dst is overwritten). */
void spec_newer_copy(struct spec_newer *dst, const struct spec_newer *src);

/* Frees what a column entry owns (names, zones, map). */
void spec_column_release(struct spec_column *col);

/* The system named name, or NULL. */
struct spec_system *spec_find_system(const struct spec *s, const char *name);
/* The workflow named name, or NULL. */
struct spec_workflow *spec_find_workflow(const struct spec *s, const char *name);
/* The workflow whose step check is named check (and the step's index into *step), or NULL. */
struct spec_workflow *spec_workflow_of(const struct spec *s, const char *check, size_t *step);
/* The check named name, or NULL. */
struct spec_check *spec_find_check(const struct spec *s, const char *name);

/*
 * Replaces every ${VAR} in in with the environment's value. An unset
 * variable is an error naming it (the caller adds the position). "$$" is
 * a literal "$". Returns a new string in *out.
 */
int spec_expand_env(const char *in, char **out, struct tally_err *err);

/*
 * Returns a copy of any user text with anything that looks like a password
 * masked, as engine/base/dsn.h's dsn_redact() does: the password in
 * "scheme://user:PASSWORD@host" (also where such a uri starts inside the
 * text), a "password=" URI parameter, and "password=" in a libpq
 * key=value string all become "***". A system's dsn_shown comes from its
 * driver's redact_dsn (connectors/connector.h).
 */
char *spec_redact_dsn(const char *dsn);

const char *spec_expect_name(enum spec_expect e);
const char *spec_repair_name(enum spec_repair r);

#endif
