/*
 * engine/assemble_wf.c
 *   ASSEMBLE_WF: a run's workflows from its diff lines (assemble_wf.h).
 */
#include "assemble_wf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/zfile.h"
#include "work.h"

#define WITHHELD "keys done out of order are left out of the repair (repair_out_of_order: false)"

void wfa_release(struct wfa *a)
{
	for (size_t i = 0; i < a->n; i++) {
		struct wfa_one *w = &a->w[i];

		free(w->check);
		wfkeys_release(&w->keys);
		free(w->done);
		free(w->outside);
		free(w->not_done);
		wf_counts_release(&w->counts);
	}
	free(a->w);
	memset(a, 0, sizeof(*a));
}

static int load_one(struct wfa_one *w, json_t *def, json_t *keys, size_t nchecks, const bool *errored,
                    struct tally_err *err)
{
	json_t *steps = json_object_get(def, "steps"), *st;
	size_t s;

	w->def = def;
	w->name = json_string_value(json_object_get(def, "name"));
	w->nsteps = json_array_size(steps);
	if (!w->name || w->nsteps == 0)
		return err_set(err, ERR_IO, "run.json is malformed: workflows");
	w->check = xcalloc(w->nsteps, sizeof(*w->check));
	w->outside = xcalloc(w->nsteps, sizeof(*w->outside));
	w->not_done = xcalloc(w->nsteps, sizeof(*w->not_done));
	wf_counts_init(&w->counts, w->nsteps);
	json_array_foreach(steps, s, st) {
		json_int_t i = json_integer_value(json_object_get(st, "index"));

		if (i < 0 || (size_t)i >= nchecks)
			return err_set(err, ERR_IO, "run.json is malformed: workflow '%s'", w->name);
		w->check[s] = (size_t)i;
		w->skipped = w->skipped || errored[i];
	}
	if (!keys)
		return err_set(err, ERR_IO, "the keys of workflow '%s' are not in the work directory", w->name);
	if (wfkeys_from_json(&w->keys, keys, err) < 0)
		return -1;
	/* Every step is done for every key, until a difference says otherwise. */
	w->done = xcalloc(w->keys.n * w->nsteps + 1, sizeof(*w->done));
	for (size_t k = 0; k < w->keys.n * w->nsteps; k++)
		w->done[k] = true;
	return 0;
}

int wfa_load(struct wfa *a, json_t *run, const char *dir, const bool *errored, struct tally_err *err)
{
	json_t *defs = json_object_get(run, "workflows"), *keys, *def;
	size_t nchecks = json_array_size(json_object_get(run, "checks")), i;
	int rc = 0;

	memset(a, 0, sizeof(*a));
	if (json_array_size(defs) == 0)
		return 0;
	keys = work_read_workflows(dir, err);
	if (!keys && err->kind != ERR_NONE)
		return -1;
	a->w = xcalloc(json_array_size(defs), sizeof(*a->w));
	json_array_foreach(defs, i, def) {
		const char *name = json_string_value(json_object_get(def, "name"));

		a->n++;
		rc = load_one(&a->w[i], def, name ? json_object_get(keys, name) : NULL, nchecks, errored, err);
		if (rc < 0)
			break;
	}
	json_decref(keys);
	return rc;
}

void wfa_add_outside(struct wfa *a, size_t check, uint64_t outside)
{
	for (size_t i = 0; i < a->n; i++)
		for (size_t s = 0; s < a->w[i].nsteps; s++)
			if (a->w[i].check[s] == check)
				a->w[i].outside[s] += outside;
}

/* A key value of a diff line as the key set encodes it: an integer's digits, a string's text. */
static bool value_text(struct buf *out, json_t *v)
{
	char num[32];

	if (json_is_integer(v)) {
		int n = snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));

		buf_addf(out, "%d:%s", n, num);
		return true;
	}
	if (json_is_string(v)) {
		buf_addf(out, "%zu:", json_string_length(v));
		buf_add(out, json_string_value(v), json_string_length(v));
		return true;
	}
	if (json_is_null(v)) {
		buf_addstr(out, "0:");
		return true;
	}
	return false;
}

/* One difference line: the step it belongs to is not done for its workflow key. */
static void mark_line(struct wfa *a, const char *check, json_t *key, json_t *checks, struct buf *enc)
{
	for (size_t i = 0; i < a->n; i++) {
		struct wfa_one *w = &a->w[i];
		json_t *steps = json_object_get(w->def, "steps");

		for (size_t s = 0; s < w->nsteps; s++) {
			json_t *map = json_object_get(json_array_get(steps, s), "key_map");
			const char *name = json_string_value(json_object_get(json_array_get(checks, w->check[s]), "name"));
			bool ok = true;
			long at;

			if (!name || strcmp(name, check) != 0)
				continue;
			buf_reset(enc);
			for (size_t k = 0; k < json_array_size(map) && ok; k++)
				ok = value_text(enc, json_object_get(key, json_string_value(json_array_get(map, k))));
			at = ok ? wfkeys_find(&w->keys, enc->data ? enc->data : "") : -1;
			if (at >= 0 && w->done[(size_t)at * w->nsteps + s]) {
				w->done[(size_t)at * w->nsteps + s] = false;
				w->not_done[s]++;
			}
		}
	}
}

struct scan_ctx {
	struct wfa *a;
	json_t *checks;
	struct buf enc;
};

static int scan_line(struct scan_ctx *c, const char *line, size_t len, struct tally_err *err)
{
	json_error_t je;
	json_t *j = json_loadb(line, len, 0, &je);
	const char *check, *kind;

	if (!j)
		return err_set(err, ERR_IO, "a line of the diff file is not JSON: %s", je.text);
	check = json_string_value(json_object_get(j, "check"));
	kind = json_string_value(json_object_get(j, "kind"));
	/* A row being written (--recheck) is no difference. */
	if (check && kind && strcmp(kind, "in_flight") != 0)
		mark_line(c->a, check, json_object_get(j, "key"), c->checks, &c->enc);
	json_decref(j);
	return 0;
}

static int read_diff(struct scan_ctx *c, const char *path, struct tally_err *err)
{
	struct zlines z;
	const char *line;
	size_t len;
	int rc;

	if (zlines_open(&z, path, err) < 0)
		return -1;
	while ((rc = zlines_next(&z, &line, &len, err)) == 1)
		if (scan_line(c, line, len, err) < 0) {
			rc = -1;
			break;
		}
	zlines_close(&z);
	return rc;
}

/* The step's name within its workflow: its check's name without "WORKFLOW.". */
static const char *step_name(const struct wfa_one *w, size_t s)
{
	json_t *st = json_array_get(json_object_get(w->def, "steps"), s);
	const char *c = json_string_value(json_object_get(st, "check"));
	size_t n = strlen(w->name);

	return c && strncmp(c, w->name, n) == 0 && c[n] == '.' ? c + n + 1 : c ? c : "?";
}

/* The key's line: {"kind":"workflow","workflow","key","steps":[...],"group"[,"after"]}. */
static int key_line(struct zfile *z, const struct wfa_one *w, size_t k, struct tally_err *err)
{
	json_t *names = json_object_get(w->def, "key"), *steps = json_array(), *line;
	size_t nkey = json_array_size(names), after = 0;
	char **kn = xcalloc(nkey ? nkey : 1, sizeof(*kn));
	const bool *done = &w->done[k * w->nsteps];
	enum wf_group g = wf_group_of(done, w->nsteps, &after);
	char *text;
	int rc;

	for (size_t i = 0; i < nkey; i++)
		kn[i] = (char *)json_string_value(json_array_get(names, i));
	for (size_t s = 0; s < w->nsteps; s++)
		json_array_append_new(steps, json_boolean(done[s]));
	line = json_pack("{s:s, s:s, s:o, s:o, s:s}", "kind", "workflow", "workflow", w->name,
	                 "key", wfkeys_key_json(w->keys.k[k], kn, nkey), "steps", steps, "group", wf_group_name(g));
	if (g == WF_STOPPED)
		json_object_set_new(line, "after", json_string(step_name(w, after)));
	text = json_dumps(line, JSON_COMPACT);
	rc = zfile_write(z, text, strlen(text), err);
	if (rc == 0)
		rc = zfile_write(z, "\n", 1, err);
	free(text);
	json_decref(line);
	free(kn);
	return rc;
}

int wfa_apply(struct wfa *a, const char *path, struct tally_err *err)
{
	struct scan_ctx c = { a, NULL, BUF_INIT };
	struct tally_err later;
	struct zfile z;
	int fd, rc;

	if (a->n == 0)
		return 0;
	c.checks = json_array();
	/* The step checks' names, by index, from the workflows' own entries. */
	for (size_t i = 0; i < a->n; i++) {
		json_t *steps = json_object_get(a->w[i].def, "steps");

		for (size_t s = 0; s < a->w[i].nsteps; s++) {
			while (json_array_size(c.checks) <= a->w[i].check[s])
				json_array_append_new(c.checks, json_object());
			json_object_set(json_array_get(c.checks, a->w[i].check[s]), "name",
			                json_object_get(json_array_get(steps, s), "check"));
		}
	}
	rc = read_diff(&c, path, err);
	json_decref(c.checks);
	buf_release(&c.enc);
	if (rc < 0)
		return -1;
	fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0)
		return err_set(err, ERR_IO, "cannot open '%s': %s", path, strerror(errno));
	/* Another zstd frame after the differences' frames: readers take any number. */
	if (zfile_fdopen(&z, fd, path, 3, 0, err) < 0)
		return -1;
	for (size_t i = 0; i < a->n && rc == 0; i++) {
		struct wfa_one *w = &a->w[i];

		if (w->skipped)
			continue;
		for (size_t k = 0; k < w->keys.n && rc == 0; k++) {
			wf_counts_add(&w->counts, &w->done[k * w->nsteps], NULL);
			rc = key_line(&z, w, k, err);
		}
	}
	if (zfile_close(&z, rc == 0 ? err : &later) < 0)
		rc = -1;
	return rc;
}

static bool withholds(const struct wfa_one *w)
{
	return !w->skipped && w->counts.out_of_order &&
	       !json_is_true(json_object_get(w->def, "repair_out_of_order"));
}

bool wfa_withholds_key(void *ctx, size_t check, const char *wfkey)
{
	const struct wfa *a = ctx;

	for (size_t i = 0; i < a->n; i++) {
		const struct wfa_one *w = &a->w[i];
		long k;

		if (!withholds(w))
			continue;
		for (size_t s = 0; s < w->nsteps; s++) {
			if (w->check[s] != check)
				continue;
			k = wfkeys_find(&w->keys, wfkey);
			if (k >= 0 && wf_group_of(&w->done[(size_t)k * w->nsteps], w->nsteps, NULL) == WF_OUT_OF_ORDER)
				return true;
		}
	}
	return false;
}

/* The keys of one group, as key objects. */
static json_t *group_keys(const struct wfa_one *w, enum wf_group want)
{
	json_t *names = json_object_get(w->def, "key"), *out = json_array();
	size_t nkey = json_array_size(names);
	char **kn = xcalloc(nkey ? nkey : 1, sizeof(*kn));

	for (size_t i = 0; i < nkey; i++)
		kn[i] = (char *)json_string_value(json_array_get(names, i));
	for (size_t k = 0; k < w->keys.n; k++)
		if (wf_group_of(&w->done[k * w->nsteps], w->nsteps, NULL) == want)
			json_array_append_new(out, wfkeys_key_json(w->keys.k[k], kn, nkey));
	free(kn);
	return out;
}

json_t *wfa_json(const struct wfa *a, const char *(*system_of)(void *ctx, size_t check), void *ctx)
{
	json_t *out = json_array();

	for (size_t i = 0; i < a->n; i++) {
		const struct wfa_one *w = &a->w[i];
		json_t *stopped = json_object(), *steps = json_array();

		if (w->skipped)
			continue;
		for (size_t s = 0; s < w->nsteps; s++) {
			const char *sys = system_of ? system_of(ctx, w->check[s]) : NULL;

			if (s + 1 < w->nsteps)
				json_object_set_new(stopped, step_name(w, s), json_integer((json_int_t)w->counts.stopped_after[s]));
			json_array_append_new(steps, json_pack("{s:s, s:O, s:s?, s:I, s:I}", "name", step_name(w, s),
			                                       "check", json_object_get(json_array_get(json_object_get(w->def,
			                                       "steps"), s), "check"), "system", sys,
			                                       "not_done", (json_int_t)w->not_done[s],
			                                       "outside_keys", (json_int_t)w->outside[s]));
		}
		json_array_append_new(out, json_pack("{s:s, s:O, s:I, s:s, s:{s:I, s:I, s:o, s:I}, s:o, s:o, s:b, s:s?}",
		                                     "name", w->name, "reason", json_object_get(w->def, "reason") ?
		                                     json_object_get(w->def, "reason") : json_null(),
		                                     "keys", (json_int_t)w->keys.n, "reading", "scan",
		                                     "groups", "complete", (json_int_t)w->counts.complete,
		                                     "never_started", (json_int_t)w->counts.never_started,
		                                     "stopped_after", stopped,
		                                     "out_of_order", (json_int_t)w->counts.out_of_order,
		                                     "steps", steps, "out_of_order_keys", group_keys(w, WF_OUT_OF_ORDER),
		                                     "repair_out_of_order",
		                                     json_is_true(json_object_get(w->def, "repair_out_of_order")),
		                                     "repair_withheld", withholds(w) ? WITHHELD : NULL));
	}
	return out;
}
