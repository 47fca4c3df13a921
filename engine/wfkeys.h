/*
 * engine/wfkeys.h
 *   connector -> WFKEYS -> chunkrun, assemble: a workflow's key set, read
 *   once per run from its keys query and kept in the work directory
 *   (.tally-work/workflows.json), so that --resume reuses it. A key is
 *   its columns' values as the server sent them in text, each written
 *   as "LENGTH:BYTES" one after the other ("2:17" for order 17), which
 *   keeps composite keys apart; the set is sorted bytewise, without
 *   duplicates, and looked up by binary search.
 *
 * Keys compare by their text: a step's key column and the workflow's must
 * render alike (integers and text do on both servers).
 */
#ifndef TALLY_WFKEYS_H
#define TALLY_WFKEYS_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "base/buf.h"
#include "base/err.h"

struct wfkeys {
	char **k;           /* owned: encoded keys, sorted and distinct after wfkeys_finish */
	size_t n, cap;
};

void wfkeys_init(struct wfkeys *s);
void wfkeys_release(struct wfkeys *s);

/* Appends the encoding of val[0..n) (lengths len) to out. */
void wfkeys_encode(struct buf *out, const char *const *val, const size_t *len, size_t n);
/* Adds an encoded key (copied); call wfkeys_finish before any lookup. */
void wfkeys_add(struct wfkeys *s, const char *key, size_t len);
/* Sorts and drops duplicates. */
void wfkeys_finish(struct wfkeys *s);
/* The index of an encoded key (NUL-terminated) in the set, or -1. */
long wfkeys_find(const struct wfkeys *s, const char *key);

/*
 * The values of an encoded key, each as a new JSON value: a number for
 * an integer's digits, a string otherwise; an object of names[0..n).
 */
json_t *wfkeys_key_json(const char *key, char *const *names, size_t n);

/* The set as a JSON array of its encoded keys (NULL when a key is no valid UTF-8), and back. */
json_t *wfkeys_json(const struct wfkeys *s);
int wfkeys_from_json(struct wfkeys *s, json_t *a, struct tally_err *err);

/*
 * What a step keeps: the rows whose workflow key is in keys. col[k] is
 * the position among the step's key columns (first in every row) of
 * workflow key column k.
 */
struct wf_filter {
	const struct wfkeys *keys;  /* borrowed */
	size_t n;
	size_t *col;                /* owned */
};

/* Is the row's workflow key in the set? scratch is the caller's buffer. */
bool wf_filter_keeps(const struct wf_filter *f, const char *const *val, const size_t *len, struct buf *scratch);

#endif
