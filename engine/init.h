/*
 * engine/init.h
 *   catalogs -> INIT -> a spec file: `tally init` reads the catalogs of two
 *   systems (list_tables and describe_table only, in read-only sessions)
 *   and writes a commented starting spec with one schema check. The tables
 *   and columns on one side only are named in comments; every column pair
 *   tally would refuse is left out (ignore:) with the refusal and the
 *   option that would make it comparable, so the spec runs unchanged.
 *
 * Secrets: a password in a DSN is written as ${TALLY_SOURCE_PASSWORD} or
 * ${TALLY_TARGET_PASSWORD}, never in clear; stderr names the variables.
 */
#ifndef TALLY_INIT_H
#define TALLY_INIT_H

#include <stdbool.h>

struct init_opts {
	const char *dsn[2];         /* SECRET: source, target; postgresql:// or mariadb:// / mysql:// */
	const char *schema[2];      /* NULL: public (PostgreSQL), the DSN's database (MariaDB) */
	const char *out;            /* NULL: stdout; else a file that must not exist */
	int connect_timeout;        /* seconds, 0: the driver's default */
};

/* Runs tally init; returns the exit status: 0 written, 2 trouble (printed on stderr). */
int init_run(const struct init_opts *o);

/* The driver a DSN's scheme names ("postgres", "mariadb"), or NULL. Pure. */
const char *init_driver(const char *dsn);

/*
 * The DSN as a spec writes it: a URI password (user:PASSWORD@, or a
 * password= parameter) replaced by ${var}, every other '$' doubled.
 * *had_password says whether there was one. Returns an owned string. Pure.
 */
char *init_dsn_ref(const char *dsn, const char *var, bool *had_password);

/* The schema to list when none is given: public, or the DSN's database. Owned; NULL when none. Pure. */
char *init_default_schema(const char *dsn, const char *driver);

#endif
