/*
 * engine/verify.c
 *   VERIFY: the run's report and diff file in, one session per side and
 *   check, bykey_compare, and the verify directory out.
 */
#include "verify.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "bykey.h"
#include "newer.h"
#include "outdir.h"
#include "plan.h"
#include "report.h"
#include "schema.h"
#include "spec.h"
#include "tally_config.h"
#include "base/zfile.h"

void verify_opts_init(struct verify_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->connect_timeout = 10;
	o->statement_timeout = 600;
	o->sort_budget = 8u << 20;
}

struct vcheck {
	const char *name;           /* borrowed from the run's report */
	const struct spec_check *check;
	struct bykey_set set;
	uint64_t resolved, same, changed;
	uint64_t newer;             /* skipped: newer than verify's own cutoff (ignore_newer_than) */
	char cutoff[32];            /* that cutoff, "" without ignore_newer_than */
	bool has_error;
	struct tally_err err;
};

static void spec_hash_of(char out[33], const char *text, size_t len)
{
	XXH128_canonical_t c;

	XXH128_canonicalFromHash(&c, XXH3_128bits(text, len));
	for (int i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", c.digest[i]);
}

/* The whole decompressed diff file, for splitting into lines. */
static int read_diff(const char *path, struct buf *out, struct tally_err *err)
{
	struct zreader z;
	char tmp[65536];
	long got;

	if (zreader_open(&z, path, err) < 0)
		return -1;
	while ((got = zreader_read(&z, tmp, sizeof(tmp), err)) > 0)
		buf_add(out, tmp, (size_t)got);
	zreader_close(&z);
	return got < 0 ? -1 : 0;
}

static struct vcheck *find_vcheck(struct vcheck *vc, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(vc[i].name, name) == 0)
			return &vc[i];
	return NULL;
}

/*
 * Hands each difference line of the file to its check's set (as raw JSON
 * for now: bykey_set_add needs the check's plan). in_flight lines are not
 * differences.
 */
static int split_lines(const struct buf *text, struct vcheck *vc, size_t n, json_t **pending,
                       struct tally_err *err)
{
	size_t at = 0, lineno = 0;

	while (at < text->len) {
		const char *nl = memchr(text->data + at, '\n', text->len - at);
		size_t len = nl ? (size_t)(nl - (text->data + at)) : text->len - at;
		json_error_t je;
		json_t *line = json_loadb(text->data + at, len, 0, &je);
		const char *check, *kind;
		struct vcheck *c;

		lineno++;
		at += len + 1;
		if (!line)
			return err_set(err, ERR_DATA, "diff.ndjson.zst line %zu is not JSON: %s", lineno, je.text);
		check = json_string_value(json_object_get(line, "check"));
		kind = json_string_value(json_object_get(line, "kind"));
		/* Where a workflow's key stopped: its steps' own lines are what verify reads again. */
		if (!check && kind && strcmp(kind, "workflow") == 0) {
			json_decref(line);
			continue;
		}
		c = check ? find_vcheck(vc, n, check) : NULL;
		if (!c || !kind) {
			json_decref(line);
			return err_set(err, ERR_DATA, "diff.ndjson.zst line %zu names no check of the run", lineno);
		}
		if (strcmp(kind, "in_flight") == 0) {
			json_decref(line);
			continue;
		}
		json_array_append_new(pending[c - vc], line);
	}
	return 0;
}

static int open_side(const struct spec_check *ck, int side, const struct verify_opts *o, struct conn **out,
                     struct tally_err *err)
{
	const struct spec_side *sd = side == SIDE_SOURCE ? &ck->source : &ck->target;
	const struct conn_ops *ops = conn_driver(sd->sys->driver);
	struct conn_cfg cfg;

	if (!ops)
		return err_set(err, ERR_SPEC, "system '%s': unknown driver '%s'", sd->sys->name, sd->sys->driver);
	if (ops->takes_path)
		return err_set(err, ERR_USAGE, "the %s of check '%s' is a snapshot file: it cannot be read again by key",
		               side ? "target" : "source", ck->name);
	memset(&cfg, 0, sizeof(cfg));
	cfg.system = sd->sys->name;
	cfg.side = side ? "target" : "source";
	cfg.dsn = sd->sys->dsn;
	cfg.dsn_shown = sd->sys->dsn_shown;
	cfg.connect_timeout = o->connect_timeout;
	cfg.statement_timeout = o->statement_timeout;
	cfg.lock_timeout = 60;
	return ops->open(out, &cfg, err);
}

/*
 * ignore_newer_than: verify applies the rule with its own cutoff (its
 * start minus the age), so that a row written since the run is counted as
 * newer rather than as different in a new way.
 */
static int verify_newer(struct plan *p, const struct spec *spec, struct vcheck *vc, const char *started,
                        struct tally_err *err)
{
	int64_t cutoff = 0;

	if (!vc->check->newer.column)
		return 0;
	if (newer_cutoff(started, vc->check->newer.age_seconds, &cutoff) < 0)
		return err_set(err, ERR_INTERNAL, "cannot read the start time '%s'", started);
	if (newer_resolve(p, spec->file, cutoff, false, err) < 0)
		return -1;
	newer_cutoff_iso(cutoff, vc->cutoff);
	return 0;
}

/* Reads one check's keys again and counts what became of them. */
static int verify_check(const struct spec *spec, struct vcheck *vc, json_t *lines, const struct verify_opts *o,
                        const char *tmpdir, const char *started, struct tally_err *err)
{
	struct conn *cn[2] = { NULL, NULL };
	struct plan p;
	bool planned = false;
	struct bykey_env env;
	size_t i;
	json_t *line;
	int rc = -1;

	if (json_array_size(lines) == 0)
		return 0;
	if (open_side(vc->check, SIDE_SOURCE, o, &cn[0], err) < 0 ||
	    open_side(vc->check, SIDE_TARGET, o, &cn[1], err) < 0)
		goto out;
	if (plan_build(&p, spec, vc->check, cn[0], cn[1], err) < 0)
		goto out;
	planned = true;
	if (verify_newer(&p, spec, vc, started, err) < 0)
		goto out;
	json_array_foreach(lines, i, line) {
		if (bykey_set_add(&vc->set, &p, json_incref(line), err) < 0)
			goto out;
	}
	memset(&env, 0, sizeof(env));
	env.plan = &p;
	env.check = vc->name;
	env.conn[0] = cn[0];
	env.conn[1] = cn[1];
	env.system[0] = vc->check->source.sys->name;
	env.system[1] = vc->check->target.sys->name;
	env.tmpdir = tmpdir;
	env.sort_budget = o->sort_budget;
	env.skip_newer = true;
	if (bykey_compare(&env, &vc->set, err) < 0)
		goto out;
	for (i = 0; i < vc->set.n; i++) {
		if (vc->set.outcome[i] == BYKEY_RESOLVED)
			vc->resolved++;
		else if (vc->set.outcome[i] == BYKEY_SAME)
			vc->same++;
		else if (vc->set.outcome[i] == BYKEY_NEWER)
			vc->newer++;
		else
			vc->changed++;
	}
	rc = 0;
out:
	if (planned)
		plan_release(&p);
	for (int s = 0; s < 2; s++)
		if (cn[s])
			cn[s]->ops->close(cn[s]);
	return rc;
}

/* RUN_DIR/verify-<time>, not yet existing. Owned by the caller. */
static char *verify_dir(const char *run_dir, const char *stamp)
{
	struct stat st;
	char *d = xasprintf("%s/verify-%s", run_dir, stamp);

	for (int i = 2; stat(d, &st) == 0; i++) {
		free(d);
		d = xasprintf("%s/verify-%s-%d", run_dir, stamp, i);
	}
	return d;
}

static json_t *check_json(const struct vcheck *c)
{
	const char *status = c->has_error ? "error" : c->same + c->changed + c->newer ? "unresolved" : "resolved";

	if (c->has_error)
		return json_pack("{s:s, s:s, s:I, s:n, s:n, s:n, s:n, s:n, s:{s:s, s:s?, s:s?}}", "name", c->name,
		                 "status", status, "differences", (json_int_t)c->set.n, "resolved", "same", "new",
		                 "skipped_newer", "newer_cutoff", "error",
		                 "message", c->err.msg, "detail", c->err.detail[0] ? c->err.detail : NULL, "hint",
		                 c->err.hint[0] ? c->err.hint : NULL);
	return json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:o, s:o, s:n}", "name", c->name, "status", status,
	                 "differences", (json_int_t)c->set.n, "resolved", (json_int_t)c->resolved, "same",
	                 (json_int_t)c->same, "new", (json_int_t)c->changed,
	                 "skipped_newer", c->cutoff[0] ? json_integer((json_int_t)c->newer) : json_null(),
	                 "newer_cutoff", c->cutoff[0] ? json_string(c->cutoff) : json_null(), "error");
}

/* diff.ndjson.zst: every difference still there, as it is now. */
static int write_diff(struct outdir *od, struct vcheck *vc, size_t n, struct tally_err *err)
{
	struct zfile z;
	struct tally_err later;
	int rc = outdir_create(od, "diff.ndjson.zst", &z, 3, 0, err);

	for (size_t i = 0; i < n && rc == 0; i++)
		for (size_t j = 0; j < vc[i].set.n && rc == 0; j++) {
			size_t k = vc[i].set.order ? vc[i].set.order[j] : j;
			json_t *f = vc[i].set.fresh ? vc[i].set.fresh[k] : NULL;
			char *text;

			if (!f)
				continue;
			json_object_set_new(f, "verify", json_string(bykey_outcome_name(vc[i].set.outcome[k])));
			text = json_dumps(f, JSON_COMPACT | JSON_PRESERVE_ORDER);
			rc = zfile_write(&z, text, strlen(text), err);
			if (rc == 0)
				rc = zfile_write(&z, "\n", 1, err);
			free(text);
		}
	if (zfile_close(&z, rc == 0 ? err : &later) < 0)
		rc = -1;
	return rc;
}

static int write_report(struct outdir *od, json_t *root, struct tally_err *err)
{
	struct zfile z;
	struct tally_err later;
	char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	int rc = outdir_create(od, "report.json", &z, 0, ZFILE_PLAIN, err);

	if (rc == 0)
		rc = zfile_write(&z, text, strlen(text), err);
	if (rc == 0)
		rc = zfile_write(&z, "\n", 1, err);
	if (zfile_close(&z, rc == 0 ? err : &later) < 0)
		rc = -1;
	free(text);
	return rc;
}

/* Loads report.json, checks the run can be verified, loads the spec it was made with. */
static int load_run(const char *run_dir, const struct verify_opts *o, json_t **report, struct spec *spec,
                    struct tally_err *err)
{
	char *path = xasprintf("%s/report.json", run_dir);
	json_error_t je;
	struct buf text = BUF_INIT;
	const char *spec_file, *want, *status;
	char hash[33];
	int rc = -1;

	*report = json_load_file(path, 0, &je);
	if (!*report) {
		err_set(err, ERR_USAGE, "cannot read '%s': %s", path, je.text);
		err_hint(err, "RUN_DIR is a directory a finished tally check wrote (its report.json and diff.ndjson.zst)");
		goto out;
	}
	status = json_string_value(json_object_get(*report, "status"));
	if (!status || strcmp(status, "error") == 0 || !json_is_string(json_object_get(*report, "diff_file"))) {
		err_set(err, ERR_USAGE, "the run in '%s' ended without a verdict: there is nothing to verify", run_dir);
		goto out;
	}
	if (json_object_get(*report, "shard") && !json_is_null(json_object_get(*report, "shard"))) {
		err_set(err, ERR_USAGE, "'%s' is one shard's share: verify the merged run", run_dir);
		goto out;
	}
	spec_file = o->spec_path ? o->spec_path : json_string_value(json_object_get(*report, "spec_file"));
	if (!spec_file) {
		err_set(err, ERR_USAGE, "'%s' names no spec file; give it with --spec FILE", path);
		goto out;
	}
	if (spec_read(spec_file, &text, err) < 0) {
		err_hint(err, "give the spec the run used with --spec FILE");
		goto out;
	}
	spec_hash_of(hash, text.data, text.len);
	want = json_string_value(json_object_get(*report, "spec_hash"));
	if (want && strcmp(want, hash) != 0) {
		err_set(err, ERR_USAGE, "the spec '%s' changed since the run in '%s'", spec_file, run_dir);
		err_detail(err, "the run's spec had hash %s, the file now has %s", want, hash);
		err_hint(err, "verify with the spec the run used (--spec FILE), or run tally check again");
		goto out;
	}
	if (!want)
		warn_msg("'%s' does not record its spec's hash: cannot tell whether '%s' changed since", path, spec_file);
	if (spec_load_string(spec_file, text.data, text.len, spec, err) < 0)
		goto out;
	/* A schema check's tables are checks of their own, as the run expanded them. */
	if (schema_expand(spec, o->connect_timeout, err) < 0) {
		spec_release(spec);
		goto out;
	}
	rc = 0;
out:
	buf_release(&text);
	free(path);
	return rc;
}

static void print_summary(const struct vcheck *vc, size_t n, const char *dir)
{
	for (size_t i = 0; i < n; i++) {
		if (vc[i].has_error) {
			printf("%-20s error: %s\n", vc[i].name, vc[i].err.msg);
			continue;
		}
		printf("%-20s %s: %zu difference%s: %llu resolved, %llu still the same, %llu different in a new way",
		       vc[i].name, vc[i].same + vc[i].changed + vc[i].newer ? "unresolved" : "resolved", vc[i].set.n,
		       vc[i].set.n == 1 ? "" : "s", (unsigned long long)vc[i].resolved,
		       (unsigned long long)vc[i].same, (unsigned long long)vc[i].changed);
		if (vc[i].cutoff[0])
			printf(", %llu skipped as newer than %s", (unsigned long long)vc[i].newer, vc[i].cutoff);
		printf("\n");
	}
	printf("verify report: %s/report.json\n", dir);
}

int verify_run(const char *run_dir, const struct verify_opts *o)
{
	struct tally_err err;
	json_t *report = NULL, *checks, *jc, **pending = NULL, *root = NULL, *jchecks;
	struct spec spec;
	bool have_spec = false;
	struct vcheck *vc = NULL;
	struct outdir od;
	struct buf diff = BUF_INIT;
	char *dpath = NULL, *dir = NULL;
	char started[32], finished[32], stamp[32];
	size_t n = 0, i;
	int status = 2, worst = 0;

	err_clear(&err);
	memset(&od, 0, sizeof(od));
	report_now(started);
	if (load_run(run_dir, o, &report, &spec, &err) < 0)
		goto fail;
	have_spec = true;
	checks = json_object_get(report, "checks");
	n = json_array_size(checks);
	vc = xcalloc(n ? n : 1, sizeof(*vc));
	pending = xcalloc(n ? n : 1, sizeof(*pending));
	json_array_foreach(checks, i, jc) {
		vc[i].name = json_string_value(json_object_get(jc, "name"));
		if (!vc[i].name)
			vc[i].name = "";
		vc[i].check = spec_find_check(&spec, vc[i].name);
		bykey_set_init(&vc[i].set);
		pending[i] = json_array();
		if (!vc[i].check) {
			err_set(&err, ERR_USAGE, "the spec has no check '%s', which the run compared", vc[i].name);
			goto fail;
		}
		{
			const char *st = json_string_value(json_object_get(jc, "status"));

			/* No verdict, no differences to read again: never "resolved". */
			if (!st || strcmp(st, "error") == 0 || strcmp(st, "not run") == 0) {
				vc[i].has_error = true;
				err_set(&vc[i].err, ERR_USAGE, "check '%s': the run gave it no verdict: nothing to verify",
				        vc[i].name);
			}
		}
	}
	dpath = xasprintf("%s/%s", run_dir, json_string_value(json_object_get(report, "diff_file")));
	if (read_diff(dpath, &diff, &err) < 0 || split_lines(&diff, vc, n, pending, &err) < 0)
		goto fail;
	/* verify-20261205T074500Z: sorts by time, and a shell needs no quoting. */
	{
		time_t t = time(NULL);
		struct tm tm;

		gmtime_r(&t, &tm);
		strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	}
	dir = verify_dir(run_dir, stamp);
	if (outdir_open(&od, dir, &err) < 0)
		goto fail;
	for (i = 0; i < n; i++) {
		struct tally_err e;

		err_clear(&e);
		if (vc[i].has_error) {
			worst = 2;
			continue;
		}
		if (verify_check(&spec, &vc[i], pending[i], o, od.tmp, started, &e) < 0) {
			err_context(&e, "check '%s'", vc[i].name);
			vc[i].has_error = true;
			vc[i].err = e;
			worst = 2;
			continue;
		}
		if (vc[i].same + vc[i].changed + vc[i].newer && worst < 1)
			worst = 1;
	}
	report_now(finished);
	jchecks = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(jchecks, check_json(&vc[i]));
	root = json_pack("{s:s, s:s, s:s, s:O, s:O, s:O, s:s, s:s, s:s, s:o, s:s}", "tally_version", TALLY_VERSION,
	                 "run_dir", run_dir, "run_started_at",
	                 json_string_value(json_object_get(report, "started_at")) ?
	                 json_string_value(json_object_get(report, "started_at")) : "",
	                 "spec", json_object_get(report, "spec"), "spec_file", json_object_get(report, "spec_file"),
	                 "spec_hash", json_object_get(report, "spec_hash") ? json_object_get(report, "spec_hash")
	                                                                   : json_null(),
	                 "started_at", started, "finished_at", finished, "status",
	                 worst == 2 ? "error" : worst == 1 ? "unresolved" : "resolved", "checks", jchecks,
	                 "diff_file", "diff.ndjson.zst");
	if (!root) {
		err_set(&err, ERR_INTERNAL, "cannot build the verify report");
		goto fail;
	}
	if (write_diff(&od, vc, n, &err) < 0 || write_report(&od, root, &err) < 0 || outdir_commit(&od, &err) < 0) {
		outdir_discard(&od);
		goto fail;
	}
	if (!o->quiet)
		print_summary(vc, n, dir);
	for (i = 0; i < n; i++)
		if (vc[i].has_error)
			err_print(&vc[i].err, stderr);
	status = worst;
	goto done;
fail:
	err_print(&err, stderr);
	status = 2;
done:
	json_decref(root);
	for (i = 0; i < n && vc; i++) {
		bykey_set_release(&vc[i].set);
		json_decref(pending[i]);
	}
	free(vc);
	free(pending);
	outdir_close(&od);
	if (have_spec)
		spec_release(&spec);
	json_decref(report);
	buf_release(&diff);
	free(dpath);
	free(dir);
	return status;
}
