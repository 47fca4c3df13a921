/*
 * tests/integration/conn_common.h
 *   What the connector tests (test_conn_mariadb.c, test_conn_postgres.c)
 *   share, as static inline functions: the servers' environment, the
 *   sessions a test has open, scans named by column, and the assertions on
 *   descriptions, streamed rows and errors. Nothing here knows a driver:
 *   every function works through the struct conn it is given (c->ops).
 *   Include it after cmocka.h and connector.h.
 */
#ifndef TALLY_TEST_CONN_COMMON_H
#define TALLY_TEST_CONN_COMMON_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- environment ------------------------------------------------------------ */

/*
 * Reads the n variables names[i] into *slots[i]. False when one is unset
 * or empty, with why in problem: a group setup keeps it and every test
 * then fails with it (ctest_require), none skips.
 */
static inline bool ctest_env_read(const char *const *names, const char **const *slots, size_t n,
                                  char *problem, size_t cap)
{
	for (size_t i = 0; i < n; i++) {
		*slots[i] = getenv(names[i]);
		if (!*slots[i] || !**slots[i]) {
			snprintf(problem, cap, "%s is not set: start the servers with scripts/servers.sh "
			         "start DIR and export DIR/env (set -a; . DIR/env; set +a)", names[i]);
			return false;
		}
	}
	return true;
}

/* Fails the test when the environment is unusable (problem is not ""). */
static inline void ctest_require(const char *problem)
{
	if (problem[0])
		fail_msg("%s", problem);
}

/* ---- sessions ------------------------------------------------------------------ */

/*
 * Sessions a test opened and has not closed: a failing assertion jumps
 * out of the test, and the teardown closes them, so that their snapshots
 * do not hold locks against the cleanup.
 */
struct ctest_live {
	struct conn *c[16];
};

static inline void ctest_live_add(struct ctest_live *l, struct conn *c)
{
	for (size_t i = 0; i < sizeof(l->c) / sizeof(l->c[0]); i++)
		if (!l->c[i]) {
			l->c[i] = c;
			return;
		}
}

/* Closes c, which may be NULL or not in l. */
static inline void ctest_live_close(struct ctest_live *l, struct conn *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < sizeof(l->c) / sizeof(l->c[0]); i++)
		if (l->c[i] == c)
			l->c[i] = NULL;
	c->ops->close(c);
}

static inline void ctest_live_close_all(struct ctest_live *l)
{
	for (size_t i = 0; i < sizeof(l->c) / sizeof(l->c[0]); i++)
		if (l->c[i]) {
			l->c[i]->ops->close(l->c[i]);
			l->c[i] = NULL;
		}
}

/* ---- descriptions ------------------------------------------------------------- */

static inline void ctest_describe(struct conn *c, const char *table, struct tabdesc *t)
{
	struct tally_err err;

	err_clear(&err);
	if (c->ops->describe_table(c, table, t, &err) < 0)
		fail_msg("describe_table(%s): %s / %s", table, err.msg, err.detail);
}

static inline void ctest_describe_query(struct conn *c, const char *query, struct tabdesc *t)
{
	struct tally_err err;

	err_clear(&err);
	if (c->ops->describe_query(c, query, t, &err) < 0)
		fail_msg("describe_query(%s): %s / %s", query, err.msg, err.detail);
}

/* Invariants every description holds, whatever the driver (git's assert_sane_strbuf). */
static inline void ctest_assert_sane_tabdesc(const struct tabdesc *t)
{
	assert_non_null(t->display);
	assert_true(t->is_query == (t->sqlname == NULL));
	assert_true(t->ncols > 0);
	assert_non_null(t->cols);
	if (t->is_query)
		assert_int_equal(t->npk, 0);
	assert_true(t->npk <= t->ncols);
	for (size_t i = 0; i < t->npk; i++) {
		assert_true(t->pk[i] < t->ncols);
		for (size_t j = 0; j < i; j++)
			assert_true(t->pk[i] != t->pk[j]);
	}
	for (size_t i = 0; i < t->ncols; i++) {
		const struct coldesc *c = &t->cols[i];

		assert_non_null(c->name);
		assert_non_null(c->native);
		assert_true(c->fsp >= 0 && c->fsp <= 6);
		assert_true((c->labels == NULL) == (c->nlabels == 0));
		if (c->nlabels)
			assert_true(c->type == LT_ENUM || c->type == LT_SET);
		if (c->type == LT_INT || c->type == LT_FLOAT || c->type == LT_BIT)
			assert_true(c->bits > 0);
		assert_int_equal(tabdesc_find(t, c->name), (long)i);
	}
}

/* Trigger g is exactly name, timing, events and enabled. */
static inline void ctest_assert_trigger(const struct trigdesc *g, const char *name,
                                        const char *timing, const char *events, bool enabled)
{
	assert_string_equal(g->name, name);
	assert_string_equal(g->timing, timing);
	assert_string_equal(g->events, events);
	assert_int_equal(g->enabled, enabled);
}

/* ---- scans and rows --------------------------------------------------------------- */

/* An expected value: bytes and length, or SQL NULL. */
struct ctest_val {
	const char *s;
	size_t n;
};

#define CTEST_V(lit) { (lit), sizeof(lit) - 1 }
#define CTEST_VNULL { NULL, 0 }

/* v[0..n) for a message: "text" with \xNN escapes, and its length, or NULL. */
static inline void ctest_render(char *out, size_t cap, const char *v, size_t n)
{
	size_t o = 0;

	if (!v) {
		snprintf(out, cap, "NULL");
		return;
	}
	o += (size_t)snprintf(out, cap, "\"");
	for (size_t i = 0; i < n && o + 8 < cap; i++) {
		unsigned char ch = (unsigned char)v[i];

		if (ch < 0x20 || ch >= 0x7f || ch == '"' || ch == '\\')
			o += (size_t)snprintf(out + o, cap - o, "\\x%02x", ch);
		else
			out[o++] = (char)ch;
	}
	snprintf(out + o, cap - o, "\" (%zu bytes)", n);
}

/* A scan request built from column names ("*" for all) and key names. */
struct ctest_scan {
	size_t cols[64], ncols, key[8], nkey;
	struct scan_req req;
};

/* Comma-separated names of d ("*": every column) into idx[0..*n), at most max. */
static inline void ctest_names_to_idx(const struct tabdesc *d, const char *names, size_t *idx,
                                      size_t *n, size_t max)
{
	char copy[512], *save = NULL;

	*n = 0;
	if (!names || !*names)
		return;
	if (strcmp(names, "*") == 0) {
		for (size_t i = 0; i < d->ncols && i < max; i++)
			idx[(*n)++] = i;
		return;
	}
	snprintf(copy, sizeof(copy), "%s", names);
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		long i = tabdesc_find(d, tok);

		if (i < 0)
			fail_msg("no column '%s' in %s", tok, d->display);
		assert_true(*n < max);
		idx[(*n)++] = (size_t)i;
	}
}

static inline void ctest_scan_init(struct ctest_scan *s, const struct tabdesc *d,
                                   const char *table, const char *query, const char *where,
                                   const char *cols, const char *keys)
{
	memset(s, 0, sizeof(*s));
	ctest_names_to_idx(d, cols, s->cols, &s->ncols, 64);
	ctest_names_to_idx(d, keys, s->key, &s->nkey, 8);
	s->req = (struct scan_req){
		.desc = d, .table = table, .query = query, .where = where,
		.ncols = s->ncols, .cols = s->cols, .nkey = s->nkey, .key = s->key,
	};
}

/*
 * Streams the whole scan and compares every value byte for byte with
 * exp (nrows rows of s->ncols values); the end is sticky.
 */
static inline void ctest_expect_scan(struct conn *c, const struct ctest_scan *s,
                                     const struct ctest_val *exp, size_t nrows)
{
	struct tally_err err;
	struct rawrow *row;
	size_t i = 0;
	int rc;

	if (c->ops->scan_open(c, &s->req, &err) < 0)
		fail_msg("scan_open: %s / %s", err.msg, err.detail);
	while ((rc = c->ops->scan_next(c, &row, &err)) == 1) {
		if (i >= nrows)
			fail_msg("more than the %zu expected rows", nrows);
		assert_int_equal(row->ncols, s->ncols);
		for (size_t j = 0; j < s->ncols; j++) {
			const struct ctest_val *e = &exp[i * s->ncols + j];
			const char *name = s->req.desc->cols[s->cols[j]].name;
			char got[512], want[512];

			if ((e->s == NULL) != (row->val[j] == NULL) ||
			    (e->s && (row->len[j] != e->n || memcmp(row->val[j], e->s, e->n) != 0))) {
				ctest_render(got, sizeof(got), row->val[j], row->len[j]);
				ctest_render(want, sizeof(want), e->s, e->n);
				fail_msg("row %zu column %s: got %s, expected %s", i, name, got, want);
			}
		}
		i++;
	}
	if (rc < 0)
		fail_msg("scan_next: %s / %s", err.msg, err.detail);
	assert_int_equal(i, nrows);
	assert_int_equal(c->ops->scan_next(c, &row, &err), 0);
	c->ops->scan_close(c);
}

/* ---- errors and the network ---------------------------------------------------- */

/* No part of err (message, detail, hint) holds the secret. */
static inline void ctest_assert_no_secret(const struct tally_err *err, const char *secret)
{
	if (strstr(err->msg, secret) || strstr(err->detail, secret) || strstr(err->hint, secret))
		fail_msg("a password appears in the error: %s / %s / %s", err->msg, err->detail,
		         err->hint);
}

/* A TCP port on 127.0.0.1 where nothing listens (bound, then released). */
static inline int ctest_closed_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	assert_true(fd >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

#endif
