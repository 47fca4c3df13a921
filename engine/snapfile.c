/*
 * engine/snapfile.c
 *   SNAPFILE: one side of a check, read whole, canonicalized for its key
 *   order and hashes, sorted locally when its server's order is not
 *   bytewise, and written as a snapshot file through a temporary name.
 */
#include "snapfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "../connectors/snapfile/snapfile.h"
#include "base/buf.h"
#include "canon.h"
#include "chunk.h"
#include "outdir.h"
#include "plan.h"
#include "report.h"
#include "rowhash.h"
#include "rowrec.h"
#include "sorter.h"
#include "tally_config.h"
#include "base/zfile.h"

struct taker {
	struct conn *conn;
	struct tabdesc t;
	size_t *key, nkey;
	struct canon_col *cc;
	bool *raw;
	struct zfile z;
	struct buf rec, prev, bytes;
	uint32_t off[1];
	uint64_t rows;
	long chunk_rows;
	struct chunkhash chunk;
	json_t *chunks;
	const char *side;
};

/* The columns of the key on this side: the check's key (through its mappings) or the primary key. */
static int resolve_key(struct taker *k, const struct spec_check *c, int side, struct tally_err *err)
{
	if (c->nkey) {
		for (size_t i = 0; i < c->nkey; i++) {
			const char *name = c->key[i];
			long col;

			for (size_t m = 0; m < c->ncolumns; m++)
				if (strcmp(c->columns[m].source, name) == 0 || strcmp(c->columns[m].target, name) == 0)
					name = side == SIDE_SOURCE ? c->columns[m].source : c->columns[m].target;
			col = tabdesc_find(&k->t, name);
			if (col < 0)
				return err_set(err, ERR_SCHEMA, "key column '%s' does not exist in %s %s", name, k->side,
				               k->t.display);
			k->key = xrealloc(k->key, (k->nkey + 1) * sizeof(size_t));
			k->key[k->nkey++] = (size_t)col;
		}
		return 0;
	}
	if (!k->t.npk) {
		err_set(err, ERR_SCHEMA, "%s %s has no primary key", k->side, k->t.display);
		return err_hint(err, "give the check a key: key: [id]");
	}
	k->nkey = k->t.npk;
	k->key = xcalloc(k->nkey, sizeof(size_t));
	memcpy(k->key, k->t.pk, k->nkey * sizeof(size_t));
	return 0;
}

/* A row's canonical key and values, each column as its own type. */
static int canonical(struct taker *k, const struct rawrow *raw, struct mrow *m, struct tally_err *err)
{
	buf_reset(&k->bytes);
	for (size_t i = 0; i < k->nkey; i++) {
		size_t col = k->key[i];

		if (canon_encode(&k->bytes, &k->cc[col], raw->val[col], raw->len[col], err) < 0)
			return err_context(err, "%s %s, key column '%s', row %llu", k->side, k->t.display,
			                   k->t.cols[col].name, (unsigned long long)k->rows + 1);
	}
	m->keylen = k->bytes.len;
	for (size_t col = 0; col < k->t.ncols; col++)
		if (canon_encode(&k->bytes, &k->cc[col], raw->val[col], raw->len[col], err) < 0)
			return err_context(err, "%s %s, column '%s', row %llu", k->side, k->t.display, k->t.cols[col].name,
			                   (unsigned long long)k->rows + 1);
	k->off[0] = (uint32_t)(k->bytes.len - m->keylen);
	m->bytes = (const uint8_t *)k->bytes.data;
	m->len = k->bytes.len;
	m->off = k->off;
	m->raw = raw;
	rowhash_of(k->bytes.data, k->bytes.len, &m->hash);
	return 0;
}

static void close_chunk(struct taker *k)
{
	struct buf hex = BUF_INIT, sum = BUF_INIT;

	if (!k->chunk.rows)
		return;
	buf_addhex(&hex, k->prev.data, k->prev.len);
	buf_addhex(&sum, k->chunk.sum, sizeof(k->chunk.sum));
	json_array_append_new(k->chunks, json_pack("{s:I, s:s, s:s}", "rows", (json_int_t)k->chunk.rows,
	                                           "last_key", hex.data, "sum", sum.data));
	buf_release(&hex);
	buf_release(&sum);
	chunkhash_init(&k->chunk);
}

/* Writes one row, which must come after the last in bytewise key order. */
static int write_row(struct taker *k, const struct mrow *m, struct tally_err *err)
{
	const struct rawrow *raw = m->raw;

	if (k->rows > 0) {
		int c = merge_keycmp(m->bytes, m->keylen, (const uint8_t *)k->prev.data, k->prev.len);

		if (c == 0) {
			long nul = merge_key_null_column(m->bytes, m->keylen, k->nkey);

			if (nul >= 0)
				return err_set(err, ERR_DATA, "%s %s has a duplicate key at row %llu: key column '%s' is "
				               "NULL in more than one row", k->side, k->t.display,
				               (unsigned long long)k->rows + 1, k->t.cols[k->key[nul]].name);
			return err_set(err, ERR_DATA, "%s %s has a duplicate key at row %llu", k->side, k->t.display,
			               (unsigned long long)k->rows + 1);
		}
		if (c < 0)
			return err_set(err, ERR_DATA, "%s %s returned rows out of key order at row %llu", k->side,
			               k->t.display, (unsigned long long)k->rows + 1);
	}
	buf_reset(&k->rec);
	buf_add_le32(&k->rec, 0);
	buf_add(&k->rec, m->hash.b, 16);
	buf_add_le32(&k->rec, (uint32_t)m->keylen);
	buf_add(&k->rec, m->bytes, m->keylen);
	for (size_t col = 0; col < raw->ncols; col++) {
		if (!raw->val[col]) {
			buf_add_le32(&k->rec, UINT32_MAX);
			continue;
		}
		buf_add_le32(&k->rec, (uint32_t)raw->len[col]);
		buf_add(&k->rec, raw->val[col], raw->len[col]);
	}
	le_put32((uint8_t *)k->rec.data, (uint32_t)(k->rec.len - 4));
	if (zfile_write(&k->z, k->rec.data, k->rec.len, err) < 0)
		return -1;
	buf_reset(&k->prev);
	buf_add(&k->prev, m->bytes, m->keylen);
	k->rows++;
	chunkhash_add(&k->chunk, &m->hash);
	if (k->chunk.rows == (uint64_t)k->chunk_rows)
		close_chunk(k);
	return 0;
}

/* The magic and the header: what was read, from where, when. */
static int write_header(struct taker *k, const struct spec *spec, const struct spec_check *c,
                        const struct spec_side *sd, struct tally_err *err)
{
	json_t *header;
	char *text, taken[32];
	char *position = NULL;
	struct buf b = BUF_INIT;
	int rc;

	if (k->conn->ops->position && k->conn->ops->position(k->conn, &position, err) < 0)
		return -1;
	report_now(taken);
	header = json_pack("{s:i, s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s?, s:s?, s:o, s:o}",
	                   "format", SNAPFILE_FORMAT, "canon_version", CANON_VERSION, "tally_version", TALLY_VERSION,
	                   "taken_at", taken, "spec", spec->name, "check", c->name, "side", k->side,
	                   "system", sd->system, "driver", k->conn->engine, "server", k->conn->server_version,
	                   "position", position, "table", tabdesc_json(&k->t), "key", json_array());
	for (size_t i = 0; i < k->nkey; i++)
		json_array_append_new(json_object_get(header, "key"), json_integer((json_int_t)k->key[i]));
	free(position);
	text = json_dumps(header, JSON_COMPACT);
	json_decref(header);
	buf_add(&b, SNAPFILE_MAGIC, SNAPFILE_MAGIC_LEN);
	buf_add_le32(&b, (uint32_t)strlen(text));
	buf_addstr(&b, text);
	free(text);
	rc = zfile_write(&k->z, b.data, b.len, err);
	buf_release(&b);
	return rc;
}

/* Every row of the side, in bytewise key order: as read when exact, else through a local sort. */
static int write_rows(struct taker *k, const struct spec_side *sd, bool exact, const char *tmpdir,
                      const struct run_opts *opts, struct tally_err *err)
{
	struct scan_req req;
	size_t *cols;
	struct rawrow *raw;
	struct sorter *sorter = NULL;
	struct mrow m;
	int rc;

	cols = xcalloc(k->t.ncols ? k->t.ncols : 1, sizeof(size_t));
	for (size_t col = 0; col < k->t.ncols; col++)
		cols[col] = col;
	memset(&req, 0, sizeof(req));
	req.desc = &k->t;
	req.table = sd->table;
	req.query = sd->query;
	req.where = sd->where;
	req.ncols = k->t.ncols;
	req.cols = cols;
	req.nkey = k->nkey;
	req.key = k->key;
	rc = k->conn->ops->scan_open(k->conn, &req, err);
	free(cols);
	if (rc < 0)
		return -1;
	if (!exact)
		sorter = sorter_new(tmpdir, opts->sort_budget, 0, k->side);
	memset(&m, 0, sizeof(m));
	while ((rc = k->conn->ops->scan_next(k->conn, &raw, err)) == 1) {
		if (tally_interrupted) {
			rc = err_set(err, ERR_INTERRUPTED, "interrupted");
			break;
		}
		if (canonical(k, raw, &m, err) < 0 || (sorter ? sorter_add(sorter, &m, err) : write_row(k, &m, err)) < 0) {
			rc = -1;
			break;
		}
	}
	k->conn->ops->scan_close(k->conn);
	if (rc == 0 && sorter) {
		const struct mrow *sm;

		rc = sorter_finish(sorter, err);
		if (rc == 0)
			while ((rc = sorter_source(sorter)->next(sorter, &sm, err)) == 1)
				if (write_row(k, sm, err) < 0) {
					rc = -1;
					break;
				}
	}
	sorter_free(sorter);
	return rc < 0 ? -1 : 0;
}

/* The end of the records and the trailer: row count and chunk digests. */
static int write_trailer(struct taker *k, struct tally_err *err)
{
	json_t *trailer;
	char *text;

	close_chunk(k);
	buf_reset(&k->rec);
	buf_add_le32(&k->rec, 0);
	trailer = json_pack("{s:I, s:O}", "rows", (json_int_t)k->rows, "chunks", k->chunks);
	text = json_dumps(trailer, JSON_COMPACT);
	json_decref(trailer);
	buf_add_le32(&k->rec, (uint32_t)strlen(text));
	buf_addstr(&k->rec, text);
	free(text);
	return zfile_write(&k->z, k->rec.data, k->rec.len, err);
}

static int take(struct taker *k, const struct spec *spec, const struct spec_check *c, int side,
                const struct spec_side *sd, const char *tmpdir, const struct run_opts *opts, struct tally_err *err)
{
	bool exact = k->conn->ops->order_is_bytewise != NULL;

	if (resolve_key(k, c, side, err) < 0)
		return -1;
	k->cc = xcalloc(k->t.ncols ? k->t.ncols : 1, sizeof(*k->cc));
	k->raw = xcalloc(k->t.ncols ? k->t.ncols : 1, sizeof(*k->raw));
	for (size_t col = 0; col < k->t.ncols; col++)
		k->cc[col] = plan_own_class(&k->t.cols[col], &k->raw[col]);
	for (size_t i = 0; i < k->nkey; i++) {
		const struct coldesc *cd = &k->t.cols[k->key[i]];

		if (k->raw[k->key[i]] || cd->type == LT_FLOAT)
			return err_set(err, ERR_SCHEMA, "key column '%s' (%s) of %s %s cannot order a snapshot", cd->name,
			               cd->native, k->side, k->t.display);
		exact = exact && !cd->nullable && k->conn->ops->order_is_bytewise(cd);
	}
	if (write_header(k, spec, c, sd, err) < 0 || write_rows(k, sd, exact, tmpdir, opts, err) < 0)
		return -1;
	return write_trailer(k, err);
}

int snapfile_take(const struct spec *spec, const struct spec_check *check, int side, const char *file,
                  const struct run_opts *opts)
{
	const struct spec_side *sd = side == SIDE_SOURCE ? &check->source : &check->target;
	const struct spec_system *sys = sd->sys;
	const struct conn_ops *ops = conn_driver(sys->driver);
	struct taker k;
	struct conn_cfg cfg;
	struct tally_err err, later;
	char *tmp = xasprintf("%s.tmp", file), *dir = xstrdup(file), *slash;
	int rc = -1;

	memset(&k, 0, sizeof(k));
	k.side = side == SIDE_SOURCE ? "source" : "target";
	k.chunk_rows = check->chunk_rows ? check->chunk_rows : opts->chunk_rows;
	k.chunks = json_array();
	chunkhash_init(&k.chunk);
	k.z.fd = -1;
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	else
		snprintf(dir, strlen(dir) + 1, ".");
	err_clear(&err);
	if (conn_takes_path(sys->driver)) {
		err_set(&err, ERR_USAGE, "the %s of check '%s' is already a snapshot ('%s')", k.side, check->name,
		        sys->dsn_shown);
		goto out;
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.system = sys->name;
	cfg.side = k.side;
	cfg.dsn = sys->dsn;
	cfg.dsn_shown = sys->dsn_shown;
	cfg.connect_timeout = opts->connect_timeout;
	/*
	 * One statement reads the whole table: it runs under the role's own
	 * limit only. The lock keeps a rewrite from emptying the table under
	 * the session's snapshot before the read begins.
	 */
	cfg.lock_timeout = opts->lock_timeout;
	cfg.lock = (const char *const *)&sd->table;
	cfg.nlock = sd->table ? 1 : 0;
	if (ops->open(&k.conn, &cfg, &err) < 0)
		goto out;
	if ((sd->query ? ops->describe_query(k.conn, sd->query, &k.t, &err)
	               : ops->describe_table(k.conn, sd->table, &k.t, &err)) < 0)
		goto out;
	if (zfile_create(&k.z, tmp, 3, 0, &err) < 0)
		goto out;
	rc = take(&k, spec, check, side, sd, dir, opts, &err);
	if (zfile_close(&k.z, rc == 0 ? &err : &later) < 0)
		rc = -1;
	if (rc == 0 && rename(tmp, file) < 0)
		rc = err_set(&err, ERR_IO, "cannot rename '%s' to '%s': %s", tmp, file, strerror(errno));
	if (rc == 0 && outdir_sync_dir(dir, &err) < 0) {
		unlink(file);
		rc = -1;
	}
	if (rc == 0 && !opts->quiet)
		printf("snapshot: %s: %llu rows of %s %s (system '%s')\n", file, (unsigned long long)k.rows, k.side,
		       k.t.display, sd->system);
out:
	if (rc < 0) {
		zfile_abort(&k.z);
		unlink(tmp);
		err_context(&err, "check '%s'", check->name);
		err_print(&err, stderr);
	}
	if (k.conn)
		k.conn->ops->close(k.conn);
	tabdesc_release(&k.t);
	free(k.key);
	free(k.cc);
	free(k.raw);
	buf_release(&k.rec);
	buf_release(&k.prev);
	buf_release(&k.bytes);
	json_decref(k.chunks);
	free(tmp);
	free(dir);
	return rc < 0 ? 2 : 0;
}
