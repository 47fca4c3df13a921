/*
 * engine/spec_check.c
 *   SPEC: validating the document into the structs of spec.h, top down:
 *   version and name, systems and their dsns, checks, their sides, keys,
 *   columns and column options. Every error goes through spec_fail() with
 *   the node's position. Performs no I/O but reading the environment (for
 *   ${VAR} in a dsn).
 */
#include "spec_int.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../connectors/connector.h"
#include "newer.h"
#include "tz.h"

/* ---- dsn ---- */

/*
 * The driver's own check (connectors/connector.h check_dsn), at the value's
 * place in the spec. Its message quotes at most a scheme, never a password.
 */
static int check_dsn(struct loader *ld, struct spec_pos pos, const char *path,
                     const struct conn_ops *ops, const char *dsn)
{
	struct tally_err e;

	err_clear(&e);
	if (ops->check_dsn && ops->check_dsn(dsn, &e) < 0)
		return spec_fail(ld, pos, path, "%s", e.msg);
	return 0;
}

static int parse_dsn(struct loader *ld, const struct field *f, const char *parent,
                     const struct conn_ops *ops, struct spec_system *sys)
{
	char path[PATH_LEN];
	struct spec_pos pos = spec_val_pos(f);
	const char *raw;
	size_t len;
	char *copy, *dsn;
	int rc;

	spec_path_key(path, sizeof(path), parent, f->name);
	if (spec_node_text(ld, f->val, pos, path, true, &raw, &len))
		return -1;
	copy = xstrndup(raw, len);
	rc = spec_expand_env(copy, &dsn, ld->err);
	free(copy);
	if (rc)
		return err_context(ld->err, "%s:%d:%d: %s", ld->file, pos.line, pos.col, path);
	if (!*dsn) {
		free(dsn);
		return spec_fail(ld, pos, path, "dsn is empty after expanding environment variables");
	}
	if (check_dsn(ld, pos, path, ops, dsn)) {
		free(dsn);
		return -1;
	}
	sys->dsn = dsn;
	sys->dsn_shown = ops->redact_dsn ? ops->redact_dsn(dsn) : dsn_redact(dsn);
	return 0;
}

/* ---- systems ---- */

/* A file's path (a snapshot's): ${VAR} expanded; it stands where a dsn would. */
static int parse_path(struct loader *ld, const struct field *f, const char *parent,
                      const struct conn_ops *ops, struct spec_system *sys)
{
	char path[PATH_LEN];
	struct spec_pos pos = spec_val_pos(f);
	const char *raw;
	size_t len;
	char *copy, *file;
	int rc;

	spec_path_key(path, sizeof(path), parent, f->name);
	if (spec_node_text(ld, f->val, pos, path, true, &raw, &len))
		return -1;
	copy = xstrndup(raw, len);
	rc = spec_expand_env(copy, &file, ld->err);
	free(copy);
	if (rc)
		return err_context(ld->err, "%s:%d:%d: %s", ld->file, pos.line, pos.col, path);
	if (check_dsn(ld, pos, path, ops, file)) {
		free(file);
		return -1;
	}
	sys->dsn = file;
	sys->dsn_shown = ops->redact_dsn ? ops->redact_dsn(file) : xstrdup(file);
	return 0;
}

/* timezone: ZONE, a zone tz.c can load (named in the error otherwise). */
static int parse_system_zone(struct loader *ld, const struct field *f, const char *parent,
                             struct spec_system *sys)
{
	char path[PATH_LEN];
	const struct tz *z;
	struct tally_err e;

	if (spec_field_str(ld, f, parent, true, &sys->timezone))
		return -1;
	sys->tz_pos = spec_val_pos(f);
	err_clear(&e);
	if (tz_get(sys->timezone, &z, &e) == 0)
		return 0;
	spec_path_key(path, sizeof(path), parent, f->name);
	return spec_fail(ld, sys->tz_pos, path, "%s", e.msg);
}

static int parse_system(struct loader *ld, struct fy_node *map, struct spec_pos pos,
                        const char *path, struct spec_system *sys)
{
	enum { F_DRIVER, F_DSN, F_PATH, F_TIMEZONE, F_N };
	struct field f[F_N] = {
		[F_DRIVER] = { .name = "driver" },
		[F_DSN] = { .name = "dsn" },
		[F_PATH] = { .name = "path" },
		[F_TIMEZONE] = { .name = "timezone" },
	};
	const char *const *drivers = conn_driver_names();
	const struct conn_ops *ops;
	int driver;

	if (spec_want_kind(ld, map, pos, path, FYNT_MAPPING, "a mapping") ||
	    spec_get_fields(ld, map, path, f, F_N) ||
	    spec_require(ld, &f[F_DRIVER], map, path) ||
	    spec_field_enum(ld, &f[F_DRIVER], path, drivers, &driver))
		return -1;
	if (f[F_TIMEZONE].key && parse_system_zone(ld, &f[F_TIMEZONE], path, sys))
		return -1;
	ops = conn_driver(drivers[driver]);
	sys->driver = xstrdup(ops->driver);     /* an alias ("mysql") names its driver */
	/* A file (a snapshot) stands in for a server: it has a path, not a dsn. */
	if (ops->takes_path) {
		if (f[F_DSN].key)
			return spec_fail(ld, spec_key_pos(&f[F_DSN]), path, "a %s system takes 'path', not 'dsn'",
			                 sys->driver);
		if (spec_require(ld, &f[F_PATH], map, path))
			return -1;
		return parse_path(ld, &f[F_PATH], path, ops, sys);
	}
	if (f[F_PATH].key)
		return spec_fail(ld, spec_key_pos(&f[F_PATH]), path, "only a snapshot system takes 'path'");
	if (spec_require(ld, &f[F_DSN], map, path))
		return -1;
	return parse_dsn(ld, &f[F_DSN], path, ops, sys);
}

static int parse_systems(struct loader *ld, const struct field *f)
{
	struct spec *s = ld->s;
	void *iter = NULL;
	size_t n;

	if (spec_want_kind(ld, f->val, spec_val_pos(f), f->name, FYNT_MAPPING, "a mapping"))
		return -1;
	n = spec_item_count(f->val);
	if (n == 0)
		return spec_fail(ld, spec_val_pos(f), f->name, "expected at least one system");
	s->systems = xcalloc(n, sizeof(*s->systems));
	s->nsystems = n;
	for (size_t i = 0; i < n; i++) {
		struct fy_node_pair *pair = fy_node_mapping_iterate(f->val, &iter);
		struct fy_node *key = fy_node_pair_key(pair);
		struct fy_node *val = fy_node_pair_value(pair);
		struct spec_pos kpos = spec_pos_or(key, spec_val_pos(f));
		struct spec_system *sys = &s->systems[i];
		char path[PATH_LEN];

		if (spec_deref(ld, &key, kpos, f->name) || spec_deref(ld, &val, kpos, f->name) ||
		    spec_node_name(ld, key, kpos, f->name, &sys->name))
			return -1;
		sys->pos = kpos;
		if (!nameset_add(&ld->systems, sys->name, strlen(sys->name), i, NULL))
			return spec_fail(ld, kpos, f->name, "duplicate system name '%s'",
			            sys->name);
		spec_path_key(path, sizeof(path), f->name, sys->name);
		if (parse_system(ld, val, spec_pos_or(val, kpos), path, sys))
			return -1;
	}
	return 0;
}

/* ---- checks ---- */

static int unknown_system(struct loader *ld, struct spec_pos pos, const char *path,
                          const char *name)
{
	struct buf list = BUF_INIT;
	char *q = spec_shown(name, strlen(name));

	for (size_t i = 0; i < ld->s->nsystems; i++)
		buf_addf(&list, "%s%s", i ? ", " : "", ld->s->systems[i].name);
	spec_fail(ld, pos, path, "unknown system '%s' (defined: %s)", q, list.data);
	free(q);
	buf_release(&list);
	return -1;
}

int spec_parse_side(struct loader *ld, const struct field *sf, const char *parent,
                    struct spec_side *side)
{
	enum { F_SYSTEM, F_TABLE, F_WHERE, F_QUERY, F_SCHEMA, F_N };
	struct field f[F_N] = {
		[F_SYSTEM] = { .name = "system" },
		[F_TABLE] = { .name = "table" },
		[F_WHERE] = { .name = "where" },
		[F_QUERY] = { .name = "query" },
		[F_SCHEMA] = { .name = "schema" },
	};
	char path[PATH_LEN], sys_path[PATH_LEN];
	const struct field *what[3] = { &f[F_TABLE], &f[F_QUERY], &f[F_SCHEMA] };
	const struct field *first = NULL, *second = NULL;
	size_t i;

	spec_path_key(path, sizeof(path), parent, sf->name);
	if (spec_field_map(ld, sf, path, f, F_N) || spec_require(ld, &f[F_SYSTEM], sf->val, path))
		return -1;
	side->pos = spec_val_pos(sf);
	if (spec_field_str(ld, &f[F_SYSTEM], path, true, &side->system))
		return -1;
	side->sys = NULL;
	if (nameset_find(&ld->systems, side->system, strlen(side->system), &i))
		side->sys = &ld->s->systems[i];
	spec_path_key(sys_path, sizeof(sys_path), path, "system");
	if (!side->sys)
		return unknown_system(ld, spec_val_pos(&f[F_SYSTEM]), sys_path, side->system);
	for (i = 0; i < 3; i++) {
		if (!what[i]->key)
			continue;
		if (!first || spec_pos_cmp(spec_key_pos(what[i]), spec_key_pos(first)) < 0) {
			second = second ? second : first;
			first = what[i];
		} else if (!second || spec_pos_cmp(spec_key_pos(what[i]), spec_key_pos(second)) < 0) {
			second = what[i];
		}
	}
	if (second)
		return spec_fail(ld, spec_key_pos(second), path, "give one of 'table', 'query' or 'schema', "
		                 "not both '%s' and '%s'", first->name, second->name);
	if (!first)
		return spec_fail(ld, side->pos, path, "missing key 'table', 'query' or 'schema'");
	if (f[F_WHERE].key && !f[F_TABLE].key)
		return spec_fail(ld, spec_key_pos(&f[F_WHERE]), path,
		            "'where' is only allowed together with 'table'%s",
		            f[F_SCHEMA].key ? " (a schema check filters a table under tables: NAME: { where: ... })" : "");
	if (f[F_TABLE].key && spec_field_str(ld, &f[F_TABLE], path, true, &side->table))
		return -1;
	if (f[F_SCHEMA].key && spec_field_str(ld, &f[F_SCHEMA], path, true, &side->schema))
		return -1;
	if (f[F_WHERE].key && spec_field_str(ld, &f[F_WHERE], path, true, &side->where))
		return -1;
	if (f[F_QUERY].key && spec_field_str(ld, &f[F_QUERY], path, true, &side->query))
		return -1;
	if (f[F_WHERE].key)
		side->where_pos = spec_val_pos(&f[F_WHERE]);
	if (f[F_QUERY].key)
		side->query_pos = spec_val_pos(&f[F_QUERY]);
	return 0;
}

/*
 * A sequence of non-empty, distinct column names into *items, and their
 * positions into *pos when pos is not NULL.
 */
static int parse_names(struct loader *ld, const struct field *f, const char *path,
                       char ***items, size_t *nitems, struct spec_pos **pos)
{
	struct spec_pos seq_pos = spec_val_pos(f);
	struct nameset seen = NAMESET_INIT;
	void *iter = NULL;
	int rc = 0;
	size_t n;

	if (spec_want_kind(ld, f->val, seq_pos, path, FYNT_SEQUENCE, "a sequence"))
		return -1;
	n = spec_item_count(f->val);
	*items = xcalloc(n, sizeof(**items));
	*nitems = n;
	if (pos)
		*pos = xcalloc(n, sizeof(**pos));
	for (size_t i = 0; i < n; i++) {
		struct fy_node *item = fy_node_sequence_iterate(f->val, &iter);
		struct spec_pos ipos = spec_pos_or(item, seq_pos);
		char ipath[PATH_LEN];

		spec_path_index(ipath, sizeof(ipath), path, i);
		if (spec_deref(ld, &item, ipos, ipath) ||
		    spec_node_str(ld, item, ipos, ipath, true, &(*items)[i])) {
			rc = -1;
			break;
		}
		if (pos)
			(*pos)[i] = ipos;
		if (!nameset_add(&seen, (*items)[i], strlen((*items)[i]), i, NULL)) {
			rc = spec_fail(ld, ipos, ipath, "duplicate column '%s'", (*items)[i]);
			break;
		}
	}
	nameset_release(&seen);
	return rc;
}

static int parse_key(struct loader *ld, const struct field *f, const char *parent,
                     struct spec_check *chk)
{
	char path[PATH_LEN];

	spec_path_key(path, sizeof(path), parent, f->name);
	chk->key_pos = spec_val_pos(f);
	if (spec_is_scalar(f->val)) {
		chk->key = xcalloc(1, sizeof(*chk->key));
		chk->nkey = 1;
		return spec_node_str(ld, f->val, chk->key_pos, path, true, &chk->key[0]);
	}
	if (spec_is_null(f->val) || fy_node_get_type(f->val) != FYNT_SEQUENCE)
		return spec_fail(ld, chk->key_pos, path, "expected a string or a sequence, got %s",
		            spec_kind(f->val));
	if (spec_item_count(f->val) == 0)
		return spec_fail(ld, chk->key_pos, path, "expected at least one column");
	return parse_names(ld, f, path, &chk->key, &chk->nkey, NULL);
}

static const char *const trims[] = { "right", "both", NULL };
static const char *const cases[] = { "insensitive", "sensitive", NULL };
static const char *const as_names[] = { "text", "json", "uuid", NULL };

static int parse_map(struct loader *ld, const struct field *f, const char *parent,
                     struct spec_column *col)
{
	char path[PATH_LEN];
	struct spec_pos map_pos = spec_val_pos(f);
	struct nameset seen = NAMESET_INIT;
	void *iter = NULL;
	int rc = 0;
	size_t n;

	spec_path_key(path, sizeof(path), parent, f->name);
	if (spec_want_kind(ld, f->val, map_pos, path, FYNT_MAPPING, "a mapping"))
		return -1;
	n = spec_item_count(f->val);
	col->map = xcalloc(n, sizeof(*col->map));
	col->nmap = n;
	for (size_t i = 0; i < n; i++) {
		struct fy_node_pair *pair = fy_node_mapping_iterate(f->val, &iter);
		struct fy_node *key = fy_node_pair_key(pair);
		struct fy_node *val = fy_node_pair_value(pair);
		struct spec_map_entry *e = &col->map[i];
		struct spec_pos kpos = spec_pos_or(key, map_pos);
		char vpath[PATH_LEN];

		if (spec_deref(ld, &key, kpos, path) || spec_deref(ld, &val, kpos, path) ||
		    spec_node_str(ld, key, kpos, path, false, &e->from)) {
			rc = -1;
			break;
		}
		if (!nameset_add(&seen, e->from, strlen(e->from), i, NULL)) {
			rc = spec_fail(ld, kpos, path, "duplicate entry '%s'", e->from);
			break;
		}
		e->pos = kpos;
		spec_path_key(vpath, sizeof(vpath), path, e->from);
		if (spec_node_str(ld, val, spec_pos_or(val, kpos), vpath, false, &e->to)) {
			rc = -1;
			break;
		}
	}
	nameset_release(&seen);
	return rc;
}

/*
 * The option fields in spec_opt order, after the names: field
 * C_FIRST_OPTION + k is option k.
 */
enum {
	C_NAME, C_SOURCE, C_TARGET,
	C_SCALE, C_PRECISION, C_TIMEZONE, C_TRIM, C_CASE, C_TOLERANCE, C_MAP, C_AS, C_ZERO_DATE,
	C_N
};
#define C_FIRST_OPTION C_SCALE

/* timezone: ZONE, or { source: ZONE, target: ZONE } for two naive sides. */
static int parse_timezone(struct loader *ld, const struct field *f, const char *parent,
                          struct spec_column *col)
{
	struct field tf[2] = { { .name = "source" }, { .name = "target" } };
	char path[PATH_LEN];

	if (spec_is_scalar(f->val))
		return spec_field_str(ld, f, parent, true, &col->timezone);
	spec_path_key(path, sizeof(path), parent, f->name);
	if (spec_want_kind(ld, f->val, spec_val_pos(f), path, FYNT_MAPPING, "a zone name or a mapping of source and target"))
		return -1;
	if (spec_get_fields(ld, f->val, path, tf, 2))
		return -1;
	if (!tf[0].key && !tf[1].key)
		return spec_fail(ld, spec_val_pos(f), path, "expected 'source', 'target' or both");
	for (int s = 0; s < 2; s++)
		if (tf[s].key && spec_field_str(ld, &tf[s], path, true, &col->tz_side[s]))
			return -1;
	return 0;
}

/* zero_date: null (YAML's null, or the string "null"), or keep. */
static int parse_zero_date(struct loader *ld, const struct field *f, const char *parent,
                           struct spec_column *col)
{
	static const char *const names[] = { "null", "keep", NULL };
	int v;

	if (spec_is_null(f->val)) {
		col->zero_null = true;
		return 0;
	}
	if (spec_field_enum(ld, f, parent, names, &v))
		return -1;
	col->zero_null = v == 0;
	return 0;
}

/* name, or source and target, but not both forms. */
static int column_names(struct loader *ld, struct field *f, struct spec_pos pos,
                        const char *path, struct spec_column *col)
{
	struct fy_node *st = f[C_SOURCE].key ? f[C_SOURCE].key : f[C_TARGET].key;

	if (f[C_NAME].key && st) {
		struct spec_pos a = spec_key_pos(&f[C_NAME]), b = spec_node_pos(st);

		return spec_fail(ld, spec_pos_cmp(a, b) > 0 ? a : b, path,
		            "give either 'name' or 'source' and 'target', not both");
	}
	if (f[C_NAME].key) {
		if (spec_field_str(ld, &f[C_NAME], path, true, &col->source))
			return -1;
		col->target = xstrdup(col->source);
		return 0;
	}
	if (!st)
		return spec_fail(ld, pos, path, "missing key 'name' (or 'source' and 'target')");
	if (!f[C_TARGET].key)
		return spec_fail(ld, pos, path, "missing key 'target' (needed with 'source')");
	if (!f[C_SOURCE].key)
		return spec_fail(ld, pos, path, "missing key 'source' (needed with 'target')");
	if (spec_field_str(ld, &f[C_SOURCE], path, true, &col->source) ||
	    spec_field_str(ld, &f[C_TARGET], path, true, &col->target))
		return -1;
	return 0;
}

static int column_options(struct loader *ld, struct field *f, const char *path,
                          struct spec_column *col)
{
	int v;

	for (int i = C_FIRST_OPTION; i < C_N; i++) {
		if (!f[i].key)
			continue;
		col->optpos[i - C_FIRST_OPTION] = spec_key_pos(&f[i]);
		if (spec_pos_cmp(spec_key_pos(&f[i]), col->opt_pos) < 0)
			col->opt_pos = spec_key_pos(&f[i]);
	}
	if (f[C_SCALE].key && spec_field_int(ld, &f[C_SCALE], path, 0, 38, &col->scale))
		return -1;
	if (f[C_PRECISION].key && spec_field_int(ld, &f[C_PRECISION], path, 0, 6, &col->precision))
		return -1;
	if (f[C_TIMEZONE].key && parse_timezone(ld, &f[C_TIMEZONE], path, col))
		return -1;
	if (f[C_ZERO_DATE].key && parse_zero_date(ld, &f[C_ZERO_DATE], path, col))
		return -1;
	if (f[C_TRIM].key) {
		if (spec_field_enum(ld, &f[C_TRIM], path, trims, &v))
			return -1;
		col->trim = v == 0 ? TRIM_RIGHT : TRIM_BOTH;
	}
	if (f[C_CASE].key) {
		if (spec_field_enum(ld, &f[C_CASE], path, cases, &v))
			return -1;
		col->case_insensitive = v == 0;
	}
	if (f[C_TOLERANCE].key) {
		if (spec_field_number(ld, &f[C_TOLERANCE], path, &col->tolerance))
			return -1;
		col->has_tolerance = true;
	}
	if (f[C_MAP].key && parse_map(ld, &f[C_MAP], path, col))
		return -1;
	if (f[C_AS].key) {
		if (spec_field_enum(ld, &f[C_AS], path, as_names, &v))
			return -1;
		col->as = (enum spec_as)(v + 1);
	}
	return 0;
}

static int parse_column(struct loader *ld, struct fy_node *n, struct spec_pos pos,
                        const char *path, struct spec_column *col)
{
	struct field f[C_N] = {
		[C_NAME] = { .name = "name" },
		[C_SOURCE] = { .name = "source" },
		[C_TARGET] = { .name = "target" },
		[C_SCALE] = { .name = "scale" },
		[C_PRECISION] = { .name = "precision" },
		[C_TIMEZONE] = { .name = "timezone" },
		[C_TRIM] = { .name = "trim" },
		[C_CASE] = { .name = "case" },
		[C_TOLERANCE] = { .name = "tolerance" },
		[C_MAP] = { .name = "map" },
		[C_AS] = { .name = "as" },
		[C_ZERO_DATE] = { .name = "zero_date" },
	};

	col->pos = pos;
	col->opt_pos = pos;
	if (spec_is_scalar(n)) {
		if (spec_node_str(ld, n, pos, path, true, &col->source))
			return -1;
		col->target = xstrdup(col->source);
		return 0;
	}
	if (spec_is_null(n) || fy_node_get_type(n) != FYNT_MAPPING)
		return spec_fail(ld, pos, path, "expected a string or a mapping, got %s", spec_kind(n));
	/* opt_pos starts past any key, so the first option found wins */
	col->opt_pos.line = INT_MAX;
	if (spec_get_fields(ld, n, path, f, C_N) || column_names(ld, f, pos, path, col) ||
	    column_options(ld, f, path, col))
		return -1;
	if (col->opt_pos.line == INT_MAX)
		col->opt_pos = pos;
	return 0;
}

/*
 * A column may appear once per side. Of two clashes, the earlier listed
 * column is named, the source side first.
 */
static int column_unique(struct loader *ld, const struct spec_check *chk, size_t i,
                         const char *path)
{
	const struct spec_column *c = &chk->columns[i];
	size_t js = SIZE_MAX, jt = SIZE_MAX;
	bool src_new = nameset_add(&ld->cols[0], c->source, strlen(c->source), i, &js);
	bool tgt_new = nameset_add(&ld->cols[1], c->target, strlen(c->target), i, &jt);

	if (src_new && tgt_new)
		return 0;
	if (js <= jt)
		return spec_fail(ld, c->pos, path,
		            "source column '%s' is already listed in columns[%zu]",
		            c->source, js);
	return spec_fail(ld, c->pos, path,
	            "target column '%s' is already listed in columns[%zu]",
	            c->target, jt);
}

static int parse_columns(struct loader *ld, const struct field *f, const char *parent,
                         struct spec_check *chk)
{
	char path[PATH_LEN];
	struct spec_pos seq_pos = spec_val_pos(f);
	void *iter = NULL;
	size_t n;

	spec_path_key(path, sizeof(path), parent, f->name);
	if (spec_want_kind(ld, f->val, seq_pos, path, FYNT_SEQUENCE, "a sequence"))
		return -1;
	n = spec_item_count(f->val);
	chk->columns = xcalloc(n, sizeof(*chk->columns));
	chk->ncolumns = n;
	chk->columns_given = true;
	for (size_t i = 0; i < n; i++) {
		chk->columns[i].scale = -1;
		chk->columns[i].precision = -1;
	}
	for (size_t i = 0; i < n; i++) {
		struct fy_node *item = fy_node_sequence_iterate(f->val, &iter);
		struct spec_pos ipos = spec_pos_or(item, seq_pos);
		char ipath[PATH_LEN];

		spec_path_index(ipath, sizeof(ipath), path, i);
		if (spec_deref(ld, &item, ipos, ipath) ||
		    parse_column(ld, item, ipos, ipath, &chk->columns[i]) ||
		    column_unique(ld, chk, i, ipath))
			return -1;
	}
	return 0;
}

/*
 * options: { COLUMN: { OPTION: VALUE, ... } }: each entry a column entry
 * named by its key, holding options only.
 */
static int parse_options(struct loader *ld, const struct field *f, const char *parent,
                         struct spec_check *chk)
{
	char path[PATH_LEN];
	struct spec_pos map_pos = spec_val_pos(f);
	void *iter = NULL;
	size_t n;

	spec_path_key(path, sizeof(path), parent, f->name);
	if (spec_want_kind(ld, f->val, map_pos, path, FYNT_MAPPING, "a mapping of column names to options"))
		return -1;
	n = spec_item_count(f->val);
	chk->options = xcalloc(n ? n : 1, sizeof(*chk->options));
	chk->noptions = n;
	for (size_t i = 0; i < n; i++) {
		chk->options[i].scale = -1;
		chk->options[i].precision = -1;
	}
	for (size_t i = 0; i < n; i++) {
		struct fy_node_pair *pair = fy_node_mapping_iterate(f->val, &iter);
		struct fy_node *key = fy_node_pair_key(pair);
		struct fy_node *val = fy_node_pair_value(pair);
		struct spec_column *col = &chk->options[i];
		struct spec_pos kpos = spec_pos_or(key, map_pos);
		struct field cf[C_N] = {
			[C_SCALE] = { .name = "scale" },
			[C_PRECISION] = { .name = "precision" },
			[C_TIMEZONE] = { .name = "timezone" },
			[C_TRIM] = { .name = "trim" },
			[C_CASE] = { .name = "case" },
			[C_TOLERANCE] = { .name = "tolerance" },
			[C_MAP] = { .name = "map" },
			[C_AS] = { .name = "as" },
			[C_ZERO_DATE] = { .name = "zero_date" },
		};
		char cpath[PATH_LEN];

		if (spec_deref(ld, &key, kpos, path) || spec_deref(ld, &val, kpos, path) ||
		    spec_node_str(ld, key, kpos, path, true, &col->source))
			return -1;
		col->target = xstrdup(col->source);
		col->pos = kpos;
		col->opt_pos.line = INT_MAX;
		spec_path_key(cpath, sizeof(cpath), path, col->source);
		if (spec_want_kind(ld, val, spec_pos_or(val, kpos), cpath, FYNT_MAPPING, "a mapping of options") ||
		    spec_get_fields(ld, val, cpath, &cf[C_FIRST_OPTION], C_N - C_FIRST_OPTION) ||
		    column_options(ld, cf, cpath, col))
			return -1;
		if (col->opt_pos.line == INT_MAX)
			return spec_fail(ld, spec_pos_or(val, kpos), cpath, "expected at least one option");
	}
	return 0;
}

static int parse_ignore(struct loader *ld, const struct field *f, const char *parent,
                        struct spec_check *chk)
{
	char path[PATH_LEN], ipath[PATH_LEN];

	spec_path_key(path, sizeof(path), parent, f->name);
	if (parse_names(ld, f, path, &chk->ignore, &chk->nignore, &chk->ignore_pos))
		return -1;
	for (size_t i = 0; i < chk->nignore; i++) {
		size_t js = SIZE_MAX, jt = SIZE_MAX;

		nameset_find(&ld->cols[0], chk->ignore[i], strlen(chk->ignore[i]), &js);
		nameset_find(&ld->cols[1], chk->ignore[i], strlen(chk->ignore[i]), &jt);
		if (js != SIZE_MAX || jt != SIZE_MAX) {
			spec_path_index(ipath, sizeof(ipath), path, i);
			return spec_fail(ld, chk->ignore_pos[i], ipath,
			            "column '%s' is also listed in columns[%zu]",
			            chk->ignore[i], js < jt ? js : jt);
		}
	}
	return 0;
}

/* ignore_newer_than: { column: NAME, age: DURATION }, both required. */
static int parse_newer(struct loader *ld, const struct field *f, const char *parent, struct spec_check *chk)
{
	enum { N_COLUMN, N_AGE, N_N };
	struct field nf[N_N] = { [N_COLUMN] = { .name = "column" }, [N_AGE] = { .name = "age" } };
	struct spec_newer *nw = &chk->newer;
	char path[PATH_LEN], apath[PATH_LEN];
	const char *s;
	size_t len;

	spec_path_key(path, sizeof(path), parent, f->name);
	if (spec_field_map(ld, f, path, nf, N_N) || spec_require(ld, &nf[N_COLUMN], f->val, path) ||
	    spec_require(ld, &nf[N_AGE], f->val, path) || spec_field_str(ld, &nf[N_COLUMN], path, true, &nw->column))
		return -1;
	nw->pos = spec_key_pos(f);
	nw->column_pos = spec_val_pos(&nf[N_COLUMN]);
	spec_path_key(apath, sizeof(apath), path, "age");
	if (spec_node_text(ld, nf[N_AGE].val, spec_val_pos(&nf[N_AGE]), apath, true, &s, &len))
		return -1;
	if (newer_parse_age(s, len, &nw->age_seconds) < 0) {
		char *q = spec_shown(s, len);
		int rc = spec_fail(ld, spec_val_pos(&nf[N_AGE]), apath, "expected a duration like 90s, 10m, 2h or 1d "
		                   "(above zero, at most 3650d), got '%s'", q);

		free(q);
		return rc;
	}
	nw->age = xstrndup(s, len);
	chk->given |= SPEC_GIVEN_NEWER;
	return 0;
}

static const char *const expects[] = { "equal", "subset", "absent", NULL };
static const char *const repairs[] = { "target", "source", "none", NULL };
static const char *const matches[] = { "key", "multiset", NULL };

enum {
	K_NAME, K_SOURCE, K_TARGET, K_KEY, K_COLUMNS, K_OPTIONS, K_IGNORE, K_EXPECT, K_REPAIR,
	K_CHUNK_ROWS, K_MATCH, K_NEWER, K_INCLUDE, K_EXCLUDE, K_INCLUDE_VIEWS, K_TABLES, K_N
};

static int check_name(struct loader *ld, const struct field *f, const char *path,
                      size_t i)
{
	char npath[PATH_LEN];
	struct spec_check *chk = &ld->s->checks[i];
	size_t j;

	spec_path_key(npath, sizeof(npath), path, f->name);
	if (spec_node_name(ld, f->val, spec_val_pos(f), npath, &chk->name))
		return -1;
	if (!nameset_add(&ld->checks, chk->name, strlen(chk->name), i, &j))
		return spec_fail(ld, spec_val_pos(f), npath,
		            "duplicate check name '%s' (already used by checks[%zu])",
		            chk->name, j);
	return 0;
}

int spec_parse_body(struct loader *ld, const struct spec_body *b, const char *path, struct spec_check *chk)
{
	int v;

	nameset_release(&ld->cols[0]);
	nameset_release(&ld->cols[1]);
	if (b->key && b->key->key && parse_key(ld, b->key, path, chk))
		return -1;
	if (b->columns && b->columns->key && parse_columns(ld, b->columns, path, chk))
		return -1;
	if (b->ignore && b->ignore->key && parse_ignore(ld, b->ignore, path, chk))
		return -1;
	if (b->options && b->options->key && parse_options(ld, b->options, path, chk))
		return -1;
	/* With columns:, options go into the listed entries now; without, the plan applies them. */
	if (chk->columns_given && chk->noptions) {
		if (spec_apply_options(ld->file, chk->options, chk->noptions, chk->columns, chk->ncolumns, ld->err))
			return -1;
		for (size_t k = 0; k < chk->noptions; k++)
			spec_column_release(&chk->options[k]);
		chk->noptions = 0;
	}
	chk->given |= (b->key && b->key->key ? SPEC_GIVEN_KEY : 0u) |
	              (b->columns && b->columns->key ? SPEC_GIVEN_COLUMNS : 0u) |
	              (b->ignore && b->ignore->key ? SPEC_GIVEN_IGNORE : 0u);
	if (b->expect && b->expect->key) {
		if (spec_field_enum(ld, b->expect, path, expects, &v))
			return -1;
		chk->expect = (enum spec_expect)v;
		chk->given |= SPEC_GIVEN_EXPECT;
	}
	if (b->repair && b->repair->key) {
		if (spec_field_enum(ld, b->repair, path, repairs, &v))
			return -1;
		chk->repair = (enum spec_repair)v;
		chk->given |= SPEC_GIVEN_REPAIR;
	}
	if (b->chunk_rows && b->chunk_rows->key) {
		if (spec_field_long(ld, b->chunk_rows, path, 1, CHUNK_ROWS_MAX, &chk->chunk_rows))
			return -1;
		chk->given |= SPEC_GIVEN_CHUNK_ROWS;
	}
	if (b->match && b->match->key) {
		if (spec_field_enum(ld, b->match, path, matches, &v))
			return -1;
		chk->multiset = v == 1;
		chk->match_pos = spec_val_pos(b->match);
		chk->given |= SPEC_GIVEN_MATCH;
		if (chk->multiset && b->key && b->key->key) {
			char mpath[PATH_LEN];

			spec_path_key(mpath, sizeof(mpath), path, "match");
			return spec_fail(ld, chk->match_pos, mpath, "match: multiset compares whole rows, without a key: "
			            "remove key, or match by it");
		}
	}
	if (b->newer && b->newer->key) {
		if (parse_newer(ld, b->newer, path, chk))
			return -1;
		if (chk->multiset) {
			char npath[PATH_LEN];

			spec_path_key(npath, sizeof(npath), path, b->newer->name);
			return spec_fail(ld, chk->newer.pos, npath, "ignore_newer_than decides per key, and match: multiset "
			                 "has no key: remove one of them");
		}
	}
	return 0;
}

/* The keys only a schema check takes, refused on any other. */
static int schema_keys_only(struct loader *ld, const struct field *f, const char *path)
{
	for (int k = K_INCLUDE; k <= K_TABLES; k++)
		if (f[k].key)
			return spec_fail(ld, spec_key_pos(&f[k]), path, "'%s' is only allowed in a schema check "
			                 "(source and target name a schema)", f[k].name);
	return 0;
}

static int parse_check(struct loader *ld, struct fy_node *n, struct spec_pos pos,
                       size_t i)
{
	struct field f[K_N] = {
		[K_NAME] = { .name = "name" },
		[K_SOURCE] = { .name = "source" },
		[K_TARGET] = { .name = "target" },
		[K_KEY] = { .name = "key" },
		[K_COLUMNS] = { .name = "columns" },
		[K_OPTIONS] = { .name = "options" },
		[K_IGNORE] = { .name = "ignore" },
		[K_EXPECT] = { .name = "expect" },
		[K_REPAIR] = { .name = "repair" },
		[K_CHUNK_ROWS] = { .name = "chunk_rows" },
		[K_MATCH] = { .name = "match" },
		[K_NEWER] = { .name = "ignore_newer_than" },
		[K_INCLUDE] = { .name = "include" },
		[K_EXCLUDE] = { .name = "exclude" },
		[K_INCLUDE_VIEWS] = { .name = "include_views" },
		[K_TABLES] = { .name = "tables" },
	};
	const struct spec_body body = {
		.key = &f[K_KEY], .columns = &f[K_COLUMNS], .options = &f[K_OPTIONS], .ignore = &f[K_IGNORE],
		.expect = &f[K_EXPECT],
		.repair = &f[K_REPAIR], .chunk_rows = &f[K_CHUNK_ROWS], .match = &f[K_MATCH],
		.newer = &f[K_NEWER],
	};
	struct spec_check *chk = &ld->s->checks[i];
	char path[PATH_LEN];

	spec_path_index(path, sizeof(path), "checks", i);
	chk->pos = pos;
	if (spec_want_kind(ld, n, pos, path, FYNT_MAPPING, "a mapping") ||
	    spec_get_fields(ld, n, path, f, K_N) ||
	    spec_require(ld, &f[K_NAME], n, path) || spec_require(ld, &f[K_SOURCE], n, path) ||
	    spec_require(ld, &f[K_TARGET], n, path) ||
	    check_name(ld, &f[K_NAME], path, i) ||
	    spec_parse_side(ld, &f[K_SOURCE], path, &chk->source) ||
	    spec_parse_side(ld, &f[K_TARGET], path, &chk->target))
		return -1;
	if (chk->source.schema || chk->target.schema)
		return spec_parse_schema(ld, &body, &f[K_INCLUDE], path, chk, &f[K_SOURCE], &f[K_TARGET]);
	if (schema_keys_only(ld, f, path))
		return -1;
	return spec_parse_body(ld, &body, path, chk);
}

static int parse_checks(struct loader *ld, const struct field *f)
{
	struct spec_pos seq_pos = spec_val_pos(f);
	void *iter = NULL;
	size_t n = spec_want_items(ld, f, "check");

	if (n == 0)
		return -1;
	ld->s->checks = xcalloc(n, sizeof(*ld->s->checks));
	ld->s->nchecks = n;
	for (size_t i = 0; i < n; i++) {
		struct fy_node *item = fy_node_sequence_iterate(f->val, &iter);
		struct spec_pos ipos = spec_pos_or(item, seq_pos);
		char ipath[PATH_LEN];

		spec_path_index(ipath, sizeof(ipath), f->name, i);
		if (spec_deref(ld, &item, ipos, ipath) || parse_check(ld, item, ipos, i))
			return -1;
	}
	return 0;
}

/* ---- top level ---- */

static int parse_version(struct loader *ld, const struct field *f)
{
	struct spec_pos pos = spec_val_pos(f);
	enum int_parse r;
	long long v = 0;
	const char *s;
	size_t len;
	char *q;

	if (spec_want_kind(ld, f->val, pos, f->name, FYNT_SCALAR, "an integer"))
		return -1;
	s = spec_scalar_text(f->val, &len);
	r = spec_parse_int(s, len, &v);
	if (r == INT_OK && v == 1) {
		ld->s->version = 1;
		return 0;
	}
	q = spec_shown(s, len);
	if (r == INT_SYNTAX)
		spec_fail(ld, pos, f->name, "expected an integer, got '%s'", q);
	else
		spec_fail(ld, pos, f->name, "unsupported version '%s' (expected 1)", q);
	free(q);
	return -1;
}

int spec_parse_top(struct loader *ld, struct fy_node *root)
{
	enum { T_VERSION, T_NAME, T_REASON, T_SYSTEMS, T_CHECKS, T_WORKFLOWS, T_N };
	struct field f[T_N] = {
		[T_VERSION] = { .name = "version" },
		[T_NAME] = { .name = "name" },
		[T_REASON] = { .name = "reason" },
		[T_SYSTEMS] = { .name = "systems" },
		[T_CHECKS] = { .name = "checks" },
		[T_WORKFLOWS] = { .name = "workflows" },
	};
	struct spec *s = ld->s;

	if (spec_is_null(root) || fy_node_get_type(root) != FYNT_MAPPING)
		return spec_fail(ld, spec_pos_or(root, (struct spec_pos){ 1, 1 }), "",
		            "expected a mapping at the top level, got %s", spec_kind(root));
	if (spec_get_fields(ld, root, "", f, T_N) ||
	    spec_require(ld, &f[T_VERSION], root, "") || parse_version(ld, &f[T_VERSION]) ||
	    spec_require(ld, &f[T_NAME], root, "") ||
	    spec_node_name(ld, f[T_NAME].val, spec_val_pos(&f[T_NAME]), "name", &s->name))
		return -1;
	if (f[T_REASON].key && spec_field_str(ld, &f[T_REASON], "", false, &s->reason))
		return -1;
	if (spec_require(ld, &f[T_SYSTEMS], root, "") || parse_systems(ld, &f[T_SYSTEMS]))
		return -1;
	/* A spec of workflows alone needs no checks: list. */
	if (!f[T_WORKFLOWS].key && spec_require(ld, &f[T_CHECKS], root, ""))
		return -1;
	if (f[T_CHECKS].key && parse_checks(ld, &f[T_CHECKS]))
		return -1;
	if (f[T_WORKFLOWS].key && spec_parse_workflows(ld, &f[T_WORKFLOWS]))
		return -1;
	return 0;
}

