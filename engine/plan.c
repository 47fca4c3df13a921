/*
 * engine/plan.c
 *   spec, connector -> PLAN -> scan: resolves keys and columns, applies the
 *   normalization options and builds the plan; plan_pair.c pairs the
 *   types. Every refusal happens here, before any row is read.
 */
#include "plan_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "jcanon.h"
#include "tz.h"

static const char *side_name(int side)
{
	return side == SIDE_SOURCE ? "source" : "target";
}


/*
 * Does the key column's canonical order follow the server's order of the
 * column? Only when the column reads as its own class: a uuid parsed from
 * text, say, sorts as bytes, its text by collation.
 */
void plan_scan_req(const struct plan *p, int side, size_t *key, struct scan_req *req)
{
	const struct spec_side *sd = side == SIDE_SOURCE ? &p->check->source : &p->check->target;

	for (size_t i = 0; i < p->nkey; i++)
		key[i] = p->key[i].col[side];
	memset(req, 0, sizeof(*req));
	req->desc = &p->desc[side];
	req->table = sd->table;
	req->query = sd->query;
	req->where = sd->where;
	req->nkey = p->nkey;
	req->key = key;
}

bool plan_key_native(const struct plan_col *k, int side)
{
	const struct canon_col *c = &k->canon[side];
	struct coldesc d;

	memset(&d, 0, sizeof(d));
	d.type = c->type;
	d.bits = c->type == LT_FLOAT && c->cls == CC_FLOAT32 ? 32 : 64;
	return plan_class_of(&d) == (int)c->cls || (c->cls == CC_BOOL && c->type == LT_INT);
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

static int pair_error(struct tally_err *err, const struct plan *p, const char *sname, const char *tname);

/* Where option o of sc is, for messages: its key, else the entry. */
static struct spec_pos opt_at(const struct spec_column *sc, enum spec_opt o)
{
	return sc->optpos[o].line > 0 ? sc->optpos[o] : sc->pos;
}

static bool any_option(const struct spec_column *sc)
{
	for (int o = 0; o < SPEC_OPT_N; o++)
		if (sc->optpos[o].line > 0)
			return true;
	return false;
}

static bool reads_as_json(const struct coldesc *c)
{
	return c->type == LT_JSON || c->type == LT_TEXT || c->type == LT_CHAR || c->type == LT_ARRAY;
}

static bool reads_as_uuid(const struct coldesc *c)
{
	return c->type == LT_UUID || c->type == LT_TEXT || c->type == LT_CHAR || c->type == LT_BYTES;
}

/* as: text | json | uuid: both sides read as that class, whatever their types say. */
static int pair_as(const struct spec *spec, const struct spec_column *sc,
                   const struct coldesc *cd[2], struct canon_col out[2], struct tally_err *err)
{
	const enum cclass cls = sc->as == AS_TEXT ? CC_TEXT : sc->as == AS_JSON ? CC_JSON : CC_UUID;

	for (int s = 0; s < 2; s++) {
		bool ok = sc->as == AS_TEXT || (sc->as == AS_JSON ? reads_as_json(cd[s]) : reads_as_uuid(cd[s]));

		if (!ok)
			return spec_err(err, spec, opt_at(sc, SPEC_OPT_AS),
			                "column '%s': as: %s reads %s, not %s in %s (%s)", sc->source,
			                cclass_name(cls), sc->as == AS_JSON ? "json, text and array columns"
			                : "uuid, text and binary columns", ltype_name(cd[s]->type), side_name(s),
			                cd[s]->native);
		out[s] = plan_side_col(cls, cd[s]);
	}
	return 0;
}

/*
 * timezone: the naive side (or each, with { source, target }) is local time
 * in a zone, so the pair compares instants.
 */
static int pair_timezone(const struct spec *spec, const struct spec_column *sc,
                         const struct coldesc *cd[2], struct canon_col out[2], struct tally_err *err)
{
	const struct spec_pos at = opt_at(sc, SPEC_OPT_TIMEZONE);
	const char *zone[2] = { sc->tz_side[0], sc->tz_side[1] };
	bool naive[2];

	for (int s = 0; s < 2; s++) {
		if (cd[s]->type != LT_TIMESTAMP && cd[s]->type != LT_TIMESTAMPTZ && cd[s]->type != LT_DATE)
			return spec_err(err, spec, at, "column '%s': timezone applies to timestamp columns, not %s in %s (%s)",
			                sc->source, ltype_name(cd[s]->type), side_name(s), cd[s]->native);
		naive[s] = cd[s]->type != LT_TIMESTAMPTZ;      /* a date is its midnight, local time */
	}
	if (sc->timezone) {
		if (naive[0] && naive[1]) {
			spec_err(err, spec, at, "column '%s': both sides are timestamps without time zone, so one zone "
			         "says nothing", sc->source);
			return err_hint(err, "give each side's zone: timezone: { source: Europe/Berlin, target: UTC }");
		}
		if (!naive[0] && !naive[1])
			return spec_err(err, spec, at, "column '%s': timezone applies to a timestamp without time zone, "
			                "and both sides are instants", sc->source);
		zone[naive[0] ? 0 : 1] = sc->timezone;
	}
	for (int s = 0; s < 2; s++) {
		const struct tz *z;

		if (zone[s] && !naive[s])
			return spec_err(err, spec, at, "column '%s': the %s side (%s) is already an instant; "
			                "timezone applies to a timestamp without time zone", sc->source, side_name(s),
			                cd[s]->native);
		if (naive[s] && !zone[s])
			return spec_err(err, spec, at, "column '%s': the %s side (%s) is a timestamp without time zone: "
			                "give its zone too", sc->source, side_name(s), cd[s]->native);
		out[s] = plan_side_col(CC_TIMESTAMPTZ, cd[s]);
		if (!zone[s])
			continue;
		if (tz_get(zone[s], &z, err) < 0) {
			struct tally_err e = *err;

			spec_err(err, spec, at, "column '%s': %s", sc->source, e.msg);
			if (e.detail[0])
				err_detail(err, "%s", e.detail);
			return -1;
		}
		out[s].tz = z;
	}
	return 0;
}

static void norm_add(struct buf *norm, const char *fmt, ...) TALLY_PRINTF(2, 3);

/*
 * systems.NAME.timezone: a naive column (timestamp, DATETIME, date) of a
 * system with a zone, against an instant, is local time in that zone.
 * Returns 1 when it paired cd (filling pc's canon and norm), 0 when it
 * does not apply (the types pair, or refuse, on their own).
 */
/* The side whose system's zone pairs cd (its naive column against an instant), or -1. */
static int system_zone_side(const struct plan *p, const struct coldesc *cd[2])
{
	const struct spec_system *sys[2] = { p->check->source.sys, p->check->target.sys };
	int n = -1;

	for (int s = 0; s < 2; s++)
		if ((cd[s]->type == LT_TIMESTAMP || cd[s]->type == LT_DATE) && cd[1 - s]->type == LT_TIMESTAMPTZ)
			n = s;
	return n < 0 || !sys[n] || !sys[n]->timezone ? -1 : n;
}

static int pair_system_zone(const struct plan *p, const struct coldesc *cd[2], struct plan_col *pc,
                            struct buf *norm, struct tally_err *err)
{
	const struct spec_system *sys[2] = { p->check->source.sys, p->check->target.sys };
	int n = system_zone_side(p, cd);
	const struct tz *z;

	if (n < 0)
		return 0;
	if (tz_get(sys[n]->timezone, &z, err) < 0)
		return -1;
	for (int s = 0; s < 2; s++)
		pc->canon[s] = plan_side_col(CC_TIMESTAMPTZ, cd[s]);
	pc->canon[n].tz = z;
	norm_add(norm, "%s in %s (system %s)", side_name(n), tz_name(z), sys[n]->name);
	return 1;
}

/*
 * map: the source's values, read as its own type, become the target's
 * values named in the map (codes a migration renamed). A repair of the
 * target writes them through the map; the source cannot be repaired from
 * the target that way, as values would have to be mapped backwards.
 */
static int pair_map(const struct plan *p, const struct spec *spec, const struct spec_column *sc,
                    const struct coldesc *cd[2], struct plan_col *pc, struct tally_err *err)
{
	const struct spec_pos at = opt_at(sc, SPEC_OPT_MAP);
	int cs = plan_class_of(cd[0]), ct = plan_class_of(cd[1]);
	struct canon_map *m;
	size_t dup;

	if (cs < 0 || ct < 0) {
		const int s = cs < 0 ? 0 : 1;

		return spec_err(err, spec, at, "column '%s': map reads values by their type, and tally has none for "
		                "%s in %s (%s)", sc->source, ltype_name(cd[s]->type), side_name(s), cd[s]->native);
	}
	if (p->check->repair == REPAIR_SOURCE)
		return spec_err(err, spec, at, "column '%s': map translates source values into target values, and "
		                "repair: source would need them the other way; use repair: target or none", sc->source);
	pc->canon[1] = plan_side_col((enum cclass)ct, cd[1]);
	m = xcalloc(1, sizeof(*m));
	pc->map = m;
	m->from = plan_side_col((enum cclass)cs, cd[0]);
	m->n = sc->nmap;
	m->fromv = xcalloc(m->n ? m->n : 1, sizeof(*m->fromv));
	m->tov = xcalloc(m->n ? m->n : 1, sizeof(*m->tov));
	for (size_t i = 0; i < m->n; i++) {
		const struct spec_map_entry *e = &sc->map[i];

		buf_init(&m->fromv[i]);
		buf_init(&m->tov[i]);
		if (canon_encode(&m->fromv[i], &m->from, e->from, strlen(e->from), err) < 0)
			return spec_err(err, spec, e->pos, "column '%s': map entry '%s' is %s, as source column %s "
			                "reads it", sc->source, e->from, err->msg, cd[0]->native);
		if (canon_encode(&m->tov[i], &pc->canon[1], e->to, strlen(e->to), err) < 0)
			return spec_err(err, spec, e->pos, "column '%s': map entry '%s' maps to '%s', which is %s as "
			                "target column %s reads it", sc->source, e->from, e->to, err->msg, cd[1]->native);
		for (size_t j = 0; j < i; j++)
			if (m->fromv[j].len == m->fromv[i].len &&
			    memcmp(m->fromv[j].data, m->fromv[i].data, m->fromv[i].len) == 0)
				return spec_err(err, spec, e->pos, "column '%s': map entries '%s' and '%s' name the same "
				                "source value", sc->source, sc->map[j].from, e->from);
	}
	canon_map_sort(m, &dup);
	pc->canon[0] = plan_side_col((enum cclass)ct, cd[0]);
	pc->canon[0].map = m;
	return 0;
}


static void norm_add(struct buf *norm, const char *fmt, ...)
{
	va_list ap;

	if (norm->len)
		buf_addstr(norm, ", ");
	va_start(ap, fmt);
	buf_vaddf(norm, fmt, ap);
	va_end(ap);
}

static int not_for(struct tally_err *err, const struct spec *spec, const struct spec_column *sc, enum spec_opt o,
                   const char *name, const char *applies, enum cclass cls)
{
	return spec_err(err, spec, opt_at(sc, o), "column '%s': option '%s' applies to %s, not to one compared as %s",
	                sc->source, name, applies, cclass_name(cls));
}

/*
 * Applies a columns: entry's relaxations to a built pair: they make the
 * comparison coarser on purpose, on both sides alike. Options that do not
 * fit the pair's class are refused at the option's position.
 */
static int apply_relaxations(struct plan_col *pc, const struct spec *spec, const struct spec_column *sc,
                             struct buf *norm, struct tally_err *err)
{
	enum cclass cls = pc->canon[0].cls;

	if (sc->scale >= 0) {
		if (cls != CC_NUMBER)
			return not_for(err, spec, sc, SPEC_OPT_SCALE, "scale", "integer and decimal columns", cls);
		pc->canon[0].scale = pc->canon[1].scale = sc->scale;
		norm_add(norm, "scale %d", sc->scale);
	}
	if (sc->precision >= 0) {
		if (cls != CC_TIME && cls != CC_TIMESTAMP && cls != CC_TIMESTAMPTZ)
			return not_for(err, spec, sc, SPEC_OPT_PRECISION, "precision", "time and timestamp columns", cls);
		pc->canon[0].precision = pc->canon[1].precision = sc->precision;
		norm_add(norm, "precision %d", sc->precision);
	}
	if (sc->trim != TRIM_NONE) {
		if (cls != CC_TEXT)
			return not_for(err, spec, sc, SPEC_OPT_TRIM, "trim", "text columns", cls);
		pc->canon[0].trim = pc->canon[1].trim = sc->trim == TRIM_RIGHT ? CANON_TRIM_RIGHT : CANON_TRIM_BOTH;
		norm_add(norm, "trim %s", sc->trim == TRIM_RIGHT ? "right" : "both");
	}
	if (sc->case_insensitive) {
		if (cls != CC_TEXT)
			return not_for(err, spec, sc, SPEC_OPT_CASE, "case", "text columns", cls);
		if (canon_case_ready(err) < 0)
			return -1;
		pc->canon[0].fold_case = pc->canon[1].fold_case = true;
		norm_add(norm, "case insensitive");
	}
	if (sc->has_tolerance) {
		if (cls != CC_FLOAT32 && cls != CC_FLOAT64) {
			not_for(err, spec, sc, SPEC_OPT_TOLERANCE, "tolerance", "floating-point columns", cls);
			return cls == CC_NUMBER ? err_hint(err, "round decimals with scale: N") : -1;
		}
		pc->tolerance = sc->tolerance;
		norm_add(norm, "tolerance %g", sc->tolerance);
	}
	if (sc->optpos[SPEC_OPT_ZERO_DATE].line > 0 && sc->zero_null) {
		if (cls != CC_DATE && cls != CC_TIMESTAMP && cls != CC_TIMESTAMPTZ)
			return not_for(err, spec, sc, SPEC_OPT_ZERO_DATE, "zero_date", "date and timestamp columns", cls);
		pc->canon[0].zero_null = pc->canon[1].zero_null = true;
		norm_add(norm, "zero dates as NULL");
	}
	return 0;
}

/*
 * Pairs a compared column under its entry's options: as, map and timezone
 * decide the pair's class themselves (the types alone might not pair);
 * then the relaxations apply.
 */
static int pair_with_options(struct plan *p, const struct spec *spec, const struct spec_column *sc,
                             struct plan_col *pc, struct tally_err *err)
{
	const struct coldesc *cd[2] = { &p->desc[0].cols[pc->col[0]], &p->desc[1].cols[pc->col[1]] };
	bool tzopt = sc->timezone || sc->tz_side[0] || sc->tz_side[1];
	struct buf norm = BUF_INIT;
	int rc;

	if ((sc->as != AS_NONE) + (sc->nmap > 0) + tzopt > 1) {
		enum spec_opt second = sc->nmap && sc->as != AS_NONE ? SPEC_OPT_MAP : SPEC_OPT_TIMEZONE;

		return spec_err(err, spec, opt_at(sc, second), "column '%s': as, map and timezone each decide how "
		                "the column compares; give one of them", sc->source);
	}
	if (sc->as != AS_NONE) {
		rc = pair_as(spec, sc, cd, pc->canon, err);
		norm_add(&norm, "as %s", sc->as == AS_TEXT ? "text" : sc->as == AS_JSON ? "json" : "uuid");
	} else if (sc->nmap) {
		rc = pair_map(p, spec, sc, cd, pc, err);
		norm_add(&norm, "map of %zu value%s", sc->nmap, sc->nmap == 1 ? "" : "s");
	} else if (tzopt) {
		rc = pair_timezone(spec, sc, cd, pc->canon, err);
		for (int s = 0; s < 2; s++)
			if (pc->canon[s].tz)
				norm_add(&norm, "%s in %s", side_name(s), tz_name(pc->canon[s].tz));
	} else {
		rc = pair_system_zone(p, cd, pc, &norm, err);
		if (rc == 0)
			rc = plan_pair(cd[0], cd[1], p->engine[0], p->engine[1], false, pc->canon, err);
		if (rc > 0)
			rc = 0;
		else if (rc < 0)
			pair_error(err, p, cd[0]->name, cd[1]->name);
	}
	if (rc == 0)
		rc = apply_relaxations(pc, spec, sc, &norm, err);
	if (rc == 0 && norm.len)
		pc->norm = buf_detach(&norm, NULL);
	buf_release(&norm);
	return rc;
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
	p->engine[side] = c->engine ? c->engine : c->ops->driver;
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
	if (plan_pair(&p->desc[0].cols[si], &p->desc[1].cols[ti], p->engine[0], p->engine[1], true,
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

	if (c->multiset)
		return 0;       /* rows are their own keys */
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
		return err_hint(err, "name the columns that identify a row: key: [id]; or, for rows that nothing "
		                "identifies, compare whole rows and count copies: match: multiset");
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
	int rc;

	p->cmp = xrealloc(p->cmp, (p->ncmp + 1) * sizeof(*p->cmp));
	pc = &p->cmp[p->ncmp];
	memset(pc, 0, sizeof(*pc));
	pc->col[0] = si;
	pc->col[1] = ti;
	pc->tolerance = -1;
	p->ncmp++;          /* counted now, so that plan_release frees what it owns */
	if (sc) {
		rc = pair_with_options(p, spec, sc, pc, err);
		/* A pair the types refuse is the entry's fault when the spec names it. */
		if (rc < 0 && err->kind == ERR_SCHEMA && sc->pos.line > 0) {
			err_context(err, "%s:%d:%d", spec->file, sc->pos.line, sc->pos.col);
			err->kind = ERR_SPEC;
		}
		return rc;
	}
	{
		const struct coldesc *cd[2] = { &p->desc[0].cols[si], &p->desc[1].cols[ti] };
		struct buf norm = BUF_INIT;

		rc = pair_system_zone(p, cd, pc, &norm, err);
		if (rc > 0 && norm.len)
			pc->norm = buf_detach(&norm, NULL);
		buf_release(&norm);
		if (rc > 0)
			return 0;
	}
	if (rc < 0 || plan_pair(&p->desc[0].cols[si], &p->desc[1].cols[ti], p->engine[0], p->engine[1], false,
	                        pc->canon, err) < 0)
		return pair_error(err, p, p->desc[0].cols[si].name, p->desc[1].cols[ti].name);
	return 0;
}

/* Records the pair as refused when plan_pair refuses it; returns whether it did. */
static bool refused_add(struct plan *p, size_t si, size_t ti)
{
	struct canon_col cc[2];
	struct tally_err e, *why = &e;
	struct plan_refused *r;
	const struct coldesc *cd[2] = { &p->desc[0].cols[si], &p->desc[1].cols[ti] };

	/* a naive column against an instant pairs when its system gives its zone */
	if (system_zone_side(p, cd) >= 0)
		return false;
	err_clear(&e);
	if (plan_pair(&p->desc[0].cols[si], &p->desc[1].cols[ti], p->engine[0], p->engine[1], false, cc, &e) == 0 ||
	    e.kind != ERR_SCHEMA)
		return false;

	p->refused = xrealloc(p->refused, (p->nrefused + 1) * sizeof(*p->refused));
	r = &p->refused[p->nrefused++];
	r->source = xstrdup(p->desc[0].cols[si].name);
	r->target = xstrdup(p->desc[1].cols[ti].name);
	r->source_type = xstrdup(p->desc[0].cols[si].native);
	r->target_type = xstrdup(p->desc[1].cols[ti].native);
	r->message = xstrdup(why->msg);
	r->detail = xstrdup(why->detail);
	r->hint = xstrdup(why->hint);
	return true;
}

/* The check's options: entry for a column of the default list, or NULL. */
static const struct spec_column *find_option(const struct spec_check *c, const char *sname, const char *tname)
{
	for (size_t i = 0; i < c->noptions; i++)
		if (strcmp(c->options[i].source, sname) == 0 || strcmp(c->options[i].source, tname) == 0)
			return &c->options[i];
	return NULL;
}

/* An options: entry that no compared column took: why, at its position. */
static int option_unused(const struct plan *p, const struct spec *spec, const struct spec_column *op,
                         struct tally_err *err)
{
	long si = tabdesc_find(&p->desc[0], op->source), ti = tabdesc_find(&p->desc[1], op->source);

	if (si < 0 && ti < 0)
		return no_column(err, spec, op->pos, "column", op->source, p, SIDE_SOURCE);
	if (si < 0 || ti < 0)
		return spec_err(err, spec, op->pos, "options: column '%s' exists only in %s %s and is not compared",
		                op->source, si < 0 ? "target" : "source", p->desc[si < 0 ? 1 : 0].display);
	if (is_key_col(p, 0, (size_t)si) || is_key_col(p, 1, (size_t)ti))
		return spec_err(err, spec, op->pos, "column '%s' is a key column: normalization options apply to "
		                "compared columns only", op->source);
	if (is_ignored(p->check, op->source))
		return spec_err(err, spec, op->pos, "options: column '%s' is ignored, so it is not compared",
		                op->source);
	return spec_err(err, spec, op->pos, "options: column '%s' is not compared (expect: absent compares keys only)",
	                op->source);
}

/* Columns of the default list (non-key, on both sides, not ignored) that columns: does not list. */
static long count_left_out(const struct plan *p)
{
	const struct spec_check *c = p->check;
	long n = 0;

	for (size_t si = 0; si < p->desc[0].ncols; si++) {
		const char *name = p->desc[0].cols[si].name;
		long ti = tabdesc_find(&p->desc[1], name);
		bool listed = false;

		if (ti < 0 || is_key_col(p, 0, si) || is_key_col(p, 1, (size_t)ti) || is_ignored(c, name))
			continue;
		for (size_t i = 0; i < c->ncolumns && !listed; i++)
			listed = strcmp(c->columns[i].source, name) == 0 || strcmp(c->columns[i].target, name) == 0;
		n += !listed;
	}
	return n;
}

static int resolve_columns(struct plan *p, const struct spec *spec, struct tally_err *err)
{
	const struct spec_check *c = p->check;
	size_t used = 0;

	for (size_t i = 0; i < c->nignore && !c->ignore_lenient; i++)
		if (tabdesc_find(&p->desc[0], c->ignore[i]) < 0 && tabdesc_find(&p->desc[1], c->ignore[i]) < 0)
			return spec_err(err, spec, c->ignore_pos[i],
			                "ignored column '%s' exists on neither side", c->ignore[i]);

	p->left_out = c->columns_given ? count_left_out(p) : -1;
	if (c->expect == EXPECT_ABSENT && !c->columns_given)
		return c->noptions ? option_unused(p, spec, &c->options[0], err) : 0;    /* only keys matter */

	if (c->columns_given) {
		for (size_t i = 0; i < c->ncolumns; i++) {
			const struct spec_column *sc = &c->columns[i];
			long si = tabdesc_find(&p->desc[0], sc->source);
			long ti = tabdesc_find(&p->desc[1], sc->target);

			if (si < 0)
				return no_column(err, spec, sc->pos, "column", sc->source, p, SIDE_SOURCE);
			if (ti < 0)
				return no_column(err, spec, sc->pos, "column", sc->target, p, SIDE_TARGET);
			if (is_key_col(p, 0, (size_t)si) && is_key_col(p, 1, (size_t)ti)) {
				if (any_option(sc))
					return spec_err(err, spec, sc->opt_pos, "column '%s' is a key column: normalization "
					                "options apply to compared columns only", sc->source);
				continue;
			}
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
		{
			const struct spec_column *op = find_option(c, name, name);

			used += op != NULL;
			/* a schema check's table: a refused pair is a finding, the rest is compared */
			if (!op && c->parent && refused_add(p, si, (size_t)ti))
				continue;
			if (add_cmp(p, spec, si, (size_t)ti, op, err) < 0)
				return -1;
		}
	}
	for (size_t i = 0; used < c->noptions && i < c->noptions; i++) {
		long si = tabdesc_find(&p->desc[0], c->options[i].source);
		long ti = tabdesc_find(&p->desc[1], c->options[i].source);

		if (si < 0 || ti < 0 || is_key_col(p, 0, (size_t)si) || is_key_col(p, 1, (size_t)ti) ||
		    is_ignored(c, c->options[i].source))
			return option_unused(p, spec, &c->options[i], err);
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
		              p->engine[0], p->engine[1], false, pair, &ignored) < 0)
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
	int cls = plan_class_of(cd);

	/* JSON, addresses and bit strings go back exactly as the server printed them. */
	*raw = cls < 0 || cls == CC_JSON || cls == CC_INET || cls == CC_BITS;
	if (*raw)
		return canon_col_make(CC_TEXT, cd->type);
	return plan_side_col((enum cclass)cls, cd);
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

/* What a multiset comparison needs: values to compare, and no tolerance (copies are counted by bytes). */
static int check_multiset(const struct plan *p, const struct spec *spec, struct tally_err *err)
{
	const struct spec_check *c = p->check;

	if (!p->multiset)
		return 0;
	if (p->ncmp == 0)
		return spec_err(err, spec, c->match_pos, "check '%s': match: multiset needs columns to compare, and "
		                "%s and %s share none", c->name, p->desc[0].display, p->desc[1].display);
	for (size_t i = 0; i < c->ncolumns; i++)
		if (c->columns[i].has_tolerance)
			return spec_err(err, spec, c->columns[i].optpos[SPEC_OPT_TOLERANCE], "column '%s': match: "
			                "multiset counts copies of equal rows, and a tolerance makes equality "
			                "depend on the pair", c->columns[i].source);
	return 0;
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
	if (conn_takes_path(p->driver[w])) {
		p->no_repair = w == SIDE_TARGET ? "the target is a snapshot, not a live table"
		                                : "the source is a snapshot, not a live table";
		return 0;
	}
	if (c->multiset) {
		/* Copies are told apart by nothing: a repair must write every column. */
		const struct tabdesc *t = &p->desc[w];

		for (size_t col = 0; col < t->ncols; col++) {
			bool compared = t->cols[col].generated;

			for (size_t j = 0; j < p->ncmp && !compared; j++)
				compared = p->cmp[j].col[w] == col;
			if (!compared) {
				p->no_repair = "match: multiset repairs only tables whose every column is compared";
				return 0;
			}
		}
	}
	p->repair_side = w;
	return 0;
}

int plan_build(struct plan *p, const struct spec *spec, const struct spec_check *check,
               struct conn *src, struct conn *tgt, struct tally_err *err)
{
	memset(p, 0, sizeof(*p));
	p->newer_col = -1;
	p->check = check;
	p->multiset = check->multiset;
	if (describe_side(p, &check->source, src, SIDE_SOURCE, err) < 0 ||
	    describe_side(p, &check->target, tgt, SIDE_TARGET, err) < 0 ||
	    resolve_key(p, spec, err) < 0 || resolve_columns(p, spec, err) < 0 ||
	    check_multiset(p, spec, err) < 0 || resolve_repair(p, spec, err) < 0) {
		plan_release(p);
		return -1;
	}
	if (p->repair_side >= 0) {
		if (check->expect != EXPECT_ABSENT)
			resolve_carry(p);
		build_own(p);
	}
	build_reads(p);
	for (size_t j = 0; j < p->ncmp; j++)
		if (p->cmp[j].tolerance >= 0) {
			p->tol = xcalloc(p->ncmp, sizeof(double));
			for (size_t k = 0; k < p->ncmp; k++)
				p->tol[k] = p->cmp[k].tolerance;
			break;
		}
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
	for (size_t i = 0; i < p->ncmp; i++) {
		free(p->cmp[i].norm);
		canon_map_free(p->cmp[i].map);
	}
	for (size_t i = 0; i < p->nkey; i++)
		free(p->key[i].norm);
	for (size_t i = 0; i < p->nrefused; i++) {
		struct plan_refused *r = &p->refused[i];

		free(r->source);
		free(r->target);
		free(r->source_type);
		free(r->target_type);
		free(r->message);
		free(r->detail);
		free(r->hint);
	}
	free(p->refused);
	free(p->cmp);
	free(p->key);
	free(p->carry);
	free(p->own);
	free(p->own_raw);
	free(p->tol);
	memset(p, 0, sizeof(*p));
}
