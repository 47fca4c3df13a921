/*
 * connectors/connector.c
 *   SOURCE: the driver registry and the helpers every driver shares.
 */
#include "connector.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const struct conn_ops postgres_ops;
extern const struct conn_ops mariadb_ops;

static const struct conn_ops *const drivers[] = {
	&postgres_ops,
	&mariadb_ops,
};

const struct conn_ops *conn_driver(const char *name)
{
	for (size_t i = 0; i < sizeof(drivers) / sizeof(drivers[0]); i++)
		if (strcmp(drivers[i]->driver, name) == 0)
			return drivers[i];
	return NULL;
}

const char *conn_driver_names(void)
{
	return "postgres, mariadb";
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

long tabdesc_find(const struct tabdesc *t, const char *name)
{
	for (size_t i = 0; i < t->ncols; i++)
		if (strcmp(t->cols[i].name, name) == 0)
			return (long)i;
	return -1;
}

static void civil(int64_t days, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t z = days + 719468 + 10957;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;

	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
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
	civil(days, &y, &m, &d);
	return y;
}

static void add_date(struct buf *out, int64_t days, bool *bc)
{
	int64_t y;
	unsigned m, d;

	civil(days, &y, &m, &d);
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
}

void conn_base_release(struct conn *c)
{
	free(c->system);
	free(c->side);
	free(c->server_version);
	c->system = c->side = c->server_version = NULL;
}
