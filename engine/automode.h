/*
 * engine/automode.h
 *   run -> AUTOMODE -> chunkpush: --mode auto's choice, made again before
 *   every window of a chunk, between digesting rows in the servers and
 *   streaming them.
 *
 * Which is cheaper depends on what cannot be known at planning: the link
 * (on loopback a row streams faster than a server writes and hashes its
 * text; across a data centre the opposite) and how many rows differ (a
 * part whose digests differ is read anyway, after its digest). So auto
 * measures both, per check, as the chunks run: wall seconds per row of
 * the digest passes (and of the splits before them), of the ranges it
 * streams by choice, and the share of digested parts that differed. It
 * first digests one window (the probe), streams while streaming's cost is
 * unknown, and then takes the cheaper by that model, with a margin that
 * favours streaming (it never asks more of the servers). While digesting
 * could win at a lower density, it probes again after every
 * AUTO_REPROBE_ROWS rows streamed by choice; when even an equal table
 * would digest slower than it streams, it never does.
 *
 * A check of fewer than AUTO_MIN_ROWS rows (the planner's estimate) is
 * streamed without a probe: a probe would cost more than it could save.
 */
#ifndef TALLY_AUTOMODE_H
#define TALLY_AUTOMODE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define AUTO_MIN_ROWS 100000        /* below this estimate a check streams */
#define AUTO_WINDOW_PARTS 8         /* parts digested between two choices */
#define AUTO_MIN_SAMPLE 1000        /* a streamed range shorter than this tells nothing of the rate */
#define AUTO_REPROBE_ROWS 200000    /* rows streamed by choice before digesting could be tried again */
#define AUTO_MARGIN 0.8             /* digesting must cost less than this share of streaming */

/* What a pushdown or auto chunk measured (wall seconds, rows of the larger side). */
struct push_costs {
	double digest_s;            /* first-level digest passes and the chunk's split */
	uint64_t digest_rows;
	double stream_s;            /* ranges streamed by choice, of AUTO_MIN_SAMPLE rows or more */
	uint64_t stream_rows;
	uint64_t parts, parts_differing;    /* first-level parts digested, and those that differed */
};

/* What a check's chunks measured so far. */
struct auto_stats {
	double digest_s;                /* wall seconds of digest passes and splits */
	uint64_t digest_rows;           /* the rows they covered (the larger side) */
	double stream_s;                /* wall seconds of ranges streamed by choice */
	uint64_t stream_rows;
	uint64_t parts, parts_differing;        /* first-level parts digested, and those whose digests differed */
	uint64_t streamed_since_probe;  /* rows streamed by choice since the last window digested */
	/*
	 * Tests only (TALLY_AUTO_COSTS="STREAM_US,DIGEST_US"): fixed costs in
	 * microseconds per row replace the measured ones, so that the choice
	 * does not depend on the machine. Negative: measured.
	 */
	double fixed_stream_us, fixed_digest_us;
};

enum auto_pick { AUTO_STREAM, AUTO_DIGEST };

/*
 * The choice for the next window, from what st measured; probing: another
 * worker is digesting a window to learn what st does not know yet. Pure.
 */
enum auto_pick auto_decide(const struct auto_stats *st, bool probing);

/* Estimated wall seconds per row of each way (0 while not measured). Pure. */
double auto_digest_cost(const struct auto_stats *st);
double auto_stream_cost(const struct auto_stats *st);

/* A check's stats, shared by the workers running its chunks. */
struct auto_meter {
	pthread_mutex_t mu;
	struct auto_stats st;
	bool probing;
};

/*
 * How an auto check ran, from its chunks: "stream" (none digested),
 * "pushdown" (every chunk digested, only narrowed ranges streamed) or
 * "mixed"; and why, with the costs measured (owned). Pure.
 */
const char *auto_outcome(uint64_t chunks_streamed, uint64_t chunks_digested, uint64_t chunks_partly);
char *auto_reason(const struct push_costs *c, uint64_t chunks_streamed, uint64_t chunks_digested,
                  uint64_t chunks_partly);

/* Empty stats; TALLY_AUTO_COSTS read here. */
void auto_meter_init(struct auto_meter *m);
void auto_meter_release(struct auto_meter *m);

/*
 * The choice for the next window. A digest the model would not pick on
 * its own (a probe) is claimed, one at a time: *claimed is set, and the
 * caller ends it with auto_meter_digested, or auto_meter_unclaim when its
 * chunk fails first.
 */
enum auto_pick auto_meter_pick(struct auto_meter *m, bool *claimed);
void auto_meter_unclaim(struct auto_meter *m);
/* A window digested: seconds, rows (the larger side), parts and how many differed. Ends a claimed probe. */
void auto_meter_digested(struct auto_meter *m, double seconds, uint64_t rows, uint64_t parts, uint64_t differing);
/* A range streamed by choice (or because most of its parts differed). */
void auto_meter_streamed(struct auto_meter *m, double seconds, uint64_t rows);

#endif
