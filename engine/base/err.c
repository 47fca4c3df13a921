/*
 * engine/base/err.c
 *   Base layer: filling and printing struct tally_err. Performs no I/O but
 *   for err_print() and warn_msg().
 */
#include "err.h"

#include <string.h>

int warn_quiet;
volatile sig_atomic_t tally_interrupted;

void err_clear(struct tally_err *err)
{
	err->kind = ERR_NONE;
	err->sqlstate[0] = '\0';
	err->msg[0] = '\0';
	err->detail[0] = '\0';
	err->hint[0] = '\0';
}

int err_setv(struct tally_err *err, enum err_kind kind, const char *fmt, va_list ap)
{
	err_clear(err);
	err->kind = kind;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	return -1;
}

int err_set(struct tally_err *err, enum err_kind kind, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_setv(err, kind, fmt, ap);
	va_end(ap);
	return -1;
}

int err_detail(struct tally_err *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
	va_end(ap);
	return -1;
}

int err_hint(struct tally_err *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err->hint, sizeof(err->hint), fmt, ap);
	va_end(ap);
	return -1;
}

int err_context(struct tally_err *err, const char *fmt, ...)
{
	char msg[ERR_MSG_MAX];
	size_t n, rest;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	n = strlen(msg);
	if (n + 2 < sizeof(msg)) {
		memcpy(msg + n, ": ", 2);
		n += 2;
		rest = strlen(err->msg);
		if (rest > sizeof(msg) - 1 - n)
			rest = sizeof(msg) - 1 - n;
		memcpy(msg + n, err->msg, rest);
		n += rest;
	}
	msg[n] = '\0';
	memcpy(err->msg, msg, n + 1);
	return -1;
}

void err_print(const struct tally_err *err, FILE *fp)
{
	fprintf(fp, "tally: error: %s\n", err->msg[0] ? err->msg : "unknown error");
	if (err->detail[0])
		fprintf(fp, "detail: %s\n", err->detail);
	if (err->hint[0])
		fprintf(fp, "hint: %s\n", err->hint);
	fflush(fp);
}

void warn_msg(const char *fmt, ...)
{
	va_list ap;

	if (warn_quiet)
		return;
	fputs("tally: warning: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
