/*
 * engine/spec_schema.c
 *   SPEC: the parts of a schema check (sides that name a schema instead
 *   of a table): include and exclude globs, include_views, and tables:
 *   per-table overrides. engine/schema.c expands the check once both
 *   catalogs are read. Performs no I/O.
 */
#include "spec_int.h"

#include <stdlib.h>
#include <string.h>

static const char *const bools[] = { "false", "true", NULL };

/* A sequence of non-empty globs into *items. */
static int parse_globs(struct loader *ld, const struct field *f, const char *parent, char ***items,
                       size_t *nitems)
{
	char path[PATH_LEN];
	struct spec_pos seq_pos = spec_val_pos(f);
	void *iter = NULL;
	size_t n;

	spec_path_key(path, sizeof(path), parent, f->name);
	if (spec_want_kind(ld, f->val, seq_pos, path, FYNT_SEQUENCE, "a sequence of globs"))
		return -1;
	n = spec_item_count(f->val);
	*items = xcalloc(n + 1, sizeof(**items));
	*nitems = n;
	for (size_t i = 0; i < n; i++) {
		struct fy_node *item = fy_node_sequence_iterate(f->val, &iter);
		struct spec_pos ipos = spec_pos_or(item, seq_pos);
		char ipath[PATH_LEN];

		spec_path_index(ipath, sizeof(ipath), path, i);
		if (spec_deref(ld, &item, ipos, ipath) || spec_node_str(ld, item, ipos, ipath, true, &(*items)[i]))
			return -1;
	}
	return 0;
}

/* One entry of tables: NAME: { target, where, and the body's keys }. */
static int parse_override(struct loader *ld, struct fy_node_pair *pair, const char *parent,
                          struct spec_check *o)
{
	enum { O_TARGET, O_WHERE, O_KEY, O_COLUMNS, O_OPTIONS, O_IGNORE, O_EXPECT, O_REPAIR, O_CHUNK_ROWS, O_MATCH,
	       O_NEWER, O_N };
	struct field f[O_N] = {
		[O_TARGET] = { .name = "target" }, [O_WHERE] = { .name = "where" }, [O_KEY] = { .name = "key" },
		[O_COLUMNS] = { .name = "columns" }, [O_OPTIONS] = { .name = "options" },
		[O_IGNORE] = { .name = "ignore" }, [O_EXPECT] = { .name = "expect" }, [O_REPAIR] = { .name = "repair" },
		[O_CHUNK_ROWS] = { .name = "chunk_rows" }, [O_MATCH] = { .name = "match" },
		[O_NEWER] = { .name = "ignore_newer_than" },
	};
	const struct spec_body body = {
		.key = &f[O_KEY], .columns = &f[O_COLUMNS], .options = &f[O_OPTIONS], .ignore = &f[O_IGNORE],
		.expect = &f[O_EXPECT], .repair = &f[O_REPAIR], .chunk_rows = &f[O_CHUNK_ROWS], .match = &f[O_MATCH],
		.newer = &f[O_NEWER],
	};
	struct fy_node *key = fy_node_pair_key(pair), *val = fy_node_pair_value(pair);
	struct spec_pos kpos = spec_node_pos(key);
	char path[PATH_LEN];

	if (spec_deref(ld, &key, kpos, parent) || spec_node_str(ld, key, kpos, parent, true, &o->name))
		return -1;
	o->pos = kpos;
	spec_path_key(path, sizeof(path), parent, o->name);
	if (spec_deref(ld, &val, kpos, path) ||
	    spec_want_kind(ld, val, spec_pos_or(val, kpos), path, FYNT_MAPPING, "a mapping of check keys") ||
	    spec_get_fields(ld, val, path, f, O_N))
		return -1;
	if (f[O_TARGET].key) {
		if (spec_field_str(ld, &f[O_TARGET], path, true, &o->target.table))
			return -1;
		o->target.pos = spec_val_pos(&f[O_TARGET]);
		o->given |= SPEC_GIVEN_TARGET;
	}
	if (f[O_WHERE].key) {
		if (spec_field_str(ld, &f[O_WHERE], path, true, &o->source.where))
			return -1;
		o->source.where_pos = spec_val_pos(&f[O_WHERE]);
		o->given |= SPEC_GIVEN_WHERE;
	}
	return spec_parse_body(ld, &body, path, o);
}

static int parse_tables(struct loader *ld, const struct field *f, const char *parent, struct spec_schema *sc)
{
	char path[PATH_LEN];
	struct fy_node_pair *pair;
	void *iter = NULL;
	size_t n, i = 0;

	spec_path_key(path, sizeof(path), parent, f->name);
	if (spec_want_kind(ld, f->val, spec_val_pos(f), path, FYNT_MAPPING, "a mapping of table names"))
		return -1;
	n = (size_t)fy_node_mapping_item_count(f->val);
	sc->tables = xcalloc(n + 1, sizeof(*sc->tables));
	while ((pair = fy_node_mapping_iterate(f->val, &iter)) != NULL) {
		sc->ntables = i + 1;
		if (parse_override(ld, pair, path, &sc->tables[i]))
			return -1;
		for (size_t j = 0; j < i; j++)
			if (strcmp(sc->tables[j].name, sc->tables[i].name) == 0)
				return spec_fail(ld, sc->tables[i].pos, path, "duplicate table '%s'", sc->tables[i].name);
		i++;
	}
	return 0;
}

/* key, columns and options name the columns of one table: per table only. */
static int per_table_only(struct loader *ld, const struct field *f, const char *path)
{
	if (!f->key)
		return 0;
	return spec_fail(ld, spec_key_pos(f), path, "'%s' names columns of one table: in a schema check, give it "
	                 "per table under tables: NAME: { %s: ... }", f->name, f->name);
}

int spec_parse_schema(struct loader *ld, const struct spec_body *b, const struct field *more, const char *path,
                      struct spec_check *chk, const struct field *src, const struct field *tgt)
{
	struct spec_schema *sc;
	int v;

	if (!chk->source.schema || !chk->target.schema) {
		const struct field *lacking = chk->source.schema ? tgt : src;
		char spath[PATH_LEN];

		spec_path_key(spath, sizeof(spath), path, lacking->name);
		return spec_fail(ld, spec_val_pos(lacking), spath, "a schema check names a schema on both sides "
		                 "(the %s names one)", chk->source.schema ? "source" : "target");
	}
	if (per_table_only(ld, b->key, path) || per_table_only(ld, b->columns, path) ||
	    per_table_only(ld, b->options, path))
		return -1;
	sc = chk->schema = xcalloc(1, sizeof(*chk->schema));
	sc->pos = chk->source.pos;
	if (spec_parse_body(ld, b, path, chk))
		return -1;
	chk->ignore_lenient = chk->nignore > 0;
	if (more[0].key && parse_globs(ld, &more[0], path, &sc->include, &sc->ninclude))
		return -1;
	if (more[1].key && parse_globs(ld, &more[1], path, &sc->exclude, &sc->nexclude))
		return -1;
	if (more[2].key) {
		if (spec_field_enum(ld, &more[2], path, bools, &v))
			return -1;
		sc->include_views = v == 1;
	}
	if (more[3].key && parse_tables(ld, &more[3], path, sc))
		return -1;
	return 0;
}
