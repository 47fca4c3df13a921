/*
 * connectors/connector.c
 *   SOURCE: the driver registry and the helpers every driver shares.
 */
#include "connector.h"

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

void tabdesc_release(struct tabdesc *t)
{
	if (!t)
		return;
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
