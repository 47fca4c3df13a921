/*
 * engine/guard.h
 *   run -> GUARD: keeps a run from becoming the outage, and from reading a
 *   table that changed under it. For every system a run reads it keeps
 *   the set of tally's sessions there (their backend pids) and one monitor
 *   session, without a transaction, through which the coordinator:
 *     - once a second, looks for sessions of others waiting on a lock one
 *       of tally's sessions holds (guard_look), and for how long, and
 *       reads the age of tally's oldest snapshot (and, on PostgreSQL, of
 *       the xmin it holds back), for the report and the progress line;
 *     - cancels tally's statements when the run lets go (guard_cancel);
 *     - reads table stamps (guard_stamp), which change when a table is
 *       rewritten, at the start and at the end of the run.
 *
 * Threads: the pid set is shared with the workers, which add and remove
 * their sessions (guard_pid_add, guard_pid_remove) under the guard's
 * mutex; everything else is called by the coordinator thread only.
 */
#ifndef TALLY_GUARD_H
#define TALLY_GUARD_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "../connectors/connector.h"
#include "base/err.h"
#include "spec.h"

enum lockwait { LOCKWAIT_YIELD, LOCKWAIT_WAIT };

/* How long a waiter has waited, tracked across looks. */
struct guard_seen {
	long pid;
	double since;           /* monotonic time it was first seen waiting */
};

struct guard_sys {
	const struct spec_system *sys;  /* borrowed */
	struct conn *monitor;           /* owned; opened on first need */
	bool broken;                    /* the monitor failed: warned once, not watched */
	const char **tables;            /* compared tables here, borrowed from the spec */
	size_t ntables;
	long *pids;                     /* tally's sessions here, under guard.lock */
	bool *cancel;                   /* pids[i] may be cancelled (not a coordinator's) */
	size_t npids, cap;
	double snapshot_age;            /* the oldest seen, seconds; -1 before any */
	long long xmin_age;             /* the largest seen; -1 unknown */
	struct guard_seen seen[CONN_WAITERS_MAX];
	size_t nseen;
};

struct guard {
	pthread_mutex_t lock;
	struct guard_sys *sys;
	size_t nsys;
	struct conn_cfg cfg;            /* template for monitors: limits, connect_timeout */
	double yield_after;             /* seconds; 0: never let go */
	double last;                    /* when guard_look last looked */
};

/* Who tally lets go for: filled by guard_look. */
struct guard_yield {
	const struct spec_system *sys;
	struct conn_waiter waiter;
	double waited;                  /* seconds */
};

/* cfg: limits and connect_timeout for the monitors (borrowed fields are copied as pointers). */
void guard_init(struct guard *g, const struct conn_cfg *cfg, double yield_after);
/* Closes the monitors and frees everything. */
void guard_release(struct guard *g);

/* Records that a run compares table (as the spec names it; NULL for a query) on sys. */
void guard_add_table(struct guard *g, const struct spec_system *sys, const char *table);

/* A session of tally's on sys opened or closed; cancel: a worker's, which guard_cancel may stop. */
void guard_pid_add(struct guard *g, const struct spec_system *sys, long pid, bool cancel);
void guard_pid_remove(struct guard *g, const struct spec_system *sys, long pid);

/*
 * The table's stamp now (connector.h: table_stamp), through sys's
 * monitor; *out owned, NULL when the table or the driver has none.
 */
int guard_stamp(struct guard *g, const struct spec_system *sys, const char *table, char **out,
                struct tally_err *err);

/*
 * Looks at every system, at most once a second (force: now), and keeps
 * the ages. Returns 1 with *y filled when a session has waited
 * yield_after seconds or more on a lock of tally's, else 0. A monitor
 * that fails is warned about once and no longer watched.
 */
int guard_look(struct guard *g, double now, bool force, struct guard_yield *y);

/* Cancels the statements of every session of tally's that may be cancelled. */
void guard_cancel(struct guard *g);

/* The error for a run that lets go for y: ERR_LOCKED, naming the waiter. */
void guard_yield_err(const struct guard_yield *y, double yield_after, enum lockwait mode,
                     struct tally_err *err);

/*
 * report.json's "sessions": per system, the oldest snapshot's age, the
 * xmin age (PostgreSQL) and the statement limit in force; NULL when no
 * system was watched.
 */
json_t *guard_json(const struct guard *g);

/* ", oldest snapshot 0:01:05, xmin age 1234" for the progress line, or "". */
void guard_progress(const struct guard *g, char *out, size_t n);

/*
 * The pure part of guard_look: updates seen (what was waiting before)
 * with w (what waits now) at time now, and returns the index in w of the
 * first waiter that has waited at least yield_after seconds (the
 * server's own count or tally's, the longer), -1 when none has or
 * yield_after is 0. *waited is its wait.
 */
long guard_track(struct guard_seen *seen, size_t *nseen, const struct conn_watch *w, double now,
                 double yield_after, double *waited);

#endif
