/*
 * connectors/snapfile/snapfile.c
 *   SOURCE: the snapshot file driver (`driver: snapshot` in a spec).
 *   "Opening a session" reads the header; a scan decompresses the records
 *   from the start and yields the asked columns of each. It cannot range over its key or write literals: the
 *   engine then reads it whole, sorts it locally if its key differs from
 *   the check's, and writes no repair for it.
 */
#include "snapfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "../../engine/base/le.h"
#include "../../engine/base/zfile.h"

struct snap {
	struct conn base;           /* first: the engine holds a struct conn * */
	char *path;
	struct tabdesc t;           /* as described when the snapshot was taken */
	char *position;
	size_t *key;
	size_t nkey;
	/* the stream */
	struct zreader z;
	bool zopen;
	/* a scan */
	bool scanning, done;
	struct buf rec;
	size_t ncols;
	size_t *cols;
	const char **val;
	size_t *len;
	const char **all;
	size_t *alllen;
	struct rawrow row;
	struct tally_err fail;
};

static struct snap *snap(struct conn *c)
{
	return (struct snap *)c;
}

static int snap_err(struct snap *s, struct tally_err *err, const char *what)
{
	err_set(err, ERR_IO, "snapshot '%s' for %s system '%s': %s", s->path, s->base.side, s->base.system, what);
	s->base.failed = true;
	s->fail = *err;
	return -1;
}

static int stream_start(struct snap *s, struct tally_err *err)
{
	int fd;

	if (s->zopen)
		zreader_close(&s->z);
	s->zopen = false;
	fd = open(s->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(err, ERR_CONNECT, "cannot open snapshot '%s' for %s system '%s': %s", s->path,
		               s->base.side, s->base.system, strerror(errno));
	if (zreader_fdopen(&s->z, fd, err) < 0) {
		zreader_close(&s->z);
		return -1;
	}
	s->zopen = true;
	return 0;
}

/* Reads exactly n decompressed bytes; 0 at a clean end before any byte, -1 otherwise. */
static int stream_read(struct snap *s, void *p, size_t n, bool end_ok, struct tally_err *err)
{
	long got = zreader_read(&s->z, p, n, err);

	if (got < 0) {
		char what[sizeof(err->msg)];

		snprintf(what, sizeof(what), "%s", err->msg);
		return snap_err(s, err, what);
	}
	if ((size_t)got == n)
		return 1;
	if (got == 0 && end_ok)
		return 0;
	return snap_err(s, err, "the file is truncated");
}

/* Reads the magic and the header; leaves the stream at the first record. */
static int read_header(struct snap *s, json_t **header, struct tally_err *err)
{
	char magic[SNAPFILE_MAGIC_LEN];
	uint8_t n[4];
	struct buf text = BUF_INIT;
	json_error_t je;

	if (stream_start(s, err) < 0)
		return -1;
	if (stream_read(s, magic, sizeof(magic), false, err) < 0 || memcmp(magic, SNAPFILE_MAGIC, sizeof(magic)) != 0)
		return err_set(err, ERR_CONNECT, "'%s' is not a tally snapshot (%s system '%s')", s->path,
		               s->base.side, s->base.system);
	if (stream_read(s, n, 4, false, err) < 0)
		return -1;
	buf_grow(&text, le_get32(n));
	if (stream_read(s, text.data, le_get32(n), false, err) < 0) {
		buf_release(&text);
		return -1;
	}
	buf_setlen(&text, le_get32(n));
	*header = json_loadb(text.data, text.len, 0, &je);
	buf_release(&text);
	if (!*header)
		return err_set(err, ERR_CONNECT, "snapshot '%s' has an unreadable header", s->path);
	return 0;
}

static void snap_close(struct conn *c);

/*
 * Files written before a coldesc stored raw_bits and bits_varying: what
 * the live driver's describe sets, from the engine the file was taken of.
 */
static void old_bit_columns(struct tabdesc *t, const char *engine)
{
	for (size_t i = 0; engine && i < t->ncols; i++) {
		struct coldesc *c = &t->cols[i];

		if (c->type != LT_BIT)
			continue;
		if (strcmp(engine, "mariadb") == 0)
			c->raw_bits = true;
		else if (strcmp(engine, "postgres") == 0)
			c->bits_varying = !c->fixed;
	}
}

static int snap_open(struct conn **out, const struct conn_cfg *cfg, struct tally_err *err)
{
	struct snap *s = xcalloc(1, sizeof(*s));
	json_t *h = NULL, *x;
	const char *server, *pos, *taken, *system;
	size_t i;

	conn_base_init(&s->base, &snapfile_ops, cfg);
	s->path = xstrdup(cfg->dsn);
	buf_init(&s->rec);
	if (read_header(s, &h, err) < 0)
		goto fail;
	if (json_integer_value(json_object_get(h, "format")) != SNAPFILE_FORMAT) {
		err_set(err, ERR_CONNECT, "snapshot '%s' has format %lld; this tally reads format %d", s->path,
		        (long long)json_integer_value(json_object_get(h, "format")), SNAPFILE_FORMAT);
		goto fail;
	}
	if (tabdesc_from_json(&s->t, json_object_get(h, "table"), err) < 0) {
		err_context(err, "snapshot '%s'", s->path);
		goto fail;
	}
	s->nkey = json_array_size(json_object_get(h, "key"));
	s->key = xcalloc(s->nkey ? s->nkey : 1, sizeof(size_t));
	json_array_foreach(json_object_get(h, "key"), i, x)
		s->key[i] = (size_t)json_integer_value(x);
	server = json_string_value(json_object_get(h, "server"));
	pos = json_string_value(json_object_get(h, "position"));
	taken = json_string_value(json_object_get(h, "taken_at"));
	system = json_string_value(json_object_get(h, "system"));
	s->base.server_version = xasprintf("tally snapshot of %s", server ? server : "?");
	if (json_string_value(json_object_get(h, "driver"))) {
		free(s->base.engine);
		s->base.engine = xstrdup(json_string_value(json_object_get(h, "driver")));
	}
	old_bit_columns(&s->t, s->base.engine);
	s->position = xasprintf("snapshot of system '%s' taken %s%s%s", system ? system : "?", taken ? taken : "?",
	                        pos ? " at " : "", pos ? pos : "");
	json_decref(h);
	*out = &s->base;
	return 0;
fail:
	json_decref(h);
	snap_close(&s->base);
	return -1;
}

static void snap_close(struct conn *c)
{
	struct snap *s;

	if (!c)
		return;
	s = snap(c);
	if (s->zopen)
		zreader_close(&s->z);
	buf_release(&s->rec);
	tabdesc_release(&s->t);
	free(s->key);
	free(s->cols);
	free(s->val);
	free(s->len);
	free(s->all);
	free(s->alllen);
	free(s->path);
	free(s->position);
	conn_base_release(&s->base);
	free(s);
}

static int copy_tabdesc(const struct tabdesc *from, struct tabdesc *to, struct tally_err *err)
{
	json_t *j = tabdesc_json(from);
	int rc = tabdesc_from_json(to, j, err);

	json_decref(j);
	return rc;
}

static int snap_describe_table(struct conn *c, const char *table, struct tabdesc *out, struct tally_err *err)
{
	struct snap *s = snap(c);
	const char *dot = strrchr(s->t.display, '.'), *tdot = strrchr(table, '.');

	/* The table as the spec names it, with or without its schema. */
	if (strcmp(table, s->t.display) != 0 && strcmp(tdot ? tdot + 1 : table, dot ? dot + 1 : s->t.display) != 0) {
		err_set(err, ERR_SCHEMA, "snapshot '%s' of %s system '%s' holds %s, not '%s'", s->path, c->side,
		        c->system, s->t.display, table);
		return err_hint(err, "name the table the snapshot was taken of");
	}
	return copy_tabdesc(&s->t, out, err);
}

static int snap_describe_query(struct conn *c, const char *sql, struct tabdesc *out, struct tally_err *err)
{
	(void)sql;
	(void)out;
	err_set(err, ERR_SCHEMA, "snapshot '%s' of %s system '%s' holds a table, not a query", snap(c)->path, c->side,
	        c->system);
	return err_hint(err, "name its table: table: %s", snap(c)->t.display);
}

static int snap_scan_open(struct conn *c, const struct scan_req *req, struct tally_err *err)
{
	struct snap *s = snap(c);
	json_t *h = NULL;

	if (c->failed) {
		*err = s->fail;
		return -1;
	}
	if (req->where)
		return err_set(err, ERR_SCHEMA, "snapshot '%s' of %s system '%s' takes no where: filter when taking it",
		               s->path, c->side, c->system);
	if (read_header(s, &h, err) < 0)
		return -1;
	json_decref(h);
	s->ncols = req->ncols;
	s->cols = xrealloc(s->cols, (req->ncols ? req->ncols : 1) * sizeof(size_t));
	memcpy(s->cols, req->cols, req->ncols * sizeof(size_t));
	s->val = xrealloc(s->val, (req->ncols ? req->ncols : 1) * sizeof(char *));
	s->len = xrealloc(s->len, (req->ncols ? req->ncols : 1) * sizeof(size_t));
	s->all = xrealloc(s->all, (s->t.ncols ? s->t.ncols : 1) * sizeof(char *));
	s->alllen = xrealloc(s->alllen, (s->t.ncols ? s->t.ncols : 1) * sizeof(size_t));
	for (size_t i = 0; i < req->ncols; i++)
		if (req->cols[i] >= s->t.ncols)
			return err_set(err, ERR_INTERNAL, "snapshot column %zu out of range", req->cols[i]);
	s->row.ncols = req->ncols;
	s->row.val = s->val;
	s->row.len = s->len;
	s->scanning = true;
	s->done = false;
	return 0;
}

static int snap_scan_next(struct conn *c, struct rawrow **row, struct tally_err *err)
{
	struct snap *s = snap(c);
	uint8_t n[4];
	const uint8_t *p, *end;
	uint32_t len;
	int rc;

	if (c->failed) {
		*err = s->fail;
		return -1;
	}
	if (!s->scanning || s->done)
		return 0;
	rc = stream_read(s, n, 4, false, err);
	if (rc < 0)
		return -1;
	len = le_get32(n);
	if (len == 0) {
		s->done = true;
		return 0;
	}
	buf_reset(&s->rec);
	buf_grow(&s->rec, len);
	if (stream_read(s, s->rec.data, len, false, err) < 0)
		return -1;
	buf_setlen(&s->rec, len);
	p = (const uint8_t *)s->rec.data;
	end = p + len;
	if (len < 20 || (uint64_t)le_get32(p + 16) > (uint64_t)(end - p - 20))
		return snap_err(s, err, "a record is corrupt");
	p += 20 + le_get32(p + 16);
	for (size_t i = 0; i < s->t.ncols; i++) {
		uint32_t l;

		if (end - p < 4)
			return snap_err(s, err, "a record is corrupt");
		l = le_get32(p);
		p += 4;
		if (l == UINT32_MAX) {
			s->all[i] = NULL;
			s->alllen[i] = 0;
			continue;
		}
		if (l > (size_t)(end - p))
			return snap_err(s, err, "a record is corrupt");
		s->all[i] = (const char *)p;
		s->alllen[i] = l;
		p += l;
	}
	for (size_t i = 0; i < s->ncols; i++) {
		s->val[i] = s->all[s->cols[i]];
		s->len[i] = s->alllen[s->cols[i]];
	}
	*row = &s->row;
	return 1;
}

static void snap_scan_close(struct conn *c)
{
	snap(c)->scanning = false;
}

static void snap_quote_ident(struct buf *out, const char *name)
{
	buf_addstr(out, name);
}

static bool snap_order_is_bytewise(const struct coldesc *col)
{
	/* Its rows follow the key it was taken with, which the check may not use. */
	(void)col;
	return false;
}

static int snap_position(struct conn *c, char **out, struct tally_err *err)
{
	(void)err;
	*out = xstrdup(snap(c)->position);
	return 0;
}

/* Any non-empty text names a file: opening it says whether it is a snapshot. */
static int snap_check_dsn(const char *path, struct tally_err *err)
{
	if (!*path)
		return err_set(err, ERR_SPEC, "path is empty after expanding environment variables");
	return 0;
}

/* A path holds no password: shown as it is. */
static char *snap_redact_dsn(const char *path)
{
	return xstrdup(path);
}

const struct conn_ops snapfile_ops = {
	.driver = "snapshot",
	.dialect = "snapshot",
	.sql = CONN_SQL_NONE,
	.session_word = "session",
	.takes_path = true,
	.check_dsn = snap_check_dsn,
	.redact_dsn = snap_redact_dsn,
	.open = snap_open,
	.close = snap_close,
	.describe_table = snap_describe_table,
	.describe_query = snap_describe_query,
	.scan_open = snap_scan_open,
	.scan_next = snap_scan_next,
	.scan_close = snap_scan_close,
	.quote_ident = snap_quote_ident,
	.order_is_bytewise = snap_order_is_bytewise,
	.position = snap_position,
};
