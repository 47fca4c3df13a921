/*
 * tests/unit/literal_cases.h
 *   The one helper of the literal tests (test_pg_literal.c,
 *   test_my_literal.c): a table of cases, each a column, a value and
 *   either the literal a driver's conn_ops.literal (a value a repair
 *   stores) or bound_literal (a range bound, only compared) must write, or
 *   the reason it must refuse with; lit_run() runs a table through one
 *   driver. Include after cmocka.h and connectors/connector.h.
 *
 * A written literal is appended exactly, after what the buffer held. A
 * refusal fails with ERR_DATA and exactly conn_lit_refused()'s wording,
 * "cannot write a value|a range bound for column 'NAME' (NATIVE): WHY",
 * leaves the buffer as it was, and never quotes the value.
 */
#ifndef TALLY_TEST_LITERAL_CASES_H
#define TALLY_TEST_LITERAL_CASES_H

#include <stdio.h>
#include <string.h>

/* Which writer a case goes through. */
enum lit_writer {
	LIT_GIVEN = -1,   /* the one lit_run() is given */
	LIT_VALUE = 0,    /* conn_ops.literal */
	LIT_BOUND = 1,    /* conn_ops.bound_literal */
};

struct lcase {
	int line;                   /* the case's line in its file, for failures */
	enum lit_writer writer;
	const struct coldesc *col;
	struct sqlval v;
	const char *want;           /* the literal written; NULL when refused */
	const char *why;            /* the reason of a refusal */
	const char *what;           /* a refusal's subject when not its writer's own ("a value") */
};

/* Cases that name their writer... */
#define LIT(col, v, want) { __LINE__, LIT_VALUE, (col), v, (want), NULL, NULL }
#define LIT_FAILS(col, v, why) { __LINE__, LIT_VALUE, (col), v, NULL, (why), NULL }
#define BOUND(col, v, want) { __LINE__, LIT_BOUND, (col), v, (want), NULL, NULL }
#define BOUND_FAILS(col, v, why) { __LINE__, LIT_BOUND, (col), v, NULL, (why), NULL }
/* A bound refused in another subject's words (what: "a value"). */
#define BOUND_FAILS_AS(col, v, why, what) { __LINE__, LIT_BOUND, (col), v, NULL, (why), (what) }
/* ...and cases of a table run through one writer. */
#define OK(col, v, literal) { __LINE__, LIT_GIVEN, (col), (v), (literal), NULL, NULL }
#define REFUSED(col, v, why) { __LINE__, LIT_GIVEN, (col), (v), NULL, (why), NULL }

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))

static inline void lit_check(const struct conn_ops *ops, const struct lcase *k, enum lit_writer w)
{
	static const char *const before[] = { [LIT_VALUE] = "INSERT (1, ", [LIT_BOUND] = "x > " };
	const struct coldesc *c = k->col;
	const char *pre;
	struct buf b = BUF_INIT;
	struct tally_err err;
	char want[ERR_MSG_MAX];
	size_t npre;
	int rc;

	if (k->writer != LIT_GIVEN)
		w = k->writer;
	pre = before[w];
	npre = strlen(pre);
	err_clear(&err);
	buf_addstr(&b, pre);
	rc = w == LIT_BOUND ? ops->bound_literal(&b, c, &k->v, &err) : ops->literal(&b, c, &k->v, &err);
	if (k->want) {
		if (rc < 0)
			fail_msg("line %d: column %s (%s): refused: %s", k->line, c->name, c->native, err.msg);
		if (strcmp(b.data + npre, k->want) != 0)
			fail_msg("line %d: column %s (%s): got [%s], expected [%s]", k->line, c->name, c->native,
			         b.data + npre, k->want);
		buf_release(&b);
		return;
	}
	snprintf(want, sizeof(want), "cannot write %s for column '%s' (%s): %s",
	         k->what ? k->what : w == LIT_BOUND ? "a range bound" : "a value", c->name, c->native, k->why);
	if (rc != -1 || err.kind != ERR_DATA || strcmp(err.msg, want) != 0)
		fail_msg("line %d: got %d, kind %d, [%s]; expected -1, ERR_DATA, [%s]", k->line, rc, err.kind,
		         rc < 0 ? err.msg : b.data + npre, want);
	if (b.len != npre || strcmp(b.data, pre) != 0)
		fail_msg("line %d: a refusal left [%s] in the buffer", k->line, b.data);
	/* Never the value itself. */
	if ((k->v.kind == SV_TEXT || k->v.kind == SV_NUMBER || k->v.kind == SV_RAW) && k->v.len > 2 &&
	    memchr(k->v.s, '\0', k->v.len) == NULL) {
		char value[256];

		snprintf(value, sizeof(value), "%.*s", (int)k->v.len, k->v.s);
		if (strstr(err.msg, value))
			fail_msg("line %d: the message quotes the value: %s", k->line, err.msg);
	}
	buf_release(&b);
}

/* Runs cases[0..n) through ops; a LIT_GIVEN case goes through w. */
static inline void lit_run(const struct conn_ops *ops, const struct lcase *cases, size_t n, enum lit_writer w)
{
	for (size_t i = 0; i < n; i++)
		lit_check(ops, &cases[i], w);
}

#endif
