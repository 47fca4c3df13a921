/*
 * engine/spec_int.h
 *   Private to the spec loader: spec_yaml.c (reading YAML, positions,
 *   typed scalars, messages), spec_check.c (validating the document),
 *   spec_schema.c (a schema check's own keys) and spec.c (the public
 *   interface of spec.h). Nothing else includes it.
 *
 * How it works: libfyaml builds a document tree (it reports syntax errors
 * and duplicate keys, which we collect from its diag object instead of
 * letting it print them). We then walk the tree once, top down, with the
 * schema in the code: every mapping goes through spec_get_fields(), which
 * rejects unknown keys, and every scalar through a typed getter that names
 * the path and the position of the offending node. The spec is built in a
 * local struct and handed to the caller only when everything is valid.
 *
 * Positions: libfyaml's public API gives the marks of scalar tokens, but
 * not of mappings and sequences; for those we start a document iterator on
 * the node and take the mark of its first event. Empty values have no
 * token at all, and fall back to the position of their key.
 */
#ifndef TALLY_SPEC_INT_H
#define TALLY_SPEC_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <libfyaml.h>

#include "base/buf.h"
#include "base/dsn.h"
#include "base/nameset.h"
#include "spec.h"

#define PATH_LEN 256
#define NAME_MAX_LEN 64
#define CHUNK_ROWS_MAX 100000000L

/*
 * The name sets make every duplicate check and reference a lookup, so a
 * spec loads in time linear in its size (a schema check can expand into
 * thousands of tables).
 */
struct loader {
	const char *file;       /* name used in messages */
	struct spec *s;         /* the spec being built */
	struct tally_err *err;
	struct nameset systems; /* system name -> index in s->systems */
	struct nameset checks;  /* check name -> index in s->checks */
	struct nameset cols[2]; /* the current check's source, target column -> index */
};

/* One key of a mapping with a fixed set of keys; key NULL when absent. */
struct field {
	const char *name;
	struct fy_node *key;
	struct fy_node *val;    /* aliases already resolved */
};

enum int_parse { INT_OK, INT_SYNTAX, INT_RANGE };

/* engine/spec_yaml.c */
struct spec_pos spec_node_pos(struct fy_node *n);
struct spec_pos spec_pos_or(struct fy_node *n, struct spec_pos fallback);
int spec_pos_cmp(struct spec_pos a, struct spec_pos b);
struct spec_pos spec_key_pos(const struct field *f);
struct spec_pos spec_val_pos(const struct field *f);
/*
 * Sets err to "file:line:col: path: message" and returns -1. Whatever
 * user text the message or the path quotes (an alias name, a column, a
 * map value), a uri's password in it is masked.
 */
int spec_fail(struct loader *ld, struct spec_pos pos, const char *path,
              const char *fmt, ...) TALLY_PRINTF(4, 5);
void spec_path_key(char *dst, size_t n, const char *parent, const char *key);
void spec_path_index(char *dst, size_t n, const char *parent, size_t i);
char *spec_shown(const char *s, size_t len);
bool spec_is_blank(char c);
size_t spec_item_count(struct fy_node *n);
const char *spec_scalar_text(struct fy_node *n, size_t *len);
bool spec_text_is(const char *s, size_t len, const char *word);
bool spec_is_null(struct fy_node *n);
const char *spec_kind(struct fy_node *n);
bool spec_is_scalar(struct fy_node *n);
int spec_deref(struct loader *ld, struct fy_node **n, struct spec_pos at,
               const char *path);
int spec_want_kind(struct loader *ld, struct fy_node *n, struct spec_pos pos,
                   const char *path, enum fy_node_type type, const char *what);
/* Field f is a sequence of at least one item ("expected at least one <item>"): its length, or 0 after an error. */
size_t spec_want_items(struct loader *ld, const struct field *f, const char *item);
int spec_node_text(struct loader *ld, struct fy_node *n, struct spec_pos pos,
                   const char *path, bool nonempty, const char **s, size_t *len);
int spec_node_str(struct loader *ld, struct fy_node *n, struct spec_pos pos,
                  const char *path, bool nonempty, char **out);
int spec_node_name(struct loader *ld, struct fy_node *n, struct spec_pos pos,
                   const char *path, char **out);
enum int_parse spec_parse_int(const char *s, size_t len, long long *out);
int spec_field_long(struct loader *ld, const struct field *f, const char *parent,
                    long min, long max, long *out);
int spec_field_int(struct loader *ld, const struct field *f, const char *parent,
                   int min, int max, int *out);
int spec_field_number(struct loader *ld, const struct field *f, const char *parent,
                      double *out);
int spec_field_str(struct loader *ld, const struct field *f, const char *parent,
                   bool nonempty, char **out);
int spec_field_enum(struct loader *ld, const struct field *f, const char *parent,
                    const char *const *names, int *out);
int spec_get_fields(struct loader *ld, struct fy_node *map, const char *path,
                    struct field *f, size_t nf);
int spec_require(struct loader *ld, const struct field *f, struct fy_node *map,
                 const char *path);
int spec_field_map(struct loader *ld, const struct field *f, const char *path,
                   struct field *sub, size_t nsub);

/*
 * The keys of a check's body, shared by a check and a schema check's
 * tables: overrides; a NULL or absent field is not given.
 */
struct spec_body {
	const struct field *key, *columns, *options, *ignore, *expect, *repair, *chunk_rows, *match, *newer;
};

/* engine/spec_check.c */
/* One side of a check (source, target) or a workflow's keys. */
int spec_parse_side(struct loader *ld, const struct field *sf, const char *parent, struct spec_side *side);
/* Parses the body's keys into chk, setting chk->given. */
int spec_parse_body(struct loader *ld, const struct spec_body *b, const char *path, struct spec_check *chk);

/*
 * engine/spec_schema.c: the rest of a schema check, whose sides are
 * parsed; more[0..3] are its include, exclude, include_views and tables
 * fields; src and tgt its sides' fields, for positions.
 */
int spec_parse_schema(struct loader *ld, const struct spec_body *b, const struct field *more, const char *path,
                      struct spec_check *chk, const struct field *src, const struct field *tgt);
int spec_parse_top(struct loader *ld, struct fy_node *root);

/* engine/spec_workflow.c: workflows:, each step a check appended to the spec's checks. */
int spec_parse_workflows(struct loader *ld, const struct field *f);

/* engine/spec_yaml.c */
int spec_load_text(struct loader *ld, const char *text, size_t len);

#endif
