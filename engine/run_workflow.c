/*
 * engine/run_workflow.c
 *   RUN: connector -> wfkeys -> chunkrun: a run's workflows. Before any
 *   chunk is read, the coordinator reads each workflow's keys once (its
 *   query or table, on the keys system's coordinator session, read-only
 *   like every read) into a sorted set kept in .tally-work/workflows.json
 *   (--resume takes it from there), and gives each step a filter that
 *   drops the differences of keys outside the set.
 *
 * Every step is read by scanning, as an ordinary check: reading a small
 * key set's rows by key (engine/bykey.c) is not built yet, and the report
 * says "reading": "scan".
 *
 * A workflow takes part only when every one of its steps runs (no --check
 * selects some steps only); its entry in run.json tells assembling which
 * checks are its steps and how their keys map.
 */
#include "run_int.h"

#include <stdlib.h>
#include <string.h>

#include "work.h"

/* Is every step of w among the run's checks? *idx[s]: the step's index in the run. */
static bool wf_runs(const struct run *r, const struct spec_workflow *w, size_t *idx)
{
	for (size_t s = 0; s < w->nsteps; s++) {
		size_t i = 0;

		while (i < r->n && strcmp(r->res[i].check->name, w->steps[s].check) != 0)
			i++;
		if (i == r->n)
			return false;
		if (idx)
			idx[s] = i;
	}
	return true;
}

json_t *run_workflows_json(const struct run *r)
{
	json_t *a = json_array();

	for (size_t wi = 0; wi < r->spec->nworkflows; wi++) {
		const struct spec_workflow *w = &r->spec->workflows[wi];
		size_t *idx = xcalloc(w->nsteps, sizeof(*idx));
		json_t *key = json_array(), *steps = json_array();

		if (!wf_runs(r, w, idx)) {
			free(idx);
			json_decref(key);
			json_decref(steps);
			continue;
		}
		for (size_t k = 0; k < w->nkey; k++)
			json_array_append_new(key, json_string(w->key[k]));
		for (size_t s = 0; s < w->nsteps; s++) {
			json_t *map = json_array();

			for (size_t k = 0; k < w->nkey; k++)
				json_array_append_new(map, json_string(w->steps[s].key_map[k]));
			json_array_append_new(steps, json_pack("{s:s, s:I, s:o}", "check", w->steps[s].check,
			                                       "index", (json_int_t)idx[s], "key_map", map));
		}
		json_array_append_new(a, json_pack("{s:s, s:s?, s:s, s:o, s:o, s:b}", "name", w->name, "reason", w->reason,
		                                   "keys_system", w->keys.system, "key", key, "steps", steps,
		                                   "repair_out_of_order", w->repair_out_of_order));
		free(idx);
	}
	return a;
}

/* The positions of the workflow's key columns among the columns d describes. */
static int key_columns(const struct spec_workflow *w, const struct tabdesc *d, size_t *cols, struct tally_err *err)
{
	for (size_t k = 0; k < w->nkey; k++) {
		size_t j = 0;

		while (j < d->ncols && strcmp(d->cols[j].name, w->key[k]) != 0)
			j++;
		if (j == d->ncols)
			return err_set(err, ERR_SCHEMA, "workflow '%s': its keys (%s) have no column '%s'", w->name,
			               d->display, w->key[k]);
		cols[k] = j;
	}
	return 0;
}

/* Reads w's keys from its system into out (sorted, distinct). */
static int read_keys(struct run *r, const struct spec_workflow *w, struct wfkeys *out, struct tally_err *err)
{
	struct conn *c;
	struct tabdesc d;
	struct scan_req req;
	struct rawrow *row;
	struct buf key = BUF_INIT;
	size_t *cols = xcalloc(w->nkey, sizeof(*cols));
	int rc, got;

	if (run_session_get(r, &r->coord, w->keys.sys, SIDE_SOURCE, NULL, &c, err) < 0) {
		free(cols);
		return -1;
	}
	memset(&d, 0, sizeof(d));
	rc = w->keys.query ? c->ops->describe_query(c, w->keys.query, &d, err)
	                   : c->ops->describe_table(c, w->keys.table, &d, err);
	if (rc == 0)
		rc = key_columns(w, &d, cols, err);
	if (rc == 0) {
		memset(&req, 0, sizeof(req));
		req.desc = &d;
		req.table = w->keys.table;
		req.query = w->keys.query;
		req.where = w->keys.where;
		req.ncols = w->nkey;
		req.cols = cols;
		rc = c->ops->scan_open(c, &req, err);
	}
	while (rc == 0 && (got = c->ops->scan_next(c, &row, err)) != 0) {
		if (got < 0) {
			rc = -1;
			break;
		}
		buf_reset(&key);
		wfkeys_encode(&key, row->val, row->len, w->nkey);
		wfkeys_add(out, key.data ? key.data : "", key.len);
	}
	if (rc == 0 || d.ncols)
		c->ops->scan_close(c);
	wfkeys_finish(out);
	buf_release(&key);
	tabdesc_release(&d);
	free(cols);
	if (rc < 0)
		return err_context(err, "workflow '%s': reading its keys", w->name);
	return 0;
}

/* Each step's filter: the workflow's key columns among the step's key (as planned). */
static int step_filters(struct run *r, size_t wi, const size_t *idx, struct tally_err *err)
{
	const struct spec_workflow *w = &r->spec->workflows[wi];

	for (size_t s = 0; s < w->nsteps; s++) {
		size_t i = idx[s];
		const struct plan *p = &r->plans[i];
		struct wf_filter *f = &r->wff[i];

		if (!r->planned[i] || r->errored[i])
			continue;
		f->keys = &r->wfk[wi];
		f->n = w->nkey;
		f->col = xcalloc(w->nkey, sizeof(*f->col));
		for (size_t k = 0; k < w->nkey; k++) {
			size_t j = 0;

			while (j < p->nkey && strcmp(plan_colname(p, &p->key[j], SIDE_SOURCE), w->steps[s].key_map[k]) != 0)
				j++;
			if (j == p->nkey)
				return err_set(err, ERR_SPEC, "workflow '%s': step '%s' has no key column '%s'", w->name,
				               w->steps[s].check, w->steps[s].key_map[k]);
			f->col[k] = j;
		}
	}
	return 0;
}

int run_workflows_prepare(struct run *r, const char *out, bool resumed, struct tally_err *err)
{
	json_t *kept = resumed ? work_read_workflows(out, err) : NULL, *all = json_object();
	int rc = 0;

	if (resumed && !kept && err->kind != ERR_NONE) {
		json_decref(all);
		return -1;
	}
	r->wfk = xcalloc(r->spec->nworkflows ? r->spec->nworkflows : 1, sizeof(*r->wfk));
	r->wff = xcalloc(r->n ? r->n : 1, sizeof(*r->wff));
	for (size_t wi = 0; wi < r->spec->nworkflows && rc == 0; wi++) {
		const struct spec_workflow *w = &r->spec->workflows[wi];
		size_t *idx = xcalloc(w->nsteps, sizeof(*idx));
		json_t *have = json_object_get(kept, w->name);

		wfkeys_init(&r->wfk[wi]);
		if (wf_runs(r, w, idx)) {
			rc = have ? wfkeys_from_json(&r->wfk[wi], have, err) : read_keys(r, w, &r->wfk[wi], err);
			if (rc == 0)
				rc = step_filters(r, wi, idx, err);
			if (rc == 0) {
				json_t *a = wfkeys_json(&r->wfk[wi]);

				if (a)
					json_object_set_new(all, w->name, a);
				else
					rc = err_set(err, ERR_DATA, "workflow '%s': a key is not valid UTF-8 text", w->name);
			}
		}
		free(idx);
	}
	if (rc == 0 && json_object_size(all))
		rc = work_write_workflows(out, all, err);
	json_decref(all);
	json_decref(kept);
	return rc;
}

void run_workflows_release(struct run *r)
{
	for (size_t i = 0; r->wff && i < r->n; i++)
		free(r->wff[i].col);
	free(r->wff);
	for (size_t i = 0; r->wfk && i < r->spec->nworkflows; i++)
		wfkeys_release(&r->wfk[i]);
	free(r->wfk);
}
