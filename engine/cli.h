/*
 * engine/cli.h
 *   main -> CLI: what the command line says back: each command's help,
 *   and the one line for a command or an option tally does not know,
 *   which ends with where to find help rather than the whole of it:
 *
 *     tally: error: unknown command 'frobnicate' (see tally --help)
 *     tally: error: check: unrecognized option '--frob' (see tally check --help)
 *
 * An option's value is never repeated (it may be a password typed in
 * the wrong place): "--pasword=x" is quoted as '--pasword'.
 */
#ifndef TALLY_CLI_H
#define TALLY_CLI_H

#include <stdio.h>

#include "base/err.h"

enum cli_cmd { CLI_ALL, CLI_CHECK, CLI_MERGE, CLI_SNAPSHOT, CLI_VERIFY };

/* The help of one command (its synopsis and options), or of all (CLI_ALL). */
void cli_help(FILE *fp, enum cli_cmd cmd);

/*
 * After getopt_long() returned ret, '?' or ':' (its optstring starting
 * with ':', opterr 0), with argv, optind and optopt as it left them:
 * prints the one line on stderr and returns 2, the exit status.
 */
int cli_bad_option(enum cli_cmd cmd, const char *optstring, char **argv, int ret);

/* "tally: error: MESSAGE (see tally [COMMAND] --help)" on stderr; returns 2. */
int cli_usage_error(enum cli_cmd cmd, const char *fmt, ...) TALLY_PRINTF(2, 3);

#endif
