/*
 * engine/chunkrun.h
 *   run -> CHUNKRUN -> work: compares one chunk of one check. Reads each
 *   side's part of the key range in pages sized to a target query time (a
 *   skewed or gappy chunk never becomes one giant query), sorts locally a
 *   side whose server order is not bytewise (such a side reads each
 *   chunk, sized to the sort budget, in one statement without ORDER BY;
 *   two such sides are read in turns), merges, and writes the chunk's
 *   part: its difference lines, its repair records, the rows it found on
 *   one side only when chunks may disagree on membership, and its
 *   result, last. Several workers run chunks at once, each with its own
 *   sessions: nothing here is shared but the rate limiter and the progress
 *   counter.
 */
#ifndef TALLY_CHUNKRUN_H
#define TALLY_CHUNKRUN_H

#include <pthread.h>
#include <stdint.h>

#include "../connectors/connector.h"
#include "chunk.h"
#include "plan.h"
#include "repair.h"
#include "wfkeys.h"
#include "work.h"

struct sorter;
struct auto_meter;

/* --max-rate: a token bucket shared by every worker. */
struct ratelimit {
	pthread_mutex_t lock;
	double rate;                /* rows per second; 0: no limit */
	double tokens;
	double last;
};

void ratelimit_init(struct ratelimit *r, double rate);
/* Takes n rows' worth of tokens, sleeping until they are there. */
void ratelimit_take(struct ratelimit *r, double n);
void ratelimit_release(struct ratelimit *r);

struct chunk_env {
	const char *out;                    /* output directory; parts go to its work directory */
	size_t check;                       /* the check's index in the run */
	const struct plan *plan;
	const struct chunkplan *cp;
	const struct repair_info *repair;   /* NULL: the check repairs nothing */
	struct conn *conn[2];               /* the worker's sessions for source and target */
	const char *system[2];
	size_t sort_budget;                 /* bytes held in memory per local sort */
	double page_seconds;                /* target time of one page query */
	uint64_t first_page;                /* rows asked in a chunk's first page */
	struct ratelimit *rate;             /* NULL: no limit */
	long max_load;                      /* pause while a server is busier; 0: never */
	uint64_t *progress_rows;            /* rows read, added to atomically; NULL: not counted */
	void (*on_pause)(void *arg, const char *system, long load);   /* NULL: silent */
	void *pause_arg;
	const int *stop;                    /* read atomically: when set, the chunk stops at the next row */
	bool counts;                        /* --mode counts: count the chunk's rows in each server, read none */
	/*
	 * NULL, or the worker's two sorters (source, target; each NULL until
	 * first needed): a chunk that sorts a side takes that side's, renewed
	 * (sorter_renew), and leaves it to the worker, which frees both at the
	 * end. Kept across chunks, their memory is allocated and mapped once.
	 */
	struct sorter **sorters;
	/* A workflow's step: differences of keys outside the workflow's set are dropped (counted). NULL: none. */
	const struct wf_filter *wf;
	bool push;                          /* --mode pushdown: digest in the servers, stream what differs */
	struct auto_meter *meter;           /* --mode auto (with push): the check's shared meter; else NULL */
	enum digest_hash push_hash;         /* with push: the hash both sides digest with (push_hash_pick) */
};

/* What each side's session cost since before (its io then), into out. */
void chunk_io_since(const struct chunk_env *env, const struct conn_io before[2], struct conn_io out[2]);

/* Compares chunk id and commits its part (in the check's mode). */
int chunk_run(const struct chunk_env *env, size_t id, struct part_result *res, struct tally_err *err);

/*
 * For a plan with reconcile set, once every chunk's part is done: matches
 * the rows the chunks found on one side only, by key across all of them,
 * and commits the reconciliation part with the final verdicts.
 */
int chunk_reconcile(const struct chunk_env *env, struct part_result *res, struct tally_err *err);

/* Monotonic seconds. */
double chunk_now(void);
/* Wall-clock seconds since the epoch: comparable across runs and machines. */
double chunk_wall(void);

#endif
