/*
 * engine/changeorder.c
 *   repair -> CHANGEORDER -> outdir: gathers what the scripts of a run
 *   change, renders change-order.md, and writes it next to the scripts.
 *   Reads only the pending scripts (for their digests).
 */
#include "changeorder.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "base/zfile.h"
#include "tally_config.h"

#define CO_FILE "change-order.md"

/* ---- gathering -------------------------------------------------------- */

static int file_xxh128(char out[33], const char *path, const char *shown, struct tally_err *err)
{
	FILE *fp = fopen(path, "rb");
	XXH3_state_t *st;
	XXH128_canonical_t c;
	char chunk[65536];
	size_t n;
	int rc = 0;

	if (!fp)
		return err_set(err, ERR_IO, "cannot read '%s': %s", shown, strerror(errno));
	st = XXH3_createState();
	XXH3_128bits_reset(st);
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		XXH3_128bits_update(st, chunk, n);
	if (ferror(fp))
		rc = err_set(err, ERR_IO, "cannot read '%s'", shown);
	fclose(fp);
	XXH128_canonicalFromHash(&c, XXH3_128bits_digest(st));
	XXH3_freeState(st);
	for (int i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", c.digest[i]);
	return rc;
}

/* The name the client reads: a compressed script is decompressed first. */
static char *plain_name(const char *file)
{
	size_t n = strlen(file);

	return n > 4 && strcmp(file + n - 4, ".zst") == 0 ? xasprintf("%.*s", (int)(n - 4), file) : xstrdup(file);
}

static char *command(const struct repair_info *ri, const struct spec *sp, const char *file)
{
	const struct spec_system *sys = spec_find_system(sp, ri->system);
	struct buf b = BUF_INIT;
	char *plain = plain_name(file);

	ri->ops->script->apply_command(&b, plain, sys && sys->dsn_shown ? sys->dsn_shown : "");
	free(plain);
	return buf_detach(&b, NULL);
}

static char *success(bool rollback, const char *file, uint64_t ins, uint64_t upd, uint64_t del)
{
	struct buf b = BUF_INIT;

	repair_success_line(&b, rollback, file, ins, upd, del);
	return buf_detach(&b, NULL);
}

/* The script of check i's repair, added when it is the first check writing it. */
static int add_script(struct change_order *co, const struct outdir *o, const struct run_report *r,
                      const struct repair_info *ri, const struct repair_result *rr, struct tally_err *err)
{
	struct co_script *s = NULL;
	struct co_check *c;
	char *path;
	int rc;

	for (size_t j = 0; j < co->nscripts && !s; j++)
		if (strcmp(co->scripts[j].file, rr->file) == 0)
			s = &co->scripts[j];
	if (!s) {
		co->scripts = xrealloc(co->scripts, (co->nscripts + 1) * sizeof(*co->scripts));
		s = &co->scripts[co->nscripts++];
		memset(s, 0, sizeof(*s));
		s->system = rr->system;
		s->dialect = ri->ops->dialect;
		s->script = ri->ops->script;
		s->file = rr->file;
		s->rollback = rr->rollback;
		s->body_xxh128 = rr->xxh128;
		s->rollback_body_xxh128 = rr->rollback_xxh128;
		s->apply = command(ri, r->spec, rr->file);
		s->rollback_apply = command(ri, r->spec, rr->rollback);
		path = outdir_scratch(o, rr->file);
		rc = file_xxh128(s->file_xxh128, path, rr->file, err);
		free(path);
		if (rc < 0)
			return -1;
		path = outdir_scratch(o, rr->rollback);
		rc = file_xxh128(s->rollback_file_xxh128, path, rr->rollback, err);
		free(path);
		if (rc < 0)
			return -1;
	}
	s->checks = xrealloc(s->checks, (s->nchecks + 1) * sizeof(*s->checks));
	c = &s->checks[s->nchecks++];
	c->check = ri->check;
	c->table = ri->t.display;
	c->inserts = rr->inserts;
	c->updates = rr->updates;
	c->deletes = rr->deletes;
	c->duplicates = rr->duplicates;
	s->inserts += rr->inserts;
	s->updates += rr->updates;
	s->deletes += rr->deletes;
	return 0;
}

int changeorder_build(struct change_order *co, const struct outdir *o, const struct run_report *r,
                      struct repair_info *const *info, bool compressed, const char *generated_at,
                      struct tally_err *err)
{
	memset(co, 0, sizeof(*co));
	co->spec_name = r->spec->name;
	co->spec_file = r->spec->file;
	co->reason = r->spec->reason;
	co->ticket = r->spec->ticket;
	co->generated_at = generated_at;
	co->version = TALLY_VERSION;
	co->compressed = compressed;
	co->workflows = r->workflows;
	for (size_t i = 0; i < r->nchecks; i++) {
		const struct repair_result *rr = r->checks[i].repair;

		if (!rr || !info[i])
			continue;
		if (rr->file[0]) {
			if (add_script(co, o, r, info[i], rr, err) < 0) {
				changeorder_release(co);
				return -1;
			}
		} else if (rr->failed) {
			co->missing = xrealloc(co->missing, (co->nmissing + 1) * sizeof(*co->missing));
			co->missing[co->nmissing++] = (struct co_missing){ info[i]->check, rr->system,
			                                                   rr->failure ? rr->failure : rr->none };
		}
	}
	for (size_t j = 0; j < co->nscripts; j++) {
		struct co_script *s = &co->scripts[j];

		char *file = plain_name(s->file), *rollback = plain_name(s->rollback);

		s->success = success(false, file, s->inserts, s->updates, s->deletes);
		s->rollback_success = success(true, rollback, s->deletes, s->updates, s->inserts);
		free(file);
		free(rollback);
	}
	return 0;
}

void changeorder_release(struct change_order *co)
{
	for (size_t j = 0; j < co->nscripts; j++) {
		free(co->scripts[j].apply);
		free(co->scripts[j].rollback_apply);
		free(co->scripts[j].success);
		free(co->scripts[j].rollback_success);
		free(co->scripts[j].checks);
	}
	free(co->scripts);
	free(co->missing);
	memset(co, 0, sizeof(*co));
}

/* ---- rendering -------------------------------------------------------- */

/*
 * Text in a paragraph or table cell: control characters become spaces, and
 * the characters Markdown would read as markup are escaped, so a reason
 * cannot turn into a link, a table column or a heading.
 */
static void md_text(struct buf *b, const char *s)
{
	for (; *s; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			buf_addch(b, ' ');
		else if (strchr("\\`*_[]<>|#", *s))
			buf_addf(b, "\\%c", *s);
		else
			buf_addch(b, *s);
	}
}

/* A code span: a fence longer than any run of backticks inside; '|' escaped for tables. */
static void md_code(struct buf *b, const char *s)
{
	size_t run = 0, longest = 0;

	for (const char *p = s; *p; p++) {
		run = *p == '`' ? run + 1 : 0;
		longest = run > longest ? run : longest;
	}
	bool pad = *s == '`' || (*s && s[strlen(s) - 1] == '`');

	for (size_t i = 0; i <= longest; i++)
		buf_addch(b, '`');
	if (pad)
		buf_addch(b, ' ');
	for (; *s; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			buf_addch(b, ' ');
		else if (*s == '|')
			buf_addstr(b, "\\|");
		else
			buf_addch(b, *s);
	}
	if (pad)
		buf_addch(b, ' ');
	for (size_t i = 0; i <= longest; i++)
		buf_addch(b, '`');
}

static void counts_row(struct buf *b, uint64_t ins, uint64_t upd, uint64_t del)
{
	buf_addf(b, " | %llu | %llu | %llu |\n", (unsigned long long)ins, (unsigned long long)upd,
	         (unsigned long long)del);
}

/* The position (1-based) of system's script among those to apply, or 0. */
static size_t script_of(const struct change_order *co, const char *system)
{
	for (size_t j = 0; system && j < co->nscripts; j++)
		if (strcmp(co->scripts[j].system, system) == 0)
			return j + 1;
	return 0;
}

/* One workflow: where its keys stopped, which script finishes which step, what is withheld. */
static void workflow_md(struct buf *b, const struct change_order *co, json_t *w)
{
	json_t *g = json_object_get(w, "groups"), *steps = json_object_get(w, "steps"), *st, *k;
	const char *withheld = json_string_value(json_object_get(w, "repair_withheld"));
	size_t i, last = 0;
	bool ordered = true;

	buf_addstr(b, "### Workflow ");
	md_code(b, json_string_value(json_object_get(w, "name")));
	buf_addstr(b, "\n\n");
	if (json_is_string(json_object_get(w, "reason"))) {
		md_text(b, json_string_value(json_object_get(w, "reason")));
		buf_addstr(b, "\n\n");
	}
	buf_addf(b, "%lld keys. Where each stopped:\n\n| Stopping point | Keys |\n|---|---:|\n",
	         (long long)json_integer_value(json_object_get(w, "keys")));
	buf_addf(b, "| complete | %lld |\n| never started | %lld |\n",
	         (long long)json_integer_value(json_object_get(g, "complete")),
	         (long long)json_integer_value(json_object_get(g, "never_started")));
	json_array_foreach(steps, i, st) {
		const char *name = json_string_value(json_object_get(st, "name"));

		if (i + 1 == json_array_size(steps))
			break;
		buf_addstr(b, "| stopped after ");
		md_code(b, name);
		buf_addf(b, " | %lld |\n", (long long)json_integer_value(json_object_get(json_object_get(g,
		         "stopped_after"), name)));
	}
	buf_addf(b, "| out of order (an earlier step not done, a later one done) | %lld |\n\n",
	         (long long)json_integer_value(json_object_get(g, "out_of_order")));
	buf_addstr(b, "The steps in the order the job runs them, and the script that finishes each:\n\n");
	json_array_foreach(steps, i, st) {
		const char *sys = json_string_value(json_object_get(st, "system"));
		size_t j = script_of(co, sys);

		buf_addf(b, "%zu. ", i + 1);
		md_code(b, json_string_value(json_object_get(st, "name")));
		buf_addf(b, ": %lld key%s to finish, ", (long long)json_integer_value(json_object_get(st, "not_done")),
		         json_integer_value(json_object_get(st, "not_done")) == 1 ? "" : "s");
		if (j) {
			buf_addf(b, "script %zu, ", j);
			md_code(b, co->scripts[j - 1].file);
		} else {
			buf_addstr(b, "no script");
		}
		buf_addstr(b, " (system ");
		md_code(b, sys ? sys : "?");
		buf_addstr(b, ")\n");
		if (j && j < last)
			ordered = false;
		if (j)
			last = j;
	}
	buf_addstr(b, "\n");
	if (!ordered)
		buf_addstr(b, "**The steps go back and forth between systems**: one script per system cannot\n"
		              "finish them in the job's order. Apply the scripts in the order below, and check\n"
		              "that no later step depends on an earlier one of another system.\n\n");
	else
		buf_addstr(b, "Run the scripts in the order of \"How to apply\": it is the order of the steps,\n"
		              "so every key's steps are finished in the job's order. Steps a key already\n"
		              "completed have no difference and are not touched.\n\n");
	if (json_array_size(json_object_get(w, "out_of_order_keys"))) {
		buf_addstr(b, withheld ? "Withheld: these keys were done out of order, and the scripts leave them as\n"
		                         "they are (set `repair_out_of_order: true` to repair them too):\n\n"
		                       : "Keys done out of order, repaired too (`repair_out_of_order: true`):\n\n");
		json_array_foreach(json_object_get(w, "out_of_order_keys"), i, k) {
			char *t = json_dumps(k, JSON_COMPACT | JSON_SORT_KEYS);

			buf_addstr(b, "- ");
			md_code(b, t ? t : "?");
			buf_addstr(b, "\n");
			free(t);
		}
		buf_addstr(b, "\n");
	}
}

static void workflows(struct buf *b, const struct change_order *co)
{
	size_t i;
	json_t *w;

	if (json_array_size(co->workflows) == 0)
		return;
	buf_addstr(b, "## Workflows\n\n");
	json_array_foreach(co->workflows, i, w)
		workflow_md(b, co, w);
}

static void what_changes(struct buf *b, const struct change_order *co)
{
	bool dup = false;

	buf_addstr(b, "## What will change\n\n"
	              "Rows per system, table and check. Counts only: the keys and values are in the\n"
	              "scripts and in diff.ndjson.zst, which only the run's owner can read.\n\n"
	              "| System | Table | Check | Inserted | Updated | Deleted |\n"
	              "|---|---|---|--:|--:|--:|\n");
	for (size_t j = 0; j < co->nscripts; j++) {
		const struct co_script *s = &co->scripts[j];

		for (size_t k = 0; k < s->nchecks; k++) {
			const struct co_check *c = &s->checks[k];

			buf_addstr(b, "| ");
			md_code(b, s->system);
			buf_addstr(b, " | ");
			md_code(b, c->table);
			buf_addstr(b, " | ");
			md_code(b, c->check);
			counts_row(b, c->inserts, c->updates, c->deletes);
			dup = dup || c->duplicates;
		}
		buf_addstr(b, "| ");
		md_code(b, s->system);
		buf_addstr(b, " | **total** |");
		counts_row(b, s->inserts, s->updates, s->deletes);
	}
	buf_addch(b, '\n');
	for (size_t j = 0; j < co->nscripts && dup; j++)
		for (size_t k = 0; k < co->scripts[j].nchecks; k++) {
			const struct co_check *c = &co->scripts[j].checks[k];

			if (!c->duplicates)
				continue;
			buf_addstr(b, "- check ");
			md_code(b, c->check);
			buf_addf(b, ": %llu more row%s repaired identically by another check, counted there\n",
			         (unsigned long long)c->duplicates, c->duplicates == 1 ? "" : "s");
		}
	if (dup)
		buf_addch(b, '\n');
	if (co->nmissing) {
		buf_addstr(b, "**Not covered by this change order** (no script could be written):\n\n");
		for (size_t i = 0; i < co->nmissing; i++) {
			buf_addstr(b, "- check ");
			md_code(b, co->missing[i].check);
			buf_addstr(b, " on system ");
			md_code(b, co->missing[i].system);
			buf_addstr(b, ": ");
			md_text(b, co->missing[i].why ? co->missing[i].why : "unknown");
			buf_addch(b, '\n');
		}
		buf_addch(b, '\n');
	}
}

/* What failure looks like in the script's client (the driver's script_ops says). */
static void failure_text(struct buf *b, const struct script_ops *so)
{
	if (so && so->failure_looks_like)
		buf_addstr(b, so->failure_looks_like);
	else
		buf_addstr(b, "an error line starting `tally: check` or any other error, and a non-zero\n"
		              "   exit status");
}

/* The numbered steps of one script, forward or rollback. */
static void script_steps(struct buf *b, const struct change_order *co, const struct co_script *s, bool rollback,
                         size_t number)
{
	const char *file = rollback ? s->rollback : s->file;
	char *plain = plain_name(file);

	buf_addf(b, "### %zu. System ", number);
	md_code(b, s->system);
	buf_addf(b, " (%s): ", s->dialect);
	md_code(b, file);
	buf_addstr(b, "\n\n1. Check that the script is the one approved:\n\n   ```sh\n   xxhsum -H2 ");
	buf_addstr(b, file);
	buf_addf(b, "\n   ```\n\n   must print:\n\n   ```\n   %s  ", rollback ? s->rollback_file_xxh128 : s->file_xxh128);
	buf_addstr(b, file);
	buf_addf(b, "\n   ```\n\n   (The script's header states `body: xxh128 %s`, as report.json\n"
	         "   does: the digest of the part after the header.)\n\n",
	         rollback ? s->rollback_body_xxh128 : s->body_xxh128);
	if (co->compressed) {
		buf_addstr(b, "2. Decompress it:\n\n   ```sh\n   zstd -d ");
		buf_addstr(b, file);
		buf_addstr(b, "\n   ```\n\n   which writes ");
		md_code(b, plain);
		buf_addstr(b, ".\n\n");
	}
	buf_addf(b, "%d. Apply it", co->compressed ? 3 : 2);
	if (s->script && s->script->apply_who)
		buf_addstr(b, s->script->apply_who);
	buf_addstr(b, ":\n\n   ```sh\n   ");
	buf_addstr(b, rollback ? s->rollback_apply : s->apply);
	buf_addf(b, "\n   ```\n\n%d. Success is exit status 0 and, at the end of the output, the line:\n\n   ```\n   %s\n   ```\n\n",
	         co->compressed ? 4 : 3, rollback ? s->rollback_success : s->success);
	buf_addstr(b, "   Failure is ");
	failure_text(b, s->script);
	buf_addstr(b, ". The script is one\n   transaction: after a failure nothing was changed. Report the error line back.\n\n");
	free(plain);
}

void changeorder_render(struct buf *b, const struct change_order *co)
{
	uint64_t rows = 0;

	for (size_t j = 0; j < co->nscripts; j++)
		rows += co->scripts[j].inserts + co->scripts[j].updates + co->scripts[j].deletes;
	buf_addstr(b, "# Change order: ");
	md_text(b, co->spec_name);
	buf_addstr(b, "\n\n| | |\n|---|---|\n| Ticket | ");
	md_text(b, co->ticket ? co->ticket : "(none given: tally check --ticket ID)");
	buf_addstr(b, " |\n| Reason | ");
	md_text(b, co->reason ? co->reason : "(none given: the spec's reason)");
	buf_addstr(b, " |\n| Spec | ");
	md_code(b, co->spec_name);
	buf_addstr(b, " (");
	md_code(b, co->spec_file);
	buf_addf(b, ") |\n| Written | %s by tally %s |\n", co->generated_at, co->version);
	buf_addf(b, "| Changes | %llu row%s in %zu script%s, one transaction each |\n\n", (unsigned long long)rows,
	         rows == 1 ? "" : "s", co->nscripts, co->nscripts == 1 ? "" : "s");

	what_changes(b, co);
	workflows(b, co);

	buf_addstr(b, "## How to apply\n\n"
	              "Work in the run directory, RUN_DIR: the directory that holds this file and\n"
	              "the scripts. Run the scripts in this order, each only after the one before\n"
	              "succeeded. Every script checks, before it writes, that each row still holds\n"
	              "what tally read; if one does not, it stops and changes nothing.\n\n");
	for (size_t j = 0; j < co->nscripts; j++)
		script_steps(b, co, &co->scripts[j], false, j + 1);

	buf_addstr(b, "## How to verify\n\nAfter every script succeeded, from where the run was started (or with\n"
	              "`--spec FILE`):\n\n```sh\ntally verify RUN_DIR\n```\n\n"
	              "It reads again, by key, exactly the rows this run found different. Exit\n"
	              "status 0: every difference is resolved; 1: some remain (it says which, per\n"
	              "check); 2: trouble. Its report goes to RUN_DIR/verify-<time>/.\n\n");

	buf_addstr(b, "## How to roll back\n\n"
	              "Only to undo scripts that succeeded, in the reverse order. Each rollback script\n"
	              "restores the rows its repair script changed, and stops, changing nothing,\n"
	              "where a row no longer holds what the repair wrote.\n\n");
	for (size_t j = co->nscripts; j > 0; j--)
		script_steps(b, co, &co->scripts[j - 1], true, co->nscripts - j + 1);
}

/* ---- writing ---------------------------------------------------------- */

int changeorder_write(struct outdir *o, const struct run_report *r, struct repair_info *const *info,
                      bool compressed, const char *generated_at, bool *written, struct tally_err *err)
{
	struct change_order co;
	struct buf text = BUF_INIT;
	struct tally_err later;
	struct zfile z;
	int rc;

	*written = false;
	if (changeorder_build(&co, o, r, info, compressed, generated_at, err) < 0)
		return err_context(err, CO_FILE);
	if (co.nscripts == 0) {
		changeorder_release(&co);
		return 0;
	}
	changeorder_render(&text, &co);
	changeorder_release(&co);
	rc = outdir_create(o, CO_FILE, &z, 0, ZFILE_PLAIN, err);
	if (rc == 0)
		rc = zfile_write(&z, text.data, text.len, err);
	if (zfile_close(&z, rc == 0 ? err : &later) < 0)
		rc = -1;
	buf_release(&text);
	*written = rc == 0;
	return rc;
}
