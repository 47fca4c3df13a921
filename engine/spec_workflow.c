/*
 * engine/spec_workflow.c
 *   SPEC: workflows: a multi-step job whose steps are ordinary checks.
 *   Each step is parsed by the check parser (spec_check.c) into a check
 *   named "WORKFLOW.STEP", appended to the spec's checks, so that the
 *   run plans, compares and repairs it as any other; key_map ties the
 *   step's key to the workflow's. Performs no I/O.
 */
#include "spec_int.h"

#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

static const char *const bools[] = { "false", "true", NULL };

/* The workflow's key: a column name or a sequence of them. */
static int parse_wf_key(struct loader *ld, const struct field *f, const char *parent, struct spec_workflow *w)
{
	struct spec_check tmp;
	char path[PATH_LEN];
	struct spec_pos pos = spec_val_pos(f);

	spec_path_key(path, sizeof(path), parent, f->name);
	if (spec_is_scalar(f->val)) {
		w->key = xcalloc(1, sizeof(*w->key));
		w->nkey = 1;
		return spec_node_str(ld, f->val, pos, path, true, &w->key[0]);
	}
	/* The check parser's key rules (a sequence of distinct names), then moved here. */
	memset(&tmp, 0, sizeof(tmp));
	{
		const struct spec_body b = { .key = f };
		int rc = spec_parse_body(ld, &b, parent, &tmp);

		w->key = tmp.key;
		w->nkey = tmp.nkey;
		return rc;
	}
}

static ssize_t index_of(char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return (ssize_t)i;
	return -1;
}

/*
 * key_map: { WORKFLOW_KEY_COLUMN: STEP_COLUMN }: the step's column for
 * each workflow key column; one left out is the same name.
 */
static int parse_key_map(struct loader *ld, const struct field *f, const char *parent,
                         const struct spec_workflow *w, struct spec_wf_step *st)
{
	char path[PATH_LEN];
	void *iter = NULL;
	size_t n;

	st->key_map = xcalloc(w->nkey, sizeof(*st->key_map));
	if (!f->key)
		goto defaults;
	spec_path_key(path, sizeof(path), parent, f->name);
	if (spec_want_kind(ld, f->val, spec_val_pos(f), path, FYNT_MAPPING, "a mapping of workflow key columns "
	                   "to step columns"))
		return -1;
	n = spec_item_count(f->val);
	for (size_t i = 0; i < n; i++) {
		struct fy_node_pair *pair = fy_node_mapping_iterate(f->val, &iter);
		struct fy_node *key = fy_node_pair_key(pair), *val = fy_node_pair_value(pair);
		struct spec_pos kpos = spec_pos_or(key, spec_val_pos(f));
		char *from = NULL, vpath[PATH_LEN];
		ssize_t k;

		if (spec_deref(ld, &key, kpos, path) || spec_deref(ld, &val, kpos, path) ||
		    spec_node_str(ld, key, kpos, path, true, &from))
			return -1;
		k = index_of(w->key, w->nkey, from);
		spec_path_key(vpath, sizeof(vpath), path, from);
		free(from);
		if (k < 0)
			return spec_fail(ld, kpos, vpath, "not a column of the workflow's key");
		if (spec_node_str(ld, val, spec_pos_or(val, kpos), vpath, true, &st->key_map[k]))
			return -1;
	}
defaults:
	for (size_t k = 0; k < w->nkey; k++)
		if (!st->key_map[k])
			st->key_map[k] = xstrdup(w->key[k]);
	return 0;
}

/*
 * The step's key covers the workflow's: each mapped column is one of its
 * key columns. A step without key: takes the mapped workflow key.
 */
static int step_key(struct loader *ld, const struct field *kmf, const char *path, const struct spec_workflow *w,
                    const struct spec_wf_step *st, struct spec_check *chk)
{
	if (!(chk->given & SPEC_GIVEN_KEY)) {
		chk->key = xcalloc(w->nkey, sizeof(*chk->key));
		chk->nkey = w->nkey;
		for (size_t k = 0; k < w->nkey; k++)
			chk->key[k] = xstrdup(st->key_map[k]);
		chk->key_pos = chk->pos;
		chk->given |= SPEC_GIVEN_KEY;
		return 0;
	}
	for (size_t k = 0; k < w->nkey; k++) {
		if (index_of(chk->key, chk->nkey, st->key_map[k]) >= 0)
			continue;
		if (kmf->key && strcmp(st->key_map[k], w->key[k]) != 0) {
			char kpath[PATH_LEN];

			spec_path_key(kpath, sizeof(kpath), path, "key_map");
			return spec_fail(ld, spec_val_pos(kmf), kpath, "column '%s' (for workflow key column '%s') is not "
			                 "in the step's key", st->key_map[k], w->key[k]);
		}
		return spec_fail(ld, chk->key_pos, path, "the step's key does not cover workflow key column '%s' "
		                 "(add it, or map it with key_map)", w->key[k]);
	}
	return 0;
}

enum {
	S_NAME, S_SOURCE, S_TARGET, S_KEY, S_COLUMNS, S_OPTIONS, S_IGNORE, S_EXPECT, S_REPAIR,
	S_CHUNK_ROWS, S_KEY_MAP, S_N
};

static int parse_step(struct loader *ld, struct fy_node *n, struct spec_pos pos, const char *path,
                      struct spec_workflow *w, size_t si)
{
	struct field f[S_N] = {
		[S_NAME] = { .name = "name" }, [S_SOURCE] = { .name = "source" }, [S_TARGET] = { .name = "target" },
		[S_KEY] = { .name = "key" }, [S_COLUMNS] = { .name = "columns" }, [S_OPTIONS] = { .name = "options" },
		[S_IGNORE] = { .name = "ignore" }, [S_EXPECT] = { .name = "expect" }, [S_REPAIR] = { .name = "repair" },
		[S_CHUNK_ROWS] = { .name = "chunk_rows" }, [S_KEY_MAP] = { .name = "key_map" },
	};
	const struct spec_body body = {
		.key = &f[S_KEY], .columns = &f[S_COLUMNS], .options = &f[S_OPTIONS], .ignore = &f[S_IGNORE],
		.expect = &f[S_EXPECT], .repair = &f[S_REPAIR], .chunk_rows = &f[S_CHUNK_ROWS],
	};
	struct spec *s = ld->s;
	struct spec_wf_step *st = &w->steps[si];
	struct spec_check *chk;
	char npath[PATH_LEN], *step = NULL;
	size_t ci = s->nchecks, j;

	if (spec_want_kind(ld, n, pos, path, FYNT_MAPPING, "a mapping") || spec_get_fields(ld, n, path, f, S_N) ||
	    spec_require(ld, &f[S_NAME], n, path) || spec_require(ld, &f[S_SOURCE], n, path) ||
	    spec_require(ld, &f[S_TARGET], n, path))
		return -1;
	spec_path_key(npath, sizeof(npath), path, "name");
	if (spec_node_name(ld, f[S_NAME].val, spec_val_pos(&f[S_NAME]), npath, &step))
		return -1;
	s->checks = xrealloc(s->checks, (ci + 1) * sizeof(*s->checks));
	chk = &s->checks[ci];
	memset(chk, 0, sizeof(*chk));
	s->nchecks++;
	chk->name = xasprintf("%s.%s", w->name, step);
	free(step);
	chk->pos = pos;
	if (!nameset_add(&ld->checks, chk->name, strlen(chk->name), ci, &j))
		return spec_fail(ld, spec_val_pos(&f[S_NAME]), npath, "duplicate step name '%s'", chk->name);
	st->check = xstrdup(chk->name);
	if (spec_parse_side(ld, &f[S_SOURCE], path, &chk->source) ||
	    spec_parse_side(ld, &f[S_TARGET], path, &chk->target))
		return -1;
	if (chk->source.schema || chk->target.schema)
		return spec_fail(ld, chk->source.schema ? chk->source.pos : chk->target.pos, path,
		                 "a workflow step compares a table or a query, not a schema");
	if (spec_parse_body(ld, &body, path, chk) || parse_key_map(ld, &f[S_KEY_MAP], path, w, st))
		return -1;
	return step_key(ld, &f[S_KEY_MAP], path, w, st, chk);
}

static int parse_steps(struct loader *ld, const struct field *f, const char *parent, struct spec_workflow *w)
{
	char path[PATH_LEN];
	struct spec_pos seq_pos = spec_val_pos(f);
	void *iter = NULL;

	spec_path_key(path, sizeof(path), parent, f->name);
	if (spec_want_kind(ld, f->val, seq_pos, path, FYNT_SEQUENCE, "a sequence"))
		return -1;
	w->nsteps = spec_item_count(f->val);
	if (w->nsteps == 0)
		return spec_fail(ld, seq_pos, path, "expected at least one step");
	w->steps = xcalloc(w->nsteps, sizeof(*w->steps));
	for (size_t i = 0; i < w->nsteps; i++) {
		struct fy_node *item = fy_node_sequence_iterate(f->val, &iter);
		struct spec_pos ipos = spec_pos_or(item, seq_pos);
		char ipath[PATH_LEN];

		spec_path_index(ipath, sizeof(ipath), path, i);
		if (spec_deref(ld, &item, ipos, ipath) || parse_step(ld, item, ipos, ipath, w, i))
			return -1;
	}
	return 0;
}

enum { W_NAME, W_REASON, W_KEYS, W_KEY, W_STEPS, W_OUT_OF_ORDER, W_N };

static int parse_workflow(struct loader *ld, struct fy_node *n, struct spec_pos pos, const char *path,
                          struct spec_workflow *w)
{
	struct field f[W_N] = {
		[W_NAME] = { .name = "name" }, [W_REASON] = { .name = "reason" }, [W_KEYS] = { .name = "keys" },
		[W_KEY] = { .name = "key" }, [W_STEPS] = { .name = "steps" },
		[W_OUT_OF_ORDER] = { .name = "repair_out_of_order" },
	};
	char npath[PATH_LEN];
	size_t j;
	int v;

	w->pos = pos;
	if (spec_want_kind(ld, n, pos, path, FYNT_MAPPING, "a mapping") || spec_get_fields(ld, n, path, f, W_N) ||
	    spec_require(ld, &f[W_NAME], n, path) || spec_require(ld, &f[W_KEYS], n, path) ||
	    spec_require(ld, &f[W_KEY], n, path) || spec_require(ld, &f[W_STEPS], n, path))
		return -1;
	spec_path_key(npath, sizeof(npath), path, "name");
	if (spec_node_name(ld, f[W_NAME].val, spec_val_pos(&f[W_NAME]), npath, &w->name))
		return -1;
	/* A workflow's name selects its steps (--check NAME): no check may share it. */
	if (!nameset_add(&ld->checks, w->name, strlen(w->name), (size_t)-1, &j))
		return spec_fail(ld, spec_val_pos(&f[W_NAME]), npath, "duplicate name '%s' (a check or a workflow "
		                 "has it already)", w->name);
	if (f[W_REASON].key && spec_field_str(ld, &f[W_REASON], path, false, &w->reason))
		return -1;
	if (spec_parse_side(ld, &f[W_KEYS], path, &w->keys))
		return -1;
	if (w->keys.schema) {
		spec_path_key(npath, sizeof(npath), path, "keys");
		return spec_fail(ld, w->keys.pos, npath, "a workflow's keys come from a table or a query, not a schema");
	}
	if (parse_wf_key(ld, &f[W_KEY], path, w))
		return -1;
	if (f[W_OUT_OF_ORDER].key) {
		if (spec_field_enum(ld, &f[W_OUT_OF_ORDER], path, bools, &v))
			return -1;
		w->repair_out_of_order = v == 1;
	}
	return parse_steps(ld, &f[W_STEPS], path, w);
}

int spec_parse_workflows(struct loader *ld, const struct field *f)
{
	struct spec *s = ld->s;
	struct spec_pos seq_pos = spec_val_pos(f);
	void *iter = NULL;
	size_t n = spec_want_items(ld, f, "workflow");

	if (n == 0)
		return -1;
	s->workflows = xcalloc(n, sizeof(*s->workflows));
	s->nworkflows = n;
	for (size_t i = 0; i < n; i++) {
		struct fy_node *item = fy_node_sequence_iterate(f->val, &iter);
		struct spec_pos ipos = spec_pos_or(item, seq_pos);
		char ipath[PATH_LEN];

		spec_path_index(ipath, sizeof(ipath), f->name, i);
		if (spec_deref(ld, &item, ipos, ipath) || parse_workflow(ld, item, ipos, ipath, &s->workflows[i]))
			return -1;
	}
	return 0;
}
