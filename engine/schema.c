/*
 * engine/schema.c
 *   spec, catalogs -> SCHEMA -> spec: a schema check becomes one check per
 *   table both sides hold (see schema.h). The matching is a pure function
 *   of the two name lists; the expansion around it opens one read-only
 *   session per side, lists the tables, and closes it again: the run that
 *   follows opens its own sessions and snapshots.
 */
#include "schema.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../connectors/connector.h"
#include "base/buf.h"

void schema_match_release(struct schema_match *m)
{
	if (!m)
		return;
	free(m->pairs);
	free(m->src_only);
	free(m->tgt_only);
	memset(m, 0, sizeof(*m));
}

/* Is the table left in by include and exclude? */
static bool wanted(const struct spec_schema *sc, const char *name)
{
	bool in = sc->ninclude == 0;

	for (size_t i = 0; i < sc->ninclude && !in; i++)
		in = fnmatch(sc->include[i], name, 0) == 0;
	for (size_t i = 0; i < sc->nexclude && in; i++)
		in = fnmatch(sc->exclude[i], name, 0) != 0;
	return in;
}

/* The unused name equal to name, else the first equal but for case; -1 when none. */
static long find_name(const char *const *names, size_t n, const bool *used, const char *name, bool any_case)
{
	for (size_t i = 0; i < n; i++)
		if (!used[i] && strcmp(names[i], name) == 0)
			return (long)i;
	for (size_t i = 0; i < n && any_case; i++)
		if (!used[i] && strcasecmp(names[i], name) == 0)
			return (long)i;
	return -1;
}

static void add_pair(struct schema_match *m, bool *us, bool *ut, size_t s, size_t t, long over)
{
	m->pairs = xrealloc(m->pairs, (m->npairs + 1) * sizeof(*m->pairs));
	m->pairs[m->npairs++] = (struct schema_pair){ s, t, over };
	us[s] = true;
	ut[t] = true;
}

static int pair_cmp(const void *a, const void *b)
{
	const struct schema_pair *x = a, *y = b;

	return x->src < y->src ? -1 : x->src > y->src;
}

/* The overrides first: each names a source table, and maybe its target. */
static int match_overrides(const struct spec_schema *sc, const char *file, const char *check,
                           const char *const *src, size_t nsrc, const char *const *tgt, size_t ntgt,
                           struct schema_match *m, bool *us, bool *ut, bool *named, struct tally_err *err)
{
	for (size_t k = 0; k < sc->ntables; k++) {
		const struct spec_check *o = &sc->tables[k];
		long si = find_name(src, nsrc, us, o->name, true), ti;

		if (si < 0)
			return err_set(err, ERR_SPEC, "%s:%d:%d: check '%s': tables: no table '%s' in the source schema",
			               file, o->pos.line, o->pos.col, check, o->name);
		if (o->target.table) {
			ti = find_name(tgt, ntgt, ut, o->target.table, true);
			if (ti < 0)
				return err_set(err, ERR_SPEC, "%s:%d:%d: check '%s': tables: %s: target: no table '%s' "
				               "in the target schema", file, o->target.pos.line, o->target.pos.col, check,
				               o->name, o->target.table);
		} else {
			ti = find_name(tgt, ntgt, ut, src[si], true);
		}
		named[si] = true;   /* the globs do not hide it, paired or not */
		if (ti >= 0)
			add_pair(m, us, ut, (size_t)si, (size_t)ti, (long)k);
	}
	return 0;
}

int schema_match_tables(const struct spec_schema *sc, const char *file, const char *check,
                        const char *const *src, size_t nsrc, const char *const *tgt, size_t ntgt,
                        struct schema_match *out, struct tally_err *err)
{
	bool *us = xcalloc(nsrc + 1, sizeof(bool)), *ut = xcalloc(ntgt + 1, sizeof(bool));
	bool *named = xcalloc(nsrc + 1, sizeof(bool));
	struct schema_match m = { 0 };
	int rc = match_overrides(sc, file, check, src, nsrc, tgt, ntgt, &m, us, ut, named, err);

	/* Tables left out by the globs count as used: they pair with nothing. */
	for (size_t i = 0; i < nsrc && rc == 0; i++)
		if (!us[i] && !named[i] && !wanted(sc, src[i]))
			us[i] = true;
	for (size_t i = 0; i < ntgt && rc == 0; i++)
		if (!ut[i] && !wanted(sc, tgt[i]))
			ut[i] = true;
	for (int pass = 0; pass < 2 && rc == 0; pass++)
		for (size_t i = 0; i < nsrc; i++) {
			long ti = us[i] ? -1 : find_name(tgt, ntgt, ut, src[i], pass == 1);

			if (ti >= 0 && (pass == 1 || strcmp(tgt[ti], src[i]) == 0))
				add_pair(&m, us, ut, i, (size_t)ti, -1);
		}
	if (rc == 0) {
		m.src_only = xcalloc(nsrc + 1, sizeof(size_t));
		m.tgt_only = xcalloc(ntgt + 1, sizeof(size_t));
		for (size_t i = 0; i < nsrc; i++)
			if (!us[i])
				m.src_only[m.nsrc_only++] = i;
		for (size_t i = 0; i < ntgt; i++)
			if (!ut[i])
				m.tgt_only[m.ntgt_only++] = i;
		if (m.npairs)
			qsort(m.pairs, m.npairs, sizeof(*m.pairs), pair_cmp);
		*out = m;
	} else {
		schema_match_release(&m);
	}
	free(us);
	free(ut);
	free(named);
	return rc;
}

/* ---- expansion ------------------------------------------------------- */

static char **copy_names(char *const *names, size_t n)
{
	char **out = xcalloc(n + 1, sizeof(*out));

	for (size_t i = 0; i < n; i++)
		out[i] = xstrdup(names[i]);
	return out;
}

/*
 * The key of a table with no key given: the primary key (the plan's
 * default), else a unique index on NOT NULL columns, else whole rows.
 */
static void default_key(struct spec_check *c, const struct tabentry *se, const struct tabentry *te)
{
	const struct tabentry *u = te->nukey ? te : se->nukey ? se : NULL;

	if (te->has_pk || se->has_pk)
		return;
	if (!u) {
		c->multiset = true;
		return;
	}
	c->key = copy_names(u->ukey, u->nukey);
	c->nkey = u->nukey;
}

static void copy_side(struct spec_side *d, const struct spec_side *s, const char *schema, const char *table,
                      const struct spec_check *o)
{
	d->system = xstrdup(s->system);
	d->sys = s->sys;
	d->table = xasprintf("%s.%s", schema, table);
	d->pos = s->pos;
	if (o && o->source.where) {
		d->where = xstrdup(o->source.where);
		d->where_pos = o->source.where_pos;
	}
}

void schema_table_check(struct spec_check *c, const struct spec_check *parent, const struct tabentry *se,
                         const struct tabentry *te, const struct spec_check *o)
{
	const struct spec_check *ig = o && (o->given & SPEC_GIVEN_IGNORE) ? o : parent;

	memset(c, 0, sizeof(*c));
	c->name = xasprintf("%s.%s", parent->name, se->name);
	c->parent = xstrdup(parent->name);
	c->pos = o ? o->pos : parent->pos;
	copy_side(&c->source, &parent->source, parent->source.schema, se->name, o);
	copy_side(&c->target, &parent->target, parent->target.schema, te->name, o);
	c->expect = o && (o->given & SPEC_GIVEN_EXPECT) ? o->expect : parent->expect;
	c->repair = o && (o->given & SPEC_GIVEN_REPAIR) ? o->repair : parent->repair;
	c->chunk_rows = o && (o->given & SPEC_GIVEN_CHUNK_ROWS) ? o->chunk_rows : parent->chunk_rows;
	if (o && (o->given & SPEC_GIVEN_MATCH)) {
		c->multiset = o->multiset;
		c->match_pos = o->match_pos;
	} else if (parent->given & SPEC_GIVEN_MATCH) {
		c->multiset = parent->multiset;
		c->match_pos = parent->match_pos;
	}
	if (o && (o->given & SPEC_GIVEN_NEWER))
		spec_newer_copy(&c->newer, &o->newer);
	else if (parent->given & SPEC_GIVEN_NEWER)
		spec_newer_copy(&c->newer, &parent->newer);
	if (o && (o->given & SPEC_GIVEN_KEY)) {
		c->key = copy_names(o->key, o->nkey);
		c->nkey = o->nkey;
		c->key_pos = o->key_pos;
	} else if (!(o && (o->given & SPEC_GIVEN_MATCH)) && !(parent->given & SPEC_GIVEN_MATCH)) {
		default_key(c, se, te);
	}
	if (o && (o->given & SPEC_GIVEN_COLUMNS)) {
		c->columns = xcalloc(o->ncolumns + 1, sizeof(*c->columns));
		c->ncolumns = o->ncolumns;
		c->columns_given = true;
		for (size_t i = 0; i < o->ncolumns; i++)
			spec_column_copy(&c->columns[i], &o->columns[i]);
	}
	/* options: without columns: (with it, the loader put them into the entries); the plan applies them */
	if (o && o->noptions) {
		c->options = xcalloc(o->noptions + 1, sizeof(*c->options));
		c->noptions = o->noptions;
		for (size_t i = 0; i < o->noptions; i++)
			spec_column_copy(&c->options[i], &o->options[i]);
	}
	c->ignore = copy_names(ig->ignore, ig->nignore);
	c->nignore = ig->nignore;
	c->ignore_pos = xcalloc(ig->nignore + 1, sizeof(*c->ignore_pos));
	if (ig->nignore)
		memcpy(c->ignore_pos, ig->ignore_pos, ig->nignore * sizeof(*c->ignore_pos));
	c->ignore_lenient = ig == parent;
}

static void add_finding(struct spec *spec, const char *check, const char *kind, const struct spec_side *side,
                        const char *table)
{
	struct spec_finding *f;

	spec->findings = xrealloc(spec->findings, (spec->nfindings + 1) * sizeof(*spec->findings));
	f = &spec->findings[spec->nfindings++];
	f->check = xstrdup(check);
	f->kind = xstrdup(kind);
	f->system = xstrdup(side->system);
	f->table = xasprintf("%s.%s", side->schema, table);
}

/* Opens a session on a side's system and lists its schema's tables. */
static int list_side(const struct spec *spec, const struct spec_check *c, int side, int connect_timeout,
                     struct tablist *out, struct tally_err *err)
{
	const struct spec_side *sd = side == 0 ? &c->source : &c->target;
	const struct conn_ops *ops = conn_driver(sd->sys->driver);
	struct conn_cfg cfg;
	struct conn *cn = NULL;
	int rc;

	if (!ops || !ops->list_tables)
		return err_set(err, ERR_SPEC, "%s:%d:%d: check '%s': a schema check reads a server's catalog, and "
		               "system '%s' (driver %s) has none", spec->file, sd->pos.line, sd->pos.col, c->name,
		               sd->system, sd->sys->driver);
	memset(&cfg, 0, sizeof(cfg));
	cfg.system = sd->system;
	cfg.side = side == 0 ? "source" : "target";
	cfg.dsn = sd->sys->dsn;
	cfg.dsn_shown = sd->sys->dsn_shown;
	cfg.connect_timeout = connect_timeout;
	if (ops->open(&cn, &cfg, err) < 0)
		return -1;
	rc = ops->list_tables(cn, sd->schema, c->schema->include_views, out, err);
	ops->close(cn);
	if (rc < 0)
		err_context(err, "check '%s'", c->name);
	return rc;
}

static const char **names_of(const struct tablist *l)
{
	const char **n = xcalloc(l->n + 1, sizeof(*n));

	for (size_t i = 0; i < l->n; i++)
		n[i] = l->t[i].name;
	return n;
}

/* Appends the checks of schema check c to *out (grown), and its findings to spec. */
static int expand_one(struct spec *spec, const struct spec_check *c, int connect_timeout,
                      struct spec_check **out, size_t *nout, struct tally_err *err)
{
	struct tablist l[2] = { { 0 }, { 0 } };
	struct schema_match m = { 0 };
	const char **names[2] = { NULL, NULL };
	int rc = -1;

	if (list_side(spec, c, 0, connect_timeout, &l[0], err) < 0 ||
	    list_side(spec, c, 1, connect_timeout, &l[1], err) < 0)
		goto out;
	names[0] = names_of(&l[0]);
	names[1] = names_of(&l[1]);
	if (schema_match_tables(c->schema, spec->file, c->name, names[0], l[0].n, names[1], l[1].n, &m, err) < 0)
		goto out;
	*out = xrealloc(*out, (*nout + m.npairs + 1) * sizeof(**out));
	for (size_t i = 0; i < m.npairs; i++) {
		const struct schema_pair *pr = &m.pairs[i];

		schema_table_check(&(*out)[(*nout)++], c, &l[0].t[pr->src], &l[1].t[pr->tgt],
		             pr->over >= 0 ? &c->schema->tables[pr->over] : NULL);
	}
	for (size_t i = 0; i < m.nsrc_only; i++)
		add_finding(spec, c->name, "missing_table", &c->source, names[0][m.src_only[i]]);
	for (size_t i = 0; i < m.ntgt_only; i++)
		add_finding(spec, c->name, "extra_table", &c->target, names[1][m.tgt_only[i]]);
	rc = 0;
out:
	schema_match_release(&m);
	free(names[0]);
	free(names[1]);
	tablist_release(&l[0]);
	tablist_release(&l[1]);
	return rc;
}

int schema_expand(struct spec *spec, int connect_timeout, struct tally_err *err)
{
	struct spec_check *out = NULL;
	size_t nout = 0;
	bool any = false;

	for (size_t i = 0; i < spec->nchecks; i++)
		any = any || spec->checks[i].schema;
	if (!any)
		return 0;
	for (size_t i = 0; i < spec->nchecks; i++) {
		if (spec->checks[i].schema) {
			if (expand_one(spec, &spec->checks[i], connect_timeout, &out, &nout, err) < 0) {
				for (size_t j = 0; j < nout; j++)
					spec_check_release(&out[j]);
				free(out);
				return -1;
			}
			continue;
		}
		out = xrealloc(out, (nout + 1) * sizeof(*out));
		out[nout++] = spec->checks[i];
		memset(&spec->checks[i], 0, sizeof(spec->checks[i]));
	}
	for (size_t i = 0; i < spec->nchecks; i++)
		spec_check_release(&spec->checks[i]);
	free(spec->checks);
	spec->checks = out;
	spec->nchecks = nout;
	return 0;
}

void schema_select(const struct spec *spec, char *const *only, size_t nonly, char ***out, size_t *nout)
{
	char **o = xcalloc(nonly + spec->nchecks + 1, sizeof(*o));
	size_t n = 0;

	for (size_t i = 0; i < nonly; i++) {
		bool parent = false;

		for (size_t j = 0; j < spec->nchecks; j++)
			if (spec->checks[j].parent && strcmp(spec->checks[j].parent, only[i]) == 0) {
				o[n++] = spec->checks[j].name;
				parent = true;
			}
		if (!parent)
			o[n++] = only[i];
	}
	*out = o;
	*nout = n;
}
