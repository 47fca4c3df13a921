/*
 * engine/plan.c
 *   spec, connector -> PLAN -> scan: resolves keys and columns and pairs
 *   their types. Every refusal happens here, before any row is read.
 */
#include "plan.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

static const char *side_name(int side)
{
	return side == SIDE_SOURCE ? "source" : "target";
}

/* ---- type pairing ----------------------------------------------------- */

/* The class a type compares as, or -1 when it has none across engines. */
static int class_of(const struct coldesc *c)
{
	switch (c->type) {
	case LT_INT:
	case LT_DECIMAL:
	case LT_YEAR:
		return CC_NUMBER;
	case LT_FLOAT: return CC_FLOAT64;     /* narrowed to CC_FLOAT32 by the pair */
	case LT_BOOL: return CC_BOOL;
	case LT_TEXT:
	case LT_CHAR:
	case LT_ENUM:
		return CC_TEXT;
	case LT_BYTES: return CC_BYTES;
	case LT_DATE: return CC_DATE;
	case LT_TIME: return CC_TIME;
	case LT_TIMESTAMP: return CC_TIMESTAMP;
	case LT_TIMESTAMPTZ: return CC_TIMESTAMPTZ;
	case LT_UUID: return CC_UUID;
	case LT_JSON:
	case LT_SET:
	case LT_BIT:
	case LT_INTERVAL:
	case LT_INET:
	case LT_ARRAY:
	case LT_OTHER:
		break;
	}
	return -1;
}

static void set_pair(struct canon_col out[2], enum cclass cls, const struct coldesc *s,
                     const struct coldesc *t)
{
	out[0] = canon_col_make(cls, s->type);
	out[1] = canon_col_make(cls, t->type);
	if (cls == CC_TEXT) {
		out[0].pad_trim = s->type == LT_CHAR;
		out[1].pad_trim = t->type == LT_CHAR;
	}
}

static int refuse(struct tally_err *err, const struct coldesc *s, const struct coldesc *t,
                  bool as_key)
{
	err_set(err, ERR_SCHEMA, "%s cannot be compared: %s in source (%s) and %s in target (%s)",
	        as_key ? "key column" : "column", ltype_name(s->type), s->native,
	        ltype_name(t->type), t->native);
	return -1;
}

int plan_pair(const struct coldesc *s, const struct coldesc *t,
              const char *sdriver, const char *tdriver, bool as_key,
              struct canon_col out[2], struct tally_err *err)
{
	int cs = class_of(s), ct = class_of(t);
	bool same_engine = strcmp(sdriver, tdriver) == 0;

	/* BOOLEAN's MariaDB storage is tinyint(1); any integer reads as one. */
	if ((cs == CC_BOOL && (ct == CC_BOOL || t->type == LT_INT)) ||
	    (ct == CC_BOOL && s->type == LT_INT)) {
		set_pair(out, CC_BOOL, s, t);
		return 0;
	}
	if (cs < 0 || ct < 0) {
		/* One engine prints one type one way: exact text comparison is sound. */
		if (same_engine && s->type == t->type && strcmp(s->native, t->native) == 0 && !as_key) {
			set_pair(out, s->type == LT_BIT && strcmp(sdriver, "mariadb") == 0 ? CC_BYTES : CC_TEXT,
			         s, t);
			out[0].pad_trim = out[1].pad_trim = false;
			return 0;
		}
		refuse(err, s, t, as_key);
		if (cs < 0 && ct < 0 && s->type == t->type)
			return err_detail(err, "%s values are compared only between identical types of one engine",
			                  ltype_name(s->type));
		return err_detail(err, "tally has no exact comparison between these types");
	}
	if (cs != ct) {
		refuse(err, s, t, as_key);
		if (as_key)
			return err_detail(err, "keys are merged in one order on both sides, and these types do not sort alike");
		if ((cs == CC_TIMESTAMP && ct == CC_TIMESTAMPTZ) ||
		    (cs == CC_TIMESTAMPTZ && ct == CC_TIMESTAMP)) {
			err_detail(err, "a timestamp without time zone is not an instant, so it cannot equal one");
			return err_hint(err, "compare through a query that converts one side, e.g. "
			                "\"SELECT ..., created_at AT TIME ZONE 'UTC' AS created_at FROM ...\"");
		}
		return err_detail(err, "values of these types cannot be equal by meaning");
	}
	if (cs == CC_FLOAT64) {
		if (as_key) {
			refuse(err, s, t, as_key);
			return err_detail(err, "floating-point values are not exact enough to identify rows");
		}
		if (s->bits == 32 || t->bits == 32)
			cs = CC_FLOAT32;
	}
	set_pair(out, (enum cclass)cs, s, t);
	return 0;
}

/* ---- normalization options -------------------------------------------- */

static int spec_err(struct tally_err *err, const struct spec *spec, struct spec_pos pos,
                    const char *fmt, ...) TALLY_PRINTF(4, 5);

static int spec_err(struct tally_err *err, const struct spec *spec, struct spec_pos pos,
                    const char *fmt, ...)
{
	char msg[ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* With a position the spec is at fault, and the position says where. */
	if (pos.line > 0)
		return err_set(err, ERR_SPEC, "%s:%d:%d: %s", spec->file, pos.line, pos.col, msg);
	return err_set(err, ERR_SCHEMA, "%s", msg);
}

/*
 * Applies a columns: entry's options to a built pair. Options that do not
 * fit the pair's class are refused at the option's position.
 */
static int apply_options(struct plan_col *pc, const struct spec *spec, const struct spec_column *sc,
                         struct tally_err *err)
{
	enum cclass cls = pc->canon[0].cls;
	struct buf norm = BUF_INIT;
	const char *unsupported = NULL;

	if (sc->case_insensitive)
		unsupported = "case";
	else if (sc->has_tolerance)
		unsupported = "tolerance";
	else if (sc->nmap)
		unsupported = "map";
	else if (sc->as != AS_NONE)
		unsupported = "as";
	else if (sc->timezone)
		unsupported = "timezone";
	if (unsupported)
		return spec_err(err, spec, sc->opt_pos,
		                "column '%s': option '%s' is not supported by this version of tally",
		                sc->source, unsupported);

	if (sc->scale >= 0) {
		if (cls != CC_NUMBER)
			return spec_err(err, spec, sc->opt_pos,
			                "column '%s': option 'scale' applies to integer and decimal columns, not %s",
			                sc->source, cclass_name(cls));
		pc->canon[0].scale = pc->canon[1].scale = sc->scale;
		buf_addf(&norm, "scale %d", sc->scale);
	}
	if (sc->precision >= 0) {
		if (cls != CC_TIME && cls != CC_TIMESTAMP && cls != CC_TIMESTAMPTZ)
			return spec_err(err, spec, sc->opt_pos,
			                "column '%s': option 'precision' applies to time and timestamp columns, not %s",
			                sc->source, cclass_name(cls));
		pc->canon[0].precision = pc->canon[1].precision = sc->precision;
		buf_addf(&norm, "%sprecision %d", norm.len ? ", " : "", sc->precision);
	}
	if (sc->trim != TRIM_NONE) {
		if (cls != CC_TEXT)
			return spec_err(err, spec, sc->opt_pos,
			                "column '%s': option 'trim' applies to text columns, not %s",
			                sc->source, cclass_name(cls));
		pc->canon[0].trim = pc->canon[1].trim =
			sc->trim == TRIM_RIGHT ? CANON_TRIM_RIGHT : CANON_TRIM_BOTH;
		buf_addf(&norm, "%strim %s", norm.len ? ", " : "", sc->trim == TRIM_RIGHT ? "right" : "both");
	}
	if (norm.len)
		pc->norm = buf_detach(&norm, NULL);
	buf_release(&norm);
	return 0;
}

/* ---- building --------------------------------------------------------- */

static const struct spec_column *find_mapping(const struct spec_check *c, const char *name)
{
	for (size_t i = 0; i < c->ncolumns; i++)
		if (strcmp(c->columns[i].source, name) == 0 || strcmp(c->columns[i].target, name) == 0)
			return &c->columns[i];
	return NULL;
}

static int describe_side(struct plan *p, const struct spec_side *sd, struct conn *c, int side,
                         struct tally_err *err)
{
	int rc;

	if (sd->query)
		rc = c->ops->describe_query(c, sd->query, &p->desc[side], err);
	else
		rc = c->ops->describe_table(c, sd->table, &p->desc[side], err);
	p->driver[side] = c->ops->driver;
	return rc;
}

static int no_column(struct tally_err *err, const struct spec *spec, struct spec_pos pos,
                     const char *what, const char *name, const struct plan *p, int side)
{
	const struct spec_side *sd = side == SIDE_SOURCE ? &p->check->source : &p->check->target;

	if (pos.line > 0)
		err_set(err, ERR_SPEC, "%s:%d:%d: %s '%s' does not exist in %s %s (system '%s')",
		        spec->file, pos.line, pos.col, what, name, side_name(side),
		        p->desc[side].display, sd->system);
	else
		err_set(err, ERR_SCHEMA, "%s '%s' does not exist in %s %s (system '%s')",
		        what, name, side_name(side), p->desc[side].display, sd->system);
	return -1;
}

static int pair_error(struct tally_err *err, const struct plan *p, const char *sname,
                      const char *tname)
{
	char name[512];

	if (strcmp(sname, tname) == 0)
		snprintf(name, sizeof(name), "'%s'", sname);
	else
		snprintf(name, sizeof(name), "'%s' -> '%s'", sname, tname);
	return err_context(err, "%s vs %s, column %s", p->desc[0].display, p->desc[1].display, name);
}

static int add_key(struct plan *p, const struct spec *spec, const char *name, struct spec_pos pos,
                   const char *origin, struct tally_err *err)
{
	const struct spec_column *m = find_mapping(p->check, name);
	const char *sname = m ? m->source : name, *tname = m ? m->target : name;
	long si = tabdesc_find(&p->desc[0], sname), ti = tabdesc_find(&p->desc[1], tname);
	struct plan_col *pc;

	if (si < 0) {
		no_column(err, spec, pos, "key column", sname, p, SIDE_SOURCE);
		if (origin)
			err_detail(err, "the key is %s", origin);
		return -1;
	}
	if (ti < 0) {
		no_column(err, spec, pos, "key column", tname, p, SIDE_TARGET);
		if (origin)
			err_detail(err, "the key is %s", origin);
		return -1;
	}
	for (size_t i = 0; i < p->nkey; i++)
		if (p->key[i].col[0] == (size_t)si)
			return spec_err(err, spec, pos, "key column '%s' is listed twice", sname);
	p->key = xrealloc(p->key, (p->nkey + 1) * sizeof(*p->key));
	pc = &p->key[p->nkey];
	memset(pc, 0, sizeof(*pc));
	pc->col[0] = (size_t)si;
	pc->col[1] = (size_t)ti;
	if (plan_pair(&p->desc[0].cols[si], &p->desc[1].cols[ti], p->driver[0], p->driver[1], true,
	              pc->canon, err) < 0)
		return pair_error(err, p, sname, tname);
	p->nkey++;
	return 0;
}

static int resolve_key(struct plan *p, const struct spec *spec, struct tally_err *err)
{
	const struct spec_check *c = p->check;
	const struct tabdesc *from;
	char origin[600];

	if (c->nkey) {
		for (size_t i = 0; i < c->nkey; i++)
			if (add_key(p, spec, c->key[i], c->key_pos, NULL, err) < 0)
				return -1;
		return 0;
	}
	/* Default: the target's primary key, else the source's. */
	from = p->desc[1].npk ? &p->desc[1] : p->desc[0].npk ? &p->desc[0] : NULL;
	if (!from) {
		err_set(err, ERR_SPEC, "%s:%d:%d: check '%s' has no key: neither target %s nor source %s "
		        "has a primary key", spec->file, c->pos.line, c->pos.col, c->name,
		        p->desc[1].display, p->desc[0].display);
		return err_hint(err, "name the columns that identify a row: key: [id]");
	}
	snprintf(origin, sizeof(origin), "the primary key of %s %s",
	         from == &p->desc[1] ? "target" : "source", from->display);
	for (size_t i = 0; i < from->npk; i++) {
		struct spec_pos none = { 0, 0 };

		if (add_key(p, spec, from->cols[from->pk[i]].name, none, origin, err) < 0)
			return -1;
	}
	return 0;
}

static bool is_key_col(const struct plan *p, int side, size_t idx)
{
	for (size_t i = 0; i < p->nkey; i++)
		if (p->key[i].col[side] == idx)
			return true;
	return false;
}

static bool is_ignored(const struct spec_check *c, const char *name)
{
	for (size_t i = 0; i < c->nignore; i++)
		if (strcmp(c->ignore[i], name) == 0)
			return true;
	return false;
}

static int add_cmp(struct plan *p, const struct spec *spec, size_t si, size_t ti,
                   const struct spec_column *sc, struct tally_err *err)
{
	struct plan_col *pc;

	p->cmp = xrealloc(p->cmp, (p->ncmp + 1) * sizeof(*p->cmp));
	pc = &p->cmp[p->ncmp];
	memset(pc, 0, sizeof(*pc));
	pc->col[0] = si;
	pc->col[1] = ti;
	if (plan_pair(&p->desc[0].cols[si], &p->desc[1].cols[ti], p->driver[0], p->driver[1], false,
	              pc->canon, err) < 0) {
		pair_error(err, p, p->desc[0].cols[si].name, p->desc[1].cols[ti].name);
		if (sc && sc->pos.line > 0) {
			err_context(err, "%s:%d:%d", spec->file, sc->pos.line, sc->pos.col);
			err->kind = ERR_SPEC;
		}
		return -1;
	}
	p->ncmp++;
	if (sc && apply_options(pc, spec, sc, err) < 0)
		return -1;
	return 0;
}

static int resolve_columns(struct plan *p, const struct spec *spec, struct tally_err *err)
{
	const struct spec_check *c = p->check;

	for (size_t i = 0; i < c->nignore; i++)
		if (tabdesc_find(&p->desc[0], c->ignore[i]) < 0 && tabdesc_find(&p->desc[1], c->ignore[i]) < 0)
			return spec_err(err, spec, c->ignore_pos[i],
			                "ignored column '%s' exists on neither side", c->ignore[i]);

	if (c->expect == EXPECT_ABSENT && !c->columns_given)
		return 0;    /* only keys matter */

	if (c->columns_given) {
		for (size_t i = 0; i < c->ncolumns; i++) {
			const struct spec_column *sc = &c->columns[i];
			long si = tabdesc_find(&p->desc[0], sc->source);
			long ti = tabdesc_find(&p->desc[1], sc->target);

			if (si < 0)
				return no_column(err, spec, sc->pos, "column", sc->source, p, SIDE_SOURCE);
			if (ti < 0)
				return no_column(err, spec, sc->pos, "column", sc->target, p, SIDE_TARGET);
			if (is_key_col(p, 0, (size_t)si) && is_key_col(p, 1, (size_t)ti))
				continue;
			if (add_cmp(p, spec, (size_t)si, (size_t)ti, sc, err) < 0)
				return -1;
		}
		return 0;
	}

	/* Default: every non-key column present on both sides, in source order. */
	for (size_t si = 0; si < p->desc[0].ncols; si++) {
		const char *name = p->desc[0].cols[si].name;
		long ti = tabdesc_find(&p->desc[1], name);

		if (is_key_col(p, 0, si) || is_ignored(c, name))
			continue;
		if (ti < 0) {
			p->only[0] = xrealloc(p->only[0], (p->nonly[0] + 1) * sizeof(char *));
			p->only[0][p->nonly[0]++] = xstrdup(name);
			continue;
		}
		if (is_key_col(p, 1, (size_t)ti))
			continue;
		if (add_cmp(p, spec, si, (size_t)ti, NULL, err) < 0)
			return -1;
	}
	for (size_t ti = 0; ti < p->desc[1].ncols; ti++) {
		const char *name = p->desc[1].cols[ti].name;

		if (is_key_col(p, 1, ti) || is_ignored(c, name) || tabdesc_find(&p->desc[0], name) >= 0)
			continue;
		p->only[1] = xrealloc(p->only[1], (p->nonly[1] + 1) * sizeof(char *));
		p->only[1][p->nonly[1]++] = xstrdup(name);
	}
	return 0;
}

/*
 * Columns an INSERT copies besides key and compared ones: same name on the
 * other side, not generated on the written side, and of comparable types.
 */
static void resolve_carry(struct plan *p)
{
	const int w = p->repair_side, o = 1 - w;
	const struct tabdesc *wd = &p->desc[w], *od = &p->desc[o];

	for (size_t c = 0; c < wd->ncols; c++) {
		struct canon_col pair[2];
		struct tally_err ignored;
		struct plan_col *pc;
		bool used = false;
		long oc;

		for (size_t i = 0; i < p->nkey; i++)
			used |= p->key[i].col[w] == c;
		for (size_t i = 0; i < p->ncmp; i++)
			used |= p->cmp[i].col[w] == c;
		oc = tabdesc_find(od, wd->cols[c].name);
		if (used || oc < 0 || wd->cols[c].generated)
			continue;
		for (size_t i = 0; i < p->ncmp; i++)
			used |= p->cmp[i].col[o] == (size_t)oc;
		for (size_t i = 0; i < p->nkey; i++)
			used |= p->key[i].col[o] == (size_t)oc;
		if (used)
			continue;
		if (plan_pair(w == SIDE_SOURCE ? &wd->cols[c] : &od->cols[oc],
		              w == SIDE_SOURCE ? &od->cols[oc] : &wd->cols[c],
		              p->driver[0], p->driver[1], false, pair, &ignored) < 0)
			continue;
		p->carry = xrealloc(p->carry, (p->ncarry + 1) * sizeof(*p->carry));
		pc = &p->carry[p->ncarry++];
		memset(pc, 0, sizeof(*pc));
		pc->col[w] = c;
		pc->col[o] = (size_t)oc;
		pc->canon[0] = pair[0];
		pc->canon[1] = pair[1];
	}
}

static void build_reads(struct plan *p)
{
	for (int s = 0; s < 2; s++) {
		size_t n = 0, ncols = p->desc[s].ncols;

		p->read[s] = xcalloc(p->nkey + p->ncmp + p->ncarry + ncols, sizeof(size_t));
		p->pos[s] = xcalloc(ncols ? ncols : 1, sizeof(long));
		for (size_t c = 0; c < ncols; c++)
			p->pos[s][c] = -1;
		for (size_t i = 0; i < p->nkey; i++)
			p->read[s][n++] = p->key[i].col[s];
		for (size_t i = 0; i < p->ncmp; i++)
			p->read[s][n++] = p->cmp[i].col[s];
		for (size_t i = 0; i < p->ncarry; i++)
			p->read[s][n++] = p->carry[i].col[s];
		/* A column may be read twice (a key also compared): keep the first. */
		for (size_t i = 0; i < n; i++)
			if (p->pos[s][p->read[s][i]] < 0)
				p->pos[s][p->read[s][i]] = (long)i;
		if (s == p->repair_side)
			for (size_t c = 0; c < ncols; c++)
				if (p->pos[s][c] < 0) {
					p->pos[s][c] = (long)n;
					p->read[s][n++] = c;
				}
		p->nread[s] = n;
	}
}

struct canon_col plan_own_class(const struct coldesc *cd, bool *raw)
{
	int cls = class_of(cd);

	if (cls == CC_FLOAT64 && cd->bits == 32)
		cls = CC_FLOAT32;
	*raw = cls < 0;
	return canon_col_make(cls < 0 ? CC_TEXT : (enum cclass)cls, cd->type);
}

/* Each column of the written side, read as its own type. */
static void build_own(struct plan *p)
{
	const struct tabdesc *wd = &p->desc[p->repair_side];

	p->own = xcalloc(wd->ncols ? wd->ncols : 1, sizeof(*p->own));
	p->own_raw = xcalloc(wd->ncols ? wd->ncols : 1, sizeof(*p->own_raw));
	for (size_t c = 0; c < wd->ncols; c++)
		p->own[c] = plan_own_class(&wd->cols[c], &p->own_raw[c]);
}

/* Decides which side a repair writes, or why none. */
static int resolve_repair(struct plan *p, const struct spec *spec, struct tally_err *err)
{
	const struct spec_check *c = p->check;
	int w;

	p->repair_side = -1;
	if (c->repair == REPAIR_NONE)
		return 0;
	w = c->repair == REPAIR_TARGET ? SIDE_TARGET : SIDE_SOURCE;
	if (w == SIDE_SOURCE && c->expect == EXPECT_ABSENT)
		return spec_err(err, spec, c->pos, "check '%s': repair: source cannot go with expect: absent "
		                "(the source lists keys that must be gone from the target)", c->name);
	if (w == SIDE_SOURCE && c->expect == EXPECT_SUBSET)
		return spec_err(err, spec, c->pos, "check '%s': repair: source would delete the source rows the "
		                "target lacks, and expect: subset never deletes (use repair: target or none)", c->name);
	if (p->desc[w].is_query) {
		p->no_repair = w == SIDE_TARGET ? "the target is a query, not a table"
		                                : "the source is a query, not a table";
		return 0;
	}
	if (strcmp(p->driver[w], "snapshot") == 0) {
		p->no_repair = w == SIDE_TARGET ? "the target is a snapshot, not a live table"
		                                : "the source is a snapshot, not a live table";
		return 0;
	}
	p->repair_side = w;
	return 0;
}

int plan_build(struct plan *p, const struct spec *spec, const struct spec_check *check,
               struct conn *src, struct conn *tgt, struct tally_err *err)
{
	memset(p, 0, sizeof(*p));
	p->check = check;
	if (describe_side(p, &check->source, src, SIDE_SOURCE, err) < 0 ||
	    describe_side(p, &check->target, tgt, SIDE_TARGET, err) < 0 ||
	    resolve_key(p, spec, err) < 0 || resolve_columns(p, spec, err) < 0 ||
	    resolve_repair(p, spec, err) < 0) {
		plan_release(p);
		return -1;
	}
	if (p->repair_side >= 0) {
		if (check->expect != EXPECT_ABSENT)
			resolve_carry(p);
		build_own(p);
	}
	build_reads(p);
	return 0;
}

void plan_release(struct plan *p)
{
	if (!p)
		return;
	for (int s = 0; s < 2; s++) {
		tabdesc_release(&p->desc[s]);
		free(p->read[s]);
		free(p->pos[s]);
		for (size_t i = 0; i < p->nonly[s]; i++)
			free(p->only[s][i]);
		free(p->only[s]);
	}
	for (size_t i = 0; i < p->ncmp; i++)
		free(p->cmp[i].norm);
	for (size_t i = 0; i < p->nkey; i++)
		free(p->key[i].norm);
	free(p->cmp);
	free(p->key);
	free(p->carry);
	free(p->own);
	free(p->own_raw);
	memset(p, 0, sizeof(*p));
}
