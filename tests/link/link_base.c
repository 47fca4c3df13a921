/*
 * tests/link/link_base.c
 *   Links every object of base_lib, and nothing of the connectors or the
 *   engine: an undefined symbol (base needing anything above it) fails
 *   the build. One TAP case, so that the check is counted.
 */
#include <stdio.h>

#include "engine/base/buf.h"
#include "engine/base/civil.h"

int main(void)
{
	struct buf b = BUF_INIT;
	int64_t y;
	unsigned m, d;

	civil_from_days(0, &y, &m, &d);
	buf_addf(&b, "%04lld-%02u-%02u", (long long)y, m, d);
	printf("1..1\n%s 1 - base_lib links alone (%s)\n", b.len == 10 ? "ok" : "not ok", b.data);
	buf_release(&b);
	return 0;
}
