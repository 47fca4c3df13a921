/*
 * engine/init.c
 *   catalogs -> INIT -> a spec file (see init.h). The check each pair of
 *   tables would get is built exactly as a schema check builds it
 *   (schema_table_check, then plan_build), so what the comments say is
 *   what `tally check` will find.
 */
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../connectors/connector.h"
#include "base/buf.h"
#include "base/err.h"
#include "plan.h"
#include "schema.h"
#include "spec.h"

static const char *const VARS[2] = { "TALLY_SOURCE_PASSWORD", "TALLY_TARGET_PASSWORD" };
static const char *const SIDES[2] = { "source", "target" };

/* The driver whose check_dsn takes the uri: the connectors know their schemes. */
const char *init_driver(const char *dsn)
{
	const char *const *names = conn_driver_names();

	if (!strstr(dsn, "://"))
		return NULL;    /* a password in key=value form could not be replaced by ${VAR} */
	for (size_t i = 0; names[i]; i++) {
		const struct conn_ops *ops = conn_driver(names[i]);
		struct tally_err e;

		err_clear(&e);
		if (ops && !ops->takes_path && ops->check_dsn && ops->check_dsn(dsn, &e) == 0)
			return ops->driver;
	}
	return NULL;
}

/* Appends s[0..n) with every '$' doubled, so that ${VAR} expansion gives it back. */
static void add_dollars(struct buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '$')
			buf_addch(b, '$');
		buf_addch(b, s[i]);
	}
}

char *init_dsn_ref(const char *dsn, const char *var, bool *had_password)
{
	const char *auth = strstr(dsn, "://"), *end, *at = NULL, *colon;
	struct buf b = BUF_INIT;
	const char *p;

	*had_password = false;
	auth = auth ? auth + 3 : dsn;
	end = auth + strcspn(auth, "/?#");
	for (p = auth; p < end; p++)
		if (*p == '@')
			at = p;
	colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
	if (colon) {
		add_dollars(&b, dsn, (size_t)(colon + 1 - dsn));
		buf_addf(&b, "${%s}", var);
		*had_password = true;
		p = at;
	} else {
		p = dsn;
	}
	/* A password= parameter: after the '?', between '&'s. */
	while (*p) {
		const char *param = strstr(p, "password=");

		if (!param || param == dsn || (param[-1] != '?' && param[-1] != '&')) {
			size_t n = param ? (size_t)(param + 1 - p) : strlen(p);

			add_dollars(&b, p, n);
			p += n;
			continue;
		}
		add_dollars(&b, p, (size_t)(param + 9 - p));
		buf_addf(&b, "${%s}", var);
		*had_password = true;
		p = param + 9 + strcspn(param + 9, "&#");
	}
	return buf_detach(&b, NULL);
}

char *init_default_schema(const char *dsn, const char *driver)
{
	const char *auth = strstr(dsn, "://"), *path;
	size_t n;

	const struct conn_ops *ops = conn_driver(driver);

	if (ops && ops->default_schema)
		return xstrdup(ops->default_schema);
	if (!auth)
		return NULL;
	path = strchr(auth + 3, '/');
	if (!path)
		return NULL;
	n = strcspn(path + 1, "?#");
	return n ? xstrndup(path + 1, n) : NULL;
}

/* ---- writing the spec ---------------------------------------------------- */

/* A YAML double-quoted scalar. */
static void add_quoted(struct buf *b, const char *s)
{
	buf_addch(b, '"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			buf_addch(b, '\\');
		if ((unsigned char)*s < 0x20)
			buf_addf(b, "\\x%02x", (unsigned char)*s);
		else
			buf_addch(b, *s);
	}
	buf_addch(b, '"');
}

/* Text inside a comment: one line, whatever the catalog holds. */
static void add_comment_text(struct buf *b, const char *s)
{
	for (; *s; s++)
		buf_addch(b, (unsigned char)*s < 0x20 ? '?' : *s);
}

/* A name for the spec and its check: [a-z0-9_-], from the source schema. */
static char *spec_name_of(const char *schema)
{
	struct buf b = BUF_INIT;

	for (const char *p = schema; *p && b.len < 60; p++) {
		char c = *p >= 'A' && *p <= 'Z' ? (char)(*p - 'A' + 'a') : *p;

		buf_addch(&b, (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ? c : '-');
	}
	if (!b.len)
		buf_addstr(&b, "init");
	return buf_detach(&b, NULL);
}

struct init_state {
	const struct init_opts *o;
	const char *driver[2];
	char *schema[2];
	char *shown[2];         /* the dsns with any password masked */
	struct conn *c[2];
	struct tablist l[2];
	struct buf head;        /* comments about the tables */
	struct buf tables;      /* the tables: overrides */
	struct buf notes;       /* per-table comments that need no override */
};

/*
 * The option the refusal's hint names (its first `...`), as a commented-out
 * columns: entry; none when the hint names none. columns: lists the
 * columns compared, so the line says to list the others too.
 */
static void option_line(struct buf *b, const struct plan_refused *r)
{
	const char *open = strchr(r->hint, '`'), *close = open ? strchr(open + 1, '`') : NULL;

	if (!close || !memchr(open, ':', (size_t)(close - open)))
		return;
	buf_addstr(b, "        # columns: [{ name: ");
	add_comment_text(b, r->source);
	buf_addstr(b, ", ");
	buf_add(b, open + 1, (size_t)(close - open - 1));
	buf_addstr(b, " }, ...every other column to compare]\n");
}

/* What the check of one pair of tables finds: comments, and ignore: for refused pairs. */
static void init_table(struct init_state *st, const struct spec_check *parent, const struct tabentry *se,
                       const struct tabentry *te)
{
	struct spec spec = { .file = (char *)"tally-init" };
	struct spec_check c;
	struct plan p;
	struct tally_err err;

	schema_table_check(&c, parent, se, te, NULL);
	err_clear(&err);
	if (plan_build(&p, &spec, &c, st->c[0], st->c[1], &err) < 0) {
		buf_addf(&st->notes, "    #   %s: ", se->name);
		add_comment_text(&st->notes, err.msg);
		buf_addstr(&st->notes, " (the check of this table fails until that is settled)\n");
		spec_check_release(&c);
		return;
	}
	if (p.multiset) {
		buf_addf(&st->notes, "    #   ");
		add_comment_text(&st->notes, se->name);
		buf_addstr(&st->notes, ": no primary key and no unique index on NOT NULL columns: compared as whole "
		           "rows (match: multiset)\n");
	}
	for (int s = 0; s < 2; s++)
		for (size_t i = 0; i < p.nonly[s]; i++) {
			buf_addstr(&st->notes, "    #   ");
			add_comment_text(&st->notes, se->name);
			buf_addstr(&st->notes, ": column ");
			add_comment_text(&st->notes, p.only[s][i]);
			buf_addf(&st->notes, " on the %s side only (a finding)\n", SIDES[s]);
		}
	if (p.nrefused) {
		buf_addstr(&st->tables, "      ");
		add_quoted(&st->tables, se->name);
		buf_addstr(&st->tables, ":\n");
		for (size_t i = 0; i < p.nrefused; i++) {
			const struct plan_refused *r = &p.refused[i];

			buf_addstr(&st->tables, "        # ");
			add_comment_text(&st->tables, r->source);
			buf_addstr(&st->tables, " is left out: ");
			add_comment_text(&st->tables, r->message);
			buf_addstr(&st->tables, r->detail[0] ? "; " : "\n");
			add_comment_text(&st->tables, r->detail);
			buf_addstr(&st->tables, r->detail[0] ? "\n" : "");
			buf_addstr(&st->tables, "        # to compare it: ");
			add_comment_text(&st->tables, r->hint[0] ? r->hint : "compare through a query that converts one side");
			buf_addch(&st->tables, '\n');
			option_line(&st->tables, r);
		}
		buf_addstr(&st->tables, "        ignore: [");
		for (size_t i = 0; i < p.nrefused; i++) {
			buf_addstr(&st->tables, i ? ", " : "");
			add_quoted(&st->tables, p.refused[i].source);
		}
		buf_addstr(&st->tables, "]\n");
	}
	plan_release(&p);
	spec_check_release(&c);
}

static int open_side(struct init_state *st, int s, struct tally_err *err)
{
	const struct conn_ops *ops = conn_driver(st->driver[s]);
	struct conn_cfg cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.system = SIDES[s];
	cfg.side = SIDES[s];
	cfg.dsn = st->o->dsn[s];
	cfg.dsn_shown = st->shown[s];
	cfg.connect_timeout = st->o->connect_timeout;
	if (ops->open(&st->c[s], &cfg, err) < 0)
		return -1;
	return ops->list_tables(st->c[s], st->schema[s], false, &st->l[s], err);
}

/* The tables of both sides, paired as a schema check pairs them, each planned. */
static int survey(struct init_state *st, const struct spec_check *parent, struct tally_err *err)
{
	const char **names[2];
	struct schema_match m;
	int rc;

	for (int s = 0; s < 2; s++) {
		names[s] = xcalloc(st->l[s].n + 1, sizeof(char *));
		for (size_t i = 0; i < st->l[s].n; i++)
			names[s][i] = st->l[s].t[i].name;
	}
	rc = schema_match_tables(parent->schema, "tally-init", parent->name, names[0], st->l[0].n, names[1],
	                         st->l[1].n, &m, err);
	if (rc == 0) {
		for (int s = 0; s < 2; s++) {
			size_t n = s == 0 ? m.nsrc_only : m.ntgt_only;
			const size_t *only = s == 0 ? m.src_only : m.tgt_only;

			if (!n)
				continue;
			buf_addf(&st->head, "    # Tables on the %s side only (each a finding: the run is inconsistent\n"
			         "    # until they are migrated or left out with exclude: [...]):\n    #  ", SIDES[s]);
			for (size_t i = 0; i < n; i++) {
				buf_addstr(&st->head, " ");
				add_comment_text(&st->head, names[s][only[i]]);
			}
			buf_addch(&st->head, '\n');
		}
		buf_addf(&st->head, "    # %zu table%s on both sides.\n", m.npairs, m.npairs == 1 ? "" : "s");
		for (size_t i = 0; i < m.npairs; i++)
			init_table(st, parent, &st->l[0].t[m.pairs[i].src], &st->l[1].t[m.pairs[i].tgt]);
		schema_match_release(&m);
	}
	free(names[0]);
	free(names[1]);
	return rc;
}

static void compose(struct init_state *st, struct buf *out, const char *name, const char *const *dsnref)
{
	char now[32];
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm);
	buf_addf(out, "# A starting spec, written by tally init at %s from the catalogs of\n"
	         "# both systems. Review it, then: tally check FILE\n", now);
	for (int s = 0; s < 2; s++) {
		buf_addf(out, "# %s: ", SIDES[s]);
		add_comment_text(out, st->shown[s]);
		buf_addstr(out, ", schema ");
		add_comment_text(out, st->schema[s]);
		buf_addch(out, '\n');
	}
	buf_addf(out, "version: 1\nname: %s\nsystems:\n", name);
	for (int s = 0; s < 2; s++) {
		buf_addf(out, "  %s: { driver: %s, dsn: ", SIDES[s], st->driver[s]);
		add_quoted(out, dsnref[s]);
		buf_addstr(out, " }\n");
	}
	buf_addf(out, "checks:\n  - name: %s\n", name);
	for (int s = 0; s < 2; s++) {
		buf_addf(out, "    %s: { system: %s, schema: ", SIDES[s], SIDES[s]);
		add_quoted(out, st->schema[s]);
		buf_addstr(out, " }\n");
	}
	buf_add(out, st->head.data, st->head.len);
	if (st->notes.len)
		buf_addf(out, "    # Per table:\n%s", st->notes.data);
	if (st->tables.len)
		buf_addf(out, "    tables:\n%s", st->tables.data);
}

/* Writes text to path through a temporary file; never replaces a file that exists. */
static int write_new(const char *path, const struct buf *text, struct tally_err *err)
{
	struct stat sb;
	char *tmp = xasprintf("%s.XXXXXX", path);
	int fd, rc = 0;

	if (lstat(path, &sb) == 0) {
		free(tmp);
		err_set(err, ERR_IO, "'%s' exists: tally init never replaces a file", path);
		return err_hint(err, "give another -o FILE, or move the file away first");
	}
	fd = mkstemp(tmp);
	if (fd < 0) {
		rc = err_set(err, ERR_IO, "cannot create a file next to '%s': %s", path, strerror(errno));
		free(tmp);
		return rc;
	}
	if (write(fd, text->data, text->len) != (ssize_t)text->len || fsync(fd) < 0)
		rc = err_set(err, ERR_IO, "cannot write '%s': %s", tmp, strerror(errno));
	if (close(fd) < 0 && rc == 0)
		rc = err_set(err, ERR_IO, "cannot write '%s': %s", tmp, strerror(errno));
	/* link() fails when path appeared meanwhile: nothing is ever replaced. */
	if (rc == 0 && link(tmp, path) < 0)
		rc = err_set(err, ERR_IO, errno == EEXIST ? "'%s' exists: tally init never replaces a file"
		                                          : "cannot create '%s': %s", path, strerror(errno));
	unlink(tmp);
	free(tmp);
	return rc;
}

static void state_release(struct init_state *st)
{
	for (int s = 0; s < 2; s++) {
		if (st->c[s])
			st->c[s]->ops->close(st->c[s]);
		tablist_release(&st->l[s]);
		free(st->schema[s]);
		free(st->shown[s]);
	}
	buf_release(&st->head);
	buf_release(&st->tables);
	buf_release(&st->notes);
}

/* Drivers, schemas and shown dsns; -1 with err set when a DSN says too little. */
static int settle(struct init_state *st, struct tally_err *err)
{
	for (int s = 0; s < 2; s++) {
		st->driver[s] = init_driver(st->o->dsn[s]);
		st->shown[s] = spec_redact_dsn(st->o->dsn[s]);
		if (!st->driver[s]) {
			err_set(err, ERR_USAGE, "--%s: the DSN must start with postgresql://, mariadb:// or mysql://",
			        SIDES[s]);
			return -1;
		}
		st->schema[s] = st->o->schema[s] ? xstrdup(st->o->schema[s])
		                                 : init_default_schema(st->o->dsn[s], st->driver[s]);
		if (!st->schema[s]) {
			err_set(err, ERR_USAGE, "--%s-schema is needed: the DSN names no database", SIDES[s]);
			return -1;
		}
	}
	return 0;
}

int init_run(const struct init_opts *o)
{
	struct init_state st = { .o = o };
	struct spec_schema none = { 0 };
	struct spec_check parent = { 0 };
	struct tally_err err;
	struct buf out = BUF_INIT;
	char *dsnref[2] = { NULL, NULL }, *name = NULL;
	bool pw[2] = { false, false };
	int rc = -1;

	err_clear(&err);
	if (settle(&st, &err) < 0 || open_side(&st, 0, &err) < 0 || open_side(&st, 1, &err) < 0)
		goto out;
	name = spec_name_of(st.schema[0]);
	parent.name = name;
	parent.schema = &none;
	parent.source.schema = st.schema[0];
	parent.target.schema = st.schema[1];
	parent.source.system = (char *)SIDES[0];
	parent.target.system = (char *)SIDES[1];
	if (survey(&st, &parent, &err) < 0)
		goto out;
	for (int s = 0; s < 2; s++)
		dsnref[s] = init_dsn_ref(o->dsn[s], VARS[s], &pw[s]);
	compose(&st, &out, name, (const char *const *)dsnref);
	if (o->out)
		rc = write_new(o->out, &out, &err);
	else
		rc = fwrite(out.data, 1, out.len, stdout) == out.len && fflush(stdout) == 0
		     ? 0 : err_set(&err, ERR_IO, "cannot write the spec to stdout");
	for (int s = 0; s < 2 && rc == 0; s++)
		if (pw[s])
			fprintf(stderr, "tally: the spec reads the %s password from ${%s}: export it before tally check\n",
			        SIDES[s], VARS[s]);
	if (rc == 0 && o->out)
		fprintf(stderr, "tally: wrote %s\n", o->out);
out:
	if (rc < 0)
		err_print(&err, stderr);
	free(dsnref[0]);
	free(dsnref[1]);
	free(name);
	buf_release(&out);
	state_release(&st);
	return rc < 0 ? 2 : 0;
}
