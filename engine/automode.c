/*
 * engine/automode.c
 *   AUTOMODE: the cost model of --mode auto (pure) and the meter the
 *   workers of a check share (a mutex around the model's inputs).
 */
#include "automode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"

double auto_digest_cost(const struct auto_stats *st)
{
	if (st->fixed_digest_us >= 0)
		return st->fixed_digest_us * 1e-6;
	return st->digest_rows ? st->digest_s / (double)st->digest_rows : 0;
}

double auto_stream_cost(const struct auto_stats *st)
{
	if (st->fixed_stream_us >= 0)
		return st->fixed_stream_us * 1e-6;
	return st->stream_rows ? st->stream_s / (double)st->stream_rows : 0;
}

enum auto_pick auto_decide(const struct auto_stats *st, bool probing)
{
	double rd, rs, m;

	/* The probe: nothing is known of the density (nor, unfixed, of digesting's cost) before one window. */
	if (st->parts == 0)
		return probing ? AUTO_STREAM : AUTO_DIGEST;
	if (st->fixed_stream_us < 0 && st->stream_rows == 0)
		return AUTO_STREAM;     /* learn what streaming costs */
	rd = auto_digest_cost(st);
	rs = auto_stream_cost(st);
	m = (double)st->parts_differing / (double)st->parts;
	/*
	 * Digesting costs its pass over every row, and a differing part is
	 * digested again as it narrows and then read: about rd (1 + m) + m rs.
	 */
	if (rd * (1 + m) + m * rs < AUTO_MARGIN * rs)
		return AUTO_DIGEST;
	/* Digesting could still win where fewer rows differ: look again now and then. */
	if (rd < AUTO_MARGIN * rs && st->streamed_since_probe >= AUTO_REPROBE_ROWS && !probing)
		return AUTO_DIGEST;
	return AUTO_STREAM;
}

static double fixed_cost(const char *s, int which)
{
	double v[2];
	char tail;

	if (!s || sscanf(s, "%lf,%lf%c", &v[0], &v[1], &tail) != 2 || v[0] < 0 || v[1] < 0)
		return -1;
	return v[which];
}

void auto_meter_init(struct auto_meter *m)
{
	const char *fixed = getenv("TALLY_AUTO_COSTS");

	memset(m, 0, sizeof(*m));
	pthread_mutex_init(&m->mu, NULL);
	m->st.fixed_stream_us = fixed_cost(fixed, 0);
	m->st.fixed_digest_us = fixed_cost(fixed, 1);
	if (m->st.fixed_stream_us < 0 || m->st.fixed_digest_us < 0)
		m->st.fixed_stream_us = m->st.fixed_digest_us = -1;
}

void auto_meter_release(struct auto_meter *m)
{
	pthread_mutex_destroy(&m->mu);
}

enum auto_pick auto_meter_pick(struct auto_meter *m, bool *claimed)
{
	enum auto_pick p;

	pthread_mutex_lock(&m->mu);
	p = auto_decide(&m->st, m->probing);
	/* A digest the model would not pick on its own is a probe: one at a time. */
	if (p == AUTO_DIGEST && !m->probing) {
		struct auto_stats known = m->st;

		known.streamed_since_probe = 0;
		if (known.parts == 0 || auto_decide(&known, false) != AUTO_DIGEST)
			m->probing = *claimed = true;
	}
	pthread_mutex_unlock(&m->mu);
	return p;
}

void auto_meter_unclaim(struct auto_meter *m)
{
	pthread_mutex_lock(&m->mu);
	m->probing = false;
	pthread_mutex_unlock(&m->mu);
}

void auto_meter_digested(struct auto_meter *m, double seconds, uint64_t rows, uint64_t parts, uint64_t differing)
{
	pthread_mutex_lock(&m->mu);
	m->st.digest_s += seconds;
	m->st.digest_rows += rows;
	m->st.parts += parts;
	m->st.parts_differing += differing;
	m->st.streamed_since_probe = 0;
	m->probing = false;
	pthread_mutex_unlock(&m->mu);
}

void auto_meter_streamed(struct auto_meter *m, double seconds, uint64_t rows)
{
	if (rows < AUTO_MIN_SAMPLE)
		return;
	pthread_mutex_lock(&m->mu);
	m->st.stream_s += seconds;
	m->st.stream_rows += rows;
	m->st.streamed_since_probe += rows;
	pthread_mutex_unlock(&m->mu);
}

const char *auto_outcome(uint64_t chunks_streamed, uint64_t chunks_digested, uint64_t chunks_partly)
{
	if (chunks_digested == 0)
		return "stream";
	return chunks_streamed || chunks_partly ? "mixed" : "pushdown";
}

char *auto_reason(const struct push_costs *c, uint64_t chunks_streamed, uint64_t chunks_digested,
                  uint64_t chunks_partly)
{
	char d[32] = "not measured", s[32] = "not measured";

	if (c->digest_rows)
		snprintf(d, sizeof(d), "%.2f us a row", 1e6 * c->digest_s / (double)c->digest_rows);
	if (c->stream_rows)
		snprintf(s, sizeof(s), "%.2f us a row", 1e6 * c->stream_s / (double)c->stream_rows);
	return xasprintf("auto: digests in the servers %s, streaming %s; %llu of %llu digested parts differed; "
	                 "chunks: %llu streamed, %llu digested (%llu of them streamed in part)", d, s,
	                 (unsigned long long)c->parts_differing, (unsigned long long)c->parts,
	                 (unsigned long long)chunks_streamed, (unsigned long long)chunks_digested,
	                 (unsigned long long)chunks_partly);
}
