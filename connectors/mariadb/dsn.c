/*
 * connectors/mariadb/dsn.c
 *   spec -> DSN -> session: parses a MariaDB dsn,
 *   mariadb://user[:password]@host[:port]/database[?socket=/path&connect_timeout=N],
 *   for session.c (the connection) and script.c (the client command of a
 *   repair). Performs no I/O.
 *
 * The dsn is a secret: a failure's message quotes cfg->dsn_shown (the
 * password masked) and its detail says what is wrong without quoting any
 * part of the dsn; the password is wiped when the struct is released.
 */
#include "my_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../engine/base/dsn.h"

#define MDB_MAX_CONNECT_TIMEOUT 3600
#define MDB_DSN_FORMAT \
	"mariadb://user[:password]@host[:port]/database[?socket=/path&connect_timeout=N]"

int mdb_check_dsn(const char *dsn, struct tally_err *err)
{
	static const char *const schemes[] = { "mariadb", "mysql", NULL };

	return conn_check_uri("mariadb", schemes, false, dsn, err);
}

char *mdb_redact_dsn(const char *dsn)
{
	return dsn_redact(dsn);
}

void mdb_dsn_release(struct mdb_dsn *d)
{
	if (d->password) {
		explicit_bzero(d->password, strlen(d->password));
		free(d->password);
	}
	free(d->user);
	free(d->host);
	free(d->db);
	free(d->socket);
	memset(d, 0, sizeof(*d));
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Decodes s[0..n) into a new string; NULL on a bad escape or an encoded NUL. */
static char *pct_decode(const char *s, size_t n)
{
	char *out = xmalloc(n + 1);
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] != '%') {
			out[o++] = s[i];
			continue;
		}
		int a = i + 2 < n ? hexval(s[i + 1]) : -1;
		int b = i + 2 < n ? hexval(s[i + 2]) : -1;

		if (a < 0 || b < 0 || (a == 0 && b == 0)) {
			explicit_bzero(out, n + 1);
			free(out);
			return NULL;
		}
		out[o++] = (char)(a * 16 + b);
		i += 2;
	}
	out[o] = '\0';
	return out;
}

/* Parses a decimal number in [lo, hi] from s[0..n); digits only. */
static bool parse_uint(const char *s, size_t n, unsigned long lo, unsigned long hi,
                       unsigned long *out)
{
	unsigned long v = 0;

	if (n == 0 || n > 10)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

static bool host_char(char ch)
{
	return isalnum((unsigned char)ch) || ch == '-' || ch == '.' || ch == '_';
}

/*
 * The failure of a dsn: the message quotes dsn_shown only, the detail says
 * what is wrong without quoting any part of the secret dsn (a misplaced
 * password character can make any part of it look like a host or a port).
 */
static int dsn_error(const struct conn_cfg *cfg, struct tally_err *err, const char *why)
{
	err_set(err, ERR_CONNECT, "invalid dsn for %s system '%s' (%s)",
	        cfg->side ? cfg->side : "?", cfg->system ? cfg->system : "?",
	        cfg->dsn_shown ? cfg->dsn_shown : "?");
	err_detail(err, "%s", why);
	return err_hint(err, "expected " MDB_DSN_FORMAT);
}

static int dsn_params(struct mdb_dsn *d, const char *p, const struct conn_cfg *cfg,
                      struct tally_err *err)
{
	bool seen_socket = false, seen_timeout = false;

	if (*p == '\0')
		return dsn_error(cfg, err, "the dsn ends with an empty parameter list after '?'");
	while (*p) {
		const char *amp = strchr(p, '&');
		size_t n = amp ? (size_t)(amp - p) : strlen(p);
		const char *eq = memchr(p, '=', n);

		if (!eq)
			return dsn_error(cfg, err, "a parameter has no '=': expected name=value");
		size_t kn = (size_t)(eq - p), vn = n - kn - 1;
		char *v = pct_decode(eq + 1, vn);

		if (!v)
			return dsn_error(cfg, err, "a parameter value holds an invalid percent-escape");
		if (kn == 6 && memcmp(p, "socket", 6) == 0) {
			if (seen_socket) {
				free(v);
				return dsn_error(cfg, err, "the parameter socket is given twice");
			}
			seen_socket = true;
			if (v[0] != '/') {
				free(v);
				return dsn_error(cfg, err, "the parameter socket must be an absolute path");
			}
			d->socket = v;
		} else if (kn == 15 && memcmp(p, "connect_timeout", 15) == 0) {
			unsigned long t;

			if (seen_timeout) {
				free(v);
				return dsn_error(cfg, err, "the parameter connect_timeout is given twice");
			}
			seen_timeout = true;
			bool ok = parse_uint(v, strlen(v), 1, MDB_MAX_CONNECT_TIMEOUT, &t);

			free(v);
			if (!ok)
				return dsn_error(cfg, err, "the parameter connect_timeout must be a number "
				                 "of seconds from 1 to 3600");
			d->connect_timeout = (int)t;
		} else {
			free(v);
			return dsn_error(cfg, err, "unknown parameter: the parameters are socket and "
			                 "connect_timeout");
		}
		if (!amp)
			break;
		p = amp + 1;
		if (*p == '\0')
			return dsn_error(cfg, err, "the dsn ends with '&'");
	}
	return 0;
}

/* user[:password] from auth[0..at), percent-decoded. */
static int dsn_userinfo(struct mdb_dsn *d, const char *auth, const char *at,
                        const struct conn_cfg *cfg, struct tally_err *err)
{
	const char *colon = memchr(auth, ':', (size_t)(at - auth));
	const char *uend = colon ? colon : at;

	if (uend == auth)
		return dsn_error(cfg, err, "the dsn has an empty user name");
	d->user = pct_decode(auth, (size_t)(uend - auth));
	if (!d->user)
		goto bad;
	if (colon) {
		d->password = pct_decode(colon + 1, (size_t)(at - colon - 1));
		if (!d->password)
			goto bad;
	}
	return 0;
bad:
	return dsn_error(cfg, err, "the user or password holds an invalid percent-escape "
	                 "(write '%' as %25)");
}

/* host[:port] or [ipv6][:port] from hp[0..hp_end). */
static int dsn_hostport(struct mdb_dsn *d, const char *hp, const char *hp_end,
                        const struct conn_cfg *cfg, struct tally_err *err)
{
	const char *p;

	if (*hp == '[') {
		const char *close = memchr(hp, ']', (size_t)(hp_end - hp));

		if (!close)
			return dsn_error(cfg, err, "the IPv6 address is not closed by ']'");
		if (close == hp + 1)
			return dsn_error(cfg, err, "the IPv6 address between '[' and ']' is empty");
		for (p = hp + 1; p < close; p++)
			if (!isxdigit((unsigned char)*p) && *p != ':' && *p != '.')
				return dsn_error(cfg, err, "the IPv6 address holds a character other "
				                 "than hex digits, ':' and '.'");
		d->host = xstrndup(hp + 1, (size_t)(close - hp - 1));
		p = close + 1;
		if (p < hp_end && *p != ':')
			return dsn_error(cfg, err, "unexpected characters after the IPv6 address");
	} else {
		for (p = hp; p < hp_end && *p != ':'; p++)
			if (!host_char(*p))
				return dsn_error(cfg, err, "the host holds a character not allowed in a "
				                 "host name or address");
		d->host = xstrndup(hp, (size_t)(p - hp));
	}
	if (p < hp_end) {     /* at ':' */
		unsigned long port;

		if (!parse_uint(p + 1, (size_t)(hp_end - p - 1), 1, 65535, &port))
			return dsn_error(cfg, err, "the port is not a number from 1 to 65535");
		d->port = (unsigned int)port;
	}
	return 0;
}

/* See my_int.h. */
int mdb_dsn_parse(struct mdb_dsn *d, const struct conn_cfg *cfg, struct tally_err *err)
{
	const char *s = cfg->dsn ? cfg->dsn : "";
	const char *p, *auth, *auth_end, *at, *path, *q;
	size_t n;

	memset(d, 0, sizeof(*d));
	d->port = MDB_DEFAULT_PORT;

	for (p = s; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return dsn_error(cfg, err, "the dsn holds a space or a control character "
			                 "(write it percent-encoded)");
	if (strncmp(s, "mariadb://", 10) == 0)
		auth = s + 10;
	else if (strncmp(s, "mysql://", 8) == 0)
		auth = s + 8;
	else
		return dsn_error(cfg, err, "the dsn must start with mariadb:// or mysql://");
	if (strchr(auth, '#'))
		return dsn_error(cfg, err, "the dsn holds a '#' (write it %23)");

	auth_end = auth + strcspn(auth, "/?");
	at = NULL;
	for (p = auth; p < auth_end; p++)
		if (*p == '@')
			at = p;
	if (!at)
		return dsn_error(cfg, err, "the dsn has no user: expected user[:password]@ before "
		                 "the host");
	if (memchr(auth, '@', (size_t)(at - auth)))
		return dsn_error(cfg, err, "the user or password holds a '@' (write it %40)");
	if (dsn_userinfo(d, auth, at, cfg, err) < 0 || dsn_hostport(d, at + 1, auth_end, cfg, err) < 0)
		return -1;

	if (*auth_end != '/')
		return dsn_error(cfg, err, "the dsn has no database: expected /database after "
		                 "the host");
	path = auth_end + 1;
	q = strchr(path, '?');
	n = q ? (size_t)(q - path) : strlen(path);
	if (n == 0)
		return dsn_error(cfg, err, "the dsn has an empty database name");
	if (memchr(path, '/', n))
		return dsn_error(cfg, err, "the database name holds a '/' (write it %2F)");
	d->db = pct_decode(path, n);
	if (!d->db)
		return dsn_error(cfg, err, "the database name holds an invalid percent-escape");
	if (q && dsn_params(d, q + 1, cfg, err) < 0)
		return -1;
	if (d->host[0] == '\0' && !d->socket)
		return dsn_error(cfg, err, "the dsn has no host (an empty host needs ?socket=)");
	return 0;
}
