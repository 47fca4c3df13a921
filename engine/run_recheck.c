/*
 * engine/run_recheck.c
 *   run -> RECHECK -> bykey -> work: --recheck SECONDS. Once every chunk
 *   of an unsharded run is compared (and reconciled), the run waits
 *   SECONDS, then, check by check, collects the keys of the differences
 *   its parts hold, reads exactly those rows again on both sides through
 *   new sessions (a new snapshot, no table lock: bykey.h), and writes the
 *   check's recheck part (work.h, "k"), which then stands for the others
 *   when the outputs are assembled:
 *     - a difference found again exactly as it was (same kind, columns
 *       and values): its line, and its repair record from the rows as
 *       read the second time, which are the rows the script guards;
 *     - any other (gone, or changed meanwhile): a row being written, an
 *       in_flight line {"check", "kind": "in_flight", "key", "was": its
 *       first kind, "now": its kind now or "equal"}, no repair record.
 * Checks without keys (match: multiset) and snapshot sides are not
 * read again. The keys of a check are held in memory while it is
 * rechecked (bykey.h).
 */
#include "run_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bykey.h"
#include "diffout.h"
#include "work.h"
#include "base/zfile.h"

static void pause_for(double s)
{
	struct timespec ts;

	if (s <= 0)
		return;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR && !tally_interrupted)
		;
}

/* Adds every difference line of one part's diff file to s. */
static int collect_part(const char *path, const struct plan *p, struct bykey_set *s, struct tally_err *err)
{
	struct zreader z;
	struct buf text = BUF_INIT;
	char tmp[65536];
	long got;
	size_t at = 0;
	int rc = 0;

	if (access(path, F_OK) < 0)
		return 0;
	if (zreader_open(&z, path, err) < 0)
		return -1;
	while ((got = zreader_read(&z, tmp, sizeof(tmp), err)) > 0)
		buf_add(&text, tmp, (size_t)got);
	zreader_close(&z);
	if (got < 0)
		rc = -1;
	while (rc == 0 && at < text.len) {
		const char *nl = memchr(text.data + at, '\n', text.len - at);
		size_t len = nl ? (size_t)(nl - (text.data + at)) : text.len - at;
		json_t *line = json_loadb(text.data + at, len, 0, NULL);

		at += len + 1;
		if (!line)
			rc = err_set(err, ERR_IO, "the difference lines of '%s' are corrupt", path);
		else
			rc = bykey_set_add(s, p, line, err);
	}
	buf_release(&text);
	return rc;
}

static int collect(struct run *r, size_t i, struct bykey_set *s, struct tally_err *err)
{
	for (size_t j = 0; j <= r->cps[i].n; j++) {
		size_t id = j < r->cps[i].n ? j : WORK_RECONCILE;
		char *path;
		int rc;

		if (id == WORK_RECONCILE && !r->cps[i].reconcile)
			break;
		path = work_part_path(r->out.path, i, id, "diff");
		rc = collect_part(path, &r->plans[i], s, err);
		free(path);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* The recheck part being written. */
struct rk {
	struct bykey_set *s;
	struct zfile dz;
	struct diffout diff;
	struct repair_writer *rep;
	struct part_result pr;
};

static int rk_diff(void *ctx, size_t idx, enum bykey_outcome o, enum diff_kind kind, const struct mrow *src,
                   const struct mrow *tgt, const uint8_t *changed, struct tally_err *err)
{
	struct rk *k = ctx;

	if (o != BYKEY_SAME)
		return 0;
	if (kind == DIFF_MISSING)
		k->pr.missing++;
	else if (kind == DIFF_EXTRA)
		k->pr.extra++;
	else
		k->pr.changed++;
	if (diffout_put(&k->diff, json_incref(k->s->fresh[idx]), err) < 0)
		return -1;
	if (k->rep && repair_row(k->rep, kind, src, tgt, changed, err) < 0)
		return -1;
	return 0;
}

/* The in_flight lines, in the order the differences were first found. */
static int rk_in_flight(struct rk *k, const char *check, struct tally_err *err)
{
	const struct bykey_set *s = k->s;

	for (size_t i = 0; i < s->n; i++) {
		json_t *line;

		if (s->outcome[i] == BYKEY_SAME)
			continue;
		k->pr.in_flight++;
		line = json_pack("{s:s, s:s, s:O, s:O, s:s}", "check", check, "kind", "in_flight", "key",
		                 json_object_get(s->line[i], "key"), "was", json_object_get(s->line[i], "kind"),
		                 "now", s->fresh[i] ? json_string_value(json_object_get(s->fresh[i], "kind")) : "equal");
		if (!line)
			return err_set(err, ERR_INTERNAL, "cannot render an in_flight line");
		if (diffout_put(&k->diff, line, err) < 0)
			return -1;
	}
	return 0;
}

static void rk_abort(struct rk *k, struct run *r, size_t i)
{
	static const char *const kinds[] = { "diff", "rep" };

	zfile_abort(&k->dz);
	repair_writer_free(k->rep);
	k->rep = NULL;
	for (size_t j = 0; j < 2; j++) {
		char *p = work_part_tmp(r->out.path, i, WORK_RECHECK, kinds[j]);

		unlink(p);
		free(p);
	}
}

/* Closes the part's files, gives them their names, and marks the part done. */
static int rk_commit(struct rk *k, struct run *r, size_t i, struct tally_err *err)
{
	static const char *const kinds[] = { "diff", "rep" };
	struct tally_err later;
	int rc = zfile_close(&k->dz, err);

	if (k->rep && repair_writer_close(k->rep, rc == 0 ? err : &later) < 0)
		rc = -1;
	k->rep = NULL;
	for (size_t j = 0; j < 2 && rc == 0; j++) {
		char *from = work_part_tmp(r->out.path, i, WORK_RECHECK, kinds[j]);
		char *to = work_part_path(r->out.path, i, WORK_RECHECK, kinds[j]);

		if (access(from, F_OK) == 0 && rename(from, to) < 0)
			rc = err_set(err, ERR_IO, "cannot rename '%s': %s", from, strerror(errno));
		free(from);
		free(to);
	}
	if (rc == 0)
		rc = work_commit_part(r->out.path, i, WORK_RECHECK, &k->pr, err);
	return rc;
}

/* Reads check i's differences again over sessions cn and writes its recheck part. */
static int recheck_one(struct run *r, size_t i, struct bykey_set *s, struct conn *cn[2], struct tally_err *err)
{
	const struct spec_check *c = r->res[i].check;
	struct bykey_env env;
	struct rk k;
	char *path, *tmpdir;
	double t0 = chunk_now();
	int rc;

	memset(&k, 0, sizeof(k));
	k.s = s;
	k.dz.fd = -1;
	k.pr.started = chunk_wall();
	path = work_part_tmp(r->out.path, i, WORK_RECHECK, "diff");
	rc = zfile_create(&k.dz, path, 3, 0, err);
	free(path);
	if (rc < 0)
		return -1;
	diffout_init(&k.diff, &k.dz, &r->plans[i], c->name);
	if (r->rinfo[i]) {
		path = work_part_tmp(r->out.path, i, WORK_RECHECK, "rep");
		k.rep = repair_writer_new(r->rinfo[i], path, err);
		free(path);
		if (!k.rep) {
			rk_abort(&k, r, i);
			return -1;
		}
	}
	memset(&env, 0, sizeof(env));
	env.plan = &r->plans[i];
	env.check = c->name;
	env.conn[0] = cn[0];
	env.conn[1] = cn[1];
	env.system[0] = c->source.system;
	env.system[1] = c->target.system;
	tmpdir = xasprintf("%s/%s", r->out.path, WORK_DIRNAME);
	env.tmpdir = tmpdir;
	env.sort_budget = r->opts->sort_budget;
	env.on_diff = rk_diff;
	env.ctx = &k;
	rc = bykey_compare(&env, s, err);
	free(tmpdir);
	if (rc == 0)
		rc = rk_in_flight(&k, c->name, err);
	k.pr.rows[0] = env.rows[0];
	k.pr.rows[1] = env.rows[1];
	chunkhash_init(&k.pr.hash[0]);
	chunkhash_init(&k.pr.hash[1]);
	k.pr.seconds = chunk_now() - t0;
	k.pr.ended = chunk_wall();
	if (rc == 0)
		rc = rk_commit(&k, r, i, err);
	if (rc < 0)
		rk_abort(&k, r, i);
	return rc;
}

/* Can check i be read again by key? */
static bool rechecks(const struct run *r, size_t i)
{
	const struct spec_check *c = r->res[i].check;

	return !r->errored[i] && r->planned[i] && !r->plans[i].multiset &&
	       strcmp(c->source.sys->driver, "snapshot") != 0 && strcmp(c->target.sys->driver, "snapshot") != 0;
}

int run_recheck(struct run *r, struct tally_err *err)
{
	bool waited = false;

	for (size_t i = 0; i < r->n; i++) {
		struct bykey_set s;
		struct sessions ss;
		struct part_result pr;
		struct conn *cn[2] = { NULL, NULL };
		int rc;

		if (!rechecks(r, i))
			continue;
		rc = work_read_part(r->out.path, i, WORK_RECHECK, &pr, err);
		if (rc < 0)
			return -1;
		if (rc == 1)
			continue;       /* rechecked before an interruption */
		bykey_set_init(&s);
		memset(&ss, 0, sizeof(ss));
		rc = collect(r, i, &s, err);
		if (rc == 0 && s.n > 0 && !waited) {
			if (!r->opts->quiet)
				fprintf(stderr, "tally: reading the differences again in %g seconds (--recheck)\n",
				        r->opts->recheck);
			pause_for(r->opts->recheck);
			waited = true;
			if (tally_interrupted)
				rc = err_set(err, ERR_INTERRUPTED, "interrupted");
		}
		for (int side = 0; rc == 0 && s.n > 0 && side < 2; side++)
			rc = run_session_get(r, &ss, run_check_side(r, i, side)->sys, side, NULL, &cn[side], err);
		if (rc == 0)
			rc = recheck_one(r, i, &s, cn, err);
		run_sessions_close(r, &ss);
		bykey_set_release(&s);
		if (rc < 0)
			return err_context(err, "check '%s': --recheck", r->res[i].check->name);
	}
	return 0;
}
