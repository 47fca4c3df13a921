/*
 * engine/spec.c
 *   SPEC -> plan: the spec loader's public interface (spec.h): loading a
 *   file or a string, freeing, lookups, ${VAR} expansion and the
 *   redaction of dsns. Reads the spec file; spec_yaml.c reads the YAML,
 *   spec_check.c validates it.
 */
#include "spec_int.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- public interface ---- */

int spec_load_string(const char *name, const char *text, size_t len,
                     struct spec *out, struct tally_err *err)
{
	struct spec s;
	struct loader ld = { name, &s, err, NAMESET_INIT, NAMESET_INIT,
	                     { NAMESET_INIT, NAMESET_INIT } };

	memset(out, 0, sizeof(*out));
	memset(&s, 0, sizeof(s));
	if (!name)
		name = "<string>";
	ld.file = name;
	if (!text) {
		text = "";
		len = 0;
	}
	s.file = xstrdup(name);
	if (spec_load_text(&ld, text, len)) {
		spec_release(&s);
		return -1;
	}
	*out = s;
	return 0;
}

int spec_read(const char *path, struct buf *text, struct tally_err *err)
{
	FILE *fp = fopen(path, "rb");

	if (!fp)
		return err_set(err, ERR_SPEC, "cannot read spec file '%s': %s",
		               path, strerror(errno));
	for (;;) {
		size_t n;

		buf_grow(text, 8192);
		n = fread(text->data + text->len, 1, text->cap - text->len - 1, fp);
		buf_setlen(text, text->len + n);
		if (n == 0)
			break;
	}
	if (ferror(fp)) {
		int e = errno;

		fclose(fp);
		return err_set(err, ERR_SPEC, "cannot read spec file '%s': %s",
		               path, strerror(e));
	}
	fclose(fp);
	return 0;
}

int spec_load(const char *path, struct spec *out, struct tally_err *err)
{
	struct buf b = BUF_INIT;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = spec_read(path, &b, err);
	if (rc == 0)
		rc = spec_load_string(path, b.data, b.len, out, err);
	buf_release(&b);
	return rc;
}

void spec_column_copy(struct spec_column *dst, const struct spec_column *src)
{
	*dst = *src;
	dst->source = xstrdup(src->source);
	dst->target = xstrdup(src->target);
	dst->timezone = src->timezone ? xstrdup(src->timezone) : NULL;
	for (int s = 0; s < 2; s++)
		dst->tz_side[s] = src->tz_side[s] ? xstrdup(src->tz_side[s]) : NULL;
	dst->map = src->nmap ? xcalloc(src->nmap, sizeof(*dst->map)) : NULL;
	for (size_t j = 0; j < src->nmap; j++) {
		dst->map[j] = src->map[j];
		dst->map[j].from = xstrdup(src->map[j].from);
		dst->map[j].to = xstrdup(src->map[j].to);
	}
}

void spec_finding_release(struct spec_finding *f)
{
	free(f->check);
	free(f->kind);
	free(f->table);
	free(f->system);
}

void spec_newer_copy(struct spec_newer *dst, const struct spec_newer *src)
{
	*dst = *src;
	dst->column = src->column ? xstrdup(src->column) : NULL;
	dst->age = src->age ? xstrdup(src->age) : NULL;
}

void spec_check_release(struct spec_check *c)
{
	struct spec_side *sides[] = { &c->source, &c->target };

	free(c->name);
	for (size_t i = 0; i < 2; i++) {
		free(sides[i]->system);
		free(sides[i]->table);
		free(sides[i]->where);
		free(sides[i]->query);
		free(sides[i]->schema);
	}
	free(c->parent);
	free(c->newer.column);
	free(c->newer.age);
	if (c->schema) {
		for (size_t i = 0; i < c->schema->ninclude; i++)
			free(c->schema->include[i]);
		free(c->schema->include);
		for (size_t i = 0; i < c->schema->nexclude; i++)
			free(c->schema->exclude[i]);
		free(c->schema->exclude);
		for (size_t i = 0; i < c->schema->ntables; i++)
			spec_check_release(&c->schema->tables[i]);
		free(c->schema->tables);
		free(c->schema);
	}
	for (size_t i = 0; i < c->nkey; i++)
		free(c->key[i]);
	free(c->key);
	for (size_t i = 0; i < c->ncolumns; i++)
		spec_column_release(&c->columns[i]);
	free(c->columns);
	for (size_t i = 0; i < c->noptions; i++)
		spec_column_release(&c->options[i]);
	free(c->options);
	for (size_t i = 0; i < c->nignore; i++)
		free(c->ignore[i]);
	free(c->ignore);
	free(c->ignore_pos);
}

void spec_column_release(struct spec_column *col)
{
	free(col->source);
	free(col->target);
	free(col->timezone);
	free(col->tz_side[0]);
	free(col->tz_side[1]);
	for (size_t j = 0; j < col->nmap; j++) {
		free(col->map[j].from);
		free(col->map[j].to);
	}
	free(col->map);
}

static const char *const opt_names[SPEC_OPT_N] = {
	[SPEC_OPT_SCALE] = "scale", [SPEC_OPT_PRECISION] = "precision", [SPEC_OPT_TIMEZONE] = "timezone",
	[SPEC_OPT_TRIM] = "trim", [SPEC_OPT_CASE] = "case", [SPEC_OPT_TOLERANCE] = "tolerance",
	[SPEC_OPT_MAP] = "map", [SPEC_OPT_AS] = "as", [SPEC_OPT_ZERO_DATE] = "zero_date",
};

/* Moves option o from src to dst (dst does not have it). */
static void move_option(struct spec_column *dst, struct spec_column *src, enum spec_opt o)
{
	switch (o) {
	case SPEC_OPT_SCALE: dst->scale = src->scale; break;
	case SPEC_OPT_PRECISION: dst->precision = src->precision; break;
	case SPEC_OPT_TIMEZONE:
		dst->timezone = src->timezone;
		dst->tz_side[0] = src->tz_side[0];
		dst->tz_side[1] = src->tz_side[1];
		src->timezone = src->tz_side[0] = src->tz_side[1] = NULL;
		break;
	case SPEC_OPT_TRIM: dst->trim = src->trim; break;
	case SPEC_OPT_CASE: dst->case_insensitive = src->case_insensitive; break;
	case SPEC_OPT_TOLERANCE:
		dst->has_tolerance = src->has_tolerance;
		dst->tolerance = src->tolerance;
		break;
	case SPEC_OPT_MAP:
		dst->map = src->map;
		dst->nmap = src->nmap;
		src->map = NULL;
		src->nmap = 0;
		break;
	case SPEC_OPT_AS: dst->as = src->as; break;
	case SPEC_OPT_ZERO_DATE: dst->zero_null = src->zero_null; break;
	case SPEC_OPT_N: break;
	}
	dst->optpos[o] = src->optpos[o];
	if (dst->opt_pos.line == dst->pos.line && dst->opt_pos.col == dst->pos.col)
		dst->opt_pos = src->optpos[o];
}

static struct spec_column *named(struct spec_column *cols, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(cols[i].source, name) == 0 || strcmp(cols[i].target, name) == 0)
			return &cols[i];
	return NULL;
}

int spec_apply_options(const char *file, struct spec_column *options, size_t n, struct spec_column *cols,
                       size_t ncols, struct tally_err *err)
{
	for (size_t i = 0; i < n; i++) {
		struct spec_column *op = &options[i], *c = named(cols, ncols, op->source);

		if (!c)
			return err_set(err, ERR_SPEC, "%s:%d:%d: options.%s: column '%s' is not compared: with "
			               "columns: given, options apply to the columns it lists", file, op->pos.line,
			               op->pos.col, op->source, op->source);
		for (int o = 0; o < SPEC_OPT_N; o++)
			if (op->optpos[o].line > 0 && c->optpos[o].line > 0)
				return err_set(err, ERR_SPEC, "%s:%d:%d: options.%s: option '%s' is already set for "
				               "column '%s' at line %d", file, op->optpos[o].line, op->optpos[o].col,
				               op->source, opt_names[o], op->source, c->optpos[o].line);
		for (int o = 0; o < SPEC_OPT_N; o++)
			if (op->optpos[o].line > 0)
				move_option(c, op, (enum spec_opt)o);
	}
	return 0;
}

void spec_workflow_release(struct spec_workflow *w)
{
	free(w->name);
	free(w->reason);
	free(w->keys.system);
	free(w->keys.table);
	free(w->keys.where);
	free(w->keys.query);
	free(w->keys.schema);
	for (size_t i = 0; i < w->nsteps; i++) {
		for (size_t k = 0; w->steps[i].key_map && k < w->nkey; k++)
			free(w->steps[i].key_map[k]);
		free(w->steps[i].key_map);
		free(w->steps[i].check);
	}
	free(w->steps);
	for (size_t k = 0; k < w->nkey; k++)
		free(w->key[k]);
	free(w->key);
}

struct spec_workflow *spec_find_workflow(const struct spec *s, const char *name)
{
	for (size_t i = 0; s && name && i < s->nworkflows; i++)
		if (strcmp(s->workflows[i].name, name) == 0)
			return &s->workflows[i];
	return NULL;
}

struct spec_workflow *spec_workflow_of(const struct spec *s, const char *check, size_t *step)
{
	for (size_t i = 0; s && check && i < s->nworkflows; i++)
		for (size_t j = 0; j < s->workflows[i].nsteps; j++)
			if (strcmp(s->workflows[i].steps[j].check, check) == 0) {
				if (step)
					*step = j;
				return &s->workflows[i];
			}
	return NULL;
}

void spec_release(struct spec *s)
{
	if (!s)
		return;
	free(s->file);
	free(s->name);
	free(s->reason);
	free(s->ticket);
	for (size_t i = 0; i < s->nsystems; i++) {
		free(s->systems[i].name);
		free(s->systems[i].driver);
		free(s->systems[i].dsn);
		free(s->systems[i].dsn_shown);
		free(s->systems[i].timezone);
	}
	free(s->systems);
	for (size_t i = 0; i < s->nchecks; i++)
		spec_check_release(&s->checks[i]);
	free(s->checks);
	for (size_t i = 0; i < s->nworkflows; i++)
		spec_workflow_release(&s->workflows[i]);
	free(s->workflows);
	for (size_t i = 0; i < s->nfindings; i++)
		spec_finding_release(&s->findings[i]);
	free(s->findings);
	memset(s, 0, sizeof(*s));
}

struct spec_system *spec_find_system(const struct spec *s, const char *name)
{
	if (!s || !name)
		return NULL;
	for (size_t i = 0; i < s->nsystems; i++)
		if (s->systems[i].name && strcmp(s->systems[i].name, name) == 0)
			return &s->systems[i];
	return NULL;
}

struct spec_check *spec_find_check(const struct spec *s, const char *name)
{
	if (!s || !name)
		return NULL;
	for (size_t i = 0; i < s->nchecks; i++)
		if (s->checks[i].name && strcmp(s->checks[i].name, name) == 0)
			return &s->checks[i];
	return NULL;
}

static bool env_name_char(char c, bool first)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' ||
	       (!first && c >= '0' && c <= '9');
}

/* The value of the variable name[0..len), or NULL with err set. */
static const char *var_value(const char *name, size_t len, struct tally_err *err)
{
	const char *val;
	char *var;

	for (size_t i = 0; i < len; i++)
		if (!env_name_char(name[i], i == 0))
			len = 0;
	if (len == 0) {
		err_set(err, ERR_SPEC, "invalid environment variable name after '${'");
		return NULL;
	}
	var = xstrndup(name, len);
	val = getenv(var);
	if (!val)
		err_set(err, ERR_SPEC, "environment variable '%s' is not set", var);
	free(var);
	return val;
}

/*
 * One pass over in: with out NULL, only measures (and finds every error),
 * else appends into out, which has room for all of it.
 */
static int expand_pass(const char *in, struct buf *out, size_t *len, struct tally_err *err)
{
	const char *p = in, *end, *val;

	*len = 0;
	while (*p) {
		if (p[0] == '$' && p[1] == '$') {
			val = "$";
			p += 2;
		} else if (p[0] == '$' && p[1] == '{') {
			end = strchr(p + 2, '}');
			if (!end)
				return err_set(err, ERR_SPEC, "unterminated '${'");
			val = var_value(p + 2, (size_t)(end - p - 2), err);
			if (!val)
				return -1;
			p = end + 1;
		} else {
			end = p + strcspn(p, "$");
			if (end == p)
				end++;
			if (out)
				buf_add(out, p, (size_t)(end - p));
			*len += (size_t)(end - p);
			p = end;
			continue;
		}
		if (out)
			buf_addstr(out, val);
		*len += strlen(val);
	}
	return 0;
}

/* Messages never quote the input: it may be a dsn with a password. */
int spec_expand_env(const char *in, char **out, struct tally_err *err)
{
	struct buf b = BUF_INIT;
	size_t len;

	*out = NULL;
	if (expand_pass(in, NULL, &len, err) < 0)
		return -1;
	/* sized once: the second pass never grows the buffer */
	buf_grow(&b, len + 1);
	if (expand_pass(in, &b, &len, err) < 0) {
		buf_release(&b);
		return -1;
	}
	*out = buf_detach(&b, NULL);
	return 0;
}

/* ---- redaction ---- */

char *spec_redact_dsn(const char *dsn)
{
	return dsn_redact(dsn);
}

const char *spec_expect_name(enum spec_expect e)
{
	switch (e) {
	case EXPECT_EQUAL:
		return "equal";
	case EXPECT_SUBSET:
		return "subset";
	case EXPECT_ABSENT:
		return "absent";
	}
	return "unknown";
}

const char *spec_repair_name(enum spec_repair r)
{
	switch (r) {
	case REPAIR_TARGET:
		return "target";
	case REPAIR_SOURCE:
		return "source";
	case REPAIR_NONE:
		return "none";
	}
	return "unknown";
}
