/*
 * engine/repair.c
 *   plan -> REPAIR: what a check's repair needs to know of its plan
 *   (struct repair_info), and its JSON form in the work directory. The
 *   record writer is in repair_rec.c, the assembly of steps in
 *   repair_step.c, the script text in repair_script.c; engine/repair_int.h
 *   says how they fit together. Performs no I/O.
 */
#include "repair_int.h"

#include <stdlib.h>
#include <string.h>

/* ---- repair_info ------------------------------------------------------ */

static json_t *idx_json(const size_t *a, size_t n)
{
	json_t *j = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(j, json_integer((json_int_t)a[i]));
	return j;
}

static size_t *idx_of(json_t *j, size_t *n, size_t limit, bool *bad)
{
	size_t *a, i;
	json_t *x;

	*n = json_array_size(j);
	a = xcalloc(*n ? *n : 1, sizeof(size_t));
	json_array_foreach(j, i, x) {
		json_int_t v = json_integer_value(x);

		if (!json_is_integer(x) || v < 0 || (size_t)v >= limit)
			*bad = true;
		else
			a[i] = (size_t)v;
	}
	return a;
}

void repair_info_from_plan(struct repair_info *ri, const struct plan *p, const char *system,
                           const struct conn_ops *ops)
{
	const int w = p->repair_side;
	const struct tabdesc *t = &p->desc[w];
	json_t *tj = tabdesc_json(t);
	struct tally_err ignored;

	memset(ri, 0, sizeof(*ri));
	ri->check = xstrdup(p->check->name);
	ri->system = xstrdup(system);
	ri->driver = xstrdup(ops->driver);
	ri->ops = ops;
	ri->plan = p;
	/* An owned copy through the same form run.json keeps. */
	tabdesc_from_json(&ri->t, tj, &ignored);
	json_decref(tj);
	for (size_t i = 0; i < p->nkey; i++)
		ri->key = idx_push(ri->key, &ri->nkey, p->key[i].col[w]);
	for (size_t c = 0; c < t->ncols; c++)
		if (!t->cols[c].generated)
			ri->img = idx_push(ri->img, &ri->nimg, c);
	for (size_t j = 0; j < p->ncmp; j++)
		ri->cmp = idx_push(ri->cmp, &ri->ncmp, p->cmp[j].col[w]);
	/* INSERT: key, compared and carried columns, as the other side has them. */
	for (size_t i = 0; i < p->nkey + p->ncmp + p->ncarry; i++) {
		const struct plan_col *pc = i < p->nkey ? &p->key[i]
		                          : i < p->nkey + p->ncmp ? &p->cmp[i - p->nkey]
		                          : &p->carry[i - p->nkey - p->ncmp];
		size_t col = pc->col[w];

		if (t->cols[col].generated || idx_has(ri->ins, ri->nins, col))
			continue;
		ri->ins = idx_push(ri->ins, &ri->nins, col);
		ri->ins_pos = xrealloc(ri->ins_pos, ri->nins * sizeof(size_t));
		ri->ins_canon = xrealloc(ri->ins_canon, ri->nins * sizeof(struct canon_col));
		ri->ins_tz = xrealloc(ri->ins_tz, ri->nins * sizeof(*ri->ins_tz));
		ri->ins_pos[ri->nins - 1] = i;
		ri->ins_canon[ri->nins - 1] = canon_col_exact(&pc->canon[1 - w]);
		ri->ins_tz[ri->nins - 1] = pc->canon[w].tz;
	}
}

json_t *repair_info_json(const struct repair_info *ri)
{
	return json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o}", "check", ri->check, "system", ri->system,
	                 "driver", ri->driver, "table", tabdesc_json(&ri->t), "key", idx_json(ri->key, ri->nkey),
	                 "img", idx_json(ri->img, ri->nimg), "ins", idx_json(ri->ins, ri->nins),
	                 "cmp", idx_json(ri->cmp, ri->ncmp));
}

int repair_info_from_json(struct repair_info *ri, json_t *j, struct tally_err *err)
{
	const char *check = json_string_value(json_object_get(j, "check"));
	const char *system = json_string_value(json_object_get(j, "system"));
	const char *driver = json_string_value(json_object_get(j, "driver"));
	bool bad = false;

	memset(ri, 0, sizeof(*ri));
	if (!check || !system || !driver)
		return err_set(err, ERR_IO, "repair description is malformed");
	ri->ops = conn_driver(driver);
	if (!ri->ops)
		return err_set(err, ERR_IO, "repair description names an unknown driver '%s'", driver);
	if (tabdesc_from_json(&ri->t, json_object_get(j, "table"), err) < 0)
		return -1;
	ri->check = xstrdup(check);
	ri->system = xstrdup(system);
	ri->driver = xstrdup(driver);
	ri->key = idx_of(json_object_get(j, "key"), &ri->nkey, ri->t.ncols, &bad);
	ri->img = idx_of(json_object_get(j, "img"), &ri->nimg, ri->t.ncols, &bad);
	ri->ins = idx_of(json_object_get(j, "ins"), &ri->nins, ri->t.ncols, &bad);
	ri->cmp = idx_of(json_object_get(j, "cmp"), &ri->ncmp, ri->t.ncols, &bad);
	if (bad) {
		repair_info_release(ri);
		return err_set(err, ERR_IO, "repair description of check '%s' is malformed", check);
	}
	return 0;
}

void repair_info_release(struct repair_info *ri)
{
	if (!ri)
		return;
	free(ri->check);
	free(ri->system);
	free(ri->driver);
	tabdesc_release(&ri->t);
	free(ri->key);
	free(ri->img);
	free(ri->ins);
	free(ri->cmp);
	free(ri->ins_pos);
	free(ri->ins_canon);
	free(ri->ins_tz);
	memset(ri, 0, sizeof(*ri));
}

