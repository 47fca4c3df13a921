/*
 * engine/guard.c
 *   GUARD: the pid sets, the monitors, the look for lock waiters, and the
 *   ages of tally's snapshots.
 */
#include "guard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"

void guard_init(struct guard *g, const struct conn_cfg *cfg, double yield_after)
{
	memset(g, 0, sizeof(*g));
	pthread_mutex_init(&g->lock, NULL);
	g->cfg = *cfg;
	g->cfg.monitor = true;
	g->cfg.lock = NULL;
	g->cfg.nlock = 0;
	g->cfg.txsnap = NULL;
	g->yield_after = yield_after;
	g->last = -1e9;
}

void guard_release(struct guard *g)
{
	for (size_t i = 0; i < g->nsys; i++) {
		struct guard_sys *gs = &g->sys[i];

		if (gs->monitor)
			gs->monitor->ops->close(gs->monitor);
		free(gs->tables);
		free(gs->pids);
		free(gs->cancel);
	}
	free(g->sys);
	g->sys = NULL;
	g->nsys = 0;
	pthread_mutex_destroy(&g->lock);
}

static struct guard_sys *guard_find(struct guard *g, const struct spec_system *sys)
{
	for (size_t i = 0; i < g->nsys; i++)
		if (g->sys[i].sys == sys)
			return &g->sys[i];
	return NULL;
}

void guard_add_table(struct guard *g, const struct spec_system *sys, const char *table)
{
	struct guard_sys *gs = guard_find(g, sys);

	if (!gs) {
		g->sys = xrealloc(g->sys, (g->nsys + 1) * sizeof(*g->sys));
		gs = &g->sys[g->nsys++];
		memset(gs, 0, sizeof(*gs));
		gs->sys = sys;
		gs->snapshot_age = -1;
		gs->xmin_age = -1;
	}
	if (!table)
		return;
	for (size_t i = 0; i < gs->ntables; i++)
		if (strcmp(gs->tables[i], table) == 0)
			return;
	gs->tables = xrealloc(gs->tables, (gs->ntables + 1) * sizeof(*gs->tables));
	gs->tables[gs->ntables++] = table;
}

void guard_pid_add(struct guard *g, const struct spec_system *sys, long pid, bool cancel)
{
	struct guard_sys *gs = guard_find(g, sys);

	if (!gs || pid <= 0)
		return;
	pthread_mutex_lock(&g->lock);
	if (gs->npids == gs->cap) {
		gs->cap = gs->cap ? 2 * gs->cap : 8;
		gs->pids = xrealloc(gs->pids, gs->cap * sizeof(*gs->pids));
		gs->cancel = xrealloc(gs->cancel, gs->cap * sizeof(*gs->cancel));
	}
	gs->pids[gs->npids] = pid;
	gs->cancel[gs->npids++] = cancel;
	pthread_mutex_unlock(&g->lock);
}

void guard_pid_remove(struct guard *g, const struct spec_system *sys, long pid)
{
	struct guard_sys *gs = guard_find(g, sys);

	if (!gs)
		return;
	pthread_mutex_lock(&g->lock);
	for (size_t i = 0; i < gs->npids; i++)
		if (gs->pids[i] == pid) {
			gs->pids[i] = gs->pids[gs->npids - 1];
			gs->cancel[i] = gs->cancel[gs->npids - 1];
			gs->npids--;
			break;
		}
	pthread_mutex_unlock(&g->lock);
}

/* A copy of the pid set (and which may be cancelled), taken under the lock; owned. */
static long *guard_pids(struct guard *g, struct guard_sys *gs, size_t *n, bool **cancel)
{
	long *p;

	pthread_mutex_lock(&g->lock);
	*n = gs->npids;
	p = xcalloc(*n ? *n : 1, sizeof(*p));
	if (*n)         /* no session yet (none could connect): pids is NULL, which memcpy may not take */
		memcpy(p, gs->pids, *n * sizeof(*p));
	if (cancel) {
		*cancel = xcalloc(*n ? *n : 1, sizeof(**cancel));
		if (*n)
			memcpy(*cancel, gs->cancel, *n * sizeof(**cancel));
	}
	pthread_mutex_unlock(&g->lock);
	return p;
}

/* sys's monitor, opened on first need; NULL with err unset when the driver has no use for one. */
static struct conn *guard_monitor(struct guard *g, struct guard_sys *gs, struct tally_err *err)
{
	const struct conn_ops *ops = conn_driver(gs->sys->driver);
	struct conn_cfg cfg = g->cfg;

	err_clear(err);
	if (gs->monitor || gs->broken)
		return gs->monitor;
	if (!ops || (!ops->watch && !ops->table_stamp && !ops->cancel))
		return NULL;
	cfg.system = gs->sys->name;
	cfg.side = "monitor";
	cfg.dsn = gs->sys->dsn;
	cfg.dsn_shown = gs->sys->dsn_shown;
	if (ops->open(&gs->monitor, &cfg, err) < 0) {
		gs->monitor = NULL;
		return NULL;
	}
	return gs->monitor;
}

int guard_stamp(struct guard *g, const struct spec_system *sys, const char *table, char **out,
                struct tally_err *err)
{
	struct guard_sys *gs = guard_find(g, sys);
	struct conn *m;

	*out = NULL;
	if (!gs || !table)
		return 0;
	m = guard_monitor(g, gs, err);
	if (!m)
		return err->kind == ERR_NONE ? 0 : -1;
	if (!m->ops->table_stamp)
		return 0;
	return m->ops->table_stamp(m, table, out, err);
}

long guard_track(struct guard_seen *seen, size_t *nseen, const struct conn_watch *w, double now,
                 double yield_after, double *waited)
{
	struct guard_seen next[CONN_WAITERS_MAX];
	size_t n = 0;
	long hit = -1;

	for (size_t i = 0; i < w->nwaiters && i < CONN_WAITERS_MAX; i++) {
		double since = now, mine, theirs = w->waiters[i].seconds;

		for (size_t j = 0; j < *nseen; j++)
			if (seen[j].pid == w->waiters[i].pid)
				since = seen[j].since;
		next[n].pid = w->waiters[i].pid;
		next[n++].since = since;
		mine = now - since;
		if (theirs < mine)
			theirs = mine;
		if (hit < 0 && yield_after > 0 && theirs >= yield_after) {
			hit = (long)i;
			*waited = theirs;
		}
	}
	memcpy(seen, next, n * sizeof(*seen));
	*nseen = n;
	return hit;
}

static void guard_broken(struct guard_sys *gs, const struct tally_err *err)
{
	warn_msg("cannot watch system '%s' for sessions waiting on tally's locks: %s", gs->sys->name, err->msg);
	if (gs->monitor)
		gs->monitor->ops->close(gs->monitor);
	gs->monitor = NULL;
	gs->broken = true;
}

int guard_look(struct guard *g, double now, bool force, struct guard_yield *y)
{
	int found = 0;

	if (!force && now - g->last < 1.0)
		return 0;
	g->last = now;
	for (size_t i = 0; i < g->nsys; i++) {
		struct guard_sys *gs = &g->sys[i];
		struct tally_err err;
		struct conn_watch w;
		struct conn *m = guard_monitor(g, gs, &err);
		size_t npids;
		long *pids, hit;
		double waited = 0;
		int rc;

		if (!m) {
			if (err.kind != ERR_NONE)
				guard_broken(gs, &err);
			continue;
		}
		if (!m->ops->watch)
			continue;
		pids = guard_pids(g, gs, &npids, NULL);
		rc = m->ops->watch(m, pids, npids, gs->tables, gs->ntables, &w, &err);
		free(pids);
		if (rc < 0) {
			guard_broken(gs, &err);
			continue;
		}
		if (w.snapshot_age > gs->snapshot_age)
			gs->snapshot_age = w.snapshot_age;
		if (w.xmin_age > gs->xmin_age)
			gs->xmin_age = w.xmin_age;
		hit = guard_track(gs->seen, &gs->nseen, &w, now, g->yield_after, &waited);
		if (hit >= 0 && !found) {
			y->sys = gs->sys;
			y->waiter = w.waiters[hit];
			y->waited = waited;
			found = 1;
		}
	}
	return found;
}

void guard_cancel(struct guard *g)
{
	for (size_t i = 0; i < g->nsys; i++) {
		struct guard_sys *gs = &g->sys[i];
		struct tally_err err;
		size_t n;
		bool *cancel;
		long *pids;

		if (!gs->monitor || !gs->monitor->ops->cancel)
			continue;
		pids = guard_pids(g, gs, &n, &cancel);
		for (size_t j = 0; j < n; j++)
			if (cancel[j])
				(void)gs->monitor->ops->cancel(gs->monitor, pids[j], &err);
		free(pids);
		free(cancel);
	}
}

void guard_yield_err(const struct guard_yield *y, double yield_after, enum lockwait mode,
                     struct tally_err *err)
{
	const struct conn_waiter *w = &y->waiter;
	char app[96] = "";

	if (w->application[0])
		snprintf(app, sizeof(app), ", application '%s'", w->application);
	err_set(err, ERR_LOCKED, "system '%s': %s %ld (user '%s'%s) has waited %.0f s for %s, which tally holds: "
	        "tally let go", y->sys->name, conn_session_word(y->sys->driver), w->pid, w->user, app, y->waited,
	        w->what);
	err_detail(err, "%s%s%sa session waiting for a lock tally holds makes every later statement on its "
	           "table wait behind it; tally lets go after --yield-after %g s", w->state[0] ? "its state: " : "",
	           w->state, w->state[0] ? "; " : "", yield_after);
	if (mode == LOCKWAIT_YIELD)
		err_hint(err, "--on-lock-wait wait would wait for it to finish and go on; --yield-after 0 "
		         "never lets go");
}

json_t *guard_json(const struct guard *g)
{
	json_t *o = json_object();

	for (size_t i = 0; i < g->nsys; i++) {
		const struct guard_sys *gs = &g->sys[i];
		const struct conn *m = gs->monitor;

		if (gs->snapshot_age < 0 && gs->xmin_age < 0 && !m)
			continue;
		json_object_set_new(o, gs->sys->name, json_pack("{s:o, s:o, s:o}",
			"snapshot_age_seconds", gs->snapshot_age >= 0
				? json_real((double)(long long)(gs->snapshot_age * 10 + 0.5) / 10) : json_null(),
			"xmin_age", gs->xmin_age >= 0 ? json_integer(gs->xmin_age) : json_null(),
			"statement_timeout_seconds", m && m->statement_timeout > 0
				? json_real(m->statement_timeout) : json_null()));
	}
	if (json_object_size(o) == 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

void guard_progress(const struct guard *g, char *out, size_t n)
{
	double age = -1;
	long long xmin = -1;
	size_t len;

	for (size_t i = 0; i < g->nsys; i++) {
		if (g->sys[i].snapshot_age > age)
			age = g->sys[i].snapshot_age;
		if (g->sys[i].xmin_age > xmin)
			xmin = g->sys[i].xmin_age;
	}
	out[0] = '\0';
	if (age >= 0)
		snprintf(out, n, ", oldest snapshot %d:%02d:%02d", (int)(age / 3600), (int)(age / 60) % 60,
		         (int)age % 60);
	len = strlen(out);
	if (xmin >= 0 && len < n)
		snprintf(out + len, n - len, ", xmin age %lld", xmin);
}
