/*
 * engine/main.c
 *   The `tally` command: parses the command line (getopt_long), loads the
 *   spec and hands over to run_spec(), combine_shards() or snapfile_take().
 *   Exit status as diff(1): 0 every check consistent, 1 differences found,
 *   2 trouble.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "cli.h"
#include "combine.h"
#include "metrics.h"
#include "plan.h"
#include "init.h"
#include "run.h"
#include "schema.h"
#include "snapfile.h"
#include "spec.h"
#include "sqlguard.h"
#include "tally_config.h"
#include "runs.h"
#include "verify.h"

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

static int parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int parse_double(const char *s, double lo, double hi, double *out)
{
	char *end;
	double v;

	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !(v >= lo && v <= hi))
		return -1;
	*out = v;
	return 0;
}

static int bad_option(const char *what)
{
	fprintf(stderr, "tally: error: %s\n", what);
	return 2;
}

enum {
	OPT_TIMEOUT = 256, OPT_COMPRESS, OPT_SHARD, OPT_RESUME, OPT_FAIL_FAST, OPT_PROGRESS, OPT_RATE, OPT_LOAD,
	OPT_CHUNK_ROWS, OPT_TARGET, OPT_SAFE_SQL, OPT_STMT_TIMEOUT, OPT_LOCK_TIMEOUT, OPT_YIELD_AFTER,
	OPT_ON_LOCK_WAIT, OPT_METRICS, OPT_RECHECK, OPT_SPEC, OPT_TICKET, OPT_MODE, OPT_KEEP,
};

/*
 * --safe-sql for one side: its where or query, when it goes to a server,
 * calls only read-only built-ins. Prints the refusal at the value's
 * place in the spec; returns 0 or 2.
 */
static int safe_sql_side(const struct spec *spec, const struct spec_side *side)
{
	const char *const what[2] = { "where", "query" };
	const char *const sql[2] = { side->where, side->query };
	const struct spec_pos pos[2] = { side->where_pos, side->query_pos };
	enum sqlguard_dialect d;
	struct tally_err err;

	const struct conn_ops *ops = conn_driver(side->sys->driver);

	switch (ops ? ops->sql : CONN_SQL_NONE) {
	case CONN_SQL_POSTGRES:
		d = SQLGUARD_POSTGRES;
		break;
	case CONN_SQL_MARIADB:
		d = SQLGUARD_MARIADB;
		break;
	case CONN_SQL_NONE:
	default:
		return 0;   /* a snapshot file runs no SQL */
	}
	for (int i = 0; i < 2; i++)
		if (sql[i] && sqlguard_check(d, what[i], sql[i], &err) < 0) {
			err_context(&err, "%s:%d:%d", spec->file, pos[i].line, pos[i].col);
			err_print(&err, stderr);
			return 2;
		}
	return 0;
}

/* --safe-sql for every check that runs (all, or those named by --check). */
static int safe_sql(const struct spec *spec, char *const *only, size_t nonly)
{
	for (size_t i = 0; i < spec->nchecks; i++) {
		const struct spec_check *c = &spec->checks[i];
		bool runs = nonly == 0;

		for (size_t j = 0; j < nonly; j++)
			runs = runs || strcmp(only[j], c->name) == 0;
		if (runs && (safe_sql_side(spec, &c->source) || safe_sql_side(spec, &c->target)))
			return 2;
	}
	/* A workflow's keys are read when any of its steps runs. */
	for (size_t i = 0; i < spec->nworkflows; i++) {
		bool runs = nonly == 0;

		for (size_t s = 0; s < spec->workflows[i].nsteps; s++)
			for (size_t j = 0; j < nonly; j++)
				runs = runs || strcmp(only[j], spec->workflows[i].steps[s].check) == 0;
		if (runs && safe_sql_side(spec, &spec->workflows[i].keys))
			return 2;
	}
	return 0;
}

static const struct option check_longopts[] = {
	{ "out", required_argument, NULL, 'o' },
	{ "check", required_argument, NULL, 'c' },
	{ "jobs", required_argument, NULL, 'j' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "connect-timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "compress-repair", no_argument, NULL, OPT_COMPRESS },
	{ "shard", required_argument, NULL, OPT_SHARD },
	{ "resume", no_argument, NULL, OPT_RESUME },
	{ "fail-fast", no_argument, NULL, OPT_FAIL_FAST },
	{ "progress", no_argument, NULL, OPT_PROGRESS },
	{ "max-rate", required_argument, NULL, OPT_RATE },
	{ "max-load", required_argument, NULL, OPT_LOAD },
	{ "chunk-rows", required_argument, NULL, OPT_CHUNK_ROWS },
	{ "target-seconds", required_argument, NULL, OPT_TARGET },
	{ "safe-sql", no_argument, NULL, OPT_SAFE_SQL },
	{ "statement-timeout", required_argument, NULL, OPT_STMT_TIMEOUT },
	{ "lock-timeout", required_argument, NULL, OPT_LOCK_TIMEOUT },
	{ "yield-after", required_argument, NULL, OPT_YIELD_AFTER },
	{ "on-lock-wait", required_argument, NULL, OPT_ON_LOCK_WAIT },
	{ "metrics", required_argument, NULL, OPT_METRICS },
	{ "recheck", required_argument, NULL, OPT_RECHECK },
	{ "ticket", required_argument, NULL, OPT_TICKET },
	{ "mode", required_argument, NULL, OPT_MODE },
	{ "keep", required_argument, NULL, OPT_KEEP },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Reads one option of tally check into opts; returns -1 to go on, or the exit status. */
static int check_option(int ch, struct run_opts *opts, bool *safe)
{
	long v;

	switch (ch) {
	case 'o':
		opts->out_dir = optarg;
		return -1;
	case 'c':
		opts->only = xrealloc(opts->only, (opts->nonly + 1) * sizeof(char *));
		opts->only[opts->nonly++] = optarg;
		return -1;
	case 'j':
		if (parse_long(optarg, 1, 256, &v) < 0)
			return bad_option("--jobs needs a number of workers from 1 to 256");
		opts->jobs = (unsigned)v;
		return -1;
	case 'q':
		opts->quiet = true;
		warn_quiet = 1;
		return -1;
	case OPT_TIMEOUT:
		if (parse_long(optarg, 1, 3600, &v) < 0)
			return bad_option("--connect-timeout needs seconds between 1 and 3600");
		opts->connect_timeout = (int)v;
		return -1;
	case OPT_COMPRESS:
		opts->compress_repair = true;
		return -1;
	case OPT_SHARD: {
		char *slash = strchr(optarg, '/');
		long k, n;

		if (!slash || (*slash = '\0', parse_long(optarg, 0, 100000, &k) < 0) ||
		    parse_long(slash + 1, 1, 100000, &n) < 0 || k >= n)
			return bad_option("--shard needs K/N with 0 <= K < N, e.g. --shard 0/4");
		*slash = '/';
		opts->shard_index = (unsigned)k;
		opts->shard_count = (unsigned)n;
		return -1;
	}
	case OPT_RESUME:
		opts->resume = true;
		return -1;
	case OPT_FAIL_FAST:
		opts->fail_fast = true;
		return -1;
	case OPT_KEEP:
		if (parse_long(optarg, 1, 1000000, &v) < 0)
			return bad_option("--keep needs a number of runs to keep, at least 1");
		opts->keep = (unsigned)v;
		return -1;
	case OPT_PROGRESS:
		opts->progress = true;
		return -1;
	case OPT_RATE:
		if (parse_double(optarg, 1, 1e12, &opts->max_rate) < 0)
			return bad_option("--max-rate needs rows per second, at least 1");
		return -1;
	case OPT_LOAD:
		if (parse_long(optarg, 1, 100000, &opts->max_load) < 0)
			return bad_option("--max-load needs a number of active queries, at least 1");
		return -1;
	case OPT_CHUNK_ROWS:
		if (parse_long(optarg, 1000, 100000000, &opts->chunk_rows) < 0)
			return bad_option("--chunk-rows needs a number of rows from 1000 to 100000000");
		return -1;
	case OPT_TARGET:
		if (parse_double(optarg, 0.05, 3600, &opts->page_seconds) < 0)
			return bad_option("--target-seconds needs seconds from 0.05 to 3600");
		return -1;
	case OPT_SAFE_SQL:
		*safe = true;
		return -1;
	case OPT_STMT_TIMEOUT:
		if (parse_double(optarg, 0, 604800, &opts->statement_timeout) < 0)
			return bad_option("--statement-timeout needs seconds from 0 (no limit) to 604800");
		opts->statement_timeout_forced = true;
		return -1;
	case OPT_LOCK_TIMEOUT:
		if (parse_double(optarg, 0, 86400, &opts->lock_timeout) < 0)
			return bad_option("--lock-timeout needs seconds from 0 to 86400");
		return -1;
	case OPT_YIELD_AFTER:
		if (parse_double(optarg, 0, 86400, &opts->yield_after) < 0)
			return bad_option("--yield-after needs seconds from 0 (never) to 86400");
		return -1;
	case OPT_ON_LOCK_WAIT:
		if (strcmp(optarg, "yield") != 0 && strcmp(optarg, "wait") != 0)
			return bad_option("--on-lock-wait is yield or wait");
		opts->on_lock_wait = strcmp(optarg, "wait") == 0 ? LOCKWAIT_WAIT : LOCKWAIT_YIELD;
		return -1;
	case OPT_RECHECK:
		if (parse_double(optarg, 0, 86400, &opts->recheck) < 0)
			return bad_option("--recheck needs seconds between 0 and 86400");
		return -1;
	case OPT_MODE:
		if (strcmp(optarg, "stream") == 0)
			opts->mode = MODE_STREAM;
		else if (strcmp(optarg, "counts") == 0)
			opts->mode = MODE_COUNTS;
		else if (strcmp(optarg, "pushdown") == 0)
			opts->mode = MODE_PUSHDOWN;
		else if (strcmp(optarg, "auto") == 0)
			opts->mode = MODE_AUTO;
		else
			return bad_option("--mode is stream, counts, pushdown or auto");
		return -1;
	case OPT_METRICS: {
		struct tally_err err;

		if (metrics_begin(optarg, &err) < 0) {
			err_print(&err, stderr);
			return 2;
		}
		return -1;
	}
	case OPT_TICKET: {
		size_t n = strlen(optarg);
		bool ok = n > 0 && n <= 200;

		/* It goes into Markdown and script comments: one line of printable text. */
		for (const char *p = optarg; ok && *p; p++)
			ok = (unsigned char)*p >= 0x20 && *p != 0x7f;
		if (!ok)
			return bad_option("--ticket needs an ID of 1 to 200 printable characters");
		opts->ticket = optarg;
		return -1;
	}
	case 'h':
		cli_help(stdout, CLI_CHECK);
		return 0;
	default:
		return 2;       /* '?' and ':' are refused by the caller, which has argv */
	}
}

/* Is every --check name a check of spec? Prints the refusal; returns 0 or 2. */
static int known_checks(const struct spec *spec, const struct run_opts *opts)
{
	for (size_t i = 0; i < opts->nonly; i++)
		if (!spec_find_check(spec, opts->only[i])) {
			struct buf names = BUF_INIT;

			for (size_t j = 0; j < spec->nchecks; j++)
				buf_addf(&names, "%s%s", j ? ", " : "", spec->checks[j].name);
			fprintf(stderr, "tally: error: %s: no check named '%s' (checks: %s)\n", spec->file,
			        opts->only[i], names.data);
			buf_release(&names);
			return 2;
		}
	return 0;
}

/* A --check naming a workflow stands for all of its steps. */
static void select_workflows(const struct spec *spec, struct run_opts *opts)
{
	size_t n = 0, cap = opts->nonly;
	char **o;

	for (size_t i = 0; i < opts->nonly; i++) {
		const struct spec_workflow *w = spec_find_workflow(spec, opts->only[i]);

		cap += w ? w->nsteps : 0;
	}
	o = xcalloc(cap ? cap : 1, sizeof(*o));
	for (size_t i = 0; i < opts->nonly; i++) {
		const struct spec_workflow *w = spec_find_workflow(spec, opts->only[i]);

		for (size_t s = 0; w && s < w->nsteps; s++)
			o[n++] = w->steps[s].check;
		if (!w)
			o[n++] = opts->only[i];
	}
	free(opts->only);
	opts->only = o;
	opts->nonly = n;
}

/*
 * Schema checks become one check per table (reading both catalogs), and
 * a --check naming one stands for all of its tables. Its findings belong
 * to the run only when it is selected as a whole (or nothing is).
 */
static int expand_schemas(struct spec *spec, struct run_opts *opts)
{
	struct tally_err err;
	char **only;
	size_t nonly, kept = 0;

	if (schema_expand(spec, opts->connect_timeout, &err) < 0) {
		err_print(&err, stderr);
		return -1;
	}
	for (size_t i = 0; i < spec->nfindings && opts->nonly; i++) {
		bool named = false;

		for (size_t j = 0; j < opts->nonly; j++)
			named = named || strcmp(opts->only[j], spec->findings[i].check) == 0;
		if (named)
			spec->findings[kept++] = spec->findings[i];
		else
			spec_finding_release(&spec->findings[i]);
	}
	if (opts->nonly)
		spec->nfindings = kept;
	schema_select(spec, opts->only, opts->nonly, &only, &nonly);
	free(opts->only);
	opts->only = only;
	opts->nonly = nonly;
	return 0;
}

/*
 * --mode counts judges only equality of row counts: a check that expects
 * a subset or an absence cannot be judged by counts, nor can a workflow's
 * step (counts name no key, so no key's step would ever look undone). Refuses the run,
 * naming each such check that would run; returns 0 or 2.
 */
static int counts_checks(const struct spec *spec, const struct run_opts *opts)
{
	int rc = 0;

	if (opts->mode != MODE_COUNTS)
		return 0;
	for (size_t i = 0; i < spec->nchecks; i++) {
		const struct spec_check *c = &spec->checks[i];
		bool runs = opts->nonly == 0;

		for (size_t j = 0; j < opts->nonly; j++)
			runs = runs || strcmp(opts->only[j], c->name) == 0;
		if (runs && c->expect != EXPECT_EQUAL) {
			fprintf(stderr, "tally: error: %s: check '%s': --mode counts cannot judge expect: %s "
			        "(equal counts prove neither a subset nor an absence); run it with --mode stream, "
			        "or leave it out with --check\n", spec->file, c->name, spec_expect_name(c->expect));
			rc = 2;
		} else if (runs && spec_workflow_of(spec, c->name, NULL)) {
			fprintf(stderr, "tally: error: %s: check '%s': --mode counts cannot tell which keys of workflow "
			        "'%s' a step has done (counts name no key); run it with --mode stream\n", spec->file,
			        c->name, spec_workflow_of(spec, c->name, NULL)->name);
			rc = 2;
		}
	}
	return rc;
}

static int cmd_check(int argc, char **argv)
{
	struct run_opts opts;
	struct spec spec;
	struct tally_err err;
	struct buf text = BUF_INIT;
	int ch, status;
	bool safe = false;

	run_opts_init(&opts);
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":o:c:j:qh", check_longopts, NULL)) != -1) {
		int rc = ch == '?' || ch == ':' ? cli_bad_option(CLI_CHECK, ":o:c:j:qh", argv, ch)
		                                : check_option(ch, &opts, &safe);

		if (rc >= 0) {
			free(opts.only);
			return rc;
		}
	}
	if (opts.recheck >= 0 && opts.shard_count > 1) {
		free(opts.only);
		return bad_option("--recheck is for a whole run, not a shard's share");
	}
	if (opts.quiet && opts.progress) {
		free(opts.only);
		return bad_option("--quiet and --progress contradict each other");
	}
	if (opts.mode == MODE_COUNTS && opts.recheck >= 0) {
		free(opts.only);
		return bad_option("--recheck reads again the rows found different: --mode counts reads none");
	}
	if (argc - optind != 1) {
		free(opts.only);
		return cli_usage_error(CLI_CHECK, "check needs exactly one spec file");
	}
	/* Read once: the run's hash (for --resume) is of the very bytes loaded. */
	if (spec_read(argv[optind], &text, &err) < 0 ||
	    spec_load_string(argv[optind], text.data, text.len, &spec, &err) < 0) {
		err_print(&err, stderr);
		buf_release(&text);
		free(opts.only);
		return 2;
	}
	metrics_note_spec(spec.name);
	spec.ticket = opts.ticket ? xstrdup(opts.ticket) : NULL;
	if (expand_schemas(&spec, &opts) < 0) {
		spec_release(&spec);
		buf_release(&text);
		free(opts.only);
		return 2;
	}
	select_workflows(&spec, &opts);
	if (known_checks(&spec, &opts) || counts_checks(&spec, &opts) ||
	    (safe && safe_sql(&spec, opts.only, opts.nonly))) {
		spec_release(&spec);
		buf_release(&text);
		free(opts.only);
		return 2;
	}
	install_signals();
	status = run_spec(&spec, text.data, text.len, &opts);
	buf_release(&text);
	spec_release(&spec);
	free(opts.only);
	return status;
}

static int cmd_merge(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "compress-repair", no_argument, NULL, OPT_COMPRESS },
		{ "metrics", required_argument, NULL, OPT_METRICS },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *out = NULL;
	bool quiet = false, compress = false;
	int ch;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":o:qh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'o':
			out = optarg;
			break;
		case 'q':
			quiet = true;
			break;
		case OPT_COMPRESS:
			compress = true;
			break;
		case OPT_METRICS: {
			struct tally_err err;

			if (metrics_begin(optarg, &err) < 0) {
				err_print(&err, stderr);
				return 2;
			}
			break;
		}
		case 'h':
			cli_help(stdout, CLI_MERGE);
			return 0;
		default:
			return cli_bad_option(CLI_MERGE, ":o:qh", argv, ch);
		}
	}
	if (!out || argc - optind < 1)
		return cli_usage_error(CLI_MERGE, "merge needs --out DIR and the shard directories");
	return combine_shards(out, argv + optind, (size_t)(argc - optind), compress, quiet);
}

static int cmd_snapshot(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "check", required_argument, NULL, 'c' },
		{ "side", required_argument, NULL, 's' },
		{ "output", required_argument, NULL, 'o' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "connect-timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "safe-sql", no_argument, NULL, OPT_SAFE_SQL },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct run_opts opts;
	struct spec spec;
	struct tally_err err;
	const struct spec_check *c;
	const char *check = NULL, *side = NULL, *file = NULL;
	long v;
	int ch, status;
	bool safe = false;

	run_opts_init(&opts);
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":c:s:o:qh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			check = optarg;
			break;
		case 's':
			side = optarg;
			break;
		case 'o':
			file = optarg;
			break;
		case 'q':
			opts.quiet = true;
			break;
		case OPT_TIMEOUT:
			if (parse_long(optarg, 1, 3600, &v) < 0)
				return bad_option("--connect-timeout needs seconds between 1 and 3600");
			opts.connect_timeout = (int)v;
			break;
		case OPT_SAFE_SQL:
			safe = true;
			break;
		case 'h':
			cli_help(stdout, CLI_SNAPSHOT);
			return 0;
		default:
			return cli_bad_option(CLI_SNAPSHOT, ":c:s:o:qh", argv, ch);
		}
	}
	if (argc - optind != 1 || !check || !side || !file)
		return cli_usage_error(CLI_SNAPSHOT, "snapshot needs a spec file, --check NAME, --side source|target "
		                       "and -o FILE");
	if (strcmp(side, "source") != 0 && strcmp(side, "target") != 0)
		return bad_option("--side is source or target");
	if (spec_load(argv[optind], &spec, &err) < 0) {
		err_print(&err, stderr);
		return 2;
	}
	/* A schema check's table (shop.orders) is a check once the catalogs are read. */
	if (!spec_find_check(&spec, check) && schema_expand(&spec, opts.connect_timeout, &err) < 0) {
		err_print(&err, stderr);
		spec_release(&spec);
		return 2;
	}
	c = spec_find_check(&spec, check);
	if (!c) {
		fprintf(stderr, "tally: error: %s: no check named '%s'\n", spec.file, check);
		spec_release(&spec);
		return 2;
	}
	if (c->schema) {
		fprintf(stderr, "tally: error: %s:%d:%d: check '%s' is a schema check: a snapshot is of one table; "
		        "name one of its tables (--check %s.TABLE)\n", spec.file, c->pos.line, c->pos.col, check, check);
		spec_release(&spec);
		return 2;
	}
	if (safe && safe_sql_side(&spec, strcmp(side, "source") == 0 ? &c->source : &c->target)) {
		spec_release(&spec);
		return 2;
	}
	install_signals();
	status = snapfile_take(&spec, c, strcmp(side, "source") == 0 ? SIDE_SOURCE : SIDE_TARGET, file, &opts);
	spec_release(&spec);
	return status;
}

static int cmd_init(int argc, char **argv)
{
	enum { I_SOURCE = 256, I_TARGET, I_SOURCE_SCHEMA, I_TARGET_SCHEMA, I_CONNECT_TIMEOUT };
	static const struct option longopts[] = {
		{ "source", required_argument, NULL, I_SOURCE },
		{ "target", required_argument, NULL, I_TARGET },
		{ "source-schema", required_argument, NULL, I_SOURCE_SCHEMA },
		{ "target-schema", required_argument, NULL, I_TARGET_SCHEMA },
		{ "output", required_argument, NULL, 'o' },
		{ "connect-timeout", required_argument, NULL, I_CONNECT_TIMEOUT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct init_opts o = { .connect_timeout = 10 };
	long v;
	int ch;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":o:h", longopts, NULL)) != -1) {
		switch (ch) {
		case I_SOURCE: o.dsn[0] = optarg; break;
		case I_TARGET: o.dsn[1] = optarg; break;
		case I_SOURCE_SCHEMA: o.schema[0] = optarg; break;
		case I_TARGET_SCHEMA: o.schema[1] = optarg; break;
		case 'o': o.out = optarg; break;
		case I_CONNECT_TIMEOUT:
			if (parse_long(optarg, 1, 3600, &v) < 0)
				return cli_usage_error(CLI_INIT, "--connect-timeout needs seconds from 1 to 3600");
			o.connect_timeout = (int)v;
			break;
		case 'h':
			cli_help(stdout, CLI_INIT);
			return 0;
		default:
			return cli_bad_option(CLI_INIT, ":o:h", argv, ch);
		}
	}
	if (argc != optind || !o.dsn[0] || !o.dsn[1])
		return cli_usage_error(CLI_INIT, "init needs --source DSN and --target DSN, and no other argument");
	return init_run(&o);
}

static int cmd_verify(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "spec", required_argument, NULL, OPT_SPEC },
		{ "quiet", no_argument, NULL, 'q' },
		{ "connect-timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct verify_opts o;
	long v;
	int ch;

	verify_opts_init(&o);
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":qh", longopts, NULL)) != -1) {
		switch (ch) {
		case OPT_SPEC:
			o.spec_path = optarg;
			break;
		case 'q':
			o.quiet = true;
			break;
		case OPT_TIMEOUT:
			if (parse_long(optarg, 1, 3600, &v) < 0)
				return bad_option("--connect-timeout needs seconds between 1 and 3600");
			o.connect_timeout = (int)v;
			break;
		case 'h':
			cli_help(stdout, CLI_VERIFY);
			return 0;
		default:
			return cli_bad_option(CLI_VERIFY, ":qh", argv, ch);
		}
	}
	if (argc - optind != 1)
		return cli_usage_error(CLI_VERIFY, "verify needs exactly one run directory");
	install_signals();
	{
		/* OUT stands for its latest run. */
		char *dir = runs_resolve(argv[optind]);
		int status = verify_run(dir, &o);

		free(dir);
		return status;
	}
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return cli_usage_error(CLI_ALL, "no command: check, merge, snapshot, verify or init");
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("tally %s\n", TALLY_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
		cli_help(stdout, CLI_ALL);
		return 0;
	}
	/* --metrics: the file is written however the command ends. */
	if (strcmp(argv[1], "check") == 0)
		return metrics_end(cmd_check(argc - 1, argv + 1));
	if (strcmp(argv[1], "merge") == 0)
		return metrics_end(cmd_merge(argc - 1, argv + 1));
	if (strcmp(argv[1], "snapshot") == 0)
		return cmd_snapshot(argc - 1, argv + 1);
	if (strcmp(argv[1], "init") == 0)
		return cmd_init(argc - 1, argv + 1);
	if (strcmp(argv[1], "verify") == 0)
		return cmd_verify(argc - 1, argv + 1);
	if (argv[1][0] == '-')
		return cli_usage_error(CLI_ALL, "unrecognized option '%.*s'", (int)strcspn(argv[1], "="), argv[1]);
	return cli_usage_error(CLI_ALL, "unknown command '%s'", argv[1]);
}
