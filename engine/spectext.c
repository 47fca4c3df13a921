/*
 * engine/spectext.c
 *   SPEC helper: checks a spec's text before libfyaml reads it (see
 *   spectext.h for why). Performs no I/O.
 *
 * How it works: one pass over the bytes, line by line, with just enough
 * of YAML's lexical rules to know where a node starts: quoted scalars
 * (which may span lines), comments, and block scalars ('|' or '>', whose
 * content is every following line indented more than the line that
 * introduced it, or blank). A '?' followed by a blank at the start of a
 * node is an explicit key. Where this reading of YAML is coarser than
 * libfyaml's, it errs towards refusing: a content line of a plain scalar
 * that starts with "? " is refused too.
 */
#include "spectext.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "base/utf8.h"

static bool blank_or_end(const char *s, size_t i, size_t len)
{
	return i >= len || s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r';
}

struct lexer {
	const char *s;
	size_t len;
	char quote;         /* '\'' or '"' inside a quoted scalar, else 0 */
	size_t skip;        /* inside quotes: characters escaped, or quotes doubled, still to pass */
	bool comment;       /* inside a comment, up to the end of the line */
	bool prop;          /* inside an anchor or a tag, which a node may start with */
	bool node_start;    /* the next non-blank character starts a node */
	int block;          /* inside a block scalar: the indentation of its line, else -1 */
	bool block_next;    /* a block scalar starts on the next line */
	int indent;         /* the current line's indentation */
	bool in_indent;     /* still in the current line's leading spaces */
};

/* A block scalar header: '|' or '>', then [0-9+-]*, then a blank or the end. */
static bool block_header(const char *s, size_t i, size_t len)
{
	if (s[i] != '|' && s[i] != '>')
		return false;
	for (i++; i < len && ((s[i] >= '0' && s[i] <= '9') || s[i] == '+' || s[i] == '-'); i++)
		;
	return blank_or_end(s, i, len);
}

/* One character outside quotes, comments and block scalars; false on an explicit key. */
static bool lex_plain(struct lexer *lx, size_t i)
{
	char c = lx->s[i];

	if (c == ' ' || c == '\t' || c == '\r') {
		lx->prop = false;
		return true;
	}
	if (lx->prop)
		return true;
	if (c == '#' && (i == 0 || lx->s[i - 1] == ' ' || lx->s[i - 1] == '\t' || lx->s[i - 1] == '\n')) {
		lx->comment = true;
		return true;
	}
	if (lx->node_start) {
		if (c == '?' && blank_or_end(lx->s, i + 1, lx->len))
			return false;
		if (c == '&' || c == '!') {
			lx->prop = true;    /* the node itself follows the property */
			return true;
		}
		if (c == '\'' || c == '"') {
			lx->quote = c;
			lx->node_start = false;
			return true;
		}
		if (block_header(lx->s, i, lx->len)) {
			lx->block_next = true;
			lx->node_start = false;
			return true;
		}
	}
	/* indicators after which a node starts: "- ", ": ", and flow punctuation */
	lx->node_start = c == '[' || c == '{' || c == ',' ||
	                 ((c == '-' || c == ':') && blank_or_end(lx->s, i + 1, lx->len));
	return true;
}

/*
 * One character of a quoted scalar: an escape (\x) stays inside, and so
 * does a run of quotes of even length in single quotes ('' is one quote);
 * an odd run ends the scalar. False for a run of four or more: libfyaml
 * 0.7 misreads an even one ('a''''b' as a''' and not a''b) and leaks
 * memory on a long one.
 */
static bool lex_quoted(struct lexer *lx, size_t i)
{
	char c = lx->s[i];
	size_t run = 0;

	if (lx->skip) {
		lx->skip--;
		return true;
	}
	if (lx->quote == '"') {
		if (c == '\\')
			lx->skip = 1;
		else if (c == '"')
			lx->quote = 0;
		return true;
	}
	if (c != '\'')
		return true;
	while (i + run < lx->len && lx->s[i + run] == '\'')
		run++;
	if (run >= 4)
		return false;
	if (run % 2 == 1)
		lx->quote = 0;
	lx->skip = run - 1;     /* the rest of the run: doubled, or before the closing quote */
	return true;
}

/* At the start of a line: leaves a block scalar whose content has ended. */
static void line_start(struct lexer *lx, size_t i)
{
	int n = 0;
	size_t k = i;

	while (k < lx->len && lx->s[k] == ' ') {
		n++;
		k++;
	}
	while (k < lx->len && lx->s[k] == '\t')
		k++;
	/* a line of blanks never ends a block scalar; a less indented one does */
	if (lx->block >= 0 && !blank_or_end(lx->s, k, lx->len) && n <= lx->block)
		lx->block = -1;
	lx->indent = n;
	lx->in_indent = true;
	lx->comment = false;
	lx->prop = false;
	if (!lx->quote)
		lx->node_start = true;
}

int spectext_check(const char *text, size_t len, int *line, int *col, char *why, size_t whylen)
{
	struct lexer lx = { text, len, 0, 0, false, false, true, -1, false, 0, true };
	const unsigned char *p = (const unsigned char *)text;

	*line = 1;
	*col = 1;
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t k = utf8_decode(p + i, len - i, &cp);

		if (k == 0) {
			snprintf(why, whylen, "byte 0x%02x is not UTF-8", p[i]);
			return -1;
		}
		if (p[i] == 0) {
			snprintf(why, whylen, "a NUL byte");
			return -1;
		}
		/* a line break: LF, CR LF, or a CR alone */
		if (p[i] == '\r' && i + 1 < len && p[i + 1] == '\n') {
			i++;
			continue;
		}
		if (p[i] == '\n' || p[i] == '\r') {
			if (lx.skip)
				lx.skip--;      /* an escaped line break */
			if (lx.block_next) {
				lx.block = lx.indent;
				lx.block_next = false;
			}
			++*line;
			*col = 1;
			line_start(&lx, i + 1);
			i++;
			continue;
		}
		if (p[i] != ' ')
			lx.in_indent = false;
		if (lx.quote || lx.skip) {
			if (!lex_quoted(&lx, i)) {
				snprintf(why, whylen, "'''' (two quotes in a row) in a single-quoted string "
				         "is mishandled by libfyaml 0.7: use double quotes");
				return -1;
			}
		} else if (lx.block < 0 && !lx.comment && !lx.in_indent && !lex_plain(&lx, i)) {
			snprintf(why, whylen, "explicit keys ('? ') are not supported");
			return -1;
		}
		++*col;
		i += k;
	}
	return 0;
}
