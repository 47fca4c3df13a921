/*
 * engine/metrics.c
 *   METRICS: a run's outcome as Prometheus text, written atomically.
 */
#include "metrics.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "outdir.h"
#include "report.h"
#include "base/zfile.h"

/* ---- rendering --------------------------------------------------------- */

void metrics_escape_label(struct buf *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			buf_addstr(out, "\\\\");
		else if (*s == '"')
			buf_addstr(out, "\\\"");
		else if (*s == '\n')
			buf_addstr(out, "\\n");
		else
			buf_addch(out, *s);
	}
}

static void family(struct buf *out, const char *name, const char *help)
{
	buf_addf(out, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

/* name{spec="…"[,check="…"][,extra="…"]} */
static void series(struct buf *out, const char *name, const struct metrics_run *m, const char *check,
                   const char *extra_label, const char *extra_value)
{
	buf_addf(out, "%s{spec=\"", name);
	metrics_escape_label(out, m->spec);
	if (check) {
		buf_addstr(out, "\",check=\"");
		metrics_escape_label(out, check);
	}
	if (extra_label) {
		buf_addf(out, "\",%s=\"", extra_label);
		metrics_escape_label(out, extra_value);
	}
	buf_addstr(out, "\"} ");
}

static void value_u(struct buf *out, uint64_t v)
{
	buf_addf(out, "%llu\n", (unsigned long long)v);
}

static void value_d(struct buf *out, double v)
{
	buf_addf(out, "%.3f\n", v);
}

static void render_run(struct buf *out, const struct metrics_run *m)
{
	family(out, "tally_run_last_start_timestamp_seconds",
	       "When the last run of the spec started, in seconds since the Unix epoch.");
	series(out, "tally_run_last_start_timestamp_seconds", m, NULL, NULL, NULL);
	value_d(out, m->started);
	family(out, "tally_run_last_success_timestamp_seconds",
	       "When a run of the spec last ended with a verdict (exit status 0 or 1), in seconds since "
	       "the Unix epoch; 0: never.");
	series(out, "tally_run_last_success_timestamp_seconds", m, NULL, NULL, NULL);
	value_d(out, m->last_success);
	family(out, "tally_run_duration_seconds", "How long the last run of the spec took.");
	series(out, "tally_run_duration_seconds", m, NULL, NULL, NULL);
	value_d(out, m->finished > m->started ? m->finished - m->started : 0);
	family(out, "tally_run_exit_status",
	       "Exit status of the last run: 0 consistent, 1 differences found, 2 trouble.");
	series(out, "tally_run_exit_status", m, NULL, NULL, NULL);
	value_u(out, (uint64_t)m->exit_status);
}

static void render_checks(struct buf *out, const struct metrics_run *m)
{
	static const char *const kinds[3] = { "missing", "extra", "changed" };
	static const char *const sides[2] = { "source", "target" };

	if (m->nchecks == 0)
		return;
	family(out, "tally_check_status",
	       "Verdict of the check in the last run: 0 consistent, 1 differences found, 2 no verdict (trouble).");
	for (size_t i = 0; i < m->nchecks; i++) {
		series(out, "tally_check_status", m, m->checks[i].name, NULL, NULL);
		value_u(out, (uint64_t)m->checks[i].status);
	}
	family(out, "tally_check_rows", "Rows the last run read from each side of the check.");
	for (size_t i = 0; i < m->nchecks; i++)
		for (int s = 0; s < 2 && m->checks[i].counted; s++) {
			series(out, "tally_check_rows", m, m->checks[i].name, "side", sides[s]);
			value_u(out, m->checks[i].rows[s]);
		}
	family(out, "tally_check_differences",
	       "Differing rows the last run found in the check, by kind (for match: multiset, copies; "
	       "for expect: absent, extra rows are the undeleted ones).");
	for (size_t i = 0; i < m->nchecks; i++) {
		const struct metrics_check *c = &m->checks[i];
		const uint64_t n[3] = { c->missing, c->extra, c->changed };

		for (int k = 0; k < 3 && c->counted && !c->rows_only; k++) {
			series(out, "tally_check_differences", m, c->name, "kind", kinds[k]);
			value_u(out, n[k]);
		}
	}
	family(out, "tally_check_in_flight",
	       "Differing rows of the check that were still being written when the last run looked again "
	       "(live rechecks); 0 without them.");
	for (size_t i = 0; i < m->nchecks; i++)
		if (m->checks[i].counted) {
			series(out, "tally_check_in_flight", m, m->checks[i].name, NULL, NULL);
			value_u(out, m->checks[i].in_flight);
		}
	family(out, "tally_check_skipped_newer",
	       "Rows of the check the last run skipped as newer than its ignore_newer_than cutoff (per key, on "
	       "either side); no series for a check without ignore_newer_than.");
	for (size_t i = 0; i < m->nchecks; i++)
		if (m->checks[i].counted && m->checks[i].newer) {
			series(out, "tally_check_skipped_newer", m, m->checks[i].name, NULL, NULL);
			value_u(out, m->checks[i].skipped_newer);
		}
	family(out, "tally_check_new_differences",
	       "Differences of the check in the last run whose key the previous run of the spec in the same "
	       "output directory did not report; no series without such a run.");
	for (size_t i = 0; i < m->nchecks; i++)
		if (m->checks[i].counted && m->checks[i].delta) {
			series(out, "tally_check_new_differences", m, m->checks[i].name, NULL, NULL);
			value_u(out, m->checks[i].new_diffs);
		}
	family(out, "tally_check_resolved_differences",
	       "Differences the previous run of the spec reported for the check whose key the last run does not "
	       "report; no series without such a run.");
	for (size_t i = 0; i < m->nchecks; i++)
		if (m->checks[i].counted && m->checks[i].delta) {
			series(out, "tally_check_resolved_differences", m, m->checks[i].name, NULL, NULL);
			value_u(out, m->checks[i].resolved);
		}
	family(out, "tally_check_duration_seconds", "Wall time of the check in the last run.");
	for (size_t i = 0; i < m->nchecks; i++)
		if (m->checks[i].counted) {
			series(out, "tally_check_duration_seconds", m, m->checks[i].name, NULL, NULL);
			value_d(out, m->checks[i].seconds);
		}
}

void metrics_render(struct buf *out, const struct metrics_run *m)
{
	render_run(out, m);
	render_checks(out, m);
}

void metrics_run_release(struct metrics_run *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nchecks; i++)
		free(m->checks[i].name);
	free(m->checks);
	free(m->spec);
	memset(m, 0, sizeof(*m));
}

/* ---- reading the previous file ---------------------------------------- */

/* The label value that starts at p (after its opening quote), unescaped; *end past its closing quote. */
static char *unescape_label(const char *p, const char **end)
{
	struct buf b = BUF_INIT;

	for (; *p && *p != '"' && *p != '\n'; p++) {
		if (*p == '\\' && p[1]) {
			p++;
			buf_addch(&b, *p == 'n' ? '\n' : *p);
		} else {
			buf_addch(&b, *p);
		}
	}
	if (*p != '"') {
		buf_release(&b);
		return NULL;
	}
	*end = p + 1;
	return buf_detach(&b, NULL);
}

/* One line of an earlier file: 1 when it is the series looked for (value and label filled). */
static bool success_line(const char *line, const char *spec, double *value, char **label)
{
	static const char name[] = "tally_run_last_success_timestamp_seconds{spec=\"";
	const char *after;
	char *got, *end;
	bool match;

	if (strncmp(line, name, sizeof(name) - 1) != 0)
		return false;
	got = unescape_label(line + sizeof(name) - 1, &after);
	if (!got)
		return false;
	match = (!spec || strcmp(got, spec) == 0) && after[0] == '}' && after[1] == ' ';
	if (match) {
		errno = 0;
		*value = strtod(after + 2, &end);
		match = errno == 0 && end != after + 2 && (*end == '\n' || *end == '\0');
	}
	if (match && label)
		*label = got;
	else
		free(got);
	return match;
}

bool metrics_previous_success(const char *text, const char *spec, double *value, char **label)
{
	for (const char *line = text; line && *line;) {
		const char *nl = strchr(line, '\n');

		if (success_line(line, spec, value, label))
			return true;
		line = nl ? nl + 1 : NULL;
	}
	return false;
}

/* The whole of a small file, or NULL. */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct buf b = BUF_INIT;
	char chunk[4096];
	size_t n;

	if (!f)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && b.len < (1u << 20))
		buf_add(&b, chunk, n);
	fclose(f);
	buf_addch(&b, '\0');
	return buf_detach(&b, NULL);
}

/* ---- writing ---------------------------------------------------------- */

/* FILE's directory: "." for a bare name, "/" for a file at the root. Owned by the caller. */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? xstrndup(path, (size_t)(slash - path) + (slash == path)) : xstrdup(".");
}

int metrics_write_file(const char *path, const struct metrics_run *m, struct tally_err *err)
{
	const char *slash = strrchr(path, '/');
	char *dir = dir_of(path);
	char *tmp = xasprintf("%s/.%s.XXXXXX", dir, slash ? slash + 1 : path);
	struct buf text = BUF_INIT;
	struct tally_err later;
	struct zfile z;
	int fd = mkstemp(tmp), rc;

	if (fd < 0) {
		rc = err_set(err, ERR_IO, "cannot create a temporary file for '%s': %s", path, strerror(errno));
		goto out;
	}
	/* node_exporter reads it as another user; it holds names and counts only. */
	if (fchmod(fd, 0644) < 0) {
		rc = err_set(err, ERR_IO, "cannot write '%s': %s", path, strerror(errno));
		close(fd);
		unlink(tmp);
		goto out;
	}
	metrics_render(&text, m);
	rc = zfile_fdopen(&z, fd, path, 0, ZFILE_PLAIN, err);
	if (rc == 0)
		rc = zfile_write(&z, text.data, text.len, err);
	if (zfile_close(&z, rc == 0 ? err : &later) < 0)
		rc = -1;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = err_set(err, ERR_IO, "cannot rename '%s' to '%s': %s", tmp, path, strerror(errno));
	if (rc < 0)
		unlink(tmp);
	else
		rc = outdir_sync_dir(dir, err);
out:
	buf_release(&text);
	free(tmp);
	free(dir);
	return rc;
}

/* ---- the process's run ------------------------------------------------ */

static struct {
	const char *path;           /* NULL: no --metrics */
	double started;
	bool reported;              /* a report was noted: a run happened */
	struct metrics_run run;     /* spec and checks as last noted */
} cur;

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int metrics_begin(const char *path, struct tally_err *err)
{
	char *dir = dir_of(path);
	struct stat st;
	int rc = 0;

	if (stat(dir, &st) < 0)
		rc = err_set(err, ERR_USAGE, "cannot write metrics to '%s': %s", path, strerror(errno));
	else if (!S_ISDIR(st.st_mode))
		rc = err_set(err, ERR_USAGE, "cannot write metrics to '%s': '%s' is not a directory", path, dir);
	else if (access(dir, W_OK | X_OK) < 0)
		rc = err_set(err, ERR_USAGE, "cannot write metrics to '%s': %s", path, strerror(errno));
	else if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		rc = err_set(err, ERR_USAGE, "cannot write metrics to '%s': it is a directory", path);
	free(dir);
	if (rc == 0) {
		cur.path = path;
		cur.started = now_seconds();
	}
	return rc;
}

void metrics_note_spec(const char *name)
{
	if (!cur.path || !name)
		return;
	free(cur.run.spec);
	cur.run.spec = xstrdup(name);
}

static int check_status(const struct run_report *r, const struct check_result *c)
{
	if (r->failed)
		return 2;
	return c->status == RESULT_CONSISTENT ? 0 : c->status == RESULT_INCONSISTENT ? 1 : 2;
}

void metrics_note_report(const struct run_report *r)
{
	if (!cur.path)
		return;
	cur.reported = true;
	metrics_note_spec(r->spec->name);
	for (size_t i = 0; i < cur.run.nchecks; i++)
		free(cur.run.checks[i].name);
	free(cur.run.checks);
	cur.run.checks = xcalloc(r->nchecks ? r->nchecks : 1, sizeof(*cur.run.checks));
	cur.run.nchecks = r->nchecks;
	for (size_t i = 0; i < r->nchecks; i++) {
		const struct check_result *c = &r->checks[i];
		struct metrics_check *mc = &cur.run.checks[i];

		mc->name = xstrdup(c->check->name);
		mc->status = check_status(r, c);
		mc->counted = mc->status < 2;
		mc->rows_only = c->counts;
		mc->rows[0] = c->side[0].rows;
		mc->rows[1] = c->side[1].rows;
		mc->missing = c->missing;
		mc->extra = c->extra;
		mc->changed = c->changed;
		mc->in_flight = c->in_flight;
		mc->newer = c->newer != NULL;
		mc->skipped_newer = c->skipped_newer;
		mc->delta = c->delta;
		mc->new_diffs = c->new_diffs;
		mc->resolved = c->resolved;
		mc->seconds = c->seconds;
	}
}

int metrics_end(int status)
{
	struct tally_err err;
	char *prev, *label = NULL;
	double last = 0;
	int rc;

	if (!cur.path)
		return status;
	/* 0 or 1 without a report is no run (--help): nothing to say. */
	if (status != 2 && !cur.reported) {
		metrics_run_release(&cur.run);
		cur.path = NULL;
		return status;
	}
	prev = slurp(cur.path);
	cur.run.started = cur.started;
	cur.run.finished = now_seconds();
	cur.run.exit_status = status;
	/* Without a spec name (the spec could not be read), the previous file's label. */
	if (prev && !metrics_previous_success(prev, cur.run.spec, &last, cur.run.spec ? NULL : &label))
		last = 0;
	if (!cur.run.spec)
		cur.run.spec = label ? label : xstrdup("unknown");
	cur.run.last_success = status == 0 || status == 1 ? cur.run.finished : last;
	free(prev);
	rc = metrics_write_file(cur.path, &cur.run, &err);
	metrics_run_release(&cur.run);
	cur.path = NULL;
	cur.reported = false;
	if (rc < 0) {
		err_print(&err, stderr);
		return 2;
	}
	return status;
}
