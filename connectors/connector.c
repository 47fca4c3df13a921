/*
 * connectors/connector.c
 *   SOURCE: the driver registry and the helpers every driver shares.
 */
#include "connector.h"

#include <stdio.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "../engine/base/civil.h"
#include "../engine/base/dsn.h"

extern const struct conn_ops postgres_ops;
extern const struct conn_ops mariadb_ops;
extern const struct conn_ops snapfile_ops;

/* The registry: a new driver is one line here (and its folder). */
static const struct conn_ops *const drivers[] = {
	&postgres_ops,
	&mariadb_ops,
	&snapfile_ops,
};

#define NDRIVERS (sizeof(drivers) / sizeof(drivers[0]))

const struct conn_ops *conn_driver(const char *name)
{
	for (size_t i = 0; i < NDRIVERS; i++)
		if (strcmp(drivers[i]->driver, name) == 0 ||
		    (drivers[i]->alias && strcmp(drivers[i]->alias, name) == 0))
			return drivers[i];
	return NULL;
}

int conn_lit_refused(struct tally_err *err, const struct coldesc *col, bool bound, const char *reason)
{
	return err_set(err, ERR_DATA, "cannot write %s for column '%s' (%s): %s", bound ? "a range bound" : "a value",
	               col->name ? col->name : "?", col->native ? col->native : ltype_name(col->type), reason);
}

bool conn_takes_path(const char *driver)
{
	const struct conn_ops *ops = driver ? conn_driver(driver) : NULL;

	return ops && ops->takes_path;
}

const char *conn_session_word(const char *driver)
{
	const struct conn_ops *ops = driver ? conn_driver(driver) : NULL;

	return ops && ops->session_word ? ops->session_word : "pid";
}

static const char *driver_names[2 * NDRIVERS + 1];
static pthread_once_t driver_names_once = PTHREAD_ONCE_INIT;

static void fill_driver_names(void)
{
	size_t n = 0;

	for (size_t i = 0; i < NDRIVERS; i++)
		driver_names[n++] = drivers[i]->driver;
	for (size_t i = 0; i < NDRIVERS; i++)
		if (drivers[i]->alias)
			driver_names[n++] = drivers[i]->alias;
}

const char *const *conn_driver_names(void)
{
	pthread_once(&driver_names_once, fill_driver_names);
	return driver_names;
}

int conn_check_uri(const char *driver, const char *const *schemes, bool kv_pairs, const char *dsn,
                   struct tally_err *err)
{
	size_t n = dsn_scheme_len(dsn), count = 0;
	struct buf expected = BUF_INIT;

	for (size_t i = 0; schemes[i]; i++) {
		if (n > 0 && dsn_scheme_is(dsn, n, schemes[i]))
			return 0;
		count++;
	}
	if (kv_pairs && !strstr(dsn, "://"))
		return 0;
	/* "a://, b:// or key=value pairs": only schemes, never the dsn, are quoted */
	for (size_t i = 0; i < count + kv_pairs; i++) {
		if (i > 0)
			buf_addstr(&expected, i + 1 == count + kv_pairs ? " or " : ", ");
		if (i < count)
			buf_addf(&expected, "%s://", schemes[i]);
		else
			buf_addstr(&expected, "key=value pairs");
	}
	if (n > 0)
		err_set(err, ERR_SPEC, "scheme '%.*s' does not fit driver '%s' (expected %s)", (int)n, dsn, driver,
		        expected.data);
	else if (kv_pairs)
		err_set(err, ERR_SPEC, "malformed uri for driver '%s' (expected %s)", driver, expected.data);
	else
		err_set(err, ERR_SPEC, "driver '%s' needs a uri (expected %s)", driver, expected.data);
	buf_release(&expected);
	return -1;
}

double conn_limit(double ours, bool forced, double role)
{
	if (ours < 0)
		ours = 0;
	if (role < 0)
		role = 0;
	if (forced || role == 0)
		return ours;
	if (ours == 0)
		return role;
	return ours < role ? ours : role;
}

static bool ident_char(unsigned char ch)
{
	return ch == '_' || ch == '$' || ch >= 0x80 || (ch >= '0' && ch <= '9') ||
	       ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'z');
}

bool conn_sql_mentions(const char *sql, const char *table)
{
	const char *dot = strrchr(table, '.');
	const char *name = dot ? dot + 1 : table;
	size_t n = strlen(name);

	if (!sql || n == 0)
		return false;
	for (const char *p = sql; *p; p++) {
		if (strncasecmp(p, name, n) != 0)
			continue;
		if ((p == sql || !ident_char((unsigned char)p[-1])) && !ident_char((unsigned char)p[n]))
			return true;
	}
	return false;
}

const char *digest_hash_name(enum digest_hash h)
{
	switch (h) {
	case DIGEST_MD5: return "md5";
	case DIGEST_PG_HASHTEXT: return "hashtextextended";
	case DIGEST_HASHES: break;
	}
	return NULL;
}

const char *ltype_name(enum ltype t)
{
	switch (t) {
	case LT_INT: return "integer";
	case LT_DECIMAL: return "decimal";
	case LT_FLOAT: return "float";
	case LT_BOOL: return "boolean";
	case LT_TEXT: return "text";
	case LT_CHAR: return "char";
	case LT_BYTES: return "binary";
	case LT_DATE: return "date";
	case LT_TIME: return "time";
	case LT_TIMESTAMP: return "timestamp";
	case LT_TIMESTAMPTZ: return "timestamptz";
	case LT_UUID: return "uuid";
	case LT_JSON: return "json";
	case LT_ENUM: return "enum";
	case LT_SET: return "set";
	case LT_BIT: return "bit";
	case LT_YEAR: return "year";
	case LT_INTERVAL: return "interval";
	case LT_INET: return "inet";
	case LT_ARRAY: return "array";
	case LT_OTHER: return "other";
	}
	return "other";
}

void coldesc_release(struct coldesc *c)
{
	free(c->name);
	free(c->native);
	free(c->charset);
	free(c->collation);
	for (size_t i = 0; i < c->nlabels; i++)
		free(c->labels[i]);
	free(c->labels);
	memset(c, 0, sizeof(*c));
}

static void fkdesc_release(struct fkdesc *f)
{
	for (size_t i = 0; i < f->ncols; i++) {
		free(f->cols ? f->cols[i] : NULL);
		free(f->refcols ? f->refcols[i] : NULL);
	}
	free(f->cols);
	free(f->refcols);
	free(f->name);
	free(f->table);
	free(f->sqlname);
	free(f->on_delete);
	free(f->on_update);
}

void tabdesc_release(struct tabdesc *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nparents; i++)
		fkdesc_release(&t->parents[i]);
	for (size_t i = 0; i < t->nchildren; i++)
		fkdesc_release(&t->children[i]);
	free(t->parents);
	free(t->children);
	for (size_t i = 0; i < t->ntriggers; i++) {
		free(t->triggers[i].name);
		free(t->triggers[i].timing);
		free(t->triggers[i].events);
	}
	free(t->triggers);
	for (size_t i = 0; i < t->ncols; i++)
		coldesc_release(&t->cols[i]);
	free(t->cols);
	free(t->pk);
	free(t->display);
	free(t->sqlname);
	memset(t, 0, sizeof(*t));
}

void tablist_release(struct tablist *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++) {
		free(l->t[i].name);
		for (size_t j = 0; j < l->t[i].nukey; j++)
			free(l->t[i].ukey[j]);
		free(l->t[i].ukey);
	}
	free(l->t);
	memset(l, 0, sizeof(*l));
}

void keybounds_release(struct keybounds *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n * b->ncols; i++)
		free(b->val[i]);
	free(b->val);
	free(b->len);
	memset(b, 0, sizeof(*b));
}

uint64_t chunk_rows_for_bytes(uint64_t chunk_rows, uint64_t max_bytes, double table_bytes, double rows)
{
	double per, fit;

	if (max_bytes == 0 || table_bytes <= 0 || rows < 1)
		return chunk_rows;
	per = table_bytes / rows;
	fit = floor((double)max_bytes / per);
	if (fit >= (double)chunk_rows)
		return chunk_rows;
	return fit < CHUNK_ROWS_MIN ? (chunk_rows < CHUNK_ROWS_MIN ? chunk_rows : CHUNK_ROWS_MIN) : (uint64_t)fit;
}

long tabdesc_find(const struct tabdesc *t, const char *name)
{
	for (size_t i = 0; i < t->ncols; i++)
		if (strcmp(t->cols[i].name, name) == 0)
			return (long)i;
	return -1;
}

int64_t sqlval_year(const struct sqlval *v)
{
	int64_t days = v->i, y;
	unsigned m, d;

	if (v->kind != SV_DATE) {
		days = v->i / INT64_C(86400000000);
		if (v->i % INT64_C(86400000000) < 0)
			days--;
	}
	civil_from_days(days, &y, &m, &d);
	return y;
}

bool sqlval_midnight_date(const struct sqlval *v, struct sqlval *date)
{
	const int64_t day = INT64_C(86400000000);
	int64_t days = v->i / day, us = v->i % day;

	if (us < 0) {
		us += day;
		days--;
	}
	*date = *v;
	date->kind = SV_DATE;
	if (v->special == SVS_PINF || v->special == SVS_NINF)
		return true;
	if (us != 0)
		return false;
	date->i = days;
	return true;
}

static void add_date(struct buf *out, int64_t days, bool *bc)
{
	int64_t y;
	unsigned m, d;

	civil_from_days(days, &y, &m, &d);
	*bc = y <= 0;
	if (*bc)
		y = 1 - y;
	buf_addf(out, "%04lld-%02u-%02u", (long long)y, m, d);
}

static void add_clock(struct buf *out, int64_t us, int fsp)
{
	int64_t secs = us / 1000000, frac = us % 1000000;

	buf_addf(out, "%02lld:%02lld:%02lld", (long long)(secs / 3600), (long long)(secs / 60 % 60),
	         (long long)(secs % 60));
	if (fsp > 0) {
		char digits[8];

		snprintf(digits, sizeof(digits), "%06lld", (long long)frac);
		buf_addch(out, '.');
		buf_add(out, digits, (size_t)(fsp > 6 ? 6 : fsp));
	}
}

void sqlval_iso(struct buf *out, const struct sqlval *v, int fsp)
{
	const int64_t day = INT64_C(86400000000);
	bool bc = false;
	int64_t days, us;

	switch (v->kind) {
	case SV_DATE:
		add_date(out, v->i, &bc);
		break;
	case SV_TIME:
		us = v->i;
		if (us < 0) {
			buf_addch(out, '-');
			us = -us;
		}
		add_clock(out, us, fsp);
		return;
	case SV_TIMESTAMP:
	case SV_TIMESTAMPTZ:
		days = v->i / day;
		us = v->i % day;
		if (us < 0) {
			us += day;
			days--;
		}
		add_date(out, days, &bc);
		buf_addch(out, ' ');
		add_clock(out, us, fsp);
		break;
	default:
		return;
	}
	if (bc)
		buf_addstr(out, " BC");
}

void conn_base_init(struct conn *c, const struct conn_ops *ops, const struct conn_cfg *cfg)
{
	c->ops = ops;
	c->system = xstrdup(cfg->system ? cfg->system : "?");
	c->side = xstrdup(cfg->side ? cfg->side : "?");
	c->server_version = NULL;
	c->backend_pid = 0;
	c->failed = false;
	c->engine = xstrdup(ops->driver);
}

void conn_base_release(struct conn *c)
{
	free(c->system);
	free(c->side);
	free(c->server_version);
	free(c->engine);
	c->system = c->side = c->server_version = c->engine = NULL;
}

/* ---- table descriptions as JSON ------------------------------------------ */

static json_t *strings_json(char **v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static json_t *fks_json(const struct fkdesc *f, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:o, s:o, s:s, s:s}", "name", f[i].name,
		                                   "table", f[i].table, "sqlname", f[i].sqlname,
		                                   "cols", strings_json(f[i].cols, f[i].ncols),
		                                   "refcols", strings_json(f[i].refcols, f[i].ncols),
		                                   "on_delete", f[i].on_delete, "on_update", f[i].on_update));
	return a;
}

json_t *tabdesc_json(const struct tabdesc *t)
{
	json_t *cols = json_array(), *pk = json_array(), *trig = json_array();

	for (size_t i = 0; i < t->ncols; i++) {
		const struct coldesc *c = &t->cols[i];
		json_t *o;

		o = json_pack(
			"{s:s, s:s, s:i, s:i, s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:i, s:i, s:i, s:I, s:s?, s:s?, s:o}",
			"name", c->name, "native", c->native, "type", (int)c->type, "bits", c->bits,
			"unsigned", c->is_unsigned, "bool_hint", c->bool_hint, "fixed", c->fixed,
			"nullable", c->nullable, "generated", c->generated, "identity", c->identity,
			"has_default", c->has_default, "precision", c->precision, "scale", c->scale,
			"fsp", c->fsp, "length", (json_int_t)c->length, "charset", c->charset,
			"collation", c->collation, "labels", strings_json(c->labels, c->nlabels));
		/* only when set: files without them read as before (connectors/snapfile) */
		if (c->raw_bits)
			json_object_set_new(o, "raw_bits", json_true());
		if (c->bits_varying)
			json_object_set_new(o, "bits_varying", json_true());
		json_array_append_new(cols, o);
	}
	for (size_t i = 0; i < t->npk; i++)
		json_array_append_new(pk, json_integer((json_int_t)t->pk[i]));
	for (size_t i = 0; i < t->ntriggers; i++)
		json_array_append_new(trig, json_pack("{s:s, s:s, s:s, s:b}", "name", t->triggers[i].name,
		                                      "timing", t->triggers[i].timing, "events",
		                                      t->triggers[i].events, "enabled", t->triggers[i].enabled));
	return json_pack("{s:s, s:s?, s:b, s:o, s:o, s:o, s:o, s:o, s:b}", "display", t->display,
	                 "sqlname", t->sqlname, "is_query", t->is_query, "cols", cols, "pk", pk,
	                 "parents", fks_json(t->parents, t->nparents),
	                 "children", fks_json(t->children, t->nchildren), "triggers", trig,
	                 "triggers_unknown", t->triggers_unknown);
}

static char *str_of(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? xstrdup(s) : NULL;
}

static char **strings_of(json_t *a, size_t *n)
{
	char **v;
	size_t i;
	json_t *x;

	*n = json_array_size(a);
	v = xcalloc(*n ? *n : 1, sizeof(char *));
	json_array_foreach(a, i, x)
		v[i] = xstrdup(json_string_value(x) ? json_string_value(x) : "");
	return v;
}

static struct fkdesc *fks_of(json_t *a, size_t *n)
{
	struct fkdesc *f;
	size_t i, nref;
	json_t *x;

	*n = json_array_size(a);
	f = xcalloc(*n ? *n : 1, sizeof(*f));
	json_array_foreach(a, i, x) {
		f[i].name = str_of(x, "name");
		f[i].table = str_of(x, "table");
		f[i].sqlname = str_of(x, "sqlname");
		f[i].cols = strings_of(json_object_get(x, "cols"), &f[i].ncols);
		f[i].refcols = strings_of(json_object_get(x, "refcols"), &nref);
		f[i].on_delete = str_of(x, "on_delete");
		f[i].on_update = str_of(x, "on_update");
	}
	return f;
}

int tabdesc_from_json(struct tabdesc *t, json_t *j, struct tally_err *err)
{
	json_t *cols = json_object_get(j, "cols"), *x;
	size_t i;

	memset(t, 0, sizeof(*t));
	if (!json_is_array(cols) || !json_is_string(json_object_get(j, "display")))
		return err_set(err, ERR_IO, "table description is malformed");
	t->display = str_of(j, "display");
	t->sqlname = str_of(j, "sqlname");
	t->is_query = json_is_true(json_object_get(j, "is_query"));
	t->ncols = json_array_size(cols);
	t->cols = xcalloc(t->ncols ? t->ncols : 1, sizeof(*t->cols));
	json_array_foreach(cols, i, x) {
		struct coldesc *c = &t->cols[i];

		c->name = str_of(x, "name");
		c->native = str_of(x, "native");
		if (!c->name || !c->native) {
			tabdesc_release(t);
			return err_set(err, ERR_IO, "table description is malformed");
		}
		c->type = (enum ltype)json_integer_value(json_object_get(x, "type"));
		c->bits = (int)json_integer_value(json_object_get(x, "bits"));
		c->is_unsigned = json_is_true(json_object_get(x, "unsigned"));
		c->bool_hint = json_is_true(json_object_get(x, "bool_hint"));
		c->raw_bits = json_is_true(json_object_get(x, "raw_bits"));
		c->bits_varying = json_is_true(json_object_get(x, "bits_varying"));
		c->fixed = json_is_true(json_object_get(x, "fixed"));
		c->nullable = json_is_true(json_object_get(x, "nullable"));
		c->generated = json_is_true(json_object_get(x, "generated"));
		c->identity = json_is_true(json_object_get(x, "identity"));
		c->has_default = json_is_true(json_object_get(x, "has_default"));
		c->precision = (int)json_integer_value(json_object_get(x, "precision"));
		c->scale = (int)json_integer_value(json_object_get(x, "scale"));
		c->fsp = (int)json_integer_value(json_object_get(x, "fsp"));
		c->length = (long)json_integer_value(json_object_get(x, "length"));
		c->charset = str_of(x, "charset");
		c->collation = str_of(x, "collation");
		c->labels = strings_of(json_object_get(x, "labels"), &c->nlabels);
	}
	t->npk = json_array_size(json_object_get(j, "pk"));
	t->pk = xcalloc(t->npk ? t->npk : 1, sizeof(size_t));
	json_array_foreach(json_object_get(j, "pk"), i, x)
		t->pk[i] = (size_t)json_integer_value(x);
	t->parents = fks_of(json_object_get(j, "parents"), &t->nparents);
	t->children = fks_of(json_object_get(j, "children"), &t->nchildren);
	t->ntriggers = json_array_size(json_object_get(j, "triggers"));
	t->triggers = xcalloc(t->ntriggers ? t->ntriggers : 1, sizeof(*t->triggers));
	json_array_foreach(json_object_get(j, "triggers"), i, x) {
		t->triggers[i].name = str_of(x, "name");
		t->triggers[i].timing = str_of(x, "timing");
		t->triggers[i].events = str_of(x, "events");
		t->triggers[i].enabled = json_is_true(json_object_get(x, "enabled"));
	}
	t->triggers_unknown = json_is_true(json_object_get(j, "triggers_unknown"));
	return 0;
}
