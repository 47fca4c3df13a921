/*
 * engine/main.c
 *   The `tally` command: parses the command line (getopt_long), loads the
 *   spec and hands over to run_spec(). Exit status as diff(1): 0 every
 *   check consistent, 1 differences found, 2 trouble.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "run.h"
#include "spec.h"
#include "tally_config.h"

static void usage(FILE *fp)
{
	fputs("usage: tally check SPEC.yaml [--out DIR] [--check NAME]... [--quiet] [--compress-repair]\n"
	      "       tally --help | --version\n"
	      "\n"
	      "Compares the tables a spec names between two systems and writes, to DIR\n"
	      "(default tally-out/<spec name>/), report.json, diff.ndjson.zst, and for each\n"
	      "system that needs it repair.<system>.sql and rollback.<system>.sql to review\n"
	      "and apply. It only reads: nothing is written to any system.\n"
	      "\n"
	      "options for check:\n"
	      "  -o, --out DIR           output directory (created mode 0700)\n"
	      "  -c, --check NAME        run only this check (repeatable)\n"
	      "  -q, --quiet             print errors only\n"
	      "      --connect-timeout S seconds to wait for a server (default 10)\n"
	      "      --compress-repair   write repair and rollback scripts as .sql.zst\n"
	      "\n"
	      "exit status: 0 consistent, 1 differences found, 2 trouble\n", fp);
}

static void on_signal(int sig)
{
	(void)sig;
	tally_interrupted = 1;
}

static void install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	/* A second Ctrl-C ends the process at once. */
	sa.sa_flags = (int)SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static int parse_int(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	if (!s || !*s)
		return -1;
	v = strtol(s, &end, 10);
	if (*end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int cmd_check(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "check", required_argument, NULL, 'c' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "connect-timeout", required_argument, NULL, 'T' },
		{ "compress-repair", no_argument, NULL, 'Z' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct run_opts opts;
	struct spec spec;
	struct tally_err err;
	long v;
	int ch, status;

	memset(&opts, 0, sizeof(opts));
	opts.connect_timeout = 10;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "o:c:qh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'o':
			opts.out_dir = optarg;
			break;
		case 'c':
			opts.only = xrealloc(opts.only, (opts.nonly + 1) * sizeof(char *));
			opts.only[opts.nonly++] = optarg;
			break;
		case 'q':
			opts.quiet = true;
			warn_quiet = 1;
			break;
		case 'T':
			if (parse_int(optarg, 1, 3600, &v) < 0) {
				fprintf(stderr, "tally: error: --connect-timeout needs seconds between 1 and 3600\n");
				free(opts.only);
				return 2;
			}
			opts.connect_timeout = (int)v;
			break;
		case 'Z':
			opts.compress_repair = true;
			break;
		case 'h':
			usage(stdout);
			free(opts.only);
			return 0;
		default:
			usage(stderr);
			free(opts.only);
			return 2;
		}
	}
	if (argc - optind != 1) {
		fprintf(stderr, "tally: error: check needs exactly one spec file\n");
		usage(stderr);
		free(opts.only);
		return 2;
	}
	if (spec_load(argv[optind], &spec, &err) < 0) {
		err_print(&err, stderr);
		free(opts.only);
		return 2;
	}
	for (size_t i = 0; i < opts.nonly; i++)
		if (!spec_find_check(&spec, opts.only[i])) {
			struct buf names = BUF_INIT;

			for (size_t j = 0; j < spec.nchecks; j++)
				buf_addf(&names, "%s%s", j ? ", " : "", spec.checks[j].name);
			fprintf(stderr, "tally: error: %s: no check named '%s' (checks: %s)\n", spec.file,
			        opts.only[i], names.data);
			buf_release(&names);
			spec_release(&spec);
			free(opts.only);
			return 2;
		}
	install_signals();
	status = run_spec(&spec, &opts);
	spec_release(&spec);
	free(opts.only);
	return status;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("tally %s\n", TALLY_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "check") == 0)
		return cmd_check(argc - 1, argv + 1);
	fprintf(stderr, "tally: error: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
