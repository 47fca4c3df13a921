/*
 * tests/integration/conn_common.h
 *   What the connector tests (test_conn_<driver>.c) share: reading the
 *   servers' environment, building a dsn, and driving any connector
 *   through its conn_ops with cmocka assertions: describe, check a
 *   description's invariants, scan by column names and compare every
 *   value byte for byte, and look for a password in an error.
 *
 * Nothing here knows a driver: a test includes it after connector.h and
 * passes its own struct conn (opened through its ops) and names. Every
 * function is static inline, so a test uses what it needs; a failed
 * check ends the test with fail_msg() or a cmocka assertion.
 */
#ifndef TALLY_TEST_CONN_COMMON_H
#define TALLY_TEST_CONN_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../connectors/connector.h"

/* ---- the environment and the dsn ------------------------------------ */

/* One variable of the environment scripts/servers.sh writes to DIR/env. */
struct cc_envvar {
	const char *name;      /* "TALLY_PG_HOST" */
	const char **value;    /* set to getenv(name), borrowed */
};

/*
 * Reads every vars[i]. Returns 0, or -1 when one is unset or empty, with
 * problem saying which and how to set them (a test's group setup fails,
 * or keeps the text to fail each test with).
 */
static inline int cc_getenv(const struct cc_envvar *vars, size_t n, char *problem, size_t cap)
{
	for (size_t i = 0; i < n; i++) {
		*vars[i].value = getenv(vars[i].name);
		if (!*vars[i].value || !**vars[i].value) {
			snprintf(problem, cap, "%s is not set: start the servers with scripts/servers.sh "
			         "start DIR and export DIR/env (set -a; . DIR/env; set +a)", vars[i].name);
			return -1;
		}
	}
	return 0;
}

/*
 * Reads the n variables names[i] into *slots[i]. False when one is unset
 * or empty, with why in problem: a group setup keeps it and every test
 * then fails with it (cc_require), none skips.
 */
static inline bool cc_env_read(const char *const *names, const char **const *slots, size_t n,
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
static inline void cc_require(const char *problem)
{
	if (problem[0])
		fail_msg("%s", problem);
}

/* Appends s to out (a string of cap bytes), percent-encoded for a URI's userinfo. */
static inline void cc_uri_encode(char *out, size_t cap, const char *s)
{
	size_t n = strlen(out);

	for (; *s && n + 4 < cap; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		    ch == '-' || ch == '_' || ch == '.')
			out[n++] = (char)ch;
		else
			n += (size_t)snprintf(out + n, cap - n, "%%%02X", ch);
	}
	out[n] = '\0';
}

/* A dsn and the same with its password shown as "***" (conn_cfg.dsn_shown). */
struct cc_dsn {
	char dsn[1024];
	char shown[1024];
};

/* scheme://user:password@hostport/tail, user and password percent-encoded. */
static inline void cc_dsn_make(struct cc_dsn *d, const char *scheme, const char *user,
                               const char *password, const char *hostport, const char *tail)
{
	snprintf(d->dsn, sizeof(d->dsn), "%s://", scheme);
	cc_uri_encode(d->dsn, sizeof(d->dsn), user);
	snprintf(d->dsn + strlen(d->dsn), sizeof(d->dsn) - strlen(d->dsn), ":");
	cc_uri_encode(d->dsn, sizeof(d->dsn), password);
	snprintf(d->dsn + strlen(d->dsn), sizeof(d->dsn) - strlen(d->dsn), "@%s/%s", hostport, tail);
	snprintf(d->shown, sizeof(d->shown), "%s://", scheme);
	cc_uri_encode(d->shown, sizeof(d->shown), user);
	snprintf(d->shown + strlen(d->shown), sizeof(d->shown) - strlen(d->shown), ":***@%s/%s",
	         hostport, tail);
}

/* ---- sessions ------------------------------------------------------------------ */

/*
 * Sessions a test opened and has not closed: a failing assertion jumps
 * out of the test, and the teardown closes them, so that their snapshots
 * do not hold locks against the cleanup.
 */
struct cc_live {
	struct conn *c[16];
};

static inline void cc_live_add(struct cc_live *l, struct conn *c)
{
	for (size_t i = 0; i < sizeof(l->c) / sizeof(l->c[0]); i++)
		if (!l->c[i]) {
			l->c[i] = c;
			return;
		}
}

/* Closes c, which may be NULL or not in l. */
static inline void cc_live_close(struct cc_live *l, struct conn *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < sizeof(l->c) / sizeof(l->c[0]); i++)
		if (l->c[i] == c)
			l->c[i] = NULL;
	c->ops->close(c);
}

static inline void cc_live_close_all(struct cc_live *l)
{
	for (size_t i = 0; i < sizeof(l->c) / sizeof(l->c[0]); i++)
		if (l->c[i]) {
			l->c[i]->ops->close(l->c[i]);
			l->c[i] = NULL;
		}
}

/* ---- errors ------------------------------------------------------------ */

/* Prints err (kind, SQLSTATE and the message as tally would) before a failure. */
static inline void cc_print_err(const struct tally_err *err)
{
	fprintf(stderr, "kind %d sqlstate '%s'\n", err->kind, err->sqlstate);
	err_print(err, stderr);
}

/* Fails when secret appears in err's message, detail or hint. */
static inline void cc_assert_no_secret(const struct tally_err *err, const char *secret)
{
	if (strstr(err->msg, secret))
		fail_msg("a password appears in the error's message");
	if (strstr(err->detail, secret))
		fail_msg("a password appears in the error's detail");
	if (strstr(err->hint, secret))
		fail_msg("a password appears in the error's hint");
}

/* ---- descriptions ------------------------------------------------------ */

static inline void cc_describe_ok(struct conn *c, const char *table, struct tabdesc *t)
{
	struct tally_err err;

	err_clear(&err);
	if (c->ops->describe_table(c, table, t, &err) < 0) {
		cc_print_err(&err);
		fail_msg("describe_table('%s') failed", table);
	}
}

static inline void cc_describe_query_ok(struct conn *c, const char *sql, struct tabdesc *t)
{
	struct tally_err err;

	err_clear(&err);
	if (c->ops->describe_query(c, sql, t, &err) < 0) {
		cc_print_err(&err);
		fail_msg("describe_query('%s') failed", sql);
	}
}

/*
 * What connector.h promises of every description, whatever the driver:
 * names for the table, its columns and their types; a query has no
 * sqlname and no key; the key names distinct columns; names are
 * distinct; fsp is 0 to 6; labels go with nlabels and an enum or set;
 * integers, floats and fixed bit strings have a width; foreign keys are
 * whole.
 */
static inline void cc_assert_sane_tabdesc(const struct tabdesc *t)
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
		if (c->type == LT_INT || c->type == LT_FLOAT || (c->type == LT_BIT && !c->bits_varying))
			assert_true(c->bits > 0);
		assert_int_equal(tabdesc_find(t, c->name), (long)i);
	}
	for (size_t i = 0; i < t->nparents + t->nchildren; i++) {
		const struct fkdesc *f = i < t->nparents ? &t->parents[i] : &t->children[i - t->nparents];

		assert_non_null(f->name);
		assert_non_null(f->table);
		assert_non_null(f->sqlname);
		assert_true(f->ncols > 0);
		for (size_t k = 0; k < f->ncols; k++)
			assert_true(f->cols[k] && f->refcols[k]);
		assert_non_null(f->on_delete);
		assert_non_null(f->on_update);
	}
	for (size_t i = 0; i < t->ntriggers; i++) {
		assert_non_null(t->triggers[i].name);
		assert_non_null(t->triggers[i].timing);
		assert_non_null(t->triggers[i].events);
	}
}

/* An expected foreign key; cols and refcols are joined with ",". */
struct cc_fk {
	const char *name, *table, *sqlname, *cols, *refcols, *on_delete, *on_update;
};

/* Fails unless got[0..n) are want[0..nwant), in order, field by field. */
static inline void cc_assert_fks(const struct fkdesc *got, size_t n, const struct cc_fk *want,
                                 size_t nwant)
{
	char buf[256];

	assert_int_equal(n, nwant);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(got[i].name, want[i].name);
		assert_string_equal(got[i].table, want[i].table);
		assert_string_equal(got[i].sqlname, want[i].sqlname);
		buf[0] = '\0';
		for (size_t k = 0, len = 0; k < got[i].ncols && len < sizeof(buf); k++)
			len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s", k ? "," : "",
			                        got[i].cols[k]);
		assert_string_equal(buf, want[i].cols);
		buf[0] = '\0';
		for (size_t k = 0, len = 0; k < got[i].ncols && len < sizeof(buf); k++)
			len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s", k ? "," : "",
			                        got[i].refcols[k]);
		assert_string_equal(buf, want[i].refcols);
		assert_string_equal(got[i].on_delete, want[i].on_delete);
		assert_string_equal(got[i].on_update, want[i].on_update);
	}
}

/* An expected trigger. */
struct cc_trigger {
	const char *name, *timing, *events;
	bool enabled;
};

/* Fails unless t's triggers are want[0..nwant), in order. */
static inline void cc_assert_triggers(const struct tabdesc *t, const struct cc_trigger *want,
                                      size_t nwant)
{
	assert_int_equal(t->ntriggers, nwant);
	for (size_t i = 0; i < nwant; i++) {
		assert_string_equal(t->triggers[i].name, want[i].name);
		assert_string_equal(t->triggers[i].timing, want[i].timing);
		assert_string_equal(t->triggers[i].events, want[i].events);
		assert_int_equal(t->triggers[i].enabled, want[i].enabled);
	}
}

/* Trigger g is exactly name, timing, events and enabled. */
static inline void cc_assert_trigger(const struct trigdesc *g, const char *name,
                                        const char *timing, const char *events, bool enabled)
{
	assert_string_equal(g->name, name);
	assert_string_equal(g->timing, timing);
	assert_string_equal(g->events, events);
	assert_int_equal(g->enabled, enabled);
}

/* ---- scans ------------------------------------------------------------- */

/* An expected value: p == NULL is SQL NULL; len counts embedded NULs. */
struct cc_val {
	const char *p;
	size_t len;
};
#define CC_V(s) { (s), sizeof(s) - 1 }
#define CC_NULL { NULL, 0 }

/* Fails unless column i of row r is e, byte for byte, and NUL-terminated. */
static inline void cc_assert_value(const struct rawrow *r, size_t i, const struct cc_val *e)
{
	if (!e->p) {
		if (r->val[i])
			fail_msg("column %zu: expected NULL, got '%.*s'", i, (int)r->len[i], r->val[i]);
		return;
	}
	if (!r->val[i])
		fail_msg("column %zu: expected '%.*s', got NULL", i, (int)e->len, e->p);
	if (r->len[i] != e->len || memcmp(r->val[i], e->p, e->len) != 0)
		fail_msg("column %zu: expected '%.*s' (%zu bytes), got '%.*s' (%zu bytes)", i,
		         (int)e->len, e->p, e->len, (int)r->len[i], r->val[i], r->len[i]);
	assert_int_equal(r->val[i][r->len[i]], '\0');
}

/*
 * The indexes in d of the columns named in names, comma-separated ("*":
 * every column; NULL or "": none), at most max. Fails on an unknown name.
 */
static inline void cc_names_to_idx(const struct tabdesc *d, const char *names, size_t *idx,
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

/*
 * A range of a scan: lo on the first nlo keys, hi on the first nhi, and a
 * page size. When nlo and nhi are 0, lo and hi bound nbound keys each.
 */
struct cc_range {
	size_t nbound;
	const struct sqlval *lo, *hi;
	uint64_t limit;
	size_t nlo, nhi;
};

/*
 * Starts a scan of t (of query, when t describes one) reading cols in the
 * order of keys (both by name, as cc_names_to_idx reads them), filtered
 * by where, within rg unless NULL. Returns scan_open's status.
 */
static inline int cc_scan_open(struct conn *c, const struct tabdesc *t, const char *query,
                               const char *where, const char *cols, const char *keys,
                               const struct cc_range *rg, struct tally_err *err)
{
	size_t ci[64], ki[8], nc, nk;
	struct scan_req req;

	cc_names_to_idx(t, cols, ci, &nc, 64);
	cc_names_to_idx(t, keys, ki, &nk, 8);
	req = (struct scan_req){
		.desc = t, .table = t->is_query ? NULL : t->display, .query = query,
		.where = where, .ncols = nc, .cols = ci, .nkey = nk, .key = ki,
	};
	if (rg) {
		req.lo = rg->lo;
		req.hi = rg->hi;
		req.limit = rg->limit;
		if (rg->nlo || rg->nhi) {
			req.nlo = rg->nlo;
			req.nhi = rg->nhi;
		} else {
			req.nlo = rg->lo ? rg->nbound : 0;
			req.nhi = rg->hi ? rg->nbound : 0;
		}
	}
	err_clear(err);
	return c->ops->scan_open(c, &req, err);
}

/*
 * Scans as cc_scan_open (no range) and asserts every row: expected holds
 * nrows x ncols values. The end of the scan must be sticky: one more
 * scan_next still says 0. Closes the scan.
 */
static inline void cc_scan_expect(struct conn *c, const struct tabdesc *t, const char *query,
                                  const char *where, const char *cols, const char *keys,
                                  const struct cc_val *expected, size_t nrows, size_t ncols)
{
	struct tally_err err;
	struct rawrow *row;
	size_t n = 0;
	int rc;

	if (cc_scan_open(c, t, query, where, cols, keys, NULL, &err) < 0) {
		cc_print_err(&err);
		fail_msg("scan_open of %s failed", t->display);
	}
	while ((rc = c->ops->scan_next(c, &row, &err)) == 1) {
		assert_true(n < nrows);
		assert_int_equal(row->ncols, ncols);
		for (size_t i = 0; i < ncols; i++)
			cc_assert_value(row, i, &expected[n * ncols + i]);
		n++;
	}
	if (rc < 0)
		cc_print_err(&err);
	assert_int_equal(rc, 0);
	assert_int_equal(n, nrows);
	assert_int_equal(c->ops->scan_next(c, &row, &err), 0);
	c->ops->scan_close(c);
}


/* ---- scans built once, checked whole (test_conn_mariadb.c) ------------- */

/* v[0..n) for a message: "text" with \xNN escapes, and its length, or NULL. */
static inline void cc_render(char *out, size_t cap, const char *v, size_t n)
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
struct cc_scan {
	size_t cols[64], ncols, key[8], nkey;
	struct scan_req req;
};

static inline void cc_scan_init(struct cc_scan *s, const struct tabdesc *d,
                                   const char *table, const char *query, const char *where,
                                   const char *cols, const char *keys)
{
	memset(s, 0, sizeof(*s));
	cc_names_to_idx(d, cols, s->cols, &s->ncols, 64);
	cc_names_to_idx(d, keys, s->key, &s->nkey, 8);
	s->req = (struct scan_req){
		.desc = d, .table = table, .query = query, .where = where,
		.ncols = s->ncols, .cols = s->cols, .nkey = s->nkey, .key = s->key,
	};
}

/*
 * Streams the whole scan and compares every value byte for byte with
 * exp (nrows rows of s->ncols values); the end is sticky.
 */
static inline void cc_scan_check(struct conn *c, const struct cc_scan *s,
                                     const struct cc_val *exp, size_t nrows)
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
			const struct cc_val *e = &exp[i * s->ncols + j];
			const char *name = s->req.desc->cols[s->cols[j]].name;
			char got[512], want[512];

			if ((e->p == NULL) != (row->val[j] == NULL) ||
			    (e->p && (row->len[j] != e->len || memcmp(row->val[j], e->p, e->len) != 0))) {
				cc_render(got, sizeof(got), row->val[j], row->len[j]);
				cc_render(want, sizeof(want), e->p, e->len);
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

/* ---- the network ------------------------------------------------------ */

/* A TCP port on 127.0.0.1 where nothing listens (bound, then released). */
static inline int cc_closed_port(void)
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
