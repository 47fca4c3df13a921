/*
 * engine/cli.c
 *   CLI: help texts and command-line error lines.
 */
#include "cli.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>

static const char CHECK_SYNOPSIS[] =
	"tally check SPEC.yaml [--out DIR] [--check NAME]... [--jobs N] [--shard K/N]\n"
	"                  [--resume] [--fail-fast] [--progress|--quiet] [--max-rate ROWS/S] [--max-load N]\n"
	"                  [--chunk-rows N] [--target-seconds S] [--connect-timeout S]\n"
	"                  [--compress-repair] [--safe-sql] [--statement-timeout S]\n"
	"                  [--lock-timeout S] [--yield-after S] [--on-lock-wait yield|wait]\n"
	"                  [--metrics FILE] [--recheck S] [--ticket ID]\n"
	"                  [--mode stream|counts|pushdown|auto] [--keep N]\n";

static const char MERGE_SYNOPSIS[] =
	"tally merge --out DIR [--quiet] [--compress-repair] [--metrics FILE] SHARD_DIR...\n";

static const char SNAPSHOT_SYNOPSIS[] =
	"tally snapshot SPEC.yaml --check NAME --side source|target -o FILE [--quiet]\n"
	"                  [--connect-timeout S] [--safe-sql]\n";

static const char INIT_SYNOPSIS[] =
	"tally init --source DSN --target DSN [--source-schema S] [--target-schema T]\n"
	"                  [-o FILE] [--connect-timeout S]\n";
static const char VERIFY_SYNOPSIS[] =
	"tally verify RUN_DIR [--spec FILE] [--quiet] [--connect-timeout S]\n";

static const char CHECK_HELP[] =
	"check compares the tables a spec names between two systems and writes, to a new\n"
	"run directory DIR/<UTC time>-<id>/ (DIR defaults to tally-out/<spec name>; DIR/latest\n"
	"points at the newest run), report.json, report.html, diff.ndjson.zst, and\n"
	"for each system that needs it repair.<system>.sql and rollback.<system>.sql to\n"
	"review and apply; DIR/history.ndjson gets a line per run. It never removes an\n"
	"earlier run's files (but --keep), and one run at a time uses DIR (DIR/.lock).\n"
	"Its sessions only read: tally writes nothing to any system (a spec's where and\n"
	"query are the user's SQL: see --safe-sql).\n"
	"\n"
	"options for check:\n"
	"  -o, --out DIR           directory of the runs (created mode 0700)\n"
	"  -c, --check NAME        run only this check, or all steps of this workflow (repeatable)\n"
	"  -j, --jobs N            compare N chunks at once, each over its own sessions\n"
	"      --shard K/N         take only shard K (0-based) of N; combine with tally merge\n"
	"      --resume            finish the newest unfinished run in DIR: redo only\n"
	"                          unfinished chunks and the checks that ended in an error\n"
	"      --fail-fast         stop the run at the first check in error (default: the\n"
	"                          other checks still run and report)\n"
	"      --keep N            then remove the oldest finished runs until N are left\n"
	"      --progress          progress lines on stderr even when it is not a terminal\n"
	"  -q, --quiet             print errors only\n"
	"      --max-rate ROWS/S   read at most this many rows per second (both sides)\n"
	"      --max-load N        pause while a server runs more than N active queries\n"
	"      --chunk-rows N      rows per chunk when the spec gives none (default 100000)\n"
	"      --target-seconds S  aim each page query at S seconds (default 1)\n"
	"      --connect-timeout S seconds to wait for a server (default 10)\n"
	"      --compress-repair   write repair and rollback scripts as .sql.zst\n"
	"      --safe-sql          refuse, before connecting, a where or query that calls a\n"
	"                          function other than the servers' read-only built-ins\n"
	"      --statement-timeout S  limit each statement to S seconds (default 600, or the\n"
	"                          role's own limit when shorter; given, it wins; 0: none)\n"
	"      --lock-timeout S    wait at most S seconds for a lock (default 60)\n"
	"      --yield-after S     let go of tally's locks when a session has waited S\n"
	"                          seconds for them (default 5; 0: never)\n"
	"      --on-lock-wait yield|wait  then stop, resumable (default), or wait for that\n"
	"                          session to finish and go on\n"
	"      --metrics FILE      write the run's outcome in Prometheus' text format to FILE\n"
	"                          (for node_exporter's textfile collector), replacing it whole\n"
	"      --recheck S         S seconds after the comparison, read the keys found\n"
	"                          different again on both sides: a difference that is gone\n"
	"                          or changed is in_flight (rows being written), not repaired\n"
	"      --ticket ID         name the ticket in change-order.md, written with the scripts\n"
	"      --mode MODE         stream reads and compares every row; counts only counts\n"
	"                          rows per chunk in each server: no diff, no repair; pushdown\n"
	"                          compares digests computed in each server and streams only the\n"
	"                          key ranges that differ; auto (default) measures both as it\n"
	"                          goes and takes the cheaper, chunk window by window\n"
	"  -h, --help              this help\n";

static const char MERGE_HELP[] =
	"merge combines the output directories of the N runs of --shard K/N (each one's\n"
	"DIR, whose latest run is taken, or a run directory) into a new run in DIR, as\n"
	"one run would have written them.\n"
	"\n"
	"options for merge:\n"
	"  -o, --out DIR           directory of the runs (required)\n"
	"  -q, --quiet             print errors only\n"
	"      --compress-repair   write repair and rollback scripts as .sql.zst\n"
	"      --metrics FILE      write the outcome in Prometheus' text format to FILE\n"
	"  -h, --help              this help\n";

static const char SNAPSHOT_HELP[] =
	"snapshot writes one side of a check (every column, in key order, with row and\n"
	"chunk hashes) to FILE; a system { driver: snapshot, path: FILE } then stands\n"
	"in for it, so a system can be compared after it is gone.\n"
	"\n"
	"options for snapshot:\n"
	"  -c, --check NAME        the check whose side is read (required)\n"
	"  -s, --side source|target  the side (required)\n"
	"  -o, --output FILE       the snapshot file (required)\n"
	"  -q, --quiet             print errors only\n"
	"      --connect-timeout S seconds to wait for a server (default 10)\n"
	"      --safe-sql          refuse, before connecting, a where or query that calls a\n"
	"                          function other than the servers' read-only built-ins\n"
	"  -h, --help              this help\n";

static const char INIT_HELP[] =
	"init reads the catalogs of two systems (nothing else) and writes a starting spec:\n"
	"one schema check, with comments naming the tables and columns found on one side\n"
	"only, and every column pair tally would refuse left out, with the option that\n"
	"would make it comparable. A password in a DSN becomes a ${VAR} reference.\n"
	"\n"
	"options for init:\n"
	"      --source DSN        the source system: postgresql://... or mariadb://... (required)\n"
	"      --target DSN        the target system (required)\n"
	"      --source-schema S   the source schema (default: public, or the DSN's database)\n"
	"      --target-schema T   the target schema (default: public, or the DSN's database)\n"
	"  -o, --output FILE       write the spec to FILE, which must not exist (default: stdout)\n"
	"      --connect-timeout S seconds to wait for a server (default 10)\n"
	"  -h, --help              this help\n";

static const char VERIFY_HELP[] =
	"verify reads again exactly the keys the run in RUN_DIR found different (its\n"
	"diff.ndjson.zst), on the same systems with the same spec (refused when the spec\n"
	"changed since), and tells per check how many are resolved, still different the\n"
	"same way, or different in a new way; it writes RUN_DIR/verify-<UTC time>/\n"
	"(report.json, diff.ndjson.zst) and never touches the run's own files. Exit\n"
	"status 0 when every difference is resolved, 1 when some remain.\n"
	"\n"
	"options for verify:\n"
	"      --spec FILE         the spec the run used (default: report.json's spec_file)\n"
	"  -q, --quiet             print errors only\n"
	"      --connect-timeout S seconds to wait for a server (default 10)\n"
	"  -h, --help              this help\n";

static const char EXIT_STATUS[] =
	"\nexit status: 0 consistent, 1 differences found, 2 trouble\n";

static const char *const NAMES[] = { "", "check", "merge", "snapshot", "verify", "init" };

void cli_help(FILE *fp, enum cli_cmd cmd)
{
	switch (cmd) {
	case CLI_CHECK:
		fprintf(fp, "usage: %s\n%s", CHECK_SYNOPSIS, CHECK_HELP);
		break;
	case CLI_MERGE:
		fprintf(fp, "usage: %s\n%s", MERGE_SYNOPSIS, MERGE_HELP);
		break;
	case CLI_SNAPSHOT:
		fprintf(fp, "usage: %s\n%s", SNAPSHOT_SYNOPSIS, SNAPSHOT_HELP);
		break;
	case CLI_INIT:
		fprintf(fp, "usage: %s\n%s", INIT_SYNOPSIS, INIT_HELP);
		fputs("\nexit status: 0 spec written, 2 trouble\n", fp);
		return;
	case CLI_VERIFY:
		fprintf(fp, "usage: %s\n%s", VERIFY_SYNOPSIS, VERIFY_HELP);
		break;
	case CLI_ALL:
		fprintf(fp, "usage: %s       %s       %s       %s       %s       tally --help | --version\n"
		        "       tally COMMAND --help\n\n%s\n%s\n%s\n%s\n%s", CHECK_SYNOPSIS, MERGE_SYNOPSIS,
		        SNAPSHOT_SYNOPSIS, VERIFY_SYNOPSIS, INIT_SYNOPSIS, CHECK_HELP, MERGE_HELP, SNAPSHOT_HELP,
		        VERIFY_HELP, INIT_HELP);
		break;
	}
	fputs(EXIT_STATUS, fp);
}

static void see_help(enum cli_cmd cmd)
{
	if (cmd == CLI_ALL)
		fputs(" (see tally --help)\n", stderr);
	else
		fprintf(stderr, " (see tally %s --help)\n", NAMES[cmd]);
}

int cli_usage_error(enum cli_cmd cmd, const char *fmt, ...)
{
	va_list ap;

	fputs("tally: error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	see_help(cmd);
	return 2;
}

int cli_bad_option(enum cli_cmd cmd, const char *optstring, char **argv, int ret)
{
	const char *arg = optind > 0 ? argv[optind - 1] : "";
	const char *cmdname = NAMES[cmd];
	bool is_long = strncmp(arg, "--", 2) == 0;
	int len = is_long ? (int)strcspn(arg, "=") : 0;

	if (ret == ':') {
		/* The option was the last word: optind is past it. */
		if (is_long)
			return cli_usage_error(cmd, "%s: option '%.*s' needs a value", cmdname, len, arg);
		return cli_usage_error(cmd, "%s: option '-%c' needs a value", cmdname, optopt);
	}
	/* An unknown short option leaves optopt at its letter, which optstring lacks. */
	if (optopt > 0 && optopt < 256 && optopt != ':' && !strchr(optstring, optopt))
		return cli_usage_error(cmd, "%s: unrecognized option '-%c'", cmdname, optopt);
	/* A known long option given a value it does not take, or an unknown (or ambiguous) one. */
	if (optopt != 0 && is_long)
		return cli_usage_error(cmd, "%s: option '%.*s' takes no value", cmdname, len, arg);
	if (is_long)
		return cli_usage_error(cmd, "%s: unrecognized option '%.*s'", cmdname, len, arg);
	return cli_usage_error(cmd, "%s: unrecognized option", cmdname);
}
