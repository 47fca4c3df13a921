/*
 * engine/run_pool.c
 *   RUN: the worker pool: threads that take chunks from the task list,
 *   reconnect and retry after a lost connection, and stop the others on
 *   a failure; the coordinator's wait, with progress lines and the
 *   once-a-second look at who waits on tally's locks.
 */
#include "run_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chunk.h"
#include "sorter.h"
#include "work.h"

/* ---- workers ---------------------------------------------------------- */

static void fail_run(struct run *r, const struct tally_err *err)
{
	pthread_mutex_lock(&r->lock);
	if (!r->failed) {
		r->failed = true;
		r->err = *err;
	}
	pthread_mutex_unlock(&r->lock);
}

static void on_pause(void *arg, const char *system, long load)
{
	struct run *r = arg;

	if (!r->opts->quiet)
		fprintf(stderr, "\rtally: system '%s' is busy (%ld active), waiting%20s\n", system, load, "");
}

void run_env_for(struct run *r, size_t check, struct conn *cn[2], struct chunk_env *env)
{
	const struct spec_check *c = r->res[check].check;

	memset(env, 0, sizeof(*env));
	env->out = r->out.path;
	env->check = check;
	env->plan = &r->plans[check];
	env->cp = &r->cps[check];
	env->repair = r->rinfo[check];
	env->wf = r->wff && r->wff[check].keys ? &r->wff[check] : NULL;
	if (cn) {
		env->conn[0] = cn[0];
		env->conn[1] = cn[1];
	}
	env->system[0] = c->source.system;
	env->system[1] = c->target.system;
	env->sort_budget = r->opts->sort_budget;
	env->page_seconds = r->opts->page_seconds;
	env->first_page = (uint64_t)(c->chunk_rows ? c->chunk_rows : r->opts->chunk_rows);
	/*
	 * Under --max-rate a page's statement lasts as long as tally takes to
	 * read it: start with what the rate allows in a page's time, so that a
	 * gentle rate does not make the first page outlast --statement-timeout.
	 */
	if (r->opts->max_rate > 0 && (double)env->first_page > r->opts->max_rate * r->opts->page_seconds)
		env->first_page = r->opts->max_rate * r->opts->page_seconds < 100
		                  ? 100 : (uint64_t)(r->opts->max_rate * r->opts->page_seconds);
	env->rate = r->opts->max_rate > 0 ? &r->rate : NULL;
	env->max_load = r->opts->max_load;
	env->progress_rows = &r->rows_done;
	env->on_pause = on_pause;
	env->pause_arg = r;
	env->stop = &r->stop;
	env->counts = r->opts->mode == MODE_COUNTS;
	env->push = r->push[check];
	env->meter = r->meter[check];
	env->push_hash = r->push_hash[check];
}

static int run_task(struct worker *w, const struct task *t, struct tally_err *err)
{
	struct run *r = w->r;
	const struct spec_check *c = r->res[t->check].check;

	for (unsigned attempt = 0;; attempt++) {
		const struct spec_system *sys[2] = { c->source.sys, c->target.sys };
		struct conn *cn[2];
		struct chunk_env env;
		struct part_result pr;
		int rc = 0;

		for (int s = 0; s < 2 && rc == 0; s++) {
			struct session *co = run_session_find(&r->coord, sys[s], s);

			rc = run_session_get(r, &w->ss, sys[s], s, co ? co->txsnap : NULL, &cn[s], err);
		}
		if (rc == 0) {
			run_env_for(r, t->check, cn, &env);
			env.sorters = w->sorters;
			rc = chunk_run(&env, t->chunk, &pr, err);
		}
		if (rc == 0)
			return 0;
		if ((err->kind != ERR_LOST && err->kind != ERR_CONNECT) || attempt == MAX_RETRIES ||
		    tally_interrupted || r->failed)
			return -1;      /* the caller names the check */
		if (!r->opts->quiet)
			fprintf(stderr, "\rtally: check '%s': %s; retrying in %u s (%u of %u)\n", c->name, err->msg,
			        1u << attempt, attempt + 1, MAX_RETRIES);
		for (int s = 0; s < 2; s++) {
			struct session *ws = run_session_find(&w->ss, sys[s], s);

			if (ws)
				run_session_drop(r, ws);
		}
		sleep(1u << attempt);
	}
}

/*
 * A failure of the task's check alone: the check gets its error (the
 * first of its chunks to fail gives it), its other chunks are skipped,
 * and the worker goes on with fresh sessions. -1 when the run must stop.
 */
static int check_failed(struct worker *w, const struct task *t, struct tally_err *e)
{
	struct run *r = w->r;
	struct tally_err err;
	bool first = false;
	int rc = 0;

	if (!run_check_own_error(r, e))
		return err_context(e, "check '%s'", r->res[t->check].check->name);
	pthread_mutex_lock(&r->lock);
	if (!r->errored[t->check]) {
		first = true;
		rc = run_check_error(r, t->check, e, &err);
	} else {
		err_context(e, "check '%s'", r->res[t->check].check->name);
	}
	pthread_mutex_unlock(&r->lock);
	if (rc < 0) {
		*e = err;
		return -1;
	}
	if (first && r->n > 1 && !r->opts->quiet)
		fprintf(stderr, "\rtally: %s; the other checks go on\n", e->msg);
	run_sessions_close(r, &w->ss);
	return 0;
}

/* The next task whose check has no error, under r->lock; false when none is left or the run failed. */
static bool next_task(struct run *r, struct task *t)
{
	while (!r->failed && r->next < r->ntasks) {
		*t = r->tasks[r->next++];
		if (!r->errored[t->check])
			return true;
		__atomic_add_fetch(&r->chunks_done, 1, __ATOMIC_RELAXED);
	}
	return false;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct run *r = w->r;
	struct tally_err err;

	for (;;) {
		struct task t;
		bool got;

		pthread_mutex_lock(&r->lock);
		got = next_task(r, &t);
		pthread_mutex_unlock(&r->lock);
		if (!got)
			break;
		err_clear(&err);
		if (run_task(w, &t, &err) < 0 && check_failed(w, &t, &err) < 0) {
			fail_run(r, &err);
			break;
		}
		__atomic_add_fetch(&r->chunks_done, 1, __ATOMIC_RELAXED);
	}
	run_sessions_close(r, &w->ss);
	sorter_free(w->sorters[0]);
	sorter_free(w->sorters[1]);
	canon_thread_release();
	pthread_mutex_lock(&r->lock);
	r->active--;
	pthread_cond_signal(&r->idle);
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

static void human(char *out, size_t n, double v)
{
	if (v >= 1e9)
		snprintf(out, n, "%.1fG", v / 1e9);
	else if (v >= 1e6)
		snprintf(out, n, "%.1fM", v / 1e6);
	else if (v >= 1e3)
		snprintf(out, n, "%.1fk", v / 1e3);
	else
		snprintf(out, n, "%.0f", v);
}

static void draw_progress(struct run *r, bool tty, bool last)
{
	uint64_t rows = __atomic_load_n(&r->rows_done, __ATOMIC_RELAXED);
	uint64_t done = __atomic_load_n(&r->chunks_done, __ATOMIC_RELAXED);
	double el = chunk_now() - r->t0, rate = el > 0 ? (double)rows / el : 0, left = -1;
	char rs[16], rt[16], eta[32] = "?", ages[96];

	if (r->rows_total > 0 && rate > 0 && (double)rows < r->rows_total)
		left = (r->rows_total - (double)rows) / rate;
	else if (done > 0 && done < r->ntasks)
		left = el / (double)done * (double)(r->ntasks - done);
	if (left >= 0)
		snprintf(eta, sizeof(eta), "%d:%02d:%02d", (int)(left / 3600), (int)(left / 60) % 60, (int)left % 60);
	human(rs, sizeof(rs), (double)rows);
	human(rt, sizeof(rt), rate);
	guard_progress(&r->guard, ages, sizeof(ages));
	fprintf(stderr, "%stally: %llu/%zu chunks, %s rows, %s rows/s, ETA %s%s%s", tty ? "\r" : "",
	        (unsigned long long)done, r->ntasks, rs, rt, last ? "0:00:00" : eta, ages,
	        tty && !last ? "   " : "\n");
	fflush(stderr);
}

/*
 * Once a second while the workers run: keeps the coordinator's sessions
 * from an idle timeout (they hold the snapshot and the locks), looks for
 * sessions waiting on tally's locks, and after --yield-after lets go: the
 * workers stop at their next row, their statements are cancelled (again
 * at every look, until they have all ended), and the run stops with the
 * waiter named; run_chunks then closes the coordinator's sessions.
 */
static void watch_sessions(struct run *r)
{
	struct guard_yield y;
	struct tally_err e;
	double now = chunk_now();
	bool failed;

	if (now - r->guard.last < 1.0)
		return;
	for (size_t i = 0; i < r->coord.n; i++) {
		struct conn *c = r->coord.s[i].conn;

		if (c && c->ops->keepalive)
			(void)c->ops->keepalive(c, &e);
	}
	pthread_mutex_lock(&r->lock);
	failed = r->failed;
	pthread_mutex_unlock(&r->lock);
	if (guard_look(&r->guard, now, true, &y) == 1 && !r->yielded && !failed) {
		guard_yield_err(&y, r->opts->yield_after, r->opts->on_lock_wait, &e);
		r->yield = y;
		r->yielded = true;
		__atomic_store_n(&r->stop, 1, __ATOMIC_RELAXED);
		fail_run(r, &e);
	}
	if (r->yielded)
		guard_cancel(&r->guard);
}

/* pthread_create() returns its error and leaves errno alone: the message takes the code. */
int run_worker_start_error(struct tally_err *err, unsigned worker, int code)
{
	return err_set(err, ERR_INTERNAL, "cannot start worker %u: %s", worker, strerror(code));
}

int run_workers(struct run *r)
{
	unsigned jobs = r->opts->jobs ? r->opts->jobs : 1;
	struct worker *w;
	bool tty = isatty(2), show = !r->opts->quiet && (tty || r->opts->progress);
	double last = chunk_now();

	if (jobs > r->ntasks)
		jobs = r->ntasks ? (unsigned)r->ntasks : 1;
	w = xcalloc(jobs, sizeof(*w));
	r->active = (int)jobs;
	r->t0 = chunk_now();
	for (unsigned i = 0; i < jobs; i++) {
		w[i].r = r;
		int rc = pthread_create(&w[i].th, NULL, worker_main, &w[i]);

		if (rc != 0) {
			struct tally_err e;

			run_worker_start_error(&e, i + 1, rc);
			fail_run(r, &e);
			pthread_mutex_lock(&r->lock);
			r->active -= (int)(jobs - i);
			pthread_mutex_unlock(&r->lock);
			jobs = i;
			break;
		}
	}
	/* Wake every 200 ms to redraw progress, at once when the last worker ends. */
	pthread_mutex_lock(&r->lock);
	while (r->active > 0) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += 200000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&r->idle, &r->lock, &ts);
		if (r->active == 0)
			break;
		pthread_mutex_unlock(&r->lock);
		watch_sessions(r);
		if (show && (tty || chunk_now() - last >= 5.0)) {
			draw_progress(r, tty, false);
			last = chunk_now();
		}
		pthread_mutex_lock(&r->lock);
	}
	pthread_mutex_unlock(&r->lock);
	for (unsigned i = 0; i < jobs; i++)
		pthread_join(w[i].th, NULL);
	if (show && !r->failed)
		draw_progress(r, tty, true);
	else if (show && tty)
		fputc('\n', stderr);
	free(w);
	return r->failed ? -1 : 0;
}

